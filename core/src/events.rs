//! Progress of long actions, as a stream of events every front-end renders its own way.

use serde::Serialize;
use std::time::Instant;

pub use tokio_util::sync::CancellationToken;

/// One step of a long action, in the order a verified reboot goes through them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Step {
    Connecting {
        host: String,
    },
    BootIdRead {
        boot_id: String,
    },
    PrivilegeChecked,
    CommandSent {
        command: String,
    },
    ConnectionDropped,
    WaitingForHost {
        attempt: u32,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        retry_in_ms: u64,
        reason: String,
    },
    BackUp,
    BootIdChanged {
        old: String,
        new: String,
    },
    WaitingForTestCommand {
        attempt: u32,
        reason: String,
    },
    TestCommandOk {
        command: String,
    },
    Done,
}

impl Step {
    /// A short human sentence for the step, used by text front-ends.
    pub fn describe(&self) -> String {
        match self {
            Step::Connecting { host } => format!("connecting to {host}"),
            Step::BootIdRead { boot_id } => format!("boot id before: {boot_id}"),
            Step::PrivilegeChecked => "sudo -n works".into(),
            Step::CommandSent { command } => format!("reboot command sent ({command})"),
            Step::ConnectionDropped => "connection dropped".into(),
            Step::WaitingForHost {
                attempt,
                retry_in_ms,
                reason,
            } => format!(
                "waiting for host (try {attempt}: {reason}; next in {:.1}s)",
                *retry_in_ms as f64 / 1000.0
            ),
            Step::BackUp => "host answers SSH again".into(),
            Step::BootIdChanged { new, .. } => format!("boot id changed: {new}"),
            Step::WaitingForTestCommand { attempt, reason } => {
                format!("test command not ok yet (try {attempt}: {reason})")
            }
            Step::TestCommandOk { command } => format!("test command ok ({command})"),
            Step::Done => "reboot verified".into(),
        }
    }
}

/// A step with the journal action it belongs to and the time since the action started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProgressEvent {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub action_id: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_ms: u64,
    #[serde(flatten)]
    pub step: Step,
}

/// Where progress events go: a channel for async front-ends, a callback for the others.
pub trait ProgressSink: Send + Sync {
    fn emit(&self, event: ProgressEvent);
}

impl ProgressSink for tokio::sync::mpsc::UnboundedSender<ProgressEvent> {
    fn emit(&self, event: ProgressEvent) {
        // A front-end that stopped listening must not stop the action.
        let _ = self.send(event);
    }
}

impl<F: Fn(ProgressEvent) + Send + Sync> ProgressSink for F {
    fn emit(&self, event: ProgressEvent) {
        self(event)
    }
}

/// Stamps steps with the action id and elapsed time before handing them to a sink.
#[derive(Clone)]
pub(crate) struct Progress {
    pub action_id: i64,
    pub started: Instant,
    pub sink: std::sync::Arc<dyn ProgressSink>,
}

impl Progress {
    pub fn step(&self, step: Step) {
        tracing::debug!(action = self.action_id, ?step, "progress");
        self.sink.emit(ProgressEvent {
            action_id: self.action_id,
            elapsed_ms: self.started.elapsed().as_millis() as u64,
            step,
        });
    }
}
