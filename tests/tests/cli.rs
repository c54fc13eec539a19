//! The `paaf` binary end to end: host keys, runbooks, journal, crashes, config errors, and no
//! secret anywhere in what it prints or stores.

use paaf_tests::{
    PASSWORD, SshHost, USER, World, host_entry, journal_json, trusted_web1_rebooting_fast,
};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fingerprint(host: &SshHost) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(host.dir.join("ssh_host_ed25519_key.pub"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

#[test]
fn unknown_host_keys_are_shown_and_need_acceptance_and_changed_keys_are_refused() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.write_config(&host_entry("web-1", &host, &world.key, ""));
    let marker = world.writable_dir().join("ran");
    let touch = format!("touch {}", marker.display());
    let touch_with_flag = || {
        let args = [
            "exec",
            "web-1",
            "--yes",
            "--accept-new-host-key",
            "--",
            &touch,
        ];
        world.paaf().args(args).output().unwrap()
    };

    // Unknown key, no terminal, no flag: refused with the SHA256 fingerprint, nothing run.
    let out = world
        .paaf()
        .args(["exec", "web-1", "--yes", "--", &touch])
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(&fingerprint(&host)),
        "the fingerprint is shown: {err}"
    );
    assert!(err.contains("host-key-unknown"), "{err}");
    assert!(!marker.exists());

    // Accepted with the flag: recorded, and the command runs.
    let out = touch_with_flag();
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(marker.exists());
    let known = std::fs::read_to_string(world.dir.path().join("known_hosts")).unwrap();
    assert!(
        known.contains(&format!("[127.0.0.1]:{}", host.port)),
        "{known}"
    );

    // The host key changes: refused even with the flag, nothing run, the fix is named.
    std::fs::remove_file(&marker).unwrap();
    host.rekey();
    let out = touch_with_flag();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("REFUSED") && err.contains("paaf host forget-key web-1"),
        "{err}"
    );
    assert!(err.contains(&fingerprint(&host)), "{err}");
    assert!(
        !marker.exists(),
        "nothing may run on a host whose key changed"
    );

    // The documented fix works: forget the old key, trust the new one.
    world
        .paaf()
        .args(["host", "forget-key", "web-1"])
        .assert()
        .success();
    let out = world
        .paaf()
        .args(["host", "trust", "web-1", "--accept-new-host-key"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    world
        .paaf()
        .args(["exec", "web-1", "--yes", "--", &touch])
        .assert()
        .success();
    assert!(marker.exists());
}

/// `paaf host add NAME --address 127.0.0.1 --port PORT --user USER` and `extra`.
fn host_add(world: &World, name: &str, host: &SshHost, extra: &[&str]) -> std::process::Output {
    let port = host.port.to_string();
    let args = [
        "host",
        "add",
        name,
        "--address",
        "127.0.0.1",
        "--port",
        &port,
        "--user",
        USER,
    ];
    world.paaf().args(args).args(extra).output().unwrap()
}

fn config_names(world: &World, name: &str) -> bool {
    std::fs::read_to_string(world.config_path())
        .unwrap_or_default()
        .contains(name)
}

#[test]
fn host_add_list_and_json_status() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    let key = world.key.to_str().unwrap();

    // Not confirmed (no terminal, no flag): refused, and nothing is left half-added.
    let out = host_add(&world, "web-1", &host, &["--key", key]);
    assert_eq!(out.status.code(), Some(4), "{:?}", text(&out));
    assert!(text(&out).1.contains(&fingerprint(&host)));
    assert!(!config_names(&world, "web-1"));

    let out = host_add(
        &world,
        "web-1",
        &host,
        &["--key", key, "--accept-new-host-key"],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let out = world
        .paaf()
        .args(["host", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let h = &list[0];
    assert_eq!(h["name"], "web-1");
    assert_eq!(h["reachable"], true);
    assert_eq!(h["boot_id"], host.boot_id());
    assert!(h["uptime_secs"].as_u64().is_some());
    assert!(h["os"].as_str().unwrap().contains("Linux"), "{h}");
    assert_eq!(h["last_action"]["kind"], "host-add");
    assert!(
        h["last_action"]["result"]
            .as_str()
            .unwrap()
            .contains(&fingerprint(&host)),
        "the key trusted while adding: {h}"
    );

    // The table form names the same facts (piped, -o table asks for the table over TSV).
    let out = world
        .paaf()
        .args(["host", "list", "-o", "table"])
        .output()
        .unwrap();
    let (table, _) = text(&out);
    assert!(
        table.contains("web-1") && table.contains(" up ") && table.contains(&host.boot_id()[..8]),
        "{table}"
    );

    // Adding the same name twice is refused without touching the file.
    let before = std::fs::read_to_string(world.config_path()).unwrap();
    let out = world
        .paaf()
        .args([
            "host",
            "add",
            "web-1",
            "--address",
            "10.0.0.1",
            "--user",
            "x",
            "--agent",
            "--no-connect",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        std::fs::read_to_string(world.config_path()).unwrap(),
        before
    );
}

#[test]
fn a_host_add_that_cannot_log_in_saves_nothing_and_the_corrected_command_works() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host); // its key is known: only the login can fail
    let missing = world.dir.path().join("no-such-key");
    let missing = missing.to_str().unwrap();
    let out = host_add(&world, "web-9", &host, &["--key", missing]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(5), "{stdout}{err}");
    assert!(!stdout.contains("Added"), "{stdout}");
    assert!(err.contains("web-9 was not added"), "{err}");
    assert!(!config_names(&world, "web-9"), "nothing saved");
    // Nor is the key of a host whose login failed, when it was accepted for that login.
    let fresh = World::new();
    let out = host_add(
        &fresh,
        "web-9",
        &host,
        &["--key", missing, "--accept-new-host-key"],
    );
    assert_eq!(out.status.code(), Some(5), "{:?}", text(&out));
    assert!(!config_names(&fresh, "web-9"));
    let known = std::fs::read_to_string(fresh.dir.path().join("known_hosts")).unwrap_or_default();
    assert!(!known.contains(&format!(":{}", host.port)), "{known}");

    let key = world.key.to_str().unwrap();
    let out = host_add(&world, "web-9", &host, &["--key", key]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.contains("Added web-9"), "{:?}", text(&out));
    assert!(config_names(&world, "web-9"));
    let rows = journal_json(&world);
    assert_eq!(
        (&rows[0]["kind"], &rows[0]["state"]),
        (&"host-add".into(), &"succeeded".into())
    );
    assert_eq!(
        (&rows[1]["kind"], &rows[1]["state"]),
        (&"host-add".into(), &"failed".into())
    );
}

#[test]
fn a_refused_host_key_saves_nothing_and_its_hint_names_a_command_that_works() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    let key = world.key.to_str().unwrap();

    // Unknown key, not accepted (no terminal, no flag).
    let out = host_add(&world, "web-2", &host, &["--key", key]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains(&fingerprint(&host)), "{err}");
    assert!(
        !err.contains("paaf host trust web-2"),
        "web-2 is not a host yet: {err}"
    );
    assert!(err.contains("--accept-new-host-key"), "{err}");
    assert!(!config_names(&world, "web-2"));
    // The hint: the same command, accepting the key.
    let out = host_add(
        &world,
        "web-2",
        &host,
        &["--key", key, "--accept-new-host-key"],
    );
    assert!(out.status.success(), "{:?}", text(&out));

    // A key that differs from the one known_hosts records for the address.
    let other = World::new();
    let moved = SshHost::start(&[&other.key]);
    other.trust(&moved);
    moved.rekey();
    let key = other.key.to_str().unwrap();
    let out = host_add(
        &other,
        "web-3",
        &moved,
        &["--key", key, "--accept-new-host-key"],
    );
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("REFUSED") && err.contains(&fingerprint(&moved)),
        "{err}"
    );
    assert!(!config_names(&other, "web-3"));
    // Its hint, step by step: add without connecting, forget the old key, trust the new one.
    for step in [
        "--no-connect",
        "paaf host forget-key web-3",
        "paaf host trust web-3",
    ] {
        assert!(err.contains(step), "{step}: {err}");
    }
    let out = host_add(&other, "web-3", &moved, &["--key", key, "--no-connect"]);
    assert!(out.status.success(), "{:?}", text(&out));
    for args in [
        &["host", "forget-key", "web-3"][..],
        &["host", "trust", "web-3", "--accept-new-host-key"],
        &["exec", "web-3", "--yes", "--", "true"],
    ] {
        let out = other.paaf().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {:?}", text(&out));
    }
}

#[test]
fn runbooks_are_listed_and_dangerous_ones_need_the_typed_name() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    world.write_config(&host_entry("web-1", &host, &world.key, ""));

    let out = world
        .paaf()
        .args(["runbook", "list", "web-1", "--json"])
        .output()
        .unwrap();
    let books: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<(&str, bool)> = books
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap(),
                b["dangerous"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("__wipe-cache", true),
            ("check-disk", false),
            ("fail-example", false),
            ("restart-app", false)
        ],
        "README.txt is not executable so it is not a runbook"
    );

    let out = world
        .paaf()
        .args(["runbook", "run", "web-1", "restart-app", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(text(&out).0.contains("ok"));

    let out = world
        .paaf()
        .args(["runbook", "run", "web-1", "fail-example", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9), "a failing runbook exits 9");

    // Dangerous: --yes is not enough, a wrong name is not enough, the typed name is.
    for args in [&["--yes"][..], &["--confirm", "__wipe"][..]] {
        let out = world
            .paaf()
            .args(["runbook", "run", "web-1", "__wipe-cache"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(8), "{args:?}: {:?}", text(&out));
    }
    let out = world
        .paaf()
        .args([
            "runbook",
            "run",
            "web-1",
            "__wipe-cache",
            "--confirm",
            "__wipe-cache",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.contains("cache wiped"));

    for bad in ["../../../bin/sh", "nope"] {
        let out = world
            .paaf()
            .args(["runbook", "run", "web-1", bad, "--yes"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{bad}: {:?}", text(&out));
    }

    // Only the runs reached the journal, each with who, where from and the result.
    let rows = journal_json(&world);
    let runs: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["detail"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        runs,
        [
            ("__wipe-cache", "succeeded"),
            ("fail-example", "failed"),
            ("restart-app", "succeeded")
        ]
    );
    let r = &rows[0];
    assert_eq!(r["frontend"], "cli");
    assert_eq!(r["operator"], whoami_user());
    assert!(!r["device"].as_str().unwrap().is_empty());
    assert!(r["duration_ms"].as_u64().is_some());
}

fn whoami_user() -> String {
    String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn the_operator_comes_from_the_config() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    world.write_config(&format!(
        "operator = \"alice\"\n{}",
        host_entry("web-1", &host, &world.key, "")
    ));
    world
        .paaf()
        .args(["exec", "web-1", "--yes", "--", "true"])
        .assert()
        .success();
    assert_eq!(journal_json(&world)[0]["operator"], "alice");
}

#[test]
fn kill_9_during_a_reboot_leaves_the_action_as_outcome_unknown() {
    let (world, host) = trusted_web1_rebooting_fast();
    host.stay_down(true);
    let bin = paaf_tests::paaf_bin();
    let mut child = Command::new(bin)
        .env("PAAF_CONFIG", world.config_path())
        .args(["reboot", "web-1", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the host went down: the reboot is mid-flight, waiting for it.
    let start = Instant::now();
    while host.reboot_count() == 0 && !host.dir.join("reboot-requested").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the reboot never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let running = journal_json(&world);
    assert_eq!(running[0]["state"], "running", "{running:?}");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let rows = journal_json(&world);
    assert_eq!(rows[0]["kind"], "reboot");
    assert_eq!(rows[0]["state"], "unknown", "{rows:?}");
    assert!(
        rows[0]["result"]
            .as_str()
            .unwrap()
            .contains("outcome unknown")
    );
    host.stay_down(false);
}

#[test]
fn config_errors_name_the_file_the_line_and_the_fix() {
    let world = World::new();
    world.write_config("operator = \"x\"\n\n[[hosts]]\nname = \"a\"\naddress = \"h\"\nuser = \"u\"\nport = 0\nauth = { type = \"agent\" }\n");
    let out = world.paaf().args(["host", "list"]).output().unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&world.config_path().display().to_string()),
        "{err}"
    );
    assert!(err.contains("line 7"), "{err}");
    assert!(err.contains("fix:"), "{err}");

    let out = world
        .paaf()
        .args(["host", "list", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "config");
}

#[test]
fn no_secret_reaches_output_logs_or_the_journal() {
    let world = World::new();
    let phrase = "Key-Passphrase-Sentinel-31";
    let locked = paaf_tests::keygen(world.dir.path(), "id_locked", "ed25519", phrase);
    let host = SshHost::start(&[&locked]);
    world.trust(&host);
    world.write_config(&format!(
        "[[hosts]]\nname = \"db-1\"\naddress = \"127.0.0.1\"\nport = {port}\nuser = \"{USER}\"\nauth = {{ type = \"password\", password = \"env:PAAF_TEST_PW\" }}\n[hosts.reboot]\nbackoff_max_secs = 1\n\n\
         [[hosts]]\nname = \"web-1\"\naddress = \"127.0.0.1\"\nport = {port}\nuser = \"{USER}\"\nauth = {{ type = \"key\", path = \"{}\", passphrase = \"env:PAAF_TEST_PHRASE\" }}\n",
        locked.display(),
        port = host.port
    ));
    let (wrong_pw, wrong_phrase) = ("wr0ng-Secret-Value-77", "wr0ng-Phrase-Value-88");
    let mut everything = String::new();
    let runs: [(&str, &str, &[&str]); 7] = [
        (PASSWORD, phrase, &["-vv", "host", "list"]),
        (
            PASSWORD,
            phrase,
            &["-vv", "exec", "db-1", "--yes", "--", "echo hi"],
        ),
        (
            PASSWORD,
            phrase,
            &["-vv", "exec", "web-1", "--yes", "--", "echo hi"],
        ),
        (PASSWORD, phrase, &["-vv", "reboot", "db-1", "--yes"]),
        (
            PASSWORD,
            phrase,
            &["-vv", "--json", "reboot", "web-1", "--yes"],
        ),
        (
            wrong_pw,
            phrase,
            &["-vv", "exec", "db-1", "--yes", "--", "true"],
        ),
        (
            PASSWORD,
            wrong_phrase,
            &["-vv", "--json", "exec", "web-1", "--yes", "--", "true"],
        ),
    ];
    for (pw, pass, args) in runs {
        let out = world
            .paaf()
            .env("PAAF_TEST_PW", pw)
            .env("PAAF_TEST_PHRASE", pass)
            .env("PAAF_LOG", "trace")
            .args(args)
            .output()
            .unwrap();
        let (o, e) = text(&out);
        everything += &o;
        everything += &e;
    }
    assert_eq!(
        everything.matches("auth-failed").count(),
        2,
        "both wrong secrets were refused: {everything}"
    );
    assert_eq!(
        everything.matches("rebooted and verified").count(),
        1,
        "{everything}"
    );
    // -o json streams one compact line per event, the report last.
    assert!(everything.contains("\"rebooted\":true"), "{everything}");
    for file in [
        "journal.sqlite",
        "journal.sqlite-wal",
        "config.toml",
        "known_hosts",
    ] {
        if let Ok(bytes) = std::fs::read(world.dir.path().join(file)) {
            everything += &String::from_utf8_lossy(&bytes);
        }
    }
    for secret in [PASSWORD, phrase, wrong_pw, wrong_phrase] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

/// Runs paaf on a pseudo-terminal (util-linux `script`), typing `answers` one line at a time.
fn on_tty(world: &World, args: &str, answers: &[&str]) -> (Option<i32>, String) {
    let bin = paaf_tests::paaf_bin();
    let typed: String = answers
        .iter()
        .map(|a| format!("sleep 1; printf '%s\\r' '{}'; ", a.replace('\'', "")))
        .collect();
    let script = format!(
        "({typed} sleep 1) | script -qec \"'{}' {args}\" /dev/null",
        bin.display()
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .env("PAAF_CONFIG", world.config_path())
        .env("PAAF_KEYRING", "keyutils")
        .env("TERM", "dumb")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn on_a_terminal_paaf_asks_and_honours_the_answer() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.write_config(&host_entry("web-1", &host, &world.key, ""));
    let marker = world.writable_dir().join("ran");
    let cmd = format!("exec web-1 -- touch {}", marker.display());

    // Yes to the command, then first contact: the fingerprint is shown, and a "no" to it
    // trusts nothing and runs nothing.
    let (code, screen) = on_tty(&world, &cmd, &["y", "n"]);
    assert!(
        screen.contains("Trust this key") && screen.contains(&fingerprint(&host)),
        "{screen}"
    );
    assert_eq!(code, Some(4), "{screen}");
    assert!(!marker.exists());

    // "no" to the command: nothing runs.
    let (code, screen) = on_tty(&world, &cmd, &["n"]);
    assert_eq!(code, Some(8), "{screen}");
    assert!(!marker.exists());

    // "yes" to both: the key is recorded and the command runs.
    let (code, screen) = on_tty(&world, &cmd, &["y", "y"]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(marker.exists());

    // A dangerous runbook wants its name typed; a wrong name is a refusal.
    let (code, screen) = on_tty(&world, "runbook run web-1 __wipe-cache", &["yes"]);
    assert_eq!(code, Some(8), "{screen}");
    let (code, screen) = on_tty(&world, "runbook run web-1 __wipe-cache", &["__wipe-cache"]);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("cache wiped"), "{screen}");
}

/// Issue 14, finding 3: a yes/no prompt answered key by key took the `y` of `maybe` or
/// `no way` as a yes and rebooted the host. Only an explicit `y`/`yes` (any case) confirms;
/// anything else stops with "Aborted, nothing done" (exit 8), which reads as a stop, not as an
/// error to fix.
#[test]
fn at_the_reboot_prompt_only_an_explicit_yes_reboots() {
    let (world, host) = trusted_web1_rebooting_fast();
    let first_boot = host.boot_id();
    for answer in ["maybe", "no way", "", "n", "nope yes"] {
        let (code, screen) = on_tty(&world, "reboot web-1", &[answer]);
        assert!(screen.contains("Reboot web-1 now? [y/N]"), "{screen}");
        assert_eq!(code, Some(8), "{answer:?} is a no: {screen}");
        assert!(
            screen.contains("Aborted, nothing done"),
            "{answer:?}: {screen}"
        );
        assert!(!screen.contains("error["), "{answer:?}: {screen}");
        assert!(
            !screen.contains("[Y/n]"),
            "the prompt never flips: {screen}"
        );
        assert_eq!(host.boot_id(), first_boot, "{answer:?} rebooted the host");
        assert_eq!(host.reboot_count(), 0, "{answer:?} rebooted the host");
    }
    assert!(
        journal_json(&world).is_empty(),
        "a declined reboot is not journaled"
    );

    for answer in ["Y", "yes"] {
        let before = host.boot_id();
        let (code, screen) = on_tty(&world, "reboot web-1", &[answer]);
        assert_eq!(code, Some(0), "{answer:?} is a yes: {screen}");
        assert!(screen.contains("rebooted and verified"), "{screen}");
        assert_ne!(host.boot_id(), before, "{answer:?} did not reboot");
    }
    assert_eq!(host.reboot_count(), 2);
}
