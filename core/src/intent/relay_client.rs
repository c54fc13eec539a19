//! paaf-relay's device API, as a paired device calls it.
//!
//! Endpoints (relay/src/server.rs serves them; JSON bodies):
//! - `POST /pair` `{token, device, push?, scope?}` → `{device_id, device_token, relay_key}`:
//!   the pairing token is the team's; the device token that comes back authenticates the
//!   device from then on (`Authorization: Bearer`), the relay key is pinned. `push` is where
//!   the relay pushes this device's notifications besides the stream (a [`PushEndpoint`]);
//!   `scope` the playbooks and targets it receives intents of ([`DeviceScope`], all if empty).
//! - `GET /device` → [`DeviceStatus`]: this device as the relay sees it (its push endpoint's
//!   failures, or when it was dropped as dead).
//! - `POST /unpair` → 204: the device token is revoked, nothing more is delivered to it.
//! - `GET /stream` → `text/event-stream`: `event: intent` (`id:` the delivery sequence,
//!   `data:` an [`IntentNotice`]); `Last-Event-ID` resumes after a sequence. 401 unpaired.
//! - `POST /intents/{id}/claim` → [`Claim`]: the first claimer acts, later ones learn who did
//!   and how it went.
//! - `GET /intents/{id}/claim` → `{"claim": Claim|null}`: who claimed it, if anyone, without
//!   claiming (what a confirmation screen shows before Run).
//! - `POST /intents/{id}/result` `{state, summary}` → 204: how the claimed action ended.

use crate::error::{Error, Result};
use crate::http::{HttpAuth, Limits, Request, Retry, Service, path_segment};
use eventsource_stream::{EventStreamError, Eventsource};
use futures::StreamExt;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the relay answers a pairing.
#[derive(Deserialize)]
pub struct PairAnswer {
    pub device_id: String,
    pub device_token: SecretString,
    pub relay_key: String,
}

/// Where the relay pushes a device's notifications (besides its event stream). It names an
/// address only: the relay's credentials for the push service stay in the relay's config.
/// Its addresses are capabilities (whoever holds one can push to the device), so its Debug
/// shows the channel and at most the push service's origin.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PushEndpoint {
    /// An ntfy topic URL (`https://ntfy.example.com/paaf-oncall-7f3k`) the device's ntfy app
    /// subscribes to; its buttons open `paaf://intent/...` links.
    Ntfy { url: String },
    /// A Firebase Cloud Messaging registration token of the paaf Android app.
    Fcm { token: String },
    /// A Web Push subscription (RFC 8030; a UnifiedPush distributor hands out the same): the
    /// push service's endpoint URL and the subscription's keys, base64url as
    /// `PushSubscription.toJSON()` gives them (`p256dh` its P-256 public key, `auth` its
    /// 16-byte authentication secret).
    WebPush {
        endpoint: String,
        p256dh: String,
        auth: String,
    },
    /// An APNs device token (hex) of the paaf iOS app.
    Apns { token: String },
}

impl PushEndpoint {
    /// The Web Push endpoint of a subscription, from the JSON `PushSubscription.toJSON()` (or
    /// a UnifiedPush distributor) gives: `{"endpoint": URL, "keys": {"p256dh": .., "auth": ..}}`.
    pub fn web_push_subscription(json: &str) -> Result<PushEndpoint> {
        #[derive(Deserialize)]
        struct Subscription {
            endpoint: String,
            keys: Keys,
        }
        #[derive(Deserialize)]
        struct Keys {
            p256dh: String,
            auth: String,
        }
        let bad = |why: String| Error::InvalidInput {
            message: format!(
                "not a Web Push subscription ({why}): give the JSON of PushSubscription.toJSON(), {{\"endpoint\": \"https://...\", \"keys\": {{\"p256dh\": \"...\", \"auth\": \"...\"}}}}"
            ),
        };
        // serde_json's message names the field, never the value.
        let s: Subscription = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        let url = reqwest::Url::parse(&s.endpoint)
            .ok()
            .filter(|u| u.has_host() && matches!(u.scheme(), "https" | "http"))
            .ok_or_else(|| bad("its endpoint is not an https URL".into()))?;
        let decoded = |key: &str| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key.trim_end_matches('='))
        };
        match decoded(&s.keys.p256dh) {
            Ok(k) if k.len() == 65 && k[0] == 4 => {}
            Ok(k) => {
                return Err(bad(format!(
                    "keys.p256dh is {} bytes, not an uncompressed P-256 public key (65 bytes)",
                    k.len()
                )));
            }
            Err(_) => return Err(bad("keys.p256dh is not base64url".into())),
        }
        match decoded(&s.keys.auth) {
            Ok(a) if a.len() == 16 => {}
            Ok(a) => {
                return Err(bad(format!(
                    "keys.auth is {} bytes, not the 16-byte authentication secret",
                    a.len()
                )));
            }
            Err(_) => return Err(bad("keys.auth is not base64url".into())),
        }
        Ok(PushEndpoint::WebPush {
            endpoint: url.to_string(),
            p256dh: s.keys.p256dh,
            auth: s.keys.auth,
        })
    }

    /// Whether `token` looks like an APNs device token: hex (Apple does not fix its length).
    /// The device checks it when pairing and the relay again when it accepts the pairing.
    pub fn check_apns_token(token: &str) -> std::result::Result<(), &'static str> {
        if token.is_empty() || token.len() > 200 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(
                "an APNs device token is 1 to 200 hexadecimal digits (the app's deviceToken as hex)",
            );
        }
        Ok(())
    }

    /// The APNs endpoint of the paaf iOS app's device `token` (hex digits).
    pub fn apns(token: &str) -> Result<PushEndpoint> {
        Self::check_apns_token(token).map_err(|message| Error::InvalidInput {
            message: message.into(),
        })?;
        Ok(PushEndpoint::Apns {
            token: token.to_string(),
        })
    }

    /// The channel's name (`ntfy`).
    pub fn kind(&self) -> &'static str {
        match self {
            PushEndpoint::Ntfy { .. } => "ntfy",
            PushEndpoint::Fcm { .. } => "fcm",
            PushEndpoint::WebPush { .. } => "web-push",
            PushEndpoint::Apns { .. } => "apns",
        }
    }
}

impl std::fmt::Debug for PushEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const HIDDEN: &str = "…";
        let origin = |url: &str| {
            reqwest::Url::parse(url)
                .ok()
                .filter(|u| u.has_host())
                .map(|u| format!("{}/{HIDDEN}", u.origin().ascii_serialization()))
                .unwrap_or_else(|| HIDDEN.into())
        };
        let mut shown = f.debug_struct(self.kind());
        match self {
            PushEndpoint::Ntfy { url } => shown.field("url", &origin(url)),
            PushEndpoint::WebPush { endpoint, .. } => shown
                .field("endpoint", &origin(endpoint))
                .field("p256dh", &HIDDEN)
                .field("auth", &HIDDEN),
            PushEndpoint::Fcm { .. } | PushEndpoint::Apns { .. } => shown.field("token", &HIDDEN),
        }
        .finish()
    }
}

/// Which intents a paired device receives: those of these playbooks and on these targets.
/// An empty list is no restriction (all playbooks, all targets).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct DeviceScope {
    /// Playbook names (`checkout`); empty: all.
    #[serde(default)]
    pub playbooks: Vec<String>,
    /// Targets (`web-2`, a flag `new-checkout` or `new-checkout@production`, a monitoring
    /// source); empty: all.
    #[serde(default)]
    pub targets: Vec<String>,
}

impl DeviceScope {
    /// True when it restricts nothing.
    pub fn is_all(&self) -> bool {
        self.playbooks.is_empty() && self.targets.is_empty()
    }

    /// Whether an intent of `playbook` on `target` (as [`IntentNotice::target`] names it:
    /// `new-checkout@production` for a flag) is in scope; a flag target also matches its
    /// flag's name alone.
    pub fn covers(&self, playbook: &str, target: &str) -> bool {
        let flag = target.split_once('@').map(|(flag, _)| flag);
        (self.playbooks.is_empty() || self.playbooks.iter().any(|p| p == playbook))
            && (self.targets.is_empty()
                || self
                    .targets
                    .iter()
                    .any(|t| t == target || Some(t.as_str()) == flag))
    }

    /// `playbooks checkout, db; targets all`: how `paaf relay status` says it.
    pub fn describe(&self) -> String {
        let list = |names: &[String]| match names.is_empty() {
            true => "all".to_string(),
            false => names.join(", "),
        };
        format!(
            "playbooks {}; targets {}",
            list(&self.playbooks),
            list(&self.targets)
        )
    }
}

/// This device as the relay sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeviceStatus {
    pub device_id: String,
    pub device: String,
    /// The intents it receives (set at pairing).
    #[serde(default)]
    pub scope: DeviceScope,
    /// Its push endpoint's channel, if it has one.
    pub push: Option<String>,
    /// Pushes that failed in a row.
    pub push_failures: i64,
    pub push_last_error: Option<String>,
    /// When the relay dropped the endpoint as dead: pair again to push to it.
    pub push_dropped_at: Option<String>,
}

/// An intent as the relay's stream announces it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct IntentNotice {
    pub id: String,
    /// The deep link (`paaf://intent/...`): what a notification's button opens.
    pub url: String,
    pub alert: String,
    pub playbook: String,
    pub kind: String,
    pub target: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub expires_at_ms: i64,
}

/// The relay's answer to a claim.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Claim {
    /// True: this device is the first, it acts.
    pub first: bool,
    /// The device that claimed it first.
    pub device: String,
    pub claimed_at: String,
    /// How the first claimer's action ended, once it reported.
    pub result: Option<ClaimResult>,
}

/// How a claimed action ended, as its device reported it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ClaimResult {
    pub state: String,
    pub summary: String,
}

pub(super) fn service(url: &str, token: Option<&SecretString>) -> Result<Service> {
    let auth = match token {
        Some(t) => HttpAuth::Bearer(t.clone()),
        None => HttpAuth::None,
    };
    Service::new(
        "paaf-relay",
        url,
        auth,
        Limits::with_timeout(Duration::from_secs(15)),
    )
}

/// Registers this device with the relay at `url` using the team's pairing `token`, with the
/// endpoint its notifications are pushed to, if any, and the intents it receives (`scope`).
pub async fn pair(
    url: &str,
    token: &SecretString,
    device: &str,
    push: Option<&PushEndpoint>,
    scope: &DeviceScope,
) -> Result<PairAnswer> {
    #[derive(Serialize)]
    struct Body<'a> {
        token: &'a str,
        device: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        push: Option<&'a PushEndpoint>,
        #[serde(skip_serializing_if = "DeviceScope::is_all")]
        scope: &'a DeviceScope,
    }
    let body = Body {
        token: token.expose_secret(),
        device,
        push,
        scope,
    };
    service(url, None)?
        .with_secret(token.clone())
        .get_json(Request::with_body(
            Method::POST,
            "/pair",
            &body,
            Retry::NotIdempotent,
        )?)
        .await
}

/// This device as the relay sees it (its push endpoint's health).
pub async fn status(url: &str, device_token: &SecretString) -> Result<DeviceStatus> {
    service(url, Some(device_token))?
        .get_json(Request::get("/device"))
        .await
}

/// Revokes this device's pairing at the relay.
pub async fn unpair(url: &str, device_token: &SecretString) -> Result<()> {
    service(url, Some(device_token))?
        .send(Request::post("/unpair", Retry::Idempotent))
        .await
        .map(|_| ())
}

/// Claims intent `id`: whether this device is the one to act.
pub async fn claim(url: &str, device_token: &SecretString, id: &str) -> Result<Claim> {
    let path = format!("/intents/{}/claim", path_segment(id));
    service(url, Some(device_token))?
        .get_json(Request::post(path, Retry::Idempotent))
        .await
}

/// Who claimed intent `id`, if anyone, without claiming it: `first` is true only when this
/// device claimed it and has not reported (it may act again).
pub async fn claim_status(
    url: &str,
    device_token: &SecretString,
    id: &str,
) -> Result<Option<Claim>> {
    #[derive(Deserialize)]
    struct Answer {
        claim: Option<Claim>,
    }
    let path = format!("/intents/{}/claim", path_segment(id));
    let answer: Answer = service(url, Some(device_token))?
        .get_json(Request::get(path))
        .await?;
    Ok(answer.claim)
}

/// Tells the relay how the claimed intent `id` ended.
pub async fn report(
    url: &str,
    device_token: &SecretString,
    id: &str,
    result: &ClaimResult,
) -> Result<()> {
    let path = format!("/intents/{}/result", path_segment(id));
    service(url, Some(device_token))?
        .send(Request::with_body(
            Method::POST,
            path,
            result,
            Retry::Idempotent,
        )?)
        .await
        .map(|_| ())
}

/// Follows the relay's stream of intents for this device, calling `on_intent` with each
/// (and its sequence) until it returns false or the stream ends; `after` resumes after a
/// sequence already seen.
pub async fn listen(
    url: &str,
    device_token: &SecretString,
    after: Option<&str>,
    mut on_intent: impl FnMut(&str, IntentNotice) -> bool,
) -> Result<()> {
    let endpoint = format!("{}/stream", url.trim_end_matches('/'));
    let unreachable = |e: reqwest::Error| Error::Unreachable {
        host: "paaf-relay".into(),
        address: url.to_string(),
        reason: e.without_url().to_string(),
    };
    let mut request = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Error::other(format!("cannot make an HTTP client: {e}")))?
        .get(&endpoint)
        .bearer_auth(device_token.expose_secret())
        .header("Accept", "text/event-stream");
    if let Some(after) = after {
        request = request.header("Last-Event-ID", after);
    }
    let response = request.send().await.map_err(unreachable)?;
    match response.status().as_u16() {
        200 => {}
        401 | 403 => {
            return Err(Error::IntentRefused(super::IntentRefusal::NotPaired));
        }
        status => {
            return Err(Error::Service {
                service: "paaf-relay".into(),
                code: crate::ErrorCode::ServiceFailed,
                status,
                message: format!("the stream answered HTTP {status}"),
            });
        }
    }
    let mut events = response.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| match e {
            EventStreamError::Transport(e) => unreachable(e),
            other => Error::MalformedResponse {
                what: "paaf-relay's stream".into(),
                reason: other.to_string(),
            },
        })?;
        if event.event != "intent" {
            continue;
        }
        let notice: IntentNotice =
            serde_json::from_str(&event.data).map_err(|e| Error::MalformedResponse {
                what: "paaf-relay's stream".into(),
                reason: e.to_string(),
            })?;
        if !on_intent(&event.id, notice) {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every part of an endpoint that lets someone push to the device (a topic, a capability
    /// URL's path, a registration or device token, the subscription's auth secret) stays out
    /// of Debug output, which ends up in logs and error reports.
    #[test]
    fn push_endpoints_keep_their_capabilities_out_of_debug() {
        let endpoints = [
            (
                PushEndpoint::Ntfy {
                    url: "https://ntfy.example.com/paaf-oncall-7f3k".into(),
                },
                vec!["paaf-oncall-7f3k"],
                "https://ntfy.example.com",
            ),
            (
                PushEndpoint::Fcm {
                    token: "fcm-registration-token-123".into(),
                },
                vec!["fcm-registration-token-123"],
                "fcm",
            ),
            (
                PushEndpoint::WebPush {
                    endpoint: "https://push.example.com/wpush/v2/gAAAAABsecretpath".into(),
                    p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u".into(),
                    auth: "tBHItJI5svbpez7KI4CCXg".into(),
                },
                vec!["gAAAAABsecretpath", "tBHItJI5svbpez7KI4CCXg"],
                "https://push.example.com",
            ),
            (
                PushEndpoint::Apns {
                    token: "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad"
                        .into(),
                },
                vec!["740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad"],
                "apns",
            ),
        ];
        for (endpoint, secrets, shown) in endpoints {
            let debug = format!("{endpoint:?}");
            for secret in secrets {
                assert!(!debug.contains(secret), "{secret} in {debug}");
            }
            assert!(debug.contains(shown), "{shown} not in {debug}");
            assert!(debug.contains(endpoint.kind()), "no kind in {debug}");
        }
    }

    #[test]
    fn a_web_push_subscription_is_read_from_its_json_and_bad_keys_are_refused_without_echo() {
        let auth = "tBHItJI5svbpez7KI4CCXg";
        let p256dh = format!("B{}", "A".repeat(86));
        let json = |p256dh: &str, auth: &str| {
            format!(
                r#"{{"endpoint":"https://push.example.com/wpush/v2/gAAAA","expirationTime":null,"keys":{{"p256dh":"{p256dh}","auth":"{auth}"}}}}"#
            )
        };
        let endpoint = PushEndpoint::web_push_subscription(&json(&p256dh, auth)).unwrap();
        assert_eq!(endpoint.kind(), "web-push");
        for (p256dh, auth, why) in [
            (p256dh.as_str(), "tBHItJI5svbpez7K", "keys.auth is 12 bytes"),
            (
                p256dh.as_str(),
                "tBHItJI5svbpez7KI4CC*g",
                "keys.auth is not base64url",
            ),
            ("BAAA", auth, "keys.p256dh is 3 bytes"),
        ] {
            let refused = PushEndpoint::web_push_subscription(&json(p256dh, auth))
                .unwrap_err()
                .to_string();
            assert!(refused.contains(why), "{refused}");
            assert!(!refused.contains(auth), "the secret in {refused}");
        }
        let refused = PushEndpoint::web_push_subscription(
            &json(&p256dh, auth).replace("https://push.example.com", "file://"),
        )
        .unwrap_err()
        .to_string();
        assert!(refused.contains("not an https URL"), "{refused}");
        let apns = PushEndpoint::apns("740f4707bebcf74f").unwrap();
        assert_eq!(apns.kind(), "apns");
        let refused = PushEndpoint::apns("740f-47").unwrap_err().to_string();
        assert!(refused.contains("hexadecimal"), "{refused}");
    }
}
