//! Fleet reboot: the SSH hosts a selector chooses, rebooted a batch at a time. Each host's
//! reboot is verified as `paaf reboot` verifies one (a new boot id from the same machine),
//! then its health command (the `--health-cmd`, else the host's test command) must succeed;
//! the next batch starts only when every host of this one passed. A health command that keeps
//! saying no is the answer: after [`HEALTH_TRIES`] tries the host is unhealthy and the roll
//! stops, without waiting out the host's `test_timeout_secs`. The first failure stops
//! the roll, and the report says which hosts are done, which were sent the reboot but not
//! verified (mid-reboot) or came back unhealthy, and which were never touched. One
//! confirmation covers them all; the journal gets one parent action and a row per host.

use super::{Confirmation, Paaf};
use crate::config::{HostConfig, HostSelector, host_count, host_sample};
use crate::error::{Error, ErrorCode, ErrorInfo, Phase, Result};
use crate::events::{CancellationToken, Progress, ProgressEvent, ProgressSink, Step};
use crate::journal::{ActionKind, ActionState, NewAction, PartEnd};
use crate::power::RebootReport;
use crate::power::ssh::RebootJob;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Answers other than exit 0 a host's health command may give after its new boot id before
/// the host is unhealthy. More than one, as a service may still be starting when sshd answers;
/// with the reboot's backoff between them (about 1 s, then 2 s) that gives it some 3 s.
pub const HEALTH_TRIES: u32 = 3;

/// How a fleet reboot runs.
#[derive(Debug, Clone, Default)]
pub struct FleetRebootOptions {
    /// Hosts rebooted at once (at least 1).
    pub batch: usize,
    /// Must succeed on each host after its new boot id: [`HEALTH_TRIES`] tries, all within
    /// the host's `test_timeout_secs`; `None`: the host's `test_command`.
    pub health_command: Option<String>,
}

/// Where one host of a fleet reboot ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum FleetHostState {
    /// Rebooted (new boot id, same machine) and healthy.
    Done { report: RebootReport },
    /// Rebooted (new boot id), but its health command said no [`HEALTH_TRIES`] times, or
    /// could not run within `test_timeout_secs`.
    Unhealthy { error: ErrorInfo },
    /// The reboot was sent but not verified: the host may still be rebooting.
    MidReboot { error: ErrorInfo },
    /// Refused before the reboot was sent (unreachable, host key, sudo, ...).
    Failed { error: ErrorInfo },
    /// Never started: the roll stopped (or was cancelled) before its batch.
    Untouched,
}

impl FleetHostState {
    /// The word a table shows: `done`, `unhealthy`, `mid-reboot`, `failed`, `untouched`.
    pub fn label(&self) -> &'static str {
        match self {
            FleetHostState::Done { .. } => "done",
            FleetHostState::Unhealthy { .. } => "unhealthy",
            FleetHostState::MidReboot { .. } => "mid-reboot",
            FleetHostState::Failed { .. } => "failed",
            FleetHostState::Untouched => "untouched",
        }
    }

    /// The error that ended this host's reboot, if one did.
    pub fn error(&self) -> Option<&ErrorInfo> {
        match self {
            FleetHostState::Unhealthy { error }
            | FleetHostState::MidReboot { error }
            | FleetHostState::Failed { error } => Some(error),
            FleetHostState::Done { .. } | FleetHostState::Untouched => None,
        }
    }
}

/// One host of a fleet reboot.
#[derive(Debug, Clone, Serialize)]
pub struct FleetRebootHost {
    pub host: String,
    /// Its batch, from 1.
    pub batch: usize,
    #[serde(flatten)]
    pub state: FleetHostState,
    /// The journal row of this host's reboot.
    pub action_id: i64,
}

/// Everything a fleet reboot did.
#[derive(Debug, Clone, Serialize)]
pub struct FleetRebootReport {
    /// The parent journal action.
    pub action_id: i64,
    /// The selector as typed (`--tag role=web`).
    pub selector: String,
    pub batch_size: usize,
    pub batches: usize,
    /// The command that decided each host's health; `None`: each host's test command.
    pub health_command: Option<String>,
    /// Every host, in config order.
    pub hosts: Vec<FleetRebootHost>,
    pub elapsed_ms: u64,
    pub cancelled: bool,
}

impl FleetRebootReport {
    /// The hosts in `label`'s state, in config order.
    pub fn named(&self, label: &str) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|h| h.state.label() == label)
            .map(|h| h.host.as_str())
            .collect()
    }

    /// Why the roll stopped: cancelled, else the first host's error; `None` when every host
    /// is done.
    pub fn failure(&self) -> Option<ErrorCode> {
        if self.cancelled && self.hosts.iter().any(|h| h.state.label() != "done") {
            return Some(ErrorCode::Cancelled);
        }
        self.hosts
            .iter()
            .find_map(|h| h.state.error().map(|e| e.code))
    }

    /// One line for the journal and a summary: `10 hosts: 5 done, 1 unhealthy, 4 untouched`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = ["done", "unhealthy", "mid-reboot", "failed", "untouched"]
            .iter()
            .filter_map(|label| match self.named(label).len() {
                0 => None,
                n => Some(format!("{n} {label}")),
            })
            .collect();
        let hosts = host_count(self.hosts.len());
        format!(
            "{hosts}: {} in {:.1}s",
            parts.join(", "),
            self.elapsed_ms as f64 / 1000.0
        )
    }
}

/// Hears of a fleet reboot as it goes (a progress line per step, a live list).
pub trait FleetRebootSink: Send + Sync {
    /// Batch `number` of `of` starts on these hosts.
    fn batch(&self, number: usize, of: usize, hosts: &[String]);
    /// A step of one host's reboot.
    fn step(&self, host: &str, event: ProgressEvent);
    /// One host's reboot ended.
    fn host_done(&self, host: &FleetRebootHost);
}

/// What the confirmation of a fleet reboot is about: the count, a sample, the batch size.
pub fn fleet_reboot_question(names: &[&str], batch: usize) -> String {
    format!(
        "reboot of {}, {} at a time",
        host_sample(names),
        batch.max(1)
    )
}

/// Hands a host's steps to the fleet's sink with the host's name, noting when its boot id
/// changed.
struct HostSteps {
    host: String,
    sink: Arc<dyn FleetRebootSink>,
    rebooted: Arc<AtomicBool>,
}

impl ProgressSink for HostSteps {
    fn emit(&self, event: ProgressEvent) {
        if matches!(event.step, Step::BootIdChanged { .. }) {
            self.rebooted.store(true, Ordering::SeqCst);
        }
        self.sink.step(&self.host, event);
    }
}

/// Where a host ended after its reboot returned `result`, `sent` saying whether the reboot
/// command went out and `rebooted` whether its boot id changed since.
fn host_state(result: Result<RebootReport>, sent: bool, rebooted: bool) -> FleetHostState {
    match result {
        Ok(report) => FleetHostState::Done { report },
        Err(e) => {
            let error = ErrorInfo::from(&e);
            // After a new boot id only the health command is left to fail.
            let health = matches!(
                &e,
                Error::RemoteCommand { .. }
                    | Error::Timeout {
                        phase: Phase::TestCommand,
                        ..
                    }
            );
            match (sent, rebooted && health) {
                (false, _) => FleetHostState::Failed { error },
                (true, true) => FleetHostState::Unhealthy { error },
                (true, false) => FleetHostState::MidReboot { error },
            }
        }
    }
}

/// How a host's journal row ends: `state` as its reboot left it, `duration_ms` from its
/// start.
fn part_end(host: &FleetRebootHost, state: ActionState, duration_ms: u64) -> PartEnd {
    let (result, error_code) = match &host.state {
        FleetHostState::Done { report } => (report.summary(), None),
        FleetHostState::Untouched => (
            "not started: the fleet reboot stopped before this host's batch".to_string(),
            Some(ErrorCode::Cancelled.as_str()),
        ),
        FleetHostState::Unhealthy { error }
        | FleetHostState::MidReboot { error }
        | FleetHostState::Failed { error } => (error.message.clone(), Some(error.code.as_str())),
    };
    PartEnd {
        id: host.action_id,
        state,
        result,
        error_code,
        finished_at: chrono::Utc::now(),
        duration_ms,
    }
}

fn check_options(options: &FleetRebootOptions) -> Result<()> {
    if options.batch == 0 {
        return Err(Error::invalid("--batch must be at least 1"));
    }
    if let Some(c) = &options.health_command
        && c.trim().is_empty()
    {
        return Err(Error::invalid(
            "the health command is empty: give one, or leave --health-cmd out to use each host's test_command",
        ));
    }
    Ok(())
}

/// The host as its fleet reboot sees it: the health command instead of its test command.
fn with_health(host: &HostConfig, options: &FleetRebootOptions) -> HostConfig {
    let mut host = host.clone();
    if let Some(c) = &options.health_command {
        host.test_command = c.clone();
    }
    host
}

impl Paaf {
    /// The plan of a fleet reboot (`--dry-run`): the batches and what each host's reboot does.
    pub fn plan_fleet_reboot(
        &self,
        selector: &HostSelector,
        options: &FleetRebootOptions,
    ) -> Result<super::Plan> {
        check_options(options)?;
        let hosts = self.select_hosts(selector)?;
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        let mut steps = vec![
            format!("each host: read the boot id, send its reboot command, wait for the connection to drop, knock on its SSH port every 250 ms, log in until the boot id changed, then its health command: {HEALTH_TRIES} tries at most"),
            "the next batch starts only when every host of this one is done; the first failure stops the roll".to_string(),
        ];
        for (number, batch) in hosts.chunks(options.batch).enumerate() {
            let parts: Vec<String> = batch
                .iter()
                .map(|h| {
                    let h = with_health(h, options);
                    format!(
                        "{} ({}; health: {} within {}s)",
                        h.name,
                        h.reboot.command,
                        h.test_command,
                        h.reboot.test_timeout.as_secs()
                    )
                })
                .collect();
            steps.push(format!("batch {}: {}", number + 1, parts.join(", ")));
        }
        Ok(super::Plan {
            action: ActionKind::Reboot.name(),
            target: host_sample(&names),
            now: None,
            steps,
            warning: None,
        })
    }

    /// Reboots every host `selector` chooses, `options.batch` at a time, after one
    /// confirmation; each batch verified (new boot id, health command) before the next, the
    /// first failure stopping the roll. `cancel` stops waiting: hosts not started stay
    /// untouched, those under way end mid-reboot.
    pub async fn fleet_reboot(
        &self,
        selector: &HostSelector,
        options: FleetRebootOptions,
        confirm: &Confirmation,
        sink: Arc<dyn FleetRebootSink>,
        cancel: CancellationToken,
    ) -> Result<FleetRebootReport> {
        check_options(&options)?;
        let hosts: Vec<HostConfig> = self
            .select_hosts(selector)?
            .iter()
            .map(|h| with_health(h, &options))
            .collect();
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        confirm.require(&fleet_reboot_question(&names, options.batch))?;
        // Secrets missing: fail before anything is journaled as running.
        for h in &hosts {
            self.target(h)?;
        }
        let started = Instant::now();
        let described = selector.describe();
        let detail = match &options.health_command {
            Some(c) => format!("{} at a time, health: {c}", options.batch),
            None => format!(
                "{} at a time, health: each host's test_command",
                options.batch
            ),
        };
        let parts: Vec<NewAction> = hosts
            .iter()
            .map(|h| NewAction::new(ActionKind::Reboot, &h.name, &h.reboot.command))
            .collect();
        let (parent, ids) = self.begin_with_parts(
            &NewAction::new(ActionKind::Reboot, &described, &detail),
            &parts,
        )?;
        let _cancellable = self.cancellable(parent, &cancel);

        let batches = hosts.len().div_ceil(options.batch);
        // Each host with its journal state and duration.
        let mut ended: Vec<(FleetRebootHost, ActionState, u64)> = Vec::with_capacity(hosts.len());
        let mut stopped = false;
        for (number, (batch, batch_ids)) in hosts
            .chunks(options.batch)
            .zip(ids.chunks(options.batch))
            .enumerate()
        {
            if stopped || cancel.is_cancelled() {
                ended.extend(batch.iter().zip(batch_ids).map(|(h, id)| {
                    let host = FleetRebootHost {
                        host: h.name.clone(),
                        batch: number + 1,
                        state: FleetHostState::Untouched,
                        action_id: *id,
                    };
                    (host, ActionState::Failed, 0)
                }));
                continue;
            }
            let batch_names: Vec<String> = batch.iter().map(|h| h.name.clone()).collect();
            sink.batch(number + 1, batches, &batch_names);
            let runs = batch
                .iter()
                .zip(batch_ids)
                .map(|(h, id)| self.reboot_in_fleet(h, *id, number + 1, &sink, &cancel));
            for (host, state, ms) in futures::future::join_all(runs).await {
                stopped |= host.state.label() != "done";
                sink.host_done(&host);
                ended.push((host, state, ms));
            }
        }

        let ends: Vec<PartEnd> = ended
            .iter()
            .map(|(h, state, ms)| part_end(h, *state, *ms))
            .collect();
        let report = FleetRebootReport {
            action_id: parent,
            selector: described,
            batch_size: options.batch,
            batches,
            health_command: options.health_command,
            hosts: ended.into_iter().map(|(h, _, _)| h).collect(),
            elapsed_ms: started.elapsed().as_millis() as u64,
            cancelled: cancel.is_cancelled(),
        };
        self.finish_with_parts(parent, &ends, &report.summary(), report.failure());
        Ok(report)
    }

    /// One host's verified reboot, journaled in row `id`: where it ended, the row's state
    /// and how many ms it took.
    async fn reboot_in_fleet(
        &self,
        host: &HostConfig,
        id: i64,
        batch: usize,
        sink: &Arc<dyn FleetRebootSink>,
        cancel: &CancellationToken,
    ) -> (FleetRebootHost, ActionState, u64) {
        let begun = Instant::now();
        let make_target = || self.target(host);
        let sent = AtomicBool::new(false);
        let rebooted = Arc::new(AtomicBool::new(false));
        let result = RebootJob {
            pool: &self.pool,
            host,
            target: &make_target,
            progress: Progress {
                action_id: id,
                started: begun,
                sink: Arc::new(HostSteps {
                    host: host.name.clone(),
                    sink: sink.clone(),
                    rebooted: rebooted.clone(),
                }),
            },
            cancel: cancel.clone(),
            sending: Box::new(|| {
                self.journal.mark_running(id)?;
                sent.store(true, Ordering::SeqCst);
                Ok(())
            }),
            external: None,
            test_tries: Some(HEALTH_TRIES),
        }
        .run()
        .await;
        self.pool.forget(&self.target_without_secrets(host));
        if let Ok(report) = &result {
            self.record_down_time(id, &host.name, report);
        }
        let sent = sent.load(Ordering::SeqCst);
        let row = match &result {
            Ok(_) => ActionState::Succeeded,
            Err(e) => ActionState::after_error(e, sent),
        };
        let ended = FleetRebootHost {
            host: host.name.clone(),
            batch,
            state: host_state(result, sent, rebooted.load(Ordering::SeqCst)),
            action_id: id,
        };
        (ended, row, begun.elapsed().as_millis() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(states: Vec<FleetHostState>, cancelled: bool) -> FleetRebootReport {
        FleetRebootReport {
            action_id: 1,
            selector: "--tag role=web".into(),
            batch_size: 2,
            batches: states.len().div_ceil(2),
            health_command: Some("true".into()),
            hosts: states
                .into_iter()
                .enumerate()
                .map(|(i, state)| FleetRebootHost {
                    host: format!("web-{}", i + 1),
                    batch: i / 2 + 1,
                    state,
                    action_id: i as i64 + 2,
                })
                .collect(),
            elapsed_ms: 2500,
            cancelled,
        }
    }

    fn done() -> FleetHostState {
        FleetHostState::Done {
            report: RebootReport {
                host: "web".into(),
                rebooted: true,
                boot_id_before: "a".into(),
                boot_id_after: "b".into(),
                shutdown_ms: 1,
                boot_ms: 2,
                test_ms: 3,
                elapsed_ms: 6,
            },
        }
    }

    fn timeout(phase: Phase) -> Error {
        Error::Timeout {
            host: "web".into(),
            phase,
            after: std::time::Duration::from_secs(3),
        }
    }

    fn said_no(command: &str) -> Error {
        Error::RemoteCommand {
            host: "web".into(),
            command: command.into(),
            exit_code: 1,
            stderr: String::new(),
        }
    }

    #[test]
    fn a_host_ends_by_whether_its_reboot_was_sent_and_how_far_it_got() {
        let test = timeout(Phase::TestCommand);
        assert_eq!(host_state(Err(test), true, true).label(), "unhealthy");
        assert_eq!(
            host_state(Err(said_no("systemctl is-active nginx")), true, true).label(),
            "unhealthy"
        );
        // A reboot command that said no once sent: the host may or may not be going down.
        assert_eq!(
            host_state(Err(said_no("shutdown -r now")), true, false).label(),
            "mid-reboot"
        );
        assert_eq!(
            host_state(Err(timeout(Phase::Boot)), true, false).label(),
            "mid-reboot"
        );
        assert_eq!(
            host_state(Err(timeout(Phase::Connect)), false, false).label(),
            "failed"
        );
    }

    #[test]
    fn the_report_names_each_group_and_the_first_failure() {
        let r = report(
            vec![
                done(),
                FleetHostState::Unhealthy {
                    error: ErrorInfo::from(&timeout(Phase::TestCommand)),
                },
                FleetHostState::Untouched,
            ],
            false,
        );
        assert_eq!(r.named("done"), ["web-1"]);
        assert_eq!(r.named("untouched"), ["web-3"]);
        assert_eq!(r.failure(), Some(ErrorCode::Timeout));
        assert_eq!(
            r.summary(),
            "3 hosts: 1 done, 1 unhealthy, 1 untouched in 2.5s"
        );
        assert_eq!(report(vec![done(), done()], false).failure(), None);
        let stopped = report(vec![done(), FleetHostState::Untouched], true);
        assert_eq!(stopped.failure(), Some(ErrorCode::Cancelled));
        let untouched = part_end(&stopped.hosts[1], ActionState::Failed, 0);
        assert!(
            untouched.result.starts_with("not started"),
            "{}",
            untouched.result
        );
    }

    #[test]
    fn the_question_names_the_count_a_sample_and_the_batch() {
        let names = ["web-1", "web-2", "web-3", "web-4", "web-5", "web-6"];
        assert_eq!(
            fleet_reboot_question(&names, 2),
            "reboot of 6 hosts: web-1, web-2, web-3, web-4, web-5 and 1 more, 2 at a time"
        );
    }
}
