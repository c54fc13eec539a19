//! RebootX on-prem servers (core/src/cloud/rebootx.rs) against a contract server (wiremock)
//! that answers as the spec says, failures included: its [`Api`] for the scenario table, and
//! its own cases.
//!
//! Followed:
//! - the spec 0.4.0: /work/shared/reference/rebootx-on-prem.openapi.json, published as
//!   https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json
//!   (`GET /runnables?limit&offset&q` → `ListRunnablesRes {items, total}`; `POST
//!   /runnables/{id}/reboot|stop` → 201 `RunnableOperationRes {jobId}`; `GET /dashboards`;
//!   401/403/404 `ErrorRes {message}`; `Authorization: <api key>`);
//! - the samples core/tests/fixtures/rebootx/*.example.json (copies of the repository's
//!   data/servers.example.json and data/dashboards.example.json, the files its `fileJson`
//!   mode serves as `{items: <file>, total: <its length>}`);
//! - what the reference server really answers, in
//!   https://github.com/c100k/rebootx-on-prem/tree/main/impl/http-server-go: middlewares.go
//!   (a wrong key: 401 `{"message":"Authentication required"}`), utils/funcs.go and
//!   utils/data.go (unknown id: 404 `{"message":"Not found"}`), main.go (routes under
//!   `/{RBTX_PATH_PREFIX}`: a wrong prefix is the router's plain-text `404 page not found`),
//!   resources/runnable/self/service.go (a failed reboot command: 500 `{message}`),
//!   resources/runnable/file_json/service.go (`limit`/`offset` ignored: everything at once);
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3.

use super::followed;
use super::{CloudMock, Facts, RebootMock, keyring, limits};
use super::{brief, followed_seeing, followed_with};
use crate::support::assert_fails;
use crate::support::{Serve, given, start_expecting};
use paaf_core::ErrorCode;
use paaf_core::cloud::rebootx::{RebootX, RebootxConfig};
use paaf_core::cloud::{Accepted, CloudProvider, FromConfig, PowerAction, ServerStatus, connect};
use paaf_core::config::Config;
use paaf_core::secrets::{MemoryStore, SecretStore};
use paaf_core::thresholds::Level;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use wiremock::matchers::{body_string, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(super) const KEY: &str = "rbtx-K3y-0123456789abcdef";
/// The secret path prefix (the reference server's RBTX_PATH_PREFIX).
const PREFIX: &str = "cd5331ba";
const RUNNABLES: &str = "/cd5331ba/runnables";
const JOB: &str = "e22df54c-09b2-47cc-be7f-128b15e609c4";

/// The spec's API for the scenario table: `GET /runnables` (the only read: the spec has no
/// read of one runnable), `POST /runnables/{id}/reboot`, errors `ErrorRes {message}`.
pub struct Api;

impl CloudMock for Api {
    fn read_path(_id: &str) -> String {
        Self::LIST.to_string()
    }

    fn server(id: &str, region: &str) -> Value {
        let mut r = runnable(id, "on");
        r["scopes"]["geo"]["value"] = json!(region);
        r
    }

    fn page(servers: Vec<Value>) -> Value {
        list(servers)
    }

    /// A server that ignores `offset`: the same page whatever is asked.
    fn looping_page() -> Value {
        json!({"items": [runnable("123", "on")], "total": 9})
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(json!({ "message": message }))
    }

    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(201).set_body_json(json!({ "jobId": JOB }))
    }

    fn read_answer(server: Value) -> Value {
        list(vec![server])
    }
    /// A reboot, answered with a job paaf cannot follow.
    fn reboot(_server: &MockServer) -> RebootMock {
        RebootMock::sent(PowerAction::Reboot, "POST", Self::POWER.2, Self::accepted())
    }
}

fn rebootx(server: &MockServer) -> RebootX {
    rebootx_at(&format!("{}/{PREFIX}", server.uri()), &[])
}

/// The server `home` at `endpoint`, listing the runnables of `regions` (none: all).
fn rebootx_at(endpoint: &str, regions: &[&str]) -> RebootX {
    let keys = RebootxConfig {
        endpoint: endpoint.to_string(),
        token: keyring("contract"),
        regions: regions.iter().map(|r| r.to_string()).collect(),
    };
    let secrets = crate::support::store(&[("contract", KEY)]);
    FromConfig::connect("home", &keys, &secrets, limits()).unwrap()
}

/// `action` sent to runnable `id` of scope `lyo-01` by the account at `server`.
async fn power(server: &MockServer, id: &str, action: PowerAction) -> paaf_core::Result<Accepted> {
    rebootx(server).power("lyo-01", id, action).await
}

fn fixture(name: &str) -> Vec<Value> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rebootx")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// `{items, total}` as the reference server's fileJson mode answers its file.
fn list(items: Vec<Value>) -> Value {
    let total = items.len();
    json!({ "items": items, "total": total })
}

fn runnable(id: &str, status: &str) -> Value {
    json!({
        "flavor": "small", "fqdn": null, "id": id, "ipv4": "10.0.0.9", "metrics": null,
        "name": format!("box-{id}"),
        "scopes": {"geo": {"label": "Lyon", "value": "lyo-01"}, "logical": null},
        "ssh": null, "stack": null, "status": status
    })
}

/// `GET runnables` with the key, first page of the default size, answering `body`.
fn list_mock(body: Value) -> Mock {
    Mock::given(method("GET"))
        .and(path(RUNNABLES))
        .and(header("authorization", KEY))
        .and(query_param("limit", "50"))
        .and(query_param("offset", "0"))
        .and(query_param_is_missing("q"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(KEY), "{text}");
    assert!(!text.contains(PREFIX), "{text}");
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `GET /runnables` 200 `ListRunnablesRes`, `Runnable`, `RunnableScopes`, `RunnableSSH`.
#[tokio::test]
async fn the_sample_servers_are_listed_with_their_region_tags_and_addresses() {
    let server = MockServer::start().await;
    list_mock(list(fixture("servers.example.json")))
        .expect(1)
        .mount(&server)
        .await;
    let account = rebootx(&server);
    let inventory = account.list().await;
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    let ids: Vec<&str> = inventory.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["123", "456"]);
    let s = &inventory.servers[0];
    assert_eq!(
        (s.provider.as_str(), s.account.as_str()),
        ("rebootx", "home")
    );
    assert_eq!(s.name.as_deref(), Some("server01"));
    assert_eq!(s.region, "par-01");
    assert_eq!(s.status, ServerStatus::Stopped);
    assert_eq!(s.raw_state, "off");
    assert_eq!(
        s.private_ips,
        vec!["192.168.0.26", "server01.mycompany.com"]
    );
    assert!(s.public_ips.is_empty());
    let tag = |k: &str| s.tags.get(k).map(String::as_str);
    assert_eq!(tag("flavor"), Some("medium"));
    assert_eq!(tag("stack"), Some("nodejs"));
    assert_eq!(tag("scopes.geo.label"), Some("Paris 01"));
    assert_eq!(tag("scopes.logical"), Some("project-1"));
    assert_eq!(tag("scopes.logical.label"), Some("Project 1"));
    assert_eq!(tag("ssh.username"), Some("admin"));
    assert_eq!(tag("ssh.port"), Some("22"));
    assert_eq!(tag("ssh.keyName"), Some("keypair-01"));
    assert_eq!(inventory.servers[1].tags["stack"], "go");
    // `RunnableMetric`s: kept, each levelled against its `[warning, danger]`.
    let metrics = |i: usize| -> Vec<(String, Option<f64>, Level)> {
        inventory.servers[i]
            .metrics
            .iter()
            .map(|m| (m.label.clone().unwrap(), m.value, m.level))
            .collect()
    };
    assert_eq!(
        metrics(0),
        [
            ("CPU".to_string(), Some(28.0), Level::Ok),
            ("RAM".to_string(), Some(512.0), Level::Ok)
        ]
    );
    assert_eq!(
        metrics(1)[0],
        ("CPU".to_string(), Some(82.0), Level::Warning)
    );
    assert_eq!(inventory.servers[1].metrics[1].ratio, Some(0.25));
    assert_eq!(inventory.servers[0].metrics[1].unit.as_deref(), Some("MB"));
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent[0].url.query(), Some("limit=50&offset=0"));
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `ListRunnablesQueryParams` `limit`/`offset`, `ListRes_Runnable_.total`.
#[tokio::test]
async fn every_page_is_read_with_limit_and_offset_until_total() {
    let server = MockServer::start().await;
    let ids = ["a", "b", "c", "d", "e"];
    for (offset, page) in ids.chunks(2).enumerate() {
        let items: Vec<Value> = page.iter().map(|id| runnable(id, "on")).collect();
        let served = ResponseTemplate::new(200).set_body_json(json!({"items": items, "total": 5}));
        server
            .expect(
                given("GET", RUNNABLES)
                    .and(query_param("limit", "2"))
                    .and(header("authorization", KEY))
                    .and(query_param("offset", (offset * 2).to_string())),
                served,
                1,
            )
            .await;
    }
    let inventory = rebootx(&server).with_page_size(2).list().await;
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    let got: Vec<&str> = inventory.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(got, ids);
    assert!(inventory.servers.iter().all(|s| s.region == "lyo-01"));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `ListRunnablesQueryParams` (`limit` is a maximum; `offset` the cursor).
#[tokio::test]
async fn a_server_that_ignores_limit_is_read_at_once_and_one_that_ignores_offset_is_refused() {
    // The reference fileJson mode answers everything whatever the limit.
    let server = MockServer::start().await;
    let all: Vec<Value> = ["a", "b", "c"].iter().map(|i| runnable(i, "on")).collect();
    let served = ResponseTemplate::new(200).set_body_json(list(all));
    server
        .expect(
            given("GET", RUNNABLES)
                .and(query_param("limit", "2"))
                .and(query_param("offset", "0")),
            served,
            1,
        )
        .await;
    let inventory = rebootx(&server).with_page_size(2).list().await;
    assert_eq!(inventory.servers.len(), 3);

    let served = ResponseTemplate::new(200)
        .set_body_json(json!({"items": [runnable("a", "on"), runnable("b", "on")], "total": 9}));
    let server = start_expecting(given("GET", RUNNABLES), served, 2).await;
    let inventory = rebootx(&server).with_page_size(2).list().await;
    assert!(inventory.servers.is_empty());
    let e = &inventory.errors[0];
    assert_eq!(e.error.code, ErrorCode::MalformedResponse);
    assert!(e.error.message.contains("offset"), "{}", e.error.message);
    assert_eq!((e.account.as_str(), e.region.as_deref()), ("home", None));
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `ListRunnablesQueryParams.q`, `RunnableScopes.geo`.
#[tokio::test]
async fn search_sends_q_and_the_configured_regions_filter_the_list() {
    let server = MockServer::start().await;
    let served = ResponseTemplate::new(200)
        .set_body_json(list(fixture("servers.example.json")[..1].to_vec()));
    server
        .expect(
            given("GET", RUNNABLES)
                .and(query_param("limit", "50"))
                .and(query_param("offset", "0"))
                .and(query_param("q", "server 01"))
                .and(header("authorization", KEY)),
            served,
            1,
        )
        .await;
    let found = rebootx(&server).search("server 01").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "123");
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent[0].url.query(), Some("limit=50&offset=0&q=server+01"));

    let server = MockServer::start().await;
    let mut items = fixture("servers.example.json");
    items.push(runnable("789", "on"));
    list_mock(list(items)).mount(&server).await;
    let lyon = rebootx_at(&format!("{}/{PREFIX}", server.uri()), &["lyo-01"]);
    let inventory = lyon.list().await;
    let ids: Vec<&str> = inventory.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["789"]);
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `POST /runnables/{id}/reboot` 201 `RunnableOperationRes` (async `jobId`), `RunnableStatus`.
#[tokio::test]
async fn a_reboot_is_sent_once_and_followed_through_pending_to_on() {
    let served = ResponseTemplate::new(201).set_body_json(json!({"jobId": JOB}));
    let server = start_expecting(
        given("POST", format!("{RUNNABLES}/123/reboot"))
            .and(header("authorization", KEY))
            .and(body_string("")),
        served,
        1,
    )
    .await;
    list_mock(list(vec![runnable("123", "pending")]))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    list_mock(list(vec![runnable("123", "on")]))
        .expect(1)
        .mount(&server)
        .await;
    let account = rebootx(&server);
    let (outcome, observed) = followed_seeing(&account, "lyo-01", "123", PowerAction::Reboot).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.accepted.operation.as_deref(), Some(JOB));
    assert_eq!(outcome.accepted.status, None);
    assert_eq!(
        outcome.seen,
        vec![ServerStatus::Pending, ServerStatus::Running]
    );
    assert_eq!(outcome.polls, 2);
    assert_eq!(observed, vec!["pending", "on"]);
    assert_eq!(outcome.server.id, "123");
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `POST /runnables/{id}/stop` 201 `{"jobId": null}` (synchronous), `RunnableStatus`.
#[tokio::test]
async fn a_stop_without_job_is_followed_to_off() {
    let served = ResponseTemplate::new(201).set_body_json(json!({"jobId": null}));
    let server = start_expecting(
        given("POST", format!("{RUNNABLES}/456/stop"))
            .and(header("authorization", KEY))
            .and(body_string("")),
        served,
        1,
    )
    .await;
    list_mock(list(vec![runnable("456", "on")]))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    list_mock(list(vec![runnable("456", "pending")]))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    list_mock(list(vec![runnable("456", "off")]))
        .mount(&server)
        .await;
    let outcome = followed(&rebootx(&server), "lyo-01", "456", PowerAction::Stop)
        .await
        .unwrap();
    assert_eq!(outcome.accepted.operation, None);
    assert_eq!(
        outcome.seen,
        vec![
            ServerStatus::Running,
            ServerStatus::Pending,
            ServerStatus::Stopped
        ]
    );
    assert_eq!(outcome.server.raw_state, "off");
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `POST /runnables/{id}/stop`, `RunnableStatus` `pending`.
#[tokio::test]
async fn a_stop_that_never_ends_times_out_naming_the_state() {
    let served = ResponseTemplate::new(201).set_body_json(json!({"jobId": JOB}));
    let server = start_expecting(given("POST", format!("{RUNNABLES}/456/stop")), served, 1).await;
    list_mock(list(vec![runnable("456", "pending")]))
        .mount(&server)
        .await;
    assert_fails(
        followed_with(
            &rebootx(&server),
            "lyo-01",
            "456",
            PowerAction::Stop,
            brief(),
        )
        .await,
        ErrorCode::Timeout,
        &["still pending", "home"],
    );
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `paths` (only reboot and stop exist).
#[tokio::test]
async fn start_and_hard_reboot_are_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let account = rebootx(&server);
    for (action, words) in [
        (PowerAction::Start, "no start"),
        (PowerAction::HardReboot, "no hard reboot"),
    ] {
        assert_fails(
            account.power("lyo-01", "123", action).await,
            ErrorCode::InvalidInput,
            &[words, "home"],
        );
    }
    assert_fails(
        account.power("lyo-01", "", PowerAction::Reboot).await,
        ErrorCode::InvalidInput,
        &[],
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `securitySchemes.authorizationHeader`, 401/403 `ErrorRes`.
#[tokio::test]
async fn a_wrong_api_key_is_auth_failed_and_a_forbidden_one_permission_denied() {
    let server = MockServer::start().await;
    // The reference middleware refuses any other key with 401, and echoes nothing.
    let served =
        ResponseTemplate::new(401).set_body_json(json!({"message": "Authentication required"}));
    server.expect(given("GET", RUNNABLES), served, 1).await;
    let served =
        ResponseTemplate::new(401).set_body_json(json!({"message": "Authentication required"}));
    server
        .expect(given("POST", format!("{RUNNABLES}/123/reboot")), served, 1)
        .await;
    let account = rebootx(&server);
    let inventory = account.list().await;
    let row = &inventory.errors[0];
    assert_eq!(row.error.code, ErrorCode::AuthFailed);
    assert!(
        row.error.message.contains("Authentication required")
            && row.error.message.contains("rebootx \"home\"")
            && row.error.message.contains("API key"),
        "{}",
        row.error.message
    );
    let e = assert_fails(
        account.power("lyo-01", "123", PowerAction::Reboot).await,
        ErrorCode::AuthFailed,
        &[],
    );
    assert_no_secret(&e.to_string());

    // 403 is in the spec (ErrorRes "Operation forbidden"), for servers with rules per key.
    let served =
        ResponseTemplate::new(403).set_body_json(json!({"message": "Operation forbidden"}));
    let server = start_expecting(given("POST", format!("{RUNNABLES}/123/stop")), served, 1).await;
    assert_fails(
        power(&server, "123", PowerAction::Stop).await,
        ErrorCode::PermissionDenied,
        &["Operation forbidden"],
    );
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `POST /runnables/{id}/reboot` 404 `ErrorRes`, `servers` (the prefix in the URL).
#[tokio::test]
async fn a_missing_runnable_is_not_found_and_a_wrong_prefix_says_to_check_it() {
    let served = ResponseTemplate::new(404).set_body_json(json!({"message": "Not found"}));
    let server = start_expecting(given("POST", format!("{RUNNABLES}/999/reboot")), served, 1).await;
    list_mock(list(fixture("servers.example.json")))
        .mount(&server)
        .await;
    let account = rebootx(&server);
    assert_fails(
        account.power("lyo-01", "999", PowerAction::Reboot).await,
        ErrorCode::NotFound,
        &["999", "home"],
    );
    assert_fails(
        account.read("par-01", "999").await,
        ErrorCode::NotFound,
        &[],
    );
    let found = account.read("par-01", "456").await.unwrap();
    assert_eq!(found.name.as_deref(), Some("server02"));

    // The reference server's router answers a wrong prefix with a plain-text 404.
    let served = ResponseTemplate::new(404).set_body_string("404 page not found\n");
    let server = start_expecting(given("GET", "/wrong/runnables"), served, 1).await;
    let wrong = rebootx_at(&format!("{}/wrong", server.uri()), &[]);
    let row = &wrong.list().await.errors[0];
    assert_eq!(row.error.code, ErrorCode::NotFound);
    assert!(
        row.error.message.contains("secret path prefix") && !row.error.message.contains("wrong"),
        "{}",
        row.error.message
    );
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `GET /runnables`, `POST /runnables/{id}/reboot` (429 is HTTP's, RFC 6585).
#[tokio::test]
async fn a_429_is_waited_out_as_retry_after_says_and_a_long_one_reported() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(RUNNABLES))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    list_mock(list(vec![runnable("a", "on")]))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let inventory = rebootx(&server).list().await;
    assert_eq!(inventory.servers.len(), 1, "{:?}", inventory.errors);
    assert!(started.elapsed() >= Duration::from_millis(950));

    let served = ResponseTemplate::new(429).insert_header("retry-after", "120");
    let server = start_expecting(given("POST", format!("{RUNNABLES}/123/reboot")), served, 1).await;
    assert_fails(
        power(&server, "123", PowerAction::Reboot).await,
        ErrorCode::RateLimited,
        &["120s"],
    );
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `GET /runnables`, `POST /runnables/{id}/reboot` (5xx is not in the spec: the reference server's 500 `ErrorRes`).
#[tokio::test]
async fn a_5xx_fails_a_list_after_a_retry_and_makes_a_reboot_outcome_unknown() {
    let server = start_expecting(given("GET", RUNNABLES), ResponseTemplate::new(503), 2).await;
    let row = &rebootx(&server).list().await.errors[0];
    assert_eq!(row.error.code, ErrorCode::ServiceFailed);

    // The reference `self` mode answers 500 {message} when the reboot command fails; a
    // custom server may have acted before failing: never sent again.
    let served = ResponseTemplate::new(500).set_body_json(json!({"message": "exit status 1"}));
    let server = start_expecting(given("POST", format!("{RUNNABLES}/123/reboot")), served, 1).await;
    assert_fails(
        power(&server, "123", PowerAction::Reboot).await,
        ErrorCode::OutcomeUnknown,
        &["exit status 1", "reboot of runnable 123"],
    );
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `POST /runnables/{id}/reboot`.
#[tokio::test]
async fn a_reboot_that_times_out_is_outcome_unknown_and_sent_once() {
    let served = ResponseTemplate::new(201)
        .set_body_json(json!({"jobId": null}))
        .set_delay(Duration::from_secs(3));
    let server = start_expecting(given("POST", format!("{RUNNABLES}/123/reboot")), served, 1).await;
    let e = assert_fails(
        power(&server, "123", PowerAction::Reboot).await,
        ErrorCode::OutcomeUnknown,
        &[],
    );
    assert_no_secret(&e.to_string());
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `GET /runnables` 200 `ListRunnablesRes`.
#[tokio::test]
async fn a_body_that_is_not_the_spec_json_is_malformed() {
    for body in [
        ResponseTemplate::new(200).set_body_string("<html>Sign in</html>"),
        ResponseTemplate::new(200).set_body_json(json!({"items": "none", "total": 0})),
        ResponseTemplate::new(200).set_body_json(json!([runnable("a", "on")])),
    ] {
        let server = start_expecting(given("GET", RUNNABLES), body, 1).await;
        assert_fails(
            rebootx(&server).read("", "a").await,
            ErrorCode::MalformedResponse,
            &["rebootx \"home\""],
        );
    }
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `RunnableStatus` (`off`, `on`, `pending`, `unknown`).
#[tokio::test]
async fn a_status_outside_the_spec_is_unknown_with_the_raw_word_kept() {
    let server = MockServer::start().await;
    list_mock(list(vec![
        runnable("a", "rebooting"),
        runnable("b", "unknown"),
    ]))
    .mount(&server)
    .await;
    let servers = rebootx(&server).list().await.servers;
    assert_eq!(servers[0].status, ServerStatus::Unknown);
    assert_eq!(servers[0].raw_state, "rebooting");
    assert_eq!(servers[1].status, ServerStatus::Unknown);
    assert_eq!(servers[1].raw_state, "unknown");
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `securitySchemes.authorizationHeader`, `servers` (`http://localhost:9001/cd5331ba/`).
#[tokio::test]
async fn neither_the_key_nor_the_prefix_reaches_debug_or_errors() {
    let server = MockServer::start().await;
    // A server that echoes what it got, the key and the URL.
    let served = ResponseTemplate::new(401).set_body_json(
        json!({"message": format!("bad key {KEY} for {}{RUNNABLES}", server.uri())}),
    );
    server.serve(given("GET", RUNNABLES), served).await;
    let account = rebootx(&server);
    let debug = format!("{account:?}");
    assert_no_secret(&debug);
    assert!(debug.contains("home"), "{debug}");
    let row = &account.list().await.errors[0];
    assert_no_secret(&row.error.message);
    assert!(
        row.error.message.contains("[redacted]"),
        "{}",
        row.error.message
    );

    // Nothing listens there: the transport error names the URL, prefix redacted.
    let closed = rebootx_at(&format!("http://127.0.0.1:1/{PREFIX}"), &[]);
    let row = &closed.list().await.errors[0];
    assert_eq!(row.error.code, ErrorCode::Unreachable);
    assert_no_secret(&row.error.message);
    let e = closed
        .power("lyo-01", "123", PowerAction::Reboot)
        .await
        .unwrap_err();
    assert_no_secret(&e.to_string());
    assert_no_secret(&format!("{e:?}"));
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `GET /dashboards` 200 `ListDashboardsRes`, `Dashboard`, `DashboardMetric`.
#[tokio::test]
async fn the_sample_dashboards_are_read() {
    let served = ResponseTemplate::new(200).set_body_json(list(fixture("dashboards.example.json")));
    let server = start_expecting(
        given("GET", "/cd5331ba/dashboards?limit=50&offset=0").and(header("authorization", KEY)),
        served,
        1,
    )
    .await;
    let dashboards = rebootx(&server).dashboards().await.unwrap();
    assert_eq!(dashboards.len(), 2);
    assert_eq!(dashboards[0].name, "Infra");
    assert!(dashboards[0].metrics.is_empty());
    let business = &dashboards[1].metrics;
    assert_eq!(business.len(), 3);
    assert_eq!(business[0].label.as_deref(), Some("Clients #"));
    assert_eq!(business[0].value, Some(612.0));
    assert_eq!(business[0].unit, None);
    assert_eq!(business[1].unit.as_deref(), Some("€"));
    assert_eq!(business[1].value, None);
}

/// Spec /work/shared/reference/rebootx-on-prem.openapi.json (https://github.com/c100k/rebootx-on-prem/blob/main/spec/_generated/swagger.json): `servers`, `securitySchemes.authorizationHeader`.
#[tokio::test]
async fn a_rebootx_clouds_entry_connects_with_its_key_from_the_secret_store() {
    let server = MockServer::start().await;
    list_mock(list(fixture("servers.example.json")))
        .expect(1)
        .mount(&server)
        .await;
    let toml = format!(
        "[[clouds]]\nname = \"home\"\ntype = \"rebootx\"\nendpoint = \"{}/{PREFIX}\"\ntoken = \"keyring:rbtx-home\"\n",
        server.uri()
    );
    let config = Config::parse(Path::new("paaf.toml"), &toml).unwrap();
    let secrets = MemoryStore::default();
    secrets.set("rbtx-home", &SecretString::from(KEY)).unwrap();
    let account = connect(&config.clouds[0], &secrets).unwrap();
    assert_eq!((account.provider(), account.name()), ("rebootx", "home"));
    assert_eq!(account.list().await.servers.len(), 2);
    assert_no_secret(&format!("{account:?}"));
}
