//! RebootX "Remote Runbooks": executable scripts in a directory on the host; a name starting
//! with `__` marks a dangerous one that needs a typed confirmation.

use crate::error::{Error, Result};
use serde::Serialize;

/// One runbook found on a host.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Runbook {
    pub name: String,
    pub dangerous: bool,
}

/// The listing's output bound when the host's `max_output_bytes` is smaller.
pub(crate) const LIST_MAX_BYTES: usize = 1024 * 1024;

/// Exit code the listing script uses when the directory is missing.
pub(crate) const NO_DIR_EXIT: i32 = 44;

fn quote(s: &str) -> String {
    shlex::try_quote(s)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| "''".into())
}

/// A shell line printing the names of the executable regular files in `dir`, one per line.
pub(crate) fn list_command(dir: &str) -> String {
    format!(
        "d={}; [ -d \"$d\" ] || {{ echo \"no runbook directory $d\" >&2; exit {NO_DIR_EXIT}; }}; for f in \"$d\"/* \"$d\"/.[!.]*; do [ -f \"$f\" ] && [ -x \"$f\" ] && printf '%s\\n' \"${{f##*/}}\"; done; exit 0",
        quote(dir)
    )
}

/// Parses the listing into runbooks, sorted by name.
pub(crate) fn parse_list(stdout: &str) -> Vec<Runbook> {
    let mut books: Vec<Runbook> = stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|name| Runbook {
            name: name.to_string(),
            dangerous: is_dangerous(name),
        })
        .collect();
    books.sort_by(|a, b| a.name.cmp(&b.name));
    books
}

pub fn is_dangerous(name: &str) -> bool {
    name.starts_with("__")
}

/// Refuses names that could leave the runbook directory.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." || name.contains('\0') {
        return Err(Error::invalid(format!(
            "`{name}` is not a runbook name; list them with `paaf runbook list HOST`"
        )));
    }
    Ok(())
}

/// The command that runs runbook `name` from `dir`.
pub(crate) fn run_command(dir: &str, name: &str) -> String {
    quote(&format!("{}/{name}", dir.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_parses_and_flags_dangerous_ones() {
        let books = parse_list("restart-app\n__wipe-cache\ncheck-disk\n\n");
        let names: Vec<_> = books
            .iter()
            .map(|b| (b.name.as_str(), b.dangerous))
            .collect();
        assert_eq!(
            names,
            [
                ("__wipe-cache", true),
                ("check-disk", false),
                ("restart-app", false)
            ]
        );
    }

    #[test]
    fn names_cannot_escape_the_directory() {
        assert!(check_name("../../bin/sh").is_err());
        assert!(check_name("..").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("check-disk").is_ok());
        assert_eq!(run_command("/opt/rb/", "a b"), "'/opt/rb/a b'");
    }

    #[test]
    fn list_command_quotes_the_directory() {
        let cmd = list_command("/tmp/it's here");
        assert!(
            cmd.starts_with("d='/tmp/it'\"'\"'s here';") || cmd.contains("\"/tmp/it's here\""),
            "{cmd}"
        );
    }
}
