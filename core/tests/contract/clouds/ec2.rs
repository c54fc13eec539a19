//! AWS EC2 (core/src/cloud/ec2.rs) against a contract server (wiremock) that answers the Query
//! API in XML as EC2's reference says, errors included: its [`Api`] for the scenario table, and
//! its own cases. Its real peer is moto (tests/tests/ec2.rs, cli_servers.rs,
//! cloud_verified_reboot.rs); moto answers no throttling, no permission refusal and no server
//! error, which are tried here.
//!
//! Followed:
//! - https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html (`GET
//!   /?Action=…&Version=2016-11-15`, SigV4 signed for the region);
//! - DescribeInstances, StopInstances (their example answers):
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html,
//!   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StopInstances.html;
//! - errors: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
//!   (`<Response><Errors><Error><Code>`; client errors with a 4xx status, server errors such
//!   as `InternalError`, `Unavailable` and the throttling `RequestLimitExceeded` with a 5xx),
//!   AuthFailure answered 401 and UnauthorizedOperation 403 as EC2 does;
//! - throttling: https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html.

use super::followed;
use super::{CloudMock, RebootMock, keyring, keys_and_regions, limits};
use paaf_core::ErrorCode;
use paaf_core::cloud::ec2::{AwsConfig, Ec2};
use paaf_core::cloud::{CloudProvider, FromConfig, PowerAction, ServerStatus};
use serde_json::Value;
use std::time::{Duration, Instant};
use wiremock::matchers::{header_regex, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub(super) const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub(super) const ID: &str = "i-1234567890abcdef0";
pub(super) const ID_2: &str = "i-0598c7d356eba48d7";

/// EC2's Query API for the scenario table: DescribeInstances, StopInstances, the error XML.
/// Bodies are XML, carried as JSON strings to [`CloudMock::ok`].
pub struct Api;

impl CloudMock for Api {
    const PER_REGION: bool = true;

    fn read_path(id: &str) -> String {
        format!("/?Action=DescribeInstances&InstanceId.1={id}")
    }

    fn server(id: &str, _region: &str) -> Value {
        Value::String(instance(id, "running", "web-1"))
    }

    fn page(servers: Vec<Value>) -> Value {
        Value::String(describe(&servers, None))
    }

    /// A `NextToken` that names the page it came with.
    fn looping_page() -> Value {
        Value::String(describe(
            &[Self::server(ID, "eu-west-1")],
            Some("same-token"),
        ))
    }

    fn error(status: u16, message: &str) -> ResponseTemplate {
        let (status, code) = match status {
            401 => (401, "AuthFailure"),
            403 => (403, "UnauthorizedOperation"),
            404 => (400, "InvalidInstanceID.NotFound"),
            409 => (400, "IncorrectInstanceState"),
            429 => (503, "RequestLimitExceeded"),
            503 => (503, "Unavailable"),
            status => (status, "InternalError"),
        };
        error(status, code, message)
    }

    fn accepted() -> ResponseTemplate {
        xml(200, &stopping(ID))
    }

    fn read_answer(server: Value) -> Value {
        Self::page(vec![server])
    }

    fn keys(regions: &[&str]) -> String {
        let secret = "secret_access_key = \"keyring:contract\"";
        keys_and_regions(&["access_key_id = \"AKIDCONTRACT\"", secret], regions)
    }

    fn ok(body: Value) -> ResponseTemplate {
        match body {
            Value::String(body) => xml(200, &body),
            other => panic!("EC2 answers XML, not {other}"),
        }
    }

    /// The region of the signature's scope (`Credential=KEY/DATE/REGION/ec2/aws4_request`).
    fn asks_about(request: &Request, region: &str) -> bool {
        let auth = request.headers.get("authorization");
        let auth = auth.and_then(|a| a.to_str().ok()).unwrap_or_default();
        let scope = auth.split("Credential=").nth(1).unwrap_or_default();
        scope.split('/').nth(2) == Some(region)
    }
    /// RebootInstances, answered `true`: nothing to follow.
    fn reboot(_server: &MockServer) -> RebootMock {
        let rebooted = r#"<RebootInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId><return>true</return></RebootInstancesResponse>"#;
        RebootMock::sent(
            PowerAction::Reboot,
            "GET",
            format!("/?Action=RebootInstances&InstanceId.1={ID}"),
            xml(200, rebooted),
        )
    }
}

fn xml(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string(), "text/xml;charset=UTF-8")
}

/// An `item` of `instancesSet`, after DescribeInstances' example answer.
fn instance(id: &str, state: &str, name: &str) -> String {
    format!(
        "<item><instanceId>{id}</instanceId><imageId>ami-0abcdef1234567890</imageId>\
         <instanceState><code>16</code><name>{state}</name></instanceState>\
         <privateDnsName>ip-10-0-0-12.ec2.internal</privateDnsName>\
         <instanceType>t3.micro</instanceType><launchTime>2024-01-02T03:04:05.000Z</launchTime>\
         <placement><availabilityZone>eu-west-1a</availabilityZone></placement>\
         <privateIpAddress>10.0.0.12</privateIpAddress><ipAddress>54.194.252.215</ipAddress>\
         <tagSet><item><key>Name</key><value>{name}</value></item></tagSet></item>"
    )
}

/// A `DescribeInstancesResponse` of one reservation holding `items` (bodies of
/// [`instance`]), with `next` as its `nextToken`.
fn describe(items: &[Value], next: Option<&str>) -> String {
    let items: String = items.iter().filter_map(Value::as_str).collect();
    let next = next
        .map(|t| format!("<nextToken>{t}</nextToken>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>8f7724cf-496f-496e-8fe3-example</requestId>
<reservationSet><item><reservationId>r-1234567890abcdef0</reservationId><ownerId>123456789012</ownerId>
<instancesSet>{items}</instancesSet></item></reservationSet>{next}</DescribeInstancesResponse>"#
    )
}

/// StopInstances' example answer: the instance `stopping`.
fn stopping(id: &str) -> String {
    format!(
        r#"<StopInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId><instancesSet><item>
<instanceId>{id}</instanceId><currentState><code>64</code><name>stopping</name></currentState>
<previousState><code>16</code><name>running</name></previousState></item></instancesSet>
</StopInstancesResponse>"#
    )
}

/// The error XML of errors-overview.html ("Example error response").
fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    xml(
        status,
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"#
        ),
    )
}

fn ec2(server: &MockServer) -> Ec2 {
    let keys = AwsConfig {
        regions: vec!["eu-west-1".to_string(), "us-east-1".to_string()],
        access_key_id: "AKIDCONTRACT".into(),
        secret_access_key: keyring("contract"),
        session_token: None,
        endpoint: Some(server.uri()),
    };
    let secrets = crate::support::store(&[("contract", SECRET)]);
    Ec2::connect("prod", &keys, &secrets, limits()).unwrap()
}

fn action(name: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/"))
        .and(query_param("Action", name))
        .and(query_param("Version", "2016-11-15"))
}

/// Each error code of errors-overview.html paaf tells apart, on the call it is about: its
/// kind, its hint, and whether a change's outcome is unknown.
#[tokio::test]
async fn ec2_error_codes_become_typed_errors() {
    let cases = [
        (
            401,
            "AuthFailure",
            "DescribeInstances",
            ErrorCode::AuthFailed,
            "access key",
        ),
        (
            403,
            "SignatureDoesNotMatch",
            "StopInstances",
            ErrorCode::AuthFailed,
            "clock",
        ),
        (
            403,
            "UnauthorizedOperation",
            "RebootInstances",
            ErrorCode::PermissionDenied,
            "ec2:RebootInstances",
        ),
        (
            400,
            "InvalidInstanceID.NotFound",
            "StopInstances",
            ErrorCode::NotFound,
            ID,
        ),
        (
            503,
            "RequestLimitExceeded",
            "DescribeInstances",
            ErrorCode::RateLimited,
            "request rate",
        ),
        (
            400,
            "IncorrectInstanceState",
            "StartInstances",
            ErrorCode::Conflict,
            "current state",
        ),
        (
            500,
            "InternalError",
            "StopInstances",
            ErrorCode::OutcomeUnknown,
            "InternalError",
        ),
        (
            500,
            "InternalError",
            "DescribeInstances",
            ErrorCode::ServiceFailed,
            "InternalError",
        ),
        (
            500,
            "InsufficientInstanceCapacity",
            "StartInstances",
            ErrorCode::ServiceFailed,
            "EC2 refused",
        ),
    ];
    for (status, code, api_action, kind, words) in cases {
        let server = MockServer::start().await;
        action(api_action)
            .respond_with(
                error(status, code, &format!("about {SECRET}")).append_header("retry-after", "60"),
            )
            .mount(&server)
            .await;
        let ec2 = ec2(&server);
        let e = match api_action {
            "DescribeInstances" => ec2.read("eu-west-1", ID).await.unwrap_err(),
            "StopInstances" => ec2
                .power("eu-west-1", ID, PowerAction::Stop)
                .await
                .unwrap_err(),
            "StartInstances" => ec2
                .power("eu-west-1", ID, PowerAction::Start)
                .await
                .unwrap_err(),
            _ => ec2
                .power("eu-west-1", ID, PowerAction::Reboot)
                .await
                .unwrap_err(),
        };
        let text = e.to_string();
        assert_eq!(e.code(), kind, "{code} on {api_action}: {text}");
        assert!(text.contains(words), "{code}: {text}");
        assert!(
            !text.contains(SECRET) && !format!("{e:?}").contains(SECRET),
            "{text}"
        );
    }
}

/// DescribeInstances' paging (`MaxResults`, then `NextToken` until there is none), in each
/// configured region, each request signed for its region
/// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html#query-authentication).
#[tokio::test]
async fn every_page_of_every_region_is_read_signed_for_its_region() {
    let server = MockServer::start().await;
    let signed = |region: &str| {
        header_regex(
            "authorization",
            &format!(
                "^AWS4-HMAC-SHA256 Credential=AKIDCONTRACT/\\d{{8}}/{region}/ec2/aws4_request"
            ),
        )
    };
    action("DescribeInstances")
        .and(signed("eu-west-1"))
        .and(query_param("MaxResults", "1000"))
        .and(query_param_is_missing("NextToken"))
        .respond_with(xml(
            200,
            &describe(
                &[Value::String(instance(ID, "running", "web-1"))],
                Some("page-2"),
            ),
        ))
        .expect(1)
        .mount(&server)
        .await;
    action("DescribeInstances")
        .and(signed("eu-west-1"))
        .and(query_param("NextToken", "page-2"))
        .respond_with(xml(
            200,
            &describe(&[Value::String(instance(ID_2, "stopped", "db-1"))], None),
        ))
        .expect(1)
        .mount(&server)
        .await;
    action("DescribeInstances")
        .and(signed("us-east-1"))
        .respond_with(error(
            401,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let inventory = ec2(&server).list().await;
    let rows: Vec<(&str, &str, ServerStatus, Option<&str>)> = inventory
        .servers
        .iter()
        .map(|s| {
            (
                s.region.as_str(),
                s.id.as_str(),
                s.status,
                s.name.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("eu-west-1", ID_2, ServerStatus::Stopped, Some("db-1")),
            ("eu-west-1", ID, ServerStatus::Running, Some("web-1")),
        ]
    );
    let [row] = inventory.errors.as_slice() else {
        panic!("{:?}", inventory.errors)
    };
    assert_eq!(
        (row.region.as_deref(), row.error.code),
        (Some("us-east-1"), ErrorCode::AuthFailed)
    );
}

/// A stop answers `stopping` (StopInstances' example), then DescribeInstances is read until
/// `stopped`.
#[tokio::test]
async fn a_stop_is_sent_once_and_followed_to_stopped() {
    let server = MockServer::start().await;
    action("StopInstances")
        .and(query_param("InstanceId.1", ID))
        .respond_with(xml(200, &stopping(ID)))
        .expect(1)
        .mount(&server)
        .await;
    for (state, times) in [("stopping", Some(1)), ("stopped", None)] {
        let mock = action("DescribeInstances")
            .and(query_param("InstanceId.1", ID))
            .respond_with(xml(
                200,
                &describe(&[Value::String(instance(ID, state, "web-1"))], None),
            ));
        match times {
            Some(n) => mock.up_to_n_times(n).mount(&server).await,
            None => mock.mount(&server).await,
        }
    }
    let outcome = followed(&ec2(&server), "eu-west-1", ID, PowerAction::Stop)
        .await
        .unwrap();
    assert_eq!(outcome.accepted.raw_state.as_deref(), Some("stopping"));
    assert_eq!(
        outcome.seen,
        vec![ServerStatus::Stopping, ServerStatus::Stopped]
    );
    assert_eq!(outcome.server.name.as_deref(), Some("web-1"));
}

/// A throttled call was refused unprocessed (ec2-api-throttling.html: "retry with exponential
/// backoff"): even a stop is sent again, after a backoff when EC2 gives no `Retry-After`.
#[tokio::test]
async fn a_throttled_stop_is_sent_again_after_a_backoff() {
    let server = MockServer::start().await;
    action("StopInstances")
        .respond_with(error(
            503,
            "RequestLimitExceeded",
            "Request limit exceeded.",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    action("StopInstances")
        .respond_with(xml(200, &stopping(ID)))
        .mount(&server)
        .await;
    let account = ec2(&server);
    let started = Instant::now();
    let accepted = account.power("eu-west-1", ID, PowerAction::Stop).await;
    let accepted = accepted.unwrap();
    assert_eq!(accepted.status, Some(ServerStatus::Stopping));
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

// SigV4 signs `X-Amz-Date` and rejects a request whose date is more than 5 minutes off
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html):
// a request sent again (here after a 503 asking to wait 1 s, RFC 9110 §10.2.3) is signed
// again when it is sent, not replayed with the first attempt's date and signature.
#[tokio::test]
async fn a_retried_request_is_signed_again_with_a_fresh_date() {
    let server = MockServer::start().await;
    let reply = ResponseTemplate::new(503).insert_header("retry-after", "1");
    action("DescribeInstances")
        .respond_with(reply)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let one = describe(&[Value::String(instance(ID, "running", "web-1"))], None);
    action("DescribeInstances")
        .respond_with(xml(200, &one))
        .mount(&server)
        .await;
    let s = ec2(&server).read("eu-west-1", ID).await.unwrap();
    assert_eq!(s.id, ID);
    let reads = server.received_requests().await.unwrap();
    assert_eq!(reads.len(), 2);
    let sent = |r: &Request, name: &str| r.headers.get(name).unwrap().to_str().unwrap().to_string();
    assert!(
        sent(&reads[1], "x-amz-date") > sent(&reads[0], "x-amz-date"),
        "the retry carries the first attempt's date"
    );
    assert_ne!(
        sent(&reads[1], "authorization"),
        sent(&reads[0], "authorization")
    );
}
