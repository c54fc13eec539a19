//! Flagsmith (SaaS or self-hosted; Admin API, https://docs.flagsmith.com/integrating-with-flagsmith/flagsmith-api-overview/admin-api):
//! the features of one project with their on/off state in the configured environments, and
//! the on/off switch of one feature in one environment.
//!
//! Config keys (one `[[flags]]` entry of kind `flagsmith`):
//! - `url`: the API host, default `https://api.flagsmith.com` (a trailing `/api/v1` is
//!   accepted and ignored);
//! - `token`: an organisation API key (Organisation settings → API Keys), as a secret
//!   reference; sent as `Authorization: Api-Key <key>`;
//! - `project`: the numeric project id (in the dashboard URL: `/project/12/…`);
//! - `environments` (optional): environment name → environment key, e.g. `{ production =
//!   "8KzETdDeMY7xkqkSkY3Gsg", development = "Yb4yXAQEYJ4c2aR6QyXwPs" }` (the client-side
//!   environment keys, which are not secrets). Left out, paaf reads the project's
//!   environments from the API and matches their names.
//!
//! Endpoints:
//! - `GET api/v1/projects/{project}/features/?page=&page_size=` → `{count, next, results:
//!   [{id, name, description}]}` (also `search=` to find one feature by name);
//! - `GET api/v1/environments/?project={project}` → the environments (`name`, `api_key`);
//! - `GET api/v1/environments/{env_key}/` → `minimum_change_request_approvals` (not null:
//!   change requests are required) and `use_v2_feature_versioning`;
//! - `GET api/v1/environments/{env_key}/featurestates/?feature={id}&page=` → `{count, next,
//!   results: [{id, feature, enabled, identity, feature_segment, …}]}`; the
//!   environment default is the row whose `identity` and `feature_segment` are null;
//! - legacy write: `PATCH api/v1/environments/{env_key}/featurestates/{id}/` `{"enabled": b}`;
//! - with Feature Versioning v2 (https://docs.flagsmith.com/managing-flags/feature-versioning),
//!   where the legacy write is refused with 400: `POST api/experiments/environments/{env_key}/
//!   update-flag-v1/` `{"feature": {"name"}, "enabled"}` → 204; "omitted fields are treated
//!   as no change" (https://docs.flagsmith.com/integrating-with-flagsmith/flagsmith-api-overview/admin-api/updating-flags),
//!   so the value is not sent: a value read earlier is never written back over a newer one.
//!
//! Flagsmith has no conditional write (neither endpoint takes a version or a precondition), so
//! [`FlagBackend::set`] is best effort: it reads the environment's settings first and the
//! feature's state last, right before the write, which is sent once. Where an environment
//! requires change requests, paaf does not write at all (the legacy endpoint would bypass
//! them; the versioned one refuses with 403): it says a change request is required and links
//! to the feature in the dashboard. An environment key (server-side `ser.…` or the
//! client-side key) given as the token is refused before any request. The key is sent as
//! `Api-Key <key>`; an error body that echoes the key alone is redacted too.

use super::{
    ChangeNote, Flag, FlagBackend, FlagEnvironment, FlagFilter, FlagRef, FlagState, Pager, Refusal,
    asks_for_approval, listed, outcome_about, require_names, still_needed, vendor_said,
};
use crate::config::FlagsEntry;
use crate::error::{Error, ErrorCode, Result};
use crate::http::path_segment as segment;
use crate::http::{HttpAuth, HttpFailure, Limits, Method, Request, Response, Retry, Service};
use crate::secrets::{SecretRef, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// The SaaS API host, when the config names none.
pub const DEFAULT_URL: &str = "https://api.flagsmith.com";
/// Items per page asked for (the API caps features at 999 a page).
const PAGE_SIZE: usize = 100;

/// `[[flags]] type = "flagsmith"`: the API host, an organisation API key, the numeric project.
#[derive(Debug, Clone)]
pub struct FlagsmithConfig {
    pub url: String,
    pub token: SecretRef,
    /// The project id (in the dashboard URL: `/project/12/…`).
    pub project: u64,
    /// Environment name → environment key (empty: read from the API).
    pub environments: BTreeMap<String, String>,
}

impl FlagsmithConfig {
    /// The entry's Flagsmith settings; an API key and a numeric project are required.
    pub(crate) fn validate(entry: &FlagsEntry<'_>) -> Result<FlagsmithConfig> {
        let token = entry.token("an API access token (not an SDK key)")?;
        Ok(FlagsmithConfig {
            url: entry.url.clone(),
            token,
            project: entry.numeric_project()?,
            environments: entry.environments.clone(),
        })
    }

    /// The project's API, with the key from the secret store.
    pub(crate) fn connect(
        &self,
        name: &str,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<Flagsmith> {
        let token = self.token.resolve(secrets)?;
        Flagsmith::connect(
            name,
            &self.url,
            token,
            limits,
            self.project,
            &self.environments,
        )
    }
}

/// One Flagsmith project, reached through the Admin API.
#[derive(Debug, Clone)]
pub struct Flagsmith {
    name: String,
    project: u64,
    /// Environment name → environment key, as configured (empty: read from the API).
    environments: BTreeMap<String, String>,
    /// The dashboard's root, for links.
    ui_root: String,
    /// The organisation API key alone (the service redacts `Api-Key <key>`), for redacting an
    /// error body that echoes it.
    key: SecretString,
    service: Service,
}

/// What kind of Flagsmith key a string looks like (by its format only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `ser.…`: a server-side environment key (SDKs only).
    ServerSideEnvironmentKey,
    /// 22 URL-safe characters without a dot: a client-side environment key (SDKs only).
    ClientSideEnvironmentKey,
    /// Anything else (an organisation API key is `prefix.secret`): left to the server.
    Unknown,
}

/// The kind of Flagsmith key `token` looks like.
pub fn key_kind(token: &str) -> KeyKind {
    let token = token.trim();
    if token.starts_with("ser.") {
        KeyKind::ServerSideEnvironmentKey
    } else if token.len() == 22
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        KeyKind::ClientSideEnvironmentKey
    } else {
        KeyKind::Unknown
    }
}

const API_KEY_HOWTO: &str = "paaf needs an organisation API key: in Flagsmith, Organisation settings → API Keys → Create API Key (environment keys, client-side or `ser.…` server-side, only serve flags to SDKs)";

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    results: Vec<T>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Feature {
    id: u64,
    name: String,
    #[serde(default)]
    description: Option<String>,
}

/// An item of a paged list, known by its id.
trait Identified {
    fn id(&self) -> u64;
}

impl Identified for Feature {
    fn id(&self) -> u64 {
        self.id
    }
}

impl Identified for FeatureStateRow {
    fn id(&self) -> u64 {
        self.id
    }
}

#[derive(Deserialize)]
struct Environment {
    name: String,
    api_key: String,
}

#[derive(Deserialize)]
struct EnvironmentSettings {
    #[serde(default)]
    minimum_change_request_approvals: Option<u32>,
    #[serde(default)]
    use_v2_feature_versioning: bool,
}

#[derive(Deserialize)]
struct FeatureStateRow {
    id: u64,
    feature: u64,
    enabled: bool,
    #[serde(default)]
    identity: Option<serde_json::Value>,
    #[serde(default)]
    feature_segment: Option<serde_json::Value>,
}

impl FeatureStateRow {
    fn is_environment_default(&self) -> bool {
        self.identity.as_ref().is_none_or(|v| v.is_null())
            && self.feature_segment.as_ref().is_none_or(|v| v.is_null())
    }
}

/// The environment default of one feature in one environment, as paaf needs it to write.
struct Current {
    feature_id: u64,
    env_key: String,
    row: FeatureStateRow,
}

/// What a request was about, for messages.
struct Subject<'a> {
    project: u64,
    key: Option<&'a str>,
    environment: Option<&'a str>,
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.key {
            Some(key) => write!(f, "feature `{key}` in project {}", self.project)?,
            None => write!(f, "project {}", self.project)?,
        }
        if let Some(env) = self.environment {
            write!(f, ", environment `{env}`")?;
        }
        Ok(())
    }
}

impl Flagsmith {
    /// The backend `name` for the Flagsmith API at `base_url` (`https://api.flagsmith.com`),
    /// project `project` (its numeric id), with `environments` mapping names to environment
    /// keys (empty: read from the API). Refuses at once an environment key given as token.
    pub fn connect(
        name: &str,
        base_url: &str,
        token: SecretString,
        limits: Limits,
        project: u64,
        environments: &BTreeMap<String, String>,
    ) -> Result<Flagsmith> {
        let service_name = format!("flagsmith \"{name}\"");
        let raw = token.expose_secret().trim();
        let key = raw.strip_prefix("Api-Key ").unwrap_or(raw).trim();
        let what = match key_kind(key) {
            KeyKind::ServerSideEnvironmentKey => Some("a server-side environment key (`ser.…`)"),
            KeyKind::ClientSideEnvironmentKey => Some("a client-side environment key"),
            KeyKind::Unknown if environments.values().any(|k| k == key) => {
                Some("one of the configured environment keys")
            }
            KeyKind::Unknown => None,
        };
        if let Some(what) = what {
            return Err(Error::invalid(format!(
                "{service_name}: the token is {what}, which the Admin API refuses; {API_KEY_HOWTO}"
            )));
        }
        let auth = HttpAuth::Header {
            name: "authorization".into(),
            value: SecretString::from(format!("Api-Key {key}")),
        };
        let key = SecretString::from(key);
        let root = base_url.trim().trim_end_matches('/');
        let root = root.strip_suffix("/api/v1").unwrap_or(root).to_string();
        let service = Service::new(&service_name, &root, auth, limits)?;
        let ui_root = if root == "https://api.flagsmith.com" {
            "https://app.flagsmith.com".to_string()
        } else {
            root
        };
        Ok(Flagsmith {
            name: name.to_string(),
            project,
            environments: environments.clone(),
            ui_root,
            key,
            service,
        })
    }

    /// The feature in the Flagsmith dashboard, in one environment.
    pub fn feature_url(&self, env_key: &str, feature_id: u64) -> String {
        format!(
            "{}/project/{}/environment/{}/features?feature={feature_id}",
            self.ui_root,
            self.project,
            segment(env_key)
        )
    }

    /// The project a reference names (its own, when numeric; else the configured one).
    fn check_project(&self, flag: &FlagRef<'_>) -> Result<()> {
        let given = flag.project.trim();
        if given.is_empty() || given.parse::<u64>().ok() == Some(self.project) {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "{}: this backend serves Flagsmith project {}, not `{given}`; configure another backend for that project",
            self.service.name(),
            self.project
        )))
    }

    /// Sends `request`; a failed status comes back with the key redacted from its body.
    async fn send(&self, request: Request) -> Result<std::result::Result<Response, HttpFailure>> {
        let key = self.key.expose_secret();
        Ok(self
            .service
            .send_raw(request)
            .await?
            .map_err(|f| HttpFailure {
                body: f.body.replace(key, "[redacted]"),
                full_body: f.full_body.replace(key, "[redacted]"),
                ..f
            }))
    }

    /// `GET` decoded as `T`; a 404 is handed back for the caller to say what was unknown.
    async fn get<T: DeserializeOwned>(
        &self,
        request: Request,
        subject: &Subject<'_>,
    ) -> Result<std::result::Result<T, HttpFailure>> {
        match self.send(request).await? {
            Ok(response) => Ok(Ok(response.json(self.service.name())?)),
            Err(failure) if failure.status == 404 => Ok(Err(failure)),
            Err(failure) => Err(self.failure(&failure, subject, None)),
        }
    }

    /// Every item of a paginated list (`{count, next, results}`).
    async fn all_pages<T: DeserializeOwned + Identified>(
        &self,
        request: Request,
        subject: &Subject<'_>,
        not_found: impl Fn(&HttpFailure) -> Error,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut pager = Pager::new(self.service.name());
        for page in 1.. {
            let request = request.clone().query("page", page.to_string());
            let page: Page<T> = match self.get(request, subject).await? {
                Ok(page) => page,
                Err(failure) => return Err(not_found(&failure)),
            };
            let keys: Vec<String> = page.results.iter().map(|r| r.id().to_string()).collect();
            pager.page(keys.iter().map(String::as_str))?;
            items.extend(page.results);
            if page.next.is_none() || keys.is_empty() {
                break;
            }
        }
        Ok(items)
    }

    /// Environment name → key: the configured map, or the project's environments.
    async fn environment_keys(&self) -> Result<BTreeMap<String, String>> {
        if !self.environments.is_empty() {
            return Ok(self.environments.clone());
        }
        let subject = Subject {
            project: self.project,
            key: None,
            environment: None,
        };
        let request =
            Request::get("api/v1/environments/").query("project", self.project.to_string());
        let body: serde_json::Value = match self.get(request, &subject).await? {
            Ok(body) => body,
            Err(failure) => return Err(self.project_not_found(&failure)),
        };
        // A plain list, or a page of one.
        let list = match body {
            serde_json::Value::Object(mut page) => page.remove("results").unwrap_or_default(),
            other => other,
        };
        let environments: Vec<Environment> =
            serde_json::from_value(list).map_err(|e| Error::MalformedResponse {
                what: self.service.name().to_string(),
                reason: format!("not the environment list its API documents ({e})"),
            })?;
        Ok(environments
            .into_iter()
            .map(|e| (e.name, e.api_key))
            .collect())
    }

    async fn environment_key(&self, environment: &str) -> Result<String> {
        let keys = self.environment_keys().await?;
        if let Some(key) = keys.get(environment) {
            return Ok(key.clone());
        }
        if let Some((_, key)) = keys
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(environment))
        {
            return Ok(key.clone());
        }
        let known: Vec<&str> = keys.keys().map(String::as_str).collect();
        Err(Error::NotFound {
            what: "Flagsmith environment",
            name: environment.to_string(),
            hint: Some(format!(
                "{} knows, in project {}: {}",
                self.service.name(),
                self.project,
                listed(&known)
            )),
        })
    }

    async fn features(&self, search: Option<&str>) -> Result<Vec<Feature>> {
        let subject = Subject {
            project: self.project,
            key: search,
            environment: None,
        };
        let mut request = Request::get(format!("api/v1/projects/{}/features/", self.project))
            .query("page_size", PAGE_SIZE.to_string());
        if let Some(name) = search {
            request = request.query("search", name);
        }
        self.all_pages(request, &subject, |f| self.project_not_found(f))
            .await
    }

    /// The environment-default rows of an environment (all features, or one).
    async fn default_states(
        &self,
        env_name: &str,
        env_key: &str,
        feature: Option<u64>,
    ) -> Result<Vec<FeatureStateRow>> {
        let subject = Subject {
            project: self.project,
            key: None,
            environment: Some(env_name),
        };
        let mut request = Request::get(format!(
            "api/v1/environments/{}/featurestates/",
            segment(env_key)
        ));
        if let Some(id) = feature {
            request = request.query("feature", id.to_string());
        }
        let rows: Vec<FeatureStateRow> = self
            .all_pages(request, &subject, |f| {
                self.environment_key_unknown(env_name, f)
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter(FeatureStateRow::is_environment_default)
            .collect())
    }

    /// The feature's environment default in one environment, read now.
    async fn current(&self, flag: &FlagRef<'_>) -> Result<Current> {
        self.check_project(flag)?;
        require_names(
            self.service.name(),
            "Flagsmith",
            &[
                ("feature name", flag.key),
                ("environment", flag.environment),
            ],
        )?;
        let env_key = self.environment_key(flag.environment).await?;
        let feature = self
            .features(Some(flag.key))
            .await?
            .into_iter()
            .find(|f| f.name == flag.key)
            .ok_or_else(|| Error::NotFound {
                what: "Flagsmith feature",
                name: flag.key.to_string(),
                hint: Some(format!(
                    "{} has no feature of that name in project {} (environment `{}`); names are case-sensitive",
                    self.service.name(),
                    self.project,
                    flag.environment
                )),
            })?;
        let row = self
            .default_states(flag.environment, &env_key, Some(feature.id))
            .await?
            .into_iter()
            .find(|r| r.feature == feature.id)
            .ok_or_else(|| Error::NotFound {
                what: "Flagsmith feature state",
                name: flag.key.to_string(),
                hint: Some(format!(
                    "{}: project {}, environment `{}` has no environment default for it",
                    self.service.name(),
                    self.project,
                    flag.environment
                )),
            })?;
        Ok(Current {
            feature_id: feature.id,
            env_key,
            row,
        })
    }

    fn project_not_found(&self, failure: &HttpFailure) -> Error {
        Error::NotFound {
            what: "Flagsmith project",
            name: self.project.to_string(),
            hint: Some(format!(
                "{} answered: {}; use the numeric project id (in the dashboard URL, /project/ID/…), and check that the URL is the API host (https://api.flagsmith.com for SaaS)",
                self.service.name(),
                vendor_said(&failure.body, FIELDS)
            )),
        }
    }

    fn environment_key_unknown(&self, environment: &str, failure: &HttpFailure) -> Error {
        Error::NotFound {
            what: "Flagsmith environment",
            name: environment.to_string(),
            hint: Some(format!(
                "{} does not know its key in project {} ({}); check `environments` in the config (the environment key from Environment settings → Keys)",
                self.service.name(),
                self.project,
                vendor_said(&failure.body, FIELDS)
            )),
        }
    }

    fn change_request_required(&self, subject: &Subject<'_>, link: &str, status: u16) -> Error {
        Error::Service {
            service: self.service.name().to_string(),
            code: ErrorCode::Conflict,
            status,
            message: format!(
                "{subject}: a change request is required: this environment requires approved change requests for flag changes, so paaf cannot switch it directly; nothing was changed. Open {link} to create (or approve) a change request"
            ),
        }
    }

    /// The typed error for a failed status, naming the project, feature and environment.
    fn failure(&self, failure: &HttpFailure, subject: &Subject<'_>, link: Option<&str>) -> Error {
        let refusal = match failure.status {
            401 => Refusal {
                code: ErrorCode::AuthFailed,
                what: "the API key was refused",
                fix: format!("it may have been revoked or expired. {API_KEY_HOWTO}"),
            },
            403 if asks_for_approval(&failure.body) => {
                return self.change_request_required(
                    subject,
                    link.unwrap_or(&self.ui_root),
                    failure.status,
                );
            }
            403 => Refusal {
                code: ErrorCode::PermissionDenied,
                what: "the API key lacks the permission",
                fix: "use an organisation API key with admin rights, or one whose role may update features in this environment".into(),
            },
            404 => Refusal {
                code: ErrorCode::NotFound,
                what: "not found",
                fix: "check the project id and environment keys".into(),
            },
            _ => return self.service.status_error(failure).about(subject),
        };
        let said = vendor_said(&failure.body, FIELDS);
        refusal.error(self.service.name(), failure.status, subject, &said)
    }

    /// Writes the new state by the endpoint the environment takes.
    async fn write(
        &self,
        flag: &FlagRef<'_>,
        current: &Current,
        enabled: bool,
        versioned: bool,
        subject: &Subject<'_>,
        link: &str,
    ) -> Result<()> {
        // Not retried after it may have reached Flagsmith (a versioned write publishes a new
        // version each time): a timed-out write is reported as outcome-unknown. Only `enabled`
        // is sent: the value stays whatever it is by then.
        let request = if versioned {
            let body = serde_json::json!({
                "feature": {"name": flag.key},
                "enabled": enabled,
            });
            Request::with_body(
                Method::POST,
                format!(
                    "api/experiments/environments/{}/update-flag-v1/",
                    segment(&current.env_key)
                ),
                &body,
                Retry::NotIdempotent,
            )?
        } else {
            Request::with_body(
                Method::PATCH,
                format!(
                    "api/v1/environments/{}/featurestates/{}/",
                    segment(&current.env_key),
                    current.row.id
                ),
                &serde_json::json!({ "enabled": enabled }),
                Retry::NotIdempotent,
            )?
        };
        let sent = self
            .send(request)
            .await
            .map_err(|e| outcome_about(e, subject))?;
        match sent {
            Ok(_) => Ok(()),
            // The environment turned to Feature Versioning v2 since paaf looked at it.
            Err(failure)
                if !versioned
                    && failure.status == 400
                    && failure.body.contains("feature versioning") =>
            {
                Box::pin(self.write(flag, current, enabled, true, subject, link)).await
            }
            Err(failure) if failure.status == 404 => {
                Err(self.environment_key_unknown(flag.environment, &failure))
            }
            Err(failure) => Err(self.failure(&failure, subject, Some(link))),
        }
    }
}

impl FlagBackend for Flagsmith {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self, filter: &FlagFilter) -> Result<Vec<Flag>> {
        if let Some(project) = &filter.project {
            self.check_project(&FlagRef {
                project,
                key: "",
                environment: "",
            })?;
        }
        let keys = self.environment_keys().await?;
        let environments: Vec<(String, String)> = match &filter.environment {
            Some(env) => vec![(env.clone(), self.environment_key(env).await?)],
            None => keys.into_iter().collect(),
        };
        let query = filter.query.as_ref().map(|q| q.to_lowercase());
        let features = self.features(None).await?;
        let mut states: Vec<BTreeMap<u64, bool>> = Vec::new();
        for (name, key) in &environments {
            let rows = self.default_states(name, key, None).await?;
            states.push(rows.into_iter().map(|r| (r.feature, r.enabled)).collect());
        }
        let mut flags = Vec::new();
        for feature in features {
            if let Some(q) = &query
                && !feature.name.to_lowercase().contains(q)
            {
                continue;
            }
            // Flagsmith's tags are ids of project tags; paaf does not filter on them.
            if filter.tag.is_some() {
                continue;
            }
            let envs: Vec<FlagEnvironment> = environments
                .iter()
                .zip(&states)
                .filter_map(|((name, _), states)| {
                    states.get(&feature.id).map(|enabled| FlagEnvironment {
                        name: name.clone(),
                        enabled: *enabled,
                    })
                })
                .collect();
            flags.push(Flag {
                backend: self.name.clone(),
                project: self.project.to_string(),
                url: environments
                    .first()
                    .map(|(_, key)| self.feature_url(key, feature.id)),
                key: feature.name,
                name: None,
                description: feature.description.filter(|d| !d.is_empty()),
                tags: Vec::new(),
                environments: envs,
            });
        }
        flags.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(flags)
    }

    async fn state(&self, flag: &FlagRef<'_>) -> Result<FlagState> {
        let current = self.current(flag).await?;
        Ok(FlagState::best_effort(current.row.enabled))
    }

    async fn set(
        &self,
        flag: &FlagRef<'_>,
        enabled: bool,
        expected: &FlagState,
        _note: &ChangeNote,
    ) -> Result<FlagState> {
        // Flagsmith's write takes no comment: its audit log records the API key.
        let subject = Subject {
            project: self.project,
            key: Some(flag.key),
            environment: Some(flag.environment),
        };
        self.check_project(flag)?;
        let env_key = self.environment_key(flag.environment).await?;
        let settings_path = format!("api/v1/environments/{}/", segment(&env_key));
        let settings: EnvironmentSettings = match self
            .get(Request::get(settings_path), &subject)
            .await?
        {
            Ok(settings) => settings,
            Err(failure) => return Err(self.environment_key_unknown(flag.environment, &failure)),
        };
        // The state is read last, right before the write: no other read between them.
        let current = self.current(flag).await?;
        let link = self.feature_url(&current.env_key, current.feature_id);
        if settings.minimum_change_request_approvals.is_some() {
            return Err(self.change_request_required(&subject, &link, 409));
        }
        let now = FlagState::best_effort(current.row.enabled);
        let service = self.service.name();
        if let Some(done) = still_needed(service, &subject, now, expected, enabled, "")? {
            return Ok(done);
        }
        self.write(
            flag,
            &current,
            enabled,
            settings.use_v2_feature_versioning,
            &subject,
            &link,
        )
        .await?;
        self.state(flag).await
    }
}

/// Where Flagsmith (Django REST framework) puts its words in an error body.
const FIELDS: &[&str] = &["detail"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_kinds_follow_flagsmith_formats() {
        assert_eq!(
            key_kind("ser.UiYoRr6zUjiFBUXaRwo7b5"),
            KeyKind::ServerSideEnvironmentKey
        );
        assert_eq!(
            key_kind("8KzETdDeMY7xkqkSkY3Gsg"),
            KeyKind::ClientSideEnvironmentKey
        );
        assert_eq!(
            key_kind("aBcD1234.Xy7kLmNoPqRsTuVwXyZ0123456789abc"),
            KeyKind::Unknown
        );
    }
}
