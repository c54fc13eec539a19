//! Unleash (open source or enterprise; admin API as of 7.5): flags per project with their state
//! in each environment, and the on/off switch of one flag in one environment.
//!
//! Endpoints (Unleash admin API, https://docs.getunleash.io/reference/api/unleash):
//! - `GET api/admin/projects` → `{projects: [{id}]}`;
//! - `GET api/admin/projects/{p}/features` → `{features: [{name, description, environments:
//!   [{name, enabled}], tags: [{type, value}]}]}` (every flag of the project, not paginated);
//! - `GET api/admin/projects/{p}/features/{f}` → `{environments: [{name, enabled}]}`;
//! - `POST api/admin/projects/{p}/features/{f}/environments/{env}/on|off`, no body;
//! - `GET api/admin/environments`, `GET api/admin/search/events` (who changed a flag last).
//!
//! Unleash has no conditional write for on/off (its admin API takes no `If-Match` or version:
//! checked against the unleash-server 7.5.1 sources, whose only ETag is the client API's), so
//! [`FlagBackend::set`] is best effort: it re-reads the state right before writing, and a write
//! that failed in a way that may or may not have reached Unleash (a 5xx, a timeout) is sent
//! again only after another read shows it is still needed. Environments that require change
//! requests (Enterprise, https://docs.getunleash.io/reference/change-requests) refuse a direct
//! switch: paaf says so with the link. Auth is `Authorization: <token>`: an admin token
//! (`*:*.secret`), a personal access token (`user:...`) or a service-account token; SDK tokens
//! (`project:environment.secret`, client/backend or frontend) are refused by the admin API,
//! and paaf says so.

use super::{
    Flag, FlagBackend, FlagEnvironment, FlagFilter, FlagRef, FlagState, FlagSwitch, answered,
    fetch_found, is_404, listed, require_names, said_in, still_needed, switching,
};
use crate::config::FlagsEntry;
use crate::error::{Error, ErrorCode, Result};
use crate::http::path_segment as segment;
use crate::http::{Doing, HttpAuth, HttpFailure, Limits, Request, Retry, Said, Service, Vendor};
use crate::secrets::{SecretRef, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

/// `[[flags]] type = "unleash"`: the instance's root URL and an admin or personal access token.
#[derive(Debug, Clone)]
pub struct UnleashConfig {
    /// The Unleash root (`https://unleash.example.com`, without `/api`).
    pub url: String,
    pub token: SecretRef,
    /// The project of flag commands that name none (`default` unless configured).
    pub project: String,
}

impl UnleashConfig {
    /// The entry's Unleash settings; a token is required.
    pub(crate) fn validate(entry: &FlagsEntry<'_>) -> Result<UnleashConfig> {
        Ok(UnleashConfig {
            url: entry.url.clone(),
            token: entry.token("an admin or personal access token")?,
            project: entry.project().unwrap_or_else(|| "default".into()),
        })
    }

    /// The instance, with the token from the secret store.
    pub(crate) fn connect(
        &self,
        name: &str,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<Unleash> {
        Unleash::connect(name, &self.url, self.token.resolve(secrets)?, limits)
    }
}

/// Sends of one on/off write at most, each after a read showed it still needed.
const WRITE_ATTEMPTS: u32 = 3;

/// One Unleash instance, reached through its admin API.
#[derive(Debug, Clone)]
pub struct Unleash {
    name: String,
    service: Service,
    /// Sends of one write at most (the limits' attempts).
    write_attempts: u32,
}

/// What kind of Unleash API token a string looks like (by its format only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `*:*.secret`: an admin API token.
    Admin,
    /// `user:...`: a personal access token (or a service account's token).
    Personal,
    /// `project:environment.secret` (or `[]:env.`, `*:env.`): a client/backend or frontend
    /// SDK token, which the admin API refuses.
    Sdk,
    /// Anything else (e.g. a legacy token without a prefix): left to the server to judge.
    Unknown,
}

/// The kind of Unleash token `token` looks like.
pub fn token_kind(token: &str) -> TokenKind {
    let token = token.trim();
    if token.starts_with("user:") {
        return TokenKind::Personal;
    }
    if token.starts_with("*:*.") {
        return TokenKind::Admin;
    }
    let Some((scope, secret)) = token.split_once('.') else {
        return TokenKind::Unknown;
    };
    match scope.split_once(':') {
        Some((project, environment))
            if !project.is_empty()
                && !environment.is_empty()
                && !secret.is_empty()
                && !scope.contains(char::is_whitespace) =>
        {
            TokenKind::Sdk
        }
        _ => TokenKind::Unknown,
    }
}

const SDK_TOKEN_EXPLAINED: &str = "this is a client (SDK) token; paaf needs an admin or personal access token: \
     in Unleash, create a personal access token (profile → Personal API tokens), a service-account \
     token, or an admin API token (`*:*.…`), not a client, backend or frontend token \
     (`project:environment.…`)";

#[derive(Deserialize)]
struct Projects {
    projects: Vec<Project>,
}

#[derive(Deserialize)]
struct Project {
    id: String,
}

#[derive(Deserialize)]
struct Environments {
    environments: Vec<EnvironmentItem>,
}

#[derive(Deserialize)]
struct EnvironmentItem {
    name: String,
}

#[derive(Deserialize)]
struct ProjectFeatures {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    environments: Vec<FeatureEnvironment>,
    #[serde(default)]
    tags: Option<Vec<Tag>>,
}

#[derive(Deserialize)]
struct FeatureEnvironment {
    name: String,
    #[serde(default)]
    enabled: bool,
}

#[derive(Deserialize)]
struct Tag {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

#[derive(Deserialize)]
struct FeatureDetail {
    #[serde(default)]
    environments: Vec<FeatureEnvironment>,
}

#[derive(Deserialize)]
struct Events {
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

/// What a request was about, for messages.
struct Subject<'a> {
    /// None: the instance as a whole (listing projects or environments).
    project: Option<&'a str>,
    key: Option<&'a str>,
    environment: Option<&'a str>,
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.key, self.project) {
            (Some(key), Some(project)) => write!(f, "flag `{key}` in project `{project}`")?,
            (_, Some(project)) => write!(f, "project `{project}`")?,
            (_, None) => f.write_str("listing projects and environments")?,
        }
        if let Some(env) = self.environment {
            write!(f, ", environment `{env}`")?;
        }
        Ok(())
    }
}

impl<'a> From<&FlagRef<'a>> for Subject<'a> {
    fn from(flag: &FlagRef<'a>) -> Self {
        Subject {
            project: Some(flag.project),
            key: Some(flag.key),
            environment: Some(flag.environment),
        }
    }
}

impl Unleash {
    /// The backend `name` (as configured, for `Flag::backend`) over `service`, whose base URL
    /// is the Unleash root (e.g. `https://unleash.example.com`, no `/api`) and whose auth is
    /// `HttpAuth::Header { name: "authorization", value: token }`. Errors name the service by
    /// its own name: call it after the backend (e.g. `unleash "prod"`).
    pub fn new(name: &str, service: Service) -> Unleash {
        let errors = UnleashErrors {
            root: service.base_url().to_string(),
        };
        Unleash {
            name: name.to_string(),
            service: service.with_vendor(errors),
            write_attempts: WRITE_ATTEMPTS,
        }
    }

    /// Builds the service too, refusing at once a token that is an SDK token by its format.
    pub fn connect(
        name: &str,
        base_url: &str,
        token: SecretString,
        limits: Limits,
    ) -> Result<Unleash> {
        let service_name = format!("unleash \"{name}\"");
        if token_kind(token.expose_secret()) == TokenKind::Sdk {
            return Err(Error::invalid(format!(
                "{service_name}: {SDK_TOKEN_EXPLAINED}"
            )));
        }
        let auth = HttpAuth::Header {
            name: "authorization".into(),
            value: token,
        };
        let write_attempts = limits.max_attempts.max(1);
        let service = Service::new(&service_name, base_url, auth, limits)?;
        Ok(Unleash {
            write_attempts,
            ..Unleash::new(name, service)
        })
    }

    /// The flag's page in the Unleash UI.
    pub fn flag_url(&self, project: &str, key: &str) -> String {
        format!(
            "{}projects/{}/features/{}",
            self.service.base_url(),
            segment(project),
            segment(key)
        )
    }

    fn flag_path(&self, project: &str, key: &str) -> String {
        format!(
            "api/admin/projects/{}/features/{}",
            segment(project),
            segment(key)
        )
    }

    /// What a request about `subject` does, for the failure policy; a flag's page is where
    /// a change request is made.
    fn doing(&self, subject: &Subject<'_>) -> Doing {
        let doing = Doing::new(subject.to_string());
        match subject.key.zip(subject.project) {
            Some((key, project)) => doing.with_page(self.flag_url(project, key)),
            None => doing,
        }
    }

    async fn projects(&self) -> Result<Vec<String>> {
        let request = Request::get("api/admin/projects");
        let found: Projects = self.service.fetch_json(request, &self.doing(&ALL)).await?;
        Ok(found.projects.into_iter().map(|p| p.id).collect())
    }

    async fn environments(&self) -> Result<Vec<String>> {
        let request = Request::get("api/admin/environments");
        let found: Environments = self.service.fetch_json(request, &self.doing(&ALL)).await?;
        Ok(found.environments.into_iter().map(|e| e.name).collect())
    }

    async fn project_flags(&self, project: &str) -> Result<Vec<Flag>> {
        let subject = Subject {
            project: Some(project),
            ..ALL
        };
        let path = format!("api/admin/projects/{}/features", segment(project));
        let request = Request::get(path);
        let features =
            match fetch_found::<ProjectFeatures>(&self.service, request, &self.doing(&subject))
                .await?
            {
                Ok(f) => f.features,
                Err(_) => return Err(self.project_not_found(project, None)),
            };
        Ok(features
            .into_iter()
            .map(|f| Flag {
                backend: self.name.clone(),
                project: project.to_string(),
                url: Some(self.flag_url(project, &f.name)),
                tags: f
                    .tags
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| format!("{}:{}", t.kind, t.value))
                    .collect(),
                environments: f
                    .environments
                    .into_iter()
                    .map(|e| FlagEnvironment {
                        name: e.name,
                        enabled: e.enabled,
                    })
                    .collect(),
                description: f.description.filter(|d| !d.is_empty()),
                name: None,
                key: f.name,
            })
            .collect())
    }

    /// The state of one flag in every environment it has.
    async fn detail(&self, flag: &FlagRef<'_>) -> Result<Vec<FeatureEnvironment>> {
        let request = Request::get(self.flag_path(flag.project, flag.key));
        let doing = self.doing(&Subject::from(flag));
        match fetch_found::<FeatureDetail>(&self.service, request, &doing).await? {
            Ok(detail) => Ok(detail.environments),
            Err(said) => Err(self.flag_not_found(flag, &said).await),
        }
    }

    /// A 404 on a flag, where Unleash `said` why: the project or the flag is unknown (Unleash
    /// says which project has a flag of that name, when one does).
    async fn flag_not_found(&self, flag: &FlagRef<'_>, said: &str) -> Error {
        if let Ok(projects) = self.projects().await
            && !projects.iter().any(|p| p == flag.project)
        {
            return self.project_not_found(flag.project, Some(&projects));
        }
        Error::NotFound {
            what: "Unleash flag",
            name: flag.key.to_string(),
            hint: Some(format!(
                "{} answered for project `{}`: {said}",
                self.service.name(),
                flag.project
            )),
        }
    }

    fn project_not_found(&self, project: &str, known: Option<&[String]>) -> Error {
        let known = match known {
            Some(known) if !known.is_empty() => format!(" (it has: {})", known.join(", ")),
            _ => String::new(),
        };
        Error::NotFound {
            what: "Unleash project",
            name: project.to_string(),
            hint: Some(format!(
                "{} has no such project, or the token cannot see it{known}",
                self.service.name()
            )),
        }
    }

    fn environment_not_found(&self, subject: &Subject<'_>, known: &[String]) -> Error {
        let environment = subject.environment.unwrap_or_default();
        let of = match (subject.key, subject.project) {
            (Some(key), Some(project)) => format!(" for flag `{key}` in project `{project}`"),
            _ => String::new(),
        };
        Error::NotFound {
            what: "Unleash environment",
            name: environment.to_string(),
            hint: Some(format!(
                "{} has no environment `{environment}`{of} (it has: {}); check the name, and that the environment is enabled in the project",
                self.service.name(),
                listed(known)
            )),
        }
    }

    /// The most recent on/off change of the flag in that environment, as "by WHO at WHEN",
    /// if the events API tells (best effort: a failure only drops the detail).
    async fn last_change(&self, flag: &FlagRef<'_>) -> Option<String> {
        let request = Request::get("api/admin/search/events")
            .query("project", format!("IS:{}", flag.project))
            .query("feature", format!("IS:{}", flag.key))
            .query("environment", format!("IS:{}", flag.environment))
            .query(
                "type",
                "IS_ANY_OF:feature-environment-enabled,feature-environment-disabled",
            )
            .query("limit", "1");
        let events: Events = self.service.get_json(request).await.ok()?;
        let event = events.events.into_iter().next()?;
        let what = match event.kind.as_str() {
            "feature-environment-enabled" => "turned on",
            "feature-environment-disabled" => "turned off",
            _ => "changed",
        };
        let who = event.created_by.unwrap_or_else(|| "someone".into());
        let when = event
            .created_at
            .map(|at| format!(" at {at}"))
            .unwrap_or_default();
        Some(format!("{what} by {who}{when}"))
    }

    /// Sends the on/off switch; a failure that may or may not have reached Unleash (a 5xx, a
    /// timeout) is answered by a read, and the switch is sent again only while that read still
    /// shows `expected` (never over a change made meanwhile). Returns the state read after.
    async fn switch(
        &self,
        flag: &FlagRef<'_>,
        enabled: bool,
        expected: &FlagState,
    ) -> Result<FlagState> {
        let path = format!(
            "{}/environments/{}/{}",
            self.flag_path(flag.project, flag.key),
            segment(flag.environment),
            if enabled { "on" } else { "off" }
        );
        let doing = switching(Subject::from(flag), enabled)
            .with_page(self.flag_url(flag.project, flag.key));
        let mut attempt = 1;
        loop {
            // Sent once per attempt: a resend goes through the read below first.
            let request = Request::post(path.clone(), Retry::NotIdempotent);
            let failed = match self.service.fetch_except(request, &doing, is_404).await {
                Ok(Ok(_)) => return self.state(flag).await,
                Ok(Err(failure)) => {
                    let said = answered(&self.service, &failure);
                    return Err(self.flag_not_found(flag, &said).await);
                }
                // A 5xx or a timeout: the policy cannot know whether the switch took effect.
                Err(e) if e.code() == ErrorCode::OutcomeUnknown => e,
                Err(e) => return Err(e),
            };
            // A read that fails too leaves the write's own failure to report.
            let Ok(now) = self.state(flag).await else {
                return Err(failed);
            };
            if now.enabled == enabled {
                return Ok(now);
            }
            if now.enabled != expected.enabled || attempt >= self.write_attempts {
                return Err(failed);
            }
            tracing::info!(service = %self.service.name(), attempt, "write failed, still needed after a read: sending it again");
            tokio::time::sleep(Duration::from_millis(250 << attempt.min(4))).await;
            attempt += 1;
        }
    }
}

/// The instance as a whole (listing projects or environments).
const ALL: Subject<'static> = Subject {
    project: None,
    key: None,
    environment: None,
};

/// Unleash's errors, for the failure policy: its body is `{id, name, message, details?}`; a
/// 403 says more in its body: an SDK token where an admin one is needed, or a change request
/// required by the environment (Enterprise).
struct UnleashErrors {
    /// The instance's root, linked when a request names no flag.
    root: String,
}

impl Vendor for UnleashErrors {
    fn said(&self, failure: &HttpFailure) -> Option<Said> {
        said_in(failure, &["message"])
    }

    fn meaning(&self, failure: &HttpFailure, _said: Option<&Said>) -> Option<ErrorCode> {
        match failure.status {
            403 if failure
                .full_body
                .contains("expected a different token type") =>
            {
                Some(ErrorCode::AuthFailed)
            }
            403 if failure.full_body.contains("SKIP_CHANGE_REQUEST") => Some(ErrorCode::Conflict),
            _ => None,
        }
    }

    fn hint_for(
        &self,
        code: ErrorCode,
        failure: &HttpFailure,
        _said: Option<&Said>,
        doing: &Doing,
    ) -> Option<String> {
        Some(match code {
            ErrorCode::AuthFailed if failure.status == 403 => {
                format!("{SDK_TOKEN_EXPLAINED}; configure one of those instead")
            }
            ErrorCode::AuthFailed => "the token was refused: check it is an admin, personal access or service-account token of this Unleash instance and has not expired or been revoked".into(),
            ErrorCode::Conflict if failure.status == 403 => format!(
                "a change request is required: this environment needs an approval for changes, so paaf cannot switch it directly; nothing was changed: open {} to create (or approve) a change request",
                doing.page().unwrap_or(&self.root)
            ),
            ErrorCode::PermissionDenied => "the token lacks the permission: give its user or service account a role that may change flags in this project and environment".into(),
            ErrorCode::NotFound => "not found: check the name, and that the base URL is the Unleash root (without /api)".into(),
            _ => return None,
        })
    }
}

impl FlagBackend for Unleash {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self, filter: &FlagFilter) -> Result<Vec<Flag>> {
        let all = self.projects().await?;
        let projects = match &filter.project {
            Some(p) if all.contains(p) => vec![p.clone()],
            Some(p) => return Err(self.project_not_found(p, Some(&all))),
            None => all,
        };
        if let Some(env) = &filter.environment {
            let known = self.environments().await?;
            if !known.contains(env) {
                let subject = Subject {
                    environment: Some(env),
                    ..ALL
                };
                return Err(self.environment_not_found(&subject, &known));
            }
        }
        let tag = filter.tag.as_ref().map(|t| t.to_lowercase());
        let mut flags = Vec::new();
        for project in &projects {
            for mut flag in self.project_flags(project).await? {
                if !filter.matches_text(&flag.key, None) {
                    continue;
                }
                if let Some(t) = &tag
                    && !flag.tags.iter().any(|have| tag_matches(have, t))
                {
                    continue;
                }
                if let Some(env) = &filter.environment {
                    flag.environments.retain(|e| &e.name == env);
                    if flag.environments.is_empty() {
                        continue;
                    }
                }
                flags.push(flag);
            }
        }
        flags.sort_by(|a, b| (&a.project, &a.key).cmp(&(&b.project, &b.key)));
        Ok(flags)
    }

    async fn state(&self, flag: &FlagRef<'_>) -> Result<FlagState> {
        require_names(
            self.service.name(),
            "Unleash",
            &[
                ("project", flag.project),
                ("flag", flag.key),
                ("environment", flag.environment),
            ],
        )?;
        let environments = self.detail(flag).await?;
        match environments.iter().find(|e| e.name == flag.environment) {
            Some(e) => Ok(FlagState::best_effort(e.enabled)),
            None => {
                let known: Vec<String> = environments.into_iter().map(|e| e.name).collect();
                Err(self.environment_not_found(&Subject::from(flag), &known))
            }
        }
    }

    /// One read of each project that holds two of the flags or more (its flag list has every
    /// flag's state in each environment) instead of one read per flag; a flag that list does
    /// not show, or whose project could not be listed, is read alone as `state` reads it (with
    /// its own error).
    async fn states(&self, flags: &[FlagRef<'_>]) -> Vec<Result<FlagState>> {
        let mut shared: Vec<&str> = flags.iter().map(|f| f.project).collect();
        shared.sort_unstable();
        shared.dedup();
        shared.retain(|p| flags.iter().filter(|f| f.project == *p).count() > 1);
        let lists = futures::future::join_all(shared.iter().map(|p| self.project_flags(p))).await;
        let listed: Vec<(&str, Vec<Flag>)> = shared
            .into_iter()
            .zip(lists)
            .filter_map(|(p, list)| list.ok().map(|list| (p, list)))
            .collect();
        let seen = |flag: &FlagRef<'_>| {
            let (_, list) = listed.iter().find(|(p, _)| *p == flag.project)?;
            let found = list.iter().find(|f| f.key == flag.key)?;
            let env = found
                .environments
                .iter()
                .find(|e| e.name == flag.environment)?;
            Some(FlagState::best_effort(env.enabled))
        };
        futures::future::join_all(flags.iter().map(|flag| async {
            match seen(flag) {
                Some(state) => Ok(state),
                None => self.state(flag).await,
            }
        }))
        .await
    }

    async fn set(&self, switch: &FlagSwitch<'_>) -> Result<FlagState> {
        let (flag, enabled, expected) = (switch.flag, switch.enabled, switch.expected);
        // Unleash's on/off takes no comment: its event log records the token's user.
        let now = match switch.expected_is_now {
            true => expected.clone(),
            false => self.state(flag).await?,
        };
        let known = if now.enabled != expected.enabled {
            self.last_change(flag).await.map(|c| format!(" (last {c})"))
        } else {
            None
        };
        let (service, known) = (self.service.name(), known.unwrap_or_default());
        if let Some(done) =
            still_needed(service, Subject::from(flag), now, expected, enabled, &known)?
        {
            return Ok(done);
        }
        self.switch(flag, enabled, expected).await
    }
}

/// `have` is `type:value`; `want` (lowercase) matches it whole or its value alone.
fn tag_matches(have: &str, want: &str) -> bool {
    let have = have.to_lowercase();
    have == want || have.split_once(':').is_some_and(|(_, value)| value == want)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn backend(url: &str, token: &str) -> Unleash {
        Unleash::connect(
            "ops",
            url,
            SecretString::from(token.to_string()),
            Limits {
                max_attempts: 1,
                ..Limits::default()
            },
        )
        .unwrap()
    }

    /// Switches `key` (project `default`, `production`) off, the user having seen it `seen`
    /// (`seen_now`: read just now, as a protect step does).
    async fn switch_off(u: &Unleash, key: &str, seen: bool, seen_now: bool) -> Result<FlagState> {
        let flag = FlagRef {
            project: "default",
            key,
            environment: "production",
        };
        let note = crate::flags::ChangeNote {
            comment: String::new(),
        };
        let switch = FlagSwitch {
            flag: &flag,
            enabled: false,
            expected: &FlagState::best_effort(seen),
            note: &note,
            expected_is_now: seen_now,
        };
        u.set(&switch).await
    }

    #[test]
    fn token_kinds_follow_unleash_formats() {
        assert_eq!(token_kind("*:*.abc123"), TokenKind::Admin);
        assert_eq!(token_kind("user:5a1b2c"), TokenKind::Personal);
        assert_eq!(token_kind("default:production.abc"), TokenKind::Sdk);
        assert_eq!(token_kind("[]:development.abc"), TokenKind::Sdk);
        assert_eq!(token_kind("*:production.abc"), TokenKind::Sdk);
        assert_eq!(token_kind("4a7f0e2b9c"), TokenKind::Unknown);
        assert_eq!(token_kind(""), TokenKind::Unknown);
    }

    #[test]
    fn an_sdk_token_is_refused_with_an_explanation_and_without_echoing_it() {
        let e = Unleash::connect(
            "ops",
            "http://127.0.0.1:1",
            SecretString::from("default:production.s3cr3t".to_string()),
            Limits::default(),
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("client (SDK) token"), "{text}");
        assert!(text.contains("unleash \"ops\""), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[test]
    fn links_and_paths_encode_their_segments() {
        let u = backend("http://127.0.0.1:4242/unleash", "*:*.x");
        assert_eq!(
            u.flag_url("default", "new checkout"),
            "http://127.0.0.1:4242/unleash/projects/default/features/new%20checkout"
        );
        assert_eq!(segment("a/b?c"), "a%2Fb%3Fc");
    }

    #[test]
    fn tags_match_whole_or_by_value() {
        assert!(tag_matches("simple:checkout", "checkout"));
        assert!(tag_matches("simple:Checkout", "simple:checkout"));
        assert!(!tag_matches("simple:checkout", "check"));
    }

    /// The answer of Unleash Enterprise when an environment requires change requests: the
    /// `PermissionError` for `SKIP_CHANGE_REQUEST` thrown by `stopWhenChangeRequestsEnabled`
    /// (unleash-server `lib/features/feature-toggle/feature-toggle-service.ts`,
    /// `lib/error/permission-error.ts`; docs: https://docs.getunleash.io/reference/change-requests).
    #[tokio::test]
    async fn a_required_change_request_is_a_conflict_with_the_link() {
        let server = MockServer::start().await;
        let flag = "/api/admin/projects/default/features/new-checkout";
        Mock::given(method("GET"))
            .and(path(flag))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "name": "new-checkout",
                "environments": [{"name": "production", "enabled": true}]
            })))
            .mount(&server)
            .await;
        let body = serde_json::json!({
            "id": "0b8d5bfa-6d4e-4a54-9a3c-0a2b3f2f9f7e",
            "name": "PermissionError",
            "message": "You don't have the required permissions to perform this operation. To perform this action, you need the \"SKIP_CHANGE_REQUEST\" permission in the \"production\" environment.",
            "details": [{"message": "You don't have the required permissions to perform this operation. To perform this action, you need the \"SKIP_CHANGE_REQUEST\" permission in the \"production\" environment."}],
            "permissions": ["SKIP_CHANGE_REQUEST"]
        });
        Mock::given(method("POST"))
            .and(path(format!("{flag}/environments/production/off")))
            .respond_with(ResponseTemplate::new(403).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let u = backend(&server.uri(), "*:*.x");
        let e = switch_off(&u, "new-checkout", true, false)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
        let text = e.to_string();
        assert!(text.contains("change request is required"), "{text}");
        assert!(
            text.contains(&format!(
                "{}/projects/default/features/new-checkout",
                server.uri()
            )),
            "{text}"
        );
        assert!(text.contains("environment `production`"), "{text}");
    }

    /// Flag `f` (project `default`) reads OFF in `production`.
    async fn mount_reads_off(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path("/api/admin/projects/default/features/f"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "environments": [{"name": "production", "enabled": false}]
            })))
            .mount(server)
            .await;
    }

    #[tokio::test]
    async fn a_flag_already_in_the_wanted_state_is_not_written() {
        let server = MockServer::start().await;
        mount_reads_off(&server).await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let u = backend(&server.uri(), "*:*.x");
        let off = FlagState::best_effort(false);
        assert_eq!(switch_off(&u, "f", false, false).await.unwrap(), off);
    }

    /// A state the caller read just now is not read again before the switch (one GET less
    /// per protect step); the state after it is read back. A state seen earlier (a person's
    /// confirmation) is read again first, and a change since refuses the switch.
    #[tokio::test]
    async fn a_state_read_just_now_is_not_read_again_before_the_switch() {
        let server = MockServer::start().await;
        // The flag reads OFF: switched off already when read after, turned off by someone
        // else when read before.
        mount_reads_off(&server).await;
        Mock::given(method("POST"))
            .and(path(
                "/api/admin/projects/default/features/f/environments/production/off",
            ))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let u = backend(&server.uri(), "*:*.x");
        let methods = |requests: Vec<wiremock::Request>| -> Vec<String> {
            requests.iter().map(|r| r.method.to_string()).collect()
        };

        let after = switch_off(&u, "f", true, true).await.unwrap();
        assert_eq!(after, FlagState::best_effort(false));
        let sent = methods(server.received_requests().await.unwrap());
        assert_eq!(sent, ["POST", "GET"], "the switch, then its read-back");

        server.reset().await;
        mount_reads_off(&server).await;
        let e = switch_off(&u, "f", true, false).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
        let sent = methods(server.received_requests().await.unwrap());
        assert_eq!(sent[0], "GET", "read again before writing: {sent:?}");
        assert!(!sent.contains(&"POST".to_string()), "{sent:?}");
    }
}
