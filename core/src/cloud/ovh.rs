//! OVHcloud, through its API v1 (default `https://eu.api.ovh.com/1.0`) with an application
//! key and secret and a consumer key.
//!
//! Every call is signed (https://help.ovhcloud.com/csm/en-api-getting-started-ovhcloud-api,
//! as the official clients do: https://github.com/ovh/python-ovh, https://github.com/ovh/go-ovh):
//! headers `X-Ovh-Application` (application key), `X-Ovh-Consumer` (consumer key),
//! `X-Ovh-Timestamp` (the API's clock: `GET /auth/time`, read once, its offset from this
//! machine's clock kept) and `X-Ovh-Signature` = `$1$` + hex(SHA-1(application secret + `+` +
//! consumer key + `+` + method + `+` + full URL + `+` + body + `+` + timestamp)).
//!
//! With a `project`, its Public Cloud instances
//! (https://eu.api.ovh.com/console/?section=%2Fcloud&branch=v1):
//! - `GET /cloud/project/{project}/instance` and `GET /cloud/project/{project}/instance/{id}`
//!   → `id`, `name`, `region`, `status` (OpenStack's: `ACTIVE`, `SHUTOFF`, `BUILD`, `REBOOT`,
//!   …), `ipAddresses`, `created`;
//! - `POST /cloud/project/{project}/instance/{id}/reboot` with `{"type":"soft"}` (reboot) or
//!   `{"type":"hard"}` (hard reboot), `POST …/{id}/stop`, `POST …/{id}/start`: sent once,
//!   answered without a task (the instance's status is followed).
//!
//! Without one, the account's dedicated servers
//! (https://eu.api.ovh.com/console/?section=%2Fdedicated%2Fserver&branch=v1):
//! - `GET /dedicated/server` → their names, then `GET /dedicated/server/{name}` for each (a
//!   few at a time) → `state` (`ok`, `error`, `hacked`, `hackedBlocked`), `powerState`
//!   (`poweron`, `poweroff`), `datacenter`, `ip`;
//! - `POST /dedicated/server/{name}/reboot`: a hard reboot (a reset), answered with a task
//!   `{taskId, status}` followed with `GET /dedicated/server/{name}/task/{taskId}` until
//!   `done` (`customerError`, `ovhError` and `cancelled` are failures). The API has no clean
//!   reboot, stop or start of a dedicated server: paaf refuses them.
//!
//! Errors are `{"message": …, "errorCode": …}` (`NOT_GRANTED_CALL`, `NOT_CREDENTIAL`,
//! `INVALID_KEY`, `INVALID_CREDENTIAL`, `INVALID_SIGNATURE`, `FORBIDDEN`, as python-ovh
//! reads them).

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PollSettings, PowerAction,
    Server, ServerStatus,
};
use crate::config::{AccountConfig, CloudConfig, CloudEntry, Key};
use crate::error::{Error, ErrorCode, ErrorInfo, Phase, Result};
use crate::events::CancellationToken;
use crate::http::{HttpAuth, HttpFailure, Limits, Method, Request, Retry, Service, path_segment};
use crate::secrets::{SecretRef, SecretStore};
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;
use tokio::sync::OnceCell;

/// The API of OVHcloud Europe.
pub const DEFAULT_ENDPOINT: &str = "https://eu.api.ovh.com/1.0";
/// Dedicated servers read at the same time when listing.
const CONCURRENT_READS: usize = 8;

/// An application's keys and the consumer key it was granted. `Debug` shows the application
/// key only (it is not secret).
#[derive(Clone)]
pub struct OvhKeys {
    pub application_key: String,
    pub application_secret: SecretString,
    pub consumer_key: SecretString,
}

impl fmt::Debug for OvhKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OvhKeys")
            .field("application_key", &self.application_key)
            .field("application_secret", &"[redacted]")
            .field("consumer_key", &"[redacted]")
            .finish()
    }
}

/// One OVHcloud account: its Public Cloud project's instances, or its dedicated servers.
pub struct Ovh {
    name: String,
    keys: OvhKeys,
    project: Option<String>,
    /// Only the servers of these regions (datacenters) are listed (all when empty).
    regions: Vec<String>,
    service: Service,
    /// The API's clock minus this machine's, in seconds, once read.
    time_offset: OnceCell<i64>,
}

impl fmt::Debug for Ovh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ovh")
            .field("name", &self.name)
            .field("endpoint", &self.service.base_url())
            .field("keys", &self.keys)
            .field("project", &self.project)
            .field("regions", &self.regions)
            .finish()
    }
}

impl CloudAccount for Ovh {
    fn provider(&self) -> &'static str {
        "ovh"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(Ovh::list(self))
    }

    fn read<'a>(&'a self, _region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(Ovh::read(self, id))
    }

    fn power<'a>(
        &'a self,
        _region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(Ovh::power(self, id, action))
    }

    fn settle<'a>(
        &'a self,
        _region: &'a str,
        accepted: &'a Accepted,
        settings: PollSettings,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.wait_task(accepted, settings, cancel))
    }
}

/// The keys of an `ovh` `[[clouds]]` entry.
#[derive(Debug, Clone)]
pub struct OvhConfig {
    /// The application key (`application_key`, not secret).
    pub application_key: String,
    /// The application secret (`application_secret`).
    pub application_secret: SecretRef,
    /// The consumer key the application was granted (`consumer_key`).
    pub consumer_key: SecretRef,
    /// The Public Cloud project (`project`); without it, the dedicated servers.
    pub project: Option<String>,
    /// The regions listed (`regions`); empty: all.
    pub regions: Vec<String>,
    /// Another API URL than [`DEFAULT_ENDPOINT`] (`https://ca.api.ovh.com/1.0`).
    pub endpoint: Option<String>,
}

impl AccountConfig for OvhConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<OvhConfig> {
        let endpoint = entry.endpoint()?;
        let secrets = entry
            .secret(Key::ApplicationSecret)?
            .zip(entry.secret(Key::ConsumerKey)?);
        let (application_key, (application_secret, consumer_key)) = entry.needs(
            entry.text(Key::ApplicationKey).zip(secrets),
            (
                "API credentials",
                "application_key, application_secret = \"keyring:NAME\" and consumer_key = \"keyring:NAME2\"",
            ),
        )?;
        Ok(OvhConfig {
            application_key,
            application_secret,
            consumer_key,
            project: entry.text(Key::Project),
            regions: entry.regions(),
            endpoint,
        })
    }
}

impl Ovh {
    /// The account of an `ovh` `[[clouds]]` entry.
    pub fn from_config(
        config: &CloudConfig,
        ovh: &OvhConfig,
        secrets: &dyn SecretStore,
    ) -> Result<Ovh> {
        let keys = OvhKeys {
            application_key: ovh.application_key.clone(),
            application_secret: ovh.application_secret.resolve(secrets)?,
            consumer_key: ovh.consumer_key.resolve(secrets)?,
        };
        Ovh::connect(
            &config.name,
            ovh.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT),
            keys,
            ovh.project.as_deref(),
            &ovh.regions,
            Limits::with_timeout(config.timeout),
        )
    }

    /// The account `name` at `endpoint` (`https://eu.api.ovh.com/1.0`, `https://ca.api.ovh.com/1.0`,
    /// a test server): the instances of Public Cloud `project`, or without one the dedicated
    /// servers; `regions` limits the listing (empty: all).
    pub fn connect(
        name: &str,
        endpoint: &str,
        keys: OvhKeys,
        project: Option<&str>,
        regions: &[String],
        limits: Limits,
    ) -> Result<Ovh> {
        if keys.application_key.trim().is_empty()
            || keys.application_secret.expose_secret().trim().is_empty()
            || keys.consumer_key.expose_secret().trim().is_empty()
        {
            return Err(Error::invalid(format!(
                "ovh \"{name}\": the application key, application secret and consumer key must not be empty"
            )));
        }
        if project.is_some_and(|p| p.trim().is_empty()) {
            return Err(Error::invalid(format!(
                "ovh \"{name}\": project is empty; give the Public Cloud project id, or remove it to list dedicated servers"
            )));
        }
        let service = Service::new(&format!("ovh \"{name}\""), endpoint, HttpAuth::None, limits)?;
        Ok(Ovh {
            name: name.to_string(),
            keys,
            project: project.map(str::to_string),
            regions: regions.to_vec(),
            service,
            time_offset: OnceCell::new(),
        })
    }

    /// Every instance of the project, or every dedicated server; a server that cannot be
    /// read is an error row, a listing that fails one row for the whole account. Sorted by
    /// region, name, id.
    pub async fn list(&self) -> Inventory {
        let mut inventory = Inventory::default();
        let row = |e: &Error| InventoryError {
            provider: "ovh".into(),
            account: self.name.clone(),
            region: None,
            error: ErrorInfo::from(e),
        };
        match &self.project {
            Some(project) => match self.instances(project).await {
                Ok(servers) => inventory.servers = servers,
                Err(e) => inventory.errors.push(row(&e)),
            },
            None => match self.dedicated_names().await {
                Ok(names) => {
                    let reads = futures::stream::iter(names)
                        .map(|n| async move { self.dedicated(&n).await })
                        .buffered(CONCURRENT_READS)
                        .collect::<Vec<_>>()
                        .await;
                    for read in reads {
                        match read {
                            Ok(server) => inventory.servers.push(server),
                            Err(e) => inventory.errors.push(row(&e)),
                        }
                    }
                }
                Err(e) => inventory.errors.push(row(&e)),
            },
        }
        inventory
            .servers
            .retain(|s| self.regions.is_empty() || self.regions.contains(&s.region));
        inventory
            .servers
            .sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
        inventory
    }

    /// The instance (with a project) or dedicated server `id`, read now.
    pub async fn read(&self, id: &str) -> Result<Server> {
        check_id(id)?;
        match &self.project {
            Some(project) => {
                let call = Call::read(
                    format!("reading instance {id}"),
                    "GET /cloud/project/*/instance/*",
                    Some(id),
                );
                let path = format!(
                    "cloud/project/{}/instance/{}",
                    path_segment(project),
                    path_segment(id)
                );
                let instance: Instance = self.call(Method::GET, &path, None, &call).await?;
                Ok(self.instance_server(instance))
            }
            None => self.dedicated(id).await,
        }
    }

    /// Sends `action` once. A Public Cloud instance takes all four; a dedicated server only
    /// a hard reboot, whose task id is in [`Accepted::operation`].
    pub async fn power(&self, id: &str, action: PowerAction) -> Result<Accepted> {
        check_id(id)?;
        let Some(project) = &self.project else {
            return self.dedicated_reboot(id, action).await;
        };
        let (verb, body) = match action {
            PowerAction::Reboot => ("reboot", Some(serde_json::json!({"type": "soft"}))),
            PowerAction::HardReboot => ("reboot", Some(serde_json::json!({"type": "hard"}))),
            PowerAction::Stop => ("stop", None),
            PowerAction::Start => ("start", None),
        };
        let path = format!(
            "cloud/project/{}/instance/{}/{verb}",
            path_segment(project),
            path_segment(id)
        );
        let call = Call {
            what: format!("{} of instance {id}", action.as_str()),
            rule: format!("POST /cloud/project/*/instance/*/{verb}"),
            server: Some(id),
            retry: Retry::NotIdempotent,
        };
        // The API answers `null`: nothing to read, the instance's status is followed.
        self.send(Method::POST, &path, body, &call).await?;
        tracing::info!(account = %self.name, id, action = action.as_str(), "accepted");
        Ok(Accepted {
            action,
            id: id.to_string(),
            status: None,
            raw_state: None,
            operation: None,
        })
    }

    async fn dedicated_reboot(&self, name: &str, action: PowerAction) -> Result<Accepted> {
        let refusal = match action {
            PowerAction::HardReboot => None,
            PowerAction::Reboot => Some(
                "the OVHcloud API has no clean reboot of a dedicated server (its reboot is a hard reset): reboot it from its OS (over SSH), or use hard-reboot",
            ),
            PowerAction::Stop | PowerAction::Start => Some(
                "the OVHcloud API cannot power a dedicated server off or on: use its IPMI/KVM from the OVHcloud Control Panel, or hard-reboot it",
            ),
        };
        if let Some(why) = refusal {
            return Err(Error::invalid(format!(
                "{} of dedicated server {name}: {why}",
                action.as_str()
            )));
        }
        let call = Call {
            what: format!("hard reboot of dedicated server {name}"),
            rule: "POST /dedicated/server/*/reboot".into(),
            server: Some(name),
            retry: Retry::NotIdempotent,
        };
        let path = format!("dedicated/server/{}/reboot", path_segment(name));
        let task: Task = self.call(Method::POST, &path, None, &call).await?;
        tracing::info!(account = %self.name, name, task = task.task_id, "hard reboot accepted");
        Ok(Accepted {
            action,
            id: name.to_string(),
            status: None,
            raw_state: None,
            operation: Some(task.task_id.to_string()),
        })
    }

    /// Follows a dedicated server's task until it is `done`; a task that failed or was
    /// cancelled is an error naming the server.
    async fn wait_task(
        &self,
        accepted: &Accepted,
        settings: PollSettings,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let Some(task_id) = accepted.operation.as_deref() else {
            return Ok(());
        };
        let name = &accepted.id;
        let label = format!(
            "task {task_id} ({}) of dedicated server {name} (ovh \"{}\")",
            accepted.action.as_str(),
            self.name
        );
        let path = format!(
            "dedicated/server/{}/task/{}",
            path_segment(name),
            path_segment(task_id)
        );
        let call = Call::read(
            format!("reading {label}"),
            "GET /dedicated/server/*/task/*",
            None,
        );
        let started = Instant::now();
        loop {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    what: format!("waiting for {label}"),
                });
            }
            let task: Task = tokio::select! {
                task = self.call(Method::GET, &path, None, &call) => task?,
                _ = cancel.cancelled() => {
                    return Err(Error::Cancelled { what: format!("waiting for {label}") });
                }
            };
            match task.status.as_str() {
                "done" => return Ok(()),
                "customerError" | "ovhError" | "cancelled" => {
                    let comment = task
                        .comment
                        .filter(|c| !c.trim().is_empty())
                        .map(|c| format!(" ({})", c.trim()))
                        .unwrap_or_default();
                    return Err(Error::Service {
                        service: self.service.name().to_string(),
                        code: ErrorCode::ServiceFailed,
                        status: 200,
                        message: format!(
                            "{label} ended {}{comment}; look at the server's tasks in the OVHcloud Control Panel, or ask OVHcloud support",
                            task.status
                        ),
                    });
                }
                _ => {}
            }
            if started.elapsed() + settings.interval > settings.timeout {
                return Err(Error::Timeout {
                    host: format!("{label} (still {})", task.status),
                    phase: Phase::Boot,
                    after: settings.timeout,
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(settings.interval) => {}
                _ = cancel.cancelled() => {}
            }
        }
    }

    async fn instances(&self, project: &str) -> Result<Vec<Server>> {
        let call = Call::read(
            format!("listing the instances of project {project}"),
            "GET /cloud/project/*/instance",
            None,
        );
        let path = format!("cloud/project/{}/instance", path_segment(project));
        let list: Vec<Instance> = self.call(Method::GET, &path, None, &call).await?;
        Ok(list.into_iter().map(|i| self.instance_server(i)).collect())
    }

    async fn dedicated_names(&self) -> Result<Vec<String>> {
        let call = Call::read(
            "listing the dedicated servers".into(),
            "GET /dedicated/server",
            None,
        );
        self.call(Method::GET, "dedicated/server", None, &call)
            .await
    }

    async fn dedicated(&self, name: &str) -> Result<Server> {
        let call = Call::read(
            format!("reading dedicated server {name}"),
            "GET /dedicated/server/*",
            Some(name),
        );
        let path = format!("dedicated/server/{}", path_segment(name));
        let d: Dedicated = self.call(Method::GET, &path, None, &call).await?;
        let (status, raw_state) = dedicated_status(&d.state, d.power_state.as_deref());
        Ok(Server {
            provider: "ovh".into(),
            account: self.name.clone(),
            region: d.datacenter.unwrap_or_default(),
            id: d.name,
            name: d.iam.and_then(|i| i.display_name).filter(|n| !n.is_empty()),
            status,
            raw_state,
            public_ips: d.ip.into_iter().collect(),
            private_ips: Vec::new(),
            tags: BTreeMap::new(),
            launched_at_ms: None,
        })
    }

    fn instance_server(&self, i: Instance) -> Server {
        let mut public_ips = Vec::new();
        let mut private_ips = Vec::new();
        for a in i.ip_addresses {
            let list = if a.kind.as_deref() == Some("private") {
                &mut private_ips
            } else {
                &mut public_ips
            };
            if !list.contains(&a.ip) {
                list.push(a.ip);
            }
        }
        Server {
            provider: "ovh".into(),
            account: self.name.clone(),
            region: i.region,
            name: Some(i.name).filter(|n| !n.is_empty()),
            status: normalize_instance(&i.status),
            raw_state: i.status,
            id: i.id,
            public_ips,
            private_ips,
            tags: BTreeMap::new(),
            launched_at_ms: i
                .created
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis()),
        }
    }

    /// A signed call decoded as `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        call: &Call<'_>,
    ) -> Result<T> {
        self.send(method, path, body, call)
            .await?
            .json(self.service.name())
    }

    /// A signed call; a failure becomes the typed error [`Ovh::failure`] makes.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        call: &Call<'_>,
    ) -> Result<crate::http::Response> {
        let request = self.signed(method, path, body, call.retry).await?;
        match self.service.send_raw(request).await? {
            Ok(response) => Ok(response),
            Err(failure) => Err(self.failure(&failure, call)),
        }
    }

    /// The request with OVHcloud's four headers, signed for exactly the URL and body the
    /// HTTP client will send.
    async fn signed(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        retry: Retry,
    ) -> Result<Request> {
        let timestamp = self.timestamp().await?;
        let url = reqwest::Url::parse(self.service.base_url())
            .and_then(|base| base.join(path))
            .map_err(|e| {
                Error::invalid(format!(
                    "{}: bad request path `{path}`: {e}",
                    self.service.name()
                ))
            })?;
        let text = body.as_ref().map(|b| b.to_string()).unwrap_or_default();
        let signature = sign(
            self.keys.application_secret.expose_secret(),
            self.keys.consumer_key.expose_secret(),
            method.as_str(),
            url.as_str(),
            &text,
            timestamp,
        );
        Ok(Request {
            method,
            path: path.to_string(),
            query: Vec::new(),
            json: body,
            form: None,
            headers: Vec::new(),
            retry,
        }
        .header("X-Ovh-Application", self.keys.application_key.clone())
        .header("X-Ovh-Consumer", self.keys.consumer_key.expose_secret())
        .header("X-Ovh-Timestamp", timestamp.to_string())
        .header("X-Ovh-Signature", signature))
    }

    /// Now on the API's clock: this machine's clock plus the offset read once from
    /// `GET /auth/time` (a signature with a time too far from the API's is refused).
    async fn timestamp(&self) -> Result<i64> {
        let offset = self
            .time_offset
            .get_or_try_init(|| async {
                let server: i64 = self
                    .service
                    .get_json(Request::get("auth/time"))
                    .await
                    .map_err(|e| e.about("reading the API's time (GET /auth/time)"))?;
                Ok::<i64, Error>(server - chrono::Utc::now().timestamp())
            })
            .await?;
        Ok(chrono::Utc::now().timestamp() + offset)
    }

    /// The typed error of a failed call: OVHcloud's `errorCode` and message decide, then the
    /// HTTP status.
    fn failure(&self, failure: &HttpFailure, call: &Call<'_>) -> Error {
        let body: ErrorBody = failure.json().unwrap_or_default();
        let message: String = self
            .redact(body.message.as_deref().unwrap_or_default())
            .trim()
            .chars()
            .take(300)
            .collect();
        let code = body.error_code.unwrap_or_default();
        let status = failure.status;
        let auth = matches!(
            code.as_str(),
            "NOT_CREDENTIAL"
                | "INVALID_CREDENTIAL"
                | "INVALID_KEY"
                | "INVALID_SIGNATURE"
                | "QUERY_TIME_OUT"
        ) || [
            "Invalid signature",
            "This credential is not valid",
            "This credential does not exist",
            "Invalid application key",
        ]
        .iter()
        .any(|m| message.contains(m));
        let denied = matches!(code.as_str(), "NOT_GRANTED_CALL" | "FORBIDDEN")
            || message.contains("has not been granted");
        let said = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        let (kind, hint) = if auth || (status == 401 && !denied) {
            (
                ErrorCode::AuthFailed,
                format!(
                    "check application_key, application_secret and consumer_key of ovh account \"{}\" (a consumer key expires or is revoked: create a new one), and that they belong to this endpoint's region",
                    self.name
                ),
            )
        } else if denied || status == 403 {
            (
                ErrorCode::PermissionDenied,
                format!(
                    "the consumer key is not granted `{}`: create a consumer key whose access rules include it",
                    call.rule
                ),
            )
        } else if status == 404 {
            return match call.server {
                Some(id) => Error::NotFound {
                    what: if self.project.is_some() {
                        "OVHcloud instance"
                    } else {
                        "OVHcloud dedicated server"
                    },
                    name: id.to_string(),
                    hint: Some(format!(
                        "ovh account \"{}\" has no such server{}{said}: check the id",
                        self.name,
                        self.project
                            .as_deref()
                            .map(|p| format!(" in project {p}"))
                            .unwrap_or_default()
                    )),
                },
                None => Error::Service {
                    service: self.service.name().to_string(),
                    code: ErrorCode::NotFound,
                    status,
                    message: format!(
                        "{}: HTTP 404{said}; check the project id (or remove it to list dedicated servers) and the endpoint",
                        call.what
                    ),
                },
            };
        } else if status == 409 {
            (
                ErrorCode::Conflict,
                "the server's current state does not allow it: read its state and try again once it is settled".to_string(),
            )
        } else if status >= 500 && call.retry == Retry::NotIdempotent {
            return Error::OutcomeUnknown {
                what: format!("{} in {}", call.what, self.service.name()),
                reason: format!("HTTP {status}{said}"),
            };
        } else {
            return self.service.status_error(failure).about(&call.what);
        };
        Error::Service {
            service: self.service.name().to_string(),
            code: kind,
            status,
            message: format!("{}: HTTP {status}{said}; {hint}", call.what),
        }
    }

    /// Removes the application secret and consumer key wherever `text` echoes them.
    fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in [
            self.keys.application_secret.expose_secret(),
            self.keys.consumer_key.expose_secret(),
        ] {
            if !secret.is_empty() {
                text = text.replace(secret, "[redacted]");
            }
        }
        text
    }
}

/// What a call was for: its errors name it and the access rule it needs.
struct Call<'a> {
    what: String,
    /// The access rule of a consumer key that allows it (`POST /dedicated/server/*/reboot`).
    rule: String,
    /// The instance or dedicated server it is about (a 404 is then that server missing).
    server: Option<&'a str>,
    retry: Retry,
}

impl<'a> Call<'a> {
    fn read(what: String, rule: &str, server: Option<&'a str>) -> Call<'a> {
        Call {
            what,
            rule: rule.to_string(),
            server,
            retry: Retry::Idempotent,
        }
    }
}

/// `$1$` + hex(SHA-1(`AS+CK+METHOD+URL+BODY+TIMESTAMP`)), OVHcloud's request signature.
pub fn sign(
    application_secret: &str,
    consumer_key: &str,
    method: &str,
    url: &str,
    body: &str,
    timestamp: i64,
) -> String {
    let text = format!("{application_secret}+{consumer_key}+{method}+{url}+{body}+{timestamp}");
    format!("$1${:x}", Sha1::digest(text.as_bytes()))
}

/// A Public Cloud instance's `status` (OpenStack's) as a normalized status: shelved and
/// suspended instances are stopped (start brings them back); `PAUSED` (frozen in RAM, only
/// unpause resumes it) and `ERROR` are unknown.
pub fn normalize_instance(status: &str) -> ServerStatus {
    match status {
        "ACTIVE" | "RESCUE" | "RESCUED" | "PASSWORD" | "SNAPSHOTTING" | "MIGRATING" => {
            ServerStatus::Running
        }
        "SHUTOFF" | "STOPPED" | "SHELVED" | "SHELVED_OFFLOADED" | "SUSPENDED" => {
            ServerStatus::Stopped
        }
        "BUILD" | "BUILDING" | "REBOOT" | "HARD_REBOOT" | "REBUILD" | "RESUMING" | "UNSHELVING"
        | "RESCUING" | "UNRESCUING" | "RESIZE" | "RESIZED" | "VERIFY_RESIZE" | "REVERT_RESIZE" => {
            ServerStatus::Pending
        }
        "SHELVING" => ServerStatus::Stopping,
        "DELETED" | "DELETING" | "SOFT_DELETED" => ServerStatus::Terminated,
        _ => ServerStatus::Unknown,
    }
}

/// A dedicated server's status from its `powerState`, and its raw state: the power state,
/// with the server's `state` when it is not `ok` (`poweron (state hacked)`).
pub fn dedicated_status(state: &str, power_state: Option<&str>) -> (ServerStatus, String) {
    let power = power_state.unwrap_or("unknown");
    let status = match power {
        "poweron" => ServerStatus::Running,
        "poweroff" => ServerStatus::Stopped,
        _ => ServerStatus::Unknown,
    };
    let raw = if state == "ok" {
        power.to_string()
    } else {
        format!("{power} (state {state})")
    };
    (status, raw)
}

/// Refuses an empty id, or one that would leave its path segment, before anything is sent.
fn check_id(id: &str) -> Result<()> {
    if id.trim().is_empty() || id.contains(['/', '?', '#']) || id == "." || id == ".." {
        return Err(Error::invalid(format!(
            "`{id}` is not an OVHcloud instance id or dedicated server name (like ns3001234.ip-51-75-1.eu)"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instance {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    region: String,
    status: String,
    #[serde(default)]
    ip_addresses: Vec<IpAddress>,
    #[serde(default)]
    created: Option<String>,
}

#[derive(Deserialize)]
struct IpAddress {
    ip: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Dedicated {
    name: String,
    state: String,
    #[serde(default)]
    power_state: Option<String>,
    #[serde(default)]
    datacenter: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    iam: Option<Iam>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Iam {
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    task_id: u64,
    status: String,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    // go-ovh's test credentials (revoked), time and expected signatures: ovh/ovh_test.go,
    // TestAllAPIMethods (https://github.com/ovh/go-ovh); the same values come out of the
    // formula by hand: sha1("9ufk…+5mBu…+GET+https://api.eu.ovhcloud.com/1.0/auth++1457018875").
    const AS: &str = "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk";
    const CK: &str = "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY";

    fn keys(application_key: &str, application_secret: &str) -> OvhKeys {
        OvhKeys {
            application_key: application_key.into(),
            application_secret: SecretString::from(application_secret),
            consumer_key: SecretString::from(CK),
        }
    }

    #[test]
    fn the_signature_matches_the_official_clients() {
        let url = "https://api.eu.ovhcloud.com/1.0/auth";
        assert_eq!(
            sign(AS, CK, "GET", url, "", 1457018875),
            "$1$52992e595b398f6aba591ee5925b379081614ced"
        );
        assert_eq!(
            sign(AS, CK, "POST", url, r#"{"a":"b","c":"d"}"#, 1457018875),
            "$1$ea0e0d82447373a3ddf5947065f1d519ca0bcaf2"
        );
    }

    #[test]
    fn every_documented_instance_status_is_normalized() {
        use ServerStatus::*;
        let cases = [
            ("ACTIVE", Running),
            ("RESCUE", Running),
            ("RESCUED", Running),
            ("PASSWORD", Running),
            ("SNAPSHOTTING", Running),
            ("MIGRATING", Running),
            ("SHUTOFF", Stopped),
            ("STOPPED", Stopped),
            ("SHELVED", Stopped),
            ("SHELVED_OFFLOADED", Stopped),
            ("SUSPENDED", Stopped),
            ("BUILD", Pending),
            ("BUILDING", Pending),
            ("REBOOT", Pending),
            ("HARD_REBOOT", Pending),
            ("REBUILD", Pending),
            ("RESUMING", Pending),
            ("UNSHELVING", Pending),
            ("RESCUING", Pending),
            ("UNRESCUING", Pending),
            ("RESIZE", Pending),
            ("RESIZED", Pending),
            ("VERIFY_RESIZE", Pending),
            ("REVERT_RESIZE", Pending),
            ("SHELVING", Stopping),
            ("DELETED", Terminated),
            ("DELETING", Terminated),
            ("SOFT_DELETED", Terminated),
            ("PAUSED", Unknown),
            ("ERROR", Unknown),
            ("UNKNOWN", Unknown),
            ("SOMETHING_NEW", Unknown),
        ];
        for (raw, status) in cases {
            assert_eq!(normalize_instance(raw), status, "{raw}");
        }
    }

    #[test]
    fn a_dedicated_server_status_comes_from_its_power_state() {
        use ServerStatus::*;
        let cases = [
            ("ok", Some("poweron"), Running, "poweron"),
            ("ok", Some("poweroff"), Stopped, "poweroff"),
            ("error", Some("poweron"), Running, "poweron (state error)"),
            ("hacked", Some("poweron"), Running, "poweron (state hacked)"),
            (
                "hackedBlocked",
                Some("poweroff"),
                Stopped,
                "poweroff (state hackedBlocked)",
            ),
            ("ok", None, Unknown, "unknown"),
        ];
        for (state, power, status, raw) in cases {
            assert_eq!(
                dedicated_status(state, power),
                (status, raw.to_string()),
                "{state} {power:?}"
            );
        }
    }

    #[test]
    fn secrets_are_neither_in_debug_nor_in_errors() {
        let ovh = Ovh::connect(
            "prod",
            DEFAULT_ENDPOINT,
            keys("7kbG7Bk7S9Nt7ZSV", AS),
            None,
            &[],
            Limits::default(),
        )
        .unwrap();
        let debug = format!("{ovh:?}");
        assert!(!debug.contains(AS) && !debug.contains(CK), "{debug}");
        assert!(
            debug.contains("prod") && debug.contains("7kbG7Bk7S9Nt7ZSV"),
            "{debug}"
        );
        let failure = HttpFailure {
            status: 403,
            headers: Default::default(),
            body: String::new(),
            full_body: format!(
                r#"{{"errorCode":"INVALID_CREDENTIAL","httpCode":"403 Forbidden","message":"This credential does not exist: {CK}"}}"#
            ),
        };
        let call = Call::read("listing".into(), "GET /dedicated/server", None);
        let e = ovh.failure(&failure, &call);
        assert_eq!(e.code(), ErrorCode::AuthFailed);
        assert!(!e.to_string().contains(CK), "{e}");
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_sent() {
        for bad in ["", " ", "a/b", "..", "x?y"] {
            assert_eq!(check_id(bad).unwrap_err().code(), ErrorCode::InvalidInput);
        }
        assert!(check_id("ns3001234.ip-51-75-1.eu").is_ok());
        assert!(check_id("0c1ab8a4-7d2b-4f3a-9c5e-123456789abc").is_ok());
        let e = Ovh::connect(
            "prod",
            DEFAULT_ENDPOINT,
            keys("ak", ""),
            None,
            &[],
            Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
    }
}
