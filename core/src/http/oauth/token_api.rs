//! Tokens for an API whose every request carries one ([`TokenApi`]: GCP, Azure): only the
//! cloud providers use them, so only builds with the `cloud` feature have them.

use super::{TokenError, access_token, refresh_at};
use crate::error::{Error, ErrorCode, Result};
use crate::http::{Doing, HttpAuth, HttpFailure, Limits, Request, Response, Retry, Said, Service};
use crate::http::{Throttled, Vendor};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Instant;

/// How paaf asks a token endpoint for an access token: the form of one grant (RFC 6749 §4.4
/// client credentials, RFC 7523 JWT bearer), made anew for each token. Its `Debug` never
/// shows a secret.
pub(crate) trait Grant: Send + Sync + fmt::Debug {
    /// The token request's form fields.
    fn fields(&self) -> Result<Vec<(&'static str, String)>>;

    /// The secret the fields carry (a client secret), redacted wherever an answer echoes it.
    fn secret(&self) -> Option<SecretString> {
        None
    }
}

/// The client credentials grant (RFC 6749 §4.4): `client_id`, `client_secret`,
/// `grant_type=client_credentials` and `scope` (Microsoft Entra ID's app registrations).
pub(crate) struct ClientCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
    pub scope: &'static str,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

impl Grant for ClientCredentials {
    fn fields(&self) -> Result<Vec<(&'static str, String)>> {
        Ok(vec![
            ("client_id", self.client_id.clone()),
            (
                "client_secret",
                self.client_secret.expose_secret().to_string(),
            ),
            ("grant_type", "client_credentials".into()),
            ("scope", self.scope.into()),
        ])
    }

    fn secret(&self) -> Option<SecretString> {
        Some(self.client_secret.clone())
    }
}

/// A token endpoint's refusals, for the failure policy: its error body (§5.2; the first line
/// of `error_description`, as Entra ID's runs on with trace and correlation ids), and a 400,
/// 401 or 403 is the credentials refused (`auth-failed`), `remedy` saying what to check.
pub(crate) struct TokenRefusal {
    pub remedy: String,
}

impl Vendor for TokenRefusal {
    fn said(&self, failure: &HttpFailure) -> Option<Said> {
        let e: TokenError = failure.json()?;
        let first_line = |d: String| d.lines().next().unwrap_or_default().to_string();
        Some(match (e.error, e.error_description.map(first_line)) {
            (Some(code), description) => Said::coded(code, description.unwrap_or_default()),
            (None, Some(description)) => Said::message(description),
            (None, None) => return None,
        })
    }

    fn meaning(&self, failure: &HttpFailure, _said: Option<&Said>) -> Option<ErrorCode> {
        matches!(failure.status, 400 | 401 | 403).then_some(ErrorCode::AuthFailed)
    }

    fn hint(&self, code: ErrorCode, _: &HttpFailure, _: Option<&Said>) -> Option<String> {
        (code == ErrorCode::AuthFailed).then(|| self.remedy.clone())
    }
}

/// An API whose every request carries an OAuth 2.0 access token (GCP's service account,
/// Azure's app registration). The token is fetched from the token endpoint with the
/// [`Grant`] when there is none or it is about to expire ([`refresh_at`]), and dropped when
/// the API answers 401 (revoked, or expired early): the next call fetches another. Requests
/// and their failures are those of the one [`Service`] policy, its vendor the API's.
pub(crate) struct TokenApi {
    /// The API without a token: its name, URL, vendor and the secrets it redacts.
    api: Service,
    /// The token endpoint's origin, its refusals read by a [`TokenRefusal`]; and its path.
    endpoint: Service,
    path: String,
    grant: Box<dyn Grant>,
    current: tokio::sync::Mutex<Option<Current>>,
}

/// The API carrying the current token, when to fetch another, and which token it is (a 401
/// drops that one, not a newer one another request fetched meanwhile).
struct Current {
    api: Service,
    refresh_at: Instant,
    generation: u64,
}

impl fmt::Debug for TokenApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenApi")
            .field("api", &self.api)
            .field("endpoint", &self.endpoint)
            .field("grant", &self.grant)
            .finish()
    }
}

impl TokenApi {
    /// The API `api` (without auth), its tokens from `token_url` with `grant`, within
    /// `limits`; a refusal of the grant says `remedy`. The grant's secret is redacted from
    /// the answers of both.
    pub fn new(
        api: Service,
        token_url: &str,
        grant: impl Grant + 'static,
        remedy: String,
        limits: Limits,
    ) -> Result<TokenApi> {
        let url = reqwest::Url::parse(token_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{}: the token endpoint `{token_url}` is not an http(s) URL",
                    api.name()
                ))
            })?;
        // The path is sent as is: as a base URL it would get a trailing `/` (`…/token/`).
        let origin = url.origin().ascii_serialization();
        let name = format!("{} token endpoint", api.name());
        let mut endpoint = Service::new(&name, &origin, HttpAuth::None, limits)?
            .with_vendor(TokenRefusal { remedy });
        let mut api = api;
        if let Some(secret) = grant.secret() {
            endpoint = endpoint.with_secret(secret.clone());
            api = api.with_secret(secret);
        }
        Ok(TokenApi {
            api,
            endpoint,
            path: url.path().to_string(),
            grant: Box::new(grant),
            current: tokio::sync::Mutex::new(None),
        })
    }

    /// The API's name in messages.
    pub fn name(&self) -> &str {
        self.api.name()
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &str {
        self.api.base_url()
    }

    /// [`Service::fetch`] with the current token.
    pub async fn fetch(&self, request: Request, doing: &Doing) -> Result<Response> {
        let (api, generation) = self.authorized().await?;
        let answer = api.fetch(request, doing).await;
        if let Err(e) = &answer {
            self.drop_if_refused(e, generation).await;
        }
        answer
    }

    /// [`Service::fetch_json`] with the current token.
    pub async fn fetch_json<T: DeserializeOwned>(
        &self,
        request: Request,
        doing: &Doing,
    ) -> Result<T> {
        self.fetch(request, doing).await?.json(self.name())
    }

    /// [`Service::poll`] with the current token.
    pub async fn poll(
        &self,
        request: Request,
        doing: &Doing,
    ) -> Result<std::result::Result<Response, Throttled>> {
        let (api, generation) = self.authorized().await?;
        let answer = api.poll(request, doing).await;
        if let Err(e) = &answer {
            self.drop_if_refused(e, generation).await;
        }
        answer
    }

    /// The API with a valid token, and which one it is: the current one, or a new one.
    async fn authorized(&self) -> Result<(Service, u64)> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok((c.api.clone(), c.generation));
        }
        let generation = current.as_ref().map_or(1, |c| c.generation + 1);
        let fields = self.grant.fields()?;
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        // Asking for a token twice is harmless: retried like a read.
        let request = Request::form(self.path.clone(), &fields, Retry::Idempotent);
        let doing = Doing::new("fetching an access token");
        let response = self.endpoint.fetch(request, &doing).await?;
        let (token, lifetime) = access_token(&response, self.endpoint.name(), || {
            "it returned an empty access_token".into()
        })?;
        let api = self.api.clone().with_auth(HttpAuth::Bearer(token));
        *current = Some(Current {
            api: api.clone(),
            refresh_at: refresh_at(lifetime),
            generation,
        });
        Ok((api, generation))
    }

    /// Forgets the token of `generation` when the API refused it (401), unless a newer one
    /// replaced it meanwhile.
    async fn drop_if_refused(&self, error: &Error, generation: u64) {
        if !matches!(error, Error::Service { status: 401, .. }) {
            return;
        }
        if let Some(c) = self.current.lock().await.as_mut()
            && c.generation == generation
        {
            c.refresh_at = Instant::now();
        }
    }
}
