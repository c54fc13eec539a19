//! Contract tests, one binary: every cloud provider and every flag service against a local
//! wiremock server that answers as the vendor's documentation says, errors included. The
//! scenarios every provider must pass (401, 403, 404, 409, 429 with Retry-After, 5xx on a read,
//! a timed-out write, paging, malformed JSON, an oversize body, a secret echoed in an error
//! body) run as one table per area; each provider's own cases sit in its own file.

mod clouds;
mod flags;
mod support;
