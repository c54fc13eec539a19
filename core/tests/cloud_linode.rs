//! The Linode provider (core/src/cloud/linode.rs) against a contract server (wiremock) that
//! answers as Linode's API reference says, failures included.
//!
//! Followed (https://techdocs.akamai.com/linode-api/reference/api):
//! - get-linode-instances: `GET /v4/linode/instances?page&page_size` →
//!   `{data, page, pages, results}` (…/reference/pagination);
//! - get-linode-instance: `GET /v4/linode/instances/{id}`;
//! - post-reboot-linode-instance, post-shutdown-linode-instance, post-boot-linode-instance:
//!   `POST /v4/linode/instances/{id}/reboot|shutdown|boot` → 200 `{}`;
//! - errors (…/reference/errors): `{"errors": [{"reason", "field"?}]}`; 400 "Linode busy."
//!   while another job of the Linode runs; 401, 403, 404, 429, 5xx;
//! - 429/Retry-After: RFC 6585 §4, RFC 9110 §10.2.3.

use paaf_core::cloud::linode::Linode;
use paaf_core::cloud::{PollSettings, PowerAction, ServerStatus, power_and_wait};
use paaf_core::config::Config;
use paaf_core::http::Limits;
use paaf_core::secrets::{MemoryStore, SecretStore};
use paaf_core::{CancellationToken, ErrorCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "5ecret7a1b2c3d4e5f60123456789abcdef0123456789abcdef0123456789ab";
const INSTANCE: &str = "/v4/linode/instances/123";

fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        max_response_bytes: 1024 * 1024,
        max_attempts: 2,
        max_retry_wait: Duration::from_secs(3),
    }
}

fn account(server: &MockServer) -> Linode {
    Linode::connect(
        "prod",
        &server.uri(),
        SecretString::from(TOKEN),
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
    format!("Bearer {TOKEN}")
}

/// A Linode as get-linode-instance documents it (fields paaf does not read trimmed).
fn linode(id: u64, label: &str, region: &str, status: &str) -> Value {
    json!({
        "id": id, "label": label, "region": region, "status": status,
        "created": "2018-01-01T00:01:01", "updated": "2018-01-01T00:01:01",
        "group": "", "hypervisor": "kvm", "image": "linode/debian12", "type": "g6-standard-1",
        "ipv4": ["203.0.113.1", "192.168.133.7"], "ipv6": "c001:d00d::1337/128",
        "specs": {"disk": 81920, "memory": 4096, "transfer": 4000, "vcpus": 2},
        "tags": ["web"], "watchdog_enabled": true
    })
}

fn error(status: u16, reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"errors": [{"reason": reason}]}))
}

/// `GET /v4/linode/instances/123` answering `status` (`times` times, or always).
async fn mount_instance(server: &MockServer, status: &str, times: Option<u64>) {
    let mut mock = Mock::given(method("GET"))
        .and(path(INSTANCE))
        .and(header("authorization", bearer().as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(linode(123, "web-1", "us-east", status)),
        );
    if let Some(n) = times {
        mock = mock.up_to_n_times(n);
    }
    mock.mount(server).await;
}

fn assert_clean(text: &str) {
    assert!(!text.contains(TOKEN), "{text}");
}

// get-linode-instances: pages 1 to `pages`, `page_size=500`, the token as Bearer.
#[tokio::test]
async fn listing_reads_every_page() {
    let server = MockServer::start().await;
    for (page, data) in [
        (
            "1",
            json!([
                linode(123, "web-1", "us-east", "running"),
                linode(124, "db-1", "eu-west", "offline")
            ]),
        ),
        ("2", json!([linode(125, "web-2", "us-east", "booting")])),
    ] {
        Mock::given(method("GET"))
            .and(path("/v4/linode/instances"))
            .and(query_param("page", page))
            .and(query_param("page_size", "500"))
            .and(header("authorization", bearer().as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": data, "page": page.parse::<u32>().unwrap(), "pages": 2, "results": 3
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
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
            ("eu-west", "124", ServerStatus::Stopped),
            ("us-east", "123", ServerStatus::Running),
            ("us-east", "125", ServerStatus::Pending),
        ]
    );
    assert_eq!(
        all.servers[1].public_ips,
        vec!["203.0.113.1", "c001:d00d::1337"]
    );
    assert_eq!(all.servers[1].private_ips, vec!["192.168.133.7"]);
}

// A `[[clouds]]` entry of type linode connects through cloud::connect, at its endpoint, with
// the token from the secret store; `regions` filters the listing.
#[tokio::test]
async fn a_config_entry_connects_with_its_token_and_region_filter() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v4/linode/instances"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [linode(123, "web-1", "us-east", "running"), linode(124, "db-1", "eu-west", "offline")],
            "page": 1, "pages": 1, "results": 2
        })))
        .expect(1)
        .mount(&server)
        .await;
    let text = format!(
        "[[clouds]]\nname = \"prod\"\ntype = \"linode\"\ntoken = \"keyring:linode-prod\"\nendpoint = \"{}\"\nregions = [\"us-east\"]\n",
        server.uri()
    );
    let config = Config::parse(Path::new("paaf.toml"), &text).unwrap();
    let store = MemoryStore::default();
    store
        .set("linode-prod", &SecretString::from(TOKEN))
        .unwrap();
    let account = paaf_core::cloud::connect(&config.clouds[0], &store).unwrap();
    assert_eq!(account.provider(), "linode");
    let listed = account.list().await;
    let ids: Vec<_> = listed.servers.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["123"]);
    assert_clean(&format!("{account:?}"));
}

// post-reboot/shutdown/boot-linode-instance: each sent once with `{}`, then the Linode is
// read until it is in the target state.
#[tokio::test]
async fn each_power_action_is_sent_once_and_followed_to_the_end() {
    let cases = [
        (
            PowerAction::Reboot,
            "reboot",
            vec!["rebooting", "booting", "running"],
            ServerStatus::Running,
        ),
        (
            PowerAction::Stop,
            "shutdown",
            vec!["shutting_down", "offline"],
            ServerStatus::Stopped,
        ),
        (
            PowerAction::Start,
            "boot",
            vec!["booting", "running"],
            ServerStatus::Running,
        ),
    ];
    for (power, verb, states, target) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("{INSTANCE}/{verb}")))
            .and(header("authorization", bearer().as_str()))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .expect(1)
            .mount(&server)
            .await;
        for (i, state) in states.iter().enumerate() {
            let last = i + 1 == states.len();
            mount_instance(&server, state, if last { None } else { Some(1) }).await;
        }
        let outcome = power_and_wait(
            &account(&server),
            "us-east",
            "123",
            power,
            fast(),
            &CancellationToken::new(),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(outcome.server.status, target, "{verb}");
        assert_eq!(outcome.polls as usize, states.len(), "{verb}");
        assert_eq!(outcome.accepted.operation, None);
        let raw: Vec<ServerStatus> = states
            .iter()
            .map(|s| paaf_core::cloud::linode::normalize(s))
            .fold(Vec::new(), |mut v, s| {
                if v.last() != Some(&s) {
                    v.push(s);
                }
                v
            });
        assert_eq!(outcome.seen, raw, "{verb}");
    }
}

// Linode's API has no hard reset: refused before any request.
#[tokio::test]
async fn a_hard_reboot_is_refused_without_a_request() {
    let server = MockServer::start().await;
    let e = account(&server)
        .power("123", PowerAction::HardReboot)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(
        e.to_string().contains("no hard reset") && e.to_string().contains("stop then start"),
        "{e}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

// 401 "Invalid Token": the account's row says to check its token, and never shows it.
#[tokio::test]
async fn a_refused_token_is_an_auth_failed_row_for_the_account() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v4/linode/instances"))
        .respond_with(error(401, "Invalid Token"))
        .expect(1)
        .mount(&server)
        .await;
    let listed = account(&server).list().await;
    assert!(listed.servers.is_empty());
    let row = &listed.errors[0];
    assert_eq!(
        (row.provider.as_str(), row.account.as_str()),
        ("linode", "prod")
    );
    assert_eq!(row.error.code, ErrorCode::AuthFailed);
    assert!(
        row.error.message.contains("Invalid Token")
            && row
                .error
                .message
                .contains("API token of linode account \"prod\""),
        "{}",
        row.error.message
    );
    assert_clean(&row.error.message);
}

// 403 (a read-only token): permission-denied naming the scope.
#[tokio::test]
async fn a_token_without_the_scope_is_permission_denied() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{INSTANCE}/reboot")))
        .respond_with(error(403, "Unauthorized"))
        .expect(1)
        .mount(&server)
        .await;
    let e = account(&server)
        .power("123", PowerAction::Reboot)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
    assert!(e.to_string().contains("read/write"), "{e}");
    assert_clean(&e.to_string());
}

// 404 "Not found" for a Linode id that is not in the account.
#[tokio::test]
async fn a_missing_linode_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v4/linode/instances/999/shutdown"))
        .respond_with(error(404, "Not found"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v4/linode/instances/999"))
        .respond_with(error(404, "Not found"))
        .expect(1)
        .mount(&server)
        .await;
    let l = account(&server);
    let e = l.power("999", PowerAction::Stop).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert!(
        e.to_string().contains("999") && e.to_string().contains("\"prod\""),
        "{e}"
    );
    assert_eq!(
        l.instance("999").await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        l.power("web-1", PowerAction::Stop)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );
}

// 400 "Linode busy." (another job of the Linode runs): a conflict, sent once.
#[tokio::test]
async fn a_busy_linode_is_a_conflict() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{INSTANCE}/boot")))
        .respond_with(error(400, "Linode busy."))
        .expect(1)
        .mount(&server)
        .await;
    let e = account(&server)
        .power("123", PowerAction::Start)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict);
    assert!(e.to_string().contains("Linode busy"), "{e}");
}

// 429 with Retry-After: waited for and sent again when short; reported when longer than
// paaf waits (a 429 was not processed, so a power call is sent again too).
#[tokio::test]
async fn rate_limits_are_waited_for_or_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{INSTANCE}/reboot")))
        .respond_with(error(429, "Too many requests").insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{INSTANCE}/reboot")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    account(&server)
        .power("123", PowerAction::Reboot)
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v4/linode/instances"))
        .respond_with(error(429, "Too many requests").insert_header("retry-after", "60"))
        .expect(1)
        .mount(&server)
        .await;
    let listed = account(&server).list().await;
    assert_eq!(listed.errors[0].error.code, ErrorCode::RateLimited);
}

// 500: a read is retried then reported; a power action is not retried and its outcome is
// unknown.
#[tokio::test]
async fn server_errors_fail_reads_and_leave_actions_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v4/linode/instances"))
        .respond_with(error(500, "Internal Server Error"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{INSTANCE}/shutdown")))
        .respond_with(error(502, "Bad Gateway"))
        .expect(1)
        .mount(&server)
        .await;
    let l = account(&server);
    assert_eq!(
        l.list().await.errors[0].error.code,
        ErrorCode::ServiceFailed
    );
    let e = l.power("123", PowerAction::Stop).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown);
    assert!(e.to_string().contains("shutdown of Linode 123"), "{e}");
}

// A power call that times out may have reached Linode: outcome-unknown, sent once.
#[tokio::test]
async fn a_power_call_that_times_out_is_outcome_unknown_and_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{INSTANCE}/reboot")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({}))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = account(&server)
        .power("123", PowerAction::Reboot)
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
        .and(path("/v4/linode/instances"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"data\": [ {\"id\": "))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(INSTANCE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x"})))
        .mount(&server)
        .await;
    let l = account(&server);
    assert_eq!(
        l.list().await.errors[0].error.code,
        ErrorCode::MalformedResponse
    );
    assert_eq!(
        l.instance("123").await.unwrap_err().code(),
        ErrorCode::MalformedResponse
    );
}

// An error body that echoes the token back: the token reaches neither the message nor the
// error's Debug output.
#[tokio::test]
async fn a_token_echoed_by_an_error_body_is_redacted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(INSTANCE))
        .respond_with(error(401, &format!("Invalid Token {TOKEN}")))
        .expect(1)
        .mount(&server)
        .await;
    let e = account(&server).instance("123").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::AuthFailed);
    assert!(e.to_string().contains("[redacted]"), "{e}");
    assert_clean(&e.to_string());
    assert_clean(&format!("{e:?}"));
}
