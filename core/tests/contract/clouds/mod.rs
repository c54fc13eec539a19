//! Cloud providers: the shared scenario table and each provider's own cases.
//!
//! Every provider answers the same scenarios ([`scenario_table!`]: a 401, a 403, a 404, a
//! 409, a 429 with a short or a long `Retry-After`, a 5xx on a read and on a power call, a
//! power call that times out, paging in circles, malformed JSON, an oversize body, a secret
//! echoed in an error body, a bad id, the region filter of its `[[clouds]]` entry), through
//! a description of its API ([`CloudMock`]: its routes and the bodies its documentation gives,
//! in the style of matrix-rust-sdk's `MatrixMockServer`). The account is built from a
//! `[[clouds]]` entry, as paaf builds it. Each provider's file holds its [`CloudMock`] and its
//! own cases (its paging, its power actions followed to their end, its vendor errors).
//!
//! A new provider: its file here with a `Mock` describing its API and its own cases, and one
//! row in the [`scenario_table!`] call below.

mod digitalocean;
mod hetzner;
mod linode;
mod vultr;

use crate::support::{assert_clean, received, store};
use paaf_core::CancellationToken;
use paaf_core::ErrorCode;
use paaf_core::cloud::{CloudAccount, PollSettings, PowerAction, PowerOutcome, power_and_wait};
use paaf_core::config::Config;
use paaf_core::http::Limits;
use secrecy::SecretString;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// How one provider's API answers, as its documentation says: what the scenarios need of it.
pub trait CloudMock {
    /// Its `type` in `[[clouds]]`.
    const KIND: &'static str;
    /// The API token or key the account is configured with (`keyring:contract`).
    const SECRET: &'static str;
    /// The path of the account's `endpoint` under the mock server's URL (`/v1`, or empty).
    const BASE: &'static str;
    /// The region and id of the server the scenarios read and power.
    const SERVER: (&'static str, &'static str);
    /// The id of another server, listed beside it.
    const SERVER_2: &'static str;
    /// An id the provider refuses before sending anything.
    const BAD_ID: &'static str;
    /// The path of the listing (every page).
    const LIST: &'static str;
    /// A power action the provider has, the method and path that send it, and how its
    /// errors name it (`shutdown of droplet 3164444`).
    const POWER: (PowerAction, &'static str, &'static str, &'static str);
    /// Words of the hints of a 401, a 403 and a 429 (the vendor's own remedies).
    const HINTS: Hints;

    /// The path that reads server `id`.
    fn read_path(id: &str) -> String;
    /// A server as the read answers it: `id` in `region`, running.
    fn server(id: &str, region: &str) -> Value;
    /// A listing's last page holding `servers` (bodies of [`CloudMock::server`]).
    fn page(servers: Vec<Value>) -> Value;
    /// A listing page that names itself, or its like, as the next (whatever is asked).
    fn looping_page() -> Value;
    /// The vendor's error answer with status `status` and `message`.
    fn error(status: u16, message: &str) -> ResponseTemplate;
    /// The answer accepting the power action.
    fn accepted() -> ResponseTemplate;
    /// The read's answer carrying `server` (a body of [`CloudMock::server`]).
    fn read_answer(server: Value) -> Value;
    /// Headers a 429 carries beside `Retry-After` (a rate limit's reset time).
    fn rate_limit_headers() -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// Words each hint of a provider contains.
pub struct Hints {
    pub auth: &'static str,
    pub permission: &'static str,
    pub rate_limited: &'static str,
}

/// The `[[clouds]]` entry of provider `M` at the mock server, with `regions`.
fn entry<M: CloudMock>(server: &MockServer, regions: &[&str]) -> String {
    let regions: Vec<String> = regions.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        "[[clouds]]\nname = \"prod\"\ntype = \"{}\"\nendpoint = \"{}{}\"\ntoken = \"keyring:contract\"\ntimeout_secs = 1\nregions = [{}]\n",
        M::KIND,
        server.uri(),
        M::BASE,
        regions.join(", ")
    )
}

/// The account of provider `M` at the mock server, built from its `[[clouds]]` entry.
fn account_in<M: CloudMock>(server: &MockServer, regions: &[&str]) -> Box<dyn CloudAccount> {
    let config = Config::parse(Path::new("paaf.toml"), &entry::<M>(server, regions)).unwrap();
    let account =
        paaf_core::cloud::connect(&config.clouds[0], &store(&[("contract", M::SECRET)])).unwrap();
    assert_eq!(account.provider(), M::KIND);
    assert_clean(&format!("{account:?}"), M::SECRET);
    account
}

fn account<M: CloudMock>(server: &MockServer) -> Box<dyn CloudAccount> {
    account_in::<M>(server, &[])
}

fn base<M: CloudMock>(tail: &str) -> String {
    format!("{}{tail}", M::BASE)
}

async fn mount(server: &MockServer, verb: &str, route: String, answer: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// Mounts `answer` once for the route, then `then` for every later request.
async fn mount_once_then(
    server: &MockServer,
    verb: &str,
    route: String,
    answer: ResponseTemplate,
    then: ResponseTemplate,
) {
    Mock::given(method(verb))
        .and(path(route.clone()))
        .respond_with(answer)
        .up_to_n_times(1)
        .mount(server)
        .await;
    mount(server, verb, route, then).await;
}

async fn power<M: CloudMock>(account: &dyn CloudAccount) -> paaf_core::Error {
    let (region, id) = M::SERVER;
    account.power(region, id, M::POWER.0).await.unwrap_err()
}

fn power_route<M: CloudMock>() -> (&'static str, String) {
    (M::POWER.1, base::<M>(M::POWER.2))
}

/// A 401 on the listing: the account's one error row, auth-failed, with the vendor's words
/// and its hint, never the token.
pub async fn unauthorized_listing_is_an_auth_failed_row<M: CloudMock>() {
    let server = MockServer::start().await;
    let answer = M::error(401, "Refused by the contract server");
    mount(&server, "GET", base::<M>(M::LIST), answer).await;
    let listed = account::<M>(&server).list().await;
    assert!(listed.servers.is_empty());
    let [row] = listed.errors.as_slice() else {
        panic!("{:?}", listed.errors);
    };
    assert_eq!(
        (row.provider.as_str(), row.account.as_str()),
        (M::KIND, "prod")
    );
    assert_eq!(
        (row.region.as_deref(), row.error.code),
        (None, ErrorCode::AuthFailed)
    );
    let message = &row.error.message;
    assert!(
        message.contains("Refused by the contract server"),
        "{message}"
    );
    assert!(message.contains(M::HINTS.auth), "{message}");
    assert_clean(message, M::SECRET);
}

/// A 403 on a power call: permission-denied with the vendor's hint, sent once.
pub async fn forbidden_power_is_permission_denied_and_sent_once<M: CloudMock>() {
    let server = MockServer::start().await;
    let (verb, route) = power_route::<M>();
    mount(&server, verb, route, M::error(403, "Not allowed")).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_eq!(e.code(), ErrorCode::PermissionDenied, "{e}");
    assert!(e.to_string().contains(M::HINTS.permission), "{e}");
    assert_eq!(received(&server, verb).await, 1);
}

/// A 404 reading or powering the server: not-found naming it and the account.
pub async fn missing_server_is_not_found_naming_it<M: CloudMock>() {
    let server = MockServer::start().await;
    let (region, id) = M::SERVER;
    mount(
        &server,
        "GET",
        base::<M>(&M::read_path(id)),
        M::error(404, "Not found"),
    )
    .await;
    let (verb, route) = power_route::<M>();
    mount(&server, verb, route, M::error(404, "Not found")).await;
    let account = account::<M>(&server);
    for e in [
        account.read(region, id).await.unwrap_err(),
        power::<M>(account.as_ref()).await,
    ] {
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        let text = e.to_string();
        assert!(text.contains(id) && text.contains("\"prod\""), "{text}");
    }
}

/// A 409 on a power call: a conflict, sent once.
pub async fn conflict_on_power_is_a_conflict_sent_once<M: CloudMock>() {
    let server = MockServer::start().await;
    let (verb, route) = power_route::<M>();
    mount(&server, verb, route, M::error(409, "conflict")).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    assert_eq!(received(&server, verb).await, 1);
}

/// A 429 with a short `Retry-After` on a read (RFC 6585 §4, RFC 9110 §10.2.3): waited out,
/// then read again.
pub async fn short_retry_after_on_a_read_is_waited_out<M: CloudMock>() {
    let server = MockServer::start().await;
    let (region, id) = M::SERVER;
    let limited = M::error(429, "Too many requests").insert_header("retry-after", "1");
    let ok = ResponseTemplate::new(200).set_body_json(M::read_answer(M::server(id, region)));
    mount_once_then(&server, "GET", base::<M>(&M::read_path(id)), limited, ok).await;
    let started = Instant::now();
    let s = account::<M>(&server).read(region, id).await.unwrap();
    assert_eq!(s.id, id);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

/// A 429 on a power call was refused unprocessed: after a short `Retry-After` it is sent
/// again.
pub async fn short_retry_after_on_power_is_sent_again<M: CloudMock>() {
    let server = MockServer::start().await;
    let (verb, route) = power_route::<M>();
    let limited = M::error(429, "Too many requests").insert_header("retry-after", "1");
    mount_once_then(&server, verb, route, limited, M::accepted()).await;
    let (region, id) = M::SERVER;
    let account = account::<M>(&server);
    account.power(region, id, M::POWER.0).await.unwrap();
    assert_eq!(received(&server, verb).await, 2);
}

/// A 429 whose `Retry-After` is longer than paaf waits: rate-limited with the vendor's
/// hint, sent once.
pub async fn long_retry_after_is_rate_limited<M: CloudMock>() {
    let server = MockServer::start().await;
    let (verb, route) = power_route::<M>();
    let mut limited = M::error(429, "Too many requests").insert_header("retry-after", "60");
    for (name, value) in M::rate_limit_headers() {
        limited = limited.insert_header(name, value.as_str());
    }
    mount(&server, verb, route, limited).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_eq!(e.code(), ErrorCode::RateLimited, "{e}");
    assert!(e.to_string().contains(M::HINTS.rate_limited), "{e}");
    assert_eq!(received(&server, verb).await, 1);
}

/// A 5xx on a read: retried (3 attempts), then service-failed.
pub async fn server_error_on_a_read_is_retried_then_service_failed<M: CloudMock>() {
    let server = MockServer::start().await;
    let (region, id) = M::SERVER;
    mount(
        &server,
        "GET",
        base::<M>(&M::read_path(id)),
        M::error(503, "oops"),
    )
    .await;
    let e = account::<M>(&server).read(region, id).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServiceFailed, "{e}");
    assert_eq!(received(&server, "GET").await, 3);
}

/// A 5xx on a power call: it may have taken effect, so outcome-unknown, naming the action;
/// never sent again.
pub async fn server_error_on_power_is_outcome_unknown_and_sent_once<M: CloudMock>() {
    let server = MockServer::start().await;
    let (verb, route) = power_route::<M>();
    mount(&server, verb, route, M::error(500, "Internal error")).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{e}");
    assert!(e.to_string().contains(M::POWER.3), "{e}");
    assert_eq!(received(&server, verb).await, 1);
}

/// A power call that times out may have reached the provider: outcome-unknown, sent once.
pub async fn timed_out_power_is_outcome_unknown_and_sent_once<M: CloudMock>() {
    let server = MockServer::start().await;
    let (verb, route) = power_route::<M>();
    let slow = M::accepted().set_delay(Duration::from_secs(3));
    mount(&server, verb, route, slow).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{e}");
    assert_clean(&e.to_string(), M::SECRET);
    assert_eq!(received(&server, verb).await, 1);
}

/// A listing that pages in circles is a malformed response after a few pages, not a loop.
pub async fn paging_in_circles_is_malformed<M: CloudMock>() {
    let server = MockServer::start().await;
    let looping = ResponseTemplate::new(200).set_body_json(M::looping_page());
    mount(&server, "GET", base::<M>(M::LIST), looping).await;
    let listed = account::<M>(&server).list().await;
    assert_eq!(listed.errors[0].error.code, ErrorCode::MalformedResponse);
    assert!(received(&server, "GET").await <= 3);
}

/// A body that is not the documented JSON, on the listing and a read: malformed-response,
/// without echoing it.
pub async fn malformed_json_is_a_malformed_response<M: CloudMock>() {
    let server = MockServer::start().await;
    let broken = ResponseTemplate::new(200).set_body_string("{\"servers\": [{\"id\": 42,");
    mount(&server, "GET", base::<M>(M::LIST), broken).await;
    let (region, id) = M::SERVER;
    let wrong = ResponseTemplate::new(200).set_body_string("<html>sign-in form</html>");
    mount(&server, "GET", base::<M>(&M::read_path(id)), wrong).await;
    let account = account::<M>(&server);
    let listed = account.list().await;
    assert_eq!(listed.errors[0].error.code, ErrorCode::MalformedResponse);
    let e = account.read(region, id).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::MalformedResponse, "{e}");
    assert!(!e.to_string().contains("sign-in form"), "{e}");
}

/// A body over the size limit (16 MiB) is refused, not read.
pub async fn oversize_body_is_refused<M: CloudMock>() {
    let server = MockServer::start().await;
    let (region, id) = M::SERVER;
    let huge = ResponseTemplate::new(200).set_body_bytes(vec![b' '; 16 * 1024 * 1024 + 1]);
    mount(&server, "GET", base::<M>(&M::read_path(id)), huge).await;
    let e = account::<M>(&server).read(region, id).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResponseTooLarge, "{e}");
}

/// An error body that echoes the secret: it reaches neither the message nor `Debug`.
pub async fn echoed_secret_is_redacted<M: CloudMock>() {
    let server = MockServer::start().await;
    let (verb, route) = power_route::<M>();
    let echo = M::error(401, &format!("Invalid token {}", M::SECRET));
    mount(&server, verb, route, echo).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_eq!(e.code(), ErrorCode::AuthFailed, "{e}");
    assert!(e.to_string().contains("[redacted]"), "{e}");
    assert_clean(&e.to_string(), M::SECRET);
    assert_clean(&format!("{e:?}"), M::SECRET);
}

/// An id the provider cannot have is refused before anything is sent.
pub async fn bad_id_is_refused_before_sending<M: CloudMock>() {
    let server = MockServer::start().await;
    let account = account::<M>(&server);
    let (region, _) = M::SERVER;
    for e in [
        account.read(region, M::BAD_ID).await.unwrap_err(),
        account
            .power(region, M::BAD_ID, M::POWER.0)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// The `regions` of the `[[clouds]]` entry keep the servers of those regions only.
pub async fn regions_of_the_entry_filter_the_listing<M: CloudMock>() {
    let server = MockServer::start().await;
    let (region, id) = M::SERVER;
    let page = M::page(vec![
        M::server(id, region),
        M::server(M::SERVER_2, "elsewhere-1"),
    ]);
    let listing = ResponseTemplate::new(200).set_body_json(page);
    mount(&server, "GET", base::<M>(M::LIST), listing).await;
    let all = account::<M>(&server).list().await;
    assert_eq!(all.servers.len(), 2, "{:?}", all.errors);
    let listed = account_in::<M>(&server, &[region]).list().await;
    let ids: Vec<&str> = listed.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec![id]);
}

/// Limits of the provider cases: short timeouts, two attempts, waits of up to 3 s.
pub fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        max_response_bytes: 1024 * 1024,
        max_attempts: 2,
        max_retry_wait: Duration::from_secs(3),
    }
}

/// The account `prod` that a provider's `connect(name, base_url, token, regions, limits)`
/// makes at `base_url` with `secret`, listing every region, within [`limits`].
pub fn connected<T>(
    connect: impl FnOnce(&str, &str, SecretString, &[String], Limits) -> paaf_core::Result<T>,
    base_url: &str,
    secret: &str,
) -> T {
    connect("prod", base_url, SecretString::from(secret), &[], limits()).unwrap()
}

/// `GET route` with the bearer `secret` answering each of `answers` once, in order, and the
/// last one for good: a server read while it changes state.
pub async fn mount_reads(
    server: &MockServer,
    route: &str,
    secret: &str,
    answers: impl IntoIterator<Item = Value>,
) {
    let answers: Vec<Value> = answers.into_iter().collect();
    let last = answers.len().saturating_sub(1);
    for (i, answer) in answers.into_iter().enumerate() {
        let mock = Mock::given(method("GET"))
            .and(path(route))
            .and(header("authorization", format!("Bearer {secret}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer));
        let mock = if i < last {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(server).await;
    }
}

/// `action` sent to server `id` of `account` and followed to its end, polling [`fast`].
pub async fn followed(
    account: &dyn CloudAccount,
    region: &str,
    id: &str,
    action: PowerAction,
) -> paaf_core::Result<PowerOutcome> {
    let cancel = CancellationToken::new();
    power_and_wait(account, region, id, action, fast(), &cancel, |_| {}).await
}

/// Polls every 20 ms, for up to 3 s: what the provider cases follow actions with.
pub fn fast() -> PollSettings {
    PollSettings {
        interval: Duration::from_millis(20),
        timeout: Duration::from_secs(3),
    }
}

/// One test per (provider, scenario): `clouds::table::<provider>::<scenario>`.
macro_rules! scenario_table {
    ($($provider:ident: $mock:ty),* $(,)?) => {
        mod table {
            $(
                mod $provider {
                    use crate::clouds::*;
                    scenario_table!(@tests $mock;
                        unauthorized_listing_is_an_auth_failed_row,
                        forbidden_power_is_permission_denied_and_sent_once,
                        missing_server_is_not_found_naming_it,
                        conflict_on_power_is_a_conflict_sent_once,
                        short_retry_after_on_a_read_is_waited_out,
                        short_retry_after_on_power_is_sent_again,
                        long_retry_after_is_rate_limited,
                        server_error_on_a_read_is_retried_then_service_failed,
                        server_error_on_power_is_outcome_unknown_and_sent_once,
                        timed_out_power_is_outcome_unknown_and_sent_once,
                        paging_in_circles_is_malformed,
                        malformed_json_is_a_malformed_response,
                        oversize_body_is_refused,
                        echoed_secret_is_redacted,
                        bad_id_is_refused_before_sending,
                        regions_of_the_entry_filter_the_listing,
                    );
                }
            )*
        }
    };
    (@tests $mock:ty; $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                crate::clouds::$scenario::<$mock>().await
            }
        )*
    };
}

scenario_table! {
    digitalocean: digitalocean::Api,
    hetzner: hetzner::Api,
    linode: linode::Api,
    vultr: vultr::Api,
}
