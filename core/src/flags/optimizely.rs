//! Optimizely Feature Experimentation (Flags API v1, `https://api.optimizely.com/flags/v1`):
//! the flags of one project with their state in each environment, and the on/off switch of
//! one flag's ruleset in one environment.
//!
//! Config keys (one `[[flags]]` entry):
//! - `kind = "optimizely"`, `name = "…"`;
//! - `url = "https://api.optimizely.com/flags/v1"`;
//! - `token = "keyring:…"`: a personal access token (Profile → API Access → Generate New
//!   Token), never an SDK key or a datafile URL;
//! - `project = "…"`: the numeric project id listed by default (a [`FlagRef`] or
//!   [`FlagFilter`] may name another project of the same account).
//!
//! Endpoints (https://docs.developers.optimizely.com/feature-experimentation/reference/,
//! pages `list_flags`, `fetch_flag`, `enable_ruleset`, `disable_ruleset`,
//! `list_environments-feature-experimentation`; examples in
//! https://docs.developers.optimizely.com/feature-experimentation/docs/manage-flags):
//! - `GET projects/{p}/flags?per_page=&archived=false` → `{items: [{key, name, description,
//!   environments: {env_key: {key, enabled, status}}, revision}], page, total_pages,
//!   next_url?}`; further pages are at `next_url` (relative to the API root; a string, or a
//!   list of links when `page_window` asks for several);
//! - `GET projects/{p}/flags/{f}` → one flag, same shape;
//! - `GET projects/{p}/environments` → `{items: [{key, name}]}`;
//! - `POST projects/{p}/flags/{f}/environments/{e}/ruleset/enabled` (or `/disabled`), no body.
//!
//! Auth is `Authorization: Bearer <personal access token>`. The enable/disable endpoints take
//! no body, no revision and no `If-Match` (the flag's `revision` is not a precondition of
//! them; the ruleset's JSON Patch, `update_ruleset`, documents rules, not the on/off switch),
//! so [`FlagBackend::set`] is best effort: it re-reads the flag right before writing, and sends
//! the write once: a timed-out write is reported `outcome-unknown` rather than resent past
//! the check.

use super::{
    CONFLICT_FIX, ChangeNote, Flag, FlagBackend, FlagEnvironment, FlagFilter, FlagRef, FlagState,
    Pager, Refusal, Subject, asks_for_approval, get_or_404, no_environment, outcome_about,
    project_or, require_names, still_needed, vendor_said,
};
use crate::config::FlagsEntry;
use crate::error::{Error, ErrorCode, Result};
use crate::http::path_segment as segment;
use crate::http::{HttpAuth, HttpFailure, Limits, Request, Retry, Service};
use crate::secrets::{SecretRef, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The Flags API root, when the config names none.
pub const DEFAULT_URL: &str = "https://api.optimizely.com/flags/v1";
const PER_PAGE: usize = 100;

/// `[[flags]] type = "optimizely"`: the Flags API root, a personal access token, the project.
#[derive(Debug, Clone)]
pub struct OptimizelyConfig {
    pub url: String,
    pub token: SecretRef,
    /// The numeric project id listed by default.
    pub project: String,
}

impl OptimizelyConfig {
    /// The entry's Optimizely settings; a token and a project are required.
    pub(crate) fn validate(entry: &FlagsEntry<'_>) -> Result<OptimizelyConfig> {
        Ok(OptimizelyConfig {
            url: entry.url.clone(),
            token: entry.token("a personal access token")?,
            project: entry.required_project("its project id", "project = \"1234567890\"")?,
        })
    }

    /// The account's Flags API, with the token from the secret store.
    pub(crate) fn connect(
        &self,
        name: &str,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<Optimizely> {
        Optimizely::connect(
            name,
            &self.url,
            self.token.resolve(secrets)?,
            limits,
            &self.project,
        )
    }
}
/// Where people open a project's flags (the app's own list; the API gives no per-flag link).
const APP_URL: &str = "https://app.optimizely.com/v2/projects";

const SDK_KEY_EXPLAINED: &str = "this looks like an SDK key or a datafile URL, which only reads the datafile; paaf needs a personal access token for the REST API: in Optimizely open Profile → API Access → Generate New Token, and store that token";

/// One Optimizely account's Flags API, listing one project by default.
#[derive(Debug, Clone)]
pub struct Optimizely {
    name: String,
    project: String,
    service: Service,
}

/// What kind of Optimizely credential a string looks like (by its format only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An SDK key (about 22 letters and digits, e.g. `WTc6awnGuYDdG1c8ZeAmde`) or a datafile
    /// URL (`https://cdn.optimizely.com/datafiles/<sdk key>.json`): refused by the REST API.
    SdkKey,
    /// Anything else (a personal access token is longer, and not purely alphanumeric): left to
    /// the API to judge.
    Other,
}

/// The kind of Optimizely credential `token` looks like.
pub fn token_kind(token: &str) -> TokenKind {
    let token = token.trim();
    let lower = token.to_ascii_lowercase();
    if lower.contains("/datafiles/")
        || lower.contains("cdn.optimizely.com")
        || lower.ends_with(".json")
    {
        return TokenKind::SdkKey;
    }
    if (16..=26).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return TokenKind::SdkKey;
    }
    TokenKind::Other
}

#[derive(Deserialize)]
struct FlagPage {
    items: Vec<ApiFlag>,
    #[serde(default)]
    next_url: Option<NextUrl>,
}

/// `next_url` is one link, or a list of them (`page_window` > 1): the first is the next page.
#[derive(Deserialize)]
#[serde(untagged)]
enum NextUrl {
    One(String),
    Many(Vec<String>),
}

impl NextUrl {
    fn first(self) -> Option<String> {
        match self {
            NextUrl::One(s) => Some(s),
            NextUrl::Many(v) => v.into_iter().next(),
        }
        .filter(|s| !s.trim().is_empty())
    }
}

#[derive(Deserialize)]
struct ApiFlag {
    key: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    environments: BTreeMap<String, ApiEnvironment>,
}

#[derive(Deserialize)]
struct ApiEnvironment {
    enabled: bool,
}

#[derive(Deserialize)]
struct EnvironmentPage {
    items: Vec<EnvironmentItem>,
}

#[derive(Deserialize)]
struct EnvironmentItem {
    key: String,
}

/// Where Optimizely puts its words: `{code, message}` or problem+json `{title, detail}`.
const FIELDS: &[&str] = &["message", "detail", "title"];

/// What this API calls a flag, in messages.
const NOUN: &str = "flag";

impl Optimizely {
    /// The backend `name` (as configured) over the Flags API at `base_url`
    /// (`https://api.optimizely.com/flags/v1`) with a personal access token, listing
    /// `project` (a numeric project id) by default. Refuses an SDK key or datafile URL before
    /// any request.
    pub fn connect(
        name: &str,
        base_url: &str,
        token: SecretString,
        limits: Limits,
        project: &str,
    ) -> Result<Optimizely> {
        let service_name = format!("optimizely \"{name}\"");
        if token_kind(token.expose_secret()) == TokenKind::SdkKey {
            return Err(Error::invalid(format!(
                "{service_name}: {SDK_KEY_EXPLAINED}"
            )));
        }
        if token.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "{service_name}: set `token` (a `keyring:…` reference to a personal access token)"
            )));
        }
        if project.trim().is_empty() {
            return Err(Error::invalid(format!(
                "{service_name}: set `project` to the numeric project id (Settings → Project ID, or the number in the app's URL)"
            )));
        }
        let service = Service::new(&service_name, base_url, HttpAuth::Bearer(token), limits)?;
        Ok(Optimizely {
            name: name.to_string(),
            project: project.to_string(),
            service,
        })
    }

    /// The project's flag list in the Optimizely app.
    pub fn project_url(&self, project: &str) -> String {
        format!("{APP_URL}/{}/flags/list", segment(project))
    }

    fn project_of<'a>(&'a self, asked: &'a str) -> &'a str {
        project_or(asked, &self.project)
    }

    fn flag_path(project: &str, key: &str) -> String {
        format!("projects/{}/flags/{}", segment(project), segment(key))
    }

    /// A GET decoded as `T`; a 404 is handed back for the caller to say what was not found.
    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        request: Request,
        subject: &Subject<'_>,
    ) -> Result<std::result::Result<T, HttpFailure>> {
        get_or_404(&self.service, request, |f| self.failure(f, subject)).await
    }

    /// `next_url` as a path under the API root; an absolute link elsewhere is refused (the
    /// token must not follow it to another host).
    fn next_path(&self, next: &str) -> Result<String> {
        let base = self.service.base_url();
        if let Some(rest) = next.strip_prefix(base) {
            return Ok(rest.to_string());
        }
        if next.starts_with("http://") || next.starts_with("https://") {
            return Err(Error::MalformedResponse {
                what: self.service.name().to_string(),
                reason: "its next_url points outside the configured API root".into(),
            });
        }
        // Relative to the API root (`/projects/…`), or to the host (`/flags/v1/projects/…`).
        let base_path = reqwest::Url::parse(base)
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        let next = next.trim_start_matches('/');
        let base_path = base_path.trim_matches('/');
        Ok(match next.strip_prefix(base_path) {
            Some(rest) if !base_path.is_empty() && rest.starts_with('/') => {
                rest.trim_start_matches('/').to_string()
            }
            _ => next.to_string(),
        })
    }

    /// Every flag of `project`, following `next_url`.
    async fn project_flags(&self, project: &str) -> Result<Vec<ApiFlag>> {
        let subject = Subject::project(NOUN, project);
        let mut flags = Vec::new();
        let mut request = Request::get(format!("projects/{}/flags", segment(project)))
            .query("per_page", PER_PAGE.to_string())
            .query("archived", "false");
        let mut pager = Pager::new(self.service.name());
        loop {
            let page = match self.get::<FlagPage>(request, &subject).await? {
                Ok(page) => page,
                Err(failure) => return Err(self.project_not_found(project, &failure)),
            };
            pager.page(page.items.iter().map(|f| f.key.as_str()))?;
            flags.extend(page.items);
            let Some(next) = page.next_url.and_then(NextUrl::first) else {
                return Ok(flags);
            };
            request = Request::get(self.next_path(&next)?);
        }
    }

    /// One flag's state in every environment.
    async fn flag(&self, subject: &Subject<'_>) -> Result<ApiFlag> {
        let key = subject.key.unwrap_or_default();
        let path = Self::flag_path(subject.project, key);
        match self.get::<ApiFlag>(Request::get(path), subject).await? {
            Ok(flag) => Ok(flag),
            Err(failure) => Err(self.flag_not_found(subject, &failure).await),
        }
    }

    async fn environments(&self, project: &str) -> Result<Vec<String>> {
        let subject = Subject::project(NOUN, project);
        let path = format!("projects/{}/environments", segment(project));
        let request = Request::get(path).query("per_page", PER_PAGE.to_string());
        match self.get::<EnvironmentPage>(request, &subject).await? {
            Ok(page) => Ok(page.items.into_iter().map(|e| e.key).collect()),
            Err(failure) => Err(self.project_not_found(project, &failure)),
        }
    }

    fn project_not_found(&self, project: &str, failure: &HttpFailure) -> Error {
        Error::NotFound {
            what: "Optimizely project",
            name: project.to_string(),
            hint: Some(format!(
                "{} answered 404 ({}); `project` is the numeric project id, and the token's user must be a collaborator on it",
                self.service.name(),
                vendor_said(&failure.body, FIELDS)
            )),
        }
    }

    fn environment_not_found(&self, subject: &Subject<'_>, known: &[String]) -> Error {
        no_environment(
            "Optimizely environment",
            self.service.name(),
            subject,
            known,
        )
    }

    /// A 404 about a flag: the project, the environment or the flag is unknown; one more read
    /// says which.
    async fn flag_not_found(&self, subject: &Subject<'_>, failure: &HttpFailure) -> Error {
        let known = match self.environments(subject.project).await {
            Ok(known) => known,
            Err(e) => return e,
        };
        if let Some(env) = subject.environment
            && !known.iter().any(|k| k == env)
        {
            return self.environment_not_found(subject, &known);
        }
        Error::NotFound {
            what: "Optimizely flag",
            name: subject.key.unwrap_or_default().to_string(),
            hint: Some(format!(
                "{} answered for {subject}: {}",
                self.service.name(),
                vendor_said(&failure.body, FIELDS)
            )),
        }
    }

    /// The failure of a request about `subject`, explained.
    fn failure(&self, failure: &HttpFailure, subject: &Subject<'_>) -> Error {
        let refusal = match failure.status {
            401 => Refusal {
                code: ErrorCode::AuthFailed,
                what: "the token was refused",
                fix: "use a personal access token (Profile → API Access) that has not been revoked, not an SDK key".into(),
            },
            400 | 403 | 409 | 412 | 422 if asks_for_approval(&failure.body) => Refusal {
                code: ErrorCode::Conflict,
                what: "this change needs an approval (change approvals are on for this environment), so paaf cannot switch it directly; nothing was changed",
                fix: format!(
                    "open {} to request (or approve) the change",
                    self.project_url(subject.project)
                ),
            },
            403 => Refusal {
                code: ErrorCode::PermissionDenied,
                what: "the token's user lacks the permission",
                fix: "it needs the Publisher role (or above) on this flag and environment".into(),
            },
            404 => Refusal {
                code: ErrorCode::NotFound,
                what: "not found",
                fix: "check the project id, the flag key and the environment key".into(),
            },
            409 | 412 => Refusal {
                code: ErrorCode::Conflict,
                what: "Optimizely refused the change as conflicting",
                fix: CONFLICT_FIX.into(),
            },
            _ => return self.service.status_error(failure).about(subject),
        };
        let said = vendor_said(&failure.body, FIELDS);
        refusal.error(self.service.name(), failure.status, subject, &said)
    }
}

impl FlagBackend for Optimizely {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self, filter: &FlagFilter) -> Result<Vec<Flag>> {
        let project = self.project_of(filter.project.as_deref().unwrap_or_default());
        if let Some(env) = &filter.environment {
            let known = self.environments(project).await?;
            if !known.contains(env) {
                let subject = Subject {
                    noun: NOUN,
                    project,
                    key: None,
                    environment: Some(env),
                };
                return Err(self.environment_not_found(&subject, &known));
            }
        }
        // Optimizely flags have no tags: a tag filter matches none.
        if filter.tag.is_some() {
            return Ok(Vec::new());
        }
        let query = filter.query.as_ref().map(|q| q.to_lowercase());
        let mut flags = Vec::new();
        for f in self.project_flags(project).await? {
            if let Some(q) = &query
                && !f.key.to_lowercase().contains(q)
                && !f
                    .name
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(q))
            {
                continue;
            }
            let environments: Vec<FlagEnvironment> = f
                .environments
                .into_iter()
                .filter(|(k, _)| filter.environment.as_ref().is_none_or(|want| k == want))
                .map(|(name, e)| FlagEnvironment {
                    name,
                    enabled: e.enabled,
                })
                .collect();
            if filter.environment.is_some() && environments.is_empty() {
                continue;
            }
            flags.push(Flag {
                backend: self.name.clone(),
                project: project.to_string(),
                name: f.name.filter(|n| n != &f.key),
                description: f.description.filter(|d| !d.is_empty()),
                tags: Vec::new(),
                environments,
                url: None,
                key: f.key,
            });
        }
        flags.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(flags)
    }

    async fn state(&self, flag: &FlagRef<'_>) -> Result<FlagState> {
        let project = self.project_of(flag.project);
        require_names(
            self.service.name(),
            "Optimizely",
            &[("flag", flag.key), ("environment", flag.environment)],
        )?;
        let subject = Subject {
            project,
            ..Subject::of(NOUN, flag)
        };
        let found = self.flag(&subject).await?;
        match found.environments.get(flag.environment) {
            Some(e) => Ok(FlagState::best_effort(e.enabled)),
            None => {
                let known: Vec<String> = found.environments.into_keys().collect();
                Err(self.environment_not_found(&subject, &known))
            }
        }
    }

    async fn set(
        &self,
        flag: &FlagRef<'_>,
        enabled: bool,
        expected: &FlagState,
        _note: &ChangeNote,
    ) -> Result<FlagState> {
        // The enable/disable endpoints take no body, hence no comment: Optimizely's change
        // history records the token's user.
        let project = self.project_of(flag.project);
        let subject = Subject {
            project,
            ..Subject::of(NOUN, flag)
        };
        let now = self.state(flag).await?;
        let service = self.service.name();
        if let Some(done) = still_needed(service, &subject, now, expected, enabled, "")? {
            return Ok(done);
        }
        let path = format!(
            "{}/environments/{}/ruleset/{}",
            Self::flag_path(project, flag.key),
            segment(flag.environment),
            if enabled { "enabled" } else { "disabled" }
        );
        // Sent once: after a timeout the state is unknown, and a resend would skip the
        // re-read above.
        let request = Request::post(path, Retry::NotIdempotent);
        let sent = self
            .service
            .send_raw(request)
            .await
            .map_err(|e| outcome_about(e, &subject))?;
        if let Err(failure) = sent {
            if failure.status == 404 {
                return Err(self.flag_not_found(&subject, &failure).await);
            }
            return Err(self.failure(&failure, &subject));
        }
        self.state(flag).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(url: &str) -> Optimizely {
        Optimizely::connect(
            "fx",
            url,
            SecretString::from("2:pAtToKeN-0123456789abcdefghijklmnop"),
            Limits::default(),
            "4678434014625792",
        )
        .unwrap()
    }

    #[test]
    fn sdk_keys_and_datafile_urls_are_told_apart_from_tokens() {
        assert_eq!(token_kind("WTc6awnGuYDdG1c8ZeAmde"), TokenKind::SdkKey);
        assert_eq!(
            token_kind("https://cdn.optimizely.com/datafiles/WTc6awnGuYDdG1c8ZeAmde.json"),
            TokenKind::SdkKey
        );
        assert_eq!(
            token_kind("2:pAtToKeN-0123456789abcdefghijklmnop"),
            TokenKind::Other
        );
    }

    #[test]
    fn next_url_stays_under_the_api_root() {
        let o = backend("https://api.optimizely.com/flags/v1");
        assert_eq!(
            o.next_path("/projects/1/flags?page_token=x&per_page=2")
                .unwrap(),
            "projects/1/flags?page_token=x&per_page=2"
        );
        assert_eq!(
            o.next_path("/flags/v1/projects/1/flags?page_token=x")
                .unwrap(),
            "projects/1/flags?page_token=x"
        );
        assert_eq!(
            o.next_path("https://api.optimizely.com/flags/v1/projects/1/flags?page=2")
                .unwrap(),
            "projects/1/flags?page=2"
        );
        assert!(
            o.next_path("https://evil.example/projects/1/flags")
                .is_err()
        );
    }
}
