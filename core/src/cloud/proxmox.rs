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

use super::prelude::*;

/// What a guest is, in errors.
const GUEST: &str = "Proxmox VM or container";

/// One Proxmox VE cluster (or single node), reached with one API token: its secret lives in
/// the [`Service`]'s auth, which `Debug` never shows.
#[derive(Debug)]
pub struct Proxmox {
    name: String,
    #[expect(dead_code, reason = "shown by Debug: the token the account acts as")]
    token_id: String,
    /// Only the guests of these nodes are listed (all when empty).
    nodes: Vec<String>,
    api: Service,
}

impl CloudProvider for Proxmox {
    kind_and_name!(CloudKind::Proxmox);

    /// Every VM and container of the cluster (of the configured nodes, when there are some),
    /// sorted by node, name, vmid; a failure is one error row for the whole account.
    async fn list(&self) -> Inventory {
        let doing = Doing::new("listing the guests").needs("VM.Audit on /vms");
        let guests = self.guests(&doing).await;
        let servers = guests.map(|g| g.into_iter().map(|g| self.server_of(g)).collect());
        Inventory::of_account(Self::KIND, &self.name, &self.nodes, servers)
    }

    /// The guest `vmid`, read now, on whichever node it is.
    async fn read(&self, _node: &str, vmid: &str) -> Result<Server> {
        Ok(self.server_of(self.find(vmid).await?))
    }

    /// Sends `action` to guest `vmid` once (after reading which node and type it is) and
    /// returns the task id Proxmox answered with in [`Accepted::operation`].
    async fn power(&self, _node: &str, vmid: &str, action: PowerAction) -> Result<Accepted> {
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
        let what = format!("{command} of guest {vmid} on node {}", guest.node);
        let doing = self
            .about(what.clone(), vmid)
            .needs(format!("VM.PowerMgmt on /vms/{vmid}"));
        let request = Request::post(path, Retry::NotIdempotent);
        let answer: Data<String> = self.api.fetch_json(request, &doing).await?;
        let upid = answer.data;
        upid_node(&upid).ok_or_else(|| Error::MalformedResponse {
            what: self.api.name().to_string(),
            reason: format!("{what} answered `{upid}`, not a task id (UPID:…)"),
        })?;
        Ok(Accepted::without_state(action, vmid, Some(upid)))
    }

    /// Follows the task of `accepted` until it has stopped; a task that ended with another
    /// exit status than `OK` is an error naming the guest.
    async fn settle(&self, _node: &str, accepted: &Accepted, wait: Wait<'_>) -> Result<()> {
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
        let doing =
            Doing::new(format!("reading {label}")).needs(format!("Sys.Audit on /nodes/{node}"));
        let follow = wait.follow(label.as_str(), accepted.action.phase());
        let judge = |task: Data<TaskStatus>, wait| {
            let TaskStatus { status, exitstatus } = task.data;
            if status != "stopped" {
                return Ok(Polled::pending((), format!("task still {status}"), wait));
            }
            match exitstatus.unwrap_or_default() {
                exit if exit == "OK" || exit.starts_with("WARNINGS") => Ok(Polled::Done(())),
                exit => Err(self.task_failed(&label, node, &exit)),
            }
        };
        follow_json(&self.api, &path, &doing, &follow, judge).await
    }

    /// A `reboot` task ends `OK` once the guest was shut down and started again, a `reset`
    /// task once it was reset.
    fn operation_proves(&self, action: PowerAction) -> bool {
        matches!(action, PowerAction::Reboot | PowerAction::HardReboot)
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
        self.api = self.api.with_tls(&TlsConfig {
            ca_pem: Some(pem),
            identity: None,
        })?;
        Ok(self)
    }
}

impl FromConfig for Proxmox {
    type Keys = ProxmoxConfig;

    /// The cluster at its `endpoint` (`https://pve.example.com:8006`, without `/api2/json`),
    /// with the API token `token_id` (`user@realm!tokenid`) and its secret, trusting its
    /// `ca_file`; its `nodes` limit the listing to those nodes (empty: all).
    fn connect(
        name: &str,
        keys: &ProxmoxConfig,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<Proxmox> {
        let (endpoint, token_id) = (&keys.endpoint, keys.token_id.as_str());
        let secret = keys.token.resolve(secrets)?;
        // user@realm!tokenid, none of them empty.
        let parts = token_id
            .split_once('@')
            .and_then(|(user, rest)| Some((user, rest.split_once('!')?)));
        let valid_id = !token_id.contains(['=', ' '])
            && matches!(parts, Some((user, (realm, id))) if ![user, realm, id].contains(&""));
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
        let auth = HttpAuth::Header {
            name: "Authorization".into(),
            value: header,
        };
        let errors = ProxmoxErrors {
            account: name.to_string(),
            token_id: token_id.to_string(),
        };
        let api = Service::new(&format!("proxmox \"{name}\""), &base, auth, limits)?;
        Proxmox {
            name: name.to_string(),
            token_id: token_id.to_string(),
            nodes: keys.nodes.clone(),
            api: api.with_vendor(errors),
        }
        .trusting(keys.ca_file.as_deref())
    }
}

impl Proxmox {
    /// Every VM and container of the cluster (not the templates), read `doing` something.
    async fn guests(&self, doing: &Doing) -> Result<Vec<Resource>> {
        let request = Request::get("cluster/resources").query("type", "vm");
        let list: Data<Vec<Resource>> = self.api.fetch_json(request, doing).await?;
        Ok(list
            .data
            .into_iter()
            .filter(|r| matches!(r.kind.as_str(), "qemu" | "lxc") && !r.is_template())
            .collect())
    }

    /// Guest `vmid`, found in the cluster's guests.
    async fn find(&self, vmid: &str) -> Result<Resource> {
        check_vmid(vmid)?;
        let doing = self
            .about(format!("looking up guest {vmid}"), vmid)
            .needs("VM.Audit on /vms");
        let found = self.guests(&doing).await?;
        found
            .into_iter()
            .find(|r| r.vmid.to_string() == vmid)
            .ok_or_else(|| Error::NotFound {
                what: GUEST,
                name: vmid.to_string(),
                hint: Some(self.missing(vmid)),
            })
    }

    /// A request about guest `vmid` that is `doing` something: a 404 means there is none.
    fn about(&self, doing: String, vmid: &str) -> Doing {
        Doing::new(doing).missing(GUEST, vmid, self.missing(vmid))
    }

    fn missing(&self, vmid: &str) -> String {
        format!(
            "proxmox account \"{}\" has no guest with this vmid (or the token may not see it: it needs VM.Audit on /vms/{vmid}); check the number",
            self.name
        )
    }

    fn task_failed(&self, label: &str, node: &str, exit: &str) -> Error {
        let exit = if exit.is_empty() {
            "no exit status"
        } else {
            exit
        };
        let message = format!(
            "{label} failed: {exit}; read the task's log in the Proxmox UI (node {node} → Task History)"
        );
        failed(&self.api, 200, &message)
    }

    fn server_of(&self, r: Resource) -> Server {
        let raw_state = r.status.clone().unwrap_or_else(|| "unknown".into());
        let tags = r.tags.as_deref().unwrap_or_default().split([';', ',', ' ']);
        let tags = name_tags(tags.filter(|t| !t.is_empty()).map(str::to_string).collect());
        let launched_at_ms = r
            .uptime
            .filter(|&u| u > 0 && raw_state == "running")
            .map(|u| chrono::Utc::now().timestamp_millis() - (u as i64) * 1000);
        Server {
            name: r.name.filter(|n| !n.is_empty()),
            status: normalize(&raw_state),
            raw_state,
            tags,
            launched_at_ms,
            ..Server::of(Self::KIND, &self.name, r.node, r.vmid.to_string())
        }
    }
}

/// Proxmox's errors, for the failure policy: its status decides (the reason phrase that
/// names a missing privilege does not reach paaf); its body's `message` or `errors` by
/// parameter are its words; its remedies name the token and where its rights are given.
struct ProxmoxErrors {
    account: String,
    token_id: String,
}

impl Vendor for ProxmoxErrors {
    fn said(&self, failure: &HttpFailure) -> Option<Said> {
        let body = failure.json::<ErrorBody>()?;
        let text = |v: serde_json::Value| v.as_str().map_or(v.to_string(), str::to_string);
        let by_parameter = body.errors.unwrap_or_default().into_iter();
        let by_parameter = by_parameter.map(|(k, v)| format!("{k}: {}", text(v).trim()));
        let text = match body.message {
            Some(message) => message.trim().to_string(),
            None => by_parameter.collect::<Vec<_>>().join(", "),
        };
        (!text.is_empty()).then(|| Said::message(text))
    }

    fn hint(&self, code: ErrorCode, _: &HttpFailure, _: Option<&Said>) -> Option<String> {
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "the API token was refused: check token_id `{}` and its secret for proxmox account \"{}\", and that the token has not expired or been removed (Datacenter → Permissions → API Tokens)",
                self.token_id, self.account
            ),
            ErrorCode::PermissionDenied => format!(
                "the API token `{}` lacks this privilege: give it a role with it (Datacenter → Permissions; with privilege separation the token itself needs it, not only its user)",
                self.token_id
            ),
            ErrorCode::RateLimited => "Proxmox VE itself does not limit requests, a proxy in front of it does: wait and try again".into(),
            _ => return None,
        })
    }
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
    let valid = !vmid.starts_with('0')
        && vmid
            .parse::<u64>()
            .is_ok_and(|n| (100..=999_999_999).contains(&n));
    check_id(vmid, valid, "a Proxmox vmid (a number from 100, like 101)")
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
    name: Option<String>,
    status: Option<String>,
    tags: Option<String>,
    template: Option<serde_json::Value>,
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
    exitstatus: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
    errors: Option<BTreeMap<String, serde_json::Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "5f1e2d3c-aaaa-bbbb-cccc-0123456789ab";

    fn pve() -> Proxmox {
        connect("https://pve.example.com:8006/", "paaf@pve!ops").unwrap()
    }

    fn connect(url: &str, token_id: &str) -> Result<Proxmox> {
        let keys = ProxmoxConfig {
            endpoint: url.to_string(),
            token_id: token_id.to_string(),
            token: crate::cloud::test_secret(),
            nodes: Vec::new(),
            ca_file: None,
        };
        let secrets = crate::cloud::test_store(SECRET);
        FromConfig::connect("lab", &keys, &secrets, Limits::default())
    }

    #[test]
    fn every_documented_status_is_normalized() {
        use ServerStatus::*;
        let table = [
            ("running", Running),
            ("stopped", Stopped),
            ("suspended", Stopped),
        ];
        crate::cloud::assert_states(normalize, &table);
        let table = [
            ("prelaunch", Pending),
            ("paused", Unknown),
            ("unknown", Unknown),
        ];
        crate::cloud::assert_states(normalize, &table);
        crate::cloud::assert_states(normalize, &[("something-new", Unknown)]);
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
        let bad = ["", "99", "0100", "web-1", "100/../1", "1000000000"];
        crate::cloud::assert_refused(bad, check_vmid);
        for token_id in ["paaf", "paaf@pve", "paaf!ops", "@pve!ops", "paaf@pve!"] {
            let e = connect("https://pve:8006", token_id).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{token_id}");
            assert!(e.to_string().contains("user@realm!tokenid"), "{e}");
        }
        assert_eq!(
            pve().api.base_url(),
            "https://pve.example.com:8006/api2/json/"
        );
    }

    #[test]
    fn the_secret_is_not_in_debug_output_nor_in_error_details() {
        let p = pve();
        crate::cloud::assert_hidden(&p, &[SECRET], &["paaf@pve!ops", "lab"]);
        let body = format!(r#"{{"message":"invalid token value {SECRET}"}}"#);
        let failure = crate::cloud::test_failure(401, body);
        let doing = Doing::new("listing the guests");
        let e = p.api.failure_error(&failure, Retry::Idempotent, &doing);
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
