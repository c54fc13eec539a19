//! Mock-server helpers shared by the cloud and flag contract tests.

use paaf_core::http::Limits;
use std::time::Duration;

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
