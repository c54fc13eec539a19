//! Mock-server helpers shared by the cloud and flag contract tests, and by the HTTP client's
//! and the monitoring clients' tests (`#[path]`-included there).

use paaf_core::http::Limits;
use paaf_core::secrets::{MemoryStore, SecretStore};
use secrecy::SecretString;
use std::time::Duration;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Respond};

/// Short limits for a contract server: two attempts, a short timeout, bodies up to 1 MiB.
pub(crate) fn limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        max_response_bytes: 1024 * 1024,
        max_attempts: 2,
        max_retry_wait: Duration::from_secs(3),
    }
}

/// A secret store holding `secrets` (`(name, value)`), as `keyring:NAME` references find them.
pub fn store(secrets: &[(&str, &str)]) -> MemoryStore {
    let store = MemoryStore::default();
    for (name, value) in secrets {
        store.set(name, &SecretString::from(*value)).unwrap();
    }
    store
}

/// The requests with `method` the server received, in order.
pub async fn requests(server: &MockServer, method: &str) -> Vec<wiremock::Request> {
    let all = server.received_requests().await.unwrap_or_default();
    all.into_iter()
        .filter(|r| r.method.as_str() == method)
        .collect()
}

/// How many requests with `method` the server received.
pub async fn received(server: &MockServer, method: &str) -> usize {
    requests(server, method).await.len()
}

/// How many requests the server received at a path `at` accepts (a task's, an operation's).
pub async fn received_where(server: &MockServer, at: impl Fn(&str) -> bool) -> usize {
    let all = server.received_requests().await.unwrap_or_default();
    all.iter().filter(|r| at(r.url.path())).count()
}

/// Fails when `text` shows `secret`.
#[track_caller]
pub fn assert_clean(text: &str, secret: &str) {
    assert!(!text.contains(secret), "the secret shows in: {text}");
}

/// Consecutive duplicates removed: the states a follower reports, each change once.
pub fn changes<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if out.last() != Some(&item) {
            out.push(item);
        }
    }
    out
}

/// A mock of `verb route`; `route` is a path, with the query parameters it needs after a `?`
/// (EC2's `/?Action=…`, a page's `?page=2`).
pub fn given(verb: &str, route: impl AsRef<str>) -> MockBuilder {
    let route = route.as_ref();
    let (route, query) = route.split_once('?').unwrap_or((route, ""));
    let mut mock = Mock::given(method(verb)).and(path(route));
    for (name, value) in query.split('&').filter_map(|p| p.split_once('=')) {
        mock = mock.and(query_param(name, value));
    }
    mock
}

/// Mounting a mock on a contract server in one call.
pub trait Serve {
    /// `mock` answered with `answer`, however often it is asked.
    async fn serve(&self, mock: MockBuilder, answer: impl Respond + 'static);
    /// `mock` answered with `answer`, asked exactly `times` times (checked when the server
    /// stops).
    async fn expect(&self, mock: MockBuilder, answer: impl Respond + 'static, times: u64);
}

impl Serve for MockServer {
    async fn serve(&self, mock: MockBuilder, answer: impl Respond + 'static) {
        mock.respond_with(answer).mount(self).await;
    }

    async fn expect(&self, mock: MockBuilder, answer: impl Respond + 'static, times: u64) {
        mock.respond_with(answer).expect(times).mount(self).await;
    }
}

/// A new mock server whose first mock is `mock`, answered with `answer` however often it is
/// asked ([`Serve::serve`]).
pub async fn start_serving(mock: MockBuilder, answer: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    server.serve(mock, answer).await;
    server
}

/// A new mock server whose first mock is `mock`, answered with `answer` and asked exactly
/// `times` times ([`Serve::expect`]).
pub async fn start_expecting(
    mock: MockBuilder,
    answer: impl Respond + 'static,
    times: u64,
) -> MockServer {
    let server = MockServer::start().await;
    server.expect(mock, answer, times).await;
    server
}

/// Fails unless `e` is a `code` error whose message says each of `words`.
#[track_caller]
pub fn assert_error(e: &paaf_core::Error, code: paaf_core::ErrorCode, words: &[&str]) {
    assert_eq!(e.code(), code, "{e}");
    let text = e.to_string();
    for word in words {
        assert!(text.contains(word), "{word:?} missing in: {text}");
    }
}

/// The error `result` ends in, asserted to be a `code` error whose message says each of
/// `words` ([`assert_error`]); fails on a success, showing it.
#[track_caller]
pub fn assert_fails<T: std::fmt::Debug>(
    result: paaf_core::Result<T>,
    code: paaf_core::ErrorCode,
    words: &[&str],
) -> paaf_core::Error {
    let e = match result {
        Ok(value) => panic!("a {code:?} error was expected, not Ok({value:?})"),
        Err(e) => e,
    };
    assert_error(&e, code, words);
    e
}
