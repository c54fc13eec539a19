//! DevCycle (Management API, `https://api.devcycle.com`): the features of one project with
//! their status in each environment, and the on/off switch (`status` active/inactive) of one
//! feature in one environment.
//!
//! Config keys (one `[[flags]]` entry):
//! - `kind = "devcycle"`, `name = "…"`;
//! - `url = "https://api.devcycle.com"` (the Management API root, without `/v1`);
//! - `client_id = "…"` (Organization settings → API Authentication → Client ID; not a secret);
//! - `client_secret = "keyring:…"` (the matching Client Secret; never an SDK key);
//! - `project = "…"` (the project key or id listed by default; a [`FlagRef`] or
//!   [`FlagFilter`] may name another project of the same organization);
//! - `auth_url = "https://auth.devcycle.com/"` (optional; [`DEFAULT_AUTH_URL`]).
//!
//! Endpoints (https://docs.devcycle.com/management-api/, and the generated client of the
//! DevCycle CLI, github.com/DevCycleHQ/cli `src/api/zodClientAPI.ts`, `src/api/targeting.ts`):
//! - `POST {auth_url}oauth/token` `{"grant_type":"client_credentials","client_id",
//!   "client_secret","audience":"https://api.devcycle.com/"}` → `{access_token, expires_in}`
//!   (an Auth0 tenant), sent as `Authorization: <access_token>` (no `Bearer`);
//! - `GET v1/projects/{p}/environments?page&perPage` → `[{_id, key, name}]`;
//! - `GET v1/projects/{p}/features?page&perPage` (perPage ≤ 1000) → `[{_id, key, name,
//!   description, tags, configurations?: [{_environment, status}]}]`, a bare array: the last
//!   page is the first shorter than `perPage`;
//! - `GET v1/projects/{p}/features/{f}/configurations[?environment=e]` → `[{_feature,
//!   _environment, status: "active"|"inactive", …}]`;
//! - `PATCH v1/projects/{p}/features/{f}/configurations?environment=e` `{"status": …}` →
//!   the configuration.
//!
//! The token is fetched on first use, kept until shortly before `expires_in`, and fetched
//! again once when the API answers 401. Each token gets its own [`Service`] whose auth is
//! `HttpAuth::Header { authorization: token }`: the token then lives in a `SecretString`
//! like every other credential, is redacted from echoed error bodies, and never sits in a
//! plain `Request` header (which `Debug` would print); the cost is one connection pool per
//! token, i.e. per day or so.
//!
//! DevCycle has no conditional write for a configuration's status (`UpdateFeatureConfigDto`
//! is `{status, targets}`: no version, no `If-Match`), so [`FlagBackend::set`] is best effort:
//! it takes its token first, then re-reads the status and writes with that same token, so no
//! token request falls between the read and the write; the write is sent once (a timed-out
//! write is reported `outcome-unknown` rather than resent past the check), and a write refused
//! for an expired token is sent again only after a new read.

use super::{
    CONFLICT_FIX, ChangeNote, Flag, FlagBackend, FlagEnvironment, FlagFilter, FlagRef, FlagState,
    Pager, Refusal, Subject, asks_for_approval, no_environment, outcome_about, project_or,
    require_names, still_needed, vendor_said,
};
use crate::config::FlagsEntry;
use crate::error::{Error, ErrorCode, Result};
use crate::http::path_segment as segment;
use crate::http::{
    HttpAuth, HttpFailure, Limits, Method, Request, Response, Retry, Service, oauth,
};
use crate::secrets::{SecretRef, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// The Management API root, when the config names none.
pub const DEFAULT_URL: &str = "https://api.devcycle.com";
/// Where DevCycle issues Management API tokens.
pub const DEFAULT_AUTH_URL: &str = "https://auth.devcycle.com/";
/// The `audience` DevCycle's token endpoint expects.
const AUDIENCE: &str = "https://api.devcycle.com/";
const PER_PAGE: usize = 1000;

/// `[[flags]] type = "devcycle"`: the Management API root, the API client's credentials, the
/// project, and where tokens come from.
#[derive(Debug, Clone)]
pub struct DevCycleConfig {
    pub url: String,
    pub client_id: String,
    pub client_secret: SecretRef,
    /// The project key or id listed by default.
    pub project: String,
    /// The token endpoint's base URL ([`DEFAULT_AUTH_URL`] unless configured).
    pub auth_url: String,
}

impl DevCycleConfig {
    /// The entry's DevCycle settings; client credentials and a project are required.
    pub(crate) fn validate(entry: &FlagsEntry<'_>) -> Result<DevCycleConfig> {
        let (client_id, client_secret) = entry.client_credentials()?;
        Ok(DevCycleConfig {
            url: entry.url.clone(),
            client_id,
            client_secret,
            project: entry.required_project("its project key", "project = \"my-project\"")?,
            auth_url: entry
                .auth_url
                .clone()
                .unwrap_or_else(|| DEFAULT_AUTH_URL.into()),
        })
    }

    /// The organization's Management API, with the client secret from the secret store.
    pub(crate) fn connect(
        &self,
        name: &str,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<DevCycle> {
        DevCycle::connect(
            name,
            &self.url,
            &self.client_id,
            self.client_secret.resolve(secrets)?,
            limits,
            &self.project,
            &self.auth_url,
        )
    }
}

const SDK_KEY_EXPLAINED: &str = "this is a DevCycle SDK key (`dvc_server_…`, `dvc_client_…` or `dvc_mobile_…`), which only reads flag values; paaf needs Management API credentials: in DevCycle open Organization settings → API Authentication and copy the Client ID and Client Secret";

/// One DevCycle organization's Management API, listing one project by default.
pub struct DevCycle {
    name: String,
    project: String,
    base_url: String,
    limits: Limits,
    auth: Service,
    client_id: String,
    client_secret: SecretString,
    session: tokio::sync::Mutex<Option<Session>>,
}

impl std::fmt::Debug for DevCycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCycle")
            .field("name", &self.name)
            .field("project", &self.project)
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// The API service carrying the current access token, and when to fetch another.
struct Session {
    api: Service,
    refresh_at: Instant,
    generation: u64,
}

/// What kind of DevCycle credential a string looks like (by its format only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `dvc_server_…`, `dvc_client_…`, `dvc_mobile_…` (or the older `server-`, `client-`,
    /// `mobile-` followed by a UUID): an SDK key, refused by the Management API.
    Sdk,
    /// Anything else: left to the token endpoint to judge.
    Other,
}

/// The kind of DevCycle credential `key` looks like.
pub fn key_kind(key: &str) -> KeyKind {
    let key = key.trim();
    if ["dvc_server_", "dvc_client_", "dvc_mobile_"]
        .iter()
        .any(|p| key.starts_with(p))
    {
        return KeyKind::Sdk;
    }
    for prefix in ["server-", "client-", "mobile-"] {
        if let Some(rest) = key.strip_prefix(prefix)
            && looks_like_uuid(rest)
        {
            return KeyKind::Sdk;
        }
    }
    KeyKind::Other
}

fn looks_like_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[derive(Deserialize)]
struct Environment {
    #[serde(rename = "_id")]
    id: String,
    key: String,
}

/// An item of a paged list, known by its key.
trait Keyed {
    fn key(&self) -> &str;
}

impl Keyed for Environment {
    fn key(&self) -> &str {
        &self.key
    }
}

impl Keyed for Feature {
    fn key(&self) -> &str {
        &self.key
    }
}

#[derive(Deserialize)]
struct Feature {
    key: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    configurations: Option<Vec<Configuration>>,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(rename = "_environment", default)]
    environment: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// Where a NestJS error body (`{statusCode, message, error}`) puts its words; `message` may be
/// a string, a list of strings, or an object.
const FIELDS: &[&str] = &["message", "error"];

/// What this API calls a flag, in messages.
const NOUN: &str = "feature";

impl DevCycle {
    /// The backend `name` (as configured) over the Management API at `base_url`
    /// (`https://api.devcycle.com`), with tokens from `auth_url` ([`DEFAULT_AUTH_URL`]) for
    /// the API client `client_id`/`client_secret`, listing `project` by default. Refuses an
    /// SDK key given as either credential before any request.
    pub fn connect(
        name: &str,
        base_url: &str,
        client_id: &str,
        client_secret: SecretString,
        limits: Limits,
        project: &str,
        auth_url: &str,
    ) -> Result<DevCycle> {
        let service_name = format!("devcycle \"{name}\"");
        if key_kind(client_secret.expose_secret()) == KeyKind::Sdk
            || key_kind(client_id) == KeyKind::Sdk
        {
            return Err(Error::invalid(format!(
                "{service_name}: {SDK_KEY_EXPLAINED}"
            )));
        }
        for (what, value) in [("client_id", client_id), ("project", project)] {
            if value.trim().is_empty() {
                return Err(Error::invalid(format!(
                    "{service_name}: set `{what}` (see DevCycle's Organization settings → API Authentication, and the project's key)"
                )));
            }
        }
        if client_secret.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "{service_name}: set `client_secret` (a `keyring:…` reference to the API client's secret)"
            )));
        }
        // Checked now so a bad URL is a config error, not a failure at 3 a.m.
        Service::new(&service_name, base_url, HttpAuth::None, limits.clone())?;
        let auth = Service::new(&service_name, auth_url, HttpAuth::None, limits.clone())?;
        Ok(DevCycle {
            name: name.to_string(),
            project: project.to_string(),
            base_url: base_url.to_string(),
            limits,
            auth,
            client_id: client_id.to_string(),
            client_secret,
            session: tokio::sync::Mutex::new(None),
        })
    }

    fn service_name(&self) -> &str {
        self.auth.name()
    }

    /// The service with a valid token, fetching one when there is none or it is about to
    /// expire; with its generation, to drop exactly that one on a 401.
    async fn api(&self, subject: &Subject<'_>) -> Result<(Service, u64)> {
        let mut session = self.session.lock().await;
        if let Some(s) = session.as_ref()
            && Instant::now() < s.refresh_at
        {
            return Ok((s.api.clone(), s.generation));
        }
        let generation = session.as_ref().map_or(1, |s| s.generation + 1);
        let (token, expires_in) = self.fetch_token(subject).await?;
        let api = Service::new(
            self.service_name(),
            &self.base_url,
            HttpAuth::Header {
                name: "authorization".into(),
                value: token,
            },
            self.limits.clone(),
        )?;
        *session = Some(Session {
            api: api.clone(),
            refresh_at: oauth::refresh_at(expires_in),
            generation,
        });
        Ok((api, generation))
    }

    /// Forgets the token of `generation` (refused with a 401), unless a newer one replaced it.
    async fn drop_token(&self, generation: u64) {
        let mut session = self.session.lock().await;
        if session.as_ref().is_some_and(|s| s.generation == generation) {
            // Keep the generation counting up: refresh_at in the past forces a new fetch.
            if let Some(s) = session.as_mut() {
                s.refresh_at = Instant::now();
            }
        }
    }

    async fn fetch_token(&self, subject: &Subject<'_>) -> Result<(SecretString, Duration)> {
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose_secret(),
            "audience": AUDIENCE,
        });
        // Asking for a token twice is harmless: retried like a read.
        let request = Request {
            method: Method::POST,
            path: "oauth/token".into(),
            query: Vec::new(),
            json: Some(body),
            form: None,
            headers: Vec::new(),
            retry: Retry::Idempotent,
        };
        let response = match self.auth.send_raw(request).await? {
            Ok(response) => response,
            Err(failure) => return Err(self.token_failure(&failure, subject)),
        };
        oauth::access_token(&response, self.service_name(), || {
            format!("its token endpoint returned an empty access_token ({subject})")
        })
    }

    fn token_failure(&self, failure: &HttpFailure, subject: &Subject<'_>) -> Error {
        let body = self.redact_secret(&failure.body);
        let said = oauth::error_said(&body).unwrap_or_else(|| body.clone());
        let service = self.service_name().to_string();
        match failure.status {
            400 | 401 | 403 => Error::Service {
                service,
                code: ErrorCode::AuthFailed,
                status: failure.status,
                message: format!(
                    "{subject}: DevCycle's token endpoint refused the API client (HTTP {}: {said}); check `client_id` and `client_secret` (Organization settings → API Authentication) and that `auth_url` is {DEFAULT_AUTH_URL}",
                    failure.status
                ),
            },
            _ => self
                .auth
                .status_error(&HttpFailure {
                    body,
                    ..failure.clone()
                })
                .about(format_args!("{subject}: fetching an API token")),
        }
    }

    fn redact_secret(&self, text: &str) -> String {
        let secret = self.client_secret.expose_secret();
        if secret.is_empty() {
            text.to_string()
        } else {
            text.replace(secret, "[redacted]")
        }
    }

    /// Sends `request` with the current token; on a 401, fetches a new token and sends it
    /// once more (a 401 means the request was not processed, so that is safe for writes).
    /// Returns the service used, so its status errors redact the right token.
    async fn send(
        &self,
        request: Request,
        subject: &Subject<'_>,
    ) -> Result<(Service, std::result::Result<Response, HttpFailure>)> {
        let (api, generation) = self.api(subject).await?;
        match api.send_raw(request.clone()).await? {
            Err(failure) if failure.status == 401 => {
                tracing::info!(service = %self.service_name(), "token refused; fetching a new one");
                self.drop_token(generation).await;
                let (api, _) = self.api(subject).await?;
                let outcome = api.send_raw(request).await?;
                Ok((api, outcome))
            }
            outcome => Ok((api, outcome)),
        }
    }

    /// A GET decoded as `T`; a 404 is handed back for the caller to say what was not found.
    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        request: Request,
        subject: &Subject<'_>,
    ) -> Result<std::result::Result<T, HttpFailure>> {
        match self.send(request, subject).await? {
            (api, Ok(response)) => Ok(Ok(response.json(api.name())?)),
            (_, Err(failure)) if failure.status == 404 => Ok(Err(failure)),
            (api, Err(failure)) => Err(self.failure(&api, &failure, subject)),
        }
    }

    /// Every item of a paged list (`page`, `perPage`; a bare array per page).
    async fn all_pages<T: for<'de> Deserialize<'de> + Keyed>(
        &self,
        path: &str,
        subject: &Subject<'_>,
    ) -> Result<std::result::Result<Vec<T>, HttpFailure>> {
        let mut items = Vec::new();
        let mut pager = Pager::new(self.service_name());
        for page in 1.. {
            let request = Request::get(path)
                .query("page", page.to_string())
                .query("perPage", PER_PAGE.to_string());
            match self.get::<Vec<T>>(request, subject).await? {
                Ok(batch) => {
                    pager.page(batch.iter().map(Keyed::key))?;
                    let last = batch.len() < PER_PAGE;
                    items.extend(batch);
                    if last {
                        break;
                    }
                }
                Err(failure) => return Ok(Err(failure)),
            }
        }
        Ok(Ok(items))
    }

    fn project_path(project: &str) -> String {
        format!("v1/projects/{}", segment(project))
    }

    fn configurations_path(project: &str, key: &str) -> String {
        format!(
            "{}/features/{}/configurations",
            Self::project_path(project),
            segment(key)
        )
    }

    /// The project's environments (`_id`, `key`); a 404 means the project is unknown.
    async fn environments(&self, project: &str) -> Result<Vec<Environment>> {
        let subject = Subject::project(NOUN, project);
        let path = format!("{}/environments", Self::project_path(project));
        match self.all_pages::<Environment>(&path, &subject).await? {
            Ok(envs) => Ok(envs),
            Err(failure) => Err(self.project_not_found(project, &failure)),
        }
    }

    fn project_not_found(&self, project: &str, failure: &HttpFailure) -> Error {
        Error::NotFound {
            what: "DevCycle project",
            name: project.to_string(),
            hint: Some(format!(
                "{} answered 404 ({}); use the project's key or id as shown in DevCycle, and check the API client belongs to its organization",
                self.service_name(),
                vendor_said(&failure.body, FIELDS)
            )),
        }
    }

    fn environment_not_found(&self, subject: &Subject<'_>, known: &[String]) -> Error {
        no_environment("DevCycle environment", self.service_name(), subject, known)
    }

    /// A 404 on a feature's configurations: the project, the environment or the feature is
    /// unknown; one more read says which.
    async fn flag_not_found(&self, subject: &Subject<'_>, failure: &HttpFailure) -> Error {
        let envs = match self.environments(subject.project).await {
            Ok(envs) => envs,
            Err(e) => return e,
        };
        if let Some(env) = subject.environment
            && !envs.iter().any(|e| e.key == env || e.id == env)
        {
            let known: Vec<String> = envs.into_iter().map(|e| e.key).collect();
            return self.environment_not_found(subject, &known);
        }
        Error::NotFound {
            what: "DevCycle feature",
            name: subject.key.unwrap_or_default().to_string(),
            hint: Some(format!(
                "{} answered for {subject}: {}",
                self.service_name(),
                vendor_said(&failure.body, FIELDS)
            )),
        }
    }

    /// The configurations of one feature (in one environment, or all).
    async fn configurations(&self, subject: &Subject<'_>, key: &str) -> Result<Vec<Configuration>> {
        let mut request = Request::get(Self::configurations_path(subject.project, key));
        if let Some(env) = subject.environment {
            request = request.query("environment", env);
        }
        match self.get::<Vec<Configuration>>(request, subject).await? {
            Ok(configs) => Ok(configs),
            Err(failure) => Err(self.flag_not_found(subject, &failure).await),
        }
    }

    /// The failure of a request about `subject`, explained.
    fn failure(&self, api: &Service, failure: &HttpFailure, subject: &Subject<'_>) -> Error {
        let refusal = match failure.status {
            401 => Refusal {
                code: ErrorCode::AuthFailed,
                what: "the API refused a freshly issued token",
                fix: "check that the API client's organization owns this project".into(),
            },
            403 | 409 | 412 if asks_for_approval(&failure.body) => Refusal {
                code: ErrorCode::Conflict,
                what: "this project requires an approved change request (Approval Workflows), so paaf cannot switch it directly; nothing was changed",
                fix: "open https://app.devcycle.com to request (or approve) the change".into(),
            },
            403 => Refusal {
                code: ErrorCode::PermissionDenied,
                what: "the API client lacks the permission",
                fix: "give it a role that may publish changes in this project and environment"
                    .into(),
            },
            404 => Refusal {
                code: ErrorCode::NotFound,
                what: "not found",
                fix: "check the project, feature and environment keys".into(),
            },
            409 | 412 => Refusal {
                code: ErrorCode::Conflict,
                what: "DevCycle refused the change as conflicting",
                fix: CONFLICT_FIX.into(),
            },
            _ => return api.status_error(failure).about(subject),
        };
        let said = vendor_said(&failure.body, FIELDS);
        refusal.error(self.service_name(), failure.status, subject, &said)
    }

    fn project_of<'a>(&'a self, asked: &'a str) -> &'a str {
        project_or(asked, &self.project)
    }

    fn check_names(&self, subject: &Subject<'_>) -> Result<()> {
        require_names(
            self.service_name(),
            "DevCycle",
            &[
                ("feature", subject.key.unwrap_or_default()),
                ("environment", subject.environment.unwrap_or_default()),
            ],
        )
    }

    /// The state a feature's configurations say it has in `subject`'s environment (none: off,
    /// once the environment is known to exist).
    async fn status_of(
        &self,
        configs: Vec<Configuration>,
        subject: &Subject<'_>,
    ) -> Result<FlagState> {
        let status = match configs.as_slice() {
            [] => {
                // No configuration in a known environment: nothing is served there.
                let envs = self.environments(subject.project).await?;
                let environment = subject.environment.unwrap_or_default();
                if !envs.iter().any(|e| e.key == environment) {
                    let known: Vec<String> = envs.into_iter().map(|e| e.key).collect();
                    return Err(self.environment_not_found(subject, &known));
                }
                "inactive".to_string()
            }
            [config, ..] => config.status.clone().unwrap_or_default(),
        };
        parse_status(&status, self.service_name(), subject)
    }
}

impl FlagBackend for DevCycle {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self, filter: &FlagFilter) -> Result<Vec<Flag>> {
        let project = self.project_of(filter.project.as_deref().unwrap_or_default());
        let subject = Subject {
            noun: NOUN,
            project,
            key: None,
            environment: filter.environment.as_deref(),
        };
        let envs = self.environments(project).await?;
        if let Some(env) = &filter.environment
            && !envs.iter().any(|e| &e.key == env)
        {
            let known: Vec<String> = envs.into_iter().map(|e| e.key).collect();
            return Err(self.environment_not_found(&subject, &known));
        }
        let path = format!("{}/features", Self::project_path(project));
        let features = match self.all_pages::<Feature>(&path, &subject).await? {
            Ok(features) => features,
            Err(failure) => return Err(self.project_not_found(project, &failure)),
        };
        let query = filter.query.as_ref().map(|q| q.to_lowercase());
        let tag = filter.tag.as_ref().map(|t| t.to_lowercase());
        let mut flags = Vec::new();
        for feature in features {
            if let Some(q) = &query
                && !feature.key.to_lowercase().contains(q)
                && !feature
                    .name
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(q))
            {
                continue;
            }
            if let Some(t) = &tag
                && !feature.tags.iter().any(|have| &have.to_lowercase() == t)
            {
                continue;
            }
            // The list carries each feature's configurations when DevCycle includes them;
            // otherwise they are read per feature.
            let configs = match feature.configurations {
                Some(configs) => configs,
                None => {
                    let per_feature = Subject {
                        noun: NOUN,
                        project,
                        key: Some(&feature.key),
                        environment: None,
                    };
                    self.configurations(&per_feature, &feature.key).await?
                }
            };
            let mut environments: Vec<FlagEnvironment> = envs
                .iter()
                .filter(|e| {
                    filter
                        .environment
                        .as_ref()
                        .is_none_or(|want| &e.key == want)
                })
                .map(|e| FlagEnvironment {
                    name: e.key.clone(),
                    enabled: configs.iter().any(|c| {
                        c.environment.as_deref() == Some(e.id.as_str())
                            && c.status.as_deref() == Some("active")
                    }),
                })
                .collect();
            environments.sort_by(|a, b| a.name.cmp(&b.name));
            flags.push(Flag {
                backend: self.name.clone(),
                project: project.to_string(),
                name: feature.name.filter(|n| n != &feature.key),
                description: feature.description.filter(|d| !d.is_empty()),
                tags: feature.tags,
                environments,
                url: None,
                key: feature.key,
            });
        }
        flags.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(flags)
    }

    async fn state(&self, flag: &FlagRef<'_>) -> Result<FlagState> {
        let subject = Subject {
            project: self.project_of(flag.project),
            ..Subject::of(NOUN, flag)
        };
        self.check_names(&subject)?;
        let configs = self.configurations(&subject, flag.key).await?;
        self.status_of(configs, &subject).await
    }

    async fn set(
        &self,
        flag: &FlagRef<'_>,
        enabled: bool,
        expected: &FlagState,
        _note: &ChangeNote,
    ) -> Result<FlagState> {
        // DevCycle's configuration update takes no comment: its audit log records the API
        // client.
        let subject = Subject {
            project: self.project_of(flag.project),
            ..Subject::of(NOUN, flag)
        };
        self.check_names(&subject)?;
        let path = Self::configurations_path(subject.project, flag.key);
        let status = if enabled { "active" } else { "inactive" };
        // Sent once: after a timeout the state is unknown, and a resend would skip the read.
        let write = Request::with_body(
            Method::PATCH,
            path.as_str(),
            &serde_json::json!({ "status": status }),
            Retry::NotIdempotent,
        )?
        .query("environment", flag.environment);
        let mut token_refused = false;
        loop {
            // The token first: one fetched between the read and the write would widen the
            // window in which a change made meanwhile is overwritten.
            let (api, generation) = self.api(&subject).await?;
            let read = Request::get(path.as_str()).query("environment", flag.environment);
            let configs: Vec<Configuration> = match api.send_raw(read).await? {
                Ok(response) => response.json(api.name())?,
                Err(f) if f.status == 401 && !token_refused => {
                    token_refused = true;
                    self.drop_token(generation).await;
                    continue;
                }
                Err(f) if f.status == 404 => return Err(self.flag_not_found(&subject, &f).await),
                Err(f) => return Err(self.failure(&api, &f, &subject)),
            };
            let now = self.status_of(configs, &subject).await?;
            let service = self.service_name();
            if let Some(done) = still_needed(service, &subject, now, expected, enabled, "")? {
                return Ok(done);
            }
            let sent = api
                .send_raw(write.clone())
                .await
                .map_err(|e| outcome_about(e, &subject))?;
            return match sent {
                Ok(response) => {
                    let config: Configuration = response.json(api.name())?;
                    parse_status(
                        &config.status.unwrap_or_default(),
                        self.service_name(),
                        &subject,
                    )
                }
                // A 401 means the write was not processed: read again with a new token.
                Err(f) if f.status == 401 && !token_refused => {
                    token_refused = true;
                    self.drop_token(generation).await;
                    continue;
                }
                Err(f) if f.status == 404 => Err(self.flag_not_found(&subject, &f).await),
                Err(f) => Err(self.failure(&api, &f, &subject)),
            };
        }
    }
}

fn parse_status(status: &str, service: &str, subject: &Subject<'_>) -> Result<FlagState> {
    match status {
        "active" => Ok(FlagState::best_effort(true)),
        "inactive" => Ok(FlagState::best_effort(false)),
        other => Err(Error::MalformedResponse {
            what: service.to_string(),
            reason: format!(
                "{subject}: status `{other}` is neither `active` nor `inactive` as its API documents"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_keys_are_told_apart_from_api_credentials() {
        assert_eq!(key_kind("dvc_server_1b2c3d4e_hash"), KeyKind::Sdk);
        assert_eq!(key_kind(" dvc_client_abc"), KeyKind::Sdk);
        assert_eq!(key_kind("dvc_mobile_abc"), KeyKind::Sdk);
        assert_eq!(
            key_kind("server-0f8fad5b-d9cb-469f-a165-70867728950e"),
            KeyKind::Sdk
        );
        assert_eq!(key_kind("server-side-secret"), KeyKind::Other);
        assert_eq!(
            key_kind("pA5s9-LqYk3Xq0x2Jm8vT1bQ7uW4eR6tY9iO0pLkJhGfDsA"),
            KeyKind::Other
        );
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let d = DevCycle::connect(
            "ops",
            "http://127.0.0.1:1",
            "client-id-1",
            SecretString::from("s3cr3t-client-secret"),
            Limits::default(),
            "checkout",
            DEFAULT_AUTH_URL,
        )
        .unwrap();
        let text = format!("{d:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("client-id-1"), "{text}");
    }
}
