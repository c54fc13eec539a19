//! What every command gets: the core facade, the global options, and the one way to print a
//! result (a JSON or YAML document with `-o json|yaml`, text otherwise) and to ask for a
//! confirmation.

use crate::prompt::{self, Answer};
use crate::{exit, output};
use clap::Args;
use paaf_core::{CancellationToken, Confirmation, Error, ErrorCode, ErrorInfo, Paaf, Plan};
use serde::Serialize;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A count of at least one (`--limit`).
pub fn at_least_one(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("give 1 or more".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a number; give 1 or more")),
    }
}

/// `--watch`: the list again every few seconds until Ctrl-C.
#[derive(Args, Clone, Copy)]
pub struct WatchArg {
    /// Show the list again every 5 s (or --interval) until Ctrl-C; -o json: one line each
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// Seconds between two lists with --watch
    #[arg(long, default_value_t = 5, value_name = "SECS", requires = "watch",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: u64,
}

/// How a command ends without its result: an error of the core, or the person at the
/// terminal said no.
#[derive(Debug)]
pub enum Failure {
    Core(Error),
    /// Declined at a prompt: nothing was done, and there is nothing to fix.
    Aborted,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

/// A command's exit code, or why it stopped.
pub type Outcome = std::result::Result<i32, Failure>;

const ABORTED: &str = "Aborted, nothing done";

pub struct Ctx {
    pub paaf: Paaf,
    yes: bool,
    pub accept_new_host_key: bool,
    /// How to confirm in a script what could not be asked (no terminal): said when the core
    /// refuses the unconfirmed action.
    confirm_hint: Mutex<Option<String>>,
    /// An incident command ran: the deliveries due get one attempt before the process exits,
    /// even those an earlier process queued.
    deliver_at_exit: AtomicBool,
}

impl Ctx {
    pub fn new(paaf: Paaf, yes: bool, accept_new_host_key: bool) -> Ctx {
        Ctx {
            paaf,
            yes,
            accept_new_host_key,
            confirm_hint: Mutex::new(None),
            deliver_at_exit: AtomicBool::new(false),
        }
    }

    /// Asks for one delivery attempt of what is due before the process exits.
    pub fn deliver_at_exit(&self) {
        self.deliver_at_exit.store(true, Ordering::Relaxed);
    }

    /// Whether the deliveries due get their attempt at exit: an incident command asked for
    /// it, or this process queued (or retries) a notification or an annotation. One attempt,
    /// never two: a hanging target costs its timeout once.
    pub fn delivers_at_exit(&self) -> bool {
        self.deliver_at_exit.load(Ordering::Relaxed) || self.paaf.delivering()
    }

    /// A dry run's plan: a document with `-o json|yaml`, else what would be done, line by line.
    pub fn plan(&self, plan: &Plan) -> Outcome {
        self.emit(plan, |p| {
            output::line(&format!("Would {} {}", p.action, p.target));
            if let Some(now) = &p.now {
                output::line(&format!("  now: {now}"));
            }
            for step in &p.steps {
                output::line(&format!("  - {step}"));
            }
            if let Some(w) = &p.warning {
                output::line(&format!("  warning: {w}"));
            }
            output::line("Dry run: nothing was sent, nothing journaled.");
        });
        Ok(exit::OK)
    }

    /// Runs `once` (a list and its output), again every `--interval` seconds with `--watch`
    /// until Ctrl-C; with `-o json` each list is one line.
    pub async fn watching<F, Fut>(&self, watch: WatchArg, mut once: F) -> Outcome
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Outcome>,
    {
        if !watch.watch {
            return once().await;
        }
        output::stream_documents();
        let cancel = cancel_on_ctrl_c();
        loop {
            output::clear_screen();
            self.human(|| {
                output::note(&format!(
                    "Every {}s, {} (Ctrl-C to stop)",
                    watch.interval,
                    chrono::Local::now().format("%H:%M:%S")
                ))
            });
            let code = once().await?;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(watch.interval)) => {}
                _ = cancel.cancelled() => return Ok(code),
            }
        }
    }

    /// With `-o json|yaml`: only documents are printed, no text and no progress notes.
    pub fn is_json(&self) -> bool {
        output::settings().structured()
    }

    /// The result: see [`emit`].
    pub fn emit<T: Serialize + ?Sized>(&self, value: &T, human: impl FnOnce(&T)) {
        emit(value, human)
    }

    /// Text output only, when there is no --json (e.g. each command's output as it ends).
    pub fn human(&self, render: impl FnOnce()) {
        if !self.is_json() {
            render()
        }
    }

    /// A progress or context line on stderr; nothing with --json.
    pub fn note(&self, text: &str) {
        self.human(|| output::note(text))
    }

    /// A one-line result: see [`done`].
    pub fn done(&self, message: &str) -> Outcome {
        done(message)
    }

    /// `--yes`, else a yes/no question on a terminal (escaped here: `question` may carry
    /// names from servers or users). Without either the core refuses the action and says how
    /// to confirm; a "no" stops the command here.
    pub fn confirm(&self, question: &str) -> Result<Confirmation, Failure> {
        self.confirm_escaped(&output::shown(question))
    }

    /// [`Ctx::confirm`] for a question whose values the caller escaped itself (to emphasise
    /// some of them).
    pub fn confirm_escaped(&self, question: &str) -> Result<Confirmation, Failure> {
        if self.yes {
            return Ok(Confirmation::Yes);
        }
        self.confirmed(prompt::yes_no(question), Confirmation::Yes)
    }

    /// `--confirm NAME` (checked by the core), else `expected` typed at a prompt.
    pub fn confirm_typed(
        &self,
        given: Option<String>,
        what: &str,
        expected: &str,
    ) -> Result<Confirmation, Failure> {
        if let Some(typed) = given {
            return Ok(Confirmation::Typed(typed));
        }
        let answer = prompt::typed(&output::shown(what), &output::shown(expected));
        self.confirmed(answer, Confirmation::Typed(expected.to_string()))
    }

    fn confirmed(&self, answer: Answer, yes: Confirmation) -> Result<Confirmation, Failure> {
        match answer {
            Answer::Yes => Ok(yes),
            Answer::NotAsked => {
                *self.confirm_hint.lock().expect("hint poisoned") = Some(match &yes {
                    Confirmation::Typed(name) => format!(
                        "type its name at the prompt on a terminal, or pass --confirm {name}"
                    ),
                    _ => "answer y at the prompt on a terminal, or pass --yes in a script".into(),
                });
                Ok(Confirmation::None)
            }
            Answer::No => Err(Failure::Aborted),
        }
    }

    /// Prints why the command stopped; its exit code.
    pub fn fail(&self, failure: &Failure) -> i32 {
        match failure {
            Failure::Core(e) => {
                let hint = self.confirm_hint.lock().expect("hint poisoned").clone();
                match e.code() {
                    ErrorCode::ConfirmationRequired => print_error_with(e, hint.as_deref()),
                    _ => print_error(e),
                }
                exit::code(e.code())
            }
            Failure::Aborted => {
                if self.is_json() {
                    output::document(&serde_json::json!({ "error": {
                        "code": paaf_core::ErrorCode::ConfirmationRequired,
                        "message": ABORTED,
                    }}));
                } else {
                    output::note(&format!("{ABORTED}."));
                }
                exit::code(paaf_core::ErrorCode::ConfirmationRequired)
            }
        }
    }
}

/// The result: `value` as a JSON or YAML document with `-o json|yaml`, else `human` renders
/// it as text (a table follows `-o table|wide|tsv|name` itself).
pub fn emit<T: Serialize + ?Sized>(value: &T, human: impl FnOnce(&T)) {
    if output::settings().structured() {
        output::document(value)
    } else {
        human(value)
    }
}

/// A one-line result: `{"ok": true, "message": …}` with `-o json|yaml`.
pub fn done(message: &str) -> Outcome {
    emit(
        &serde_json::json!({ "ok": true, "message": message }),
        |_| output::line(message),
    );
    Ok(exit::OK)
}

/// An error: `{"error": {...}}` on stdout with `-o json|yaml`, else a line on stderr (and
/// how to go on from the CLI, where the core's message cannot say it).
pub fn print_error(e: &Error) {
    let fix = match e {
        Error::HostNotAdded {
            code: ErrorCode::HostKeyUnknown,
            ..
        } => {
            Some("run the same command with --accept-new-host-key once the fingerprint is checked")
        }
        _ => None,
    };
    print_error_with(e, fix)
}

fn print_error_with(e: &Error, fix: Option<&str>) {
    if output::settings().structured() {
        output::document(&serde_json::json!({ "error": ErrorInfo::from(e) }));
    } else {
        output::note(&format!("error[{}]: {e}", e.code().as_str()));
        if let Some(fix) = fix {
            output::note(&format!("  fix: {fix}"));
        }
    }
}

/// A token that Ctrl-C cancels, for a long action to stop waiting; a second Ctrl-C ends paaf
/// at once (exit 130).
pub fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(exit::code(ErrorCode::Cancelled));
        }
    });
    cancel
}
