//! Google Compute Engine (API v1), as a service account.
//!
//! Calls (https://cloud.google.com/compute/docs/reference/rest/v1), all under
//! `https://compute.googleapis.com/compute/v1/projects/{project}/zones/{zone}/`:
//! - the token: a JWT signed RS256 with the key's `private_key` (`iss` = `client_email`,
//!   `scope` = `https://www.googleapis.com/auth/compute`, `aud` = `token_uri`, one hour), sent
//!   as `POST {token_uri}` `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`
//!   → `{access_token, expires_in}`, then `Authorization: Bearer …`
//!   (https://developers.google.com/identity/protocols/oauth2/service-account#httprest); kept
//!   until a minute before it expires, dropped when the API answers 401;
//! - `GET instances?maxResults=&pageToken=` → `{items, nextPageToken}` (instances/list), every
//!   configured zone read concurrently; `GET instances/{name}` (instances/get);
//! - `POST instances/{name}/reset|stop|start?requestId=<uuid>` (instances/reset, stop, start)
//!   → an `Operation`; sent once (the `requestId` would make a resend harmless, but paaf does
//!   not rely on it);
//! - `GET operations/{operation}` (zoneOperations/get) until `status` is `DONE`, then its
//!   `error.errors[]` says whether it failed
//!   (https://cloud.google.com/compute/docs/api/how-tos/api-requests-responses#handling_api_responses);
//! - errors `{"error":{"code","message","errors":[{"reason"}],"status"}}`
//!   (https://cloud.google.com/compute/docs/api/handle-errors); a 403's message names the
//!   missing permission (`Required 'compute.instances.reset' permission for …`).
//!
//! Compute Engine has no clean reboot: `reset` is a hard reset, and paaf refuses
//! [`PowerAction::Reboot`] saying so. Its `TERMINATED` means stopped (it can be started
//! again), and a `SUSPENDED` instance is listed as stopped (it needs `resume`, not `start`).
//! Instances are named by their name, which is what the API's paths take.

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PollSettings, PowerAction,
    Server, ServerStatus,
};
use crate::config::{AccountConfig, CloudConfig, CloudEntry, Key};
use crate::error::{Error, ErrorCode, ErrorInfo, Phase, Result};
use crate::events::CancellationToken;
use crate::http::path_segment as segment;
use crate::http::{HttpAuth, HttpFailure, Limits, Request, Response, Retry, Service, oauth};
use crate::secrets::{SecretRef, SecretStore};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Compute Engine's API root.
pub const DEFAULT_ENDPOINT: &str = "https://compute.googleapis.com/";
/// The OAuth scope paaf asks for.
pub const SCOPE: &str = "https://www.googleapis.com/auth/compute";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google's token endpoint, when the key file names none.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// `maxResults` of an instances page (the API's maximum).
pub const DEFAULT_PAGE_SIZE: u32 = 500;
/// Pages of one zone paaf reads at most (a runaway `nextPageToken` loop ends there).
const MAX_PAGES: u32 = 1000;

/// A service account's JSON key, parsed: who signs, with what, for which token endpoint.
/// `Debug` never shows the private key.
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key_id: Option<String>,
    pub token_uri: String,
    signer: EncodingKey,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    client_email: Option<String>,
    #[serde(default)]
    private_key: Option<SecretString>,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

impl ServiceAccountKey {
    /// The key file's JSON (as downloaded from IAM → Service accounts → Keys), for account
    /// `account` in messages. Errors never quote the file.
    pub fn parse(account: &str, json: &SecretString) -> Result<ServiceAccountKey> {
        let fix = "store the JSON key file of a service account (IAM → Service accounts → Keys → Add key → JSON) with `paaf secret set NAME < key.json`";
        let file: KeyFile = serde_json::from_str(json.expose_secret()).map_err(|e| {
            // serde's message may quote a value of the file: only its position is shown.
            Error::invalid(format!(
                "gcp \"{account}\": the credentials are not a service-account JSON key (unreadable at line {} column {}); {fix}",
                e.line(),
                e.column()
            ))
        })?;
        if let Some(kind) = file.kind.as_deref().filter(|k| *k != "service_account") {
            return Err(Error::invalid(format!(
                "gcp \"{account}\": the credentials are a `{kind}` JSON file, not a service-account key; {fix}"
            )));
        }
        let (Some(client_email), Some(private_key)) = (file.client_email, file.private_key) else {
            return Err(Error::invalid(format!(
                "gcp \"{account}\": the credentials lack `client_email` or `private_key`; {fix}"
            )));
        };
        let signer = EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes()).map_err(
            |_| {
                Error::invalid(format!(
                    "gcp \"{account}\": the `private_key` of {client_email} is not an RSA private key in PEM; {fix}"
                ))
            },
        )?;
        Ok(ServiceAccountKey {
            client_email,
            private_key_id: file.private_key_id,
            token_uri: file
                .token_uri
                .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string()),
            signer,
        })
    }
}

/// The claims of the JWT a service account signs for its token.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

/// One GCP project's instances in the configured zones.
pub struct Gcp {
    name: String,
    project: String,
    zones: Vec<String>,
    key: ServiceAccountKey,
    /// The token endpoint's origin, and its path.
    token_service: Service,
    token_path: String,
    base_url: String,
    limits: Limits,
    session: tokio::sync::Mutex<Option<Session>>,
    page_size: u32,
}

/// The API service carrying the current access token, and when to fetch another.
struct Session {
    api: Service,
    refresh_at: Instant,
}

impl fmt::Debug for Gcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gcp")
            .field("name", &self.name)
            .field("project", &self.project)
            .field("zones", &self.zones)
            .field("key", &self.key)
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl CloudAccount for Gcp {
    fn provider(&self) -> &'static str {
        "gcp"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(Gcp::list(self))
    }

    fn read<'a>(&'a self, region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(self.get(region, id))
    }

    fn power<'a>(
        &'a self,
        region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(Gcp::power(self, region, id, action))
    }

    fn settle<'a>(
        &'a self,
        region: &'a str,
        accepted: &'a Accepted,
        settings: PollSettings,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(Gcp::settle(self, region, accepted, settings, cancel))
    }
}

/// What a call is about, for its errors.
#[derive(Clone, Copy)]
struct Call<'a> {
    zone: &'a str,
    instance: Option<&'a str>,
    /// The IAM permission it needs (`compute.instances.reset`).
    permission: &'static str,
    retry: Retry,
}

/// The keys of a `gcp` `[[clouds]]` entry.
#[derive(Debug, Clone)]
pub struct GcpConfig {
    /// The project id (`project`).
    pub project: String,
    /// The zones listed (`regions`, required).
    pub zones: Vec<String>,
    /// The service-account JSON key (`credentials`).
    pub credentials: SecretRef,
    /// Another Compute API URL than [`DEFAULT_ENDPOINT`].
    pub endpoint: Option<String>,
}

impl AccountConfig for GcpConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<GcpConfig> {
        let endpoint = entry.endpoint()?;
        let credentials = entry.secret(Key::Credentials)?;
        Ok(GcpConfig {
            project: entry.needs(
                entry.text(Key::Project),
                ("its project id", "project = \"my-project\""),
            )?,
            zones: entry.needs(
                Some(entry.regions()).filter(|z| !z.is_empty()),
                ("the zones to list", "regions = [\"europe-west1-b\"]"),
            )?,
            credentials: entry.needs(
                credentials,
                (
                    "a service-account JSON key",
                    "credentials = \"keyring:NAME\" (`paaf secret set NAME < key.json`)",
                ),
            )?,
            endpoint,
        })
    }
}

impl Gcp {
    /// The account of a `gcp` `[[clouds]]` entry, at `endpoint` when one is configured.
    pub fn from_config(
        config: &CloudConfig,
        gcp: &GcpConfig,
        secrets: &dyn SecretStore,
    ) -> Result<Gcp> {
        Gcp::connect(
            &config.name,
            gcp.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT),
            &gcp.project,
            &gcp.zones,
            &gcp.credentials.resolve(secrets)?,
            Limits::with_timeout(config.timeout),
        )
    }

    /// The account `name`: the instances of `project` in `zones`, through the Compute API at
    /// `base_url` ([`DEFAULT_ENDPOINT`]), with tokens from the key's own `token_uri`.
    pub fn connect(
        name: &str,
        base_url: &str,
        project: &str,
        zones: &[String],
        credentials: &SecretString,
        limits: Limits,
    ) -> Result<Gcp> {
        let service_name = format!("gcp \"{name}\"");
        if zones.is_empty() {
            return Err(Error::invalid(format!(
                "{service_name}: no zone configured; name at least one, e.g. regions = [\"europe-west1-b\"]"
            )));
        }
        for (i, zone) in zones.iter().enumerate() {
            check_zone(&service_name, zone)?;
            if zones[..i].contains(zone) {
                return Err(Error::invalid(format!(
                    "{service_name}: zone {zone} is named twice"
                )));
            }
        }
        if !valid_project(project) {
            return Err(Error::invalid(format!(
                "{service_name}: `{project}` is not a GCP project id (like my-project-123)"
            )));
        }
        let key = ServiceAccountKey::parse(name, credentials)?;
        let token_url = reqwest::Url::parse(&key.token_uri)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{service_name}: the key's token_uri `{}` is not a URL (Google's is {DEFAULT_TOKEN_URI})",
                    key.token_uri
                ))
            })?;
        // The path is sent as is: a base URL would get a trailing `/` (`…/token/`).
        let origin = token_url.origin().ascii_serialization();
        let token_service = Service::new(
            &format!("{service_name} token endpoint"),
            &origin,
            HttpAuth::None,
            limits.clone(),
        )?;
        // Checked now so a bad URL is a config error, not a failure at 3 a.m.
        Service::new(&service_name, base_url, HttpAuth::None, limits.clone())?;
        Ok(Gcp {
            name: name.to_string(),
            project: project.to_string(),
            zones: zones.to_vec(),
            key,
            token_service,
            token_path: token_url.path().to_string(),
            base_url: base_url.to_string(),
            limits,
            session: tokio::sync::Mutex::new(None),
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// `maxResults` of each instances page (the API takes 1–500).
    pub fn with_page_size(mut self, page_size: u32) -> Gcp {
        self.page_size = page_size.clamp(1, 500);
        self
    }

    fn service_name(&self) -> String {
        format!("gcp \"{}\"", self.name)
    }

    /// Every instance of every configured zone, the zones read concurrently; a zone that
    /// fails is an error row and the others are still listed. Sorted by zone, then name.
    pub async fn list(&self) -> Inventory {
        let reads = self
            .zones
            .iter()
            .map(|zone| async move { (zone.clone(), self.list_zone(zone).await) });
        let mut inventory = Inventory::default();
        for (zone, result) in futures::future::join_all(reads).await {
            match result {
                Ok(servers) => inventory.servers.extend(servers),
                Err(e) => inventory.errors.push(InventoryError {
                    provider: "gcp".into(),
                    account: self.name.clone(),
                    region: Some(zone),
                    error: ErrorInfo::from(&e),
                }),
            }
        }
        inventory
            .servers
            .sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
        inventory
    }

    async fn list_zone(&self, zone: &str) -> Result<Vec<Server>> {
        let call = Call {
            zone,
            instance: None,
            permission: "compute.instances.list",
            retry: Retry::Idempotent,
        };
        let mut servers = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut request = Request::get(self.zone_path(zone, "instances"))
                .query("maxResults", self.page_size.to_string());
            if let Some(t) = &token {
                request = request.query("pageToken", t.clone());
            }
            let page: InstanceList = self.decode(&self.call(request, call).await?)?;
            servers.extend(page.items.into_iter().map(|i| self.server_of(zone, i)));
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                Some(_) => {
                    return Err(Error::MalformedResponse {
                        what: self.service_name(),
                        reason: format!(
                            "instances.list of zone {zone} returned the same nextPageToken twice"
                        ),
                    });
                }
                None => return Ok(servers),
            }
        }
        Err(Error::MalformedResponse {
            what: self.service_name(),
            reason: format!("instances.list of zone {zone} kept paging past {MAX_PAGES} pages"),
        })
    }

    /// The instance `name` in `zone`, read now.
    pub async fn get(&self, zone: &str, name: &str) -> Result<Server> {
        self.check_target(zone, name)?;
        let call = Call {
            zone,
            instance: Some(name),
            permission: "compute.instances.get",
            retry: Retry::Idempotent,
        };
        let path = self.zone_path(zone, &format!("instances/{}", segment(name)));
        let instance: Instance = self.decode(&self.call(Request::get(path), call).await?)?;
        Ok(self.server_of(zone, instance))
    }

    /// Sends `action` for instance `name` in `zone` once and returns the operation Compute
    /// Engine started. A failure after the request may have reached Google is
    /// `outcome-unknown`; an operation that failed at once is its error.
    pub async fn power(&self, zone: &str, name: &str, action: PowerAction) -> Result<Accepted> {
        let (verb, permission) = match action {
            PowerAction::HardReboot => ("reset", "compute.instances.reset"),
            PowerAction::Stop => ("stop", "compute.instances.stop"),
            PowerAction::Start => ("start", "compute.instances.start"),
            PowerAction::Reboot => {
                return Err(Error::invalid(format!(
                    "Compute Engine has no clean reboot (instance {name}): use hard-reboot (a reset, like pressing the reset button, without a clean shutdown), or stop then start, or reboot it over SSH"
                )));
            }
        };
        self.check_target(zone, name)?;
        let call = Call {
            zone,
            instance: Some(name),
            permission,
            retry: Retry::NotIdempotent,
        };
        let path = self.zone_path(zone, &format!("instances/{}/{verb}", segment(name)));
        let request = Request::post(path, Retry::NotIdempotent)
            .query("requestId", uuid::Uuid::new_v4().to_string())
            // Google's front end answers 411 to a POST without a length, and the client
            // sends none for an empty body.
            .header("content-length", "0");
        let operation: Operation = self.decode(&self.call(request, call).await?)?;
        self.check_operation(&operation, zone, name, action)?;
        tracing::info!(account = %self.name, zone, name, action = action.as_str(), operation = %operation.name, "accepted");
        Ok(Accepted {
            action,
            id: name.to_string(),
            status: None,
            raw_state: None,
            operation: Some(operation.name),
        })
    }

    /// Reads the operation of `accepted` every `settings.interval` until it is `DONE`; a
    /// failed operation is its error, naming the instance.
    pub async fn settle(
        &self,
        zone: &str,
        accepted: &Accepted,
        settings: PollSettings,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let Some(name) = &accepted.operation else {
            return Ok(());
        };
        self.check_target(zone, &accepted.id)?;
        let what = || {
            format!(
                "waiting for operation {name} ({} of {} in {zone}, {})",
                accepted.action.as_str(),
                accepted.id,
                self.service_name()
            )
        };
        let call = Call {
            zone,
            instance: None,
            permission: "compute.zoneOperations.get",
            retry: Retry::Idempotent,
        };
        let path = self.zone_path(zone, &format!("operations/{}", segment(name)));
        let started = Instant::now();
        loop {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled { what: what() });
            }
            let response = tokio::select! {
                r = self.call(Request::get(path.clone()), call) => r?,
                _ = cancel.cancelled() => return Err(Error::Cancelled { what: what() }),
            };
            let operation: Operation = self.decode(&response)?;
            if operation.status == "DONE" {
                return self.check_operation(&operation, zone, &accepted.id, accepted.action);
            }
            if started.elapsed() + settings.interval > settings.timeout {
                return Err(Error::Timeout {
                    host: format!(
                        "{} in {zone} ({}: operation {name} still {})",
                        accepted.id,
                        self.service_name(),
                        operation.status
                    ),
                    phase: match accepted.action.target() {
                        ServerStatus::Stopped => Phase::Shutdown,
                        _ => Phase::Boot,
                    },
                    after: settings.timeout,
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(settings.interval) => {}
                _ = cancel.cancelled() => {}
            }
        }
    }

    /// A `DONE` operation with errors as the typed error of its HTTP status.
    fn check_operation(
        &self,
        operation: &Operation,
        zone: &str,
        instance: &str,
        action: PowerAction,
    ) -> Result<()> {
        let Some(first) = operation.error.as_ref().and_then(|e| e.errors.first()) else {
            return Ok(());
        };
        let code = match operation.http_error_status_code {
            Some(401) => ErrorCode::AuthFailed,
            Some(403) => ErrorCode::PermissionDenied,
            Some(404) => ErrorCode::NotFound,
            Some(409 | 412) => ErrorCode::Conflict,
            Some(429) => ErrorCode::RateLimited,
            _ => ErrorCode::ServiceFailed,
        };
        let message: String = first
            .message
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        Err(Error::Service {
            service: self.service_name(),
            code,
            status: operation.http_error_status_code.unwrap_or_default(),
            message: format!(
                "the {} of instance {instance} in zone {zone} failed (operation {}): {}: {message}",
                action.as_str(),
                operation.name,
                first.code
            ),
        })
    }

    /// Refuses a zone paaf does not list, or what cannot be an instance name, before
    /// anything is sent.
    fn check_target(&self, zone: &str, name: &str) -> Result<()> {
        if !self.zones.iter().any(|z| z == zone) {
            return Err(Error::invalid(format!(
                "{}: zone {zone} is not configured (configured: {})",
                self.service_name(),
                self.zones.join(", ")
            )));
        }
        let valid = !name.is_empty()
            && name.len() <= 63
            && (name.bytes().all(|b| b.is_ascii_digit())
                || (name.starts_with(|c: char| c.is_ascii_lowercase())
                    && !name.ends_with('-')
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')));
        if valid {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "`{name}` is not a Compute Engine instance name (lowercase letters, digits and dashes, like web-1)"
            )))
        }
    }

    fn zone_path(&self, zone: &str, rest: &str) -> String {
        format!(
            "compute/v1/projects/{}/zones/{}/{rest}",
            segment(&self.project),
            segment(zone)
        )
    }

    /// The API service with a valid token, fetching one when there is none or it is about
    /// to expire.
    async fn api(&self) -> Result<Service> {
        let mut session = self.session.lock().await;
        if let Some(s) = session.as_ref()
            && Instant::now() < s.refresh_at
        {
            return Ok(s.api.clone());
        }
        let (token, expires_in) = self.fetch_token().await?;
        let api = Service::new(
            &self.service_name(),
            &self.base_url,
            HttpAuth::Bearer(token),
            self.limits.clone(),
        )?;
        *session = Some(Session {
            api: api.clone(),
            refresh_at: oauth::refresh_at(expires_in),
        });
        Ok(api)
    }

    async fn fetch_token(&self) -> Result<(SecretString, Duration)> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            iss: &self.key.client_email,
            scope: SCOPE,
            aud: &self.key.token_uri,
            iat,
            exp: iat + 3600,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key.private_key_id.clone();
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key.signer).map_err(|e| {
            Error::other(format!(
                "{}: could not sign the token request with the key of {}: {e}",
                self.service_name(),
                self.key.client_email
            ))
        })?;
        // Asking for a token twice is harmless: retried like a read.
        let request = Request::form(
            self.token_path.clone(),
            &[("grant_type", GRANT_TYPE), ("assertion", &assertion)],
            Retry::Idempotent,
        );
        let response = match self.token_service.send_raw(request).await? {
            Ok(response) => response,
            Err(failure) => return Err(self.token_failure(&failure)),
        };
        oauth::access_token(&response, self.token_service.name(), || {
            "it returned an empty access_token".into()
        })
    }

    fn token_failure(&self, failure: &HttpFailure) -> Error {
        if !matches!(failure.status, 400 | 401 | 403) {
            return self.token_service.status_error(failure);
        }
        let said = oauth::error_said(&failure.full_body).unwrap_or_else(|| failure.body.clone());
        let said: String = said.chars().take(300).collect();
        Error::Service {
            service: self.token_service.name().to_string(),
            code: ErrorCode::AuthFailed,
            status: failure.status,
            message: format!(
                "Google refused the service-account key of {} (HTTP {}: {said}); check that the key has not been deleted or disabled (IAM → Service accounts → Keys), that the service account exists and is enabled, and that this machine's clock is right",
                self.key.client_email, failure.status
            ),
        }
    }

    /// One call with the current token; a failed status becomes its typed error.
    async fn call(&self, request: Request, call: Call<'_>) -> Result<Response> {
        let api = self.api().await?;
        match api.send_raw(request).await? {
            Ok(response) => Ok(response),
            Err(failure) => {
                if failure.status == 401 {
                    // The token was revoked or expired early: the next call fetches another.
                    *self.session.lock().await = None;
                }
                Err(self.failure(&api, &failure, call))
            }
        }
    }

    fn failure(&self, api: &Service, failure: &HttpFailure, call: Call<'_>) -> Error {
        let body = failure.json::<ErrorBody>().map(|b| b.error);
        let message: String = body
            .as_ref()
            .and_then(|b| b.message.clone())
            .unwrap_or_else(|| failure.body.clone())
            .chars()
            .take(300)
            .collect();
        let reason = body
            .as_ref()
            .and_then(|b| b.errors.iter().find_map(|e| e.reason.clone()))
            .unwrap_or_default();
        let service = self.service_name();
        let (code, hint) = match failure.status {
            401 => (
                ErrorCode::AuthFailed,
                format!(
                    "the access token of {} was refused: check that its key has not been deleted or disabled",
                    self.key.client_email
                ),
            ),
            403 if matches!(
                reason.as_str(),
                "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded"
            ) =>
            {
                (
                    ErrorCode::RateLimited,
                    "Compute Engine limits the request rate of this project: wait and try again"
                        .into(),
                )
            }
            403 => {
                let permission =
                    permission_in(&message).unwrap_or_else(|| call.permission.to_string());
                (
                    ErrorCode::PermissionDenied,
                    format!(
                        "the service account {} lacks the permission {permission} in project {}: grant it a role that has it (e.g. roles/compute.instanceAdmin.v1)",
                        self.key.client_email, self.project
                    ),
                )
            }
            404 => match call.instance {
                Some(instance) => {
                    return Error::NotFound {
                        what: "Compute Engine instance",
                        name: instance.to_string(),
                        hint: Some(format!(
                            "not in zone {} of project {} ({service}): check the name and the zone",
                            call.zone, self.project
                        )),
                    };
                }
                None => (
                    ErrorCode::NotFound,
                    format!(
                        "check the project id ({}) and zone {}",
                        self.project, call.zone
                    ),
                ),
            },
            409 | 412 => (
                ErrorCode::Conflict,
                "another operation on it is in progress, or it changed meanwhile: look at its state and try again".into(),
            ),
            400 if reason == "resourceNotReady" => (
                ErrorCode::Conflict,
                "its current state does not allow this: read its state and wait until it is running or stopped".into(),
            ),
            429 => (
                ErrorCode::RateLimited,
                "Compute Engine limits the request rate of this project: wait and try again"
                    .into(),
            ),
            s if s >= 500 && call.retry == Retry::NotIdempotent => {
                return Error::OutcomeUnknown {
                    what: format!(
                        "{} of {} in zone {} ({service})",
                        call.permission.trim_start_matches("compute.instances."),
                        call.instance.unwrap_or("the instance"),
                        call.zone
                    ),
                    reason: format!("HTTP {}: {message}", failure.status),
                };
            }
            _ => return api.status_error(failure),
        };
        let subject = match call.instance {
            Some(i) => format!("instance {i} in zone {}", call.zone),
            None => format!("zone {}", call.zone),
        };
        Error::Service {
            service,
            code,
            status: failure.status,
            message: format!("{subject}: HTTP {}: {message}; {hint}", failure.status),
        }
    }

    fn decode<T: for<'de> Deserialize<'de>>(&self, response: &Response) -> Result<T> {
        response.json(&self.service_name())
    }

    fn server_of(&self, zone: &str, i: Instance) -> Server {
        let mut public_ips = Vec::new();
        let mut private_ips = Vec::new();
        for nic in i.network_interfaces {
            private_ips.extend(nic.network_ip.filter(|ip| !ip.is_empty()));
            public_ips.extend(
                nic.access_configs
                    .into_iter()
                    .filter_map(|a| a.nat_ip)
                    .filter(|ip| !ip.is_empty()),
            );
        }
        let launched_at_ms = i
            .last_start_timestamp
            .or(i.creation_timestamp)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.timestamp_millis());
        Server {
            provider: "gcp".into(),
            account: self.name.clone(),
            region: zone.to_string(),
            id: i.name.clone(),
            name: Some(i.name),
            status: normalize(&i.status),
            raw_state: i.status,
            public_ips,
            private_ips,
            tags: i.labels,
            launched_at_ms,
        }
    }
}

/// Compute Engine's instance `status` as a normalized status.
pub fn normalize(status: &str) -> ServerStatus {
    match status {
        "RUNNING" => ServerStatus::Running,
        // TERMINATED is Compute Engine's stopped: the instance can be started again.
        "TERMINATED" | "SUSPENDED" => ServerStatus::Stopped,
        "PROVISIONING" | "STAGING" | "REPAIRING" => ServerStatus::Pending,
        "STOPPING" | "SUSPENDING" => ServerStatus::Stopping,
        _ => ServerStatus::Unknown,
    }
}

/// The permission a 403's message names (`Required 'compute.instances.reset' permission`).
fn permission_in(message: &str) -> Option<String> {
    let start = message.find("compute.")?;
    let permission: String = message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    (permission.matches('.').count() >= 2).then_some(permission)
}

fn check_zone(service_name: &str, zone: &str) -> Result<()> {
    let valid = !zone.is_empty()
        && zone.len() <= 63
        && zone
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{service_name}: `{zone}` is not a GCP zone name (like europe-west1-b)"
        )))
    }
}

/// A project id (`my-project-123`), or a domain-scoped one (`example.com:my-project`).
fn valid_project(project: &str) -> bool {
    !project.is_empty()
        && project.len() <= 100
        && project
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b))
}

// ---- Google's JSON, as much of it as paaf reads (unknown fields are skipped) ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstanceList {
    #[serde(default)]
    items: Vec<Instance>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instance {
    name: String,
    status: String,
    #[serde(default)]
    network_interfaces: Vec<NetworkInterface>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    last_start_timestamp: Option<String>,
    #[serde(default)]
    creation_timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetworkInterface {
    #[serde(rename = "networkIP", default)]
    network_ip: Option<String>,
    #[serde(default)]
    access_configs: Vec<AccessConfig>,
}

#[derive(Deserialize)]
struct AccessConfig {
    #[serde(rename = "natIP", default)]
    nat_ip: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Operation {
    name: String,
    status: String,
    #[serde(default)]
    error: Option<OperationErrors>,
    #[serde(default)]
    http_error_status_code: Option<u16>,
}

#[derive(Deserialize)]
struct OperationErrors {
    #[serde(default)]
    errors: Vec<OperationError>,
}

#[derive(Deserialize)]
struct OperationError {
    code: String,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: GoogleError,
}

#[derive(Deserialize)]
struct GoogleError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<GoogleErrorItem>,
}

#[derive(Deserialize)]
struct GoogleErrorItem {
    #[serde(default)]
    reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = include_str!("../../tests/fixtures/gcp-test-key.pem");

    fn key_json() -> SecretString {
        SecretString::from(
            serde_json::json!({
                "type": "service_account",
                "project_id": "shop-prod",
                "private_key_id": "0123abcd",
                "private_key": PEM,
                "client_email": "paaf@shop-prod.iam.gserviceaccount.com",
                "token_uri": "https://oauth2.googleapis.com/token",
            })
            .to_string(),
        )
    }

    fn gcp() -> Gcp {
        Gcp::connect(
            "prod",
            DEFAULT_ENDPOINT,
            "shop-prod",
            &["europe-west1-b".to_string()],
            &key_json(),
            Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn every_documented_status_is_normalized() {
        // https://cloud.google.com/compute/docs/instances/instance-life-cycle
        for (raw, status) in [
            ("PROVISIONING", ServerStatus::Pending),
            ("STAGING", ServerStatus::Pending),
            ("RUNNING", ServerStatus::Running),
            ("STOPPING", ServerStatus::Stopping),
            ("SUSPENDING", ServerStatus::Stopping),
            ("SUSPENDED", ServerStatus::Stopped),
            ("REPAIRING", ServerStatus::Pending),
            ("TERMINATED", ServerStatus::Stopped),
            ("SOMETHING_NEW", ServerStatus::Unknown),
        ] {
            assert_eq!(normalize(raw), status, "{raw}");
        }
    }

    #[test]
    fn the_private_key_appears_neither_in_debug_nor_in_errors() {
        let debug = format!("{:?}", gcp());
        assert!(
            !debug.contains("PRIVATE KEY") && !debug.contains(&PEM[40..80]),
            "{debug}"
        );
        assert!(
            debug.contains("paaf@shop-prod.iam.gserviceaccount.com"),
            "{debug}"
        );
        // A key file that does not parse is refused without quoting it.
        let broken =
            SecretString::from(format!("{{\"private_key\": 5, \"x\": \"{}\"", &PEM[40..80]));
        let e = ServiceAccountKey::parse("prod", &broken).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(!e.to_string().contains(&PEM[40..80]), "{e}");
        let not_rsa = SecretString::from(
            serde_json::json!({"client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"}).to_string(),
        );
        let e = ServiceAccountKey::parse("prod", &not_rsa).unwrap_err();
        assert!(e.to_string().contains("not an RSA private key"), "{e}");
        assert!(!e.to_string().contains("not a key"), "{e}");
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_sent() {
        let g = gcp();
        assert!(g.check_target("europe-west1-b", "web-1").is_ok());
        assert!(g.check_target("europe-west1-b", "4567890123456789").is_ok());
        for (zone, name) in [
            ("europe-west1-c", "web-1"),
            ("europe-west1-b", "Web-1"),
            ("europe-west1-b", "web-1/stop"),
            ("europe-west1-b", "web-"),
            ("europe-west1-b", ""),
        ] {
            assert_eq!(
                g.check_target(zone, name).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{zone} {name}"
            );
        }
        let connect = |project: &str, zones: &[&str]| {
            Gcp::connect(
                "prod",
                DEFAULT_ENDPOINT,
                project,
                &zones.iter().map(|z| z.to_string()).collect::<Vec<_>>(),
                &key_json(),
                Limits::default(),
            )
        };
        for e in [
            connect("shop-prod", &[]).unwrap_err(),
            connect("shop-prod", &["europe-west1-b", "europe-west1-b"]).unwrap_err(),
            connect("shop-prod", &["europe-west1-b/../x"]).unwrap_err(),
            connect("shop/prod", &["europe-west1-b"]).unwrap_err(),
        ] {
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
        }
    }

    #[test]
    fn a_forbidden_message_names_its_permission() {
        assert_eq!(
            permission_in("Required 'compute.instances.reset' permission for 'projects/p/zones/z/instances/web-1'").as_deref(),
            Some("compute.instances.reset")
        );
        assert_eq!(permission_in("Forbidden"), None);
    }
}
