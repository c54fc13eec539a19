//! GCP Compute Engine (core/src/cloud/gcp.rs) against a contract server (wiremock) that
//! answers as Google's docs say, failures included: its [`Api`] for the scenario table, and
//! its own cases.
//!
//! Followed:
//! - tokens: https://developers.google.com/identity/protocols/oauth2/service-account#httprest
//!   (JWT RS256 `{iss, scope, aud, exp, iat}`, form POST `grant_type` + `assertion`, answer
//!   `{access_token, expires_in, token_type}`, errors `{error, error_description}`);
//! - instances.list / get / reset / stop / start:
//!   https://cloud.google.com/compute/docs/reference/rest/v1/instances (`maxResults`,
//!   `pageToken`, `nextPageToken`, `requestId`; an `Operation` answered); a page may hold
//!   fewer results than asked, none included, before the end (https://google.aip.dev/158);
//! - zoneOperations.get: https://cloud.google.com/compute/docs/reference/rest/v1/zoneOperations/get
//!   (`status` PENDING/RUNNING/DONE, `error.errors[]`, `httpErrorStatusCode`);
//! - statuses: https://cloud.google.com/compute/docs/instances/instance-life-cycle;
//! - errors: https://cloud.google.com/compute/docs/api/handle-errors and
//!   https://cloud.google.com/apis/design/errors (`{"error":{"code","message","errors",
//!   "status"}}`);
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3.

use super::token_server;
use super::{
    CloudMock, RebootMock, assert_error_row, by_status, followed, form_fields, limits, regions_key,
};
use super::{asked, mount, mount_expected, mount_once_then, mount_token, the_one_empty_post};
use super::{followed_cancelled, followed_with, keyring};
use crate::support::{Serve, given, store};
use crate::support::{assert_error, assert_fails};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use paaf_core::ErrorCode;
use paaf_core::cloud::gcp::{Gcp, GcpConfig};
use paaf_core::cloud::{
    CloudAccount, Evidence, FromConfig, PollSettings, PowerAction, ServerStatus,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PEM: &str = include_str!("../../fixtures/gcp-test-key.pem");
const PUBLIC_PEM: &str = include_str!("../../fixtures/gcp-test-key.pub.pem");
const EMAIL: &str = "paaf@shop-prod.iam.gserviceaccount.com";
const TOKEN: &str = "ya29.c.b0AXv0zTOKEN-one";
const TOKEN_2: &str = "ya29.c.b0AXv0zTOKEN-two";
pub(super) const ZONE: &str = "europe-west1-b";
const ZONE_2: &str = "europe-west1-c";
pub(super) const INSTANCES: &str = "/compute/v1/projects/shop-prod/zones/europe-west1-b/instances";
const WEB_1: &str = "/compute/v1/projects/shop-prod/zones/europe-west1-b/instances/web-1";
const OPERATIONS: &str = "/compute/v1/projects/shop-prod/zones/europe-west1-b/operations";
const OP: &str = "operation-1700000000000-5f3a-abcd-1234";

/// Compute Engine's API for the scenario table: instances.list (zone by zone), get, stop;
/// errors `{"error": {code, message, errors: [{reason}]}}`. Its account gets its tokens from
/// the shared [`token_server`]: the secret an error could echo is that access token.
pub struct Api;

impl CloudMock for Api {
    const PER_REGION: bool = true;

    fn list_in(zone: &str) -> String {
        format!("/compute/v1/projects/shop-prod/zones/{zone}/instances")
    }

    fn read_path(id: &str) -> String {
        format!("{INSTANCES}/{id}")
    }

    fn server(id: &str, _zone: &str) -> Value {
        instance(id, "RUNNING")
    }

    fn page(servers: Vec<Value>) -> Value {
        json!({"kind": "compute#instanceList", "items": servers})
    }

    fn looping_page() -> Value {
        json!({"items": [instance("web-1", "RUNNING")], "nextPageToken": "CkQIABIdcHJvamVjdHMv"})
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        let code = by_status(
            status,
            "UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, ABORTED, RESOURCE_EXHAUSTED, INTERNAL",
        );
        let reason = by_status(
            status,
            "authError, forbidden, notFound, conflict, rateLimitExceeded, backendError",
        );
        ResponseTemplate::new(status).set_body_json(google_error(status, code, reason, message))
    }

    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(operation("stop", "RUNNING"))
    }

    fn read_answer(server: Value) -> Value {
        server
    }

    fn keys(zones: &[&str]) -> String {
        let credentials = "credentials = \"keyring:contract\"";
        format!(
            "project = \"shop-prod\"\n{credentials}\n{}",
            regions_key(zones)
        )
    }

    /// The service account's key, its `token_uri` at the shared [`token_server`].
    fn secrets() -> Vec<(&'static str, String)> {
        let key = key_json(&format!("{}/token", token_server()));
        vec![("contract", key)]
    }
    /// A reset, its zone operation read until `DONE`.
    fn reboot(_server: &MockServer) -> RebootMock {
        let answer = |status| ResponseTemplate::new(200).set_body_json(operation("reset", status));
        RebootMock::sent(
            PowerAction::HardReboot,
            "POST",
            format!("{WEB_1}/reset"),
            answer("RUNNING"),
        )
        .then_read(format!("{OPERATIONS}/{OP}"), answer("DONE"))
    }
}

/// A service account's JSON key file, its token endpoint at `token_uri`.
fn key_json(token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "shop-prod",
        "private_key_id": "8c7a1f0e2d",
        "private_key": PEM,
        "client_email": EMAIL,
        "client_id": "112233445566778899",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })
    .to_string()
}

fn token_uri(server: &MockServer) -> String {
    format!("{}/token", server.uri())
}

/// The account at `server`, its tokens from `server`'s `/token` too.
fn gcp(server: &MockServer, zones: &[&str]) -> Gcp {
    let keys = GcpConfig {
        project: "shop-prod".into(),
        zones: zones.iter().map(|z| z.to_string()).collect(),
        credentials: keyring("contract"),
        endpoint: Some(server.uri()),
    };
    let secrets = store(&[("contract", &key_json(&token_uri(server)))]);
    Gcp::connect("prod", &keys, &secrets, limits()).unwrap()
}

async fn mount_gcp_token(server: &MockServer, token: &str, times: Option<u64>, expect: u64) {
    mount_token(server, "/token", token, times, expect).await;
}

fn instance(name: &str, status: &str) -> Value {
    json!({
        "kind": "compute#instance",
        "id": "4567890123456789012",
        "creationTimestamp": "2024-01-02T03:04:05.000-08:00",
        "name": name,
        "zone": format!("https://www.googleapis.com/compute/v1/projects/shop-prod/zones/{ZONE}"),
        "status": status,
        "machineType": "https://www.googleapis.com/compute/v1/projects/shop-prod/zones/europe-west1-b/machineTypes/e2-small",
        "networkInterfaces": [{
            "network": "https://www.googleapis.com/compute/v1/projects/shop-prod/global/networks/default",
            "networkIP": "10.132.0.7",
            "name": "nic0",
            "accessConfigs": [{"kind": "compute#accessConfig", "type": "ONE_TO_ONE_NAT", "name": "External NAT", "natIP": "34.76.1.2"}]
        }],
        "labels": {"team": "checkout"},
        "lastStartTimestamp": "2024-02-03T04:05:06.000-08:00",
        "selfLink": format!("https://www.googleapis.com/compute/v1/projects/shop-prod/zones/{ZONE}/instances/{name}")
    })
}

fn operation(kind: &str, status: &str) -> Value {
    json!({
        "kind": "compute#operation",
        "id": "1234567890123456789",
        "name": OP,
        "zone": format!("https://www.googleapis.com/compute/v1/projects/shop-prod/zones/{ZONE}"),
        "operationType": kind,
        "targetLink": format!("https://www.googleapis.com/compute/v1/projects/shop-prod/zones/{ZONE}/instances/web-1"),
        "status": status,
        "user": EMAIL,
        "progress": if status == "DONE" { 100 } else { 0 },
        "insertTime": "2024-05-01T10:00:00.000-07:00",
        "selfLink": format!("https://www.googleapis.com/compute/v1/projects/shop-prod/zones/{ZONE}/operations/{OP}")
    })
}

fn google_error(code: u16, status: &str, reason: &str, message: &str) -> Value {
    json!({"error": {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}],
        "status": status
    }})
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(TOKEN) && !text.contains(TOKEN_2), "{text}");
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains(&PEM[40..80]),
        "{text}"
    );
}

#[tokio::test]
async fn the_token_is_a_signed_jwt_exchanged_once_and_reused() {
    let server = MockServer::start().await;
    mount_gcp_token(&server, TOKEN, None, 1).await;
    let served = ResponseTemplate::new(200).set_body_json(instance("web-1", "RUNNING"));
    server
        .expect(
            given("GET", WEB_1).and(header("authorization", format!("Bearer {TOKEN}").as_str())),
            served,
            2,
        )
        .await;
    let g = gcp(&server, &[ZONE]);
    g.read(ZONE, "web-1").await.unwrap();
    g.read(ZONE, "web-1").await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let token_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/token")
        .collect();
    assert_eq!(token_requests.len(), 1);
    let fields = form_fields(token_requests[0]);
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["grant_type", "assertion"]);
    assert_eq!(fields[0].1, "urn:ietf:params:oauth:grant-type:jwt-bearer");
    let jwt = &fields[1].1;
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some("8c7a1f0e2d"));
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_uri(&server)]);
    validation.set_issuer(&[EMAIL]);
    let claims = jsonwebtoken::decode::<Value>(
        jwt,
        &DecodingKey::from_rsa_pem(PUBLIC_PEM.as_bytes()).unwrap(),
        &validation,
    )
    .expect("signed with the key's private_key")
    .claims;
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/compute");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
    let debug = format!("{g:?}");
    assert_no_secret(&debug);
    assert!(debug.contains(EMAIL), "{debug}");
}

/// instances.list zone by zone (every page, `maxResults`, `pageToken`); a page with no
/// `items` that names a next one is read past (AIP-158: "fewer results than the number
/// requested (including zero results), even if not at the end of the collection").
#[tokio::test]
async fn listing_reads_every_page_of_every_zone_and_a_failing_zone_is_a_row() {
    let server = MockServer::start().await;
    mount_gcp_token(&server, TOKEN, None, 1).await;
    let page = |items: Value, next: Option<&str>| {
        ResponseTemplate::new(200).set_body_json(json!({
            "kind": "compute#instanceList",
            "id": "projects/shop-prod/zones/europe-west1-b/instances",
            "items": items,
            "nextPageToken": next
        }))
    };
    for (token, answer) in [
        (
            None,
            page(
                json!([
                    instance("web-1", "RUNNING"),
                    instance("web-2", "TERMINATED")
                ]),
                Some("CkQIABIdcHJvamVjdHMv"),
            ),
        ),
        (
            Some("CkQIABIdcHJvamVjdHMv"),
            page(json!([]), Some("Q2tRSUFCSWRjSEp2")),
        ),
        (
            Some("Q2tRSUFCSWRjSEp2"),
            page(json!([instance("web-3", "STAGING")]), None),
        ),
    ] {
        let mock = Mock::given(method("GET"))
            .and(path(INSTANCES))
            .and(query_param("maxResults", "2"));
        let mock = match token {
            None => mock.and(query_param_is_missing("pageToken")),
            Some(t) => mock.and(query_param("pageToken", t)),
        };
        mock.respond_with(answer).expect(1).mount(&server).await;
    }
    mount_expected(
        &server,
        "GET",
        "/compute/v1/projects/shop-prod/zones/europe-west1-c/instances",
        ResponseTemplate::new(403).set_body_json(google_error(
            403,
            "PERMISSION_DENIED",
            "forbidden",
            "Required 'compute.instances.list' permission for 'projects/shop-prod'",
        )),
        1,
    )
    .await;
    // A zone with no instances answers without `items`.
    mount_expected(
        &server,
        "GET",
        "/compute/v1/projects/shop-prod/zones/europe-west1-d/instances",
        ResponseTemplate::new(200).set_body_json(json!({
            "kind": "compute#instanceList",
            "id": "projects/shop-prod/zones/europe-west1-d/instances"
        })),
        1,
    )
    .await;
    let inventory = gcp(&server, &[ZONE, ZONE_2, "europe-west1-d"])
        .with_page_size(2)
        .list()
        .await;
    let names: Vec<&str> = inventory.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(names, ["web-1", "web-2", "web-3"]);
    let web = &inventory.servers[0];
    assert_eq!(web.provider, "gcp");
    assert_eq!(web.account, "prod");
    assert_eq!(web.region, ZONE);
    assert_eq!(web.name.as_deref(), Some("web-1"));
    assert_eq!(web.status, ServerStatus::Running);
    assert_eq!(web.private_ips, ["10.132.0.7"]);
    assert_eq!(web.public_ips, ["34.76.1.2"]);
    assert_eq!(web.tags.get("team").map(String::as_str), Some("checkout"));
    assert_eq!(web.launched_at_ms, Some(1_706_961_906_000));
    assert_eq!(inventory.servers[1].status, ServerStatus::Stopped);
    assert_eq!(inventory.servers[1].raw_state, "TERMINATED");
    assert_eq!(inventory.servers[2].status, ServerStatus::Pending);
    assert_eq!(inventory.errors.len(), 1);
    let row = &inventory.errors[0];
    let words = ["compute.instances.list", EMAIL];
    assert_error_row(row, ZONE_2, ErrorCode::PermissionDenied, &words);
}

/// `POST …/{verb}?requestId=` sent once with the token, answering a RUNNING operation that is
/// DONE on the second poll; the instance then reads `during`, then `after`.
async fn mount_action(server: &MockServer, verb: &str, during: &str, after: &str) {
    let served = ResponseTemplate::new(200).set_body_json(operation(verb, "RUNNING"));
    server
        .expect(
            given("POST", format!("{WEB_1}/{verb}"))
                .and(header("authorization", format!("Bearer {TOKEN}").as_str())),
            served,
            1,
        )
        .await;
    let op = |status| ResponseTemplate::new(200).set_body_json(operation(verb, status));
    let route = format!("{OPERATIONS}/{OP}");
    mount_once_then(server, "GET", route, op("RUNNING"), op("DONE")).await;
    let vm = |status| ResponseTemplate::new(200).set_body_json(instance("web-1", status));
    mount_once_then(server, "GET", WEB_1.into(), vm(during), vm(after)).await;
}

#[tokio::test]
async fn stop_start_and_reset_follow_their_operation_and_the_instance_to_the_target() {
    for (action, verb, during, after, seen) in [
        (
            PowerAction::Stop,
            "stop",
            "STOPPING",
            "TERMINATED",
            vec![ServerStatus::Stopping, ServerStatus::Stopped],
        ),
        (
            PowerAction::Start,
            "start",
            "STAGING",
            "RUNNING",
            vec![ServerStatus::Pending, ServerStatus::Running],
        ),
        (
            PowerAction::HardReboot,
            "reset",
            "RUNNING",
            "RUNNING",
            vec![ServerStatus::Running],
        ),
    ] {
        let server = MockServer::start().await;
        mount_gcp_token(&server, TOKEN, None, 1).await;
        mount_action(&server, verb, during, after).await;
        let g = gcp(&server, &[ZONE]);
        let outcome = followed(&g, ZONE, "web-1", action).await.unwrap();
        assert_eq!(outcome.accepted.operation.as_deref(), Some(OP), "{verb}");
        assert_eq!(outcome.seen, seen, "{verb}");
        assert_eq!(outcome.server.status, action.target(), "{verb}");
        // A reset's operation DONE proves it; a stop or start is its state read back.
        let evidence = match action {
            PowerAction::HardReboot => Evidence::OperationCompleted {
                operation: OP.into(),
            },
            _ => Evidence::StateReadBack {
                raw_state: after.into(),
            },
        };
        assert_eq!(outcome.evidence, Some(evidence), "{verb}");

        let requests = server.received_requests().await.unwrap();
        let post = the_one_empty_post(&requests, WEB_1, verb);
        let query: Vec<(String, String)> = post
            .url
            .query_pairs()
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(query.len(), 1, "{query:?}");
        assert_eq!(query[0].0, "requestId");
        let id = uuid::Uuid::parse_str(&query[0].1).expect("requestId is a UUID");
        assert_eq!(id.get_version_num(), 4);
        let polls = asked(&requests, &format!("{OPERATIONS}/{OP}")).len();
        assert_eq!(polls, 2, "{verb}: the operation is polled until DONE");
    }
}

#[tokio::test]
async fn a_clean_reboot_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let g = gcp(&server, &[ZONE]);
    assert_fails(
        g.power(ZONE, "web-1", PowerAction::Reboot).await,
        ErrorCode::InvalidInput,
        &["hard-reboot", "stop then start", "SSH"],
    );
    let e = g
        .power(ZONE_2, "web-1", PowerAction::Stop)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput, "an unconfigured zone");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_operation_is_an_error_naming_the_instance() {
    let server = MockServer::start().await;
    mount_gcp_token(&server, TOKEN, None, 1).await;
    mount_expected(
        &server,
        "POST",
        format!("{WEB_1}/start"),
        ResponseTemplate::new(200).set_body_json(operation("start", "PENDING")),
        1,
    )
    .await;
    let mut failed = operation("start", "DONE");
    failed["error"] = json!({"errors": [{
        "code": "ZONE_RESOURCE_POOL_EXHAUSTED",
        "message": "The zone 'projects/shop-prod/zones/europe-west1-b' does not have enough resources available to fulfill the request. Try a different zone, or try again later."
    }]});
    failed["httpErrorStatusCode"] = json!(503);
    failed["httpErrorMessage"] = json!("SERVICE UNAVAILABLE");
    mount_expected(
        &server,
        "GET",
        format!("{OPERATIONS}/{OP}"),
        ResponseTemplate::new(200).set_body_json(failed),
        1,
    )
    .await;
    let g = gcp(&server, &[ZONE]);
    assert_fails(
        followed(&g, ZONE, "web-1", PowerAction::Start).await,
        ErrorCode::ServiceFailed,
        &["web-1", "ZONE_RESOURCE_POOL_EXHAUSTED", OP],
    );
}

#[tokio::test]
async fn an_operation_still_running_at_the_deadline_is_a_timeout() {
    let server = MockServer::start().await;
    // Two accounts below, a token each.
    mount_gcp_token(&server, TOKEN, None, 2).await;
    mount(
        &server,
        "POST",
        format!("{WEB_1}/stop"),
        ResponseTemplate::new(200).set_body_json(operation("stop", "RUNNING")),
    )
    .await;
    mount(
        &server,
        "GET",
        format!("{OPERATIONS}/{OP}"),
        ResponseTemplate::new(200).set_body_json(operation("stop", "RUNNING")),
    )
    .await;
    let settings = PollSettings {
        interval: Duration::from_millis(20),
        timeout: Duration::from_millis(100),
    };
    assert_fails(
        followed_with(
            &gcp(&server, &[ZONE]),
            ZONE,
            "web-1",
            PowerAction::Stop,
            settings,
        )
        .await,
        ErrorCode::Timeout,
        &["still RUNNING"],
    );
    assert_fails(
        followed_cancelled(&gcp(&server, &[ZONE]), ZONE, "web-1", PowerAction::Stop).await,
        ErrorCode::Cancelled,
        &[],
    );
}

/// `POST …/web-1/reset` answering `status` with `body`, expected once.
async fn reset_failing(status: u16, body: Value) -> paaf_core::Error {
    let server = MockServer::start().await;
    mount_gcp_token(&server, TOKEN, None, 1).await;
    mount_expected(
        &server,
        "POST",
        format!("{WEB_1}/reset"),
        ResponseTemplate::new(status).set_body_json(body),
        1,
    )
    .await;
    let e = gcp(&server, &[ZONE])
        .power(ZONE, "web-1", PowerAction::HardReboot)
        .await
        .unwrap_err();
    assert_no_secret(&e.to_string());
    e
}

#[tokio::test]
async fn api_failures_become_typed_errors_that_say_what_to_check() {
    let e = reset_failing(401, google_error(401, "UNAUTHENTICATED", "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")).await;
    assert_error(&e, ErrorCode::AuthFailed, &[EMAIL]);

    let e = reset_failing(403, google_error(403, "PERMISSION_DENIED", "forbidden", "Required 'compute.instances.reset' permission for 'projects/shop-prod/zones/europe-west1-b/instances/web-1'")).await;
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
    assert!(
        e.to_string()
            .contains("lacks the permission compute.instances.reset"),
        "{e}"
    );

    let e = reset_failing(
        403,
        google_error(403, "PERMISSION_DENIED", "forbidden", "Forbidden"),
    )
    .await;
    assert!(
        e.to_string().contains("compute.instances.reset"),
        "the permission is named even when the message does not: {e}"
    );

    let e = reset_failing(
        403,
        google_error(
            403,
            "PERMISSION_DENIED",
            "userRateLimitExceeded",
            "Quota exceeded",
        ),
    )
    .await;
    assert_eq!(
        e.code(),
        ErrorCode::RateLimited,
        "a 403 with a rate-limit reason: {e}"
    );

    let e = reset_failing(
        404,
        google_error(
            404,
            "NOT_FOUND",
            "notFound",
            "The resource 'projects/shop-prod/zones/europe-west1-b/instances/web-1' was not found",
        ),
    )
    .await;
    assert_error(&e, ErrorCode::NotFound, &["web-1", ZONE]);

    let e = reset_failing(409, google_error(409, "ABORTED", "conflict", "The resource 'projects/shop-prod/zones/europe-west1-b/instances/web-1' is already being used by 'projects/shop-prod/zones/europe-west1-b/operations/operation-1'")).await;
    assert_eq!(e.code(), ErrorCode::Conflict);

    let e = reset_failing(
        400,
        google_error(
            400,
            "FAILED_PRECONDITION",
            "resourceNotReady",
            "The resource 'projects/shop-prod/zones/europe-west1-b/instances/web-1' is not ready",
        ),
    )
    .await;
    assert_eq!(e.code(), ErrorCode::Conflict);

    let e = reset_failing(
        503,
        google_error(
            503,
            "UNAVAILABLE",
            "backendError",
            "Internal error. Please try again or contact Google Support.",
        ),
    )
    .await;
    assert_eq!(
        e.code(),
        ErrorCode::OutcomeUnknown,
        "a 5xx of a power call is not retried: {e}"
    );
}

#[tokio::test]
async fn a_401_drops_the_token_and_the_next_call_fetches_another() {
    let server = MockServer::start().await;
    mount_gcp_token(&server, TOKEN, Some(1), 1).await;
    mount_gcp_token(&server, TOKEN_2, None, 1).await;
    let served = ResponseTemplate::new(401).set_body_json(google_error(
        401,
        "UNAUTHENTICATED",
        "authError",
        "Invalid Credentials",
    ));
    server
        .expect(
            given("GET", WEB_1).and(header("authorization", format!("Bearer {TOKEN}").as_str())),
            served,
            1,
        )
        .await;
    Mock::given(method("GET"))
        .and(path(WEB_1))
        .and(header(
            "authorization",
            format!("Bearer {TOKEN_2}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(instance("web-1", "RUNNING")))
        .expect(1)
        .mount(&server)
        .await;
    let g = gcp(&server, &[ZONE]);
    assert_eq!(
        g.read(ZONE, "web-1").await.unwrap_err().code(),
        ErrorCode::AuthFailed
    );
    assert_eq!(
        g.read(ZONE, "web-1").await.unwrap().status,
        ServerStatus::Running
    );
}

#[tokio::test]
async fn a_refused_key_is_auth_failed_without_the_key_in_the_message() {
    let server = MockServer::start().await;
    mount_expected(
        &server,
        "POST",
        "/token",
        ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "Invalid JWT Signature."
        })),
        1,
    )
    .await;
    let e = assert_fails(
        gcp(&server, &[ZONE])
            .power(ZONE, "web-1", PowerAction::Stop)
            .await,
        ErrorCode::AuthFailed,
        &["invalid_grant: Invalid JWT Signature.", EMAIL, "clock"],
    );
    let text = e.to_string();
    assert_no_secret(&text);
    let posts = server.received_requests().await.unwrap();
    assert_eq!(
        posts.len(),
        1,
        "nothing sent to Compute Engine without a token"
    );
}

/// A 429 on a power call, waited out as `Retry-After` asks, and the power call sent again:
/// the operation it then answers is the one followed.
#[tokio::test]
async fn a_429_is_waited_for_as_it_asks_and_the_power_call_sent_again() {
    let server = MockServer::start().await;
    mount_gcp_token(&server, TOKEN, None, 1).await;
    let limited = Api::error(429, "Rate Limit Exceeded").insert_header("retry-after", "1");
    let done = ResponseTemplate::new(200).set_body_json(operation("stop", "DONE"));
    mount_once_then(&server, "POST", format!("{WEB_1}/stop"), limited, done).await;
    let started = std::time::Instant::now();
    let accepted = gcp(&server, &[ZONE])
        .power(ZONE, "web-1", PowerAction::Stop)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(accepted.operation.as_deref(), Some(OP));
}

#[tokio::test]
async fn an_operation_that_is_not_one_is_a_malformed_answer() {
    let server = MockServer::start().await;
    mount_gcp_token(&server, TOKEN, None, 1).await;
    mount_expected(
        &server,
        "POST",
        format!("{WEB_1}/start"),
        ResponseTemplate::new(200).set_body_json(json!({"kind": "compute#operation"})),
        1,
    )
    .await;
    assert_fails(
        gcp(&server, &[ZONE])
            .power(ZONE, "web-1", PowerAction::Start)
            .await,
        ErrorCode::MalformedResponse,
        &[],
    );
}

#[tokio::test]
async fn a_clouds_entry_connects_with_its_key_from_the_secret_store() {
    let server = MockServer::start().await;
    mount_gcp_token(&server, TOKEN, None, 1).await;
    let served =
        ResponseTemplate::new(200).set_body_json(json!({"items": [instance("web-1", "RUNNING")]}));
    server
        .expect(
            given("GET", INSTANCES).and(query_param("maxResults", "500")),
            served,
            1,
        )
        .await;
    let text = format!(
        "[[clouds]]\nname = \"prod\"\ntype = \"gcp\"\nproject = \"shop-prod\"\nregions = [\"{ZONE}\"]\ncredentials = \"keyring:gcp-prod\"\nendpoint = \"{}\"\n",
        server.uri()
    );
    let config =
        paaf_core::config::Config::parse(std::path::Path::new("/etc/paaf/config.toml"), &text)
            .unwrap();
    let secrets = paaf_core::secrets::MemoryStore::default();
    assert_fails(
        paaf_core::cloud::connect(&config.clouds[0], &secrets),
        ErrorCode::Secret,
        &[],
    );
    let key = SecretString::from(key_json(&token_uri(&server)));
    paaf_core::secrets::SecretStore::set(&secrets, "gcp-prod", &key).unwrap();
    let account = paaf_core::cloud::connect(&config.clouds[0], &secrets).unwrap();
    assert_eq!((account.provider(), account.name()), ("gcp", "prod"));
    let inventory = account.list().await;
    assert_eq!(inventory.servers.len(), 1, "{:?}", inventory.errors);
    assert_no_secret(&format!("{account:?}"));
}
