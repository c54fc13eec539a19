//! Confirmations: a flag in scripts, a question on a terminal, a refusal otherwise.

use paaf_core::Confirmation;
use std::io::IsTerminal;

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// `--yes`, else a yes/no question on a terminal; without either the core refuses the action.
pub fn confirm(yes: bool, question: &str) -> Confirmation {
    if yes {
        return Confirmation::Yes;
    }
    if !interactive() {
        return Confirmation::None;
    }
    match dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .wait_for_newline(true)
        .interact()
    {
        Ok(true) => Confirmation::Yes,
        _ => Confirmation::None,
    }
}

/// `--confirm NAME`, else the name typed at a prompt on a terminal.
pub fn typed(given: Option<String>, what: &str, expected: &str) -> Confirmation {
    if let Some(t) = given {
        return Confirmation::Typed(t);
    }
    if !interactive() {
        return Confirmation::None;
    }
    let prompt = format!("{what} is DANGEROUS. Type `{expected}` to run it");
    match dialoguer::Input::<String>::new()
        .with_prompt(prompt)
        .allow_empty(true)
        .interact_text()
    {
        Ok(t) => Confirmation::Typed(t),
        Err(_) => Confirmation::None,
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
