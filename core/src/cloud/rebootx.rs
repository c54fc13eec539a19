//! Servers speaking the RebootX on-prem spec (0.4.0), so that a RebootX on-prem server keeps
//! working with paaf as it is.
//!
//! Spec: https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json
//! (OpenAPI 3). The base URL (`endpoint`) holds the server's secret path prefix
//! (`https://ops.example.com/PREFIX/`): it is redacted from every message and `Debug` like the
//! API key, which goes as is in `Authorization: <api key>`. Calls, relative to the base URL:
//! - `GET runnables?limit=&offset=[&q=]` → `{items: [Runnable], total}`, read page after page
//!   (`offset` advanced by the items received) until `total` is reached; a runnable's `metrics`
//!   (`RunnableMetric`: `label`, `value`, `unit`, `ratio` 0..1, `thresholds` `[warning,
//!   danger]`, reversed when the first is greater) are kept in [`Server::metrics`], levelled; a
//!   metric that does not follow the spec is left out, never the runnable;
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

use super::ServerMetric;
use super::prelude::*;
use crate::thresholds::{Threshold, level_of};
use serde::de::DeserializeOwned;
use serde::{Deserializer, Serialize};
use std::fmt;
use std::net::Ipv4Addr;

/// `limit` of each page by default: the spec's suggested server default.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// One RebootX on-prem server (a `rebootx` `[[clouds]]` entry); its [`Service`]'s `Debug`
/// redacts the API key and the secret path prefix.
#[derive(Debug, Clone)]
pub struct RebootX {
    name: String,
    api: Service,
    /// Only the servers of these `scopes.geo` values are listed (all when empty).
    regions: Vec<String>,
    page_size: u32,
}

impl CloudProvider for RebootX {
    kind_and_name!(CloudKind::Rebootx);

    /// Every runnable (of the configured regions, if any), sorted by region, name, id; a
    /// failure is one error row for the whole account.
    async fn list(&self) -> Inventory {
        let runnables = self.runnables(None, &Doing::new("listing runnables")).await;
        Inventory::of_account(Self::KIND, &self.name, &self.regions, runnables)
    }

    /// The runnable `id`, read now. Runnable ids are unique on their server: `region` is not
    /// needed to find one.
    async fn read(&self, _region: &str, id: &str) -> Result<Server> {
        check_runnable_id(id)?;
        let doing = Doing::new(format!("reading runnable {id}"));
        self.runnables(None, &doing)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| Error::NotFound {
                what: "runnable",
                name: id.to_string(),
                hint: Some(format!(
                    "rebootx account \"{}\" has none: list its servers to check the id",
                    self.name
                )),
            })
    }

    /// Sends `action` for runnable `id` once and returns the server's acceptance, its `jobId`
    /// in [`Accepted::operation`]. A failure after the request may have reached the server
    /// is `outcome-unknown`.
    async fn power(&self, _region: &str, id: &str, action: PowerAction) -> Result<Accepted> {
        let verb = action.word(["reboot", "", "stop", ""], || {
            let (what, instead) = match action {
                PowerAction::Start => ("start", "start it another way (its console, IPMI, wake-on-LAN)"),
                _ => ("hard reboot", "use reboot (what it does is up to the server), or a reset from the machine's console"),
            };
            format!("rebootx \"{}\": the RebootX on-prem spec has no {what} (runnable {id}): {instead}", self.name)
        })?;
        check_runnable_id(id)?;
        let request = Request::post(
            format!("runnables/{}/{verb}", path_segment(id)),
            Retry::NotIdempotent,
        );
        let doing = Doing::new(format!("{verb} of runnable {id}"));
        let response = self.api.fetch(request, &doing).await?;
        // A 2xx means the server took the action: a body other than the documented
        // `{jobId}` loses only the job id, not the acceptance.
        let job_id = match serde_json::from_slice::<OperationRes>(&response.body) {
            Ok(answer) => answer.job_id,
            Err(e) => {
                tracing::warn!(account = %self.name, id, error = %e, "no readable jobId in the answer");
                None
            }
        };
        Ok(Accepted::without_state(action, id, job_id))
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

impl FromConfig for RebootX {
    type Keys = RebootxConfig;

    /// The server `name` at its `endpoint` (its URL with the secret path prefix),
    /// authenticated by its API key; its `regions` keep only the runnables of those
    /// `scopes.geo` values.
    fn connect(
        name: &str,
        keys: &RebootxConfig,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<RebootX> {
        let (endpoint, api_key) = (&keys.endpoint, keys.token.resolve(secrets)?);
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
        let api = Service::new(&format!("rebootx \"{name}\""), endpoint, auth, limits)?
            .with_secret_base_path()
            .with_vendor(RebootxErrors {
                account: name.to_string(),
            });
        Ok(RebootX {
            name: name.to_string(),
            api,
            regions: keys.regions.clone(),
            page_size: DEFAULT_PAGE_SIZE,
        })
    }
}

impl RebootX {
    /// `limit` of each page (at least 1).
    pub fn with_page_size(mut self, page_size: u32) -> RebootX {
        self.page_size = page_size.max(1);
        self
    }

    /// The runnables the server matches with `q` (what `q` matches is up to the server; the
    /// reference implementation's `self` mode matches the id, its `fileJson` mode ignores it).
    pub async fn search(&self, q: &str) -> Result<Vec<Server>> {
        self.runnables(Some(q), &Doing::new("searching runnables"))
            .await
    }

    /// Every dashboard of the server (`GET dashboards`), every page.
    pub async fn dashboards(&self) -> Result<Vec<Dashboard>> {
        let doing = Doing::new("listing dashboards");
        self.pages("dashboards", None, &doing, |d: &Dashboard| &d.id)
            .await
    }

    async fn runnables(&self, q: Option<&str>, doing: &Doing) -> Result<Vec<Server>> {
        let runnables = self
            .pages("runnables", q, doing, |r: &Runnable| &r.id)
            .await?;
        Ok(runnables.into_iter().map(|r| self.server_of(r)).collect())
    }

    /// Every item of a `{items, total}` list at `path`, `limit` at a time (`offset` advanced
    /// by the items received, until `total`); a server that answers everything at once
    /// (ignoring `limit`) is read in one request.
    async fn pages<T: DeserializeOwned>(
        &self,
        path: &str,
        q: Option<&str>,
        doing: &Doing,
        id: fn(&T) -> &str,
    ) -> Result<Vec<T>> {
        all_items(self.api.name(), 0u64, id, |offset| async move {
            let mut request = Request::get(path)
                .query("limit", self.page_size.to_string())
                .query("offset", offset.to_string());
            if let Some(q) = q {
                request = request.query("q", q);
            }
            let page: ListRes<T> = self.api.fetch_json(request, doing).await?;
            let next = offset + page.items.len() as u64;
            Ok(Page {
                next: (!page.items.is_empty() && next < page.total).then_some(next),
                servers: page.items,
            })
        })
        .await
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
        let region = scopes.geo.map(|g| g.value).unwrap_or_default();
        Server {
            metrics: metrics_of(&self.name, &r.id, r.metrics),
            name: Some(r.name).filter(|n| !n.is_empty()),
            status: normalize(&r.status),
            raw_state: r.status,
            public_ips,
            private_ips,
            tags,
            ..Server::of(Self::KIND, &self.name, region, r.id)
        }
    }
}

/// A runnable's `metrics` as server metrics: each that follows the spec, levelled against its
/// thresholds (two numbers, or none); the others are left out with a warning in the log.
fn metrics_of(account: &str, id: &str, raw: Option<serde_json::Value>) -> Vec<ServerMetric> {
    let items = match raw {
        None | Some(serde_json::Value::Null) => return Vec::new(),
        Some(serde_json::Value::Array(items)) => items,
        Some(_) => {
            tracing::warn!(account, id, "runnable metrics are not a list: left out");
            return Vec::new();
        }
    };
    items
        .into_iter()
        .filter_map(|item| match serde_json::from_value::<RunnableMetric>(item) {
            Ok(m) => Some(m.into_metric()),
            Err(e) => {
                tracing::warn!(account, id, error = %e, "a runnable metric off the spec: left out");
                None
            }
        })
        .collect()
}

/// The spec's errors (`ErrorRes {message}`), for the failure policy; the remedies name the
/// reference server's settings (RBTX_API_KEY, RBTX_PATH_PREFIX).
struct RebootxErrors {
    account: String,
}

impl Vendor for RebootxErrors {
    fn said(&self, failure: &HttpFailure) -> Option<Said> {
        Some(Said::message(failure.json::<ErrorRes>()?.message))
    }

    fn hint(&self, code: ErrorCode, _failure: &HttpFailure, said: Option<&Said>) -> Option<String> {
        let account = &self.account;
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "the API key was refused: check that the token of rebootx account \"{account}\" is the server's API key (RBTX_API_KEY)"
            ),
            ErrorCode::PermissionDenied => {
                "the server forbids this operation to this API key: check its own access rules"
                    .into()
            }
            // The implementation's own `{message}`: the runnable is not there. Without it,
            // nothing serves the spec at that URL (the router's 404 of a wrong prefix).
            ErrorCode::NotFound if said.is_some() => format!(
                "rebootx account \"{account}\" has no such runnable: list its servers to check the id"
            ),
            ErrorCode::NotFound => format!(
                "no RebootX on-prem API answers there: check the endpoint of rebootx account \"{account}\" and its secret path prefix (RBTX_PATH_PREFIX)"
            ),
            _ => return None,
        })
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
fn check_runnable_id(id: &str) -> Result<()> {
    let looks_like = "a runnable id: it must not be empty";
    check_id(id, !id.trim().is_empty(), looks_like)
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
    pub label: Option<String>,
    pub unit: Option<String>,
    pub value: Option<f64>,
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

// ---- The spec's JSON, as much of it as paaf reads (unknown fields are skipped);
// nullable fields may also be missing. ----

#[derive(Deserialize)]
struct ListRes<T> {
    items: Vec<T>,
    total: u64,
}

/// One `RunnableMetric`; every field is nullable in the spec.
#[derive(Deserialize)]
struct RunnableMetric {
    label: Option<String>,
    ratio: Option<f64>,
    thresholds: Option<Vec<f64>>,
    unit: Option<String>,
    value: Option<f64>,
}

impl RunnableMetric {
    fn into_metric(self) -> ServerMetric {
        // The spec: "an array of two numbers" ([warning, danger]); anything else is none.
        let thresholds = match self.thresholds.as_deref() {
            Some(&[warning, danger]) if warning.is_finite() && danger.is_finite() => {
                Some(Threshold { warning, danger })
            }
            _ => None,
        };
        ServerMetric {
            level: level_of(self.value, thresholds.as_ref()),
            label: self.label,
            value: self.value,
            unit: self.unit,
            ratio: self.ratio.filter(|r| r.is_finite()),
            thresholds,
        }
    }
}

/// Only `id` and `status` are required (`Option`s may be missing).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Runnable {
    id: String,
    #[serde(default)]
    name: String,
    /// `off|on|pending|unknown` in the spec; kept as a string so a new word is not an error.
    status: String,
    flavor: Option<String>,
    fqdn: Option<String>,
    ipv4: Option<String>,
    stack: Option<String>,
    scopes: Option<Scopes>,
    ssh: Option<Ssh>,
    /// Read item by item ([`metrics_of`]): one odd metric loses only itself.
    metrics: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Scopes {
    geo: Option<Scope>,
    logical: Option<Scope>,
}

#[derive(Deserialize)]
struct Scope {
    #[serde(default)]
    label: String,
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Ssh {
    key_name: Option<String>,
    port: Option<u32>,
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
    use crate::thresholds::Level;

    const KEY: &str = "rbtx-api-key-0123456789";

    fn rebootx() -> RebootX {
        connect("http://127.0.0.1:1/cd5331ba", KEY).unwrap()
    }

    fn connect(endpoint: &str, key: &str) -> Result<RebootX> {
        let keys = RebootxConfig {
            endpoint: endpoint.to_string(),
            token: crate::cloud::test_secret(),
            regions: Vec::new(),
        };
        let secrets = crate::cloud::test_store(key);
        FromConfig::connect("home", &keys, &secrets, Limits::default())
    }

    #[test]
    fn every_status_of_the_spec_is_normalized_and_others_are_unknown() {
        use ServerStatus::*;
        let table = [("on", Running), ("off", Stopped), ("pending", Pending)];
        crate::cloud::assert_states(normalize, &table);
        let table = [
            ("unknown", Unknown),
            ("rebooting", Unknown),
            ("ON", Unknown),
        ];
        crate::cloud::assert_states(normalize, &table);
        crate::cloud::assert_states(normalize, &[("", Unknown), ("stopped", Unknown)]);
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
    fn runnable_metrics_are_kept_with_their_level_and_odd_ones_left_out() {
        let r: Runnable = serde_json::from_str(
            r#"{"id":"1","name":"a","status":"on","metrics":[
                {"label":"CPU","ratio":null,"thresholds":[65,85],"unit":"%","value":82},
                {"label":"RAM","ratio":0.25,"thresholds":[3000,3800],"unit":"MB","value":512},
                {"label":"Free","ratio":null,"thresholds":[20,10],"unit":"%","value":5},
                {"label":"Proc #","ratio":null,"thresholds":[1],"unit":null,"value":9},
                {"label":"Temp","ratio":null,"thresholds":null,"unit":"C","value":null},
                {"label":"bad","value":"high"},
                "not an object"]}"#,
        )
        .unwrap();
        let m = rebootx().server_of(r).metrics;
        let levels: Vec<(&str, Level)> = m
            .iter()
            .map(|m| (m.label.as_deref().unwrap(), m.level))
            .collect();
        assert_eq!(
            levels,
            [
                ("CPU", Level::Warning),
                ("RAM", Level::Ok),
                ("Free", Level::Danger),
                ("Proc #", Level::Ok),
                ("Temp", Level::Unknown),
            ]
        );
        assert_eq!(m[1].ratio, Some(0.25));
        assert_eq!(m[3].thresholds, None, "one number is no thresholds");
        let none: Runnable =
            serde_json::from_str(r#"{"id":"2","status":"on","metrics":{"x":1}}"#).unwrap();
        assert!(rebootx().server_of(none).metrics.is_empty());
    }

    #[test]
    fn a_bad_endpoint_or_key_is_refused_without_echoing_the_endpoint() {
        for endpoint in ["ops.example.com/s3cretprefix", "ftp://h/s3cretprefix"] {
            let e = connect(endpoint, KEY).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput);
            assert!(!e.to_string().contains("s3cretprefix"), "{e}");
            assert!(e.to_string().contains("home"), "{e}");
        }
        let e = connect("http://h/p", " ").unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert_eq!(
            check_runnable_id("").unwrap_err().code(),
            ErrorCode::InvalidInput
        );
    }
}
