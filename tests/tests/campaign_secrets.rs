//! Fault campaign "secret scan" (issue 14): the demo's incident (scripts/demo.sh: add hosts,
//! flags, flag off, alerts, a query, a silence, verified reboots, runbooks, exec, undo, the
//! journal) against the real peers, every step with `-vv`, once with `--json` and once
//! without, plus wrong secrets on the way (a wrong Unleash token, a wrong password), then an
//! incident (issue 15) told through a Slack webhook, a signed webhook and email over a real
//! SMTP server (a wrong SMTP password first), protected, stood down, resolved and written
//! up. Every
//! stdout and stderr line, every file paaf wrote (journal, WAL, config, known_hosts, …), every
//! journal row read back through SQLite, and the payloads the desktop app sends over Tauri IPC
//! (the same facade calls serialized as its commands do: reboot progress events, replies, error
//! infos), and what the notify receivers got (Slack and webhook bodies, the emails) are
//! scanned: no configured secret value — password, key passphrase, API token, webhook URL
//! credential, webhook signing key, SMTP password, wrong ones included — and no private-key
//! line may appear anywhere.

use paaf_core::flags::FlagFilter;
use paaf_core::secrets::{MemoryStore, SecretStore};
use paaf_core::{CancellationToken, Confirmation, ErrorInfo, FlagTarget, Paaf, ProgressEvent};
use paaf_tests::{
    PASSWORD, PrometheusPeers, SmtpServer, SshHost, UnleashServer, World, post_receiver,
};
use secrecy::SecretString;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use wiremock::ResponseTemplate;

const PHRASE: &str = "Scan-Key-Passphrase-73";
const WRONG_PASSWORD: &str = "Wrong-Db-Password-Scan-41";
const WRONG_TOKEN: &str = "*:*.0000wrong-unleash-token-scan-19";
const FLAG: &str = "new-checkout";
const SLACK_PATH: &str = "/services/T0SCAN/B0SCAN/SlackScanSecret-83";
const HOOK_TOKEN: &str = "Hook-Url-Token-Scan-29";
const HOOK_KEY: &str = "Hook-Signing-Key-Scan-57";
const SMTP_PASSWORD: &str = "Smtp-Password-Scan-61";
const WRONG_SMTP_PASSWORD: &str = "Wrong-Smtp-Password-Scan-17";

/// The demo's steps as one script: each writes `OUT/NAME.stdout|stderr` and `OUT/NAME.code`
/// ("EXIT EXPECTED…"). `$J` is `--json` or empty; secrets come in through the environment.
const SCENARIO: &str = r#"set -u
OUT=$1 J=$2
P=("$PAAF" -vv $J)
run() { # NAME "EXPECTED…" ARGS…: paaf with the given arguments
    local name=$1 expect=$2; shift 2
    "${P[@]}" "$@" </dev/null >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
    echo "$? $expect" >"$OUT/$name.code"
}
feed() { # NAME "EXPECTED…" VAR ARGS…: the same, with the value of VAR on stdin
    local name=$1 expect=$2 var=$3; shift 3
    printf '%s\n' "${!var}" | "${P[@]}" "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
    echo "$? $expect" >"$OUT/$name.code"
}
lookup() { # NAME PYTHON ARGS…: a --json paaf run whose output PYTHON reads an id from
    local name=$1 py=$2; shift 2
    "$PAAF" -vv --json "$@" </dev/null >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
    echo "$? 0" >"$OUT/$name.code"
    python3 -c "$py" <"$OUT/$name.stdout"
}
host=(--address 127.0.0.1 --user paaf-test --accept-new-host-key)
run 01-host-add-web-1 0 host add web-1 --port "$PORT_WEB1" --key "$KEY1" "${host[@]}"
feed 02-host-add-web-2 0 PHRASE host add web-2 --port "$PORT_WEB2" --key "$KEY2" --passphrase-stdin "${host[@]}"
feed 03-host-add-db-1 0 PW host add db-1 --port "$PORT_DB1" --password-stdin "${host[@]}"
run 04-host-list 0 host list
feed 05-secret-set-wrong-token 0 WRONG_TOKEN secret set unleash-scan
run 06-flags-wrong-token "0 5" flags
feed 07-secret-set-token 0 TOKEN secret set unleash-scan
run 08-flags 0 flags
run 09-flag-off 0 flag off new-checkout --env production --yes
run 10-alerts 0 alerts
run 11-query 0 query 'rate(node_cpu_seconds_total{mode="user"}[10s])' --from now-1m --width 30
run 12-silence-add 0 silence add alertname=PaafTestAlwaysFiring --for 30m -m 'secret scan: checkout'
run 13-reboot-web-1 0 reboot web-1 --yes
run 14-reboot-web-2 0 reboot web-2 --yes
run 15-host-list 0 host list
run 16-runbook-list 0 runbook list web-2
run 17-runbook-run 0 runbook run web-2 restart-app --yes
run 18-runbook-dangerous 8 runbook run web-2 __wipe-cache --yes
run 19-runbook-dangerous-confirmed 0 runbook run web-2 __wipe-cache --yes --confirm __wipe-cache
run 20-exec-db-1 0 exec db-1 --yes -- uptime
feed 21-secret-set-wrong-password 0 WRONG_PW secret set host-db-1-password
run 22-exec-db-1-wrong-password 5 exec db-1 --yes -- uptime
feed 23-secret-set-password 0 PW secret set host-db-1-password
id=$(lookup 24-journal-lookup 'import json, sys; print(next(r["id"] for r in json.load(sys.stdin) if r["kind"] == "flag-off"))' journal)
run 25-flag-undo 0 flag undo "$id" --yes
id=$(lookup 26-silence-lookup 'import json, sys; print(next(s["id"] for s in json.load(sys.stdin) if s["state"] == "active"))' silence list)
run 27-silence-expire 0 silence expire "$id"
run 28-journal 0 journal
feed 29-secret-set-slack-url 0 SLACK_URL secret set ops-slack
feed 30-secret-set-hook-url 0 HOOK_URL secret set hook-url
feed 31-secret-set-hook-key 0 HOOK_KEY secret set hook-hmac
feed 32-secret-set-wrong-smtp-password 0 WRONG_SMTP_PW secret set smtp-paaf
run 33-incident-open 0 incident open 'Secret scan' --playbook scan --severity sev2
run 34-incident-protect 0 incident protect --yes
run 35-incident-show 0 incident show
feed 36-secret-set-smtp-password 0 SMTP_PW secret set smtp-paaf
run 37-incident-stand-down 0 incident stand-down --yes
run 38-incident-resolve 0 incident resolve -m 'scan done'
run 39-incident-postmortem 0 incident postmortem
run 40-incident-show 0 incident show
"#;

/// A secret and what it is, for the failure message (which never prints the value).
struct Needle {
    what: String,
    value: String,
}

/// Where a needle was found: the source and the line, with the secret masked.
fn leaks(sources: &[(String, String)], needles: &[Needle]) -> Vec<String> {
    let mut found = Vec::new();
    for (source, text) in sources {
        for line in text.lines() {
            for n in needles {
                if line.contains(&n.value) {
                    found.push(format!(
                        "{} in {source}: {}",
                        n.what,
                        line.replace(&n.value, "<SECRET>")
                    ));
                }
            }
        }
    }
    found
}

/// The secret values configured in the scenario, and every line of its private keys.
fn needles(token: &str, keys: &[&Path]) -> Vec<Needle> {
    let mut n = vec![
        Needle {
            what: "db-1's password".into(),
            value: PASSWORD.into(),
        },
        Needle {
            what: "the wrong password".into(),
            value: WRONG_PASSWORD.into(),
        },
        Needle {
            what: "web-2's key passphrase".into(),
            value: PHRASE.into(),
        },
        Needle {
            what: "the Unleash admin token".into(),
            value: token.into(),
        },
        Needle {
            what: "the wrong Unleash token".into(),
            value: WRONG_TOKEN.into(),
        },
        Needle {
            what: "a private-key header".into(),
            value: "-----BEGIN".into(),
        },
        Needle {
            what: "the Slack webhook URL's secret part".into(),
            value: "SlackScanSecret-83".into(),
        },
        Needle {
            what: "the webhook URL's token".into(),
            value: HOOK_TOKEN.into(),
        },
        Needle {
            what: "the webhook signing key".into(),
            value: HOOK_KEY.into(),
        },
        Needle {
            what: "the SMTP password".into(),
            value: SMTP_PASSWORD.into(),
        },
        Needle {
            what: "the wrong SMTP password".into(),
            value: WRONG_SMTP_PASSWORD.into(),
        },
    ];
    // The secret part of an Unleash token (`project:env.SECRET`), should the rest be cut.
    for (what, t) in [("admin", token), ("wrong", WRONG_TOKEN)] {
        if let Some((_, secret)) = t.rsplit_once('.') {
            n.push(Needle {
                what: format!("the secret part of the {what} Unleash token"),
                value: secret.into(),
            });
        }
    }
    for key in keys {
        let text = std::fs::read_to_string(key).unwrap();
        for line in text
            .lines()
            .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
        {
            n.push(Needle {
                what: format!("a line of private key {}", key.display()),
                value: line.into(),
            });
        }
    }
    n
}

/// Every file under `dir` but the secrets the scenario itself keeps there (private keys).
fn files(dir: &Path, skip: &[&Path], out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if skip.contains(&path.as_path()) {
            continue;
        }
        if path.is_dir() {
            files(&path, skip, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
}

/// Every row of every table of the SQLite file, each column as text (whatever the schema).
fn journal_rows(path: &Path) -> String {
    let db = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut out = String::new();
    for table in tables {
        let mut stmt = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let cells: Vec<String> = (0..columns)
                .map(|i| match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => "NULL".into(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                })
                .collect();
            out.push_str(&format!("{table}: {}\n", cells.join(" | ")));
        }
    }
    out
}

/// Runs the scenario in `world` under its own kernel session keyring; returns each step's
/// output as a source, after checking the step's exit code.
fn run_scenario(
    world: &World,
    json: bool,
    env: &[(&str, String)],
    out: &Path,
) -> Vec<(String, String)> {
    std::fs::create_dir_all(out).unwrap();
    let script = out.join("scenario.sh");
    std::fs::write(&script, SCENARIO).unwrap();
    let mut cmd = Command::new("keyctl");
    cmd.args(["session", "-", "bash"])
        .arg(&script)
        .arg(out)
        .arg(if json { "--json" } else { "" })
        .env("PAAF", paaf_tests::paaf_bin())
        .env("PAAF_CONFIG", world.config_path())
        .env("PAAF_KEYRING", "keyutils")
        .env("HOME", world.dir.path())
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.output().unwrap();
    assert!(
        status.status.success(),
        "the scenario script failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".code")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 40, "every step ran: {names:?}");
    let mode = if json { "--json" } else { "text" };
    let mut sources = Vec::new();
    for name in names {
        let read = |ext: &str| std::fs::read_to_string(out.join(format!("{name}.{ext}"))).unwrap();
        let code = read("code");
        let mut parts = code.split_whitespace();
        let got = parts.next().unwrap().to_string();
        assert!(
            parts.any(|e| e == got),
            "{mode} step {name} exited {got}, expected {code}:\n{}\n{}",
            read("stdout"),
            read("stderr")
        );
        sources.push((format!("{mode} {name} stdout"), read("stdout")));
        sources.push((format!("{mode} {name} stderr"), read("stderr")));
    }
    sources
}

/// What the desktop app sends over Tauri IPC for the same steps: its commands are one-line
/// calls of these facade methods, replying with the value or an `ErrorInfo` (serde JSON), and
/// the reboot streams its `ProgressEvent`s over a channel.
async fn desktop_payloads(config: &Path, token: &str) -> Vec<(String, String)> {
    fn reply<T: Serialize>(r: &paaf_core::Result<T>) -> String {
        match r {
            Ok(v) => serde_json::to_string(v).unwrap(),
            Err(e) => serde_json::to_string(&ErrorInfo::from(e)).unwrap(),
        }
    }
    let store = |password: &str, token: &str| {
        let s = MemoryStore::default();
        for (name, value) in [
            ("host-web-2-passphrase", PHRASE),
            ("host-db-1-password", password),
            ("unleash-scan", token),
            ("smtp-paaf", SMTP_PASSWORD),
            ("hook-hmac", HOOK_KEY),
        ] {
            s.set(name, &SecretString::from(value)).unwrap();
        }
        Arc::new(s)
    };
    let paaf = Paaf::open(config, store(PASSWORD, token), "desktop").unwrap();
    let events = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = {
        let events = events.clone();
        Arc::new(move |e: ProgressEvent| {
            events
                .lock()
                .unwrap()
                .push(serde_json::to_string(&e).unwrap())
        })
    };
    let mut out = vec![
        ("status".into(), reply(&paaf.status(&[]).await)),
        (
            "reboot".into(),
            reply(
                &paaf
                    .reboot("web-2", &Confirmation::Yes, sink, CancellationToken::new())
                    .await,
            ),
        ),
        (
            "exec".into(),
            reply(&paaf.exec("db-1", "uptime", &Confirmation::Yes).await),
        ),
        (
            "run_runbook".into(),
            reply(
                &paaf
                    .run_runbook("web-2", "restart-app", &Confirmation::Yes)
                    .await,
            ),
        ),
        (
            "flags".into(),
            reply(&paaf.flags(None, &FlagFilter::default()).await),
        ),
    ];
    let target = FlagTarget {
        backend: None,
        project: String::new(),
        key: FLAG.into(),
        environment: "production".into(),
    };
    let state = paaf.flag_state(&target).await.unwrap();
    let change = paaf
        .set_flag(&target, !state.enabled, &state, &Confirmation::Yes)
        .await;
    out.push(("set_flag".into(), reply(&change)));
    if let Ok(change) = change {
        out.push((
            "undo_flag".into(),
            reply(&paaf.undo_flag(change.action_id, &Confirmation::Yes).await),
        ));
    }
    out.push(("overview".into(), reply(&paaf.overview().await)));
    out.push(("incident_detail".into(), reply(&paaf.incident_detail(None))));
    out.push(("postmortem".into(), reply(&paaf.postmortem(None))));
    out.push(("journal".into(), reply(&paaf.journal(None, 200))));
    // Wrong secrets: the error infos the app would show.
    let wrong = Paaf::open(config, store(WRONG_PASSWORD, WRONG_TOKEN), "desktop").unwrap();
    out.push((
        "exec, wrong password".into(),
        reply(&wrong.exec("db-1", "uptime", &Confirmation::Yes).await),
    ));
    out.push((
        "flags, wrong token".into(),
        reply(&wrong.flags(None, &FlagFilter::default()).await),
    ));
    for (i, e) in events.lock().unwrap().iter().enumerate() {
        out.push((format!("reboot progress event {i}"), e.clone()));
    }
    out.into_iter()
        .map(|(what, text)| (format!("desktop IPC {what}"), text))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_any_output_log_file_journal_row_or_ipc_payload() {
    let keys_dir = tempfile::TempDir::new().unwrap();
    let key1 = paaf_tests::keygen(keys_dir.path(), "id_web1", "ed25519", "");
    let key2 = paaf_tests::keygen(keys_dir.path(), "id_web2", "ed25519", PHRASE);
    let web1 = SshHost::start(&[&key1]);
    let web2 = SshHost::start(&[&key2]);
    let db1 = SshHost::start(&[]);
    for h in [&web1, &web2] {
        h.set_down_secs(0.5);
    }
    let clock = std::time::Instant::now();
    let lap = |what: &str| {
        eprintln!(
            "secret scan: {what} after {:.1}s",
            clock.elapsed().as_secs_f64()
        )
    };
    let prometheus = PrometheusPeers::start();
    let unleash = UnleashServer::start();
    unleash
        .admin()
        .create_flag(FLAG, &["production", "development"])
        .await;
    let token = unleash.admin_token.clone();
    // The notify receivers: Slack and the webhook (contract servers), email (aiosmtpd).
    let slack = post_receiver(SLACK_PATH, ResponseTemplate::new(200).set_body_string("ok")).await;
    let hook = post_receiver("/hook", ResponseTemplate::new(204)).await;
    let smtp = SmtpServer::start("paaf", SMTP_PASSWORD);
    lap("peers up");
    let env = [
        ("PORT_WEB1", web1.port.to_string()),
        ("PORT_WEB2", web2.port.to_string()),
        ("PORT_DB1", db1.port.to_string()),
        ("KEY1", key1.display().to_string()),
        ("KEY2", key2.display().to_string()),
        ("PW", PASSWORD.to_string()),
        ("WRONG_PW", WRONG_PASSWORD.to_string()),
        ("PHRASE", PHRASE.to_string()),
        ("TOKEN", token.clone()),
        ("WRONG_TOKEN", WRONG_TOKEN.to_string()),
        ("SLACK_URL", format!("{}{SLACK_PATH}", slack.uri())),
        (
            "HOOK_URL",
            format!("{}/hook?token={HOOK_TOKEN}", hook.uri()),
        ),
        ("HOOK_KEY", HOOK_KEY.to_string()),
        ("SMTP_PW", SMTP_PASSWORD.to_string()),
        ("WRONG_SMTP_PW", WRONG_SMTP_PASSWORD.to_string()),
    ];
    let config = |world: &World| {
        world.write_config(&format!(
            "operator = \"scan\"\n\n[defaults.reboot]\nbackoff_max_secs = 1\n\n\
             [[monitoring]]\nname = \"prom\"\ntype = \"prometheus\"\nurl = \"{}\"\n\n\
             [[monitoring]]\nname = \"alertmanager\"\ntype = \"alertmanager\"\nurl = \"{}\"\n\n\
             [[flags]]\nname = \"unleash\"\ntype = \"unleash\"\nurl = \"{}\"\ntoken = \"keyring:unleash-scan\"\n\n\
             [[notify]]\nname = \"ops-slack\"\ntype = \"slack\"\nurl = \"keyring:ops-slack\"\n\n\
             [[notify]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"keyring:hook-url\"\nsecret = \"keyring:hook-hmac\"\n\n\
             [[notify]]\nname = \"mail\"\ntype = \"email\"\nserver = \"localhost\"\nport = {}\nuser = \"paaf\"\n\
             password = \"keyring:smtp-paaf\"\nfrom = \"paaf@example.com\"\nto = [\"oncall@example.com\"]\nca_file = \"{}\"\n\n\
             [[playbooks]]\nname = \"scan\"\n\n\
             [[playbooks.protect]]\nflag = \"{FLAG}\"\nenv = \"production\"\n\n\
             [[playbooks.protect]]\nsilence = \"30m\"\nmatchers = [\"alertname=PaafTestAlwaysFiring\"]\n",
            prometheus.prometheus_url(),
            prometheus.alertmanager_url(),
            unleash.url(),
            smtp.port,
            smtp.ca_file().display(),
        ));
    };
    let outputs = tempfile::TempDir::new().unwrap();
    let mut sources = Vec::new();
    let mut worlds = Vec::new();
    for json in [true, false] {
        let world = World::new();
        config(&world);
        let out: PathBuf = outputs.path().join(if json { "json" } else { "text" });
        sources.extend(tokio::task::block_in_place(|| {
            run_scenario(&world, json, &env, &out)
        }));
        worlds.push(world);
        lap(if json {
            "the --json scenario"
        } else {
            "the text scenario"
        });
    }
    sources.extend(desktop_payloads(&worlds[0].config_path(), &token).await);
    lap("the desktop payloads");
    // What the notify receivers got: bodies only (the URL and the SMTP login are theirs).
    for (name, server) in [("Slack", &slack), ("webhook", &hook)] {
        for (i, r) in server.received_requests().await.unwrap().iter().enumerate() {
            sources.push((
                format!("{name} message {i}"),
                String::from_utf8_lossy(&r.body).into_owned(),
            ));
        }
    }
    let mails = smtp.messages();
    for (i, m) in mails.iter().enumerate() {
        sources.push((format!("email {i}"), m.text.clone()));
    }
    assert!(
        !mails.is_empty() && hook.received_requests().await.unwrap().len() > 2,
        "the notify targets were reached"
    );
    for world in &worlds {
        files(world.dir.path(), &[&world.key], &mut sources);
        sources.push((
            format!("journal rows of {}", world.journal_path().display()),
            journal_rows(&world.journal_path()),
        ));
    }

    // The scan only means something if the scenario really ran and logged.
    let all: String = sources.iter().map(|(_, t)| t.as_str()).collect();
    for expected in [
        "DEBUG",
        "rebooted and verified",
        // `reboot --json` streams compact NDJSON, the report last (issue 18).
        "\"rebooted\":true",
        "cache wiped",
        "auth-failed",
        "flag-off",
        "BootIdChanged",
        "read back: OFF in production",
        "stand-down: ",
        "## Timeline",
        "(535)",
    ] {
        assert!(
            all.contains(expected),
            "the scenario's output lacks {expected:?}"
        );
    }
    let found = leaks(&sources, &needles(&token, &[&key1, &key2]));
    println!(
        "secret scan: {} sources ({} bytes) scanned for {} secret values and private-key lines: {} leaks",
        sources.len(),
        all.len(),
        needles(&token, &[&key1, &key2]).len(),
        found.len()
    );
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

#[test]
fn the_scan_finds_a_planted_secret_and_masks_it() {
    let dir = tempfile::TempDir::new().unwrap();
    let key = paaf_tests::keygen(dir.path(), "k", "ed25519", PHRASE);
    let key_line = std::fs::read_to_string(&key)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let needles = needles("*:*.abc123secret", &[&key]);
    let sources = vec![
        ("clean".to_string(), "nothing to see\nhere".to_string()),
        (
            "log".to_string(),
            format!("DEBUG auth with {PHRASE}\ntoken=abc123secret"),
        ),
        ("journal".to_string(), format!("key: {key_line}")),
    ];
    let found = leaks(&sources, &needles);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found
            .iter()
            .all(|f| !f.contains(PHRASE) && !f.contains("abc123secret"))
    );
    assert!(found[0].contains("passphrase in log"), "{found:?}");
}
