//! Azure virtual machines (core/src/cloud/azure.rs) against a contract server (wiremock) that
//! answers as Microsoft's docs say, failures included: its [`Api`] for the scenario table,
//! and its own cases.
//!
//! Followed:
//! - tokens: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
//!   (form `client_id`, `client_secret`, `grant_type`, `scope`; answer `{token_type,
//!   expires_in, ext_expires_in, access_token}`; errors `{error, error_description,
//!   error_codes, …}`);
//! - Virtual Machines - List All / Get / Restart / Deallocate / Start (api-version
//!   2024-03-01): https://learn.microsoft.com/en-us/rest/api/compute/virtual-machines
//!   (`statusOnly`, `$expand=instanceView`, `{value, nextLink}`, 200 or 202);
//! - asynchronous operations: https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/async-operations
//!   (`Azure-AsyncOperation` else `Location`, `Retry-After`, `status`
//!   InProgress/Succeeded/Failed/Canceled, a Location URL answering 202 until done);
//! - power states: https://learn.microsoft.com/en-us/azure/virtual-machines/states-billing;
//! - errors: https://learn.microsoft.com/en-us/azure/azure-resource-manager/troubleshooting/common-deployment-errors
//!   (`{"error":{"code","message"}}`, AuthorizationFailed, ResourceNotFound,
//!   OperationNotAllowed) and https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/request-limits-and-throttling
//!   (429 with Retry-After).

use super::{
    CloudMock, RebootMock, by_status, fast, followed, form_fields, limits, mount_once_then,
    mount_token,
};
use super::{asked, keyring, mount, mount_expected, received, the_one_empty_post, token_server};
use crate::support::{Serve, given, store};
use crate::support::{assert_error, assert_fails};
use paaf_core::ErrorCode;
use paaf_core::cloud::azure::{Azure, AzureConfig};
use paaf_core::cloud::{
    CloudAccount, Evidence, FromConfig, PollSettings, PowerAction, ServerStatus,
};
use paaf_core::events::CancellationToken;
use paaf_core::http::Limits;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::{header, query_param, query_param_is_missing};
use wiremock::{MockServer, ResponseTemplate};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
pub(super) const SECRET: &str = "Xy8Q~s3cr3tValue.0123456789abcdefghijklmn";
const SUB: &str = "00000000-1111-2222-3333-444444444444";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.arm-one.sig";
const TOKEN_2: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.arm-two.sig";
pub(super) const VMS: &str = "/subscriptions/00000000-1111-2222-3333-444444444444/providers/Microsoft.Compute/virtualMachines";
pub(super) const WEB_1: &str = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-1";
pub(super) const WEB_2: &str = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/web-2";
const OPERATION: &str = "/subscriptions/00000000-1111-2222-3333-444444444444/providers/Microsoft.Compute/locations/westeurope/operations/5c1e2a6f-0d2c-4b8a-9f31-6a3c2f7e9d10";
const TOKEN_PATH: &str = "/login/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token";

/// Azure Resource Manager's API for the scenario table: Virtual Machines - List All, Get,
/// Deallocate; errors `{"error": {code, message}}`. Its account gets its tokens from the
/// shared [`token_server`]; the secret an error could echo is its client secret.
pub struct Api;

impl CloudMock for Api {
    fn read_path(id: &str) -> String {
        id.to_string()
    }

    fn server(id: &str, location: &str) -> Value {
        vm(id.rsplit('/').next().unwrap(), location, "running")
    }

    fn page(servers: Vec<Value>) -> Value {
        json!({ "value": servers })
    }

    /// As ARM itself would send it.
    fn looping_page() -> Value {
        Self::looping_page_on("https://management.azure.com")
    }

    fn looping_page_on(uri: &str) -> Value {
        json!({
            "value": [vm("web-1", "westeurope", "running")],
            "nextLink": format!("{uri}{VMS}?api-version=2024-03-01&statusOnly=true&$skiptoken=UGFnZTI")
        })
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        let code = by_status(
            status,
            "InvalidAuthenticationToken, AuthorizationFailed, ResourceNotFound, OperationNotAllowed, TooManyRequests, InternalExecutionError",
        );
        ResponseTemplate::new(status).set_body_json(arm_error(code, message))
    }

    /// Done at once: a 200 names no operation.
    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(200)
    }

    fn read_answer(server: Value) -> Value {
        server
    }

    /// At the mock server, its login at the shared [`token_server`] (its `[[clouds]]` entry
    /// names no login URL; `a_clouds_entry_connects_with_its_client_secret_from_the_secret_store`
    /// builds one from an entry).
    fn account(server: &MockServer, locations: &[&str]) -> Box<dyn CloudAccount> {
        let login = format!("{}/login/", token_server());
        let timeout = Limits::with_timeout(Duration::from_secs(1));
        Box::new(connect(server, &login, locations, timeout))
    }
    /// A restart, followed to `Succeeded` by its Azure-AsyncOperation.
    fn reboot(server: &MockServer) -> RebootMock {
        let succeeded = ResponseTemplate::new(200).set_body_json(operation_status("Succeeded"));
        RebootMock::sent(
            PowerAction::Reboot,
            "POST",
            format!("{WEB_1}/restart"),
            accepted_202(server, "0"),
        )
        .then_read(OPERATION, succeeded)
    }
}

fn connect(server: &MockServer, login_url: &str, locations: &[&str], limits: Limits) -> Azure {
    let keys = AzureConfig {
        tenant_id: TENANT.into(),
        client_id: CLIENT_ID.into(),
        client_secret: keyring("contract"),
        subscription_id: SUB.into(),
        locations: locations.iter().map(|l| l.to_string()).collect(),
        endpoint: Some(server.uri()),
        login_url: Some(login_url.to_string()),
    };
    Azure::connect("prod", &keys, &store(&[("contract", SECRET)]), limits).unwrap()
}

/// The account, as the rest of paaf sees it (`region` is the location, ignored by Azure), its
/// login at `server`'s `/login/` too.
fn azure_in(server: &MockServer, locations: &[&str]) -> Box<dyn CloudAccount> {
    let login = format!("{}/login/", server.uri());
    Box::new(connect(server, &login, locations, limits()))
}

fn azure(server: &MockServer) -> Box<dyn CloudAccount> {
    azure_in(server, &[])
}

async fn mount_login(server: &MockServer, token: &str, times: Option<u64>, expect: u64) {
    mount_token(server, TOKEN_PATH, token, times, expect).await;
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn vm(name: &str, location: &str, power: &str) -> Value {
    json!({
        "name": name,
        "id": format!("/subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/{name}"),
        "type": "Microsoft.Compute/virtualMachines",
        "location": location,
        "tags": {"team": "checkout"},
        "properties": {
            "vmId": "0f47b100-583c-48e3-a4c0-aefc2c9bbcc1",
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "provisioningState": "Succeeded",
            "timeCreated": "2024-01-02T03:04:05.1234567+00:00",
            "instanceView": {
                "statuses": [
                    {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"},
                    {"code": format!("PowerState/{power}"), "level": "Info", "displayStatus": format!("VM {power}")}
                ]
            }
        }
    })
}

fn arm_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.contains(TOKEN) && !text.contains(TOKEN_2), "{text}");
}

fn accepted_202(server: &MockServer, retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(202)
        .insert_header(
            "azure-asyncoperation",
            format!("{}{OPERATION}?p=a&api-version=2024-03-01", server.uri()).as_str(),
        )
        .insert_header(
            "location",
            format!(
                "{}{OPERATION}?p=l&monitor=true&api-version=2024-03-01",
                server.uri()
            )
            .as_str(),
        )
        .insert_header("retry-after", retry_after)
}

fn operation_status(status: &str) -> Value {
    json!({
        "startTime": "2024-05-01T10:00:00.1234567+00:00",
        "status": status,
        "name": "5c1e2a6f-0d2c-4b8a-9f31-6a3c2f7e9d10"
    })
}

#[tokio::test]
async fn the_token_is_fetched_with_the_documented_form_and_reused() {
    let server = MockServer::start().await;
    mount_login(&server, TOKEN, None, 1).await;
    let served = ResponseTemplate::new(200).set_body_json(vm("web-1", "westeurope", "running"));
    server
        .expect(
            given("GET", WEB_1)
                .and(query_param("api-version", "2024-03-01"))
                .and(query_param("$expand", "instanceView"))
                .and(header("authorization", bearer(TOKEN).as_str())),
            served,
            2,
        )
        .await;
    let a = azure(&server);
    let web = a.read("westeurope", WEB_1).await.unwrap();
    assert_eq!(web.status, ServerStatus::Running);
    a.read("westeurope", WEB_1).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let token_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == TOKEN_PATH)
        .collect();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(
        form_fields(token_requests[0]),
        [
            ("client_id".to_string(), CLIENT_ID.to_string()),
            ("client_secret".to_string(), SECRET.to_string()),
            ("grant_type".to_string(), "client_credentials".to_string()),
            (
                "scope".to_string(),
                "https://management.azure.com/.default".to_string()
            ),
        ]
    );
    assert_no_secret(&format!("{a:?}"));
}

/// Virtual Machines - List All, `nextLink` followed; a page with no VM that names a next one
/// is read past (`nextLink` is the only end of a list).
#[tokio::test]
async fn listing_follows_next_link_and_reads_power_states() {
    let server = MockServer::start().await;
    // Two accounts below: a token each, and every page read twice.
    mount_login(&server, TOKEN, None, 2).await;
    let next = |token: &str| {
        format!(
            "{}{VMS}?api-version=2024-03-01&statusOnly=true&$skiptoken={token}",
            server.uri()
        )
    };
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "value": [vm("web-2", "westeurope", "deallocated"), vm("web-1", "westeurope", "running")],
        "nextLink": next("UGFnZTI")
    }));
    server
        .expect(
            given("GET", VMS)
                .and(query_param("api-version", "2024-03-01"))
                .and(query_param("statusOnly", "true"))
                .and(query_param_is_missing("$skiptoken"))
                .and(header("authorization", bearer(TOKEN).as_str())),
            served,
            2,
        )
        .await;
    let served =
        ResponseTemplate::new(200).set_body_json(json!({"value": [], "nextLink": next("UGFnZTM")}));
    server
        .expect(
            given("GET", VMS)
                .and(query_param("$skiptoken", "UGFnZTI"))
                .and(header("authorization", bearer(TOKEN).as_str())),
            served,
            2,
        )
        .await;
    let served = ResponseTemplate::new(200).set_body_json(json!({
        "value": [vm("api-1", "northeurope", "starting")]
    }));
    server
        .expect(
            given("GET", VMS)
                .and(query_param("$skiptoken", "UGFnZTM"))
                .and(header("authorization", bearer(TOKEN).as_str())),
            served,
            2,
        )
        .await;
    let inventory = azure(&server).list().await;
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    let names: Vec<&str> = inventory
        .servers
        .iter()
        .filter_map(|s| s.name.as_deref())
        .collect();
    assert_eq!(names, ["api-1", "web-1", "web-2"]);
    let web = &inventory.servers[1];
    assert_eq!(web.id, WEB_1);
    assert_eq!(web.provider, "azure");
    assert_eq!(web.region, "westeurope");
    assert_eq!(web.status, ServerStatus::Running);
    assert_eq!(web.raw_state, "running");
    assert_eq!(web.tags.get("team").map(String::as_str), Some("checkout"));
    assert_eq!(web.launched_at_ms, Some(1_704_164_645_123));
    assert_eq!(inventory.servers[2].status, ServerStatus::Stopped);
    assert_eq!(inventory.servers[0].status, ServerStatus::Pending);

    // Configured locations filter the list, whatever their case.
    let inventory = azure_in(&server, &["NorthEurope"]).list().await;
    let names: Vec<&str> = inventory
        .servers
        .iter()
        .filter_map(|s| s.name.as_deref())
        .collect();
    assert_eq!(names, ["api-1"]);
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed_with_the_token() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    mount_login(&server, TOKEN, None, 1).await;
    mount(
        &server,
        "GET",
        VMS,
        ResponseTemplate::new(200).set_body_json(json!({
            "value": [],
            "nextLink": format!("{}{VMS}?$skiptoken=x", elsewhere.uri())
        })),
    )
    .await;
    let inventory = azure(&server).list().await;
    assert_eq!(inventory.errors.len(), 1);
    assert_eq!(inventory.errors[0].region, None);
    assert_eq!(inventory.errors[0].error.code, ErrorCode::MalformedResponse);
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

/// `POST {WEB_1}/{verb}` sent once, answering 202 + Azure-AsyncOperation; the operation is
/// InProgress then Succeeded; the VM then reads `during`, then `after`.
async fn mount_action(server: &MockServer, verb: &str, during: &str, after: &str) {
    server
        .expect(
            given("POST", format!("{WEB_1}/{verb}"))
                .and(query_param("api-version", "2024-03-01"))
                .and(header("authorization", bearer(TOKEN).as_str())),
            accepted_202(server, "0"),
            1,
        )
        .await;
    let in_progress = ResponseTemplate::new(200)
        .insert_header("retry-after", "0")
        .set_body_json(operation_status("InProgress"));
    let succeeded = ResponseTemplate::new(200).set_body_json(operation_status("Succeeded"));
    mount_once_then(server, "GET", OPERATION.into(), in_progress, succeeded).await;
    let vm = |power| ResponseTemplate::new(200).set_body_json(vm("web-1", "westeurope", power));
    mount_once_then(server, "GET", WEB_1.into(), vm(during), vm(after)).await;
}

#[tokio::test]
async fn restart_deallocate_and_start_follow_their_operation_and_the_vm_to_the_target() {
    for (action, verb, during, after, seen) in [
        (
            PowerAction::Reboot,
            "restart",
            "starting",
            "running",
            vec![ServerStatus::Pending, ServerStatus::Running],
        ),
        (
            PowerAction::Stop,
            "deallocate",
            "deallocating",
            "deallocated",
            vec![ServerStatus::Stopping, ServerStatus::Stopped],
        ),
        (
            PowerAction::Start,
            "start",
            "starting",
            "running",
            vec![ServerStatus::Pending, ServerStatus::Running],
        ),
    ] {
        let server = MockServer::start().await;
        mount_login(&server, TOKEN, None, 1).await;
        mount_action(&server, verb, during, after).await;
        let a = azure(&server);
        let outcome = followed(a.as_ref(), "westeurope", WEB_1, action)
            .await
            .unwrap();
        assert_eq!(outcome.seen, seen, "{verb}");
        assert_eq!(outcome.server.status, action.target(), "{verb}");
        let operation = outcome.accepted.operation.as_deref().unwrap();
        assert!(
            operation.ends_with(&format!("{OPERATION}?p=a&api-version=2024-03-01")),
            "Azure-AsyncOperation wins: {operation}"
        );
        // A restart's operation Succeeded proves it; a stop or start is its state read back.
        let evidence = match action {
            PowerAction::Reboot => Evidence::OperationCompleted {
                operation: operation.into(),
            },
            _ => Evidence::StateReadBack {
                raw_state: outcome.server.raw_state.clone(),
            },
        };
        assert_eq!(outcome.evidence, Some(evidence), "{verb}");

        let requests = server.received_requests().await.unwrap();
        let post = the_one_empty_post(&requests, WEB_1, verb);
        assert_eq!(post.url.query(), Some("api-version=2024-03-01"));
        let polls = asked(&requests, OPERATION);
        assert_eq!(polls.len(), 2, "{verb}: polled until Succeeded");
        assert_eq!(
            polls[0].url.query(),
            Some("p=a&api-version=2024-03-01"),
            "the URL as given"
        );
    }
}

#[tokio::test]
async fn a_location_header_is_polled_until_it_stops_answering_202() {
    let server = MockServer::start().await;
    mount_login(&server, TOKEN, None, 1).await;
    let location = format!(
        "{}{OPERATION}?monitor=true&api-version=2024-03-01",
        server.uri()
    );
    let accepted = ResponseTemplate::new(202)
        .insert_header("location", location.as_str())
        .insert_header("retry-after", "0");
    mount_expected(
        &server,
        "POST",
        format!("{WEB_1}/start"),
        accepted.clone(),
        1,
    )
    .await;
    let done = ResponseTemplate::new(200);
    mount_once_then(&server, "GET", OPERATION.into(), accepted, done).await;
    let a = azure(&server);
    let accepted = a
        .power("westeurope", WEB_1, PowerAction::Start)
        .await
        .unwrap();
    assert_eq!(accepted.operation.as_deref(), Some(location.as_str()));
    a.settle("westeurope", &accepted, fast(), &CancellationToken::new())
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(asked(&requests, OPERATION).len(), 2);
}

#[tokio::test]
async fn the_operation_is_polled_no_sooner_than_its_retry_after() {
    let server = MockServer::start().await;
    mount_login(&server, TOKEN, None, 1).await;
    let in_progress = ResponseTemplate::new(200)
        .insert_header("retry-after", "1")
        .set_body_json(operation_status("InProgress"));
    let succeeded = ResponseTemplate::new(200).set_body_json(operation_status("Succeeded"));
    mount_once_then(&server, "GET", OPERATION.into(), in_progress, succeeded).await;
    mount_expected(
        &server,
        "POST",
        format!("{WEB_1}/restart"),
        accepted_202(&server, "0"),
        1,
    )
    .await;
    let a = azure(&server);
    let accepted = a
        .power("westeurope", WEB_1, PowerAction::Reboot)
        .await
        .unwrap();
    let started = Instant::now();
    a.settle("westeurope", &accepted, fast(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // A wait longer than the whole budget ends it as a timeout, without a second poll.
    let short = PollSettings {
        interval: Duration::from_millis(10),
        timeout: Duration::from_millis(500),
    };
    let server = MockServer::start().await;
    mount_login(&server, TOKEN, None, 1).await;
    mount_expected(
        &server,
        "GET",
        OPERATION,
        ResponseTemplate::new(200)
            .insert_header("retry-after", "30")
            .set_body_json(operation_status("InProgress")),
        1,
    )
    .await;
    let mut accepted = accepted.clone();
    accepted.operation = Some(format!("{}{OPERATION}", server.uri()));
    assert_fails(
        azure(&server)
            .settle("westeurope", &accepted, short, &CancellationToken::new())
            .await,
        ErrorCode::Timeout,
        &["web-1", "InProgress"],
    );
}

#[tokio::test]
async fn a_failed_or_canceled_operation_is_an_error_naming_the_vm() {
    for (status, code, expected) in [
        ("Failed", "AllocationFailed", ErrorCode::ServiceFailed),
        ("Canceled", "OperationPreempted", ErrorCode::Conflict),
    ] {
        let server = MockServer::start().await;
        mount_login(&server, TOKEN, None, 1).await;
        mount_expected(
            &server,
            "POST",
            format!("{WEB_1}/start"),
            accepted_202(&server, "0"),
            1,
        )
        .await;
        let mut answer = operation_status(status);
        answer["error"] = json!({"code": code, "message": "Allocation failed. We do not have sufficient capacity for the requested VM size in this region."});
        mount_expected(
            &server,
            "GET",
            OPERATION,
            ResponseTemplate::new(200).set_body_json(answer),
            1,
        )
        .await;
        let e = followed(
            azure(&server).as_ref(),
            "westeurope",
            WEB_1,
            PowerAction::Start,
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), expected, "{e}");
        let text = e.to_string();
        assert!(
            text.contains("web-1") && text.contains(code) && text.contains(status),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_hard_reboot_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let a = azure(&server);
    assert_fails(
        a.power("westeurope", WEB_1, PowerAction::HardReboot).await,
        ErrorCode::InvalidInput,
        &["no hard reset", "stop then start"],
    );
    let e = a
        .power("westeurope", "web-1", PowerAction::Stop)
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        ErrorCode::InvalidInput,
        "a bare name is not a resource id"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// `POST {WEB_1}/restart` answering `status` with `body`, expected once.
async fn restart_failing(status: u16, body: Value) -> paaf_core::Error {
    let server = MockServer::start().await;
    mount_login(&server, TOKEN, None, 1).await;
    mount_expected(
        &server,
        "POST",
        format!("{WEB_1}/restart"),
        ResponseTemplate::new(status).set_body_json(body),
        1,
    )
    .await;
    let e = azure(&server)
        .power("westeurope", WEB_1, PowerAction::Reboot)
        .await
        .unwrap_err();
    assert_no_secret(&e.to_string());
    e
}

#[tokio::test]
async fn arm_failures_become_typed_errors_that_say_what_to_check() {
    let e = restart_failing(401, arm_error("ExpiredAuthenticationToken", "The access token expiry UTC time '5/1/2024 10:00:00 AM' is earlier than current UTC time '5/1/2024 11:00:00 AM'.")).await;
    assert_error(&e, ErrorCode::AuthFailed, &[CLIENT_ID]);

    let e = restart_failing(403, arm_error("AuthorizationFailed", &format!("The client '{CLIENT_ID}' with object id '11111111-2222-3333-4444-555555555555' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/restart/action' over scope '{WEB_1}' or the scope is invalid. If access was recently granted, please refresh your credentials."))).await;
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
    assert!(
        e.to_string()
            .contains("not allowed Microsoft.Compute/virtualMachines/restart/action"),
        "{e}"
    );

    let e = restart_failing(403, arm_error("Forbidden", "Forbidden")).await;
    assert!(
        e.to_string()
            .contains("Microsoft.Compute/virtualMachines/restart/action"),
        "named even when the message does not: {e}"
    );

    let e = restart_failing(404, arm_error("ResourceNotFound", "The Resource 'Microsoft.Compute/virtualMachines/web-1' under resource group 'rg-web' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")).await;
    assert_error(&e, ErrorCode::NotFound, &["web-1"]);

    let e = restart_failing(409, arm_error("OperationNotAllowed", "Operation 'restart' is not allowed on VM 'web-1' since the VM is deallocated or marked to be deallocated.")).await;
    assert_error(&e, ErrorCode::Conflict, &["deallocated"]);

    let e = restart_failing(
        500,
        arm_error(
            "InternalExecutionError",
            "An internal execution error occurred. Please retry later.",
        ),
    )
    .await;
    assert_eq!(
        e.code(),
        ErrorCode::OutcomeUnknown,
        "a 5xx of a power call is not retried: {e}"
    );
}

#[tokio::test]
async fn a_401_drops_the_token_and_the_next_call_fetches_another() {
    let server = MockServer::start().await;
    mount_login(&server, TOKEN, Some(1), 1).await;
    mount_login(&server, TOKEN_2, None, 1).await;
    let served = ResponseTemplate::new(401).set_body_json(arm_error(
        "InvalidAuthenticationToken",
        "The access token is invalid.",
    ));
    server
        .expect(
            given("GET", WEB_1).and(header("authorization", bearer(TOKEN).as_str())),
            served,
            1,
        )
        .await;
    let served = ResponseTemplate::new(200).set_body_json(vm("web-1", "westeurope", "stopped"));
    server
        .expect(
            given("GET", WEB_1).and(header("authorization", bearer(TOKEN_2).as_str())),
            served,
            1,
        )
        .await;
    let a = azure(&server);
    assert_eq!(
        a.read("westeurope", WEB_1).await.unwrap_err().code(),
        ErrorCode::AuthFailed
    );
    let web = a.read("westeurope", WEB_1).await.unwrap();
    assert_eq!(
        (web.status, web.raw_state.as_str()),
        (ServerStatus::Stopped, "stopped")
    );
}

#[tokio::test]
async fn a_refused_client_secret_is_auth_failed_without_the_secret() {
    let server = MockServer::start().await;
    mount_expected(&server, "POST", TOKEN_PATH, ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": format!("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{CLIENT_ID}'.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2024-05-01 10:00:00Z"),
            "error_codes": [7000215],
            "timestamp": "2024-05-01 10:00:00Z",
            "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
            "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
            "error_uri": "https://login.microsoftonline.com/error?code=7000215"
        })), 1).await;
    let e = assert_fails(
        azure(&server)
            .power("westeurope", WEB_1, PowerAction::Stop)
            .await,
        ErrorCode::AuthFailed,
        &["AADSTS7000215", TENANT, "expire"],
    );
    let text = e.to_string();
    assert!(!text.contains("Trace ID"), "{text}");
    assert_no_secret(&text);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "nothing sent to ARM without a token"
    );
}

/// The login answering with the client secret in its words (as a proxy or a misbehaving
/// endpoint might): redacted, in the message and in `Debug`.
#[tokio::test]
async fn an_echoed_client_secret_is_redacted_at_login() {
    let server = MockServer::start().await;
    let echo = json!({"error": "invalid_client", "error_description": format!("secret {SECRET} is not valid")});
    mount_expected(
        &server,
        "POST",
        TOKEN_PATH,
        ResponseTemplate::new(401).set_body_json(echo),
        1,
    )
    .await;
    let e = assert_fails(
        azure(&server).read("westeurope", WEB_1).await,
        ErrorCode::AuthFailed,
        &["secret [redacted] is not valid"],
    );
    assert_no_secret(&format!("{e} {e:?}"));
}

/// A 429 on a power call, waited out as `Retry-After` asks, and the power call sent again.
#[tokio::test]
async fn a_429_is_waited_for_as_it_asks_and_the_power_call_sent_again() {
    let server = MockServer::start().await;
    mount_login(&server, TOKEN, None, 1).await;
    let throttled = ResponseTemplate::new(429)
        .insert_header("retry-after", "1")
        .set_body_json(arm_error("TooManyRequests", "The request is being throttled as the limit has been reached for operation type - Write_30Min."));
    let route = format!("{WEB_1}/deallocate");
    mount_once_then(
        &server,
        "POST",
        route,
        throttled,
        accepted_202(&server, "0"),
    )
    .await;
    let account = azure(&server);
    let started = Instant::now();
    let accepted = account.power("westeurope", WEB_1, PowerAction::Stop).await;
    let accepted = accepted.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(accepted.operation.is_some());
    assert_eq!(
        received(&server, "POST").await,
        3,
        "a token, then the call twice"
    );
}

#[tokio::test]
async fn an_operation_answer_that_is_not_json_is_malformed() {
    let server = MockServer::start().await;
    mount_login(&server, TOKEN, None, 1).await;
    mount_expected(
        &server,
        "GET",
        OPERATION,
        ResponseTemplate::new(200).set_body_string("<html>Sign in</html>"),
        1,
    )
    .await;
    let accepted = paaf_core::cloud::Accepted {
        action: PowerAction::Start,
        id: WEB_1.to_string(),
        status: None,
        raw_state: None,
        operation: Some(format!("{}{OPERATION}", server.uri())),
    };
    assert_fails(
        azure(&server)
            .settle("westeurope", &accepted, fast(), &CancellationToken::new())
            .await,
        ErrorCode::MalformedResponse,
        &[],
    );
}

#[test]
fn a_clouds_entry_connects_with_its_client_secret_from_the_secret_store() {
    let text = format!(
        "[[clouds]]\nname = \"prod\"\ntype = \"azure\"\ntenant_id = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"keyring:azure-prod\"\nsubscription_id = \"{SUB}\"\n"
    );
    let config =
        paaf_core::config::Config::parse(std::path::Path::new("/etc/paaf/config.toml"), &text)
            .unwrap();
    let secrets = paaf_core::secrets::MemoryStore::default();
    assert_fails(
        paaf_core::cloud::connect(&config.clouds[0], &secrets),
        ErrorCode::Secret,
        &[],
    );
    paaf_core::secrets::SecretStore::set(&secrets, "azure-prod", &SecretString::from(SECRET))
        .unwrap();
    let account = paaf_core::cloud::connect(&config.clouds[0], &secrets).unwrap();
    assert_eq!((account.provider(), account.name()), ("azure", "prod"));
    let debug = format!("{account:?}");
    assert!(
        debug.contains("https://management.azure.com/"),
        "the real endpoint by default: {debug}"
    );
    assert_no_secret(&debug);
}
