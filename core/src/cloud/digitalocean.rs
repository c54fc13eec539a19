//! DigitalOcean Droplets, through the public API v2 (`https://api.digitalocean.com`) with a
//! personal access token (`Authorization: Bearer`).
//!
//! Calls (https://docs.digitalocean.com/reference/api/digitalocean/):
//! - `GET /v2/droplets?per_page=200&page=N` (#tag/Droplets/operation/droplets_list) →
//!   `{droplets, links: {pages: {next}}, meta: {total}}`; pages are read while `next` is there.
//!   paaf asks for the next page number itself instead of following the `next` URL, so the
//!   token never goes to another host than the configured one;
//! - `GET /v2/droplets/{id}` (#tag/Droplets/operation/droplets_get) → `{droplet}`, its
//!   `status` one of new, active, off, archive;
//! - `POST /v2/droplets/{id}/actions` (#tag/Droplet-Actions/operation/dropletActions_post)
//!   `{"type": "reboot" | "power_cycle" | "shutdown" | "power_on"}` → 201
//!   `{action: {id, status: "in-progress"}}`; sent once;
//! - `GET /v2/droplets/{id}/actions/{action_id}`
//!   (#tag/Droplet-Actions/operation/dropletActions_get) → `{action: {status}}`, in-progress
//!   until completed or errored: what [`DigitalOcean::settle`] follows;
//! - errors `{id, message, request_id}` (401 `unauthorized`, 404 `not_found`, 429
//!   `too_many_requests` with the `ratelimit-*` headers, 5xx `server_error`), and 422 when an
//!   action of the Droplet is still running ("the locked attribute of the Droplet will be true
//!   and attempts to create a Droplet action will fail with a status of 422").
//!
//! `reboot` and `shutdown` go through the OS (ACPI): a `shutdown` the OS ignores ends
//! `errored`. `power_cycle` is the reset button: paaf's hard reboot.

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PollSettings, PowerAction,
    Server, ServerStatus,
};
use crate::config::CloudConfig;
use crate::error::{Error, ErrorCode, ErrorInfo, Phase, Result};
use crate::events::CancellationToken;
use crate::http::{HttpAuth, HttpFailure, Limits, Method, Request, Retry, Service, retry_after};
use crate::secrets::SecretStore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Instant;

/// The API's base URL.
pub const DEFAULT_URL: &str = "https://api.digitalocean.com/";
/// Droplets per page: the API's maximum.
const PER_PAGE: u32 = 200;
/// Pages paaf reads at most (a runaway `next` link ends there).
const MAX_PAGES: u32 = 1000;
const PROVIDER: &str = "digitalocean";

/// One configured DigitalOcean account (team): its token lives in the [`Service`]'s auth.
#[derive(Clone)]
pub struct DigitalOcean {
    name: String,
    service: Service,
    /// Region slugs to list (`nyc3`); empty: all.
    regions: Vec<String>,
}

impl fmt::Debug for DigitalOcean {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigitalOcean")
            .field("name", &self.name)
            .field("url", &self.service.base_url())
            .field("token", &"[redacted]")
            .field("regions", &self.regions)
            .finish()
    }
}

impl CloudAccount for DigitalOcean {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(DigitalOcean::list(self))
    }

    fn read<'a>(&'a self, _region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(self.droplet(id))
    }

    fn power<'a>(
        &'a self,
        _region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(DigitalOcean::power(self, id, action))
    }

    fn settle<'a>(
        &'a self,
        _region: &'a str,
        accepted: &'a Accepted,
        settings: PollSettings,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DigitalOcean::settle(self, accepted, settings, cancel))
    }
}

impl DigitalOcean {
    /// The account of a `digitalocean` `[[clouds]]` entry, at DigitalOcean's API unless it
    /// names an `endpoint`.
    pub fn from_config(config: &CloudConfig, secrets: &dyn SecretStore) -> Result<DigitalOcean> {
        let token = config.secret(config.token.as_ref(), "token", secrets)?;
        DigitalOcean::connect(
            &config.name,
            config.endpoint.as_deref().unwrap_or(DEFAULT_URL),
            token,
            &config.regions,
            Limits::with_timeout(config.timeout),
        )
    }

    /// The account `name` at `base_url` (the API's root, without `/v2`), with `token`; only
    /// the droplets of `regions` are listed, unless it is empty.
    pub fn connect(
        name: &str,
        base_url: &str,
        token: SecretString,
        regions: &[String],
        limits: Limits,
    ) -> Result<DigitalOcean> {
        if token.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "digitalocean \"{name}\": the API token is empty; store the token with `paaf secret set`"
            )));
        }
        let service = Service::new(
            &format!("digitalocean \"{name}\""),
            base_url,
            HttpAuth::Bearer(token),
            limits,
        )?;
        Ok(DigitalOcean {
            name: name.to_string(),
            service,
            regions: regions.to_vec(),
        })
    }

    /// Every droplet of the account (of the configured regions), sorted by region, name, id;
    /// a failure is one error row for the whole account.
    pub async fn list(&self) -> Inventory {
        match self.all_droplets().await {
            Ok(mut servers) => {
                servers.retain(|s| self.regions.is_empty() || self.regions.contains(&s.region));
                servers
                    .sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
                Inventory {
                    servers,
                    errors: Vec::new(),
                }
            }
            Err(e) => Inventory {
                servers: Vec::new(),
                errors: vec![InventoryError {
                    provider: PROVIDER.into(),
                    account: self.name.clone(),
                    region: None,
                    error: ErrorInfo::from(&e),
                }],
            },
        }
    }

    async fn all_droplets(&self) -> Result<Vec<Server>> {
        let mut servers = Vec::new();
        for page in 1..=MAX_PAGES {
            let request = Request::get("v2/droplets")
                .query("per_page", PER_PAGE.to_string())
                .query("page", page.to_string());
            let answer: DropletsPage = self.get(request, "listing droplets", None).await?;
            let more = answer.links.pages.next.is_some_and(|n| !n.is_empty());
            if more && answer.droplets.is_empty() {
                return Err(self.malformed(format!(
                    "page {page} of the droplets is empty but links to a next page"
                )));
            }
            servers.extend(answer.droplets.into_iter().map(|d| self.server_of(d)));
            if !more {
                return Ok(servers);
            }
        }
        Err(self.malformed(format!("the droplets kept paging past {MAX_PAGES} pages")))
    }

    /// Droplet `id`, read now.
    pub async fn droplet(&self, id: &str) -> Result<Server> {
        check_id(id)?;
        let answer: DropletAnswer = self
            .get(
                Request::get(format!("v2/droplets/{id}")),
                &format!("reading droplet {id}"),
                Some(id),
            )
            .await?;
        Ok(self.server_of(answer.droplet))
    }

    /// Sends `action` to droplet `id` once; the acceptance's `operation` is the action's id.
    pub async fn power(&self, id: &str, action: PowerAction) -> Result<Accepted> {
        check_id(id)?;
        let kind = action_type(action);
        let request = Request::with_body(
            Method::POST,
            format!("v2/droplets/{id}/actions"),
            &serde_json::json!({ "type": kind }),
            Retry::NotIdempotent,
        )?;
        let doing = format!("{kind} of droplet {id}");
        let response = match self.service.send_raw(request).await? {
            Ok(response) => response,
            Err(failure) => {
                return Err(self.failure(&failure, Retry::NotIdempotent, &doing, Some(id)));
            }
        };
        let answer: ActionAnswer = response.json(self.service.name())?;
        tracing::info!(account = %self.name, id, action = kind, operation = answer.action.id, "accepted");
        Ok(Accepted {
            action,
            id: id.to_string(),
            status: None,
            raw_state: None,
            operation: Some(answer.action.id.to_string()),
        })
    }

    /// Reads the action of `accepted` every `settings.interval` (longer when the API asks
    /// with `Retry-After`) until it is completed; errored is an error naming the droplet.
    pub async fn settle(
        &self,
        accepted: &Accepted,
        settings: PollSettings,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let Some(operation) = &accepted.operation else {
            return Ok(());
        };
        let id = &accepted.id;
        check_id(operation)?;
        let kind = action_type(accepted.action);
        let label = format!("droplet {id} (digitalocean \"{}\")", self.name);
        let doing = format!("following action {operation} ({kind}) of droplet {id}");
        let cancelled = || Error::Cancelled {
            what: format!("waiting for action {operation} ({kind}) of {label}"),
        };
        let started = Instant::now();
        loop {
            if cancel.is_cancelled() {
                return Err(cancelled());
            }
            let request = Request::get(format!("v2/droplets/{id}/actions/{operation}"));
            let sent = tokio::select! {
                sent = self.service.send_raw(request) => sent?,
                _ = cancel.cancelled() => return Err(cancelled()),
            };
            let response = match sent {
                Ok(response) => response,
                Err(failure) => {
                    return Err(self.failure(&failure, Retry::Idempotent, &doing, Some(id)));
                }
            };
            let answer: ActionAnswer = response.json(self.service.name())?;
            match answer.action.status.as_str() {
                "completed" => return Ok(()),
                "errored" => {
                    let hint = match accepted.action {
                        PowerAction::Stop => {
                            "the OS did not shut down: look at the droplet's console, or power it off from the control panel"
                        }
                        _ => {
                            "look at the droplet's state and its action history in the control panel before trying again"
                        }
                    };
                    return Err(Error::Service {
                        service: self.service.name().to_string(),
                        code: ErrorCode::ServiceFailed,
                        status: response.status,
                        message: format!("action {operation} ({kind}) of {label} errored; {hint}"),
                    });
                }
                _ => {}
            }
            let wait = retry_after(&response.headers)
                .map_or(settings.interval, |asked| asked.max(settings.interval));
            if started.elapsed() + wait > settings.timeout {
                return Err(Error::Timeout {
                    host: format!(
                        "{label} (action {operation} ({kind}) still {})",
                        answer.action.status
                    ),
                    phase: match accepted.action.target() {
                        ServerStatus::Stopped => Phase::Shutdown,
                        _ => Phase::Boot,
                    },
                    after: settings.timeout,
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => return Err(cancelled()),
            }
        }
    }

    /// A GET decoded as `T`; `droplet` names the droplet a 404 is about.
    async fn get<T: DeserializeOwned>(
        &self,
        request: Request,
        doing: &str,
        droplet: Option<&str>,
    ) -> Result<T> {
        match self.service.send_raw(request).await? {
            Ok(response) => response.json(self.service.name()),
            Err(failure) => Err(self.failure(&failure, Retry::Idempotent, doing, droplet)),
        }
    }

    /// The typed error of a failed call: what happened, and what to check.
    fn failure(
        &self,
        failure: &HttpFailure,
        retry: Retry,
        doing: &str,
        droplet: Option<&str>,
    ) -> Error {
        let said = failure
            .json::<ApiError>()
            .map(|e| {
                let text = format!("{}: {}", e.id, e.message);
                text.chars().take(300).collect()
            })
            .unwrap_or_else(|| failure.body.clone());
        let status = failure.status;
        let service = self.service.name().to_string();
        let (code, hint) = match status {
            401 => (
                ErrorCode::AuthFailed,
                format!(
                    "check the API token of digitalocean account \"{}\": it may be mistyped, expired or revoked (tokens: https://cloud.digitalocean.com/account/api/tokens)",
                    self.name
                ),
            ),
            403 => (
                ErrorCode::PermissionDenied,
                "the token is valid but lacks a scope: give it droplet:read (listing) and droplet:update (power actions)".to_string(),
            ),
            404 => match droplet {
                Some(id) => {
                    return Error::NotFound {
                        what: "droplet",
                        name: id.to_string(),
                        hint: Some(format!(
                            "not in digitalocean account \"{}\": check the id (`paaf servers` lists the droplets)",
                            self.name
                        )),
                    };
                }
                None => (
                    ErrorCode::NotFound,
                    "check that the endpoint is DigitalOcean's API root (https://api.digitalocean.com)".to_string(),
                ),
            },
            422 if retry == Retry::NotIdempotent => (
                ErrorCode::Conflict,
                "the droplet is locked by an action that has not finished yet: wait for it, then try again".to_string(),
            ),
            429 => (
                ErrorCode::RateLimited,
                match reset_time(failure) {
                    Some(at) => format!(
                        "the account's request quota is used up until {at}: wait and try again"
                    ),
                    None => "the account's request quota is used up: wait and try again".to_string(),
                },
            ),
            s if s >= 500 && retry == Retry::NotIdempotent => {
                return Error::OutcomeUnknown {
                    what: format!("{doing} in {service}"),
                    reason: format!("HTTP {s}: {said}"),
                };
            }
            _ => return self.service.status_error(failure).about(doing),
        };
        Error::Service {
            service,
            code,
            status,
            message: format!("{doing}: HTTP {status} ({said}); {hint}"),
        }
    }

    fn malformed(&self, reason: String) -> Error {
        Error::MalformedResponse {
            what: self.service.name().to_string(),
            reason,
        }
    }

    fn server_of(&self, d: Droplet) -> Server {
        let mut public_ips = Vec::new();
        let mut private_ips = Vec::new();
        let addresses = d.networks.v4.into_iter().chain(d.networks.v6);
        for a in addresses {
            let list = match a.kind.as_str() {
                "public" => &mut public_ips,
                _ => &mut private_ips,
            };
            if !a.ip_address.is_empty() && !list.contains(&a.ip_address) {
                list.push(a.ip_address);
            }
        }
        let launched_at_ms = chrono::DateTime::parse_from_rfc3339(&d.created_at)
            .ok()
            .map(|t| t.timestamp_millis());
        Server {
            provider: PROVIDER.into(),
            account: self.name.clone(),
            region: d.region.slug,
            id: d.id.to_string(),
            name: Some(d.name).filter(|n| !n.is_empty()),
            status: normalize(&d.status),
            raw_state: d.status,
            public_ips,
            private_ips,
            // DigitalOcean tags are plain names (`env:prod` is one name, not a key and value).
            tags: d.tags.into_iter().map(|t| (t, String::new())).collect(),
            launched_at_ms,
        }
    }
}

/// The action `type` that does `action`.
fn action_type(action: PowerAction) -> &'static str {
    match action {
        PowerAction::Reboot => "reboot",
        PowerAction::HardReboot => "power_cycle",
        PowerAction::Stop => "shutdown",
        PowerAction::Start => "power_on",
    }
}

/// A droplet's `status` as a normalized status.
pub fn normalize(status: &str) -> ServerStatus {
    match status {
        "active" => ServerStatus::Running,
        "off" => ServerStatus::Stopped,
        "new" => ServerStatus::Pending,
        "archive" => ServerStatus::Terminated,
        _ => ServerStatus::Unknown,
    }
}

/// When the hourly quota frees up again (`ratelimit-reset`, Unix seconds), as RFC 3339.
fn reset_time(failure: &HttpFailure) -> Option<String> {
    let secs: i64 = failure
        .headers
        .get("ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.to_rfc3339())
}

/// Refuses what cannot be a droplet (or action) id before anything is sent: ids are numbers.
fn check_id(id: &str) -> Result<()> {
    if !id.is_empty() && id.len() <= 20 && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{id}` is not a DigitalOcean droplet id (a number like 3164444; `paaf servers` lists them)"
        )))
    }
}

// ---- the API's JSON, as much of it as paaf reads (other fields are ignored) ----

#[derive(Deserialize)]
struct DropletsPage {
    droplets: Vec<Droplet>,
    #[serde(default)]
    links: Links,
}

#[derive(Deserialize, Default)]
struct Links {
    #[serde(default)]
    pages: Pages,
}

#[derive(Deserialize, Default)]
struct Pages {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct DropletAnswer {
    droplet: Droplet,
}

#[derive(Deserialize)]
struct Droplet {
    id: u64,
    #[serde(default)]
    name: String,
    status: String,
    region: Region,
    #[serde(default)]
    networks: Networks,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    created_at: String,
}

#[derive(Deserialize)]
struct Region {
    slug: String,
}

#[derive(Deserialize, Default)]
struct Networks {
    #[serde(default)]
    v4: Vec<Address>,
    #[serde(default)]
    v6: Vec<Address>,
}

#[derive(Deserialize)]
struct Address {
    ip_address: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct ActionAnswer {
    action: Action,
}

#[derive(Deserialize)]
struct Action {
    id: u64,
    status: String,
}

#[derive(Deserialize)]
struct ApiError {
    id: String,
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "dop_v1_0123456789abcdef0123456789abcdef";

    fn account(regions: &[&str]) -> DigitalOcean {
        let regions: Vec<String> = regions.iter().map(|r| r.to_string()).collect();
        DigitalOcean::connect(
            "prod",
            "http://127.0.0.1:1",
            SecretString::from(TOKEN),
            &regions,
            Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn every_documented_status_is_normalized() {
        assert_eq!(normalize("new"), ServerStatus::Pending);
        assert_eq!(normalize("active"), ServerStatus::Running);
        assert_eq!(normalize("off"), ServerStatus::Stopped);
        assert_eq!(normalize("archive"), ServerStatus::Terminated);
        assert_eq!(normalize("sleeping"), ServerStatus::Unknown);
    }

    #[test]
    fn a_documented_droplet_becomes_a_server() {
        // The example of https://docs.digitalocean.com/reference/api/digitalocean/#tag/Droplets/operation/droplets_get
        let d: Droplet = serde_json::from_value(serde_json::json!({
            "id": 3164444, "name": "example.com", "memory": 1024, "vcpus": 1, "disk": 25,
            "locked": false, "status": "active", "kernel": null,
            "created_at": "2020-07-21T18:37:44Z",
            "networks": {
                "v4": [
                    {"ip_address": "10.128.192.124", "netmask": "255.255.0.0", "gateway": "nil", "type": "private"},
                    {"ip_address": "192.241.165.154", "netmask": "255.255.255.0", "gateway": "192.241.165.1", "type": "public"}
                ],
                "v6": [{"ip_address": "2604:a880:0:1010::18a:a001", "netmask": 64, "gateway": "2604:a880:0:1010::1", "type": "public"}]
            },
            "region": {"name": "New York 3", "slug": "nyc3", "features": [], "available": true, "sizes": []},
            "tags": ["web", "env:prod"],
            "vpc_uuid": "760e09ef-dc84-11e8-981e-3cfdfeaae000"
        }))
        .unwrap();
        let s = account(&[]).server_of(d);
        assert_eq!(s.id, "3164444");
        assert_eq!(s.name.as_deref(), Some("example.com"));
        assert_eq!(s.region, "nyc3");
        assert_eq!(
            (s.status, s.raw_state.as_str()),
            (ServerStatus::Running, "active")
        );
        assert_eq!(
            s.public_ips,
            vec!["192.241.165.154", "2604:a880:0:1010::18a:a001"]
        );
        assert_eq!(s.private_ips, vec!["10.128.192.124"]);
        assert_eq!(
            s.tags.into_iter().collect::<Vec<_>>(),
            vec![
                ("env:prod".to_string(), String::new()),
                ("web".to_string(), String::new())
            ]
        );
        assert_eq!(s.launched_at_ms, Some(1_595_356_664_000));
    }

    #[test]
    fn the_token_appears_nowhere_in_debug_output() {
        let text = format!("{:?}", account(&["nyc3"]));
        assert!(!text.contains(TOKEN), "{text}");
        assert!(text.contains("prod") && text.contains("nyc3"), "{text}");
    }

    #[test]
    fn bad_ids_and_empty_tokens_are_refused_before_anything_is_sent() {
        assert!(check_id("3164444").is_ok());
        for bad in ["web-1", "", "12/actions", "1 2", "123456789012345678901"] {
            assert_eq!(
                check_id(bad).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{bad}"
            );
        }
        let e = DigitalOcean::connect(
            "prod",
            DEFAULT_URL,
            SecretString::from(" "),
            &[],
            Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
    }

    #[test]
    fn each_power_action_has_its_action_type() {
        assert_eq!(action_type(PowerAction::Reboot), "reboot");
        assert_eq!(action_type(PowerAction::HardReboot), "power_cycle");
        assert_eq!(action_type(PowerAction::Stop), "shutdown");
        assert_eq!(action_type(PowerAction::Start), "power_on");
    }
}
