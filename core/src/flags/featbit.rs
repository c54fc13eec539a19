//! FeatBit (self-hosted; its API server's OpenAPI endpoints, https://docs.featbit.co/api-docs/overview):
//! the flags of the configured environments with their on/off state, and the on/off switch
//! of one flag in one environment.
//!
//! Config keys (one `[[flags]]` entry of kind `featbit`):
//! - `url`: the API server (default port 5000), e.g. `http://featbit.internal:5000`;
//! - `token`: an access token (`api-…`, Integrations → Access tokens, with the
//!   ManageFeatureFlag permission), as a secret reference; sent as `Authorization: <token>`;
//! - `project`: the FeatBit project's key, for messages and `Flag::project`;
//! - `environments`: environment name → environment id, e.g. `{ production =
//!   "7ee5d7ae-3d8c-4f08-9e1c-0b1c6f0e4c2a" }` (the id is under Organization → Projects).
//!
//! Endpoints (every answer is `{success, errors: [code…], data}`):
//! - `GET api/v1/envs/{envId}/feature-flags?pageIndex=&pageSize=` → `data: {totalCount,
//!   items: [{key, name, description, isEnabled, tags}]}` (pageIndex from 0);
//! - `GET api/v1/envs/{envId}/feature-flags/{key}` → `data: {key, isEnabled, revision, …}`
//!   (a flag belongs to one environment; its `revision` changes with every change of it);
//! - `PATCH api/v1/envs/{envId}/feature-flags/{key}` with a JSON Patch (RFC 6902; "Update a
//!   feature flag with the JSON patch method", whose examples turn a flag on and off with
//!   `replace /isEnabled`) → `data: true`, or `success: false` with the patch error (a failed
//!   `test`) in `errors`.
//!
//! The switch is a conditional write: `[{test /revision <the revision the user saw>}, {test
//! /isEnabled <expected>}, {replace /isEnabled <wanted>}]`, so FeatBit itself refuses it when
//! the flag changed since the user looked, even if it was switched back meanwhile (the
//! revision test is left out when no revision was read). The toggle endpoint (`PUT …/toggle/
//! {status}` with a comment) has no precondition, so paaf does not use it; FeatBit's audit log
//! records the token's owner. Errors are typed from the status and the `errors` codes
//! (`Unauthorized`, `Forbidden`, `ResourceNotFound`, `Conflict`, …), also when a 2xx body says
//! `success: false`.

use super::{
    CONFLICT_FIX, ChangeNote, Flag, FlagBackend, FlagEnvironment, FlagFilter, FlagRef, FlagState,
    Pager, Refusal, changed_meanwhile, outcome_about, require_names, still_needed, vendor_said,
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

const PAGE_SIZE: usize = 100;

/// `[[flags]] type = "featbit"`: the API server, an access token, the project's label and the
/// ids of its environments.
#[derive(Debug, Clone)]
pub struct FeatBitConfig {
    pub url: String,
    pub token: SecretRef,
    /// The project's key, for messages and `Flag::project`.
    pub project: Option<String>,
    /// Environment name → environment id.
    pub environments: BTreeMap<String, String>,
}

impl FeatBitConfig {
    /// The entry's FeatBit settings; a token and the environment ids are required.
    pub(crate) fn validate(entry: &FlagsEntry<'_>) -> Result<FeatBitConfig> {
        let token = entry.token("an API access token (not an SDK key)")?;
        if entry.environments.is_empty() {
            return Err(entry.missing(
                "the ids of its environments",
                "environments = { production = \"<environment id>\" }",
            ));
        }
        Ok(FeatBitConfig {
            url: entry.url.clone(),
            token,
            project: entry.project(),
            environments: entry.environments.clone(),
        })
    }

    /// The API server, with the token from the secret store.
    pub(crate) fn connect(
        &self,
        name: &str,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<FeatBit> {
        FeatBit::connect(
            name,
            &self.url,
            self.token.resolve(secrets)?,
            limits,
            self.project.as_deref().unwrap_or_default(),
            &self.environments,
        )
    }
}

/// One FeatBit project's environments, reached through FeatBit's API server.
#[derive(Debug, Clone)]
pub struct FeatBit {
    name: String,
    project: String,
    /// Environment name → environment id.
    environments: BTreeMap<String, String>,
    service: Service,
}

#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    errors: Vec<String>,
    data: Option<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlagPage {
    #[serde(default)]
    total_count: usize,
    #[serde(default)]
    items: Vec<FbFlag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FbFlag {
    key: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    is_enabled: bool,
    #[serde(default)]
    tags: Option<Vec<String>>,
    /// Changes with every change of the flag (a UUID).
    #[serde(default)]
    revision: Option<String>,
}

/// What a request was about, for messages.
struct Subject<'a> {
    project: &'a str,
    key: Option<&'a str>,
    environment: &'a str,
    env_id: &'a str,
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(key) = self.key {
            write!(f, "flag `{key}` in ")?;
        }
        write!(
            f,
            "project `{}`, environment `{}` (id {})",
            self.project, self.environment, self.env_id
        )
    }
}

const TOKEN_HOWTO: &str = "paaf needs a FeatBit access token (`api-…`): Integrations → Access tokens, a personal or service token with the ManageFeatureFlag permission (an environment's SDK secret only serves flags to SDKs)";

impl FeatBit {
    /// The backend `name` for FeatBit's API server at `base_url`, labelled `project`, with
    /// `environments` mapping names to environment ids. Refuses at once a token that is not an
    /// access token (`api-…`), e.g. an environment's SDK secret.
    pub fn connect(
        name: &str,
        base_url: &str,
        token: SecretString,
        limits: Limits,
        project: &str,
        environments: &BTreeMap<String, String>,
    ) -> Result<FeatBit> {
        let service_name = format!("featbit \"{name}\"");
        if !token.expose_secret().trim().starts_with("api-") {
            return Err(Error::invalid(format!(
                "{service_name}: the token is not a FeatBit access token (those start with `api-`); it may be an environment's SDK secret, which the API refuses. {TOKEN_HOWTO}"
            )));
        }
        if environments.is_empty() {
            return Err(Error::invalid(format!(
                "{service_name}: map environment names to FeatBit environment ids (`environments = {{ production = \"<env id>\" }}`)"
            )));
        }
        let auth = HttpAuth::Header {
            name: "authorization".into(),
            value: token,
        };
        let service = Service::new(&service_name, base_url.trim(), auth, limits)?;
        Ok(FeatBit {
            name: name.to_string(),
            project: project.to_string(),
            environments: environments.clone(),
            service,
        })
    }

    fn env_id<'a>(&'a self, environment: &str) -> Result<&'a str> {
        self.environments
            .get(environment)
            .map(String::as_str)
            .ok_or_else(|| Error::NotFound {
                what: "FeatBit environment",
                name: environment.to_string(),
                hint: Some(format!(
                    "{} has ids for {} in project `{}`; add it to `environments` in the config",
                    self.service.name(),
                    self.environments
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.project
                )),
            })
    }

    /// Sends `request` and opens FeatBit's envelope; every failure, HTTP or `success: false`,
    /// becomes the typed error naming `subject`.
    async fn call<T: DeserializeOwned>(
        &self,
        request: Request,
        subject: &Subject<'_>,
    ) -> Result<T> {
        match self.service.send_raw(request).await? {
            Ok(response) => self.open(&response, subject),
            Err(failure) => Err(self.failure(&failure, subject)),
        }
    }

    fn open<T: DeserializeOwned>(&self, response: &Response, subject: &Subject<'_>) -> Result<T> {
        let envelope: Envelope<T> = response.json(self.service.name())?;
        if !envelope.success {
            let status = match envelope.errors.first().map(String::as_str) {
                Some("Unauthorized") => 401,
                Some("Forbidden") => 403,
                Some("ResourceNotFound") => 404,
                Some("Conflict") => 409,
                _ => 422,
            };
            return Err(self.error(status, &envelope.errors.join(", "), subject));
        }
        envelope.data.ok_or_else(|| Error::MalformedResponse {
            what: self.service.name().to_string(),
            reason: "a successful answer without `data`".into(),
        })
    }

    fn failure(&self, failure: &HttpFailure, subject: &Subject<'_>) -> Error {
        let said = vendor_said(&failure.body, &["errors"]);
        match failure.status {
            401 | 403 | 404 | 409 | 422 => self.error(failure.status, &said, subject),
            _ => self.service.status_error(failure).about(subject),
        }
    }

    fn error(&self, status: u16, said: &str, subject: &Subject<'_>) -> Error {
        let refusal = match status {
            401 => Refusal {
                code: ErrorCode::AuthFailed,
                what: "the access token was refused",
                fix: format!("it may be disabled or deleted. {TOKEN_HOWTO}"),
            },
            403 => Refusal {
                code: ErrorCode::PermissionDenied,
                what: "refused",
                fix: "the token lacks the permission (ManageFeatureFlag / toggle), or the environment id belongs to another organization; check both".into(),
            },
            404 => Refusal {
                code: ErrorCode::NotFound,
                what: "not found",
                fix: "check the flag key and the environment id".into(),
            },
            409 => Refusal {
                code: ErrorCode::Conflict,
                what: "FeatBit refused it as a conflicting change",
                fix: CONFLICT_FIX.into(),
            },
            _ => Refusal {
                code: ErrorCode::ServiceFailed,
                what: "FeatBit refused the request",
                fix: "check the flag and the environment in FeatBit".into(),
            },
        };
        refusal.error(self.service.name(), status, subject, said)
    }

    async fn env_flags(&self, environment: &str, env_id: &str) -> Result<Vec<FbFlag>> {
        let subject = Subject {
            project: &self.project,
            key: None,
            environment,
            env_id,
        };
        let mut flags = Vec::new();
        let mut pager = Pager::new(self.service.name());
        for index in 0.. {
            let request = Request::get(format!("api/v1/envs/{}/feature-flags", segment(env_id)))
                .query("pageIndex", index.to_string())
                .query("pageSize", PAGE_SIZE.to_string());
            let page: FlagPage = self.call(request, &subject).await?;
            let received = page.items.len();
            pager.page(page.items.iter().map(|f| f.key.as_str()))?;
            flags.extend(page.items);
            if received == 0 || flags.len() >= page.total_count {
                break;
            }
        }
        Ok(flags)
    }
}

impl FlagBackend for FeatBit {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self, filter: &FlagFilter) -> Result<Vec<Flag>> {
        let environments: Vec<(&str, &str)> = match &filter.environment {
            Some(env) => vec![(env.as_str(), self.env_id(env)?)],
            None => self
                .environments
                .iter()
                .map(|(n, id)| (n.as_str(), id.as_str()))
                .collect(),
        };
        let query = filter.query.as_ref().map(|q| q.to_lowercase());
        let tag = filter.tag.as_ref().map(|t| t.to_lowercase());
        let mut by_key: BTreeMap<String, Flag> = BTreeMap::new();
        for (environment, env_id) in environments {
            for item in self.env_flags(environment, env_id).await? {
                let flag = by_key.entry(item.key.clone()).or_insert_with(|| Flag {
                    backend: self.name.clone(),
                    project: self.project.clone(),
                    key: item.key.clone(),
                    name: item
                        .name
                        .clone()
                        .filter(|n| !n.is_empty() && *n != item.key),
                    description: item.description.clone().filter(|d| !d.is_empty()),
                    tags: item.tags.clone().unwrap_or_default(),
                    environments: Vec::new(),
                    url: None,
                });
                flag.environments.push(FlagEnvironment {
                    name: environment.to_string(),
                    enabled: item.is_enabled,
                });
            }
        }
        Ok(by_key
            .into_values()
            .filter(|f| {
                query.as_ref().is_none_or(|q| {
                    f.key.to_lowercase().contains(q)
                        || f.name.as_deref().unwrap_or("").to_lowercase().contains(q)
                })
            })
            .filter(|f| {
                tag.as_ref()
                    .is_none_or(|t| f.tags.iter().any(|have| have.to_lowercase() == *t))
            })
            .collect())
    }

    async fn state(&self, flag: &FlagRef<'_>) -> Result<FlagState> {
        require_names(self.service.name(), "FeatBit", &[("flag key", flag.key)])?;
        let env_id = self.env_id(flag.environment)?;
        let subject = Subject {
            project: &self.project,
            key: Some(flag.key),
            environment: flag.environment,
            env_id,
        };
        let path = format!(
            "api/v1/envs/{}/feature-flags/{}",
            segment(env_id),
            segment(flag.key)
        );
        let detail: FbFlag = self.call(Request::get(path), &subject).await?;
        Ok(FlagState::conditional(detail.is_enabled, detail.revision))
    }

    async fn set(
        &self,
        flag: &FlagRef<'_>,
        enabled: bool,
        expected: &FlagState,
        _note: &ChangeNote,
    ) -> Result<FlagState> {
        let now = self.state(flag).await?;
        let env_id = self.env_id(flag.environment)?;
        let subject = Subject {
            project: &self.project,
            key: Some(flag.key),
            environment: flag.environment,
            env_id,
        };
        let service = self.service.name();
        let read = now.version.clone();
        if let Some(done) = still_needed(service, &subject, now, expected, enabled, "")? {
            return Ok(done);
        }
        // The revision the user saw, else the one just read: FeatBit applies the patch only
        // while it still matches.
        let revision = expected.version.as_ref().or(read.as_ref());
        let mut patch: Vec<serde_json::Value> = revision
            .map(|r| serde_json::json!({"op": "test", "path": "/revision", "value": r}))
            .into_iter()
            .collect();
        patch.push(
            serde_json::json!({"op": "test", "path": "/isEnabled", "value": expected.enabled}),
        );
        patch.push(serde_json::json!({"op": "replace", "path": "/isEnabled", "value": enabled}));
        let path = format!(
            "api/v1/envs/{}/feature-flags/{}",
            segment(env_id),
            segment(flag.key)
        );
        // Not retried after it may have reached FeatBit: a timed-out write is outcome-unknown.
        let request = Request::with_body(Method::PATCH, path, &patch, Retry::NotIdempotent)?;
        let sent = self
            .service
            .send_raw(request)
            .await
            .map_err(|e| outcome_about(e, &subject))?;
        let refused = match sent {
            Ok(response) => {
                match response.json::<Envelope<serde_json::Value>>(self.service.name())? {
                    envelope if envelope.success => return self.state(flag).await,
                    envelope => self.error(422, &envelope.errors.join(", "), &subject),
                }
            }
            Err(failure) => self.failure(&failure, &subject),
        };
        // A failed `test` (or a concurrent write) says the flag moved: say how, when a read
        // shows it.
        match self.state(flag).await {
            Ok(now) if now.enabled != expected.enabled => Err(changed_meanwhile(
                self.service.name(),
                &subject,
                now.enabled,
                expected.enabled,
                "",
            )),
            Ok(now) if now.version.as_ref() != revision => Err(Error::Service {
                service: self.service.name().to_string(),
                code: ErrorCode::Conflict,
                status: 412,
                message: format!(
                    "{subject}: it was changed since you looked (its revision moved) and is {} again; nothing was changed: look at its current state and decide again",
                    super::on_off(now.enabled)
                ),
            }),
            _ => Err(refused),
        }
    }
}
