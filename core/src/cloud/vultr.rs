//! Vultr instances, through the API v2 (`https://api.vultr.com/v2`) with an API key
//! (`Authorization: Bearer`).
//!
//! Calls (https://www.vultr.com/api/, OpenAPI: /work/shared/reference/openapi/vultr-v2.openapi.json):
//! - `GET /v2/instances?per_page=500&cursor=…` (#tag/instances/operation/list-instances) →
//!   `{instances, meta: {total, links: {next, prev}}}`; pages are read while `next` (a cursor)
//!   is not empty (#section/Introduction/Meta-and-Pagination);
//! - `GET /v2/instances/{id}` (#tag/instances/operation/get-instance) → `{instance}`, whose
//!   state is three fields: `status` (active, pending, suspended, resizing), `power_status`
//!   (running, stopped) and `server_status` (none, locked, installingbooting, ok);
//! - `POST /v2/instances/{id}/reboot`, `/halt`, `/start` (#tag/instances/operation/
//!   reboot-instance, halt-instance, start-instance) → 204 without a body; sent once. There
//!   is no job to follow: the state is read until it is the target;
//! - errors: "all 4xx errors will return a JSON response object with an `error` attribute"
//!   (`{"error": "…", "status": 401}`); 400, 401, 403 (also: the caller's IP is not in the
//!   key's access control list), 404, 429 (over 30 requests a second), 5xx.
//!
//! Vultr's reboot is a hard reboot ("Restarting an instance performs a hard reboot",
//! https://docs.vultr.com/products/compute/cloud-compute/management/restart-instance): paaf
//! sends it for a hard reboot only and refuses a clean one. Whether a halt waits for the OS
//! is not said for API v2 (API v1 documented it as a hard power-off).

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PowerAction, Server, ServerStatus,
};
use crate::config::CloudConfig;
use crate::error::{Error, ErrorCode, ErrorInfo, Result};
use crate::http::{HttpAuth, HttpFailure, Limits, Request, Retry, Service};
use crate::secrets::SecretStore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// The API's base URL.
pub const DEFAULT_URL: &str = "https://api.vultr.com/";
/// Instances per page: the API's maximum.
const PER_PAGE: u32 = 500;
/// Pages paaf reads at most (a runaway cursor ends there).
const MAX_PAGES: u32 = 1000;
const PROVIDER: &str = "vultr";

/// One configured Vultr account: its API key lives in the [`Service`]'s auth.
#[derive(Clone)]
pub struct Vultr {
    name: String,
    service: Service,
    /// Region ids to list (`ewr`); empty: all.
    regions: Vec<String>,
}

impl fmt::Debug for Vultr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vultr")
            .field("name", &self.name)
            .field("url", &self.service.base_url())
            .field("api_key", &"[redacted]")
            .field("regions", &self.regions)
            .finish()
    }
}

impl CloudAccount for Vultr {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(Vultr::list(self))
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
        Box::pin(Vultr::power(self, id, action))
    }
}

impl Vultr {
    /// The account of a `vultr` `[[clouds]]` entry, at Vultr's API unless it names an
    /// `endpoint`.
    pub fn from_config(config: &CloudConfig, secrets: &dyn SecretStore) -> Result<Vultr> {
        let key = config.secret(config.token.as_ref(), "token", secrets)?;
        Vultr::connect(
            &config.name,
            config.endpoint.as_deref().unwrap_or(DEFAULT_URL),
            key,
            &config.regions,
            Limits::with_timeout(config.timeout),
        )
    }

    /// The account `name` at `base_url` (the API's root, without `/v2`), with `api_key`; only
    /// the instances of `regions` are listed, unless it is empty.
    pub fn connect(
        name: &str,
        base_url: &str,
        api_key: SecretString,
        regions: &[String],
        limits: Limits,
    ) -> Result<Vultr> {
        if api_key.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "vultr \"{name}\": the API key is empty; store the key with `paaf secret set`"
            )));
        }
        let service = Service::new(
            &format!("vultr \"{name}\""),
            base_url,
            HttpAuth::Bearer(api_key),
            limits,
        )?;
        Ok(Vultr {
            name: name.to_string(),
            service,
            regions: regions.to_vec(),
        })
    }

    /// Every instance of the account (of the configured regions), sorted by region, name,
    /// id; a failure is one error row for the whole account.
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
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut request = Request::get("v2/instances").query("per_page", PER_PAGE.to_string());
            if let Some(c) = &cursor {
                request = request.query("cursor", c.clone());
            }
            let answer: InstancesPage = self.get(request, "listing instances", None).await?;
            servers.extend(answer.instances.into_iter().map(|i| self.server_of(i)));
            match answer.meta.links.next.filter(|n| !n.is_empty()) {
                Some(next) if Some(&next) == cursor.as_ref() => {
                    return Err(self.malformed(
                        "the instance list returned the same next cursor twice".to_string(),
                    ));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(servers),
            }
        }
        Err(self.malformed(format!(
            "the instance list kept paging past {MAX_PAGES} pages"
        )))
    }

    /// Instance `id`, read now.
    pub async fn instance(&self, id: &str) -> Result<Server> {
        check_id(id)?;
        let answer: InstanceAnswer = self
            .get(
                Request::get(format!("v2/instances/{id}")),
                &format!("reading instance {id}"),
                Some(id),
            )
            .await?;
        Ok(self.server_of(answer.instance))
    }

    /// Sends `action` to instance `id` once. Vultr answers 204: there is nothing to follow
    /// but the instance's state.
    pub async fn power(&self, id: &str, action: PowerAction) -> Result<Accepted> {
        check_id(id)?;
        let verb = match action {
            PowerAction::HardReboot => "reboot",
            PowerAction::Stop => "halt",
            PowerAction::Start => "start",
            PowerAction::Reboot => {
                return Err(Error::invalid(format!(
                    "Vultr has no clean reboot (instance {id}): its reboot is a hard reset, like pulling the plug; ask for a hard reboot if that is what you want, or reboot from inside the OS (over SSH) for a clean one"
                )));
            }
        };
        let request = Request::post(format!("v2/instances/{id}/{verb}"), Retry::NotIdempotent);
        let doing = format!("{verb} of instance {id}");
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

    /// A GET decoded as `T`; `instance` names the instance a 404 is about.
    async fn get<T: DeserializeOwned>(
        &self,
        request: Request,
        doing: &str,
        instance: Option<&str>,
    ) -> Result<T> {
        match self.service.send_raw(request).await? {
            Ok(response) => response.json(self.service.name()),
            Err(failure) => Err(self.failure(&failure, Retry::Idempotent, doing, instance)),
        }
    }

    /// The typed error of a failed call: what happened, and what to check.
    fn failure(
        &self,
        failure: &HttpFailure,
        retry: Retry,
        doing: &str,
        instance: Option<&str>,
    ) -> Error {
        let said = failure
            .json::<ApiError>()
            .map(|e| e.error.chars().take(300).collect::<String>())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| failure.body.clone());
        let status = failure.status;
        let service = self.service.name().to_string();
        let (code, hint) = match status {
            401 => (
                ErrorCode::AuthFailed,
                format!(
                    "check the API key of vultr account \"{}\": it may be mistyped or regenerated (keys: https://my.vultr.com/settings/#settingsapi)",
                    self.name
                ),
            ),
            403 => (
                ErrorCode::PermissionDenied,
                "the key was refused for this: add this machine's IP address to the key's access control list, and give its user the permission to manage servers".to_string(),
            ),
            404 => match instance {
                Some(id) => {
                    return Error::NotFound {
                        what: "Vultr instance",
                        name: id.to_string(),
                        hint: Some(format!(
                            "not in vultr account \"{}\": check the id (`paaf servers` lists the instances)",
                            self.name
                        )),
                    };
                }
                None => (
                    ErrorCode::NotFound,
                    "check that the endpoint is Vultr's API root (https://api.vultr.com)"
                        .to_string(),
                ),
            },
            429 => (
                ErrorCode::RateLimited,
                "Vultr takes at most 30 requests a second from one address: wait and try again"
                    .to_string(),
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
        // A pending instance has no address yet: `0.0.0.0` and `::` mean none.
        let address =
            |ip: String| Some(ip).filter(|ip| !ip.is_empty() && ip != "0.0.0.0" && ip != "::");
        let public_ips: Vec<String> = address(i.main_ip)
            .into_iter()
            .chain(address(i.v6_main_ip))
            .collect();
        let private_ips: Vec<String> = address(i.internal_ip).into_iter().collect();
        let launched_at_ms = chrono::DateTime::parse_from_rfc3339(&i.date_created)
            .ok()
            .map(|t| t.timestamp_millis());
        Server {
            provider: PROVIDER.into(),
            account: self.name.clone(),
            region: i.region,
            id: i.id,
            name: Some(i.label).filter(|n| !n.is_empty()),
            status: normalize(&i.status, &i.power_status, &i.server_status),
            raw_state: format!("{}/{}/{}", i.status, i.power_status, i.server_status),
            public_ips,
            private_ips,
            // Vultr tags are plain names.
            tags: i.tags.into_iter().map(|t| (t, String::new())).collect(),
            launched_at_ms,
        }
    }
}

/// An instance's `status`, `power_status` and `server_status` as one normalized status (its
/// `raw_state` is the three, `active/running/ok`).
pub fn normalize(status: &str, power_status: &str, server_status: &str) -> ServerStatus {
    match (status, power_status, server_status) {
        ("pending" | "resizing", _, _) => ServerStatus::Pending,
        // Suspended by Vultr (billing, abuse): off, and only Vultr's support can start it.
        ("suspended", _, _) => ServerStatus::Stopped,
        ("active", "stopped", _) => ServerStatus::Stopped,
        ("active", "running", "ok") => ServerStatus::Running,
        ("active", "running", "none" | "locked" | "installingbooting") => ServerStatus::Pending,
        _ => ServerStatus::Unknown,
    }
}

/// Refuses what cannot be an instance id before anything is sent: ids are UUIDs.
fn check_id(id: &str) -> Result<()> {
    let uuid = id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if uuid {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{id}` is not a Vultr instance id (a UUID like cb676a46-66fd-4dfb-b839-443f2e6c0b60; `paaf servers` lists them)"
        )))
    }
}

// ---- the API's JSON, as much of it as paaf reads (other fields are ignored) ----

#[derive(Deserialize)]
struct InstancesPage {
    instances: Vec<Instance>,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default)]
    links: Links,
}

#[derive(Deserialize, Default)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct InstanceAnswer {
    instance: Instance,
}

#[derive(Deserialize)]
struct Instance {
    id: String,
    #[serde(default)]
    label: String,
    region: String,
    status: String,
    power_status: String,
    server_status: String,
    #[serde(default)]
    main_ip: String,
    #[serde(default)]
    v6_main_ip: String,
    #[serde(default)]
    internal_ip: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    date_created: String,
}

#[derive(Deserialize)]
struct ApiError {
    error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "VULTRKEY0123456789ABCDEFGHIJKLMNOPQRS";

    fn account() -> Vultr {
        Vultr::connect(
            "prod",
            "http://127.0.0.1:1",
            SecretString::from(KEY),
            &["ewr".to_string()],
            Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn every_documented_state_is_normalized() {
        use ServerStatus::*;
        let table = [
            (("active", "running", "ok"), Running),
            (("active", "running", "none"), Pending),
            (("active", "running", "locked"), Pending),
            (("active", "running", "installingbooting"), Pending),
            (("active", "stopped", "ok"), Stopped),
            (("active", "stopped", "none"), Stopped),
            (("pending", "running", "none"), Pending),
            (("pending", "stopped", "installingbooting"), Pending),
            (("resizing", "running", "locked"), Pending),
            (("suspended", "stopped", "none"), Stopped),
            (("active", "running", "rebooting"), Unknown),
            (("closed", "stopped", "none"), Unknown),
        ];
        for ((status, power, server), expected) in table {
            assert_eq!(
                normalize(status, power, server),
                expected,
                "{status}/{power}/{server}"
            );
        }
    }

    #[test]
    fn a_documented_instance_becomes_a_server() {
        // After the example of https://www.vultr.com/api/#tag/instances/operation/get-instance,
        // with an IPv6 and an internal address added.
        let i: Instance = serde_json::from_value(serde_json::json!({
            "id": "cb676a46-66fd-4dfb-b839-443f2e6c0b60", "os": "Ubuntu 20.04 x64",
            "ram": 16384, "disk": 384, "main_ip": "192.0.2.123", "vcpu_count": 4,
            "region": "ewr", "plan": "vc2-6c-16gb", "date_created": "2020-10-10T01:56:20+00:00",
            "status": "active", "allowed_bandwidth": 5000, "netmask_v4": "255.255.254.0",
            "gateway_v4": "192.0.2.1", "power_status": "running", "server_status": "ok",
            "v6_network": "2001:0db8:1112:18fb::",
            "v6_main_ip": "2001:0db8:1112:18fb:0200:00ff:fe00:0000", "v6_network_size": 64,
            "label": "Example Instance", "internal_ip": "10.1.96.3",
            "kvm": "https://my.vultr.com/subs/vps/novnc/api.php?data=00example11223344",
            "hostname": "my_hostname", "os_id": 215, "app_id": 0, "image_id": "",
            "firewall_group_id": "", "features": ["ddos_protection", "ipv6", "auto_backups"],
            "tags": ["a tag", "another"]
        }))
        .unwrap();
        let s = account().server_of(i);
        assert_eq!(s.id, "cb676a46-66fd-4dfb-b839-443f2e6c0b60");
        assert_eq!(s.name.as_deref(), Some("Example Instance"));
        assert_eq!(s.region, "ewr");
        assert_eq!(
            (s.status, s.raw_state.as_str()),
            (ServerStatus::Running, "active/running/ok")
        );
        assert_eq!(
            s.public_ips,
            vec!["192.0.2.123", "2001:0db8:1112:18fb:0200:00ff:fe00:0000"]
        );
        assert_eq!(s.private_ips, vec!["10.1.96.3"]);
        assert_eq!(s.tags.keys().collect::<Vec<_>>(), vec!["a tag", "another"]);
        assert_eq!(s.launched_at_ms, Some(1_602_294_980_000));
    }

    #[test]
    fn the_key_appears_nowhere_in_debug_output() {
        let text = format!("{:?}", account());
        assert!(!text.contains(KEY), "{text}");
        assert!(text.contains("prod") && text.contains("ewr"), "{text}");
    }

    #[test]
    fn bad_ids_are_refused_before_anything_is_sent() {
        assert!(check_id("cb676a46-66fd-4dfb-b839-443f2e6c0b60").is_ok());
        for bad in [
            "web-1",
            "",
            "cb676a46-66fd-4dfb-b839-443f2e6c0b6/",
            "cb676a4666fd4dfbb839443f2e6c0b60",
        ] {
            assert_eq!(
                check_id(bad).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{bad}"
            );
        }
    }
}
