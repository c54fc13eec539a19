//! The HTTP client every HTTP provider uses (Grafana, Prometheus, clouds, flag services): one
//! place for timeouts, bounded retries of idempotent calls only, `Retry-After`, response size
//! limits, typed errors that name the service, and secret redaction.
//!
//! A provider builds one [`Service`] per configured account and calls [`Service::send`] (or
//! the JSON helpers); it never sees reqwest's errors. Secrets (tokens, passwords) live in
//! [`HttpAuth`] as `SecretString`s: they go into request headers and nowhere else, and any
//! text that echoes one back (an error body) is redacted before it reaches an error.

use crate::error::{Error, ErrorCode, Phase, Result};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;

pub(crate) mod oauth;

pub use reqwest::Method;
pub use reqwest::header::HeaderMap;

/// RFC 3986's unreserved characters stay; everything else in a path segment is escaped.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` as one URL path segment, percent-encoded: a flag key or id with `/`, `?` or spaces stays
/// one segment of the request path.
pub fn path_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// How a service authenticates paaf's requests.
#[derive(Clone, Default)]
pub enum HttpAuth {
    #[default]
    None,
    /// `Authorization: Bearer TOKEN` (Grafana service accounts, most clouds).
    Bearer(SecretString),
    /// HTTP basic auth.
    Basic {
        user: String,
        password: SecretString,
    },
    /// A header of the service's own (`Authorization: TOKEN` for Unleash, `X-Auth-Token`, ...).
    Header { name: String, value: SecretString },
}

impl fmt::Debug for HttpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpAuth::None => f.write_str("HttpAuth::None"),
            HttpAuth::Bearer(_) => f.write_str("HttpAuth::Bearer([redacted])"),
            HttpAuth::Basic { user, .. } => write!(f, "HttpAuth::Basic({user}:[redacted])"),
            HttpAuth::Header { name, .. } => write!(f, "HttpAuth::Header({name}: [redacted])"),
        }
    }
}

impl HttpAuth {
    fn secret(&self) -> Option<&str> {
        match self {
            HttpAuth::None => None,
            HttpAuth::Bearer(s) => Some(s.expose_secret()),
            HttpAuth::Basic { password, .. } => Some(password.expose_secret()),
            HttpAuth::Header { value, .. } => Some(value.expose_secret()),
        }
    }
}

/// Limits of one service's requests; the defaults suit a phone on a poor network.
#[derive(Debug, Clone)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// The whole request, body included.
    pub timeout: Duration,
    /// Bodies larger than this are refused (`response-too-large`) without reading them all.
    pub max_response_bytes: u64,
    /// Attempts of an idempotent request (1 = no retry). Other requests are tried once.
    pub max_attempts: u32,
    /// The longest `Retry-After` (or backoff) paaf waits before a retry; a longer one is
    /// reported (`rate-limited`) rather than waited for.
    pub max_retry_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_response_bytes: 16 * 1024 * 1024,
            max_attempts: 3,
            max_retry_wait: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// The defaults, with a configured whole-request timeout.
    pub fn with_timeout(timeout: Duration) -> Limits {
        Limits {
            timeout,
            ..Limits::default()
        }
    }
}

/// One HTTP API (a Grafana instance, a Prometheus server, a cloud account): its base URL,
/// its auth, and a connection pool.
#[derive(Clone)]
pub struct Service {
    name: String,
    base: reqwest::Url,
    auth: HttpAuth,
    limits: Limits,
    /// Sent with every request (e.g. Grafana's `X-Grafana-Org-Id`).
    default_headers: Vec<(String, String)>,
    /// The base URL's path, when it is a secret (RebootX on-prem's path prefix).
    secret_path: Option<SecretString>,
    client: reqwest::Client,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("base", &self.redact(self.base.as_str()))
            .field("auth", &self.auth)
            .finish()
    }
}

/// Whether a request may be sent again when its outcome is unclear. `Idempotent` requests are
/// retried on 429, 5xx and transport failures; `NotIdempotent` ones only when the service
/// cannot have acted (no connection, 429), and one that failed after it may have reached the
/// service is reported as `outcome-unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Idempotent,
    NotIdempotent,
}

/// One request to a service, relative to its base URL. Its `Debug` shows the method, path and
/// query only: a body or header may hold a secret (a token request's client secret).
#[derive(Clone)]
pub struct Request {
    pub method: Method,
    /// Appended to the service's base URL (`api/search`, or `/api/search`).
    pub path: String,
    pub query: Vec<(String, String)>,
    pub json: Option<serde_json::Value>,
    /// A form body (`application/x-www-form-urlencoded`), as OAuth token endpoints take;
    /// sent instead of `json` when set.
    pub form: Option<Vec<(String, String)>>,
    pub headers: Vec<(String, String)>,
    pub retry: Retry,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field(
                "body",
                &(self.json.is_some() || self.form.is_some()).then_some("[not shown]"),
            )
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("retry", &self.retry)
            .finish()
    }
}

impl Request {
    /// A GET (idempotent: retried on 429, 5xx and connection failures).
    pub fn get(path: impl Into<String>) -> Request {
        Request {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            json: None,
            form: None,
            headers: Vec::new(),
            retry: Retry::Idempotent,
        }
    }

    /// A request with a JSON body; `retry` says whether sending it twice is harmless.
    pub fn with_body(
        method: Method,
        path: impl Into<String>,
        body: &impl Serialize,
        retry: Retry,
    ) -> Result<Request> {
        let json = serde_json::to_value(body)
            .map_err(|e| Error::other(format!("could not encode the request: {e}")))?;
        Ok(Request {
            method,
            path: path.into(),
            query: Vec::new(),
            json: Some(json),
            form: None,
            headers: Vec::new(),
            retry,
        })
    }

    /// A POST with a form body (an OAuth token request: `grant_type=…&…`); `retry` says
    /// whether sending it twice is harmless.
    pub fn form(path: impl Into<String>, fields: &[(&str, &str)], retry: Retry) -> Request {
        Request {
            form: Some(
                fields
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Request::post(path, retry)
        }
    }

    /// A POST without a body (e.g. Unleash's `…/on`); `retry` says whether sending it twice
    /// is harmless.
    pub fn post(path: impl Into<String>, retry: Retry) -> Request {
        Request {
            method: Method::POST,
            retry,
            ..Request::get(path)
        }
    }

    /// A DELETE (idempotent by HTTP's definition).
    pub fn delete(path: impl Into<String>) -> Request {
        Request {
            method: Method::DELETE,
            ..Request::get(path)
        }
    }

    pub fn query(mut self, name: &str, value: impl Into<String>) -> Request {
        self.query.push((name.to_string(), value.into()));
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// A successful (2xx) response, its body read whole within the size limit.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    /// The body decoded as `T`; a body that is not the JSON the API documents is a
    /// `malformed-response` naming the service (never echoing the body).
    pub fn json<T: DeserializeOwned>(&self, service: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::MalformedResponse {
            what: service.to_string(),
            reason: format!("not the JSON its API documents ({e})"),
        })
    }
}

/// A failed HTTP status, as providers see it before they turn it into their own error.
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

const BODY_IN_ERRORS: usize = 300;

impl Service {
    /// A service called `name` in messages (e.g. `grafana "ops"`), at `base_url`.
    pub fn new(name: &str, base_url: &str, auth: HttpAuth, limits: Limits) -> Result<Service> {
        let mut base = reqwest::Url::parse(base_url).map_err(|e| {
            Error::invalid(format!(
                "{name}: `{base_url}` is not a URL ({e}); write it like https://grafana.example.com"
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::invalid(format!(
                "{name}: `{base_url}` must start with http:// or https://"
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let client = client_builder(&limits)
            .build()
            .map_err(|e| Error::other(format!("{name}: could not set up HTTP: {e}")))?;
        Ok(Service {
            name: name.to_string(),
            base,
            auth,
            limits,
            default_headers: Vec::new(),
            secret_path: None,
            client,
        })
    }

    /// Treats the base URL's path as a secret (RebootX on-prem's secret path prefix): it is
    /// redacted wherever a message (a transport error names the URL) or `Debug` would show it.
    pub fn with_secret_base_path(mut self) -> Service {
        let path = self.base.path().trim_matches('/');
        self.secret_path = (!path.is_empty()).then(|| SecretString::from(path));
        self
    }

    /// Trusts `tls.ca_pem` (instead of the system's roots) and presents `tls.identity`, e.g.
    /// for a Kubernetes API server with its own CA and client certificates.
    pub fn with_tls(mut self, tls: &TlsConfig) -> Result<Service> {
        let bad = |what: &str, e: reqwest::Error| {
            Error::invalid(format!(
                "{}: the {what} is not usable ({}); it must be PEM",
                self.name,
                error_chain(&e)
            ))
        };
        let mut builder = client_builder(&self.limits);
        if let Some(pem) = &tls.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| bad("certificate authority", e))?;
            if certs.is_empty() {
                return Err(Error::invalid(format!(
                    "{}: the certificate authority holds no PEM certificate",
                    self.name
                )));
            }
            builder = builder.tls_certs_only(certs);
        }
        if let Some(identity) = &tls.identity {
            let identity = reqwest::Identity::from_pkcs8_pem(
                &identity.cert_pem,
                identity.key_pem.expose_secret().as_bytes(),
            )
            .map_err(|e| bad("client certificate or its key (PKCS#8)", e))?;
            builder = builder.identity(identity);
        }
        self.client = builder
            .build()
            .map_err(|e| Error::other(format!("{}: could not set up TLS: {e}", self.name)))?;
        Ok(self)
    }

    /// Sends `name: value` with every request of this service (never a secret: use
    /// [`HttpAuth::Header`] for those).
    pub fn with_default_header(mut self, name: &str, value: &str) -> Service {
        self.default_headers
            .push((name.to_string(), value.to_string()));
        self
    }

    /// The name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The base URL (for links shown to the user).
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `GET path?query` decoded as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        self.send(request).await?.json(&self.name)
    }

    /// Sends `request`; a non-2xx status becomes the error [`Service::status_error`] makes.
    pub async fn send(&self, request: Request) -> Result<Response> {
        match self.send_raw(request).await? {
            Ok(response) => Ok(response),
            Err(failure) => Err(self.status_error(&failure)),
        }
    }

    /// Sends `request`, retrying idempotent ones; returns the response, or the failed status
    /// for the provider to interpret (e.g. a 409 that means "approval required").
    pub async fn send_raw(
        &self,
        request: Request,
    ) -> Result<std::result::Result<Response, HttpFailure>> {
        let attempts = self.limits.max_attempts.max(1);
        let idempotent = request.retry == Retry::Idempotent;
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(&request).await;
            // Sent again only when that is harmless: an idempotent request; or any request
            // that never reached the service, or that it refused unprocessed (429).
            let wait = match &outcome {
                Ok(Ok(_)) => None,
                Ok(Err(failure))
                    if failure.status == 429
                        || (idempotent && retryable_status(failure.status)) =>
                {
                    Some(retry_after(&failure.headers).unwrap_or_else(|| backoff(attempt)))
                }
                Ok(Err(_)) => None,
                Err(Sent::Before(_)) => Some(backoff(attempt)),
                Err(Sent::Maybe(_)) if idempotent => Some(backoff(attempt)),
                Err(Sent::Maybe(_)) => None,
            };
            match wait {
                Some(wait) if attempt < attempts && wait <= self.limits.max_retry_wait => {
                    tracing::info!(
                        service = %self.name,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => {
                    return match outcome {
                        Ok(result) => Ok(result),
                        Err(Sent::Before(e)) | Err(Sent::Maybe(e)) => Err(e),
                    };
                }
            }
        }
    }

    async fn attempt(
        &self,
        request: &Request,
    ) -> std::result::Result<std::result::Result<Response, HttpFailure>, Sent> {
        let url = self
            .base
            .join(request.path.trim_start_matches('/'))
            .map_err(|e| {
                Sent::Before(Error::invalid(format!(
                    "{}: bad request path `{}`: {e}",
                    self.name, request.path
                )))
            })?;
        let mut builder = self.client.request(request.method.clone(), url.clone());
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        for (name, value) in self.default_headers.iter().chain(&request.headers) {
            builder = builder.header(name, value);
        }
        builder = match &self.auth {
            HttpAuth::None => builder,
            HttpAuth::Bearer(token) => builder.bearer_auth(token.expose_secret()),
            HttpAuth::Basic { user, password } => {
                builder.basic_auth(user, Some(password.expose_secret()))
            }
            HttpAuth::Header { name, value } => builder.header(name, value.expose_secret()),
        };
        if let Some(json) = &request.json {
            // A request may name its own JSON media type (LaunchDarkly's semantic patch).
            let typed = request
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
            if !typed {
                builder = builder.header("content-type", "application/json");
            }
            builder = builder.body(json.to_string());
        } else if let Some(form) = &request.form {
            builder = builder.form(form);
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| self.transport_error(e, request))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let limit = self.limits.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(Sent::Maybe(
                self.too_large(response.content_length().unwrap_or(limit)),
            ));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > limit {
                        return Err(Sent::Maybe(
                            self.too_large(body.len() as u64 + chunk.len() as u64),
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.transport_error(e, request)),
            }
        }
        if (200..300).contains(&status) {
            Ok(Ok(Response {
                status,
                headers,
                body,
            }))
        } else {
            let text = self.redact(&String::from_utf8_lossy(&body));
            let cut: String = text.chars().take(BODY_IN_ERRORS).collect();
            Ok(Err(HttpFailure {
                status,
                headers,
                body: cut.trim().to_string(),
                full_body: text,
            }))
        }
    }

    fn too_large(&self, size: u64) -> Error {
        Error::ResponseTooLarge {
            what: self.name.clone(),
            size,
            limit: self.limits.max_response_bytes,
        }
    }

    /// Replaces the service's secrets (and a secret base path) wherever `text` echoes them.
    pub fn redact(&self, text: &str) -> String {
        let path = self.secret_path.as_ref().map(|p| p.expose_secret());
        let mut text = text.to_string();
        for secret in self.auth.secret().into_iter().chain(path) {
            if !secret.is_empty() {
                text = text.replace(secret, "[redacted]");
            }
        }
        text
    }

    fn transport_error(&self, e: reqwest::Error, request: &Request) -> Sent {
        let host = self.base.host_str().unwrap_or("?").to_string();
        // reqwest's messages name the URL, never headers; the URL holds no credential (paaf
        // puts them in headers only), but its path may be a secret (`with_secret_base_path`)
        // and a user may have written one into it.
        let reason = self.redact(&error_chain(&e));
        if e.is_connect() {
            return Sent::Before(Error::Unreachable {
                host: self.name.clone(),
                address: host,
                reason,
            });
        }
        if e.is_timeout() {
            let error = Error::Timeout {
                host: self.name.clone(),
                phase: Phase::Request,
                after: self.limits.timeout,
            };
            return self.maybe_sent(error, request);
        }
        let error = Error::Unreachable {
            host: self.name.clone(),
            address: host,
            reason,
        };
        self.maybe_sent(error, request)
    }

    /// A failure after the request may have reached the service: for a request that is not
    /// idempotent, the caller cannot know whether it took effect.
    fn maybe_sent(&self, error: Error, request: &Request) -> Sent {
        match request.retry {
            Retry::Idempotent => Sent::Maybe(error),
            Retry::NotIdempotent => Sent::Maybe(Error::OutcomeUnknown {
                what: format!("{} {} on {}", request.method, request.path, self.name),
                reason: error.to_string(),
            }),
        }
    }

    /// The typed error for a failed status: what it means and what to check.
    pub fn status_error(&self, failure: &HttpFailure) -> Error {
        let (code, hint) = match failure.status {
            401 => (
                ErrorCode::AuthFailed,
                "the token was refused: check it is the right one and has not expired or been revoked",
            ),
            403 => (
                ErrorCode::PermissionDenied,
                "the token is valid but lacks the permission for this: give its account the role or scope the service names",
            ),
            404 => (
                ErrorCode::NotFound,
                "check the name or id, and that the base URL points at the right instance",
            ),
            409 | 412 => (
                ErrorCode::Conflict,
                "it changed meanwhile, or needs an approval: look at its current state and try again",
            ),
            429 => (
                ErrorCode::RateLimited,
                "the service limits the request rate: wait and try again",
            ),
            s if s >= 500 => (
                ErrorCode::ServiceFailed,
                "the service failed: try again later, or check its status",
            ),
            _ => (ErrorCode::ServiceFailed, "the service refused the request"),
        };
        let retry = retry_after(&failure.headers)
            .map(|d| format!(" (it asks to retry after {}s)", d.as_secs()))
            .unwrap_or_default();
        let body = if failure.body.is_empty() {
            String::new()
        } else {
            format!(": {}", failure.body)
        };
        Error::Service {
            service: self.name.clone(),
            code,
            status: failure.status,
            message: format!("HTTP {}{body}{retry}; {hint}", failure.status),
        }
    }
}

/// TLS beyond the system's defaults ([`Service::with_tls`]).
#[derive(Clone, Default)]
pub struct TlsConfig {
    /// PEM certificates trusted instead of the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate presented to the server.
    pub identity: Option<TlsIdentity>,
}

/// A client certificate (PEM, its chain after it) and its PKCS#8 PEM private key. `Debug`
/// never shows the key.
#[derive(Clone)]
pub struct TlsIdentity {
    pub cert_pem: Vec<u8>,
    pub key_pem: SecretString,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca_pem", &self.ca_pem.as_ref().map(|p| p.len()))
            .field("identity", &self.identity)
            .finish()
    }
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_pem_bytes", &self.cert_pem.len())
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

fn client_builder(limits: &Limits) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.timeout)
        .user_agent(concat!("paaf/", env!("CARGO_PKG_VERSION")))
}

/// How far a failed attempt got.
enum Sent {
    /// Nothing reached the service (no connection): safe to retry any request.
    Before(Error),
    /// The request may have reached the service.
    Maybe(Error),
}

fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` as seconds or as an HTTP date (also what a provider's operation asks to wait
/// between polls).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// 2^attempt × 250 ms, ±25 % jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64 << attempt.min(6);
    let jitter = rand::rng().random_range(0.75..1.25);
    Duration::from_millis((base as f64 * jitter) as u64)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(20);
        h.insert("retry-after", later.to_rfc2822().parse().unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(
            wait <= Duration::from_secs(20) && wait >= Duration::from_secs(18),
            "{wait:?}"
        );
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let auth = HttpAuth::Basic {
            user: "admin".into(),
            password: SecretString::from("hunter2-secret"),
        };
        let service = Service::new(
            "grafana \"ops\"",
            "http://127.0.0.1:1",
            auth,
            Limits::default(),
        )
        .unwrap();
        let text = format!("{service:?}");
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(text.contains("admin"), "{text}");
        assert_eq!(
            service.redact("echo hunter2-secret back"),
            "echo [redacted] back"
        );
    }

    #[test]
    fn a_secret_base_path_is_redacted_from_debug_and_messages() {
        let service = Service::new(
            "rebootx \"home\"",
            "http://127.0.0.1:1/cd5331ba",
            HttpAuth::None,
            Limits::default(),
        )
        .unwrap()
        .with_secret_base_path();
        let text = format!("{service:?}");
        assert!(!text.contains("cd5331ba"), "{text}");
        assert!(text.contains("127.0.0.1:1/[redacted]/"), "{text}");
        assert_eq!(
            service.redact("error sending request for url (http://127.0.0.1:1/cd5331ba/runnables)"),
            "error sending request for url (http://127.0.0.1:1/[redacted]/runnables)"
        );
    }

    #[test]
    fn a_request_debug_shows_neither_its_body_nor_header_values() {
        let r = Request::with_body(
            Method::POST,
            "oauth/token",
            &serde_json::json!({"client_secret": "s3cr3t-client"}),
            Retry::Idempotent,
        )
        .unwrap()
        .header("x-api-key", "s3cr3t-header");
        let text = format!("{r:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(
            text.contains("oauth/token") && text.contains("x-api-key"),
            "{text}"
        );
        let form = Request::form(
            "oauth2/v2.0/token",
            &[("client_secret", "s3cr3t-form")],
            Retry::Idempotent,
        );
        let text = format!("{form:?}");
        assert!(
            !text.contains("s3cr3t") && text.contains("[not shown]"),
            "{text}"
        );
    }

    #[test]
    fn tls_takes_a_ca_and_a_client_identity_and_refuses_what_is_not_pem() {
        let cert = include_bytes!("../tests/fixtures/kubernetes/client.crt");
        let key = include_str!("../tests/fixtures/kubernetes/client-pkcs8.key");
        let service = || {
            Service::new(
                "k8s",
                "https://127.0.0.1:6443",
                HttpAuth::None,
                Limits::default(),
            )
            .unwrap()
        };
        let tls = TlsConfig {
            ca_pem: Some(cert.to_vec()),
            identity: Some(TlsIdentity {
                cert_pem: cert.to_vec(),
                key_pem: SecretString::from(key),
            }),
        };
        service().with_tls(&tls).unwrap();
        let shown = format!("{tls:?}");
        assert!(
            !shown.contains("PRIVATE") && shown.contains("[redacted]"),
            "{shown}"
        );

        let e = service()
            .with_tls(&TlsConfig {
                ca_pem: Some(b"not a certificate".to_vec()),
                identity: None,
            })
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.to_string().contains("certificate authority"), "{e}");

        let e = service()
            .with_tls(&TlsConfig {
                ca_pem: None,
                identity: Some(TlsIdentity {
                    cert_pem: cert.to_vec(),
                    key_pem: SecretString::from("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n"),
                }),
            })
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.to_string().contains("PKCS#8"), "{e}");
    }

    #[test]
    fn a_bad_base_url_says_how_to_write_one() {
        let e = Service::new(
            "grafana",
            "grafana.local",
            HttpAuth::None,
            Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.to_string().contains("https://"), "{e}");
    }
}
