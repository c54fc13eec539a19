//! Live status of a host: reachable or not, uptime, boot id, OS, last action.

use crate::config::HostConfig;
use crate::error::ErrorInfo;
use crate::journal::ActionRecord;
use serde::Serialize;

/// A configured host, as the config says it (no probing): for lists that must show at once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HostSummary {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    /// `key`, `password` or `agent`.
    pub auth: String,
}

impl From<&HostConfig> for HostSummary {
    fn from(h: &HostConfig) -> Self {
        HostSummary {
            name: h.name.clone(),
            address: h.address.clone(),
            port: h.port,
            user: h.user.clone(),
            auth: h.auth.method().to_string(),
        }
    }
}

/// What `paaf host list` shows for one host.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HostStatus {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub reachable: bool,
    /// Why the host could not be read, when it could not.
    pub error: Option<ErrorInfo>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub uptime_secs: Option<u64>,
    pub boot_id: Option<String>,
    pub os: Option<String>,
    pub last_action: Option<ActionRecord>,
}

/// What a host list says of a host in a word or two: a host that refused the key or the
/// login answered, so it is not "down".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostState {
    /// Logged in and probed.
    Up,
    /// No answer (refused, unreachable, timed out).
    Down,
    /// It answers, but its host key changed: nothing is run there until that is resolved.
    KeyChanged,
    /// It answers with a host key not trusted yet.
    KeyUnknown,
    /// It answers, but refused the login, or the secret for it is missing.
    LoginFailed,
    /// It answers, but something else failed (SSH, the probe command).
    Error,
}

impl HostState {
    /// The words a list shows.
    pub fn label(self) -> &'static str {
        match self {
            HostState::Up => "up",
            HostState::Down => "down",
            HostState::KeyChanged => "key changed",
            HostState::KeyUnknown => "key unknown",
            HostState::LoginFailed => "login failed",
            HostState::Error => "error",
        }
    }
}

impl HostStatus {
    /// The host's state, from whether it was probed and why not.
    pub fn state(&self) -> HostState {
        use crate::error::ErrorCode::*;
        match &self.error {
            None => HostState::Up,
            Some(e) => match e.code {
                Unreachable | Timeout => HostState::Down,
                HostKeyChanged => HostState::KeyChanged,
                HostKeyUnknown => HostState::KeyUnknown,
                AuthFailed | Secret => HostState::LoginFailed,
                _ => HostState::Error,
            },
        }
    }
}

const MARK: &str = "@@paaf@@";

/// One shell line that prints uptime, boot id and OS, each after a marker line.
pub(crate) fn probe_command(boot_id_command: &str) -> String {
    format!(
        "echo {MARK}uptime; cat /proc/uptime 2>/dev/null; echo {MARK}bootid; {boot_id_command}; echo {MARK}os; (. /etc/os-release 2>/dev/null && echo \"$PRETTY_NAME\") || uname -sr"
    )
}

/// The parsed probe: (uptime seconds, boot id, OS).
pub(crate) fn parse_probe(stdout: &str) -> (Option<u64>, Option<String>, Option<String>) {
    let mut section = "";
    let (mut uptime, mut boot, mut os) = (None, None, None);
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix(MARK) {
            section = match name {
                "uptime" => "uptime",
                "bootid" => "bootid",
                "os" => "os",
                _ => "",
            };
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match section {
            "uptime" if uptime.is_none() => {
                uptime = line
                    .split_whitespace()
                    .next()
                    .and_then(|s| s.parse::<f64>().ok())
                    .map(|s| s as u64)
            }
            "bootid" if boot.is_none() => boot = Some(line.to_string()),
            "os" if os.is_none() => os = Some(line.to_string()),
            _ => {}
        }
    }
    (uptime, boot, os)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_parses() {
        let out = format!(
            "{MARK}uptime\n12345.67 2345.1\n{MARK}bootid\n3f1c-uuid\n{MARK}os\nDebian GNU/Linux 12 (bookworm)\n"
        );
        let (u, b, o) = parse_probe(&out);
        assert_eq!(u, Some(12345));
        assert_eq!(b.as_deref(), Some("3f1c-uuid"));
        assert_eq!(o.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(parse_probe(""), (None, None, None));
    }
}
