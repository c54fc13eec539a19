//! Proxmox VE, through its REST API at `{endpoint}/api2/json` with an API token.
//!
//! Calls (reference: https://pve.proxmox.com/pve-docs/api-viewer/; tokens and errors:
//! https://pve.proxmox.com/wiki/Proxmox_VE_API), each with
//! `Authorization: PVEAPIToken={token_id}={secret}` and answered `{"data": …}`:
//! - `GET /cluster/resources?type=vm` → every guest of the cluster, QEMU VMs and LXC
//!   containers alike: `type`, `node`, `vmid`, `name`, `status`, `tags` (`a;b`), `template`,
//!   `uptime` (needs `VM.Audit`);
//! - `POST /nodes/{node}/{qemu|lxc}/{vmid}/status/{reboot|reset|shutdown|start}` →
//!   `{"data":"UPID:…"}`, the id of the task doing it (needs `VM.PowerMgmt`); sent once;
//! - `GET /nodes/{node}/tasks/{upid}/status` → `{"data":{"status":"running"|"stopped",
//!   "exitstatus":"OK"|…}}`: the task is done when `stopped`, and succeeded when its
//!   `exitstatus` is `OK` (or `WARNINGS: n`).
//!
//! Errors are an HTTP status with a reason phrase (`403 Permission check failed (/vms/100,
//! VM.PowerMgmt)`, which paaf's HTTP client does not see) and a body `{"data":null,
//! "errors":{…}}` or `{"message":…}`; paaf names the privilege a call needs itself.
//!
//! In paaf, a guest's region is its node and its id the vmid (unique in the cluster, so a
//! guest is found by its vmid even after it migrated to another node); templates are not
//! listed. Reboot is an ACPI reboot (QEMU) or a container reboot; hard reboot is QEMU's
//! `reset` (containers have none); stop is a clean `shutdown` of the guest OS.

use super::{
    Accepted, BoxFuture, CloudAccount, Inventory, InventoryError, PollSettings, PowerAction,
    Server, ServerStatus,
};
use crate::config::{AccountConfig, CloudConfig, CloudEntry, Key};
use crate::error::{Error, ErrorCode, ErrorInfo, Phase, Result};
use crate::events::CancellationToken;
use crate::http::{
    HttpAuth, HttpFailure, Limits, Request, Retry, Service, TlsConfig, path_segment,
};
use crate::secrets::{SecretRef, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

/// One Proxmox VE cluster (or single node), reached with one API token.
pub struct Proxmox {
    name: String,
    token_id: String,
    secret: SecretString,
    /// Only the guests of these nodes are listed (all when empty).
    nodes: Vec<String>,
    service: Service,
}

impl fmt::Debug for Proxmox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxmox")
            .field("name", &self.name)
            .field("endpoint", &self.service.base_url())
            .field("token_id", &self.token_id)
            .field("secret", &"[redacted]")
            .field("nodes", &self.nodes)
            .finish()
    }
}

impl CloudAccount for Proxmox {
    fn provider(&self) -> &'static str {
        "proxmox"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> BoxFuture<'_, Inventory> {
        Box::pin(Proxmox::list(self))
    }

    fn read<'a>(&'a self, _region: &'a str, id: &'a str) -> BoxFuture<'a, Result<Server>> {
        Box::pin(self.guest(id))
    }

    fn power<'a>(
        &'a self,
        _region: &'a str,
        id: &'a str,
        action: PowerAction,
    ) -> BoxFuture<'a, Result<Accepted>> {
        Box::pin(Proxmox::power(self, id, action))
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

/// The keys of a `proxmox` `[[clouds]]` entry.
#[derive(Debug, Clone)]
pub struct ProxmoxConfig {
    /// The cluster's URL (`endpoint`, `https://pve.example.com:8006`).
    pub endpoint: String,
    /// The API token's id (`token_id`, `user@realm!tokenid`).
    pub token_id: String,
    /// The API token's secret (`token`).
    pub token: SecretRef,
    /// The nodes listed (`regions`); empty: all.
    pub nodes: Vec<String>,
    /// A PEM file of the certificate authorities to trust instead of the system's (`ca_file`:
    /// the cluster's own CA, whose default certificate is self-signed).
    pub ca_file: Option<std::path::PathBuf>,
}

impl AccountConfig for ProxmoxConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<ProxmoxConfig> {
        let endpoint = entry.endpoint()?;
        let token = entry.secret(Key::Token)?;
        let endpoint = entry.needs(
            endpoint,
            ("its URL", "endpoint = \"https://pve.example.com:8006\""),
        )?;
        let (token_id, token) = entry.needs(
            entry.text(Key::TokenId).zip(token),
            (
                "an API token",
                "token_id = \"paaf@pve!ops\" and token = \"keyring:NAME\"",
            ),
        )?;
        Ok(ProxmoxConfig {
            endpoint,
            token_id,
            token,
            nodes: entry.regions(),
            ca_file: entry.ca_file(),
        })
    }
}

impl Proxmox {
    /// The account of a `proxmox` `[[clouds]]` entry.
    pub fn from_config(
        config: &CloudConfig,
        proxmox: &ProxmoxConfig,
        secrets: &dyn SecretStore,
    ) -> Result<Proxmox> {
        Proxmox::connect(
            &config.name,
            &proxmox.endpoint,
            &proxmox.token_id,
            proxmox.token.resolve(secrets)?,
            &proxmox.nodes,
            Limits::with_timeout(config.timeout),
        )?
        .trusting(proxmox.ca_file.as_deref())
    }

    /// Trusts the certificate authorities of the PEM file `ca_file` (the cluster's own CA:
    /// Proxmox's default certificate is self-signed) instead of the system's; `None` keeps
    /// the system's.
    pub fn trusting(mut self, ca_file: Option<&std::path::Path>) -> Result<Proxmox> {
        let Some(path) = ca_file else {
            return Ok(self);
        };
        let pem = std::fs::read(path).map_err(|e| {
            Error::invalid(format!(
                "proxmox \"{}\": cannot read ca_file {} ({e}); copy the cluster's CA there (on a node: /etc/pve/pve-root-ca.pem)",
                self.name,
                path.display()
            ))
        })?;
        self.service = self.service.with_tls(&TlsConfig {
            ca_pem: Some(pem),
            identity: None,
        })?;
        Ok(self)
    }

    /// The cluster at `endpoint` (`https://pve.example.com:8006`, without `/api2/json`), with
    /// the API token `token_id` (`user@realm!tokenid`) and its `secret`; `nodes` limits the
    /// listing to those nodes (empty: all).
    pub fn connect(
        name: &str,
        endpoint: &str,
        token_id: &str,
        secret: SecretString,
        nodes: &[String],
        limits: Limits,
    ) -> Result<Proxmox> {
        let valid_id = token_id
            .split_once('@')
            .and_then(|(user, rest)| rest.split_once('!').map(|(realm, t)| (user, realm, t)))
            .is_some_and(|(user, realm, t)| {
                !user.is_empty()
                    && !realm.is_empty()
                    && !t.is_empty()
                    && !token_id.contains(['=', ' '])
            });
        if !valid_id {
            return Err(Error::invalid(format!(
                "proxmox \"{name}\": token_id `{token_id}` is not an API token id; write it as user@realm!tokenid (e.g. paaf@pve!ops)"
            )));
        }
        if secret.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "proxmox \"{name}\": the API token's secret is empty"
            )));
        }
        let base = format!("{}/api2/json", endpoint.trim_end_matches('/'));
        let header =
            SecretString::from(format!("PVEAPIToken={token_id}={}", secret.expose_secret()));
        let service = Service::new(
            &format!("proxmox \"{name}\""),
            &base,
            HttpAuth::Header {
                name: "Authorization".into(),
                value: header,
            },
            limits,
        )?;
        Ok(Proxmox {
            name: name.to_string(),
            token_id: token_id.to_string(),
            secret,
            nodes: nodes.to_vec(),
            service,
        })
    }

    /// Every VM and container of the cluster (of the configured nodes, when there are some),
    /// sorted by node, name, vmid; a failure is one error row for the whole account.
    pub async fn list(&self) -> Inventory {
        let mut inventory = Inventory::default();
        match self.resources().await {
            Ok(guests) => {
                inventory.servers = guests
                    .into_iter()
                    .filter(|g| self.nodes.is_empty() || self.nodes.contains(&g.node))
                    .map(|g| self.server_of(g))
                    .collect();
            }
            Err(e) => inventory.errors.push(InventoryError {
                provider: "proxmox".into(),
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

    /// The guest `vmid`, read now, on whichever node it is.
    pub async fn guest(&self, vmid: &str) -> Result<Server> {
        Ok(self.server_of(self.find(vmid).await?))
    }

    /// Sends `action` to guest `vmid` once (after reading which node and type it is) and
    /// returns the task id Proxmox answered with in [`Accepted::operation`].
    pub async fn power(&self, vmid: &str, action: PowerAction) -> Result<Accepted> {
        let guest = self.find(vmid).await?;
        let command = match (action, guest.kind.as_str()) {
            (PowerAction::Reboot, _) => "reboot",
            (PowerAction::HardReboot, "qemu") => "reset",
            (PowerAction::HardReboot, _) => {
                return Err(Error::invalid(format!(
                    "proxmox container {vmid} has no hard reboot (only QEMU VMs can be reset): use reboot, or stop then start"
                )));
            }
            (PowerAction::Stop, _) => "shutdown",
            (PowerAction::Start, _) => "start",
        };
        let path = format!(
            "nodes/{}/{}/{}/status/{command}",
            path_segment(&guest.node),
            path_segment(&guest.kind),
            guest.vmid
        );
        let call = Call {
            what: format!("{command} of guest {vmid} on node {}", guest.node),
            privilege: "VM.PowerMgmt",
            acl_path: format!("/vms/{vmid}"),
            vmid: Some(vmid),
            retry: Retry::NotIdempotent,
        };
        let data: Data<String> = self
            .call(Request::post(path, Retry::NotIdempotent), &call)
            .await?;
        let upid = data.data;
        upid_node(&upid).ok_or_else(|| Error::MalformedResponse {
            what: self.service.name().to_string(),
            reason: format!("{} answered `{upid}`, not a task id (UPID:…)", call.what),
        })?;
        tracing::info!(account = %self.name, vmid, action = action.as_str(), upid = %upid, "accepted");
        Ok(Accepted {
            action,
            id: vmid.to_string(),
            status: None,
            raw_state: None,
            operation: Some(upid),
        })
    }

    /// Follows the task of `accepted` until it has stopped; a task that ended with another
    /// exit status than `OK` is an error naming the guest.
    async fn wait_task(
        &self,
        accepted: &Accepted,
        settings: PollSettings,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let Some(upid) = accepted.operation.as_deref() else {
            return Ok(());
        };
        let node = upid_node(upid).ok_or_else(|| {
            Error::invalid(format!("`{upid}` is not a Proxmox task id (UPID:node:…)"))
        })?;
        let label = format!(
            "the {} task of guest {} (proxmox \"{}\", node {node})",
            accepted.action.as_str(),
            accepted.id,
            self.name
        );
        let path = format!(
            "nodes/{}/tasks/{}/status",
            path_segment(node),
            path_segment(upid)
        );
        let call = Call {
            what: label.clone(),
            privilege: "Sys.Audit",
            acl_path: format!("/nodes/{node}"),
            vmid: None,
            retry: Retry::Idempotent,
        };
        let started = Instant::now();
        loop {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    what: format!("waiting for {label}"),
                });
            }
            let task: Data<TaskStatus> = tokio::select! {
                task = self.call(Request::get(path.clone()), &call) => task?,
                _ = cancel.cancelled() => {
                    return Err(Error::Cancelled { what: format!("waiting for {label}") });
                }
            };
            if task.data.status == "stopped" {
                let exit = task.data.exitstatus.unwrap_or_default();
                if exit == "OK" || exit.starts_with("WARNINGS") {
                    return Ok(());
                }
                return Err(Error::Service {
                    service: self.service.name().to_string(),
                    code: ErrorCode::ServiceFailed,
                    status: 200,
                    message: format!(
                        "{label} failed: {}; read the task's log in the Proxmox UI (node {node} → Task History)",
                        if exit.is_empty() {
                            "no exit status"
                        } else {
                            &exit
                        }
                    ),
                });
            }
            if started.elapsed() + settings.interval > settings.timeout {
                return Err(Error::Timeout {
                    host: format!("{label} (task still {})", task.data.status),
                    phase: match accepted.action.target() {
                        ServerStatus::Stopped => Phase::Shutdown,
                        _ => Phase::Boot,
                    },
                    after: settings.timeout,
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(settings.interval) => {}
                _ = cancel.cancelled() => {}
            }
        }
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        let call = Call {
            what: "listing the guests".into(),
            privilege: "VM.Audit",
            acl_path: "/vms".into(),
            vmid: None,
            retry: Retry::Idempotent,
        };
        let data: Data<Vec<Resource>> = self
            .call(Request::get("cluster/resources").query("type", "vm"), &call)
            .await?;
        Ok(data
            .data
            .into_iter()
            .filter(|r| matches!(r.kind.as_str(), "qemu" | "lxc") && !r.is_template())
            .collect())
    }

    async fn find(&self, vmid: &str) -> Result<Resource> {
        check_vmid(vmid)?;
        self.resources()
            .await?
            .into_iter()
            .find(|r| r.vmid.to_string() == vmid)
            .ok_or_else(|| self.not_found(vmid))
    }

    fn not_found(&self, vmid: &str) -> Error {
        Error::NotFound {
            what: "Proxmox VM or container",
            name: vmid.to_string(),
            hint: Some(format!(
                "proxmox account \"{}\" has no guest with this vmid (or the token may not see it: it needs VM.Audit on /vms/{vmid}); check the number",
                self.name
            )),
        }
    }

    async fn call<T: DeserializeOwned>(&self, request: Request, call: &Call<'_>) -> Result<T> {
        match self.service.send_raw(request).await? {
            Ok(response) => response.json(self.service.name()),
            Err(failure) => Err(self.failure(&failure, call)),
        }
    }

    /// The typed error of a failed call, naming what was asked and what to check.
    fn failure(&self, failure: &HttpFailure, call: &Call<'_>) -> Error {
        let detail = self.detail(failure);
        let service = self.service.name().to_string();
        let status = failure.status;
        let hint = match status {
            401 => format!(
                "the API token was refused: check token_id `{}` and its secret for proxmox account \"{}\", and that the token has not expired or been removed (Datacenter → Permissions → API Tokens)",
                self.token_id, self.name
            ),
            403 => format!(
                "the API token `{}` lacks the privilege {} on {}: give it a role with that privilege (Datacenter → Permissions; with privilege separation the token itself needs it, not only its user)",
                self.token_id, call.privilege, call.acl_path
            ),
            404 if call.vmid.is_some() => {
                return self.not_found(call.vmid.unwrap_or_default());
            }
            s if s >= 500 && call.retry == Retry::NotIdempotent => {
                return Error::OutcomeUnknown {
                    what: format!("{} in {service}", call.what),
                    reason: format!("HTTP {s}{detail}"),
                };
            }
            _ => return self.service.status_error(failure).about(&call.what),
        };
        Error::Service {
            service,
            code: if status == 401 {
                ErrorCode::AuthFailed
            } else {
                ErrorCode::PermissionDenied
            },
            status,
            message: format!("{}: HTTP {status}{detail}; {hint}", call.what),
        }
    }

    /// `: message` from a Proxmox error body (`message`, or the `errors` by parameter),
    /// without the token's secret.
    fn detail(&self, failure: &HttpFailure) -> String {
        let text = match failure.json::<ErrorBody>() {
            Some(ErrorBody {
                message: Some(m), ..
            }) => m.trim().to_string(),
            Some(ErrorBody {
                errors: Some(errors),
                ..
            }) => errors
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{k}: {}",
                        v.as_str().map_or(v.to_string(), str::to_string).trim()
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        let secret = self.secret.expose_secret();
        let text: String = text
            .replace(secret, "[redacted]")
            .chars()
            .take(300)
            .collect();
        if text.is_empty() {
            text
        } else {
            format!(": {text}")
        }
    }

    fn server_of(&self, r: Resource) -> Server {
        let raw_state = r.status.clone().unwrap_or_else(|| "unknown".into());
        let tags = r
            .tags
            .as_deref()
            .unwrap_or_default()
            .split([';', ',', ' '])
            .filter(|t| !t.is_empty())
            .map(|t| (t.to_string(), String::new()))
            .collect::<BTreeMap<_, _>>();
        let launched_at_ms = r
            .uptime
            .filter(|&u| u > 0 && raw_state == "running")
            .map(|u| chrono::Utc::now().timestamp_millis() - (u as i64) * 1000);
        Server {
            provider: "proxmox".into(),
            account: self.name.clone(),
            region: r.node,
            id: r.vmid.to_string(),
            name: r.name.filter(|n| !n.is_empty()),
            status: normalize(&raw_state),
            raw_state,
            public_ips: Vec::new(),
            private_ips: Vec::new(),
            tags,
            launched_at_ms,
        }
    }
}

/// What a call was for: its errors name it and the privilege it needs.
struct Call<'a> {
    what: String,
    privilege: &'static str,
    acl_path: String,
    vmid: Option<&'a str>,
    retry: Retry,
}

/// A guest's `status` as a normalized status: `running` and `stopped` as such; `suspended`
/// (hibernated to disk, resumed by start) is stopped; `prelaunch` (started, waiting for its
/// first instruction) is pending; `paused` (frozen in RAM, resumed only by resume) and
/// `unknown` (its node is offline) are unknown.
pub fn normalize(status: &str) -> ServerStatus {
    match status {
        "running" => ServerStatus::Running,
        "stopped" | "suspended" => ServerStatus::Stopped,
        "prelaunch" => ServerStatus::Pending,
        _ => ServerStatus::Unknown,
    }
}

/// The node of a task id `UPID:{node}:{pid}:{pstart}:{starttime}:{type}:{id}:{user}:`.
fn upid_node(upid: &str) -> Option<&str> {
    let mut parts = upid.split(':');
    (parts.next() == Some("UPID"))
        .then(|| parts.next())
        .flatten()
        .filter(|n| !n.is_empty() && parts.count() >= 6)
}

/// Refuses what cannot be a vmid (100 to 999999999) before anything is sent.
fn check_vmid(vmid: &str) -> Result<()> {
    match vmid.parse::<u64>() {
        Ok(n) if (100..=999_999_999).contains(&n) && !vmid.starts_with('0') => Ok(()),
        _ => Err(Error::invalid(format!(
            "`{vmid}` is not a Proxmox vmid (a number from 100, like 101)"
        ))),
    }
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(rename = "type")]
    kind: String,
    node: String,
    vmid: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    tags: Option<String>,
    #[serde(default)]
    template: Option<serde_json::Value>,
    #[serde(default)]
    uptime: Option<u64>,
}

impl Resource {
    fn is_template(&self) -> bool {
        matches!(&self.template, Some(v) if v == 1 || v == true)
    }
}

#[derive(Deserialize)]
struct TaskStatus {
    status: String,
    #[serde(default)]
    exitstatus: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Option<BTreeMap<String, serde_json::Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "5f1e2d3c-aaaa-bbbb-cccc-0123456789ab";

    fn pve() -> Proxmox {
        Proxmox::connect(
            "lab",
            "https://pve.example.com:8006/",
            "paaf@pve!ops",
            SecretString::from(SECRET),
            &[],
            Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn every_documented_status_is_normalized() {
        assert_eq!(normalize("running"), ServerStatus::Running);
        assert_eq!(normalize("stopped"), ServerStatus::Stopped);
        assert_eq!(normalize("suspended"), ServerStatus::Stopped);
        assert_eq!(normalize("prelaunch"), ServerStatus::Pending);
        assert_eq!(normalize("paused"), ServerStatus::Unknown);
        assert_eq!(normalize("unknown"), ServerStatus::Unknown);
        assert_eq!(normalize("something-new"), ServerStatus::Unknown);
    }

    #[test]
    fn a_task_id_names_its_node() {
        assert_eq!(
            upid_node("UPID:pve1:0000A1B2:0012C3D4:65A1B2C3:qmreboot:100:paaf@pve!ops:"),
            Some("pve1")
        );
        assert_eq!(upid_node("UPID::0:0:0:x:1:u:"), None);
        assert_eq!(upid_node("pve1:0000A1B2"), None);
        assert_eq!(upid_node("UPID:pve1"), None);
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_sent() {
        for ok in ["100", "101", "999999999"] {
            assert!(check_vmid(ok).is_ok(), "{ok}");
        }
        for bad in ["", "99", "0100", "web-1", "100/../1", "1000000000"] {
            assert_eq!(check_vmid(bad).unwrap_err().code(), ErrorCode::InvalidInput);
        }
        for token_id in ["paaf", "paaf@pve", "paaf!ops", "@pve!ops", "paaf@pve!"] {
            let e = Proxmox::connect(
                "lab",
                "https://pve:8006",
                token_id,
                SecretString::from(SECRET),
                &[],
                Limits::default(),
            )
            .unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{token_id}");
            assert!(e.to_string().contains("user@realm!tokenid"), "{e}");
        }
        assert_eq!(
            pve().service.base_url(),
            "https://pve.example.com:8006/api2/json/"
        );
    }

    #[test]
    fn the_secret_is_not_in_debug_output_nor_in_error_details() {
        let p = pve();
        let debug = format!("{p:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(
            debug.contains("paaf@pve!ops") && debug.contains("lab"),
            "{debug}"
        );
        let failure = HttpFailure {
            status: 401,
            headers: Default::default(),
            body: String::new(),
            full_body: format!(r#"{{"message":"invalid token value {SECRET}"}}"#),
        };
        let call = Call {
            what: "listing the guests".into(),
            privilege: "VM.Audit",
            acl_path: "/vms".into(),
            vmid: None,
            retry: Retry::Idempotent,
        };
        let e = p.failure(&failure, &call);
        assert_eq!(e.code(), ErrorCode::AuthFailed);
        assert!(!e.to_string().contains(SECRET), "{e}");
    }

    #[test]
    fn templates_are_not_guests() {
        let list: Data<Vec<Resource>> = serde_json::from_str(
            r#"{"data":[{"type":"qemu","node":"pve1","vmid":9000,"template":1,"status":"stopped"},
                        {"type":"qemu","node":"pve1","vmid":100,"template":0,"status":"running","tags":"web;prod","uptime":60}]}"#,
        )
        .unwrap();
        let templates: Vec<bool> = list.data.iter().map(Resource::is_template).collect();
        assert_eq!(templates, vec![true, false]);
        let server = pve().server_of(list.data.into_iter().nth(1).unwrap());
        assert_eq!(server.tags.keys().collect::<Vec<_>>(), vec!["prod", "web"]);
        assert!(server.launched_at_ms.is_some());
    }
}
