//! The LaunchDarkly backend (core/src/flags/launchdarkly.rs) against a contract server
//! (wiremock) that answers as LaunchDarkly's REST API documentation says, errors included.
//! Each test names the page it follows; the shapes come from the API reference and the
//! OpenAPI spec it is generated from (launchdarkly/api-client-go `api/openapi.yaml`, a subset
//! of which is in shared/reference/openapi/launchdarkly-flags.subset.openapi.json).

use super::{Contract, Facts, contract_tests, env_states};
use crate::support::assert_fails;
use crate::support::{Serve, given, limits, start_expecting, start_serving};
use paaf_core::ErrorCode;
use paaf_core::flags::launchdarkly::LaunchDarkly;
use paaf_core::flags::{FlagBackend, FlagFilter, FlagState};
use paaf_core::http::Limits;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

pub(super) const TOKEN: &str = "api-6c1f0e2a-paaf-contract-0123456789ab";
const FLAG: &str = "/api/v2/flags/default/new-checkout";

fn ld_with(server: &MockServer, limits: Limits) -> LaunchDarkly {
    LaunchDarkly::connect(
        "saas",
        &server.uri(),
        SecretString::from(TOKEN),
        limits,
        "default",
        &["production".to_string(), "staging".to_string()],
    )
    .unwrap()
}

fn ld(server: &MockServer) -> LaunchDarkly {
    ld_with(server, limits())
}

/// A flag as `GET /api/v2/flags/{projectKey}/{featureFlagKey}?env=…` returns it
/// (https://launchdarkly.com/docs/api/feature-flags/get-feature-flag, schema `FeatureFlag`).
fn flag_body(key: &str, envs: &[(&str, bool)]) -> Value {
    let environments: serde_json::Map<String, Value> = envs
        .iter()
        .map(|(env, on)| {
            (
                env.to_string(),
                json!({
                    "_environmentName": env,
                    "_site": {"href": format!("/default/{env}/features/{key}"), "type": "text/html"},
                    "on": on,
                    "archived": false,
                    "salt": "61eddeadbeef4da1facecafe3a60a397",
                    "sel": "810edeadbeef4844facecafe438f2999492",
                    "lastModified": 1627071171347u64,
                    "version": 7,
                    "_summary": {"variations": {}, "prerequisites": 0}
                }),
            )
        })
        .collect();
    json!({
        "key": key,
        "name": format!("Flag {key}"),
        "kind": "boolean",
        "description": "",
        "tags": ["checkout"],
        "temporary": true,
        "archived": false,
        "deprecated": false,
        "creationDate": 1494437420312u64,
        "includeInSnippet": false,
        "maintainerId": "569f183514f4432160000007",
        "variations": [{"_id": "e432f62b", "value": true}, {"_id": "a00bf58d", "value": false}],
        "_version": 1,
        "_links": {
            "parent": {"href": "/api/v2/flags/default", "type": "application/json"},
            "self": {"href": format!("/api/v2/flags/default/{key}"), "type": "application/json"}
        },
        "environments": environments
    })
}

/// The common error body (https://launchdarkly.com/docs/api#errors).
fn error_body(code: &str, message: &str) -> Value {
    json!({"code": code, "message": message, "id": "30ce6058-87da-11e4-b116-123b93f75cba"})
}

async fn mount_flag(server: &MockServer, on: bool) {
    let served =
        ResponseTemplate::new(200).set_body_json(flag_body("new-checkout", &[("production", on)]));
    server
        .serve(
            given("GET", FLAG)
                .and(query_param("env", "production"))
                .and(header("authorization", TOKEN)),
            served,
        )
        .await;
}

/// The JSON patch paaf sends, with its comment and its precondition
/// (https://launchdarkly.com/docs/api#updates-using-json-patch,
/// https://launchdarkly.com/docs/api#updates-with-comments).
fn patch_body(from: bool, to: bool) -> Value {
    json!({
        "comment": "paaf: alice via cli@laptop (incident 12)",
        "patch": [
            {"op": "test", "path": "/environments/production/on", "value": from},
            {"op": "replace", "path": "/environments/production/on", "value": to}
        ]
    })
}

/// LaunchDarkly's REST API as its docs describe it, for the shared table.
pub(crate) struct Ld;

impl Contract for Ld {
    type Backend = LaunchDarkly;

    fn backend(server: &MockServer, limits: Limits) -> LaunchDarkly {
        ld_with(server, limits)
    }

    fn state(enabled: bool) -> FlagState {
        FlagState::conditional(enabled, None)
    }

    async fn mount_read(server: &MockServer, enabled: bool) {
        mount_flag(server, enabled).await;
    }

    fn write() -> MockBuilder {
        Mock::given(method("PATCH")).and(path(FLAG))
    }

    fn written(enabled: bool) -> ResponseTemplate {
        ResponseTemplate::new(200)
            .set_body_json(flag_body("new-checkout", &[("production", enabled)]))
    }

    fn error_body(message: &str) -> Value {
        error_body("invalid_request", message)
    }

    /// A `_links.next` that leads back to the first page.
    async fn mount_repeating_pages(server: &MockServer) {
        let served = ResponseTemplate::new(200).set_body_json(json!({
                "items": [flag_body("dark-mode", &[("production", false)])],
                "totalCount": 40,
                "_links": {"next": {"href": "/api/v2/flags/default?limit=100&offset=0", "type": "application/json"}}
            }));
        server
            .serve(given("GET", "/api/v2/flags/default"), served)
            .await;
    }
}

contract_tests!(Ld, a_pager_that_repeats_itself_is_malformed);

/// https://launchdarkly.com/docs/api/feature-flags/get-feature-flags: `limit`/`offset`, the
/// `_links.next` link, `totalCount`, and `environments` only for those named by `env`.
#[tokio::test]
async fn lists_every_page_with_the_state_in_each_environment() {
    let server = MockServer::start().await;
    let page1 = json!({
        "items": [
            flag_body("dark-mode", &[("production", false), ("staging", true)]),
            flag_body("new-checkout", &[("production", true), ("staging", true)])
        ],
        "totalCount": 3,
        "_links": {
            "self": {"href": "/api/v2/flags/default?limit=100&offset=0", "type": "application/json"},
            "next": {"href": "/api/v2/flags/default?limit=100&offset=2", "type": "application/json"}
        }
    });
    let page2 = json!({
        "items": [flag_body("search-v2", &[("production", false), ("staging", false)])],
        "totalCount": 3,
        "_links": {"self": {"href": "/api/v2/flags/default?limit=100&offset=2", "type": "application/json"}}
    });
    for (offset, body) in [("0", page1), ("2", page2)] {
        let served = ResponseTemplate::new(200).set_body_json(body);
        server
            .expect(
                given(
                    "GET",
                    "/api/v2/flags/default?limit=100&env=production&env=staging",
                )
                .and(query_param("offset", offset))
                .and(header("authorization", TOKEN))
                .and(header("ld-api-version", "20240415")),
                served,
                1,
            )
            .await;
    }
    let flags = ld(&server).list(&FlagFilter::default()).await.unwrap();
    let keys: Vec<&str> = flags.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["dark-mode", "new-checkout", "search-v2"]);
    let checkout = &flags[1];
    assert_eq!(checkout.backend, "saas");
    assert_eq!(checkout.project, "default");
    assert_eq!(checkout.name.as_deref(), Some("Flag new-checkout"));
    assert_eq!(checkout.tags, ["checkout"]);
    assert_eq!(
        checkout.url.as_deref(),
        Some(format!("{}/default/production/features/new-checkout", server.uri()).as_str())
    );
    let envs = env_states(checkout);
    assert_eq!(envs, [("production", true), ("staging", true)]);
}

/// https://launchdarkly.com/docs/api/feature-flags/patch-feature-flag (JSON patch with a
/// comment, `test` precondition; 200 returns the updated `FeatureFlag`).
#[tokio::test]
async fn turns_a_flag_off_and_on_with_a_conditional_patch_and_the_comment() {
    for (from, to) in [(true, false), (false, true)] {
        let server = MockServer::start().await;
        mount_flag(&server, from).await;
        let served = ResponseTemplate::new(200)
            .set_body_json(flag_body("new-checkout", &[("production", to)]));
        server
            .expect(
                given("PATCH", FLAG)
                    .and(header("authorization", TOKEN))
                    .and(header("content-type", "application/json"))
                    .and(header("ld-api-version", "20240415"))
                    .and(body_json(patch_body(from, to))),
                served,
                1,
            )
            .await;
        let after = Ld::switch(&ld(&server), to, Ld::state(from)).await.unwrap();
        assert_eq!(after, Ld::state(to));
    }
}

/// The change between paaf's read and its write: the `test` operation fails and LaunchDarkly
/// answers 409 (`StatusConflictErrorRep`, https://launchdarkly.com/docs/api#errors); a re-read
/// shows what it is now.
#[tokio::test]
async fn a_failed_precondition_is_a_conflict_naming_the_new_state() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(FLAG))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(flag_body("new-checkout", &[("production", true)])),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let served = ResponseTemplate::new(200)
        .set_body_json(flag_body("new-checkout", &[("production", false)]));
    server.serve(given("GET", FLAG), served).await;
    let served = ResponseTemplate::new(409).set_body_json(error_body(
        "optimistic_locking_error",
        "Conflict. Optimistic lock error. Try again later.",
    ));
    server.expect(given("PATCH", FLAG), served, 1).await;
    assert_fails(
        Ld::switch(&ld(&server), false, Ld::state(true)).await,
        ErrorCode::Conflict,
        &["now OFF, not ON"],
    );
}

/// https://launchdarkly.com/docs/api/feature-flags/patch-feature-flag: "405 Approval is
/// required to make this request" (`MethodNotAllowedErrorRep`); approvals:
/// https://launchdarkly.com/docs/home/releases/approval-config.
#[tokio::test]
async fn a_required_approval_is_a_conflict_with_the_link_to_the_flag() {
    let server = MockServer::start().await;
    mount_flag(&server, true).await;
    let served = ResponseTemplate::new(405)
        .set_body_json(error_body("method_not_allowed", "Method not allowed"));
    server.expect(given("PATCH", FLAG), served, 1).await;
    let e = assert_fails(
        Ld::switch(&ld(&server), false, Ld::state(true)).await,
        ErrorCode::Conflict,
        &["approval is required"],
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "{}/default/production/features/new-checkout",
            server.uri()
        )),
        "{text}"
    );
    assert!(text.contains("launchdarkly \"saas\""), "{text}");
}

/// https://launchdarkly.com/docs/api#errors: 404 `NotFoundErrorRep`, for the flag and, through
/// https://launchdarkly.com/docs/api/projects/get-project, for the project.
#[tokio::test]
async fn an_unknown_flag_or_project_is_named() {
    let server = MockServer::start().await;
    let not_found = ResponseTemplate::new(404)
        .set_body_json(error_body("not_found", "Invalid resource identifier"));
    server
        .serve(
            given("GET", "/api/v2/flags/default/nope"),
            not_found.clone(),
        )
        .await;
    let served =
        ResponseTemplate::new(200).set_body_json(json!({"key": "default", "name": "Default"}));
    server
        .serve(given("GET", "/api/v2/projects/default"), served)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/api/v2/flags/mobile-app/"))
        .respond_with(not_found.clone())
        .mount(&server)
        .await;
    server
        .serve(given("GET", "/api/v2/projects/mobile-app"), not_found)
        .await;
    let backend = ld(&server);
    let text = Ld::not_found(&backend, Ld::with_key("nope")).await;
    assert!(text.contains("flag named `nope`"), "{text}");
    assert!(
        text.contains("project `default`, environment `production`"),
        "{text}"
    );

    let text = Ld::not_found(&backend, Ld::in_project("mobile-app")).await;
    assert!(text.contains("project named `mobile-app`"), "{text}");
}

/// An environment key the flag does not have: the `environments` map lacks it.
#[tokio::test]
async fn an_unknown_environment_is_named() {
    let served = ResponseTemplate::new(200).set_body_json(flag_body("new-checkout", &[]));
    let server = start_serving(given("GET", FLAG), served).await;
    let text = Ld::not_found(&ld(&server), Ld::in_environment("prod")).await;
    assert!(text.contains("environment named `prod`"), "{text}");
}

/// LaunchDarkly's 429 (https://launchdarkly.com/docs/api#rate-limiting), its window
/// resetting in `ms` (`X-Ratelimit-Reset`, epoch milliseconds).
fn rate_limited(ms: i64) -> ResponseTemplate {
    let reset = chrono::Utc::now().timestamp_millis() + ms;
    ResponseTemplate::new(429)
        .insert_header("x-ratelimit-reset", reset.to_string().as_str())
        .set_body_json(error_body(
            "rate_limited",
            "You've exceeded the API rate limit.",
        ))
}

/// https://launchdarkly.com/docs/api#rate-limiting: `X-Ratelimit-Reset` (epoch ms) alone.
#[tokio::test]
async fn a_short_ratelimit_reset_is_waited_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(FLAG))
        .respond_with(rate_limited(800).insert_header("x-ratelimit-global-remaining", "0"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    mount_flag(&server, true).await;
    let limits = Limits {
        max_attempts: 2,
        ..limits()
    };
    assert_eq!(
        ld_with(&server, limits).state(&Ld::TARGET).await.unwrap(),
        Ld::state(true)
    );
}

#[tokio::test]
async fn a_long_rate_limit_is_reported() {
    let served = rate_limited(60_000).insert_header("retry-after", "60");
    let server = start_expecting(given("GET", FLAG), served, 1).await;
    assert_fails(
        ld(&server).state(&Ld::TARGET).await,
        ErrorCode::RateLimited,
        &["resets in"],
    );
}

/// https://launchdarkly.com/docs/api#authentication: SDK keys, mobile keys and client-side IDs
/// "cannot be used to access our REST API".
#[test]
fn sdk_keys_mobile_keys_and_client_side_ids_are_refused_and_explained() {
    for (key, said) in [
        (
            "sdk-8a4c2f1e-1234-4c5d-9e8f-0123456789ab",
            "server-side SDK key",
        ),
        ("mob-8a4c2f1e-1234-4c5d-9e8f-0123456789ab", "mobile key"),
        ("5f0c8a1b2c3d4e5f6a7b8c9d", "client-side ID"),
    ] {
        let e = assert_fails(
            LaunchDarkly::connect(
                "saas",
                "https://app.launchdarkly.com",
                SecretString::from(key),
                Limits::default(),
                "default",
                &["production".to_string()],
            ),
            ErrorCode::InvalidInput,
            &[said],
        );
        let text = e.to_string();
        assert!(text.contains("access token"), "{text}");
        assert!(!text.contains(key), "{text}");
    }
}
