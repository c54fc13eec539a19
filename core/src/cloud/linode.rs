//! Linode (Akamai Cloud) instances, through the API v4 (`https://api.linode.com/v4`) with a
//! personal access token (`Authorization: Bearer`).
//!
//! Calls (https://techdocs.akamai.com/linode-api/reference/api):
//! - `GET /v4/linode/instances?page=N&page_size=500`
//!   (https://techdocs.akamai.com/linode-api/reference/get-linode-instances) →
//!   `{data, page, pages, results}` (https://techdocs.akamai.com/linode-api/reference/pagination:
//!   `page_size` 25–500); pages 1 to `pages` are read;
//! - `GET /v4/linode/instances/{id}`
//!   (https://techdocs.akamai.com/linode-api/reference/get-linode-instance) → the Linode, its
//!   `status` one of running, offline, booting, rebooting, shutting_down, provisioning,
//!   deleting, migrating, rebuilding, cloning, restoring, stopped, billing_suspension;
//! - `POST /v4/linode/instances/{id}/reboot`, `/shutdown`, `/boot`
//!   (https://techdocs.akamai.com/linode-api/reference/post-reboot-linode-instance,
//!   …/post-shutdown-linode-instance, …/post-boot-linode-instance), body `{}` → 200 `{}`;
//!   sent once. There is no job to follow: the status is read until it is the target;
//! - errors `{"errors": [{"reason", "field"?}]}`
//!   (https://techdocs.akamai.com/linode-api/reference/errors): 400 ("Linode busy." while
//!   another job of the Linode runs), 401, 403 (a token without `linodes:read_write`), 404,
//!   429, 5xx.
//!
//! Linode has no hard reset in its API: a hard reboot is refused.

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PowerAction, Server, ServerStatus,
};
use crate::config::CloudConfig;
use crate::error::{Error, ErrorCode, ErrorInfo, Result};
use crate::http::{HttpAuth, HttpFailure, Limits, Method, Request, Retry, Service};
use crate::secrets::SecretStore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::net::Ipv4Addr;

/// The API's base URL.
pub const DEFAULT_URL: &str = "https://api.linode.com/";
/// Linodes per page: the API's maximum.
const PAGE_SIZE: u32 = 500;
/// Pages paaf reads at most (a runaway `pages` ends there).
const MAX_PAGES: u32 = 1000;
const PROVIDER: &str = "linode";

/// One configured Linode account: its token lives in the [`Service`]'s auth.
#[derive(Clone)]
pub struct Linode {
    name: String,
    service: Service,
    /// Region ids to list (`us-east`); empty: all.
    regions: Vec<String>,
}

impl fmt::Debug for Linode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linode")
            .field("name", &self.name)
            .field("url", &self.service.base_url())
            .field("token", &"[redacted]")
            .field("regions", &self.regions)
            .finish()
    }
}

impl CloudAccount for Linode {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(Linode::list(self))
    }

    fn read<'a>(&'a self, _region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(self.instance(id))
    }

    fn power<'a>(
        &'a self,
        _region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(Linode::power(self, id, action))
    }
}

impl Linode {
    /// The account of a `linode` `[[clouds]]` entry, at Linode's API unless it names an
    /// `endpoint`.
    pub fn from_config(config: &CloudConfig, secrets: &dyn SecretStore) -> Result<Linode> {
        let token = config.secret(config.token.as_ref(), "token", secrets)?;
        Linode::connect(
            &config.name,
            config.endpoint.as_deref().unwrap_or(DEFAULT_URL),
            token,
            &config.regions,
            Limits::with_timeout(config.timeout),
        )
    }

    /// The account `name` at `base_url` (the API's root, without `/v4`), with `token`; only
    /// the Linodes of `regions` are listed, unless it is empty.
    pub fn connect(
        name: &str,
        base_url: &str,
        token: SecretString,
        regions: &[String],
        limits: Limits,
    ) -> Result<Linode> {
        if token.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "linode \"{name}\": the API token is empty; store the token with `paaf secret set`"
            )));
        }
        let service = Service::new(
            &format!("linode \"{name}\""),
            base_url,
            HttpAuth::Bearer(token),
            limits,
        )?;
        Ok(Linode {
            name: name.to_string(),
            service,
            regions: regions.to_vec(),
        })
    }

    /// Every Linode of the account (of the configured regions), sorted by region, name, id;
    /// a failure is one error row for the whole account.
    pub async fn list(&self) -> Inventory {
        match self.all_instances().await {
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

    async fn all_instances(&self) -> Result<Vec<Server>> {
        let mut servers = Vec::new();
        let mut page = 1;
        loop {
            let request = Request::get("v4/linode/instances")
                .query("page", page.to_string())
                .query("page_size", PAGE_SIZE.to_string());
            let answer: InstancesPage = self.get(request, "listing Linodes", None).await?;
            if answer.page != page {
                return Err(self.malformed(format!(
                    "asked for page {page} of the Linodes, it answered page {}",
                    answer.page
                )));
            }
            servers.extend(answer.data.into_iter().map(|i| self.server_of(i)));
            if page >= answer.pages {
                return Ok(servers);
            }
            if answer.pages > MAX_PAGES {
                return Err(self.malformed(format!(
                    "the Linodes are said to fill {} pages, over the {MAX_PAGES} paaf reads",
                    answer.pages
                )));
            }
            page += 1;
        }
    }

    /// Linode `id`, read now.
    pub async fn instance(&self, id: &str) -> Result<Server> {
        check_id(id)?;
        let instance: Instance = self
            .get(
                Request::get(format!("v4/linode/instances/{id}")),
                &format!("reading Linode {id}"),
                Some(id),
            )
            .await?;
        Ok(self.server_of(instance))
    }

    /// Sends `action` to Linode `id` once. Linode answers `{}`: there is nothing to follow
    /// but the Linode's status.
    pub async fn power(&self, id: &str, action: PowerAction) -> Result<Accepted> {
        check_id(id)?;
        let verb = match action {
            PowerAction::Reboot => "reboot",
            PowerAction::Stop => "shutdown",
            PowerAction::Start => "boot",
            PowerAction::HardReboot => {
                return Err(Error::invalid(format!(
                    "Linode has no hard reset in its API (Linode {id}): use reboot, or stop then start; if the OS hangs, use the Lish console"
                )));
            }
        };
        let request = Request::with_body(
            Method::POST,
            format!("v4/linode/instances/{id}/{verb}"),
            &serde_json::json!({}),
            Retry::NotIdempotent,
        )?;
        let doing = format!("{verb} of Linode {id}");
        if let Err(failure) = self.service.send_raw(request).await? {
            return Err(self.failure(&failure, Retry::NotIdempotent, &doing, Some(id)));
        }
        tracing::info!(account = %self.name, id, action = verb, "accepted");
        Ok(Accepted {
            action,
            id: id.to_string(),
            status: None,
            raw_state: None,
            operation: None,
        })
    }

    /// A GET decoded as `T`; `linode` names the Linode a 404 is about.
    async fn get<T: DeserializeOwned>(
        &self,
        request: Request,
        doing: &str,
        linode: Option<&str>,
    ) -> Result<T> {
        match self.service.send_raw(request).await? {
            Ok(response) => response.json(self.service.name()),
            Err(failure) => Err(self.failure(&failure, Retry::Idempotent, doing, linode)),
        }
    }

    /// The typed error of a failed call: what happened, and what to check.
    fn failure(
        &self,
        failure: &HttpFailure,
        retry: Retry,
        doing: &str,
        linode: Option<&str>,
    ) -> Error {
        let said = failure
            .json::<ApiErrors>()
            .map(|e| {
                let reasons: Vec<String> = e
                    .errors
                    .into_iter()
                    .map(|r| match r.field {
                        Some(field) => format!("[{field}] {}", r.reason),
                        None => r.reason,
                    })
                    .collect();
                reasons.join("; ").chars().take(300).collect::<String>()
            })
            .unwrap_or_else(|| failure.body.clone());
        let status = failure.status;
        let service = self.service.name().to_string();
        let (code, hint) = match status {
            401 => (
                ErrorCode::AuthFailed,
                format!(
                    "check the API token of linode account \"{}\": it may be mistyped, expired or revoked (tokens: https://cloud.linode.com/profile/tokens)",
                    self.name
                ),
            ),
            403 => (
                ErrorCode::PermissionDenied,
                "the token is valid but not allowed this: give it the Linodes scope (read/write for power actions), and its user access to this Linode".to_string(),
            ),
            404 => match linode {
                Some(id) => {
                    return Error::NotFound {
                        what: "Linode",
                        name: id.to_string(),
                        hint: Some(format!(
                            "not in linode account \"{}\": check the id (`paaf servers` lists the Linodes)",
                            self.name
                        )),
                    };
                }
                None => (
                    ErrorCode::NotFound,
                    "check that the endpoint is Linode's API root (https://api.linode.com)"
                        .to_string(),
                ),
            },
            400 if retry == Retry::NotIdempotent && said.to_lowercase().contains("busy") => (
                ErrorCode::Conflict,
                "another job of this Linode (a boot, a migration, a backup) is still running: wait for it, then try again".to_string(),
            ),
            429 => (
                ErrorCode::RateLimited,
                "Linode limits the request rate of this token: wait and try again".to_string(),
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

    fn server_of(&self, i: Instance) -> Server {
        // `ipv4` holds public and private addresses alike (private: 192.168.128.0/17).
        let (private_ips, mut public_ips): (Vec<String>, Vec<String>) = i
            .ipv4
            .into_iter()
            .partition(|ip| ip.parse::<Ipv4Addr>().is_ok_and(|a| a.is_private()));
        // `ipv6` is the SLAAC address with its prefix length (`2600:3c03::…/128`).
        if let Some(v6) = i.ipv6.filter(|a| !a.is_empty()) {
            let address = v6.split('/').next().unwrap_or_default().to_string();
            public_ips.push(address);
        }
        Server {
            provider: PROVIDER.into(),
            account: self.name.clone(),
            region: i.region,
            id: i.id.to_string(),
            name: Some(i.label).filter(|n| !n.is_empty()),
            status: normalize(&i.status),
            raw_state: i.status,
            public_ips,
            private_ips,
            // Linode tags are plain names.
            tags: i.tags.into_iter().map(|t| (t, String::new())).collect(),
            launched_at_ms: i.created.as_deref().and_then(timestamp_ms),
        }
    }
}

/// A Linode's `status` as a normalized status.
pub fn normalize(status: &str) -> ServerStatus {
    match status {
        "running" => ServerStatus::Running,
        "offline" | "stopped" | "billing_suspension" => ServerStatus::Stopped,
        "booting" | "rebooting" | "provisioning" | "migrating" | "rebuilding" | "cloning"
        | "restoring" => ServerStatus::Pending,
        "shutting_down" => ServerStatus::Stopping,
        "deleting" => ServerStatus::Terminated,
        _ => ServerStatus::Unknown,
    }
}

/// Linode's timestamps (`2018-01-01T00:01:01`, UTC without an offset) in ms since the epoch.
fn timestamp_ms(text: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// Refuses what cannot be a Linode id before anything is sent: ids are numbers.
fn check_id(id: &str) -> Result<()> {
    if !id.is_empty() && id.len() <= 20 && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{id}` is not a Linode id (a number like 123; `paaf servers` lists them)"
        )))
    }
}

// ---- the API's JSON, as much of it as paaf reads (other fields are ignored) ----

#[derive(Deserialize)]
struct InstancesPage {
    data: Vec<Instance>,
    page: u32,
    pages: u32,
}

#[derive(Deserialize)]
struct Instance {
    id: u64,
    #[serde(default)]
    label: String,
    region: String,
    status: String,
    #[serde(default)]
    ipv4: Vec<String>,
    #[serde(default)]
    ipv6: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    created: Option<String>,
}

#[derive(Deserialize)]
struct ApiErrors {
    errors: Vec<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    reason: String,
    #[serde(default)]
    field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "a1b2c3d4e5f6linodepat0123456789abcdef0123456789abcdef01234567";

    fn account() -> Linode {
        Linode::connect(
            "prod",
            "http://127.0.0.1:1",
            SecretString::from(TOKEN),
            &["us-east".to_string()],
            Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn every_documented_status_is_normalized() {
        use ServerStatus::*;
        let table = [
            ("running", Running),
            ("offline", Stopped),
            ("stopped", Stopped),
            ("billing_suspension", Stopped),
            ("booting", Pending),
            ("rebooting", Pending),
            ("provisioning", Pending),
            ("migrating", Pending),
            ("rebuilding", Pending),
            ("cloning", Pending),
            ("restoring", Pending),
            ("shutting_down", Stopping),
            ("deleting", Terminated),
            ("resizing", Unknown),
        ];
        for (raw, status) in table {
            assert_eq!(normalize(raw), status, "{raw}");
        }
    }

    #[test]
    fn a_documented_linode_becomes_a_server() {
        // After the example of https://techdocs.akamai.com/linode-api/reference/get-linode-instance,
        // with a private address added.
        let i: Instance = serde_json::from_value(serde_json::json!({
            "alerts": {"cpu": 180, "io": 10000, "network_in": 10, "network_out": 10, "transfer_quota": 80},
            "backups": {"enabled": true},
            "created": "2018-01-01T00:01:01",
            "group": "Linode-Group",
            "hypervisor": "kvm",
            "id": 123,
            "image": "linode/debian10",
            "ipv4": ["203.0.113.1", "192.0.2.1", "192.168.133.7"],
            "ipv6": "c001:d00d::1337/128",
            "label": "linode123",
            "region": "us-east",
            "specs": {"disk": 81920, "memory": 4096, "transfer": 4000, "vcpus": 2},
            "status": "running",
            "tags": ["example tag", "another example"],
            "type": "g6-standard-1",
            "updated": "2018-01-01T00:01:01",
            "watchdog_enabled": true
        }))
        .unwrap();
        let s = account().server_of(i);
        assert_eq!(s.id, "123");
        assert_eq!(s.name.as_deref(), Some("linode123"));
        assert_eq!(s.region, "us-east");
        assert_eq!(
            (s.status, s.raw_state.as_str()),
            (ServerStatus::Running, "running")
        );
        assert_eq!(
            s.public_ips,
            vec!["203.0.113.1", "192.0.2.1", "c001:d00d::1337"]
        );
        assert_eq!(s.private_ips, vec!["192.168.133.7"]);
        assert_eq!(
            s.tags.keys().collect::<Vec<_>>(),
            vec!["another example", "example tag"]
        );
        assert_eq!(s.launched_at_ms, Some(1_514_764_861_000));
    }

    #[test]
    fn the_token_appears_nowhere_in_debug_output() {
        let text = format!("{:?}", account());
        assert!(!text.contains(TOKEN), "{text}");
        assert!(text.contains("prod") && text.contains("us-east"), "{text}");
    }

    #[test]
    fn bad_ids_are_refused_before_anything_is_sent() {
        assert!(check_id("123").is_ok());
        for bad in ["linode123", "", "1/reboot", "-1"] {
            assert_eq!(
                check_id(bad).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{bad}"
            );
        }
    }
}
