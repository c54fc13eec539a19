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
//! Unleash has no conditional write for on/off, so [`FlagBackend::set`] re-reads the state
//! right before writing. Auth is `Authorization: <token>`: an admin token (`*:*.secret`), a
//! personal access token (`user:...`) or a service-account token; SDK tokens
//! (`project:environment.secret`, client/backend or frontend) are refused by the admin API,
//! and paaf says so.

use super::{
    ChangeNote, Flag, FlagBackend, FlagEnvironment, FlagFilter, FlagRef, FlagState,
    changed_meanwhile,
};
use crate::error::{Error, ErrorCode, Result};
use crate::http::path_segment as segment;
use crate::http::{HttpAuth, HttpFailure, Limits, Request, Retry, Service};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// One Unleash instance, reached through its admin API.
#[derive(Debug, Clone)]
pub struct Unleash {
    name: String,
    service: Service,
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

/// Unleash's error body: `{name, message, permissions?}` (the body may be cut short).
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
}

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
        Unleash {
            name: name.to_string(),
            service,
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
        let service = Service::new(&service_name, base_url, auth, limits)?;
        Ok(Unleash::new(name, service))
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

    /// `GET` decoded as `T`; a 404 is handed back for the caller to say what was not found,
    /// any other failure becomes the error naming `subject`.
    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        request: Request,
        subject: &Subject<'_>,
    ) -> Result<std::result::Result<T, HttpFailure>> {
        match self.service.send_raw(request).await? {
            Ok(response) => Ok(Ok(response.json(self.service.name())?)),
            Err(failure) if failure.status == 404 => Ok(Err(failure)),
            Err(failure) => Err(self.failure(&failure, subject)),
        }
    }

    async fn projects(&self) -> Result<Vec<String>> {
        let subject = Subject {
            project: None,
            key: None,
            environment: None,
        };
        match self
            .get::<Projects>(Request::get("api/admin/projects"), &subject)
            .await?
        {
            Ok(p) => Ok(p.projects.into_iter().map(|p| p.id).collect()),
            Err(failure) => Err(self.failure(&failure, &subject)),
        }
    }

    async fn environments(&self) -> Result<Vec<String>> {
        let subject = Subject {
            project: None,
            key: None,
            environment: None,
        };
        match self
            .get::<Environments>(Request::get("api/admin/environments"), &subject)
            .await?
        {
            Ok(e) => Ok(e.environments.into_iter().map(|e| e.name).collect()),
            Err(failure) => Err(self.failure(&failure, &subject)),
        }
    }

    async fn project_flags(&self, project: &str) -> Result<Vec<Flag>> {
        let subject = Subject {
            project: Some(project),
            key: None,
            environment: None,
        };
        let path = format!("api/admin/projects/{}/features", segment(project));
        let features = match self
            .get::<ProjectFeatures>(Request::get(path), &subject)
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
        let subject = Subject::from(flag);
        let path = self.flag_path(flag.project, flag.key);
        match self
            .get::<FeatureDetail>(Request::get(path), &subject)
            .await?
        {
            Ok(detail) => Ok(detail.environments),
            Err(failure) => Err(self.flag_not_found(flag, &failure).await),
        }
    }

    /// A 404 on a flag: the project or the flag is unknown (Unleash says which project has
    /// a flag of that name, when one does).
    async fn flag_not_found(&self, flag: &FlagRef<'_>, failure: &HttpFailure) -> Error {
        if let Ok(projects) = self.projects().await
            && !projects.iter().any(|p| p == flag.project)
        {
            return self.project_not_found(flag.project, Some(&projects));
        }
        let said = unleash_message(&failure.body);
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
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
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

    /// The error for a failed status, with what the request was about.
    fn failure(&self, failure: &HttpFailure, subject: &Subject<'_>) -> Error {
        let said = unleash_message(&failure.body);
        let service = self.service.name().to_string();
        match failure.status {
            401 => Error::Service {
                service,
                code: ErrorCode::AuthFailed,
                status: 401,
                message: format!(
                    "{subject}: the token was refused (HTTP 401: {said}); check it is an admin, personal access or service-account token of this Unleash instance and has not expired or been revoked"
                ),
            },
            403 if said.contains("expected a different token type") => Error::Service {
                service,
                code: ErrorCode::AuthFailed,
                status: 403,
                message: format!("{subject}: {SDK_TOKEN_EXPLAINED} (HTTP 403: {said})"),
            },
            403 if failure.body.contains("SKIP_CHANGE_REQUEST") => {
                let link = subject
                    .key
                    .zip(subject.project)
                    .map(|(key, project)| self.flag_url(project, key))
                    .unwrap_or_else(|| self.service.base_url().to_string());
                Error::Service {
                    service,
                    code: ErrorCode::Conflict,
                    status: 403,
                    message: format!(
                        "{subject}: a change request is required: this environment needs an approval for changes, so paaf cannot switch it directly; nothing was changed. Open {link} to create (or approve) a change request"
                    ),
                }
            }
            403 => Error::Service {
                service,
                code: ErrorCode::PermissionDenied,
                status: 403,
                message: format!(
                    "{subject}: the token lacks the permission (HTTP 403: {said}); give its user or service account a role that may change flags in this project and environment"
                ),
            },
            404 => Error::Service {
                service,
                code: ErrorCode::NotFound,
                status: 404,
                message: format!(
                    "{subject}: not found (HTTP 404: {said}); check the name, and that the base URL is the Unleash root (without /api)"
                ),
            },
            _ => self.service.status_error(failure).about(subject),
        }
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
                    project: None,
                    key: None,
                    environment: Some(env),
                };
                return Err(self.environment_not_found(&subject, &known));
            }
        }
        let query = filter.query.as_ref().map(|q| q.to_lowercase());
        let tag = filter.tag.as_ref().map(|t| t.to_lowercase());
        let mut flags = Vec::new();
        for project in &projects {
            for mut flag in self.project_flags(project).await? {
                if let Some(q) = &query
                    && !flag.key.to_lowercase().contains(q)
                {
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
        check_ref(self, flag)?;
        let environments = self.detail(flag).await?;
        match environments.iter().find(|e| e.name == flag.environment) {
            Some(e) => Ok(FlagState {
                enabled: e.enabled,
                version: None,
            }),
            None => {
                let known: Vec<String> = environments.into_iter().map(|e| e.name).collect();
                Err(self.environment_not_found(&Subject::from(flag), &known))
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
        // Unleash's on/off takes no comment: its event log records the token's user.
        let now = self.state(flag).await?;
        if now.enabled != expected.enabled {
            let changed = self
                .last_change(flag)
                .await
                .map(|c| format!(" (last {c})"))
                .unwrap_or_default();
            return Err(changed_meanwhile(
                self.service.name(),
                Subject::from(flag),
                now.enabled,
                expected.enabled,
                &changed,
            ));
        }
        if now.enabled == enabled {
            return Ok(now);
        }
        let path = format!(
            "{}/environments/{}/{}",
            self.flag_path(flag.project, flag.key),
            segment(flag.environment),
            if enabled { "on" } else { "off" }
        );
        // On/off sets an absolute state, so sending it twice does what sending it once does:
        // retrying a timed-out attempt is safe and beats an "outcome unknown" at 3 a.m.
        let request = Request::post(path, Retry::Idempotent);
        if let Err(failure) = self.service.send_raw(request).await? {
            let subject = Subject::from(flag);
            if failure.status == 404 {
                return Err(self.flag_not_found(flag, &failure).await);
            }
            return Err(self.failure(&failure, &subject));
        }
        self.state(flag).await
    }
}

fn check_ref(unleash: &Unleash, flag: &FlagRef<'_>) -> Result<()> {
    for (what, value) in [
        ("project", flag.project),
        ("flag", flag.key),
        ("environment", flag.environment),
    ] {
        if value.trim().is_empty() {
            return Err(Error::invalid(format!(
                "{}: name the Unleash {what}",
                unleash.service.name()
            )));
        }
    }
    Ok(())
}

/// `have` is `type:value`; `want` (lowercase) matches it whole or its value alone.
fn tag_matches(have: &str, want: &str) -> bool {
    let have = have.to_lowercase();
    have == want || have.split_once(':').is_some_and(|(_, value)| value == want)
}

/// Unleash's `message` from an error body, which may be cut short; else the body itself.
fn unleash_message(body: &str) -> String {
    if let Ok(ErrorBody {
        message: Some(message),
    }) = serde_json::from_str(body)
    {
        return message;
    }
    if let Some(start) = body.find("\"message\":\"") {
        let rest = &body[start + "\"message\":\"".len()..];
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return out,
                '\\' => {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                }
                c => out.push(c),
            }
        }
        return format!("{out}…");
    }
    if body.is_empty() {
        "(no message)".into()
    } else {
        body.to_string()
    }
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
    fn error_messages_survive_a_cut_body() {
        assert_eq!(unleash_message(r#"{"message":"no \"x\""}"#), "no \"x\"");
        assert_eq!(
            unleash_message(r#"{"id":"1","message":"You don't have the req"#),
            "You don't have the req…"
        );
        assert_eq!(unleash_message("plain"), "plain");
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
        let target = FlagRef {
            project: "default",
            key: "new-checkout",
            environment: "production",
        };
        let expected = FlagState {
            enabled: true,
            version: None,
        };
        let note = ChangeNote {
            comment: "test".into(),
        };
        let e = u.set(&target, false, &expected, &note).await.unwrap_err();
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

    #[tokio::test]
    async fn a_flag_already_in_the_wanted_state_is_not_written() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/admin/projects/default/features/f"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "environments": [{"name": "production", "enabled": false}]
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let u = backend(&server.uri(), "*:*.x");
        let target = FlagRef {
            project: "default",
            key: "f",
            environment: "production",
        };
        let off = FlagState {
            enabled: false,
            version: None,
        };
        let note = ChangeNote {
            comment: String::new(),
        };
        assert_eq!(u.set(&target, false, &off, &note).await.unwrap(), off);
    }
}
