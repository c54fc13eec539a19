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

use super::prelude::*;

/// The API's base URL.
pub const DEFAULT_URL: &str = "https://api.vultr.com/";
/// Instances per page: the API's maximum.
const PER_PAGE: u32 = 500;

/// Vultr's part of its [`TokenAccount`]: instances, their power calls, its errors.
#[derive(Debug, Clone)]
pub struct VultrApi;

/// One configured Vultr account (its token is an API key); only the instances of its
/// regions (`ewr`) are listed, unless it names none.
pub type Vultr = TokenAccount<VultrApi>;

impl TokenVendor for VultrApi {
    const KIND: CloudKind = CloudKind::Vultr;
    const DEFAULT_URL: &'static str = DEFAULT_URL;
    const EMPTY_TOKEN: &'static str = "the API key is empty; store the key with `paaf secret set`";
    const SERVER: &'static str = "Vultr instance";
    const FIRST_PAGE: String = String::new();
    type Cursor = String;

    /// The page of the instances at `cursor` (the first page: empty); the next page's cursor
    /// is `meta.links.next`, read while it is not empty.
    async fn page(this: &Vultr, cursor: String) -> Result<Page<String>> {
        let mut request = Request::get("v2/instances").query("per_page", PER_PAGE.to_string());
        if !cursor.is_empty() {
            request = request.query("cursor", cursor);
        }
        let answer: InstancesPage = this
            .api
            .fetch_json(request, &Doing::new("listing instances"))
            .await?;
        Ok(Page {
            servers: answer
                .instances
                .into_iter()
                .map(|i| this.server_of(i))
                .collect(),
            next: answer.meta.links.next.filter(|n| !n.is_empty()),
        })
    }

    /// Instance `id`, read now.
    async fn read(this: &Vultr, id: &str) -> Result<Server> {
        check_instance_id(id)?;
        let doing = this.about(format!("reading instance {id}"), id);
        let request = Request::get(format!("v2/instances/{id}"));
        let answer: InstanceAnswer = this.api.fetch_json(request, &doing).await?;
        Ok(this.server_of(answer.instance))
    }

    /// Sends `action` to instance `id` once. Vultr answers 204: there is nothing to follow
    /// but the instance's state.
    async fn power(this: &Vultr, id: &str, action: PowerAction) -> Result<Accepted> {
        check_instance_id(id)?;
        let verb = action.word(["", "reboot", "halt", "start"], || format!("Vultr has no clean reboot (instance {id}): its reboot is a hard reset, like pulling the plug; ask for a hard reboot if that is what you want, or reboot from inside the OS (over SSH) for a clean one"))?;
        let request = Request::post(format!("v2/instances/{id}/{verb}"), Retry::NotIdempotent);
        let doing = this.about(format!("{verb} of instance {id}"), id);
        this.api.fetch(request, &doing).await?;
        Ok(Accepted::without_state(action, id, None))
    }

    /// Vultr's errors, for the failure policy: "all 4xx errors will return a JSON response
    /// object with an `error` attribute"; what to check in its words. Vultr documents no
    /// conflict status: a refused action is `service-failed` with Vultr's message.
    fn said(failure: &HttpFailure) -> Option<Said> {
        let e = failure.json::<ApiError>()?;
        (!e.error.is_empty()).then(|| Said::message(e.error))
    }

    fn hint(account: &str, code: ErrorCode, _: &HttpFailure, _: Option<&Said>) -> Option<String> {
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "check the API key of vultr account \"{account}\": it may be mistyped or regenerated (keys: https://my.vultr.com/settings/#settingsapi)"
            ),
            ErrorCode::PermissionDenied => "the key was refused for this: add this machine's IP address to the key's access control list, and give its user the permission to manage servers".into(),
            ErrorCode::NotFound => "check that the endpoint is Vultr's API root (https://api.vultr.com)".into(),
            ErrorCode::RateLimited => "Vultr takes at most 30 requests a second from one address: wait and try again".into(),
            _ => return None,
        })
    }
}

impl Vultr {
    fn server_of(&self, i: Instance) -> Server {
        // A pending instance has no address yet: `0.0.0.0` and `::`, which `addresses` drops.
        let (public_ips, private_ips) = addresses([
            (i.main_ip, false),
            (i.v6_main_ip, false),
            (i.internal_ip, true),
        ]);
        Server {
            name: Some(i.label).filter(|n| !n.is_empty()),
            status: normalize(&i.status, &i.power_status, &i.server_status),
            raw_state: format!("{}/{}/{}", i.status, i.power_status, i.server_status),
            public_ips,
            private_ips,
            // Vultr tags are plain names.
            tags: name_tags(i.tags),
            launched_at_ms: launched_at(&i.date_created),
            ..Server::of(Self::KIND, &self.name, i.region, i.id)
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
fn check_instance_id(id: &str) -> Result<()> {
    let looks_like = "a Vultr instance id, a UUID like cb676a46-66fd-4dfb-b839-443f2e6c0b60";
    check_id(id, is_uuid(id), looks_like)
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
        Vultr::for_test(KEY, &["ewr"], None).unwrap()
    }

    #[test]
    fn every_documented_state_is_normalized() {
        use ServerStatus::*;
        let table = [
            ("active/running/ok", Running),
            ("active/running/none", Pending),
            ("active/running/locked", Pending),
            ("active/running/installingbooting", Pending),
            ("active/stopped/ok", Stopped),
            ("active/stopped/none", Stopped),
            ("pending/running/none", Pending),
            ("pending/stopped/installingbooting", Pending),
            ("resizing/running/locked", Pending),
            ("suspended/stopped/none", Stopped),
            ("active/running/rebooting", Unknown),
            ("closed/stopped/none", Unknown),
        ];
        let three = |raw: &str| match raw.splitn(3, '/').collect::<Vec<_>>()[..] {
            [status, power, server] => normalize(status, power, server),
            _ => unreachable!("{raw}"),
        };
        crate::cloud::assert_states(three, &table);
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
        crate::cloud::assert_hidden(&account(), &[KEY], &["prod", "ewr"]);
    }

    #[test]
    fn bad_ids_are_refused_before_anything_is_sent() {
        assert!(check_instance_id("cb676a46-66fd-4dfb-b839-443f2e6c0b60").is_ok());
        crate::cloud::assert_refused(
            [
                "web-1",
                "",
                "cb676a46-66fd-4dfb-b839-443f2e6c0b6/",
                "cb676a4666fd4dfbb839443f2e6c0b60",
            ],
            check_instance_id,
        );
    }
}
