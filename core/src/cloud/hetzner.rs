//! Hetzner Cloud, through its REST API (`https://api.hetzner.cloud/v1`, `Authorization: Bearer
//! <API token>`), reference at https://docs.hetzner.cloud/reference/cloud (a subset of its
//! OpenAPI spec is in shared/reference/openapi/hetzner-cloud-servers-actions.subset.openapi.json).
//!
//! Calls (each named by its operation id in the reference):
//! - `GET /servers?page=&per_page=50` (`list_servers`): every page, following
//!   `meta.pagination.next_page` (https://docs.hetzner.cloud/reference/cloud#pagination);
//! - `GET /servers/{id}` (`get_server`) → `{server}`: `status` is one of running,
//!   initializing, starting, stopping, off, deleting, migrating, rebuilding, unknown;
//! - `POST /servers/{id}/actions/reboot` (`soft_reboot_server`, ACPI), `…/reset`
//!   (`reset_server`, hard), `…/shutdown` (`shutdown_server`, ACPI), `…/poweron`
//!   (`poweron_server`) → 201 `{action: {id, status: "running", error, …}}`: sent once;
//! - `GET /actions/{id}` (`get_action`) until its `status` is `success` or `error`;
//! - errors: `{"error": {"code": "…", "message": "…", "details": …}}` with codes such as
//!   `unauthorized`, `forbidden`, `not_found`, `locked`, `conflict`, `rate_limit_exceeded`,
//!   `server_error` (https://docs.hetzner.cloud/reference/cloud#errors); a 429 carries
//!   `RateLimit-Limit`, `-Remaining` and `-Reset`
//!   (https://docs.hetzner.cloud/reference/cloud#rate-limiting).
//!
//! A stop is the ACPI `shutdown`, never `poweroff` (which cuts the power): its action
//! "only reflects whether the action was sent to the server", so the server is then followed
//! until it is `off`. Server ids are global to the project: `region` (the server's location,
//! e.g. `fsn1`) is not needed to find one; configured `regions` only filter the listing.

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PollSettings, PowerAction,
    Server, ServerStatus,
};
use crate::config::CloudConfig;
use crate::error::{Error, ErrorCode, ErrorInfo, Phase, Result};
use crate::events::CancellationToken;
use crate::http::{HttpAuth, HttpFailure, Limits, Request, Response, Retry, Service, retry_after};
use crate::secrets::SecretStore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

/// The API's base URL.
pub const DEFAULT_URL: &str = "https://api.hetzner.cloud/v1";
/// `per_page` of a `list_servers` page (Hetzner allows up to 50).
pub const PAGE_SIZE: u32 = 50;
/// Pages paaf reads at most (a runaway `next_page` loop ends there).
const MAX_PAGES: u32 = 1000;

/// One Hetzner Cloud project, reached with its API token. `Debug` shows its name, URL and
/// location filter, never the token.
#[derive(Clone)]
pub struct Hetzner {
    name: String,
    service: Service,
    locations: Vec<String>,
}

impl fmt::Debug for Hetzner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hetzner")
            .field("name", &self.name)
            .field("url", &self.service.base_url())
            .field("locations", &self.locations)
            .finish()
    }
}

impl CloudAccount for Hetzner {
    fn provider(&self) -> &'static str {
        "hetzner"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(Hetzner::list(self))
    }

    fn read<'a>(&'a self, _region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(self.server(id))
    }

    fn power<'a>(
        &'a self,
        _region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(Hetzner::power(self, id, action))
    }

    fn settle<'a>(
        &'a self,
        _region: &'a str,
        accepted: &'a Accepted,
        settings: PollSettings,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(Hetzner::settle(self, accepted, settings, cancel))
    }
}

impl Hetzner {
    /// The account of a `hetzner` `[[clouds]]` entry: its token resolved from `secrets`, at
    /// `endpoint` or Hetzner's own API.
    pub fn from_config(config: &CloudConfig, secrets: &dyn SecretStore) -> Result<Hetzner> {
        let token = config.secret(config.token.as_ref(), "token", secrets)?;
        Hetzner::connect(
            &config.name,
            config.endpoint.as_deref().unwrap_or(DEFAULT_URL),
            token,
            &config.regions,
            Limits::with_timeout(config.timeout),
        )
    }

    /// The project `name` at `base_url` (`https://api.hetzner.cloud/v1`) with API `token`;
    /// `locations` (e.g. `fsn1`, `nbg1`), when not empty, keep only the servers there.
    pub fn connect(
        name: &str,
        base_url: &str,
        token: SecretString,
        locations: &[String],
        limits: Limits,
    ) -> Result<Hetzner> {
        if token.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "hetzner \"{name}\": the API token is empty; create one in the Hetzner Console (project → Security → API tokens)"
            )));
        }
        for location in locations {
            let valid = !location.is_empty()
                && location.len() <= 32
                && location
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                return Err(Error::invalid(format!(
                    "hetzner \"{name}\": `{location}` is not a Hetzner location name (like fsn1, nbg1, hel1, ash)"
                )));
            }
        }
        let service = Service::new(
            &format!("hetzner \"{name}\""),
            base_url,
            HttpAuth::Bearer(token),
            limits,
        )?;
        Ok(Hetzner {
            name: name.to_string(),
            service,
            locations: locations.to_vec(),
        })
    }

    /// Every server of the project (in the configured locations, if any), sorted by
    /// location, name, id; a failure is one error row for the whole account (the API is not
    /// per location).
    pub async fn list(&self) -> Inventory {
        let mut inventory = Inventory::default();
        match self.all_servers().await {
            Ok(servers) => inventory.servers = servers,
            Err(e) => inventory.errors.push(InventoryError {
                provider: "hetzner".into(),
                account: self.name.clone(),
                region: None,
                error: ErrorInfo::from(&e),
            }),
        }
        inventory
            .servers
            .sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
        inventory
    }

    async fn all_servers(&self) -> Result<Vec<Server>> {
        let mut servers = Vec::new();
        let mut page = 1u64;
        for _ in 0..MAX_PAGES {
            let request = Request::get("servers")
                .query("page", page.to_string())
                .query("per_page", PAGE_SIZE.to_string());
            let list: ListServers = self.get(request, "listing servers", None).await?;
            for s in list.servers {
                let server = self.server_of(s)?;
                if self.locations.is_empty() || self.locations.contains(&server.region) {
                    servers.push(server);
                }
            }
            match list.meta.pagination.next_page {
                Some(next) if next > page => page = next,
                Some(_) => {
                    return Err(self.malformed(format!(
                        "list_servers page {page} names page {page} or an earlier one as the next"
                    )));
                }
                None => return Ok(servers),
            }
        }
        Err(self.malformed(format!("list_servers kept paging past {MAX_PAGES} pages")))
    }

    /// Server `id` (its number), read now.
    pub async fn server(&self, id: &str) -> Result<Server> {
        check_server_id(id)?;
        let request = Request::get(format!("servers/{id}"));
        let answer: GetServer = self
            .get(request, &format!("reading server {id}"), Some(id))
            .await?;
        self.server_of(answer.server)
    }

    /// Sends `action` for server `id` once and returns Hetzner's acceptance, whose
    /// `operation` is the action id to follow. A failure after the request may have reached
    /// Hetzner is `outcome-unknown`.
    pub async fn power(&self, id: &str, action: PowerAction) -> Result<Accepted> {
        check_server_id(id)?;
        let verb = match action {
            PowerAction::Reboot => "reboot",
            PowerAction::HardReboot => "reset",
            PowerAction::Stop => "shutdown",
            PowerAction::Start => "poweron",
        };
        let what = format!("{verb} of server {id}");
        let request = Request::post(format!("servers/{id}/actions/{verb}"), Retry::NotIdempotent);
        let response = match self.service.send_raw(request).await? {
            Ok(response) => response,
            Err(failure) => {
                return Err(self.failure(&failure, Retry::NotIdempotent, &what, Some(id)));
            }
        };
        let answer: ActionResponse = self.decode(&response)?;
        tracing::info!(
            account = %self.name,
            id,
            action = action.as_str(),
            hetzner_action = answer.action.id,
            "accepted"
        );
        Ok(Accepted {
            action,
            id: id.to_string(),
            status: None,
            raw_state: None,
            operation: Some(answer.action.id.to_string()),
        })
    }

    /// Reads action `accepted.operation` every `settings.interval` (longer when the API
    /// sends `Retry-After`) until it is `success`; its `error` status is an error naming the
    /// server.
    pub async fn settle(
        &self,
        accepted: &Accepted,
        settings: PollSettings,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let Some(operation) = accepted.operation.as_deref() else {
            return Ok(());
        };
        let action_id: u64 = operation.parse().map_err(|_| {
            Error::invalid(format!(
                "`{operation}` is not a Hetzner action id (a number)"
            ))
        })?;
        let label = format!(
            "action {action_id} ({}) of server {} (hetzner \"{}\")",
            accepted.action.as_str(),
            accepted.id,
            self.name
        );
        let started = Instant::now();
        loop {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    what: format!("waiting for {label}"),
                });
            }
            let request = Request::get(format!("actions/{action_id}"));
            let polled = tokio::select! {
                polled = self.service.send_raw(request) => polled?,
                _ = cancel.cancelled() => {
                    return Err(Error::Cancelled { what: format!("waiting for {label}") });
                }
            };
            let what = format!("reading {label}");
            let wait = match polled {
                Ok(response) => {
                    let answer: ActionResponse = self.decode(&response)?;
                    match answer.action.status.as_str() {
                        "success" => return Ok(()),
                        "error" => return Err(self.action_failed(&label, answer.action)),
                        _ => retry_after(&response.headers)
                            .unwrap_or(settings.interval)
                            .max(settings.interval),
                    }
                }
                // Rate limited: waited out when its Retry-After fits in the wait left.
                Err(failure) if failure.status == 429 => match retry_after(&failure.headers) {
                    Some(wait) if started.elapsed() + wait <= settings.timeout => wait,
                    _ => return Err(self.failure(&failure, Retry::Idempotent, &what, None)),
                },
                Err(failure) => {
                    return Err(self.failure(&failure, Retry::Idempotent, &what, None));
                }
            };
            if started.elapsed() + wait > settings.timeout {
                return Err(Error::Timeout {
                    host: format!("{label} (still running)"),
                    phase: match accepted.action {
                        PowerAction::Stop => Phase::Shutdown,
                        _ => Phase::Boot,
                    },
                    after: settings.timeout,
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => {
                    return Err(Error::Cancelled { what: format!("waiting for {label}") });
                }
            }
        }
    }

    /// A GET decoded as `T`, or the typed error for it.
    async fn get<T: DeserializeOwned>(
        &self,
        request: Request,
        what: &str,
        server: Option<&str>,
    ) -> Result<T> {
        match self.service.send_raw(request).await? {
            Ok(response) => self.decode(&response),
            Err(failure) => Err(self.failure(&failure, Retry::Idempotent, what, server)),
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

    fn server_of(&self, s: HServer) -> Result<Server> {
        let region = s
            .location
            .or(s.datacenter.map(|d| d.location))
            .map(|l| l.name)
            .ok_or_else(|| self.malformed(format!("server {} has no location", s.id)))?;
        let mut public_ips = Vec::new();
        if let Some(net) = s.public_net {
            public_ips.extend(net.ipv4.map(|ip| ip.ip));
            public_ips.extend(net.ipv6.map(|ip| ip.ip));
        }
        let mut private_ips = Vec::new();
        for net in s.private_net {
            private_ips.extend(net.ip);
            private_ips.extend(net.alias_ips);
        }
        let launched_at_ms = s
            .created
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis());
        Ok(Server {
            provider: "hetzner".into(),
            account: self.name.clone(),
            region,
            id: s.id.to_string(),
            name: Some(s.name).filter(|n| !n.is_empty()),
            status: normalize(&s.status),
            raw_state: s.status,
            public_ips,
            private_ips,
            tags: s.labels,
            launched_at_ms,
        })
    }

    fn action_failed(&self, label: &str, action: HAction) -> Error {
        let (code, message) = action
            .error
            .map(|e| (e.code, e.message))
            .unwrap_or_else(|| ("unknown".into(), "no error given".into()));
        Error::Service {
            service: self.service.name().to_string(),
            code: ErrorCode::ServiceFailed,
            status: 200,
            message: format!(
                "{label} failed: {code}: {}; look at the server in the Hetzner Console before trying again",
                self.service.redact(&message)
            ),
        }
    }

    /// The typed error of a failed call: Hetzner's error code decides, the HTTP status only
    /// when the body is not Hetzner's error JSON (a proxy, a load balancer).
    fn failure(
        &self,
        failure: &HttpFailure,
        retry: Retry,
        what: &str,
        server: Option<&str>,
    ) -> Error {
        let parsed = failure.json::<ErrorResponse>().map(|e| e.error);
        let code = parsed.as_ref().map(|e| e.code.as_str()).unwrap_or("");
        let maybe_done = retry == Retry::NotIdempotent
            && failure.status >= 500
            && !matches!(code, "maintenance" | "rate_limit_exceeded");
        if maybe_done {
            return Error::OutcomeUnknown {
                what: format!("{what} on {}", self.service.name()),
                reason: format!("HTTP {}: {}", failure.status, failure.body),
            };
        }
        if let Some(id) = server
            && (code == "not_found" || (parsed.is_none() && failure.status == 404))
        {
            return Error::NotFound {
                what: "Hetzner Cloud server",
                name: id.to_string(),
                hint: Some(format!(
                    "not in the project of hetzner account \"{}\": check the id (`paaf servers` lists them) and that the token belongs to the right project",
                    self.name
                )),
            };
        }
        let Some(error) = parsed else {
            return self.service.status_error(failure).about(what);
        };
        let (kind, hint) = match error.code.as_str() {
            "unauthorized" => (
                ErrorCode::AuthFailed,
                format!(
                    "the API token of hetzner account \"{}\" was refused: check it is the project's token and has not been deleted (Hetzner Console → project → Security → API tokens)",
                    self.name
                ),
            ),
            "forbidden" => (
                ErrorCode::PermissionDenied,
                "the token may not do this: power actions need a Read & Write token, not a Read token".to_string(),
            ),
            "not_found" => (
                ErrorCode::NotFound,
                "check the id, and that the token belongs to the right project".to_string(),
            ),
            "locked" => (
                ErrorCode::Conflict,
                "another action is running on the server: wait for it to finish, then try again".to_string(),
            ),
            "conflict" => (
                ErrorCode::Conflict,
                "the server changed meanwhile: read its state and try again".to_string(),
            ),
            "rate_limit_exceeded" => {
                let reset = failure
                    .headers
                    .get("ratelimit-reset")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .map(|at| {
                        let secs = (at - chrono::Utc::now().timestamp()).max(0);
                        format!(" (its budget is full again in {secs}s)")
                    })
                    .unwrap_or_default();
                (
                    ErrorCode::RateLimited,
                    format!(
                        "Hetzner limits the request rate of this project{reset}: wait and try again"
                    ),
                )
            }
            _ => (
                ErrorCode::ServiceFailed,
                "Hetzner refused the request".to_string(),
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
            code: kind,
            status: failure.status,
            message: format!("{what}: {} ({message}); {hint}", error.code),
        }
    }
}

/// Hetzner's server `status` as a normalized status.
pub fn normalize(status: &str) -> ServerStatus {
    match status {
        "running" => ServerStatus::Running,
        "off" => ServerStatus::Stopped,
        "initializing" | "starting" | "migrating" | "rebuilding" => ServerStatus::Pending,
        "stopping" => ServerStatus::Stopping,
        "deleting" => ServerStatus::Terminated,
        _ => ServerStatus::Unknown,
    }
}

/// Refuses what cannot be a server id (a positive number) before anything is sent.
fn check_server_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 16
        && id.chars().all(|c| c.is_ascii_digit())
        && id.parse::<u64>().is_ok_and(|n| n > 0);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{id}` is not a Hetzner Cloud server id (a number like 42; `paaf servers` lists them)"
        )))
    }
}

// ---- Hetzner's JSON, as much of it as paaf reads (unknown fields are skipped) ----

#[derive(Deserialize)]
struct ListServers {
    servers: Vec<HServer>,
    meta: Meta,
}

#[derive(Deserialize)]
struct Meta {
    pagination: Pagination,
}

#[derive(Deserialize)]
struct Pagination {
    #[serde(default)]
    next_page: Option<u64>,
}

#[derive(Deserialize)]
struct GetServer {
    server: HServer,
}

#[derive(Deserialize)]
struct HServer {
    id: u64,
    name: String,
    status: String,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    public_net: Option<PublicNet>,
    #[serde(default)]
    private_net: Vec<PrivateNet>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    datacenter: Option<Datacenter>,
}

#[derive(Deserialize)]
struct PublicNet {
    #[serde(default)]
    ipv4: Option<Ip>,
    #[serde(default)]
    ipv6: Option<Ip>,
}

#[derive(Deserialize)]
struct Ip {
    ip: String,
}

#[derive(Deserialize)]
struct PrivateNet {
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    alias_ips: Vec<String>,
}

#[derive(Deserialize)]
struct Location {
    name: String,
}

#[derive(Deserialize)]
struct Datacenter {
    location: Location,
}

#[derive(Deserialize)]
struct ActionResponse {
    action: HAction,
}

#[derive(Deserialize)]
struct HAction {
    id: u64,
    status: String,
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: ApiError,
}

#[derive(Deserialize)]
struct ApiError {
    code: String,
    #[serde(default)]
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "hcloud-Zx9q-contract-token-0123456789abcdefghijklmnopqrstuv";

    fn hetzner() -> Hetzner {
        Hetzner::connect(
            "prod",
            "http://127.0.0.1:1/v1",
            SecretString::from(TOKEN),
            &["fsn1".to_string()],
            Limits::default(),
        )
        .unwrap()
    }

    /// Every status of `server.status` in the reference's schema.
    #[test]
    fn every_documented_status_is_normalized() {
        for (raw, status) in [
            ("running", ServerStatus::Running),
            ("initializing", ServerStatus::Pending),
            ("starting", ServerStatus::Pending),
            ("stopping", ServerStatus::Stopping),
            ("off", ServerStatus::Stopped),
            ("deleting", ServerStatus::Terminated),
            ("migrating", ServerStatus::Pending),
            ("rebuilding", ServerStatus::Pending),
            ("unknown", ServerStatus::Unknown),
            ("something-new", ServerStatus::Unknown),
        ] {
            assert_eq!(normalize(raw), status, "{raw}");
        }
    }

    #[test]
    fn the_token_appears_nowhere_in_debug() {
        let debug = format!("{:?}", hetzner());
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(debug.contains("prod") && debug.contains("fsn1"), "{debug}");
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_sent() {
        assert!(check_server_id("42").is_ok());
        for bad in [
            "",
            "0",
            "web-1",
            "42/actions/reset",
            "-1",
            "99999999999999999999",
        ] {
            assert_eq!(
                check_server_id(bad).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{bad}"
            );
        }
        for (token, locations) in [("", vec![]), (TOKEN, vec!["FSN1/../x".to_string()])] {
            let e = Hetzner::connect(
                "prod",
                DEFAULT_URL,
                SecretString::from(token),
                &locations,
                Limits::default(),
            )
            .unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput);
        }
        assert_eq!(
            Hetzner::connect(
                "prod",
                DEFAULT_URL,
                SecretString::from(TOKEN),
                &[],
                Limits::default()
            )
            .unwrap()
            .service
            .base_url(),
            "https://api.hetzner.cloud/v1/"
        );
    }

    #[test]
    fn a_server_without_a_location_is_malformed_and_the_datacenter_one_is_used_otherwise() {
        let h = hetzner();
        let server = |v: serde_json::Value| -> HServer { serde_json::from_value(v).unwrap() };
        let bare = serde_json::json!({"id": 42, "name": "web-1", "status": "running"});
        assert_eq!(
            h.server_of(server(bare.clone())).unwrap_err().code(),
            ErrorCode::MalformedResponse
        );
        let mut old = bare;
        old["datacenter"] = serde_json::json!({"name": "nbg1-dc3", "location": {"name": "nbg1"}});
        assert_eq!(h.server_of(server(old)).unwrap().region, "nbg1");
    }
}
