//! Text renderings of the host commands' results (tables, reboot progress); printed through
//! [`crate::output`], which escapes what servers and users wrote.

use crate::output::{self, Table};
use chrono::{DateTime, Local, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use paaf_core::inventory::HostStatus;
use paaf_core::journal::ActionRecord;
use paaf_core::power::RebootReport;
use paaf_core::runbooks::Runbook;
use paaf_core::ssh::{ExecOutput, OfferedKey};
use paaf_core::{ProgressEvent, ProgressSink, Step};
use std::io::IsTerminal;
use std::sync::Mutex;
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
        output::line(
            "No hosts yet. Add one: paaf host add NAME --address ADDR --user USER --key PATH",
        );
        return;
    }
    let mut t = Table::new(&[
        "HOST",
        "ADDRESS",
        "STATUS",
        "UPTIME",
        "BOOT ID",
        "OS",
        "LAST ACTION",
    ]);
    for s in statuses {
        let status = match &s.error {
            None => "up".to_string(),
            Some(e) => format!("DOWN ({})", e.code.as_str()),
        };
        let last = s
            .last_action
            .as_ref()
            .map(|a| format!("{} {} {}", a.kind, state(a), ago(a.created_at)))
            .unwrap_or_else(|| "-".into());
        t.row([
            s.name.clone(),
            format!("{}@{}:{}", s.user, s.address, s.port),
            status,
            s.uptime_secs
                .map(human_duration)
                .unwrap_or_else(|| "-".into()),
            s.boot_id
                .as_deref()
                .map(|b| b.get(..8).unwrap_or(b).to_string())
                .unwrap_or_else(|| "-".into()),
            s.os.clone().unwrap_or_else(|| "-".into()),
            last,
        ]);
    }
    t.print();
    for s in statuses {
        if let Some(e) = &s.error {
            output::line(&format!("{}: {}", s.name, e.message));
        }
    }
}

fn state(a: &ActionRecord) -> String {
    serde_json::to_value(a.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn journal(rows: &[ActionRecord]) {
    if rows.is_empty() {
        output::line("The journal is empty.");
        return;
    }
    let mut t = Table::new(&[
        "ID", "WHEN", "WHO", "FROM", "ACTION", "TARGET", "STATE", "DURATION", "RESULT",
    ]);
    for a in rows {
        t.row([
            a.id.to_string(),
            a.created_at
                .with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            a.operator.clone(),
            format!("{}@{}", a.frontend, a.device),
            format!("{} {}", a.kind, a.detail).trim().to_string(),
            a.target.clone(),
            state(a),
            a.duration_ms
                .map(|d| format!("{:.1}s", d as f64 / 1000.0))
                .unwrap_or_else(|| "-".into()),
            a.result.clone().unwrap_or_default(),
        ]);
    }
    t.print();
}

pub fn runbooks(host: &str, books: &[Runbook]) {
    if books.is_empty() {
        output::line(&format!("No runbooks on {host}."));
        return;
    }
    let mut t = Table::new(&["RUNBOOK", "DANGEROUS"]);
    for b in books {
        t.row([
            b.name.clone(),
            if b.dangerous {
                "yes: needs typed confirmation".into()
            } else {
                String::new()
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

/// Renders reboot progress: a spinner line per step on a terminal, plain lines otherwise;
/// with --json it only collects the events for the final document.
pub struct RebootProgress {
    bar: Option<ProgressBar>,
    pub events: Mutex<Vec<ProgressEvent>>,
    quiet: bool,
}

impl RebootProgress {
    pub fn new(as_json: bool) -> Self {
        let bar = (!as_json && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(ProgressStyle::with_template("  {spinner} {msg}").expect("valid template"));
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        RebootProgress {
            bar,
            events: Mutex::new(Vec::new()),
            quiet: as_json,
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl ProgressSink for RebootProgress {
    fn emit(&self, ev: ProgressEvent) {
        let line = output::shown(&format!(
            "{:>6.1}s  {}",
            ev.elapsed_ms as f64 / 1000.0,
            ev.step.describe()
        ));
        let waiting = matches!(
            ev.step,
            Step::WaitingForHost { .. } | Step::WaitingForTestCommand { .. }
        );
        match (&self.bar, self.quiet) {
            (_, true) => {}
            (Some(b), _) if waiting => b.set_message(line),
            (Some(b), _) => {
                b.println(format!("  ✓ {line}"));
                b.set_message("…");
            }
            (None, _) => output::note(&line),
        }
        self.events.lock().expect("events poisoned").push(ev);
    }
}
