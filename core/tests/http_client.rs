//! The shared HTTP client (core/src/http.rs) against a local server (wiremock) that answers
//! the way HTTP APIs do, failures included: what is retried and what is not, Retry-After,
//! size limits, timeouts, typed errors, and that the token never leaks.
//! Semantics followed: RFC 9110 §9.2.2 (idempotent methods), §10.2.3 (Retry-After),
//! RFC 6585 §4 (429), https://www.rfc-editor.org/rfc/rfc9110

#[path = "contract/support.rs"]
#[allow(dead_code)]
mod support;

use paaf_core::ErrorCode;
use paaf_core::http::{HttpAuth, Limits, Method, Request, Retry, Service};
use secrecy::SecretString;
use std::time::{Duration, Instant};
use support::{Serve, assert_error, assert_fails, given, start_expecting, start_serving};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "glsa_paafTestToken_0123456789abcdef";

fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        max_response_bytes: 64 * 1024,
        max_attempts: 3,
        max_retry_wait: Duration::from_secs(5),
    }
}

fn service(server: &MockServer) -> Service {
    Service::new(
        "grafana \"ops\"",
        &server.uri(),
        HttpAuth::Bearer(SecretString::from(TOKEN)),
        limits(),
    )
    .unwrap()
}

/// What the service at `server` fails `request` with.
async fn refused(server: &MockServer, request: Request) -> paaf_core::Error {
    service(server).send(request).await.unwrap_err()
}

fn post(path: &str) -> Request {
    Request::with_body(
        Method::POST,
        path,
        &serde_json::json!({"a": 1}),
        Retry::NotIdempotent,
    )
    .unwrap()
}

#[tokio::test]
async fn a_get_sends_the_token_and_query_and_decodes_json() {
    let served = ResponseTemplate::new(200).set_body_json(serde_json::json!([{"uid": "x"}]));
    let server = start_expecting(
        given("GET", "/api/search?query=checkout")
            .and(header("authorization", format!("Bearer {TOKEN}").as_str())),
        served,
        1,
    )
    .await;
    let hits: Vec<serde_json::Value> = service(&server)
        .get_json(Request::get("/api/search").query("query", "checkout"))
        .await
        .unwrap();
    assert_eq!(hits[0]["uid"], "x");
}

#[tokio::test]
async fn a_base_url_with_a_path_keeps_it() {
    let served = ResponseTemplate::new(200).set_body_string("{}");
    let server = start_expecting(given("GET", "/grafana/api/health"), served, 1).await;
    let s = Service::new(
        "g",
        &format!("{}/grafana", server.uri()),
        HttpAuth::None,
        limits(),
    )
    .unwrap();
    s.send(Request::get("api/health")).await.unwrap();
}

#[tokio::test]
async fn a_get_is_retried_after_a_503_honouring_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let served = ResponseTemplate::new(200).set_body_string("[]");
    server.expect(Mock::given(method("GET")), served, 1).await;
    let started = Instant::now();
    let got: Vec<u8> = service(&server)
        .get_json(Request::get("api/x"))
        .await
        .unwrap();
    assert!(got.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
}

/// Sent once, and since the service may have acted before failing, its outcome is unknown
/// (the one failure policy: a request that is not idempotent + a 5xx).
#[tokio::test]
async fn a_post_is_never_retried_after_a_5xx() {
    let served = ResponseTemplate::new(502).set_body_string("bad gateway");
    let server = start_expecting(Mock::given(method("POST")), served, 1).await;
    let e = refused(&server, post("api/annotations")).await;
    assert_error(
        &e,
        ErrorCode::OutcomeUnknown,
        &["grafana \"ops\"", "HTTP 502"],
    );
}

#[tokio::test]
async fn a_post_refused_with_429_is_sent_again_after_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let served = ResponseTemplate::new(200).set_body_string(r#"{"id":7}"#);
    server.expect(Mock::given(method("POST")), served, 1).await;
    let r = service(&server)
        .send(post("api/annotations"))
        .await
        .unwrap();
    assert_eq!(r.json::<serde_json::Value>("g").unwrap()["id"], 7);
}

#[tokio::test]
async fn a_retry_after_longer_than_paaf_waits_is_reported_as_rate_limited() {
    let served = ResponseTemplate::new(429).insert_header("retry-after", "3600");
    let server = start_expecting(Mock::given(method("GET")), served, 1).await;
    let e = refused(&server, Request::get("api/x")).await;
    assert_error(&e, ErrorCode::RateLimited, &["retry after 3600s"]);
}

#[tokio::test]
async fn retries_stop_after_the_attempt_limit() {
    let server = start_expecting(Mock::given(method("GET")), ResponseTemplate::new(500), 3).await;
    let e = refused(&server, Request::get("api/x")).await;
    assert_eq!(e.code(), ErrorCode::ServiceFailed);
}

#[tokio::test]
async fn statuses_become_typed_errors_that_say_what_to_check() {
    let server = MockServer::start().await;
    for (status, code, hint) in [
        (401, ErrorCode::AuthFailed, "expired"),
        (403, ErrorCode::PermissionDenied, "permission"),
        (404, ErrorCode::NotFound, "base URL"),
        (409, ErrorCode::Conflict, "approval"),
    ] {
        server.reset().await;
        let served = ResponseTemplate::new(status)
            .set_body_json(serde_json::json!({"message": format!("no: {TOKEN}")}));
        server.expect(Mock::given(method("GET")), served, 1).await;
        let e = refused(&server, Request::get("api/x")).await;
        assert_eq!(e.code(), code, "{status}");
        let text = e.to_string();
        assert!(text.contains(hint), "{status}: {text}");
        assert!(
            !text.contains(TOKEN),
            "the echoed token must be redacted: {text}"
        );
        assert!(text.contains("[redacted]"), "{text}");
        assert!(!format!("{e:?}").contains(TOKEN));
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let served = ResponseTemplate::new(200).set_body_string("x".repeat(100 * 1024));
    let server = start_serving(Mock::given(method("GET")), served).await;
    let e = refused(&server, Request::get("api/x")).await;
    assert_eq!(e.code(), ErrorCode::ResponseTooLarge);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_malformed_response_without_the_body() {
    let served = ResponseTemplate::new(200).set_body_string("<html>login page</html>");
    let server = start_serving(Mock::given(method("GET")), served).await;
    let e = assert_fails(
        service(&server)
            .get_json::<serde_json::Value>(Request::get("api/x"))
            .await,
        ErrorCode::MalformedResponse,
        &[],
    );
    assert!(!e.to_string().contains("<html>"), "{e}");
}

#[tokio::test]
async fn a_slow_get_times_out_in_the_request_phase() {
    let served = ResponseTemplate::new(200).set_delay(Duration::from_secs(5));
    let server = start_serving(Mock::given(method("GET")), served).await;
    let mut l = limits();
    l.max_attempts = 1;
    let s = Service::new("prom", &server.uri(), HttpAuth::None, l).unwrap();
    assert_fails(
        s.send(Request::get("api/v1/query")).await,
        ErrorCode::Timeout,
        &["request"],
    );
}

#[tokio::test]
async fn a_slow_post_is_an_unknown_outcome_and_is_not_sent_twice() {
    let served = ResponseTemplate::new(200).set_delay(Duration::from_secs(5));
    let server = start_expecting(Mock::given(method("POST")), served, 1).await;
    let e = refused(&server, post("api/power/reboot")).await;
    assert_error(&e, ErrorCode::OutcomeUnknown, &["check the target"]);
}

#[tokio::test]
async fn a_closed_port_is_unreachable_and_names_the_service() {
    // A port nothing listens on (wiremock keeps its servers in a pool, so not one of those).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("http://127.0.0.1:{port}");
    let s = Service::new("prometheus \"main\"", &uri, HttpAuth::None, limits()).unwrap();
    assert_fails(
        s.send(Request::get("api/v1/query")).await,
        ErrorCode::Unreachable,
        &["prometheus \"main\""],
    );
}

/// A redirect is not followed: it would carry the credentials wherever its `Location`
/// points (reqwest drops `Authorization` on a cross-host redirect, but not a vendor's own
/// header). Before paaf refused redirects, the second server received the token.
#[tokio::test]
async fn a_redirect_is_not_followed_and_says_where_it_pointed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let served = ResponseTemplate::new(302)
        .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str());
    server.expect(given("GET", "/api/x"), served, 1).await;
    let auth = HttpAuth::Header {
        name: "x-auth-token".into(),
        value: SecretString::from(TOKEN),
    };
    let service = Service::new("svc", &server.uri(), auth, limits()).unwrap();
    assert_fails(
        service.send(Request::get("api/x")).await,
        ErrorCode::ServiceFailed,
        &["redirects to", "/steal"],
    );
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

/// A request path cannot lead to another host (an absolute URL joined onto the base URL
/// replaces it), and a service at an https:// URL never sends plain HTTP: before, this GET
/// went to the plain-HTTP server with the token.
#[tokio::test]
async fn a_path_that_leads_to_another_host_is_refused_before_sending() {
    let served = ResponseTemplate::new(200).set_body_string("{}");
    let other = start_serving(Mock::given(method("GET")), served).await;
    let service = Service::new(
        "svc",
        "https://127.0.0.1:1",
        HttpAuth::Bearer(SecretString::from(TOKEN)),
        limits(),
    )
    .unwrap();
    assert_fails(
        service
            .send(Request::get(format!("{}/steal", other.uri())))
            .await,
        ErrorCode::InvalidInput,
        &["another host"],
    );
    assert!(other.received_requests().await.unwrap().is_empty());
}
