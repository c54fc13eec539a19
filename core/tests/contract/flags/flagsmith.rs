//! The Flagsmith backend (core/src/flags/flagsmith.rs) against a contract server (wiremock)
//! that answers as Flagsmith's Admin API documentation says, errors included. Each test names
//! the page it follows; the shapes are those of the Admin API's OpenAPI spec
//! (https://api.flagsmith.com/api/v1/docs/) and of the server's source where the docs are
//! silent (Flagsmith/flagsmith: `api/features/views.py`, `api/features/versioning/`,
//! `api/features/feature_states/views.py`, `api/environments/serializers.py`).
//! Errors are Django REST framework's `{"detail": "…"}`.

use super::{Contract, Facts, contract_tests, env_states};
use crate::support::assert_fails;
use crate::support::{Serve, given, limits, start_serving};
use paaf_core::ErrorCode;
use paaf_core::flags::flagsmith::Flagsmith;
use paaf_core::flags::{FlagBackend, FlagFilter};
use paaf_core::http::Limits;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Respond, ResponseTemplate};

pub(super) const KEY: &str = "k7Qm2xPa.Zr4tY8uW1qS6dF3gH9jK0lC5vB2nM7xE";
const PROD: &str = "8KzETdDeMY7xkqkSkY3Gsg";
const DEV: &str = "Yb4yXAQEYJ4c2aR6QyXwPs";
const STATES: &str = "/api/v1/environments/8KzETdDeMY7xkqkSkY3Gsg/featurestates/";

fn environments() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("production".to_string(), PROD.to_string()),
        ("development".to_string(), DEV.to_string()),
    ])
}

fn fs_with(server: &MockServer, limits: Limits) -> Flagsmith {
    Flagsmith::connect(
        "ops",
        &server.uri(),
        SecretString::from(KEY),
        limits,
        12,
        &environments(),
    )
    .unwrap()
}

fn fs(server: &MockServer) -> Flagsmith {
    fs_with(server, limits())
}

fn api_key() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Api-Key {KEY}").as_str())
}

/// A page as DRF's `PageNumberPagination` renders it.
fn page(results: Vec<Value>, count: usize, next: Option<String>) -> Value {
    json!({"count": count, "next": next, "previous": null, "results": results})
}

/// An item of `GET /api/v1/projects/{project_pk}/features/` (`ListFeatureSerializer`).
fn feature(id: u64, name: &str) -> Value {
    json!({
        "id": id, "uuid": "ab6f5d3c-91a0-4f0e-9d1e-2f1e0c1b6d7a", "name": name, "type": "STANDARD",
        "default_enabled": false, "initial_value": null, "description": format!("{name} flag"),
        "tags": [3], "project": 12, "is_archived": false, "owners": [], "group_owners": [],
        "created_date": "2024-04-02T09:12:44.513Z", "num_segment_overrides": 0,
        "num_identity_overrides": null, "is_server_key_only": false
    })
}

/// A row of `GET /api/v1/environments/{environment_api_key}/featurestates/`.
fn row(id: u64, feature: u64, enabled: bool) -> Value {
    json!({
        "id": id, "feature_state_value": "blue", "multivariate_feature_state_values": [],
        "identity": null, "uuid": "3e5a6c1e-5f2b-4c8d-9a7e-1b2c3d4e5f60", "enabled": enabled,
        "created_at": "2024-04-02T09:12:44.513Z", "updated_at": "2024-05-01T10:00:00Z",
        "live_from": "2024-04-02T09:12:44.513Z", "version": 1, "feature": feature,
        "environment": 31, "feature_segment": null, "change_request": null
    })
}

/// `GET /api/v1/environments/{api_key}/` (`EnvironmentSerializerLight`).
fn environment(approvals: Option<u32>, versioned: bool) -> Value {
    json!({
        "id": 31, "uuid": "0c7e9d1a-3b4c-4d5e-8f9a-0b1c2d3e4f5a", "name": "production",
        "api_key": PROD, "description": null, "project": 12,
        "minimum_change_request_approvals": approvals, "allow_client_traits": true,
        "hide_disabled_flags": false, "use_v2_feature_versioning": versioned,
        "use_identity_overrides_in_local_eval": false, "is_creating": false
    })
}

async fn mount_lookup(server: &MockServer, enabled: bool) {
    let served = ResponseTemplate::new(200).set_body_json(page(
        vec![feature(7, "new_checkout"), feature(8, "new_checkout_v2")],
        2,
        None,
    ));
    server
        .serve(
            given("GET", "/api/v1/projects/12/features/?search=new_checkout").and(api_key()),
            served,
        )
        .await;
    let served =
        ResponseTemplate::new(200).set_body_json(page(vec![row(501, 7, enabled)], 1, None));
    server
        .serve(
            given("GET", STATES)
                .and(query_param("feature", "7"))
                .and(api_key()),
            served,
        )
        .await;
}

async fn mount_environment(server: &MockServer, approvals: Option<u32>, versioned: bool) {
    let served = ResponseTemplate::new(200).set_body_json(environment(approvals, versioned));
    server
        .serve(
            given("GET", format!("/api/v1/environments/{PROD}/")),
            served,
        )
        .await;
}

/// Flagsmith's Admin API as its docs describe it, for the shared table.
pub(crate) struct Fs;

impl Contract for Fs {
    type Backend = Flagsmith;

    fn backend(server: &MockServer, limits: Limits) -> Flagsmith {
        fs_with(server, limits)
    }

    async fn mount_read(server: &MockServer, enabled: bool) {
        mount_lookup(server, enabled).await;
        mount_environment(server, None, false).await;
    }

    fn write() -> MockBuilder {
        Mock::given(method("PATCH")).and(path(format!("{STATES}501/")))
    }

    fn written(enabled: bool) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(row(501, 7, enabled))
    }

    fn error_body(message: &str) -> Value {
        json!({ "detail": message })
    }

    /// A `next` link that DRF would give, on a server that ignores `page`.
    async fn mount_repeating_pages(server: &MockServer) {
        let next = format!("{}/api/v1/projects/12/features/?page=2", server.uri());
        let served = ResponseTemplate::new(200).set_body_json(page(
            vec![feature(7, "new_checkout")],
            5,
            Some(next),
        ));
        server
            .serve(given("GET", "/api/v1/projects/12/features/"), served)
            .await;
    }
}

contract_tests!(Fs, a_pager_that_repeats_itself_is_malformed);

/// The environment default of feature 7 in production as a concurrent writer leaves it: each
/// read answers the state and value of the moment.
#[derive(Clone)]
struct Shared {
    enabled: Arc<Mutex<bool>>,
    value: Arc<Mutex<String>>,
}

impl Shared {
    fn new(enabled: bool, value: &str) -> Shared {
        Shared {
            enabled: Arc::new(Mutex::new(enabled)),
            value: Arc::new(Mutex::new(value.to_string())),
        }
    }

    fn row(&self) -> Value {
        let mut row = row(501, 7, *self.enabled.lock().unwrap());
        row["feature_state_value"] = json!(*self.value.lock().unwrap());
        row
    }
}

/// `GET …/featurestates/`: the row as it is now; then someone sets the value to `then_value`
/// (once, right after the read).
struct States {
    flag: Shared,
    then_value: Mutex<Option<String>>,
}

impl Respond for States {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let answer = ResponseTemplate::new(200).set_body_json(page(vec![self.flag.row()], 1, None));
        if let Some(value) = self.then_value.lock().unwrap().take() {
            *self.flag.value.lock().unwrap() = value;
        }
        answer
    }
}

/// The flag's page, turned off by someone else while paaf reads the environment's settings
/// (between its look at the flag and its write, before the fix: settings were read after the
/// state).
struct SettingsWhileTurnedOff(Shared);

impl Respond for SettingsWhileTurnedOff {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        *self.0.enabled.lock().unwrap() = false;
        ResponseTemplate::new(200).set_body_json(environment(None, false))
    }
}

/// Flagsmith has no conditional write, so the window between paaf's last read and its write
/// is kept empty: the environment's settings are read first, the state last. Someone turning
/// the feature off while paaf reads the settings is seen, and nothing is written.
#[tokio::test]
async fn a_change_made_while_paaf_reads_the_settings_is_seen_before_the_write() {
    let server = MockServer::start().await;
    let flag = Shared::new(true, "blue");
    let served =
        ResponseTemplate::new(200).set_body_json(page(vec![feature(7, "new_checkout")], 1, None));
    server
        .serve(given("GET", "/api/v1/projects/12/features/"), served)
        .await;
    let served = States {
        flag: flag.clone(),
        then_value: Mutex::new(None),
    };
    server.serve(given("GET", STATES), served).await;
    server
        .serve(
            given("GET", format!("/api/v1/environments/{PROD}/")),
            SettingsWhileTurnedOff(flag.clone()),
        )
        .await;
    Fs::write()
        .respond_with(ResponseTemplate::new(200).set_body_json(row(501, 7, false)))
        .expect(0)
        .mount(&server)
        .await;
    assert_fails(
        Fs::switch(&fs(&server), false, Fs::state(true)).await,
        ErrorCode::Conflict,
        &["now OFF, not ON"],
    );
}

/// `update-flag-v1` writes what it is given: a value read before and sent back would undo a
/// value someone set between paaf's read and its write. paaf sends only `enabled`, so the
/// newer value stays (https://docs.flagsmith.com/integrating-with-flagsmith/flagsmith-api-overview/admin-api/updating-flags:
/// "omitted fields are treated as no change").
#[tokio::test]
async fn a_versioned_write_never_sends_back_a_value_read_before() {
    struct UpdateFlag(Shared);
    impl Respond for UpdateFlag {
        fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            if let Some(enabled) = body["enabled"].as_bool() {
                *self.0.enabled.lock().unwrap() = enabled;
            }
            if let Some(value) = body["value"]["value"].as_str() {
                *self.0.value.lock().unwrap() = value.to_string();
            }
            ResponseTemplate::new(204)
        }
    }
    let server = MockServer::start().await;
    let flag = Shared::new(true, "blue");
    mount_environment(&server, None, true).await;
    let served =
        ResponseTemplate::new(200).set_body_json(page(vec![feature(7, "new_checkout")], 1, None));
    server
        .serve(given("GET", "/api/v1/projects/12/features/"), served)
        .await;
    // Right after paaf's read, someone sets the value to green.
    let served = States {
        flag: flag.clone(),
        then_value: Mutex::new(Some("green".into())),
    };
    server.serve(given("GET", STATES), served).await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/experiments/environments/{PROD}/update-flag-v1/"
        )))
        .respond_with(UpdateFlag(flag.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let after = Fs::switch(&fs(&server), false, Fs::state(true))
        .await
        .unwrap();
    assert_eq!(after, Fs::state(false));
    assert_eq!(*flag.value.lock().unwrap(), "green");
}

/// Features (https://docs.flagsmith.com/integrating-with-flagsmith/flagsmith-api-overview/admin-api,
/// `count/next/results` pages) and the environment-default feature states of each environment.
#[tokio::test]
async fn lists_every_page_with_the_state_in_each_environment() {
    let server = MockServer::start().await;
    let next = format!(
        "{}/api/v1/projects/12/features/?page=2&page_size=100",
        server.uri()
    );
    let served = ResponseTemplate::new(200).set_body_json(page(
        vec![feature(7, "new_checkout"), feature(9, "dark_mode")],
        3,
        Some(next),
    ));
    server
        .expect(
            given("GET", "/api/v1/projects/12/features/?page=1").and(api_key()),
            served,
            1,
        )
        .await;
    let served =
        ResponseTemplate::new(200).set_body_json(page(vec![feature(11, "search_v2")], 3, None));
    server
        .expect(
            given("GET", "/api/v1/projects/12/features/?page=2"),
            served,
            1,
        )
        .await;
    let mut segment_override = row(600, 7, false);
    segment_override["feature_segment"] = json!(44);
    let served = ResponseTemplate::new(200).set_body_json(page(
        vec![
            row(501, 7, true),
            segment_override,
            row(502, 9, false),
            row(503, 11, true),
        ],
        4,
        None,
    ));
    server.serve(given("GET", STATES), served).await;
    let served = ResponseTemplate::new(200).set_body_json(page(
        vec![row(701, 7, true), row(702, 9, true), row(703, 11, false)],
        3,
        None,
    ));
    server
        .serve(
            given("GET", format!("/api/v1/environments/{DEV}/featurestates/")),
            served,
        )
        .await;
    let flags = fs(&server).list(&FlagFilter::default()).await.unwrap();
    let keys: Vec<&str> = flags.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["dark_mode", "new_checkout", "search_v2"]);
    let checkout = &flags[1];
    assert_eq!(checkout.project, "12");
    let envs = env_states(checkout);
    assert_eq!(envs, [("development", true), ("production", true)]);
}

/// Legacy write (environments without Feature Versioning v2): `PATCH
/// /api/v1/environments/{environment_api_key}/featurestates/{id}/` `{"enabled": …}` → 200.
#[tokio::test]
async fn turns_a_feature_off_and_on_with_the_legacy_patch() {
    for (from, to) in [(true, false), (false, true)] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(STATES))
            .respond_with(ResponseTemplate::new(200).set_body_json(page(
                vec![row(501, 7, from)],
                1,
                None,
            )))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        mount_lookup(&server, to).await;
        mount_environment(&server, None, false).await;
        let served = ResponseTemplate::new(200).set_body_json(row(501, 7, to));
        server
            .expect(
                given("PATCH", format!("{STATES}501/"))
                    .and(api_key())
                    .and(header("content-type", "application/json"))
                    .and(body_json(json!({"enabled": to}))),
                served,
                1,
            )
            .await;
        let after = Fs::switch(&fs(&server), to, Fs::state(from)).await.unwrap();
        assert_eq!(after, Fs::state(to));
    }
}

/// Feature Versioning v2 (https://docs.flagsmith.com/managing-flags/feature-versioning):
/// the experimental `update-flag-v1` endpoint
/// (https://docs.flagsmith.com/integrating-with-flagsmith/flagsmith-api-overview/admin-api/updating-flags),
/// 204; only `enabled` is sent ("omitted fields are treated as no change").
#[tokio::test]
async fn a_versioned_environment_is_written_through_update_flag_v1() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(STATES))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![row(501, 7, true)],
            1,
            None,
        )))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_lookup(&server, false).await;
    mount_environment(&server, None, true).await;
    server
        .expect(Mock::given(method("PATCH")), ResponseTemplate::new(200), 0)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/api/experiments/environments/{PROD}/update-flag-v1/"
        )))
        .and(api_key())
        .and(body_json(json!({
            "feature": {"name": "new_checkout"},
            "enabled": false
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let after = Fs::switch(&fs(&server), false, Fs::state(true))
        .await
        .unwrap();
    assert_eq!(after, Fs::state(false));
}

/// Change requests (https://docs.flagsmith.com/advanced-use/change-requests): an environment
/// with `minimum_change_request_approvals` set takes changes through change requests only;
/// paaf writes nothing and links to the feature.
#[tokio::test]
async fn required_change_requests_are_a_conflict_with_the_link() {
    let server = MockServer::start().await;
    mount_lookup(&server, true).await;
    mount_environment(&server, Some(1), false).await;
    server
        .expect(Mock::given(method("PATCH")), ResponseTemplate::new(200), 0)
        .await;
    let e = assert_fails(
        Fs::switch(&fs(&server), false, Fs::state(true)).await,
        ErrorCode::Conflict,
        &["change request is required"],
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "{}/project/12/environment/{PROD}/features?feature=7",
            server.uri()
        )),
        "{text}"
    );
}

/// The versioned endpoint's own refusal (`api/features/feature_states/views.py`:
/// `PermissionDenied("This endpoint cannot be used when change requests are enabled. …")`).
#[tokio::test]
async fn the_versioned_endpoints_change_request_refusal_is_a_conflict() {
    let server = MockServer::start().await;
    mount_lookup(&server, true).await;
    mount_environment(&server, None, true).await;
    let served = ResponseTemplate::new(403).set_body_json(json!({
            "detail": "This endpoint cannot be used when change requests are enabled. Use the change request workflow instead."
        }));
    server.expect(Mock::given(method("POST")), served, 1).await;
    assert_fails(
        Fs::switch(&fs(&server), false, Fs::state(true)).await,
        ErrorCode::Conflict,
        &["features?feature=7"],
    );
}

/// 404s: an unknown project (`{"detail": "Not found."}`), an environment key the server does
/// not know (`NotFound("Environment not found.")`), a feature name the project lacks, and an
/// environment name the config lacks.
#[tokio::test]
async fn unknown_project_environment_and_feature_are_named() {
    let served = ResponseTemplate::new(200).set_body_json(page(vec![], 0, None));
    let server = start_serving(
        given("GET", "/api/v1/projects/12/features/?search=nope"),
        served,
    )
    .await;
    let served = ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."}));
    server
        .serve(given("GET", "/api/v1/projects/99/features/"), served)
        .await;
    let served =
        ResponseTemplate::new(200).set_body_json(page(vec![feature(7, "new_checkout")], 1, None));
    server
        .serve(
            given("GET", "/api/v1/projects/12/features/?search=new_checkout"),
            served,
        )
        .await;
    let served =
        ResponseTemplate::new(404).set_body_json(json!({"detail": "Environment not found."}));
    server.serve(given("GET", STATES), served).await;
    let backend = fs(&server);

    let text = Fs::not_found(&backend, Fs::with_key("nope")).await;
    assert!(text.contains("feature named `nope`"), "{text}");
    assert!(
        text.contains("project 12 (environment `production`)"),
        "{text}"
    );

    let text = Fs::not_found(&backend, Fs::TARGET).await;
    assert!(text.contains("environment named `production`"), "{text}");
    assert!(text.contains("Environment not found."), "{text}");

    let text = Fs::not_found(&backend, Fs::in_environment("qa")).await;
    assert!(text.contains("development, production"), "{text}");

    let other = Flagsmith::connect(
        "ops",
        &server.uri(),
        SecretString::from(KEY),
        limits(),
        99,
        &environments(),
    )
    .unwrap();
    let text = Fs::not_found(&other, Fs::in_project("")).await;
    assert!(text.contains("project named `99`"), "{text}");
}

/// Without configured keys, environments are read from `GET /api/v1/environments/?project=`.
#[tokio::test]
async fn environments_are_discovered_when_not_configured() {
    let served =
        ResponseTemplate::new(200).set_body_json(page(vec![environment(None, false)], 1, None));
    let server = start_serving(given("GET", "/api/v1/environments/?project=12"), served).await;
    mount_lookup(&server, true).await;
    let backend = Flagsmith::connect(
        "ops",
        &server.uri(),
        SecretString::from(KEY),
        limits(),
        12,
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(backend.state(&Fs::TARGET).await.unwrap(), Fs::state(true));
}

/// https://docs.flagsmith.com/integrating-with-flagsmith/flagsmith-api-overview/admin-api:
/// the Admin API takes an organisation API key; environment keys (client-side, or `ser.…`
/// server-side) only serve flags to SDKs.
#[test]
fn environment_keys_are_refused_and_explained() {
    for (key, said) in [
        (PROD, "client-side environment key"),
        ("ser.UiYoRr6zUjiFBUXaRwo7b5", "server-side environment key"),
    ] {
        let e = assert_fails(
            Flagsmith::connect(
                "ops",
                "https://api.flagsmith.com",
                SecretString::from(key),
                Limits::default(),
                12,
                &BTreeMap::new(),
            ),
            ErrorCode::InvalidInput,
            &[said],
        );
        let text = e.to_string();
        assert!(text.contains("organisation API key"), "{text}");
        assert!(!text.contains(key), "{text}");
    }
}
