//! The one error type of the bindings, converted from the core's errors in one place.

use paaf_core::{Error, ErrorCode, ErrorInfo, Phase};

/// What went wrong, grouped by what an app does about it; `code` is the machine-readable code
/// every front-end shares (the CLI's JSON, the desktop's errors), `message` says what to do.
#[derive(Debug, Clone, thiserror::Error, uniffi::Error)]
pub enum PaafError {
    /// Fix the input: the config, an argument, a missing confirmation, an unknown name.
    #[error("{message}")]
    Input { code: ErrorCode, message: String },
    /// Access was refused: a secret missing, a login failed, no sudo, a host key to confirm
    /// (`host-key-unknown`) or one that changed (`host-key-changed`: refused).
    #[error("{message}")]
    Access { code: ErrorCode, message: String },
    /// The host could not be reached or did not answer in time; `phase` names the part of the
    /// action that timed out.
    #[error("{message}")]
    Connection {
        code: ErrorCode,
        message: String,
        phase: Option<Phase>,
    },
    /// The command ran on the host and failed there.
    #[error("{message}")]
    Remote { code: ErrorCode, message: String },
    /// The user cancelled it.
    #[error("{message}")]
    Cancelled { code: ErrorCode, message: String },
    /// paaf itself failed (its journal, a bug, an app callback that threw unexpectedly).
    #[error("{message}")]
    Internal { code: ErrorCode, message: String },
}

impl PaafError {
    pub(crate) fn internal(message: String) -> Self {
        PaafError::Internal {
            code: ErrorCode::Other,
            message,
        }
    }
}

impl From<Error> for PaafError {
    fn from(e: Error) -> Self {
        let ErrorInfo {
            code,
            message,
            phase,
        } = ErrorInfo::from(&e);
        use ErrorCode::*;
        match code {
            Config | InvalidInput | NotFound | ConfirmationRequired => {
                PaafError::Input { code, message }
            }
            Secret | AuthFailed | Privilege | HostKeyUnknown | HostKeyChanged => {
                PaafError::Access { code, message }
            }
            Unreachable | Ssh | Timeout => PaafError::Connection {
                code,
                message,
                phase,
            },
            RemoteCommand => PaafError::Remote { code, message },
            Cancelled => PaafError::Cancelled { code, message },
            Journal | Other => PaafError::Internal { code, message },
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

/// The error in the core's terms, for a foreign SecretStore's failures.
impl PaafError {
    pub(crate) fn message(&self) -> &str {
        match self {
            PaafError::Input { message, .. }
            | PaafError::Access { message, .. }
            | PaafError::Connection { message, .. }
            | PaafError::Remote { message, .. }
            | PaafError::Cancelled { message, .. }
            | PaafError::Internal { message, .. } => message,
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
            PaafError::Access { code, message } => {
                assert_eq!(code, ErrorCode::HostKeyChanged);
                assert_eq!(message, text);
            }
            other => panic!("{other:?}"),
        }
    }
}
