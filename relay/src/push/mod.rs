//! Pushes to the devices' own endpoints (besides their event streams), retried with backoff:
//! a push that fails is tried again after `retry_base_ms`, doubling up to `retry_max_ms`; an
//! endpoint the service says is gone (FCM `UNREGISTERED`), or that failed `max_failures` times
//! in a row, is dropped
//! (shown at `/metrics`, `GET /device` and `paaf relay status`) and pushed to no more.
//!
//! When the alert resolves, each channel withdraws what it showed:
//! - ntfy: a message with the same `sequence_id`, "resolved", without buttons: ntfy ≥ 2.16
//!   replaces the notification in place, older servers show it as a follow-up.
//! - FCM: a data message `{"type": "withdraw", "intent_id"}` with the same collapse key: the
//!   app's handler cancels the notification it showed for that intent.

mod fcm;
mod ntfy;

/// Why a push did not go through.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// Tried again later (no answer, 429, 5xx), counted towards dropping the endpoint.
    Failed(String),
    /// The service says the endpoint no longer exists: dropped at once.
    Gone(String),
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
use paaf_core::intent::relay_client::PushEndpoint;
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
                Some(_) if token.is_empty() || token.len() > 4096 => {
                    Err("an FCM registration token is 1 to 4096 characters".into())
                }
                Some(_) => Ok(()),
                None => Err("this relay has no [delivery.fcm] configured".into()),
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

/// Sends the pushes due, for as long as the relay runs; woken by new intents and withdrawals.
pub async fn run(app: Arc<App>) {
    loop {
        let now = crate::server::now_ms();
        let due = match app.db(move |s| s.due_pushes(now, 256)).await {
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
        let wait = match app.db(|s| s.next_push_at()).await {
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
            app.db(move |s| s.push_done(&push)).await
        }
        Err(e) => {
            metrics.pushes_failed.fetch_add(1, Ordering::Relaxed);
            let (error, dead) = match e {
                PushError::Failed(e) => (e, false),
                PushError::Gone(e) => (e, true),
            };
            let retry_at = crate::server::now_ms() + app.pushers.retry_delay_ms(push.attempts);
            let max = app.pushers.max_failures;
            let device = push.device_id.clone();
            let what = match push.kind {
                PushKind::Notify => "notification",
                PushKind::Withdraw => "withdrawal",
            };
            tracing::warn!(device = %device, channel, "{what} push failed: {error}");
            let dropped = app
                .db(move |s| s.push_failed(&push, &error, dead, retry_at, max))
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
}
