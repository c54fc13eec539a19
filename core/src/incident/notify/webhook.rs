//! paaf's generic webhook: a JSON POST of the [`Notice`](super::Notice) itself (documented in
//! the README, "Webhook payload"), for any receiver (a chat bridge, a status page, a script).
//!
//! Headers:
//! - `X-Paaf-Event`: `opened`, `phase`, `protect`, `stand-down` or `resolved`;
//! - `X-Paaf-Delivery`: the delivery's id, the same on every retry of it (deliveries are at
//!   least once: a receiver drops an id it has seen);
//! - `X-Paaf-Timestamp`: Unix seconds when this attempt was signed;
//! - `X-Paaf-Signature`: `sha256=` and the lowercase hex HMAC-SHA256, keyed with the
//!   target's `secret`, of `TIMESTAMP.BODY` (the timestamp header, a dot, the exact body
//!   bytes). A receiver recomputes it, compares in constant time, and refuses a timestamp
//!   older than it tolerates (replay). Sent only when the target has a `secret`.
//!
//! Any 2xx is success; anything else a failed attempt, retried by the outbox with backoff.

use super::NoticeEvent;
use crate::error::{Error, Result};
use crate::http::{Request, Service};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// `sha256=<hex>`: the signature of `body` sent at `timestamp` with `key`.
pub fn signature(key: &SecretString, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Posts the notice (already the body of `request`), signed when `key` is given.
pub(super) async fn post(
    service: &Service,
    request: Request,
    key: Option<&SecretString>,
    event: NoticeEvent,
    delivery: i64,
) -> Result<()> {
    let timestamp = chrono::Utc::now().timestamp();
    let mut request = request
        .header("X-Paaf-Event", event.as_str())
        .header("X-Paaf-Delivery", delivery.to_string())
        .header("X-Paaf-Timestamp", timestamp.to_string());
    if let Some(key) = key {
        // The exact bytes the client sends: reqwest writes a JSON body with serde_json too.
        let body = serde_json::to_vec(request.json.as_ref().unwrap_or(&serde_json::Value::Null))
            .map_err(|e| Error::other(format!("cannot encode the notice: {e}")))?;
        request = request.header("X-Paaf-Signature", signature(key, timestamp, &body));
    }
    service.send(request).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 ("Jefe"), with the timestamp and dot in front of the data as the
    /// signed text: "1.what do ya want for nothing?" checked against an independent HMAC
    /// (Python: hmac.new(b"Jefe", b"1.what do ya want for nothing?", "sha256").hexdigest()).
    #[test]
    fn the_signature_is_hmac_sha256_of_the_timestamp_a_dot_and_the_body() {
        let key = SecretString::from("Jefe");
        assert_eq!(
            signature(&key, 1, b"what do ya want for nothing?"),
            "sha256=a9049465ce89cfb8e9aac62333abda66f80e3403f51f57f6bae3c3a4485eca38"
        );
    }
}
