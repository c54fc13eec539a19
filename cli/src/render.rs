//! Text renderings of the host commands' results (tables, reboot progress); printed through
//! [`crate::output`], which escapes what servers and users wrote.

use crate::output::{self, Cell, Table, Tone};
use chrono::{DateTime, Local, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use paaf_core::config::RebootSettings;
use paaf_core::host_metrics::{MetricsSource, Reading};
use paaf_core::inventory::{HostState, HostStatus};
use paaf_core::journal::{ActionRecord, ActionState};
use paaf_core::power::RebootReport;
use paaf_core::runbooks::Runbook;
use paaf_core::ssh::{ExecOutput, OfferedKey};
use paaf_core::thresholds::Level;
use paaf_core::{CancellationToken, ProgressEvent, ProgressSink, Step};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

pub fn human_duration(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn ago(t: DateTime<Utc>) -> String {
    let secs = (Utc::now() - t).num_seconds().max(0) as u64;
    format!("{} ago", human_duration(secs))
}

/// `ago` of a time in ms since the Unix epoch (monitoring APIs give those).
pub fn ago_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(ago)
        .unwrap_or_default()
}

pub fn hosts(statuses: &[HostStatus]) {
    if statuses.is_empty() {
        output::summary(
            "No hosts yet. Add one: paaf host add NAME --address ADDR --user USER --key PATH",
        );
        return;
    }
    hosts_table(statuses).print();
    // Why a host or a metric could not be read: for the person, not a row of the result.
    for s in statuses {
        if let Some(e) = &s.error {
            // Most messages name the host first already.
            if e.message.starts_with(&s.name) {
                output::note(&e.message);
            } else {
                output::note(&format!("{}: {}", s.name, e.message));
            }
        }
        for problem in s.metrics.iter().flat_map(|m| &m.problems) {
            output::note(&format!("{}: metrics: {problem}", s.name));
        }
    }
}

/// A metric's cell: its value (`unit` after it), coloured by its level; `-` when unread.
fn reading_cell(r: &Reading, decimals: usize, unit: &str) -> Cell {
    let tone = match r.level {
        Level::Ok => Tone::Good,
        Level::Warning => Tone::Warn,
        Level::Danger => Tone::Bad,
        Level::Unknown => Tone::Plain,
    };
    match r.value {
        Some(v) => Cell::new(format!("{v:.decimals$}{unit}"), tone),
        None => Cell::from("-"),
    }
}

/// Where the metrics came from, in a word or two.
fn source_word(source: &MetricsSource) -> String {
    match source {
        MetricsSource::Ssh => "ssh".into(),
        MetricsSource::NodeExporter { source, instance } => format!("{source}/{instance}"),
    }
}

/// The host list as a table, its states coloured.
pub fn hosts_table(statuses: &[HostStatus]) -> Table {
    let mut t = Table::new(&[
        "HOST",
        "ADDRESS",
        "STATUS",
        "UPTIME",
        "CPU",
        "LOAD",
        "MEM",
        "DISK",
        "MOUNT",
        "METRICS FROM",
        "BOOT ID",
        "OS",
        "LAST ACTION",
    ])
    .wide_only(&["ADDRESS", "MOUNT", "METRICS FROM", "OS"])
    .whole(&["CPU", "LOAD", "MEM", "DISK"]);
    let unread = Cell::from("-");
    for s in statuses {
        let m = s.metrics.as_ref();
        let state = s.state();
        let tone = match state {
            HostState::Up => Tone::Good,
            HostState::Down | HostState::KeyChanged => Tone::Bad,
            _ => Tone::Warn,
        };
        let last = s
            .last_action
            .as_ref()
            .map(|a| format!("{} {} {}", a.kind, state_word(a), ago(a.created_at)))
            .unwrap_or_else(|| "-".into());
        t.row([
            Cell::from(s.name.clone()),
            Cell::from(format!("{}@{}:{}", s.user, s.address, s.port)),
            Cell::new(state.label(), tone),
            Cell::from(
                s.uptime_secs
                    .or(m.and_then(|m| m.uptime_secs))
                    .map(human_duration)
                    .unwrap_or_else(|| "-".into()),
            ),
            m.map_or(unread.clone(), |m| reading_cell(&m.cpu_percent, 0, "%")),
            m.map_or(unread.clone(), |m| reading_cell(&m.load1, 2, "")),
            m.map_or(unread.clone(), |m| reading_cell(&m.memory_percent, 0, "%")),
            m.map_or(unread.clone(), |m| reading_cell(&m.disk_percent, 0, "%")),
            Cell::from(
                m.and_then(|m| m.disk_mount.clone())
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::from(m.map_or("-".into(), |m| source_word(&m.source))),
            Cell::from(
                s.boot_id
                    .as_deref()
                    .map(|b| b.get(..8).unwrap_or(b).to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::from(s.os.clone().unwrap_or_else(|| "-".into())),
            Cell::from(last),
        ]);
    }
    t
}

fn state_word(a: &ActionRecord) -> String {
    serde_json::to_value(a.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The colour of an action's state.
fn action_tone(a: &ActionRecord) -> Tone {
    match a.state {
        ActionState::Succeeded => Tone::Good,
        ActionState::Failed => Tone::Bad,
        _ => Tone::Warn,
    }
}

/// The journal; `host` is the `--host` filter, named when nothing matched it.
pub fn journal(rows: &[ActionRecord], host: Option<&str>) {
    if rows.is_empty() {
        output::summary(&match host {
            Some(h) => format!("No action on `{h}` in the journal."),
            None => "The journal is empty.".into(),
        });
        return;
    }
    let mut t = Table::new(&[
        "ID", "WHEN", "WHO", "FROM", "ACTION", "TARGET", "STATE", "DURATION", "RESULT",
    ])
    .wide_only(&["WHO", "FROM", "DURATION"])
    .whole(&["ID", "WHEN", "STATE"]);
    for a in rows {
        t.row([
            Cell::from(a.id.to_string()),
            // The zone is shown: JSON has UTC, the table local time.
            Cell::from(
                a.created_at
                    .with_timezone(&Local)
                    .format("%Y-%m-%d %H:%M:%S%:z")
                    .to_string(),
            ),
            Cell::from(a.operator.clone()),
            Cell::from(format!("{}@{}", a.frontend, a.device)),
            Cell::from(format!("{} {}", a.kind, a.detail).trim().to_string()),
            Cell::from(a.target.clone()),
            Cell::new(state_word(a), action_tone(a)),
            Cell::from(
                a.duration_ms
                    .map(|d| format!("{:.1}s", d as f64 / 1000.0))
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::from(a.result.clone().unwrap_or_default()),
        ]);
    }
    t.print();
}

pub fn runbooks(host: &str, books: &[Runbook]) {
    if books.is_empty() {
        output::summary(&format!("No runbooks on {host}."));
        return;
    }
    let mut t = Table::new(&["RUNBOOK", "DANGEROUS"]);
    for b in books {
        t.row([
            Cell::from(b.name.clone()),
            if b.dangerous {
                Cell::new("yes: needs typed confirmation", Tone::Bad)
            } else {
                Cell::from("")
            },
        ]);
    }
    t.print();
}

/// Prints a command's output as a terminal user expects: stdout to stdout, stderr to stderr,
/// byte for byte as `ssh HOST CMD` would (the operator asked for exactly this output, colours
/// included); paaf's own lines about it are escaped.
pub fn exec_output(o: &ExecOutput) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(o.stdout.as_bytes());
    let _ = std::io::stderr().write_all(o.stderr.as_bytes());
    if o.stdout_truncated || o.stderr_truncated {
        output::note("paaf: output truncated at max_output_bytes (set it per host in the config)");
    }
    if let Some(sig) = &o.signal {
        output::note(&format!("paaf: killed by signal {sig}"));
    } else if o.exit_code != 0 {
        output::note(&format!("paaf: exit code {}", o.exit_code));
    }
}

pub fn offered_key(host: &str, k: &OfferedKey) {
    output::note(&format!(
        "{host} offers a {} host key:\n  {}",
        k.key_type, k.fingerprint
    ));
}

pub fn reboot_report(r: &RebootReport) {
    output::line(&format!(
        "{} rebooted and verified in {:.1}s (down after {:.1}s, back with a new boot id after {:.1}s, test command ok after {:.1}s)",
        r.host,
        r.elapsed_ms as f64 / 1000.0,
        r.shutdown_ms as f64 / 1000.0,
        r.boot_ms as f64 / 1000.0,
        r.test_ms as f64 / 1000.0
    ));
}

/// Renders reboot progress: on a terminal a line per phase and a spinner whose elapsed time
/// ticks, with the phase's deadline; plain lines otherwise; with `-o json|yaml` each event as
/// it happens (one line of JSON each).
pub struct RebootProgress {
    bar: Option<ProgressBar>,
    structured: bool,
    /// The deadlines of the phases, from the host's config: shutdown, boot, test command.
    deadlines: [Duration; 3],
}

impl RebootProgress {
    pub fn new(structured: bool, settings: &RebootSettings) -> Self {
        let bar = (!structured && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("  {spinner} {elapsed:>4}  {msg}")
                    .expect("valid template"),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b.set_message("connecting");
            b
        });
        RebootProgress {
            bar,
            structured,
            deadlines: [
                settings.shutdown_timeout,
                settings.boot_timeout,
                settings.test_timeout,
            ],
        }
    }

    /// On Ctrl-C the spinner goes at once, and the person reads what it means, while the
    /// step under way (a connect) still ends.
    pub fn clear_on(self: &Arc<Self>, cancel: &CancellationToken) {
        let (me, cancel) = (self.clone(), cancel.clone());
        tokio::spawn(async move {
            cancel.cancelled().await;
            if let Some(b) = &me.bar {
                b.finish_and_clear();
            }
            if !me.structured {
                output::note(
                    "cancelled: stopping the wait; the host may still be rebooting (Ctrl-C again to quit now)",
                );
            }
        });
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// What the spinner says while `step` waits: the phase and its deadline.
    fn waiting(&self, step: &Step) -> Option<String> {
        let [shutdown, boot, test] = self.deadlines.map(|d| d.as_secs());
        Some(match step {
            Step::CommandSent { .. } => {
                format!("shutdown: waiting for the connection to drop (deadline {shutdown}s)")
            }
            Step::ConnectionDropped => format!("boot: waiting for the host (deadline {boot}s)"),
            Step::WaitingForHost {
                attempt, reason, ..
            } => format!("boot: waiting for the host (deadline {boot}s; try {attempt}: {reason})"),
            Step::BootIdChanged { .. } => format!("test command (deadline {test}s)"),
            Step::WaitingForTestCommand { attempt, reason } => {
                format!("test command (deadline {test}s; try {attempt}: {reason})")
            }
            _ => return None,
        })
    }
}

impl ProgressSink for RebootProgress {
    fn emit(&self, ev: ProgressEvent) {
        if self.structured {
            output::event(&serde_json::json!({ "event": ev }));
            return;
        }
        let line = output::shown(&format!(
            "{:>6.1}s  {}",
            ev.elapsed_ms as f64 / 1000.0,
            ev.step.describe()
        ));
        let retry = matches!(
            ev.step,
            Step::WaitingForHost { .. } | Step::WaitingForTestCommand { .. }
        );
        match &self.bar {
            Some(b) => {
                if !retry {
                    b.println(format!("  ✓ {line}"));
                }
                if let Some(waiting) = self.waiting(&ev.step) {
                    b.set_message(output::shown(&waiting));
                } else {
                    b.set_message("…");
                }
            }
            None => output::note(&line),
        }
    }
}
