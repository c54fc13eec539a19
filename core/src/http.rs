//! The HTTP client every HTTP provider uses (Grafana, Prometheus, clouds, flag services): one
//! place for timeouts, bounded retries of idempotent calls only, `Retry-After`, response size
//! limits, typed errors that name the service, and secret redaction.
//!
//! A provider builds one [`Service`] per configured account and calls [`Service::fetch`] (or
//! [`Service::fetch_json`]) with what the request is [`Doing`]; it never sees reqwest's
//! errors. What a failed answer means is decided once, in [`Service::failure_error`] (the
//! failure policy, [`failure`]): a provider only describes its error bodies and codes through
//! a [`Vendor`]. Secrets (tokens, passwords) live in [`HttpAuth`] as `SecretString`s: they go
//! into request headers and nowhere else, and any text that echoes one back (an error body, in
//! whole or any secret part of it) is redacted before it reaches an error.
//!
//! A service whose every request is signed over the time it is sent (OVHcloud) has a
//! [`Signer`]: each attempt, a retry included, is signed anew when it is sent.
//!
//! Requests stay on the configured origin: redirects are not followed (a redirect would carry
//! the credentials wherever the answer points; APIs do not redirect), a request path cannot
//! name another host, and a service at an `https://` URL never speaks plain HTTP.

use crate::error::{Error, Phase, Result};
use failure::BODY_IN_ERRORS;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub mod failure;
pub(crate) mod oauth;

pub use failure::{Doing, HttpFailure, PlainHttp, Said, Vendor, kind_of};

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
    /// Every form in which this auth's secret could be echoed back: the token or password as
    /// sent, Basic auth's base64 `user:password`, and the secret part of a header value with
    /// a scheme or an id in front (`Api-Key <key>`, `PVEAPIToken=<id>=<secret>`).
    fn secrets(&self) -> Vec<String> {
        use base64::Engine;
        match self {
            HttpAuth::None => Vec::new(),
            HttpAuth::Bearer(token) => vec![token.expose_secret().to_string()],
            HttpAuth::Basic { user, password } => {
                let password = password.expose_secret();
                let pair = format!("{user}:{password}");
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                vec![encoded, password.to_string()]
            }
            HttpAuth::Header { value, .. } => {
                let value = value.expose_secret();
                let mut parts = vec![value.to_string()];
                let tails = [
                    value.rsplit(char::is_whitespace).next(),
                    value.rsplit('=').next(),
                ];
                for tail in tails.into_iter().flatten() {
                    // A short tail is a scheme's padding or a word, not a secret.
                    if tail.len() >= MIN_SECRET_PART && !parts.iter().any(|p| p == tail) {
                        parts.push(tail.to_string());
                    }
                }
                parts
            }
        }
    }
}

/// The shortest part of a header value redacted on its own (see [`HttpAuth::secrets`]).
const MIN_SECRET_PART: usize = 8;

/// Signs each attempt of a request, for an API whose signature covers the moment it is sent
/// (OVHcloud's `X-Ovh-Timestamp`, AWS SigV4's `X-Amz-Date`): a retry is signed again when it
/// is sent, never replayed with a stale signature. Given with [`Service::with_signer`]; the
/// secrets it sends go to [`Service::with_secret`] too, so that no message echoes them.
pub trait Signer: Send + Sync {
    /// The headers that sign `method` of `url` (the whole URL sent, query included) with
    /// `body` (the JSON body as sent; empty when there is none), now. An error ends the
    /// request unsent, without a retry.
    fn sign<'a>(
        &'a self,
        method: &'a Method,
        url: &'a reqwest::Url,
        body: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Vec<(String, String)>>>;
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
    /// Secrets sent outside [`HttpAuth`] (a signed request's consumer key), redacted too.
    more_secrets: Vec<SecretString>,
    /// What the provider adds to the failure policy.
    vendor: Arc<dyn Vendor>,
    /// Signs each attempt, when the API wants signed requests.
    signer: Option<Arc<dyn Signer>>,
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
/// cannot have acted (no connection, 429 or the vendor's like: [`Vendor::unprocessed`]), and
/// one that failed after it may have reached the service is reported as `outcome-unknown`.
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
        let mut builder = client_builder(&limits, &base);
        if let Some(tls) = shared_tls() {
            builder = builder.tls_backend_preconfigured(tls);
        }
        let client = builder
            .build()
            .map_err(|e| Error::other(format!("{name}: could not set up HTTP: {e}")))?;
        Ok(Service {
            name: name.to_string(),
            base,
            auth,
            limits,
            default_headers: Vec::new(),
            secret_path: None,
            more_secrets: Vec::new(),
            vendor: Arc::new(PlainHttp),
            signer: None,
            client,
        })
    }

    /// Reads failures with `vendor`'s knowledge of its error bodies and codes (see
    /// [`Service::failure_error`]).
    pub fn with_vendor(mut self, vendor: impl Vendor + 'static) -> Service {
        self.vendor = Arc::new(vendor);
        self
    }

    /// The same service (its name, URL, vendor and connection pool), its requests
    /// authenticated with `auth` instead: the bearer of a fresh OAuth access token.
    pub fn with_auth(mut self, auth: HttpAuth) -> Service {
        self.auth = auth;
        self
    }

    /// Signs every attempt of every request with `signer` ([`Signer`]).
    pub fn with_signer(mut self, signer: Arc<dyn Signer>) -> Service {
        self.signer = Some(signer);
        self
    }

    /// Also redacts `secret` wherever a message would echo it: for a secret the service sends
    /// outside its [`HttpAuth`] (a header of a signed request).
    pub fn with_secret(mut self, secret: SecretString) -> Service {
        self.more_secrets.push(secret);
        self
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
        let mut builder = client_builder(&self.limits, &self.base);
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
        self.fetch_json(request, &Doing::default()).await
    }

    /// Sends `request`; a failure is the error of the failure policy.
    pub async fn send(&self, request: Request) -> Result<Response> {
        self.fetch(request, &Doing::default()).await
    }

    /// Sends `request`, which is `doing` something (named in its errors); a failure becomes
    /// the error of the one failure policy ([`Service::failure_error`]).
    pub async fn fetch(&self, request: Request, doing: &Doing) -> Result<Response> {
        let retry = request.retry;
        let what = format!("{} {}", request.method, request.path);
        match self.exchange(request, doing).await? {
            Ok(response) => Ok(response),
            Err(failure) => Err(self.judge(&failure, retry, doing, &what)),
        }
    }

    /// [`Service::fetch`], except that a failure `kept` picks comes back whole, for the caller
    /// to read on (a 404 that another read explains, a refusal that asks for another
    /// endpoint); the caller hands what it cannot explain to [`Service::failure_error`].
    pub async fn fetch_except(
        &self,
        request: Request,
        doing: &Doing,
        kept: impl Fn(&HttpFailure) -> bool,
    ) -> Result<std::result::Result<Response, HttpFailure>> {
        let retry = request.retry;
        let what = format!("{} {}", request.method, request.path);
        match self.exchange(request, doing).await? {
            Ok(response) => Ok(Ok(response)),
            Err(failure) if kept(&failure) => Ok(Err(failure)),
            Err(failure) => Err(self.judge(&failure, retry, doing, &what)),
        }
    }

    /// [`Service::fetch`], its body decoded as `T` (a body that is not that JSON is a
    /// `malformed-response`).
    pub async fn fetch_json<T: DeserializeOwned>(
        &self,
        request: Request,
        doing: &Doing,
    ) -> Result<T> {
        self.fetch(request, doing).await?.json(&self.name)
    }

    /// A read of something being followed (a provider's operation): [`Service::fetch`], except
    /// that a 429 (or what the vendor says is one) comes back as [`Throttled`], for the follower
    /// to wait out when it can.
    pub async fn poll(
        &self,
        request: Request,
        doing: &Doing,
    ) -> Result<std::result::Result<Response, Throttled>> {
        let retry = request.retry;
        let what = format!("{} {}", request.method, request.path);
        match self.exchange(request, doing).await? {
            Ok(response) => Ok(Ok(response)),
            Err(failure) => {
                let error = self.judge(&failure, retry, doing, &what);
                if self.unprocessed(&failure) {
                    let retry_after = retry_after(&failure.headers);
                    return Ok(Err(Throttled { retry_after, error }));
                }
                Err(error)
            }
        }
    }

    /// Sends `request`, retrying idempotent ones; returns the response, or the failed status
    /// for the provider to interpret (e.g. a 409 that means "approval required").
    pub async fn send_raw(
        &self,
        request: Request,
    ) -> Result<std::result::Result<Response, HttpFailure>> {
        self.exchange(request, &Doing::default()).await
    }

    /// [`Service::send_raw`], naming what the request was doing if its outcome is unknown.
    async fn exchange(
        &self,
        request: Request,
        doing: &Doing,
    ) -> Result<std::result::Result<Response, HttpFailure>> {
        let attempts = self.limits.max_attempts.max(1);
        let idempotent = request.retry == Retry::Idempotent;
        let started = std::time::Instant::now();
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(&request, doing).await;
            // Sent again only when that is harmless: an idempotent request; or any request
            // that never reached the service, or that it refused unprocessed (429, or the
            // vendor's throttling code).
            let wait = match &outcome {
                Ok(Ok(_)) => None,
                Ok(Err(failure))
                    if (idempotent && retryable_status(failure.status))
                        || self.unprocessed(failure) =>
                {
                    Some(retry_after(&failure.headers).unwrap_or_else(|| backoff(attempt)))
                }
                Ok(Err(_)) => None,
                Err(Sent::Before(_)) => Some(backoff(attempt)),
                Err(Sent::Maybe(_)) if idempotent => Some(backoff(attempt)),
                Err(Sent::Maybe(_)) | Err(Sent::Never(_)) => None,
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
                        // A timeout says how long the whole call took, retries included.
                        Err(Sent::Before(Error::Timeout { host, phase, .. }))
                        | Err(Sent::Maybe(Error::Timeout { host, phase, .. }))
                        | Err(Sent::Never(Error::Timeout { host, phase, .. })) => {
                            Err(Error::Timeout {
                                host,
                                phase,
                                after: started.elapsed(),
                            })
                        }
                        Err(Sent::Before(e)) | Err(Sent::Maybe(e)) | Err(Sent::Never(e)) => Err(e),
                    };
                }
            }
        }
    }

    async fn attempt(
        &self,
        request: &Request,
        doing: &Doing,
    ) -> std::result::Result<std::result::Result<Response, HttpFailure>, Sent> {
        let mut url = self.url_of(request).map_err(Sent::Before)?;
        if !request.query.is_empty() {
            // Encoded as reqwest's `query` does: the URL a signer signs is the one sent.
            url.query_pairs_mut().extend_pairs(&request.query);
        }
        let json = request.json.as_ref().map(|json| json.to_string());
        let signed = match &self.signer {
            Some(signer) => {
                let body = json.as_deref().unwrap_or_default();
                signer
                    .sign(&request.method, &url, body)
                    .await
                    .map_err(Sent::Never)?
            }
            None => Vec::new(),
        };
        // -v: every request, its URL without secrets (the query may hold an API key).
        let shown_url = self.redact(url.as_str().split('?').next().unwrap_or_default());
        let mut builder = self.client.request(request.method.clone(), url);
        let headers = self.default_headers.iter().chain(&request.headers);
        for (name, value) in headers.chain(&signed) {
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
        if let Some(json) = json {
            // A request may name its own JSON media type (LaunchDarkly's semantic patch).
            let typed = request
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
            if !typed {
                builder = builder.header("content-type", "application/json");
            }
            builder = builder.body(json);
        } else if let Some(form) = &request.form {
            builder = builder.form(form);
        }
        let sent = std::time::Instant::now();
        let mut response = builder.send().await.map_err(|e| {
            tracing::info!(service = %self.name, method = %request.method, url = %shown_url, ms = sent.elapsed().as_millis() as u64, "http: no answer");
            self.transport_error(e, request, doing)
        })?;
        let status = response.status().as_u16();
        tracing::info!(service = %self.name, method = %request.method, url = %shown_url, status, ms = sent.elapsed().as_millis() as u64, "http");
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
                Err(e) => return Err(self.transport_error(e, request, doing)),
            }
        }
        if (200..300).contains(&status) {
            Ok(Ok(Response {
                status,
                headers,
                body,
            }))
        } else {
            Ok(Err(self.failure_of(status, headers, &body)))
        }
    }

    /// A failed answer as the failure policy reads it, its body redacted (and cut, for the
    /// message); also for a 2xx answer whose body says it failed (FeatBit's `success: false`).
    pub fn failure_of(&self, status: u16, headers: HeaderMap, body: &[u8]) -> HttpFailure {
        let text = self.redact(&String::from_utf8_lossy(body));
        let cut: String = text.chars().take(BODY_IN_ERRORS).collect();
        HttpFailure {
            status,
            headers,
            body: cut.trim().to_string(),
            full_body: text,
        }
    }

    fn too_large(&self, size: u64) -> Error {
        Error::ResponseTooLarge {
            what: self.name.clone(),
            size,
            limit: self.limits.max_response_bytes,
        }
    }

    /// The URL of `request`: its path under the base URL. A path that would leave the base
    /// URL's origin (an absolute URL, `//host/…`) is refused before anything is sent: the
    /// credentials go to the configured host only.
    fn url_of(&self, request: &Request) -> Result<reqwest::Url> {
        let url = self
            .base
            .join(request.path.trim_start_matches('/'))
            .map_err(|e| {
                Error::invalid(format!(
                    "{}: bad request path `{}`: {e}",
                    self.name,
                    self.redact(&request.path)
                ))
            })?;
        if url.origin() != self.base.origin() {
            return Err(Error::invalid(format!(
                "{}: the request path `{}` leads to another host than {}; paaf sends requests to the configured host only",
                self.name,
                self.redact(&request.path),
                self.base.host_str().unwrap_or("?")
            )));
        }
        Ok(url)
    }

    /// Replaces the service's secrets (in every form they could be echoed in, see
    /// [`HttpAuth`]) and a secret base path wherever `text` echoes them.
    pub fn redact(&self, text: &str) -> String {
        let path = self
            .secret_path
            .as_ref()
            .map(|p| p.expose_secret().to_string());
        let more = self
            .more_secrets
            .iter()
            .map(|s| s.expose_secret().to_string());
        let mut secrets: Vec<String> = self.auth.secrets().into_iter().chain(more).collect();
        secrets.extend(path);
        // The longest first: a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut text = text.to_string();
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            text = text.replace(secret.as_str(), "[redacted]");
        }
        text
    }

    fn transport_error(&self, e: reqwest::Error, request: &Request, doing: &Doing) -> Sent {
        let host = self.base.host_str().unwrap_or("?").to_string();
        // reqwest's messages name the URL, never headers; the URL holds no credential (paaf
        // puts them in headers only), but its path may be a secret (`with_secret_base_path`)
        // and a user may have written one into it.
        tracing::debug!(service = %self.name, error = %self.redact(&error_chain(&e)), "transport error");
        let reason = self.redact(&plain_transport(&e));
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
            return self.maybe_sent(error, request, doing);
        }
        let error = Error::Unreachable {
            host: self.name.clone(),
            address: host,
            reason,
        };
        self.maybe_sent(error, request, doing)
    }

    /// A failure after the request may have reached the service: for a request that is not
    /// idempotent, the caller cannot know whether it took effect.
    fn maybe_sent(&self, error: Error, request: &Request, doing: &Doing) -> Sent {
        match request.retry {
            Retry::Idempotent => Sent::Maybe(error),
            Retry::NotIdempotent => {
                let what = format!("{} {}", request.method, request.path);
                Sent::Maybe(self.outcome_unknown(doing, &what, error.to_string()))
            }
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

/// The TLS setup of every service that trusts the system's certificate authorities, made
/// once per process: OpenSSL 3 takes tens to hundreds of milliseconds to make one, and a
/// playbook's parallel steps each made several (ten flag steps ran no faster together than
/// one by one). Services with their own CA or client certificate ([`Service::with_tls`])
/// make their own. `None` when it cannot be made: the client then makes its own and says why.
fn shared_tls() -> Option<native_tls::TlsConnector> {
    static TLS: std::sync::OnceLock<Option<native_tls::TlsConnector>> = std::sync::OnceLock::new();
    TLS.get_or_init(|| native_tls::TlsConnector::new().ok())
        .clone()
}

/// The client of a service at `base`. Redirects are not followed: one would take the
/// credentials wherever its `Location` points (reqwest drops `Authorization` on a cross-host
/// redirect, but not a vendor's own header such as `X-Auth-Token`), and no API paaf speaks
/// redirects. A service configured at an `https://` URL never speaks plain HTTP; `http://` is
/// allowed only where the config names it (a loopback or test server).
fn client_builder(limits: &Limits, base: &reqwest::Url) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .https_only(base.scheme() == "https")
        .user_agent(concat!("paaf/", env!("CARGO_PKG_VERSION")))
}

/// A read refused unprocessed, with 429 or the vendor's like (after the [`Service`]'s own retries): how long the service asked
/// to wait, and the error to report if that wait is not possible.
#[derive(Debug)]
pub struct Throttled {
    pub retry_after: Option<Duration>,
    pub error: Error,
}

/// How far a failed attempt got.
enum Sent {
    /// Nothing reached the service (no connection): safe to retry any request.
    Before(Error),
    /// The request may have reached the service.
    Maybe(Error),
    /// It could not be made (its [`Signer`] failed): nothing was sent, and trying again
    /// would fail the same way.
    Never(Error),
}

fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// The longest `Retry-After` paaf takes as said: a longer one (a hostile or broken server's
/// `18446744073709551615`) is this long, so that adding it to a time cannot overflow; any
/// wait this long is reported rather than waited for anyway.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// `Retry-After` as seconds or as an HTTP date (also what a provider's operation asks to wait
/// between polls), at most [`MAX_RETRY_AFTER`].
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            let wait = when.signed_duration_since(chrono::Utc::now());
            wait.to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// 2^attempt × 250 ms, ±25 % jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64 << attempt.min(6);
    let jitter = rand::rng().random_range(0.75..1.25);
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// A transport failure in words a person reads once: the deepest cause that says what went
/// wrong (`connection refused`, `dns error: …`), without reqwest's and hyper's layers
/// (`error sending request for url (…): client error (Connect): tcp connect error`) and the
/// OS's error numbers; the whole chain goes to the debug log.
fn plain_transport(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut deepest = e.to_string();
    let mut dns = false;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return crate::error::plain_io(io);
        }
        let text = s.to_string();
        dns |= text.contains("dns error");
        deepest = text;
        source = s.source();
    }
    let deepest = crate::error::without_os_error(&deepest);
    if dns {
        format!("the name does not resolve ({deepest})")
    } else {
        deepest
    }
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
    use crate::error::ErrorCode;

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

    /// A server's `Retry-After: 18446744073709551615` once came back whole, and adding it to
    /// the time waited so far overflowed (a panic) in the providers that follow operations.
    #[test]
    fn a_huge_retry_after_is_capped() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", u64::MAX.to_string().parse().unwrap());
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        let far = "Fri, 31 Dec 9999 23:59:59 GMT";
        h.insert("retry-after", far.parse().unwrap());
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
    }

    /// A secret is redacted in every form an error body could echo it in, not only as the
    /// exact header value: Basic auth's base64 pair and password, the key of `Api-Key <key>`,
    /// the secret of `PVEAPIToken=<id>=<secret>`.
    #[test]
    fn every_form_of_a_secret_is_redacted() {
        let service = |auth: HttpAuth| {
            Service::new("svc", "http://127.0.0.1:1", auth, Limits::default()).unwrap()
        };
        let basic = service(HttpAuth::Basic {
            user: "admin".into(),
            password: SecretString::from("hunter2-secret"),
        });
        // base64("admin:hunter2-secret")
        let text = basic.redact("got Basic YWRtaW46aHVudGVyMi1zZWNyZXQ= and hunter2-secret");
        assert_eq!(text, "got Basic [redacted] and [redacted]");

        let key = "ser.Zx9qKeyOfFlagsmith0123456789";
        let api_key = service(HttpAuth::Header {
            name: "authorization".into(),
            value: SecretString::from(format!("Api-Key {key}")),
        });
        assert_eq!(
            api_key.redact(&format!("invalid key {key} (Api-Key {key})")),
            "invalid key [redacted] ([redacted])"
        );

        let uuid = "5f0a8e7c-1c2d-4e5f-9a8b-7c6d5e4f3a2b";
        let pve = service(HttpAuth::Header {
            name: "Authorization".into(),
            value: SecretString::from(format!("PVEAPIToken=paaf@pve!ops={uuid}")),
        });
        let text = pve.redact(&format!("token 'paaf@pve!ops' secret {uuid} refused"));
        assert_eq!(text, "token 'paaf@pve!ops' secret [redacted] refused");

        let signed = service(HttpAuth::None).with_secret(SecretString::from("ck-0123456789"));
        assert_eq!(
            signed.redact("consumer ck-0123456789"),
            "consumer [redacted]"
        );
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
