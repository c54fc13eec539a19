//! Web Push (and UnifiedPush, whose distributors take the same requests): the intent, encrypted
//! for the subscription, posted to its push service as this relay's VAPID identity.
//! - Delivery: RFC 8030 <https://www.rfc-editor.org/rfc/rfc8030#section-5> (`POST` the
//!   subscription's endpoint; `TTL` seconds the service keeps it (§5.2), `Urgency` (§5.3),
//!   `Topic` (§5.4: a later message with the same topic replaces one not delivered yet);
//!   `201 Created` when accepted).
//! - Encryption: RFC 8291 <https://www.rfc-editor.org/rfc/rfc8291> over RFC 8188 aes128gcm
//!   (`Content-Encoding: aes128gcm`), one record of at most 4096 bytes (§4), so at most 3993
//!   bytes of plaintext; done by Mozilla's `ece` crate (Firefox's own).
//! - VAPID: RFC 8292 <https://www.rfc-editor.org/rfc/rfc8292#section-3> (`Authorization: vapid
//!   t=JWT, k=PUBLIC_KEY`: an ES256 JWT `{aud: the endpoint's origin, exp: at most 24 h ahead,
//!   sub: a mailto: or https: contact}`, `k` the uncompressed P-256 public key, base64url).
//! - Errors (RFC 8030 §5, Mozilla's <https://autopush.readthedocs.io/en/latest/http.html#error-codes>,
//!   <https://web.dev/articles/push-notifications-web-push-protocol#response_from_push_service>):
//!   404 / 410 the subscription expired or was removed (dropped at once); 413 the payload is too
//!   large (this push given up, reported); 429 too many requests, `Retry-After` honoured;
//!   400 / 401 / 403 a request or VAPID problem, 5xx the service's: retried, counted towards
//!   dropping.

use super::PushError;
use crate::config::{WebPushConfig, secret_from_env};
use crate::store::PushKind;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use paaf_core::intent::relay_client::IntentNotice;
use reqwest::Url;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The largest plaintext one 4096-byte aes128gcm record carries (RFC 8291 §4: 4096 less the
/// 86-byte header, the 16-byte tag and the padding delimiter).
const MAX_PLAINTEXT: usize = 3993;
/// How long a VAPID JWT is valid: RFC 8292 §2 allows at most 24 hours.
const JWT_SECS: i64 = 12 * 3600;
/// How long the push service keeps a withdrawal for an offline device.
const WITHDRAW_TTL_SECS: i64 = 24 * 3600;

/// The Web Push sender: the VAPID signing key, never shown by `Debug`.
pub struct WebPush {
    /// The allowed push services' origins (`https://push.example.com`).
    services: Vec<String>,
    subject: String,
    signer: EncodingKey,
    /// `k`: the VAPID public key, uncompressed, base64url.
    public_key: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for WebPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebPush")
            .field("services", &self.services)
            .field("subject", &self.subject)
            .field("public_key", &self.public_key)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

/// A device's push subscription, as it paired.
pub struct Subscription<'a> {
    pub endpoint: &'a str,
    pub p256dh: &'a str,
    pub auth: &'a str,
}

/// The subscription's keys: its P-256 public key (uncompressed point) and auth secret.
fn subscription_keys(p256dh: &str, auth: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s.trim_end_matches('='));
    let public = decode(p256dh)
        .ok()
        .filter(|k| k.len() == 65 && p256::PublicKey::from_sec1_bytes(k).is_ok())
        .ok_or(
            "a Web Push p256dh is the subscription's uncompressed P-256 public key, base64url",
        )?;
    let auth = decode(auth)
        .ok()
        .filter(|a| a.len() == 16)
        .ok_or("a Web Push auth is the subscription's 16-byte secret, base64url")?;
    Ok((public, auth))
}

impl WebPush {
    /// The sender of the VAPID key in `config.vapid_key_env`; errors never quote it.
    pub fn new(config: &WebPushConfig, http: reqwest::Client) -> Result<WebPush, String> {
        let env = &config.vapid_key_env;
        let (signer, public) = super::es256_key(&secret_from_env(env)?).ok_or_else(|| {
            format!(
                "{env}: not a P-256 private key (PEM, or base64url as `web-push generate-vapid-keys` prints)"
            )
        })?;
        if !(config.subject.starts_with("mailto:") || config.subject.starts_with("https://")) {
            return Err(format!(
                "[delivery.webpush] subject {:?}: a mailto: address or an https: URL (RFC 8292 §2.1)",
                config.subject
            ));
        }
        let services = config
            .push_services
            .iter()
            .map(|s| match Url::parse(s) {
                Ok(url) if url.has_host() => Ok(url.origin().ascii_serialization()),
                _ => Err(format!(
                    "[delivery.webpush] push_services: {s:?} is not an origin (https://push.example.com)"
                )),
            })
            .collect::<Result<_, _>>()?;
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        Ok(WebPush {
            services,
            subject: config.subject.clone(),
            signer,
            public_key: URL_SAFE_NO_PAD.encode(public.to_encoded_point(false).as_bytes()),
            http,
        })
    }

    /// The endpoint's origin, when it is one of the allowed push services.
    fn origin(&self, endpoint: &str) -> Result<(Url, String), String> {
        let url = Url::parse(endpoint)
            .map_err(|_| "a Web Push endpoint is the subscription's URL".to_string())?;
        let origin = url.origin().ascii_serialization();
        if !url.has_host() || !self.services.contains(&origin) {
            return Err(format!(
                "this relay does not post to the push service {origin}: it posts to {}",
                self.services.join(", ")
            ));
        }
        Ok((url, origin))
    }

    pub fn accepts(&self, endpoint: &str, p256dh: &str, auth: &str) -> Result<(), String> {
        self.origin(endpoint)?;
        subscription_keys(p256dh, auth).map(|_| ())
    }

    /// `Authorization: vapid t=..., k=...` for a push service at `origin`.
    fn vapid(&self, origin: &str) -> Result<String, String> {
        let claims = json!({
            "aud": origin,
            "exp": chrono::Utc::now().timestamp() + JWT_SECS,
            "sub": self.subject,
        });
        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.signer)
            .map_err(|e| format!("cannot sign the VAPID token: {e}"))?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }

    pub async fn send(
        &self,
        subscription: &Subscription<'_>,
        notice: &IntentNotice,
        kind: PushKind,
    ) -> Result<(), PushError> {
        let (url, origin) = self.origin(subscription.endpoint)?;
        let (public, auth) = subscription_keys(subscription.p256dh, subscription.auth)?;
        let now_secs = chrono::Utc::now().timestamp();
        let (ttl, urgency) = match kind {
            PushKind::Notify => ((notice.expires_at_ms / 1000 - now_secs).max(0), "high"),
            PushKind::Withdraw => (WITHDRAW_TTL_SECS, "normal"),
        };
        let plaintext = super::intent_message(notice, kind).to_string();
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(PushError::Rejected(format!(
                "the Web Push message is {} bytes, more than the {MAX_PLAINTEXT} one record carries",
                plaintext.len()
            )));
        }
        let body = ece::encrypt(&public, &auth, plaintext.as_bytes())
            .map_err(|e| format!("cannot encrypt for the subscription: {e}"))?;
        // RFC 8030 §5.4: a topic is at most 32 base64url characters.
        let topic = URL_SAFE_NO_PAD.encode(&Sha256::digest(notice.id.as_bytes())[..24]);
        let response = self
            .http
            .post(url)
            .header("ttl", ttl.to_string())
            .header("urgency", urgency)
            .header("topic", topic)
            .header("content-encoding", "aes128gcm")
            .header("content-type", "application/octet-stream")
            .header("authorization", self.vapid(&origin)?)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("the push service did not answer: {}", e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let after = super::retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        let said: String = text.chars().take(200).collect();
        let said = format!(
            "the push service {origin} answered HTTP {}: {}",
            status.as_u16(),
            said.trim()
        );
        Err(match (status.as_u16(), after) {
            (404 | 410, _) => PushError::Gone(said),
            (413, _) => PushError::Rejected(said),
            (429 | 503, Some(after)) => PushError::Throttled { error: said, after },
            _ => PushError::Failed(said),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAPID: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMBXHZWWvkbDVLgVD\n9u9Jmkoj6IgvjuDzSgeaadF8knKhRANCAASkVLHs1GTddyMO85mftqijN7EzbwWc\nM+/QBjj/oqDNRdv7298cmMWociX/1fvZ7h7m7iai8aJfi8MW1/U2+GrH\n-----END PRIVATE KEY-----\n";

    fn webpush() -> WebPush {
        let (signer, _) = super::super::es256_key(VAPID).unwrap();
        WebPush {
            services: vec!["https://push.example.com".into()],
            subject: "mailto:oncall@example.com".into(),
            signer,
            public_key: "k".into(),
            http: reqwest::Client::new(),
        }
    }

    #[test]
    fn only_subscriptions_on_the_allowed_services_with_real_keys_are_accepted() {
        let w = webpush();
        let secret = p256::SecretKey::from_slice(&[9u8; 32]).unwrap();
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let p256dh = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false));
        let auth = URL_SAFE_NO_PAD.encode([1u8; 16]);
        let ok = "https://push.example.com/wpush/v2/gAAAAABk";
        assert!(w.accepts(ok, &p256dh, &auth).is_ok());
        for bad in [
            "https://push.example.com.evil.com/x",
            "https://push.example.com:8443/x",
            "http://push.example.com/x",
            "push.example.com/x",
        ] {
            assert!(w.accepts(bad, &p256dh, &auth).is_err(), "{bad}");
        }
        assert!(w.accepts(ok, "AAAA", &auth).is_err());
        assert!(w.accepts(ok, &p256dh, "AAAA").is_err());
        let off_curve = URL_SAFE_NO_PAD.encode([4u8; 65]);
        assert!(w.accepts(ok, &off_curve, &auth).is_err());
    }

    #[test]
    fn the_vapid_key_never_shows_in_debug_output() {
        let shown = format!("{:?}", webpush());
        let key_line = VAPID.lines().nth(1).unwrap();
        assert!(!shown.contains(key_line), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
