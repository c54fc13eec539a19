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

use paaf_core::ErrorCode;
use paaf_core::flags::devcycle::DevCycle;
use paaf_core::flags::{ChangeNote, FlagBackend, FlagFilter, FlagRef, FlagState};
use paaf_core::http::Limits;
use secrecy::SecretString;
use serde_json::json;
use std::time::{Duration, Instant};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "aBcDeF0123456789clientid";
const SECRET: &str = "cs_9sEcReT-client-secret-value-0123456789";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.tok-one.sig";
const TOKEN_2: &str = "eyJhbGciOiJSUzI1NiJ9.tok-two.sig";
const CONFIGS: &str = "/v1/projects/shop/features/new-checkout/configurations";

fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        max_response_bytes: 1024 * 1024,
        max_attempts: 2,
        max_retry_wait: Duration::from_secs(3),
    }
}

fn backend(server: &MockServer) -> DevCycle {
    DevCycle::connect(
        "ops",
        &server.uri(),
        CLIENT_ID,
        SecretString::from(SECRET),
        limits(),
        "shop",
        &format!("{}/auth/", server.uri()),
    )
    .unwrap()
}

fn target() -> FlagRef<'static> {
    FlagRef {
        project: "shop",
        key: "new-checkout",
        environment: "production",
    }
}

fn state(enabled: bool) -> FlagState {
    FlagState {
        enabled,
        version: None,
    }
}

fn note() -> ChangeNote {
    ChangeNote {
        comment: "paaf: test".into(),
    }
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
async fn mount_token(server: &MockServer, token: &str, times: Option<u64>, expect: u64) {
    let mut mock = Mock::given(method("POST"))
        .and(path("/auth/oauth/token"))
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
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .and(query_param("environment", "production"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([config(status)])))
        .mount(server)
        .await;
}

async fn mount_environments(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/projects/shop/environments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"_id": "env-dev", "_project": "p1", "key": "development", "name": "Development", "type": "development"},
            {"_id": "env-prod", "_project": "p1", "key": "production", "name": "Production", "type": "production"}
        ])))
        .mount(server)
        .await;
}

fn assert_names_everything(text: &str) {
    assert!(text.contains("devcycle \"ops\""), "{text}");
    assert!(text.contains("shop"), "{text}");
    assert!(text.contains("production"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn the_token_is_fetched_with_the_documented_body_and_cached_across_calls() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .and(query_param("environment", "production"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([config("active")])))
        .expect(2)
        .mount(&server)
        .await;
    let d = backend(&server);
    assert_eq!(d.state(&target()).await.unwrap(), state(true));
    assert_eq!(d.state(&target()).await.unwrap(), state(true));
    let debug = format!("{d:?}");
    assert!(!debug.contains(SECRET) && !debug.contains(TOKEN), "{debug}");
}

#[tokio::test]
async fn a_401_fetches_a_new_token_once_and_sends_again() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, Some(1), 1).await;
    mount_token(&server, TOKEN_2, None, 1).await;
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "statusCode": 401, "message": "Unauthorized"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .and(header("authorization", TOKEN_2))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([config("inactive")])))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        backend(&server).state(&target()).await.unwrap(),
        state(false)
    );
}

#[tokio::test]
async fn a_401_that_persists_with_a_fresh_token_is_auth_failed() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 2).await;
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "statusCode": 401, "message": "Unauthorized"
        })))
        .expect(2)
        .mount(&server)
        .await;
    let e = backend(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e}");
    assert_names_everything(&e.to_string());
}

/// Auth0 answers a wrong client secret with 401 `{error: "access_denied"}`.
#[tokio::test]
async fn refused_client_credentials_are_auth_failed_without_echoing_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "access_denied",
            "error_description": format!("Unauthorized ({SECRET})")
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let e = backend(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e}");
    let text = e.to_string();
    assert!(text.contains("access_denied"), "{text}");
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
    Mock::given(method("GET"))
        .and(path("/v1/projects/shop/features"))
        .and(query_param("page", "1"))
        .and(query_param("perPage", "1000"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .expect(2)
        .mount(&server)
        .await;
    // …and a short last page with one that does not: read per feature.
    Mock::given(method("GET"))
        .and(path("/v1/projects/shop/features"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "_id": "fz", "_project": "p1", "source": "dashboard", "key": "new-checkout",
            "name": "New checkout", "description": "the new flow", "tags": ["checkout"],
            "controlVariation": "control", "readonly": false,
            "createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-01-01T00:00:00.000Z"
        }])))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            config("active"),
            {"_feature": "fz", "_environment": "env-dev", "status": "inactive",
             "updatedAt": "2025-05-01T10:00:00.000Z", "targets": [], "readonly": false, "hasStaticConfig": false}
        ])))
        .expect(2)
        .mount(&server)
        .await;
    let d = backend(&server);
    let flags = d.list(&FlagFilter::default()).await.unwrap();
    assert_eq!(flags.len(), 1001);
    assert_eq!(flags[0].key, "feature-0000");
    assert_eq!(flags[0].backend, "ops");
    assert_eq!(flags[0].project, "shop");
    let envs: Vec<(&str, bool)> = flags[1]
        .environments
        .iter()
        .map(|e| (e.name.as_str(), e.enabled))
        .collect();
    assert_eq!(envs, [("development", true), ("production", false)]);
    let checkout = flags.iter().find(|f| f.key == "new-checkout").unwrap();
    assert_eq!(checkout.description.as_deref(), Some("the new flow"));
    let envs: Vec<(&str, bool)> = checkout
        .environments
        .iter()
        .map(|e| (e.name.as_str(), e.enabled))
        .collect();
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

#[tokio::test]
async fn turning_off_sends_the_documented_patch_after_a_re_read() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    mount_state(&server, "active").await;
    Mock::given(method("PATCH"))
        .and(path(CONFIGS))
        .and(query_param("environment", "production"))
        .and(header("authorization", TOKEN))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"status": "inactive"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(config("inactive")))
        .expect(1)
        .mount(&server)
        .await;
    let new = backend(&server)
        .set(&target(), false, &state(true), &note())
        .await
        .unwrap();
    assert_eq!(new, state(false));
}

#[tokio::test]
async fn turning_on_sends_status_active() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    mount_state(&server, "inactive").await;
    Mock::given(method("PATCH"))
        .and(path(CONFIGS))
        .and(query_param("environment", "production"))
        .and(header("authorization", TOKEN))
        .and(body_json(json!({"status": "active"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(config("active")))
        .expect(1)
        .mount(&server)
        .await;
    let new = backend(&server)
        .set(&target(), true, &state(false), &note())
        .await
        .unwrap();
    assert_eq!(new, state(true));
}

#[tokio::test]
async fn a_state_changed_since_the_user_looked_is_a_conflict_and_nothing_is_written() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    mount_state(&server, "inactive").await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let e = backend(&server)
        .set(&target(), false, &state(true), &note())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    let text = e.to_string();
    assert!(text.contains("now OFF, not ON"), "{text}");
    assert_names_everything(&text);
}

#[tokio::test]
async fn a_403_is_permission_denied_naming_backend_project_and_environment() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    mount_state(&server, "active").await;
    Mock::given(method("PATCH"))
        .and(path(CONFIGS))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "statusCode": 403, "message": "Forbidden resource", "error": "Forbidden"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let e = backend(&server)
        .set(&target(), false, &state(true), &note())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied, "{e}");
    let text = e.to_string();
    assert!(text.contains("Forbidden resource"), "{text}");
    assert_names_everything(&text);
}

#[tokio::test]
async fn a_404_says_whether_the_feature_the_environment_or_the_project_is_unknown() {
    let not_found =
        json!({"statusCode": 404, "message": "Feature not found", "error": "Not Found"});
    // Unknown feature: the environment exists.
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 2).await;
    mount_environments(&server).await;
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .respond_with(ResponseTemplate::new(404).set_body_json(not_found.clone()))
        .mount(&server)
        .await;
    let e = backend(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("no DevCycle feature named `new-checkout`"),
        "{text}"
    );
    assert!(text.contains("Feature not found"), "{text}");
    assert_names_everything(&text);

    // Unknown environment: listed with the ones there are.
    let e = backend(&server)
        .state(&FlagRef {
            environment: "prod",
            ..target()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("no DevCycle environment named `prod`"),
        "{text}"
    );
    assert!(text.contains("development, production"), "{text}");

    // Unknown project.
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "statusCode": 404, "message": "Project not found", "error": "Not Found"
        })))
        .mount(&server)
        .await;
    let e = backend(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    let text = e.to_string();
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
        Mock::given(method("PATCH"))
            .and(path(CONFIGS))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let e = backend(&server)
            .set(&target(), false, &state(true), &note())
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
        let text = e.to_string();
        assert!(text.contains(wanted), "{text}");
        assert!(text.contains("nothing was changed"), "{text}");
        assert_names_everything(&text);
    }
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_state(&server, "active").await;
    let started = Instant::now();
    assert_eq!(
        backend(&server).state(&target()).await.unwrap(),
        state(true)
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_long_retry_after_is_rate_limited_without_waiting() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let e = backend(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::RateLimited, "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = e.to_string();
    assert!(text.contains("120s"), "{text}");
    assert_names_everything(&text);
}

#[tokio::test]
async fn a_5xx_on_a_read_is_retried_then_service_failed() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .expect(2)
        .mount(&server)
        .await;
    let e = backend(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServiceFailed, "{e}");
    assert_names_everything(&e.to_string());
}

#[tokio::test]
async fn a_write_that_times_out_is_outcome_unknown_and_never_sent_twice() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    mount_state(&server, "active").await;
    Mock::given(method("PATCH"))
        .and(path(CONFIGS))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(config("inactive"))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = backend(&server)
        .set(&target(), false, &state(true), &note())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{e}");
    let text = e.to_string();
    assert!(text.contains("devcycle \"ops\""), "{text}");
    assert!(
        text.contains("shop") && text.contains("production"),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "{text}");
}

#[tokio::test]
async fn malformed_json_is_a_malformed_response() {
    let server = MockServer::start().await;
    mount_token(&server, TOKEN, None, 1).await;
    Mock::given(method("GET"))
        .and(path(CONFIGS))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
        .mount(&server)
        .await;
    let e = backend(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::MalformedResponse, "{e}");
    assert!(e.to_string().contains("devcycle \"ops\""), "{e}");

    // A token endpoint that answers something else than a token.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_type": "Bearer"})))
        .mount(&server)
        .await;
    let e = backend(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::MalformedResponse, "{e}");
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
        let e = DevCycle::connect(
            "ops",
            &server.uri(),
            CLIENT_ID,
            SecretString::from(key),
            limits(),
            "shop",
            &format!("{}/auth/", server.uri()),
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
        let text = e.to_string();
        assert!(text.contains("SDK key"), "{text}");
        assert!(text.contains("API Authentication"), "{text}");
        assert!(text.contains("devcycle \"ops\""), "{text}");
        assert!(!text.contains(key), "{text}");
    }
}
