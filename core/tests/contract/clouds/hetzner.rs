//! Hetzner Cloud (core/src/cloud/hetzner.rs) against a contract server (wiremock) that
//! answers as the Hetzner Cloud API reference says
//! (https://docs.hetzner.cloud/reference/cloud; the shapes come from its OpenAPI spec, a subset
//! of which is in shared/reference/openapi/hetzner-cloud-servers-actions.subset.openapi.json),
//! errors included: its [`Api`] for the scenario table, and its own cases. Each test names the
//! operation or section it follows.

use super::{CloudMock, RebootMock, by_status, fast, followed, limits, mount_reads};
use super::{brief, followed_cancelled, followed_with, keyring};
use crate::support::assert_fails;
use crate::support::{Serve, given, start_expecting, start_serving, store};
use paaf_core::ErrorCode;
use paaf_core::cloud::hetzner::Hetzner;
use paaf_core::cloud::{
    CloudAccount, Evidence, FromConfig, PollSettings, PowerAction, ServerStatus, TokenConfig,
};
use paaf_core::events::CancellationToken;
use paaf_core::http::Limits;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(super) const TOKEN: &str = "hcloud-Zx9q-contract-token-0123456789abcdefghijklmnopqrstuv";

/// Hetzner Cloud's API for the scenario table: `list_servers`, `get_server`,
/// `shutdown_server`, errors `{"error": {"code", "message"}}`
/// (https://docs.hetzner.cloud/reference/cloud#errors).
pub struct Api;

impl CloudMock for Api {
    fn read_path(id: &str) -> String {
        format!("/servers/{id}")
    }

    fn server(id: &str, region: &str) -> Value {
        server_body(id.parse().unwrap(), "web-1", "running", region)
    }

    fn page(servers: Vec<Value>) -> Value {
        page(servers, 1, None)
    }

    fn looping_page() -> Value {
        page(vec![Self::server("42", "fsn1")], 1, Some(1))
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        let code = by_status(
            status,
            "unauthorized, forbidden, not_found, conflict, rate_limit_exceeded, server_error",
        );
        ResponseTemplate::new(status).set_body_json(error_body(code, message))
    }

    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(201).set_body_json(action(13, "stop_server", "running", Value::Null))
    }

    fn read_answer(server: Value) -> Value {
        json!({ "server": server })
    }

    /// `reset_server`, whose action ends once the server was reset (a soft reboot's ends
    /// once the ACPI request was sent: see its own case).
    fn reboot(_server: &MockServer) -> RebootMock {
        let accepted = action(13, "reset_server", "running", Value::Null);
        let done = action(13, "reset_server", "success", Value::Null);
        RebootMock::sent(
            PowerAction::HardReboot,
            "POST",
            "/servers/42/actions/reset",
            ResponseTemplate::new(201).set_body_json(accepted),
        )
        .then_read(
            "/actions/13",
            ResponseTemplate::new(200).set_body_json(done),
        )
    }

    fn rate_limit_headers() -> Vec<(&'static str, String)> {
        let reset = chrono::Utc::now().timestamp() + 120;
        vec![("ratelimit-reset", reset.to_string())]
    }
}

fn hetzner_with(server: &MockServer, locations: &[&str], limits: Limits) -> Hetzner {
    let keys = TokenConfig {
        token: keyring("contract"),
        regions: locations.iter().map(|l| l.to_string()).collect(),
        endpoint: Some(format!("{}/v1", server.uri())),
    };
    Hetzner::connect("prod", &keys, &store(&[("contract", TOKEN)]), limits).unwrap()
}

fn hetzner(server: &MockServer) -> Hetzner {
    hetzner_with(server, &[], limits())
}

/// A `server` object as `get_server` / `list_servers` return it (schema `server`).
fn server_body(id: u64, name: &str, status: &str, location: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "status": status,
        "created": "2016-01-30T23:55:00Z",
        "backup_window": "22-02",
        "datacenter": {
            "id": 1, "name": format!("{location}-dc3"), "description": "Datacenter",
            "location": {"id": 1, "name": location, "city": "Falkenstein", "country": "DE",
                "description": "Falkenstein DC Park 1", "latitude": 50.47612, "longitude": 12.370071,
                "network_zone": "eu-central"},
            "server_types": {"available": [1], "available_for_migration": [1], "supported": [1]}
        },
        "location": {"id": 1, "name": location, "city": "Falkenstein", "country": "DE",
            "description": "Falkenstein DC Park 1", "latitude": 50.47612, "longitude": 12.370071,
            "network_zone": "eu-central"},
        "image": null,
        "included_traffic": 654321,
        "ingoing_traffic": 123456,
        "outgoing_traffic": 123456,
        "iso": null,
        "labels": {"environment": "prod", "team": "checkout"},
        "load_balancers": [],
        "locked": false,
        "placement_group": null,
        "primary_disk_size": 50,
        "private_net": [{"alias_ips": ["10.0.0.3"], "ip": "10.0.0.2", "mac_address": "86:00:ff:2a:7d:e1", "network": 4711}],
        "protection": {"delete": false, "rebuild": false},
        "public_net": {
            "firewalls": [{"id": 42, "status": "applied"}],
            "floating_ips": [478],
            "ipv4": {"blocked": false, "dns_ptr": "server01.example.com", "id": 42, "ip": "1.2.3.4"},
            "ipv6": {"blocked": false, "dns_ptr": [{"dns_ptr": "server.example.com", "ip": "2001:db8::1"}], "id": 42, "ip": "2001:db8::/64"}
        },
        "rescue_enabled": false,
        "server_type": {"id": 1, "name": "cpx11", "cores": 2, "memory": 2, "disk": 40},
        "volumes": []
    })
}

fn page(servers: Vec<Value>, page: u64, next: Option<u64>) -> Value {
    json!({
        "servers": servers,
        "meta": {"pagination": {
            "page": page, "per_page": 50, "previous_page": if page > 1 { json!(page - 1) } else { Value::Null },
            "next_page": next, "last_page": 2, "total_entries": 3
        }}
    })
}

/// An `action` object (schema `action`), as the action calls and `get_action` return it.
fn action(id: u64, command: &str, status: &str, error: Value) -> Value {
    json!({"action": {
        "id": id, "command": command, "status": status, "progress": if status == "running" { 0 } else { 100 },
        "started": "2016-01-30T23:50:00Z",
        "finished": if status == "running" { Value::Null } else { json!("2016-01-30T23:55:00Z") },
        "resources": [{"id": 42, "type": "server"}],
        "error": error
    }})
}

/// https://docs.hetzner.cloud/reference/cloud#errors
fn error_body(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "details": {}}})
}

/// `list_servers` (https://docs.hetzner.cloud/reference/cloud#pagination): `page` and
/// `per_page`, then `meta.pagination.next_page` until it is null.
#[tokio::test]
async fn lists_every_page_of_servers() {
    let served = ResponseTemplate::new(200).set_body_json(page(
        vec![
            server_body(42, "web-1", "running", "fsn1"),
            server_body(43, "db-1", "off", "nbg1"),
        ],
        1,
        Some(2),
    ));
    let server = start_expecting(
        given("GET", "/v1/servers?page=1&per_page=50")
            .and(header("authorization", format!("Bearer {TOKEN}").as_str())),
        served,
        2,
    )
    .await;
    let served = ResponseTemplate::new(200).set_body_json(page(
        vec![server_body(44, "web-2", "initializing", "fsn1")],
        2,
        None,
    ));
    server
        .expect(given("GET", "/v1/servers?page=2&per_page=50"), served, 2)
        .await;
    // Each page is read once per listing, and there are two listings.
    let inventory = hetzner(&server).list().await;
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    let ids: Vec<&str> = inventory.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["42", "44", "43"], "sorted by location, name");
    let web = &inventory.servers[0];
    assert_eq!(web.provider, "hetzner");
    assert_eq!(web.account, "prod");
    assert_eq!(web.region, "fsn1");
    assert_eq!(web.name.as_deref(), Some("web-1"));
    assert_eq!(web.status, ServerStatus::Running);
    assert_eq!(web.raw_state, "running");
    assert_eq!(web.public_ips, vec!["1.2.3.4", "2001:db8::/64"]);
    assert_eq!(web.private_ips, vec!["10.0.0.2", "10.0.0.3"]);
    assert_eq!(web.tags.get("team").map(String::as_str), Some("checkout"));
    assert_eq!(web.launched_at_ms, Some(1_454_198_100_000));
    assert_eq!(inventory.servers[1].status, ServerStatus::Pending);
    assert_eq!(inventory.servers[2].status, ServerStatus::Stopped);

    // Configured regions keep the servers of those locations only.
    let only_nbg = hetzner_with(&server, &["nbg1"], limits()).list().await;
    let ids: Vec<&str> = only_nbg.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["43"]);
}

/// Each power action (https://docs.hetzner.cloud/reference/cloud: `soft_reboot_server`,
/// `reset_server`, `shutdown_server`, `poweron_server`): one POST without a body answered 201 with
/// a running action, which is then read with `get_action` until `success`, then the server until
/// its target state.
#[tokio::test]
async fn each_power_action_is_sent_once_and_followed_to_its_end() {
    for (action_kind, verb, command, before, after) in [
        (
            PowerAction::Reboot,
            "reboot",
            "reboot_server",
            "running",
            "running",
        ),
        (
            PowerAction::HardReboot,
            "reset",
            "reset_server",
            "running",
            "running",
        ),
        (
            PowerAction::Stop,
            "shutdown",
            "shutdown_server",
            "stopping",
            "off",
        ),
        (
            PowerAction::Start,
            "poweron",
            "start_server",
            "starting",
            "running",
        ),
    ] {
        let served =
            ResponseTemplate::new(201).set_body_json(action(13, command, "running", Value::Null));
        let server = start_expecting(
            given("POST", format!("/v1/servers/42/actions/{verb}"))
                .and(header("authorization", format!("Bearer {TOKEN}").as_str())),
            served,
            1,
        )
        .await;
        Mock::given(method("GET"))
            .and(path("/v1/actions/13"))
            .respond_with(ResponseTemplate::new(200).set_body_json(action(
                13,
                command,
                "running",
                Value::Null,
            )))
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        let served =
            ResponseTemplate::new(200).set_body_json(action(13, command, "success", Value::Null));
        server
            .expect(given("GET", "/v1/actions/13"), served, 1)
            .await;
        let reads = [before, after]
            .map(|status| json!({"server": server_body(42, "web-1", status, "fsn1")}));
        mount_reads(&server, "/v1/servers/42", TOKEN, reads).await;
        let outcome = followed(&hetzner(&server), "fsn1", "42", action_kind)
            .await
            .unwrap();
        assert_eq!(outcome.accepted.operation.as_deref(), Some("13"), "{verb}");
        assert_eq!(outcome.server.status, action_kind.target(), "{verb}");
        assert_eq!(outcome.server.raw_state, after, "{verb}");
        // The soft reboot's action says only that the ACPI request was sent
        // (`soft_reboot_server`: the OS "must support ACPI and react to the request"), and
        // the server reads running throughout: no proof. The reset's action is.
        let evidence = match action_kind {
            PowerAction::Reboot => None,
            PowerAction::HardReboot => Some(Evidence::OperationCompleted {
                operation: "13".into(),
            }),
            _ => Some(Evidence::StateReadBack {
                raw_state: after.into(),
            }),
        };
        assert_eq!(outcome.evidence, evidence, "{verb}");
        let posts: Vec<_> = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.method.as_str() == "POST")
            .collect();
        assert_eq!(posts.len(), 1, "{verb}");
        assert!(posts[0].body.is_empty(), "{verb}: no body");
        assert_eq!(posts[0].url.query(), None, "{verb}: no query");
    }
}

/// `get_action` (https://docs.hetzner.cloud/reference/cloud): an action whose `status` is `error`
/// fails the power action, naming the server and Hetzner's error.
#[tokio::test]
async fn a_failed_action_is_an_error_naming_the_server() {
    let served = ResponseTemplate::new(201).set_body_json(action(
        13,
        "start_server",
        "running",
        Value::Null,
    ));
    let server = start_expecting(given("POST", "/v1/servers/42/actions/poweron"), served, 1).await;
    let served = ResponseTemplate::new(200).set_body_json(action(
        13,
        "start_server",
        "error",
        json!({"code": "action_failed", "message": "Action failed"}),
    ));
    server
        .expect(given("GET", "/v1/actions/13"), served, 1)
        .await;
    assert_fails(
        followed(&hetzner(&server), "fsn1", "42", PowerAction::Start).await,
        ErrorCode::ServiceFailed,
        &["server 42", "action_failed"],
    );
}

/// Following an action (`get_action`, https://docs.hetzner.cloud/reference/cloud) stops when
/// cancelled, before reading it.
#[tokio::test]
async fn cancelling_ends_the_wait_for_an_action() {
    let served = ResponseTemplate::new(201).set_body_json(action(
        13,
        "reboot_server",
        "running",
        Value::Null,
    ));
    let server = start_expecting(given("POST", "/v1/servers/42/actions/reboot"), served, 1).await;
    assert_fails(
        followed_cancelled(&hetzner(&server), "fsn1", "42", PowerAction::Reboot).await,
        ErrorCode::Cancelled,
        &[],
    );
}

/// An action still `running` (`get_action`, https://docs.hetzner.cloud/reference/cloud) when the
/// wait is over is a timeout naming it.
#[tokio::test]
async fn an_action_that_never_ends_times_out() {
    let served = ResponseTemplate::new(201).set_body_json(action(
        13,
        "shutdown_server",
        "running",
        Value::Null,
    ));
    let server = start_serving(given("POST", "/v1/servers/42/actions/shutdown"), served).await;
    let served = ResponseTemplate::new(200).set_body_json(action(
        13,
        "shutdown_server",
        "running",
        Value::Null,
    ));
    server.serve(given("GET", "/v1/actions/13"), served).await;
    assert_fails(
        followed_with(&hetzner(&server), "fsn1", "42", PowerAction::Stop, brief()).await,
        ErrorCode::Timeout,
        &["action 13 (stop) of server 42"],
    );
}

/// https://docs.hetzner.cloud/reference/cloud#errors: `locked` (423: an action is already running
/// on the server) and `conflict` (409).
#[tokio::test]
async fn a_locked_or_conflicting_server_is_a_conflict() {
    for (status, code, verb, action_kind) in [
        (423, "locked", "reboot", PowerAction::Reboot),
        (409, "conflict", "shutdown", PowerAction::Stop),
    ] {
        let server = MockServer::start().await;
        let served = ResponseTemplate::new(status)
            .set_body_json(error_body(code, "server is locked by another action"));
        server
            .expect(
                given("POST", format!("/v1/servers/42/actions/{verb}")),
                served,
                1,
            )
            .await;
        assert_fails(
            hetzner(&server).power("fsn1", "42", action_kind).await,
            ErrorCode::Conflict,
            &[code],
        );
    }
}

/// `list_servers` and `poweron_server` (https://docs.hetzner.cloud/reference/cloud) answering what
/// their schemas do not allow.
#[tokio::test]
async fn malformed_json_is_reported_as_such() {
    let served = ResponseTemplate::new(200).set_body_string("{\"servers\": [{\"id\": 42,");
    let server = start_serving(given("GET", "/v1/servers"), served).await;
    let served = ResponseTemplate::new(201).set_body_json(json!({"action": {"id": "x"}}));
    server
        .expect(given("POST", "/v1/servers/42/actions/poweron"), served, 1)
        .await;
    let h = hetzner(&server);
    let inventory = h.list().await;
    assert_eq!(inventory.errors[0].error.code, ErrorCode::MalformedResponse);
    assert_fails(
        h.power("fsn1", "42", PowerAction::Start).await,
        ErrorCode::MalformedResponse,
        &[],
    );
}

/// Reading the action (`get_action`, https://docs.hetzner.cloud/reference/cloud#rate-limiting): a
/// 429's `Retry-After` is waited out before the next read (here with no retry in the HTTP client,
/// so the wait is the provider's own), within the poll timeout.
#[tokio::test]
async fn a_retry_after_while_following_an_action_is_honoured() {
    let served = ResponseTemplate::new(201).set_body_json(action(
        13,
        "start_server",
        "running",
        Value::Null,
    ));
    let server = start_expecting(given("POST", "/v1/servers/42/actions/poweron"), served, 1).await;
    Mock::given(method("GET"))
        .and(path("/v1/actions/13"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(error_body("rate_limit_exceeded", "limit reached")),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let served = ResponseTemplate::new(200).set_body_json(action(
        13,
        "start_server",
        "success",
        Value::Null,
    ));
    server
        .expect(given("GET", "/v1/actions/13"), served, 1)
        .await;
    let no_retry = Limits {
        max_attempts: 1,
        ..limits()
    };
    let h = hetzner_with(&server, &[], no_retry);
    let accepted = h.power("fsn1", "42", PowerAction::Start).await.unwrap();
    let started = std::time::Instant::now();
    h.settle("fsn1", &accepted, fast(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // A wait longer than what is left of the poll timeout ends it at once, rate limited.
    let short = PollSettings {
        interval: Duration::from_millis(20),
        timeout: Duration::from_millis(500),
    };
    let served = ResponseTemplate::new(429)
        .insert_header("retry-after", "30")
        .set_body_json(error_body("rate_limit_exceeded", "limit reached"));
    server
        .expect(given("GET", "/v1/actions/14"), served, 1)
        .await;
    let later = paaf_core::cloud::Accepted {
        operation: Some("14".into()),
        ..accepted
    };
    let started = std::time::Instant::now();
    assert_fails(
        h.settle("fsn1", &later, short, &CancellationToken::new())
            .await,
        ErrorCode::RateLimited,
        &["action 14 (start) of server 42"],
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// Reading the action (`get_action`): a hostile or broken `Retry-After` of 2^64 - 1 seconds,
/// a second into the wait, ends it with a timeout naming the action; adding it to the time
/// waited so far overflowed (a panic) before the follower and the HTTP client capped it.
#[tokio::test]
async fn a_huge_retry_after_while_following_an_action_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/actions/13"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("retry-after", "1")
                .set_body_json(action(13, "stop_server", "running", Value::Null)),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let served = ResponseTemplate::new(200)
        .insert_header("retry-after", u64::MAX.to_string().as_str())
        .set_body_json(action(13, "stop_server", "running", Value::Null));
    server
        .expect(given("GET", "/v1/actions/13"), served, 1)
        .await;
    let accepted = paaf_core::cloud::Accepted {
        action: PowerAction::Stop,
        id: "42".into(),
        status: None,
        raw_state: None,
        operation: Some("13".into()),
    };
    assert_fails(
        hetzner(&server)
            .settle("fsn1", &accepted, fast(), &CancellationToken::new())
            .await,
        ErrorCode::Timeout,
        &["action 13 (stop) of server 42"],
    );
}
