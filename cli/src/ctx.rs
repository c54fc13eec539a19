//! What every command gets: the core facade, the global options, and the one way to print a
//! result (JSON with --json, text otherwise) and to ask for a confirmation.

use crate::prompt::{self, Answer};
use crate::{exit, output};
use paaf_core::{CancellationToken, Confirmation, Error, ErrorInfo, Paaf};
use serde::Serialize;

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
    json: bool,
    yes: bool,
    pub accept_new_host_key: bool,
}

impl Ctx {
    pub fn new(paaf: Paaf, json: bool, yes: bool, accept_new_host_key: bool) -> Ctx {
        Ctx {
            paaf,
            json,
            yes,
            accept_new_host_key,
        }
    }

    /// With --json: only the final document is printed, no text and no progress notes.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// The result: `value` as JSON with --json, else `human` renders it as text.
    pub fn emit<T: Serialize + ?Sized>(&self, value: &T, human: impl FnOnce(&T)) {
        if self.json {
            output::json(value)
        } else {
            human(value)
        }
    }

    /// Text output only, when there is no --json (e.g. each command's output as it ends).
    pub fn human(&self, render: impl FnOnce()) {
        if !self.json {
            render()
        }
    }

    /// A progress or context line on stderr; nothing with --json.
    pub fn note(&self, text: &str) {
        self.human(|| output::note(text))
    }

    /// A one-line result: `{"ok": true, "message": …}` with --json.
    pub fn done(&self, message: &str) -> Outcome {
        self.emit(
            &serde_json::json!({ "ok": true, "message": message }),
            |_| output::line(message),
        );
        Ok(exit::OK)
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
            Answer::NotAsked => Ok(Confirmation::None),
            Answer::No => Err(Failure::Aborted),
        }
    }

    /// Prints why the command stopped; its exit code.
    pub fn fail(&self, failure: &Failure) -> i32 {
        match failure {
            Failure::Core(e) => {
                print_error(e, self.json);
                exit::code(e.code())
            }
            Failure::Aborted => {
                if self.json {
                    output::json(&serde_json::json!({ "error": {
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

/// An error: `{"error": {...}}` on stdout with --json, else a line on stderr.
pub fn print_error(e: &Error, json: bool) {
    if json {
        output::json(&serde_json::json!({ "error": ErrorInfo::from(e) }));
    } else {
        output::note(&format!("error[{}]: {e}", e.code().as_str()));
    }
}

/// A token that Ctrl-C cancels, for a long action to stop waiting.
pub fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    cancel
}
