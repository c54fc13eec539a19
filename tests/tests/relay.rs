//! Tap-to-act end to end: Alertmanager- and Grafana-shaped webhooks (the bodies in
//! /work/shared/fixtures/alerts, as documented at
//! https://prometheus.io/docs/alerting/latest/configuration/#webhook_config and
//! https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/)
//! into a real paaf-relay on 127.0.0.1 → signed intents over its SSE stream to paired
//! devices (the core, and the `paaf` CLI) → verified, confirmed, run with the device's own
//! credentials against a real Unleash and a real sshd host → journaled in the open incident.
//! Then every refusal, with nothing run: forged, wrong key, expired, replayed, unknown target,
//! kind not allowed, unpaired; and on the relay: oversize body, bad HMAC, bad token, rate
//! limit. Two devices claiming one intent run it once; a killed relay keeps what it had not
//! delivered. Pushes to ntfy, FCM, Web Push and APNs go to contract servers answering as their
//! docs say, errors included (Web Push decrypted and JWTs verified by PyPI http-ece and
//! cryptography, through tests/peers/webpush.sh).

use ed25519_dalek::SigningKey;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use paaf_core::incident::IncidentDetail;
use paaf_core::intent::relay_client::PushEndpoint;
use paaf_core::intent::{self, ActionIntent, IntentAction, IntentRefusal};
use paaf_core::journal::{ActionKind, ActionState};
use paaf_core::secrets::{MemoryStore, SecretStore};
use paaf_core::{Confirmation, Error, IncidentInput, IntentOutcome, Paaf, ProgressEvent};
use paaf_tests::{PostgresServer, Relay, SshHost, UnleashServer, World, host_entry, journal_json};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAIRING_TOKEN: &str = "pairing-token-for-tests-0123456789";
const AM_TOKEN: &str = "alertmanager-bearer-for-tests-0123";
const GRAFANA_SECRET: &str = "grafana-hmac-secret-for-tests-012";

fn fixture(name: &str) -> Value {
    let path = Path::new("/work/shared/fixtures/alerts").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The fixture with its first alert renamed `alertname` (and firing), so a playbook
/// matches it; the other alerts are left as they are.
fn webhook_body(name: &str, alertname: &str) -> Vec<u8> {
    let mut body = fixture(name);
    body["alerts"][0]["labels"]["alertname"] = Value::from(alertname);
    body["alerts"][0]["status"] = Value::from("firing");
    serde_json::to_vec(&body).unwrap()
}

fn hmac_hex(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(GRAFANA_SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes relay.toml in `dir` (playbooks from `team`), starts the relay.
fn start_relay(dir: &Path, team: &Path, am_per_minute: u32) -> Relay {
    start_relay_with(dir, team, am_per_minute, "", &[])
}

/// The same, with `extra` appended to relay.toml and `env` added to the relay's environment.
fn start_relay_with(
    dir: &Path,
    team: &Path,
    am_per_minute: u32,
    extra: &str,
    env: &[(&str, &str)],
) -> Relay {
    let storage = r#"database = "relay.sqlite""#;
    start_relay_on(dir, team, am_per_minute, storage, extra, env)
}

/// The same, its storage said by the top-level TOML line `storage`.
fn start_relay_on(
    dir: &Path,
    team: &Path,
    am_per_minute: u32,
    storage: &str,
    extra: &str,
    env: &[(&str, &str)],
) -> Relay {
    std::fs::write(
        dir.join("relay.toml"),
        relay_toml(team, am_per_minute, storage, extra),
    )
    .unwrap();
    let mut all = vec![
        ("T_PAIRING", PAIRING_TOKEN),
        ("T_AM", AM_TOKEN),
        ("T_GRAFANA", GRAFANA_SECRET),
    ];
    all.extend_from_slice(env);
    Relay::start(dir, &all)
}

/// relay.toml (without `listen`): playbooks from `team`, storage said by `storage`, `extra`
/// appended.
fn relay_toml(team: &Path, am_per_minute: u32, storage: &str, extra: &str) -> String {
    format!(
        r#"{storage}
signing_key = "relay.key"
playbooks = "{team}"
intent_ttl_secs = 600
max_body_bytes = 65536
pairing_token_env = "T_PAIRING"

[[sources]]
name = "alertmanager"
auth = "bearer"
secret_env = "T_AM"
per_minute = {am_per_minute}

[[sources]]
name = "grafana"
auth = "hmac"
secret_env = "T_GRAFANA"
{extra}"#,
        team = team.display()
    )
}

async fn post(relay: &Relay, source: &str, body: Vec<u8>, headers: &[(&str, String)]) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/{source}", relay.url()))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn post_alertmanager(relay: &Relay, body: Vec<u8>) -> u16 {
    let auth = format!("Bearer {AM_TOKEN}");
    post(relay, "alertmanager", body, &[("authorization", auth)]).await
}

/// A device: paaf opened on its own copy of the team config (its own journal), secrets in
/// memory, named `name`.
fn device(dir: &Path, team_config: &str, name: &str, unleash_token: Option<&str>) -> Paaf {
    std::fs::create_dir_all(dir).unwrap();
    let store = MemoryStore::default();
    if let Some(token) = unleash_token {
        store
            .set("unleash", &SecretString::from(token.to_string()))
            .unwrap();
    }
    Paaf::open_text(
        &dir.join("config.toml"),
        team_config,
        Arc::new(store),
        "test",
    )
    .unwrap()
    .with_device(name)
}

/// The next `n` intents on the device's stream (their links).
/// Runs the shell `script` as a device would, in the world's directory: the test's `paaf` first on PATH, the
/// world's config, the keychain in keyutils (in a session keyring of its own, as a login shell
/// would give it), paired with `relay` through $RELAY and the pairing token.
fn device_script(world: &World, relay: &Relay, script: &str) -> std::process::Child {
    let bin_dir = paaf_tests::paaf_bin().parent().unwrap().to_path_buf();
    std::process::Command::new("keyctl")
        .args(["session", "-", "sh", "-c", script])
        .current_dir(world.dir.path())
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("PAAF_CONFIG", world.config_path())
        .env("PAAF_KEYRING", "keyutils")
        .env("PAAF_RELAY_PAIRING_TOKEN", PAIRING_TOKEN)
        .env("RELAY", relay.url())
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .spawn()
        .unwrap()
}

async fn next_intents(paaf: &Paaf, n: usize) -> Vec<String> {
    let mut urls = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(60),
        paaf.relay_listen(None, |_, notice| {
            urls.push(notice.url);
            urls.len() < n
        }),
    )
    .await
    .expect("intents in time")
    .unwrap();
    urls
}

fn quiet() -> Arc<dyn paaf_core::ProgressSink> {
    Arc::new(|_: ProgressEvent| {})
}

fn refusal(result: paaf_core::Result<impl std::fmt::Debug>) -> IntentRefusal {
    match result {
        Err(Error::IntentRefused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn relay_key(relay: &Relay) -> SigningKey {
    let seed = std::fs::read_to_string(relay.dir.join("relay.key")).unwrap();
    let bytes: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&seed[i..i + 2], 16).unwrap())
        .collect();
    SigningKey::from_bytes(&bytes.try_into().unwrap())
}

/// The intent in `url`, changed by `change` and signed again with `key`.
fn resigned(url: &str, key: &SigningKey, change: impl FnOnce(&mut ActionIntent)) -> String {
    let mut intent = intent::decode(url).unwrap().intent;
    change(&mut intent);
    intent::url_of(&intent::sign(&intent, key))
}

fn detail(paaf: &Paaf) -> IncidentDetail {
    paaf.incident_detail(None).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alertmanager_webhook_turns_a_flag_off_once_from_two_devices_and_refuses_forgeries() {
    let unleash = UnleashServer::start();
    unleash
        .admin()
        .create_flag("new-checkout", &["production"])
        .await;
    let world = World::new();
    let team = format!(
        r#"[[hosts]]
name = "web-9"
address = "127.0.0.1"
user = "nobody"
auth = {{ type = "agent" }}

[[flags]]
name = "prod"
type = "unleash"
url = "{url}"
token = "keyring:unleash"

[[playbooks]]
name = "checkout"
match = {{ alertname = "CheckoutErrors" }}

[[playbooks.protect]]
flag = "new-checkout"
env = "production"
"#,
        url = unleash.url()
    );
    world.write_config(&team);
    let relay = start_relay(world.dir.path(), &world.config_path(), 100);

    let phone = device(
        &world.dir.path().join("phone"),
        &team,
        "phone-a",
        Some(&unleash.admin_token),
    );
    let laptop = device(
        &world.dir.path().join("laptop"),
        &team,
        "laptop-b",
        Some(&unleash.admin_token),
    );
    let stranger = device(&world.dir.path().join("stranger"), &team, "stranger", None);
    let token = SecretString::from(PAIRING_TOKEN.to_string());
    let pairing = phone.relay_pair(&relay.url(), &token).await.unwrap();
    assert_eq!(
        pairing.relay_key, relay.key,
        "the key the relay printed is pinned"
    );
    laptop.relay_pair(&relay.url(), &token).await.unwrap();
    let wrong = stranger
        .relay_pair(&relay.url(), &SecretString::from("guess".to_string()))
        .await;
    assert!(wrong.is_err(), "a wrong pairing token pairs nothing");

    let incident = phone
        .open_incident(&IncidentInput {
            title: "Checkout errors".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let body = webhook_body(
        "alertmanager-v4-mixed-firing-resolved.bougou.json",
        "CheckoutErrors",
    );
    assert_eq!(post_alertmanager(&relay, body.clone()).await, 202);
    // Alertmanager repeats a firing alert's notification: no second intent while one lives.
    assert_eq!(post_alertmanager(&relay, body).await, 202);

    let url = next_intents(&phone, 1).await.remove(0);
    assert!(url.starts_with("paaf://intent/"), "{url}");
    // Both devices got it (the stream pushes a claimed intent no more).
    let on_laptop = next_intents(&laptop, 1).await.remove(0);
    assert_eq!(on_laptop, url);
    let shown = phone.open_intent(&url).await.unwrap();
    assert_eq!(shown.already, None, "nobody acted yet");
    assert_eq!(shown.claim_unknown, None, "the relay was asked");
    assert_eq!(shown.kind, "flag-off");
    assert_eq!(shown.action, "flag new-checkout OFF in production");
    assert_eq!(shown.incident, Some(incident.id));
    assert_eq!(shown.typed_name, None);
    assert!(unleash.admin().enabled("new-checkout", "production").await);

    // Not confirmed: nothing runs.
    let unconfirmed = phone
        .execute_intent(&url, &Confirmation::None, quiet())
        .await;
    assert!(matches!(
        unconfirmed,
        Err(Error::ConfirmationRequired { .. })
    ));
    assert!(detail(&phone).actions.is_empty());

    let ran = phone
        .execute_intent(&url, &Confirmation::Yes, quiet())
        .await
        .unwrap();
    match &ran {
        IntentOutcome::Ran { state, summary, .. } => {
            assert_eq!(state, "succeeded");
            assert!(summary.contains("ON -> OFF"), "{summary}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!unleash.admin().enabled("new-checkout", "production").await);
    let actions = detail(&phone).actions;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0].kind, ActionKind::FlagOff);
    assert_eq!(actions[0].state, ActionState::Succeeded);
    assert_eq!(actions[0].device, "phone-a");

    // The laptop got the same intent: its confirmation says who acted and how BEFORE Run.
    let before_run = laptop.open_intent(&on_laptop).await.unwrap();
    let already = before_run
        .already
        .expect("the second device sees who acted before it taps Run");
    assert_eq!(already.device, "phone-a");
    assert!(!already.first);
    let first = already.result.expect("the first result");
    assert_eq!(first.state, "succeeded");
    assert!(first.summary.contains("ON -> OFF"), "{first:?}");
    // Tapped anyway: it learns who acted and how, and runs nothing.
    unleash
        .admin()
        .switch("new-checkout", "production", true)
        .await;
    match laptop
        .execute_intent(&on_laptop, &Confirmation::Yes, quiet())
        .await
        .unwrap()
    {
        IntentOutcome::AlreadyActed { claim, .. } => {
            assert_eq!(claim.device, "phone-a");
            assert_eq!(claim.result.unwrap().state, "succeeded");
        }
        other => panic!("the second device ran it: {other:?}"),
    }
    assert!(
        unleash.admin().enabled("new-checkout", "production").await,
        "not run twice"
    );
    assert!(laptop.journal(None, 10).unwrap().is_empty());

    // Refusals: each with its reason, nothing run, nothing journaled.
    let key = relay_key(&relay);
    let other_relay = SigningKey::from_bytes(&[7; 32]);
    let mut tampered = intent::decode(&url).unwrap().intent;
    tampered.id = "forged".into();
    tampered.nonce = "forged-nonce".into();
    let forged_payload = intent::sign(&tampered, &other_relay);
    let (json, _) = forged_payload.split_once('.').unwrap();
    let (_, real_sig) = url.rsplit_once('.').unwrap();
    let forged = format!("paaf://intent/{json}.{real_sig}");
    let fresh = |i: &mut ActionIntent| {
        i.nonce = format!("n-{}", rand::random::<u64>());
        i.id = format!("i-{}", rand::random::<u64>());
    };
    let wrong_key = resigned(&url, &other_relay, |i| {
        fresh(i);
        i.key_id = intent::key_id(&other_relay.verifying_key());
    });
    let expired = resigned(&url, &key, |i| {
        fresh(i);
        i.issued_at_ms -= 3_600_000;
        i.expires_at_ms = chrono::Utc::now().timestamp_millis() - 60_000;
    });
    let unknown_target = resigned(&url, &key, |i| {
        fresh(i);
        i.action = IntentAction::Reboot {
            host: "db-1".into(),
        };
    });
    let not_allowed = resigned(&url, &key, |i| {
        fresh(i);
        i.action = IntentAction::Reboot {
            host: "web-9".into(),
        };
    });
    /// A case: its name, the intent link, and which refusal it must get.
    type Case<'a> = (&'a str, &'a String, fn(&IntentRefusal) -> bool);
    let cases: Vec<Case> = vec![
        ("forged", &forged, |r| {
            matches!(r, IntentRefusal::ForgedSignature)
        }),
        ("wrong key", &wrong_key, |r| {
            matches!(r, IntentRefusal::WrongKey { .. })
        }),
        ("expired", &expired, |r| {
            matches!(r, IntentRefusal::Expired { .. })
        }),
        ("replayed", &url, |r| {
            matches!(r, IntentRefusal::Replayed { .. })
        }),
        ("unknown target", &unknown_target, |r| {
            matches!(r, IntentRefusal::UnknownTarget { what: "host", .. })
        }),
        ("kind not allowed", &not_allowed, |r| {
            matches!(r, IntentRefusal::KindNotAllowed { .. })
        }),
    ];
    unleash
        .admin()
        .switch("new-checkout", "production", true)
        .await;
    for (name, text, expected) in cases {
        let opened = refusal(phone.open_intent(text).await);
        assert!(expected(&opened), "{name}: open said {opened:?}");
        let executed = refusal(
            phone
                .execute_intent(text, &Confirmation::Yes, quiet())
                .await,
        );
        assert!(expected(&executed), "{name}: execute said {executed:?}");
    }
    assert_eq!(detail(&phone).actions.len(), 1, "no refused intent ran");
    assert!(unleash.admin().enabled("new-checkout", "production").await);
    let unpaired = refusal(stranger.open_intent(&url).await);
    assert_eq!(unpaired, IntentRefusal::NotPaired);

    // Unpairing revokes at the relay: the old token opens no stream.
    phone.relay_unpair().await.unwrap();
    assert_eq!(
        refusal(phone.open_intent(&url).await),
        IntentRefusal::NotPaired
    );
    let revoked = reqwest::Client::new()
        .get(format!("{}/stream", relay.url()))
        .bearer_auth("not-a-device-token")
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 401);
    let metrics = metrics_page(&relay).await;
    assert!(
        metrics.contains("paaf_relay_intents_created_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("paaf_relay_devices_paired 1"), "{metrics}");
    let recorded = serde_json::to_string(&phone.journal(None, 100).unwrap()).unwrap();
    assert!(
        !recorded.contains(&unleash.admin_token),
        "no secret in the journal"
    );
    assert!(
        !recorded.contains(PAIRING_TOKEN),
        "no secret in the journal"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_refuses_bad_webhooks_and_keeps_undelivered_intents_across_a_kill() {
    let world = World::new();
    let team = REBOOT_TEAM;
    world.write_config(team);
    let mut relay = start_relay(world.dir.path(), &world.config_path(), 3);
    let phone = device(&world.dir.path().join("phone"), team, "phone-a", None);
    phone
        .relay_pair(&relay.url(), &SecretString::from(PAIRING_TOKEN.to_string()))
        .await
        .unwrap();

    let body = webhook_body("grafana-webhook-captured.bougou.json", "CPU Usage High");
    let sig = hmac_hex(&body);
    let header = "X-Grafana-Alerting-Signature";
    assert_eq!(
        post(
            &relay,
            "grafana",
            body.clone(),
            &[(header, "00".repeat(32))]
        )
        .await,
        401,
        "bad HMAC"
    );
    assert_eq!(
        post(&relay, "grafana", body.clone(), &[]).await,
        401,
        "no HMAC"
    );
    let mut big = body.clone();
    big.extend(std::iter::repeat_n(b' ', 70_000));
    let big_sig = hmac_hex(&big);
    assert_eq!(
        post(&relay, "grafana", big, &[(header, big_sig)]).await,
        413,
        "oversize"
    );
    let wrong_bearer = [("authorization", "Bearer nope".to_string())];
    assert_eq!(
        post(&relay, "alertmanager", body.clone(), &wrong_bearer).await,
        401
    );
    assert_eq!(post(&relay, "nosuch", body.clone(), &[]).await, 404);
    // The accepted one: the phone is not listening, so its intent waits.
    assert_eq!(
        post(&relay, "grafana", body.clone(), &[(header, sig)]).await,
        202
    );

    // Rate limit: 3 a minute from alertmanager (the wrong bearer above took one).
    let am = webhook_body(
        "alertmanager-v4-resolved-prometheus-operator.prom2teams.json",
        "Nothing",
    );
    assert_eq!(post_alertmanager(&relay, am.clone()).await, 202);
    assert_eq!(post_alertmanager(&relay, am.clone()).await, 202);
    assert_eq!(post_alertmanager(&relay, am).await, 429);

    relay.kill_and_restart();
    let urls = next_intents(&phone, 1).await;
    let shown = phone.open_intent(&urls[0]).await.unwrap();
    assert_eq!(shown.kind, "reboot");
    assert_eq!(shown.target, "web-2");
    assert_eq!(shown.alert, "CPU Usage High");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grafana_webhook_reboots_an_sshd_host_through_the_cli() {
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    let before = host.boot_id();
    let team = format!(
        "{}\n[[playbooks]]\nname = \"cpu\"\nmatch = {{ alertname = \"CPU Usage High\" }}\n\n[[playbooks.protect]]\nreboot = \"web-1\"\n",
        host_entry(
            "web-1",
            &host,
            &world.key,
            "[hosts.reboot]\nbackoff_max_secs = 1"
        )
    );
    world.write_config(&team);
    let relay = start_relay(world.dir.path(), &world.config_path(), 100);
    // The device's token goes to the keychain: keyutils needs a session keyring, so the
    // device's commands run in one (as a login shell would give them).
    let script = r#"set -e
paaf relay pair "$RELAY" --json > pair.json
paaf incident open "CPU high" --json > /dev/null
paaf relay listen --count 1 --json > listen.json
url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' listen.json | head -1)
paaf intent open "$url" --yes --json > outcome.json
if paaf intent open "$url" --yes --json > again.json 2> again.err; then exit 9; fi
"#;
    let mut device = device_script(&world, &relay, script);
    // Once the device is paired, Grafana posts.
    let metrics = format!("{}/metrics", relay.url());
    for _ in 0..600 {
        let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
        if text.contains("paaf_relay_devices_paired 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = webhook_body("grafana-webhook-captured.bougou.json", "CPU Usage High");
    let sig = hmac_hex(&body);
    assert_eq!(
        post(
            &relay,
            "grafana",
            body,
            &[("X-Grafana-Alerting-Signature", sig)]
        )
        .await,
        202
    );
    let status = tokio::task::spawn_blocking(move || device.wait().unwrap())
        .await
        .unwrap();
    let read =
        |name: &str| std::fs::read_to_string(world.dir.path().join(name)).unwrap_or_default();
    assert!(
        status.success(),
        "device script: {status}; {}",
        read("again.err")
    );
    let paired: Value = serde_json::from_str(&read("pair.json")).unwrap();
    assert_eq!(paired["relay_key"], relay.key.as_str());
    let outcome: Value = serde_json::from_str(&read("outcome.json")).unwrap();
    assert_eq!(outcome["outcome"], "ran", "{outcome}");
    assert_eq!(outcome["state"], "succeeded", "{outcome}");
    assert_ne!(host.boot_id(), before, "the host rebooted");
    // Once only: the same link again was refused.
    let again = read("again.json") + &read("again.err");
    assert!(again.contains("already used"), "{again}");

    let rows = journal_json(&world);
    let reboot = rows
        .iter()
        .find(|r| r["kind"] == "reboot")
        .expect("a reboot row");
    assert_eq!(reboot["state"], "succeeded");
    assert!(
        reboot["incident_id"].is_number(),
        "in the open incident: {reboot}"
    );
    assert_eq!(
        journal_json(&world)
            .iter()
            .filter(|r| r["kind"] == "reboot")
            .count(),
        1
    );
}

const SCOPED_TEAM: &str = r#"[[hosts]]
name = "web-1"
address = "127.0.0.1"
port = 9
user = "ops"
auth = { type = "agent" }

[[hosts]]
name = "web-2"
address = "127.0.0.1"
port = 9
user = "ops"
auth = { type = "agent" }

[[playbooks]]
name = "cpu"
match = { alertname = "CPUHigh" }

[[playbooks.protect]]
reboot = "web-1"

[[playbooks]]
name = "disk"
match = { alertname = "DiskFull" }

[[playbooks.protect]]
reboot = "web-2"
"#;

/// The pairing code `paaf-relay pair-code` prints for `relay` (its last stdout line, after
/// the QR code) and the whole of what it printed.
fn pair_code(relay: &Relay) -> (String, String) {
    let out = std::process::Command::new(paaf_tests::relay_bin())
        .args(["pair-code", "--config"])
        .arg(relay.dir.join("relay-listening.toml"))
        .env("T_PAIRING", PAIRING_TOKEN)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let code = printed.lines().last().unwrap().to_string();
    (code, printed)
}

/// Every intent on the device's stream within `wait` (their playbooks, in order).
async fn playbooks_received(paaf: &Paaf, wait: Duration) -> Vec<String> {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(
        wait,
        paaf.relay_listen(None, |_, notice| {
            seen.push(notice.playbook);
            true
        }),
    )
    .await;
    seen
}

/// Pairing scopes and the pairing code against the real relay: a device paired for playbook
/// `cpu` (through the code `paaf-relay pair-code` prints, its key pinned) never receives
/// `disk`'s intents over its stream, one paired for target `web-2` only `disk`'s, one paired
/// for all both; `GET /device` (`paaf relay status`) says each scope; a scope naming what the
/// relay's playbooks do not have is refused; a code whose key is not the relay's pairs nothing.
#[tokio::test(flavor = "multi_thread")]
async fn devices_receive_only_the_intents_their_pairing_scope_covers_and_pin_the_codes_key() {
    use paaf_core::intent::pairing::PairingCode;
    use paaf_core::intent::relay_client::DeviceScope;
    let world = World::new();
    world.write_config(SCOPED_TEAM);
    let relay = start_relay(world.dir.path(), &world.config_path(), 100);
    let (code, printed) = pair_code(&relay);
    assert!(code.starts_with("paaf://pair/?url="), "{code}");
    assert!(printed.contains('█'), "a QR code is printed: {printed}");
    let read = PairingCode::parse(&code).unwrap();
    assert_eq!(read.url, relay.url());
    assert_eq!(read.key, relay.key, "the code carries the relay's key");

    let dir = world.dir.path();
    let phone = device(&dir.join("phone"), SCOPED_TEAM, "phone-cpu", None);
    let laptop = device(&dir.join("laptop"), SCOPED_TEAM, "laptop-web-2", None);
    let desk = device(&dir.join("desk"), SCOPED_TEAM, "desk-all", None);
    let cpu_only = DeviceScope {
        playbooks: vec!["cpu".into()],
        targets: vec![],
    };
    let web_2_only = DeviceScope {
        playbooks: vec![],
        targets: vec!["web-2".into()],
    };
    let pairing = phone
        .relay_pair_scoped(&code, None, None, &cpu_only)
        .await
        .unwrap();
    assert_eq!(pairing.relay_key, relay.key);
    let token = SecretString::from(PAIRING_TOKEN.to_string());
    laptop
        .relay_pair_scoped(&relay.url(), Some(&token), None, &web_2_only)
        .await
        .unwrap();
    desk.relay_pair(&relay.url(), &token).await.unwrap();
    assert_eq!(phone.relay_device_status().await.unwrap().scope, cpu_only);
    assert_eq!(
        laptop.relay_device_status().await.unwrap().scope,
        web_2_only
    );
    assert!(desk.relay_device_status().await.unwrap().scope.is_all());

    // A scope the relay's playbooks do not have: refused, saying what it has.
    let stranger = device(&dir.join("stranger"), SCOPED_TEAM, "stranger", None);
    for (scope, said) in [
        (
            DeviceScope {
                playbooks: vec!["checkout".into()],
                targets: vec![],
            },
            "no playbook `checkout` (it has: cpu, disk)",
        ),
        (
            DeviceScope {
                playbooks: vec![],
                targets: vec!["db-1".into()],
            },
            "target `db-1`",
        ),
    ] {
        let refused = stranger
            .relay_pair_scoped(&relay.url(), Some(&token), None, &scope)
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains(said), "{refused}");
    }
    // A code carrying another key: whoever answered is not the relay it names.
    let forged = PairingCode {
        key: intent::format_key(&SigningKey::from_bytes(&[9; 32]).verifying_key()),
        ..read.clone()
    };
    match stranger
        .relay_pair_scoped(&forged.to_text(), None, None, &DeviceScope::default())
        .await
    {
        Err(Error::IntentRefused(IntentRefusal::PairingKeyMismatch { answered, .. })) => {
            assert_eq!(answered, relay.key)
        }
        other => panic!("paired despite the key: {other:?}"),
    }
    assert!(
        stranger.relay_pairing().unwrap().is_none(),
        "nothing pinned"
    );
    let metrics = metrics_page(&relay).await;
    assert!(
        metrics.contains("paaf_relay_devices_paired 3"),
        "the mismatched pairing was revoked: {metrics}"
    );

    for alert in ["CPUHigh", "DiskFull"] {
        let body = webhook_body("alertmanager-v4-mixed-firing-resolved.bougou.json", alert);
        assert_eq!(post_alertmanager(&relay, body).await, 202);
    }
    // The desk (all) gets both: both intents exist and are due.
    let mut all = playbooks_received(&desk, Duration::from_secs(3)).await;
    all.sort();
    assert_eq!(all, ["cpu", "disk"]);
    assert_eq!(
        playbooks_received(&phone, Duration::from_secs(3)).await,
        ["cpu"],
        "the phone is paired for playbook cpu only"
    );
    assert_eq!(
        playbooks_received(&laptop, Duration::from_secs(3)).await,
        ["disk"],
        "the laptop is paired for target web-2 only"
    );
    let metrics = metrics_page(&relay).await;
    assert!(
        metrics.contains("paaf_relay_intents_sent_total 4"),
        "4 deliveries, none out of scope: {metrics}"
    );
}

/// `paaf relay pair --webpush-subscription`: the CLI reads the subscription's JSON as
/// `PushSubscription.toJSON()` gives it (https://www.w3.org/TR/push-api/#dom-pushsubscription-tojson),
/// refuses bad keys and tokens with a clear error, and the relay then lists the device's
/// endpoint as web-push without its capability URL or auth secret anywhere.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_pairs_a_web_push_subscription_and_no_listing_shows_its_secrets() {
    let push = MockServer::start().await;
    let world = World::new();
    world.write_config(REBOOT_TEAM);
    let dir = world.dir.path();
    let (vapid_key, _, _) = p256_key(dir, "vapid");
    let (_, _, p256dh) = p256_key(dir, "subscriber");
    let auth = b64url(&rand::random::<[u8; 16]>());
    let delivery = format!(
        "\n[delivery.webpush]\npush_services = [\"{}\"]\nvapid_key_env = \"T_VAPID\"\nsubject = \"mailto:oncall@example.com\"\n",
        push.uri()
    );
    let vapid_pem = std::fs::read_to_string(&vapid_key).unwrap();
    let relay = start_relay_with(
        dir,
        &world.config_path(),
        100,
        &delivery,
        &[("T_VAPID", &vapid_pem), ("PAAF_RELAY_LOG", "debug")],
    );
    let capability = "/wpush/v2/gAAAAABcli-phone-capability";
    let subscription = |auth: &str| {
        json!({
            "endpoint": format!("{}{capability}", push.uri()),
            "expirationTime": null,
            "keys": {"p256dh": b64url(&p256dh), "auth": auth},
        })
        .to_string()
    };
    std::fs::write(dir.join("sub.json"), subscription(&auth)).unwrap();
    std::fs::write(dir.join("short.json"), subscription(&auth[..16])).unwrap();
    let script = r#"set -e
if timeout 20 paaf relay pair "$RELAY" --webpush-subscription short.json > short.out 2> short.err; then exit 7; fi
if timeout 20 paaf relay pair "$RELAY" --apns-token 74-0f > apns.out 2> apns.err; then exit 8; fi
if paaf relay pair "$RELAY" --ntfy https://ntfy.example.com/t --apns-token 74 > two.out 2> two.err; then exit 9; fi
echo paired-bad > progress
timeout 20 paaf relay pair "$RELAY" --webpush-subscription - --json < sub.json > pair.json
echo paired > progress
timeout 20 paaf relay status --json > status.json
timeout 20 paaf relay status > status.txt
"#;
    let mut device = device_script(&world, &relay, script);
    let status = tokio::task::spawn_blocking(move || device.wait().unwrap())
        .await
        .unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert!(
        status.success(),
        "device script: {status}; {}; {}{}{}",
        read("progress"),
        read("short.err"),
        read("apns.err"),
        read("two.err")
    );
    assert!(
        read("short.err").contains("keys.auth is 12 bytes, not the 16-byte authentication secret"),
        "{}",
        read("short.err")
    );
    assert!(
        read("apns.err").contains("hexadecimal"),
        "{}",
        read("apns.err")
    );
    assert!(
        read("two.err").contains("cannot be used with"),
        "{}",
        read("two.err")
    );

    let shown: Value = serde_json::from_str(&read("status.json")).unwrap();
    assert_eq!(shown["device"]["push"], "web-push", "{shown}");
    assert_eq!(shown["device"]["push_failures"], 0, "{shown}");
    assert!(read("status.txt").contains("web-push push endpoint working"));
    let listings = [
        ("pair", read("pair.json")),
        ("status --json", read("status.json")),
        ("status", read("status.txt")),
        ("short.err", read("short.err")),
        ("metrics", metrics_page(&relay).await),
        ("relay log", read("relay.log")),
    ];
    for (what, text) in listings {
        assert!(
            !text.contains(&auth[..16]),
            "the auth secret in {what}: {text}"
        );
        assert!(
            !text.contains(capability),
            "the endpoint URL in {what}: {text}"
        );
    }
}

/// A playbook that reboots `web-2` when "CPU Usage High" fires.
const REBOOT_TEAM: &str = r#"[[hosts]]
name = "web-2"
address = "127.0.0.1"
user = "nobody"
auth = { type = "agent" }

[[playbooks]]
name = "cpu"
match = { alertname = "CPU Usage High" }

[[playbooks.protect]]
reboot = "web-2"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_keeps_answering_while_its_database_is_locked() {
    let world = World::new();
    world.write_config(REBOOT_TEAM);
    // Two async workers (the CI machine's count): a handler blocked in SQLite takes one away.
    let relay = start_relay_with(
        world.dir.path(),
        &world.config_path(),
        100,
        "",
        &[("TOKIO_WORKER_THREADS", "2")],
    );
    // Another process (a backup, an operator's sqlite3) holds the write lock.
    let locker = rusqlite::Connection::open(relay.dir.join("relay.sqlite")).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let body = webhook_body(
        "alertmanager-v4-mixed-firing-resolved.bougou.json",
        "CPU Usage High",
    );
    let webhooks: Vec<_> = (0..4)
        .map(|_| {
            let (url, body) = (relay.url(), body.clone());
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{url}/webhooks/alertmanager"))
                    .bearer_auth(AM_TOKEN)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let health = reqwest::Client::new()
        .get(format!("{}/healthz", relay.url()))
        .timeout(Duration::from_secs(4))
        .send()
        .await;
    locker.execute_batch("COMMIT").unwrap();
    assert!(
        health.is_ok_and(|r| r.status().is_success()),
        "/healthz did not answer while the store waited for its lock"
    );
    for webhook in webhooks {
        assert_eq!(
            webhook.await.unwrap(),
            202,
            "the waiting webhooks went through"
        );
    }
}

/// A device named `name` (in `dir`/`name`) paired with `relay`, its notifications pushed to
/// `push`.
async fn paired_with_push(dir: &Path, name: &str, relay: &Relay, push: PushEndpoint) -> Paaf {
    let paaf = device(&dir.join(name), REBOOT_TEAM, name, None);
    paaf.relay_pair_with_push(
        &relay.url(),
        &SecretString::from(PAIRING_TOKEN.to_string()),
        Some(&push),
    )
    .await
    .unwrap();
    paaf
}

/// The relay's view of `paaf`, once it dropped its push endpoint (or after 10 s).
async fn once_dropped(paaf: &Paaf) -> paaf_core::intent::relay_client::DeviceStatus {
    let mut status = paaf.relay_device_status().await.unwrap();
    for _ in 0..100 {
        if status.push_dropped_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = paaf.relay_device_status().await.unwrap();
    }
    assert!(status.push_dropped_at.is_some(), "{status:?}");
    status
}

/// The webhook `firing` with its first alert resolved.
fn resolved_body(firing: &[u8]) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(firing).unwrap();
    body["alerts"][0]["status"] = Value::from("resolved");
    serde_json::to_vec(&body).unwrap()
}

/// The webhook body after Alertmanager posted "CPU Usage High" firing to `relay`, and the
/// link of the intent it made, as `device`'s stream got it.
async fn fire_cpu_alert(relay: &Relay, device: &Paaf) -> (Vec<u8>, String) {
    let body = webhook_body(
        "alertmanager-v4-mixed-firing-resolved.bougou.json",
        "CPU Usage High",
    );
    assert_eq!(post_alertmanager(relay, body.clone()).await, 202);
    (body, next_intents(device, 1).await.remove(0))
}

const NTFY_TOKEN: &str = "tk_ntfy0access0token0for0tests0xyz";

/// The requests `server` received for ntfy topic `topic`, as JSON bodies with their
/// `Authorization` header; waits until there are `n`.
async fn ntfy_posts(server: &MockServer, topic: &str, n: usize) -> Vec<(Value, String)> {
    for _ in 0..300 {
        let posts: Vec<(Value, String)> = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter_map(|r| {
                let body: Value = serde_json::from_slice(&r.body).ok()?;
                let auth = r
                    .headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                (body["topic"] == topic).then_some((body, auth))
            })
            .collect();
        if posts.len() >= n {
            return posts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("ntfy did not get {n} posts for {topic}");
}

/// ntfy's documented publish API (https://docs.ntfy.sh/publish/): JSON to the server's root
/// (#publish-as-json), "view" action buttons (#action-buttons), an update with the same
/// `sequence_id` (#updating-notifications), an access token (#access-tokens), and its error
/// answers: `{"code": 42901, "http": 429, ...}` (#limitations) and `{"code": 40301, "http":
/// 403, "error": "forbidden"}` (#authentication).
#[tokio::test(flavor = "multi_thread")]
async fn ntfy_gets_a_tap_to_act_notification_retried_withdrawn_on_resolve_and_a_dead_topic_dropped()
{
    let ntfy = MockServer::start().await;
    let error = |code: u32, http: u16, error: &str| {
        ResponseTemplate::new(http).set_body_json(json!({
            "code": code, "http": http, "error": error,
            "link": "https://docs.ntfy.sh/publish/"
        }))
    };
    // The phone's topic: rate limited once, then accepted.
    Mock::given(method("POST"))
        .and(path("/"))
        .and(body_partial_json(json!({"topic": "paaf-phone"})))
        .respond_with(error(42901, 429, "limit reached: too many requests"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&ntfy)
        .await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(body_partial_json(json!({"topic": "paaf-phone"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "hwQ2YpKdmg", "time": 1635528741, "event": "message", "topic": "paaf-phone"
        })))
        .mount(&ntfy)
        .await;
    // The laptop's topic: the relay's token may not publish there.
    Mock::given(method("POST"))
        .and(path("/"))
        .and(body_partial_json(json!({"topic": "paaf-laptop"})))
        .respond_with(error(40301, 403, "forbidden"))
        .mount(&ntfy)
        .await;

    let world = World::new();
    world.write_config(REBOOT_TEAM);
    let delivery = format!(
        "\n[delivery]\nmax_failures = 3\nretry_base_ms = 100\nretry_max_ms = 400\n\n[delivery.ntfy]\nservers = [\"{}\"]\ntoken_env = \"T_NTFY\"\n",
        ntfy.uri()
    );
    let relay = start_relay_with(
        world.dir.path(),
        &world.config_path(),
        100,
        &delivery,
        &[("T_NTFY", NTFY_TOKEN), ("PAAF_RELAY_LOG", "debug")],
    );
    let token = SecretString::from(PAIRING_TOKEN.to_string());
    let topic = |name: &str| PushEndpoint::Ntfy {
        url: format!("{}/{name}", ntfy.uri()),
    };
    let dir = world.dir.path();
    let phone = paired_with_push(dir, "phone-a", &relay, topic("paaf-phone")).await;
    let laptop = paired_with_push(dir, "laptop-b", &relay, topic("paaf-laptop")).await;
    // A device cannot make the relay post to a server it was not told to trust.
    let elsewhere = device(&world.dir.path().join("other"), REBOOT_TEAM, "other", None);
    let refused = elsewhere
        .relay_pair_with_push(
            &relay.url(),
            &token,
            Some(&PushEndpoint::Ntfy {
                url: "http://127.0.0.1:9/paaf".into(),
            }),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("does not publish to the ntfy server"),
        "{refused}"
    );

    let (body, url) = fire_cpu_alert(&relay, &phone).await;
    let id = intent::decode(&url).unwrap().intent.id;

    // Rate limited, retried, delivered: a view button opening the intent's deep link.
    let posts = ntfy_posts(&ntfy, "paaf-phone", 2).await;
    let (notification, auth) = &posts[1];
    assert_eq!(auth, &format!("Bearer {NTFY_TOKEN}"));
    assert_eq!(notification["sequence_id"], id.as_str());
    assert_eq!(notification["title"], "CPU Usage High firing");
    assert_eq!(notification["actions"][0]["action"], "view");
    assert_eq!(notification["actions"][0]["url"], url.as_str());
    assert_eq!(notification["actions"][0]["label"], "reboot web-2");
    assert_eq!(
        posts[0].0, posts[1].0,
        "the retry sends the same notification"
    );

    // The laptop's topic refuses: tried 3 times (backing off), then dropped.
    let refusals = ntfy_posts(&ntfy, "paaf-laptop", 3).await;
    assert!(
        refusals
            .iter()
            .all(|(n, _)| n["sequence_id"] == id.as_str())
    );
    let laptop_status = once_dropped(&laptop).await;
    assert_eq!(laptop_status.push_failures, 3);
    let last_error = laptop_status.push_last_error.clone().unwrap();
    assert!(
        last_error.contains("HTTP 403: forbidden (ntfy code 40301)"),
        "{last_error}"
    );
    let phone_status = phone.relay_device_status().await.unwrap();
    assert_eq!(phone_status.push.as_deref(), Some("ntfy"));
    assert_eq!(phone_status.push_failures, 0, "a success forgives the 429");
    assert!(phone_status.push_dropped_at.is_none());

    // The alert resolves: the phone's notification is replaced (same sequence id), no button.
    assert_eq!(post_alertmanager(&relay, resolved_body(&body)).await, 202);
    let posts = ntfy_posts(&ntfy, "paaf-phone", 3).await;
    let withdrawal = &posts[2].0;
    assert_eq!(withdrawal["sequence_id"], id.as_str());
    assert_eq!(withdrawal["title"], "CPU Usage High resolved");
    assert!(withdrawal.get("actions").is_none(), "{withdrawal}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        ntfy_posts(&ntfy, "paaf-laptop", 3).await.len(),
        3,
        "nothing more to a dropped endpoint"
    );

    let metrics = metrics_page(&relay).await;
    for line in [
        "paaf_relay_pushes_total{result=\"sent\"} 2",
        "paaf_relay_pushes_total{result=\"failed\"} 4",
        "paaf_relay_push_endpoints_dropped_total 1",
        "paaf_relay_push_endpoints{state=\"alive\"} 1",
        "paaf_relay_push_endpoints{state=\"dropped\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    // The relay's ntfy token is in no log, answer, status or notification.
    let log = std::fs::read_to_string(relay.dir.join("relay.log")).unwrap();
    assert!(log.contains("push endpoint dropped"), "{log}");
    let bodies: Vec<String> = ntfy
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    for (what, text) in [
        ("log", log),
        ("metrics", metrics),
        ("status", format!("{laptop_status:?} {last_error}")),
        ("pushes", bodies.join("\n")),
    ] {
        assert!(!text.contains(NTFY_TOKEN), "the ntfy token in the {what}");
        assert!(
            !text.contains(PAIRING_TOKEN),
            "the pairing token in the {what}"
        );
    }
}

/// A Firebase service account's JSON key with a fresh RSA key, for project `paaf-test`, whose
/// token endpoint is `token_uri`; and its private key.
fn service_account(token_uri: &str) -> (String, String) {
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).unwrap();
    let json = json!({
        "type": "service_account", "project_id": "paaf-test", "private_key_id": "k1",
        "private_key": key, "client_email": "relay@paaf-test.iam.gserviceaccount.com",
        "token_uri": token_uri,
    });
    (json.to_string(), key)
}

/// FCM HTTP v1 as documented: the OAuth service-account flow
/// (https://developers.google.com/identity/protocols/oauth2/service-account), messages:send
/// (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send) and its
/// error codes (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode):
/// UNAVAILABLE is retried, UNREGISTERED drops the token at once.
#[tokio::test(flavor = "multi_thread")]
async fn fcm_gets_a_data_message_as_the_service_account_and_an_unregistered_token_is_dropped() {
    let google = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.access-token-for-tests", "expires_in": 3599, "token_type": "Bearer"
        })))
        .mount(&google)
        .await;
    let send = "/v1/projects/paaf-test/messages:send";
    let fcm_error = |code: u16, status: &str, error_code: &str| {
        ResponseTemplate::new(code).set_body_json(json!({"error": {
            "code": code, "message": "Requested entity was not found.", "status": status,
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}]
        }}))
    };
    Mock::given(method("POST"))
        .and(path(send))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer ya29.access-token-for-tests",
        ))
        .and(body_partial_json(
            json!({"message": {"token": "phone-registration-token"}}),
        ))
        .respond_with(fcm_error(503, "UNAVAILABLE", "UNAVAILABLE"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path(send))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer ya29.access-token-for-tests",
        ))
        .and(body_partial_json(
            json!({"message": {"token": "phone-registration-token"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "projects/paaf-test/messages/0:1500415314455276%31bd1c9631bd1c96"
        })))
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path(send))
        .and(body_partial_json(
            json!({"message": {"token": "uninstalled-app-token"}}),
        ))
        .respond_with(fcm_error(404, "NOT_FOUND", "UNREGISTERED"))
        .mount(&google)
        .await;

    let (account, private_key) = service_account(&format!("{}/token", google.uri()));
    let world = World::new();
    world.write_config(REBOOT_TEAM);
    let delivery = format!(
        "\n[delivery]\nretry_base_ms = 100\n\n[delivery.fcm]\nservice_account_env = \"T_FCM\"\napi_url = \"{}\"\n",
        google.uri()
    );
    let relay = start_relay_with(
        world.dir.path(),
        &world.config_path(),
        100,
        &delivery,
        &[("T_FCM", &account), ("PAAF_RELAY_LOG", "debug")],
    );
    let fcm = |t: &str| PushEndpoint::Fcm { token: t.into() };
    let dir = world.dir.path();
    let phone = paired_with_push(dir, "phone-a", &relay, fcm("phone-registration-token")).await;
    let old_phone = paired_with_push(dir, "old-phone", &relay, fcm("uninstalled-app-token")).await;

    let (body, url) = fire_cpu_alert(&relay, &phone).await;
    let id = intent::decode(&url).unwrap().intent.id;

    let sends = |token: &'static str, n: usize| {
        let google = &google;
        async move {
            for _ in 0..300 {
                let bodies: Vec<Value> = google
                    .received_requests()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|r| r.url.path() == send)
                    .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
                    .filter(|b| b["message"]["token"] == token)
                    .collect();
                if bodies.len() >= n {
                    return bodies;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("FCM did not get {n} messages for {token}");
        }
    };
    // UNAVAILABLE, retried, sent: a data message with the intent's link.
    let messages = sends("phone-registration-token", 2).await;
    let data = &messages[1]["message"]["data"];
    assert_eq!(data["type"], "intent");
    assert_eq!(data["intent_id"], id.as_str());
    assert_eq!(data["url"], url.as_str());
    assert_eq!(
        messages[1]["message"]["android"]["collapse_key"],
        id.as_str()
    );
    // The OAuth grant: a JWT of the service account for FCM's scope and the token endpoint.
    let grant = google
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/token")
        .unwrap();
    let form = String::from_utf8(grant.body).unwrap();
    let assertion = form.split("assertion=").nth(1).unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(assertion.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], "relay@paaf-test.iam.gserviceaccount.com");
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    assert_eq!(claims["aud"], format!("{}/token", google.uri()));

    // UNREGISTERED: dropped after one answer, no retry.
    sends("uninstalled-app-token", 1).await;
    let old = once_dropped(&old_phone).await;
    assert_eq!(old.push_failures, 1);
    assert!(
        old.push_last_error
            .as_deref()
            .unwrap()
            .contains("UNREGISTERED"),
        "{old:?}"
    );

    // Resolved: a withdrawal data message for the same intent.
    assert_eq!(post_alertmanager(&relay, resolved_body(&body)).await, 202);
    let messages = sends("phone-registration-token", 3).await;
    assert_eq!(
        messages[2]["message"]["data"],
        json!({"type": "withdraw", "intent_id": id})
    );
    assert_eq!(
        sends("uninstalled-app-token", 1).await.len(),
        1,
        "nothing more to a dropped token"
    );

    // The service account's key and the access token are in no log or status.
    let log = std::fs::read_to_string(relay.dir.join("relay.log")).unwrap();
    let key_line = private_key.lines().nth(1).unwrap();
    for (what, text) in [("log", &log), ("status", &format!("{old:?}"))] {
        assert!(!text.contains(key_line), "the private key in the {what}");
        assert!(
            !text.contains("ya29.access-token-for-tests"),
            "the access token in the {what}"
        );
    }
}

/// A fresh P-256 key made by openssl in `dir`: the private key file (PKCS#8 PEM, as Apple's
/// .p8 files are), the public key file (PEM) and the public key as an uncompressed point.
fn p256_key(dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let (private_path, public_path) = (private.to_str().unwrap(), public.to_str().unwrap());
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        private_path,
    ]);
    openssl(&["pkey", "-in", private_path, "-pubout", "-out", public_path]);
    let der = openssl(&["pkey", "-in", private_path, "-pubout", "-outform", "DER"]);
    (private, public, der[der.len() - 65..].to_vec())
}

/// The output of `tests/peers/webpush.sh ARGS`: PyPI http-ece and cryptography, independent
/// of the relay's crates (installed once per test process).
fn webpush_check(args: &[&str]) -> String {
    static SETUP: std::sync::Once = std::sync::Once::new();
    let script = paaf_tests::repo_root().join("tests/peers/webpush.sh");
    let run = |args: &[&str]| {
        let out = std::process::Command::new("bash")
            .arg(&script)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "webpush.sh {}: {}",
            args[0],
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    SETUP.call_once(|| {
        run(&["setup"]);
    });
    run(args)
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The JSON of a JWT's part `n` (0 the header, 1 the claims).
fn jwt_part(jwt: &str, n: usize) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(n).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

/// A contract server's answers to one path, in order (the last one repeated), recording when
/// each request came.
struct Answers {
    answers: Vec<ResponseTemplate>,
    seen: Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
}

impl Answers {
    fn new(answers: Vec<ResponseTemplate>) -> Answers {
        Answers {
            answers,
            seen: Arc::default(),
        }
    }
}

impl wiremock::Respond for Answers {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let mut seen = self.seen.lock().unwrap();
        seen.push(std::time::Instant::now());
        self.answers[(seen.len() - 1).min(self.answers.len() - 1)].clone()
    }
}

/// The requests `server` received on `at`; waits until there are `n` (or panics after 30 s).
async fn requests_to(server: &MockServer, at: &str, n: usize) -> Vec<wiremock::Request> {
    for _ in 0..300 {
        let requests: Vec<wiremock::Request> = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == at)
            .collect();
        if requests.len() >= n {
            return requests;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{at} did not get {n} requests");
}

fn header(request: &wiremock::Request, name: &str) -> String {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The relay's view of `paaf` once its last push error contains `what` (or after 10 s).
async fn once_failed_with(
    paaf: &Paaf,
    what: &str,
) -> paaf_core::intent::relay_client::DeviceStatus {
    for _ in 0..100 {
        let status = paaf.relay_device_status().await.unwrap();
        if status
            .push_last_error
            .as_deref()
            .is_some_and(|e| e.contains(what))
        {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no push error with {what}");
}

/// The relay's metrics page.
async fn metrics_page(relay: &Relay) -> String {
    reqwest::get(format!("{}/metrics", relay.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Web Push as RFC 8030 (https://www.rfc-editor.org/rfc/rfc8030#section-5) and the push
/// services document its answers (Mozilla autopush:
/// https://autopush.readthedocs.io/en/latest/http.html#error-codes; Chrome's:
/// https://web.dev/articles/push-notifications-web-push-protocol#response_from_push_service):
/// 201 Created; 429 with Retry-After, honoured; 410 Gone, dropped at once; 413 Payload Too
/// Large, given up and reported with the subscription kept; 503, retried then dropped after N.
/// The body is decrypted by PyPI http-ece (RFC 8291 aes128gcm,
/// https://www.rfc-editor.org/rfc/rfc8291) and the VAPID JWT (RFC 8292,
/// https://www.rfc-editor.org/rfc/rfc8292) verified by PyPI cryptography with the relay's
/// public key: both independent of the relay's crates.
#[tokio::test(flavor = "multi_thread")]
async fn web_push_gets_an_encrypted_intent_signed_with_vapid_and_dead_subscriptions_are_dropped() {
    let push = MockServer::start().await;
    // Autopush's error body (#error-codes).
    let autopush = |code: u16, errno: u16, error: &str| {
        ResponseTemplate::new(code).set_body_json(json!({
            "code": code, "errno": errno, "error": error,
            "more_info": "http://autopush.readthedocs.io/en/latest/http.html#error-codes",
            "message": "Request did not validate"
        }))
    };
    let phone_answers = Answers::new(vec![
        autopush(429, 201, "Too Many Requests").insert_header("retry-after", "2"),
        ResponseTemplate::new(201).insert_header("location", format!("{}/m/gAAAA", push.uri())),
    ]);
    let phone_seen = phone_answers.seen.clone();
    Mock::given(method("POST"))
        .and(path("/wpush/v2/phone"))
        .respond_with(phone_answers)
        .mount(&push)
        .await;
    for (at, answer) in [
        ("/wpush/v2/gone", autopush(410, 106, "Gone")),
        ("/wpush/v2/big", autopush(413, 104, "Payload Too Large")),
        ("/wpush/v2/flaky", autopush(503, 201, "Service Unavailable")),
    ] {
        Mock::given(method("POST"))
            .and(path(at))
            .respond_with(answer)
            .mount(&push)
            .await;
    }

    let world = World::new();
    world.write_config(REBOOT_TEAM);
    let dir = world.dir.path();
    let (vapid_key, vapid_public, vapid_point) = p256_key(dir, "vapid");
    let (subscriber_key, _, p256dh) = p256_key(dir, "subscriber");
    let auth = b64url(&rand::random::<[u8; 16]>());
    let vapid_pem = std::fs::read_to_string(&vapid_key).unwrap();
    let delivery = format!(
        "\n[delivery]\nmax_failures = 3\nretry_base_ms = 100\nretry_max_ms = 400\n\n[delivery.webpush]\npush_services = [\"{}\"]\nvapid_key_env = \"T_VAPID\"\nsubject = \"mailto:oncall@example.com\"\n",
        push.uri()
    );
    let relay = start_relay_with(
        dir,
        &world.config_path(),
        100,
        &delivery,
        &[("T_VAPID", &vapid_pem), ("PAAF_RELAY_LOG", "debug")],
    );
    let subscription = |endpoint: String| PushEndpoint::WebPush {
        endpoint,
        p256dh: b64url(&p256dh),
        auth: auth.clone(),
    };
    let at = |name: &str| subscription(format!("{}/wpush/v2/{name}", push.uri()));
    let phone = paired_with_push(dir, "phone-a", &relay, at("phone")).await;
    let gone = paired_with_push(dir, "gone-b", &relay, at("gone")).await;
    let big = paired_with_push(dir, "big-c", &relay, at("big")).await;
    let flaky = paired_with_push(dir, "flaky-d", &relay, at("flaky")).await;
    // A device cannot make the relay post to a service it was not told of, nor pair keys that
    // are not a subscription's.
    let other = device(&dir.join("other"), REBOOT_TEAM, "other", None);
    let token = SecretString::from(PAIRING_TOKEN.to_string());
    for (endpoint, why) in [
        (
            subscription("http://127.0.0.1:9/wpush/v2/x".into()),
            "does not post to the push service http://127.0.0.1:9",
        ),
        (
            PushEndpoint::WebPush {
                endpoint: format!("{}/wpush/v2/x", push.uri()),
                p256dh: b64url(&[4u8; 65]),
                auth: auth.clone(),
            },
            "uncompressed P-256 public key",
        ),
    ] {
        let refused = other
            .relay_pair_with_push(&relay.url(), &token, Some(&endpoint))
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains(why), "{refused}");
    }

    let (body, url) = fire_cpu_alert(&relay, &phone).await;
    let id = intent::decode(&url).unwrap().intent.id;

    // 429 with Retry-After: 2 s: tried again no sooner, though the backoff alone is 0.1 s.
    let sent = requests_to(&push, "/wpush/v2/phone", 2).await;
    let seen = phone_seen.lock().unwrap().clone();
    assert!(
        seen[1] - seen[0] >= Duration::from_millis(1900),
        "retried after {:?}",
        seen[1] - seen[0]
    );
    let notification = &sent[1];
    assert_eq!(header(notification, "content-encoding"), "aes128gcm");
    assert_eq!(header(notification, "urgency"), "high");
    let ttl: u64 = header(notification, "ttl").parse().unwrap();
    assert!(
        (1..=600).contains(&ttl),
        "TTL {ttl}: until the intent expires"
    );
    let topic = header(notification, "topic");
    assert!(!topic.is_empty() && topic.len() <= 32, "{topic}");
    // VAPID: `vapid t=JWT, k=KEY`, KEY the relay's public key, JWT signed with it.
    let authorization = header(notification, "authorization");
    let (jwt, k) = authorization
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .unwrap_or_else(|| panic!("{authorization}"));
    assert_eq!(k, b64url(&vapid_point));
    assert_eq!(
        webpush_check(&["verify-jwt", vapid_public.to_str().unwrap(), jwt]),
        "valid\n"
    );
    assert_eq!(jwt_part(jwt, 0)["alg"], "ES256");
    let claims = jwt_part(jwt, 1);
    assert_eq!(claims["aud"], push.uri(), "the endpoint's origin");
    assert_eq!(claims["sub"], "mailto:oncall@example.com");
    let exp = claims["exp"].as_i64().unwrap() - chrono::Utc::now().timestamp();
    assert!((1..=24 * 3600).contains(&exp), "exp in {exp} s");
    // The body, decrypted as the subscriber.
    let decrypt = |request: &wiremock::Request| {
        let file = dir.join("body.bin");
        std::fs::write(&file, &request.body).unwrap();
        let plain = webpush_check(&[
            "decrypt",
            subscriber_key.to_str().unwrap(),
            &auth,
            file.to_str().unwrap(),
        ]);
        serde_json::from_str::<Value>(&plain).unwrap()
    };
    let message = decrypt(notification);
    assert_eq!(message["type"], "intent");
    assert_eq!(message["intent_id"], id.as_str());
    assert_eq!(message["url"], url.as_str());
    assert_eq!(message["target"], "web-2");

    // 410: dropped after one answer.
    let gone_status = once_dropped(&gone).await;
    assert_eq!(gone_status.push_failures, 1);
    assert!(
        gone_status
            .push_last_error
            .as_deref()
            .unwrap()
            .contains("HTTP 410"),
        "{gone_status:?}"
    );
    // 503 every time: tried 3 times, then dropped.
    let flaky_status = once_dropped(&flaky).await;
    assert_eq!(flaky_status.push_failures, 3);
    assert_eq!(requests_to(&push, "/wpush/v2/flaky", 3).await.len(), 3);
    // 413: this push given up and reported; the subscription kept.
    let big_status = once_failed_with(&big, "HTTP 413").await;
    assert!(big_status.push_dropped_at.is_none(), "{big_status:?}");
    assert_eq!(
        big_status.push_failures, 0,
        "a refused push is not a failing endpoint"
    );
    assert_eq!(big_status.push.as_deref(), Some("web-push"));

    // Resolved: an encrypted withdrawal under the same topic, to the phone only.
    assert_eq!(post_alertmanager(&relay, resolved_body(&body)).await, 202);
    let sent = requests_to(&push, "/wpush/v2/phone", 3).await;
    assert_eq!(header(&sent[2], "topic"), topic);
    assert_eq!(
        decrypt(&sent[2]),
        json!({"type": "withdraw", "intent_id": id})
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (at, n) in [("big", 1), ("gone", 1), ("flaky", 3)] {
        assert_eq!(
            requests_to(&push, &format!("/wpush/v2/{at}"), n)
                .await
                .len(),
            n,
            "nothing more to {at}"
        );
    }

    let metrics = metrics_page(&relay).await;
    for line in [
        "paaf_relay_pushes_total{result=\"sent\"} 2",
        "paaf_relay_pushes_total{result=\"failed\"} 6",
        "paaf_relay_push_endpoints_dropped_total 2",
        "paaf_relay_push_endpoints{state=\"dropped\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    // The VAPID private key is in no log, status, metrics or request.
    let log = std::fs::read_to_string(relay.dir.join("relay.log")).unwrap();
    let requests: Vec<String> = push
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{:?} {}", r.headers, String::from_utf8_lossy(&r.body)))
        .collect();
    let key_lines: Vec<&str> = vapid_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for (what, text) in [
        ("log", log),
        ("metrics", metrics),
        (
            "status",
            format!("{gone_status:?} {flaky_status:?} {big_status:?}"),
        ),
        ("requests", requests.join("\n")),
    ] {
        for line in &key_lines {
            assert!(!text.contains(line), "the VAPID key in the {what}");
        }
    }
}

/// A TCP forwarder to `target` on a free port recording, per connection, whether the client
/// opened it with the HTTP/2 connection preface (RFC 9113 §3.4): wiremock serves HTTP/1.1 and
/// HTTP/2 (h2c, prior knowledge) alike and does not tell which a request came over.
async fn h2_preface_recorder(
    target: std::net::SocketAddr,
) -> (String, Arc<std::sync::Mutex<Vec<bool>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let prefaces: Arc<std::sync::Mutex<Vec<bool>>> = Arc::default();
    let record = prefaces.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut preface = [0u8; 24];
                if client.read_exact(&mut preface).await.is_err() {
                    return;
                }
                record
                    .lock()
                    .unwrap()
                    .push(&preface == b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
                let mut server = tokio::net::TcpStream::connect(target).await.unwrap();
                server.write_all(&preface).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (format!("http://{address}"), prefaces)
}

/// APNs as Apple documents it: requests
/// (https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns),
/// token-based auth
/// (https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns)
/// and its answers
/// (https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns):
/// 200 with apns-id; 403 ExpiredProviderToken, signed anew and sent again at once; 410
/// Unregistered and 400 BadDeviceToken, dropped at once; 429 TooManyRequests and 503, retried.
/// Real APNs is HTTP/2 over TLS; the contract server is wiremock speaking h2c, and a forwarder
/// in front of it proves the relay spoke HTTP/2.
#[tokio::test(flavor = "multi_thread")]
async fn apns_gets_an_alert_with_actions_over_http2_and_unregistered_tokens_are_dropped() {
    let apple = MockServer::start().await;
    let reason = |status: u16, reason: &str| {
        ResponseTemplate::new(status)
            .insert_header("apns-id", "EC1BF194-B3B2-424A-89A9-5A918A6E6B5A")
            .set_body_json(json!({"reason": reason}))
    };
    let ok = || {
        ResponseTemplate::new(200).insert_header("apns-id", "EC1BF194-B3B2-424A-89A9-5A918A6E6B5B")
    };
    let token_of = |c: char| c.to_string().repeat(64);
    let device_path = |c: char| format!("/3/device/{}", token_of(c));
    for (c, answers) in
        [
            ('a', vec![reason(403, "ExpiredProviderToken"), ok()]),
            (
                'b',
                vec![ResponseTemplate::new(410).set_body_json(
                    json!({"reason": "Unregistered", "timestamp": 1733580000000u64}),
                )],
            ),
            ('c', vec![reason(400, "BadDeviceToken")]),
            (
                'd',
                vec![
                    reason(429, "TooManyRequests"),
                    reason(503, "ServiceUnavailable"),
                    ok(),
                ],
            ),
        ]
    {
        Mock::given(method("POST"))
            .and(path(device_path(c)))
            .respond_with(Answers::new(answers))
            .mount(&apple)
            .await;
    }
    let (api_url, prefaces) = h2_preface_recorder(*apple.address()).await;

    let world = World::new();
    world.write_config(REBOOT_TEAM);
    let dir = world.dir.path();
    let (p8, p8_public, _) = p256_key(dir, "AuthKey_ABC123DEFG");
    let p8_pem = std::fs::read_to_string(&p8).unwrap();
    let delivery = format!(
        "\n[delivery]\nmax_failures = 3\nretry_base_ms = 100\nretry_max_ms = 400\n\n[delivery.apns]\nkey_env = \"T_APNS\"\nkey_id = \"ABC123DEFG\"\nteam_id = \"DEF123GHIJ\"\ntopic = \"org.paaf.app\"\napi_url = \"{api_url}\"\n"
    );
    let relay = start_relay_with(
        dir,
        &world.config_path(),
        100,
        &delivery,
        &[("T_APNS", &p8_pem), ("PAAF_RELAY_LOG", "debug")],
    );
    let apns = |c: char| PushEndpoint::Apns { token: token_of(c) };
    let phone = paired_with_push(dir, "phone-a", &relay, apns('a')).await;
    let uninstalled = paired_with_push(dir, "uninstalled-b", &relay, apns('b')).await;
    let wrong_env = paired_with_push(dir, "wrong-env-c", &relay, apns('c')).await;
    let busy = paired_with_push(dir, "busy-d", &relay, apns('d')).await;
    let other = device(&dir.join("other"), REBOOT_TEAM, "other", None);
    let refused = other
        .relay_pair_with_push(
            &relay.url(),
            &SecretString::from(PAIRING_TOKEN.to_string()),
            Some(&PushEndpoint::Apns {
                token: "../../x".into(),
            }),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("hexadecimal"), "{refused}");

    let (body, url) = fire_cpu_alert(&relay, &phone).await;
    let intent = intent::decode(&url).unwrap().intent;

    // 403 ExpiredProviderToken: signed anew and sent again in the same push, no failure.
    let sent = requests_to(&apple, &device_path('a'), 2).await;
    let alert = &sent[1];
    for (name, value) in [
        ("apns-topic", "org.paaf.app"),
        ("apns-push-type", "alert"),
        ("apns-priority", "10"),
        ("apns-collapse-id", intent.id.as_str()),
    ] {
        assert_eq!(header(alert, name), value, "{name}");
    }
    assert_eq!(
        header(alert, "apns-expiration"),
        (intent.expires_at_ms / 1000).to_string()
    );
    let authorization = header(alert, "authorization");
    let jwt = authorization
        .strip_prefix("Bearer ")
        .unwrap_or_else(|| panic!("{authorization}"));
    assert_eq!(
        webpush_check(&["verify-jwt", p8_public.to_str().unwrap(), jwt]),
        "valid\n"
    );
    let jwt_header = jwt_part(jwt, 0);
    assert_eq!(jwt_header["alg"], "ES256");
    assert_eq!(jwt_header["kid"], "ABC123DEFG");
    let claims = jwt_part(jwt, 1);
    assert_eq!(claims["iss"], "DEF123GHIJ");
    let age = chrono::Utc::now().timestamp() - claims["iat"].as_i64().unwrap();
    assert!((0..600).contains(&age), "iat {age} s ago");
    let payload: Value = serde_json::from_slice(&alert.body).unwrap();
    assert_eq!(payload["aps"]["alert"]["title"], "CPU Usage High firing");
    assert_eq!(payload["aps"]["category"], "PAAF_INTENT");
    assert_eq!(payload["aps"]["mutable-content"], 1);
    assert_eq!(payload["url"], url.as_str());
    assert_eq!(payload["intent_id"], intent.id.as_str());
    let phone_status = phone.relay_device_status().await.unwrap();
    assert_eq!(phone_status.push.as_deref(), Some("apns"));
    assert_eq!(phone_status.push_failures, 0, "{phone_status:?}");

    // 410 Unregistered and 400 BadDeviceToken: dropped after one answer.
    for (paaf, why) in [
        (&uninstalled, "HTTP 410: Unregistered"),
        (&wrong_env, "HTTP 400: BadDeviceToken"),
    ] {
        let status = once_dropped(paaf).await;
        assert_eq!(status.push_failures, 1, "{status:?}");
        assert!(
            status.push_last_error.as_deref().unwrap().contains(why),
            "{status:?}"
        );
    }
    // 429, then 503, then sent: still paired, its failures forgiven.
    requests_to(&apple, &device_path('d'), 3).await;
    for _ in 0..100 {
        if busy.relay_device_status().await.unwrap().push_failures == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let busy_status = busy.relay_device_status().await.unwrap();
    assert_eq!(busy_status.push_failures, 0, "{busy_status:?}");
    assert!(busy_status.push_dropped_at.is_none());

    // Resolved: a "resolved" alert replacing the phone's (same collapse id), no actions.
    assert_eq!(post_alertmanager(&relay, resolved_body(&body)).await, 202);
    let sent = requests_to(&apple, &device_path('a'), 3).await;
    assert_eq!(header(&sent[2], "apns-collapse-id"), intent.id);
    assert_eq!(header(&sent[2], "apns-priority"), "5");
    let withdrawal: Value = serde_json::from_slice(&sent[2].body).unwrap();
    assert_eq!(
        withdrawal["aps"]["alert"]["title"],
        "CPU Usage High resolved"
    );
    assert!(withdrawal["aps"].get("category").is_none(), "{withdrawal}");
    assert_eq!(withdrawal["type"], "withdraw");

    // Every connection to "APNs" was HTTP/2.
    let prefaces = prefaces.lock().unwrap().clone();
    assert!(!prefaces.is_empty());
    assert!(prefaces.iter().all(|&h2| h2), "{prefaces:?}");

    // The .p8 key and the provider token are in no log, status or metrics.
    let log = std::fs::read_to_string(relay.dir.join("relay.log")).unwrap();
    let metrics = metrics_page(&relay).await;
    let key_lines: Vec<&str> = p8_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for (what, text) in [
        ("log", &log),
        ("metrics", &metrics),
        ("status", &format!("{phone_status:?} {busy_status:?}")),
    ] {
        for line in &key_lines {
            assert!(!text.contains(line), "the .p8 key in the {what}");
        }
        assert!(!text.contains(jwt), "the provider token in the {what}");
    }
}

/// The relay's ntfy token on instance A and on instance B of a PostgreSQL pair: which instance
/// sent a push is in its `Authorization`.
const NTFY_TOKEN_A: &str = "tk_ntfy0instance0a0for0tests0xyzw";
const NTFY_TOKEN_B: &str = "tk_ntfy0instance0b0for0tests0xyzw";

/// The top-level storage line of a relay on `pg` (its password in `T_PG`).
fn pg_storage(pg: &PostgresServer, lease_secs: u64) -> String {
    format!(
        r#"storage = {{ postgres = "{}", password_env = "T_PG", push_lease_secs = {lease_secs} }}"#,
        pg.url()
    )
}

/// Two relay instances, A and B, on one PostgreSQL database as behind a load balancer (one
/// signing key), pushing to the ntfy server `ntfy`; their logs at debug level.
fn start_pg_relays(world: &World, pg: &PostgresServer, ntfy: &MockServer) -> (Relay, Relay) {
    let delivery = format!(
        "\n[delivery]\nretry_base_ms = 100\nretry_max_ms = 400\n\n[delivery.ntfy]\nservers = [\"{}\"]\ntoken_env = \"T_NTFY\"\n",
        ntfy.uri()
    );
    let storage = pg_storage(pg, 4);
    let start = |name: &str, ntfy_token: &str| {
        let dir = world.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        if name != "relay-a" {
            std::fs::copy(
                world.dir.path().join("relay-a/relay.key"),
                dir.join("relay.key"),
            )
            .unwrap();
        }
        let env = [
            ("T_PG", pg.password.as_str()),
            ("T_NTFY", ntfy_token),
            ("PAAF_RELAY_LOG", "debug"),
        ];
        start_relay_on(
            &dir,
            &world.config_path(),
            10_000,
            &storage,
            &delivery,
            &env,
        )
    };
    let a = start("relay-a", NTFY_TOKEN_A);
    let b = start("relay-b", NTFY_TOKEN_B);
    assert_eq!(a.key, b.key, "both instances sign with one key");
    (a, b)
}

/// Alertmanager's webhook for a "CPU Usage High" alert numbered `n` (its own intent).
fn numbered_alert(n: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({"version": "4", "status": "firing", "alerts": [{
        "status": "firing",
        "labels": {"alertname": "CPU Usage High", "n": n.to_string()},
        "fingerprint": format!("{n:016x}")
    }]}))
    .unwrap()
}

/// Pairs a device named `name` through `relay` by its HTTP API; its device token.
async fn pair_over_http(relay: &Relay, name: &str) -> String {
    let answer = reqwest::Client::new()
        .post(format!("{}/pair", relay.url()))
        .header("content-type", "application/json")
        .body(json!({"token": PAIRING_TOKEN, "device": name}).to_string())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    answer["device_token"].as_str().unwrap().to_string()
}

/// The relay's answer to the device holding `token` claiming intent `id`.
async fn claim_over_http(relay: &Relay, token: &str, id: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{}/intents/{id}/claim", relay.url()))
        .bearer_auth(token)
        .send()
        .await
        .map(|r| async { serde_json::from_slice(&r.bytes().await.unwrap()).unwrap() })
        .unwrap()
        .await
}

/// The ntfy posts for `topic` so far: (intent id, sending instance's token).
async fn ntfy_senders(server: &MockServer, topic: &str) -> Vec<(String, String)> {
    ntfy_posts(server, topic, 0)
        .await
        .into_iter()
        .map(|(body, auth)| {
            let id = body["sequence_id"].as_str().unwrap().to_string();
            (id, auth.trim_start_matches("Bearer ").to_string())
        })
        .collect()
}

/// `psql`'s one-value answer to `sql` on the relay's database (as the relay's user).
fn pg_value(pg: &PostgresServer, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &pg.port.to_string()])
        .args(["-U", "paaf_relay", "-d", "paaf_relay", "-tAq", "-c", sql])
        .env("PGPASSWORD", &pg.password)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// PostgreSQL mode (a real PostgreSQL, tests/peers/postgres.sh): two relay instances on one
/// database. A webhook to A reaches a device's stream on B (LISTEN/NOTIFY); alerts posted to
/// both are each pushed once across the two (SKIP LOCKED and a lease); two devices claiming
/// through A and B act once; A killed with pushes in flight loses none (B takes them over
/// when A's lease ends). The database password is in no log, page or error.
#[tokio::test(flavor = "multi_thread")]
async fn two_relays_on_one_postgres_deliver_each_intent_once_and_lose_none_when_one_dies() {
    let pg = PostgresServer::start();
    let ntfy = MockServer::start().await;
    let accepted = || {
        ResponseTemplate::new(200).set_body_json(json!({"id": "hwQ2YpKdmg", "event": "message"}))
    };
    Mock::given(method("POST"))
        .and(path("/"))
        .and(body_partial_json(json!({"topic": "paaf-phone"})))
        .respond_with(accepted())
        .mount(&ntfy)
        .await;
    // The tablet's topic answers after 6 s: pushes still in flight when A is killed.
    Mock::given(method("POST"))
        .and(path("/"))
        .and(body_partial_json(json!({"topic": "paaf-tablet"})))
        .respond_with(accepted().set_delay(Duration::from_secs(6)))
        .mount(&ntfy)
        .await;
    let world = World::new();
    world.write_config(REBOOT_TEAM);
    let (relay_a, relay_b) = start_pg_relays(&world, &pg, &ntfy);
    let dir = world.dir.path();
    let topic = |name: &str| PushEndpoint::Ntfy {
        url: format!("{}/{name}", ntfy.uri()),
    };

    // The phone pairs through B and listens there; a webhook to A reaches it.
    let phone = paired_with_push(dir, "phone-a", &relay_b, topic("paaf-phone")).await;
    let (_, first) = fire_cpu_alert(&relay_a, &phone).await;
    assert!(first.starts_with("paaf://intent/"), "{first}");

    // Twenty alerts, to A and B in turn: each intent pushed once across both instances.
    for n in 1..=20 {
        let relay = if n % 2 == 0 { &relay_a } else { &relay_b };
        assert_eq!(post_alertmanager(relay, numbered_alert(n)).await, 202);
    }
    ntfy_posts(&ntfy, "paaf-phone", 21).await;
    // Time for a second push of any of them, were one coming.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pushed = ntfy_senders(&ntfy, "paaf-phone").await;
    let ids: std::collections::BTreeSet<&String> = pushed.iter().map(|(id, _)| id).collect();
    assert_eq!(
        pushed.len(),
        21,
        "each intent pushed exactly once: {pushed:?}"
    );
    assert_eq!(ids.len(), 21, "{pushed:?}");
    let streamed = next_intents(&phone, 20).await;
    let streamed_ids: std::collections::BTreeSet<String> = streamed
        .iter()
        .map(|url| intent::decode(url).unwrap().intent.id)
        .collect();
    assert_eq!(streamed_ids.len(), 20, "the stream on B got them all");

    // Two devices, paired through A and through B, claim each intent at once: one acts.
    let on_a = pair_over_http(&relay_a, "laptop-a").await;
    let on_b = pair_over_http(&relay_b, "tablet-b").await;
    for id in &ids {
        let (a, b) = tokio::join!(
            claim_over_http(&relay_a, &on_a, id),
            claim_over_http(&relay_b, &on_b, id)
        );
        let firsts = [&a, &b]
            .iter()
            .filter(|c| c["first"].as_bool().unwrap())
            .count();
        assert_eq!(firsts, 1, "one claimer acts: {a} {b}");
        assert_eq!(a["device"], b["device"], "both see who acted");
    }

    // A is killed with pushes in flight to the slow topic; B delivers them all.
    paired_with_push(dir, "tablet", &relay_b, topic("paaf-tablet")).await;
    let mut relay_a = relay_a;
    for n in 21..=30 {
        assert_eq!(post_alertmanager(&relay_a, numbered_alert(n)).await, 202);
    }
    for _ in 0..100 {
        let senders = ntfy_senders(&ntfy, "paaf-tablet").await;
        if senders.iter().any(|(_, token)| token == NTFY_TOKEN_A) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let in_flight: Vec<String> = ntfy_senders(&ntfy, "paaf-tablet")
        .await
        .into_iter()
        .filter(|(_, token)| token == NTFY_TOKEN_A)
        .map(|(id, _)| id)
        .collect();
    assert!(!in_flight.is_empty(), "A was pushing when killed");
    relay_a.kill();
    let undone = "SELECT COUNT(*) FROM paaf_relay.pushes WHERE state <> 'sent'";
    for _ in 0..300 {
        if pg_value(&pg, undone) == "0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pg_value(&pg, undone), "0", "B delivered every push");
    let senders = ntfy_senders(&ntfy, "paaf-tablet").await;
    let tablet_ids: std::collections::BTreeSet<&String> =
        senders.iter().map(|(id, _)| id).collect();
    assert_eq!(tablet_ids.len(), 10, "{senders:?}");
    for id in tablet_ids {
        let by_b = senders
            .iter()
            .filter(|(i, token)| i == id && token == NTFY_TOKEN_B)
            .count();
        let by_a = senders
            .iter()
            .filter(|(i, token)| i == id && token == NTFY_TOKEN_A)
            .count();
        // Sent in full once; a second time only when A died before it heard the answer.
        assert!(
            by_a + by_b >= 1 && by_a <= 1 && by_b <= 1,
            "{id}: {senders:?}"
        );
        if by_a == 1 && !in_flight.contains(id) {
            assert_eq!(by_b, 0, "{id} sent in full by A, then again by B");
        }
    }
    for id in &in_flight {
        assert!(
            senders
                .iter()
                .any(|(i, token)| i == id && token == NTFY_TOKEN_B),
            "{id}, in flight on A when it died, was not pushed by B"
        );
    }

    // The database password: in no log, page or error; a wrong one stops the relay at start
    // with the database's refusal, not the password.
    let metrics = metrics_page(&relay_b).await;
    let mut logs = String::new();
    for name in ["relay-a", "relay-b"] {
        logs += &std::fs::read_to_string(dir.join(name).join("relay.log")).unwrap();
    }
    assert!(logs.contains("DEBUG"), "debug logs were written");
    for (what, text) in [("logs", &logs), ("metrics", &metrics)] {
        assert!(
            !text.contains(&pg.password),
            "the database password in the {what}"
        );
    }
    let wrong = "wrong-db-password-0123456789";
    let url = pg
        .url()
        .replace("paaf_relay@", &format!("paaf_relay:{wrong}@"));
    let storage = format!(
        r#"listen = "127.0.0.1:0"
storage = {{ postgres = "{url}" }}"#
    );
    let config = dir.join("relay-wrong.toml");
    std::fs::write(&config, relay_toml(&world.config_path(), 10, &storage, "")).unwrap();
    let out = std::process::Command::new(paaf_tests::relay_bin())
        .args(["serve", "--config"])
        .arg(&config)
        .envs([
            ("T_PAIRING", PAIRING_TOKEN),
            ("T_AM", AM_TOKEN),
            ("T_GRAFANA", GRAFANA_SECRET),
        ])
        .env("PAAF_RELAY_LOG", "debug")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("password authentication failed"), "{said}");
    assert!(said.contains("paaf_relay"), "it names the database: {said}");
    assert!(!said.contains(wrong), "the password in the error: {said}");
}

/// The resident memory of process `pid`, in MB.
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

/// The benchmark of tests/bench/relay.sh: webhook in → intent out on a paired device's SSE
/// stream, on loopback. Latency: one alert at a time, each timed until its intent arrives
/// (`PAAF_BENCH_ALERTS`, default 300); throughput: `PAAF_BENCH_BURST` alerts (default 2000)
/// posted 32 at a time, timed until the last intent arrives. Prints `bench relay ...` lines.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: tests/bench/relay.sh runs it"]
async fn bench_relay_webhook_to_sse() {
    let env_count = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (alerts, burst) = (
        env_count("PAAF_BENCH_ALERTS", 300),
        env_count("PAAF_BENCH_BURST", 2000),
    );
    let team = "[[hosts]]\nname = \"web-2\"\naddress = \"127.0.0.1\"\nuser = \"nobody\"\nauth = { type = \"agent\" }\n\n[[playbooks]]\nname = \"bench\"\nmatch = { alertname = \"Bench\" }\n\n[[playbooks.protect]]\nreboot = \"web-2\"\n";
    let world = World::new();
    world.write_config(team);
    // PAAF_BENCH_STORAGE=postgres: the relay on a real PostgreSQL (tests/peers/postgres.sh).
    let pg = (std::env::var("PAAF_BENCH_STORAGE").as_deref() == Ok("postgres"))
        .then(PostgresServer::start);
    let (storage, label) = match &pg {
        Some(pg) => (pg_storage(pg, 120), " postgres"),
        None => (r#"database = "relay.sqlite""#.to_string(), ""),
    };
    let password = pg.as_ref().map_or(String::new(), |pg| pg.password.clone());
    let relay = start_relay_on(
        world.dir.path(),
        &world.config_path(),
        10_000_000,
        &storage,
        "",
        &[("T_PG", password.as_str())],
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_mb(relay.pid().unwrap());
    let phone = Arc::new(device(&world.dir.path().join("phone"), team, "phone", None));
    phone
        .relay_pair(&relay.url(), &SecretString::from(PAIRING_TOKEN.to_string()))
        .await
        .unwrap();
    // The stream: each intent's alert number, as it arrives.
    let (tx, mut arrived) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let listener = phone.clone();
    tokio::spawn(async move {
        listener
            .relay_listen(None, |_, notice| {
                let intent = intent::decode(&notice.url).unwrap().intent;
                tx.send(intent.origin.labels["n"].parse().unwrap()).is_ok()
            })
            .await
    });
    let client = reqwest::Client::new();
    let url = format!("{}/webhooks/alertmanager", relay.url());
    let webhook = |n: usize| {
        let body = json!({"version": "4", "status": "firing", "alerts": [{
            "status": "firing",
            "labels": {"alertname": "Bench", "n": n.to_string()},
            "fingerprint": format!("{n:016x}")
        }]});
        client
            .post(&url)
            .bearer_auth(AM_TOKEN)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    // A first alert opens the stream (its intent waits until the stream is there).
    assert_eq!(webhook(0).await.unwrap().status().as_u16(), 202);
    assert_eq!(arrived.recv().await, Some(0));

    let mut latencies = Vec::new();
    for n in 1..=alerts {
        let started = std::time::Instant::now();
        assert_eq!(webhook(n).await.unwrap().status().as_u16(), 202);
        assert_eq!(arrived.recv().await, Some(n));
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];

    let first = alerts + 1;
    let started = std::time::Instant::now();
    let posts = futures::stream::iter(first..first + burst)
        .map(webhook)
        .buffer_unordered(32)
        .collect::<Vec<_>>();
    let (posted, _) = tokio::join!(posts, async {
        for _ in 0..burst {
            arrived.recv().await.unwrap();
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        posted
            .iter()
            .all(|r| r.as_ref().unwrap().status().as_u16() == 202)
    );
    let busy_rss = rss_mb(relay.pid().unwrap());

    println!(
        "bench relay{label} webhook→SSE p50: {:.2} ms ({alerts} alerts one at a time)",
        at(0.5)
    );
    println!(
        "bench relay{label} webhook→SSE p99: {:.2} ms (goal < 50 ms)",
        at(0.99)
    );
    println!(
        "bench relay{label} throughput: {:.0} alerts/s ({burst} alerts, 32 at a time, until the last intent is on the stream) (goal >= 2000 alerts/s)",
        burst as f64 / elapsed
    );
    println!("bench relay{label} idle RSS: {idle_rss:.1} MB (goal < 30 MB)");
    println!("bench relay{label} RSS after the burst: {busy_rss:.1} MB");
}
