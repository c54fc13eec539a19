//! Action intents: what paaf-relay pushes to a paired device when an alert matches a playbook.
//!
//! An intent names a playbook, an action kind and a configured target (a host, a flag, a
//! monitoring source) and nothing else: never a secret, never a command. The relay signs it
//! with its Ed25519 key; the device verifies the signature against the relay key it pinned at
//! pairing, the expiry and the nonce (an intent runs once per device), then looks the action up
//! in its **own** playbook: what runs is the device's configured step, with the device's own
//! credentials, after a confirmation.
//!
//! Wire form: `paaf://intent/<payload>` or the bare payload, where payload is
//! `base64url(canonical JSON) "." base64url(signature)` and the signature covers
//! `paaf-intent-v1.` followed by the JSON bytes. The canonical JSON is serde_json's output of
//! [`ActionIntent`]: fields in declaration order, labels in a `BTreeMap`, no floats.

pub mod pairing;
pub mod relay_client;
pub mod team_client;

use crate::config::{Config, PlaybookConfig, StepAction};
use crate::error::{Error, ErrorCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The deep-link prefix of an intent (`paaf://intent/<payload>`).
pub const URL_PREFIX: &str = "paaf://intent/";
/// The version of the wire form this paaf reads and writes.
pub const VERSION: u32 = 1;
/// What the signature covers before the JSON: a signature of anything else never verifies.
const SIGNING_CONTEXT: &[u8] = b"paaf-intent-v1.";
/// The largest payload accepted: an intent is a few hundred bytes.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
/// Clock skew allowed between the relay and the device, on the issue time.
const SKEW_MS: i64 = 5 * 60 * 1000;

/// One signed request to take one playbook action, as the relay issued it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionIntent {
    /// Wire-form version ([`VERSION`]).
    pub v: u32,
    /// The relay's id of the intent (claims and results name it).
    pub id: String,
    /// [`key_id`] of the relay key that signed it.
    pub key_id: String,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
    /// Random, once per intent: a device runs an intent with a nonce it has seen only once.
    pub nonce: String,
    pub origin: IntentOrigin,
    pub action: IntentAction,
}

/// The alert an intent answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentOrigin {
    /// The relay's webhook source it came in from (`grafana`, `alertmanager`).
    pub source: String,
    /// The alert's `alertname`.
    pub alert: String,
    pub labels: BTreeMap<String, String>,
    /// The alert's fingerprint, when the sender gave one.
    pub fingerprint: Option<String>,
    /// The playbook whose step this is.
    pub playbook: String,
}

/// The action an intent asks for: a kind and the configured target it acts on. The
/// parameters (project, silence matchers and length, ...) come from the device's own playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum IntentAction {
    /// A flag turned off in one environment, on a `[[flags]]` service.
    FlagOff {
        backend: String,
        flag: String,
        environment: String,
    },
    /// A flag turned on in one environment, on a `[[flags]]` service.
    FlagOn {
        backend: String,
        flag: String,
        environment: String,
    },
    /// A verified reboot of a `[[hosts]]` host.
    Reboot { host: String },
    /// A runbook on a `[[hosts]]` host.
    Runbook { host: String, runbook: String },
    /// The playbook's silence in a `[[monitoring]]` source.
    Silence { source: String },
}

impl IntentAction {
    /// The intent form of a playbook step; `None` for the kinds intents do not carry yet
    /// (cloud server power).
    pub fn of_step(step: &StepAction) -> Option<IntentAction> {
        Some(match step {
            StepAction::Flag {
                backend,
                key,
                environment,
                enabled,
                ..
            } => {
                let (backend, flag, environment) =
                    (backend.clone(), key.clone(), environment.clone());
                match enabled {
                    true => IntentAction::FlagOn {
                        backend,
                        flag,
                        environment,
                    },
                    false => IntentAction::FlagOff {
                        backend,
                        flag,
                        environment,
                    },
                }
            }
            StepAction::Reboot { host } => IntentAction::Reboot { host: host.clone() },
            StepAction::Runbook { host, runbook } => IntentAction::Runbook {
                host: host.clone(),
                runbook: runbook.clone(),
            },
            StepAction::Silence { source, .. } => IntentAction::Silence {
                source: source.clone(),
            },
            StepAction::Server { .. } => return None,
        })
    }

    /// Its kind's name (`flag-off`, `reboot`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            IntentAction::FlagOff { .. } => "flag-off",
            IntentAction::FlagOn { .. } => "flag-on",
            IntentAction::Reboot { .. } => "reboot",
            IntentAction::Runbook { .. } => "runbook",
            IntentAction::Silence { .. } => "silence",
        }
    }

    /// The configured target it names (`web-2`, `new-checkout@production`, `am`).
    pub fn target(&self) -> String {
        match self {
            IntentAction::FlagOff {
                flag, environment, ..
            }
            | IntentAction::FlagOn {
                flag, environment, ..
            } => format!("{flag}@{environment}"),
            IntentAction::Reboot { host } | IntentAction::Runbook { host, .. } => host.clone(),
            IntentAction::Silence { source } => source.clone(),
        }
    }
}

/// Why an intent was refused. Nothing was run for any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntentRefusal {
    #[error("this is not a paaf action intent: {0}")]
    Malformed(String),
    #[error(
        "the intent's signature does not verify against the pinned relay key: it was changed or forged"
    )]
    ForgedSignature,
    #[error(
        "the intent was signed by relay key {signed_by}, not by the pinned key {pinned}: pair again with `paaf relay pair` if the relay's key really changed"
    )]
    WrongKey { signed_by: String, pinned: String },
    #[error("the intent expired {ago_secs} s ago: act from the incident instead")]
    Expired { ago_secs: i64 },
    #[error("the intent was already used on this device ({first}): an intent runs once")]
    Replayed { first: String },
    #[error("the intent names {what} `{name}`, which this device's config does not have")]
    UnknownTarget { what: &'static str, name: String },
    #[error(
        "playbook `{playbook}` on this device has no {kind} step on `{target}`: the action is not allowed here"
    )]
    KindNotAllowed {
        playbook: String,
        kind: String,
        target: String,
    },
    #[error("this device is not paired with a relay: pair it with `paaf relay pair URL --token T`")]
    NotPaired,
    #[error(
        "the relay at {url} answered with key {answered}, not the key {shown} its pairing code carries: something between this device and the relay may be posing as it; nothing was paired (check the URL, or get a fresh code with `paaf-relay pair-code`)"
    )]
    PairingKeyMismatch {
        url: String,
        shown: String,
        answered: String,
    },
}

impl IntentRefusal {
    /// The error code front-ends switch on: the forgeries are auth failures, a stale or reused
    /// intent a conflict, a target this device lacks not-found, a step it lacks a refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            IntentRefusal::Malformed(_) => ErrorCode::InvalidInput,
            IntentRefusal::ForgedSignature
            | IntentRefusal::WrongKey { .. }
            | IntentRefusal::PairingKeyMismatch { .. } => ErrorCode::AuthFailed,
            IntentRefusal::Expired { .. } | IntentRefusal::Replayed { .. } => ErrorCode::Conflict,
            IntentRefusal::UnknownTarget { .. } => ErrorCode::NotFound,
            IntentRefusal::KindNotAllowed { .. } => ErrorCode::PermissionDenied,
            IntentRefusal::NotPaired => ErrorCode::Config,
        }
    }
}

impl From<IntentRefusal> for Error {
    fn from(refusal: IntentRefusal) -> Error {
        Error::IntentRefused(refusal)
    }
}

/// The id of a relay key as intents name it: the first 8 bytes of SHA-256 of the key, in hex.
pub fn key_id(key: &VerifyingKey) -> String {
    Sha256::digest(key.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A relay public key as it is shown and pinned: `ed25519:<base64url>`.
pub fn format_key(key: &VerifyingKey) -> String {
    format!("ed25519:{}", URL_SAFE_NO_PAD.encode(key.as_bytes()))
}

/// Reads a key written by [`format_key`].
pub fn parse_key(text: &str) -> Result<VerifyingKey, IntentRefusal> {
    let bad = |why: &str| IntentRefusal::Malformed(format!("relay key: {why}"));
    let b64 = text
        .trim()
        .strip_prefix("ed25519:")
        .ok_or_else(|| bad("it must start with `ed25519:`"))?;
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| bad("not base64url"))?
        .try_into()
        .map_err(|_| bad("not 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad("not an Ed25519 public key"))
}

/// The canonical bytes of an intent (what is signed after the context).
pub fn canonical(intent: &ActionIntent) -> Vec<u8> {
    serde_json::to_vec(intent).expect("an intent always serializes")
}

/// Signs `intent` with the relay's key: the payload of the deep link.
pub fn sign(intent: &ActionIntent, key: &SigningKey) -> String {
    let json = canonical(intent);
    let signature = key.sign(&[SIGNING_CONTEXT, &json].concat());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// The deep link of a signed payload.
pub fn url_of(payload: &str) -> String {
    format!("{URL_PREFIX}{payload}")
}

/// An intent decoded from its payload, not verified yet.
#[derive(Debug, Clone)]
pub struct SignedIntent {
    pub intent: ActionIntent,
    json: Vec<u8>,
    signature: Signature,
}

/// Decodes a deep link or a bare payload (nothing is verified yet: see [`SignedIntent::verify`]).
pub fn decode(text: &str) -> Result<SignedIntent, IntentRefusal> {
    let bad = |why: String| IntentRefusal::Malformed(why);
    let text = text.trim();
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(bad(format!(
            "it is {} bytes, more than the {MAX_PAYLOAD_BYTES} an intent may have",
            text.len()
        )));
    }
    let payload = text.strip_prefix(URL_PREFIX).unwrap_or(text);
    let (json_b64, sig_b64) = payload
        .split_once('.')
        .ok_or_else(|| bad("expected `paaf://intent/<payload>.<signature>`".into()))?;
    let json = URL_SAFE_NO_PAD
        .decode(json_b64)
        .map_err(|_| bad("its payload is not base64url".into()))?;
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(sig_b64)
        .map_err(|_| bad("its signature is not base64url".into()))?
        .try_into()
        .map_err(|_| bad("its signature is not 64 bytes".into()))?;
    let intent: ActionIntent = serde_json::from_slice(&json)
        .map_err(|e| bad(format!("its payload is not an intent: {e}")))?;
    if intent.v != VERSION {
        return Err(bad(format!(
            "it is version {}, this paaf reads version {VERSION}: update paaf",
            intent.v
        )));
    }
    Ok(SignedIntent {
        intent,
        json,
        signature: Signature::from_bytes(&signature),
    })
}

impl SignedIntent {
    /// Checks the signer, the signature and the expiry at `now_ms`.
    pub fn verify(
        &self,
        pinned: &VerifyingKey,
        now_ms: i64,
    ) -> Result<&ActionIntent, IntentRefusal> {
        let pinned_id = key_id(pinned);
        if self.intent.key_id != pinned_id {
            return Err(IntentRefusal::WrongKey {
                signed_by: self.intent.key_id.clone(),
                pinned: pinned_id,
            });
        }
        pinned
            .verify(&[SIGNING_CONTEXT, &self.json].concat(), &self.signature)
            .map_err(|_| IntentRefusal::ForgedSignature)?;
        let intent = &self.intent;
        if now_ms >= intent.expires_at_ms {
            return Err(IntentRefusal::Expired {
                ago_secs: (now_ms - intent.expires_at_ms) / 1000,
            });
        }
        if intent.issued_at_ms > now_ms + SKEW_MS || intent.issued_at_ms > intent.expires_at_ms {
            return Err(IntentRefusal::Malformed(
                "it was issued in the future: check the clocks of the relay and this device".into(),
            ));
        }
        Ok(intent)
    }
}

/// The step of the device's own playbook that `intent` asks for: the playbook, the target and
/// a step of that kind on it must all be in `config`.
pub fn device_step(config: &Config, intent: &ActionIntent) -> Result<StepAction, IntentRefusal> {
    let unknown = |what, name: &str| IntentRefusal::UnknownTarget {
        what,
        name: name.to_string(),
    };
    let playbook: &PlaybookConfig = config
        .playbook(&intent.origin.playbook)
        .map_err(|_| unknown("playbook", &intent.origin.playbook))?;
    match &intent.action {
        IntentAction::FlagOff { backend, .. } | IntentAction::FlagOn { backend, .. } => {
            config
                .flags_backend(Some(backend))
                .map_err(|_| unknown("flag service", backend))?;
        }
        IntentAction::Reboot { host } | IntentAction::Runbook { host, .. } => {
            config.host(host).map_err(|_| unknown("host", host))?;
        }
        IntentAction::Silence { source } => {
            if !config.monitoring.iter().any(|m| &m.name == source) {
                return Err(unknown("monitoring source", source));
            }
        }
    }
    playbook
        .protect
        .iter()
        .map(|s| &s.action)
        .find(|step| IntentAction::of_step(step).as_ref() == Some(&intent.action))
        .cloned()
        .ok_or_else(|| IntentRefusal::KindNotAllowed {
            playbook: playbook.name.clone(),
            kind: intent.action.kind().to_string(),
            target: intent.action.target(),
        })
}

#[cfg(test)]
mod tests;
