//! What every OAuth 2.0 client of paaf shares (DevCycle's API client, GCP's service account,
//! Azure's app registration): reading a token endpoint's answer (RFC 6749 §5.1), its error
//! body in words (§5.2), and when to fetch the next token; and, for an API whose every
//! request carries a token ([`TokenApi`]: GCP, Azure), the token fetched with a [`Grant`]
//! when there is none or it is about to expire, its refusals read by [`TokenRefusal`], and
//! the token dropped when the API answers 401.

use super::Response;
use crate::error::{Error, Result};
use secrecy::SecretString;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// The lifetime of a token whose answer does not give `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The longest lifetime paaf believes: a token said to live longer (a hostile or broken
/// endpoint's `expires_in` of 2^64 - 1 seconds) is fetched again after a day.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// The access token of a token endpoint's success answer and how long it lives; an empty
/// token is a malformed response whose reason `empty` gives.
pub(crate) fn access_token(
    response: &Response,
    service: &str,
    empty: impl FnOnce() -> String,
) -> Result<(SecretString, Duration)> {
    let token: TokenResponse = response.json(service)?;
    if token.access_token.trim().is_empty() {
        return Err(Error::MalformedResponse {
            what: service.to_string(),
            reason: empty(),
        });
    }
    let lifetime = token
        .expires_in
        .map_or(DEFAULT_LIFETIME, |s| Duration::from_secs(s.max(1)))
        .min(MAX_LIFETIME);
    Ok((SecretString::from(token.access_token), lifetime))
}

/// An error body `{error, error_description}` in words (`error: description`, or the one
/// there is); `None` when the body says neither.
pub(crate) fn error_said(body: &str) -> Option<String> {
    let e: TokenError = serde_json::from_str(body).ok()?;
    match (e.error, e.error_description) {
        (Some(e), Some(d)) => Some(format!("{e}: {d}")),
        (e, d) => e.or(d),
    }
}

/// When to fetch the next token, for one that lives `lifetime` from now: a minute early (or
/// at 90 % of a short lifetime), so that a token never expires mid-request; never later than
/// [`MAX_LIFETIME`] from now.
pub(crate) fn refresh_at(lifetime: Duration) -> Instant {
    let lifetime = lifetime.min(MAX_LIFETIME);
    let margin = Duration::from_secs(60).min(lifetime / 10);
    let now = Instant::now();
    now.checked_add(lifetime.saturating_sub(margin))
        .unwrap_or(now)
}

#[cfg(feature = "cloud")]
mod token_api;
#[cfg(feature = "cloud")]
pub(crate) use token_api::{ClientCredentials, Grant, TokenApi};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_body_in_words() {
        assert_eq!(
            error_said(r#"{"error":"invalid_client","error_description":"bad secret"}"#).as_deref(),
            Some("invalid_client: bad secret")
        );
        assert_eq!(
            error_said(r#"{"error":"invalid_grant"}"#).as_deref(),
            Some("invalid_grant")
        );
        assert_eq!(error_said(r#"{"message":"no"}"#), None);
        assert_eq!(error_said("<html>"), None);
    }

    /// A hostile `expires_in` (2^64 - 1 seconds) once panicked adding it to `Instant::now()`.
    #[test]
    fn a_huge_expires_in_is_believed_for_a_day_at_most() {
        let body = format!(r#"{{"access_token":"t0ken","expires_in":{}}}"#, u64::MAX);
        let response = Response {
            status: 200,
            headers: Default::default(),
            body: body.into_bytes(),
        };
        let (_, lifetime) = access_token(&response, "idp", String::new).unwrap();
        assert_eq!(lifetime, MAX_LIFETIME);
        let at = refresh_at(Duration::from_secs(u64::MAX)) - Instant::now();
        assert!(at <= MAX_LIFETIME, "{at:?}");
    }

    #[test]
    fn a_token_is_refreshed_a_minute_early_or_at_ninety_percent() {
        let hour = refresh_at(Duration::from_secs(3600)) - Instant::now();
        assert!(
            hour <= Duration::from_secs(3540) && hour > Duration::from_secs(3530),
            "{hour:?}"
        );
        let short = refresh_at(Duration::from_secs(100)) - Instant::now();
        assert!(
            short <= Duration::from_secs(90) && short > Duration::from_secs(85),
            "{short:?}"
        );
    }
}
