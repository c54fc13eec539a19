//! Pushes to the devices' own endpoints (besides their event streams), retried with backoff:
//! a push that fails is tried again after `retry_base_ms`, doubling up to `retry_max_ms` (or
//! later, when the service said when in `Retry-After`); an endpoint the service says is gone
//! (FCM `UNREGISTERED`, Web Push 404/410, APNs `Unregistered`), or that failed `max_failures`
//! times in a row, is dropped
//! (shown at `/metrics`, `GET /device` and `paaf relay status`) and pushed to no more. A push
//! the service refuses for itself (too large) is given up and reported; its endpoint is kept.
//!
//! When the alert resolves, each channel withdraws what it showed:
//! - ntfy: a message with the same `sequence_id`, "resolved", without buttons: ntfy ≥ 2.16
//!   replaces the notification in place, older servers show it as a follow-up.
//! - FCM: a data message `{"type": "withdraw", "intent_id"}` with the same collapse key: the
//!   app's handler cancels the notification it showed for that intent.
//! - Web Push: an encrypted `{"type": "withdraw", "intent_id"}` with the same `Topic`, which
//!   also replaces the notification at the push service if it was not delivered yet.
//! - APNs: a "resolved" alert without actions, with the same `apns-collapse-id`: iOS replaces
//!   the notification in place.

mod apns;
mod fcm;
mod ntfy;
mod webpush;

/// Why a push did not go through.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// Tried again later (no answer, 429, 5xx), counted towards dropping the endpoint.
    Failed(String),
    /// Like `Failed`, but the service said not to try again before `after` (`Retry-After`).
    Throttled { error: String, after: Duration },
    /// The service says the endpoint no longer exists: dropped at once.
    Gone(String),
    /// The service refuses this push itself (too large): given up and reported, the endpoint
    /// kept.
    Rejected(String),
}

impl From<String> for PushError {
    fn from(e: String) -> PushError {
        PushError::Failed(e)
    }
}

use crate::config::DeliveryConfig;
use crate::server::App;
use crate::store::{DuePush, PushKind};
use futures::StreamExt;
use paaf_core::intent::relay_client::{IntentNotice, PushEndpoint};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How many pushes are sent at once.
const CONCURRENT: usize = 16;
/// The longest sleep between two looks at the pushes due.
const IDLE: Duration = Duration::from_secs(30);

/// The channels, with their credentials read once at start.
pub struct Pushers {
    ntfy: Option<ntfy::Ntfy>,
    fcm: Option<fcm::Fcm>,
    webpush: Option<webpush::WebPush>,
    apns: Option<apns::Apns>,
    max_failures: i64,
    retry_base_ms: u64,
    retry_max_ms: u64,
}

impl Pushers {
    /// The channels configured in `config`: fails on a credential missing from the environment.
    pub fn new(config: &DeliveryConfig) -> Result<Pushers, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Pushers {
            ntfy: config
                .ntfy
                .as_ref()
                .map(|c| ntfy::Ntfy::new(c, http.clone()))
                .transpose()?,
            fcm: config
                .fcm
                .as_ref()
                .map(|c| fcm::Fcm::new(c, http.clone()))
                .transpose()?,
            webpush: config
                .webpush
                .as_ref()
                .map(|c| webpush::WebPush::new(c, http.clone()))
                .transpose()?,
            apns: config.apns.as_ref().map(apns::Apns::new).transpose()?,
            max_failures: config.max_failures.max(1) as i64,
            retry_base_ms: config.retry_base_ms.max(1),
            retry_max_ms: config.retry_max_ms.max(config.retry_base_ms),
        })
    }

    /// Whether the relay can push to `endpoint` (its channel is configured, its address allowed).
    pub fn accepts(&self, endpoint: &PushEndpoint) -> Result<(), String> {
        match endpoint {
            PushEndpoint::Ntfy { url } => match &self.ntfy {
                Some(ntfy) => ntfy.accepts(url),
                None => Err("this relay has no [delivery.ntfy] configured".into()),
            },
            PushEndpoint::Fcm { token } => match &self.fcm {
                Some(_) => fcm::check_token(token),
                None => Err("this relay has no [delivery.fcm] configured".into()),
            },
            PushEndpoint::WebPush {
                endpoint,
                p256dh,
                auth,
            } => match &self.webpush {
                Some(webpush) => webpush.accepts(endpoint, p256dh, auth),
                None => Err("this relay has no [delivery.webpush] configured".into()),
            },
            PushEndpoint::Apns { token } => match &self.apns {
                Some(_) => apns::check_device_token(token),
                None => Err("this relay has no [delivery.apns] configured".into()),
            },
        }
    }

    async fn send(&self, push: &DuePush) -> Result<(), PushError> {
        let gone = |channel: &str| PushError::Failed(format!("{channel} is no longer configured"));
        match &push.endpoint {
            PushEndpoint::Ntfy { url } => match &self.ntfy {
                Some(ntfy) => Ok(ntfy.send(url, &push.notice, push.kind).await?),
                None => Err(gone("ntfy")),
            },
            PushEndpoint::Fcm { token } => match &self.fcm {
                Some(fcm) => fcm.send(token, &push.notice, push.kind).await,
                None => Err(gone("fcm")),
            },
            PushEndpoint::WebPush {
                endpoint,
                p256dh,
                auth,
            } => match &self.webpush {
                Some(webpush) => {
                    let subscription = webpush::Subscription {
                        endpoint,
                        p256dh,
                        auth,
                    };
                    webpush.send(&subscription, &push.notice, push.kind).await
                }
                None => Err(gone("web-push")),
            },
            PushEndpoint::Apns { token } => match &self.apns {
                Some(apns) => apns.send(token, &push.notice, push.kind).await,
                None => Err(gone("apns")),
            },
        }
    }

    /// When to try again after `attempts` tries: doubling from the base, capped, with up to a
    /// fifth more at random so endpoints that failed together do not retry together.
    fn retry_delay_ms(&self, attempts: i64) -> i64 {
        let doubled = self
            .retry_base_ms
            .saturating_mul(1 << attempts.clamp(0, 20))
            .min(self.retry_max_ms);
        (doubled + rand::random_range(0..=doubled / 5)) as i64
    }
}

/// What a data-carrying push tells the app: the intent (its link, alert, action) or that it
/// was withdrawn.
fn intent_message(notice: &IntentNotice, kind: PushKind) -> serde_json::Value {
    match kind {
        PushKind::Notify => serde_json::json!({
            "type": "intent",
            "intent_id": notice.id,
            "url": notice.url,
            "alert": notice.alert,
            "playbook": notice.playbook,
            "kind": notice.kind,
            "target": notice.target,
            "expires_at_ms": notice.expires_at_ms,
        }),
        PushKind::Withdraw => serde_json::json!({"type": "withdraw", "intent_id": notice.id}),
    }
}

/// The longest `Retry-After` honoured: a service asking for more is tried again after this.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(3600);

/// The wait a `Retry-After` header asks for (RFC 9110 §10.2.3: seconds, or an HTTP date).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(RETRY_AFTER_MAX))
}

/// A P-256 private key (PEM: PKCS#8 as Apple's .p8 files, or SEC1 as `openssl ecparam
/// -genkey` writes; or the base64url 32-byte scalar `web-push generate-vapid-keys` prints) as
/// an ES256 signing key, with its public key. None when it is none of these; the key is never
/// quoted.
fn es256_key(text: &str) -> Option<(jsonwebtoken::EncodingKey, p256::PublicKey)> {
    use base64::Engine;
    use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    let text = text.trim();
    let secret = p256::SecretKey::from_pkcs8_pem(text)
        .or_else(|_| p256::SecretKey::from_sec1_pem(text))
        .ok()
        .or_else(|| {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .ok()?;
            p256::SecretKey::from_slice(&raw).ok()
        })?;
    let der = secret.to_pkcs8_der().ok()?;
    Some((
        jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
        secret.public_key(),
    ))
}

/// Sends the pushes due, for as long as the relay runs; woken by new intents and withdrawals.
pub async fn run(app: Arc<App>) {
    loop {
        let now = crate::server::now_ms();
        let due = match app.store.due_pushes(now, 256).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!("cannot read the pushes due: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let full = due.len() == 256;
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENT, |push| deliver(&app, push))
            .await;
        if full {
            continue;
        }
        let wait = match app.store.next_push_at().await {
            Ok(Some(at)) => Duration::from_millis((at - crate::server::now_ms()).max(0) as u64),
            _ => IDLE,
        };
        tokio::select! {
            _ = app.push_wake.notified() => {}
            _ = tokio::time::sleep(wait.min(IDLE)) => {}
        }
    }
}

async fn deliver(app: &App, push: DuePush) {
    let channel = push.endpoint.kind();
    let answer = app.pushers.send(&push).await;
    let metrics = &app.metrics;
    let stored = match answer {
        Ok(()) => {
            metrics.pushes_sent.fetch_add(1, Ordering::Relaxed);
            app.store.push_done(&push).await
        }
        Err(e) => {
            metrics.pushes_failed.fetch_add(1, Ordering::Relaxed);
            let mut backoff = app.pushers.retry_delay_ms(push.attempts);
            let (error, dead) = match e {
                PushError::Failed(e) => (e, false),
                PushError::Throttled { error, after } => {
                    backoff = backoff.max(after.as_millis() as i64);
                    (error, false)
                }
                PushError::Gone(e) => (e, true),
                PushError::Rejected(error) => {
                    tracing::warn!(device = %push.device_id, channel, "push given up: {error}");
                    let stored = app.store.push_rejected(&push, &error).await;
                    if let Err(e) = stored {
                        tracing::error!("cannot record a push: {e}");
                    }
                    return;
                }
            };
            let retry_at = crate::server::now_ms() + backoff;
            let max = app.pushers.max_failures;
            let device = push.device_id.clone();
            let what = match push.kind {
                PushKind::Notify => "notification",
                PushKind::Withdraw => "withdrawal",
            };
            tracing::warn!(device = %device, channel, "{what} push failed: {error}");
            let dropped = app
                .store
                .push_failed(&push, &error, dead, retry_at, max)
                .await;
            if let Ok(true) = dropped {
                metrics.endpoints_dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(device = %device, channel, "push endpoint dropped as dead");
            }
            dropped.map(|_| ())
        }
    };
    if let Err(e) = stored {
        tracing::error!("cannot record a push: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_the_base_up_to_the_cap() {
        let pushers = Pushers::new(&DeliveryConfig {
            retry_base_ms: 1000,
            retry_max_ms: 10_000,
            ..DeliveryConfig::default()
        })
        .unwrap();
        for (attempts, base) in [(0, 1000), (1, 2000), (3, 8000), (4, 10_000), (60, 10_000)] {
            let delay = pushers.retry_delay_ms(attempts);
            assert!(
                (base..=base + base / 5).contains(&delay),
                "{attempts}: {delay}"
            );
        }
    }

    #[test]
    fn retry_after_is_seconds_or_a_date_capped_at_an_hour() {
        let with = |value: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert("retry-after", value.parse().unwrap());
            retry_after(&headers)
        };
        assert_eq!(with("120"), Some(Duration::from_secs(120)));
        assert_eq!(with("999999"), Some(RETRY_AFTER_MAX));
        assert_eq!(
            with("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date past is now"
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        let wait = with(&soon).unwrap();
        assert!((85..=90).contains(&wait.as_secs()), "{wait:?}");
        assert_eq!(with("soon"), None);
        assert_eq!(retry_after(&reqwest::header::HeaderMap::new()), None);
    }

    #[test]
    fn es256_keys_are_read_as_pkcs8_sec1_or_raw_base64url() {
        let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        let pkcs8 = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let sec1 = secret.to_sec1_pem(LineEnding::LF).unwrap();
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
        for text in [pkcs8.as_str(), sec1.as_str(), raw.as_str()] {
            let (_, public) = es256_key(text).expect(text);
            assert_eq!(public, secret.public_key());
        }
        assert!(es256_key("not a key").is_none());
        assert!(
            es256_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_none()
        );
    }
}
