//! The FeatBit backend (core/src/flags/featbit.rs) against a contract server (wiremock) that
//! answers as FeatBit's API documentation says (https://docs.featbit.co/api-docs/overview and
//! the OpenAPI endpoints it lists), with the envelope and error codes of FeatBit's own source
//! where the docs are silent (featbit/featbit `modules/back-end/src/Api/Controllers/
//! ApiResponse.cs`, `FeatureFlagController.cs`, `Middlewares/ApiExceptionMiddlewareExtension.cs`,
//! `Authorization/ApiAuthorizationResultHandler.cs`, `Application/Bases/ErrorCodes.cs`; the JSON
//! Patch write: `Application/FeatureFlags/PatchFeatureFlag.cs`, whose failed patch, a failed
//! `test` included, answers `{success: false, errors: [<the patch error>]}`, and the OpenAPI
//! examples `PatchFeatureFlagExamples.cs`: "Enable the flag" = `replace /isEnabled`).

use super::{Contract, Facts, contract_tests, env_states};
use crate::support::assert_fails;
use crate::support::{Serve, given, limits, start_expecting, start_serving};
use paaf_core::ErrorCode;
use paaf_core::flags::featbit::FeatBit;
use paaf_core::flags::{FlagBackend, FlagFilter, FlagState};
use paaf_core::http::Limits;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use wiremock::matchers::{body_json, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Respond, ResponseTemplate};

pub(super) const TOKEN: &str = "api-MzQ2LWE2MmMtNGE0OC1iYmEzLTAwZjlhY2UyZDZjMjIwMjQ";
const PROD: &str = "7ee5d7ae-3d8c-4f08-9e1c-0b1c6f0e4c2a";
const DEV: &str = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";

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

/// A flag's revision changes with each change of it; here, with its state.
fn revision(enabled: bool) -> String {
    format!("5b0c2f1e-8d7a-4c3b-9e1f-2a3b4c5d6e7{}", u8::from(enabled))
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
        "serves": {"enabledVariations": ["true"], "disabledVariation": "false"}, "tags": ["checkout"],
        "revision": revision(enabled)
    })
}

async fn mount_flag(server: &MockServer, enabled: bool) {
    let served = ResponseTemplate::new(200).set_body_json(ok(item("new-checkout", enabled)));
    server
        .serve(
            given("GET", flag_path()).and(header("authorization", TOKEN)),
            served,
        )
        .await;
}

/// FeatBit's API as its docs and sources describe it, for the shared table.
pub(crate) struct Fb;

impl Contract for Fb {
    type Backend = FeatBit;

    fn backend(server: &MockServer, limits: Limits) -> FeatBit {
        fb_with(server, limits)
    }

    fn state(enabled: bool) -> FlagState {
        FlagState::conditional(enabled, Some(revision(enabled)))
    }

    async fn mount_read(server: &MockServer, enabled: bool) {
        mount_flag(server, enabled).await;
    }

    fn write() -> MockBuilder {
        Mock::given(method("PATCH")).and(path(flag_path()))
    }

    fn written(_enabled: bool) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(ok(json!(true)))
    }

    fn error_body(message: &str) -> Value {
        failed(message)
    }

    /// A server that ignores `pageIndex`: the first page, whatever is asked.
    async fn mount_repeating_pages(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path_regex("^/api/v1/envs/[^/]+/feature-flags$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!({
                "totalCount": 40, "items": [item("dark-mode", false)]
            }))))
            .mount(server)
            .await;
    }
}

contract_tests!(Fb, a_pager_that_repeats_itself_is_malformed);

/// One FeatBit flag as the server keeps it, behaving as FeatBit does: a read answers it as it
/// is; `PATCH` applies a JSON Patch whose `test`s all pass (`success: true`) and refuses one
/// whose `test` fails (`success: false`, the patch error); the unconditional `PUT …/toggle/
/// {status}` applies as asked. `turn_after_read` is someone else's switch, made once right
/// after paaf's next read (between that read and paaf's write).
#[derive(Clone)]
struct Server {
    enabled: Arc<Mutex<bool>>,
    revision: Arc<Mutex<u32>>,
    turn_after_read: Arc<Mutex<Vec<bool>>>,
}

impl Server {
    fn new(enabled: bool) -> Server {
        Server {
            enabled: Arc::new(Mutex::new(enabled)),
            revision: Arc::new(Mutex::new(1)),
            turn_after_read: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn turn(&self, enabled: bool) {
        *self.enabled.lock().unwrap() = enabled;
        *self.revision.lock().unwrap() += 1;
    }

    fn revision(&self) -> String {
        format!("rev-{}", self.revision.lock().unwrap())
    }

    async fn mount(&self, server: &MockServer) {
        server.serve(given("GET", flag_path()), self.clone()).await;
        server
            .serve(given("PATCH", flag_path()), self.clone())
            .await;
        for to in [true, false] {
            server
                .serve(
                    given("PUT", format!("{}/toggle/{to}", flag_path())),
                    self.clone(),
                )
                .await;
        }
    }
}

impl Respond for Server {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        match request.method.as_str() {
            "GET" => {
                let mut flag = item("new-checkout", *self.enabled.lock().unwrap());
                flag["revision"] = json!(self.revision());
                for to in self.turn_after_read.lock().unwrap().drain(..) {
                    self.turn(to);
                }
                ResponseTemplate::new(200).set_body_json(ok(flag))
            }
            "PATCH" => {
                let ops: Vec<Value> = serde_json::from_slice(&request.body).unwrap();
                let now = json!({"revision": self.revision(), "isEnabled": *self.enabled.lock().unwrap()});
                for op in &ops {
                    let at = &now[op["path"].as_str().unwrap().trim_start_matches('/')];
                    if op["op"] == "test" && *at != op["value"] {
                        let error = format!(
                            "The current value '{at}' at path '{}' is not equal to the test value '{}'.",
                            op["path"].as_str().unwrap(),
                            op["value"]
                        );
                        return ResponseTemplate::new(200).set_body_json(failed(&error));
                    }
                }
                for op in ops.iter().filter(|op| op["op"] == "replace") {
                    self.turn(op["value"].as_bool().unwrap());
                }
                ResponseTemplate::new(200).set_body_json(ok(json!(true)))
            }
            _ => {
                self.turn(request.url.path().ends_with("/true"));
                ResponseTemplate::new(200).set_body_json(ok(json!(self.revision())))
            }
        }
    }
}

/// Someone turns the flag off between paaf's read and its write: FeatBit refuses paaf's patch
/// (its `test` on the state fails), so paaf neither writes over the change nor reports as
/// its own a change someone else made.
#[tokio::test]
async fn a_change_between_the_read_and_the_write_is_refused_by_featbit() {
    let server = MockServer::start().await;
    let flag = Server::new(true);
    flag.mount(&server).await;
    flag.turn_after_read.lock().unwrap().push(false);
    assert_fails(
        Fb::switch(&fb(&server), false, FlagState::conditional(true, None)).await,
        ErrorCode::Conflict,
        &["now OFF, not ON"],
    );
    assert!(!*flag.enabled.lock().unwrap());
}

/// Someone turns the flag off and on again after the user looked: the state is what the user
/// saw, but the revision is not, and FeatBit refuses a patch against the revision seen.
#[tokio::test]
async fn a_flag_switched_and_switched_back_since_the_user_looked_is_refused() {
    let server = MockServer::start().await;
    let flag = Server::new(true);
    flag.mount(&server).await;
    let backend = fb(&server);
    let seen = backend.state(&Fb::TARGET).await.unwrap();
    assert_eq!(seen, FlagState::conditional(true, Some("rev-1".into())));
    flag.turn(false);
    flag.turn(true);
    assert_fails(
        Fb::switch(&backend, false, seen).await,
        ErrorCode::Conflict,
        &["changed since you looked"],
    );
    assert!(*flag.enabled.lock().unwrap());
}

/// https://docs.featbit.co/api-docs/overview → "Get flag list of an environment":
/// `GET /api/v1/envs/{envId}/feature-flags?pageIndex=&pageSize=`, `data: {totalCount, items}`.
#[tokio::test]
async fn lists_every_page_of_every_environment() {
    let served = ResponseTemplate::new(200).set_body_json(ok(json!({
        "totalCount": 3,
        "items": [item("dark-mode", false), item("new-checkout", true)]
    })));
    let server = start_expecting(
        given("GET", format!("/api/v1/envs/{PROD}/feature-flags"))
            .and(query_param("pageIndex", "0"))
            .and(query_param("pageSize", "100"))
            .and(header("authorization", TOKEN)),
        served,
        1,
    )
    .await;
    let served = ResponseTemplate::new(200).set_body_json(ok(json!({
        "totalCount": 3, "items": [item("search-v2", true)]
    })));
    server
        .expect(
            given("GET", format!("/api/v1/envs/{PROD}/feature-flags"))
                .and(query_param("pageIndex", "1")),
            served,
            1,
        )
        .await;
    let served = ResponseTemplate::new(200).set_body_json(ok(json!({
        "totalCount": 3,
        "items": [item("dark-mode", true), item("new-checkout", true), item("search-v2", false)]
    })));
    server
        .serve(
            given("GET", format!("/api/v1/envs/{DEV}/feature-flags")),
            served,
        )
        .await;
    let flags = fb(&server).list(&FlagFilter::default()).await.unwrap();
    let keys: Vec<&str> = flags.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["dark-mode", "new-checkout", "search-v2"]);
    let dark = &flags[0];
    assert_eq!(dark.project, "shop");
    assert_eq!(dark.tags, ["checkout"]);
    let envs = env_states(dark);
    assert_eq!(envs, [("development", true), ("production", false)]);
}

/// "Update a feature flag with the JSON patch method": `PATCH /api/v1/envs/{envId}/
/// feature-flags/{key}` with `test` operations on the revision the user saw and on the state,
/// then `replace /isEnabled`; `data: true`.
#[tokio::test]
async fn switches_off_and_on_with_a_conditional_json_patch() {
    for (from, to) in [(true, false), (false, true)] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(flag_path()))
            .respond_with(ResponseTemplate::new(200).set_body_json(ok(item("new-checkout", from))))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        mount_flag(&server, to).await;
        Mock::given(method("PATCH"))
            .and(path(flag_path()))
            .and(header("authorization", TOKEN))
            .and(header("content-type", "application/json"))
            .and(body_json(json!([
                {"op": "test", "path": "/revision", "value": revision(from)},
                {"op": "test", "path": "/isEnabled", "value": from},
                {"op": "replace", "path": "/isEnabled", "value": to}
            ])))
            .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!(true))))
            .expect(1)
            .mount(&server)
            .await;
        let after = Fb::switch(&fb(&server), to, Fb::state(from)).await.unwrap();
        assert_eq!(after, Fb::state(to));
    }
}

/// A server answering every read with `status` and FeatBit's failure body naming `error`.
async fn failing_reads(status: u16, error: &str) -> MockServer {
    let served = ResponseTemplate::new(status).set_body_json(failed(error));
    start_serving(Mock::given(method("GET")), served).await
}

/// 404 `{success: false, errors: ["ResourceNotFound"]}` (EntityNotFoundException); an
/// environment name without a configured id.
#[tokio::test]
async fn an_unknown_flag_or_environment_is_named() {
    let server = failing_reads(404, "ResourceNotFound").await;
    let backend = fb(&server);
    let text = Fb::not_found(&backend, Fb::with_key("nope")).await;
    assert!(
        text.contains("flag `nope` in project `shop`, environment `production`"),
        "{text}"
    );
    assert!(text.contains("ResourceNotFound"), "{text}");

    let text = Fb::not_found(&backend, Fb::in_environment("qa")).await;
    assert!(text.contains("development, production"), "{text}");
}

/// A 2xx body that says `success: false` is an error too, typed from its code.
#[tokio::test]
async fn a_success_false_body_is_a_typed_error() {
    let server = failing_reads(200, "ResourceNotFound").await;
    Fb::not_found(&fb(&server), Fb::TARGET).await;
}

/// Access tokens are `api-…` (featbit `Domain/AccessTokens/AccessToken.cs`); an environment's
/// SDK secret is refused before any request.
#[test]
fn an_sdk_secret_is_refused_and_explained() {
    let secret = "ZGJlLTRhNjYtNDNhMS1iMGE3LTg4ZmQ2NzI1ZTk0MQ";
    let envs = BTreeMap::from([("production".to_string(), PROD.to_string())]);
    let e = assert_fails(
        FeatBit::connect(
            "self",
            "http://127.0.0.1:5000",
            SecretString::from(secret),
            Limits::default(),
            "shop",
            &envs,
        ),
        ErrorCode::InvalidInput,
        &["SDK secret"],
    );
    let text = e.to_string();
    assert!(!text.contains(secret), "{text}");
}
