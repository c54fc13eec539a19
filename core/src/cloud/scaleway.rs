//! Scaleway Instances, through the Instance API v1 (`https://api.scaleway.com/instance/v1`,
//! `X-Auth-Token: <secret key>`), reference at https://www.scaleway.com/en/developers/api/instance/
//! (shapes as in scaleway/scaleway-sdk-go `api/instance/v1/instance_sdk.go`, generated from it).
//!
//! Calls, all per zone (the configured `regions` are zones: `fr-par-1`, `nl-ams-1`, …):
//! - `GET /instance/v1/zones/{zone}/servers?page=&per_page=100[&project=]` ("List all
//!   Instances"): every page, until `X-Total-Count` (or `total_count`) servers were read; the
//!   zones are read concurrently;
//! - `GET /instance/v1/zones/{zone}/servers/{id}` ("Get an Instance") → `{server}`: `state` is
//!   one of running, stopped, stopped in place, starting, stopping, locked;
//! - `POST /instance/v1/zones/{zone}/servers/{id}/action` `{"action": "reboot" | "poweroff" |
//!   "poweron"}` ("Perform action") → `{task: {id, status, …}}`: sent once;
//! - errors: `{"type": "…", "message": "…", …}` with types such as `denied_authentication`,
//!   `permissions_denied`, `not_found`, `precondition_failed`, `transient_state`, `locked`
//!   (https://www.scaleway.com/en/developers/api/#errors).
//!
//! The Instance API has no call to read a task (the SDK's `ServerActionAndWait` reads the
//! server instead): the task id is kept as [`Accepted::operation`] for the record, and the
//! server is followed to its target state. A stop is `poweroff`, which ends in `stopped`
//! (`stop_in_place`, which keeps the hypervisor slot, ends in `stopped in place`, also
//! stopped). There is no hard reboot: it is refused.

use super::prelude::*;

/// The API's base URL.
pub const DEFAULT_URL: &str = "https://api.scaleway.com";
/// `per_page` of a listing page (Scaleway's maximum).
pub const PAGE_SIZE: u32 = 100;

/// One Scaleway account (an API key), in its configured zones, optionally one project. Its
/// secret key lives in the [`Service`]'s auth, which `Debug` never shows.
#[derive(Debug, Clone)]
pub struct Scaleway {
    name: String,
    api: Service,
    zones: Vec<String>,
    project: Option<String>,
}

impl CloudProvider for Scaleway {
    kind_and_name!(CloudKind::Scaleway);

    /// Every server of every configured zone, the zones read concurrently; a zone that fails
    /// is an error row and the others are still listed. Sorted by zone, name, id.
    async fn list(&self) -> Inventory {
        Inventory::of_regions(Self::KIND, &self.name, &self.zones, |zone| {
            all_pages(self.api.name(), (1, 0), move |at| self.page(zone, at))
        })
        .await
    }

    /// Server `id` in `zone`, read now.
    async fn read(&self, zone: &str, id: &str) -> Result<Server> {
        self.check(zone, id)?;
        let request = Request::get(format!("instance/v1/zones/{zone}/servers/{id}"));
        let doing = self.about(format!("reading server {id} in {zone}"), zone, id);
        let answer: GetServer = self.api.fetch_json(request, &doing).await?;
        Ok(self.server_of(zone, answer.server))
    }

    /// Sends `action` for server `id` in `zone` once and returns Scaleway's acceptance (its
    /// task id as the operation, for the record: the API has no call to read a task). A
    /// failure after the request may have reached Scaleway is `outcome-unknown`.
    async fn power(&self, zone: &str, id: &str, action: PowerAction) -> Result<Accepted> {
        let verb = action.word(["reboot", "", "poweroff", "poweron"], || format!("Scaleway Instances have no hard reboot (server {id}): use reboot, or stop then start"))?;
        self.check(zone, id)?;
        let request = Request::with_body(
            Method::POST,
            format!("instance/v1/zones/{zone}/servers/{id}/action"),
            &serde_json::json!({ "action": verb }),
            Retry::NotIdempotent,
        )?;
        let what = format!("{verb} of server {id} in {zone}");
        let response = self
            .api
            .fetch(request, &self.about(what.clone(), zone, id))
            .await?;
        let task = response.json::<ActionResponse>(self.api.name())?.task;
        if task.status == "failure" {
            let description = task.description.as_deref().unwrap_or("no description");
            let message = format!(
                "{what}: its task {} failed at once ({description}); look at the server in the Scaleway console",
                task.id
            );
            return Err(failed(&self.api, response.status, &message));
        }
        Ok(Accepted::without_state(action, id, Some(task.id)))
    }
}

/// The keys of a `scaleway` `[[clouds]]` entry.
#[derive(Debug, Clone)]
pub struct ScalewayConfig {
    /// The API key's secret key (`token`).
    pub token: SecretRef,
    /// The zones listed (`regions`, required).
    pub zones: Vec<String>,
    /// Only the servers of this project (`project`).
    pub project: Option<String>,
    /// Another API URL than [`DEFAULT_URL`].
    pub endpoint: Option<String>,
}

impl AccountConfig for ScalewayConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<ScalewayConfig> {
        let endpoint = entry.endpoint()?;
        let token = entry.secret(Key::Token)?;
        let zones = entry.needs(
            Some(entry.regions()).filter(|z| !z.is_empty()),
            ("the zones to list", "regions = [\"fr-par-1\"]"),
        )?;
        Ok(ScalewayConfig {
            token: entry.needs(token, super::API_TOKEN)?,
            zones,
            project: entry.text(Key::Project),
            endpoint,
        })
    }
}

impl FromConfig for Scaleway {
    type Keys = ScalewayConfig;

    /// The account `name` at its `endpoint` (Scaleway's own API by default) with the API
    /// key's secret key, listing its zones, and only its project's servers when it names one.
    fn connect(
        name: &str,
        keys: &ScalewayConfig,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<Scaleway> {
        let (zones, project) = (&keys.zones, keys.project.as_deref());
        let secret_key = keys.token.resolve(secrets)?;
        let invalid = |why: String| Err(Error::invalid(format!("scaleway \"{name}\": {why}")));
        if secret_key.expose_secret().trim().is_empty() {
            return invalid("the secret key is empty; create an API key in the Scaleway console (IAM → API keys)".into());
        }
        if zones.is_empty() {
            return invalid(
                "no zone configured; name at least one, e.g. regions = [\"fr-par-1\"]".into(),
            );
        }
        let not_one = "a Scaleway zone (like fr-par-1, nl-ams-1, pl-waw-1)";
        let account = format!("scaleway \"{name}\"");
        check_listed(&account, "zone", zones, valid_zone, not_one)?;
        if let Some(project) = project
            && !is_uuid(project)
        {
            return invalid(format!(
                "project `{project}` is not a Scaleway project id (a UUID, in the console under Project → Settings)"
            ));
        }
        let auth = HttpAuth::Header {
            name: "X-Auth-Token".into(),
            value: secret_key,
        };
        let errors = ScalewayErrors {
            account: name.to_string(),
        };
        let base_url = keys.endpoint.as_deref().unwrap_or(DEFAULT_URL);
        let api = Service::new(&format!("scaleway \"{name}\""), base_url, auth, limits)?;
        Ok(Scaleway {
            name: name.to_string(),
            api: api.with_vendor(errors),
            zones: zones.to_vec(),
            project: project.map(str::to_string),
        })
    }
}

impl Scaleway {
    /// The listing page `page` of `zone`, the servers of the pages before it numbering
    /// `listed`: the next is read until `X-Total-Count` (or `total_count`) servers were,
    /// or, without a count, until a page is short.
    async fn page(&self, zone: &str, (page, listed): (u32, usize)) -> Result<Page<(u32, usize)>> {
        let mut request = Request::get(format!("instance/v1/zones/{zone}/servers"))
            .query("page", page.to_string())
            .query("per_page", PAGE_SIZE.to_string());
        if let Some(project) = &self.project {
            request = request.query("project", project.clone());
        }
        let doing = Doing::new(format!("listing the servers of zone {zone}"));
        let response = self.api.fetch(request, &doing).await?;
        let total = response
            .headers
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        let list: ListServers = response.json(self.api.name())?;
        let got = list.servers.len();
        let listed = listed + got;
        let more = match total.or(list.total_count) {
            Some(total) => listed < total,
            None => got >= PAGE_SIZE as usize,
        };
        Ok(Page {
            servers: list
                .servers
                .into_iter()
                .map(|s| self.server_of(zone, s))
                .collect(),
            next: more.then_some((page + 1, listed)),
        })
    }

    /// A request about server `id` of `zone` that is `doing` something: a 404 means there
    /// is none.
    fn about(&self, doing: String, zone: &str, id: &str) -> Doing {
        let hint = format!(
            "not in zone {zone} of scaleway account \"{}\": check the id and the zone (`paaf server list` lists them)",
            self.name
        );
        Doing::new(doing).missing("Scaleway Instance", id, hint)
    }

    fn check(&self, zone: &str, id: &str) -> Result<()> {
        check_configured(self.api.name(), "zone", zone, &self.zones)?;
        let uuid = "a Scaleway Instance id (a UUID like 3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c)";
        check_id(id, is_uuid(id), uuid)
    }

    fn server_of(&self, zone_asked: &str, s: SServer) -> Server {
        let public = s.public_ip.into_iter().chain(s.public_ips).chain(s.ipv6);
        let private = s.private_ip.into_iter();
        let (public_ips, private_ips) = addresses(
            public
                .map(|a| (a.address, false))
                .chain(private.map(|ip| (ip, true))),
        );
        let tags = s
            .tags
            .into_iter()
            .map(|t| match t.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (t, String::new()),
            })
            .collect();
        let zone = s.zone.filter(|z| !z.is_empty());
        Server {
            name: Some(s.name).filter(|n| !n.is_empty()),
            status: normalize(&s.state),
            raw_state: s.state,
            public_ips,
            private_ips,
            tags,
            launched_at_ms: s.creation_date.as_deref().and_then(launched_at),
            ..Server::of(
                Self::KIND,
                &self.name,
                zone.unwrap_or_else(|| zone_asked.to_string()),
                s.id,
            )
        }
    }
}

/// Scaleway's errors, for the failure policy: its error `type` decides, the HTTP status only
/// when the body is not its error JSON (a proxy, a load balancer).
struct ScalewayErrors {
    account: String,
}

impl Vendor for ScalewayErrors {
    fn said(&self, failure: &HttpFailure) -> Option<Said> {
        let e = failure.json::<ApiError>()?;
        Some(Said::coded(e.kind, e.message))
    }

    fn meaning(&self, _failure: &HttpFailure, said: Option<&Said>) -> Option<ErrorCode> {
        Some(match said?.code() {
            "denied_authentication" => ErrorCode::AuthFailed,
            "permissions_denied" => ErrorCode::PermissionDenied,
            "not_found" | "unknown_resource" => ErrorCode::NotFound,
            "precondition_failed" | "transient_state" | "locked" | "resource_locked" => {
                ErrorCode::Conflict
            }
            _ => return None,
        })
    }

    fn hint(&self, code: ErrorCode, _: &HttpFailure, _: Option<&Said>) -> Option<String> {
        Some(match code {
            ErrorCode::AuthFailed => format!(
                "the secret key of scaleway account \"{}\" was refused: check it is the secret key (not the access key) of an API key that still exists (console → IAM → API keys)",
                self.account
            ),
            ErrorCode::PermissionDenied => "the API key may not do this: give its IAM application or user a policy with InstancesFullAccess (or InstancesReadOnly to list) in the project".into(),
            ErrorCode::NotFound => "check the id and the zone".into(),
            ErrorCode::Conflict => "the server's current state does not allow this (it may be changing state, or locked): read its state and try again once it is running or stopped".into(),
            ErrorCode::RateLimited => "Scaleway limits the request rate of this API key: wait and try again".into(),
            _ => return None,
        })
    }
}

/// Scaleway's server `state` as a normalized status.
pub fn normalize(state: &str) -> ServerStatus {
    match state {
        "running" => ServerStatus::Running,
        "stopped" | "stopped in place" => ServerStatus::Stopped,
        "starting" => ServerStatus::Pending,
        "stopping" => ServerStatus::Stopping,
        // `locked`: Scaleway locked it (abuse, billing); it is neither up nor down for paaf.
        _ => ServerStatus::Unknown,
    }
}

/// Whether `zone` is a zone's name: a region's two words of lowercase letters and a number.
fn valid_zone(zone: &str) -> bool {
    let letters = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = zone.split('-').collect();
    matches!(parts[..], [a, b, n] if letters(a) && letters(b) && digits(n))
}

// ---- Scaleway's JSON, as much of it as paaf reads (unknown fields are skipped) ----

#[derive(Deserialize)]
struct ListServers {
    servers: Vec<SServer>,
    total_count: Option<usize>,
}

#[derive(Deserialize)]
struct GetServer {
    server: SServer,
}

#[derive(Deserialize)]
struct SServer {
    id: String,
    #[serde(default)]
    name: String,
    state: String,
    zone: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    public_ip: Option<Address>,
    #[serde(default)]
    public_ips: Vec<Address>,
    ipv6: Option<Address>,
    private_ip: Option<String>,
    creation_date: Option<String>,
}

#[derive(Deserialize)]
struct Address {
    address: String,
}

#[derive(Deserialize)]
struct ActionResponse {
    task: Task,
}

#[derive(Deserialize)]
struct Task {
    id: String,
    #[serde(default)]
    status: String,
    description: Option<String>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "5a7e1c3b-0d9f-4e2a-8b6c-secretkey0001";

    fn scaleway() -> Scaleway {
        let project = Some("00000000-0000-4000-8000-000000000001");
        connect(
            "http://127.0.0.1:1",
            SECRET,
            &["fr-par-1", "nl-ams-1"],
            project,
        )
        .unwrap()
    }

    fn connect(url: &str, secret: &str, zones: &[&str], project: Option<&str>) -> Result<Scaleway> {
        let keys = ScalewayConfig {
            token: crate::cloud::test_secret(),
            zones: zones.iter().map(|z| z.to_string()).collect(),
            project: project.map(str::to_string),
            endpoint: Some(url.to_string()),
        };
        let secrets = crate::cloud::test_store(secret);
        FromConfig::connect("prod", &keys, &secrets, Limits::default())
    }

    /// Every value of `ServerState` in the Instance API (SDK `ServerState`).
    #[test]
    fn every_documented_state_is_normalized() {
        use ServerStatus::*;
        let table = [
            ("running", Running),
            ("stopped", Stopped),
            ("stopped in place", Stopped),
            ("starting", Pending),
            ("stopping", Stopping),
            ("locked", Unknown),
            ("something-new", Unknown),
        ];
        crate::cloud::assert_states(normalize, &table);
    }

    #[test]
    fn the_secret_key_appears_nowhere_in_debug() {
        crate::cloud::assert_hidden(&scaleway(), &[SECRET], &["prod", "nl-ams-1"]);
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_sent() {
        let s = scaleway();
        assert!(
            s.check("fr-par-1", "3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c")
                .is_ok()
        );
        for (zone, id) in [
            ("fr-par-2", "3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c"),
            ("fr-par-1", "web-1"),
            ("fr-par-1", "3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c/action"),
            ("fr-par-1", ""),
        ] {
            assert_eq!(
                s.check(zone, id).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{zone} {id}"
            );
        }
        for (secret, zones, project) in [
            ("", vec!["fr-par-1"], None),
            (SECRET, vec![], None),
            (SECRET, vec!["fr-par"], None),
            (SECRET, vec!["FR-PAR-1"], None),
            (SECRET, vec!["fr-par-1", "fr-par-1"], None),
            (SECRET, vec!["fr-par-1"], Some("my-project")),
        ] {
            let e = connect(DEFAULT_URL, secret, &zones, project).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{zones:?} {project:?}");
        }
    }

    #[test]
    fn key_value_tags_become_tags_and_plain_ones_keys() {
        let s: SServer = serde_json::from_value(serde_json::json!({
            "id": "3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c", "name": "web-1", "state": "running",
            "tags": ["production", "team=checkout"]
        }))
        .unwrap();
        let server = scaleway().server_of("fr-par-1", s);
        assert_eq!(server.region, "fr-par-1");
        assert_eq!(server.tags.get("production").map(String::as_str), Some(""));
        assert_eq!(
            server.tags.get("team").map(String::as_str),
            Some("checkout")
        );
    }
}
