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

use super::prelude::*;
use std::net::Ipv4Addr;

/// The API's base URL.
pub const DEFAULT_URL: &str = "https://api.linode.com/";
/// Linodes per page: the API's maximum.
const PAGE_SIZE: u32 = 500;

/// Linode's part of its [`TokenAccount`]: Linodes, their power calls, its errors.
#[derive(Debug, Clone)]
pub struct LinodeApi;

/// One configured Linode account; only the Linodes of its regions (`us-east`) are listed,
/// unless it names none.
pub type Linode = TokenAccount<LinodeApi>;

impl TokenVendor for LinodeApi {
    const KIND: CloudKind = CloudKind::Linode;
    const DEFAULT_URL: &'static str = DEFAULT_URL;
    const SERVER: &'static str = "Linode";
    const FIRST_PAGE: u32 = 1;
    type Cursor = u32;

    /// Page `page` of the Linodes; pages 1 to `pages` are read.
    async fn page(this: &Linode, page: u32) -> Result<Page<u32>> {
        let request = Request::get("v4/linode/instances")
            .query("page", page.to_string())
            .query("page_size", PAGE_SIZE.to_string());
        let answer: InstancesPage = this
            .api
            .fetch_json(request, &Doing::new("listing Linodes"))
            .await?;
        if answer.page != page {
            return Err(Error::MalformedResponse {
                what: this.api.name().to_string(),
                reason: format!(
                    "asked for page {page} of the Linodes, it answered page {}",
                    answer.page
                ),
            });
        }
        Ok(Page {
            servers: answer.data.into_iter().map(|i| this.server_of(i)).collect(),
            next: (page < answer.pages).then_some(page + 1),
        })
    }

    /// Linode `id`, read now.
    async fn read(this: &Linode, id: &str) -> Result<Server> {
        check_linode_id(id)?;
        let doing = this.about(format!("reading Linode {id}"), id);
        let request = Request::get(format!("v4/linode/instances/{id}"));
        let instance: Instance = this.api.fetch_json(request, &doing).await?;
        Ok(this.server_of(instance))
    }

    /// Sends `action` to Linode `id` once. Linode answers `{}`: there is nothing to follow
    /// but the Linode's status.
    async fn power(this: &Linode, id: &str, action: PowerAction) -> Result<Accepted> {
        check_linode_id(id)?;
        let verb = action.word(["reboot", "", "shutdown", "boot"], || format!("Linode has no hard reset in its API (Linode {id}): use reboot, or stop then start; if the OS hangs, use the Lish console"))?;
        let request = Request::with_body(
            Method::POST,
            format!("v4/linode/instances/{id}/{verb}"),
            &serde_json::json!({}),
            Retry::NotIdempotent,
        )?;
        let doing = this.about(format!("{verb} of Linode {id}"), id);
        this.api.fetch(request, &doing).await?;
        Ok(Accepted::without_state(action, id, None))
    }

    /// Linode's errors, for the failure policy: `{"errors": [{"reason", "field"?}]}`, a 400
    /// "Linode busy." while another job of the Linode runs, what to check in its words.
    fn said(failure: &HttpFailure) -> Option<Said> {
        let reasons: Vec<String> = failure
            .json::<ApiErrors>()?
            .errors
            .into_iter()
            .map(|r| match r.field {
                Some(field) => format!("[{field}] {}", r.reason),
                None => r.reason,
            })
            .collect();
        Some(Said::message(reasons.join("; ")))
    }

    fn meaning(failure: &HttpFailure, said: Option<&Said>) -> Option<ErrorCode> {
        let busy = said.is_some_and(|s| s.message.to_lowercase().contains("busy"));
        (failure.status == 400 && busy).then_some(ErrorCode::Conflict)
    }

    fn hint(account: &str, code: ErrorCode, _: &HttpFailure, _: Option<&Said>) -> Option<String> {
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "check the API token of linode account \"{account}\": it may be mistyped, expired or revoked (tokens: https://cloud.linode.com/profile/tokens)"
            ),
            ErrorCode::PermissionDenied => "the token is valid but not allowed this: give it the Linodes scope (read/write for power actions), and its user access to this Linode".into(),
            ErrorCode::NotFound => "check that the endpoint is Linode's API root (https://api.linode.com)".into(),
            ErrorCode::Conflict => "another job of this Linode (a boot, a migration, a backup) is still running: wait for it, then try again".into(),
            ErrorCode::RateLimited => "Linode limits the request rate of this token: wait and try again".into(),
            _ => return None,
        })
    }
}

impl Linode {
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
            name: Some(i.label).filter(|n| !n.is_empty()),
            status: normalize(&i.status),
            raw_state: i.status,
            public_ips,
            private_ips,
            // Linode tags are plain names.
            tags: name_tags(i.tags),
            launched_at_ms: i.created.as_deref().and_then(timestamp_ms),
            ..Server::of(Self::KIND, &self.name, i.region, i.id.to_string())
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
fn check_linode_id(id: &str) -> Result<()> {
    check_id(id, is_number(id, 20), "a Linode id, a number like 123")
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
    ipv6: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    created: Option<String>,
}

#[derive(Deserialize)]
struct ApiErrors {
    errors: Vec<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    reason: String,
    field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "a1b2c3d4e5f6linodepat0123456789abcdef0123456789abcdef01234567";

    fn account() -> Linode {
        Linode::for_test(TOKEN, &["us-east"], None).unwrap()
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
        crate::cloud::assert_states(normalize, &table);
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
        crate::cloud::assert_hidden(&account(), &[TOKEN], &["prod", "us-east"]);
    }

    #[test]
    fn bad_ids_are_refused_before_anything_is_sent() {
        assert!(check_linode_id("123").is_ok());
        crate::cloud::assert_refused(["linode123", "", "1/reboot", "-1"], check_linode_id);
    }
}
