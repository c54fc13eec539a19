//! DigitalOcean (core/src/cloud/digitalocean.rs) against a contract server (wiremock) that
//! answers as DigitalOcean's API reference says, failures included: its [`Api`] for the
//! scenario table, and its own cases.
//!
//! Followed: https://docs.digitalocean.com/reference/api/digitalocean/ (and its OpenAPI
//! description, /work/shared/reference/openapi/digitalocean-droplets-and-actions.openapi.yaml):
//! - droplets_list: `GET /v2/droplets?per_page&page` → `{droplets, links.pages.next, meta}`;
//! - droplets_get: `GET /v2/droplets/{id}` → `{droplet}`;
//! - dropletActions_post: `POST /v2/droplets/{id}/actions` `{"type"}` → 201 `{action}`;
//! - dropletActions_get: `GET /v2/droplets/{id}/actions/{action_id}` → `{action}`;
//! - errors `{id, message}`: 401 unauthorized, 404 not_found, 422 (droplet locked by a
//!   running action), 429 too_many_requests with `ratelimit-*` headers, 500 server_error;
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3.

use super::cancelled;
use super::{CloudMock, RebootMock, by_status, connected, fast, followed, mount_reads};
use crate::support::assert_fails;
use crate::support::{Serve, changes, given, start_expecting, start_serving};
use paaf_core::cloud::digitalocean::DigitalOcean;
use paaf_core::cloud::{CloudAccount, Evidence, PollSettings, PowerAction, ServerStatus};
use paaf_core::{CancellationToken, ErrorCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(super) const TOKEN: &str = "dop_v1_5ecret0123456789abcdef0123456789abcdef0123456789abcdef01";
pub(super) const DROPLET: &str = "3164444";
pub(super) const ACTIONS: &str = "/v2/droplets/3164444/actions";
const ACTION: &str = "/v2/droplets/3164444/actions/36804636";

/// DigitalOcean's API for the scenario table.
pub struct Api;

impl CloudMock for Api {
    fn read_path(id: &str) -> String {
        format!("/v2/droplets/{id}")
    }

    fn server(id: &str, region: &str) -> Value {
        droplet(id.parse().unwrap(), "web-1", region, "active")
    }

    fn page(servers: Vec<Value>) -> Value {
        json!({"droplets": servers, "links": {}, "meta": {"total": servers.len()}})
    }

    fn looping_page() -> Value {
        json!({
            "droplets": [Self::server(DROPLET, "nyc3")],
            "links": {"pages": {"next": "https://api.digitalocean.com/v2/droplets?page=2"}},
            "meta": {"total": 9}
        })
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        let id = by_status(
            status,
            "unauthorized, forbidden, not_found, conflict, too_many_requests, server_error",
        );
        error(status, id, message)
    }

    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(201).set_body_json(action("in-progress", "shutdown"))
    }

    fn read_answer(server: Value) -> Value {
        json!({ "droplet": server })
    }

    /// dropletActions_post `{"type": "reboot"}`, then dropletActions_get until `completed`.
    fn reboot(_server: &MockServer) -> RebootMock {
        RebootMock::sent(
            PowerAction::Reboot,
            "POST",
            ACTIONS,
            ResponseTemplate::new(201).set_body_json(action("in-progress", "reboot")),
        )
        .then_read(
            ACTION,
            ResponseTemplate::new(200).set_body_json(action("completed", "reboot")),
        )
    }

    fn rate_limit_headers() -> Vec<(&'static str, String)> {
        vec![("ratelimit-reset", "1444931833".to_string())]
    }
}

fn account(server: &MockServer) -> DigitalOcean {
    connected::<DigitalOcean>(&server.uri(), TOKEN)
}

/// A droplet as droplets_get documents it (fields paaf does not read trimmed).
fn droplet(id: u64, name: &str, region: &str, status: &str) -> Value {
    json!({
        "id": id, "name": name, "memory": 1024, "vcpus": 1, "disk": 25, "locked": false,
        "status": status, "kernel": null, "created_at": "2020-07-21T18:37:44Z",
        "features": ["private_networking"], "backup_ids": [], "snapshot_ids": [],
        "volume_ids": [], "size_slug": "s-1vcpu-1gb",
        "networks": {
            "v4": [
                {"ip_address": "10.128.192.124", "netmask": "255.255.0.0", "gateway": "nil", "type": "private"},
                {"ip_address": "192.241.165.154", "netmask": "255.255.255.0", "gateway": "192.241.165.1", "type": "public"}
            ],
            "v6": []
        },
        "region": {"name": "Region", "slug": region, "features": [], "available": true, "sizes": []},
        "tags": ["web", "env:prod"],
        "vpc_uuid": "760e09ef-dc84-11e8-981e-3cfdfeaae000"
    })
}

fn action(status: &str, kind: &str) -> Value {
    json!({"action": {
        "id": 36804636, "status": status, "type": kind,
        "started_at": "2020-11-14T16:29:21Z", "completed_at": null,
        "resource_id": 3164444, "resource_type": "droplet", "region_slug": "nyc3"
    }})
}

fn error(status: u16, id: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "id": id, "message": message, "request_id": "4d9d8375-3c56-4925-a3e7-eb137fed17e9"
    }))
}

// droplets_list: every page is read, `per_page=200&page=N`, the token as Bearer.
#[tokio::test]
async fn listing_reads_every_page() {
    let served = ResponseTemplate::new(200).set_body_json(json!({
            "droplets": [droplet(3164444, "web-1", "nyc3", "active"), droplet(3164459, "db-1", "ams3", "off")],
            "links": {"pages": {
                "next": "https://api.digitalocean.com/v2/droplets?page=2&per_page=200",
                "last": "https://api.digitalocean.com/v2/droplets?page=2&per_page=200"
            }},
            "meta": {"total": 3}
        }));
    let server = start_expecting(
        given("GET", "/v2/droplets?per_page=200&page=1")
            .and(header("authorization", format!("Bearer {TOKEN}").as_str())),
        served,
        1,
    )
    .await;
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "droplets": [droplet(3164500, "web-2", "nyc3", "new")],
        "links": {"pages": {
            "first": "https://api.digitalocean.com/v2/droplets?page=1&per_page=200",
            "prev": "https://api.digitalocean.com/v2/droplets?page=1&per_page=200"
        }},
        "meta": {"total": 3}
    }));
    server
        .expect(given("GET", "/v2/droplets?per_page=200&page=2"), served, 1)
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
            ("ams3", "3164459", ServerStatus::Stopped),
            ("nyc3", "3164444", ServerStatus::Running),
            ("nyc3", "3164500", ServerStatus::Pending),
        ]
    );
}

// dropletActions_post then dropletActions_get until completed, then droplets_get until the
// droplet is in the target state: for each power action, with its documented `type`.
#[tokio::test]
async fn each_power_action_is_sent_once_and_followed_to_the_end() {
    let cases = [
        (
            PowerAction::Reboot,
            "reboot",
            vec!["active"],
            ServerStatus::Running,
        ),
        (
            PowerAction::HardReboot,
            "power_cycle",
            vec!["active"],
            ServerStatus::Running,
        ),
        (
            PowerAction::Stop,
            "shutdown",
            vec!["active", "off"],
            ServerStatus::Stopped,
        ),
        (
            PowerAction::Start,
            "power_on",
            vec!["off", "active"],
            ServerStatus::Running,
        ),
    ];
    for (power, kind, states, target) in cases {
        let served = ResponseTemplate::new(201).set_body_json(action("in-progress", kind));
        let server = start_expecting(
            given("POST", ACTIONS)
                .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
                .and(header("content-type", "application/json"))
                .and(body_json(json!({"type": kind}))),
            served,
            1,
        )
        .await;
        Mock::given(method("GET"))
            .and(path(ACTION))
            .respond_with(ResponseTemplate::new(200).set_body_json(action("in-progress", kind)))
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        let served = ResponseTemplate::new(200).set_body_json(action("completed", kind));
        server.expect(given("GET", ACTION), served, 1).await;
        let reads = states
            .iter()
            .map(|state| json!({"droplet": droplet(3164444, "web-1", "nyc3", state)}));
        mount_reads(&server, &format!("/v2/droplets/{DROPLET}"), TOKEN, reads).await;
        let outcome = followed(&account(&server), "nyc3", DROPLET, power)
            .await
            .unwrap();
        assert_eq!(
            outcome.accepted.operation.as_deref(),
            Some("36804636"),
            "{kind}"
        );
        assert_eq!(outcome.server.status, target, "{kind}");
        assert_eq!(outcome.polls as usize, states.len(), "{kind}");
        let expected: Vec<ServerStatus> = changes(
            states
                .iter()
                .map(|s| paaf_core::cloud::digitalocean::normalize(s)),
        );
        assert_eq!(outcome.seen, expected, "{kind}");
        let evidence = match power {
            PowerAction::Reboot | PowerAction::HardReboot => Evidence::OperationCompleted {
                operation: "36804636".into(),
            },
            _ => Evidence::StateReadBack {
                raw_state: states.last().unwrap().to_string(),
            },
        };
        assert_eq!(outcome.evidence, Some(evidence), "{kind}");
    }
}

// dropletActions_get answering `errored` (a shutdown the OS ignored): a typed error naming
// the droplet and what to do.
#[tokio::test]
async fn an_errored_action_is_an_error_naming_the_droplet() {
    let served = ResponseTemplate::new(201).set_body_json(action("in-progress", "shutdown"));
    let server = start_expecting(given("POST", ACTIONS), served, 1).await;
    let served = ResponseTemplate::new(200).set_body_json(action("errored", "shutdown"));
    server.expect(given("GET", ACTION), served, 1).await;
    let e = assert_fails(
        followed(&account(&server), "nyc3", DROPLET, PowerAction::Stop).await,
        ErrorCode::ServiceFailed,
        &["droplet 3164444", "errored", "power it off"],
    );
    let text = e.to_string();
    crate::support::assert_clean(&text, TOKEN);
}

// An action still in progress when the wait ends is a timeout; one whose answer carries
// Retry-After is read again no sooner than asked.
#[tokio::test]
async fn the_action_poll_honours_retry_after_and_ends_with_a_timeout() {
    let served = ResponseTemplate::new(200)
        .set_body_json(action("in-progress", "reboot"))
        .insert_header("retry-after", "1");
    let server = start_serving(given("GET", ACTION), served).await;
    let do_ = account(&server);
    let accepted = paaf_core::cloud::Accepted {
        action: PowerAction::Reboot,
        id: DROPLET.into(),
        status: None,
        raw_state: None,
        operation: Some("36804636".into()),
    };
    let started = Instant::now();
    assert_fails(
        do_.settle(
            "nyc3",
            &accepted,
            PollSettings {
                interval: Duration::from_millis(10),
                timeout: Duration::from_millis(1500),
            },
            &CancellationToken::new(),
        )
        .await,
        ErrorCode::Timeout,
        &["still in-progress"],
    );
    // Read at once, then after 1 s (not every 10 ms); a third wait would pass the timeout.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_fails(
        do_.settle("nyc3", &accepted, fast(), &cancelled()).await,
        ErrorCode::Cancelled,
        &[],
    );
}

// 422: an action of the droplet has not finished (it is locked): a conflict, sent once.
#[tokio::test]
async fn an_action_on_a_locked_droplet_is_a_conflict() {
    let served = error(
        422,
        "unprocessable_entity",
        "Droplet already has a pending event.",
    );
    let server = start_expecting(given("POST", ACTIONS), served, 1).await;
    assert_fails(
        account(&server)
            .power("nyc3", DROPLET, PowerAction::Start)
            .await,
        ErrorCode::Conflict,
        &["pending event"],
    );
}

// A body that is not the documented JSON: malformed-response, for a list and an action.
#[tokio::test]
async fn malformed_answers_are_malformed_responses() {
    let served = ResponseTemplate::new(200).set_body_string("<html>login</html>");
    let server = start_serving(given("GET", "/v2/droplets"), served).await;
    let served =
        ResponseTemplate::new(201).set_body_json(json!({"action": {"status": "in-progress"}}));
    server.expect(given("POST", ACTIONS), served, 1).await;
    let do_ = account(&server);
    assert_eq!(
        do_.list().await.errors[0].error.code,
        ErrorCode::MalformedResponse
    );
    assert_fails(
        do_.power("nyc3", DROPLET, PowerAction::Reboot).await,
        ErrorCode::MalformedResponse,
        &[],
    );
}
