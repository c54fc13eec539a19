//! The one public error type every front-end sees, with a machine-readable code.
//!
//! Variants exist only where a caller acts differently on them (the CLI picks an exit code, the
//! apps pick a screen); everything else is `Other`. No variant ever holds a secret: messages are
//! built from names, addresses and fingerprints only.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Stable, machine-readable error codes; front-ends switch on these, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ErrorCode {
    Config,
    InvalidInput,
    NotFound,
    Secret,
    Unreachable,
    HostKeyUnknown,
    HostKeyChanged,
    AuthFailed,
    Privilege,
    Ssh,
    RemoteCommand,
    Timeout,
    ConfirmationRequired,
    Cancelled,
    Journal,
    ResponseTooLarge,
    MalformedResponse,
    /// HTTP 403: the credentials are valid but lack a permission.
    PermissionDenied,
    /// HTTP 409/412: the thing changed meanwhile, or the change needs an approval.
    Conflict,
    /// HTTP 429 that lasted longer than paaf waits.
    RateLimited,
    /// The service failed (5xx) or refused the request for another reason.
    ServiceFailed,
    /// A call that changes something failed in a way that leaves unknown whether it took
    /// effect; it was not retried: check the target.
    OutcomeUnknown,
    Other,
}

impl ErrorCode {
    /// The code as the kebab-case string used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Config => "config",
            ErrorCode::InvalidInput => "invalid-input",
            ErrorCode::NotFound => "not-found",
            ErrorCode::Secret => "secret",
            ErrorCode::Unreachable => "unreachable",
            ErrorCode::HostKeyUnknown => "host-key-unknown",
            ErrorCode::HostKeyChanged => "host-key-changed",
            ErrorCode::AuthFailed => "auth-failed",
            ErrorCode::Privilege => "privilege",
            ErrorCode::Ssh => "ssh",
            ErrorCode::RemoteCommand => "remote-command",
            ErrorCode::Timeout => "timeout",
            ErrorCode::ConfirmationRequired => "confirmation-required",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::Journal => "journal",
            ErrorCode::ResponseTooLarge => "response-too-large",
            ErrorCode::MalformedResponse => "malformed-response",
            ErrorCode::PermissionDenied => "permission-denied",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate-limited",
            ErrorCode::ServiceFailed => "service-failed",
            ErrorCode::OutcomeUnknown => "outcome-unknown",
            ErrorCode::Other => "other",
        }
    }
}

/// Which part of an action ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Phase {
    /// Opening the TCP connection and the SSH handshake.
    Connect,
    /// A command that did not finish within its budget.
    Command,
    /// Waiting for the connection to drop after the reboot command was accepted.
    Shutdown,
    /// Waiting for the host to answer again with a new boot id.
    Boot,
    /// Waiting for the test command to succeed after the boot.
    TestCommand,
    /// An HTTP request to a service (its whole exchange, body included).
    Request,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::Command => "command",
            Phase::Shutdown => "shutdown (waiting for the connection to drop)",
            Phase::Boot => "boot (waiting for the host to come back with a new boot id)",
            Phase::TestCommand => "test command (waiting for it to succeed after boot)",
            Phase::Request => "request (waiting for the service to answer)",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The file first: `error[config]: config error in …` said "config" twice (issue 18).
    #[error("{}{}: {message}\n  fix: {fix}", file.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Config {
        file: PathBuf,
        line: Option<usize>,
        message: String,
        fix: String,
    },
    #[error("{message}")]
    InvalidInput { message: String },
    #[error("no {what}{}{}", if name.is_empty() { String::new() } else { format!(" named `{name}`") }, hint.as_ref().map(|h| format!(": {h}")).unwrap_or_default())]
    NotFound {
        what: &'static str,
        name: String,
        hint: Option<String>,
    },
    #[error("secret `{reference}` is not available: {reason}")]
    Secret { reference: String, reason: String },
    #[error("{host} ({address}) is unreachable: {reason}")]
    Unreachable {
        host: String,
        address: String,
        reason: String,
    },
    #[error(
        "{host} offered an unknown {key_type} host key {fingerprint}; check it out of band, then accept it (`paaf host trust {host}`, or --accept-new-host-key)"
    )]
    HostKeyUnknown {
        host: String,
        key_type: String,
        fingerprint: String,
    },
    #[error(
        "REFUSED: the host key of {host} changed (now {fingerprint}); nothing was run. This may be an attack or a reinstalled server. If the change is expected, remove the old key with `paaf host forget-key {host}` (known_hosts: {}) and trust the new one",
        known_hosts.display()
    )]
    HostKeyChanged {
        host: String,
        fingerprint: String,
        known_hosts: PathBuf,
    },
    /// After a reboot, the address answered as another machine (its /etc/machine-id changed):
    /// whether the host that was asked to reboot did so is unknown.
    #[error(
        "after the reboot, {host} answers as a different machine (/etc/machine-id was {before}, now {after}): the reboot is not verified, and the address may now lead to another server (a re-provisioned instance, a moved IP or DNS name, or an attack). Check what answers there before trusting it"
    )]
    MachineChanged {
        host: String,
        before: String,
        after: String,
    },
    #[error("authentication as {user} on {host} failed ({method}): {reason}")]
    AuthFailed {
        host: String,
        user: String,
        method: &'static str,
        reason: String,
    },
    #[error("{host}: {reason}")]
    Privilege { host: String, reason: String },
    #[error("ssh to {host}: {reason}")]
    Ssh { host: String, reason: String },
    #[error("on {host}, `{command}` failed with exit code {exit_code}: {stderr}")]
    RemoteCommand {
        host: String,
        command: String,
        exit_code: i32,
        stderr: String,
    },
    #[error("{host}: timed out after {}s in phase {phase}", after.as_secs_f64().round())]
    Timeout {
        host: String,
        phase: Phase,
        after: Duration,
    },
    #[error("{what} needs confirmation: {how}")]
    ConfirmationRequired { what: String, how: String },
    #[error("cancelled: {what}")]
    Cancelled { what: String },
    #[error("journal {}: {reason}", path.display())]
    Journal { path: PathBuf, reason: String },
    #[error(
        "{what} answered with {size} bytes, over the {limit}-byte limit; ask for less (a shorter time range, fewer series, a lower max data points)"
    )]
    ResponseTooLarge { what: String, size: u64, limit: u64 },
    #[error(
        "{what} sent a response paaf cannot read: {reason}; check that the configured URL points at the service's API (not a login page or proxy) and that its version is supported"
    )]
    MalformedResponse { what: String, reason: String },
    /// An HTTP service answered with a failure; `code` says which kind (auth-failed,
    /// permission-denied, not-found, conflict, rate-limited, service-failed).
    #[error("{service}: {message}")]
    Service {
        service: String,
        code: ErrorCode,
        status: u16,
        message: String,
    },
    #[error(
        "outcome unknown: {what} failed after it may have reached the service ({reason}); it was not retried: check the target's state before trying again"
    )]
    OutcomeUnknown { what: String, reason: String },
    /// A host was not added, and nothing of it was saved; `code` is the cause's.
    #[error("{host} was not added, nothing was saved: {reason}")]
    HostNotAdded {
        host: String,
        code: ErrorCode,
        reason: String,
    },
    /// What was asked clashes with the state of things (an incident is already open).
    #[error("{what}: {how}")]
    Conflict { what: String, how: String },
    /// An action intent refused before anything ran (see [`crate::intent::IntentRefusal`]).
    #[error("intent refused, nothing was done: {0}")]
    IntentRefused(crate::intent::IntentRefusal),
    #[error("{reason}")]
    Other { reason: String },
}

impl Error {
    /// The machine-readable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Config { .. } => ErrorCode::Config,
            Error::InvalidInput { .. } => ErrorCode::InvalidInput,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::Secret { .. } => ErrorCode::Secret,
            Error::Unreachable { .. } => ErrorCode::Unreachable,
            Error::HostKeyUnknown { .. } => ErrorCode::HostKeyUnknown,
            Error::HostKeyChanged { .. } => ErrorCode::HostKeyChanged,
            Error::MachineChanged { .. } => ErrorCode::OutcomeUnknown,
            Error::AuthFailed { .. } => ErrorCode::AuthFailed,
            Error::Privilege { .. } => ErrorCode::Privilege,
            Error::Ssh { .. } => ErrorCode::Ssh,
            Error::RemoteCommand { .. } => ErrorCode::RemoteCommand,
            Error::Timeout { .. } => ErrorCode::Timeout,
            Error::ConfirmationRequired { .. } => ErrorCode::ConfirmationRequired,
            Error::Cancelled { .. } => ErrorCode::Cancelled,
            Error::Journal { .. } => ErrorCode::Journal,
            Error::ResponseTooLarge { .. } => ErrorCode::ResponseTooLarge,
            Error::MalformedResponse { .. } => ErrorCode::MalformedResponse,
            Error::Service { code, .. } => *code,
            Error::OutcomeUnknown { .. } => ErrorCode::OutcomeUnknown,
            Error::HostNotAdded { code, .. } => *code,
            Error::Conflict { .. } => ErrorCode::Conflict,
            Error::IntentRefused(refusal) => refusal.code(),
            Error::Other { .. } => ErrorCode::Other,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput {
            message: message.into(),
        }
    }

    pub(crate) fn other(reason: impl Into<String>) -> Self {
        Error::Other {
            reason: reason.into(),
        }
    }
}

/// An I/O failure in words a person reads once (`connection refused`), without the OS's
/// internals (`(os error 111)`), which stay in the debug log.
pub fn plain_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused (nothing listens on that port)".into(),
        ConnectionReset => "the connection was reset".into(),
        ConnectionAborted => "the connection was aborted".into(),
        TimedOut => "no answer in time".into(),
        HostUnreachable => "no route to the host".into(),
        NetworkUnreachable => "the network is unreachable".into(),
        AddrNotAvailable => "the address is not available here".into(),
        _ => without_os_error(&e.to_string()),
    }
}

/// `text` without a trailing ` (os error N)`.
pub(crate) fn without_os_error(text: &str) -> String {
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text.to_string(),
    }
}

/// The configured name closest to a mistyped `name` ("web1" → "web-1"), for a "did you
/// mean" before anything is asked or done.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `did you mean `x`? ` when a candidate is close to `name`, else nothing.
pub(crate) fn suggestion<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(name, candidates)
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default()
}

/// The error as front-ends serialize it: `{code, message}`, and `phase` for a timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ErrorInfo {
    pub code: ErrorCode,
    pub message: String,
    /// For a timeout: the phase that ran out of time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub phase: Option<Phase>,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        ErrorInfo {
            code: e.code(),
            message: e.to_string(),
            phase: match e {
                Error::Timeout { phase, .. } => Some(*phase),
                _ => None,
            },
        }
    }
}

/// Lets a front-end whose functions return `Result<T, ErrorInfo>` (Tauri commands) use `?`.
impl From<Error> for ErrorInfo {
    fn from(e: Error) -> Self {
        ErrorInfo::from(&e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_without_os_internals() {
        let refused = std::io::Error::from_raw_os_error(111);
        assert_eq!(
            plain_io(&refused),
            "connection refused (nothing listens on that port)"
        );
        let other = std::io::Error::from_raw_os_error(2);
        assert!(
            !plain_io(&other).contains("os error"),
            "{}",
            plain_io(&other)
        );
    }

    #[test]
    fn a_close_name_is_suggested_and_a_far_one_is_not() {
        let names = ["web-1", "web-2", "db-1"];
        assert_eq!(did_you_mean("web1", names), Some("web-1"));
        assert_eq!(
            did_you_mean("restart-ap", ["restart-app", "check-disk"]),
            Some("restart-app")
        );
        assert_eq!(did_you_mean("zzz", names), None);
        let e = Error::NotFound {
            what: "prometheus",
            name: String::new(),
            hint: Some("name one with --source".into()),
        };
        assert_eq!(
            e.to_string(),
            "no prometheus: name one with --source",
            "no empty name"
        );
    }

    #[test]
    fn a_timeout_names_its_phase_in_the_serialized_error() {
        let e = Error::Timeout {
            host: "web-1".into(),
            phase: Phase::Boot,
            after: Duration::from_secs(600),
        };
        let v = serde_json::to_value(ErrorInfo::from(&e)).unwrap();
        assert_eq!(v["code"], "timeout");
        assert_eq!(v["phase"], "boot");
        let other = serde_json::to_value(ErrorInfo::from(&Error::other("x"))).unwrap();
        assert!(other.get("phase").is_none(), "{other}");
    }
}
