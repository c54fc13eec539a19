//! The one error type of the bindings, converted from the core's errors in one place.

use paaf_core::{Error, ErrorCode, ErrorInfo, Phase};

/// What went wrong, grouped by what an app does about it; `code` is the machine-readable code
/// every front-end shares (the CLI's JSON, the desktop's errors), `reason` says what to do.
#[derive(Debug, Clone, thiserror::Error, uniffi::Error)]
pub enum PaafError {
    /// Fix the input: the config, an argument, a missing confirmation, an unknown name.
    #[error("{reason}")]
    Input { code: ErrorCode, reason: String },
    /// Access was refused: a secret missing, a login failed, no sudo, a host key to confirm
    /// (`host-key-unknown`) or one that changed (`host-key-changed`: refused).
    #[error("{reason}")]
    Access { code: ErrorCode, reason: String },
    /// The host could not be reached or did not answer in time; `phase` names the part of the
    /// action that timed out.
    #[error("{reason}")]
    Connection {
        code: ErrorCode,
        reason: String,
        phase: Option<Phase>,
    },
    /// The host or service answered, and the answer was a failure: a command that failed
    /// there, a service error, a conflict or rate limit, a response too large or malformed;
    /// or the outcome of a change is unknown (`outcome-unknown`: check the target).
    #[error("{reason}")]
    Remote { code: ErrorCode, reason: String },
    /// The user cancelled it.
    #[error("{reason}")]
    Cancelled { code: ErrorCode, reason: String },
    /// paaf itself failed (its journal, a bug, an app callback that threw unexpectedly).
    #[error("{reason}")]
    Internal { code: ErrorCode, reason: String },
}

impl PaafError {
    pub(crate) fn internal(reason: String) -> Self {
        PaafError::Internal {
            code: ErrorCode::Other,
            reason,
        }
    }
}

impl From<Error> for PaafError {
    fn from(e: Error) -> Self {
        let ErrorInfo {
            code,
            message: reason,
            phase,
        } = ErrorInfo::from(&e);
        use ErrorCode::*;
        match code {
            Config | InvalidInput | NotFound | ConfirmationRequired => {
                PaafError::Input { code, reason }
            }
            Secret | AuthFailed | Privilege | PermissionDenied | HostKeyUnknown
            | HostKeyChanged => PaafError::Access { code, reason },
            Unreachable | Ssh | Timeout => PaafError::Connection {
                code,
                reason,
                phase,
            },
            RemoteCommand | ResponseTooLarge | MalformedResponse | Conflict | RateLimited
            | ServiceFailed | OutcomeUnknown => PaafError::Remote { code, reason },
            Cancelled => PaafError::Cancelled { code, reason },
            Journal | Other => PaafError::Internal { code, reason },
        }
    }
}

/// A callback into the app (its SecretStore, its listener) that failed in a way its signature
/// does not allow, e.g. a Kotlin RuntimeException.
impl From<uniffi::UnexpectedUniFFICallbackError> for PaafError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        PaafError::internal(format!("the app's callback failed: {}", e.reason))
    }
}

impl PaafError {
    /// What went wrong, in words (every variant has it).
    pub(crate) fn reason(&self) -> &str {
        match self {
            PaafError::Input { reason, .. }
            | PaafError::Access { reason, .. }
            | PaafError::Connection { reason, .. }
            | PaafError::Remote { reason, .. }
            | PaafError::Cancelled { reason, .. }
            | PaafError::Internal { reason, .. } => reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_core_timeout_becomes_a_connection_error_with_its_phase() {
        let e = PaafError::from(Error::Timeout {
            host: "web-1".into(),
            phase: Phase::Boot,
            after: Duration::from_secs(600),
        });
        match e {
            PaafError::Connection { code, phase, .. } => {
                assert_eq!(code, ErrorCode::Timeout);
                assert_eq!(phase, Some(Phase::Boot));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_changed_host_key_is_an_access_error_that_keeps_the_core_message() {
        let core = Error::HostKeyChanged {
            host: "web-1".into(),
            fingerprint: "SHA256:abc".into(),
            known_hosts: "/k".into(),
        };
        let text = core.to_string();
        match PaafError::from(core) {
            PaafError::Access { code, reason } => {
                assert_eq!(code, ErrorCode::HostKeyChanged);
                assert_eq!(reason, text);
            }
            other => panic!("{other:?}"),
        }
    }
}
