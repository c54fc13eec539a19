//! The one way paaf follows something a provider is doing until it ends: a DigitalOcean
//! action, a Hetzner action, a GCP zone operation, an Azure async operation, an OVHcloud
//! task, a Proxmox task, a Kubernetes rollout, and a server's state ([`super::poll_until`]).
//!
//! A provider hands [`follow_operation`] one closure that reads the thing once and says what
//! it saw ([`Polled`]); the follower does the rest, the same way for all:
//! - it reads at once, then every [`PollSettings::interval`], or later when the answer asked
//!   for it (`Retry-After`);
//! - a read refused with 429 ([`Polled::Throttled`]) is read again after its `Retry-After`
//!   (or a growing backoff when it gives none), if that fits in the time left; otherwise
//!   the wait ends with the rate-limited error;
//! - every read goes to `observe` (progress), the final one included;
//! - it ends with the final reading, or a typed error: the read's own error, `cancelled`
//!   (checked before each read, and while reading and sleeping), or a `timeout` naming what
//!   was followed, where it still was and the [`Phase`] it was in.
//!
//! ```ignore
//! let follow = wait.follow(format!("action {id} of server {server}"), action.phase());
//! follow_json(&self.api, &format!("actions/{id}"), &doing, &follow, |a: Action, wait| {
//!     Ok(match a.status.as_str() {
//!         "success" => Polled::Done(()),
//!         "error" => return Err(failed(&self.api, 200, &format!("{} failed", follow.label))),
//!         other => Polled::pending((), format!("still {other}"), wait),
//!     })
//! })
//! .await?;
//! ```

use super::PollSettings;
use crate::error::{Error, ErrorCode, Phase, Result};
use crate::events::CancellationToken;
use crate::http::oauth::TokenApi;
use crate::http::{Doing, Request, Response, Service, Throttled, retry_after};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::time::{Duration, Instant};

/// What one read of a followed thing saw.
#[derive(Debug)]
pub enum Polled<T> {
    /// It reached its final state: the follow ends with this reading.
    Done(T),
    /// Not yet. `still` says where it is (`still running`), named if the wait times out;
    /// `retry_after` is how long the answer asked to wait before the next read.
    Pending {
        now: T,
        still: String,
        retry_after: Option<Duration>,
    },
    /// The read was refused with 429 ([`crate::http::Service::poll`]).
    Throttled(Throttled),
}

impl<T> Polled<T> {
    /// Not done yet: `now` is the reading, `still` where it is.
    pub fn pending(now: T, still: impl Into<String>, retry_after: Option<Duration>) -> Polled<T> {
        Polled::Pending {
            now,
            still: still.into(),
            retry_after,
        }
    }
}

/// What an operation is read through: a [`Service`], or a `TokenApi` (a service reached
/// with OAuth access tokens, `crate::http::oauth`).
pub trait OperationApi: Sync {
    /// The API's name in messages.
    fn api_name(&self) -> &str;

    /// [`Service::poll`] of `request`.
    fn poll_operation(
        &self,
        request: Request,
        doing: &Doing,
    ) -> impl Future<Output = Result<std::result::Result<Response, Throttled>>> + Send;
}

/// Both read an operation with their own `poll`.
macro_rules! operation_api {
    ($($api:ty),*) => {$(
        impl OperationApi for $api {
            fn api_name(&self) -> &str {
                self.name()
            }

            fn poll_operation(
                &self,
                request: Request,
                doing: &Doing,
            ) -> impl Future<Output = Result<std::result::Result<Response, Throttled>>> + Send {
                self.poll(request, doing)
            }
        }
    )*};
}

operation_api!(Service, TokenApi);

/// Follows an operation read with a GET of `path` through `api` ([`Service::poll`]), each
/// answer given to `judge` with the `Retry-After` it asked for, until `judge` says it ended:
/// the whole [`super::CloudProvider::settle`] of a provider once it has named what it
/// follows ([`Follow`]). A read refused with 429 is waited out as [`Polled::Throttled`] is.
pub async fn follow_answers(
    api: &impl OperationApi,
    path: &str,
    doing: &Doing,
    follow: &Follow<'_>,
    judge: impl Fn(Response, Option<Duration>) -> Result<Polled<()>>,
) -> Result<()> {
    let read = || async {
        let response = match api.poll_operation(Request::get(path), doing).await? {
            Ok(response) => response,
            Err(throttled) => return Ok(Polled::Throttled(throttled)),
        };
        let wait = retry_after(&response.headers);
        judge(response, wait)
    };
    follow_operation(follow, read, |_| {}).await.map(drop)
}

/// [`follow_answers`] of an operation whose every answer is its JSON, decoded as `T`.
pub async fn follow_json<T: DeserializeOwned>(
    api: &impl OperationApi,
    path: &str,
    doing: &Doing,
    follow: &Follow<'_>,
    judge: impl Fn(T, Option<Duration>) -> Result<Polled<()>>,
) -> Result<()> {
    let name = api.api_name();
    follow_answers(api, path, doing, follow, |r, wait| {
        judge(r.json(name)?, wait)
    })
    .await
}

/// The error of an operation of `api` that ended in failure, answered with `status`:
/// `service-failed`, with `message` (what failed, what to do), redacted.
pub fn failed(api: &Service, status: u16, message: &str) -> Error {
    Error::Service {
        service: api.name().to_string(),
        code: ErrorCode::ServiceFailed,
        status,
        message: api.redact(message),
    }
}

/// How a provider's operation is waited for ([`super::CloudProvider::settle`]): within
/// `settings`, until `cancel` fires.
#[derive(Debug, Clone, Copy)]
pub struct Wait<'a> {
    pub settings: PollSettings,
    pub cancel: &'a CancellationToken,
}

impl<'a> Wait<'a> {
    /// The follow of what `label` names, whose timeout is in `phase`.
    pub fn follow(self, label: impl Into<String>, phase: Phase) -> Follow<'a> {
        Follow::new(label, phase, self.settings, self.cancel)
    }
}

/// What is followed, and for how long.
#[derive(Debug, Clone)]
pub struct Follow<'a> {
    /// Names it in messages: `action 13 (stop) of server 42 (hetzner "prod")`.
    pub label: String,
    /// The phase a timeout names ([`super::PowerAction::phase`]).
    pub phase: Phase,
    pub settings: PollSettings,
    pub cancel: &'a CancellationToken,
}

impl<'a> Follow<'a> {
    pub fn new(
        label: impl Into<String>,
        phase: Phase,
        settings: PollSettings,
        cancel: &'a CancellationToken,
    ) -> Follow<'a> {
        Follow {
            label: label.into(),
            phase,
            settings,
            cancel,
        }
    }

    fn cancelled(&self) -> Error {
        Error::Cancelled {
            what: format!("waiting for {}", self.label),
        }
    }
}

/// The final reading of a followed thing.
#[derive(Debug)]
pub struct Followed<T> {
    pub last: T,
    /// How many reads it took, the last one included.
    pub reads: u32,
    pub elapsed: Duration,
}

/// Reads with `read` until it says [`Polled::Done`], as the module documentation says;
/// `observe` sees every reading.
pub async fn follow_operation<T, F, Fut>(
    follow: &Follow<'_>,
    mut read: F,
    mut observe: impl FnMut(&T),
) -> Result<Followed<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Polled<T>>>,
{
    let started = Instant::now();
    let PollSettings { interval, timeout } = follow.settings;
    let mut reads = 0u32;
    let mut throttled = 0u32;
    loop {
        if follow.cancel.is_cancelled() {
            return Err(follow.cancelled());
        }
        let polled = tokio::select! {
            polled = read() => polled?,
            _ = follow.cancel.cancelled() => return Err(follow.cancelled()),
        };
        reads += 1;
        let fits = |wait: Duration| started.elapsed().saturating_add(wait) <= timeout;
        let (wait, still) = match polled {
            Polled::Done(last) => {
                observe(&last);
                return Ok(Followed {
                    last,
                    reads,
                    elapsed: started.elapsed(),
                });
            }
            Polled::Pending {
                now,
                still,
                retry_after,
            } => {
                observe(&now);
                (
                    retry_after.map_or(interval, |asked| asked.max(interval)),
                    still,
                )
            }
            Polled::Throttled(refused) => {
                throttled += 1;
                let wait = refused
                    .retry_after
                    .unwrap_or_else(|| interval.saturating_mul(1 << throttled.min(6)));
                if !fits(wait) {
                    return Err(refused.error);
                }
                (wait, String::new())
            }
        };
        if !fits(wait) {
            return Err(Error::Timeout {
                host: format!("{} ({still})", follow.label),
                phase: follow.phase,
                after: timeout,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = follow.cancel.cancelled() => return Err(follow.cancelled()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use std::sync::Mutex;

    fn settings(interval_ms: u64, timeout_ms: u64) -> PollSettings {
        PollSettings {
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[tokio::test]
    async fn reads_until_done_and_observes_every_reading() {
        let answers = Mutex::new(vec![
            Polled::pending(1, "still 1", None),
            Polled::pending(2, "still 2", Some(Duration::from_millis(30))),
            Polled::Done(3),
        ]);
        let cancel = CancellationToken::new();
        let follow = Follow::new("op 7", Phase::Boot, settings(5, 2000), &cancel);
        let mut seen = Vec::new();
        let started = Instant::now();
        let done = follow_operation(
            &follow,
            || {
                let next = answers.lock().unwrap().remove(0);
                async move { Ok(next) }
            },
            |n| seen.push(*n),
        )
        .await
        .unwrap();
        assert_eq!((done.last, done.reads), (3, 3));
        assert_eq!(seen, vec![1, 2, 3]);
        assert!(
            started.elapsed() >= Duration::from_millis(35),
            "Retry-After honoured"
        );
    }

    /// A `Retry-After` of 2^64 - 1 seconds (a hostile or broken server) ends the wait with a
    /// timeout; adding it to the time waited once overflowed.
    #[tokio::test]
    async fn a_huge_retry_after_times_out_instead_of_overflowing() {
        let cancel = CancellationToken::new();
        let follow = Follow::new("op 9", Phase::Shutdown, settings(5, 100), &cancel);
        let e = follow_operation(
            &follow,
            || async { Ok(Polled::pending((), "still running", Some(Duration::MAX))) },
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Timeout);
        assert!(e.to_string().contains("op 9 (still running)"), "{e}");
        assert!(e.to_string().contains("shutdown"), "{e}");
    }

    #[tokio::test]
    async fn cancelling_ends_the_wait_even_mid_sleep() {
        let cancel = CancellationToken::new();
        let follow = Follow::new("op", Phase::Boot, settings(10_000, 60_000), &cancel);
        let stop = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            stop.cancel();
        });
        let started = Instant::now();
        let e = follow_operation(
            &follow,
            || async { Ok(Polled::pending((), "still running", None)) },
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Cancelled);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
