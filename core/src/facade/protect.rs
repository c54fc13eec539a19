//! Protect and Stand down. Each is a plan first — every step with its target's state now, for
//! one confirmation — then a run that reports each step as it goes. The journal is the memory
//! between runs: every action a step takes is tagged with the step, so a run after a crash
//! does not redo what succeeded, and Stand down finds what Protect (and anyone else during the
//! incident) changed.

use super::flags::FlagServices;
use super::{Confirmation, FlagTarget, Paaf};
use crate::config::{PlaybookConfig, ServerStepAction, StepAction};
use crate::error::{Error, ErrorInfo, Result};
use crate::events::{CancellationToken, ProgressEvent, ProgressSink};
use crate::flags::FlagState;
use crate::incident::notify::NoticeEvent;
use crate::incident::steps::{
    Observed, PlanStatus, PlannedStep, RunKind, RunPlan, RunReport, StepEvent, StepOutcome,
    StepSink, StepStatus, StepUpdate,
};
use crate::incident::{Incident, IncidentEventKind, IncidentPhase};
use crate::journal::{self, ActionData, ActionKind, ActionRecord, ActionState, StepTag};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run's step does.
#[derive(Debug, Clone)]
enum Work {
    /// A playbook's protect step.
    Step(StepAction),
    /// A flag put back as it was before the incident changed it.
    FlagBack { target: FlagTarget, enabled: bool },
    /// A cloud server powered back (started after a stop, stopped after a start).
    ServerBack {
        account: String,
        region: String,
        server_id: String,
        start: bool,
    },
    /// A silence of the incident ended.
    ExpireSilence { source: String, silence_id: String },
    /// Listed in the plan, never run: it cannot be undone.
    Irreversible,
}

/// A step of a run: its plan, what it does, and how it runs.
struct RunStep {
    planned: PlannedStep,
    work: Work,
    /// An earlier step of the same run acts on the same target: the state confirmed is not
    /// the state this step will meet, so it is not compared with it.
    follows: bool,
}

/// What a step acts on, for finding two steps of one run on the same target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    Flag(FlagTarget),
    Host(String),
    Server { account: String, server: String },
}

impl RunStep {
    /// True when it runs only if its target is still as confirmed: read right before it runs.
    fn compares_before(&self) -> bool {
        self.planned.status == PlanStatus::ToRun
            && !self.follows
            && self.planned.observed != Observed::Nothing
    }

    /// True when a step of `group` acts on its target.
    fn follows_in(&self, group: &[RunStep]) -> bool {
        let target = self.work.target();
        target.is_some() && group.iter().any(|s| s.work.target() == target)
    }
}

impl Work {
    /// What it acts on; `None` when nothing it does is compared before it runs (a silence).
    fn target(&self) -> Option<Target> {
        match self {
            Work::Step(StepAction::Flag {
                backend,
                project,
                key,
                environment,
                ..
            }) => Some(Target::Flag(flag_target(
                backend,
                project,
                key,
                environment,
            ))),
            Work::FlagBack { target, .. } => Some(Target::Flag(target.clone())),
            Work::Step(StepAction::Reboot { host } | StepAction::Runbook { host, .. }) => {
                Some(Target::Host(host.clone()))
            }
            Work::Step(StepAction::Server {
                account, server, ..
            }) => Some(Target::Server {
                account: account.clone(),
                server: server.clone(),
            }),
            Work::ServerBack {
                account, server_id, ..
            } => Some(Target::Server {
                account: account.clone(),
                server: server_id.clone(),
            }),
            Work::Step(StepAction::Silence { .. })
            | Work::ExpireSilence { .. }
            | Work::Irreversible => None,
        }
    }

    /// The flag it switches, if it switches one.
    fn flag(&self) -> Option<FlagTarget> {
        match self.target() {
            Some(Target::Flag(target)) => Some(target),
            _ => None,
        }
    }

    /// The state its target is left in when it succeeds; `None` when that cannot be told
    /// beforehand (a reboot's new boot id, a runbook's doing).
    fn leaves(&self) -> Option<Observed> {
        match self {
            Work::Step(StepAction::Flag { enabled, .. }) | Work::FlagBack { enabled, .. } => {
                Some(Observed::Flag { enabled: *enabled })
            }
            Work::Step(StepAction::Server {
                action: action @ (ServerStepAction::Stop | ServerStepAction::Start),
                ..
            }) => Some(Observed::Server {
                status: if *action == ServerStepAction::Start {
                    "running"
                } else {
                    "stopped"
                }
                .into(),
            }),
            Work::ServerBack { start, .. } => Some(Observed::Server {
                status: if *start { "running" } else { "stopped" }.into(),
            }),
            Work::ExpireSilence { .. } => Some(Observed::Silence {
                state: "expired".into(),
            }),
            _ => None,
        }
    }

    /// True when its target already is as it would leave it (the flag already off, the
    /// server already stopped, the silence already expired).
    fn done_already(&self, observed: &Observed) -> bool {
        self.leaves().as_ref() == Some(observed)
    }
}

/// Marks each step that an earlier step of the same run acts on the same target before
/// (`follows`), and plans it against the state that earlier step leaves rather than the
/// state read now: `flag a OFF` then `flag a ON` runs both, `stop web-1` then `start web-1`
/// too.
fn chain_same_targets(steps: &mut [RunStep]) {
    let mut left: HashMap<Target, Option<Observed>> = HashMap::new();
    for step in steps {
        let Some(target) = step.work.target() else {
            continue;
        };
        if let Some(before) = left.get(&target) {
            step.follows = true;
            if matches!(
                step.planned.status,
                PlanStatus::ToRun | PlanStatus::AlreadyAsWanted
            ) {
                let as_wanted = before.as_ref().is_some_and(|o| step.work.done_already(o));
                step.planned.status = match as_wanted {
                    true => PlanStatus::AlreadyAsWanted,
                    false => PlanStatus::ToRun,
                };
            }
        }
        let after = match step.planned.status {
            PlanStatus::Impossible { .. } | PlanStatus::OutcomeUnknown { .. } => {
                Some(step.planned.observed.clone()).filter(|o| *o != Observed::Nothing)
            }
            _ => step.work.leaves(),
        };
        left.insert(target, after);
    }
}

/// What reading a step's target back after it ended well showed.
enum ReadBack {
    /// The target is as the step left it: these words say so.
    Proven(String),
    /// The action verified itself (a reboot's new boot id): its result is the proof.
    OwnCheck,
    /// No proof: why.
    NotProven(String),
}

/// What a step's target looks like now.
struct Look {
    state_now: String,
    observed: Observed,
    error: Option<ErrorInfo>,
    /// A flag's state as its service gave it (with its version): the state a switch right
    /// after is conditional on, without reading it a second time.
    flag: Option<FlagState>,
}

impl Look {
    fn of(state_now: String, observed: Observed) -> Look {
        Look {
            state_now,
            observed,
            error: None,
            flag: None,
        }
    }

    fn failed(e: &Error) -> Look {
        Look {
            error: Some(ErrorInfo::from(e)),
            ..Look::of(
                format!("unknown ({})", e.code().as_str()),
                Observed::Nothing,
            )
        }
    }
}

fn on_off(enabled: bool) -> &'static str {
    if enabled { "ON" } else { "OFF" }
}

/// A flag's state as plans and proofs word it: `OFF in production`.
fn flag_words(enabled: bool, environment: &str) -> String {
    format!("{} in {environment}", on_off(enabled))
}

/// A flag's look from its state read now.
fn flag_look(target: &FlagTarget, state: Result<FlagState>) -> Look {
    match state {
        Ok(s) => Look {
            flag: Some(s.clone()),
            ..Look::of(
                flag_words(s.enabled, &target.environment),
                Observed::Flag { enabled: s.enabled },
            )
        },
        Err(e) => Look::failed(&e),
    }
}

/// `41d`, `3h`, `12m`, `40s`.
fn uptime(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// The journal's kind of the action a protect step takes.
fn step_kind(action: &StepAction) -> ActionKind {
    match action {
        StepAction::Flag { enabled: true, .. } => ActionKind::FlagOn,
        StepAction::Flag { enabled: false, .. } => ActionKind::FlagOff,
        StepAction::Reboot { .. } => ActionKind::Reboot,
        StepAction::Server { action, .. } => match action {
            ServerStepAction::Reboot | ServerStepAction::RolloutRestart => ActionKind::ServerReboot,
            ServerStepAction::HardReboot => ActionKind::ServerHardReboot,
            ServerStepAction::Stop => ActionKind::ServerStop,
            ServerStepAction::Start => ActionKind::ServerStart,
        },
        StepAction::Runbook { .. } => ActionKind::Runbook,
        StepAction::Silence { .. } => ActionKind::Silence,
    }
}

fn flag_target(backend: &str, project: &str, key: &str, environment: &str) -> FlagTarget {
    FlagTarget {
        backend: Some(backend.to_string()),
        project: project.to_string(),
        key: key.to_string(),
        environment: environment.to_string(),
    }
}

/// How an earlier run's action for this step bears on this run.
fn prior_status(prior: Option<&ActionRecord>) -> PlanStatus {
    match prior.map(|a| (a.id, a.state)) {
        Some((id, ActionState::Succeeded | ActionState::Unverified)) => {
            PlanStatus::Done { action_id: id }
        }
        Some((id, ActionState::Unknown | ActionState::Pending | ActionState::Running)) => {
            PlanStatus::OutcomeUnknown { action_id: id }
        }
        _ => PlanStatus::ToRun,
    }
}

/// Passes a verified reboot's progress (or a server's state) on as a step's progress.
#[derive(Clone)]
struct Forward {
    sink: Arc<dyn StepSink>,
    incident_id: i64,
    run: RunKind,
    index: u32,
    started: Instant,
    /// The run's flag services, connected once for all its steps.
    flags: Arc<FlagServices>,
}

impl Forward {
    fn update(&self, update: StepUpdate) {
        self.sink.emit(StepEvent {
            incident_id: self.incident_id,
            run: self.run,
            index: self.index,
            elapsed_ms: self.started.elapsed().as_millis() as u64,
            update,
        });
    }

    #[cfg(feature = "cloud")]
    fn detail(&self, detail: String) {
        self.update(StepUpdate::Progress {
            detail,
            progress: None,
        });
    }
}

impl ProgressSink for Forward {
    fn emit(&self, event: ProgressEvent) {
        self.update(StepUpdate::Progress {
            detail: event.step.describe(),
            progress: Some(event),
        });
    }
}

impl Paaf {
    /// The playbook incident follows; `name` names one for an incident that has none yet.
    fn playbook_of(&self, incident: &Incident, name: Option<&str>) -> Result<PlaybookConfig> {
        let config = self.config();
        match (&incident.playbook, name) {
            (Some(p), None) => Ok(config.playbook(p)?.clone()),
            (Some(p), Some(n)) if p == n => Ok(config.playbook(p)?.clone()),
            (Some(p), Some(n)) => Err(Error::Conflict {
                what: format!(
                    "incident #{} follows playbook `{p}`, not `{n}`",
                    incident.id
                ),
                how: "protect with its own playbook (leave --playbook out)".into(),
            }),
            (None, Some(n)) => {
                let playbook = config.playbook(n)?.clone();
                self.journal.set_incident_playbook(incident.id, n)?;
                Ok(playbook)
            }
            (None, None) => Err(Error::NotFound {
                what: "playbook",
                name: String::new(),
                hint: Some(format!(
                    "incident #{} has none ({}); name one with --playbook NAME ({})",
                    incident.id,
                    match &incident.alert {
                        Some(a) => format!("no playbook matches its alert {}", a.name),
                        None => "it was opened without an alert".into(),
                    },
                    config.playbook_listing()
                )),
            }),
        }
    }

    /// The plan of Protect for incident `id` (or the current one): its playbook's protect
    /// steps, each with its target's state read now and what the journal says an earlier run
    /// did. `playbook` names the playbook of an incident that has none yet.
    pub async fn protect_plan(&self, id: Option<i64>, playbook: Option<&str>) -> Result<RunPlan> {
        let incident = self.open_incident_of(id)?;
        let playbook = self.playbook_of(&incident, playbook)?;
        let steps = self.protect_steps(&playbook);
        let works: Vec<Work> = steps.iter().map(|(_, a)| Work::Step(a.clone())).collect();
        let looks = self
            .look_flags(works.iter(), &FlagServices::default())
            .await;
        let mut planned = futures::future::join_all(steps.into_iter().zip(looks).map(
            |((planned, action), look)| self.plan_protect_step(&incident, planned, action, look),
        ))
        .await;
        chain_same_targets(&mut planned);
        let typed = typed_confirmation(planned.iter().map(|s| &s.planned));
        Ok(RunPlan {
            incident_id: incident.id,
            run: RunKind::Protect,
            playbook: Some(playbook.name.clone()),
            steps: planned.into_iter().map(|s| s.planned).collect(),
            typed_confirmation: typed,
        })
    }

    /// The playbook's steps, not yet looked at.
    fn protect_steps(&self, playbook: &PlaybookConfig) -> Vec<(PlannedStep, StepAction)> {
        playbook
            .protect
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let description = step.action.describe();
                let typed = match &step.action {
                    StepAction::Runbook { runbook, .. }
                        if crate::runbooks::is_dangerous(runbook) =>
                    {
                        Some(runbook.clone())
                    }
                    _ => None,
                };
                let planned = PlannedStep {
                    index: i as u32,
                    key: format!("protect/{}/{i}/{description}", playbook.name),
                    kind: step_kind(&step.action),
                    description,
                    state_now: String::new(),
                    observed: Observed::Nothing,
                    status: PlanStatus::ToRun,
                    error: None,
                    parallel: step.parallel,
                    continue_on_failure: step.on_failure == crate::config::OnFailure::Continue,
                    typed_confirmation: typed,
                };
                (planned, step.action.clone())
            })
            .collect()
    }

    async fn plan_protect_step(
        &self,
        incident: &Incident,
        mut planned: PlannedStep,
        action: StepAction,
        look: Option<Look>,
    ) -> RunStep {
        let prior = self.journal.step_action(incident.id, &planned.key);
        planned.status = prior_status(prior.ok().flatten().as_ref());
        let work = Work::Step(action.clone());
        let look = match look {
            Some(look) => look,
            None => self.look(&work, None).await,
        };
        if planned.status == PlanStatus::ToRun && work.done_already(&look.observed) {
            planned.status = PlanStatus::AlreadyAsWanted;
        }
        #[cfg(not(feature = "cloud"))]
        if matches!(action, StepAction::Server { .. }) {
            planned.status = PlanStatus::Impossible {
                reason:
                    "this build of paaf has no cloud providers (the phone library leaves them out)"
                        .into(),
            };
        }
        planned.state_now = look.state_now;
        planned.observed = look.observed;
        planned.error = look.error;
        RunStep {
            planned,
            work,
            follows: false,
        }
    }

    /// What the flags among `works` look like now, by position (`None` for the other works),
    /// read together: each flag service asked once for all of its flags.
    async fn look_flags<'w>(
        &self,
        works: impl Iterator<Item = &'w Work>,
        services: &FlagServices,
    ) -> Vec<Option<Look>> {
        let flags: Vec<Option<FlagTarget>> = works.map(Work::flag).collect();
        let targets: Vec<FlagTarget> = flags.iter().flatten().cloned().collect();
        let mut states = self.flag_states(&targets, services).await.into_iter();
        flags
            .iter()
            .map(|flag| {
                let target = flag.as_ref()?;
                Some(flag_look(target, states.next()?))
            })
            .collect()
    }

    /// What the work's target looks like now (a flag through `services`, when given).
    async fn look(&self, work: &Work, services: Option<&FlagServices>) -> Look {
        match work {
            Work::Step(StepAction::Flag {
                backend,
                project,
                key,
                environment,
                ..
            }) => {
                let target = flag_target(backend, project, key, environment);
                flag_look(&target, self.flag_state_via(&target, services).await)
            }
            Work::FlagBack { target, .. } => {
                flag_look(target, self.flag_state_via(target, services).await)
            }
            Work::Step(StepAction::Reboot { host }) => self.look_host(host, true).await,
            Work::Step(StepAction::Runbook { host, .. }) => self.look_host(host, false).await,
            Work::Step(StepAction::Server {
                account, server, ..
            }) => self.look_server(account, None, server).await,
            Work::ServerBack {
                account,
                region,
                server_id,
                ..
            } => self.look_server(account, Some(region), server_id).await,
            Work::Step(StepAction::Silence {
                source, matchers, ..
            }) => match self.matching_alerts(source, matchers).await {
                Ok(n) => Look::of(format!("{n} matching alerts firing"), Observed::Nothing),
                Err(e) => Look::failed(&e),
            },
            Work::ExpireSilence { source, silence_id } => match self.silences(Some(source)).await {
                Ok(all) => match all.iter().find(|s| s.id == *silence_id) {
                    Some(s) => {
                        let state = format!("{:?}", s.state).to_lowercase();
                        Look::of(state.clone(), Observed::Silence { state })
                    }
                    None => Look::of("gone".into(), Observed::Nothing),
                },
                Err(e) => Look::failed(&e),
            },
            Work::Irreversible => Look::of(String::new(), Observed::Nothing),
        }
    }

    /// A host's state; `compare`: its boot id is what a reboot step checks again.
    async fn look_host(&self, host: &str, compare: bool) -> Look {
        match self.probe_hosts(&[host.to_string()], false, 1).await {
            Ok(mut all) if !all.is_empty() => {
                let s = all.remove(0);
                match (&s.error, &s.boot_id) {
                    (Some(e), _) => Look {
                        error: Some(e.clone()),
                        ..Look::of(format!("DOWN ({})", e.code.as_str()), Observed::Nothing)
                    },
                    (None, boot_id) => Look::of(
                        format!(
                            "up {}",
                            s.uptime_secs.map(uptime).unwrap_or_else(|| "?".into())
                        ),
                        match (compare, boot_id) {
                            (true, Some(b)) => Observed::Host { boot_id: b.clone() },
                            _ => Observed::Nothing,
                        },
                    ),
                }
            }
            Ok(_) => Look::of("unknown".into(), Observed::Nothing),
            Err(e) => Look::failed(&e),
        }
    }

    #[cfg(feature = "cloud")]
    async fn look_server(&self, account: &str, region: Option<&str>, server: &str) -> Look {
        match self.server_now(account, region, server).await {
            Ok(s) => Look::of(
                format!("{} ({})", s.status, s.raw_state),
                Observed::Server {
                    status: s.status.to_string(),
                },
            ),
            Err(e) => Look::failed(&e),
        }
    }

    #[cfg(not(feature = "cloud"))]
    async fn look_server(&self, _: &str, _: Option<&str>, _: &str) -> Look {
        Look::of("unknown".into(), Observed::Nothing)
    }

    /// A server as its provider reports it now: read directly when its region is known,
    /// else found by id or name in the account's list.
    #[cfg(feature = "cloud")]
    async fn server_now(
        &self,
        account: &str,
        region: Option<&str>,
        server: &str,
    ) -> Result<crate::cloud::Server> {
        match region {
            Some(region) => {
                let config = self
                    .config()
                    .clouds
                    .iter()
                    .find(|c| c.name == account)
                    .cloned()
                    .ok_or_else(|| Error::NotFound {
                        what: "cloud account",
                        name: account.to_string(),
                        hint: Some("see the [[clouds]] entries of the config".into()),
                    })?;
                crate::cloud::connect(&config, self.secrets.as_ref())?
                    .read(region, server)
                    .await
            }
            None => self.find_server(Some(account), server).await,
        }
    }

    /// How many alerts of `source` match every one of `matchers` and fire now.
    async fn matching_alerts(
        &self,
        source: &str,
        matchers: &[crate::monitor::alertmanager::Matcher],
    ) -> Result<usize> {
        let sources = self.alerts(Some(source)).await?;
        Ok(sources
            .iter()
            .flat_map(|s| s.alerts.iter())
            .filter(|a| a.state == "firing")
            .filter(|a| crate::config::labels_match(matchers, &a.labels))
            .count())
    }

    /// Runs the protect `plan` after its one confirmation (a typed one when it holds a
    /// dangerous runbook): parallel steps together, the others in order, stopping at a failed
    /// step whose `on_failure` is `stop`; a step done by an earlier run, or whose target
    /// changed since the plan was read, is reported and not run. Every action lands in the
    /// incident; `sink` sees each step start, progress and end; `cancel` stops the run (and
    /// waiting for a running reboot or server).
    pub async fn protect(
        &self,
        plan: &RunPlan,
        confirm: &Confirmation,
        sink: Arc<dyn StepSink>,
        cancel: CancellationToken,
    ) -> Result<RunReport> {
        let incident = self.incident_of_plan(plan, RunKind::Protect)?;
        let playbook = self.playbook_of(&incident, None)?;
        let current = self.protect_steps(&playbook);
        let stale = plan.playbook.as_deref() != Some(&playbook.name)
            || current.len() != plan.steps.len()
            || current
                .iter()
                .zip(&plan.steps)
                .any(|((c, _), p)| c.key != p.key || c.index != p.index);
        if stale {
            return Err(Error::invalid(
                "the playbook changed since this plan was read: read the plan again and confirm it (CLI: run `paaf incident protect` again)",
            ));
        }
        let mut steps: Vec<RunStep> = current
            .into_iter()
            .zip(&plan.steps)
            .map(|((mut planned, action), seen)| {
                // What the person confirmed: the state shown and whether it runs.
                planned.status = seen.status.clone();
                planned.observed = seen.observed.clone();
                planned.state_now = seen.state_now.clone();
                RunStep {
                    planned,
                    work: Work::Step(action),
                    follows: false,
                }
            })
            .collect();
        chain_same_targets(&mut steps);
        let what = format!(
            "protect of incident #{} (playbook {}: {} steps)",
            incident.id,
            playbook.name,
            steps
                .iter()
                .filter(|s| s.planned.status == PlanStatus::ToRun)
                .count()
        );
        match typed_confirmation(steps.iter().map(|s| &s.planned)) {
            Some(expected) => confirm.require_typed(&what, &expected)?,
            None => confirm.require(&what)?,
        }
        let incident = self.change_phase(
            &incident,
            IncidentPhase::Protecting,
            &format!("protect: playbook {}", playbook.name),
        )?;
        let report = self
            .run_steps(&incident, RunKind::Protect, steps, sink, cancel)
            .await;
        let complete = report.ok() && !report.stopped && report.count(StepStatus::NotRun) == 0;
        self.record_run(&incident, &report);
        if complete {
            self.change_phase(&incident, IncidentPhase::Protected, &report.summary())?;
        }
        Ok(report)
    }

    /// The plan of Stand down for incident `id` (or the current one): every reversible change
    /// of the incident reversed, newest first — each flag back to its state before the
    /// incident's first change of it, each stopped server started (a started one stopped), each
    /// silence expired — and what cannot be undone (reboots, runbooks, commands) listed as
    /// such.
    pub async fn stand_down_plan(&self, id: Option<i64>) -> Result<RunPlan> {
        let incident = self.open_incident_of(id)?;
        let actions = self.journal.incident_actions(incident.id)?;
        let reversals = reversals_of(&actions);
        let looks = self
            .look_flags(reversals.iter().map(|r| &r.work), &FlagServices::default())
            .await;
        let planned = futures::future::join_all(
            reversals
                .into_iter()
                .zip(looks)
                .enumerate()
                .map(|(i, (r, look))| self.plan_reversal(&incident, i as u32, r, look)),
        )
        .await;
        Ok(RunPlan {
            incident_id: incident.id,
            run: RunKind::StandDown,
            playbook: incident.playbook.clone(),
            steps: planned.into_iter().map(|s| s.planned).collect(),
            typed_confirmation: None,
        })
    }

    async fn plan_reversal(
        &self,
        incident: &Incident,
        index: u32,
        r: Reversal,
        look: Option<Look>,
    ) -> RunStep {
        let mut planned = PlannedStep {
            index,
            key: r.key,
            kind: r.kind,
            description: r.description,
            state_now: String::new(),
            observed: Observed::Nothing,
            status: PlanStatus::ToRun,
            error: None,
            parallel: false,
            continue_on_failure: true,
            typed_confirmation: None,
        };
        if let Some(reason) = r.impossible {
            planned.status = PlanStatus::Impossible { reason };
            return RunStep {
                planned,
                work: r.work,
                follows: false,
            };
        }
        let prior = self.journal.step_action(incident.id, &planned.key);
        planned.status = prior_status(prior.ok().flatten().as_ref());
        let look = match look {
            Some(look) => look,
            None => self.look(&r.work, None).await,
        };
        if planned.status == PlanStatus::ToRun && r.work.done_already(&look.observed) {
            planned.status = PlanStatus::AlreadyAsWanted;
        }
        planned.state_now = look.state_now;
        planned.observed = look.observed;
        planned.error = look.error;
        RunStep {
            planned,
            work: r.work,
            follows: false,
        }
    }

    /// Runs the stand-down `plan` after its one confirmation: each reversal in order (newest
    /// change first), a failing one never stopping the others; what cannot be undone is
    /// reported as skipped. The incident moves to `standing-down`.
    pub async fn stand_down(
        &self,
        plan: &RunPlan,
        confirm: &Confirmation,
        sink: Arc<dyn StepSink>,
        cancel: CancellationToken,
    ) -> Result<RunReport> {
        let incident = self.incident_of_plan(plan, RunKind::StandDown)?;
        let actions = self.journal.incident_actions(incident.id)?;
        let mut by_key: HashMap<String, Reversal> = reversals_of(&actions)
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect();
        let mut steps = Vec::new();
        for seen in &plan.steps {
            let Some(r) = by_key.remove(&seen.key) else {
                return Err(Error::invalid(format!(
                    "`{}` is not a change of incident #{} to reverse: read the stand-down plan again",
                    seen.description, incident.id
                )));
            };
            steps.push(RunStep {
                planned: PlannedStep {
                    status: match r.impossible {
                        Some(reason) => PlanStatus::Impossible { reason },
                        None => seen.status.clone(),
                    },
                    ..seen.clone()
                },
                work: r.work,
                follows: false,
            });
        }
        confirm.require(&format!(
            "stand down of incident #{} ({} changes reversed)",
            incident.id,
            steps
                .iter()
                .filter(|s| s.planned.status == PlanStatus::ToRun)
                .count()
        ))?;
        let incident = self.change_phase(&incident, IncidentPhase::StandingDown, "stand down")?;
        let report = self
            .run_steps(&incident, RunKind::StandDown, steps, sink, cancel)
            .await;
        self.record_run(&incident, &report);
        Ok(report)
    }

    /// The open incident `plan` is for, when it is a plan of `run`.
    fn incident_of_plan(&self, plan: &RunPlan, run: RunKind) -> Result<Incident> {
        if plan.run != run {
            return Err(Error::invalid(format!(
                "this is not a {} plan",
                run.as_str()
            )));
        }
        self.open_incident_of(Some(plan.incident_id))
    }

    /// The run's summary in the incident's timeline, and told to people.
    fn record_run(&self, incident: &Incident, report: &RunReport) {
        let mut text = report.summary();
        let lines: Vec<String> = report
            .steps
            .iter()
            .map(|s| {
                format!(
                    "{} {}: {}{}",
                    s.status_word(),
                    s.description,
                    s.message,
                    s.action_id
                        .map(|id| format!(" (action {id})"))
                        .unwrap_or_default()
                )
            })
            .collect();
        for line in &lines {
            text.push('\n');
            text.push_str(line);
        }
        let kind = match report.run {
            RunKind::Protect => IncidentEventKind::Protect,
            RunKind::StandDown => IncidentEventKind::StandDown,
        };
        if let Err(e) = self
            .journal
            .add_incident_event(incident.id, &self.actor, kind, &text)
        {
            tracing::warn!("cannot record the {} summary: {e}", report.run.as_str());
        }
        let event = match report.run {
            RunKind::Protect => NoticeEvent::Protect,
            RunKind::StandDown => NoticeEvent::StandDown,
        };
        let mut notice_lines = vec![report.summary()];
        notice_lines.extend(lines);
        self.tell(incident, event, notice_lines);
    }

    /// Runs the steps: each maximal group of neighbouring `parallel` steps at once, the
    /// others one by one; after a group with a failed step that stops the run, the rest are
    /// not run.
    async fn run_steps(
        &self,
        incident: &Incident,
        run: RunKind,
        steps: Vec<RunStep>,
        sink: Arc<dyn StepSink>,
        cancel: CancellationToken,
    ) -> RunReport {
        let started = Instant::now();
        let mut groups: Vec<Vec<RunStep>> = Vec::new();
        for step in steps {
            match groups.last_mut() {
                // Two steps on one target never run at once: the second waits for the first.
                Some(group)
                    if step.planned.parallel
                        && group.last().is_some_and(|s| s.planned.parallel)
                        && !step.follows_in(group) =>
                {
                    group.push(step)
                }
                _ => groups.push(vec![step]),
            }
        }
        let flags = Arc::new(FlagServices::default());
        let forward = |index: u32| Forward {
            sink: sink.clone(),
            incident_id: incident.id,
            run,
            index,
            started,
            flags: flags.clone(),
        };
        let mut outcomes = Vec::new();
        let mut stopped = false;
        for group in groups {
            if stopped || cancel.is_cancelled() {
                for step in &group {
                    let outcome = not_run(
                        &step.planned,
                        if cancel.is_cancelled() {
                            "not run: the run was cancelled"
                        } else {
                            "not run: an earlier step failed and the playbook stops there"
                        },
                    );
                    forward(step.planned.index).update(StepUpdate::Finished {
                        outcome: outcome.clone(),
                    });
                    outcomes.push(outcome);
                }
                continue;
            }
            // Parallel steps journal together: one write to disk for all their starts, not
            // one each while the others wait.
            let journal_group = group
                .iter()
                .all(|s| s.planned.parallel)
                .then(|| journal::CommitGroup::new(self.journal.clone(), group.len()));
            // Steps that start together read their flags together, right before: each
            // service asked once, not once per step while it answers them in turn.
            let looks = match group.len() {
                1 => vec![None],
                _ => {
                    let compared = group.iter().map(|s| match s.compares_before() {
                        true => &s.work,
                        false => &Work::Irreversible,
                    });
                    self.look_flags(compared, &flags).await
                }
            };
            let results = futures::future::join_all(group.iter().zip(looks).enumerate().map(
                |(i, (step, look))| {
                    let forward = forward(step.planned.index);
                    let run = self.run_step(incident, step, look, forward, &cancel);
                    let journal_group = journal_group.clone();
                    async move {
                        match journal_group {
                            Some(g) => journal::as_member(g, i, run).await,
                            None => run.await,
                        }
                    }
                },
            ))
            .await;
            // The group's last step to end wrote the group's ends: its actions read as ended.
            if let Some(g) = journal_group {
                for id in g.ended_actions() {
                    self.annotate_incident_action(id);
                }
            }
            for (step, outcome) in group.iter().zip(results) {
                if outcome.status.is_failure() && !step.planned.continue_on_failure {
                    stopped = true;
                }
                outcomes.push(outcome);
            }
        }
        RunReport {
            incident_id: incident.id,
            run,
            steps: outcomes,
            stopped: stopped || cancel.is_cancelled(),
            elapsed_ms: started.elapsed().as_millis() as u64,
        }
    }

    async fn run_step(
        &self,
        incident: &Incident,
        step: &RunStep,
        look: Option<Look>,
        forward: Forward,
        cancel: &CancellationToken,
    ) -> StepOutcome {
        forward.update(StepUpdate::Started {
            description: step.planned.description.clone(),
        });
        let started = Instant::now();
        let mut outcome = match &step.planned.status {
            PlanStatus::ToRun => self.run_work(incident, step, look, &forward, cancel).await,
            status => skipped(&step.planned, skip_reason(status), None),
        };
        outcome.duration_ms = started.elapsed().as_millis() as u64;
        forward.update(StepUpdate::Finished {
            outcome: outcome.clone(),
        });
        outcome
    }

    async fn run_work(
        &self,
        incident: &Incident,
        step: &RunStep,
        look: Option<Look>,
        forward: &Forward,
        cancel: &CancellationToken,
    ) -> StepOutcome {
        let planned = &step.planned;
        let flags = Some(forward.flags.as_ref());
        // Since the plan: done by another run, or the target changed.
        let prior = self
            .journal
            .step_action(incident.id, &planned.key)
            .ok()
            .flatten();
        if let PlanStatus::Done { action_id } = prior_status(prior.as_ref()) {
            return skipped(
                planned,
                format!("done meanwhile by action {action_id} (another run)"),
                Some(action_id),
            );
        }
        let mut read_now = None;
        if step.follows {
            // An earlier step of this run changed the target: only what it left matters.
            if step.work.leaves().is_some() {
                let look = self.look(&step.work, flags).await;
                if look.error.is_none() && step.work.done_already(&look.observed) {
                    return skipped(planned, skip_reason(&PlanStatus::AlreadyAsWanted), None);
                }
                read_now = look.flag;
            }
        } else if planned.observed != Observed::Nothing {
            // Read together with the steps that start at the same time, or now.
            let look = match look {
                Some(look) => look,
                None => self.look(&step.work, flags).await,
            };
            read_now = look.flag.clone();
            if look.error.is_none() && look.observed != planned.observed {
                return skipped(
                    planned,
                    format!(
                        "changed since the confirmation ({} then, {} now): not done again",
                        planned.state_now, look.state_now
                    ),
                    None,
                );
            }
        }
        let tag = StepTag {
            incident_id: incident.id,
            key: planned.key.clone(),
        };
        let (result, proof) = match journal::as_step(
            tag,
            self.execute(incident, &step.work, read_now, forward, cancel),
        )
        .await
        {
            Ok(proof) => (Ok(()), proof),
            Err(e) => (Err(e), None),
        };
        let taken = self
            .journal
            .step_action(incident.id, &planned.key)
            .ok()
            .flatten()
            .filter(|a| prior.as_ref().is_none_or(|p| a.id > p.id))
            .map(|a| match journal::member() {
                Some(member) => member.group().as_ended(a),
                None => a,
            });
        let mut status = match (&result, taken.as_ref().map(|a| a.state)) {
            (_, Some(ActionState::Succeeded)) => StepStatus::Succeeded,
            (_, Some(ActionState::Unverified)) => StepStatus::Unverified,
            (_, Some(ActionState::Failed)) => StepStatus::Failed,
            (_, Some(_)) => StepStatus::Unknown,
            (Ok(()), None) => StepStatus::Succeeded,
            (Err(_), None) => StepStatus::Failed,
        };
        let mut message = match (&result, taken.as_ref().and_then(|a| a.result.clone())) {
            (_, Some(r)) => r,
            (Err(e), None) => e.to_string(),
            (Ok(()), None) => "done".into(),
        };
        let mut evidence = None;
        if status == StepStatus::Succeeded {
            let proof = match proof {
                Some(proof) => proof,
                None => self.read_back(&step.work, taken.as_ref(), flags).await,
            };
            match proof {
                ReadBack::Proven(words) => evidence = Some(words),
                ReadBack::OwnCheck => evidence = Some(message.clone()),
                ReadBack::NotProven(why) => {
                    status = StepStatus::Unverified;
                    message = format!("{message}; unverified: {why}");
                }
            }
        }
        StepOutcome {
            index: planned.index,
            key: planned.key.clone(),
            description: planned.description.clone(),
            status,
            action_id: taken.as_ref().map(|a| a.id),
            message,
            evidence,
            error: result.err().map(|e| ErrorInfo::from(&e)),
            duration_ms: 0,
        }
    }

    /// Reads the work's target back after it ended well, for the proof it took effect: a
    /// flag's state, a silence's state (by the id its action recorded), a server's state.
    /// Work whose action verifies itself (a reboot's new boot id, a runbook's exit code)
    /// keeps that.
    async fn read_back(
        &self,
        work: &Work,
        taken: Option<&ActionRecord>,
        flags: Option<&FlagServices>,
    ) -> ReadBack {
        let wanted = match (work.leaves(), work) {
            (Some(wanted), _) => wanted,
            (None, Work::Step(StepAction::Silence { source, .. })) => {
                let made = taken.and_then(|a| match &a.data {
                    Some(ActionData::Silence { silence_id, .. }) => Some(silence_id.clone()),
                    _ => None,
                });
                let Some(id) = made else {
                    return ReadBack::NotProven("the silence's id was not recorded".into());
                };
                let work = Work::ExpireSilence {
                    source: source.clone(),
                    silence_id: id.clone(),
                };
                let look = self.look(&work, flags).await;
                return match (&look.error, &look.observed) {
                    (Some(e), _) => {
                        ReadBack::NotProven(format!("could not read it back: {}", e.message))
                    }
                    (None, Observed::Silence { state }) if state == "active" => {
                        ReadBack::Proven(format!("read back: silence {id} active"))
                    }
                    (None, _) => {
                        ReadBack::NotProven(format!("silence {id} reads back {}", look.state_now))
                    }
                };
            }
            _ => return ReadBack::OwnCheck,
        };
        let look = self.look(work, flags).await;
        match &look.error {
            Some(e) => ReadBack::NotProven(format!("could not read it back: {}", e.message)),
            // An expired silence Alertmanager already dropped silences nothing either.
            None if look.observed == wanted
                || matches!(work, Work::ExpireSilence { .. }) && look.state_now == "gone" =>
            {
                ReadBack::Proven(format!("read back: {}", look.state_now))
            }
            None => ReadBack::NotProven(format!("it reads back {}", look.state_now)),
        }
    }

    /// Does the work of one step; its actions are journaled by the facade calls it makes.
    /// `flag_now`: the flag's state just read, when the step read it. Returns the proof the
    /// work brought back itself, if any (a flag service's state after the switch), so the
    /// step need not read its target again.
    async fn execute(
        &self,
        incident: &Incident,
        work: &Work,
        flag_now: Option<FlagState>,
        forward: &Forward,
        cancel: &CancellationToken,
    ) -> Result<Option<ReadBack>> {
        let done = match work {
            Work::Step(StepAction::Flag {
                backend,
                project,
                key,
                environment,
                enabled,
            }) => {
                let target = flag_target(backend, project, key, environment);
                return self
                    .flag_to(&target, *enabled, flag_now, &forward.flags)
                    .await;
            }
            Work::FlagBack { target, enabled } => {
                return self
                    .flag_to(target, *enabled, flag_now, &forward.flags)
                    .await;
            }
            Work::Step(StepAction::Reboot { host }) => self
                .reboot(
                    host,
                    &Confirmation::Yes,
                    Arc::new(forward.clone()),
                    cancel.child_token(),
                )
                .await
                .map(|_| ()),
            Work::Step(StepAction::Runbook { host, runbook }) => {
                // The run's confirmation covered it (typed, for a dangerous one).
                let output = self
                    .run_runbook(host, runbook, &Confirmation::Typed(runbook.clone()))
                    .await?;
                match output.success() {
                    true => Ok(()),
                    false => Err(Error::RemoteCommand {
                        host: host.clone(),
                        command: format!("runbook {runbook}"),
                        exit_code: output.exit_code,
                        stderr: output.stderr.trim().to_string(),
                    }),
                }
            }
            Work::Step(StepAction::Silence {
                source,
                matchers,
                minutes,
            }) => {
                let matchers: Vec<String> = matchers.iter().map(|m| m.to_string()).collect();
                self.silence(
                    Some(source),
                    &matchers,
                    Duration::from_secs(minutes * 60),
                    &format!("paaf incident #{}: {}", incident.id, incident.title),
                )
                .await
                .map(|_| ())
            }
            Work::ExpireSilence { source, silence_id } => {
                self.expire_silence(Some(source), silence_id).await
            }
            #[cfg(feature = "cloud")]
            Work::Step(StepAction::Server {
                account,
                server,
                action,
            }) => {
                let found = self.server_now(account, None, server).await?;
                self.power_server(&found, power_action(*action), forward, cancel)
                    .await
            }
            #[cfg(feature = "cloud")]
            Work::ServerBack {
                account,
                region,
                server_id,
                start,
            } => {
                let found = self.server_now(account, Some(region), server_id).await?;
                let action = match start {
                    true => crate::cloud::PowerAction::Start,
                    false => crate::cloud::PowerAction::Stop,
                };
                self.power_server(&found, action, forward, cancel).await
            }
            #[cfg(not(feature = "cloud"))]
            Work::Step(StepAction::Server { .. }) | Work::ServerBack { .. } => Err(Error::other(
                "this build of paaf has no cloud providers (the phone library leaves them out)",
            )),
            Work::Irreversible => Err(Error::other("this cannot be undone")),
        };
        done.map(|()| None)
    }

    /// Sets a flag to `enabled` from the state it has now (`now`, when just read; else read
    /// here): the service switches from it without reading the flag again. Returns the state
    /// the service gave after the switch as the step's proof, when it gives one.
    async fn flag_to(
        &self,
        target: &FlagTarget,
        enabled: bool,
        now: Option<FlagState>,
        services: &FlagServices,
    ) -> Result<Option<ReadBack>> {
        let now = match now {
            Some(now) => now,
            None => self.flag_state_via(target, Some(services)).await?,
        };
        let (change, read_back) = self
            .switch_flag(
                target,
                enabled,
                &now,
                true,
                &Confirmation::Yes,
                Some(services),
            )
            .await?;
        let words = flag_words(change.enabled, &target.environment);
        Ok(read_back.then(|| match change.enabled == enabled {
            true => ReadBack::Proven(format!("read back: {words}")),
            false => ReadBack::NotProven(format!("it reads back {words}")),
        }))
    }

    #[cfg(feature = "cloud")]
    async fn power_server(
        &self,
        found: &crate::cloud::Server,
        action: crate::cloud::PowerAction,
        forward: &Forward,
        cancel: &CancellationToken,
    ) -> Result<()> {
        self.power_found(
            found,
            action,
            crate::cloud::PollSettings::default(),
            cancel.child_token(),
            |p| forward.detail(format!("{}: {}", p.server.id, p.server.raw_state)),
        )
        .await
        .map(|_| ())
    }
}

#[cfg(feature = "cloud")]
fn power_action(action: ServerStepAction) -> crate::cloud::PowerAction {
    use crate::cloud::PowerAction;
    match action {
        ServerStepAction::Reboot | ServerStepAction::RolloutRestart => PowerAction::Reboot,
        ServerStepAction::HardReboot => PowerAction::HardReboot,
        ServerStepAction::Stop => PowerAction::Stop,
        ServerStepAction::Start => PowerAction::Start,
    }
}

/// The names of the dangerous runbooks among the steps that will run, joined by `,`.
fn typed_confirmation<'a>(steps: impl Iterator<Item = &'a PlannedStep>) -> Option<String> {
    let names: Vec<String> = steps
        .filter(|s| s.status == PlanStatus::ToRun)
        .filter_map(|s| s.typed_confirmation.clone())
        .collect();
    (!names.is_empty()).then(|| names.join(","))
}

fn skip_reason(status: &PlanStatus) -> String {
    match status {
        PlanStatus::ToRun => "to run".into(),
        PlanStatus::Done { action_id } => format!("done before by action {action_id}"),
        PlanStatus::AlreadyAsWanted => "already as wanted: nothing to do".into(),
        PlanStatus::OutcomeUnknown { action_id } => format!(
            "action {action_id} of an earlier run ended with an unknown outcome: check the target, then act by hand if needed"
        ),
        PlanStatus::Impossible { reason } => format!("cannot be done: {reason}"),
    }
}

fn skipped(planned: &PlannedStep, message: String, action_id: Option<i64>) -> StepOutcome {
    StepOutcome {
        index: planned.index,
        key: planned.key.clone(),
        description: planned.description.clone(),
        status: StepStatus::Skipped,
        action_id,
        message,
        evidence: None,
        error: None,
        duration_ms: 0,
    }
}

fn not_run(planned: &PlannedStep, message: &str) -> StepOutcome {
    StepOutcome {
        status: StepStatus::NotRun,
        ..skipped(planned, message.to_string(), None)
    }
}

impl StepOutcome {
    /// One word for a summary line.
    fn status_word(&self) -> &'static str {
        match self.status {
            StepStatus::Succeeded => "ok",
            StepStatus::Unverified => "unverified",
            StepStatus::Failed => "FAILED",
            StepStatus::Unknown => "UNKNOWN",
            StepStatus::Skipped => "skipped",
            StepStatus::NotRun => "not run",
        }
    }
}

/// One change of the incident to reverse (or to list as irreversible).
struct Reversal {
    key: String,
    kind: ActionKind,
    description: String,
    work: Work,
    impossible: Option<String>,
    /// The newest action it covers: reversals run newest first.
    newest: i64,
}

/// The incident's changes to reverse, newest first: one per flag (back to its state before
/// the incident's first change of it), one per cloud server, one per silence, and each
/// reboot, runbook or command listed as irreversible. Actions that failed changed nothing;
/// actions of an earlier stand-down are not reversed again.
fn reversals_of(actions: &[ActionRecord]) -> Vec<Reversal> {
    let mut out: Vec<Reversal> = Vec::new();
    let mut flags: HashMap<(String, String, String, String), usize> = HashMap::new();
    let mut servers: HashMap<(String, String), usize> = HashMap::new();
    for a in actions {
        let took_effect = matches!(
            a.state,
            ActionState::Succeeded | ActionState::Unverified | ActionState::Unknown
        );
        if !took_effect
            || a.step
                .as_deref()
                .is_some_and(|s| s.starts_with("stand-down/"))
        {
            continue;
        }
        let irreversible = |why: &str| Reversal {
            key: format!("stand-down/none/{}", a.id),
            kind: a.kind,
            description: format!("{} {}", a.kind, a.target),
            work: Work::Irreversible,
            impossible: Some(why.to_string()),
            newest: a.id,
        };
        match (a.kind, &a.data) {
            (
                ActionKind::FlagOn | ActionKind::FlagOff,
                Some(ActionData::FlagChange {
                    backend,
                    project,
                    flag,
                    environment,
                    was_enabled,
                }),
            ) => {
                let which = (
                    backend.clone(),
                    project.clone(),
                    flag.clone(),
                    environment.clone(),
                );
                if let Some(&i) = flags.get(&which) {
                    out[i].newest = a.id;
                    continue;
                }
                flags.insert(which, out.len());
                out.push(Reversal {
                    key: format!("stand-down/flag/{}", a.id),
                    kind: if *was_enabled {
                        ActionKind::FlagOn
                    } else {
                        ActionKind::FlagOff
                    },
                    description: format!(
                        "flag {flag} back {} in {environment}",
                        on_off(*was_enabled)
                    ),
                    work: Work::FlagBack {
                        target: flag_target(backend, project, flag, environment),
                        enabled: *was_enabled,
                    },
                    impossible: None,
                    newest: a.id,
                });
            }
            (ActionKind::ServerStop | ActionKind::ServerStart, data) => {
                let Some(ActionData::ServerPower {
                    account,
                    region,
                    server_id,
                }) = data
                else {
                    out.push(irreversible(
                        "the journal does not say where this server is (an older paaf wrote it): power it back by hand",
                    ));
                    continue;
                };
                let which = (account.clone(), server_id.clone());
                if let Some(&i) = servers.get(&which) {
                    out[i].newest = a.id;
                    continue;
                }
                servers.insert(which, out.len());
                let start = a.kind == ActionKind::ServerStop;
                out.push(Reversal {
                    key: format!("stand-down/server/{}", a.id),
                    kind: if start {
                        ActionKind::ServerStart
                    } else {
                        ActionKind::ServerStop
                    },
                    description: format!(
                        "{} {account}/{server_id} again",
                        if start { "start" } else { "stop" }
                    ),
                    work: Work::ServerBack {
                        account: account.clone(),
                        region: region.clone(),
                        server_id: server_id.clone(),
                        start,
                    },
                    impossible: None,
                    newest: a.id,
                });
            }
            (ActionKind::Silence, Some(ActionData::Silence { source, silence_id })) => {
                out.push(Reversal {
                    key: format!("stand-down/silence/{}", a.id),
                    kind: ActionKind::ExpireSilence,
                    description: format!("expire silence {silence_id} in {source}"),
                    work: Work::ExpireSilence {
                        source: source.clone(),
                        silence_id: silence_id.clone(),
                    },
                    impossible: None,
                    newest: a.id,
                });
            }
            (ActionKind::Silence, _) => out.push(irreversible(
                "the journal does not say which silence it made: expire it by hand (`paaf silence list`)",
            )),
            (
                ActionKind::Reboot
                | ActionKind::ServerReboot
                | ActionKind::ServerHardReboot
                | ActionKind::RollingReboot,
                _,
            ) => out.push(irreversible("a reboot cannot be undone")),
            (ActionKind::Runbook, _) => out.push(irreversible("a runbook cannot be undone")),
            (ActionKind::Exec, _) => out.push(irreversible("a command cannot be undone")),
            _ => {}
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.newest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IncidentInput;
    use crate::facade::flags::tests::{ENV, FLAG, FakeUnleash, PROJECT, paaf_with_unleash};

    /// A paaf on a fake Unleash (every flag ON) with `playbooks`, an incident open on
    /// playbook `p`, and its protect plan.
    struct Setup {
        unleash: FakeUnleash,
        server: wiremock::MockServer,
        paaf: Paaf,
        plan: RunPlan,
        _dir: tempfile::TempDir,
    }

    impl Setup {
        async fn new(playbooks: &str) -> Setup {
            let (unleash, server) = FakeUnleash::start(true).await;
            let dir = tempfile::tempdir().unwrap();
            let paaf = paaf_with_unleash(dir.path(), &server.uri(), playbooks);
            paaf.open_incident(&IncidentInput {
                title: "Checkout errors".into(),
                playbook: Some("p".into()),
                ..IncidentInput::default()
            })
            .await
            .unwrap();
            let plan = paaf.protect_plan(None, None).await.unwrap();
            Setup {
                unleash,
                server,
                paaf,
                plan,
                _dir: dir,
            }
        }

        /// Runs the plan, confirmed.
        async fn protect(&self) -> RunReport {
            self.paaf
                .protect(
                    &self.plan,
                    &Confirmation::Yes,
                    Arc::new(|_: StepEvent| {}),
                    CancellationToken::new(),
                )
                .await
                .unwrap()
        }
    }

    /// Protect of one flag step (the flag ON, turned OFF) on a fake Unleash that `lies` (answers
    /// the switch 200 and changes nothing) or not: the step's outcome, and the methods of the
    /// requests the run sent.
    async fn protect_one_flag(lies: bool) -> (StepOutcome, Vec<String>) {
        let setup = Setup::new(&format!(
            "\n[[playbooks]]\nname = \"p\"\n[[playbooks.protect]]\nflag = {FLAG:?}\nenv = {ENV:?}\nproject = {PROJECT:?}\n"
        ))
        .await;
        if lies {
            setup.unleash.ignore_switches();
        }
        let planned = setup.server.received_requests().await.unwrap().len();
        let report = setup.protect().await;
        let sent = setup.server.received_requests().await.unwrap()[planned..]
            .iter()
            .map(|r| r.method.to_string())
            .collect();
        assert_eq!(setup.unleash.switched().len(), 1);
        (report.steps[0].clone(), sent)
    }

    /// A playbook `p` of `steps` flag steps (flags `f0`, `f1`, ... turned OFF), run together.
    fn parallel_flag_playbook(steps: usize) -> String {
        let protect: String = (0..steps)
            .map(|i| {
                format!(
                    "\n[[playbooks.protect]]\nflag = \"f{i}\"\nenv = {ENV:?}\nproject = {PROJECT:?}\n"
                )
            })
            .collect();
        format!("\n[[playbooks]]\nname = \"p\"\nparallel = true\n{protect}")
    }

    /// Protect of `steps` parallel flag steps: the run's report and the transactions the
    /// journal committed while it ran.
    async fn protect_in_parallel(steps: usize) -> (Setup, RunReport, usize) {
        let setup = Setup::new(&parallel_flag_playbook(steps)).await;
        let commits = setup.paaf.journal.count_commits();
        let report = setup.protect().await;
        let commits = commits.load(std::sync::atomic::Ordering::SeqCst);
        (setup, report, commits)
    }

    /// Parallel steps start and end together in the journal: ten steps commit no more
    /// transactions (each one a write to disk, and all steps wait for it) than one step does.
    #[tokio::test]
    async fn parallel_steps_share_their_journal_commits() {
        let (_, one, one_step) = protect_in_parallel(1).await;
        let (setup, ten, ten_steps) = protect_in_parallel(10).await;
        assert_eq!(one.count(StepStatus::Succeeded), 1, "{one:?}");
        assert_eq!(ten.count(StepStatus::Succeeded), 10, "{ten:?}");
        println!("journal commits of a protect: 1 step {one_step}, 10 parallel steps {ten_steps}");
        assert_eq!(
            ten_steps, one_step,
            "10 parallel steps commit as often as 1"
        );
        let rows = setup
            .paaf
            .journal
            .incident_actions(ten.incident_id)
            .unwrap();
        let flags: Vec<&ActionRecord> = rows
            .iter()
            .filter(|r| r.kind == ActionKind::FlagOff)
            .collect();
        assert_eq!(flags.len(), 10);
        for (step, row) in ten.steps.iter().zip(&flags) {
            assert_eq!(step.action_id, Some(row.id));
            assert_eq!(row.state, ActionState::Succeeded, "{row:?}");
            assert_eq!(row.step.as_deref(), Some(step.key.as_str()));
            assert_eq!(row.result.as_deref(), Some("on -> off"));
            assert!(row.duration_ms.is_some() && row.finished_at.is_some());
            assert!(matches!(
                row.data,
                Some(ActionData::FlagChange {
                    was_enabled: true,
                    ..
                })
            ));
        }
    }

    /// Parallel flag steps of one service read their flags together, for the plan and again
    /// right before they switch: one request each time (the project's flag list), not one
    /// per step while the service answers them in turn. Each step still reads its own flag
    /// back after its switch, its proof.
    #[tokio::test]
    async fn parallel_flag_steps_read_their_flags_in_one_request() {
        // (method, a read of the project's flag list), for each request from `from` on.
        async fn sent(server: &wiremock::MockServer, from: usize) -> Vec<(String, bool)> {
            server.received_requests().await.unwrap()[from..]
                .iter()
                .map(|r| (r.method.to_string(), r.url.path().ends_with("/features")))
                .collect()
        }
        let setup = Setup::new(&parallel_flag_playbook(10)).await;
        let planned = sent(&setup.server, 0).await;
        assert_eq!(planned, [("GET".to_string(), true)], "the plan's reads");
        let report = setup.protect().await;
        assert_eq!(report.count(StepStatus::Succeeded), 10, "{report:?}");
        let run = sent(&setup.server, planned.len()).await;
        let count = |method: &str, list: bool| {
            run.iter()
                .filter(|(m, l)| m == method && *l == list)
                .count()
        };
        assert_eq!(
            (
                count("GET", true),
                count("POST", false),
                count("GET", false)
            ),
            (1, 10, 10),
            "{run:?}"
        );
        assert_eq!(run[0], ("GET".to_string(), true), "read before any switch");
    }

    /// Parallel steps whose start the journal cannot record (a full disk, an I/O error) send
    /// nothing: a crash would otherwise leave changes the journal never knew of.
    #[tokio::test]
    async fn parallel_steps_send_nothing_when_the_journal_cannot_record_that_they_start() {
        let setup = Setup::new(&parallel_flag_playbook(3)).await;
        rusqlite::Connection::open(&setup.paaf.config().journal)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER refuse_running_row BEFORE INSERT ON actions
                 WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;
                 CREATE TRIGGER refuse_running BEFORE UPDATE OF state ON actions
                 WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;",
            )
            .unwrap();
        let report = setup.protect().await;
        assert_eq!(report.count(StepStatus::Failed), 3, "{report:?}");
        for step in &report.steps {
            assert!(step.message.contains("nothing was sent"), "{step:?}");
        }
        let switched = setup.unleash.switched();
        assert!(switched.is_empty(), "{switched:?}");
    }

    /// A flag step reads its flag once before the switch (compared with the confirmation;
    /// the switch starts from it) and once after (the switch's own read-back, which is the
    /// step's proof): three requests, not five.
    #[tokio::test]
    async fn a_flag_step_is_proven_by_the_read_back_of_its_switch_alone() {
        let (step, sent) = protect_one_flag(false).await;
        assert_eq!(step.status, StepStatus::Succeeded, "{step:?}");
        assert_eq!(
            step.evidence.as_deref(),
            Some(format!("read back: OFF in {ENV}").as_str())
        );
        assert_eq!(sent, ["GET", "POST", "GET"]);
    }

    /// A switch the service accepts but whose read-back still shows the old state is not a
    /// success: the step is unverified and says what it read.
    #[tokio::test]
    async fn a_flag_step_whose_switch_reads_back_unchanged_is_unverified() {
        let (step, sent) = protect_one_flag(true).await;
        assert_eq!(step.status, StepStatus::Unverified, "{step:?}");
        assert_eq!(step.evidence, None);
        assert!(
            step.message
                .ends_with(&format!("unverified: it reads back ON in {ENV}")),
            "{}",
            step.message
        );
        assert_eq!(sent, ["GET", "POST", "GET"]);
    }
}
