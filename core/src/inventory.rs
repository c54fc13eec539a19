//! Live status of a host: reachable or not, uptime, boot id, OS, metrics, last action.

use crate::config::HostConfig;
use crate::error::ErrorInfo;
use crate::host_metrics::{self, HostMetrics, MetricsSource};
use crate::journal::ActionRecord;
use crate::thresholds::Level;
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// CPU, load, memory, disk and uptime with their levels; `None` when nothing could read
    /// them (the host did not answer and no Prometheus scrapes it).
    pub metrics: Option<HostMetrics>,
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
    /// How worrying the host looks: its worst metric, `Unknown` when none was read.
    pub fn level(&self) -> Level {
        self.metrics
            .as_ref()
            .map_or(Level::Unknown, HostMetrics::worst)
    }

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

/// Sorts hosts the most worrying first (danger, warning, unknown, ok); hosts of one level keep
/// their order.
pub fn worst_first(statuses: &mut [HostStatus]) {
    statuses.sort_by_key(|s| std::cmp::Reverse(s.level()));
}

const MARK: &str = "@@paaf@@";

/// POSIX sh functions the probe reads small files with: `paaf_line FILE` prints its first line
/// (as `head -n 1`), `paaf_lines FILE [N]` all its lines (as `cat`), or its first N; a missing
/// file prints nothing. They use built-ins only, so reading /proc starts no process on the
/// host: with hundreds of hosts probed at once, each `cat` or `head` per host adds up.
pub(crate) const FILE_READERS: &str = concat!(
    r#"paaf_line() { l=; { IFS= read -r l <"$1"; } 2>/dev/null; [ -n "$l" ] && printf '%s\n' "$l"; }; "#,
    r#"paaf_lines() { n=${2:--1}; { while [ "$n" != 0 ] && { IFS= read -r l || [ -n "$l" ]; }; do printf '%s\n' "$l"; n=$((n - 1)); done <"$1"; } 2>/dev/null; }"#,
);

/// One shell line that prints uptime, boot id, OS and, with `metrics`, the metrics' sections
/// ([`host_metrics::proc::SECTIONS`]), each after a marker line.
/// The OS is /etc/os-release as it is (its PRETTY_NAME is read here, not by sourcing the file
/// in a subshell on the host), else `uname -sr`.
pub(crate) fn probe_command(boot_id_command: &str, metrics: bool) -> String {
    // The default boot id command is read with the built-in reader: the same line, one
    // process less per host.
    let boot_id = if boot_id_command.trim() == crate::config::DEFAULT_BOOT_ID_COMMAND {
        "paaf_line /proc/sys/kernel/random/boot_id"
    } else {
        boot_id_command
    };
    let mut command = format!(
        "{FILE_READERS}; echo {MARK}uptime; paaf_lines /proc/uptime; echo {MARK}bootid; {boot_id}; echo {MARK}os; if [ -r /etc/os-release ]; then paaf_lines /etc/os-release; else uname -sr; fi"
    );
    if !metrics {
        return command;
    }
    for (name, shell) in host_metrics::proc::SECTIONS {
        command.push_str(&format!("; echo {MARK}{name}; {shell}"));
    }
    command
}

/// What the probe read.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Probe {
    pub uptime_secs: Option<u64>,
    pub boot_id: Option<String>,
    pub os: Option<String>,
    /// The metric sections' non-empty lines, by section.
    pub sections: BTreeMap<String, Vec<String>>,
}

impl Probe {
    /// The metrics of the probed host, levelled against its thresholds.
    pub fn metrics(&self, host: &HostConfig) -> HostMetrics {
        let (mut sample, problems) = host_metrics::proc::parse(&self.sections);
        sample.uptime_secs = self.uptime_secs;
        let problems = problems.iter().map(ToString::to_string).collect();
        HostMetrics::new(MetricsSource::Ssh, sample, &host.thresholds, problems)
    }
}

/// The parsed probe. Lines before the first marker, and of markers paaf did not print, are
/// ignored.
pub(crate) fn parse_probe(stdout: &str) -> Probe {
    let mut section: Option<&str> = None;
    let mut probe = Probe::default();
    let mut os_lines = Vec::new();
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix(MARK) {
            section = Some(name);
            continue;
        }
        let line = line.trim();
        let Some(name) = section.filter(|_| !line.is_empty()) else {
            continue;
        };
        match name {
            "uptime" if probe.uptime_secs.is_none() => {
                probe.uptime_secs = line
                    .split_whitespace()
                    .next()
                    .and_then(|s| s.parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| s as u64)
            }
            "bootid" if probe.boot_id.is_none() => probe.boot_id = Some(line.to_string()),
            "os" => os_lines.push(line),
            "uptime" | "bootid" => {}
            other => probe
                .sections
                .entry(other.to_string())
                .or_default()
                .push(line.to_string()),
        }
    }
    probe.os = os_name(&os_lines);
    probe
}

/// The OS of the probe's `os` section: os-release's PRETTY_NAME (else its NAME), or the line
/// `uname -sr` printed where there is no os-release.
fn os_name(lines: &[&str]) -> Option<String> {
    let field = |key: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(os_release_value)
            .filter(|v| !v.is_empty())
    };
    if lines.iter().any(|l| l.contains('=')) {
        field("PRETTY_NAME").or_else(|| field("NAME"))
    } else {
        lines.first().map(|l| l.to_string())
    }
}

/// An os-release value as a shell would read it: within double quotes `\"`, `\\`, `\$` and
/// `` \` `` stand for the character; within single quotes nothing is special.
fn os_release_value(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return inner.to_string();
    }
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('"' | '\\' | '$' | '`')) => value.push(e),
                Some(other) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            },
            c => value.push(c),
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state line for a plan or a protect step reads no metrics: no CPU sample to wait for.
    #[test]
    fn only_the_status_probe_reads_the_metrics() {
        let full = probe_command("cat /proc/sys/kernel/random/boot_id", true);
        let light = probe_command("cat /proc/sys/kernel/random/boot_id", false);
        for (name, shell) in host_metrics::proc::SECTIONS {
            assert!(full.contains(&format!("{MARK}{name}; {shell}")), "{name}");
            assert!(!light.contains(&format!("{MARK}{name}")), "{name}");
        }
        assert!(!light.contains("sleep") && light.contains("random/boot_id"));
    }

    /// Runs `script` after the file readers under the local /bin/sh (dash on Debian, like the
    /// lab hosts' login shell): (stdout, stderr).
    fn sh_with_readers(script: &str) -> (String, String) {
        sh(&format!("{FILE_READERS}; {script}"))
    }

    fn sh(script: &str) -> (String, String) {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("sh runs");
        let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
        (text(out.stdout), text(out.stderr))
    }

    /// The built-in readers print what `cat` and `head -n 1` printed (so the parser reads the
    /// same lines), backslashes, blanks and a last line without newline included, and nothing,
    /// not even on stderr, for a missing file, with the next command still run.
    #[test]
    fn file_readers_print_what_cat_and_head_print() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("odd");
        let text = "  lead \\n \\c\tx  trailing  \n\ncpu  1 2 3\nlast without newline";
        std::fs::write(&file, text).expect("write");
        let file = file.display();
        let (cat, err) = sh_with_readers(&format!("paaf_lines '{file}'"));
        assert_eq!((cat.as_str(), err.as_str()), (&*format!("{text}\n"), ""));
        let (head, err) = sh_with_readers(&format!("paaf_line '{file}'"));
        assert_eq!(
            (head.as_str(), err.as_str()),
            ("  lead \\n \\c\tx  trailing  \n", "")
        );
        let missing = "l=stale; paaf_line /nonexistent; paaf_lines /nonexistent; echo next";
        assert_eq!(sh_with_readers(missing), ("next\n".into(), String::new()));
    }

    /// The whole metrics probe run here under /bin/sh gives every section, /proc/stat twice.
    #[test]
    fn the_metrics_probe_reads_this_machine() {
        let (out, _) = sh(&probe_command("cat /proc/sys/kernel/random/boot_id", true));
        let probe = parse_probe(&out);
        assert!(probe.uptime_secs.is_some() && probe.boot_id.is_some());
        assert_eq!(probe.sections["cpu"].len(), 2);
        assert_eq!(probe.sections["load"].len(), 1);
        assert!(
            probe.sections["memory"]
                .iter()
                .any(|l| l.starts_with("MemTotal:"))
        );
        let (sample, problems) = host_metrics::proc::parse(&probe.sections);
        let read = [sample.cpu_percent, sample.load1, sample.memory_percent];
        assert!(read.iter().all(Option::is_some), "{problems:?}");
    }

    #[test]
    fn probe_output_parses() {
        let out = format!(
            "{MARK}uptime\n12345.67 2345.1\n{MARK}bootid\n3f1c-uuid\n{MARK}os\nDebian GNU/Linux 12 (bookworm)\n"
        );
        let p = parse_probe(&out);
        assert_eq!(p.uptime_secs, Some(12345));
        assert_eq!(
            p.os.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)"),
            "uname's line"
        );
        assert_eq!(p.boot_id.as_deref(), Some("3f1c-uuid"));
        assert_eq!(parse_probe(""), Probe::default());
        let with_metrics =
            format!("{out}{MARK}load\n0.10 0.2 0.3 1/2 3\n\n{MARK}df\n/dev/sda1 100 95 5 95% /\n");
        let p = parse_probe(&with_metrics);
        assert_eq!(p.sections["load"], ["0.10 0.2 0.3 1/2 3"]);
        assert_eq!(p.sections["df"], ["/dev/sda1 100 95 5 95% /"]);
    }

    /// The OS comes from os-release as a shell reads it, without sourcing it on the host.
    #[test]
    fn the_os_is_os_release_pretty_name_else_its_name() {
        let os = |text: &str| parse_probe(&format!("{MARK}os\n{text}")).os;
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nID=debian\n";
        assert_eq!(
            os(debian).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(
            os("# comment\nNAME='Odd $(rm -rf /) OS'\nID=odd\n").as_deref(),
            Some("Odd $(rm -rf /) OS")
        );
        assert_eq!(
            os("PRETTY_NAME=\"Say \\\"hi\\\" \\$HOME \\\\ \\n\"\n").as_deref(),
            Some("Say \"hi\" $HOME \\ \\n")
        );
        assert_eq!(os("PRETTY_NAME=Plain\n").as_deref(), Some("Plain"));
        assert_eq!(os("PRETTY_NAME=\"\"\nID=x\n"), None);
        assert_eq!(
            os("Linux 6.1.0-13-amd64\n").as_deref(),
            Some("Linux 6.1.0-13-amd64")
        );
        assert_eq!(os(""), None);
    }

    /// This machine's os-release read by the probe's shell gives what sourcing it gives.
    #[test]
    fn the_probe_reads_the_os_as_sourcing_os_release_does() {
        let (out, _) = sh(&probe_command("echo id", false));
        let (sourced, _) =
            sh("(. /etc/os-release 2>/dev/null && echo \"$PRETTY_NAME\") || uname -sr");
        assert_eq!(parse_probe(&out).os.as_deref(), Some(sourced.trim()));
    }

    /// `paaf_lines FILE N` prints the first N lines only; the default boot id command is read
    /// with the built-in reader, any other one runs as configured.
    #[test]
    fn the_probe_reads_what_it_needs_and_no_more() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("three");
        std::fs::write(&file, "a\nb\nc\n").expect("write");
        let (two, _) = sh_with_readers(&format!("paaf_lines '{}' 2", file.display()));
        assert_eq!(two, "a\nb\n");
        let default = probe_command(" cat /proc/sys/kernel/random/boot_id", false);
        assert!(
            !default.contains("cat ")
                && default.contains("paaf_line /proc/sys/kernel/random/boot_id")
        );
        assert!(probe_command("cat /run/my-boot-id", false).contains("; cat /run/my-boot-id;"));
        let (out, _) = sh(&default);
        let want = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
        assert_eq!(parse_probe(&out).boot_id.as_deref(), Some(want.trim()));
    }

    proptest::proptest! {
        /// Whatever a host answers, the probe and its metrics are read without a panic.
        #[test]
        fn no_probe_answer_makes_the_status_panic(
            answer in "(@@paaf@@(uptime|cpu|load|memory|df|os)\n|cpu [0-9 ]{0,30}\n|[0-9a-zA-Z %/:.\t-]{0,40}\n){0,24}"
        ) {
            let config = crate::config::Config::parse(
                std::path::Path::new("/c.toml"),
                "[[hosts]]\nname = \"a\"\naddress = \"h\"\nuser = \"u\"\nauth = { type = \"agent\" }\n",
            )
            .unwrap();
            let metrics = parse_probe(&answer).metrics(&config.hosts[0]);
            for r in [metrics.cpu_percent, metrics.memory_percent, metrics.disk_percent] {
                if let Some(v) = r.value {
                    proptest::prop_assert!((0.0..=100.0).contains(&v), "{v}");
                }
            }
        }
    }
}
