//! Protect and Stand down as the front-ends see them: a plan to confirm once (every step with
//! its target's state now), progress events while it runs, and a report of every step.

use crate::error::ErrorInfo;
use crate::events::ProgressEvent;
use crate::journal::ActionKind;
use serde::{Deserialize, Serialize};

/// Which of the two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RunKind {
    Protect,
    StandDown,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Protect => "protect",
            RunKind::StandDown => "stand-down",
        }
    }
}

/// What a step's target looked like when the plan was made: shown in the confirmation, and
/// compared again right before the step runs, so a target changed meanwhile is reported
/// rather than acted on blindly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Observed {
    /// A flag in one environment.
    Flag { enabled: bool },
    /// A host over SSH: its boot id (a reboot since changes it).
    Host { boot_id: String },
    /// A cloud server's state (`running`, `stopped`, ...).
    Server { status: String },
    /// A silence's state (`active`, `expired`, ...).
    Silence { state: String },
    /// Nothing to compare (a runbook, a silence), or the state could not be read.
    Nothing,
}

/// Whether a planned step will run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PlanStatus {
    /// It will run.
    ToRun,
    /// An earlier run of this incident did it: the journal's action says so.
    Done {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        action_id: i64,
    },
    /// The target is already as the step would leave it (the flag is already off).
    AlreadyAsWanted,
    /// An earlier run's action ended with an unknown outcome (paaf stopped mid-way): not run
    /// again blindly; check the target, then run it by hand if needed.
    OutcomeUnknown {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        action_id: i64,
    },
    /// It cannot be done (a reboot cannot be undone; no cloud providers in this build).
    Impossible { reason: String },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PlannedStep {
    /// Its place in the run, from 0.
    pub index: u32,
    /// What identifies it in the journal across runs (an action's `step`).
    pub key: String,
    /// The journal kind of the action it will take.
    pub kind: ActionKind,
    /// `flag new-checkout OFF in production`.
    pub description: String,
    /// The state of its target now, in words (`ON in production`, `up 41d`, `running`).
    pub state_now: String,
    pub observed: Observed,
    pub status: PlanStatus,
    /// Why its state could not be read (the step still runs and meets the problem itself).
    pub error: Option<ErrorInfo>,
    /// Runs at the same time as its `parallel` neighbours.
    pub parallel: bool,
    /// The steps after it run even when it fails.
    pub continue_on_failure: bool,
    /// A dangerous runbook: its name must be typed to confirm the run.
    pub typed_confirmation: Option<String>,
}

/// What a run will do, for its one confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RunPlan {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub incident_id: i64,
    pub run: RunKind,
    /// Protect: the playbook whose steps these are.
    pub playbook: Option<String>,
    pub steps: Vec<PlannedStep>,
    /// The text the confirmation must type (the dangerous runbooks' names, joined by `,`);
    /// `None`: a yes is enough.
    pub typed_confirmation: Option<String>,
}

impl RunPlan {
    /// The steps that will run.
    pub fn to_run(&self) -> impl Iterator<Item = &PlannedStep> {
        self.steps.iter().filter(|s| s.status == PlanStatus::ToRun)
    }
}

/// How a step of a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum StepStatus {
    Succeeded,
    /// It ran and reported success without proof (a cloud reboot not verified).
    Unverified,
    Failed,
    /// Whether it took effect is not known: check the target.
    Unknown,
    /// Not run: done before, already as wanted, changed since the confirmation, impossible.
    Skipped,
    /// Not run: an earlier step failed with `on_failure = "stop"`, or the run was cancelled.
    NotRun,
}

impl StepStatus {
    /// True for the endings that count as a failure of the run.
    pub fn is_failure(self) -> bool {
        matches!(self, StepStatus::Failed | StepStatus::Unknown)
    }
}

/// One step's ending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StepOutcome {
    pub index: u32,
    pub key: String,
    pub description: String,
    pub status: StepStatus,
    /// The journal action it took (or found done).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub action_id: Option<i64>,
    /// One line: the action's result, or why it was skipped.
    pub message: String,
    /// The proof it took effect: the target's state read back after it (`read back: ON in
    /// production`), or the action's own verification (a new boot id); `None` when there is
    /// none, and then a step that ran is `unverified`.
    pub evidence: Option<String>,
    pub error: Option<ErrorInfo>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub duration_ms: u64,
}

/// How a run ended, step by step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RunReport {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub incident_id: i64,
    pub run: RunKind,
    pub steps: Vec<StepOutcome>,
    /// A failed step stopped the run (`on_failure = "stop"`), or it was cancelled.
    pub stopped: bool,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_ms: u64,
}

impl RunReport {
    /// How many steps ended in `status`.
    pub fn count(&self, status: StepStatus) -> usize {
        self.steps.iter().filter(|s| s.status == status).count()
    }

    /// True when no step failed or ended unknown.
    pub fn ok(&self) -> bool {
        !self.steps.iter().any(|s| s.status.is_failure())
    }

    /// `protect: 3 succeeded, 1 skipped, 1 failed (stopped)`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            (StepStatus::Succeeded, "succeeded"),
            (StepStatus::Unverified, "unverified"),
            (StepStatus::Skipped, "skipped"),
            (StepStatus::Failed, "failed"),
            (StepStatus::Unknown, "unknown"),
            (StepStatus::NotRun, "not run"),
        ]
        .into_iter()
        .filter_map(|(s, word)| match self.count(s) {
            0 => None,
            n => Some(format!("{n} {word}")),
        })
        .collect();
        format!(
            "{}: {}{}",
            self.run.as_str(),
            if parts.is_empty() {
                "nothing to do".to_string()
            } else {
                parts.join(", ")
            },
            if self.stopped { " (stopped)" } else { "" }
        )
    }
}

/// What happened to a step while a run goes on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "update", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum StepUpdate {
    Started {
        description: String,
    },
    /// A verified reboot's steps, a server's state while it is followed, in words; `progress`
    /// is the reboot's own event.
    Progress {
        detail: String,
        progress: Option<ProgressEvent>,
    },
    Finished {
        outcome: StepOutcome,
    },
}

/// A step's update, stamped with its run and the time since the run started.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StepEvent {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub incident_id: i64,
    pub run: RunKind,
    pub index: u32,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_ms: u64,
    pub update: StepUpdate,
}

/// Where step events go: a channel for async front-ends, a callback for the others.
pub trait StepSink: Send + Sync {
    fn emit(&self, event: StepEvent);
}

impl StepSink for tokio::sync::mpsc::UnboundedSender<StepEvent> {
    fn emit(&self, event: StepEvent) {
        // A front-end that stopped listening must not stop the run.
        let _ = self.send(event);
    }
}

impl<F: Fn(StepEvent) + Send + Sync> StepSink for F {
    fn emit(&self, event: StepEvent) {
        self(event)
    }
}
