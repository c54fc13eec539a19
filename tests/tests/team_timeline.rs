//! The team's timeline (issue 19): two devices, each with its own config, journal and secret
//! store, act in one incident from the intents of one alert (an Unleash flag turned off from
//! the phone, an sshd host rebooted from the laptop: the real peers); each posts its signed
//! rows to a real paaf-relay on 127.0.0.1, and the post-mortem on either shows both actions in
//! order, with who acted from which device. A device cut off from the relay queues its rows
//! and says so in its post-mortem; once the relay is back it syncs them once. Rows that are
//! unsigned, forged, of another device or from an unpaired device are refused with a clear
//! error; no secret is in any posted row. PostgreSQL mode: two relay instances on one
//! database serve the same merged timeline.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use paaf_core::incident::team::{self, TeamRow, TeamSource, sign_row};
use paaf_core::secrets::{MemoryStore, SecretStore};
use paaf_core::{
    Confirmation, Error, FlagTarget, IncidentInput, IntentOutcome, Paaf, ProgressEvent,
};
use paaf_tests::{PostgresServer, Relay, SshHost, UnleashServer, World, host_entry};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const PAIRING_TOKEN: &str = "pairing-token-for-team-tests-0123";
const AM_TOKEN: &str = "alertmanager-bearer-for-team-tests";

/// relay.toml in `dir` (playbooks from `team`, storage said by `storage`), and the relay.
fn start_relay(dir: &Path, team: &Path, storage: &str, env: &[(&str, &str)]) -> Relay {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("relay.toml"),
        format!(
            r#"{storage}
signing_key = "relay.key"
playbooks = "{team}"
intent_ttl_secs = 600
pairing_token_env = "T_PAIRING"

[[sources]]
name = "alertmanager"
auth = "bearer"
secret_env = "T_AM"
per_minute = 1000
"#,
            team = team.display()
        ),
    )
    .unwrap();
    let mut all = vec![("T_PAIRING", PAIRING_TOKEN), ("T_AM", AM_TOKEN)];
    all.extend_from_slice(env);
    Relay::start(dir, &all)
}

/// A device: paaf on its own copy of the team config in `dir` (its own journal), its secrets
/// in memory (returned, to look at them), named `name`.
fn device(dir: &Path, config: &str, name: &str, unleash_token: &str) -> (Paaf, Arc<MemoryStore>) {
    std::fs::create_dir_all(dir).unwrap();
    let store = Arc::new(MemoryStore::default());
    store
        .set("unleash", &SecretString::from(unleash_token.to_string()))
        .unwrap();
    let paaf = Paaf::open_text(&dir.join("config.toml"), config, store.clone(), "test")
        .unwrap()
        .with_device(name);
    (paaf, store)
}

fn quiet() -> Arc<dyn paaf_core::ProgressSink> {
    Arc::new(|_: ProgressEvent| {})
}

/// The firing CheckoutErrors alert, as Alertmanager's webhook (v4) sends it.
fn checkout_alert() -> Vec<u8> {
    serde_json::to_vec(&json!({"version": "4", "status": "firing", "receiver": "paaf",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "CheckoutErrors", "service": "checkout", "severity": "critical"},
            "annotations": {"summary": "5xx on checkout"},
            "fingerprint": "c0ffee0000000001"
        }]}))
    .unwrap()
}

/// The intents the device's stream brings, by kind (`flag-off`, `reboot`), once `n` came.
async fn intents_by_kind(paaf: &Paaf, n: usize) -> std::collections::HashMap<String, String> {
    let mut got = std::collections::HashMap::new();
    tokio::time::timeout(
        Duration::from_secs(60),
        paaf.relay_listen(None, |_, notice| {
            got.insert(notice.kind, notice.url);
            got.len() < n
        }),
    )
    .await
    .expect("intents in time")
    .unwrap();
    got
}

/// (kind, device name) of each row, in the timeline's order.
fn who_did_what(rows: &[TeamRow]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| (r.kind.clone(), r.device.clone()))
        .collect()
}

/// Every column of every row the relay's SQLite database keeps.
fn relay_rows(relay: &Relay) -> Vec<String> {
    let db = rusqlite::Connection::open(relay.dir.join("relay.sqlite")).unwrap();
    db.prepare(
        "SELECT device_id || ' ' || row_id || ' ' || incident_key || ' ' || row || ' ' || sig FROM timeline_rows",
    )
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Posts `rows` as the device holding `token`: the status and the relay's answer.
async fn post_rows(relay: &Relay, token: &str, rows: Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/timeline", relay.url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(json!({ "rows": rows }).to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn secret(store: &MemoryStore, name: &str) -> String {
    store.get(name).unwrap().expose_secret().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_devices_in_one_incident_each_see_both_actions_in_order_and_an_offline_one_syncs_once()
{
    let unleash = UnleashServer::start();
    unleash
        .admin()
        .create_flag("new-checkout", &["production"])
        .await;
    let world = World::new();
    let host = SshHost::start(&[&world.key]);
    world.trust(&host);
    let before = host.boot_id();
    let team = format!(
        r#"{host}
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

[[playbooks.protect]]
reboot = "web-2"
"#,
        host = host_entry(
            "web-2",
            &host,
            &world.key,
            "[hosts.reboot]\nbackoff_max_secs = 1"
        ),
        url = unleash.url()
    );
    world.write_config(&team);
    let mut relay = start_relay(
        &world.dir.path().join("relay"),
        &world.config_path(),
        r#"database = "relay.sqlite""#,
        &[],
    );
    let dir = |name: &str| {
        let d = world.dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        // Each device trusts the host on its own (its own known_hosts beside its config).
        std::fs::copy(world.dir.path().join("known_hosts"), d.join("known_hosts")).unwrap();
        d
    };
    let (phone, phone_secrets) = device(&dir("phone"), &team, "phone-a", &unleash.admin_token);
    let (laptop, laptop_secrets) = device(&dir("laptop"), &team, "laptop-b", &unleash.admin_token);
    let token = SecretString::from(PAIRING_TOKEN.to_string());
    let phone_pairing = phone.relay_pair(&relay.url(), &token).await.unwrap();
    let laptop_pairing = laptop.relay_pair(&relay.url(), &token).await.unwrap();

    // Each responder opens an incident on their own device, by hand.
    for device in [&phone, &laptop] {
        device
            .open_incident(&IncidentInput {
                title: "Checkout errors".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let status = reqwest::Client::new()
        .post(format!("{}/webhooks/alertmanager", relay.url()))
        .bearer_auth(AM_TOKEN)
        .header("content-type", "application/json")
        .body(checkout_alert())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 202);
    let on_phone = intents_by_kind(&phone, 2).await;
    let on_laptop = intents_by_kind(&laptop, 2).await;

    // The phone turns the flag off, then the laptop reboots the host.
    match phone
        .execute_intent(&on_phone["flag-off"], &Confirmation::Yes, quiet())
        .await
        .unwrap()
    {
        IntentOutcome::Ran { state, .. } => assert_eq!(state, "succeeded"),
        other => panic!("{other:?}"),
    }
    assert!(!unleash.admin().enabled("new-checkout", "production").await);
    match laptop
        .execute_intent(&on_laptop["reboot"], &Confirmation::Yes, quiet())
        .await
        .unwrap()
    {
        IntentOutcome::Ran { state, .. } => assert_eq!(state, "succeeded"),
        other => panic!("{other:?}"),
    }
    assert_ne!(host.boot_id(), before, "the host rebooted");

    // Both incidents took the alert's team key from the intents: one team incident. The
    // laptop posts its row in the background, right after acting.
    let mut on_phone_team = phone.team_timeline(None).await.unwrap();
    for _ in 0..100 {
        if on_phone_team.rows.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        on_phone_team = phone.team_timeline(None).await.unwrap();
    }
    let key = on_phone_team.incident_key.clone().unwrap();
    assert_eq!(
        key,
        team::key_for_alert(
            "CheckoutErrors",
            &[("service", "checkout"), ("severity", "critical")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        )
    );
    let expected = vec![
        ("flag-off".to_string(), "phone-a".to_string()),
        ("reboot".to_string(), "laptop-b".to_string()),
    ];
    for device in [&phone, &laptop] {
        let timeline = device.team_timeline(None).await.unwrap();
        assert_eq!(timeline.source, TeamSource::Relay, "{timeline:?}");
        assert_eq!(timeline.incident_key.as_deref(), Some(key.as_str()));
        assert_eq!(who_did_what(&timeline.rows), expected, "{timeline:?}");
        assert_eq!(timeline.rows[0].device_id, phone_pairing.device_id);
        assert_eq!(timeline.rows[1].device_id, laptop_pairing.device_id);
        assert!(timeline.rows[0].started_at <= timeline.rows[1].started_at);

        let pm = device.team_postmortem(None).await.unwrap();
        let team_md = pm.markdown.split("## Team timeline").nth(1).unwrap();
        let flag = team_md
            .find("| flag-off | new-checkout@production | succeeded")
            .unwrap();
        let reboot = team_md.find("| reboot | web-2 | succeeded").unwrap();
        assert!(flag < reboot, "in order: {team_md}");
        assert!(team_md.contains("phone-a") && team_md.contains("laptop-b"));
        assert!(team_md.contains("from 2 devices"), "{team_md}");
        let json = serde_json::to_value(&pm).unwrap();
        assert_eq!(json["team"]["rows"].as_array().unwrap().len(), 2);
    }
    assert_eq!(relay_rows(&relay).len(), 2, "each row kept once");

    // The relay is down: the phone turns the flag back on; the row waits in its outbox and
    // the post-mortem says the relay could not be reached, with the phone's rows.
    relay.kill();
    let target = FlagTarget {
        backend: None,
        project: String::new(),
        key: "new-checkout".into(),
        environment: "production".into(),
    };
    let now = phone.flag_state(&target).await.unwrap();
    phone
        .set_flag(&target, true, &now, &Confirmation::Yes)
        .await
        .unwrap();
    let offline = phone.team_timeline(None).await.unwrap();
    assert_eq!(offline.source, TeamSource::LocalOnly);
    assert_eq!(offline.unsent, 1);
    assert!(
        offline
            .error
            .as_deref()
            .unwrap()
            .contains("could not be read"),
        "{offline:?}"
    );
    let pm = phone.team_postmortem(None).await.unwrap();
    assert!(
        pm.markdown
            .contains("could not be reached: only this device's rows are shown"),
        "{}",
        pm.markdown
    );
    assert_eq!(
        who_did_what(&pm.team.unwrap().rows),
        [("flag-off", "phone-a"), ("flag-on", "phone-a")]
            .map(|(k, d)| (k.to_string(), d.to_string()))
    );

    // Back: the queued row goes once; posting again adds nothing.
    relay.start_again();
    let synced = phone.sync_team().await.unwrap();
    assert_eq!((synced.sent, synced.error), (1, None));
    assert_eq!(phone.sync_team().await.unwrap().sent, 0);
    let merged = laptop.team_timeline(None).await.unwrap();
    assert_eq!(
        who_did_what(&merged.rows),
        [
            ("flag-off", "phone-a"),
            ("reboot", "laptop-b"),
            ("flag-on", "phone-a")
        ]
        .map(|(k, d)| (k.to_string(), d.to_string()))
    );
    let stored = relay_rows(&relay);
    assert_eq!(stored.len(), 3, "no duplicates: {stored:?}");
    // Posting the same signed rows again (a lost answer, retried) adds nothing either.
    let phone_token = secret(&phone_secrets, "paaf-relay-device-token");
    let phone_key = SigningKey::from_bytes(
        &URL_SAFE_NO_PAD
            .decode(secret(&phone_secrets, "paaf-relay-device-key"))
            .unwrap()
            .try_into()
            .unwrap(),
    );
    let mine = merged.rows[0].clone();
    let again = serde_json::to_value([sign_row(&mine, &phone_key)]).unwrap();
    let (status, answer) = post_rows(&relay, &phone_token, again).await;
    assert_eq!(
        (status, answer.as_str()),
        (200, r#"{"accepted":1,"new":0}"#)
    );

    // Refused, each with its reason, nothing stored.
    let stranger_key = SigningKey::from_bytes(&[9; 32]);
    let forged = serde_json::to_value([sign_row(
        &TeamRow {
            result: Some("nothing happened".into()),
            row_id: 999,
            ..mine.clone()
        },
        &stranger_key,
    )])
    .unwrap();
    let (status, answer) = post_rows(&relay, &phone_token, forged).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("signature does not verify"), "{answer}");
    let laptops_row = TeamRow {
        row_id: 999,
        ..merged.rows[1].clone()
    };
    let wrong_device = serde_json::to_value([sign_row(&laptops_row, &phone_key)]).unwrap();
    let (status, answer) = post_rows(&relay, &phone_token, wrong_device).await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer.contains("a device posts its own rows only"),
        "{answer}"
    );
    let unsigned = json!([{ "row": sign_row(&mine, &phone_key).row, "sig": "" }]);
    let (status, answer) = post_rows(&relay, &phone_token, unsigned).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("not signed"), "{answer}");
    let own = serde_json::to_value([sign_row(&mine, &phone_key)]).unwrap();
    let (status, answer) = post_rows(&relay, "not-a-device-token", own).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("not paired"), "{answer}");
    let read = reqwest::Client::new()
        .get(format!("{}/timeline/{key}", relay.url()))
        .bearer_auth("not-a-device-token")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 401, "unpaired devices read nothing");
    assert_eq!(relay_rows(&relay).len(), 3, "nothing refused was stored");
    let (stranger, _) = device(&dir("stranger"), &team, "stranger", "x");
    match stranger.sync_team().await {
        Err(Error::IntentRefused(r)) => assert!(r.to_string().contains("not paired"), "{r}"),
        other => panic!("an unpaired device posted: {other:?}"),
    }

    // No secret in any posted row.
    let stored = relay_rows(&relay).join("\n");
    let laptop_token = secret(&laptop_secrets, "paaf-relay-device-token");
    let ssh_key = std::fs::read_to_string(&world.key).unwrap();
    let ssh_key_body = ssh_key.lines().nth(1).unwrap();
    for (name, value) in [
        ("the Unleash token", unleash.admin_token.as_str()),
        ("the pairing token", PAIRING_TOKEN),
        ("the phone's device token", phone_token.as_str()),
        ("the laptop's device token", laptop_token.as_str()),
        ("the SSH key", ssh_key_body),
        (
            "the phone's signing key",
            &secret(&phone_secrets, "paaf-relay-device-key"),
        ),
    ] {
        assert!(!stored.contains(value), "{name} in a posted row");
    }
}

/// PostgreSQL mode: two relay instances on one database (as behind a load balancer); the
/// phone posts through A, the laptop through B, and both read the same merged timeline.
/// Cheaper actions than above (flags by hand, in an incident shared with `share_incident`):
/// what is tested here is the store, not the intents.
#[tokio::test(flavor = "multi_thread")]
async fn two_relays_on_one_postgres_serve_one_merged_timeline() {
    let pg = PostgresServer::start();
    let unleash = UnleashServer::start();
    unleash
        .admin()
        .create_flag("new-checkout", &["production"])
        .await;
    let world = World::new();
    let team = format!(
        "[[flags]]\nname = \"prod\"\ntype = \"unleash\"\nurl = \"{}\"\ntoken = \"keyring:unleash\"\n",
        unleash.url()
    );
    world.write_config(&team);
    let storage = format!(
        r#"storage = {{ postgres = "{}", password_env = "T_PG" }}"#,
        pg.url()
    );
    let env = [("T_PG", pg.password.as_str())];
    let a = start_relay(
        &world.dir.path().join("relay-a"),
        &world.config_path(),
        &storage,
        &env,
    );
    let b_dir = world.dir.path().join("relay-b");
    std::fs::create_dir_all(&b_dir).unwrap();
    std::fs::copy(a.dir.join("relay.key"), b_dir.join("relay.key")).unwrap();
    let b = start_relay(&b_dir, &world.config_path(), &storage, &env);

    let (phone, _) = device(
        &world.dir.path().join("phone"),
        &team,
        "phone-a",
        &unleash.admin_token,
    );
    let (laptop, _) = device(
        &world.dir.path().join("laptop"),
        &team,
        "laptop-b",
        &unleash.admin_token,
    );
    let token = SecretString::from(PAIRING_TOKEN.to_string());
    phone.relay_pair(&a.url(), &token).await.unwrap();
    laptop.relay_pair(&b.url(), &token).await.unwrap();
    let mut keys = Vec::new();
    for (device, given) in [(&phone, None), (&laptop, Some(()))] {
        device
            .open_incident(&IncidentInput {
                title: "Checkout errors".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let shared = device
            .share_incident(None, given.and(keys.first().map(String::as_str)))
            .unwrap();
        keys.push(shared);
    }
    assert_eq!(keys[0], keys[1], "the laptop joined the phone's incident");
    let target = FlagTarget {
        backend: None,
        project: String::new(),
        key: "new-checkout".into(),
        environment: "production".into(),
    };
    for (device, on) in [(&phone, false), (&laptop, true)] {
        let now = device.flag_state(&target).await.unwrap();
        device
            .set_flag(&target, on, &now, &Confirmation::Yes)
            .await
            .unwrap();
    }
    let expected = [("flag-off", "phone-a"), ("flag-on", "laptop-b")]
        .map(|(k, d)| (k.to_string(), d.to_string()));
    // Each posts through its own instance (in the background too; here at once).
    for device in [&phone, &laptop] {
        assert_eq!(device.sync_team().await.unwrap().error, None);
    }
    for device in [&phone, &laptop] {
        let timeline = device.team_timeline(None).await.unwrap();
        assert_eq!(timeline.source, TeamSource::Relay, "{timeline:?}");
        assert_eq!(who_did_what(&timeline.rows), expected);
    }
    let count = std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &pg.port.to_string()])
        .args(["-U", "paaf_relay", "-d", "paaf_relay", "-tAq", "-c"])
        .arg("SELECT COUNT(*) FROM paaf_relay.timeline_rows")
        .env("PGPASSWORD", &pg.password)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), "2");
}
