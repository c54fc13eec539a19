//! LaunchDarkly (REST API v2, https://launchdarkly.com/docs/api): the flags of one project with
//! their on/off state in the configured environments, and the on/off switch of one flag in one
//! environment.
//!
//! Config keys (one `[[flags]]` entry of kind `launchdarkly`):
//! - `url`: the LaunchDarkly host, default `https://app.launchdarkly.com` (EU:
//!   `https://app.eu.launchdarkly.com`; a trailing `/api/v2` is accepted and ignored);
//! - `token`: a personal or service access token (`api-…`), as a secret reference;
//! - `project`: the project key (`default`);
//! - `environments`: the environment keys to list, e.g. `["production", "staging"]`.
//!
//! Endpoints (all with `Authorization: <token>`, no `Bearer`, and `LD-API-Version: 20240415`):
//! - `GET api/v2/flags/{project}?env=…&limit=&offset=` → `{items: [{key, name, description,
//!   tags, environments: {env: {on}}}], totalCount, _links: {next?}}` (paginated: the
//!   `environments` field comes only for the environments named by `env`);
//! - `GET api/v2/flags/{project}/{flag}?env={env}` → the flag with `environments.{env}.on`;
//! - `GET api/v2/projects/{project}`: tells an unknown project from an unknown flag on a 404;
//! - `PATCH api/v2/flags/{project}/{flag}` with a JSON patch and a comment:
//!   `{"comment": "…", "patch": [{"op": "test", "path": "/environments/{env}/on", "value":
//!   <expected>}, {"op": "replace", "path": "/environments/{env}/on", "value": <wanted>}]}`.
//!
//! The `test` operation makes the write conditional on the state the user saw, so a flag
//! someone else just switched is never flipped back (the flag is also re-read right before,
//! to write nothing when it already changed or already is as wanted). A semantic patch
//! (`turnFlagOff`) would need `Content-Type: application/json; domain-model=…`, which
//! `http::Request` cannot send alone (it always adds its own `application/json`), and it has
//! no precondition.
//!
//! An environment that requires approvals refuses a direct change with 405 ("Approval is
//! required to make this request"): paaf says so, with the flag's page in the LaunchDarkly UI
//! where the approval request is made (API: `POST api/v2/projects/{project}/flags/{flag}/
//! environments/{env}/approval-requests`). SDK keys (`sdk-…`), mobile keys (`mob-…`) and
//! client-side IDs (24 hex digits) cannot use the REST API, and [`LaunchDarkly::connect`]
//! refuses them before any request. A 429 is waited out per `Retry-After` (the HTTP client) or
//! per `X-Ratelimit-Reset` (epoch milliseconds, here) when that is short enough.

use super::{
    CONFLICT_FIX, ChangeNote, Flag, FlagBackend, FlagEnvironment, FlagFilter, FlagRef, FlagState,
    Pager, Refusal, Subject, changed_meanwhile, outcome_about, project_or, require_names,
    still_needed, vendor_said,
};
use crate::config::FlagsEntry;
use crate::error::{Error, ErrorCode, Result};
use crate::http::path_segment as segment;
use crate::http::{
    HeaderMap, HttpAuth, HttpFailure, Limits, Method, Request, Response, Retry, Service,
    retry_after,
};
use crate::secrets::{SecretRef, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The host, when the config names none.
pub const DEFAULT_URL: &str = "https://app.launchdarkly.com";
/// The API version paaf is written against (https://launchdarkly.com/docs/api#versioning).
const API_VERSION: &str = "20240415";
/// Flags per page (the API's default is 20).
const PAGE_SIZE: usize = 100;

/// `[[flags]] type = "launchdarkly"`: the host, an access token, the project and the
/// environments to list.
#[derive(Debug, Clone)]
pub struct LaunchDarklyConfig {
    pub url: String,
    pub token: SecretRef,
    /// The project key (`default` when not configured).
    pub project: Option<String>,
    /// The environment keys to list.
    pub environments: Vec<String>,
}

impl LaunchDarklyConfig {
    /// The entry's LaunchDarkly settings; an access token is required.
    pub(crate) fn validate(entry: &FlagsEntry<'_>) -> Result<LaunchDarklyConfig> {
        Ok(LaunchDarklyConfig {
            url: entry.url.clone(),
            token: entry.token("an API access token (not an SDK key)")?,
            project: entry.project(),
            environments: entry.environments.keys().cloned().collect(),
        })
    }

    /// The project's API, with the token from the secret store.
    pub(crate) fn connect(
        &self,
        name: &str,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<LaunchDarkly> {
        LaunchDarkly::connect(
            name,
            &self.url,
            self.token.resolve(secrets)?,
            limits,
            self.project.as_deref().unwrap_or("default"),
            &self.environments,
        )
    }
}

/// One LaunchDarkly project, reached through the REST API.
#[derive(Debug, Clone)]
pub struct LaunchDarkly {
    name: String,
    project: String,
    environments: Vec<String>,
    /// The host root (no `/api/v2`), for links to the UI.
    root: String,
    max_retry_wait: Duration,
    service: Service,
}

/// What kind of LaunchDarkly key a string looks like (by its format only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `api-…`: a personal or service access token.
    AccessToken,
    /// `sdk-…`: a server-side SDK key.
    Sdk,
    /// `mob-…`: a mobile key.
    Mobile,
    /// 24 hexadecimal digits: a client-side ID.
    ClientSideId,
    /// Anything else: left to the server to judge.
    Unknown,
}

/// The kind of LaunchDarkly key `token` looks like.
pub fn key_kind(token: &str) -> KeyKind {
    let token = token.trim();
    if token.starts_with("api-") {
        KeyKind::AccessToken
    } else if token.starts_with("sdk-") {
        KeyKind::Sdk
    } else if token.starts_with("mob-") {
        KeyKind::Mobile
    } else if token.len() == 24 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        KeyKind::ClientSideId
    } else {
        KeyKind::Unknown
    }
}

const ACCESS_TOKEN_HOWTO: &str = "paaf needs a personal or service access token (`api-…`) with a role that may update flags: create one in LaunchDarkly under Organization settings → Authorization";

#[derive(Deserialize)]
struct FlagsPage {
    #[serde(default)]
    items: Vec<LdFlag>,
    #[serde(rename = "totalCount", default)]
    total_count: Option<usize>,
    #[serde(rename = "_links", default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct LdFlag {
    key: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    environments: BTreeMap<String, LdEnvironment>,
}

#[derive(Deserialize)]
struct LdEnvironment {
    on: bool,
}

/// What this API calls a flag, in messages.
const NOUN: &str = "flag";

impl LaunchDarkly {
    /// The backend `name` for LaunchDarkly at `base_url` (the host, e.g.
    /// `https://app.launchdarkly.com`), listing `project` in `environments`. Refuses at once an
    /// SDK key, a mobile key or a client-side ID, which the REST API does not accept.
    pub fn connect(
        name: &str,
        base_url: &str,
        token: SecretString,
        limits: Limits,
        project: &str,
        environments: &[String],
    ) -> Result<LaunchDarkly> {
        let service_name = format!("launchdarkly \"{name}\"");
        let explained = match key_kind(token.expose_secret()) {
            KeyKind::Sdk => Some("this is a server-side SDK key (`sdk-…`)"),
            KeyKind::Mobile => Some("this is a mobile key (`mob-…`)"),
            KeyKind::ClientSideId => Some("this looks like a client-side ID (24 hex digits)"),
            KeyKind::AccessToken | KeyKind::Unknown => None,
        };
        if let Some(what) = explained {
            return Err(Error::invalid(format!(
                "{service_name}: {what}, which only SDKs can use: the REST API refuses it; {ACCESS_TOKEN_HOWTO}"
            )));
        }
        if project.trim().is_empty() {
            return Err(Error::invalid(format!(
                "{service_name}: name the LaunchDarkly project key (`project = \"default\"`)"
            )));
        }
        if environments.iter().all(|e| e.trim().is_empty()) {
            return Err(Error::invalid(format!(
                "{service_name}: name the environment keys to list (`environments = [\"production\"]`)"
            )));
        }
        let root = base_url.trim().trim_end_matches('/');
        let root = root.strip_suffix("/api/v2").unwrap_or(root).to_string();
        let auth = HttpAuth::Header {
            name: "authorization".into(),
            value: token,
        };
        let service = Service::new(&service_name, &root, auth, limits.clone())?
            .with_default_header("ld-api-version", API_VERSION);
        Ok(LaunchDarkly {
            name: name.to_string(),
            project: project.to_string(),
            environments: environments
                .iter()
                .filter(|e| !e.trim().is_empty())
                .cloned()
                .collect(),
            root,
            max_retry_wait: limits.max_retry_wait,
            service,
        })
    }

    /// The flag's page in the LaunchDarkly UI, where approval requests are made.
    pub fn flag_url(&self, project: &str, environment: &str, key: &str) -> String {
        format!(
            "{}/{}/{}/features/{}",
            self.root,
            segment(project),
            segment(environment),
            segment(key)
        )
    }

    fn flag_path(project: &str, key: &str) -> String {
        format!("api/v2/flags/{}/{}", segment(project), segment(key))
    }

    /// The project of a reference: its own, or the configured one.
    fn project_of<'a>(&'a self, flag: &FlagRef<'a>) -> &'a str {
        project_or(flag.project, &self.project)
    }

    /// Sends `request`; a 429 without `Retry-After` (which the HTTP client already honours)
    /// is waited out once more per `X-Ratelimit-Reset` when that is within the limits.
    async fn send(&self, request: Request) -> Result<std::result::Result<Response, HttpFailure>> {
        let mut waited = false;
        loop {
            match self.service.send_raw(request.clone()).await? {
                Err(failure)
                    if failure.status == 429
                        && !waited
                        && !failure.headers.contains_key("retry-after") =>
                {
                    match ratelimit_reset(&failure.headers) {
                        Some(wait) if wait <= self.max_retry_wait => {
                            waited = true;
                            tokio::time::sleep(wait).await;
                        }
                        _ => return Ok(Err(failure)),
                    }
                }
                other => return Ok(other),
            }
        }
    }

    async fn flags_page(
        &self,
        project: &str,
        environments: &[String],
        offset: usize,
    ) -> Result<FlagsPage> {
        let subject = Subject::project(NOUN, project);
        let mut request = Request::get(format!("api/v2/flags/{}", segment(project)))
            .query("limit", PAGE_SIZE.to_string())
            .query("offset", offset.to_string());
        for env in environments {
            request = request.query("env", env.clone());
        }
        match self.send(request).await? {
            Ok(response) => response.json(self.service.name()),
            Err(failure) if failure.status == 404 => Err(self.project_not_found(project, &failure)),
            Err(failure) => Err(self.failure(&failure, &subject)),
        }
    }

    /// The flag's state in one environment, with what it says on a 404.
    async fn read(&self, flag: &FlagRef<'_>) -> Result<bool> {
        let project = self.project_of(flag);
        let subject = Subject {
            project,
            ..Subject::of(NOUN, flag)
        };
        let request =
            Request::get(Self::flag_path(project, flag.key)).query("env", flag.environment);
        let detail: LdFlag = match self.send(request).await? {
            Ok(response) => response.json(self.service.name())?,
            Err(failure) if failure.status == 404 => {
                return Err(self.flag_not_found(project, flag, &failure).await);
            }
            Err(failure) => return Err(self.failure(&failure, &subject)),
        };
        match detail.environments.get(flag.environment) {
            Some(env) => Ok(env.on),
            None => Err(Error::NotFound {
                what: "LaunchDarkly environment",
                name: flag.environment.to_string(),
                hint: Some(format!(
                    "{} has no environment `{}` in project `{project}` (flag `{}`); use an environment key, e.g. `production`, as shown under Project settings → Environments",
                    self.service.name(),
                    flag.environment,
                    flag.key
                )),
            }),
        }
    }

    /// A 404 on a flag: the project or the flag is unknown.
    async fn flag_not_found(
        &self,
        project: &str,
        flag: &FlagRef<'_>,
        failure: &HttpFailure,
    ) -> Error {
        let probe = Request::get(format!("api/v2/projects/{}", segment(project)));
        if let Ok(Err(project_failure)) = self.send(probe).await
            && project_failure.status == 404
        {
            return self.project_not_found(project, &project_failure);
        }
        Error::NotFound {
            what: "LaunchDarkly flag",
            name: flag.key.to_string(),
            hint: Some(format!(
                "{} answered for project `{project}`, environment `{}`: {}; check the flag key (not its name)",
                self.service.name(),
                flag.environment,
                ld_message(&failure.body)
            )),
        }
    }

    fn project_not_found(&self, project: &str, failure: &HttpFailure) -> Error {
        Error::NotFound {
            what: "LaunchDarkly project",
            name: project.to_string(),
            hint: Some(format!(
                "{} answered: {}; use the project key (Account settings → Projects), and check that the URL is the LaunchDarkly host (https://app.launchdarkly.com)",
                self.service.name(),
                ld_message(&failure.body)
            )),
        }
    }

    /// The typed error for a failed status, naming the project, flag and environment.
    fn failure(&self, failure: &HttpFailure, subject: &Subject<'_>) -> Error {
        let refusal = match failure.status {
            401 => Refusal {
                code: ErrorCode::AuthFailed,
                what: "the access token was refused",
                fix: format!(
                    "it may be revoked or expired, or be an SDK key, mobile key or client-side ID. {ACCESS_TOKEN_HOWTO}"
                ),
            },
            403 => Refusal {
                code: ErrorCode::PermissionDenied,
                what: "the token lacks the permission",
                fix: "give its role `updateOn` on this project's flags in this environment".into(),
            },
            404 => Refusal {
                code: ErrorCode::NotFound,
                what: "not found",
                fix: "check the keys".into(),
            },
            405 => {
                let link = match (subject.key, subject.environment) {
                    (Some(key), Some(env)) => self.flag_url(subject.project, env, key),
                    _ => self.root.clone(),
                };
                Refusal {
                    code: ErrorCode::Conflict,
                    what: "an approval is required: this environment requires approvals for flag changes, so paaf cannot switch it directly; nothing was changed",
                    fix: format!("open {link} to request (or approve) the change"),
                }
            }
            409 => Refusal {
                code: ErrorCode::Conflict,
                what: "LaunchDarkly refused the change because of a concurrent change",
                fix: CONFLICT_FIX.into(),
            },
            429 => {
                let when: Vec<String> = [
                    retry_after(&failure.headers)
                        .map(|d| format!("it asks to retry after {}s", d.as_secs())),
                    ratelimit_reset(&failure.headers)
                        .map(|d| format!("the limit resets in {}s", d.as_secs().max(1))),
                ]
                .into_iter()
                .flatten()
                .collect();
                let reset = if when.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", when.join("; "))
                };
                Refusal {
                    code: ErrorCode::RateLimited,
                    what: "LaunchDarkly limits the request rate",
                    fix: format!("wait and try again{reset}"),
                }
            }
            _ => return self.service.status_error(failure).about(subject),
        };
        refusal.error(
            self.service.name(),
            failure.status,
            subject,
            &ld_message(&failure.body),
        )
    }
}

impl FlagBackend for LaunchDarkly {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self, filter: &FlagFilter) -> Result<Vec<Flag>> {
        let project = filter.project.as_deref().unwrap_or(&self.project);
        let environments = match &filter.environment {
            Some(env) => vec![env.clone()],
            None => self.environments.clone(),
        };
        let query = filter.query.as_ref().map(|q| q.to_lowercase());
        let tag = filter.tag.as_ref().map(|t| t.to_lowercase());
        let mut flags = Vec::new();
        let mut offset = 0;
        let mut pager = Pager::new(self.service.name());
        loop {
            let page = self.flags_page(project, &environments, offset).await?;
            let received = page.items.len();
            pager.page(page.items.iter().map(|f| f.key.as_str()))?;
            offset += received;
            for item in page.items {
                if let Some(q) = &query
                    && !item.key.to_lowercase().contains(q)
                    && !item
                        .name
                        .as_deref()
                        .unwrap_or("")
                        .to_lowercase()
                        .contains(q)
                {
                    continue;
                }
                if let Some(t) = &tag
                    && !item.tags.iter().any(|have| have.to_lowercase() == *t)
                {
                    continue;
                }
                let states: Vec<FlagEnvironment> = environments
                    .iter()
                    .filter_map(|env| {
                        item.environments.get(env).map(|e| FlagEnvironment {
                            name: env.clone(),
                            enabled: e.on,
                        })
                    })
                    .collect();
                if filter.environment.is_some() && states.is_empty() {
                    continue;
                }
                let url = environments
                    .first()
                    .map(|env| self.flag_url(project, env, &item.key));
                flags.push(Flag {
                    backend: self.name.clone(),
                    project: project.to_string(),
                    name: item.name.filter(|n| !n.is_empty() && *n != item.key),
                    description: item.description.filter(|d| !d.is_empty()),
                    tags: item.tags,
                    environments: states,
                    url,
                    key: item.key,
                });
            }
            let more = match (&page.links, page.total_count) {
                (Some(Links { next: Some(next) }), _) if !next.is_null() => true,
                (_, Some(total)) => offset < total,
                _ => false,
            };
            if !more || received == 0 {
                break;
            }
        }
        flags.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(flags)
    }

    async fn state(&self, flag: &FlagRef<'_>) -> Result<FlagState> {
        require_names(
            self.service.name(),
            "LaunchDarkly",
            &[
                ("flag key", flag.key),
                ("environment key", flag.environment),
            ],
        )?;
        // The write's `test` checks the state itself: no version is needed.
        Ok(FlagState::conditional(self.read(flag).await?, None))
    }

    async fn set(
        &self,
        flag: &FlagRef<'_>,
        enabled: bool,
        expected: &FlagState,
        note: &ChangeNote,
    ) -> Result<FlagState> {
        let now = self.state(flag).await?;
        let project = self.project_of(flag);
        let subject = Subject {
            project,
            ..Subject::of(NOUN, flag)
        };
        let service = self.service.name();
        if let Some(done) = still_needed(service, &subject, now, expected, enabled, "")? {
            return Ok(done);
        }
        let pointer = format!("/environments/{}/on", pointer_token(flag.environment));
        let body = serde_json::json!({
            "comment": note.comment,
            "patch": [
                {"op": "test", "path": pointer, "value": expected.enabled},
                {"op": "replace", "path": pointer, "value": enabled},
            ],
        });
        // Not retried after it may have reached LaunchDarkly: a timed-out change is reported as
        // outcome-unknown rather than sent again over a state paaf no longer knows.
        let request = Request::with_body(
            Method::PATCH,
            Self::flag_path(project, flag.key),
            &body,
            Retry::NotIdempotent,
        )?;
        let sent = self
            .send(request)
            .await
            .map_err(|e| outcome_about(e, &subject))?;
        match sent {
            Ok(response) => {
                let updated: LdFlag = response.json(self.service.name())?;
                match updated.environments.get(flag.environment) {
                    Some(env) => Ok(FlagState::conditional(env.on, None)),
                    None => self.state(flag).await,
                }
            }
            Err(failure) if failure.status == 404 => {
                Err(self.flag_not_found(project, flag, &failure).await)
            }
            // A failed `test` (or a concurrent write) says the state moved: say from what.
            Err(failure) if matches!(failure.status, 400 | 409 | 422) => {
                match self.read(flag).await {
                    Ok(on) if on != expected.enabled => Err(changed_meanwhile(
                        service,
                        &subject,
                        on,
                        expected.enabled,
                        "",
                    )),
                    _ => Err(self.failure(&failure, &subject)),
                }
            }
            Err(failure) => Err(self.failure(&failure, &subject)),
        }
    }
}

/// `X-Ratelimit-Reset`: when the window resets, in epoch milliseconds; the wait until then.
fn ratelimit_reset(headers: &HeaderMap) -> Option<Duration> {
    let reset_ms: i64 = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(
        reset_ms.saturating_sub(now_ms).max(0) as u64,
    ))
}

/// LaunchDarkly's `message` (and `code`) from an error body (`{code, message, id?}`).
fn ld_message(body: &str) -> String {
    let said = vendor_said(body, &["message"]);
    let code = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("code")?.as_str().map(str::to_string));
    match code {
        Some(code) => format!("{said} ({code})"),
        None => said,
    }
}

/// A JSON pointer token (RFC 6901): `~` and `/` escaped.
fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_kinds_follow_launchdarkly_formats() {
        assert_eq!(key_kind("api-0123abcd-4567"), KeyKind::AccessToken);
        assert_eq!(key_kind("sdk-12345678-90ab"), KeyKind::Sdk);
        assert_eq!(key_kind("mob-12345678-90ab"), KeyKind::Mobile);
        assert_eq!(key_kind("5f0c8a1b2c3d4e5f6a7b8c9d"), KeyKind::ClientSideId);
        assert_eq!(key_kind("something-else"), KeyKind::Unknown);
    }

    #[test]
    fn the_host_may_be_given_with_or_without_api_v2() {
        let envs = vec!["production".to_string()];
        for url in [
            "https://app.launchdarkly.com",
            "https://app.launchdarkly.com/",
            "https://app.launchdarkly.com/api/v2",
        ] {
            let ld = LaunchDarkly::connect(
                "ld",
                url,
                SecretString::from("api-x"),
                Limits::default(),
                "default",
                &envs,
            )
            .unwrap();
            assert_eq!(
                ld.flag_url("default", "production", "new checkout"),
                "https://app.launchdarkly.com/default/production/features/new%20checkout"
            );
        }
    }

    #[test]
    fn error_messages_carry_code_and_message() {
        assert_eq!(
            ld_message(r#"{"code":"not_found","message":"Invalid resource identifier"}"#),
            "Invalid resource identifier (not_found)"
        );
        assert_eq!(ld_message(""), "(no message)");
        assert_eq!(ld_message("<html>"), "<html>");
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
    }
}
