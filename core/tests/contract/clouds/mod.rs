//! Cloud providers: the shared scenario table and each provider's own cases.
//!
//! Every provider answers the same scenarios ([`scenario_table!`]: a 401, a 403, a 404, a
//! 409, a 429 with a short or a long `Retry-After`, a 5xx on a read and on a power call, a
//! power call that times out, paging in circles, malformed JSON, an oversize body, a secret
//! echoed in an error body, a bad id, the region filter of its `[[clouds]]` entry, a reboot
//! with no evidence and one whose operation completed), through
//! a description of its API ([`CloudMock`]: its routes and the bodies its documentation gives,
//! in the style of matrix-rust-sdk's `MatrixMockServer`). The account is built from a
//! `[[clouds]]` entry, as paaf builds it. Each provider's file holds its [`CloudMock`] and its
//! own cases (its paging, its power actions followed to their end, its vendor errors).
//!
//! A [`CloudMock`] whose API is not of the common shape says so with a hook that has a
//! default: other `[[clouds]]` keys and secrets ([`CloudMock::keys`], [`CloudMock::secrets`],
//! or a whole [`CloudMock::account`]), answers that are not JSON ([`CloudMock::ok`]), a listing
//! asked region by region ([`CloudMock::PER_REGION`], [`CloudMock::list_in`],
//! [`CloudMock::asks_about`]) or in one answer ([`CloudMock::PAGED`]), what the account reads
//! beside the call a scenario is about ([`CloudMock::quiet_routes`]: OVHcloud's clock, the
//! Proxmox guests a power call looks up). A route may carry the query it needs
//! (`/?Action=…`).
//!
//! A new provider: its file here with a `Mock` describing its API and its own cases, and one
//! row in the [`scenario_table!`] call below.

mod azure;
mod digitalocean;
mod ec2;
mod gcp;
mod hetzner;
mod kubernetes;
mod linode;
mod ovh;
mod proxmox;
mod rebootx;
mod scaleway;
mod vultr;

pub(crate) use crate::support::limits;
use crate::support::{Serve, assert_clean, given, received, store};
use crate::support::{assert_error, assert_fails};
use paaf_core::CancellationToken;
use paaf_core::ErrorCode;
use paaf_core::cloud::{
    Accepted, CloudAccount, Evidence, FromConfig, Inventory, InventoryError, PollSettings,
    PowerAction, PowerOutcome, Proof, Server, ServerStatus, TokenConfig, poll_until,
    power_and_wait,
};
use paaf_core::config::Config;
use paaf_core::secrets::SecretRef;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A provider's facts, given by its row of the [`scenario_table!`]: where its API is, the
/// servers the scenarios read and power, and the words its errors use.
pub trait Facts {
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
}

/// How one provider's API answers, as its documentation says: what the scenarios need of it
/// beside its [`Facts`].
pub trait CloudMock: Facts {
    /// The region of [`Facts::SERVER_2`]: another region the provider accepts.
    const REGION_2: &'static str = "elsewhere-1";

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
    /// A reboot of [`CloudMock::SERVER`] as the provider answers it at `server`, done.
    fn reboot(server: &MockServer) -> RebootMock;
    /// Headers a 429 carries beside `Retry-After` (a rate limit's reset time).
    fn rate_limit_headers() -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Whether the listing asks region by region (a GCP or Scaleway zone, an EC2 endpoint, a
    /// Kubernetes namespace: the configured ones only, a failing one an error row of its own)
    /// rather than once for the whole account, whose servers the regions then filter. An
    /// entry of the scenarios without regions names [`CloudMock::SERVER`]'s.
    const PER_REGION: bool = false;

    /// The path that lists the servers of `region` ([`CloudMock::LIST`] is `SERVER`'s); the
    /// one [`CloudMock::LIST`] when the listing is not [`CloudMock::PER_REGION`] or every
    /// region is listed at the same path.
    fn list_in(_region: &str) -> String {
        Self::LIST.to_string()
    }

    /// Whether `request` lists `region` ([`CloudMock::PER_REGION`]): by default, it asks for
    /// [`CloudMock::list_in`] of it; an API that says the region elsewhere (EC2's credential
    /// scope) reads it there.
    fn asks_about(request: &wiremock::Request, region: &str) -> bool
    where
        Self: Sized,
    {
        is_at(request, &base::<Self>(&Self::list_in(region)))
    }

    /// Whether its listing comes in pages; one that does not (a single answer) is read with
    /// one request, which [`paging_in_circles_is_malformed`] checks instead.
    const PAGED: bool = true;

    /// [`CloudMock::looping_page`] served at `uri`, for an API whose next page is a URL.
    fn looping_page_on(_uri: &str) -> Value {
        Self::looping_page()
    }

    /// A success answering `body` (a body of [`CloudMock::page`], [`CloudMock::read_answer`]):
    /// JSON, unless the API speaks something else.
    fn ok(body: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(body)
    }

    /// The keys of its `[[clouds]]` entry beside its name, type, endpoint and timeout, listing
    /// `regions` ([`regions_key`]): by default one API token, `keyring:contract`.
    fn keys(regions: &[&str]) -> String {
        keys_and_regions(&["token = \"keyring:contract\""], regions)
    }

    /// The secrets its [`CloudMock::keys`] name (`keyring:NAME`): by default `contract`
    /// holding [`CloudMock::SECRET`].
    fn secrets() -> Vec<(&'static str, String)> {
        vec![("contract", Self::SECRET.to_string())]
    }

    /// Routes the account reads beside the one a scenario is about (OVHcloud's clock, the
    /// guests a Proxmox power call looks up, a Kubernetes pod listing beside the
    /// Deployments'): method, path and the body answering them ([`CloudMock::ok`]) when all
    /// is well, unless a scenario mounts its own.
    fn quiet_routes() -> Vec<(&'static str, String, Value)> {
        Vec::new()
    }

    /// The account `prod` at the mock server listing `regions`: by default made from its
    /// `[[clouds]]` entry ([`CloudMock::keys`], [`CloudMock::secrets`]), as paaf makes it. A
    /// provider whose account needs more than an entry (a login URL no entry names) makes
    /// its own.
    fn account(server: &MockServer, regions: &[&str]) -> Box<dyn CloudAccount>
    where
        Self: Sized,
    {
        let secrets = Self::secrets();
        let secrets: Vec<(&str, &str)> = secrets.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let config =
            Config::parse(Path::new("paaf.toml"), &entry::<Self>(server, regions)).unwrap();
        paaf_core::cloud::connect(&config.clouds[0], &store(&secrets)).unwrap()
    }
}

/// How a provider answers a reboot, as its documentation says: what the reboot scenarios
/// mount.
pub struct RebootMock {
    /// A reboot it has: where it has an operation that proves only one of its reboots, that
    /// one (Hetzner's reset).
    pub action: PowerAction,
    /// The method and path (under [`CloudMock::BASE`]) that send it, and the answer accepting
    /// it.
    pub send: (&'static str, String, ResponseTemplate),
    /// Where it answers with an operation: the path that reads it and its answer once it
    /// completed.
    pub operation: Option<(String, ResponseTemplate)>,
}

impl RebootMock {
    /// `action`, sent by `verb route` and accepted with `answer`, with no operation to follow.
    pub fn sent(
        action: PowerAction,
        verb: &'static str,
        route: impl Into<String>,
        answer: ResponseTemplate,
    ) -> Self {
        let operation = None;
        let send = (verb, route.into(), answer);
        Self {
            action,
            send,
            operation,
        }
    }

    /// The same, answered with an operation read at `route`, answering `done` once completed.
    pub fn then_read(self, route: impl Into<String>, done: ResponseTemplate) -> Self {
        let operation = Some((route.into(), done));
        Self { operation, ..self }
    }

    async fn mount<M: CloudMock>(&self, server: &MockServer) {
        let (verb, route, answer) = &self.send;
        mount(server, verb, base::<M>(route), answer.clone()).await;
        if let Some((route, done)) = &self.operation {
            mount(server, "GET", base::<M>(route), done.clone()).await;
        }
    }
}

/// Words each hint of a provider contains.
pub struct Hints {
    pub auth: &'static str,
    pub permission: &'static str,
    pub rate_limited: &'static str,
}

/// The vendor's word for `status` in `words`: those of a 401, a 403, a 404, a 409 and a 429,
/// then the one of any other status, separated by commas.
pub fn by_status(status: u16, words: &'static str) -> &'static str {
    let known = [401, 403, 404, 409, 429];
    let index = known
        .iter()
        .position(|s| *s == status)
        .unwrap_or(known.len());
    words.split(", ").nth(index).unwrap()
}

/// The keys of a `[[clouds]]` entry: the lines `keys`, then the `regions` key listing
/// `regions`.
pub fn keys_and_regions(keys: &[&str], regions: &[&str]) -> String {
    format!("{}\n{}", keys.join("\n"), regions_key(regions))
}

/// The servers of `inventory` as rows: region, id, status and the provider's own word for
/// the state.
pub fn rows(inventory: &Inventory) -> Vec<(&str, &str, ServerStatus, &str)> {
    fn row(s: &Server) -> (&str, &str, ServerStatus, &str) {
        (&s.region, &s.id, s.status, &s.raw_state)
    }
    inventory.servers.iter().map(row).collect()
}

/// Fails unless `row` is the error row of `region` with a `code` error whose message says each
/// of `words`.
#[track_caller]
pub fn assert_error_row(row: &InventoryError, region: &str, code: ErrorCode, words: &[&str]) {
    assert_eq!(row.region.as_deref(), Some(region));
    assert_eq!(row.error.code, code);
    for word in words {
        assert!(row.error.message.contains(word), "{}", row.error.message);
    }
}

/// The `regions` key of a `[[clouds]]` entry listing `regions`.
pub fn regions_key(regions: &[&str]) -> String {
    let regions: Vec<String> = regions.iter().map(|r| format!("\"{r}\"")).collect();
    format!("regions = [{}]\n", regions.join(", "))
}

/// The `[[clouds]]` entry of provider `M` at the mock server, with `regions` (none: all, or
/// [`CloudMock::SERVER`]'s for a listing asked [`CloudMock::PER_REGION`]).
fn entry<M: CloudMock>(server: &MockServer, regions: &[&str]) -> String {
    let regions = match regions {
        [] if M::PER_REGION => &[M::SERVER.0],
        regions => regions,
    };
    format!(
        "[[clouds]]\nname = \"prod\"\ntype = \"{}\"\nendpoint = \"{}{}\"\ntimeout_secs = 1\n{}",
        M::KIND,
        server.uri(),
        M::BASE,
        M::keys(regions)
    )
}

/// A mock server for provider `M`, its [`CloudMock::quiet_routes`] answering where a
/// scenario mounts nothing.
async fn start<M: CloudMock>() -> MockServer {
    let server = MockServer::start().await;
    for (verb, route, body) in M::quiet_routes() {
        given(verb, base::<M>(&route))
            .respond_with(M::ok(body))
            .with_priority(9)
            .mount(&server)
            .await;
    }
    server
}

/// The account of provider `M` at the mock server ([`CloudMock::account`]).
fn account_in<M: CloudMock>(server: &MockServer, regions: &[&str]) -> Box<dyn CloudAccount> {
    let account = M::account(server, regions);
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

/// Whether `request` asks for `route` (a path, and the query parameters after its `?`).
fn is_at(request: &wiremock::Request, route: &str) -> bool {
    let (route, query) = route.split_once('?').unwrap_or((route, ""));
    let asked: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
    request.url.path() == route
        && query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .all(|(n, v)| asked.iter().any(|(an, av)| an == n && av == v))
}

/// How many `verb` requests the server received at `route` of provider `M` (under its base).
async fn received_at<M: CloudMock>(server: &MockServer, verb: &str, route: &str) -> usize {
    let requests = server.received_requests().await.unwrap_or_default();
    let route = base::<M>(route);
    let asked = |r: &&wiremock::Request| r.method.as_str() == verb && is_at(r, &route);
    requests.iter().filter(asked).count()
}

async fn mount(
    server: &MockServer,
    verb: &str,
    route: impl Into<String>,
    answer: ResponseTemplate,
) {
    given(verb, route.into())
        .respond_with(answer)
        .mount(server)
        .await;
}

/// `verb route` answered with `answer`, asked exactly `times` times (checked when the server
/// stops).
pub async fn mount_expected(
    server: &MockServer,
    verb: &str,
    route: impl Into<String>,
    answer: ResponseTemplate,
    times: u64,
) {
    Mock::given(method(verb))
        .and(path(route.into()))
        .respond_with(answer)
        .expect(times)
        .mount(server)
        .await;
}

/// The one POST of `requests` under `route` (a power call `what`), asserted sent once,
/// without a body but with `content-length: 0`: ARM and Google's front end answer 411 to a
/// POST without a length.
pub fn the_one_empty_post<'a>(
    requests: &'a [wiremock::Request],
    route: &str,
    what: &str,
) -> &'a wiremock::Request {
    let posts: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path().starts_with(route))
        .collect();
    let [post] = posts.as_slice() else {
        panic!("{what} is sent once, not {} times", posts.len());
    };
    assert!(post.body.is_empty(), "{what}: no body");
    let length = post
        .headers
        .get("content-length")
        .map(|v| v.to_str().unwrap());
    assert_eq!(
        length,
        Some("0"),
        "{what}: a POST without a length is refused (411)"
    );
    post
}

/// The requests of `requests` to `route`.
pub fn asked<'a>(requests: &'a [wiremock::Request], route: &str) -> Vec<&'a wiremock::Request> {
    requests.iter().filter(|r| r.url.path() == route).collect()
}

/// Mounts `answer` once for the route, then `then` for every later request.
async fn mount_once_then(
    server: &MockServer,
    verb: &str,
    route: String,
    answer: ResponseTemplate,
    then: ResponseTemplate,
) {
    given(verb, &route)
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
    let server = start::<M>().await;
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
    // A listing asked region by region fails in the region asked.
    let region = M::PER_REGION.then_some(M::SERVER.0);
    assert_eq!(
        (row.region.as_deref(), row.error.code),
        (region, ErrorCode::AuthFailed)
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
    let server = start::<M>().await;
    let (verb, route) = power_route::<M>();
    mount(&server, verb, route, M::error(403, "Not allowed")).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_error(&e, ErrorCode::PermissionDenied, &[M::HINTS.permission]);
    assert_eq!(received(&server, verb).await, 1);
}

/// A 404 reading or powering the server: not-found naming it and the account.
pub async fn missing_server_is_not_found_naming_it<M: CloudMock>() {
    let server = start::<M>().await;
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
        assert_error(&e, ErrorCode::NotFound, &[id, "\"prod\""]);
    }
}

/// A 409 on a power call: a conflict, sent once.
pub async fn conflict_on_power_is_a_conflict_sent_once<M: CloudMock>() {
    let server = start::<M>().await;
    let (verb, route) = power_route::<M>();
    mount(&server, verb, route, M::error(409, "conflict")).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    assert_eq!(received(&server, verb).await, 1);
}

/// A 429 with a short `Retry-After` on a read (RFC 6585 §4, RFC 9110 §10.2.3): waited out,
/// then read again.
pub async fn short_retry_after_on_a_read_is_waited_out<M: CloudMock>() {
    let server = start::<M>().await;
    let (region, id) = M::SERVER;
    let limited = M::error(429, "Too many requests").insert_header("retry-after", "1");
    let ok = M::ok(M::read_answer(M::server(id, region)));
    mount_once_then(&server, "GET", base::<M>(&M::read_path(id)), limited, ok).await;
    let started = Instant::now();
    let s = account::<M>(&server).read(region, id).await.unwrap();
    assert_eq!(s.id, id);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

/// A 429 on a power call was refused unprocessed: after a short `Retry-After` it is sent
/// again.
pub async fn short_retry_after_on_power_is_sent_again<M: CloudMock>() {
    let server = start::<M>().await;
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
    let server = start::<M>().await;
    let (verb, route) = power_route::<M>();
    let mut limited = M::error(429, "Too many requests").insert_header("retry-after", "60");
    for (name, value) in M::rate_limit_headers() {
        limited = limited.insert_header(name, value.as_str());
    }
    mount(&server, verb, route, limited).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_error(&e, ErrorCode::RateLimited, &[M::HINTS.rate_limited]);
    assert_eq!(received(&server, verb).await, 1);
}

/// A 5xx on a read: retried (3 attempts), then service-failed.
pub async fn server_error_on_a_read_is_retried_then_service_failed<M: CloudMock>() {
    let server = start::<M>().await;
    let (region, id) = M::SERVER;
    mount(
        &server,
        "GET",
        base::<M>(&M::read_path(id)),
        M::error(503, "oops"),
    )
    .await;
    assert_fails(
        account::<M>(&server).read(region, id).await,
        ErrorCode::ServiceFailed,
        &[],
    );
    assert_eq!(received_at::<M>(&server, "GET", &M::read_path(id)).await, 3);
}

/// A 5xx on a power call: it may have taken effect, so outcome-unknown, naming the action;
/// never sent again.
pub async fn server_error_on_power_is_outcome_unknown_and_sent_once<M: CloudMock>() {
    let server = start::<M>().await;
    let (verb, route) = power_route::<M>();
    mount(&server, verb, route, M::error(500, "Internal error")).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_error(&e, ErrorCode::OutcomeUnknown, &[M::POWER.3]);
    assert_eq!(received(&server, verb).await, 1);
}

/// A power call that times out may have reached the provider: outcome-unknown, sent once.
pub async fn timed_out_power_is_outcome_unknown_and_sent_once<M: CloudMock>() {
    let server = start::<M>().await;
    let (verb, route) = power_route::<M>();
    let slow = M::accepted().set_delay(Duration::from_secs(3));
    mount(&server, verb, route, slow).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{e}");
    assert_clean(&e.to_string(), M::SECRET);
    assert_eq!(received(&server, verb).await, 1);
}

/// A listing that pages in circles is a malformed response after a few pages, not a loop; a
/// listing without pages ([`CloudMock::PAGED`]) is read with one request.
pub async fn paging_in_circles_is_malformed<M: CloudMock>() {
    let server = start::<M>().await;
    let looping = M::ok(M::looping_page_on(&server.uri()));
    mount(&server, "GET", base::<M>(M::LIST), looping).await;
    let listed = account::<M>(&server).list().await;
    let reads = received_at::<M>(&server, "GET", M::LIST).await;
    if M::PAGED {
        assert_eq!(listed.errors[0].error.code, ErrorCode::MalformedResponse);
        assert!(reads <= 3, "{reads} pages read");
    } else {
        assert!(listed.errors.is_empty(), "{:?}", listed.errors);
        assert_eq!(reads, 1);
    }
}

/// A body that is not the documented JSON, on the listing and a read: malformed-response,
/// without echoing it.
pub async fn malformed_json_is_a_malformed_response<M: CloudMock>() {
    let server = start::<M>().await;
    let broken = ResponseTemplate::new(200).set_body_string("{\"servers\": [{\"id\": 42,");
    mount(&server, "GET", base::<M>(M::LIST), broken).await;
    let (region, id) = M::SERVER;
    let wrong = ResponseTemplate::new(200).set_body_string("<html>sign-in form</html>");
    mount(&server, "GET", base::<M>(&M::read_path(id)), wrong).await;
    let account = account::<M>(&server);
    let listed = account.list().await;
    assert_eq!(listed.errors[0].error.code, ErrorCode::MalformedResponse);
    let e = assert_fails(
        account.read(region, id).await,
        ErrorCode::MalformedResponse,
        &[],
    );
    assert!(!e.to_string().contains("sign-in form"), "{e}");
}

/// A body over the size limit (16 MiB) is refused, not read.
pub async fn oversize_body_is_refused<M: CloudMock>() {
    let server = start::<M>().await;
    let (region, id) = M::SERVER;
    let huge = ResponseTemplate::new(200).set_body_bytes(vec![b' '; 16 * 1024 * 1024 + 1]);
    mount(&server, "GET", base::<M>(&M::read_path(id)), huge).await;
    assert_fails(
        account::<M>(&server).read(region, id).await,
        ErrorCode::ResponseTooLarge,
        &[],
    );
}

/// An error body that echoes the secret: it reaches neither the message nor `Debug`.
pub async fn echoed_secret_is_redacted<M: CloudMock>() {
    let server = start::<M>().await;
    let (verb, route) = power_route::<M>();
    let echo = M::error(401, &format!("Invalid token {}", M::SECRET));
    mount(&server, verb, route, echo).await;
    let e = power::<M>(account::<M>(&server).as_ref()).await;
    assert_error(&e, ErrorCode::AuthFailed, &["[redacted]"]);
    assert_clean(&e.to_string(), M::SECRET);
    assert_clean(&format!("{e:?}"), M::SECRET);
}

/// An id the provider cannot have is refused before anything is sent.
pub async fn bad_id_is_refused_before_sending<M: CloudMock>() {
    let server = start::<M>().await;
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

/// The `regions` of the `[[clouds]]` entry keep the servers of those regions only: a filter
/// over the listing, or ([`CloudMock::PER_REGION`]) the only regions asked.
pub async fn regions_of_the_entry_filter_the_listing<M: CloudMock>() {
    if M::PER_REGION {
        return regions_of_the_entry_are_the_regions_asked::<M>().await;
    }
    let server = start::<M>().await;
    let (region, id) = M::SERVER;
    let page = M::page(vec![
        M::server(id, region),
        M::server(M::SERVER_2, M::REGION_2),
    ]);
    mount(&server, "GET", base::<M>(M::LIST), M::ok(page)).await;
    let all = account::<M>(&server).list().await;
    assert_eq!(all.servers.len(), 2, "{:?}", all.errors);
    let listed = account_in::<M>(&server, &[region]).list().await;
    let ids: Vec<&str> = listed.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec![id]);
}

/// The regions of the entry of a provider that lists each region: those regions are asked,
/// and no other; each region's servers are listed.
async fn regions_of_the_entry_are_the_regions_asked<M: CloudMock>() {
    let server = start::<M>().await;
    let (region, id) = M::SERVER;
    let elsewhere = M::REGION_2;
    let page = |id, region| M::ok(M::page(vec![M::server(id, region)]));
    let (here, there) = (M::list_in(region), M::list_in(elsewhere));
    mount(&server, "GET", base::<M>(&here), page(id, region)).await;
    if there != here {
        mount(
            &server,
            "GET",
            base::<M>(&there),
            page(M::SERVER_2, elsewhere),
        )
        .await;
    }
    let asked = |requests: Vec<wiremock::Request>| -> Vec<&str> {
        [region, elsewhere]
            .into_iter()
            .filter(|r| requests.iter().any(|q| M::asks_about(q, r)))
            .collect()
    };
    let listed = account_in::<M>(&server, &[region]).list().await;
    let rows: Vec<(&str, &str)> = listed
        .servers
        .iter()
        .map(|s| (s.region.as_str(), s.id.as_str()))
        .collect();
    assert_eq!(rows, vec![(region, id)], "{:?}", listed.errors);
    assert_eq!(asked(server.received_requests().await.unwrap()), [region]);
    let both = account_in::<M>(&server, &[region, elsewhere]).list().await;
    assert_eq!(
        asked(server.received_requests().await.unwrap()),
        [region, elsewhere]
    );
    if there != here {
        assert_eq!(both.servers.len(), 2, "{:?}", both.errors);
    }
}

/// The access token [`token_server`] hands out.
pub const ACCESS_TOKEN: &str = "ya29.contract-access-token-0123456789abcdefghijklmnop";

/// A token endpoint (RFC 6749 §5.1) shared by the tests of this process, for the accounts
/// that [`CloudMock::account`] makes (it cannot wait for a mount): any POST gets
/// [`ACCESS_TOKEN`], for an hour. Like every wiremock server it serves from its own thread,
/// so it outlives the test that started it.
pub fn token_server() -> &'static str {
    static URI: OnceLock<String> = OnceLock::new();
    URI.get_or_init(|| {
        let start = || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let server = MockServer::builder().start().await;
                let token = json!({"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"});
                let served = ResponseTemplate::new(200).set_body_json(token);
                server.serve(Mock::given(method("POST")), served).await;
                Box::leak(Box::new(server)).uri()
            })
        };
        std::thread::spawn(start).join().unwrap()
    })
}

/// The token endpoint at `route` of `server` answering `token` (`times` times, or always), to
/// a form POST, expected `expect` times.
pub async fn mount_token(
    server: &MockServer,
    route: &str,
    token: &str,
    times: Option<u64>,
    expect: u64,
) {
    let mut mock = Mock::given(method("POST"))
        .and(path(route))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token,
            "expires_in": 3599,
            "token_type": "Bearer"
        })));
    if let Some(n) = times {
        mock = mock.up_to_n_times(n);
    }
    mock.expect(expect).mount(server).await;
}

/// The fields of a form body (`application/x-www-form-urlencoded`), decoded, in order.
pub fn form_fields(request: &wiremock::Request) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_encoding::percent_decode_str(&s)
            .decode_utf8()
            .unwrap()
            .into_owned()
    };
    String::from_utf8_lossy(&request.body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(n, v)| (decode(n), decode(v)))
        .collect()
}

/// The server, read `running` every time.
async fn always_running<M: CloudMock>(server: &MockServer) {
    let (region, id) = M::SERVER;
    let running = M::ok(M::read_answer(M::server(id, region)));
    mount(server, "GET", base::<M>(&M::read_path(id)), running).await;
}

/// A server reads `running` before a reboot as after it, so reading it `running` proves
/// nothing: a reboot with no operation that proves it, never seen out of `running`, is
/// watched for a sign, then unverified, saying why and how to verify it. (A provider whose
/// reboot answers with an operation that proves it has no such reboot: its server read
/// `running` without that operation is.)
pub async fn a_reboot_with_no_evidence_is_unverified<M: CloudMock>() {
    let server = start::<M>().await;
    always_running::<M>(&server).await;
    let (region, id) = M::SERVER;
    let reboot = M::reboot(&server);
    let account = account::<M>(&server);
    let outcome = if account.operation_proves(reboot.action) {
        let before = account.read(region, id).await.unwrap();
        assert_eq!(before.status, ServerStatus::Running, "as before a reboot");
        let accepted = Accepted::without_state(reboot.action, id, None);
        let cancel = CancellationToken::new();
        let read = || account.read(region, id);
        poll_until(
            id,
            accepted,
            fast(),
            Proof::watching(fast()),
            &cancel,
            read,
            |_| {},
        )
        .await
        .unwrap()
    } else {
        reboot.mount::<M>(&server).await;
        let outcome = followed(account.as_ref(), region, id, reboot.action)
            .await
            .unwrap();
        assert_eq!(
            received_at::<M>(&server, reboot.send.0, &reboot.send.1).await,
            1,
            "sent once"
        );
        outcome
    };
    assert_eq!(outcome.evidence, None, "{outcome:?}");
    assert_eq!(outcome.server.status, ServerStatus::Running);
    assert!(outcome.polls >= 2, "watched: {} reads", outcome.polls);
    let reason = outcome.unverified_reason().unwrap();
    assert!(reason.contains("no sign of the"), "{reason}");
    assert!(reason.contains(&format!("\"prod/{id}\"")), "{reason}");
}

/// A reboot answered with an operation that proves it, once followed to its end, is
/// verified at the first `running` read. A provider without operations claims none.
pub async fn a_reboot_whose_operation_completed_is_verified<M: CloudMock>() {
    let server = start::<M>().await;
    let reboot = M::reboot(&server);
    let account = account::<M>(&server);
    let Some((route, _)) = &reboot.operation else {
        assert!(!account.operation_proves(reboot.action));
        return;
    };
    always_running::<M>(&server).await;
    reboot.mount::<M>(&server).await;
    let (region, id) = M::SERVER;
    let outcome = followed(account.as_ref(), region, id, reboot.action)
        .await
        .unwrap();
    let operation = outcome.accepted.operation.clone().unwrap();
    assert_eq!(
        outcome.evidence,
        Some(Evidence::OperationCompleted { operation }),
        "{outcome:?}"
    );
    assert_eq!(outcome.polls, 1, "done at the first running read");
    assert_eq!(
        received_at::<M>(&server, reboot.send.0, &reboot.send.1).await,
        1,
        "sent once"
    );
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests.iter().any(|r| is_at(r, &base::<M>(route))),
        "the operation was read"
    );
}

/// The account `prod` of a provider reached with one API token, at `base_url` with
/// `secret`, listing every region, within [`limits`].
pub fn connected<T: FromConfig<Keys = TokenConfig>>(base_url: &str, secret: &str) -> T {
    let keys = TokenConfig {
        token: keyring("contract"),
        regions: Vec::new(),
        endpoint: Some(base_url.to_string()),
    };
    T::connect("prod", &keys, &store(&[("contract", secret)]), limits()).unwrap()
}

/// `keyring:NAME`, as a `[[clouds]]` entry names a secret.
pub fn keyring(name: &str) -> SecretRef {
    SecretRef::Keyring(name.to_string())
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
    followed_with(account, region, id, action, fast()).await
}

/// [`followed`], polling with `poll`.
pub async fn followed_with(
    account: &dyn CloudAccount,
    region: &str,
    id: &str,
    action: PowerAction,
    poll: PollSettings,
) -> paaf_core::Result<PowerOutcome> {
    let cancel = CancellationToken::new();
    power_and_wait(account, region, id, action, poll, &cancel, |_| {}).await
}

/// [`followed`] with its wait cancelled before it starts.
pub async fn followed_cancelled(
    account: &dyn CloudAccount,
    region: &str,
    id: &str,
    action: PowerAction,
) -> paaf_core::Result<PowerOutcome> {
    power_and_wait(account, region, id, action, fast(), &cancelled(), |_| {}).await
}

/// [`followed`], with the provider's word for each state the follower reported on the way.
pub async fn followed_seeing(
    account: &dyn CloudAccount,
    region: &str,
    id: &str,
    action: PowerAction,
) -> (paaf_core::Result<PowerOutcome>, Vec<String>) {
    let mut seen = Vec::new();
    let cancel = CancellationToken::new();
    let outcome = power_and_wait(account, region, id, action, fast(), &cancel, |s| {
        seen.push(s.raw_state.clone())
    })
    .await;
    (outcome, seen)
}

/// A token cancelled already: a follower handed it stops before it waits.
pub fn cancelled() -> CancellationToken {
    let cancel = CancellationToken::new();
    cancel.cancel();
    cancel
}

/// Polls every 20 ms, for up to 3 s: what the provider cases follow actions with.
pub fn fast() -> PollSettings {
    PollSettings {
        interval: Duration::from_millis(20),
        timeout: Duration::from_secs(3),
    }
}

/// Polls every 20 ms, for up to 200 ms: a follow that is meant to time out.
pub fn brief() -> PollSettings {
    PollSettings {
        interval: Duration::from_millis(20),
        timeout: Duration::from_millis(200),
    }
}

/// Each provider's [`Facts`] from its row, and one test per (provider, scenario):
/// `clouds::table::<provider>::<scenario>`.
macro_rules! scenario_table {
    ($($provider:ident {
        kind: $kind:expr, secret: $secret:expr, base: $base:expr,
        server: $server:expr, server_2: $server_2:expr, bad_id: $bad_id:expr,
        list: $list:expr,
        power: ($action:ident, $verb:expr, $route:expr, $names:expr),
        hints: ($auth:expr, $permission:expr, $rate_limited:expr) $(,)?
    }),* $(,)?) => {
        $(
            impl Facts for $provider::Api {
                const KIND: &'static str = $kind;
                const SECRET: &'static str = $secret;
                const BASE: &'static str = $base;
                const SERVER: (&'static str, &'static str) = $server;
                const SERVER_2: &'static str = $server_2;
                const BAD_ID: &'static str = $bad_id;
                const LIST: &'static str = $list;
                const POWER: (PowerAction, &'static str, &'static str, &'static str) =
                    (PowerAction::$action, $verb, $route, $names);
                const HINTS: Hints = Hints {
                    auth: $auth,
                    permission: $permission,
                    rate_limited: $rate_limited,
                };
            }
        )*
        mod table {
            $(
                mod $provider {
                    scenario_table!(@tests crate::clouds::$provider::Api;
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
                        a_reboot_with_no_evidence_is_unverified,
                        a_reboot_whose_operation_completed_is_verified,
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

// The providers and their facts: the server the scenarios read and power is `server`
// (region, id), listed beside `server_2`; `power` is the action, method, path and the name
// its errors give it; `hints` are words of the hints of a 401, a 403 and a 429.
scenario_table! {
    azure {
        kind: "azure", secret: azure::SECRET, base: "",
        server: ("westeurope", azure::WEB_1), server_2: azure::WEB_2, bad_id: "web-1",
        list: azure::VMS,
        power: (Stop, "POST", "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1/deallocate", "deallocate of VM web-1"),
        hints: ("ARM refused the token of app", "Virtual Machine Contributor", "Azure Resource Manager limits the request rate"),
    },
    digitalocean {
        kind: "digitalocean", secret: digitalocean::TOKEN, base: "",
        server: ("nyc3", digitalocean::DROPLET), server_2: "3164459", bad_id: "web-1",
        list: "/v2/droplets",
        power: (Stop, "POST", digitalocean::ACTIONS, "shutdown of droplet 3164444"),
        hints: ("API token of digitalocean account \"prod\"", "droplet:update", "2015-10-15T17:57:13"),
    },
    ec2 {
        kind: "aws", secret: ec2::SECRET, base: "",
        server: ("eu-west-1", ec2::ID), server_2: ec2::ID_2, bad_id: "i-0123&Action=TerminateInstances",
        list: "/?Action=DescribeInstances&MaxResults=1000",
        power: (Stop, "GET", "/?Action=StopInstances&InstanceId.1=i-1234567890abcdef0", "StopInstances of instance i-1234567890abcdef0"),
        hints: ("secret access key of aws account \"prod\"", "ec2:StopInstances", "EC2 limits the request rate"),
    },
    gcp {
        kind: "gcp", secret: ACCESS_TOKEN, base: "",
        server: (gcp::ZONE, "web-1"), server_2: "web-2", bad_id: "Web-1",
        list: gcp::INSTANCES,
        power: (Stop, "POST", "/compute/v1/projects/shop-prod/zones/europe-west1-b/instances/web-1/stop", "stop of instance web-1"),
        hints: ("check that its key has not been deleted", "roles/compute.instanceAdmin.v1", "Compute Engine limits the request rate"),
    },
    hetzner {
        kind: "hetzner", secret: hetzner::TOKEN, base: "/v1",
        server: ("fsn1", "42"), server_2: "43", bad_id: "web-1",
        list: "/servers",
        power: (Stop, "POST", "/servers/42/actions/shutdown", "shutdown of server 42"),
        hints: ("API token", "Read & Write", "full again in"),
    },
    kubernetes {
        kind: "kubernetes", secret: kubernetes::TOKEN, base: "",
        server: ("default", "deployment/web"), server_2: "deployment/api", bad_id: "web",
        list: "/apis/apps/v1/namespaces/default/deployments",
        power: (Reboot, "PATCH", "/apis/apps/v1/namespaces/default/deployments/web", "patch deployments/web in namespace default"),
        hints: ("did not accept the credentials", "kubectl auth can-i patch deployments -n default", "API Priority and Fairness"),
    },
    linode {
        kind: "linode", secret: linode::TOKEN, base: "",
        server: ("us-east", "123"), server_2: "124", bad_id: "linode123",
        list: "/v4/linode/instances",
        power: (Stop, "POST", "/v4/linode/instances/123/shutdown", "shutdown of Linode 123"),
        hints: ("API token of linode account \"prod\"", "read/write", "request rate of this token"),
    },
    ovh {
        kind: "ovh", secret: ovh::AS, base: "/1.0",
        server: ("GRA11", ovh::INSTANCE), server_2: ovh::INSTANCE_2, bad_id: "0c1ab8a4/../stop",
        list: "/cloud/project/5ad5ea9c6b2c4b0e9b7a0c1d2e3f4a5b/instance",
        power: (Stop, "POST", "/cloud/project/5ad5ea9c6b2c4b0e9b7a0c1d2e3f4a5b/instance/0c1ab8a4-7d2b-4f3a-9c5e-123456789abc/stop", "stop of instance 0c1ab8a4-7d2b-4f3a-9c5e-123456789abc"),
        hints: ("consumer_key of ovh account \"prod\"", "access rule `POST /cloud/project/*/instance/*/stop`", "OVHcloud limits the request rate"),
    },
    proxmox {
        kind: "proxmox", secret: proxmox::SECRET, base: "",
        server: ("pve1", "100"), server_2: "200", bad_id: "web-1",
        list: proxmox::RESOURCES,
        power: (Stop, "POST", "/api2/json/nodes/pve1/qemu/100/status/shutdown", "shutdown of guest 100 on node pve1"),
        hints: ("token_id `paaf@pve!ops`", "VM.PowerMgmt on /vms/100", "a proxy in front of it"),
    },
    rebootx {
        kind: "rebootx", secret: rebootx::KEY, base: "/cd5331ba",
        server: ("lyo-01", "123"), server_2: "456", bad_id: "",
        list: "/runnables",
        power: (Reboot, "POST", "/runnables/123/reboot", "reboot of runnable 123"),
        hints: ("RBTX_API_KEY", "access rules", "wait and try again"),
    },
    scaleway {
        kind: "scaleway", secret: scaleway::SECRET, base: "",
        server: ("fr-par-1", scaleway::ID), server_2: "00000000-0000-4000-8000-000000000002", bad_id: "web-1",
        list: "/instance/v1/zones/fr-par-1/servers",
        power: (Stop, "POST", "/instance/v1/zones/fr-par-1/servers/3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c/action", "poweroff of server 3cb18e2d-f4f7-48f7-b452-59b88ae8fc8c in fr-par-1"),
        hints: ("secret key of scaleway account \"prod\"", "InstancesFullAccess", "Scaleway limits the request rate"),
    },
    vultr {
        kind: "vultr", secret: vultr::KEY, base: "",
        server: ("ewr", vultr::ID), server_2: vultr::ID_2, bad_id: "cb676a4666fd4dfbb839443f2e6c0b60",
        list: "/v2/instances",
        power: (Stop, "POST", "/v2/instances/cb676a46-66fd-4dfb-b839-443f2e6c0b60/halt", "halt of instance cb676a46-66fd-4dfb-b839-443f2e6c0b60"),
        hints: ("API key of vultr account \"prod\"", "access control list", "30 requests a second"),
    },
}
