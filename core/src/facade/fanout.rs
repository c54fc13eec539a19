//! Fan-out: one command or runbook on every host a selector chooses, a bounded number at a
//! time. Each host's exit code, duration and bounded output are kept; hosts with identical
//! results are grouped ("37 hosts: exit 0 / 2 hosts: exit 1 / 1 host: unreachable"). One
//! confirmation covers them all; the journal gets one parent action and a row per host under
//! it. Cancelling stops what has not started; what runs finishes (within its timeout) and is
//! reported.

use super::{Confirmation, Paaf};
use crate::config::{HostConfig, HostSelector, host_count, host_sample};
use crate::error::{Error, ErrorCode, ErrorInfo, Result};
use crate::events::CancellationToken;
use crate::journal::{ActionKind, ActionState, NewAction, PartEnd};
use crate::runbooks;
use crate::secrets::SecretStore;
use crate::ssh::{Connection, ExecOutput, LoginFiles};
use futures::StreamExt;
use secrecy::SecretString;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How many hosts run at once unless the caller says otherwise.
pub const DEFAULT_PARALLEL: usize = 64;

/// What runs on every chosen host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum FanOutJob {
    /// A shell command line.
    Command(String),
    /// A runbook in each host's runbook directory (RebootX convention).
    Runbook(String),
}

impl FanOutJob {
    fn kind(&self) -> ActionKind {
        match self {
            FanOutJob::Command(_) => ActionKind::Exec,
            FanOutJob::Runbook(_) => ActionKind::Runbook,
        }
    }

    fn text(&self) -> &str {
        match self {
            FanOutJob::Command(c) | FanOutJob::Runbook(c) => c,
        }
    }

    /// The command line that runs the job on `host`.
    fn command_on(&self, host: &HostConfig) -> String {
        match self {
            FanOutJob::Command(c) => c.clone(),
            FanOutJob::Runbook(r) => runbooks::run_command(&host.runbook_dir, r),
        }
    }
}

/// Limits of a fan-out.
#[derive(Debug, Clone, Copy)]
pub struct FanOutOptions {
    /// Hosts running at once (at least 1).
    pub parallel: usize,
    /// Each host's command budget; `None`: its `command_timeout_secs`.
    pub timeout: Option<Duration>,
}

impl Default for FanOutOptions {
    fn default() -> Self {
        FanOutOptions {
            parallel: DEFAULT_PARALLEL,
            timeout: None,
        }
    }
}

/// How the job went on one host.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum HostOutcome {
    /// The command ran; its exit code and bounded output.
    Ran(ExecOutput),
    /// It could not run, or did not finish: unreachable, host key, login, timeout, ...
    Failed { error: ErrorInfo },
    /// Cancelled before it started on this host.
    NotStarted,
}

impl HostOutcome {
    /// Cancelled before it started.
    pub fn not_started(&self) -> bool {
        matches!(self, HostOutcome::NotStarted)
    }

    /// Ran and exited 0.
    pub fn ok(&self) -> bool {
        matches!(self, HostOutcome::Ran(o) if o.success())
    }

    /// The words a group of this outcome is shown with: `exit 0`, `killed by signal KILL`,
    /// `unreachable`, `not started`.
    pub fn label(&self) -> String {
        match self {
            HostOutcome::Ran(o) => match &o.signal {
                Some(sig) => format!("killed by signal {sig}"),
                None => format!("exit {}", o.exit_code),
            },
            HostOutcome::Failed { error } => error.code.as_str().replace('-', " "),
            HostOutcome::NotStarted => "not started".into(),
        }
    }

    /// Hosts with equal keys are shown as one group: the same exit code and output, or
    /// the same kind of error (their messages name each host, so only the code counts).
    fn group_key(&self) -> (u8, String) {
        match self {
            HostOutcome::Ran(o) => (
                0,
                format!(
                    "{}\0{:?}\0{}\0{}\0{}\0{}",
                    o.exit_code,
                    o.signal,
                    o.stdout,
                    o.stderr,
                    o.stdout_truncated,
                    o.stderr_truncated
                ),
            ),
            HostOutcome::Failed { error } => (1, error.code.as_str().to_string()),
            HostOutcome::NotStarted => (2, String::new()),
        }
    }
}

/// The job's run on one host.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HostRun {
    pub host: String,
    #[serde(flatten)]
    pub outcome: HostOutcome,
    /// From the connection (or the wait for it) to the end, in ms; 0 when not started.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub duration_ms: u64,
    /// The journal row of this host's run.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub action_id: i64,
}

/// Hosts whose results are the same.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OutputGroup {
    /// `exit 0`, `exit 1`, `unreachable`, `timeout`, ...
    pub label: String,
    pub ok: bool,
    /// In config order.
    pub hosts: Vec<String>,
    /// The first host's outcome: the output all of them share (or its error, with its host).
    #[serde(flatten)]
    pub outcome: HostOutcome,
}

/// Counts of a fan-out, so far or at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FanOutTally {
    pub total: usize,
    /// Finished, whatever the result.
    pub done: usize,
    /// Finished and not ok (a failed command, or the host could not run it).
    pub failed: usize,
    pub not_started: usize,
}

/// Everything a fan-out did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FanOutReport {
    /// The parent journal action.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub action_id: i64,
    pub job: FanOutJob,
    /// The selector as typed (`--tag role=web`).
    pub selector: String,
    pub tally: FanOutTally,
    /// Largest group first.
    pub groups: Vec<OutputGroup>,
    /// Every host, in config order.
    pub hosts: Vec<HostRun>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_ms: u64,
    pub cancelled: bool,
}

impl FanOutReport {
    /// Why it did not succeed everywhere: cancelled, a command that failed somewhere
    /// (`RemoteCommand`), else the first host's error; `None` when every host succeeded.
    pub fn failure(&self) -> Option<ErrorCode> {
        if self.cancelled && self.tally.not_started > 0 {
            return Some(ErrorCode::Cancelled);
        }
        if self
            .hosts
            .iter()
            .any(|h| matches!(&h.outcome, HostOutcome::Ran(o) if !o.success()))
        {
            return Some(ErrorCode::RemoteCommand);
        }
        self.hosts.iter().find_map(|h| match &h.outcome {
            HostOutcome::Failed { error } => Some(error.code),
            _ => None,
        })
    }

    /// One line for the journal and a summary: `50 hosts: 47 ok, 2 exit 1, 1 unreachable`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                let label = if g.ok {
                    "ok".to_string()
                } else {
                    g.label.clone()
                };
                format!("{} {label}", g.hosts.len())
            })
            .collect();
        let hosts = host_count(self.tally.total);
        format!(
            "{hosts}: {} in {:.1}s",
            parts.join(", "),
            self.elapsed_ms as f64 / 1000.0
        )
    }
}

/// Hears of each host as it finishes (a progress bar, a live list).
pub trait FanOutSink: Send + Sync {
    fn host_done(&self, run: &HostRun, tally: &FanOutTally);
}

/// The hosts finished so far, grouped as the end report groups them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FanOutProgress {
    pub tally: FanOutTally,
    /// Largest group first; hosts in the order they finished.
    pub groups: Vec<OutputGroup>,
}

/// A sink that regroups the finished hosts at each one and hands the result on: a grouped view
/// that fills in live.
pub struct LiveGroups<F: Fn(FanOutProgress) + Send + Sync> {
    runs: std::sync::Mutex<Vec<HostRun>>,
    on_progress: F,
}

impl<F: Fn(FanOutProgress) + Send + Sync> LiveGroups<F> {
    pub fn new(on_progress: F) -> Self {
        LiveGroups {
            runs: std::sync::Mutex::new(Vec::new()),
            on_progress,
        }
    }
}

impl<F: Fn(FanOutProgress) + Send + Sync> FanOutSink for LiveGroups<F> {
    fn host_done(&self, run: &HostRun, tally: &FanOutTally) {
        let groups = {
            let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
            runs.push(run.clone());
            group(&runs)
        };
        (self.on_progress)(FanOutProgress {
            tally: *tally,
            groups,
        });
    }
}

/// A sink that hears nothing.
pub struct NoFanOutProgress;

impl FanOutSink for NoFanOutProgress {
    fn host_done(&self, _: &HostRun, _: &FanOutTally) {}
}

/// What the confirmation of a fan-out is about: the job and a sample of the hosts.
pub fn fan_out_question(job: &FanOutJob, names: &[&str]) -> String {
    match job {
        FanOutJob::Command(c) => format!("running `{c}` on {}", host_sample(names)),
        FanOutJob::Runbook(r) => format!("runbook {r} on {}", host_sample(names)),
    }
}

/// Groups runs by identical result, largest group first (ties in config order).
fn group(runs: &[HostRun]) -> Vec<OutputGroup> {
    let mut groups: Vec<((u8, String), OutputGroup)> = Vec::new();
    for run in runs {
        let key = run.outcome.group_key();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.hosts.push(run.host.clone()),
            None => groups.push((
                key,
                OutputGroup {
                    label: run.outcome.label(),
                    ok: run.outcome.ok(),
                    hosts: vec![run.host.clone()],
                    outcome: run.outcome.clone(),
                },
            )),
        }
    }
    // Stable: equal sizes keep the order of their first host.
    groups.sort_by_key(|(_, g)| std::cmp::Reverse(g.hosts.len()));
    groups.into_iter().map(|(_, g)| g).collect()
}

fn tally(runs: &[HostRun]) -> FanOutTally {
    FanOutTally {
        total: runs.len(),
        done: runs.iter().filter(|r| !r.outcome.not_started()).count(),
        failed: runs
            .iter()
            .filter(|r| !r.outcome.ok() && !r.outcome.not_started())
            .count(),
        not_started: runs.iter().filter(|r| r.outcome.not_started()).count(),
    }
}

/// How a host's journal row ends.
fn part_end(run: &HostRun, sent: bool) -> PartEnd {
    let (state, result, error_code) = match &run.outcome {
        HostOutcome::Ran(o) => {
            let (state, text) = super::exec_summary(o);
            (state, text, None)
        }
        HostOutcome::Failed { error } => {
            let state = match (error.code, sent) {
                (ErrorCode::OutcomeUnknown, _) | (ErrorCode::Cancelled, true) => {
                    ActionState::Unknown
                }
                _ => ActionState::Failed,
            };
            (state, error.message.clone(), Some(error.code.as_str()))
        }
        HostOutcome::NotStarted => (
            ActionState::Failed,
            "not started: the fan-out was cancelled first".to_string(),
            Some(ErrorCode::Cancelled.as_str()),
        ),
    };
    PartEnd {
        id: run.action_id,
        state,
        result,
        error_code,
        finished_at: chrono::Utc::now(),
        duration_ms: run.duration_ms,
    }
}

/// The secret store as one fan-out sees it: each secret is read once, however many hosts
/// share it (a keyring read can be a D-Bus round trip; 200 hosts on one key need one).
pub(super) struct ReadOnce<'a> {
    store: &'a dyn SecretStore,
    read: std::sync::Mutex<std::collections::HashMap<String, SecretString>>,
}

impl<'a> ReadOnce<'a> {
    pub(super) fn new(store: &'a dyn SecretStore) -> Self {
        ReadOnce {
            store,
            read: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }
}

impl SecretStore for ReadOnce<'_> {
    fn get(&self, name: &str) -> Result<SecretString> {
        if let Some(secret) = self
            .read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(secret.clone());
        }
        let secret = self.store.get(name)?;
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), secret.clone());
        Ok(secret)
    }

    fn set(&self, name: &str, value: &SecretString) -> Result<()> {
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.store.set(name, value)
    }

    fn delete(&self, name: &str) -> Result<()> {
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.store.delete(name)
    }

    fn backend(&self) -> &str {
        self.store.backend()
    }
}

impl Paaf {
    /// The tags and groups a selector can choose hosts by.
    pub fn selectable(&self) -> crate::config::Selectable {
        self.config().selectable()
    }

    /// The hosts `selector` chooses, in config order (an error lists what there is when it
    /// chooses none).
    pub fn select_hosts(&self, selector: &HostSelector) -> Result<Vec<HostConfig>> {
        Ok(self
            .config()
            .select(selector)?
            .into_iter()
            .cloned()
            .collect())
    }

    /// The plan of a fan-out (`--dry-run`): the hosts, and what runs on each, how many at once.
    pub fn plan_fan_out(
        &self,
        selector: &HostSelector,
        job: &FanOutJob,
        options: FanOutOptions,
    ) -> Result<super::Plan> {
        let hosts = self.select_hosts(selector)?;
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        let mut steps = vec![format!(
            "at most {} hosts at once; a host not started yet is skipped on cancel",
            options.parallel.max(1)
        )];
        steps.extend(hosts.iter().map(|h| {
            format!(
                "{}: run {} (within {}s)",
                h.name,
                job.command_on(h),
                options.timeout.unwrap_or(h.command_timeout).as_secs()
            )
        }));
        Ok(super::Plan {
            action: job.kind().name(),
            target: host_sample(&names),
            now: None,
            steps,
            warning: None,
        })
    }

    /// Runs `job` on every host `selector` chooses, `options.parallel` at a time, after one
    /// confirmation (typed for a dangerous runbook). `cancel` stops hosts not started yet.
    pub async fn fan_out(
        &self,
        selector: &HostSelector,
        job: FanOutJob,
        options: FanOutOptions,
        confirm: &Confirmation,
        sink: Arc<dyn FanOutSink>,
        cancel: CancellationToken,
    ) -> Result<FanOutReport> {
        let hosts = self.select_hosts(selector)?;
        match &job {
            FanOutJob::Command(c) if c.trim().is_empty() => {
                return Err(Error::invalid("the command is empty"));
            }
            FanOutJob::Runbook(r) => runbooks::check_name(r)?,
            FanOutJob::Command(_) => {}
        }
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        let what = fan_out_question(&job, &names);
        match &job {
            FanOutJob::Runbook(r) if runbooks::is_dangerous(r) => {
                confirm.require_typed(&what, r)?
            }
            _ => confirm.require(&what)?,
        }
        let started = Instant::now();
        let described = selector.describe();
        let parts: Vec<NewAction> = names
            .iter()
            .map(|n| NewAction::new(job.kind(), n, job.text()))
            .collect();
        let (parent, ids) =
            self.begin_with_parts(&NewAction::new(job.kind(), &described, job.text()), &parts)?;
        let _cancellable = self.cancellable(parent, &cancel);
        let (runs, sent) = self
            .run_everywhere(&hosts, &ids, &job, options, sink, &cancel)
            .await;
        let ends: Vec<PartEnd> = runs
            .iter()
            .zip(&sent)
            .map(|(r, s)| part_end(r, *s))
            .collect();
        let report = FanOutReport {
            action_id: parent,
            job,
            selector: described,
            tally: tally(&runs),
            groups: group(&runs),
            hosts: runs,
            elapsed_ms: started.elapsed().as_millis() as u64,
            cancelled: cancel.is_cancelled(),
        };
        self.finish_with_parts(parent, &ends, &report.summary(), report.failure());
        Ok(report)
    }

    /// Journals an action over many hosts, the parent and a row per host under it, all running,
    /// in one write before any host is contacted; their ids.
    pub(super) fn begin_with_parts(
        &self,
        parent: &NewAction<'_>,
        parts: &[NewAction<'_>],
    ) -> Result<(i64, Vec<i64>)> {
        self.journal.begin_with_parts(&self.actor, parent, parts)
    }

    /// Writes how the hosts of action `parent` ended and the parent, in one write: succeeded
    /// without a `failure`, else unknown when a host's end is unknown, else failed.
    pub(super) fn finish_with_parts(
        &self,
        parent: i64,
        ends: &[PartEnd],
        summary: &str,
        failure: Option<ErrorCode>,
    ) {
        let state = match failure {
            None => ActionState::Succeeded,
            Some(_) if ends.iter().any(|e| e.state == ActionState::Unknown) => ActionState::Unknown,
            Some(_) => ActionState::Failed,
        };
        if let Err(e) = self.journal.finish_with_parts(
            parent,
            ends,
            state,
            summary,
            failure.map(ErrorCode::as_str),
        ) {
            tracing::error!("could not record how action {parent} and its hosts ended: {e}");
        }
    }

    /// Runs the job on each host, at most `options.parallel` at once, starting them in config
    /// order (as parallel-ssh does: a cancel leaves the last hosts of the list unstarted);
    /// each run with whether it reached its host (a connection was open when it ended).
    async fn run_everywhere(
        &self,
        hosts: &[HostConfig],
        ids: &[i64],
        job: &FanOutJob,
        options: FanOutOptions,
        sink: Arc<dyn FanOutSink>,
        cancel: &CancellationToken,
    ) -> (Vec<HostRun>, Vec<bool>) {
        // buffer_unordered takes the next host from the list only when a slot is free, and
        // polls it at once: hosts start in list order, and one taken after a cancel is skipped.
        // Indices, not references: a closure over borrowed items makes the future not Send.
        let secrets = ReadOnce::new(self.secrets.as_ref());
        let files = Arc::new(LoginFiles::default());
        let shared = (&secrets, &files);
        let mut finished = futures::stream::iter(0..hosts.len())
            .map(|index| self.run_on(index, &hosts[index], job, options, shared, cancel))
            .buffer_unordered(options.parallel.max(1));
        let mut runs: Vec<Option<(HostRun, bool)>> = vec![None; hosts.len()];
        let mut so_far = FanOutTally {
            total: hosts.len(),
            ..FanOutTally::default()
        };
        while let Some((index, outcome, sent, duration_ms)) = finished.next().await {
            let run = HostRun {
                host: hosts[index].name.clone(),
                outcome,
                duration_ms,
                action_id: ids[index],
            };
            match &run.outcome {
                HostOutcome::NotStarted => so_far.not_started += 1,
                o => {
                    so_far.done += 1;
                    if !o.ok() {
                        so_far.failed += 1;
                    }
                }
            }
            sink.host_done(&run, &so_far);
            runs[index] = Some((run, sent));
        }
        // The stream yields every host once.
        runs.into_iter().flatten().unzip()
    }

    /// The job on the host at `index`, unless the fan-out was cancelled before it started:
    /// its outcome, whether it reached the host, and how long it took.
    async fn run_on(
        &self,
        index: usize,
        host: &HostConfig,
        job: &FanOutJob,
        options: FanOutOptions,
        (secrets, files): (&ReadOnce<'_>, &Arc<LoginFiles>),
        cancel: &CancellationToken,
    ) -> (usize, HostOutcome, bool, u64) {
        if cancel.is_cancelled() {
            return (index, HostOutcome::NotStarted, false, 0);
        }
        let begun = Instant::now();
        let sent = Arc::new(AtomicBool::new(false));
        let result = match self.target_with(host, secrets, files) {
            Err(e) => Err(e),
            Ok(target) => {
                let (cmd, connected) = (job.command_on(host), sent.clone());
                let timeout = options.timeout.unwrap_or(host.command_timeout);
                let max = host.max_output_bytes;
                self.pool
                    .with_connection(target, move |c: &mut Connection| {
                        connected.store(true, Ordering::SeqCst);
                        c.exec(&cmd, timeout, max)
                    })
                    .await
            }
        };
        let outcome = match result {
            Ok(out) => HostOutcome::Ran(out),
            Err(e) => HostOutcome::Failed {
                error: ErrorInfo::from(&e),
            },
        };
        let duration_ms = begun.elapsed().as_millis() as u64;
        (index, outcome, sent.load(Ordering::SeqCst), duration_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(host: &str, exit_code: i32, stdout: &str) -> HostRun {
        HostRun {
            host: host.into(),
            outcome: HostOutcome::Ran(ExecOutput {
                exit_code,
                signal: None,
                stdout: stdout.into(),
                stderr: String::new(),
                stdout_truncated: false,
                stderr_truncated: false,
                duration_ms: 5,
            }),
            duration_ms: 7,
            action_id: 1,
        }
    }

    fn failed(host: &str, error: Error) -> HostRun {
        HostRun {
            host: host.into(),
            outcome: HostOutcome::Failed {
                error: ErrorInfo::from(&error),
            },
            duration_ms: 3,
            action_id: 2,
        }
    }

    fn unreachable(host: &str) -> Error {
        Error::Unreachable {
            host: host.into(),
            address: format!("{host}:22"),
            reason: "connection refused".into(),
        }
    }

    #[test]
    fn identical_results_form_one_group_largest_first() {
        let runs = vec![
            failed("a", unreachable("a")),
            ran("b", 0, "ok\n"),
            ran("c", 1, "disk full\n"),
            ran("d", 0, "ok\n"),
            failed("e", unreachable("e")),
            ran("f", 0, "ok\n"),
            ran("g", 0, "different\n"),
        ];
        let groups = group(&runs);
        let seen: Vec<(String, Vec<String>, bool)> = groups
            .iter()
            .map(|g| (g.label.clone(), g.hosts.clone(), g.ok))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "exit 0".to_string(),
                    vec!["b".into(), "d".into(), "f".into()],
                    true
                ),
                (
                    "unreachable".to_string(),
                    vec!["a".into(), "e".into()],
                    false
                ),
                ("exit 1".to_string(), vec!["c".into()], false),
                ("exit 0".to_string(), vec!["g".into()], true),
            ]
        );
        let t = tally(&runs);
        assert_eq!((t.total, t.done, t.failed, t.not_started), (7, 7, 3, 0));
    }

    fn report(runs: Vec<HostRun>, cancelled: bool) -> FanOutReport {
        FanOutReport {
            action_id: 1,
            job: FanOutJob::Command("uptime".into()),
            selector: "'web-*'".into(),
            tally: tally(&runs),
            groups: group(&runs),
            hosts: runs,
            elapsed_ms: 1234,
            cancelled,
        }
    }

    #[test]
    fn the_failure_says_what_a_caller_acts_on() {
        assert_eq!(report(vec![ran("a", 0, "")], false).failure(), None);
        let mixed = report(
            vec![
                failed("a", unreachable("a")),
                ran("b", 3, ""),
                ran("c", 0, ""),
            ],
            false,
        );
        assert_eq!(mixed.failure(), Some(ErrorCode::RemoteCommand));
        assert_eq!(
            mixed.summary(),
            "3 hosts: 1 unreachable, 1 exit 3, 1 ok in 1.2s"
        );
        let down = report(vec![ran("a", 0, ""), failed("b", unreachable("b"))], false);
        assert_eq!(down.failure(), Some(ErrorCode::Unreachable));
        let mut stopped = vec![ran("a", 0, "")];
        stopped.push(HostRun {
            host: "b".into(),
            outcome: HostOutcome::NotStarted,
            duration_ms: 0,
            action_id: 3,
        });
        let stopped = report(stopped, true);
        assert_eq!(stopped.failure(), Some(ErrorCode::Cancelled));
        assert_eq!(stopped.tally.not_started, 1);
        assert_eq!(stopped.groups[1].label, "not started");
    }

    #[test]
    fn a_host_whose_command_was_cut_short_after_sending_is_unknown_in_the_journal() {
        let cancelled = failed("a", Error::Cancelled { what: "x".into() });
        assert_eq!(part_end(&cancelled, true).state, ActionState::Unknown);
        assert_eq!(part_end(&cancelled, false).state, ActionState::Failed);
        let refused = failed("a", unreachable("a"));
        assert_eq!(part_end(&refused, false).state, ActionState::Failed);
        assert_eq!(
            part_end(&ran("a", 0, ""), true).state,
            ActionState::Succeeded
        );
        assert_eq!(part_end(&ran("a", 2, ""), true).state, ActionState::Failed);
    }

    #[test]
    fn live_groups_regroup_the_hosts_finished_so_far() {
        let seen = std::sync::Mutex::new(Vec::new());
        let sink = LiveGroups::new(|p: FanOutProgress| {
            let groups: Vec<(String, Vec<String>)> =
                p.groups.into_iter().map(|g| (g.label, g.hosts)).collect();
            seen.lock().unwrap().push((p.tally.done, groups));
        });
        let runs = [
            ran("b", 1, "no\n"),
            ran("a", 0, "ok\n"),
            ran("c", 0, "ok\n"),
        ];
        for (i, run) in runs.iter().enumerate() {
            let tally = FanOutTally {
                total: 3,
                done: i + 1,
                ..FanOutTally::default()
            };
            sink.host_done(run, &tally);
        }
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], (1, vec![("exit 1".into(), vec!["b".into()])]));
        assert_eq!(
            seen[2],
            (
                3,
                vec![
                    ("exit 0".into(), vec!["a".into(), "c".into()]),
                    ("exit 1".into(), vec!["b".into()])
                ]
            )
        );
    }

    /// Hears the hosts in the order they finish; cancels `cancel` at the first, if given.
    struct Order {
        seen: std::sync::Mutex<Vec<(String, bool)>>,
        cancel_at_first: Option<CancellationToken>,
    }

    impl FanOutSink for Order {
        fn host_done(&self, run: &HostRun, _: &FanOutTally) {
            if let Some(token) = &self.cancel_at_first {
                token.cancel();
            }
            let mut seen = self.seen.lock().unwrap();
            seen.push((run.host.clone(), run.outcome.not_started()));
        }
    }

    /// Eight hosts `h-1`..`h-8` on loopback ports nothing listens on (refused at once).
    fn refusing_fleet(dir: &std::path::Path) -> Paaf {
        refusing_fleet_with(
            dir,
            "{ type = \"agent\" }",
            Arc::new(crate::secrets::MemoryStore::default()),
        )
    }

    fn refusing_fleet_with(dir: &std::path::Path, auth: &str, store: Arc<dyn SecretStore>) -> Paaf {
        let mut text = format!("known_hosts = \"{}\"\n", dir.join("known_hosts").display());
        for n in 1..=8 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            text.push_str(&format!(
                "[[hosts]]\nname = \"h-{n}\"\naddress = \"127.0.0.1\"\nport = {port}\nuser = \"ops\"\nauth = {auth}\n"
            ));
        }
        Paaf::open_text(&dir.join("config.toml"), &text, store, "test").unwrap()
    }

    /// A secret store that counts its reads.
    #[derive(Default)]
    struct Counting {
        inner: crate::secrets::MemoryStore,
        reads: std::sync::atomic::AtomicUsize,
    }

    impl SecretStore for Counting {
        fn get(&self, name: &str) -> Result<SecretString> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.get(name)
        }
        fn set(&self, name: &str, value: &SecretString) -> Result<()> {
            self.inner.set(name, value)
        }
        fn delete(&self, name: &str) -> Result<()> {
            self.inner.delete(name)
        }
        fn backend(&self) -> &str {
            "counting"
        }
    }

    #[tokio::test]
    async fn hosts_sharing_a_secret_read_it_once_per_fan_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Counting::default());
        store
            .set("fleet-password", &SecretString::from("s3cret-pw"))
            .unwrap();
        let paaf = refusing_fleet_with(
            dir.path(),
            "{ type = \"password\", password = \"keyring:fleet-password\" }",
            store.clone(),
        );
        let report = paaf
            .fan_out(
                &every_host(),
                FanOutJob::Command("true".into()),
                FanOutOptions::default(),
                &Confirmation::Yes,
                Arc::new(NoFanOutProgress),
                CancellationToken::new(),
            )
            .await
            .unwrap();
        assert_eq!(report.tally.done, 8);
        assert!(
            report
                .hosts
                .iter()
                .all(|h| h.outcome.label() == "unreachable"),
            "each host got its password and was tried: {report:#?}"
        );
        assert_eq!(store.reads.load(Ordering::SeqCst), 1);
        assert!(!format!("{report:?}").contains("s3cret-pw"));
    }

    fn every_host() -> HostSelector {
        HostSelector {
            names: vec!["h-*".into()],
            ..HostSelector::default()
        }
    }

    /// `true` on every host, one at a time.
    async fn one_by_one(
        paaf: &Paaf,
        sink: Arc<dyn FanOutSink>,
        cancel: CancellationToken,
    ) -> FanOutReport {
        let one_at_a_time = FanOutOptions {
            parallel: 1,
            timeout: None,
        };
        paaf.fan_out(
            &every_host(),
            FanOutJob::Command("true".into()),
            one_at_a_time,
            &Confirmation::Yes,
            sink,
            cancel,
        )
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hosts_start_in_config_order_and_a_cancel_leaves_the_last_ones_unstarted() {
        let dir = tempfile::tempdir().unwrap();
        let paaf = refusing_fleet(dir.path());
        let names: Vec<String> = (1..=8).map(|n| format!("h-{n}")).collect();
        let order = Arc::new(Order {
            seen: std::sync::Mutex::new(Vec::new()),
            cancel_at_first: None,
        });
        let report = one_by_one(&paaf, order.clone(), CancellationToken::new()).await;
        assert_eq!(report.tally.failed, 8, "{report:#?}");
        let finished: Vec<String> = order
            .seen
            .lock()
            .unwrap()
            .iter()
            .map(|(h, _)| h.clone())
            .collect();
        assert_eq!(finished, names, "one at a time, they finish as they start");

        let cancel = CancellationToken::new();
        let order = Arc::new(Order {
            seen: std::sync::Mutex::new(Vec::new()),
            cancel_at_first: Some(cancel.clone()),
        });
        let report = one_by_one(&paaf, order.clone(), cancel).await;
        assert!(report.cancelled);
        let unstarted: Vec<&str> = report
            .hosts
            .iter()
            .filter(|h| h.outcome.not_started())
            .map(|h| h.host.as_str())
            .collect();
        assert_eq!(
            unstarted,
            names[1..].iter().map(String::as_str).collect::<Vec<_>>()
        );
        let journaled: Vec<(String, ActionState)> = paaf
            .journal
            .parts(report.action_id)
            .unwrap()
            .into_iter()
            .map(|r| (r.target, r.state))
            .collect();
        assert_eq!(journaled.len(), 8);
        assert_eq!(journaled[0], ("h-1".into(), ActionState::Failed));
        assert!(journaled.iter().all(|(_, s)| *s == ActionState::Failed));
    }

    #[test]
    fn the_question_names_the_job_the_count_and_a_sample() {
        let names = ["web-1", "web-2", "web-3", "web-4", "web-5", "web-6"];
        assert_eq!(
            fan_out_question(&FanOutJob::Command("uptime".into()), &names),
            "running `uptime` on 6 hosts: web-1, web-2, web-3, web-4, web-5 and 1 more"
        );
        assert_eq!(
            fan_out_question(&FanOutJob::Runbook("__wipe".into()), &names[..1]),
            "runbook __wipe on 1 host: web-1"
        );
    }
}
