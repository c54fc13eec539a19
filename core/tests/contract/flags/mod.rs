//! Flag services: the shared scenario table and each service's own cases.
//!
//! Every HTTP flag service implements [`Contract`] in its own file (its fixtures follow its
//! documented API, with the doc URL), has its [`Facts`] in the `services!` table below, and
//! runs the scenarios with `contract_tests!`: each (service,
//! scenario) pair is its own test, `flags::<service>::table::<scenario>`, so a failure names
//! the service. The scenarios are those every service must pass: a refused credential (401),
//! a forbidden change (403), an unknown flag (404), a conflicting write (409), 429 with a short
//! and a long Retry-After, a 5xx on a read, a write that times out or is answered 5xx (its
//! outcome unknown, as the HTTP failure policy decides for every service), a pager that repeats itself
//! (where the API pages), malformed JSON, an oversize answer, a secret echoed in an error body,
//! a flag changed since the user looked, and a flag already as wanted.

mod devcycle;
mod featbit;
mod flagsmith;
mod launchdarkly;
mod optimizely;
mod unleash;

use crate::support::{Serve, limits};
use crate::support::{assert_error, assert_fails};
use paaf_core::flags::{ChangeNote, Flag, FlagBackend, FlagFilter, FlagRef, FlagState, FlagSwitch};
use paaf_core::http::Limits;
use paaf_core::{ErrorCode, Result};
use serde_json::Value;
use std::time::{Duration, Instant};
use wiremock::matchers::{any, method};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// A flag service's facts, given by its `contract_tests!` row: its credential, the flag the
/// scenarios read and switch, and the words its errors use.
pub(crate) trait Facts {
    /// The credential its API requests carry, which no error or `Debug` may show.
    const SECRET: &'static str;
    /// What an error about [`Facts::TARGET`] names: the service, the project, and where
    /// the request says so, the environment.
    const NAMES: &'static [&'static str];
    /// Words of the service's own advice when its credential is refused.
    const AUTH_HINT: &'static str;
    /// Words of the service's own advice when a change is forbidden.
    const FORBIDDEN_HINT: &'static str;
    /// The flag every scenario reads and switches (in `production`).
    const TARGET: FlagRef<'static>;
}

/// One HTTP flag service as its contract server answers: what the shared scenarios need
/// beside its [`Facts`].
pub(crate) trait Contract: Facts {
    type Backend: FlagBackend + std::fmt::Debug;
    /// A write that timed out is sent again once a read shows it still needed (Unleash's
    /// on/off sets an absolute state); the others send a write once.
    const RESENDS_AFTER_READ: bool = false;

    /// The service at `server`.
    fn backend(server: &MockServer, limits: Limits) -> Self::Backend;
    /// [`Facts::TARGET`]'s state as the service reports it when `enabled` (a service
    /// without a conditional write says so).
    fn state(enabled: bool) -> FlagState {
        FlagState::best_effort(enabled)
    }
    /// What every request needs first (DevCycle's token endpoint).
    async fn mount_base(_server: &MockServer) {}
    /// The documented answers to reading [`Facts::TARGET`], `enabled`.
    async fn mount_read(server: &MockServer, enabled: bool);
    /// The request that switches [`Facts::TARGET`] (its method and path).
    fn write() -> MockBuilder;
    /// The write's documented answer, the flag now `enabled`.
    fn written(enabled: bool) -> ResponseTemplate;
    /// An error body in the service's own shape, saying `message`.
    fn error_body(message: &str) -> Value;
    /// Switches [`Facts::TARGET`] on `backend` to `enabled`, the user having seen it `seen`.
    async fn switch(backend: &Self::Backend, enabled: bool, seen: FlagState) -> Result<FlagState> {
        let switch = FlagSwitch {
            flag: &Self::TARGET,
            enabled,
            expected: &seen,
            note: &note(),
            expected_is_now: false,
        };
        backend.set(&switch).await
    }
    /// What reading `flag` on `backend` says, checked to be a not-found error.
    async fn not_found(backend: &Self::Backend, flag: FlagRef<'_>) -> String {
        let e = assert_fails(backend.state(&flag).await, ErrorCode::NotFound, &[]);
        e.to_string()
    }
    /// [`Facts::TARGET`] under another key.
    fn with_key(key: &'static str) -> FlagRef<'static> {
        FlagRef {
            key,
            ..Self::TARGET
        }
    }
    /// [`Facts::TARGET`] in another environment.
    fn in_environment(environment: &'static str) -> FlagRef<'static> {
        FlagRef {
            environment,
            ..Self::TARGET
        }
    }
    /// [`Facts::TARGET`] in another project.
    fn in_project(project: &'static str) -> FlagRef<'static> {
        FlagRef {
            project,
            ..Self::TARGET
        }
    }
    /// A list whose pager gives the same page again however paaf asks for the next one.
    async fn mount_repeating_pages(_server: &MockServer) {
        unreachable!("this service's list is not paged")
    }
}

/// A flag's state in each environment, as `(name, enabled)`.
pub(crate) fn env_states(flag: &Flag) -> Vec<(&str, bool)> {
    flag.environments
        .iter()
        .map(|e| (e.name.as_str(), e.enabled))
        .collect()
}

fn note() -> ChangeNote {
    ChangeNote {
        comment: "paaf: alice via cli@laptop (incident 12)".into(),
    }
}

async fn started<C: Contract>() -> MockServer {
    let server = MockServer::start().await;
    C::mount_base(&server).await;
    server
}

/// A server where the flag is off and a write must not come.
async fn off_and_never_written<C: Contract>() -> MockServer {
    let server = started::<C>().await;
    C::mount_read(&server, false).await;
    C::write()
        .respond_with(C::written(false))
        .expect(0)
        .mount(&server)
        .await;
    server
}

fn names_everything<C: Contract>(text: &str) {
    for name in C::NAMES {
        assert!(text.contains(name), "missing {name:?} in: {text}");
    }
    assert!(!text.contains(C::SECRET), "the secret shows in: {text}");
}

/// Runs the table against one service (and the scenarios named after it, where its API has
/// them), one test each: `table::<scenario>`.
macro_rules! contract_tests {
    ($service:ty $(, $extra:ident)* $(,)?) => {
        contract_tests!(@table $service;
            reads_the_state_now,
            a_refused_credential_is_auth_failed_and_never_shown,
            a_forbidden_change_is_permission_denied,
            an_unknown_flag_is_not_found,
            a_conflicting_write_is_a_conflict,
            a_short_retry_after_is_waited_out,
            a_long_retry_after_is_rate_limited_without_waiting,
            a_5xx_on_a_read_is_retried_then_service_failed,
            a_timed_out_write_is_outcome_unknown,
            a_5xx_on_a_write_is_outcome_unknown,
            malformed_json_is_a_malformed_response,
            an_oversize_answer_is_refused,
            a_secret_echoed_in_an_error_body_is_redacted,
            a_state_changed_since_the_user_looked_is_a_conflict_and_nothing_is_written,
            a_flag_already_as_wanted_is_not_written,
            $($extra),*
        );
    };
    (@table $service:ty; $($scenario:ident),* $(,)?) => {
        mod table {
            use super::*;
            $(
                #[tokio::test]
                async fn $scenario() {
                    crate::flags::$scenario::<$service>().await;
                }
            )*
        }
    };
}
pub(crate) use contract_tests;

/// Each service's [`Facts`] from its row.
macro_rules! services {
    ($($service:path {
        secret: $secret:expr, hints: ($auth:expr, $forbidden:expr),
        target: ($project:expr, $key:expr, $environment:expr),
        names: [$($name:expr),* $(,)?] $(,)?
    }),* $(,)?) => {
        $(
            impl Facts for $service {
                const SECRET: &'static str = $secret;
                const NAMES: &'static [&'static str] = &[$($name),*];
                const AUTH_HINT: &'static str = $auth;
                const FORBIDDEN_HINT: &'static str = $forbidden;
                const TARGET: FlagRef<'static> = FlagRef {
                    project: $project,
                    key: $key,
                    environment: $environment,
                };
            }
        )*
    };
}

// The services and their facts: `hints` are words of the hints of a refused credential and
// of a forbidden change; `target` is the flag's project, key and environment; `names`, what an
// error about it names.
services! {
    // The access token the API requests carry (the client secret only goes to the token
    // endpoint: see `refused_client_credentials_are_auth_failed_without_echoing_the_secret`).
    devcycle::Dc {
        secret: devcycle::TOKEN, hints: ("freshly issued token", "may publish changes"),
        target: ("shop", "new-checkout", "production"),
        names: ["devcycle \"ops\"", "feature `new-checkout` in project `shop`", "environment `production`"],
    },
    featbit::Fb {
        secret: featbit::TOKEN, hints: ("FeatBit access token", "ManageFeatureFlag"),
        target: ("shop", "new-checkout", "production"),
        names: ["featbit \"self\"", "flag `new-checkout` in project `shop`, environment `production`"],
    },
    // The organisation API key alone: requests carry it as `Api-Key <key>`.
    flagsmith::Fs {
        secret: flagsmith::KEY, hints: ("organisation API key", "admin rights"),
        target: ("12", "new_checkout", "production"),
        names: ["flagsmith \"ops\"", "project 12"],
    },
    launchdarkly::Ld {
        secret: launchdarkly::TOKEN, hints: ("personal or service access token", "`updateOn`"),
        target: ("default", "new-checkout", "production"),
        names: ["launchdarkly \"saas\"", "flag `new-checkout` in project `default`", "environment `production`"],
    },
    optimizely::Opti {
        secret: optimizely::TOKEN, hints: ("personal access token", "Publisher"),
        target: (optimizely::PROJECT, "new_checkout", "production"),
        names: ["optimizely \"fx\"", "flag `new_checkout` in project `4678434014625792`", "environment `production`"],
    },
    unleash::Ul {
        secret: unleash::TOKEN, hints: ("personal access or service-account token", "may change flags"),
        target: ("default", "new-checkout", "production"),
        names: ["unleash \"ops\"", "flag `new-checkout` in project `default`", "environment `production`"],
    },
}

/// What reading [`Facts::TARGET`] from the service at `server` fails with, under `limits`.
async fn read_error<C: Contract>(server: &MockServer, limits: Limits) -> paaf_core::Error {
    C::backend(server, limits)
        .state(&C::TARGET)
        .await
        .unwrap_err()
}

/// A 429 in the service's own shape, asking to come back after `seconds`.
fn too_many_requests<C: Contract>(seconds: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("retry-after", seconds)
        .set_body_json(C::error_body("Too many requests"))
}

pub(crate) async fn reads_the_state_now<C: Contract>() {
    for enabled in [true, false] {
        let server = started::<C>().await;
        C::mount_read(&server, enabled).await;
        let state = C::backend(&server, limits())
            .state(&C::TARGET)
            .await
            .unwrap();
        assert_eq!(state, C::state(enabled));
    }
}

pub(crate) async fn a_refused_credential_is_auth_failed_and_never_shown<C: Contract>() {
    let server = started::<C>().await;
    let body = C::error_body(&format!("invalid credential {}", C::SECRET));
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(body))
        .mount(&server)
        .await;
    let backend = C::backend(&server, limits());
    let e = assert_fails(backend.state(&C::TARGET).await, ErrorCode::AuthFailed, &[]);
    let text = e.to_string();
    names_everything::<C>(&text);
    assert!(text.contains(C::AUTH_HINT), "{text}");
    let debug = format!("{backend:?}");
    assert!(!debug.contains(C::SECRET), "{debug}");
}

/// Switches [`Facts::TARGET`] off (it is on) where the write is answered `answer` (and
/// must be sent `sends` times), under `limits`; checks the error is `code` and names
/// everything, the environment too, and gives its text.
async fn a_refused_write<C: Contract>(
    answer: ResponseTemplate,
    sends: u64,
    limits: Limits,
    code: ErrorCode,
) -> String {
    let server = started::<C>().await;
    C::mount_read(&server, true).await;
    C::write()
        .respond_with(answer)
        .expect(sends)
        .mount(&server)
        .await;
    let e = C::switch(&C::backend(&server, limits), false, C::state(true))
        .await
        .unwrap_err();
    assert_eq!(e.code(), code, "{e}");
    let text = e.to_string();
    names_everything::<C>(&text);
    assert!(text.contains("production"), "{text}");
    text
}

/// A write that was not processed is sent once; Unleash's, after a failure that may have
/// reached it, is sent again after each read that shows it still needed.
fn sends_of_an_unknown_outcome<C: Contract>() -> u64 {
    if C::RESENDS_AFTER_READ { 2 } else { 1 }
}

pub(crate) async fn a_forbidden_change_is_permission_denied<C: Contract>() {
    let answer = ResponseTemplate::new(403).set_body_json(C::error_body("Forbidden"));
    let text = a_refused_write::<C>(answer, 1, limits(), ErrorCode::PermissionDenied).await;
    assert!(text.contains(C::FORBIDDEN_HINT), "{text}");
}

pub(crate) async fn an_unknown_flag_is_not_found<C: Contract>() {
    let server = started::<C>().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404).set_body_json(C::error_body("Not found")))
        .mount(&server)
        .await;
    let e = read_error::<C>(&server, limits()).await;
    assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    assert!(!e.to_string().contains(C::SECRET), "{e}");
}

pub(crate) async fn a_conflicting_write_is_a_conflict<C: Contract>() {
    let answer =
        ResponseTemplate::new(409).set_body_json(C::error_body("Conflict: it was modified"));
    a_refused_write::<C>(answer, 1, limits(), ErrorCode::Conflict).await;
}

pub(crate) async fn a_short_retry_after_is_waited_out<C: Contract>() {
    let server = started::<C>().await;
    Mock::given(method("GET"))
        .respond_with(too_many_requests::<C>("1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    C::mount_read(&server, true).await;
    let started = Instant::now();
    let state = C::backend(&server, limits())
        .state(&C::TARGET)
        .await
        .unwrap();
    assert_eq!(state, C::state(true));
    assert!(started.elapsed() >= Duration::from_secs(1));
}

pub(crate) async fn a_long_retry_after_is_rate_limited_without_waiting<C: Contract>() {
    let server = started::<C>().await;
    server
        .expect(Mock::given(method("GET")), too_many_requests::<C>("120"), 1)
        .await;
    let started = Instant::now();
    let e = read_error::<C>(&server, limits()).await;
    assert_eq!(e.code(), ErrorCode::RateLimited, "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = e.to_string();
    assert!(text.contains("120"), "{text}");
    names_everything::<C>(&text);
}

pub(crate) async fn a_5xx_on_a_read_is_retried_then_service_failed<C: Contract>() {
    let server = started::<C>().await;
    let served = ResponseTemplate::new(503).set_body_json(C::error_body("upstream down"));
    server.expect(Mock::given(method("GET")), served, 2).await;
    let e = read_error::<C>(&server, limits()).await;
    assert_error(&e, ErrorCode::ServiceFailed, &["upstream down"]);
    let text = e.to_string();
    names_everything::<C>(&text);
}

pub(crate) async fn a_timed_out_write_is_outcome_unknown<C: Contract>() {
    let answer = C::written(false).set_delay(Duration::from_secs(3));
    let limits = Limits {
        timeout: Duration::from_millis(700),
        ..limits()
    };
    let sends = sends_of_an_unknown_outcome::<C>();
    a_refused_write::<C>(answer, sends, limits, ErrorCode::OutcomeUnknown).await;
}

/// A 5xx may come after the service acted (a proxy that timed out, a crash after the commit):
/// the write is not sent again blindly, and its outcome is unknown.
pub(crate) async fn a_5xx_on_a_write_is_outcome_unknown<C: Contract>() {
    let answer = ResponseTemplate::new(502).set_body_json(C::error_body("bad gateway"));
    let sends = sends_of_an_unknown_outcome::<C>();
    let text = a_refused_write::<C>(answer, sends, limits(), ErrorCode::OutcomeUnknown).await;
    assert!(
        text.contains("HTTP 502") && text.contains("bad gateway"),
        "{text}"
    );
}

pub(crate) async fn a_pager_that_repeats_itself_is_malformed<C: Contract>() {
    let server = started::<C>().await;
    C::mount_repeating_pages(&server).await;
    let started = Instant::now();
    assert_fails(
        C::backend(&server, limits())
            .list(&FlagFilter::default())
            .await,
        ErrorCode::MalformedResponse,
        &["repeats page 1"],
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

pub(crate) async fn malformed_json_is_a_malformed_response<C: Contract>() {
    let server = started::<C>().await;
    let served = ResponseTemplate::new(200).set_body_string("{\"items\": [{\"key\"");
    server.serve(Mock::given(method("GET")), served).await;
    let backend = C::backend(&server, limits());
    assert_fails(
        backend.state(&C::TARGET).await,
        ErrorCode::MalformedResponse,
        &[C::NAMES[0]],
    );
    assert_fails(
        backend.list(&FlagFilter::default()).await,
        ErrorCode::MalformedResponse,
        &[],
    );
}

pub(crate) async fn an_oversize_answer_is_refused<C: Contract>() {
    let server = started::<C>().await;
    let padding = "x".repeat(8 * 1024);
    let served =
        ResponseTemplate::new(200).set_body_json(serde_json::json!({ "items": [padding] }));
    server.serve(Mock::given(method("GET")), served).await;
    let limits = Limits {
        max_response_bytes: 4 * 1024,
        ..limits()
    };
    let e = read_error::<C>(&server, limits).await;
    assert_eq!(e.code(), ErrorCode::ResponseTooLarge, "{e}");
}

pub(crate) async fn a_secret_echoed_in_an_error_body_is_redacted<C: Contract>() {
    let server = started::<C>().await;
    let said = format!("malformed header: {}", C::SECRET);
    let served = ResponseTemplate::new(400).set_body_json(C::error_body(&said));
    server.serve(Mock::given(method("GET")), served).await;
    let e = read_error::<C>(&server, limits()).await;
    let text = e.to_string();
    assert!(!text.contains(C::SECRET), "{text}");
    assert!(text.contains("malformed header: [redacted]"), "{text}");
}

pub(crate) async fn a_state_changed_since_the_user_looked_is_a_conflict_and_nothing_is_written<
    C: Contract,
>() {
    let server = off_and_never_written::<C>().await;
    let e = assert_fails(
        C::switch(&C::backend(&server, limits()), false, C::state(true)).await,
        ErrorCode::Conflict,
        &["now OFF, not ON"],
    );
    let text = e.to_string();
    assert!(text.contains("nothing was changed"), "{text}");
    names_everything::<C>(&text);
}

pub(crate) async fn a_flag_already_as_wanted_is_not_written<C: Contract>() {
    let server = off_and_never_written::<C>().await;
    let after = C::switch(&C::backend(&server, limits()), false, C::state(false))
        .await
        .unwrap();
    assert_eq!(after, C::state(false));
}
