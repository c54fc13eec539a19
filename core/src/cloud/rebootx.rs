//! Servers speaking the RebootX on-prem spec (0.4.0), so that a RebootX on-prem server keeps
//! working with paaf as it is.
//!
//! Spec: https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json
//! (OpenAPI 3). The base URL (`endpoint`) holds the server's secret path prefix
//! (`https://ops.example.com/PREFIX/`): it is redacted from every message and `Debug` like the
//! API key, which goes as is in `Authorization: <api key>`. Calls, relative to the base URL:
//! - `GET runnables?limit=&offset=[&q=]` → `{items: [Runnable], total}`, read page after page
//!   (`offset` advanced by the items received) until `total` is reached;
//! - `POST runnables/{id}/reboot`, `POST runnables/{id}/stop` → 201 `{jobId: string|null}`:
//!   sent once, never retried after they may have reached the server;
//! - `GET dashboards?limit=&offset=` → `{items: [Dashboard], total}` ([`RebootX::dashboards`]);
//! - errors: 401/403/404 `{message}` (the spec's `ErrorRes`).
//!
//! What the reference implementation really answers
//! (https://github.com/c100k/rebootx-on-prem/tree/main/impl/http-server-go): a wrong API key is
//! 401 `{"message":"Authentication required"}` (middlewares.go; it never answers 403); an
//! unknown runnable is 404 `{"message":"Not found"}` (utils/funcs.go), while a wrong path
//! prefix is the router's plain-text `404 page not found` (main.go mounts every route under
//! `/{RBTX_PATH_PREFIX}`); a failed reboot or stop command is 500 `{message}`; its `fileJson`
//! mode ignores `limit`, `offset` and `q` and answers every runnable at once, and its `self`
//! mode reboots the machine that answers, so the answer to a reboot may never arrive
//! (`outcome-unknown`).
//!
//! The spec has no start and no hard reboot: both are refused before anything is sent. It has
//! no job-status endpoint either: a `jobId` is kept in [`Accepted::operation`] for the record,
//! and the action is followed through the runnable's `status` in the list (`pending` →
//! `on`/`off`), as [`super::power_and_wait`] does. A reboot that the server reports `on`
//! throughout (a synchronous reboot, a `self` server that answers again) is therefore done at
//! the first read: only SSH can prove a new boot. The spec has no read of one runnable:
//! [`RebootX::read`] lists them all and picks the id (the meaning of `q` is up to each server).

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PowerAction, Server, ServerStatus,
};
use crate::config::{AccountConfig, CloudConfig, CloudEntry, Key};
use crate::error::{Error, ErrorCode, ErrorInfo, Result};
use crate::http::{HttpAuth, HttpFailure, Limits, Request, Retry, Service, path_segment};
use crate::secrets::{SecretRef, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;

/// `limit` of each page by default: the spec's suggested server default.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Pages paaf reads at most (a server whose `total` never comes ends there).
const MAX_PAGES: u32 = 1000;

/// One RebootX on-prem server (a `rebootx` `[[clouds]]` entry).
#[derive(Clone)]
pub struct RebootX {
    name: String,
    service: Service,
    /// Only the servers of these `scopes.geo` values are listed (all when empty).
    regions: Vec<String>,
    page_size: u32,
}

impl fmt::Debug for RebootX {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The service's Debug redacts the API key and the secret path prefix.
        f.debug_struct("RebootX")
            .field("name", &self.name)
            .field("service", &self.service)
            .field("regions", &self.regions)
            .finish()
    }
}

impl CloudAccount for RebootX {
    fn provider(&self) -> &'static str {
        "rebootx"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(RebootX::list(self))
    }

    /// Runnable ids are unique on their server: `region` is not needed to find one.
    fn read<'a>(&'a self, _region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(RebootX::read(self, id))
    }

    fn power<'a>(
        &'a self,
        _region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(RebootX::power(self, id, action))
    }
}

/// The keys of a `rebootx` `[[clouds]]` entry. `Debug` shows only the scheme and host of
/// its endpoint: its path is the secret prefix.
#[derive(Clone)]
pub struct RebootxConfig {
    /// The server's URL with its secret path prefix (`endpoint`).
    pub endpoint: String,
    /// The API key (`token`).
    pub token: SecretRef,
    /// The `scopes.geo` values listed (`regions`); empty: all.
    pub regions: Vec<String>,
}

impl fmt::Debug for RebootxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = match reqwest::Url::parse(&self.endpoint) {
            Ok(u) => format!("{}://{}/[redacted]", u.scheme(), u.authority()),
            Err(_) => "[redacted]".to_string(),
        };
        f.debug_struct("RebootxConfig")
            .field("endpoint", &endpoint)
            .field("token", &self.token)
            .field("regions", &self.regions)
            .finish()
    }
}

impl AccountConfig for RebootxConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<RebootxConfig> {
        let endpoint = entry.endpoint()?;
        let token = entry.secret(Key::Token)?;
        Ok(RebootxConfig {
            endpoint: entry.needs(
                endpoint,
                (
                    "its URL with the secret path prefix",
                    "endpoint = \"https://ops.example.com/PREFIX\"",
                ),
            )?,
            token: entry.needs(token, super::API_TOKEN)?,
            regions: entry.regions(),
        })
    }
}

impl RebootX {
    /// The server of a `rebootx` `[[clouds]]` entry.
    pub fn from_config(
        config: &CloudConfig,
        rebootx: &RebootxConfig,
        secrets: &dyn SecretStore,
    ) -> Result<RebootX> {
        RebootX::connect(
            &config.name,
            &rebootx.endpoint,
            rebootx.token.resolve(secrets)?,
            &rebootx.regions,
            Limits::with_timeout(config.timeout),
        )
    }

    /// The server `name` at `endpoint` (its URL with the secret path prefix), authenticated
    /// by `api_key`; `regions` keeps only the runnables of those `scopes.geo` values.
    pub fn connect(
        name: &str,
        endpoint: &str,
        api_key: SecretString,
        regions: &[String],
        limits: Limits,
    ) -> Result<RebootX> {
        // Checked here so that no message echoes the endpoint: its path is a secret.
        let url = reqwest::Url::parse(endpoint).map_err(|e| {
            Error::invalid(format!(
                "rebootx \"{name}\": the endpoint is not a URL ({e}); write it like https://ops.example.com/PREFIX"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid(format!(
                "rebootx \"{name}\": the endpoint must start with http:// or https://"
            )));
        }
        if api_key.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "rebootx \"{name}\": the API key is empty: store the server's API key under the token's reference"
            )));
        }
        let auth = HttpAuth::Header {
            name: "authorization".into(),
            value: api_key,
        };
        let service = Service::new(&format!("rebootx \"{name}\""), endpoint, auth, limits)?
            .with_secret_base_path();
        Ok(RebootX {
            name: name.to_string(),
            service,
            regions: regions.to_vec(),
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// `limit` of each page (at least 1).
    pub fn with_page_size(mut self, page_size: u32) -> RebootX {
        self.page_size = page_size.max(1);
        self
    }

    /// The account's configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every runnable (of the configured regions, if any), sorted by region, name, id; a
    /// failure is one error row for the whole account.
    pub async fn list(&self) -> Inventory {
        let mut inventory = Inventory::default();
        match self.runnables(None).await {
            Ok(servers) => {
                inventory.servers = servers
                    .into_iter()
                    .filter(|s| self.regions.is_empty() || self.regions.contains(&s.region))
                    .collect();
            }
            Err(e) => inventory.errors.push(InventoryError {
                provider: "rebootx".into(),
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

    /// The runnables the server matches with `q` (what `q` matches is up to the server; the
    /// reference implementation's `self` mode matches the id, its `fileJson` mode ignores it).
    pub async fn search(&self, q: &str) -> Result<Vec<Server>> {
        self.runnables(Some(q)).await
    }

    /// The runnable `id`, read now.
    pub async fn read(&self, id: &str) -> Result<Server> {
        check_id(id)?;
        self.runnables(None)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| self.not_found(id))
    }

    /// Sends `action` for runnable `id` once and returns the server's acceptance, its `jobId`
    /// in [`Accepted::operation`]. A failure after the request may have reached the server
    /// is `outcome-unknown`.
    pub async fn power(&self, id: &str, action: PowerAction) -> Result<Accepted> {
        let verb = match action {
            PowerAction::Reboot => "reboot",
            PowerAction::Stop => "stop",
            PowerAction::Start => {
                return Err(Error::invalid(format!(
                    "rebootx \"{}\": the RebootX on-prem spec has no start (runnable {id}): start it another way (its console, IPMI, wake-on-LAN)",
                    self.name
                )));
            }
            PowerAction::HardReboot => {
                return Err(Error::invalid(format!(
                    "rebootx \"{}\": the RebootX on-prem spec has no hard reboot (runnable {id}): use reboot (what it does is up to the server), or a reset from the machine's console",
                    self.name
                )));
            }
        };
        check_id(id)?;
        let request = Request::post(
            format!("runnables/{}/{verb}", path_segment(id)),
            Retry::NotIdempotent,
        );
        let response = match self.service.send_raw(request).await? {
            Ok(response) => response,
            Err(failure) => return Err(self.failure(&failure, Some((id, action)))),
        };
        // A 2xx means the server took the action: a body other than the documented
        // `{jobId}` loses only the job id, not the acceptance.
        let job_id = match serde_json::from_slice::<OperationRes>(&response.body) {
            Ok(answer) => answer.job_id,
            Err(e) => {
                tracing::warn!(account = %self.name, id, error = %e, "no readable jobId in the answer");
                None
            }
        };
        tracing::info!(account = %self.name, id, action = action.as_str(), job_id = ?job_id, "accepted");
        Ok(Accepted {
            action,
            id: id.to_string(),
            status: None,
            raw_state: None,
            operation: job_id,
        })
    }

    /// Every dashboard of the server (`GET dashboards`), every page.
    pub async fn dashboards(&self) -> Result<Vec<Dashboard>> {
        self.pages("dashboards", "dashboard", None, |d: &Dashboard| &d.id)
            .await
    }

    async fn runnables(&self, q: Option<&str>) -> Result<Vec<Server>> {
        let runnables = self
            .pages("runnables", "runnable", q, |r: &Runnable| &r.id)
            .await?;
        Ok(runnables.into_iter().map(|r| self.server_of(r)).collect())
    }

    /// Every item of a `{items, total}` list at `path`, `limit` at a time; a server that
    /// answers everything at once (ignoring `limit`) is read in one request.
    async fn pages<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
        q: Option<&str>,
        id_of: fn(&T) -> &str,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut offset: u64 = 0;
        for _ in 0..MAX_PAGES {
            let mut request = Request::get(path)
                .query("limit", self.page_size.to_string())
                .query("offset", offset.to_string());
            if let Some(q) = q {
                request = request.query("q", q);
            }
            let page: ListRes<T> = match self.service.send_raw(request).await? {
                Ok(response) => response.json(self.service.name())?,
                Err(failure) => return Err(self.failure(&failure, None)),
            };
            let received = page.items.len() as u64;
            for item in page.items {
                if !seen.insert(id_of(&item).to_string()) {
                    return Err(self.malformed(format!(
                        "{what} `{}` came twice while paging: the server does not honour `offset`",
                        id_of(&item)
                    )));
                }
                items.push(item);
            }
            offset += received;
            if received == 0 || offset >= page.total {
                return Ok(items);
            }
        }
        Err(self.malformed(format!("GET {path} kept paging past {MAX_PAGES} pages")))
    }

    fn server_of(&self, r: Runnable) -> Server {
        let mut tags = BTreeMap::new();
        let mut tag = |key: &str, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                tags.insert(key.to_string(), v);
            }
        };
        tag("flavor", r.flavor);
        tag("stack", r.stack);
        let scopes = r.scopes.unwrap_or_default();
        tag(
            "scopes.geo.label",
            scopes.geo.as_ref().map(|s| s.label.clone()),
        );
        tag(
            "scopes.logical",
            scopes.logical.as_ref().map(|s| s.value.clone()),
        );
        tag("scopes.logical.label", scopes.logical.map(|s| s.label));
        if let Some(ssh) = r.ssh {
            tag("ssh.username", ssh.username);
            tag("ssh.port", ssh.port.map(|p| p.to_string()));
            tag("ssh.keyName", ssh.key_name);
        }
        // The spec gives one IPv4 and an FQDN, without saying public or private: the address
        // decides, and the FQDN goes with it.
        let mut public_ips = Vec::new();
        let mut private_ips = Vec::new();
        let ipv4 = r.ipv4.filter(|ip| !ip.is_empty());
        let private = ipv4
            .as_deref()
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
            .is_some_and(|ip| ip.is_private() || ip.is_loopback() || ip.is_link_local());
        let list = if private {
            &mut private_ips
        } else {
            &mut public_ips
        };
        list.extend(ipv4);
        list.extend(r.fqdn.filter(|f| !f.is_empty()));
        Server {
            provider: "rebootx".into(),
            account: self.name.clone(),
            region: scopes.geo.map(|g| g.value).unwrap_or_default(),
            id: r.id,
            name: Some(r.name).filter(|n| !n.is_empty()),
            status: normalize(&r.status),
            raw_state: r.status,
            public_ips,
            private_ips,
            tags,
            launched_at_ms: None,
        }
    }

    /// The typed error for a failed status; `power` names the runnable and action of a
    /// `POST`, none for a list.
    fn failure(&self, failure: &HttpFailure, power: Option<(&str, PowerAction)>) -> Error {
        // The spec's ErrorRes `{message}`; the body is already redacted by the HTTP client.
        let message = failure
            .json::<ErrorRes>()
            .map(|e| e.message.chars().take(300).collect::<String>());
        let said = message.clone().unwrap_or_else(|| failure.body.clone());
        let status = failure.status;
        let service = |code: ErrorCode, hint: &str| Error::Service {
            service: self.service.name().to_string(),
            code,
            status,
            message: format!("HTTP {status}: {said}; {hint}"),
        };
        match (status, power) {
            (401, _) => service(
                ErrorCode::AuthFailed,
                &format!(
                    "the API key was refused: check that the token of rebootx account `{}` is the server's API key (RBTX_API_KEY)",
                    self.name
                ),
            ),
            (403, _) => service(
                ErrorCode::PermissionDenied,
                "the server forbids this operation to this API key: check its own access rules",
            ),
            // The implementation's own `{message}`: the runnable is not there. Without it,
            // nothing serves the spec at that URL (the router's 404 of a wrong prefix).
            (404, Some((id, _))) if message.is_some() => self.not_found(id),
            (404, _) => service(
                ErrorCode::NotFound,
                &format!(
                    "no RebootX on-prem API answers there: check the endpoint of rebootx account `{}` and its secret path prefix (RBTX_PATH_PREFIX)",
                    self.name
                ),
            ),
            (s, Some((id, action))) if s >= 500 => Error::OutcomeUnknown {
                what: format!(
                    "{} of runnable {id} on {}",
                    action.as_str(),
                    self.service.name()
                ),
                reason: format!("HTTP {s}: {said}"),
            },
            _ => self.service.status_error(failure),
        }
    }

    fn not_found(&self, id: &str) -> Error {
        Error::NotFound {
            what: "runnable",
            name: id.to_string(),
            hint: Some(format!(
                "rebootx account `{}` has none: list its servers to check the id",
                self.name
            )),
        }
    }

    fn malformed(&self, reason: String) -> Error {
        Error::MalformedResponse {
            what: self.service.name().to_string(),
            reason,
        }
    }
}

/// A runnable's `status` as a normalized status; the spec's `unknown` and any word it does not
/// define are [`ServerStatus::Unknown`] (the raw word stays in [`Server::raw_state`]).
pub fn normalize(status: &str) -> ServerStatus {
    match status {
        "on" => ServerStatus::Running,
        "off" => ServerStatus::Stopped,
        "pending" => ServerStatus::Pending,
        _ => ServerStatus::Unknown,
    }
}

/// Refuses an empty id before anything is sent (any other string is one path segment).
fn check_id(id: &str) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::invalid(
            "a runnable id must not be empty: list the servers to find it",
        ));
    }
    Ok(())
}

/// A dashboard: a named collection of metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub id: String,
    pub name: String,
    /// `null` in the spec reads as none.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub metrics: Vec<DashboardMetric>,
}

/// One metric of a dashboard, as the server formatted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardMetric {
    pub id: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub value: Option<f64>,
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

// ---- The spec's JSON, as much of it as paaf reads (unknown fields, `metrics`, are skipped);
// nullable fields may also be missing. ----

#[derive(Deserialize)]
struct ListRes<T> {
    items: Vec<T>,
    total: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Runnable {
    id: String,
    #[serde(default)]
    name: String,
    /// `off|on|pending|unknown` in the spec; kept as a string so a new word is not an error.
    status: String,
    #[serde(default)]
    flavor: Option<String>,
    #[serde(default)]
    fqdn: Option<String>,
    #[serde(default)]
    ipv4: Option<String>,
    #[serde(default)]
    stack: Option<String>,
    #[serde(default)]
    scopes: Option<Scopes>,
    #[serde(default)]
    ssh: Option<Ssh>,
}

#[derive(Deserialize, Default)]
struct Scopes {
    #[serde(default)]
    geo: Option<Scope>,
    #[serde(default)]
    logical: Option<Scope>,
}

#[derive(Deserialize)]
struct Scope {
    #[serde(default)]
    label: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ssh {
    #[serde(default)]
    key_name: Option<String>,
    #[serde(default)]
    port: Option<u32>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperationRes {
    job_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorRes {
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "rbtx-api-key-0123456789";

    fn rebootx() -> RebootX {
        RebootX::connect(
            "home",
            "http://127.0.0.1:1/cd5331ba",
            SecretString::from(KEY),
            &[],
            Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn every_status_of_the_spec_is_normalized_and_others_are_unknown() {
        assert_eq!(normalize("on"), ServerStatus::Running);
        assert_eq!(normalize("off"), ServerStatus::Stopped);
        assert_eq!(normalize("pending"), ServerStatus::Pending);
        assert_eq!(normalize("unknown"), ServerStatus::Unknown);
        for other in ["rebooting", "ON", "", "stopped"] {
            assert_eq!(normalize(other), ServerStatus::Unknown, "{other}");
        }
    }

    #[test]
    fn a_runnable_becomes_a_server_with_its_scopes_as_region_and_tags() {
        let r: Runnable = serde_json::from_str(
            r#"{"id":"9","name":"nas","status":"hibernating","flavor":null,"fqdn":"nas.example.com",
                "ipv4":"203.0.113.7","stack":"","metrics":null,
                "scopes":{"geo":null,"logical":{"label":"Home","value":"home"}},"ssh":null}"#,
        )
        .unwrap();
        let s = rebootx().server_of(r);
        assert_eq!(s.region, "");
        assert_eq!(s.status, ServerStatus::Unknown);
        assert_eq!(s.raw_state, "hibernating");
        assert_eq!(s.public_ips, vec!["203.0.113.7", "nas.example.com"]);
        assert!(s.private_ips.is_empty());
        assert_eq!(
            s.tags,
            BTreeMap::from([
                ("scopes.logical".to_string(), "home".to_string()),
                ("scopes.logical.label".to_string(), "Home".to_string()),
            ])
        );
    }

    #[test]
    fn a_bad_endpoint_or_key_is_refused_without_echoing_the_endpoint() {
        for endpoint in ["ops.example.com/s3cretprefix", "ftp://h/s3cretprefix"] {
            let e = RebootX::connect(
                "home",
                endpoint,
                SecretString::from(KEY),
                &[],
                Limits::default(),
            )
            .unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput);
            assert!(!e.to_string().contains("s3cretprefix"), "{e}");
            assert!(e.to_string().contains("home"), "{e}");
        }
        let e = RebootX::connect(
            "home",
            "http://h/p",
            SecretString::from(" "),
            &[],
            Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert_eq!(check_id("").unwrap_err().code(), ErrorCode::InvalidInput);
    }
}
