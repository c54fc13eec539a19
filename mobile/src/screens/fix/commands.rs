//! Fix, on a host: its runbooks and a typed command, each behind a confirmation that shows
//! the exact command; a dangerous runbook (`__name`) is confirmed by typing its name, as the
//! core requires of every front-end (the model only passes on what was typed: the core
//! checks it). The run's progress, then its exit code and bounded output.

use super::{FixScreen, FixState};
use crate::RUNTIME;
use crate::screens::{Store, shown};
use paaf_core::runbooks::{Runbook, is_dangerous};
use paaf_core::ssh::ExecOutput;
use paaf_core::{Confirmation, ErrorInfo, Plan};
use std::sync::Arc;

/// What runs on a host from this screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CommandKind {
    /// A runbook of the host's runbook directory.
    Runbook,
    /// A command line typed by the user.
    Exec,
}

/// The runbooks of the host shown.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HostRunbooks {
    pub host: String,
    /// Sorted by name; `dangerous` ones want their name typed to run.
    pub runbooks: Vec<Runbook>,
}

/// The confirmation a runbook or a command waits for.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CommandAsk {
    pub host: String,
    pub kind: CommandKind,
    /// The runbook's name, or the command line.
    pub text: String,
    /// "Run the runbook __wipe-cache on web-1 (deploy@10.0.0.5:22)?"
    pub question: String,
    /// The exact command as it will be sent, with its time budget.
    pub steps: Vec<String>,
    /// "dangerous: its name must be typed to run it".
    pub warning: Option<String>,
    /// A dangerous runbook: the name to type, exactly, before it runs.
    pub typed_name: Option<String>,
    /// What the user has typed so far (`typeConfirmation`).
    pub typed: String,
    /// True once `confirmCommand()` will run it: nothing to type, or the name typed exactly.
    pub ready: bool,
}

/// A runbook or command under way or just ended.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CommandRun {
    pub host: String,
    pub kind: CommandKind,
    pub text: String,
    /// Each step seen, in words, in order.
    pub progress: Vec<String>,
    pub finished: bool,
    /// It ran and exited 0 (the journal's `succeeded`); false while it runs, or when it
    /// failed, could not run or was refused.
    pub succeeded: bool,
    /// Its exit code as a shell passes it on (128 + N when signal N killed it).
    pub exit_code: Option<i32>,
    /// Its output, each stream cut at the host's `max_output_bytes` (`stdoutTruncated`,
    /// `stderrTruncated` say so).
    pub output: Option<ExecOutput>,
    /// How it ended, in words (null while it runs): `exit code 0 in 12 ms`.
    pub outcome: Option<String>,
    /// Why it could not run (unreachable, refused confirmation, timeout, ...).
    pub error: Option<ErrorInfo>,
}

impl CommandAsk {
    fn new(host: String, kind: CommandKind, text: String, plan: Plan) -> CommandAsk {
        let typed_name =
            (kind == CommandKind::Runbook && is_dangerous(&text)).then(|| text.clone());
        let verb = match kind {
            CommandKind::Runbook => format!("Run the runbook {text} on"),
            CommandKind::Exec => format!("Run `{text}` on"),
        };
        CommandAsk {
            question: format!("{verb} {}?", plan.target),
            ready: typed_name.is_none(),
            host,
            kind,
            text,
            steps: plan.steps,
            warning: plan.warning,
            typed_name,
            typed: String::new(),
        }
    }

    /// The confirmation handed to the core, which checks it.
    fn confirmation(&self) -> Confirmation {
        match self.typed_name {
            Some(_) => Confirmation::Typed(self.typed.clone()),
            None => Confirmation::Yes,
        }
    }
}

impl FixScreen {
    /// Refuses a new command while one runs.
    fn command_running(&self) -> bool {
        let running = self
            .store
            .get()
            .command_running
            .is_some_and(|r| !r.finished);
        if running {
            self.failed("a runbook or command is still running: wait for its end");
        }
        running
    }

    /// Reads the plan `plan` on the runtime and asks its confirmation.
    fn ask_command(
        &self,
        host: String,
        kind: CommandKind,
        text: String,
        plan: impl std::future::Future<Output = paaf_core::Result<Plan>> + Send + 'static,
    ) {
        let store = self.store.clone();
        store.update(|s| {
            s.busy = true;
            s.error = None;
        });
        RUNTIME.spawn(async move {
            let plan = plan.await;
            store.update(|s| {
                s.busy = false;
                match plan {
                    Ok(plan) => s.command_asking = Some(CommandAsk::new(host, kind, text, plan)),
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }
}

#[uniffi::export]
impl FixScreen {
    /// Lists the runbooks of host `host` (`runbooks`).
    pub fn show_runbooks(&self, host: String) {
        let (core, store) = (self.core.clone(), self.store.clone());
        store.update(|s| {
            s.busy = true;
            s.error = None;
            s.runbooks = None;
        });
        RUNTIME.spawn(async move {
            let read = core.runbooks(&host).await;
            store.update(|s| {
                s.busy = false;
                match read {
                    Ok(runbooks) => s.runbooks = Some(HostRunbooks { host, runbooks }),
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }

    /// Asks the confirmation of the runbook `runbook` of the host shown (`commandAsking`): a
    /// name not in its directory is refused with the closest one.
    pub fn ask_runbook(&self, runbook: String) {
        let Some(host) = self.store.get().runbooks.map(|r| r.host) else {
            self.failed("choose a host's runbooks first");
            return;
        };
        if self.command_running() {
            return;
        }
        let core = self.core.clone();
        let (on, book) = (host.clone(), runbook.clone());
        self.ask_command(host, CommandKind::Runbook, runbook, async move {
            core.plan_runbook(&on, &book).await
        });
    }

    /// Asks the confirmation of running `command` on host `host` (`commandAsking`).
    pub fn ask_exec(&self, host: String, command: String) {
        if self.command_running() {
            return;
        }
        let plan = self.core.plan_exec(&host, std::slice::from_ref(&command));
        self.ask_command(host, CommandKind::Exec, command, async move { plan });
    }

    /// What the user typed to confirm a dangerous runbook; `ready` says whether it is its
    /// name, exactly.
    pub fn type_confirmation(&self, text: String) {
        self.store.update(|s| {
            if let Some(ask) = s.command_asking.as_mut() {
                ask.ready = match &ask.typed_name {
                    Some(name) => Confirmation::Typed(text.clone()).is_typed(name),
                    None => true,
                };
                ask.typed = text;
            }
        });
    }

    /// The user said no to the runbook or command: nothing runs.
    pub fn dismiss_command(&self) {
        self.store.update(|s| s.command_asking = None);
    }

    /// The user said yes: runs the runbook or command asked (`commandRunning`), with what
    /// was typed as its confirmation; the core refuses a dangerous runbook whose name was
    /// not typed exactly (code `confirmation-required`, nothing run).
    pub fn confirm_command(&self) {
        let Some(asked) = self.store.get().command_asking else {
            return;
        };
        let (core, store) = (self.core.clone(), self.store.clone());
        store.update(|s| {
            s.command_asking = None;
            s.error = None;
            s.command_running = Some(CommandRun {
                host: asked.host.clone(),
                kind: asked.kind,
                text: asked.text.clone(),
                progress: asked
                    .steps
                    .iter()
                    .map(|step| format!("sent: {step}"))
                    .collect(),
                finished: false,
                succeeded: false,
                exit_code: None,
                output: None,
                outcome: None,
                error: None,
            });
        });
        RUNTIME.spawn(async move {
            let confirmation = asked.confirmation();
            let ran = match asked.kind {
                CommandKind::Runbook => {
                    core.run_runbook(&asked.host, &asked.text, &confirmation)
                        .await
                }
                CommandKind::Exec => core.exec(&asked.host, &asked.text, &confirmation).await,
            };
            ended(&store, ran);
        });
    }
}

/// Records how the run ended.
fn ended(store: &Arc<Store<FixState>>, ran: paaf_core::Result<ExecOutput>) {
    store.update(|s| {
        let Some(run) = s.command_running.as_mut() else {
            return;
        };
        run.finished = true;
        match ran {
            Ok(output) => {
                let summary = output.summary();
                run.progress.push(format!("ended: {summary}"));
                run.succeeded = output.success();
                run.exit_code = Some(output.passed_exit_code());
                run.outcome = Some(summary);
                run.output = Some(output);
            }
            Err(e) => run.error = Some(shown(&e)),
        }
    });
}
