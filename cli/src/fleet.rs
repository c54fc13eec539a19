//! Many hosts at once: the selector options (`'web-*'`, `--tag`, `--group`), and a command or
//! runbook fanned out over the chosen hosts with a progress bar and results grouped by output,
//! and a fleet reboot batch by batch.

use crate::ctx::{Ctx, Outcome, cancel_on_ctrl_c};
use crate::output::{self, Cell, Format, Table, Tone};
use crate::{exit, render};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use paaf_core::config::HostSelector;
use paaf_core::{
    DEFAULT_PARALLEL, FanOutJob, FanOutOptions, FanOutReport, FanOutSink, FanOutTally,
    FleetHostState, FleetRebootHost, FleetRebootOptions, FleetRebootReport, FleetRebootSink,
    HostOutcome, HostRun, OutputGroup, ProgressEvent, Result, fan_out_question,
    fleet_reboot_question,
};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

/// `--tag` and `--group`: which hosts, beside a name or glob.
#[derive(Args, Clone, Default)]
pub struct SelectorArgs {
    /// Hosts with this tag (KEY=VALUE, from `tags` in [[hosts]]); repeat: all of them
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Hosts in this group (from `groups` in [[hosts]]); repeat: in all of them
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
}

impl SelectorArgs {
    /// The selector of these options and the host names or globs given.
    pub fn selector(&self, names: &[String]) -> Result<HostSelector> {
        HostSelector::parse(names, &self.tags, &self.groups)
    }
}

/// How a fan-out runs.
#[derive(Args, Clone, Copy)]
pub struct FanOutArgs {
    /// With several hosts: how many run at once
    #[arg(long, default_value_t = DEFAULT_PARALLEL as u64, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub parallel: u64,
    /// With several hosts: each host's command budget in seconds [default: the host's
    /// command_timeout_secs]
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
}

impl FanOutArgs {
    fn options(self) -> FanOutOptions {
        FanOutOptions {
            parallel: self.parallel as usize,
            timeout: self.timeout.map(Duration::from_secs),
        }
    }
}

/// Runs `job` on the hosts `selector` chooses: one confirmation (the typed name for a
/// dangerous runbook: `typed`), a progress bar, then the results grouped by output.
pub async fn fan_out(
    ctx: &Ctx,
    selector: &HostSelector,
    job: FanOutJob,
    args: FanOutArgs,
    typed: Option<String>,
    dry_run: bool,
) -> Outcome {
    if dry_run {
        return ctx.plan(&ctx.paaf.plan_fan_out(selector, &job, args.options())?);
    }
    let hosts = ctx.paaf.select_hosts(selector)?;
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let question = fan_out_question(&job, &names);
    let confirm = match &job {
        FanOutJob::Runbook(r) if paaf_core::runbooks::is_dangerous(r) => {
            ctx.confirm_typed(typed, &capitalised(&question), r)?
        }
        _ => match typed {
            Some(t) => paaf_core::Confirmation::Typed(t),
            None => ctx.confirm(&format!("{}?", capitalised(&question)))?,
        },
    };
    let progress = Arc::new(Progress::new(ctx.is_json(), names.len()));
    let cancel = cancel_on_ctrl_c();
    let on_cancel = (progress.clone(), cancel.clone(), ctx.is_json());
    tokio::spawn(async move {
        on_cancel.1.cancelled().await;
        if !on_cancel.2 {
            on_cancel.0.println(
                "cancelled: no more hosts start; those running finish (Ctrl-C again to quit now)",
            );
        }
    });
    let report = ctx
        .paaf
        .fan_out(
            selector,
            job,
            args.options(),
            &confirm,
            progress.clone(),
            cancel,
        )
        .await;
    progress.finish();
    let report = report?;
    ctx.emit(&report, show);
    Ok(match report.failure() {
        None => exit::OK,
        Some(code) => exit::code(code),
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Groups with at most this many names listed in `-o table` (every name with `-o wide`).
const NAMES_SHOWN: usize = 8;

/// The report as text: one block per group of identical results with `-o table|wide`, a row
/// per host with `-o tsv|name`; the summary last.
fn show(report: &FanOutReport) {
    let format = output::settings().format;
    if matches!(format, Format::Tsv | Format::Name) {
        hosts_table(report).print();
    } else {
        for g in &report.groups {
            group(g, format == Format::Wide);
        }
    }
    output::summary(&report.summary());
}

fn group(g: &OutputGroup, wide: bool) {
    let count = paaf_core::config::host_count(g.hosts.len());
    let mut names = g.hosts.clone();
    if !wide && names.len() > NAMES_SHOWN {
        let more = names.len() - NAMES_SHOWN;
        names.truncate(NAMES_SHOWN);
        names.push(format!("… {more} more (-o wide lists them)"));
    }
    let mark = if g.ok { "✓" } else { "✗" };
    output::line(&format!(
        "{mark} {count}: {} ({})",
        g.label,
        names.join(", ")
    ));
    let body = match &g.outcome {
        HostOutcome::Ran(o) => {
            let mut text = o.stdout.clone();
            if !o.stderr.is_empty() {
                text.push_str(&o.stderr);
            }
            if o.stdout_truncated || o.stderr_truncated {
                text.push_str("[output truncated at max_output_bytes]\n");
            }
            text
        }
        HostOutcome::Failed { error } => format!("{}\n", error.message),
        HostOutcome::NotStarted => String::new(),
    };
    for line in body.lines() {
        output::line(&format!("    {line}"));
    }
}

fn hosts_table(report: &FanOutReport) -> Table {
    let mut t = Table::new(&["HOST", "RESULT", "EXIT", "MS", "OUTPUT"]);
    for run in &report.hosts {
        let tone = match &run.outcome {
            o if o.ok() => Tone::Good,
            HostOutcome::NotStarted => Tone::Warn,
            _ => Tone::Bad,
        };
        let (exit, text) = match &run.outcome {
            HostOutcome::Ran(o) => (
                o.passed_exit_code().to_string(),
                format!("{}{}", o.stdout.trim_end(), o.stderr.trim_end()),
            ),
            HostOutcome::Failed { error } => (String::new(), error.message.clone()),
            HostOutcome::NotStarted => (String::new(), String::new()),
        };
        t.row([
            Cell::from(run.host.as_str()),
            Cell::new(run.outcome.label(), tone),
            Cell::from(exit),
            Cell::from(run.duration_ms.to_string()),
            Cell::from(text),
        ]);
    }
    t
}

/// A bar of hosts done with the failed count, on a terminal; nothing otherwise (the report
/// says it all at the end).
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(structured: bool, total: usize) -> Progress {
        let bar = (!structured && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template("  {bar:30} {pos}/{len} done, {msg} {elapsed}")
                    .expect("valid template"),
            );
            b.set_message("0 failed");
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress { bar }
    }

    fn println(&self, text: &str) {
        match &self.bar {
            Some(b) => b.println(output::shown(text)),
            None => output::note(text),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl FanOutSink for Progress {
    fn host_done(&self, _: &HostRun, tally: &FanOutTally) {
        if let Some(b) = &self.bar {
            b.set_position((tally.done + tally.not_started) as u64);
            b.set_message(format!("{} failed", tally.failed));
        }
    }
}

/// `host list` with a selector, `parallel` hosts probed at once.
pub async fn status(
    ctx: &Ctx,
    names: &[String],
    select: &SelectorArgs,
    parallel: usize,
    watch: crate::ctx::WatchArg,
) -> Outcome {
    let selector = select.selector(names)?;
    ctx.watching(watch, || async {
        let statuses = ctx.paaf.status_of(&selector, parallel).await?;
        ctx.emit(&statuses, |s| render::hosts(s));
        Ok(exit::OK)
    })
    .await
}

/// How many hosts reboot at once, and what proves each healthy.
#[derive(Args, Clone)]
pub struct FleetRebootArgs {
    /// With several hosts: how many reboot at once; the next batch starts once every host of
    /// this one is verified and healthy
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub batch: u64,
    /// Must succeed on each host after its new boot id; 3 answers other than exit 0 and the
    /// host is unhealthy, the roll stops [default: the host's test_command]
    #[arg(long = "health-cmd", value_name = "CMD")]
    pub health_cmd: Option<String>,
}

impl FleetRebootArgs {
    /// Nothing asks for a fleet's rules: one named host reboots as it always has.
    pub fn is_single(&self) -> bool {
        self.batch == 1 && self.health_cmd.is_none()
    }

    fn options(self) -> FleetRebootOptions {
        FleetRebootOptions {
            batch: self.batch as usize,
            health_command: self.health_cmd,
        }
    }
}

/// Reboots the hosts `selector` chooses batch by batch: one confirmation, a line per batch and
/// per host as it ends, then a table of where every host stands.
pub async fn reboot_many(
    ctx: &Ctx,
    selector: &HostSelector,
    args: FleetRebootArgs,
    dry_run: bool,
) -> Outcome {
    if selector.is_empty() {
        return Err(paaf_core::Error::InvalidInput {
            message: "which hosts? `paaf reboot HOST`, a glob like 'web-*', --tag or --group"
                .into(),
        }
        .into());
    }
    let options = args.options();
    if dry_run {
        return ctx.plan(&ctx.paaf.plan_fleet_reboot(selector, &options)?);
    }
    let hosts = ctx.paaf.select_hosts(selector)?;
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let question = fleet_reboot_question(&names, options.batch);
    let confirm = ctx.confirm(&format!("{}?", capitalised(&question)))?;
    let cancel = cancel_on_ctrl_c();
    let quiet = ctx.is_json();
    let on_cancel = cancel.clone();
    tokio::spawn(async move {
        on_cancel.cancelled().await;
        if !quiet {
            output::note(
                "cancelled: no more batches start; the hosts under way may still be rebooting (Ctrl-C again to quit now)",
            );
        }
    });
    let progress = Arc::new(FleetProgress { quiet });
    let report = ctx
        .paaf
        .fleet_reboot(selector, options, &confirm, progress, cancel)
        .await?;
    ctx.emit(&report, show_fleet_reboot);
    Ok(match report.failure() {
        None => exit::OK,
        Some(code) => exit::code(code),
    })
}

/// Where every host stands, then who is done, mid-reboot and untouched.
fn show_fleet_reboot(report: &FleetRebootReport) {
    let mut t = Table::new(&["HOST", "BATCH", "STATE", "DETAIL"]);
    for h in &report.hosts {
        let tone = match &h.state {
            FleetHostState::Done { .. } => Tone::Good,
            FleetHostState::Untouched => Tone::Warn,
            _ => Tone::Bad,
        };
        let detail = match &h.state {
            FleetHostState::Done { report } => report.summary(),
            FleetHostState::Untouched => String::new(),
            other => other.error().map(|e| e.message.clone()).unwrap_or_default(),
        };
        t.row([
            Cell::from(h.host.as_str()),
            Cell::from(h.batch.to_string()),
            Cell::new(h.state.label(), tone),
            Cell::from(detail),
        ]);
    }
    t.print();
    if report.failure().is_some() {
        for label in ["done", "unhealthy", "mid-reboot", "failed", "untouched"] {
            let names = report.named(label);
            if !names.is_empty() {
                output::summary(&format!("{label}: {}", names.join(", ")));
            }
        }
    }
    output::summary(&report.summary());
}

/// A line per batch and per host as it ends, on stderr; nothing with -o json|yaml (the
/// report says it all).
struct FleetProgress {
    quiet: bool,
}

impl FleetRebootSink for FleetProgress {
    fn batch(&self, number: usize, of: usize, hosts: &[String]) {
        if !self.quiet {
            output::note(&format!("batch {number}/{of}: {}", hosts.join(", ")));
        }
    }

    fn step(&self, host: &str, event: ProgressEvent) {
        tracing::debug!(host, step = %event.step.describe(), "fleet reboot");
    }

    fn host_done(&self, host: &FleetRebootHost) {
        if self.quiet {
            return;
        }
        let mark = if host.state.label() == "done" {
            "✓"
        } else {
            "✗"
        };
        let why = host
            .state
            .error()
            .map(|e| format!(": {}", e.message))
            .unwrap_or_default();
        output::note(&format!(
            "  {mark} {} {}{why}",
            host.host,
            host.state.label()
        ));
    }
}
