//! Scaleway Instances, through the Instance API v1 (`https://api.scaleway.com/instance/v1`,
//! `X-Auth-Token: <secret key>`), reference at https://www.scaleway.com/en/developers/api/instance/
//! (shapes as in scaleway/scaleway-sdk-go `api/instance/v1/instance_sdk.go`, generated from it).
//!
//! Calls, all per zone (the configured `regions` are zones: `fr-par-1`, `nl-ams-1`, …):
//! - `GET /instance/v1/zones/{zone}/servers?page=&per_page=100[&project=]` ("List all
//!   Instances"): every page, until `X-Total-Count` (or `total_count`) servers were read; the
//!   zones are read concurrently;
//! - `GET /instance/v1/zones/{zone}/servers/{id}` ("Get an Instance") → `{server}`: `state` is
//!   one of running, stopped, stopped in place, starting, stopping, locked;
//! - `POST /instance/v1/zones/{zone}/servers/{id}/action` `{"action": "reboot" | "poweroff" |
//!   "poweron"}` ("Perform action") → `{task: {id, status, …}}`: sent once;
//! - errors: `{"type": "…", "message": "…", …}` with types such as `denied_authentication`,
//!   `permissions_denied`, `not_found`, `precondition_failed`, `transient_state`, `locked`
//!   (https://www.scaleway.com/en/developers/api/#errors).
//!
//! The Instance API has no call to read a task (the SDK's `ServerActionAndWait` reads the
//! server instead): the task id is kept as [`Accepted::operation`] for the record, and the
//! server is followed to its target state. A stop is `poweroff`, which ends in `stopped`
//! (`stop_in_place`, which keeps the hypervisor slot, ends in `stopped in place`, also
//! stopped). There is no hard reboot: it is refused.

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PowerAction, Server, ServerStatus,
};
use crate::config::{AccountConfig, CloudConfig, CloudEntry, Key};
use crate::error::{Error, ErrorCode, ErrorInfo, Result};
use crate::http::{HttpAuth, HttpFailure, Limits, Method, Request, Response, Retry, Service};
use crate::secrets::{SecretRef, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// The API's base URL.
pub const DEFAULT_URL: &str = "https://api.scaleway.com";
/// `per_page` of a listing page (Scaleway's maximum).
pub const PAGE_SIZE: u32 = 100;
/// Pages of one zone paaf reads at most (a runaway listing ends there).
const MAX_PAGES: u32 = 1000;

/// One Scaleway account (an API key), in its configured zones, optionally one project.
/// `Debug` never shows the secret key.
#[derive(Clone)]
pub struct Scaleway {
    name: String,
    service: Service,
    zones: Vec<String>,
    project: Option<String>,
}

impl fmt::Debug for Scaleway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scaleway")
            .field("name", &self.name)
            .field("url", &self.service.base_url())
            .field("zones", &self.zones)
            .field("project", &self.project)
            .finish()
    }
}

impl CloudAccount for Scaleway {
    fn provider(&self) -> &'static str {
        "scaleway"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(Scaleway::list(self))
    }

    fn read<'a>(&'a self, region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(self.server(region, id))
    }

    fn power<'a>(
        &'a self,
        region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(Scaleway::power(self, region, id, action))
    }
}

/// The keys of a `scaleway` `[[clouds]]` entry.
#[derive(Debug, Clone)]
pub struct ScalewayConfig {
    /// The API key's secret key (`token`).
    pub token: SecretRef,
    /// The zones listed (`regions`, required).
    pub zones: Vec<String>,
    /// Only the servers of this project (`project`).
    pub project: Option<String>,
    /// Another API URL than [`DEFAULT_URL`].
    pub endpoint: Option<String>,
}

impl AccountConfig for ScalewayConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<ScalewayConfig> {
        let endpoint = entry.endpoint()?;
        let token = entry.secret(Key::Token)?;
        let zones = entry.needs(
            Some(entry.regions()).filter(|z| !z.is_empty()),
            ("the zones to list", "regions = [\"fr-par-1\"]"),
        )?;
        Ok(ScalewayConfig {
            token: entry.needs(token, super::API_TOKEN)?,
            zones,
            project: entry.text(Key::Project),
            endpoint,
        })
    }
}

impl Scaleway {
    /// The account of a `scaleway` `[[clouds]]` entry: its secret key resolved from
    /// `secrets`, at `endpoint` or Scaleway's own API.
    pub fn from_config(
        config: &CloudConfig,
        scaleway: &ScalewayConfig,
        secrets: &dyn SecretStore,
    ) -> Result<Scaleway> {
        Scaleway::connect(
            &config.name,
            scaleway.endpoint.as_deref().unwrap_or(DEFAULT_URL),
            scaleway.token.resolve(secrets)?,
            &scaleway.zones,
            scaleway.project.as_deref(),
            Limits::with_timeout(config.timeout),
        )
    }

    /// The account `name` at `base_url` (`https://api.scaleway.com`) with the API key's
    /// `secret_key`, listing `zones`, and only `project`'s servers when given.
    pub fn connect(
        name: &str,
        base_url: &str,
        secret_key: SecretString,
        zones: &[String],
        project: Option<&str>,
        limits: Limits,
    ) -> Result<Scaleway> {
        if secret_key.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "scaleway \"{name}\": the secret key is empty; create an API key in the Scaleway console (IAM → API keys)"
            )));
        }
        if zones.is_empty() {
            return Err(Error::invalid(format!(
                "scaleway \"{name}\": no zone configured; name at least one, e.g. regions = [\"fr-par-1\"]"
            )));
        }
        for (i, zone) in zones.iter().enumerate() {
            if !valid_zone(zone) {
                return Err(Error::invalid(format!(
                    "scaleway \"{name}\": `{zone}` is not a Scaleway zone (like fr-par-1, nl-ams-1, pl-waw-1)"
                )));
            }
            if zones[..i].contains(zone) {
                return Err(Error::invalid(format!(
                    "scaleway \"{name}\": zone {zone} is named twice"
                )));
            }
        }
        if let Some(project) = project
            && !is_uuid(project)
        {
            return Err(Error::invalid(format!(
                "scaleway \"{name}\": project `{project}` is not a Scaleway project id (a UUID, in the console under Project → Settings)"
            )));
        }
        let service = Service::new(
            &format!("scaleway \"{name}\""),
            base_url,
            HttpAuth::Header {
                name: "X-Auth-Token".into(),
                value: secret_key,
            },
            limits,
        )?;
        Ok(Scaleway {
            name: name.to_string(),
            service,
            zones: zones.to_vec(),
            project: project.map(str::to_string),
        })
    }

    /// Every server of every configured zone, the zones read concurrently; a zone that fails
    /// is an error row and the others are still listed. Sorted by zone, name, id.
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
                    provider: "scaleway".into(),
                    account: self.name.clone(),
                    region: Some(zone),
                    error: ErrorInfo::from(&e),
                }),
            }
        }
        inventory
            .servers
            .sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
        inventory
    }

    async fn list_zone(&self, zone: &str) -> Result<Vec<Server>> {
        let mut servers = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut request = Request::get(format!("instance/v1/zones/{zone}/servers"))
                .query("page", page.to_string())
                .query("per_page", PAGE_SIZE.to_string());
            if let Some(project) = &self.project {
                request = request.query("project", project.clone());
            }
            let what = format!("listing the servers of zone {zone}");
            let response = self.send(request, Retry::Idempotent, &what, None).await?;
            let total = response
                .headers
                .get("x-total-count")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<usize>().ok());
            let list: ListServers = self.decode(&response)?;
            let total = total.or(list.total_count);
            let got = list.servers.len();
            servers.extend(list.servers.into_iter().map(|s| self.server_of(zone, s)));
            match total {
                Some(total) if servers.len() < total && got > 0 => continue,
                Some(total) if servers.len() < total => {
                    return Err(self.malformed(format!(
                        "zone {zone}: page {page} is empty but only {} of {total} servers were listed",
                        servers.len()
                    )));
                }
                Some(_) => return Ok(servers),
                // Without a count, a short page is the last one.
                None if got < PAGE_SIZE as usize => return Ok(servers),
                None => continue,
            }
        }
        Err(self.malformed(format!(
            "zone {zone}: the listing kept paging past {MAX_PAGES} pages"
        )))
    }

    /// Server `id` in `zone`, read now.
    pub async fn server(&self, zone: &str, id: &str) -> Result<Server> {
        self.check(zone, id)?;
        let request = Request::get(format!("instance/v1/zones/{zone}/servers/{id}"));
        let what = format!("reading server {id} in {zone}");
        let response = self
            .send(request, Retry::Idempotent, &what, Some((zone, id)))
            .await?;
        let answer: GetServer = self.decode(&response)?;
        Ok(self.server_of(zone, answer.server))
    }

    /// Sends `action` for server `id` in `zone` once and returns Scaleway's acceptance (its
    /// task id as the operation). A failure after the request may have reached Scaleway is
    /// `outcome-unknown`.
    pub async fn power(&self, zone: &str, id: &str, action: PowerAction) -> Result<Accepted> {
        let verb = match action {
            PowerAction::Reboot => "reboot",
            PowerAction::Stop => "poweroff",
            PowerAction::Start => "poweron",
            PowerAction::HardReboot => {
                return Err(Error::invalid(format!(
                    "Scaleway Instances have no hard reboot (server {id}): use reboot, or stop then start"
                )));
            }
        };
        self.check(zone, id)?;
        let request = Request::with_body(
            Method::POST,
            format!("instance/v1/zones/{zone}/servers/{id}/action"),
            &serde_json::json!({ "action": verb }),
            Retry::NotIdempotent,
        )?;
        let what = format!("{verb} of server {id} in {zone}");
        let response = self
            .send(request, Retry::NotIdempotent, &what, Some((zone, id)))
            .await?;
        let answer: ActionResponse = self.decode(&response)?;
        if answer.task.status == "failure" {
            return Err(Error::Service {
                service: self.service.name().to_string(),
                code: ErrorCode::ServiceFailed,
                status: response.status,
                message: format!(
                    "{what}: its task {} failed at once ({}); look at the server in the Scaleway console",
                    answer.task.id,
                    answer
                        .task
                        .description
                        .as_deref()
                        .unwrap_or("no description")
                ),
            });
        }
        tracing::info!(
            account = %self.name,
            zone,
            id,
            action = action.as_str(),
            task = %answer.task.id,
            "accepted"
        );
        Ok(Accepted {
            action,
            id: id.to_string(),
            status: None,
            raw_state: None,
            operation: Some(answer.task.id),
        })
    }

    fn check(&self, zone: &str, id: &str) -> Result<()> {
        if !self.zones.iter().any(|z| z == zone) {
            return Err(Error::invalid(format!(
                "scaleway \"{}\": zone {zone} is not configured (configured: {})",
                self.name,
                self.zones.join(", ")
            )));
        }
        if !is_uuid(id) {
            return Err(Error::invalid(format!(
                "`{id}` is not a Scaleway Instance id (a UUID like 3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c; `paaf server list` lists them)"
            )));
        }
        Ok(())
    }

    /// Sends `request`; a failed status becomes the typed error for `what`.
    async fn send(
        &self,
        request: Request,
        retry: Retry,
        what: &str,
        server: Option<(&str, &str)>,
    ) -> Result<Response> {
        match self.service.send_raw(request).await? {
            Ok(response) => Ok(response),
            Err(failure) => Err(self.failure(&failure, retry, what, server)),
        }
    }

    fn decode<T: DeserializeOwned>(&self, response: &Response) -> Result<T> {
        response.json(self.service.name())
    }

    fn malformed(&self, reason: String) -> Error {
        Error::MalformedResponse {
            what: self.service.name().to_string(),
            reason,
        }
    }

    fn server_of(&self, zone: &str, s: SServer) -> Server {
        let mut public_ips = Vec::new();
        let mut add = |ip: String| {
            if !ip.is_empty() && !public_ips.contains(&ip) {
                public_ips.push(ip);
            }
        };
        for ip in s.public_ip.into_iter().chain(s.public_ips) {
            add(ip.address);
        }
        if let Some(v6) = s.ipv6 {
            add(v6.address);
        }
        let tags = s
            .tags
            .into_iter()
            .map(|t| match t.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (t, String::new()),
            })
            .collect();
        let launched_at_ms = s
            .creation_date
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis());
        Server {
            provider: "scaleway".into(),
            account: self.name.clone(),
            region: s
                .zone
                .filter(|z| !z.is_empty())
                .unwrap_or_else(|| zone.to_string()),
            id: s.id,
            name: Some(s.name).filter(|n| !n.is_empty()),
            status: normalize(&s.state),
            raw_state: s.state,
            public_ips,
            private_ips: s
                .private_ip
                .into_iter()
                .filter(|ip| !ip.is_empty())
                .collect(),
            tags,
            launched_at_ms,
        }
    }

    /// The typed error of a failed call: Scaleway's error `type` decides, the HTTP status
    /// only when the body is not its error JSON (a proxy, a load balancer).
    fn failure(
        &self,
        failure: &HttpFailure,
        retry: Retry,
        what: &str,
        server: Option<(&str, &str)>,
    ) -> Error {
        let parsed = failure.json::<ApiError>();
        let kind = parsed.as_ref().map(|e| e.kind.as_str()).unwrap_or("");
        if retry == Retry::NotIdempotent && failure.status >= 500 {
            return Error::OutcomeUnknown {
                what: format!("{what} on {}", self.service.name()),
                reason: format!("HTTP {}: {}", failure.status, failure.body),
            };
        }
        let missing = matches!(kind, "not_found" | "unknown_resource")
            || (parsed.is_none() && failure.status == 404);
        if let Some((zone, id)) = server
            && missing
        {
            return Error::NotFound {
                what: "Scaleway Instance",
                name: id.to_string(),
                hint: Some(format!(
                    "not in zone {zone} of scaleway account \"{}\": check the id and the zone (`paaf server list` lists them)",
                    self.name
                )),
            };
        }
        let Some(error) = parsed else {
            return self.service.status_error(failure).about(what);
        };
        let (code, hint) = match (error.kind.as_str(), failure.status) {
            ("denied_authentication", _) | (_, 401) => (
                ErrorCode::AuthFailed,
                format!(
                    "the secret key of scaleway account \"{}\" was refused: check it is the secret key (not the access key) of an API key that still exists (console → IAM → API keys)",
                    self.name
                ),
            ),
            ("permissions_denied", _) | (_, 403) => (
                ErrorCode::PermissionDenied,
                "the API key may not do this: give its IAM application or user a policy with InstancesFullAccess (or InstancesReadOnly to list) in the project".to_string(),
            ),
            ("not_found" | "unknown_resource", _) => (
                ErrorCode::NotFound,
                "check the id and the zone".to_string(),
            ),
            ("precondition_failed" | "transient_state" | "locked" | "resource_locked", _)
            | (_, 409 | 412) => (
                ErrorCode::Conflict,
                "the server's current state does not allow this (it may be changing state, or locked): read its state and try again once it is running or stopped".to_string(),
            ),
            (_, 429) => (
                ErrorCode::RateLimited,
                "Scaleway limits the request rate of this API key: wait and try again".to_string(),
            ),
            _ => (
                ErrorCode::ServiceFailed,
                "Scaleway refused the request".to_string(),
            ),
        };
        let message: String = self
            .service
            .redact(&error.message)
            .chars()
            .take(300)
            .collect();
        Error::Service {
            service: self.service.name().to_string(),
            code,
            status: failure.status,
            message: format!("{what}: {} ({message}); {hint}", error.kind),
        }
    }
}

/// Scaleway's server `state` as a normalized status.
pub fn normalize(state: &str) -> ServerStatus {
    match state {
        "running" => ServerStatus::Running,
        "stopped" | "stopped in place" => ServerStatus::Stopped,
        "starting" => ServerStatus::Pending,
        "stopping" => ServerStatus::Stopping,
        // `locked`: Scaleway locked it (abuse, billing); it is neither up nor down for paaf.
        _ => ServerStatus::Unknown,
    }
}

fn valid_zone(zone: &str) -> bool {
    let parts: Vec<&str> = zone.split('-').collect();
    parts.len() == 3
        && parts[..2]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && !parts[2].is_empty()
        && parts[2].chars().all(|c| c.is_ascii_digit())
}

/// A UUID in its 8-4-4-4-12 hex form, as Scaleway ids are.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

// ---- Scaleway's JSON, as much of it as paaf reads (unknown fields are skipped) ----

#[derive(Deserialize)]
struct ListServers {
    servers: Vec<SServer>,
    #[serde(default)]
    total_count: Option<usize>,
}

#[derive(Deserialize)]
struct GetServer {
    server: SServer,
}

#[derive(Deserialize)]
struct SServer {
    id: String,
    #[serde(default)]
    name: String,
    state: String,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    public_ip: Option<Address>,
    #[serde(default)]
    public_ips: Vec<Address>,
    #[serde(default)]
    ipv6: Option<Address>,
    #[serde(default)]
    private_ip: Option<String>,
    #[serde(default)]
    creation_date: Option<String>,
}

#[derive(Deserialize)]
struct Address {
    address: String,
}

#[derive(Deserialize)]
struct ActionResponse {
    task: Task,
}

#[derive(Deserialize)]
struct Task {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "5a7e1c3b-0d9f-4e2a-8b6c-secretkey0001";

    fn scaleway() -> Scaleway {
        Scaleway::connect(
            "prod",
            "http://127.0.0.1:1",
            SecretString::from(SECRET),
            &["fr-par-1".to_string(), "nl-ams-1".to_string()],
            Some("00000000-0000-4000-8000-000000000001"),
            Limits::default(),
        )
        .unwrap()
    }

    /// Every value of `ServerState` in the Instance API (SDK `ServerState`).
    #[test]
    fn every_documented_state_is_normalized() {
        for (raw, status) in [
            ("running", ServerStatus::Running),
            ("stopped", ServerStatus::Stopped),
            ("stopped in place", ServerStatus::Stopped),
            ("starting", ServerStatus::Pending),
            ("stopping", ServerStatus::Stopping),
            ("locked", ServerStatus::Unknown),
            ("something-new", ServerStatus::Unknown),
        ] {
            assert_eq!(normalize(raw), status, "{raw}");
        }
    }

    #[test]
    fn the_secret_key_appears_nowhere_in_debug() {
        let debug = format!("{:?}", scaleway());
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(
            debug.contains("prod") && debug.contains("nl-ams-1"),
            "{debug}"
        );
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_sent() {
        let s = scaleway();
        assert!(
            s.check("fr-par-1", "3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c")
                .is_ok()
        );
        for (zone, id) in [
            ("fr-par-2", "3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c"),
            ("fr-par-1", "web-1"),
            ("fr-par-1", "3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c/action"),
            ("fr-par-1", ""),
        ] {
            assert_eq!(
                s.check(zone, id).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{zone} {id}"
            );
        }
        for (secret, zones, project) in [
            ("", vec!["fr-par-1"], None),
            (SECRET, vec![], None),
            (SECRET, vec!["fr-par"], None),
            (SECRET, vec!["FR-PAR-1"], None),
            (SECRET, vec!["fr-par-1", "fr-par-1"], None),
            (SECRET, vec!["fr-par-1"], Some("my-project")),
        ] {
            let zones: Vec<String> = zones.into_iter().map(String::from).collect();
            let e = Scaleway::connect(
                "prod",
                DEFAULT_URL,
                SecretString::from(secret),
                &zones,
                project,
                Limits::default(),
            )
            .unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{zones:?} {project:?}");
        }
    }

    #[test]
    fn key_value_tags_become_tags_and_plain_ones_keys() {
        let s: SServer = serde_json::from_value(serde_json::json!({
            "id": "3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c", "name": "web-1", "state": "running",
            "tags": ["production", "team=checkout"]
        }))
        .unwrap();
        let server = scaleway().server_of("fr-par-1", s);
        assert_eq!(server.region, "fr-par-1");
        assert_eq!(server.tags.get("production").map(String::as_str), Some(""));
        assert_eq!(
            server.tags.get("team").map(String::as_str),
            Some("checkout")
        );
    }
}
