//! Hetzner Cloud, through its REST API (`https://api.hetzner.cloud/v1`, `Authorization: Bearer
//! <API token>`), reference at https://docs.hetzner.cloud/reference/cloud (a subset of its
//! OpenAPI spec is in shared/reference/openapi/hetzner-cloud-servers-actions.subset.openapi.json).
//!
//! Calls (each named by its operation id in the reference):
//! - `GET /servers?page=&per_page=50` (`list_servers`): every page, following
//!   `meta.pagination.next_page` (https://docs.hetzner.cloud/reference/cloud#pagination);
//! - `GET /servers/{id}` (`get_server`) → `{server}`: `status` is one of running,
//!   initializing, starting, stopping, off, deleting, migrating, rebuilding, unknown;
//! - `POST /servers/{id}/actions/reboot` (`soft_reboot_server`, ACPI), `…/reset`
//!   (`reset_server`, hard), `…/shutdown` (`shutdown_server`, ACPI), `…/poweron`
//!   (`poweron_server`) → 201 `{action: {id, status: "running", error, …}}`: sent once;
//! - `GET /actions/{id}` (`get_action`) until its `status` is `success` or `error`;
//! - errors: `{"error": {"code": "…", "message": "…", "details": …}}` with codes such as
//!   `unauthorized`, `forbidden`, `not_found`, `locked`, `conflict`, `rate_limit_exceeded`,
//!   `server_error` (https://docs.hetzner.cloud/reference/cloud#errors); a 429 carries
//!   `RateLimit-Limit`, `-Remaining` and `-Reset`
//!   (https://docs.hetzner.cloud/reference/cloud#rate-limiting).
//!
//! A stop is the ACPI `shutdown`, never `poweroff` (which cuts the power): its action
//! "only reflects whether the action was sent to the server", so the server is then followed
//! until it is `off`. Server ids are global to the project: `region` (the server's location,
//! e.g. `fsn1`) is not needed to find one; configured `regions` only filter the listing.

use super::prelude::*;

/// The API's base URL.
pub const DEFAULT_URL: &str = "https://api.hetzner.cloud/v1";
/// `per_page` of a `list_servers` page (Hetzner allows up to 50).
pub const PAGE_SIZE: u32 = 50;

/// Hetzner Cloud's part of its [`TokenAccount`]: servers, their actions, its errors.
#[derive(Debug, Clone)]
pub struct HetznerApi;

/// One Hetzner Cloud project, reached with its API token; its locations (e.g. `fsn1`,
/// `nbg1`), when not empty, keep only the servers there.
pub type Hetzner = TokenAccount<HetznerApi>;

impl TokenVendor for HetznerApi {
    const KIND: CloudKind = CloudKind::Hetzner;
    const DEFAULT_URL: &'static str = DEFAULT_URL;
    const EMPTY_TOKEN: &'static str = "the API token is empty; create one in the Hetzner Console (project → Security → API tokens)";
    const SERVER: &'static str = "Hetzner Cloud server";
    const FIRST_PAGE: u64 = 1;
    type Cursor = u64;

    /// Refuses what cannot be a Hetzner location name.
    fn check_regions(name: &str, locations: &[String]) -> Result<()> {
        for location in locations {
            if !super::listing::is_region_name(location) {
                return Err(Error::invalid(format!(
                    "hetzner \"{name}\": `{location}` is not a Hetzner location name (like fsn1, nbg1, hel1, ash)"
                )));
            }
        }
        Ok(())
    }

    /// `list_servers` page `page`: its servers, and `meta.pagination.next_page`.
    async fn page(this: &Hetzner, page: u64) -> Result<Page<u64>> {
        let request = Request::get("servers")
            .query("page", page.to_string())
            .query("per_page", PAGE_SIZE.to_string());
        let list: ListServers = this
            .api
            .fetch_json(request, &Doing::new("listing servers"))
            .await?;
        let servers = list.servers.into_iter().map(|s| this.server_of(s));
        Ok(Page {
            servers: servers.collect::<Result<_>>()?,
            next: list.meta.pagination.next_page,
        })
    }

    /// Server `id` (its number), read now. Server ids are global to the project: `region`
    /// is not needed to find one.
    async fn read(this: &Hetzner, id: &str) -> Result<Server> {
        check_server_id(id)?;
        let doing = this.about(format!("reading server {id}"), id);
        let answer: GetServer = this
            .api
            .fetch_json(Request::get(format!("servers/{id}")), &doing)
            .await?;
        this.server_of(answer.server)
    }

    /// Sends `action` for server `id` once and returns Hetzner's acceptance, whose
    /// `operation` is the action id to follow. A failure after the request may have reached
    /// Hetzner is `outcome-unknown`.
    async fn power(this: &Hetzner, id: &str, action: PowerAction) -> Result<Accepted> {
        check_server_id(id)?;
        let verb = action.pick(["reboot", "reset", "shutdown", "poweron"]);
        let request = Request::post(format!("servers/{id}/actions/{verb}"), Retry::NotIdempotent);
        let doing = this.about(format!("{verb} of server {id}"), id);
        let answer: ActionResponse = this.api.fetch_json(request, &doing).await?;
        let operation = Some(answer.action.id.to_string());
        Ok(Accepted::without_state(action, id, operation))
    }

    /// Reads action `accepted.operation` every `settings.interval` (longer when the API
    /// sends `Retry-After`) until it is `success`; its `error` status is an error naming the
    /// server.
    async fn settle(this: &Hetzner, accepted: &Accepted, wait: Wait<'_>) -> Result<()> {
        let Some(operation) = accepted.operation.as_deref() else {
            return Ok(());
        };
        let action_id: u64 = operation.parse().map_err(|_| {
            Error::invalid(format!(
                "`{operation}` is not a Hetzner action id (a number)"
            ))
        })?;
        let label = format!(
            "action {action_id} ({}) of server {} (hetzner \"{}\")",
            accepted.action.as_str(),
            accepted.id,
            this.name
        );
        let doing = Doing::new(format!("reading {label}"));
        let follow = wait.follow(label.as_str(), accepted.action.phase());
        let path = format!("actions/{action_id}");
        let judge = |answer: ActionResponse, wait| {
            Ok(match answer.action.status.as_str() {
                "success" => Polled::Done(()),
                "error" => return Err(this.action_failed(&label, answer.action)),
                status => Polled::pending((), format!("still {status}"), wait),
            })
        };
        follow_json(&this.api, &path, &doing, &follow, judge).await
    }

    /// A reset's action ends once the server was reset. A soft reboot's only says that the
    /// ACPI request was sent: "the Server operating system must support ACPI and react to
    /// the request, otherwise the Server will not reboot" (`soft_reboot_server`), as for a
    /// shutdown, whose action "only reflects whether the action was sent to the server".
    fn operation_proves(action: PowerAction) -> bool {
        action == PowerAction::HardReboot
    }

    /// Hetzner's errors, for the failure policy: its error code decides, the HTTP status only
    /// when the body is not Hetzner's error JSON (a proxy, a load balancer).
    fn said(failure: &HttpFailure) -> Option<Said> {
        let e = failure.json::<ErrorResponse>()?.error;
        Some(Said::coded(e.code, e.message))
    }

    fn meaning(_failure: &HttpFailure, said: Option<&Said>) -> Option<ErrorCode> {
        Some(match said?.code() {
            "unauthorized" => ErrorCode::AuthFailed,
            "forbidden" => ErrorCode::PermissionDenied,
            "not_found" => ErrorCode::NotFound,
            "locked" | "conflict" => ErrorCode::Conflict,
            "rate_limit_exceeded" => ErrorCode::RateLimited,
            // Refused before anything was done: not an unknown outcome.
            "maintenance" => ErrorCode::ServiceFailed,
            _ => return None,
        })
    }

    fn hint(
        account: &str,
        code: ErrorCode,
        failure: &HttpFailure,
        said: Option<&Said>,
    ) -> Option<String> {
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "the API token of hetzner account \"{account}\" was refused: check it is the project's token and has not been deleted (Hetzner Console → project → Security → API tokens)"
            ),
            ErrorCode::PermissionDenied => "the token may not do this: power actions need a Read & Write token, not a Read token".into(),
            ErrorCode::NotFound => "check the id, and that the token belongs to the right project".into(),
            ErrorCode::Conflict if said.is_some_and(|s| s.code() == "locked") => {
                "another action is running on the server: wait for it to finish, then try again".into()
            }
            ErrorCode::Conflict => "the server changed meanwhile: read its state and try again".into(),
            ErrorCode::RateLimited => {
                let reset = failure
                    .headers
                    .get("ratelimit-reset")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .map(|at| {
                        let secs = (at - chrono::Utc::now().timestamp()).max(0);
                        format!(" (its budget is full again in {secs}s)")
                    })
                    .unwrap_or_default();
                format!("Hetzner limits the request rate of this project{reset}: wait and try again")
            }
            _ => return None,
        })
    }
}

impl Hetzner {
    fn server_of(&self, s: HServer) -> Result<Server> {
        let region = s
            .location
            .or(s.datacenter.map(|d| d.location))
            .map(|l| l.name)
            .ok_or_else(|| Error::MalformedResponse {
                what: self.api.name().to_string(),
                reason: format!("server {} has no location", s.id),
            })?;
        let mut public_ips = Vec::new();
        if let Some(net) = s.public_net {
            public_ips.extend(net.ipv4.map(|ip| ip.ip));
            public_ips.extend(net.ipv6.map(|ip| ip.ip));
        }
        let mut private_ips = Vec::new();
        for net in s.private_net {
            private_ips.extend(net.ip);
            private_ips.extend(net.alias_ips);
        }
        Ok(Server {
            name: Some(s.name).filter(|n| !n.is_empty()),
            status: normalize(&s.status),
            raw_state: s.status,
            public_ips,
            private_ips,
            tags: s.labels,
            launched_at_ms: s.created.as_deref().and_then(launched_at),
            ..Server::of(Self::KIND, &self.name, region, s.id.to_string())
        })
    }

    fn action_failed(&self, label: &str, action: HAction) -> Error {
        let (code, message) = action
            .error
            .map(|e| (e.code, e.message))
            .unwrap_or_else(|| ("unknown".into(), "no error given".into()));
        let message = format!(
            "{label} failed: {code}: {message}; look at the server in the Hetzner Console before trying again"
        );
        failed(&self.api, 200, &message)
    }
}

/// Hetzner's server `status` as a normalized status.
pub fn normalize(status: &str) -> ServerStatus {
    match status {
        "running" => ServerStatus::Running,
        "off" => ServerStatus::Stopped,
        "initializing" | "starting" | "migrating" | "rebuilding" => ServerStatus::Pending,
        "stopping" => ServerStatus::Stopping,
        "deleting" => ServerStatus::Terminated,
        _ => ServerStatus::Unknown,
    }
}

/// Refuses what cannot be a server id (a positive number) before anything is sent.
fn check_server_id(id: &str) -> Result<()> {
    let valid = super::listing::is_number(id, 16) && id.parse::<u64>().is_ok_and(|n| n > 0);
    check_id(id, valid, "a Hetzner Cloud server id, a number like 42")
}

// ---- Hetzner's JSON, as much of it as paaf reads (unknown fields are skipped) ----

#[derive(Deserialize)]
struct ListServers {
    servers: Vec<HServer>,
    meta: Meta,
}

#[derive(Deserialize)]
struct Meta {
    pagination: Pagination,
}

#[derive(Deserialize)]
struct Pagination {
    next_page: Option<u64>,
}

#[derive(Deserialize)]
struct GetServer {
    server: HServer,
}

#[derive(Deserialize)]
struct HServer {
    id: u64,
    name: String,
    status: String,
    created: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    public_net: Option<PublicNet>,
    #[serde(default)]
    private_net: Vec<PrivateNet>,
    location: Option<Location>,
    datacenter: Option<Datacenter>,
}

#[derive(Deserialize)]
struct PublicNet {
    ipv4: Option<Ip>,
    ipv6: Option<Ip>,
}

#[derive(Deserialize)]
struct Ip {
    ip: String,
}

#[derive(Deserialize)]
struct PrivateNet {
    ip: Option<String>,
    #[serde(default)]
    alias_ips: Vec<String>,
}

#[derive(Deserialize)]
struct Location {
    name: String,
}

#[derive(Deserialize)]
struct Datacenter {
    location: Location,
}

#[derive(Deserialize)]
struct ActionResponse {
    action: HAction,
}

#[derive(Deserialize)]
struct HAction {
    id: u64,
    status: String,
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: ApiError,
}

#[derive(Deserialize)]
struct ApiError {
    code: String,
    #[serde(default)]
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "hcloud-Zx9q-contract-token-0123456789abcdefghijklmnopqrstuv";

    fn hetzner() -> Hetzner {
        Hetzner::for_test(TOKEN, &["fsn1"], None).unwrap()
    }

    /// Every status of `server.status` in the reference's schema.
    #[test]
    fn every_documented_status_is_normalized() {
        use ServerStatus::*;
        let table = [
            ("running", Running),
            ("initializing", Pending),
            ("starting", Pending),
            ("stopping", Stopping),
            ("off", Stopped),
            ("deleting", Terminated),
            ("migrating", Pending),
            ("rebuilding", Pending),
            ("unknown", Unknown),
            ("something-new", Unknown),
        ];
        crate::cloud::assert_states(normalize, &table);
    }

    #[test]
    fn the_token_appears_nowhere_in_debug() {
        crate::cloud::assert_hidden(&hetzner(), &[TOKEN], &["prod", "fsn1"]);
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_sent() {
        assert!(check_server_id("42").is_ok());
        crate::cloud::assert_refused(
            [
                "",
                "0",
                "web-1",
                "42/actions/reset",
                "-1",
                "99999999999999999999",
            ],
            check_server_id,
        );
        let connect = |token, locations| Hetzner::for_test(token, locations, Some(DEFAULT_URL));
        for (token, locations) in [("", &[][..]), (TOKEN, &["FSN1/../x"][..])] {
            let e = connect(token, locations).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput);
        }
        let api = connect(TOKEN, &[]).unwrap().api;
        assert_eq!(api.base_url(), "https://api.hetzner.cloud/v1/");
    }

    #[test]
    fn a_server_without_a_location_is_malformed_and_the_datacenter_one_is_used_otherwise() {
        let h = hetzner();
        let server = |v: serde_json::Value| -> HServer { serde_json::from_value(v).unwrap() };
        let bare = serde_json::json!({"id": 42, "name": "web-1", "status": "running"});
        assert_eq!(
            h.server_of(server(bare.clone())).unwrap_err().code(),
            ErrorCode::MalformedResponse
        );
        let mut old = bare;
        old["datacenter"] = serde_json::json!({"name": "nbg1-dc3", "location": {"name": "nbg1"}});
        assert_eq!(h.server_of(server(old)).unwrap().region, "nbg1");
    }
}
