//! The one failure policy of every HTTP service: what a failed answer means.
//!
//! [`Service::failure_error`] decides, the same way for every provider:
//! - the kind of failure from the HTTP status (401 `auth-failed`, 403 `permission-denied`,
//!   404 `not-found`, 409/412 `conflict`, 429 `rate-limited`, 5xx and the rest
//!   `service-failed`), unless the provider's [`Vendor`] knows better from its own error code
//!   (Hetzner's `locked` is a conflict whatever the status);
//! - a request that is not idempotent ([`Retry::NotIdempotent`]) answered with a 5xx the vendor
//!   does not explain is `outcome-unknown`: it may have taken effect, and it was not retried.
//!   (A timeout or a connection lost after sending is decided the same way where it happens,
//!   in the [`Service`] itself; a 429 was refused unprocessed, so it never is.);
//! - a `not-found` about a thing the request names ([`Doing::missing`]) is
//!   [`Error::NotFound`] naming that thing;
//! - the message: what the request was [`Doing`], the status, the vendor's own words
//!   ([`Vendor::said`], or the first bytes of the body), the `Retry-After` asked for, and a
//!   hint that says what to do ([`Vendor::hint`], or the generic one of the kind). Every byte
//!   of it has been through [`Service::redact`].
//!
//! A provider adds only what its vendor documents: how its error body reads, what its codes
//! mean, the remedies in its words. Malformed bodies (`malformed-response`), oversize ones
//! (`response-too-large`) and transport failures are decided in [`Service`] too.

use super::{Response, Retry, Service, retry_after};
use crate::error::{Error, ErrorCode};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use std::fmt;

/// How much of a body or a vendor's message goes into an error message.
pub(super) const BODY_IN_ERRORS: usize = 300;

/// A failed HTTP status, as the failure policy (and a provider that reads a structured error
/// body) sees it.
#[derive(Debug, Clone)]
pub struct HttpFailure {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body, redacted and cut to a few hundred bytes, for the message.
    pub body: String,
    /// The whole body (within the size limit), redacted, for providers that read a
    /// structured error (Grafana's per-query results on a 400, a vendor's error codes).
    pub full_body: String,
}

impl HttpFailure {
    /// The whole body decoded as `T`, when it is that JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(&self.full_body).ok()
    }
}

/// What a vendor's error body says: its error code (`not_found`, `locked`), when it has one,
/// and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub code: Option<String>,
    pub message: String,
}

impl Said {
    /// A message with the vendor's error `code`.
    pub fn coded(code: impl Into<String>, message: impl Into<String>) -> Said {
        Said {
            code: Some(code.into()),
            message: message.into(),
        }
    }

    /// A message without a code.
    pub fn message(message: impl Into<String>) -> Said {
        Said {
            code: None,
            message: message.into(),
        }
    }

    /// Its code, or "" when it has none.
    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or("")
    }
}

impl fmt::Display for Said {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.message.trim()) {
            (Some(code), "") => f.write_str(code),
            (Some(code), message) => write!(f, "{code}: {message}"),
            (None, message) => f.write_str(message),
        }
    }
}

/// What one provider adds to the failure policy of its [`Service`] (given with
/// [`Service::with_vendor`]): how to read its error bodies, what its own error codes mean, and
/// hints naming its own remedies. The policy itself is the same for all ([`failure`](self)).
/// Every method has a default that adds nothing: [`PlainHttp`] is a vendor with nothing to add.
pub trait Vendor: Send + Sync {
    /// The vendor's own code and message in an error body; `None` when the body is not the
    /// vendor's error JSON (a proxy's page), whose first bytes the message shows instead.
    fn said(&self, _failure: &HttpFailure) -> Option<Said> {
        None
    }

    /// The kind of failure, when the vendor's code (or body) says more than the HTTP status
    /// (Hetzner's `locked` is a conflict, DigitalOcean's 422 on an action a locked Droplet).
    /// `Some` also says the vendor explained the failure: a 5xx it explains (Hetzner's
    /// `maintenance`) did not leave a change's outcome unknown.
    fn meaning(&self, _failure: &HttpFailure, _said: Option<&Said>) -> Option<ErrorCode> {
        None
    }

    /// What to do about a failure of kind `code`, in the vendor's words (where its tokens are
    /// made, the scope a 403 needs, when its rate limit resets); `None` keeps the generic hint.
    fn hint(
        &self,
        _code: ErrorCode,
        _failure: &HttpFailure,
        _said: Option<&Said>,
    ) -> Option<String> {
        None
    }
}

/// A vendor with nothing to add: the HTTP status alone decides.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainHttp;

impl Vendor for PlainHttp {}

/// What a request is doing, for its errors (`reboot of droplet 3164444`), and the thing whose
/// absence a 404 means ([`Doing::missing`]).
#[derive(Debug, Clone, Default)]
pub struct Doing {
    text: String,
    missing: Option<Missing>,
}

#[derive(Debug, Clone)]
struct Missing {
    what: &'static str,
    name: String,
    hint: String,
}

impl Doing {
    /// A request that is doing `text` (`listing droplets`, `reboot of droplet 3164444`).
    pub fn new(text: impl Into<String>) -> Doing {
        Doing {
            text: text.into(),
            missing: None,
        }
    }

    /// A `not-found` answer means there is no `what` called `name` (`droplet`, `3164444`):
    /// the error is [`Error::NotFound`] with `hint` (where to look).
    pub fn missing(
        mut self,
        what: &'static str,
        name: impl Into<String>,
        hint: impl Into<String>,
    ) -> Doing {
        self.missing = Some(Missing {
            what,
            name: name.into(),
            hint: hint.into(),
        });
        self
    }

    /// What it is doing, as given.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl Service {
    /// The typed error of `failure`, the answer to a request that was `doing` something and
    /// was sent `retry`: the one failure policy (see [`failure`](self)).
    pub fn failure_error(&self, failure: &HttpFailure, retry: Retry, doing: &Doing) -> Error {
        self.judge(failure, retry, doing, "a request")
    }

    /// The typed error of a failed status, for a caller that reads the failure itself and
    /// sends no change that could be left half-done: [`Service::failure_error`] of an
    /// idempotent request doing nothing in particular.
    pub fn status_error(&self, failure: &HttpFailure) -> Error {
        self.failure_error(failure, Retry::Idempotent, &Doing::default())
    }

    /// [`Service::failure_error`]; `request` names the request when `doing` says nothing.
    pub(super) fn judge(
        &self,
        failure: &HttpFailure,
        retry: Retry,
        doing: &Doing,
        request: &str,
    ) -> Error {
        let said = self.vendor.said(failure);
        let meaning = self.vendor.meaning(failure, said.as_ref());
        let code = meaning.unwrap_or_else(|| kind_of(failure.status));
        let words: String = match &said {
            Some(said) => self.redact(&said.to_string()),
            None => failure.body.clone(),
        };
        let words: String = words.trim().chars().take(BODY_IN_ERRORS).collect();
        let words = match words.as_str() {
            "" => String::new(),
            w => format!(" ({w})"),
        };
        if retry == Retry::NotIdempotent && failure.status >= 500 && meaning.is_none() {
            let reason = format!("HTTP {}{words}", failure.status);
            return self.outcome_unknown(doing, request, reason);
        }
        if code == ErrorCode::NotFound
            && let Some(missing) = &doing.missing
        {
            return Error::NotFound {
                what: missing.what,
                name: missing.name.clone(),
                hint: Some(missing.hint.clone()),
            };
        }
        let hint = self
            .vendor
            .hint(code, failure, said.as_ref())
            .unwrap_or_else(|| generic_hint(code, failure, self));
        let retry = retry_after(&failure.headers)
            .map(|d| format!(" (it asks to retry after {}s)", d.as_secs()))
            .unwrap_or_default();
        let subject = match doing.text() {
            "" => String::new(),
            text => format!("{text}: "),
        };
        Error::Service {
            service: self.name.clone(),
            code,
            status: failure.status,
            message: format!("{subject}HTTP {}{words}{retry}; {hint}", failure.status),
        }
    }

    /// The error of a request that is not idempotent and may have taken effect; `request`
    /// names it when `doing` says nothing.
    pub(super) fn outcome_unknown(&self, doing: &Doing, request: &str, reason: String) -> Error {
        let what = match doing.text() {
            "" => request,
            text => text,
        };
        Error::OutcomeUnknown {
            what: format!("{} on {}", self.redact(what), self.name),
            reason,
        }
    }
}

/// The kind of failure an HTTP status says.
fn kind_of(status: u16) -> ErrorCode {
    match status {
        401 => ErrorCode::AuthFailed,
        403 => ErrorCode::PermissionDenied,
        404 => ErrorCode::NotFound,
        409 | 412 => ErrorCode::Conflict,
        429 => ErrorCode::RateLimited,
        _ => ErrorCode::ServiceFailed,
    }
}

/// What to check for a failure of kind `code`, when the vendor has nothing better to say.
fn generic_hint(code: ErrorCode, failure: &HttpFailure, service: &Service) -> String {
    let hint = match code {
        ErrorCode::AuthFailed => {
            "the token was refused: check it is the right one and has not expired or been revoked"
        }
        ErrorCode::PermissionDenied => {
            "the token is valid but lacks the permission for this: give its account the role or scope the service names"
        }
        ErrorCode::NotFound => {
            "check the name or id, and that the base URL points at the right instance"
        }
        ErrorCode::Conflict => {
            "it changed meanwhile, or needs an approval: look at its current state and try again"
        }
        ErrorCode::RateLimited => "the service limits the request rate: wait and try again",
        _ if (300..400).contains(&failure.status) => {
            let to = failure
                .headers
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(|l| format!(" to {}", service.redact(l)))
                .unwrap_or_default();
            return format!(
                "it redirects{to}; paaf follows no redirect (it would carry the credentials there): set the endpoint to the API's own URL"
            );
        }
        _ if failure.status >= 500 => "the service failed: try again later, or check its status",
        _ => "the service refused the request",
    };
    hint.to_string()
}

impl Response {
    /// The body decoded as `T`; a body that is not the JSON the API documents is a
    /// `malformed-response` naming the service (never echoing the body).
    pub fn json<T: DeserializeOwned>(&self, service: &str) -> crate::Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::MalformedResponse {
            what: service.to_string(),
            reason: format!("not the JSON its API documents ({e})"),
        })
    }
}
