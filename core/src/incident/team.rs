//! The team's timeline of an incident: each responder's device keeps its own journal, so an
//! incident worked from three phones and a laptop has four partial timelines. Paired devices
//! post the journal rows of a **shared** incident to paaf-relay, each row signed with the
//! device's own Ed25519 key; the relay merges them, and every paired device (and the
//! post-mortem) reads the merged timeline back.
//!
//! The shared identity of an incident across devices is its **team key**:
//! - an incident opened from an alert, or acted in from an intent, gets the key of that alert
//!   ([`key_for_alert`]: its name and labels, the same on every device and on the relay, so
//!   every device that acts on the same alert lands in the same team incident with no step);
//! - an incident opened by hand is shared with `paaf incident share ID`, which prints its key
//!   (made up then); the others join with `paaf incident share ID --key KEY`.
//!
//! A row carries who, which device, through what, the action's kind, target, state, result
//! line and times: never its detail line (a command, a matcher), its data or a secret.
//! Wire form: `{"row": base64url(JSON of [`TeamRow`]), "sig": base64url(signature)}`, the
//! signature covering `paaf-team-row-v1.` followed by the JSON bytes (what the relay checks
//! is what the device signed, byte for byte).
//!
//! These are the types with no I/O; the journal keeps the outbox (`journal/team.rs`), the
//! facade posts and reads (`facade/team.rs`), the relay stores (`relay/src/timeline.rs`).

use crate::journal::ActionRecord;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};

/// What a row's signature covers before the JSON: a signature of anything else never verifies.
const SIGNING_CONTEXT: &[u8] = b"paaf-team-row-v1.";
/// The largest row accepted (a row is a few hundred bytes).
pub const MAX_ROW_BYTES: usize = 8 * 1024;
/// The most rows one post carries.
pub const MAX_ROWS_PER_POST: usize = 100;

/// The team key of the incident about alert `name` with `labels`: the first 16 bytes of
/// SHA-256 over the name and the labels (sorted; `alertname` itself left out, as some senders
/// repeat it in the labels and some do not), hex.
pub fn key_for_alert(name: &str, labels: &BTreeMap<String, String>) -> String {
    let mut text = format!("paaf-team-incident-v1\n{name}\n");
    for (k, v) in labels.iter().filter(|(k, _)| k.as_str() != "alertname") {
        text.push_str(&format!("{k}={v}\n"));
    }
    to_hex(&Sha256::digest(text.as_bytes())[..16])
}

/// A new random team key, for an incident opened by hand and shared.
pub fn random_key() -> String {
    to_hex(&rand::random::<[u8; 16]>())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `key` has the form of a team key (hex, 16 to 64 digits): it goes into URL paths.
pub fn check_key(key: &str) -> Result<(), String> {
    if (16..=64).contains(&key.len()) && key.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a team incident key (16 to 64 hex digits, as `paaf incident share` prints it)",
            key.chars().take(80).collect::<String>()
        ))
    }
}

/// One journal row of a shared incident, as a device posts it and the relay keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TeamRow {
    /// The team key of the incident.
    pub incident_key: String,
    /// The relay's id of the device that acted.
    pub device_id: String,
    /// The row's id in that device's journal (with `device_id`: unique).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub row_id: i64,
    /// The device's name, the person and the front-end (`cli`, `desktop`, `mobile`).
    pub device: String,
    pub operator: String,
    pub frontend: String,
    /// `flag-off`, `reboot`, ...
    pub kind: String,
    pub target: String,
    /// `succeeded`, `failed`, `unknown`, `unverified`.
    pub state: String,
    /// The journal's result line.
    pub result: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub duration_ms: Option<u64>,
}

impl TeamRow {
    /// The row of journal action `a` in the team incident `incident_key`, posted by device
    /// `device_id`: everything but its detail line and data.
    pub fn of_action(a: &ActionRecord, incident_key: &str, device_id: &str) -> TeamRow {
        TeamRow {
            incident_key: incident_key.to_string(),
            device_id: device_id.to_string(),
            row_id: a.id,
            device: a.device.clone(),
            operator: a.operator.clone(),
            frontend: a.frontend.clone(),
            kind: a.kind.name(),
            target: a.target.clone(),
            state: a.state.as_str().to_string(),
            result: a.result.clone(),
            started_at: a.created_at,
            finished_at: a.finished_at,
            duration_ms: a.duration_ms,
        }
    }
}

/// A row and its device's signature, as posted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedRow {
    /// base64url of the row's JSON.
    pub row: String,
    /// base64url of the Ed25519 signature.
    pub sig: String,
}

/// Signs `row` with the device's key.
pub fn sign_row(row: &TeamRow, key: &SigningKey) -> SignedRow {
    let json = serde_json::to_vec(row).expect("a row always serializes");
    let signature = key.sign(&[SIGNING_CONTEXT, &json].concat());
    SignedRow {
        row: URL_SAFE_NO_PAD.encode(&json),
        sig: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
    }
}

/// Why a posted row was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowRefusal {
    #[error("a row is not signed: every row is signed with the device's key")]
    Unsigned,
    #[error("a row is malformed: {0}")]
    Malformed(String),
    #[error(
        "a row's signature does not verify against the key this device registered at pairing: it was changed or forged"
    )]
    Forged,
    #[error(
        "a row names device {named}, but device {poster} posted it: a device posts its own rows only"
    )]
    WrongDevice { named: String, poster: String },
}

/// Reads a row posted by device `poster` and checks it was signed by `key` (that device's):
/// the row and its JSON as signed.
pub fn verify_row(
    signed: &SignedRow,
    key: &VerifyingKey,
    poster: &str,
) -> Result<(TeamRow, String), RowRefusal> {
    if signed.sig.is_empty() {
        return Err(RowRefusal::Unsigned);
    }
    if signed.row.len() > MAX_ROW_BYTES * 2 {
        return Err(RowRefusal::Malformed(format!(
            "it is larger than {MAX_ROW_BYTES} bytes"
        )));
    }
    let json = URL_SAFE_NO_PAD
        .decode(&signed.row)
        .map_err(|_| RowRefusal::Malformed("it is not base64url".into()))?;
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(&signed.sig)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| {
            RowRefusal::Malformed("its signature is not 64 bytes of base64url".into())
        })?;
    key.verify(
        &[SIGNING_CONTEXT, &json].concat(),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| RowRefusal::Forged)?;
    let row: TeamRow = serde_json::from_slice(&json)
        .map_err(|e| RowRefusal::Malformed(format!("it is not a team row: {e}")))?;
    if row.device_id != poster {
        return Err(RowRefusal::WrongDevice {
            named: row.device_id,
            poster: poster.to_string(),
        });
    }
    check_key(&row.incident_key).map_err(RowRefusal::Malformed)?;
    let json = String::from_utf8(json).map_err(|_| RowRefusal::Malformed("not UTF-8".into()))?;
    Ok((row, json))
}

/// Where the rows of a team timeline came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TeamSource {
    /// Merged by the relay: every paired device's rows.
    Relay,
    /// The relay could not be reached: this device's rows only (see `error`).
    LocalOnly,
    /// This device is not paired, or the incident is not shared: this device's rows only.
    NotShared,
}

/// An incident's timeline across the team's devices, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TeamTimeline {
    /// The incident's team key, when it is shared.
    pub incident_key: Option<String>,
    /// The relay read, when paired.
    pub relay: Option<String>,
    pub source: TeamSource,
    /// Why the relay's rows are missing (unreachable, refused).
    pub error: Option<String>,
    /// This device's rows not yet acknowledged by the relay.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unsent: u64,
    pub rows: Vec<TeamRow>,
}

/// The local rows and the relay's, each once (by device and row id: a local row wins, it is
/// the freshest), ordered by start time, then device, then row id.
pub fn merge(local: Vec<TeamRow>, relay: Vec<TeamRow>) -> Vec<TeamRow> {
    let mut seen: HashSet<(String, i64)> = HashSet::new();
    let mut rows = Vec::new();
    for row in local.into_iter().chain(relay) {
        if seen.insert((row.device_id.clone(), row.row_id)) {
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| {
        (a.started_at, &a.device_id, a.row_id).cmp(&(b.started_at, &b.device_id, b.row_id))
    });
    rows
}

/// The post-mortem's "Team timeline" section: where the rows come from, then one table row
/// each, with who acted from which device.
pub fn markdown(team: &TeamTimeline) -> String {
    use super::postmortem::{cell, human_ms, time};
    use std::fmt::Write;
    let mut md = String::from("\n## Team timeline\n\n");
    let mut devices: Vec<&str> = team.rows.iter().map(|r| r.device.as_str()).collect();
    devices.sort();
    devices.dedup();
    let relay = team.relay.as_deref().unwrap_or("(none)");
    let _ = match team.source {
        TeamSource::Relay => writeln!(
            md,
            "Merged by the relay at {relay} from {} device{} ({}).",
            devices.len(),
            if devices.len() == 1 { "" } else { "s" },
            devices.join(", ")
        ),
        TeamSource::LocalOnly => writeln!(
            md,
            "**The relay at {relay} could not be reached: only this device's rows are shown.**"
        ),
        TeamSource::NotShared => writeln!(
            md,
            "This incident is not shared with the team: only this device's rows are shown."
        ),
    };
    if let Some(error) = &team.error {
        let _ = writeln!(md, "\n_{}_", cell(error));
    }
    let _ = writeln!(
        md,
        "\n| time | what | target | result | who (front-end) | device | duration |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for r in &team.rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} ({}) | {} ({}) | {} |",
            time(r.started_at),
            cell(&r.kind),
            cell(&r.target),
            cell(&match &r.result {
                Some(result) => format!("{}: {result}", r.state),
                None => r.state.clone(),
            }),
            cell(&r.operator),
            cell(&r.frontend),
            cell(&r.device),
            cell(&r.device_id),
            r.duration_ms.map(human_ms).unwrap_or_default()
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(device_id: &str, row_id: i64, secs: i64) -> TeamRow {
        TeamRow {
            incident_key: "00112233445566778899aabbccddeeff".into(),
            device_id: device_id.into(),
            row_id,
            device: format!("phone-{device_id}"),
            operator: "alice".into(),
            frontend: "mobile".into(),
            kind: "flag-off".into(),
            target: "new-checkout@production".into(),
            state: "succeeded".into(),
            result: Some("ON -> OFF".into()),
            started_at: DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap(),
            finished_at: None,
            duration_ms: None,
        }
    }

    #[test]
    fn the_same_alert_gives_the_same_key_whatever_the_label_order_and_alertname_label() {
        let mut a = BTreeMap::new();
        a.insert("service".to_string(), "checkout".to_string());
        a.insert("alertname".to_string(), "CheckoutErrors".to_string());
        let mut b = BTreeMap::new();
        b.insert("service".to_string(), "checkout".to_string());
        assert_eq!(
            key_for_alert("CheckoutErrors", &a),
            key_for_alert("CheckoutErrors", &b)
        );
        b.insert("service".to_string(), "search".to_string());
        assert_ne!(
            key_for_alert("CheckoutErrors", &a),
            key_for_alert("CheckoutErrors", &b)
        );
        assert!(check_key(&key_for_alert("X", &a)).is_ok());
        assert!(check_key("../etc").is_err());
    }

    #[test]
    fn a_row_verifies_with_its_device_key_only_and_names_its_own_device() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let other = SigningKey::from_bytes(&[2; 32]);
        let signed = sign_row(&row("aa", 1, 0), &key);
        let (read, json) = verify_row(&signed, &key.verifying_key(), "aa").unwrap();
        assert_eq!(read, row("aa", 1, 0));
        assert!(json.contains("\"row_id\":1"));
        assert_eq!(
            verify_row(&signed, &other.verifying_key(), "aa"),
            Err(RowRefusal::Forged)
        );
        assert!(matches!(
            verify_row(&signed, &key.verifying_key(), "bb"),
            Err(RowRefusal::WrongDevice { .. })
        ));
        let unsigned = SignedRow {
            sig: String::new(),
            ..signed.clone()
        };
        assert_eq!(
            verify_row(&unsigned, &key.verifying_key(), "aa"),
            Err(RowRefusal::Unsigned)
        );
        // The row changed after signing (its state made better): refused.
        let mut changed = row("aa", 1, 0);
        changed.state = "failed".into();
        let tampered = SignedRow {
            row: sign_row(&changed, &other).row,
            sig: signed.sig,
        };
        assert_eq!(
            verify_row(&tampered, &key.verifying_key(), "aa"),
            Err(RowRefusal::Forged)
        );
    }

    #[test]
    fn merged_rows_are_ordered_by_time_then_device_and_kept_once() {
        let local = vec![row("bb", 2, 10), row("bb", 1, 0)];
        let relay = vec![row("aa", 7, 10), row("bb", 1, 0), row("aa", 3, 5)];
        let merged: Vec<(String, i64)> = merge(local, relay)
            .into_iter()
            .map(|r| (r.device_id, r.row_id))
            .collect();
        assert_eq!(
            merged,
            [
                ("bb".into(), 1),
                ("aa".into(), 3),
                ("aa".into(), 7),
                ("bb".into(), 2)
            ]
        );
    }
}
