//! Questions on a terminal: yes/no, a typed name, a hidden secret.

use dialoguer::theme::Theme;
use std::fmt;
use std::io::IsTerminal;

/// What the person at the terminal answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// An explicit yes (`y`/`yes` in any case), or the expected name typed.
    Yes,
    /// Anything else: an empty line, `maybe`, `no way`, a wrong name, Ctrl-C.
    No,
    /// Nobody to ask: stdin or stderr is not a terminal.
    NotAsked,
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The whole line decides: a key-by-key yes/no (dialoguer's `Confirm`) took the `y` of
/// `maybe` or `no way` as the answer.
fn is_yes(line: &str) -> bool {
    let line = line.trim();
    line.eq_ignore_ascii_case("y") || line.eq_ignore_ascii_case("yes")
}

/// Renders the line prompt as `QUESTION [y/N] `, no being the default.
struct YesNoTheme;

impl Theme for YesNoTheme {
    fn format_input_prompt(
        &self,
        f: &mut dyn fmt::Write,
        prompt: &str,
        _default: Option<&str>,
    ) -> fmt::Result {
        write!(f, "{prompt} [y/N] ")
    }

    fn format_input_prompt_selection(
        &self,
        f: &mut dyn fmt::Write,
        prompt: &str,
        sel: &str,
    ) -> fmt::Result {
        write!(f, "{prompt} [y/N] {sel}")
    }
}

fn read_line(theme: &dyn Theme, prompt: &str) -> Option<String> {
    dialoguer::Input::<String>::with_theme(theme)
        .with_prompt(prompt)
        .allow_empty(true)
        .interact_text()
        .ok()
}

/// A yes/no question on a terminal; `question` must already be escaped (`output::shown`).
pub fn yes_no(question: &str) -> Answer {
    if !interactive() {
        return Answer::NotAsked;
    }
    match read_line(&YesNoTheme, question) {
        Some(line) if is_yes(&line) => Answer::Yes,
        _ => Answer::No,
    }
}

/// `expected` typed at a prompt on a terminal (a dangerous runbook's name).
pub fn typed(what: &str, expected: &str) -> Answer {
    if !interactive() {
        return Answer::NotAsked;
    }
    let prompt = format!("{what} is DANGEROUS. Type `{expected}` to run it");
    let theme = dialoguer::theme::SimpleTheme;
    match read_line(&theme, &prompt) {
        Some(line) if line == expected => Answer::Yes,
        _ => Answer::No,
    }
}

/// A secret from stdin (piped) or a hidden prompt (terminal).
pub fn secret(what: &str) -> std::io::Result<String> {
    if std::io::stdin().is_terminal() {
        return dialoguer::Password::new()
            .with_prompt(what)
            .interact()
            .map_err(std::io::Error::other);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::is_yes;

    #[test]
    fn only_an_explicit_y_or_yes_is_a_yes() {
        for yes in ["y", "Y", "yes", "YES", "Yes", " y ", "yes\r"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in [
            "", "n", "no", "maybe", "no way", "yeah", "yess", "y e s", "ok", "true",
        ] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
