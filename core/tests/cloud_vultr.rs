//! The Vultr provider (core/src/cloud/vultr.rs) against a contract server (wiremock) that
//! answers as Vultr's API reference says, failures included.
//!
//! Followed: https://www.vultr.com/api/ (its OpenAPI description:
//! /work/shared/reference/openapi/vultr-v2.openapi.json):
//! - list-instances: `GET /v2/instances?per_page&cursor` → `{instances, meta: {total, links:
//!   {next, prev}}}`, the next page's cursor in `meta.links.next`
//!   (#section/Introduction/Meta-and-Pagination);
//! - get-instance: `GET /v2/instances/{id}` → `{instance}` with `status`, `power_status`,
//!   `server_status`;
//! - reboot-instance, halt-instance, start-instance: `POST /v2/instances/{id}/reboot|halt|start`
//!   → 204; the reboot is a hard one
//!   (https://docs.vultr.com/products/compute/cloud-compute/management/restart-instance);
//! - errors (#section/Introduction/Response-Codes): 4xx with `{"error", "status"}`; 400, 401,
//!   403, 404, 429 (over 30 requests a second), 500;
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3.

use paaf_core::cloud::vultr::Vultr;
use paaf_core::cloud::{PollSettings, PowerAction, ServerStatus, power_and_wait};
use paaf_core::config::Config;
use paaf_core::http::Limits;
use paaf_core::secrets::{MemoryStore, SecretStore};
use paaf_core::{CancellationToken, ErrorCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "VULTR5ECRETKEY0123456789ABCDEFGHIJKLM";
const ID: &str = "cb676a46-66fd-4dfb-b839-443f2e6c0b60";
const ID_2: &str = "4f0f12e5-1f84-404f-aa84-85f431ea5ec2";
const ID_3: &str = "e5f7c9a0-2b4d-4e6f-8a1c-3d5e7f9b1c2d";

fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        max_response_bytes: 1024 * 1024,
        max_attempts: 2,
        max_retry_wait: Duration::from_secs(3),
    }
}

fn account(server: &MockServer) -> Vultr {
    Vultr::connect(
        "prod",
        &server.uri(),
        SecretString::from(KEY),
        &[],
        limits(),
    )
    .unwrap()
}

fn fast() -> PollSettings {
    PollSettings {
        interval: Duration::from_millis(10),
        timeout: Duration::from_secs(3),
    }
}

fn bearer() -> String {
    format!("Bearer {KEY}")
}

fn instance_path() -> String {
    format!("/v2/instances/{ID}")
}

/// An instance as get-instance documents it; `state` is `status/power_status/server_status`.
fn instance(id: &str, label: &str, region: &str, state: &str) -> Value {
    let parts: Vec<&str> = state.split('/').collect();
    json!({
        "id": id, "os": "Ubuntu 20.04 x64", "ram": 16384, "disk": 384,
        "main_ip": "192.0.2.123", "vcpu_count": 4, "region": region, "plan": "vc2-6c-16gb",
        "date_created": "2020-10-10T01:56:20+00:00", "status": parts[0],
        "allowed_bandwidth": 5000, "netmask_v4": "255.255.254.0", "gateway_v4": "192.0.2.1",
        "power_status": parts[1], "server_status": parts[2], "v6_network": "", "v6_main_ip": "",
        "v6_network_size": 0, "label": label, "internal_ip": "",
        "kvm": "https://my.vultr.com/subs/vps/novnc/api.php?data=00example11223344",
        "hostname": "my_hostname", "os_id": 215, "app_id": 0, "image_id": "",
        "firewall_group_id": "", "features": [], "tags": ["web"]
    })
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": message, "status": status}))
}

/// `GET /v2/instances/{ID}` answering `state` (`times` times, or always).
async fn mount_instance(server: &MockServer, state: &str, times: Option<u64>) {
    let mut mock = Mock::given(method("GET"))
        .and(path(instance_path()))
        .and(header("authorization", bearer().as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"instance": instance(ID, "web-1", "ewr", state)})),
        );
    if let Some(n) = times {
        mock = mock.up_to_n_times(n);
    }
    mock.mount(server).await;
}

fn assert_clean(text: &str) {
    assert!(!text.contains(KEY), "{text}");
}

// list-instances: `per_page=500`, then the cursor of `meta.links.next` until it is empty.
#[tokio::test]
async fn listing_follows_the_cursor_to_the_last_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/instances"))
        .and(query_param("per_page", "500"))
        .and(query_param_is_missing("cursor"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "instances": [instance(ID, "web-1", "ewr", "active/running/ok"), instance(ID_2, "db-1", "ams", "active/stopped/none")],
            "meta": {"total": 3, "links": {"next": "WxYzExampleNext", "prev": ""}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/instances"))
        .and(query_param("per_page", "500"))
        .and(query_param("cursor", "WxYzExampleNext"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "instances": [instance(ID_3, "web-2", "ewr", "pending/running/installingbooting")],
            "meta": {"total": 3, "links": {"next": "", "prev": "WxYzExamplePrev"}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let all = account(&server).list().await;
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    let rows: Vec<_> = all
        .servers
        .iter()
        .map(|s| (s.region.as_str(), s.id.as_str(), s.status))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("ams", ID_2, ServerStatus::Stopped),
            ("ewr", ID, ServerStatus::Running),
            ("ewr", ID_3, ServerStatus::Pending),
        ]
    );
    assert_eq!(
        all.servers[2].raw_state,
        "pending/running/installingbooting"
    );
}

// A cursor that does not move is an API fault, not an endless loop.
#[tokio::test]
async fn a_cursor_that_repeats_is_a_malformed_response() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/instances"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "instances": [instance(ID, "web-1", "ewr", "active/running/ok")],
            "meta": {"total": 9, "links": {"next": "SameCursor", "prev": ""}}
        })))
        .expect(2)
        .mount(&server)
        .await;
    let listed = account(&server).list().await;
    assert_eq!(listed.errors[0].error.code, ErrorCode::MalformedResponse);
}

// A `[[clouds]]` entry of type vultr connects through cloud::connect, at its endpoint, with
// the key from the secret store; `regions` filters the listing.
#[tokio::test]
async fn a_config_entry_connects_with_its_key_and_region_filter() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/instances"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "instances": [instance(ID, "web-1", "ewr", "active/running/ok"), instance(ID_2, "db-1", "ams", "active/stopped/none")],
            "meta": {"total": 2, "links": {"next": "", "prev": ""}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let text = format!(
        "[[clouds]]\nname = \"prod\"\ntype = \"vultr\"\ntoken = \"keyring:vultr-prod\"\nendpoint = \"{}\"\nregions = [\"ewr\"]\n",
        server.uri()
    );
    let config = Config::parse(Path::new("paaf.toml"), &text).unwrap();
    let store = MemoryStore::default();
    store.set("vultr-prod", &SecretString::from(KEY)).unwrap();
    let account = paaf_core::cloud::connect(&config.clouds[0], &store).unwrap();
    assert_eq!(account.provider(), "vultr");
    let listed = account.list().await;
    let ids: Vec<_> = listed.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec![ID]);
    assert_clean(&format!("{account:?}"));
}

// reboot-instance (for a hard reboot), halt-instance, start-instance: each sent once without
// a body, answered 204, then the instance is read until it is in the target state.
#[tokio::test]
async fn each_power_action_is_sent_once_and_followed_to_the_end() {
    let cases = [
        (
            PowerAction::HardReboot,
            "reboot",
            vec!["active/running/installingbooting", "active/running/ok"],
            ServerStatus::Running,
        ),
        (
            PowerAction::Stop,
            "halt",
            vec!["active/running/ok", "active/stopped/ok"],
            ServerStatus::Stopped,
        ),
        (
            PowerAction::Start,
            "start",
            vec![
                "active/stopped/none",
                "active/running/installingbooting",
                "active/running/ok",
            ],
            ServerStatus::Running,
        ),
    ];
    for (power, verb, states, target) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("{}/{verb}", instance_path())))
            .and(header("authorization", bearer().as_str()))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        for (i, state) in states.iter().enumerate() {
            let last = i + 1 == states.len();
            mount_instance(&server, state, if last { None } else { Some(1) }).await;
        }
        let outcome = power_and_wait(
            &account(&server),
            "ewr",
            ID,
            power,
            fast(),
            &CancellationToken::new(),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(outcome.server.status, target, "{verb}");
        assert_eq!(outcome.polls as usize, states.len(), "{verb}");
        let post = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.method.as_str() == "POST")
            .unwrap();
        assert!(post.body.is_empty(), "{verb}: {:?}", post.body);
    }
}

// Vultr's only reboot is a hard reset: a clean reboot is refused before any request.
#[tokio::test]
async fn a_clean_reboot_is_refused_without_a_request() {
    let server = MockServer::start().await;
    let e = account(&server)
        .power(ID, PowerAction::Reboot)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(
        e.to_string().contains("hard reset") && e.to_string().contains("hard reboot"),
        "{e}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

// 401 "Invalid API token.": the account's row says to check its key, and never shows it.
#[tokio::test]
async fn a_refused_key_is_an_auth_failed_row_for_the_account() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/instances"))
        .respond_with(error(401, "Invalid API token."))
        .expect(1)
        .mount(&server)
        .await;
    let listed = account(&server).list().await;
    assert!(listed.servers.is_empty());
    let row = &listed.errors[0];
    assert_eq!(
        (row.provider.as_str(), row.account.as_str()),
        ("vultr", "prod")
    );
    assert_eq!(row.error.code, ErrorCode::AuthFailed);
    assert!(
        row.error.message.contains("Invalid API token")
            && row
                .error
                .message
                .contains("API key of vultr account \"prod\""),
        "{}",
        row.error.message
    );
    assert_clean(&row.error.message);
}

// 403 (the caller's address is not in the key's access control list): permission-denied.
#[tokio::test]
async fn a_refused_address_is_permission_denied() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{}/halt", instance_path())))
        .respond_with(error(403, "Unauthorized IP address: 203.0.113.9"))
        .expect(1)
        .mount(&server)
        .await;
    let e = account(&server)
        .power(ID, PowerAction::Stop)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
    assert!(e.to_string().contains("access control list"), "{e}");
    assert_clean(&e.to_string());
}

// 404 for an instance id that is not in the account.
#[tokio::test]
async fn a_missing_instance_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v2/instances/{ID_2}/start")))
        .respond_with(error(404, "Invalid instance-id."))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/instances/{ID_2}")))
        .respond_with(error(404, "Invalid instance-id."))
        .expect(1)
        .mount(&server)
        .await;
    let v = account(&server);
    let e = v.power(ID_2, PowerAction::Start).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert!(
        e.to_string().contains(ID_2) && e.to_string().contains("\"prod\""),
        "{e}"
    );
    assert_eq!(
        v.instance(ID_2).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        v.power("web-1", PowerAction::Start)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );
}

// 400 (a request Vultr refuses, e.g. on an instance that is being installed): Vultr documents
// no conflict status, so it is service-failed with Vultr's message, sent once.
#[tokio::test]
async fn a_refused_action_is_service_failed_with_vultrs_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{}/reboot", instance_path())))
        .respond_with(error(
            400,
            "Unable to reboot server: Server is currently locked",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let e = account(&server)
        .power(ID, PowerAction::HardReboot)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServiceFailed);
    assert!(e.to_string().contains("currently locked"), "{e}");
}

// 429 with Retry-After: waited for and sent again when short; reported when longer than
// paaf waits.
#[tokio::test]
async fn rate_limits_are_waited_for_or_reported() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(instance_path()))
        .respond_with(
            error(
                429,
                "Rate limit reached - please try your request again later.",
            )
            .insert_header("retry-after", "1"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_instance(&server, "active/running/ok", None).await;
    let started = Instant::now();
    let s = account(&server).instance(ID).await.unwrap();
    assert_eq!(s.status, ServerStatus::Running);
    assert!(started.elapsed() >= Duration::from_secs(1));

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{}/start", instance_path())))
        .respond_with(
            error(
                429,
                "Rate limit reached - please try your request again later.",
            )
            .insert_header("retry-after", "60"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = account(&server)
        .power(ID, PowerAction::Start)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::RateLimited);
    assert!(e.to_string().contains("30 requests a second"), "{e}");
}

// 500: a read is retried then reported; a power action is not retried and its outcome is
// unknown.
#[tokio::test]
async fn server_errors_fail_reads_and_leave_actions_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/instances"))
        .respond_with(ResponseTemplate::new(500))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{}/halt", instance_path())))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let v = account(&server);
    assert_eq!(
        v.list().await.errors[0].error.code,
        ErrorCode::ServiceFailed
    );
    let e = v.power(ID, PowerAction::Stop).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown);
    assert!(
        e.to_string().contains(&format!("halt of instance {ID}")),
        "{e}"
    );
}

// A power call that times out may have reached Vultr: outcome-unknown, sent once.
#[tokio::test]
async fn a_power_call_that_times_out_is_outcome_unknown_and_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{}/reboot", instance_path())))
        .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    let e = account(&server)
        .power(ID, PowerAction::HardReboot)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown);
    assert_clean(&e.to_string());
}

// A body that is not the documented JSON: malformed-response.
#[tokio::test]
async fn malformed_answers_are_malformed_responses() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/instances"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("<!doctype html><title>Login</title>"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(instance_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"instance": {"id": ID}})))
        .mount(&server)
        .await;
    let v = account(&server);
    assert_eq!(
        v.list().await.errors[0].error.code,
        ErrorCode::MalformedResponse
    );
    assert_eq!(
        v.instance(ID).await.unwrap_err().code(),
        ErrorCode::MalformedResponse
    );
}

// An error body that echoes the key back: the key reaches neither the message nor the
// error's Debug output.
#[tokio::test]
async fn a_key_echoed_by_an_error_body_is_redacted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{}/start", instance_path())))
        .respond_with(error(401, &format!("Invalid API token: {KEY}")))
        .expect(1)
        .mount(&server)
        .await;
    let e = account(&server)
        .power(ID, PowerAction::Start)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed);
    assert!(e.to_string().contains("[redacted]"), "{e}");
    assert_clean(&e.to_string());
    assert_clean(&format!("{e:?}"));
}
