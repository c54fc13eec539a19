//! Linode (core/src/cloud/linode.rs) against a contract server (wiremock) that answers as
//! Linode's API reference says, failures included: its [`Api`] for the scenario table, and
//! its own cases.
//!
//! Followed (https://techdocs.akamai.com/linode-api/reference/api):
//! - get-linode-instances: `GET /v4/linode/instances?page&page_size` →
//!   `{data, page, pages, results}` (…/reference/pagination);
//! - get-linode-instance: `GET /v4/linode/instances/{id}`;
//! - post-reboot-linode-instance, post-shutdown-linode-instance, post-boot-linode-instance:
//!   `POST /v4/linode/instances/{id}/reboot|shutdown|boot` → 200 `{}`;
//! - errors (…/reference/errors): `{"errors": [{"reason", "field"?}]}`; 400 "Linode busy."
//!   while another job of the Linode runs; 401, 403, 404, 429, 5xx;
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3.

use super::{CloudMock, RebootMock, connected, followed, mount_reads};
use crate::support::assert_fails;
use crate::support::{Serve, changes, given, start_expecting};
use paaf_core::ErrorCode;
use paaf_core::cloud::linode::Linode;
use paaf_core::cloud::{Accepted, CloudProvider, Evidence, PowerAction, ServerStatus};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, query_param};
use wiremock::{MockServer, ResponseTemplate};

pub(super) const TOKEN: &str = "5ecret7a1b2c3d4e5f60123456789abcdef0123456789abcdef0123456789ab";
const INSTANCE: &str = "/v4/linode/instances/123";

/// Linode's API for the scenario table.
pub struct Api;

impl CloudMock for Api {
    fn read_path(id: &str) -> String {
        format!("/v4/linode/instances/{id}")
    }

    fn server(id: &str, region: &str) -> Value {
        linode(id.parse().unwrap(), "web-1", region, "running")
    }

    fn page(servers: Vec<Value>) -> Value {
        json!({"data": servers, "page": 1, "pages": 1, "results": servers.len()})
    }

    /// Page 1 of 2, whatever page is asked for.
    fn looping_page() -> Value {
        json!({"data": [Self::server("123", "us-east")], "page": 1, "pages": 2, "results": 2})
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        error(status, message)
    }

    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({}))
    }

    fn read_answer(server: Value) -> Value {
        server
    }

    /// reboot-linode-instance answers `{}`: no operation to follow.
    fn reboot(_server: &MockServer) -> RebootMock {
        RebootMock::sent(
            PowerAction::Reboot,
            "POST",
            format!("{INSTANCE}/reboot"),
            ResponseTemplate::new(200).set_body_json(json!({})),
        )
    }
}

fn account(server: &MockServer) -> Linode {
    connected::<Linode>(&server.uri(), TOKEN)
}

/// `action` sent to Linode `id` in `us-east` by the account at `server`.
async fn power(server: &MockServer, id: &str, action: PowerAction) -> paaf_core::Result<Accepted> {
    account(server).power("us-east", id, action).await
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// A Linode as get-linode-instance documents it (fields paaf does not read trimmed).
fn linode(id: u64, label: &str, region: &str, status: &str) -> Value {
    json!({
        "id": id, "label": label, "region": region, "status": status,
        "created": "2018-01-01T00:01:01", "updated": "2018-01-01T00:01:01",
        "group": "", "hypervisor": "kvm", "image": "linode/debian12", "type": "g6-standard-1",
        "ipv4": ["203.0.113.1", "192.168.133.7"], "ipv6": "c001:d00d::1337/128",
        "specs": {"disk": 81920, "memory": 4096, "transfer": 4000, "vcpus": 2},
        "tags": ["web"], "watchdog_enabled": true
    })
}

fn error(status: u16, reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"errors": [{"reason": reason}]}))
}

// get-linode-instances: pages 1 to `pages`, `page_size=500`, the token as Bearer.
#[tokio::test]
async fn listing_reads_every_page() {
    let server = MockServer::start().await;
    for (page, data) in [
        (
            "1",
            json!([
                linode(123, "web-1", "us-east", "running"),
                linode(124, "db-1", "eu-west", "offline")
            ]),
        ),
        ("2", json!([linode(125, "web-2", "us-east", "booting")])),
    ] {
        let served = ResponseTemplate::new(200).set_body_json(json!({
            "data": data, "page": page.parse::<u32>().unwrap(), "pages": 2, "results": 3
        }));
        server
            .expect(
                given("GET", "/v4/linode/instances?page_size=500")
                    .and(query_param("page", page))
                    .and(header("authorization", bearer().as_str())),
                served,
                1,
            )
            .await;
    }
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
            ("eu-west", "124", ServerStatus::Stopped),
            ("us-east", "123", ServerStatus::Running),
            ("us-east", "125", ServerStatus::Pending),
        ]
    );
    assert_eq!(
        all.servers[1].public_ips,
        vec!["203.0.113.1", "c001:d00d::1337"]
    );
    assert_eq!(all.servers[1].private_ips, vec!["192.168.133.7"]);
}

// post-reboot/shutdown/boot-linode-instance: each sent once with `{}`, then the Linode is
// read until it is in the target state.
#[tokio::test]
async fn each_power_action_is_sent_once_and_followed_to_the_end() {
    let cases = [
        (
            PowerAction::Reboot,
            "reboot",
            vec!["rebooting", "booting", "running"],
            ServerStatus::Running,
        ),
        (
            PowerAction::Stop,
            "shutdown",
            vec!["shutting_down", "offline"],
            ServerStatus::Stopped,
        ),
        (
            PowerAction::Start,
            "boot",
            vec!["booting", "running"],
            ServerStatus::Running,
        ),
    ];
    for (power, verb, states, target) in cases {
        let served = ResponseTemplate::new(200).set_body_json(json!({}));
        let server = start_expecting(
            given("POST", format!("{INSTANCE}/{verb}"))
                .and(header("authorization", bearer().as_str()))
                .and(header("content-type", "application/json"))
                .and(body_json(json!({}))),
            served,
            1,
        )
        .await;
        let reads = states
            .iter()
            .map(|state| linode(123, "web-1", "us-east", state));
        mount_reads(&server, INSTANCE, TOKEN, reads).await;
        let outcome = followed(&account(&server), "us-east", "123", power)
            .await
            .unwrap();
        assert_eq!(outcome.server.status, target, "{verb}");
        assert_eq!(outcome.polls as usize, states.len(), "{verb}");
        assert_eq!(outcome.accepted.operation, None);
        let raw: Vec<ServerStatus> = changes(
            states
                .iter()
                .map(|s| paaf_core::cloud::linode::normalize(s)),
        );
        assert_eq!(outcome.seen, raw, "{verb}");
        let evidence = match power {
            PowerAction::Reboot => Evidence::LeftRunning {
                raw_state: "rebooting".into(),
            },
            _ => Evidence::StateReadBack {
                raw_state: states.last().unwrap().to_string(),
            },
        };
        assert_eq!(outcome.evidence, Some(evidence), "{verb}");
    }
}

// Linode's API has no hard reset: refused before any request.
#[tokio::test]
async fn a_hard_reboot_is_refused_without_a_request() {
    let server = MockServer::start().await;
    assert_fails(
        power(&server, "123", PowerAction::HardReboot).await,
        ErrorCode::InvalidInput,
        &["no hard reset", "stop then start"],
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

// 400 "Linode busy." (another job of the Linode runs): a conflict, sent once.
#[tokio::test]
async fn a_busy_linode_is_a_conflict() {
    let server = start_expecting(
        given("POST", format!("{INSTANCE}/boot")),
        error(400, "Linode busy."),
        1,
    )
    .await;
    assert_fails(
        power(&server, "123", PowerAction::Start).await,
        ErrorCode::Conflict,
        &["Linode busy"],
    );
}
