//! The documented exit codes, from the core's error codes.

use paaf_core::ErrorCode;

pub const OK: i32 = 0;
pub const REMOTE_FAILED: i32 = 9;
/// The action ran and reports success, but paaf saw no proof it took effect (the journal's
/// `unverified`): check the target.
pub const UNVERIFIED: i32 = 14;

/// The process exit code for an error (see `paaf --help`).
pub fn code(e: ErrorCode) -> i32 {
    match e {
        ErrorCode::Other => 1,
        ErrorCode::Config | ErrorCode::InvalidInput | ErrorCode::NotFound => 3,
        ErrorCode::HostKeyUnknown | ErrorCode::HostKeyChanged => 4,
        ErrorCode::AuthFailed
        | ErrorCode::Secret
        | ErrorCode::Privilege
        | ErrorCode::PermissionDenied => 5,
        ErrorCode::Unreachable | ErrorCode::Ssh => 6,
        ErrorCode::Timeout => 7,
        ErrorCode::ConfirmationRequired => 8,
        ErrorCode::RemoteCommand => REMOTE_FAILED,
        ErrorCode::Journal => 10,
        ErrorCode::ResponseTooLarge
        | ErrorCode::MalformedResponse
        | ErrorCode::RateLimited
        | ErrorCode::ServiceFailed => 11,
        ErrorCode::Conflict => 12,
        ErrorCode::OutcomeUnknown => 13,
        ErrorCode::Cancelled => 130,
    }
}
