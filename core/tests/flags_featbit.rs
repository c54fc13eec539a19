//! The FeatBit backend (core/src/flags/featbit.rs) against a contract server (wiremock) that
//! answers as FeatBit's API documentation says (https://docs.featbit.co/api-docs/overview and
//! the OpenAPI endpoints it lists), with the envelope and error codes of FeatBit's own source
//! where the docs are silent (featbit/featbit `modules/back-end/src/Api/Controllers/
//! ApiResponse.cs`, `FeatureFlagController.cs`, `Middlewares/ApiExceptionMiddlewareExtension.cs`,
//! `Authorization/ApiAuthorizationResultHandler.cs`, `Application/Bases/ErrorCodes.cs`).

use paaf_core::ErrorCode;
use paaf_core::flags::featbit::FeatBit;
use paaf_core::flags::{ChangeNote, FlagBackend, FlagFilter, FlagRef, FlagState};
use paaf_core::http::Limits;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "api-MzQ2LWE2MmMtNGE0OC1iYmEzLTAwZjlhY2UyZDZjMjIwMjQ";
const PROD: &str = "7ee5d7ae-3d8c-4f08-9e1c-0b1c6f0e4c2a";
const DEV: &str = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";

fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        max_response_bytes: 1024 * 1024,
        max_attempts: 2,
        max_retry_wait: Duration::from_secs(3),
    }
}

fn fb_with(server: &MockServer, limits: Limits) -> FeatBit {
    let envs = BTreeMap::from([
        ("production".to_string(), PROD.to_string()),
        ("development".to_string(), DEV.to_string()),
    ]);
    FeatBit::connect(
        "self",
        &server.uri(),
        SecretString::from(TOKEN),
        limits,
        "shop",
        &envs,
    )
    .unwrap()
}

fn fb(server: &MockServer) -> FeatBit {
    fb_with(server, limits())
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
        comment: "paaf: alice via mobile@Pixel 8".into(),
    }
}

fn flag_path() -> String {
    format!("/api/v1/envs/{PROD}/feature-flags/new-checkout")
}

fn ok(data: Value) -> Value {
    json!({"success": true, "errors": [], "data": data})
}

fn failed(code: &str) -> Value {
    json!({"success": false, "errors": [code], "data": null})
}

fn item(key: &str, enabled: bool) -> Value {
    json!({
        "id": "0f1e2d3c-4b5a-4968-8776-655443322110", "name": key, "description": "",
        "key": key, "isEnabled": enabled, "variationType": "boolean",
        "variations": [{"id": "v1", "name": "true", "value": "true"}, {"id": "v2", "name": "false", "value": "false"}],
        "createdAt": "2024-05-01T10:00:00Z", "updatedAt": "2024-05-02T10:00:00Z",
        "serves": {"enabledVariations": ["true"], "disabledVariation": "false"}, "tags": ["checkout"]
    })
}

async fn mount_flag(server: &MockServer, enabled: bool) {
    Mock::given(method("GET"))
        .and(path(flag_path()))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok(item("new-checkout", enabled))))
        .mount(server)
        .await;
}

/// https://docs.featbit.co/api-docs/overview → "Get flag list of an environment":
/// `GET /api/v1/envs/{envId}/feature-flags?pageIndex=&pageSize=`, `data: {totalCount, items}`.
#[tokio::test]
async fn lists_every_page_of_every_environment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/envs/{PROD}/feature-flags")))
        .and(query_param("pageIndex", "0"))
        .and(query_param("pageSize", "100"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!({
            "totalCount": 3,
            "items": [item("dark-mode", false), item("new-checkout", true)]
        }))))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/envs/{PROD}/feature-flags")))
        .and(query_param("pageIndex", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!({
            "totalCount": 3, "items": [item("search-v2", true)]
        }))))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/envs/{DEV}/feature-flags")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!({
            "totalCount": 3,
            "items": [item("dark-mode", true), item("new-checkout", true), item("search-v2", false)]
        }))))
        .mount(&server)
        .await;
    let flags = fb(&server).list(&FlagFilter::default()).await.unwrap();
    let keys: Vec<&str> = flags.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["dark-mode", "new-checkout", "search-v2"]);
    let dark = &flags[0];
    assert_eq!(dark.project, "shop");
    assert_eq!(dark.tags, ["checkout"]);
    let envs: Vec<(&str, bool)> = dark
        .environments
        .iter()
        .map(|e| (e.name.as_str(), e.enabled))
        .collect();
    assert_eq!(envs, [("development", true), ("production", false)]);
}

/// "Get a feature flag": `GET /api/v1/envs/{envId}/feature-flags/{key}`.
#[tokio::test]
async fn reads_the_state() {
    let server = MockServer::start().await;
    mount_flag(&server, true).await;
    assert_eq!(fb(&server).state(&target()).await.unwrap(), state(true));
}

/// "Toggle a feature flag": `PUT /api/v1/envs/{envId}/feature-flags/{key}/toggle/{status}`
/// with the optional `{"comment"}` body; `data` is the flag's revision.
#[tokio::test]
async fn toggles_off_and_on_with_the_comment() {
    for (from, to) in [(true, false), (false, true)] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(flag_path()))
            .respond_with(ResponseTemplate::new(200).set_body_json(ok(item("new-checkout", from))))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        mount_flag(&server, to).await;
        Mock::given(method("PUT"))
            .and(path(format!("{}/toggle/{to}", flag_path())))
            .and(header("authorization", TOKEN))
            .and(header("content-type", "application/json"))
            .and(body_json(
                json!({"comment": "paaf: alice via mobile@Pixel 8"}),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(ok(json!("5b0c2f1e-8d7a-4c3b-9e1f-2a3b4c5d6e7f"))),
            )
            .expect(1)
            .mount(&server)
            .await;
        let after = fb(&server)
            .set(&target(), to, &state(from), &note())
            .await
            .unwrap();
        assert_eq!(after, state(to));
    }
}

#[tokio::test]
async fn a_state_changed_since_the_user_looked_is_a_conflict_and_nothing_is_sent() {
    let server = MockServer::start().await;
    mount_flag(&server, false).await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!(true))))
        .expect(0)
        .mount(&server)
        .await;
    let e = fb(&server)
        .set(&target(), false, &state(true), &note())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    let text = e.to_string();
    assert!(text.contains("now OFF, not ON"), "{text}");
    assert!(
        text.contains("project `shop`, environment `production`"),
        "{text}"
    );
}

/// A `ConflictException` becomes 409 `{success: false, errors: ["Conflict"]}`.
#[tokio::test]
async fn a_conflict_answer_is_a_conflict() {
    let server = MockServer::start().await;
    mount_flag(&server, true).await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(409).set_body_json(failed("Conflict")))
        .expect(1)
        .mount(&server)
        .await;
    let e = fb(&server)
        .set(&target(), false, &state(true), &note())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
}

/// 401 `{success: false, errors: ["Unauthorized"]}` (ApiAuthorizationResultHandler).
#[tokio::test]
async fn a_refused_token_is_auth_failed_and_never_echoed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(failed("Unauthorized")))
        .mount(&server)
        .await;
    let backend = fb(&server);
    let e = backend.state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e}");
    assert!(!e.to_string().contains(TOKEN), "{e}");
    assert!(e.to_string().contains("environment `production`"), "{e}");
    assert!(!format!("{backend:?}").contains(TOKEN));
}

/// 403 `{success: false, errors: ["Forbidden"]}`.
#[tokio::test]
async fn a_forbidden_toggle_is_permission_denied() {
    let server = MockServer::start().await;
    mount_flag(&server, true).await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(403).set_body_json(failed("Forbidden")))
        .expect(1)
        .mount(&server)
        .await;
    let e = fb(&server)
        .set(&target(), false, &state(true), &note())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied, "{e}");
}

/// 404 `{success: false, errors: ["ResourceNotFound"]}` (EntityNotFoundException); an
/// environment name without a configured id.
#[tokio::test]
async fn an_unknown_flag_or_environment_is_named() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(failed("ResourceNotFound")))
        .mount(&server)
        .await;
    let backend = fb(&server);
    let e = backend
        .state(&FlagRef {
            key: "nope",
            ..target()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("flag `nope` in project `shop`, environment `production`"),
        "{text}"
    );
    assert!(text.contains("ResourceNotFound"), "{text}");

    let e = backend
        .state(&FlagRef {
            environment: "qa",
            ..target()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert!(e.to_string().contains("development, production"), "{e}");
}

/// A 2xx body that says `success: false` is an error too, typed from its code.
#[tokio::test]
async fn a_success_false_body_is_a_typed_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(failed("ResourceNotFound")))
        .mount(&server)
        .await;
    let e = fb(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out_and_a_long_one_reported() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(flag_path()))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_flag(&server, true).await;
    assert_eq!(fb(&server).state(&target()).await.unwrap(), state(true));

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "90"))
        .expect(1)
        .mount(&server)
        .await;
    let e = fb(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::RateLimited, "{e}");
}

/// An unhandled exception: 500 `{success: false, errors: ["InternalServerError"]}`.
#[tokio::test]
async fn a_server_error_is_service_failed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_json(failed("InternalServerError")))
        .expect(2)
        .mount(&server)
        .await;
    let e = fb(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServiceFailed, "{e}");
    assert!(e.to_string().contains("InternalServerError"), "{e}");
}

#[tokio::test]
async fn a_timed_out_toggle_is_outcome_unknown_and_not_resent() {
    let server = MockServer::start().await;
    mount_flag(&server, true).await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(ok(json!(true)))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let limits = Limits {
        timeout: Duration::from_millis(700),
        ..limits()
    };
    let e = fb_with(&server, limits)
        .set(&target(), false, &state(true), &note())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{e}");
}

#[tokio::test]
async fn malformed_json_is_reported_as_such() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("{\"success\": true, \"data\": {\"key\""),
        )
        .mount(&server)
        .await;
    let e = fb(&server).state(&target()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::MalformedResponse, "{e}");
}

/// Access tokens are `api-…` (featbit `Domain/AccessTokens/AccessToken.cs`); an environment's
/// SDK secret is refused before any request.
#[test]
fn an_sdk_secret_is_refused_and_explained() {
    let secret = "ZGJlLTRhNjYtNDNhMS1iMGE3LTg4ZmQ2NzI1ZTk0MQ";
    let envs = BTreeMap::from([("production".to_string(), PROD.to_string())]);
    let e = FeatBit::connect(
        "self",
        "http://127.0.0.1:5000",
        SecretString::from(secret),
        Limits::default(),
        "shop",
        &envs,
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
    let text = e.to_string();
    assert!(text.contains("SDK secret"), "{text}");
    assert!(!text.contains(secret), "{text}");
}
