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
//!   until completed or errored: what [`CloudProvider::settle`] follows;
//! - errors `{id, message, request_id}` (401 `unauthorized`, 404 `not_found`, 429
//!   `too_many_requests` with the `ratelimit-*` headers, 5xx `server_error`), and 422 when an
//!   action of the Droplet is still running ("the locked attribute of the Droplet will be true
//!   and attempts to create a Droplet action will fail with a status of 422").
//!
//! `reboot` and `shutdown` go through the OS (ACPI): a `shutdown` the OS ignores ends
//! `errored`. `power_cycle` is the reset button: paaf's hard reboot.

use super::prelude::*;

/// The API's base URL.
pub const DEFAULT_URL: &str = "https://api.digitalocean.com/";
/// Droplets per page: the API's maximum.
const PER_PAGE: u32 = 200;

/// DigitalOcean's part of its [`TokenAccount`]: droplets, their actions, its errors.
#[derive(Debug, Clone)]
pub struct DigitalOceanApi;

/// One configured DigitalOcean account (team); only the droplets of its regions (`nyc3`) are
/// listed, unless it names none.
pub type DigitalOcean = TokenAccount<DigitalOceanApi>;

impl TokenVendor for DigitalOceanApi {
    const KIND: CloudKind = CloudKind::Digitalocean;
    const DEFAULT_URL: &'static str = DEFAULT_URL;
    const SERVER: &'static str = "droplet";
    const FIRST_PAGE: u32 = 1;
    type Cursor = u32;

    /// Page `page` of the droplets; there is a next one while `links.pages.next` is there.
    /// paaf asks for the next page number itself instead of following the `next` URL, so
    /// the token never goes to another host than the configured one.
    async fn page(this: &DigitalOcean, page: u32) -> Result<Page<u32>> {
        let request = Request::get("v2/droplets")
            .query("per_page", PER_PAGE.to_string())
            .query("page", page.to_string());
        let answer: DropletsPage = this
            .api
            .fetch_json(request, &Doing::new("listing droplets"))
            .await?;
        let more = answer.links.pages.next.is_some_and(|n| !n.is_empty());
        Ok(Page {
            servers: answer
                .droplets
                .into_iter()
                .map(|d| this.server_of(d))
                .collect(),
            next: more.then_some(page + 1),
        })
    }

    /// Droplet `id`, read now.
    async fn read(this: &DigitalOcean, id: &str) -> Result<Server> {
        check_droplet_id(id)?;
        let doing = this.about(format!("reading droplet {id}"), id);
        let request = Request::get(format!("v2/droplets/{id}"));
        let answer: DropletAnswer = this.api.fetch_json(request, &doing).await?;
        Ok(this.server_of(answer.droplet))
    }

    /// Sends `action` to droplet `id` once; the acceptance's `operation` is the action's id.
    async fn power(this: &DigitalOcean, id: &str, action: PowerAction) -> Result<Accepted> {
        check_droplet_id(id)?;
        let kind = action_type(action);
        let request = Request::with_body(
            Method::POST,
            format!("v2/droplets/{id}/actions"),
            &serde_json::json!({ "type": kind }),
            Retry::NotIdempotent,
        )?;
        let doing = this.about(format!("{kind} of droplet {id}"), id);
        let answer: ActionAnswer = this.api.fetch_json(request, &doing).await?;
        let operation = Some(answer.action.id.to_string());
        Ok(Accepted::without_state(action, id, operation))
    }

    /// Reads the action of `accepted` every `settings.interval` (longer when the API asks
    /// with `Retry-After`) until it is completed; errored is an error naming the droplet.
    async fn settle(this: &DigitalOcean, accepted: &Accepted, wait: Wait<'_>) -> Result<()> {
        let Some(operation) = &accepted.operation else {
            return Ok(());
        };
        let id = &accepted.id;
        check_droplet_id(operation)?;
        let label = format!(
            "action {operation} ({}) of droplet {id} (digitalocean \"{}\")",
            action_type(accepted.action),
            this.name
        );
        let doing = this.about(format!("following {label}"), id);
        let follow = wait.follow(label.as_str(), accepted.action.phase());
        let path = format!("v2/droplets/{id}/actions/{operation}");
        let judge = |answer: ActionAnswer, wait| {
            Ok(match answer.action.status.as_str() {
                "completed" => Polled::Done(()),
                "errored" => return Err(this.errored(&label, accepted.action)),
                status => Polled::pending((), format!("still {status}"), wait),
            })
        };
        follow_json(&this.api, &path, &doing, &follow, judge).await
    }

    /// A `reboot` or `power_cycle` action is `completed` once the droplet went through it.
    fn operation_proves(action: PowerAction) -> bool {
        matches!(action, PowerAction::Reboot | PowerAction::HardReboot)
    }

    /// DigitalOcean's errors, for the failure policy: `{id, message}`, a 422 when the droplet is
    /// locked by a running action, what to check in its words.
    fn said(failure: &HttpFailure) -> Option<Said> {
        let e = failure.json::<ApiError>()?;
        Some(Said::coded(e.id, e.message))
    }

    fn meaning(failure: &HttpFailure, _said: Option<&Said>) -> Option<ErrorCode> {
        (failure.status == 422).then_some(ErrorCode::Conflict)
    }

    fn hint(
        account: &str,
        code: ErrorCode,
        failure: &HttpFailure,
        _said: Option<&Said>,
    ) -> Option<String> {
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "check the API token of digitalocean account \"{account}\": it may be mistyped, expired or revoked (tokens: https://cloud.digitalocean.com/account/api/tokens)"
            ),
            ErrorCode::PermissionDenied => "the token is valid but lacks a scope: give it droplet:read (listing) and droplet:update (power actions)".into(),
            ErrorCode::NotFound => "check that the endpoint is DigitalOcean's API root (https://api.digitalocean.com)".into(),
            ErrorCode::Conflict if failure.status == 422 => "the droplet is locked by an action that has not finished yet: wait for it, then try again".into(),
            ErrorCode::RateLimited => match reset_time(failure) {
                Some(at) => format!(
                    "the account's request quota is used up until {at}: wait and try again"
                ),
                None => "the account's request quota is used up: wait and try again".into(),
            },
            _ => return None,
        })
    }
}

impl DigitalOcean {
    /// An action that ended `errored`: what to do depends on the action.
    fn errored(&self, label: &str, action: PowerAction) -> Error {
        let hint = match action {
            PowerAction::Stop => {
                "the OS did not shut down: look at the droplet's console, or power it off from the control panel"
            }
            _ => {
                "look at the droplet's state and its action history in the control panel before trying again"
            }
        };
        failed(&self.api, 200, &format!("{label} errored; {hint}"))
    }

    fn server_of(&self, d: Droplet) -> Server {
        let networks = d.networks.v4.into_iter().chain(d.networks.v6);
        let (public_ips, private_ips) =
            addresses(networks.map(|a| (a.ip_address, a.kind != "public")));
        Server {
            name: Some(d.name).filter(|n| !n.is_empty()),
            status: normalize(&d.status),
            raw_state: d.status,
            public_ips,
            private_ips,
            // DigitalOcean tags are plain names (`env:prod` is one name, not a key and value).
            tags: name_tags(d.tags),
            launched_at_ms: launched_at(&d.created_at),
            ..Server::of(Self::KIND, &self.name, d.region.slug, d.id.to_string())
        }
    }
}

/// The action `type` that does `action`.
fn action_type(action: PowerAction) -> &'static str {
    action.pick(["reboot", "power_cycle", "shutdown", "power_on"])
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
fn check_droplet_id(id: &str) -> Result<()> {
    let looks_like = "a DigitalOcean droplet id, a number like 3164444";
    check_id(id, is_number(id, 20), looks_like)
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
        DigitalOcean::for_test(TOKEN, regions, None).unwrap()
    }

    #[test]
    fn every_documented_status_is_normalized() {
        use ServerStatus::*;
        let table = [("new", Pending), ("active", Running), ("off", Stopped)];
        crate::cloud::assert_states(normalize, &table);
        crate::cloud::assert_states(normalize, &[("archive", Terminated), ("sleeping", Unknown)]);
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
        crate::cloud::assert_hidden(&account(&["nyc3"]), &[TOKEN], &["prod", "nyc3"]);
    }

    #[test]
    fn bad_ids_and_empty_tokens_are_refused_before_anything_is_sent() {
        assert!(check_droplet_id("3164444").is_ok());
        crate::cloud::assert_refused(
            ["web-1", "", "12/actions", "1 2", "123456789012345678901"],
            check_droplet_id,
        );
        let e = DigitalOcean::for_test(" ", &[], None).unwrap_err();
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
