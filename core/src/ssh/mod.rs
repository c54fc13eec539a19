//! The SSH layer every SSH-based feature shares: power actions, runbooks, status, env-file flags.

pub mod algorithms;
pub mod known_hosts;
pub mod login_files;
pub mod pool;
pub mod session;

pub use known_hosts::{KeyStatus, OfferedKey};
pub use login_files::LoginFiles;
pub use pool::SshPool;
pub use session::{Connection, Credentials, ExecOutput, HostKeyPolicy, Target};

/// Where sudo looks for a program named without a path: Debian's and Ubuntu's default
/// `secure_path` (the sudoers file that says otherwise is not readable by the login user).
/// A sudoers rule names the program by the path found there.
pub(crate) const SUDO_SECURE_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
