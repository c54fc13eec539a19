//! The DevCycle backend (core/src/flags/devcycle.rs) against a contract server (wiremock) that
//! answers as DevCycle's docs say, failures included.
//!
//! Followed:
//! - Management API: https://docs.devcycle.com/management-api/ (endpoints, `Authorization:
//!   <token>`), with the shapes of its generated client in the DevCycle CLI:
//!   https://github.com/DevCycleHQ/cli/blob/main/src/api/zodClientAPI.ts (features list: bare
//!   array, `page`/`perPage`; configurations: `[{_feature, _environment, status}]`; PATCH
//!   `{status}`; errors `{statusCode, message, error}`) and src/api/targeting.ts;
//! - tokens: https://docs.devcycle.com/management-api/#section/Authentication and the CLI's
//!   src/auth/ApiAuth.ts (`POST https://auth.devcycle.com/oauth/token`, body
//!   `{grant_type, client_id, client_secret, audience}`), Auth0's answers:
//!   https://auth0.com/docs/api/authentication#client-credentials-flow;
//! - SDK keys: https://docs.devcycle.com/essentials/keys;
//! - approvals: https://docs.devcycle.com/extras/approval-workflows;
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3.

use super::{Contract, Facts, contract_tests, env_states};
use crate::support::assert_fails;
use crate::support::{Serve, given, limits};
use paaf_core::ErrorCode;
use paaf_core::flags::devcycle::DevCycle;
use paaf_core::flags::{FlagBackend, FlagFilter};
use paaf_core::http::Limits;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "aBcDeF0123456789clientid";
const SECRET: &str = "cs_9sEcReT-client-secret-value-0123456789";
pub(super) const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.tok-one.sig";
const TOKEN_2: &str = "eyJhbGciOiJSUzI1NiJ9.tok-two.sig";
const CONFIGS: &str = "/v1/projects/shop/features/new-checkout/configurations";

fn backend_with(server: &MockServer, limits: Limits) -> DevCycle {
    DevCycle::connect(
        "ops",
        &server.uri(),
        CLIENT_ID,
        SecretString::from(SECRET),
        limits,
        "shop",
        &format!("{}/auth/", server.uri()),
    )
    .unwrap()
}

fn backend(server: &MockServer) -> DevCycle {
    backend_with(server, limits())
}

fn config(status: &str) -> serde_json::Value {
    json!({
        "_feature": "61450f3daec96f5cf4a49946",
        "_environment": "env-prod",
        "status": status,
        "updatedAt": "2025-05-01T10:00:00.000Z",
        "targets": [],
        "readonly": false,
        "hasStaticConfig": false
    })
}

/// The token endpoint, checking the documented body; answers `token` (`times` times, or
/// always).
/// Auth0's token endpoint (`POST /auth/oauth/token`).
fn token_endpoint() -> MockBuilder {
    Mock::given(method("POST")).and(path("/auth/oauth/token"))
}

/// A token answer: `TOKEN`, living `expires_in` seconds.
fn issued(expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": TOKEN, "expires_in": expires_in, "token_type": "Bearer"
    }))
}

async fn mount_token(server: &MockServer, token: &str, times: Option<u64>, expect: u64) {
    let mut mock = token_endpoint()
        .and(body_json(json!({
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "audience": "https://api.devcycle.com/"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token,
            "scope": "",
            "expires_in": 86400,
            "token_type": "Bearer"
        })));
    if let Some(n) = times {
        mock = mock.up_to_n_times(n);
    }
    mock.expect(expect).mount(server).await;
}

/// `GET …/configurations?environment=production` answering `status` with `TOKEN`.
async fn mount_state(server: &MockServer, status: &str) {
    let served = ResponseTemplate::new(200).set_body_json(json!([config(status)]));
    server
        .serve(
            given("GET", CONFIGS)
                .and(query_param("environment", "production"))
                .and(header("authorization", TOKEN)),
            served,
        )
        .await;
}

async fn mount_environments(server: &MockServer) {
    let served = ResponseTemplate::new(200).set_body_json(json!([
            {"_id": "env-dev", "_project": "p1", "key": "development", "name": "Development", "type": "development"},
            {"_id": "env-prod", "_project": "p1", "key": "production", "name": "Production", "type": "production"}
        ]));
    server
        .serve(given("GET", "/v1/projects/shop/environments"), served)
        .await;
}

fn assert_names_everything(text: &str) {
    assert!(text.contains("devcycle \"ops\""), "{text}");
    assert!(text.contains("shop"), "{text}");
    assert!(text.contains("production"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

/// DevCycle's Management API (and its token endpoint) as its docs describe it, for the
/// shared table.
pub(crate) struct Dc;

impl Contract for Dc {
    type Backend = DevCycle;

    fn backend(server: &MockServer, limits: Limits) -> DevCycle {
        backend_with(server, limits)
    }

    async fn mount_base(server: &MockServer) {
        token_endpoint()
            .respond_with(issued(86400))
            .mount(server)
            .await;
    }

    async fn mount_read(server: &MockServer, enabled: bool) {
        mount_state(server, if enabled { "active" } else { "inactive" }).await;
    }

    fn write() -> MockBuilder {
        Mock::given(method("PATCH")).and(path(CONFIGS))
    }

    fn written(enabled: bool) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(config(if enabled {
            "active"
        } else {
            "inactive"
        }))
    }

    fn error_body(message: &str) -> Value {
        json!({"statusCode": 400, "message": message, "error": "Bad Request"})
    }

    /// A server that ignores `page`: the same full page (`perPage` features) every time.
    async fn mount_repeating_pages(server: &MockServer) {
        mount_environments(server).await;
        let page: Vec<Value> = (0..1000)
            .map(|i| json!({"_id": format!("f{i}"), "key": format!("feature-{i:04}"), "tags": []}))
            .collect();
        let served = ResponseTemplate::new(200).set_body_json(page);
        server
            .serve(given("GET", "/v1/projects/shop/features"), served)
            .await;
    }
}

contract_tests!(Dc, a_pager_that_repeats_itself_is_malformed);

/// DevCycle has no conditional write, so nothing may fall between paaf's last read and its
/// write: a token that expires during the read is not renewed between them (a change made
/// during that token request would go unseen); the write goes with the token of the read.
#[tokio::test]
async fn no_token_is_fetched_between_the_read_and_the_write() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(issued(1))
        .mount(&server)
        .await;
    // The read takes longer than the token lives.
    let served = ResponseTemplate::new(200)
        .set_body_json(json!([config("active")]))
        .set_delay(Duration::from_millis(1200));
    server.serve(given("GET", CONFIGS), served).await;
    Dc::write()
        .respond_with(Dc::written(false))
        .expect(1)
        .mount(&server)
        .await;
    let limits = Limits {
        timeout: Duration::from_secs(3),
        ..limits()
    };
    let after = Dc::switch(&backend_with(&server, limits), false, Dc::state(true))
        .await
        .unwrap();
    assert_eq!(after, Dc::state(false));
    let requests = server.received_requests().await.unwrap();
    let order: Vec<&str> = requests
        .iter()
        .map(|r| match r.method.as_str() {
            "POST" => "token",
            "GET" => "read",
            _ => "write",
        })
        .collect();
    let read = order.iter().rposition(|r| *r == "read").unwrap();
    let write = order.iter().position(|r| *r == "write").unwrap();
    assert!(
        !order[read..write].contains(&"token"),
        "a token request between the read and the write: {order:?}"
    );
}

#[tokio::test]
async fn the_token_is_fetched_with_the_documented_body_and_cached_across_calls() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    let served = ResponseTemplate::new(200).set_body_json(json!([config("active")]));
    server
        .expect(
            given("GET", CONFIGS)
                .and(query_param("environment", "production"))
                .and(header("authorization", TOKEN)),
            served,
            2,
        )
        .await;
    let d = backend(&server);
    assert_eq!(d.state(&Dc::TARGET).await.unwrap(), Dc::state(true));
    assert_eq!(d.state(&Dc::TARGET).await.unwrap(), Dc::state(true));
    let debug = format!("{d:?}");
    assert!(!debug.contains(SECRET) && !debug.contains(TOKEN), "{debug}");
}

#[tokio::test]
async fn a_401_fetches_a_new_token_once_and_sends_again() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, Some(1), 1).await;
    mount_token(&server, TOKEN_2, None, 1).await;
    let served = ResponseTemplate::new(401).set_body_json(json!({
        "statusCode": 401, "message": "Unauthorized"
    }));
    server
        .expect(
            given("GET", CONFIGS).and(header("authorization", TOKEN)),
            served,
            1,
        )
        .await;
    let served = ResponseTemplate::new(200).set_body_json(json!([config("inactive")]));
    server
        .expect(
            given("GET", CONFIGS).and(header("authorization", TOKEN_2)),
            served,
            1,
        )
        .await;
    assert_eq!(
        backend(&server).state(&Dc::TARGET).await.unwrap(),
        Dc::state(false)
    );
}

#[tokio::test]
async fn a_401_that_persists_with_a_fresh_token_is_auth_failed() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 2).await;
    let served = ResponseTemplate::new(401).set_body_json(json!({
        "statusCode": 401, "message": "Unauthorized"
    }));
    server.expect(given("GET", CONFIGS), served, 2).await;
    let e = assert_fails(
        backend(&server).state(&Dc::TARGET).await,
        ErrorCode::AuthFailed,
        &[],
    );
    assert_names_everything(&e.to_string());
}

/// Auth0 answers a wrong client secret with 401 `{error: "access_denied"}`.
#[tokio::test]
async fn refused_client_credentials_are_auth_failed_without_echoing_the_secret() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "access_denied",
            "error_description": format!("Unauthorized ({SECRET})")
        })))
        .expect(1)
        .mount(&server)
        .await;
    server
        .expect(Mock::given(method("GET")), ResponseTemplate::new(200), 0)
        .await;
    let e = assert_fails(
        backend(&server).state(&Dc::TARGET).await,
        ErrorCode::AuthFailed,
        &["access_denied"],
    );
    let text = e.to_string();
    assert!(text.contains("client_secret"), "{text}");
    assert_names_everything(&text);
}

#[tokio::test]
async fn list_reads_every_page_and_maps_environment_ids_to_keys() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    mount_environments(&server).await;
    // A full first page (perPage=1000) whose features carry their configurations…
    let first: Vec<serde_json::Value> = (0..1000)
        .map(|i| {
            json!({
                "_id": format!("f{i}"), "_project": "p1", "source": "api",
                "key": format!("feature-{i:04}"), "name": format!("Feature {i}"),
                "tags": if i == 7 { json!(["checkout"]) } else { json!([]) },
                "controlVariation": "control", "readonly": false,
                "createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-01-01T00:00:00.000Z",
                "configurations": [
                    {"_environment": "env-prod", "status": if i % 2 == 0 { "active" } else { "inactive" }},
                    {"_environment": "env-dev", "status": "active"}
                ]
            })
        })
        .collect();
    let served = ResponseTemplate::new(200).set_body_json(first);
    server
        .expect(
            given("GET", "/v1/projects/shop/features?page=1&perPage=1000")
                .and(header("authorization", TOKEN)),
            served,
            2,
        )
        .await;
    // …and a short last page with one that does not: read per feature.
    let served = ResponseTemplate::new(200).set_body_json(json!([{
        "_id": "fz", "_project": "p1", "source": "dashboard", "key": "new-checkout",
        "name": "New checkout", "description": "the new flow", "tags": ["checkout"],
        "controlVariation": "control", "readonly": false,
        "createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-01-01T00:00:00.000Z"
    }]));
    server
        .expect(given("GET", "/v1/projects/shop/features?page=2"), served, 2)
        .await;
    let served = ResponseTemplate::new(200).set_body_json(json!([
            config("active"),
            {"_feature": "fz", "_environment": "env-dev", "status": "inactive",
             "updatedAt": "2025-05-01T10:00:00.000Z", "targets": [], "readonly": false, "hasStaticConfig": false}
        ]));
    server.expect(given("GET", CONFIGS), served, 2).await;
    let d = backend(&server);
    let flags = d.list(&FlagFilter::default()).await.unwrap();
    assert_eq!(flags.len(), 1001);
    assert_eq!(flags[0].key, "feature-0000");
    assert_eq!(flags[0].backend, "ops");
    assert_eq!(flags[0].project, "shop");
    let envs = env_states(&flags[1]);
    assert_eq!(envs, [("development", true), ("production", false)]);
    let checkout = flags.iter().find(|f| f.key == "new-checkout").unwrap();
    assert_eq!(checkout.description.as_deref(), Some("the new flow"));
    let envs = env_states(checkout);
    assert_eq!(envs, [("development", false), ("production", true)]);

    // Filters: by tag and environment, client-side.
    let filter = FlagFilter {
        tag: Some("checkout".into()),
        environment: Some("production".into()),
        ..FlagFilter::default()
    };
    let tagged = d.list(&filter).await.unwrap();
    let keys: Vec<&str> = tagged.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["feature-0007", "new-checkout"]);
    assert!(tagged.iter().all(|f| f.environments.len() == 1));
}

/// Off and on: the documented `PATCH` with `status` `inactive` or `active`, after a re-read.
#[tokio::test]
async fn turning_off_and_on_sends_the_documented_patch_after_a_re_read() {
    for (from, to, status) in [("active", false, "inactive"), ("inactive", true, "active")] {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, None, 1).await;
        mount_state(&server, from).await;
        let served = ResponseTemplate::new(200).set_body_json(config(status));
        server
            .expect(
                given("PATCH", CONFIGS)
                    .and(query_param("environment", "production"))
                    .and(header("authorization", TOKEN))
                    .and(header("content-type", "application/json"))
                    .and(body_json(json!({ "status": status }))),
                served,
                1,
            )
            .await;
        let new = Dc::switch(&backend(&server), to, Dc::state(!to))
            .await
            .unwrap();
        assert_eq!(new, Dc::state(to));
    }
}

#[tokio::test]
async fn a_404_says_whether_the_feature_the_environment_or_the_project_is_unknown() {
    let not_found =
        json!({"statusCode": 404, "message": "Feature not found", "error": "Not Found"});
    // Unknown feature: the environment exists.
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 2).await;
    mount_environments(&server).await;
    let served = ResponseTemplate::new(404).set_body_json(not_found.clone());
    server.serve(given("GET", CONFIGS), served).await;
    let text = Dc::not_found(&backend(&server), Dc::TARGET).await;
    assert!(
        text.contains("no DevCycle feature named `new-checkout`"),
        "{text}"
    );
    assert!(text.contains("Feature not found"), "{text}");
    assert_names_everything(&text);

    // Unknown environment: listed with the ones there are.
    let text = Dc::not_found(&backend(&server), Dc::in_environment("prod")).await;
    assert!(
        text.contains("no DevCycle environment named `prod`"),
        "{text}"
    );
    assert!(text.contains("development, production"), "{text}");

    // Unknown project.
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    let served = ResponseTemplate::new(404).set_body_json(json!({
        "statusCode": 404, "message": "Project not found", "error": "Not Found"
    }));
    server.serve(Mock::given(method("GET")), served).await;
    let text = Dc::not_found(&backend(&server), Dc::TARGET).await;
    assert!(text.contains("no DevCycle project named `shop`"), "{text}");
    assert!(text.contains("Project not found"), "{text}");
}

/// With Approval Workflows on, a direct change is refused. The body's shape is the API's
/// `PreconditionFailedErrorResponse` (`{statusCode, message, error}`, zodClientAPI.ts); its
/// wording is paaf's assumption: the docs do not quote it.
#[tokio::test]
async fn a_required_approval_or_a_409_is_a_conflict() {
    for (status, body, wanted) in [
        (
            412,
            json!({"statusCode": 412, "message": "Changes to this Feature require an approved change request (Approval Workflows)", "error": "Precondition Failed"}),
            "approved change request",
        ),
        (
            409,
            json!({"statusCode": 409, "message": "Feature was modified", "error": "Conflict", "errorType": "conflict"}),
            "conflicting",
        ),
    ] {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, None, 1).await;
        mount_state(&server, "active").await;
        let served = ResponseTemplate::new(status).set_body_json(body);
        server.expect(given("PATCH", CONFIGS), served, 1).await;
        let e = assert_fails(
            Dc::switch(&backend(&server), false, Dc::state(true)).await,
            ErrorCode::Conflict,
            &[wanted],
        );
        let text = e.to_string();
        assert!(text.contains("nothing was changed"), "{text}");
        assert_names_everything(&text);
    }
}

/// A token endpoint that answers something else than a token.
#[tokio::test]
async fn a_token_answer_without_a_token_is_a_malformed_response() {
    let server = MockServer::start().await;
    token_endpoint()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_type": "Bearer"})))
        .mount(&server)
        .await;
    assert_fails(
        backend(&server).state(&Dc::TARGET).await,
        ErrorCode::MalformedResponse,
        &[],
    );
}

#[tokio::test]
async fn an_sdk_key_given_as_client_secret_is_refused_and_explained_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    for key in [
        "dvc_server_8a3f2b1c_9d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a",
        "dvc_client_8a3f2b1c_hash",
        "dvc_mobile_8a3f2b1c_hash",
    ] {
        let e = assert_fails(
            DevCycle::connect(
                "ops",
                &server.uri(),
                CLIENT_ID,
                SecretString::from(key),
                limits(),
                "shop",
                &format!("{}/auth/", server.uri()),
            ),
            ErrorCode::InvalidInput,
            &["SDK key"],
        );
        let text = e.to_string();
        assert!(text.contains("API Authentication"), "{text}");
        assert!(text.contains("devcycle \"ops\""), "{text}");
        assert!(!text.contains(key), "{text}");
    }
}
