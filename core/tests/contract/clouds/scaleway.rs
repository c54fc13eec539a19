//! Scaleway Instances (core/src/cloud/scaleway.rs) against a contract server (wiremock) that
//! answers as the Instance API v1 reference says
//! (https://www.scaleway.com/en/developers/api/instance/; shapes as in scaleway/scaleway-sdk-go
//! `api/instance/v1/instance_sdk.go`, generated from the same spec), errors included
//! (https://www.scaleway.com/en/developers/api/#errors): its [`Api`] for the scenario table,
//! and its own cases. Each test names what it follows.

use super::{CloudMock, Facts, RebootMock, assert_error_row, by_status, followed, keyring, limits};
use crate::support::assert_fails;
use crate::support::{Serve, given, received, start_expecting, store};
use paaf_core::ErrorCode;
use paaf_core::cloud::scaleway::{Scaleway, ScalewayConfig};
use paaf_core::cloud::{CloudProvider, FromConfig, PowerAction, ServerStatus};
use paaf_core::http::Limits;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(super) const SECRET: &str = "5a7e1c3b-0d9f-4e2a-8b6c-c0ffee5ec12e";
const PROJECT: &str = "00000000-0000-4000-8000-000000000001";
pub(super) const ID: &str = "3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c";
const TASK: &str = "b9a1f2c3-4d5e-4f60-8a7b-9c0d1e2f3a4b";

/// Scaleway's Instance API for the scenario table: its `regions` are the zones it lists, one
/// listing each ("List all Instances", paged to `total_count`), "Perform action" answering a
/// task, errors `{"type", "message"}`.
pub struct Api;

impl CloudMock for Api {
    const REGION_2: &'static str = "nl-ams-1";
    const PER_REGION: bool = true;

    fn list_in(zone: &str) -> String {
        format!("/instance/v1/zones/{zone}/servers")
    }

    fn read_path(id: &str) -> String {
        server_path("fr-par-1", id)
    }

    fn server(id: &str, region: &str) -> Value {
        server_body(id, "web-1", "running", region)
    }

    fn page(servers: Vec<Value>) -> Value {
        json!({"total_count": servers.len(), "servers": servers})
    }

    /// Every page the same, short of the count it announces: an API fault, not a loop.
    fn looping_page() -> Value {
        json!({"servers": [Self::server(ID, "fr-par-1")], "total_count": 9})
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        let kind = by_status(
            status,
            "denied_authentication, permissions_denied, not_found, transient_state, too_many_requests, internal_error",
        );
        ResponseTemplate::new(status).set_body_json(error_body(kind, message))
    }

    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(202).set_body_json(task_body("poweroff"))
    }

    fn read_answer(server: Value) -> Value {
        json!({ "server": server })
    }
    /// A reboot: its task is not followed (it proves nothing paaf reads).
    fn reboot(_server: &MockServer) -> RebootMock {
        RebootMock::sent(
            PowerAction::Reboot,
            "POST",
            Self::POWER.2,
            ResponseTemplate::new(202).set_body_json(task_body("reboot")),
        )
    }
}

fn scaleway_with(server: &MockServer, zones: &[&str], limits: Limits) -> Scaleway {
    let keys = ScalewayConfig {
        token: keyring("contract"),
        zones: zones.iter().map(|z| z.to_string()).collect(),
        project: Some(PROJECT.to_string()),
        endpoint: Some(server.uri()),
    };
    Scaleway::connect("prod", &keys, &store(&[("contract", SECRET)]), limits).unwrap()
}

fn scaleway(server: &MockServer) -> Scaleway {
    scaleway_with(server, &["fr-par-1"], limits())
}

fn server_path(zone: &str, id: &str) -> String {
    format!("/instance/v1/zones/{zone}/servers/{id}")
}

/// A `server` as "Get an Instance" and "List all Instances" return it
/// (`scaleway.instance.v1.Server`).
fn server_body(id: &str, name: &str, state: &str, zone: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "organization": "00000000-0000-4000-8000-000000000000",
        "project": PROJECT,
        "allowed_actions": ["poweroff", "terminate", "reboot", "stop_in_place", "backup"],
        "tags": ["production", "team=checkout"],
        "commercial_type": "DEV1-S",
        "creation_date": "2026-01-15T10:30:00.000000+00:00",
        "dynamic_ip_required": false,
        "routed_ip_enabled": true,
        "enable_ipv6": false,
        "hostname": name,
        "image": {"id": "f974feac-abae-4365-b988-8ec7d1cec10d", "name": "Ubuntu 22.04 Jammy Jellyfish", "arch": "x86_64"},
        "protected": false,
        "private_ip": null,
        "public_ip": {"id": "c5b4d2a9-0000-4000-8000-00000000aaaa", "address": "51.158.10.100", "dynamic": false, "family": "inet", "provisioning_mode": "dhcp", "state": "attached"},
        "public_ips": [
            {"id": "c5b4d2a9-0000-4000-8000-00000000aaaa", "address": "51.158.10.100", "dynamic": false, "family": "inet", "provisioning_mode": "dhcp", "state": "attached"},
            {"id": "c5b4d2a9-0000-4000-8000-00000000bbbb", "address": "2001:bc8:710::1", "dynamic": false, "family": "inet6", "provisioning_mode": "slaac", "state": "attached"}
        ],
        "mac_address": "de:00:00:50:41:01",
        "modification_date": "2026-03-01T09:00:00.000000+00:00",
        "state": state,
        "location": {"cluster_id": "40", "hypervisor_id": "1401", "node_id": "2", "platform_id": "14", "zone_id": "par1"},
        "ipv6": null,
        "boot_type": "local",
        "volumes": {},
        "security_group": {"id": "0b5e6b9e-0000-4000-8000-000000000000", "name": "Default security group"},
        "maintenances": [],
        "state_detail": if state == "running" { "booted" } else { "" },
        "arch": "x86_64",
        "placement_group": null,
        "private_nics": [],
        "zone": zone
    })
}

/// "Perform action" answer: `scaleway.instance.v1.ServerActionResponse`.
fn task_body(verb: &str) -> Value {
    json!({"task": {
        "id": TASK,
        "description": format!("server_{verb}"),
        "progress": 0,
        "started_at": "2026-03-01T09:00:00.000000+00:00",
        "terminated_at": null,
        "status": "pending",
        "href_from": format!("/servers/{ID}/action"),
        "href_result": format!("/servers/{ID}"),
        "zone": "fr-par-1"
    }})
}

/// https://www.scaleway.com/en/developers/api/#errors
fn error_body(kind: &str, message: &str) -> Value {
    json!({"type": kind, "message": message})
}

async fn mount_server(server: &MockServer, state: &str, times: Option<u64>) {
    let mock = Mock::given(method("GET"))
        .and(path(server_path("fr-par-1", ID)))
        .and(header("x-auth-token", SECRET))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"server": server_body(ID, "web-1", state, "fr-par-1")})),
        );
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// "List all Instances" (https://www.scaleway.com/en/developers/api/instance/): `page`/`per_page`
/// (≤ 100) and `project`, `X-Total-Count` saying how many there are in all; each zone is read, a
/// failing one is its own error row.
#[tokio::test]
async fn lists_every_page_of_every_zone() {
    let server = MockServer::start().await;
    let list = |servers: Vec<Value>, total: usize| {
        ResponseTemplate::new(200)
            .insert_header("x-total-count", total.to_string().as_str())
            .set_body_json(json!({"servers": servers, "total_count": total}))
    };
    for (zone, page, servers, total) in [
        (
            "fr-par-1",
            "1",
            vec![
                server_body(&uuid(1), "web-1", "running", "fr-par-1"),
                server_body(&uuid(2), "web-2", "stopped in place", "fr-par-1"),
            ],
            3,
        ),
        (
            "fr-par-1",
            "2",
            vec![server_body(&uuid(3), "db-1", "starting", "fr-par-1")],
            3,
        ),
        (
            "nl-ams-1",
            "1",
            vec![server_body(&uuid(4), "cache-1", "stopped", "nl-ams-1")],
            1,
        ),
    ] {
        server
            .expect(
                given("GET", format!("/instance/v1/zones/{zone}/servers"))
                    .and(query_param("per_page", "100"))
                    .and(query_param("page", page))
                    .and(query_param("project", PROJECT))
                    .and(header("x-auth-token", SECRET)),
                list(servers, total),
                1,
            )
            .await;
    }
    let served = ResponseTemplate::new(403).set_body_json(json!({
        "type": "permissions_denied",
        "message": "insufficient permissions",
        "details": [{"resource": "instance_server", "action": "read"}]
    }));
    server
        .expect(
            given("GET", "/instance/v1/zones/pl-waw-1/servers"),
            served,
            1,
        )
        .await;
    let account = scaleway_with(&server, &["fr-par-1", "nl-ams-1", "pl-waw-1"], limits());
    let inventory = CloudProvider::list(&account).await;
    let ids: Vec<String> = inventory.servers.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, vec![uuid(3), uuid(1), uuid(2), uuid(4)]);
    let web = &inventory.servers[1];
    assert_eq!(web.provider, "scaleway");
    assert_eq!(web.region, "fr-par-1");
    assert_eq!(web.name.as_deref(), Some("web-1"));
    assert_eq!(web.status, ServerStatus::Running);
    assert_eq!(web.public_ips, vec!["51.158.10.100", "2001:bc8:710::1"]);
    assert_eq!(web.tags.get("team").map(String::as_str), Some("checkout"));
    assert_eq!(web.launched_at_ms, Some(1_768_473_000_000));
    assert_eq!(inventory.servers[0].status, ServerStatus::Pending);
    assert_eq!(inventory.servers[2].status, ServerStatus::Stopped);
    assert_eq!(inventory.servers[2].raw_state, "stopped in place");
    assert_eq!(inventory.servers[3].region, "nl-ams-1");
    assert_eq!(inventory.errors.len(), 1);
    let row = &inventory.errors[0];
    assert_error_row(
        row,
        "pl-waw-1",
        ErrorCode::PermissionDenied,
        &["InstancesFullAccess"],
    );
}

/// "List all Instances" (https://www.scaleway.com/en/developers/api/instance/): pages are
/// read until `total_count` servers were; an empty page short of it is an API fault, not the
/// end; without a count, a page shorter than `per_page` is the last.
#[tokio::test]
async fn pages_are_read_to_the_count_and_a_short_one_ends_a_listing_without_one() {
    let server = MockServer::start().await;
    let zone = |zone: &str, page: &str, body: Value| {
        Mock::given(method("GET"))
            .and(path(format!("/instance/v1/zones/{zone}/servers")))
            .and(query_param("page", page))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    let one = vec![server_body(&uuid(1), "web-1", "running", "fr-par-1")];
    zone("fr-par-1", "1", json!({"servers": one, "total_count": 2}))
        .mount(&server)
        .await;
    zone("fr-par-1", "2", json!({"servers": [], "total_count": 2}))
        .mount(&server)
        .await;
    let two = vec![server_body(&uuid(2), "db-1", "stopped", "nl-ams-1")];
    zone("nl-ams-1", "1", json!({ "servers": two }))
        .expect(1)
        .mount(&server)
        .await;
    let account = scaleway_with(&server, &["fr-par-1", "nl-ams-1"], limits());
    let inventory = account.list().await;
    let ids: Vec<String> = inventory.servers.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, vec![uuid(2)]);
    let [row] = inventory.errors.as_slice() else {
        panic!("{:?}", inventory.errors);
    };
    assert_error_row(row, "fr-par-1", ErrorCode::MalformedResponse, &[]);
}

/// "Perform action" (https://www.scaleway.com/en/developers/api/instance/): one POST of `{"action":
/// …}` answered with a task; the server is then read until it is in the action's target state.
#[tokio::test]
async fn each_power_action_is_sent_once_and_followed_to_its_end() {
    for (action_kind, verb, between, after) in [
        (PowerAction::Reboot, "reboot", "running", "running"),
        (PowerAction::Stop, "poweroff", "stopping", "stopped"),
        (PowerAction::Start, "poweron", "starting", "running"),
    ] {
        let served = ResponseTemplate::new(202).set_body_json(task_body(verb));
        let server = start_expecting(
            given("POST", format!("{}/action", server_path("fr-par-1", ID)))
                .and(header("x-auth-token", SECRET))
                .and(header("content-type", "application/json"))
                .and(body_json(json!({"action": verb}))),
            served,
            1,
        )
        .await;
        mount_server(&server, between, Some(2)).await;
        mount_server(&server, after, None).await;
        let outcome = followed(&scaleway(&server), "fr-par-1", ID, action_kind)
            .await
            .unwrap();
        assert_eq!(outcome.accepted.operation.as_deref(), Some(TASK), "{verb}");
        assert_eq!(outcome.server.status, action_kind.target(), "{verb}");
        assert_eq!(outcome.server.raw_state, after, "{verb}");
        assert_eq!(received(&server, "POST").await, 1, "{verb}");
        if between != after {
            assert_eq!(outcome.polls, 3, "{verb}");
        }
    }
}

/// The Instance API's actions (https://www.scaleway.com/en/developers/api/instance/) have no hard
/// reboot (`ServerAction`: poweron, backup, stop_in_place, poweroff, terminate, reboot,
/// enable_routed_ip): refused, nothing sent.
#[tokio::test]
async fn a_hard_reboot_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    assert_fails(
        scaleway(&server)
            .power("fr-par-1", ID, PowerAction::HardReboot)
            .await,
        ErrorCode::InvalidInput,
        &["stop then start"],
    );
    assert_fails(
        scaleway(&server)
            .power("fr-par-2", ID, PowerAction::Reboot)
            .await,
        ErrorCode::InvalidInput,
        &[],
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// https://www.scaleway.com/en/developers/api/#errors: `transient_state` (409: the server is
/// changing state) and `precondition_failed` (412).
#[tokio::test]
async fn a_server_in_the_wrong_state_is_a_conflict() {
    for (status, body) in [
        (
            409,
            json!({"type": "transient_state", "message": "resource is in a transient state",
                "resource": "instance_server", "resource_id": ID, "current_state": "starting"}),
        ),
        (
            412,
            json!({"type": "precondition_failed", "message": "server should be stopped",
                "precondition": "server_should_be_stopped"}),
        ),
    ] {
        let e = start_answered(ResponseTemplate::new(status).set_body_json(body)).await;
        assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    }
}

/// "Perform action" (https://www.scaleway.com/en/developers/api/instance/) answering what its
/// schema does not allow (no task): a malformed response, sent once.
#[tokio::test]
async fn an_action_answered_without_its_task_is_malformed() {
    let e = start_answered(ResponseTemplate::new(202).set_body_json(json!({"task": null}))).await;
    assert_eq!(e.code(), ErrorCode::MalformedResponse, "{e}");
}

/// The error of a start ("Perform action" `poweron`) answered `answer`, which is sent once.
async fn start_answered(answer: ResponseTemplate) -> paaf_core::Error {
    let server = start_expecting(
        given("POST", format!("{}/action", server_path("fr-par-1", ID))),
        answer,
        1,
    )
    .await;
    let account = scaleway(&server);
    account
        .power("fr-par-1", ID, PowerAction::Start)
        .await
        .unwrap_err()
}
