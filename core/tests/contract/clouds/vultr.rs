//! Vultr (core/src/cloud/vultr.rs) against a contract server (wiremock) that answers as
//! Vultr's API reference says, failures included: its [`Api`] for the scenario table, and
//! its own cases.
//!
//! Followed: https://www.vultr.com/api/ (its OpenAPI description:
//! /work/shared/reference/openapi/vultr-v2.openapi.json):
//! - list-instances: `GET /v2/instances?per_page&cursor` → `{instances, meta: {total, links:
//!   {next, prev}}}`, the next page's cursor in `meta.links.next`
//!   (#section/Introduction/Meta-and-Pagination);
//! - get-instance: `GET /v2/instances/{id}` → `{instance}` with `status`, `power_status`,
//!   `server_status`;
//! - reboot-instance, halt-instance, start-instance: `POST /v2/instances/{id}/reboot|halt|start`
//!   → 204; the reboot is a hard one
//!   (https://docs.vultr.com/products/compute/cloud-compute/management/restart-instance);
//! - errors (#section/Introduction/Response-Codes): 4xx with `{"error", "status"}`; 400, 401,
//!   403, 404, 429 (over 30 requests a second), 500;
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3.

use super::{CloudMock, RebootMock, connected, followed, mount_reads};
use crate::support::requests;
use crate::support::{Serve, assert_fails, given, start_expecting};
use paaf_core::ErrorCode;
use paaf_core::cloud::vultr::Vultr;
use paaf_core::cloud::{Accepted, CloudProvider, Evidence, PowerAction, ServerStatus};
use serde_json::{Value, json};
use wiremock::matchers::{header, query_param_is_missing};
use wiremock::{MockServer, ResponseTemplate};

pub(super) const KEY: &str = "VULTR5ECRETKEY0123456789ABCDEFGHIJKLM";
pub(super) const ID: &str = "cb676a46-66fd-4dfb-b839-443f2e6c0b60";
pub(super) const ID_2: &str = "4f0f12e5-1f84-404f-aa84-85f431ea5ec2";
const ID_3: &str = "e5f7c9a0-2b4d-4e6f-8a1c-3d5e7f9b1c2d";

/// Vultr's API for the scenario table.
pub struct Api;

impl CloudMock for Api {
    fn read_path(id: &str) -> String {
        format!("/v2/instances/{id}")
    }

    fn server(id: &str, region: &str) -> Value {
        instance(id, "web-1", region, "active/running/ok")
    }

    fn page(servers: Vec<Value>) -> Value {
        json!({"instances": servers, "meta": {"total": servers.len(), "links": {"next": "", "prev": ""}}})
    }

    /// A cursor that does not move: an API fault, not an endless loop.
    fn looping_page() -> Value {
        json!({
            "instances": [Self::server(ID, "ewr")],
            "meta": {"total": 9, "links": {"next": "SameCursor", "prev": ""}}
        })
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        error(status, message)
    }

    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(204)
    }

    fn read_answer(server: Value) -> Value {
        json!({ "instance": server })
    }

    /// reboot-instance (a hard reset) answers 204: no operation to follow.
    fn reboot(_server: &MockServer) -> RebootMock {
        RebootMock::sent(
            PowerAction::HardReboot,
            "POST",
            format!("{}/reboot", instance_path()),
            ResponseTemplate::new(204),
        )
    }
}

fn account(server: &MockServer) -> Vultr {
    connected::<Vultr>(&server.uri(), KEY)
}

/// `action` sent to instance `id` in `ewr` by the account at `server`.
async fn power(server: &MockServer, id: &str, action: PowerAction) -> paaf_core::Result<Accepted> {
    account(server).power("ewr", id, action).await
}

fn bearer() -> String {
    format!("Bearer {KEY}")
}

fn instance_path() -> String {
    format!("/v2/instances/{ID}")
}

/// An instance as get-instance documents it; `state` is `status/power_status/server_status`.
fn instance(id: &str, label: &str, region: &str, state: &str) -> Value {
    let parts: Vec<&str> = state.split('/').collect();
    json!({
        "id": id, "os": "Ubuntu 20.04 x64", "ram": 16384, "disk": 384,
        "main_ip": "192.0.2.123", "vcpu_count": 4, "region": region, "plan": "vc2-6c-16gb",
        "date_created": "2020-10-10T01:56:20+00:00", "status": parts[0],
        "allowed_bandwidth": 5000, "netmask_v4": "255.255.254.0", "gateway_v4": "192.0.2.1",
        "power_status": parts[1], "server_status": parts[2], "v6_network": "", "v6_main_ip": "",
        "v6_network_size": 0, "label": label, "internal_ip": "",
        "kvm": "https://my.vultr.com/subs/vps/novnc/api.php?data=00example11223344",
        "hostname": "my_hostname", "os_id": 215, "app_id": 0, "image_id": "",
        "firewall_group_id": "", "features": [], "tags": ["web"]
    })
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": message, "status": status}))
}

// list-instances: `per_page=500`, then the cursor of `meta.links.next` until it is empty.
#[tokio::test]
async fn listing_follows_the_cursor_to_the_last_page() {
    let served = ResponseTemplate::new(200).set_body_json(json!({
            "instances": [instance(ID, "web-1", "ewr", "active/running/ok"), instance(ID_2, "db-1", "ams", "active/stopped/none")],
            "meta": {"total": 3, "links": {"next": "WxYzExampleNext", "prev": ""}}
        }));
    let server = start_expecting(
        given("GET", "/v2/instances?per_page=500")
            .and(query_param_is_missing("cursor"))
            .and(header("authorization", bearer().as_str())),
        served,
        1,
    )
    .await;
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "instances": [instance(ID_3, "web-2", "ewr", "pending/running/installingbooting")],
        "meta": {"total": 3, "links": {"next": "", "prev": "WxYzExamplePrev"}}
    }));
    server
        .expect(
            given("GET", "/v2/instances?per_page=500&cursor=WxYzExampleNext"),
            served,
            1,
        )
        .await;
    let all = account(&server).list().await;
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    let rows: Vec<_> = all
        .servers
        .iter()
        .map(|s| (s.region.as_str(), s.id.as_str(), s.status))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("ams", ID_2, ServerStatus::Stopped),
            ("ewr", ID, ServerStatus::Running),
            ("ewr", ID_3, ServerStatus::Pending),
        ]
    );
    assert_eq!(
        all.servers[2].raw_state,
        "pending/running/installingbooting"
    );
}

// reboot-instance (for a hard reboot), halt-instance, start-instance: each sent once without
// a body, answered 204, then the instance is read until it is in the target state.
#[tokio::test]
async fn each_power_action_is_sent_once_and_followed_to_the_end() {
    let cases = [
        (
            PowerAction::HardReboot,
            "reboot",
            vec!["active/running/installingbooting", "active/running/ok"],
            ServerStatus::Running,
        ),
        (
            PowerAction::Stop,
            "halt",
            vec!["active/running/ok", "active/stopped/ok"],
            ServerStatus::Stopped,
        ),
        (
            PowerAction::Start,
            "start",
            vec![
                "active/stopped/none",
                "active/running/installingbooting",
                "active/running/ok",
            ],
            ServerStatus::Running,
        ),
    ];
    for (power, verb, states, target) in cases {
        let server = start_expecting(
            given("POST", format!("{}/{verb}", instance_path()))
                .and(header("authorization", bearer().as_str())),
            ResponseTemplate::new(204),
            1,
        )
        .await;
        let reads = states
            .iter()
            .map(|state| json!({"instance": instance(ID, "web-1", "ewr", state)}));
        mount_reads(&server, &instance_path(), KEY, reads).await;
        let outcome = followed(&account(&server), "ewr", ID, power).await.unwrap();
        assert_eq!(outcome.server.status, target, "{verb}");
        assert_eq!(outcome.polls as usize, states.len(), "{verb}");
        // The reset reads booting before running again: seen out of running.
        let evidence = match power {
            PowerAction::HardReboot => Evidence::LeftRunning {
                raw_state: states[0].into(),
            },
            _ => Evidence::StateReadBack {
                raw_state: states.last().unwrap().to_string(),
            },
        };
        assert_eq!(outcome.evidence, Some(evidence), "{verb}");
        let post = requests(&server, "POST").await.remove(0);
        assert!(post.body.is_empty(), "{verb}: {:?}", post.body);
    }
}

// Vultr's only reboot is a hard reset: a clean reboot is refused before any request.
#[tokio::test]
async fn a_clean_reboot_is_refused_without_a_request() {
    let server = MockServer::start().await;
    assert_fails(
        power(&server, ID, PowerAction::Reboot).await,
        ErrorCode::InvalidInput,
        &["hard reset", "hard reboot"],
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

// 400 (a request Vultr refuses, e.g. on an instance that is being installed): Vultr documents
// no conflict status, so it is service-failed with Vultr's message, sent once.
#[tokio::test]
async fn a_refused_action_is_service_failed_with_vultrs_message() {
    let server = MockServer::start().await;
    let served = error(400, "Unable to reboot server: Server is currently locked");
    server
        .expect(
            given("POST", format!("{}/reboot", instance_path())),
            served,
            1,
        )
        .await;
    assert_fails(
        power(&server, ID, PowerAction::HardReboot).await,
        ErrorCode::ServiceFailed,
        &["currently locked"],
    );
}
