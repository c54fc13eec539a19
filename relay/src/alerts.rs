//! Alert webhooks into intents. Grafana's webhook contact point and Alertmanager's webhook
//! receiver (payload version 4) send the same shape for what the relay reads:
//! `{"alerts": [{"status": "firing"|"resolved", "labels": {...}, "fingerprint": "..."}]}`.
//! - Alertmanager: <https://prometheus.io/docs/alerting/latest/configuration/#webhook_config>
//! - Grafana: <https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/>
//!
//! A firing alert that a playbook matches gets one intent per step the intents carry; a
//! resolved one withdraws its intents.

use crate::store::NewIntent;
use ed25519_dalek::SigningKey;
use paaf_core::config::Config;
use paaf_core::intent::relay_client::IntentNotice;
use paaf_core::intent::{self, ActionIntent, IntentAction, IntentOrigin};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Deserialize)]
pub struct WebhookBody {
    pub alerts: Vec<WebhookAlert>,
}

#[derive(Deserialize)]
pub struct WebhookAlert {
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// What one webhook asks for: intents to store, alerts whose intents to withdraw.
#[derive(Default)]
pub struct Outcome {
    pub intents: Vec<NewIntent>,
    pub resolved: Vec<String>,
}

/// The relay's identity of an alert of `source`: its fingerprint and its labels (senders
/// that fill `fingerprint` carelessly give several alerts the same one).
fn alert_key(source: &str, alert: &WebhookAlert) -> String {
    let labels = serde_json::to_string(&alert.labels).expect("labels serialize");
    let fingerprint = alert.fingerprint.as_deref().unwrap_or("");
    hex::encode(Sha256::digest(
        format!("{source}\n{fingerprint}\n{labels}").as_bytes(),
    ))
}

fn random_id(bytes: usize) -> String {
    hex::encode((0..bytes).map(|_| rand::random::<u8>()).collect::<Vec<_>>())
}

/// The intents and withdrawals of `body`, sent by `source`, signed with `key`.
pub fn intents_of(
    body: &WebhookBody,
    source: &str,
    playbooks: &Config,
    key: &SigningKey,
    ttl_ms: i64,
    now_ms: i64,
) -> Outcome {
    let mut out = Outcome::default();
    let key_id = intent::key_id(&key.verifying_key());
    for alert in &body.alerts {
        let alert_key = alert_key(source, alert);
        if alert.status == "resolved" {
            out.resolved.push(alert_key);
            continue;
        }
        let Some(playbook) = playbooks.playbook_for(&alert.labels) else {
            continue;
        };
        let name = alert.labels.get("alertname").cloned().unwrap_or_default();
        for (index, step) in playbook.protect.iter().enumerate() {
            let Some(action) = IntentAction::of_step(&step.action) else {
                continue;
            };
            let intent = ActionIntent {
                v: intent::VERSION,
                id: random_id(12),
                key_id: key_id.clone(),
                issued_at_ms: now_ms,
                expires_at_ms: now_ms + ttl_ms,
                nonce: random_id(16),
                origin: IntentOrigin {
                    source: source.to_string(),
                    alert: name.clone(),
                    labels: alert.labels.clone(),
                    fingerprint: alert.fingerprint.clone(),
                    playbook: playbook.name.clone(),
                },
                action: action.clone(),
            };
            let payload = intent::sign(&intent, key);
            out.intents.push(NewIntent {
                notice: IntentNotice {
                    id: intent.id.clone(),
                    url: intent::url_of(&payload),
                    alert: name.clone(),
                    playbook: playbook.name.clone(),
                    kind: action.kind().to_string(),
                    target: action.target(),
                    expires_at_ms: intent.expires_at_ms,
                },
                dedup_key: format!("{alert_key}/{}/{index}", playbook.name),
                alert_key: alert_key.clone(),
            });
        }
    }
    out
}
