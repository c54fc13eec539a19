//! OVHcloud (core/src/cloud/ovh.rs) against a contract server (wiremock) that answers as
//! OVHcloud's API documentation says, failures included: its [`Api`] for the scenario table,
//! and its own cases.
//!
//! Followed:
//! - signing (`X-Ovh-Application`, `X-Ovh-Consumer`, `X-Ovh-Timestamp` from `GET
//!   /auth/time`, `X-Ovh-Signature`):
//!   https://help.ovhcloud.com/csm/en-api-getting-started-ovhcloud-api, and the official
//!   clients https://github.com/ovh/python-ovh/blob/master/ovh/client.py (`call`) and
//!   https://github.com/ovh/go-ovh/blob/master/ovh/ovh.go; every mock of the own cases checks
//!   the signature of what it receives, recomputed here from that formula;
//! - Public Cloud instances: https://eu.api.ovh.com/console/?section=%2Fcloud&branch=v1
//!   (`GET /cloud/project/{serviceName}/instance[/{instanceId}]`, `POST
//!   …/{instanceId}/reboot` `{"type":"soft"|"hard"}`, `…/stop`, `…/start`);
//! - dedicated servers: https://eu.api.ovh.com/console/?section=%2Fdedicated%2Fserver&branch=v1
//!   (`GET /dedicated/server[/{serviceName}]`, `POST …/reboot` → `dedicated.server.Task`,
//!   `GET …/task/{taskId}`, statuses cancelled/customerError/doing/done/init/ovhError/todo);
//! - errors `{"errorCode","httpCode","message"}`: python-ovh's `call` (NOT_GRANTED_CALL,
//!   NOT_CREDENTIAL, INVALID_KEY, INVALID_CREDENTIAL, FORBIDDEN; 404, 409);
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3.

use super::{CloudMock, RebootMock, by_status, followed, keyring, keys_and_regions, limits, rows};
use crate::support::assert_fails;
use crate::support::{Serve, given, received_where, requests, start_expecting, store};
use paaf_core::ErrorCode;
use paaf_core::cloud::ovh::{Ovh, OvhConfig};
use paaf_core::cloud::{CloudProvider, FromConfig, PowerAction, ServerStatus};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const AK: &str = "7kbG7Bk7S9Nt7ZSV";
pub(super) const AS: &str = "EXEgWIz07P0HYwtQDs7cNIqCiQaWSuHF";
const CK: &str = "MtSwSrPpNjqfVSmJhLbPyr2i45lSDRsg";
const PROJECT: &str = "5ad5ea9c6b2c4b0e9b7a0c1d2e3f4a5b";
pub(super) const INSTANCE: &str = "0c1ab8a4-7d2b-4f3a-9c5e-123456789abc";
pub(super) const INSTANCE_2: &str = "7d4c1b2a-0000-4000-8000-000000000002";
const DEDICATED: &str = "ns3001234.ip-51-75-1.eu";
/// The API's clock runs an hour behind this machine's: signatures must use the API's.
const SKEW: i64 = -3600;

/// OVHcloud's API for the scenario table: a Public Cloud project's instances (its listing is
/// one answer, without pages), errors `{"errorCode", "httpCode", "message"}`, the clock read
/// first.
pub struct Api;

impl CloudMock for Api {
    const PAGED: bool = false;

    fn read_path(id: &str) -> String {
        format!("/cloud/project/{PROJECT}/instance/{id}")
    }

    fn server(id: &str, region: &str) -> Value {
        instance(id, "web-1", region, "ACTIVE")
    }

    fn page(servers: Vec<Value>) -> Value {
        json!(servers)
    }

    fn looping_page() -> Value {
        json!([Self::server(INSTANCE, "GRA11")])
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        let code = if status == 403 {
            "NOT_GRANTED_CALL"
        } else {
            ""
        };
        let http = by_status(
            status,
            "401 Unauthorized, 403 Forbidden, 404 Not Found, 409 Conflict, 429 Too Many Requests, 500 Internal Server Error",
        );
        ResponseTemplate::new(status).set_body_json(error(code, message, http))
    }

    fn accepted() -> ResponseTemplate {
        ok(Value::Null)
    }

    fn read_answer(server: Value) -> Value {
        server
    }

    fn keys(regions: &[&str]) -> String {
        let application =
            format!("application_key = \"{AK}\"\napplication_secret = \"keyring:contract\"");
        let consumer = format!("consumer_key = \"keyring:contract-ck\"\nproject = \"{PROJECT}\"");
        keys_and_regions(&[&application, &consumer], regions)
    }

    fn secrets() -> Vec<(&'static str, String)> {
        vec![("contract", AS.into()), ("contract-ck", CK.into())]
    }

    /// Its clock, which every signed request asks first.
    fn quiet_routes() -> Vec<(&'static str, String, Value)> {
        vec![("GET", "/auth/time".into(), json!(now() + SKEW))]
    }
    /// A Public Cloud instance's soft reboot: answered `null`, no task.
    fn reboot(_server: &MockServer) -> RebootMock {
        RebootMock::sent(
            PowerAction::Reboot,
            "POST",
            format!("/{}", instance_route("/reboot")),
            ok(Value::Null),
        )
    }
}

fn ovh(server: &MockServer, project: Option<&str>, regions: &[&str]) -> Ovh {
    let keys = OvhConfig {
        application_key: AK.into(),
        application_secret: keyring("as"),
        consumer_key: keyring("ck"),
        project: project.map(str::to_string),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        endpoint: Some(format!("{}/1.0", server.uri())),
    };
    let secrets = store(&[("as", AS), ("ck", CK)]);
    Ovh::connect("prod", &keys, &secrets, limits()).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `$1$` + hex(SHA-1(AS+CK+METHOD+URL+BODY+TIMESTAMP)), computed here independently.
fn expected_signature(method: &str, url: &str, body: &str, timestamp: &str) -> String {
    let text = format!("{AS}+{CK}+{method}+{url}+{body}+{timestamp}");
    format!("$1${:x}", Sha1::digest(text.as_bytes()))
}

fn header<'a>(r: &'a Request, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The URL the client sent (wiremock sees `http://localhost/…`: the server's own address
/// is put back).
fn sent_url(server: &str, r: &Request) -> String {
    match r.url.query() {
        Some(q) => format!("{server}{}?{q}", r.url.path()),
        None => format!("{server}{}", r.url.path()),
    }
}

/// Matches a request to the server at this address signed as OVHcloud checks it, at a
/// time on the API's clock.
struct Signed(String);

fn signed(server: &MockServer) -> Signed {
    Signed(server.uri())
}

impl Match for Signed {
    fn matches(&self, r: &Request) -> bool {
        let ts = header(r, "x-ovh-timestamp");
        let on_api_clock = ts
            .parse::<i64>()
            .is_ok_and(|t| (t - (now() + SKEW)).abs() <= 5);
        header(r, "x-ovh-application") == AK
            && header(r, "x-ovh-consumer") == CK
            && on_api_clock
            && header(r, "x-ovh-signature")
                == expected_signature(
                    r.method.as_str(),
                    &sent_url(&self.0, r),
                    &String::from_utf8_lossy(&r.body),
                    ts,
                )
    }
}

/// `GET /1.0/auth/time` (unsigned), expected once per account.
async fn mount_time(server: &MockServer) {
    let served = ResponseTemplate::new(200).set_body_json(now() + SKEW);
    server
        .expect(given("GET", "/1.0/auth/time"), served, 1)
        .await;
}

fn instance(id: &str, name: &str, region: &str, status: &str) -> Value {
    json!({
        "id": id, "name": name, "region": region, "status": status,
        "created": "2024-03-01T10:00:00Z", "flavorId": "906e8259-0340-4856-95b5-4ea2d26fe377",
        "imageId": "f4e7c1d8-1d6a-4b8e-8c3b-2f1f0c0a9e11", "sshKeyId": null,
        "monthlyBilling": null, "planCode": "b2-7.consumption", "operationIds": [],
        "currentMonthOutgoingTraffic": null,
        "ipAddresses": [
            {"ip": "51.75.1.10", "type": "public", "version": 4, "networkId": "ext", "gatewayIp": "51.75.1.1"},
            {"ip": "10.0.0.5", "type": "private", "version": 4, "networkId": "int", "gatewayIp": null}
        ]
    })
}

fn dedicated(name: &str, datacenter: &str, state: &str, power: &str) -> Value {
    json!({
        "name": name, "serverId": 123456, "state": state, "powerState": power,
        "datacenter": datacenter, "ip": "51.75.1.20", "reverse": name,
        "commercialRange": "rise", "os": "debian12_64", "monitoring": true,
        "rack": "G123A45", "rescueMail": null, "bootId": 1, "linkSpeed": 1000,
        "professionalUse": false, "supportLevel": "pro", "noIntervention": false,
        "iam": {"id": "1a2b", "urn": "urn:v1:eu:resource:dedicatedServer:ns", "displayName": "db-1"}
    })
}

fn task(id: u64, status: &str) -> Value {
    json!({
        "taskId": id, "function": "hardReboot", "status": status, "comment": null,
        "startDate": "2024-03-01T10:00:00+01:00", "doneDate": null,
        "lastUpdate": "2024-03-01T10:00:00+01:00", "needSchedule": false,
        "plannedInterventionId": null, "ticketReference": null
    })
}

fn error(code: &str, message: &str, http: &str) -> Value {
    json!({"class": "Client::Forbidden", "errorCode": code, "httpCode": http, "message": message})
}

/// A signed `method` of `route` (under /1.0) answering `response`.
async fn mount(server: &MockServer, verb: &str, route: &str, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(format!("/1.0/{route}")))
        .and(signed(server))
        .respond_with(response)
        .mount(server)
        .await;
}

/// As [`mount`], answering `response` only `times` times.
async fn mount_n(
    server: &MockServer,
    verb: &str,
    route: &str,
    response: ResponseTemplate,
    times: u64,
) {
    Mock::given(method(verb))
        .and(path(format!("/1.0/{route}")))
        .and(signed(server))
        .respond_with(response)
        .up_to_n_times(times)
        .mount(server)
        .await;
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn instance_route(suffix: &str) -> String {
    format!("cloud/project/{PROJECT}/instance/{INSTANCE}{suffix}")
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(AS) && !text.contains(CK), "{text}");
}

/// `POST …/instance/{id}/{verb}` with `body`, signed, expected once, answering `null`.
async fn mount_instance_action(server: &MockServer, verb: &str, body: Option<Value>) {
    let mut mock = Mock::given(method("POST"))
        .and(path(format!(
            "/1.0/{}",
            instance_route(&format!("/{verb}"))
        )))
        .and(signed(server));
    if let Some(body) = body {
        mock = mock.and(body_json(body));
    }
    mock.respond_with(ok(Value::Null))
        .expect(1)
        .mount(server)
        .await;
}

/// The instance reads: `first` once, then `then`.
async fn mount_instance_states(server: &MockServer, first: &str, then: &str) {
    let route = instance_route("");
    mount_n(
        server,
        "GET",
        &route,
        ok(instance(INSTANCE, "web-1", "GRA11", first)),
        1,
    )
    .await;
    mount(
        server,
        "GET",
        &route,
        ok(instance(INSTANCE, "web-1", "GRA11", then)),
    )
    .await;
}

// https://help.ovhcloud.com/csm/en-api-getting-started-ovhcloud-api: the four headers, the
// timestamp on the API's clock (read once from /auth/time), the signature of the full URL.
#[tokio::test]
async fn every_call_carries_the_documented_signature_headers() {
    let server = MockServer::start().await;
    mount_time(&server).await;
    mount(&server, "GET", "dedicated/server", ok(json!([DEDICATED]))).await;
    mount(
        &server,
        "GET",
        &format!("dedicated/server/{DEDICATED}"),
        ok(dedicated(DEDICATED, "gra2", "ok", "poweron")),
    )
    .await;
    let account = ovh(&server, None, &[]);
    let inventory = account.list().await;
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    account.list().await;

    let requests = server.received_requests().await.unwrap();
    let time = &requests[0];
    assert_eq!(time.url.path(), "/1.0/auth/time");
    assert_eq!(
        header(time, "x-ovh-signature"),
        "",
        "the time call is not signed"
    );
    let list = &requests[1];
    let url = sent_url(&server.uri(), list);
    assert_eq!(url, format!("{}/1.0/dedicated/server", server.uri()));
    assert_eq!(header(list, "x-ovh-application"), AK);
    assert_eq!(header(list, "x-ovh-consumer"), CK);
    let ts = header(list, "x-ovh-timestamp");
    let t: i64 = ts.parse().unwrap();
    assert!(
        (t - (now() + SKEW)).abs() <= 5,
        "{t} is not on the API's clock"
    );
    assert_eq!(
        header(list, "x-ovh-signature"),
        expected_signature("GET", &url, "", ts)
    );
    assert_eq!(
        requests.len(),
        5,
        "one time call, then two listings of two calls"
    );
}

// https://eu.api.ovh.com/console/?section=%2Fdedicated%2Fserver&branch=v1: names, then each
// server; one that cannot be read is an error row.
#[tokio::test]
async fn lists_dedicated_servers_each_read_and_a_failing_one_in_its_own_row() {
    let server = MockServer::start().await;
    mount_time(&server).await;
    let gone = "ns3009999.ip-51-75-9.eu";
    let other = "ns3005678.ip-51-75-5.eu";
    mount(
        &server,
        "GET",
        "dedicated/server",
        ok(json!([DEDICATED, gone, other])),
    )
    .await;
    let missing = format!("The requested object (serviceName = {gone}) does not exist");
    for (name, answer) in [
        (DEDICATED, ok(dedicated(DEDICATED, "gra2", "ok", "poweron"))),
        (other, ok(dedicated(other, "rbx8", "hacked", "poweroff"))),
        (
            gone,
            ResponseTemplate::new(404).set_body_json(error("", &missing, "404 Not Found")),
        ),
    ] {
        mount(&server, "GET", &format!("dedicated/server/{name}"), answer).await;
    }
    let inventory = ovh(&server, None, &[]).list().await;
    let rows = rows(&inventory);
    assert_eq!(
        rows,
        vec![
            ("gra2", DEDICATED, ServerStatus::Running, "poweron"),
            (
                "rbx8",
                other,
                ServerStatus::Stopped,
                "poweroff (state hacked)"
            ),
        ]
    );
    assert_eq!(inventory.servers[0].name.as_deref(), Some("db-1"));
    assert_eq!(inventory.servers[0].public_ips, vec!["51.75.1.20"]);
    assert_eq!(inventory.errors.len(), 1);
    assert_eq!(inventory.errors[0].error.code, ErrorCode::NotFound);
    assert!(inventory.errors[0].error.message.contains(gone));
}

// https://eu.api.ovh.com/console/?section=%2Fcloud&branch=v1: the project's instances, the
// configured regions only.
#[tokio::test]
async fn lists_public_cloud_instances_of_the_configured_regions() {
    let server = MockServer::start().await;
    mount_time(&server).await;
    mount(
        &server,
        "GET",
        &format!("cloud/project/{PROJECT}/instance"),
        ok(json!([
            instance(INSTANCE, "web-1", "GRA11", "ACTIVE"),
            instance(
                "7d4c1b2a-0000-4000-8000-000000000002",
                "web-2",
                "GRA11",
                "SHUTOFF"
            ),
            instance(
                "7d4c1b2a-0000-4000-8000-000000000003",
                "batch",
                "BHS5",
                "BUILD"
            ),
        ])),
    )
    .await;
    let inventory = ovh(&server, Some(PROJECT), &["GRA11"]).list().await;
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    let rows: Vec<_> = inventory
        .servers
        .iter()
        .map(|s| (s.name.as_deref(), s.status, s.raw_state.as_str()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (Some("web-1"), ServerStatus::Running, "ACTIVE"),
            (Some("web-2"), ServerStatus::Stopped, "SHUTOFF"),
        ]
    );
    let web = &inventory.servers[0];
    assert_eq!(web.provider, "ovh");
    assert_eq!(web.public_ips, vec!["51.75.1.10"]);
    assert_eq!(web.private_ips, vec!["10.0.0.5"]);
    assert_eq!(web.launched_at_ms, Some(1_709_287_200_000));
}

// …/instance/{instanceId}/reboot with {"type":"soft"} (reboot) or {"type":"hard"} (hard
// reboot), …/stop and …/start without a body: each sent once, answered `null`, then the
// instance's status followed to the action's target.
#[tokio::test]
async fn each_instance_action_is_sent_once_and_followed_to_its_end() {
    for (action, verb, body, first, then) in [
        (
            PowerAction::Reboot,
            "reboot",
            Some("soft"),
            "REBOOT",
            "ACTIVE",
        ),
        (
            PowerAction::HardReboot,
            "reboot",
            Some("hard"),
            "HARD_REBOOT",
            "ACTIVE",
        ),
        (PowerAction::Stop, "stop", None, "ACTIVE", "SHUTOFF"),
        (PowerAction::Start, "start", None, "SHUTOFF", "ACTIVE"),
    ] {
        let server = MockServer::start().await;
        mount_time(&server).await;
        mount_instance_action(&server, verb, body.map(|kind| json!({ "type": kind }))).await;
        mount_instance_states(&server, first, then).await;
        let account = ovh(&server, Some(PROJECT), &[]);
        let outcome = followed(&account, "GRA11", INSTANCE, action).await.unwrap();
        assert_eq!(outcome.server.status, action.target(), "{action:?}");
        assert_eq!(outcome.accepted.operation, None, "{action:?}");
        let posts = requests(&server, "POST").await;
        let post = &posts[0];
        assert_eq!(post.body.is_empty(), body.is_none(), "{action:?}");
        if action == PowerAction::Reboot {
            let seen = vec![ServerStatus::Pending, ServerStatus::Running];
            assert_eq!(outcome.seen, seen);
        }
    }
}

// POST /dedicated/server/{serviceName}/reboot → a task, followed until done, then the
// server's powerState.
#[tokio::test]
async fn a_dedicated_hard_reboot_follows_its_task_to_done() {
    let server = MockServer::start().await;
    mount_time(&server).await;
    server
        .expect(
            given("POST", format!("/1.0/dedicated/server/{DEDICATED}/reboot")).and(signed(&server)),
            ok(task(4242, "init")),
            1,
        )
        .await;
    let task_route = format!("dedicated/server/{DEDICATED}/task/4242");
    mount_n(&server, "GET", &task_route, ok(task(4242, "doing")), 1).await;
    mount(&server, "GET", &task_route, ok(task(4242, "done"))).await;
    mount(
        &server,
        "GET",
        &format!("dedicated/server/{DEDICATED}"),
        ok(dedicated(DEDICATED, "gra2", "ok", "poweron")),
    )
    .await;
    let outcome = followed(
        &ovh(&server, None, &[]),
        "gra2",
        DEDICATED,
        PowerAction::HardReboot,
    )
    .await
    .unwrap();
    assert_eq!(outcome.accepted.operation.as_deref(), Some("4242"));
    assert_eq!(outcome.server.status, ServerStatus::Running);
    let polls = received_where(&server, |p| p.ends_with("/task/4242")).await;
    assert_eq!(polls, 2, "doing, then done");
}

// The dedicated server API has only the (hard) reboot: the rest is refused before any call.
#[tokio::test]
async fn a_dedicated_server_refuses_reboot_stop_and_start_without_a_call() {
    let server = MockServer::start().await;
    let account = ovh(&server, None, &[]);
    for action in [PowerAction::Reboot, PowerAction::Stop, PowerAction::Start] {
        let e = account.power("gra2", DEDICATED, action).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{action:?}");
        assert!(e.to_string().contains("hard-reboot"), "{e}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

// dedicated.server.Task statuses ovhError/customerError/cancelled: the task failed.
#[tokio::test]
async fn a_failed_task_is_an_error_naming_the_server() {
    let server = MockServer::start().await;
    mount_time(&server).await;
    mount(
        &server,
        "POST",
        &format!("dedicated/server/{DEDICATED}/reboot"),
        ok(task(4243, "init")),
    )
    .await;
    let mut failed = task(4243, "ovhError");
    failed["comment"] = json!("Reboot failed: IPMI not responding");
    mount(
        &server,
        "GET",
        &format!("dedicated/server/{DEDICATED}/task/4243"),
        ok(failed),
    )
    .await;
    assert_fails(
        followed(
            &ovh(&server, None, &[]),
            "gra2",
            DEDICATED,
            PowerAction::HardReboot,
        )
        .await,
        ErrorCode::ServiceFailed,
        &[DEDICATED, "ovhError", "IPMI"],
    );
}

// python-ovh's error codes: a call outside the consumer key's rules, and refused
// credentials or signature.
#[tokio::test]
async fn refused_credentials_and_ungranted_calls_are_typed() {
    let server = MockServer::start().await;
    mount_time(&server).await;
    let served = ResponseTemplate::new(403).set_body_json(error(
        "NOT_GRANTED_CALL",
        "This call has not been granted",
        "403 Forbidden",
    ));
    server
        .expect(
            given("POST", format!("/1.0/{}", instance_route("/reboot"))),
            served,
            1,
        )
        .await;
    let account = ovh(&server, Some(PROJECT), &[]);
    let e = assert_fails(
        account.power("GRA11", INSTANCE, PowerAction::Reboot).await,
        ErrorCode::PermissionDenied,
        &[],
    );
    assert!(
        e.to_string()
            .contains("POST /cloud/project/*/instance/*/reboot"),
        "{e}"
    );
    assert_no_secret(&e.to_string());

    for (status, code, message, http) in [
        (
            403,
            "NOT_CREDENTIAL",
            "This credential is not valid",
            "403 Forbidden",
        ),
        (
            400,
            "INVALID_SIGNATURE",
            "Invalid signature",
            "400 Bad Request",
        ),
        (
            403,
            "INVALID_KEY",
            "Invalid application key",
            "403 Forbidden",
        ),
        (401, "", "You must login first", "401 Unauthorized"),
    ] {
        let server = MockServer::start().await;
        mount_time(&server).await;
        let served = ResponseTemplate::new(status).set_body_json(error(code, message, http));
        server
            .serve(
                given("GET", format!("/1.0/cloud/project/{PROJECT}/instance")),
                served,
            )
            .await;
        let inventory = ovh(&server, Some(PROJECT), &[]).list().await;
        let row = &inventory.errors[0].error;
        assert_eq!(row.code, ErrorCode::AuthFailed, "{code}: {}", row.message);
        assert!(row.message.contains("consumer_key"), "{}", row.message);
        assert_no_secret(&row.message);
    }
}

// Anything but the documented JSON is a malformed response, never a panic.
#[tokio::test]
async fn malformed_answers_are_malformed_responses() {
    let server = MockServer::start().await;
    mount_time(&server).await;
    mount(
        &server,
        "GET",
        "dedicated/server",
        ok(json!({"not": "a list"})),
    )
    .await;
    mount(
        &server,
        "POST",
        &format!("dedicated/server/{DEDICATED}/reboot"),
        ResponseTemplate::new(200).set_body_string("{\"taskId\": "),
    )
    .await;
    let account = ovh(&server, None, &[]);
    assert_eq!(
        account.list().await.errors[0].error.code,
        ErrorCode::MalformedResponse
    );
    assert_fails(
        account
            .power("gra2", DEDICATED, PowerAction::HardReboot)
            .await,
        ErrorCode::MalformedResponse,
        &[],
    );

    let served = ResponseTemplate::new(200).set_body_string("soon");
    let server = start_expecting(given("GET", "/1.0/auth/time"), served, 1).await;
    assert_fails(
        CloudProvider::read(&ovh(&server, None, &[]), "gra2", DEDICATED).await,
        ErrorCode::MalformedResponse,
        &[],
    );
}

// https://help.ovhcloud.com/csm/en-api-getting-started-ovhcloud-api: the signature covers the
// timestamp, so a request sent again (here after a 503 asking to wait 1 s, RFC 9110 §10.2.3)
// is signed again at the time it is sent, not replayed with the first attempt's headers.
#[tokio::test]
async fn a_retried_request_is_signed_again_with_a_fresh_timestamp() {
    let server = MockServer::start().await;
    mount_time(&server).await;
    let route = instance_route("");
    mount_n(
        &server,
        "GET",
        &route,
        ResponseTemplate::new(503).insert_header("retry-after", "1"),
        1,
    )
    .await;
    mount(
        &server,
        "GET",
        &route,
        ok(instance(INSTANCE, "web-1", "GRA11", "ACTIVE")),
    )
    .await;
    let s = CloudProvider::read(&ovh(&server, Some(PROJECT), &[]), "GRA11", INSTANCE)
        .await
        .unwrap();
    assert_eq!(s.id, INSTANCE);
    let reads: Vec<Request> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with(INSTANCE))
        .collect();
    assert_eq!(reads.len(), 2);
    let stamp = |r: &Request| header(r, "x-ovh-timestamp").parse::<i64>().unwrap();
    assert!(
        stamp(&reads[1]) > stamp(&reads[0]),
        "the retry carries the first attempt's timestamp"
    );
    for r in &reads {
        let ts = header(r, "x-ovh-timestamp");
        let url = sent_url(&server.uri(), r);
        assert_eq!(
            header(r, "x-ovh-signature"),
            expected_signature("GET", &url, "", ts)
        );
    }
}

// `GET /auth/time` failing: no request can be signed, so none is sent; the clock is read with
// the retries of a read, and the signed request is not tried again on top of them.
#[tokio::test]
async fn a_clock_that_cannot_be_read_sends_nothing_and_is_not_retried_twice_over() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/1.0/auth/time"))
        .respond_with(ResponseTemplate::new(503))
        .expect(u64::from(limits().max_attempts))
        .mount(&server)
        .await;
    assert_fails(
        CloudProvider::read(&ovh(&server, Some(PROJECT), &[]), "GRA11", INSTANCE).await,
        ErrorCode::ServiceFailed,
        &["/auth/time"],
    );
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.url.path() == "/1.0/auth/time"));
}
