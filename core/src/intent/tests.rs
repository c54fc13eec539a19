use super::*;
use proptest::prelude::*;

const NOW: i64 = 1_800_000_000_000;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn intent_by(key: &SigningKey, action: IntentAction) -> ActionIntent {
    ActionIntent {
        v: VERSION,
        id: "i-1".into(),
        key_id: key_id(&key.verifying_key()),
        issued_at_ms: NOW - 1_000,
        expires_at_ms: NOW + 60_000,
        nonce: "n-1".into(),
        origin: IntentOrigin {
            source: "grafana".into(),
            alert: "CheckoutErrors".into(),
            labels: BTreeMap::from([("service".into(), "checkout-api".into())]),
            fingerprint: Some("abc".into()),
            playbook: "checkout".into(),
        },
        action,
    }
}

fn reboot(host: &str) -> IntentAction {
    IntentAction::Reboot { host: host.into() }
}

fn config() -> Config {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        r#"
[[hosts]]
name = "web-2"
address = "127.0.0.1"
user = "ops"
auth = { type = "agent" }

[[hosts]]
name = "web-3"
address = "127.0.0.1"
user = "ops"
auth = { type = "agent" }

[[playbooks]]
name = "checkout"
match = { alertname = "CheckoutErrors" }
protect = [
  { reboot = "web-2" },
  { runbook = "__drain", host = "web-3" },
]
"#,
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    std::mem::forget(dir);
    config
}

#[test]
fn a_signed_intent_round_trips_as_a_link_and_as_a_payload() {
    let k = key(1);
    let intent = intent_by(&k, reboot("web-2"));
    let payload = sign(&intent, &k);
    for text in [payload.clone(), url_of(&payload), format!("  {payload}\n")] {
        let signed = decode(&text).unwrap();
        assert_eq!(signed.verify(&k.verifying_key(), NOW).unwrap(), &intent);
    }
}

#[test]
fn each_forgery_is_refused_with_its_own_reason() {
    let k = key(1);
    let payload = sign(&intent_by(&k, reboot("web-2")), &k);
    let (json_b64, sig) = payload.split_once('.').unwrap();

    // The payload changed after signing (web-2 -> web-3): forged.
    let mut json = String::from_utf8(URL_SAFE_NO_PAD.decode(json_b64).unwrap()).unwrap();
    json = json.replace("web-2", "web-3");
    let tampered = format!("{}.{sig}", URL_SAFE_NO_PAD.encode(json));
    assert_eq!(
        decode(&tampered).unwrap().verify(&k.verifying_key(), NOW),
        Err(IntentRefusal::ForgedSignature)
    );

    // Signed by another key claiming the pinned key's id: forged.
    let other = key(2);
    let mut claimed = intent_by(&other, reboot("web-2"));
    claimed.key_id = key_id(&k.verifying_key());
    assert_eq!(
        decode(&sign(&claimed, &other))
            .unwrap()
            .verify(&k.verifying_key(), NOW),
        Err(IntentRefusal::ForgedSignature)
    );

    // Signed by another relay, honestly: the wrong key.
    let honest = sign(&intent_by(&other, reboot("web-2")), &other);
    assert!(matches!(
        decode(&honest).unwrap().verify(&k.verifying_key(), NOW),
        Err(IntentRefusal::WrongKey { .. })
    ));

    // Expired.
    assert_eq!(
        decode(&payload)
            .unwrap()
            .verify(&k.verifying_key(), NOW + 61_000),
        Err(IntentRefusal::Expired { ago_secs: 1 })
    );
}

#[test]
fn a_payload_with_fields_the_signer_did_not_write_is_malformed() {
    let k = key(1);
    let json = String::from_utf8(canonical(&intent_by(&k, reboot("web-2")))).unwrap();
    let extra = json.replacen('{', "{\"command\":\"rm -rf /\",", 1);
    let payload = format!("{}.{}", URL_SAFE_NO_PAD.encode(extra), "A".repeat(86));
    assert!(matches!(decode(&payload), Err(IntentRefusal::Malformed(_))));
}

#[test]
fn the_device_runs_only_steps_of_its_own_playbook_on_its_own_targets() {
    let config = config();
    let k = key(1);
    assert_eq!(
        device_step(&config, &intent_by(&k, reboot("web-2"))),
        Ok(StepAction::Reboot {
            host: "web-2".into()
        })
    );
    assert_eq!(
        device_step(&config, &intent_by(&k, reboot("db-9"))),
        Err(IntentRefusal::UnknownTarget {
            what: "host",
            name: "db-9".into()
        })
    );
    // web-3 exists, but the playbook only runs a runbook there.
    assert!(matches!(
        device_step(&config, &intent_by(&k, reboot("web-3"))),
        Err(IntentRefusal::KindNotAllowed { .. })
    ));
    let other_runbook = IntentAction::Runbook {
        host: "web-3".into(),
        runbook: "__wipe".into(),
    };
    assert!(matches!(
        device_step(&config, &intent_by(&k, other_runbook)),
        Err(IntentRefusal::KindNotAllowed { .. })
    ));
    let mut unknown_playbook = intent_by(&k, reboot("web-2"));
    unknown_playbook.origin.playbook = "payments".into();
    assert!(matches!(
        device_step(&config, &unknown_playbook),
        Err(IntentRefusal::UnknownTarget {
            what: "playbook",
            ..
        })
    ));
}

#[test]
fn keys_print_and_parse_back() {
    let k = key(3).verifying_key();
    assert_eq!(parse_key(&format_key(&k)).unwrap(), k);
    assert!(parse_key("ssh-ed25519 AAAA").is_err());
    assert!(parse_key("ed25519:AAAA").is_err());
}

proptest! {
    /// Any text, link-shaped or not, is refused or read: never a panic.
    #[test]
    fn decode_never_panics(text in ".{0,300}") {
        let _ = decode(&text);
        let _ = decode(&format!("{URL_PREFIX}{text}"));
    }

    /// Changing any one byte of a signed payload never leaves it valid.
    #[test]
    fn any_changed_byte_is_refused(index in 0usize..400, byte in any::<u8>()) {
        let k = key(1);
        let payload = sign(&intent_by(&k, reboot("web-2")), &k);
        let mut bytes = payload.clone().into_bytes();
        let i = index % bytes.len();
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        // A base64url tail may absorb a change in bits it does not use: then nothing changed.
        if let Ok(signed) = decode(&changed)
            && signed.json == decode(&payload).unwrap().json
            && signed.signature == decode(&payload).unwrap().signature
        {
            return Ok(());
        }
        let verified = decode(&changed).map(|s| s.verify(&k.verifying_key(), NOW).is_ok());
        prop_assert!(!matches!(verified, Ok(true)), "{changed} verified");
    }

    /// Labels and names of any content survive signing and verification unchanged.
    #[test]
    fn any_origin_round_trips(alert in ".{0,40}", value in ".{0,40}", host in "[a-z0-9-]{1,20}") {
        let k = key(1);
        let mut intent = intent_by(&k, reboot(&host));
        intent.origin.alert = alert;
        intent.origin.labels.insert("x".into(), value);
        let payload = sign(&intent, &k);
        let signed = decode(&payload).unwrap();
        prop_assert_eq!(signed.verify(&k.verifying_key(), NOW).unwrap(), &intent);
    }
}
