//! The SSH layer every SSH-based feature shares: power actions, runbooks, status, env-file flags.

pub mod algorithms;
pub mod known_hosts;
pub mod pool;
pub mod session;

pub use known_hosts::{KeyStatus, OfferedKey};
pub use pool::SshPool;
pub use session::{Connection, Credentials, ExecOutput, HostKeyPolicy, Target};
