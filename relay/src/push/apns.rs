//! Apple Push Notification service, token-based: an alert with the intent's actions to the iOS
//! app's device token, over HTTP/2 (APNs takes nothing else).
//! - Send: <https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns>
//!   (`POST {api}/3/device/{token}`; headers `authorization: bearer JWT`, `apns-topic` the
//!   bundle id, `apns-push-type: alert`, `apns-priority` 10 now / 5 when convenient,
//!   `apns-expiration` UNIX seconds, `apns-collapse-id` at most 64 bytes: a later
//!   notification with it replaces the one shown).
//! - Token: <https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns>
//!   (ES256 JWT, header `{alg, kid: the key id}`, claims `{iss: the team id, iat}`; refreshed
//!   no more than once every 20 minutes and no less than once every 60).
//! - Payload: <https://developer.apple.com/documentation/usernotifications/generating-a-remote-notification>
//!   (`aps.alert {title, body}`, `aps.category` the notification category whose actions the app
//!   registered, `aps.mutable-content: 1` so its service extension may rewrite it; other keys
//!   are the app's), at most 4096 bytes.
//! - Errors: <https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns>
//!   (`{"reason": ...}`, `apns-id` header): 400 `BadDeviceToken` / `DeviceTokenNotForTopic` and
//!   410 `Unregistered` / `ExpiredToken`: the token is dead, dropped; 403
//!   `ExpiredProviderToken` / `InvalidProviderToken`: signed anew and sent once more; 413
//!   `PayloadTooLarge`: given up, reported; 429 `TooManyRequests`, 500, 503: retried with
//!   backoff; anything else counted towards dropping.

use super::PushError;
use crate::config::{ApnsConfig, secret_from_env};
use crate::store::PushKind;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use paaf_core::intent::relay_client::{IntentNotice, PushEndpoint};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The notification category the paaf iOS app registers, with its "Open in paaf" action.
pub const CATEGORY: &str = "PAAF_INTENT";
/// A provider token is signed anew after this (Apple: between 20 and 60 minutes).
const TOKEN_REFRESH: Duration = Duration::from_secs(40 * 60);
/// APNs' largest payload for an alert.
const MAX_PAYLOAD: usize = 4096;

/// The APNs sender: the team's signing key, never shown by `Debug`.
pub struct Apns {
    key_id: String,
    team_id: String,
    topic: String,
    api_url: String,
    signer: EncodingKey,
    /// HTTP/2 only.
    http: reqwest::Client,
    /// The provider token and when it was signed.
    token: Mutex<Option<(SecretString, Instant)>>,
}

impl std::fmt::Debug for Apns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Apns")
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("topic", &self.topic)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

/// Whether `token` looks like an APNs device token: the core's rule, which the device
/// already applied when pairing.
pub fn check_device_token(token: &str) -> Result<(), String> {
    PushEndpoint::check_apns_token(token).map_err(String::from)
}

impl Apns {
    /// The sender of the .p8 key in `config.key_env`; errors never quote it.
    pub fn new(config: &ApnsConfig) -> Result<Apns, String> {
        let env = &config.key_env;
        let (signer, _) = super::es256_key(&secret_from_env(env)?).ok_or_else(|| {
            format!("{env}: not an APNs signing key (the .p8 file: a P-256 private key in PEM)")
        })?;
        let http = reqwest::Client::builder()
            .http2_prior_knowledge()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot make an HTTP/2 client: {e}"))?;
        Ok(Apns {
            key_id: config.key_id.clone(),
            team_id: config.team_id.clone(),
            topic: config.topic.clone(),
            api_url: config.api_url.trim_end_matches('/').to_string(),
            signer,
            http,
            token: Mutex::new(None),
        })
    }

    /// The provider token: the cached one until `TOKEN_REFRESH`, or a new one when `renew`.
    async fn provider_token(&self, renew: bool) -> Result<SecretString, PushError> {
        let mut cached = self.token.lock().await;
        if !renew
            && let Some((token, signed)) = &*cached
            && signed.elapsed() < TOKEN_REFRESH
        {
            return Ok(token.clone());
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = json!({"iss": self.team_id, "iat": chrono::Utc::now().timestamp()});
        let token = jsonwebtoken::encode(&header, &claims, &self.signer)
            .map_err(|e| format!("cannot sign the APNs provider token: {e}"))?;
        let token = SecretString::from(token);
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    pub async fn send(
        &self,
        device_token: &str,
        notice: &IntentNotice,
        kind: PushKind,
    ) -> Result<(), PushError> {
        check_device_token(device_token)?;
        let (payload, priority) = match kind {
            PushKind::Notify => (
                json!({
                    "aps": {
                        "alert": {
                            "title": format!("{} firing", notice.alert),
                            "body": format!(
                                "Playbook {}: {} {}. Tap to confirm in paaf.",
                                notice.playbook, notice.kind, notice.target
                            ),
                        },
                        "category": CATEGORY,
                        "mutable-content": 1,
                        "sound": "default",
                        "thread-id": notice.alert,
                    },
                    "type": "intent",
                    "intent_id": notice.id,
                    "url": notice.url,
                    "expires_at_ms": notice.expires_at_ms,
                }),
                "10",
            ),
            PushKind::Withdraw => (
                json!({
                    "aps": {
                        "alert": {
                            "title": format!("{} resolved", notice.alert),
                            "body": format!(
                                "No action needed: the alert resolved ({} {} withdrawn).",
                                notice.kind, notice.target
                            ),
                        },
                        "thread-id": notice.alert,
                    },
                    "type": "withdraw",
                    "intent_id": notice.id,
                }),
                "5",
            ),
        };
        let payload = payload.to_string();
        if payload.len() > MAX_PAYLOAD {
            return Err(PushError::Rejected(format!(
                "the APNs payload is {} bytes, more than APNs' {MAX_PAYLOAD}",
                payload.len()
            )));
        }
        let expiration = match kind {
            PushKind::Notify => notice.expires_at_ms / 1000,
            PushKind::Withdraw => chrono::Utc::now().timestamp() + 24 * 3600,
        };
        let mut renewed = false;
        loop {
            let token = self.provider_token(renewed).await?;
            let response = self
                .http
                .post(format!("{}/3/device/{device_token}", self.api_url))
                .bearer_auth(token.expose_secret())
                .header("apns-topic", &self.topic)
                .header("apns-push-type", "alert")
                .header("apns-priority", priority)
                .header("apns-expiration", expiration.to_string())
                .header("apns-collapse-id", collapse_id(&notice.id))
                .header("content-type", "application/json")
                .body(payload.clone())
                .send()
                .await
                .map_err(|e| format!("APNs did not answer: {}", e.without_url()))?;
            let status = response.status().as_u16();
            if status == 200 {
                return Ok(());
            }
            let apns_id = response
                .headers()
                .get("apns-id")
                .and_then(|v| v.to_str().ok())
                .map(|id| format!(", apns-id {id}"))
                .unwrap_or_default();
            let reason = serde_json::from_str::<Reason>(&response.text().await.unwrap_or_default())
                .map(|r| r.reason.chars().take(64).collect())
                .unwrap_or_else(|_| "an answer that is not APNs'".to_string());
            let said = format!("APNs answered HTTP {status}: {reason}{apns_id}");
            if status == 403
                && matches!(
                    reason.as_str(),
                    "ExpiredProviderToken" | "InvalidProviderToken"
                )
                && !renewed
            {
                renewed = true;
                continue;
            }
            return Err(match (status, reason.as_str()) {
                (400, "BadDeviceToken" | "DeviceTokenNotForTopic") | (410, _) => {
                    PushError::Gone(said)
                }
                (413, _) => PushError::Rejected(said),
                _ => PushError::Failed(said),
            });
        }
    }
}

#[derive(Deserialize)]
struct Reason {
    reason: String,
}

/// `apns-collapse-id`: the intent id, cut to APNs' 64 bytes.
fn collapse_id(intent_id: &str) -> String {
    let mut id = String::new();
    for c in intent_id.chars() {
        if id.len() + c.len_utf8() > 64 {
            break;
        }
        id.push(c);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_tokens_are_hex() {
        assert!(check_device_token(&"a1".repeat(32)).is_ok());
        for bad in ["", "zz", "../../x", &"a".repeat(201)] {
            assert!(check_device_token(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_collapse_id_is_at_most_64_bytes() {
        assert_eq!(collapse_id("abc"), "abc");
        assert_eq!(collapse_id(&"é".repeat(40)).len(), 64);
    }

    /// An APNs sender with a fixed key, its provider token `cached` signed at `signed`.
    fn apns(cached: &str, signed: Instant) -> (Apns, String) {
        let secret = p256::SecretKey::from_slice(&[5u8; 32]).unwrap();
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let (signer, _) = super::super::es256_key(&pem).unwrap();
        let apns = Apns {
            key_id: "ABC123DEFG".into(),
            team_id: "DEF123GHIJ".into(),
            topic: "org.paaf.app".into(),
            api_url: "https://api.push.apple.com".into(),
            signer,
            http: reqwest::Client::new(),
            token: Mutex::new(Some((SecretString::from(cached.to_string()), signed))),
        };
        (apns, pem)
    }

    #[test]
    fn the_provider_token_is_kept_40_minutes_and_signed_anew_when_asked() {
        let minutes_ago = |m: u64| Instant::now().checked_sub(Duration::from_secs(m * 60));
        let (Some(ten), Some(forty_one)) = (minutes_ago(10), minutes_ago(41)) else {
            return; // the monotonic clock started less than 41 minutes ago
        };
        let token = |apns: &Apns, renew| {
            let token = futures::executor::block_on(apns.provider_token(renew)).unwrap();
            token.expose_secret().to_string()
        };
        let (recent, _) = apns("eyJ.cached", ten);
        assert_eq!(token(&recent, false), "eyJ.cached");
        let fresh = token(&recent, true);
        assert_ne!(fresh, "eyJ.cached", "a 403 asks for a new one");
        assert_eq!(token(&recent, false), fresh, "and it is kept");
        let (old, _) = apns("eyJ.cached", forty_one);
        assert_ne!(token(&old, false), "eyJ.cached");
    }

    #[test]
    fn the_signing_key_never_shows_in_debug_output() {
        let (apns, pem) = apns("eyJ.token", Instant::now());
        let shown = format!("{apns:?}");
        assert!(!shown.contains(pem.lines().nth(1).unwrap()), "{shown}");
        assert!(!shown.contains("eyJ.token"), "{shown}");
    }
}
