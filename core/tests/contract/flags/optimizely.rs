//! The Optimizely backend (core/src/flags/optimizely.rs) against a contract server (wiremock)
//! that answers as Optimizely's docs say, failures included.
//!
//! Followed:
//! - List Flags: https://docs.developers.optimizely.com/feature-experimentation/reference/list_flags
//!   (`per_page`, `page_token`, `page_window`, `archived`; `next_url`), response example in
//!   https://docs.developers.optimizely.com/feature-experimentation/docs/manage-flags;
//! - Fetch Flag: https://docs.developers.optimizely.com/feature-experimentation/reference/fetch_flag
//!   (`environments.{key}.enabled`, `revision`);
//! - Enable/Disable the Ruleset:
//!   https://docs.developers.optimizely.com/feature-experimentation/reference/enable_ruleset and
//!   …/reference/disable_ruleset (`POST …/ruleset/enabled|disabled`, no body), ruleset shape in
//!   https://docs.developers.optimizely.com/feature-experimentation/docs/manage-rules;
//! - List Environments:
//!   https://docs.developers.optimizely.com/feature-experimentation/reference/list_environments-feature-experimentation;
//! - auth and errors: https://docs.developers.optimizely.com/web-experimentation/docs/api-conventions
//!   (`Authorization: Bearer`, conventional status codes);
//! - change approvals: https://docs.developers.optimizely.com/feature-experimentation/docs/configure-change-approvals;
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3.

use super::{Contract, Facts, contract_tests, env_states};
use crate::support::assert_fails;
use crate::support::{Serve, given, limits, start_expecting, start_serving};
use paaf_core::ErrorCode;
use paaf_core::flags::optimizely::Optimizely;
use paaf_core::flags::{FlagBackend, FlagFilter, FlagRef};
use paaf_core::http::Limits;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{any, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

pub(super) const TOKEN: &str = "2:pAtS3cReTtOkEn_0123456789abcdefghijklmnopqrstuv";
pub(super) const PROJECT: &str = "4678434014625792";
const FLAG: &str = "/projects/4678434014625792/flags/new_checkout";

fn backend_with(server: &MockServer, limits: Limits) -> Optimizely {
    Optimizely::connect(
        "fx",
        &server.uri(),
        SecretString::from(TOKEN),
        limits,
        PROJECT,
    )
    .unwrap()
}

fn backend(server: &MockServer) -> Optimizely {
    backend_with(server, limits())
}

/// A flag as Fetch Flag / List Flags return it (trimmed to the fields that matter plus some).
fn flag(key: &str, production: bool, development: bool) -> serde_json::Value {
    let env = |k: &str, name: &str, enabled: bool, priority: u32| {
        json!({
            "key": k, "name": name, "enabled": enabled,
            "has_restricted_permissions": false, "priority": priority,
            "status": if enabled { "running" } else { "paused" },
            "rules_summary": {}, "rules_detail": [], "id": 101746715916459u64 + priority as u64,
            "created_time": "2025-05-08T14:51:56.000000Z"
        })
    };
    json!({
        "key": key, "name": key.replace('_', " "), "description": "",
        "url": format!("/projects/{PROJECT}/flags/{key}"),
        "variable_definitions": {},
        "environments": {
            "production": env("production", "Production", production, 1),
            "development": env("development", "Development", development, 2)
        },
        "id": 415337, "urn": "flags.flags.optimizely.com::415337", "archived": false,
        "project_id": 4678434014625792u64, "role": "admin",
        "created_time": "2025-05-08T16:31:57.402712Z", "updated_time": "2025-05-12T20:23:40.825440Z",
        "revision": 4
    })
}

async fn mount_flag(server: &MockServer, production: bool) {
    let served = ResponseTemplate::new(200).set_body_json(flag("new_checkout", production, false));
    server
        .serve(
            given("GET", FLAG).and(header("authorization", format!("Bearer {TOKEN}").as_str())),
            served,
        )
        .await;
}

async fn mount_environments(server: &MockServer) {
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "url": format!("/projects/{PROJECT}/environments"),
        "items": [
            {"key": "production", "name": "Production", "archived": false, "priority": 1, "id": 1},
            {"key": "development", "name": "Development", "archived": false, "priority": 2, "id": 2}
        ],
        "page": 1, "total_count": 2, "total_pages": 1, "count": 2
    }));
    server
        .serve(
            given("GET", format!("/projects/{PROJECT}/environments")),
            served,
        )
        .await;
}

fn ruleset(enabled: bool) -> serde_json::Value {
    json!({
        "url": format!("{FLAG}/environments/production/ruleset"),
        "rules": {}, "rule_priorities": [], "enabled": enabled, "id": 101746715916460u64,
        "revision": 5
    })
}

fn assert_names_everything(text: &str) {
    assert!(text.contains("optimizely \"fx\""), "{text}");
    assert!(text.contains(PROJECT), "{text}");
    assert!(text.contains("production"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

/// Optimizely's Flags API as its docs describe it, for the shared table.
pub(crate) struct Opti;

impl Contract for Opti {
    type Backend = Optimizely;

    fn backend(server: &MockServer, limits: Limits) -> Optimizely {
        backend_with(server, limits)
    }

    async fn mount_read(server: &MockServer, enabled: bool) {
        mount_flag(server, enabled).await;
    }

    /// The table switches the flag off.
    fn write() -> MockBuilder {
        Mock::given(method("POST")).and(path(format!(
            "{FLAG}/environments/production/ruleset/disabled"
        )))
    }

    fn written(enabled: bool) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(ruleset(enabled))
    }

    fn error_body(message: &str) -> Value {
        json!({"code": "BAD_REQUEST", "message": message})
    }

    /// A `next_url` that leads back to the first page.
    async fn mount_repeating_pages(server: &MockServer) {
        let served = ResponseTemplate::new(200).set_body_json(json!({
            "items": [flag("dark_mode", false, true)],
            "page": 1, "total_pages": 9,
            "next_url": format!("/projects/{PROJECT}/flags?page_token=p1&per_page=100")
        }));
        server
            .serve(given("GET", format!("/projects/{PROJECT}/flags")), served)
            .await;
    }
}

contract_tests!(Opti, a_pager_that_repeats_itself_is_malformed);

#[tokio::test]
async fn list_follows_next_url_and_sends_the_bearer_token() {
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "url": format!("/projects/{PROJECT}/flags"),
        "items": [flag("new_checkout", true, false), flag("dark_mode", false, true)],
        "page": 1, "total_pages": 2, "count": 2, "total_count": 3,
        "first_url": format!("/projects/{PROJECT}/flags"),
        "last_url": format!("/projects/{PROJECT}/flags?page_token=p2&per_page=100"),
        "next_url": [format!("/projects/{PROJECT}/flags?page_token=p2&per_page=100")]
    }));
    let server = start_expecting(
        given("GET", format!("/projects/{PROJECT}/flags"))
            .and(query_param("per_page", "100"))
            .and(query_param("archived", "false"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str())),
        served,
        1,
    )
    .await;
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "url": format!("/projects/{PROJECT}/flags?page_token=p2&per_page=100"),
        "items": [flag("age_validation", false, false)],
        "page": 2, "total_pages": 2, "count": 1, "total_count": 3
    }));
    server
        .expect(
            given("GET", format!("/projects/{PROJECT}/flags"))
                .and(query_param("page_token", "p2"))
                .and(header("authorization", format!("Bearer {TOKEN}").as_str())),
            served,
            1,
        )
        .await;
    let flags = backend(&server).list(&FlagFilter::default()).await.unwrap();
    let keys: Vec<&str> = flags.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["age_validation", "dark_mode", "new_checkout"]);
    let checkout = &flags[2];
    assert_eq!(checkout.backend, "fx");
    assert_eq!(checkout.project, PROJECT);
    assert_eq!(checkout.name.as_deref(), Some("new checkout"));
    let envs = env_states(checkout);
    assert_eq!(envs, [("development", false), ("production", true)]);
}

#[tokio::test]
async fn list_filters_by_query_and_environment() {
    let server = MockServer::start().await;
    mount_environments(&server).await;
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "items": [flag("new_checkout", true, false), flag("dark_mode", false, true)],
        "page": 1, "total_pages": 1, "count": 2
    }));
    server
        .serve(given("GET", format!("/projects/{PROJECT}/flags")), served)
        .await;
    let filter = FlagFilter {
        query: Some("CHECK".into()),
        environment: Some("production".into()),
        ..FlagFilter::default()
    };
    let flags = backend(&server).list(&filter).await.unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].environments.len(), 1);
    assert!(flags[0].environments[0].enabled);
    assert_fails(
        backend(&server)
            .list(&FlagFilter {
                environment: Some("prod".into()),
                ..FlagFilter::default()
            })
            .await,
        ErrorCode::NotFound,
        &["production, development"],
    );
}

#[tokio::test]
async fn state_reads_the_environment_of_the_flag() {
    let server = MockServer::start().await;
    mount_flag(&server, true).await;
    assert_eq!(
        backend(&server).state(&Opti::TARGET).await.unwrap(),
        Opti::state(true)
    );
    let dev = FlagRef {
        environment: "development",
        ..Opti::TARGET
    };
    assert_eq!(
        backend(&server).state(&dev).await.unwrap(),
        Opti::state(false)
    );
}

/// Off and on: `POST …/ruleset/disabled` or `…/enabled`, without a body, after a re-read.
#[tokio::test]
async fn turning_off_and_on_posts_the_ruleset_after_a_re_read() {
    for (to, endpoint) in [(false, "disabled"), (true, "enabled")] {
        let server = MockServer::start().await;
        // Before the write: as the user saw it (twice: the check); after: switched.
        Mock::given(method("GET"))
            .and(path(FLAG))
            .respond_with(ResponseTemplate::new(200).set_body_json(flag(
                "new_checkout",
                !to,
                false,
            )))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!(
                "{FLAG}/environments/production/ruleset/{endpoint}"
            )))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(ruleset(to)))
            .expect(1)
            .mount(&server)
            .await;
        mount_flag(&server, to).await;
        let new = Opti::switch(&backend(&server), to, Opti::state(!to))
            .await
            .unwrap();
        assert_eq!(new, Opti::state(to));
        let requests = server.received_requests().await.unwrap();
        let post = requests
            .iter()
            .find(|r| r.method.as_str() == "POST")
            .unwrap();
        assert!(post.body.is_empty(), "the documented call has no body");
    }
}

/// A 404 in the Flags API's error shape, saying `message`.
fn not_found(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"code": "NOT_FOUND", "message": message}))
}

#[tokio::test]
async fn a_404_says_whether_the_flag_the_environment_or_the_project_is_unknown() {
    let server = MockServer::start().await;
    mount_environments(&server).await;
    server
        .serve(given("GET", FLAG), not_found("Flag new_checkout not found"))
        .await;
    let text = Opti::not_found(&backend(&server), Opti::TARGET).await;
    assert!(
        text.contains("no Optimizely flag named `new_checkout`"),
        "{text}"
    );
    assert_names_everything(&text);

    // The flag exists, the environment does not.
    let server = MockServer::start().await;
    mount_flag(&server, true).await;
    let text = Opti::not_found(&backend(&server), Opti::in_environment("prod")).await;
    assert!(
        text.contains("no Optimizely environment named `prod`"),
        "{text}"
    );
    assert!(text.contains("development, production"), "{text}");

    // Unknown project.
    let server = start_serving(Mock::given(method("GET")), not_found("Project not found")).await;
    let text = Opti::not_found(&backend(&server), Opti::TARGET).await;
    assert!(
        text.contains(&format!("no Optimizely project named `{PROJECT}`")),
        "{text}"
    );
}

/// With change approvals on, a direct change is refused; the wording of the refusal is
/// paaf's assumption (the docs describe the feature, not the API's answer).
#[tokio::test]
async fn a_required_approval_or_a_409_is_a_conflict() {
    for (status, body, wanted) in [
        (
            403,
            json!({"code": "FORBIDDEN", "message": "This change requires approval: submit a change request"}),
            "needs an approval",
        ),
        (
            409,
            json!({"code": "CONFLICT", "message": "The ruleset was modified"}),
            "conflicting",
        ),
    ] {
        let server = MockServer::start().await;
        mount_flag(&server, true).await;
        let served = ResponseTemplate::new(status).set_body_json(body);
        server.expect(Mock::given(method("POST")), served, 1).await;
        let e = assert_fails(
            Opti::switch(&backend(&server), false, Opti::state(true)).await,
            ErrorCode::Conflict,
            &[wanted],
        );
        let text = e.to_string();
        assert!(text.contains("nothing was changed"), "{text}");
        assert_names_everything(&text);
    }
}

#[tokio::test]
async fn an_sdk_key_or_datafile_url_is_refused_and_explained_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    for key in [
        "WTc6awnGuYDdG1c8ZeAmde",
        "https://cdn.optimizely.com/datafiles/WTc6awnGuYDdG1c8ZeAmde.json",
    ] {
        let e = assert_fails(
            Optimizely::connect(
                "fx",
                &server.uri(),
                SecretString::from(key),
                limits(),
                PROJECT,
            ),
            ErrorCode::InvalidInput,
            &["SDK key"],
        );
        let text = e.to_string();
        assert!(text.contains("personal access token"), "{text}");
        assert!(text.contains("optimizely \"fx\""), "{text}");
        assert!(!text.contains("WTc6awnGuYDdG1c8ZeAmde"), "{text}");
    }
}
