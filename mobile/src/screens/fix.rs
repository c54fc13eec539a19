//! Fix: the configured hosts and the cloud servers (feature `cloud`) in one list with their
//! status read now; a reboot (a server's stop and start too) behind a confirmation that shows
//! the plan, its live progress, cancel, and its verified (or unverified) result; a host's
//! runbooks and commands (`commands`). Each row has its metrics (a host's CPU, load, memory and
//! disk; a server's own) already levelled against their thresholds and worded.

mod commands;
pub use commands::{CommandAsk, CommandKind, CommandRun, HostRunbooks};

use super::{Store, shown};
use crate::RUNTIME;
use paaf_core::host_metrics::{HostMetrics, Reading};
use paaf_core::inventory::{HostState, HostStatus};
use paaf_core::thresholds::Level;
use paaf_core::{CancellationToken, Confirmation, ErrorInfo, ProgressEvent};
use std::sync::{Arc, Mutex};

/// What a machine of the list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MachineKind {
    /// A `[[hosts]]` entry, reached over SSH.
    Host,
    /// A server of a `[[clouds]]` account.
    Server,
}

/// What can be done to a machine from this screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MachineAction {
    Reboot,
    /// Servers only.
    Stop,
    /// Servers only.
    Start,
}

/// One metric of a row, as the app shows it: a label, a worded value and its level.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MachineMetric {
    /// `CPU`, `load`, `memory`, `disk /var`; a server's own label.
    pub label: String,
    /// The value worded: `42 %`, `0.81`, `3.2 GB`; `unknown` when it could not be read.
    pub shown: String,
    /// Where it stands between nothing and its maximum (0 to 1), for a bar; null when it has
    /// no maximum (load) or no value.
    pub ratio: Option<f64>,
    /// The value against its thresholds (`[defaults.thresholds]`, the host's own, or the
    /// server's): the colour the app gives it.
    pub level: Level,
}

/// One row of the list.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Machine {
    pub kind: MachineKind,
    /// The host's name, or the server's name (its id when it has none).
    pub name: String,
    /// What actions take: the host's name, the server's provider id.
    pub id: String,
    /// The server's `[[clouds]]` account; null for a host.
    pub account: Option<String>,
    /// Where it is: `deploy@10.0.0.5:22`, `aws prod eu-west-1`.
    pub place: String,
    /// The status in a word or two: `up`, `down`, `key unknown`, `running`, `stopped`, ...
    pub status: String,
    /// True when it is up / running.
    pub up: bool,
    /// Uptime of a host that answered.
    pub uptime_secs: Option<u64>,
    /// Why a host could not be read.
    pub error: Option<ErrorInfo>,
    /// The actions the row offers.
    pub actions: Vec<MachineAction>,
    /// Runbooks and commands can run on it (a host).
    pub runs_commands: bool,
    /// A host's CPU, load, memory and fullest disk (from its Prometheus node exporter, else
    /// read over SSH), or the metrics a server reports; empty when none was read.
    pub metrics: Vec<MachineMetric>,
    /// The most worrying level of `metrics` (`ok` without any): the row's colour.
    pub level: Level,
}

/// A percentage metric of a host.
fn percent(label: String, reading: Reading) -> MachineMetric {
    MachineMetric {
        label,
        shown: reading
            .value
            .map_or_else(|| "unknown".into(), |v| format!("{v:.0} %")),
        ratio: reading.value.map(|v| (v / 100.0).clamp(0.0, 1.0)),
        level: reading.level,
    }
}

/// A host's metrics as rows: CPU, load, memory, the fullest disk.
fn host_metrics(m: HostMetrics) -> Vec<MachineMetric> {
    let disk = m
        .disk_mount
        .map_or_else(|| "disk".into(), |mount| format!("disk {mount}"));
    vec![
        percent("CPU".into(), m.cpu_percent),
        MachineMetric {
            label: "load".into(),
            shown: m
                .load1
                .value
                .map_or_else(|| "unknown".into(), |v| format!("{v:.2}")),
            ratio: None,
            level: m.load1.level,
        },
        percent("memory".into(), m.memory_percent),
        percent(disk, m.disk_percent),
    ]
}

/// The row's level: its most worrying metric's, `ok` without metrics.
fn worst(metrics: &[MachineMetric]) -> Level {
    metrics.iter().map(|m| m.level).max().unwrap_or(Level::Ok)
}

/// The confirmation an action waits for.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PowerAsk {
    pub machine: Machine,
    pub action: MachineAction,
    /// "Reboot web-1 (deploy@10.0.0.5:22)? It is up 3 days."
    pub question: String,
    /// The commands and API calls, in order, as they will be sent.
    pub steps: Vec<String>,
    /// What would stop it as things are (the host is down, its key is unknown).
    pub warning: Option<String>,
}

/// An action under way or just ended.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PowerRun {
    pub machine: Machine,
    pub action: MachineAction,
    /// The journal's action id, once the first progress arrived.
    pub action_id: Option<i64>,
    /// Each step seen, in words, in order.
    pub progress: Vec<String>,
    pub finished: bool,
    /// Ended with proof (a new boot id, the provider's state or operation).
    pub verified: bool,
    /// How it ended, in words (null while it runs).
    pub outcome: Option<String>,
    /// Why it failed (code `cancelled` when stopped).
    pub error: Option<ErrorInfo>,
}

/// What the Fix screen shows.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct FixState {
    /// A read of the list or of a plan is under way.
    pub busy: bool,
    pub machines: Vec<Machine>,
    /// Cloud accounts or regions that could not be listed (`aws prod eu-west-1: auth-failed`).
    pub unreadable: Vec<String>,
    /// The confirmation dialog, when an action waits for a yes.
    pub asking: Option<PowerAsk>,
    /// The running (or last) action.
    pub running: Option<PowerRun>,
    /// The runbooks of the host chosen (`showRunbooks`).
    pub runbooks: Option<HostRunbooks>,
    /// The confirmation of a runbook or command, when one waits for a yes.
    pub command_asking: Option<CommandAsk>,
    /// The running (or last) runbook or command.
    pub command_running: Option<CommandRun>,
    pub error: Option<ErrorInfo>,
}

super::screen_model!(
    FixScreen,
    FixState,
    FixListener,
    "Implemented by the app: receives each new state of the Fix screen on a paaf thread."
);

/// The Fix screen's model.
#[derive(uniffi::Object)]
pub struct FixScreen {
    core: Arc<paaf_core::Paaf>,
    store: Arc<Store<FixState>>,
    /// Stops the running action.
    cancel: Mutex<Option<CancellationToken>>,
}

fn host_row(h: HostStatus) -> Machine {
    let state = h.state();
    let metrics = h.metrics.clone().map(host_metrics).unwrap_or_default();
    Machine {
        level: worst(&metrics),
        metrics,
        kind: MachineKind::Host,
        place: format!("{}@{}:{}", h.user, h.address, h.port),
        id: h.name.clone(),
        name: h.name,
        account: None,
        status: state.label().into(),
        up: state == HostState::Up,
        uptime_secs: h.uptime_secs,
        error: h.error,
        actions: vec![MachineAction::Reboot],
        runs_commands: true,
    }
}

/// The host rows and (feature `cloud`) the server rows, and what could not be read.
async fn read_machines(core: &paaf_core::Paaf) -> paaf_core::Result<(Vec<Machine>, Vec<String>)> {
    #[allow(unused_mut)]
    let mut machines: Vec<Machine> = core.status(&[]).await?.into_iter().map(host_row).collect();
    #[allow(unused_mut)]
    let mut unreadable = Vec::new();
    #[cfg(feature = "cloud")]
    if !core.config().clouds.is_empty() {
        let inventory = core.servers(None).await?;
        machines.extend(inventory.servers.into_iter().map(cloud::server_row));
        unreadable.extend(inventory.errors.iter().map(|e| {
            format!(
                "{} {}{}: {}",
                e.provider,
                e.account,
                e.region
                    .as_ref()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default(),
                e.error.code.as_str()
            )
        }));
    }
    Ok((machines, unreadable))
}

/// A server row reached a library built without `cloud` (it lists none: never expected).
#[cfg(not(feature = "cloud"))]
fn without_cloud() -> paaf_core::Error {
    paaf_core::Error::NotFound {
        what: "cloud server",
        name: String::new(),
        hint: Some("this library was built without the `cloud` feature".into()),
    }
}

impl FixScreen {
    pub(crate) fn open(core: Arc<paaf_core::Paaf>) -> Arc<Self> {
        let screen = Arc::new(FixScreen {
            core,
            store: Store::new(FixState::default()),
            cancel: Mutex::new(None),
        });
        screen.refresh();
        screen
    }

    fn failed(&self, reason: &str) {
        self.store.update(|s| {
            s.error = Some(ErrorInfo {
                code: paaf_core::ErrorCode::InvalidInput,
                message: reason.into(),
                phase: None,
            })
        });
    }
}

#[uniffi::export]
impl FixScreen {
    /// Reads every host's and server's status again.
    pub fn refresh(&self) {
        let (core, store) = (self.core.clone(), self.store.clone());
        store.update(|s| {
            s.busy = true;
            s.error = None;
        });
        RUNTIME.spawn(async move {
            let read = read_machines(&core).await;
            store.update(|s| {
                s.busy = false;
                match read {
                    Ok((machines, unreadable)) => {
                        s.machines = machines;
                        s.unreadable = unreadable;
                    }
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }

    /// Asks the confirmation of `action` on the machine of the list named `name` (`asking`),
    /// with its plan read now.
    pub fn ask(&self, name: String, action: MachineAction) {
        let state = self.store.get();
        let Some(machine) = state.machines.into_iter().find(|m| m.name == name) else {
            self.failed(&format!("{name} is not in the list: refresh it"));
            return;
        };
        if !machine.actions.contains(&action) {
            self.failed(&format!("{action:?} is not offered for {name}"));
            return;
        }
        if state.running.as_ref().is_some_and(|r| !r.finished) {
            self.failed("an action is still running: wait for it or cancel it");
            return;
        }
        let (core, store) = (self.core.clone(), self.store.clone());
        store.update(|s| {
            s.busy = true;
            s.error = None;
        });
        RUNTIME.spawn(async move {
            let plan = match machine.kind {
                MachineKind::Host => core.plan_reboot(&machine.id).await,
                #[cfg(feature = "cloud")]
                MachineKind::Server => {
                    core.plan_server_power(
                        machine.account.as_deref(),
                        &machine.id,
                        cloud::power_action(action),
                    )
                    .await
                }
                #[cfg(not(feature = "cloud"))]
                MachineKind::Server => Err(without_cloud()),
            };
            store.update(|s| {
                s.busy = false;
                match plan {
                    Ok(plan) => {
                        let verb = match action {
                            MachineAction::Reboot => "Reboot",
                            MachineAction::Stop => "Stop",
                            MachineAction::Start => "Start",
                        };
                        let now = plan.now.map(|n| format!(" Now: {n}.")).unwrap_or_default();
                        s.asking = Some(PowerAsk {
                            question: format!("{verb} {}?{now}", plan.target),
                            machine,
                            action,
                            steps: plan.steps,
                            warning: plan.warning,
                        });
                    }
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }

    /// The user said no: nothing happens.
    pub fn dismiss(&self) {
        self.store.update(|s| s.asking = None);
    }

    /// The user said yes: starts the action asked; each step reaches `running.progress`,
    /// then its outcome, then the list is read again.
    pub fn confirm(&self) {
        let Some(asked) = self.store.get().asking else {
            return;
        };
        let token = CancellationToken::new();
        *self.cancel.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        let (core, store) = (self.core.clone(), self.store.clone());
        store.update(|s| {
            s.asking = None;
            s.error = None;
            s.running = Some(PowerRun {
                machine: asked.machine.clone(),
                action: asked.action,
                action_id: None,
                progress: Vec::new(),
                finished: false,
                verified: false,
                outcome: None,
                error: None,
            });
        });
        RUNTIME.spawn(async move {
            let ended = match asked.machine.kind {
                MachineKind::Host => {
                    let progress = store.clone();
                    let sink = move |event: ProgressEvent| {
                        progress.update(|s| {
                            if let Some(run) = s.running.as_mut() {
                                run.action_id = Some(event.action_id);
                                run.progress.push(event.step.describe());
                            }
                        })
                    };
                    core.reboot(&asked.machine.id, &Confirmation::Yes, Arc::new(sink), token)
                        .await
                        .map(|report| {
                            let secs = report.elapsed_ms / 1000;
                            (
                                true,
                                format!("rebooted: a new boot id, up again in {secs} s"),
                            )
                        })
                }
                #[cfg(feature = "cloud")]
                MachineKind::Server => cloud::power(&core, &store, &asked, token).await,
                #[cfg(not(feature = "cloud"))]
                MachineKind::Server => Err(without_cloud()),
            };
            store.update(|s| {
                if let Some(run) = s.running.as_mut() {
                    run.finished = true;
                    match ended {
                        Ok((verified, outcome)) => {
                            run.verified = verified;
                            run.outcome = Some(outcome);
                        }
                        Err(e) => run.error = Some(shown(&e)),
                    }
                }
            });
            if let Ok((machines, unreadable)) = read_machines(&core).await {
                store.update(|s| {
                    s.machines = machines;
                    s.unreadable = unreadable;
                });
            }
        });
    }

    /// Stops the running action: before a reboot command is sent nothing happens to the
    /// host; after, paaf stops waiting (the outcome is then unknown, code `cancelled`).
    pub fn cancel(&self) {
        if let Some(token) = self.cancel.lock().unwrap_or_else(|p| p.into_inner()).take() {
            token.cancel();
        }
    }
}

impl Drop for FixScreen {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[cfg(feature = "cloud")]
mod cloud {
    use super::{Machine, MachineAction, MachineKind, MachineMetric, PowerAsk, Store, worst};
    use crate::screens::FixState;
    use paaf_core::cloud::{PowerAction, Server, ServerMetric, ServerStatus};
    use paaf_core::{CancellationToken, Confirmation, ServerProgress};

    pub(super) fn power_action(action: MachineAction) -> PowerAction {
        match action {
            MachineAction::Reboot => PowerAction::Reboot,
            MachineAction::Stop => PowerAction::Stop,
            MachineAction::Start => PowerAction::Start,
        }
    }

    pub(super) fn server_row(s: Server) -> Machine {
        let up = s.status == ServerStatus::Running;
        let actions = match s.status {
            ServerStatus::Running => vec![MachineAction::Reboot, MachineAction::Stop],
            ServerStatus::Stopped => vec![MachineAction::Start],
            _ => Vec::new(),
        };
        let metrics: Vec<MachineMetric> = s.metrics.into_iter().map(metric_row).collect();
        Machine {
            level: worst(&metrics),
            metrics,
            kind: MachineKind::Server,
            name: s.name.clone().unwrap_or_else(|| s.id.clone()),
            id: s.id,
            place: format!("{} {} {}", s.provider, s.account, s.region),
            account: Some(s.account),
            status: s.raw_state,
            up,
            uptime_secs: None,
            error: None,
            actions,
            runs_commands: false,
        }
    }

    /// A metric a server reports, worded with its unit.
    fn metric_row(m: ServerMetric) -> MachineMetric {
        let unit = m.unit.map(|u| format!(" {u}")).unwrap_or_default();
        MachineMetric {
            label: m.label.unwrap_or_else(|| "metric".into()),
            shown: m.value.map_or_else(
                || "unknown".into(),
                |v| format!("{}{unit}", (v * 100.0).round() / 100.0),
            ),
            ratio: m.ratio.map(|r| r.clamp(0.0, 1.0)),
            level: m.level,
        }
    }

    /// Runs the power action; (verified, outcome in words).
    pub(super) async fn power(
        core: &paaf_core::Paaf,
        store: &Store<FixState>,
        asked: &PowerAsk,
        token: CancellationToken,
    ) -> paaf_core::Result<(bool, String)> {
        let outcome = core
            .server_power(
                asked.machine.account.as_deref(),
                &asked.machine.id,
                power_action(asked.action),
                &Confirmation::Yes,
                token,
                |p: &ServerProgress| {
                    store.update(|s| {
                        if let Some(run) = s.running.as_mut() {
                            run.action_id = Some(p.action_id);
                            run.progress.push(format!(
                                "{} after {:.1} s",
                                p.server.raw_state,
                                p.elapsed_ms as f64 / 1000.0
                            ));
                        }
                    })
                },
            )
            .await?;
        Ok(match outcome.unverified_reason() {
            None => (true, format!("{}: done", outcome.server.raw_state)),
            Some(why) => (false, format!("unverified: {why}")),
        })
    }
}
