//! Env-file flags: `KEY=VALUE` lines in a file on a host (e.g. `/etc/checkout/flags.env`, read
//! by a systemd unit through `EnvironmentFile=`), switched over SSH: the file is edited
//! atomically with a backup, then the unit is restarted and checked; a failed restart puts the
//! file back and restarts the unit again. Server-side flags kept in environment variables.
//!
//! Config, one `[[flags]]` entry per file:
//!
//! ```toml
//! [[flags]]
//! name = "checkout-env"
//! type = "env-file"
//! host = "web-1"                    # a configured [[hosts]] name
//! path = "/etc/checkout/flags.env"  # absolute
//! unit = "checkout.service"         # optional: restarted and checked after each change
//! sudo = true                       # default: read, edit and restart as root via `sudo -n`
//! check_command = "curl -fsS --retry 5 --retry-connrefused http://127.0.0.1:8080/health"
//! restart_timeout_secs = 90         # per restart, and per check command (default 90)
//! ```
//!
//! The file is read the way systemd reads an `EnvironmentFile=`: `#`/`;` comment lines,
//! `KEY=VALUE` with optional spaces around `=`, single- or double-quoted values (which may span
//! lines), a backslash at the end of a line continuing the value; `export KEY=…` is accepted
//! too. A flag is a key whose value is `true/1/on/yes/enabled` or `false/0/off/no/disabled`
//! (any case); a switch keeps the file's spelling (`True`→`False`, `1`→`0`, `on`→`off`) and
//! changes nothing but that value: quotes, `export`, comments and every other line stay as
//! they are. Any other key is "not a boolean flag" and is never switched; its value may be a
//! secret, so no error or listing ever shows it. When a key is set twice, the last line wins
//! (as in systemd) and is the one switched.
//!
//! A write is conditional: under the lock on the host it checks the key's line is still the
//! one read, so a change made meanwhile is never overwritten.
//!
//! As root means as a shell script under `sudo -n sh -c …` (the read, the locked edit with its
//! backup, the restart and its rollback are one script): the login user needs sudo for `sh`
//! itself, e.g. `deploy ALL=(root) NOPASSWD: /usr/bin/sh`, which is as much as full root. A
//! least-privilege rule for single programs (enough for a reboot) is not enough here, and a
//! refused `sudo -n` says so, naming the `sh` sudo would run.
//!
//! These are blocking functions over one [`Connection`]; [`EnvFileBackend`] runs them through
//! [`crate::ssh::SshPool::with_connection`].

use super::{
    Flag, FlagBackend, FlagEnvironment, FlagFilter, FlagRef, FlagState, FlagSwitch, listed,
};
use crate::config::FlagsEntry;
use crate::error::{Error, ErrorCode, Result};
use crate::ssh::{Connection, ExecOutput, SUDO_SECURE_PATH, SshPool, Target};
use serde::Serialize;
use std::ops::Range;
use std::time::Duration;

/// One env-file flag source: which file on which host, and the unit that reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFileSettings {
    /// The configured `[[hosts]]` name the file lives on (`host`).
    pub host: String,
    /// Absolute path of the file on that host (`path`).
    pub path: String,
    /// The systemd unit restarted after a change (`unit`); none: the file is only edited.
    pub unit: Option<String>,
    /// Read, edit and restart through `sudo -n` (`sudo`, default true; not used when the
    /// login user is root).
    pub sudo: bool,
    /// A shell line run (as root under `sudo`) after the unit is active again; a non-zero exit
    /// counts as a failed restart (`check_command`). It runs once: give it its own retries.
    pub check_command: Option<String>,
    /// Budget of each `systemctl restart` and of the check command (`restart_timeout_secs`).
    pub restart_timeout: Duration,
}

/// `restart_timeout_secs` when the config has none: systemd's own default start timeout.
pub const DEFAULT_RESTART_TIMEOUT: Duration = Duration::from_secs(90);

impl EnvFileSettings {
    /// The entry's env-file settings: a host and an absolute file path are required; `sudo`
    /// defaults to true and `restart_timeout_secs` to [`DEFAULT_RESTART_TIMEOUT`].
    pub(crate) fn from_entry(entry: &FlagsEntry<'_>) -> Result<EnvFileSettings> {
        let (host, path) = entry.host_and_path()?;
        let (unit, sudo, check_command) = entry.unit_sudo_check();
        let settings = EnvFileSettings {
            host: host.get_ref().clone(),
            path: path.get_ref().clone(),
            unit,
            sudo: sudo.unwrap_or(true),
            check_command,
            restart_timeout: entry.restart_timeout()?.unwrap_or(DEFAULT_RESTART_TIMEOUT),
        };
        settings.validate().map_err(|m| {
            entry.err_at(
                path,
                &m,
                "e.g. path = \"/etc/checkout/flags.env\" and unit = \"checkout.service\"",
            )
        })?;
        Ok(settings)
    }

    /// The file's flags over SSH, through `ssh`'s target and pool for the host.
    pub(crate) fn connect(
        &self,
        name: &str,
        ssh: &dyn Fn(&str) -> Result<(Target, SshPool)>,
    ) -> Result<EnvFileBackend> {
        let (target, pool) = ssh(&self.host)?;
        Ok(EnvFileBackend {
            name: name.to_string(),
            settings: self.clone(),
            target,
            pool,
        })
    }

    /// Why these settings cannot work, if they cannot (for the config loader's message).
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !self.path.starts_with('/') || self.path.ends_with('/') {
            return Err(format!(
                "path `{}` must be the absolute path of a file, e.g. /etc/checkout/flags.env",
                self.path
            ));
        }
        if self.path.contains(['\0', '\n', '\r']) {
            return Err("path must not contain control characters".into());
        }
        if let Some(unit) = &self.unit
            && !valid_unit(unit)
        {
            return Err(format!(
                "unit `{unit}` is not a systemd unit name, e.g. checkout.service"
            ));
        }
        if self
            .check_command
            .as_deref()
            .is_some_and(|c| c.contains('\0'))
        {
            return Err("check_command must not contain NUL".into());
        }
        if self.restart_timeout.is_zero() {
            return Err("restart_timeout_secs must be at least 1".into());
        }
        Ok(())
    }

    /// `web-1:/etc/checkout/flags.env`, for messages.
    fn file(&self) -> String {
        format!("{}:{}", self.host, self.path)
    }
}

fn valid_unit(unit: &str) -> bool {
    !unit.is_empty()
        && !unit.starts_with(['-', '.'])
        && unit.len() <= 256
        && unit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":-_.@\\".contains(c))
}

/// A key that can name a flag: `[A-Za-z_][A-Za-z0-9_.-]*`.
fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// One key of the file as a flag: its state, or `None` when its value is not a boolean (the
/// value itself is never kept: it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvFlag {
    pub key: String,
    pub enabled: Option<bool>,
}

impl EnvFlag {
    /// The flag in the shape every backend lists, under the configured backend name; its one
    /// environment is the host. A key that is not a boolean has no environment and says so.
    pub fn to_flag(&self, backend: &str, s: &EnvFileSettings) -> Flag {
        Flag {
            backend: backend.to_string(),
            project: String::new(),
            key: self.key.clone(),
            name: None,
            description: Some(match self.enabled {
                Some(_) => format!("{} in {}", self.key, s.file()),
                None => format!(
                    "{} in {}: not a boolean flag ({BOOLEAN_WORDS}); paaf does not show or switch it",
                    self.key,
                    s.file()
                ),
            }),
            tags: Vec::new(),
            environments: self
                .enabled
                .map(|enabled| FlagEnvironment {
                    name: s.host.clone(),
                    enabled,
                })
                .into_iter()
                .collect(),
            url: None,
        }
    }
}

/// What a switch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvFileChange {
    pub host: String,
    pub path: String,
    pub key: String,
    /// The value as it was written before, and as it is now (`true` → `false`).
    pub before: String,
    pub after: String,
    /// The flag's state now.
    pub state: FlagState,
    /// False when the flag already had the wanted state: nothing was written or restarted.
    pub changed: bool,
    /// The copy of the file from before the change (`PATH.paaf-bak-<UTC time>`).
    pub backup: Option<String>,
    /// The unit restarted with the new file (and found active, check command passed).
    pub restarted: Option<String>,
}

const BOOLEAN_WORDS: &str =
    "its value is not one of true/false, 1/0, on/off, yes/no, enabled/disabled";

const SPELLINGS: [(&str, &str); 5] = [
    ("true", "false"),
    ("1", "0"),
    ("on", "off"),
    ("yes", "no"),
    ("enabled", "disabled"),
];

/// The flag state a value spells, if it spells one (case-insensitive).
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.to_ascii_lowercase();
    SPELLINGS.iter().find_map(|(on, off)| {
        if v == *on {
            Some(true)
        } else if v == *off {
            Some(false)
        } else {
            None
        }
    })
}

/// `value` switched to `enabled` in the same word family and letter case (`True` → `False`).
fn respell(value: &str, enabled: bool) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let (on, off) = SPELLINGS
        .iter()
        .find(|(on, off)| lower == *on || lower == *off)?;
    let word = if enabled { on } else { off };
    let has_upper = value.chars().any(|c| c.is_ascii_uppercase());
    let has_lower = value.chars().any(|c| c.is_ascii_lowercase());
    Some(if has_upper && !has_lower {
        word.to_ascii_uppercase()
    } else if value.starts_with(|c: char| c.is_ascii_uppercase()) {
        let mut w = word.to_string();
        w[..1].make_ascii_uppercase();
        w
    } else {
        word.to_string()
    })
}

// ------------------------------------------------------------------------------ parsing

/// One assignment as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Assignment {
    key: String,
    value: String,
    /// 0-based number of the line the assignment starts on.
    line: usize,
    /// Byte range of the value within that line when it is written plainly (one line, no
    /// escapes, quoted or not), so a switch can replace exactly those bytes.
    plain: Option<Range<usize>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    LineStart,
    Comment,
    Key,
    PreValue,
    Value,
    Single,
    Double,
    AfterQuote,
}

/// The reader of one file: where it is, and the assignment being read.
struct Parser {
    out: Vec<Assignment>,
    line: usize,
    line_start: usize,
    key: String,
    key_line: usize,
    key_line_start: usize,
    value: String,
    /// Still one line without escapes (so far).
    plain: bool,
    /// Where the value's first byte is in the text.
    value_start: usize,
}

impl Parser {
    fn finish(&mut self) {
        let value = std::mem::take(&mut self.value);
        if let Some(key) = assignment_key(&self.key) {
            let plain = (self.plain && self.line == self.key_line).then(|| {
                let start = self.value_start - self.key_line_start;
                start..start + value.len()
            });
            self.out.push(Assignment {
                key: key.to_string(),
                value,
                line: self.key_line,
                plain,
            });
        }
    }

    /// After a backslash-newline inside a value: the value goes on on the next line.
    fn continue_line(&mut self, next: Option<usize>, text_len: usize) {
        self.plain = false;
        self.line += 1;
        self.line_start = next.unwrap_or(text_len);
    }
}

/// Every assignment of the file, in order (systemd's EnvironmentFile= grammar, see the
/// module docs). Lines inside a multi-line value never count as assignments of their own.
fn parse(text: &str) -> Vec<Assignment> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut p = Parser {
        out: Vec::new(),
        line: 0,
        line_start: 0,
        key: String::new(),
        key_line: 0,
        key_line_start: 0,
        value: String::new(),
        plain: true,
        value_start: 0,
    };
    let mut state = State::LineStart;
    let mut key_start = 0;
    let mut i = 0;
    while i <= chars.len() {
        // A virtual newline at the end finishes the last line.
        let at_end = i == chars.len();
        let (pos, c) = chars.get(i).copied().unwrap_or((text.len(), '\n'));
        i += 1;
        let next_pos = |j: usize| chars.get(j).map(|b| b.0);
        match state {
            State::LineStart => match c {
                ' ' | '\t' | '\r' | '\n' => {}
                '#' | ';' => state = State::Comment,
                _ => {
                    state = State::Key;
                    key_start = pos;
                    p.key_line = p.line;
                    p.key_line_start = p.line_start;
                }
            },
            State::Comment => {}
            State::Key => match c {
                '=' => {
                    p.key = text[key_start..pos].to_string();
                    p.value.clear();
                    p.plain = true;
                    state = State::PreValue;
                }
                // A line without `=` is not an assignment.
                '\n' => state = State::LineStart,
                _ => {}
            },
            State::PreValue => match c {
                ' ' | '\t' => {}
                '\n' => {
                    p.value_start = pos;
                    p.finish();
                    state = State::LineStart;
                }
                '"' => {
                    p.value_start = pos + 1;
                    state = State::Double;
                }
                '\'' => {
                    p.value_start = pos + 1;
                    state = State::Single;
                }
                _ => {
                    p.value_start = pos;
                    state = State::Value;
                    i -= 1; // read it again as part of the value
                }
            },
            State::Value => match c {
                '\n' => {
                    if p.value.ends_with('\r') {
                        p.value.pop();
                    }
                    let trimmed = p.value.trim_end_matches([' ', '\t']).len();
                    p.value.truncate(trimmed);
                    p.finish();
                    state = State::LineStart;
                }
                '\\' => match chars.get(i) {
                    // A backslash at the end of a line continues the value.
                    Some((_, '\n')) => {
                        i += 1;
                        p.continue_line(next_pos(i), text.len());
                    }
                    Some((_, n)) => {
                        p.plain = false;
                        p.value.push(*n);
                        i += 1;
                    }
                    None => p.plain = false,
                },
                _ => p.value.push(c),
            },
            State::Single | State::Double => {
                let double = state == State::Double;
                if at_end {
                    // An unclosed quote: the value runs to the end of the file.
                    p.plain = false;
                    p.finish();
                } else if c == if double { '"' } else { '\'' } {
                    state = State::AfterQuote;
                } else if c == '\\' && double {
                    match chars.get(i) {
                        Some((_, '\n')) => {
                            i += 1;
                            p.continue_line(next_pos(i), text.len());
                        }
                        Some((_, n)) => {
                            p.plain = false;
                            if !matches!(n, '"' | '\\' | '`' | '$') {
                                p.value.push('\\');
                            }
                            p.value.push(*n);
                            i += 1;
                        }
                        None => p.plain = false,
                    }
                } else {
                    if c == '\n' {
                        p.plain = false;
                    }
                    p.value.push(c);
                }
            }
            State::AfterQuote => match c {
                ' ' | '\t' | '\r' => {}
                '\n' => {
                    p.finish();
                    state = State::LineStart;
                }
                _ => {
                    // `"a"b`: systemd joins the parts; paaf reads it but never rewrites it.
                    p.plain = false;
                    state = State::Value;
                    i -= 1;
                }
            },
        }
        if c == '\n' && !at_end {
            p.line += 1;
            p.line_start = pos + 1;
            if state == State::Comment {
                state = State::LineStart;
            }
        }
    }
    p.out
}

/// The key of an assignment's left side (`KEY`, `KEY `, `export KEY`), if it is a valid one.
fn assignment_key(left: &str) -> Option<&str> {
    let left = left.trim_end_matches([' ', '\t']);
    let key = match left.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start_matches([' ', '\t']),
        _ => left,
    };
    valid_key(key).then_some(key)
}

/// One value per key (the last assignment wins), in the order keys first appear.
fn effective(assignments: &[Assignment]) -> Vec<&Assignment> {
    let mut keys: Vec<&str> = Vec::new();
    for a in assignments {
        if !keys.contains(&a.key.as_str()) {
            keys.push(&a.key);
        }
    }
    keys.iter()
        .filter_map(|k| assignments.iter().rev().find(|a| a.key == *k))
        .collect()
}

/// The file's lines as awk numbers them (split on `\n`, no empty line after a final one).
fn lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    lines
}

// ------------------------------------------------------------------------------ remote side

/// Exit codes of the remote scripts; each maps to one error below.
const EXIT_NO_SUDO: i32 = 70;
const EXIT_NO_FILE: i32 = 71;
const EXIT_LINE_MOVED: i32 = 72;
const EXIT_NO_UNIT: i32 = 73;
const EXIT_LOCKED: i32 = 74;
const EXIT_NOT_WRITTEN: i32 = 75;
const EXIT_ROLLED_BACK: i32 = 76;
const EXIT_ROLLED_BACK_UNIT_DOWN: i32 = 77;
const EXIT_ROLLBACK_FAILED: i32 = 78;
const EXIT_NOT_A_FILE: i32 = 79;

/// Largest file paaf reads.
const MAX_FILE_BYTES: usize = 1 << 20;
/// Budget of reading the file.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the change waits for another change of the same file to finish.
const LOCK_WAIT_SECS: u64 = 30;
/// How long a restarted unit has to crash before `is-active` is asked: a unit that exits at
/// once on a bad value is "active" for the first few milliseconds.
const SETTLE_SECS: u64 = 2;
/// How often a change is tried again when other lines moved between the read and the write.
const ATTEMPTS: usize = 3;

const PREFIX: &str = "paaf-envfile:";

/// Reads the file (`$1`) to stdout.
const READ_SCRIPT: &str = r#"f=$1
[ -e "$f" ] || exit 71
[ -f "$f" ] || exit 79
exec cat -- "$f"
"#;

/// The whole change, run as one command so a dropped connection cannot leave half of it:
/// lock, check the line, back up, replace atomically, restart and check the unit, and put
/// the backup back (and restart again) if that fails. Never prints the file's contents.
/// Args: path, line number (1-based), the line as paaf read it, the new line, unit (or ""),
/// check command (or ""), restart timeout (s), settle time (s), lock wait (s).
const CHANGE_SCRIPT: &str = r#"trap '' PIPE HUP
f=$1 ln=$2 old=$3 new=$4 unit=$5 check=$6 rt=$7 settle=$8 lockwait=$9
out() { printf 'paaf-envfile: %s\n' "$*"; }
[ -e "$f" ] || { out missing-file; exit 71; }
f=$(readlink -f -- "$f") && [ -f "$f" ] || { out not-a-file; exit 79; }
if [ -n "$unit" ]; then
    load=$(systemctl show -p LoadState --value -- "$unit" 2>/dev/null)
    [ "$load" = loaded ] || { out missing-unit "${load:-unknown}"; exit 73; }
fi
# A failed redirection of `exec` would end the shell: try it in a subshell first.
( : >>"$f.paaf-lock" ) 2>/dev/null || { out not-written "cannot create $f.paaf-lock"; exit 75; }
exec 9>>"$f.paaf-lock"
flock -w "$lockwait" 9 || { out locked; exit 74; }
tmp=$(mktemp "$f.paaf-new.XXXXXX") || { out not-written temp-file; exit 75; }
PAAF_LN=$ln PAAF_OLD=$old PAAF_NEW=$new awk '
    NR == ENVIRON["PAAF_LN"] + 0 {
        if (($0 "") != (ENVIRON["PAAF_OLD"] "")) { moved = 1; exit 3 }
        print ENVIRON["PAAF_NEW"]; found = 1; next
    }
    { print }
    END { if (moved || !found) exit 3 }' "$f" >"$tmp"
rc=$?
[ "$rc" -eq 3 ] && { rm -f -- "$tmp"; out moved; exit 72; }
[ "$rc" -eq 0 ] || { rm -f -- "$tmp"; out not-written edit; exit 75; }
# awk ends every line with a newline: keep a file without a final one as it was.
if [ -n "$(tail -c 1 -- "$f")" ]; then
    truncate -s -1 -- "$tmp" || { rm -f -- "$tmp"; out not-written edit; exit 75; }
fi
own=$(stat -c %u:%g -- "$f") && mode=$(stat -c %a -- "$f") &&
    chown -- "$own" "$tmp" && chmod -- "$mode" "$tmp" ||
    { rm -f -- "$tmp"; out not-written owner-mode; exit 75; }
bak=$f.paaf-bak-$(date -u +%Y%m%dT%H%M%SZ)
[ -e "$bak" ] && bak=$bak.$$
cp -p -- "$f" "$bak" || { rm -f -- "$tmp" "$bak"; out not-written backup; exit 75; }
mv -f -- "$tmp" "$f" || { rm -f -- "$tmp"; out not-written rename; exit 75; }
out changed "$bak"
[ -n "$unit" ] || exit 0
restart() {
    step=restart
    err=$(timeout "$rt" systemctl restart -- "$unit" 2>&1 9>&-) || return 1
    sleep "$settle"
    step=is-active
    systemctl is-active --quiet -- "$unit" 9>&- || return 1
    step=check
    [ -z "$check" ] || timeout "$rt" sh -c "$check" </dev/null >/dev/null 2>&1 9>&- || return 1
}
if restart; then out restarted "$unit"; exit 0; fi
out failed "$step"
[ -n "$err" ] && out restart-error "$(printf '%s' "$err" | tr '\n' ' ' | cut -c1-300)"
back=$(mktemp "$f.paaf-new.XXXXXX") && cp -p -- "$bak" "$back" && mv -f -- "$back" "$f" ||
    { rm -f -- "$back"; out rollback-failed; exit 78; }
out rolled-back
if restart; then out restarted "$unit"; exit 76; fi
out failed-again "$step"
exit 77
"#;

fn quote(s: &str) -> String {
    shlex::try_quote(s)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| "''".into())
}

/// The command line that runs `script` with `args` as root (`sudo -n`, unless the login user
/// is root) or as the login user. Everything goes through `sh -c` so the login shell's
/// flavour does not matter; a refused `sudo -n` reports the login user, the `sh` sudo would
/// run (found through its secure_path) and sudo's words, and exits with [`EXIT_NO_SUDO`].
fn remote_command(s: &EnvFileSettings, script: &str, args: &[&str]) -> String {
    let mut argv = String::from("paaf-envfile");
    for a in args {
        argv.push(' ');
        argv.push_str(&quote(a));
    }
    if !s.sudo {
        return format!("sh -c {} {argv}", quote(script));
    }
    let wrapper = format!(
        r#"s={}
if [ "$(id -u)" = 0 ]; then exec sh -c "$s" "$0" "$@"; fi
if e=$(sudo -n sh -c : 2>&1 </dev/null); then exec sudo -n sh -c "$s" "$0" "$@"; fi
printf '{PREFIX} no-sudo %s %s: %s\n' "$(id -un)" "$(PATH={SUDO_SECURE_PATH}; command -v sh)" "$(printf '%s' "$e" | head -n 1)"
exit {EXIT_NO_SUDO}"#,
        quote(script)
    );
    format!("sh -c {} {argv}", quote(&wrapper))
}

/// The `paaf-envfile: WORD REST` lines of a script's output, as (word, rest).
fn report(o: &ExecOutput) -> Vec<(&str, &str)> {
    o.stdout
        .lines()
        .filter_map(|l| l.strip_prefix(PREFIX))
        .map(|l| l.trim().split_once(' ').unwrap_or((l.trim(), "")))
        .collect()
}

fn reported<'a>(o: &'a ExecOutput, word: &str) -> Option<&'a str> {
    report(o)
        .into_iter()
        .find(|(w, _)| *w == word)
        .map(|(_, rest)| rest)
}

/// `sudo -n sh` refused: the sudoers rule that lets the change run (for the `sh` sudo would
/// run), said to be as much as full root, and the other ways.
fn no_sudo(s: &EnvFileSettings, o: &ExecOutput, doing: &str) -> Error {
    let said = reported(o, "no-sudo").unwrap_or("");
    let (who, why) = said.split_once(": ").unwrap_or((said, ""));
    let (user, sh) = who.trim().split_once(' ').unwrap_or((who.trim(), ""));
    let sh = Some(sh.trim())
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/bin/sh");
    let (restarting, restart) = match s.unit.as_deref() {
        Some(u) => (
            format!(", then restarting {u}"),
            format!(" and restart {u}"),
        ),
        None => (String::new(), String::new()),
    };
    Error::Privilege {
        host: s.host.clone(),
        reason: format!(
            "`sudo -n` does not let {user} run `sh` as root without a password ({why}), so paaf cannot {doing}: paaf works on the file as one shell script run as root (reading it, editing it under a lock{restarting}), so a sudoers rule for single programs is not enough. Allow {user} that shell: `{user} ALL=(root) NOPASSWD: {sh}` in /etc/sudoers.d/paaf (a shell runs anything: that is as much as full root), or log in as root, or set sudo = false for this [[flags]] entry if {user} may write the file{restart}",
        ),
    }
}

fn file_not_found(s: &EnvFileSettings) -> Error {
    Error::NotFound {
        what: "env file",
        name: s.file(),
        hint: Some(format!(
            "there is no {} on {}; check `path` of this [[flags]] entry (nothing was changed)",
            s.path, s.host
        )),
    }
}

fn not_a_file(s: &EnvFileSettings) -> Error {
    Error::invalid(format!(
        "{} is not a regular file; point `path` of this [[flags]] entry at the env file itself",
        s.file()
    ))
}

fn conflict(s: &EnvFileSettings, message: String) -> Error {
    Error::Service {
        service: format!("env-file flags in {}", s.file()),
        code: ErrorCode::Conflict,
        // Not HTTP: the change runs over SSH.
        status: 0,
        message,
    }
}

fn on_off(enabled: bool) -> &'static str {
    if enabled { "on" } else { "off" }
}

/// The file's text, read now (through `sudo -n` when `s.sudo`).
fn read_text(c: &mut Connection, s: &EnvFileSettings) -> Result<String> {
    let cmd = remote_command(s, READ_SCRIPT, &[&s.path]);
    let o = c.exec(&cmd, READ_TIMEOUT, MAX_FILE_BYTES)?;
    match o.exit_code {
        0 if o.signal.is_none() => {
            if o.stdout_truncated {
                return Err(Error::invalid(format!(
                    "{} is larger than {} KiB; paaf only switches flags in small env files",
                    s.file(),
                    MAX_FILE_BYTES / 1024
                )));
            }
            Ok(o.stdout)
        }
        EXIT_NO_SUDO => Err(no_sudo(s, &o, &format!("read {}", s.path))),
        EXIT_NO_FILE => Err(file_not_found(s)),
        EXIT_NOT_A_FILE => Err(not_a_file(s)),
        code => {
            // Only cat's or sh's own messages: stdout (the file) is never shown.
            let stderr = o.stderr.trim().to_string();
            if stderr.contains("Permission denied") {
                return Err(Error::Privilege {
                    host: s.host.clone(),
                    reason: format!(
                        "cannot read {} as the login user ({stderr}); set sudo = true for this [[flags]] entry, or let the login user read it",
                        s.path
                    ),
                });
            }
            Err(Error::RemoteCommand {
                host: s.host.clone(),
                command: format!("read {}", s.path),
                exit_code: code,
                stderr,
            })
        }
    }
}

/// The flags of one file on one host, switched over the facade's SSH connection pool.
pub struct EnvFileBackend {
    name: String,
    settings: EnvFileSettings,
    target: Target,
    pool: SshPool,
}

impl FlagBackend for EnvFileBackend {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self, filter: &FlagFilter) -> Result<Vec<Flag>> {
        let s = self.settings.clone();
        let flags = self
            .pool
            .with_connection(self.target.clone(), move |c| list_flags(c, &s))
            .await?;
        Ok(flags
            .iter()
            .filter(|f| f.enabled.is_some() && filter.matches_text(&f.key, None))
            .map(|f| f.to_flag(&self.name, &self.settings))
            .collect())
    }

    async fn state(&self, flag: &FlagRef<'_>) -> Result<FlagState> {
        let (s, key) = (self.settings.clone(), flag.key.to_string());
        self.pool
            .with_connection(self.target.clone(), move |c| flag_state(c, &s, &key))
            .await
    }

    async fn set(&self, switch: &FlagSwitch<'_>) -> Result<FlagState> {
        let (flag, enabled, expected) = (switch.flag, switch.enabled, switch.expected);
        let (s, key, expected) = (
            self.settings.clone(),
            flag.key.to_string(),
            expected.clone(),
        );
        let change = self
            .pool
            .with_connection(self.target.clone(), move |c| {
                set_flag(c, &s, &key, enabled, &expected)
            })
            .await?;
        Ok(change.state)
    }

    // The state returned is the one written (its unit's check passed), not the file read
    // again.
    fn set_answers_read_back(&self) -> bool {
        false
    }
}

/// Every key of the file with its value, one per key (the last assignment wins), in file
/// order. Values may be secrets: never show them; [`list_flags`] is the listing to show.
pub fn read_flags(c: &mut Connection, s: &EnvFileSettings) -> Result<Vec<(String, String)>> {
    let text = read_text(c, s)?;
    let parsed = parse(&text);
    Ok(effective(&parsed)
        .into_iter()
        .map(|a| (a.key.clone(), a.value.clone()))
        .collect())
}

/// Every key of the file as a flag: on, off, or not a boolean (without its value).
pub fn list_flags(c: &mut Connection, s: &EnvFileSettings) -> Result<Vec<EnvFlag>> {
    Ok(read_flags(c, s)?
        .into_iter()
        .map(|(key, value)| EnvFlag {
            enabled: parse_bool(&value),
            key,
        })
        .collect())
}

/// The state of flag `key`, read now.
pub fn flag_state(c: &mut Connection, s: &EnvFileSettings, key: &str) -> Result<FlagState> {
    check_key(s, key)?;
    let text = read_text(c, s)?;
    let parsed = parse(&text);
    let a = find(s, &parsed, key)?;
    let enabled = boolean(s, a)?;
    Ok(FlagState::conditional(enabled, None))
}

fn check_key(s: &EnvFileSettings, key: &str) -> Result<()> {
    if valid_key(key) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{key}` is not an environment variable name (letters, digits and _ . -, not starting with a digit); list the flags of {} with `paaf flag list`",
            s.file()
        )))
    }
}

fn find<'a>(s: &EnvFileSettings, parsed: &'a [Assignment], key: &str) -> Result<&'a Assignment> {
    parsed.iter().rev().find(|a| a.key == key).ok_or_else(|| {
        let flags: Vec<&str> = effective(parsed)
            .into_iter()
            .filter(|a| parse_bool(&a.value).is_some())
            .map(|a| a.key.as_str())
            .collect();
        Error::NotFound {
            what: "flag",
            name: key.to_string(),
            hint: Some(format!(
                "{} sets no {key}; its flags: {}",
                s.file(),
                listed(&flags)
            )),
        }
    })
}

fn boolean(s: &EnvFileSettings, a: &Assignment) -> Result<bool> {
    parse_bool(&a.value).ok_or_else(|| {
        Error::invalid(format!(
            "{} in {} is not a boolean flag: {BOOLEAN_WORDS} (its value is not shown: it may be a secret); paaf only switches boolean flags, nothing was changed",
            a.key,
            s.file()
        ))
    })
}

/// Turns flag `key` on or off if it is still `expected.enabled` (the state the user saw and
/// confirmed): one remote command locks the file (flock on `PATH.paaf-lock`), checks the
/// key's line is still the one read, backs the file up to `PATH.paaf-bak-<UTC time>`, writes
/// the new file beside it with the same owner and mode and renames it into place, then
/// restarts `unit`, waits for it to be active and runs `check_command`; if that fails it puts
/// the backup back, restarts the unit again and the error says so. Already in the wanted
/// state: nothing is written or restarted (`changed: false`).
pub fn set_flag(
    c: &mut Connection,
    s: &EnvFileSettings,
    key: &str,
    enabled: bool,
    expected: &FlagState,
) -> Result<EnvFileChange> {
    check_key(s, key)?;
    s.validate().map_err(Error::invalid)?;
    for _ in 0..ATTEMPTS {
        let text = read_text(c, s)?;
        let parsed = parse(&text);
        let a = find(s, &parsed, key)?;
        let now = boolean(s, a)?;
        if now != expected.enabled {
            return Err(conflict(
                s,
                format!(
                    "{key} is now {}, not {} as when you looked (someone changed the file); nothing was changed: look at its current state and decide again",
                    on_off(now),
                    on_off(expected.enabled)
                ),
            ));
        }
        let unchanged = |backup| EnvFileChange {
            host: s.host.clone(),
            path: s.path.clone(),
            key: key.to_string(),
            before: a.value.clone(),
            after: a.value.clone(),
            state: FlagState::conditional(now, None),
            changed: false,
            backup,
            restarted: None,
        };
        if now == enabled {
            return Ok(unchanged(None));
        }
        let (Some(range), Some(after)) = (a.plain.clone(), respell(&a.value, enabled)) else {
            return Err(Error::invalid(format!(
                "{key} in {} is written in a form paaf does not rewrite (escaped or spread over lines); write it as {key}={} and try again",
                s.file(),
                a.value
            )));
        };
        let old_line = lines(&text)[a.line];
        let new_line = format!(
            "{}{after}{}",
            &old_line[..range.start],
            &old_line[range.end..]
        );
        let o = run_change(c, s, key, a.line + 1, old_line, &new_line, enabled)?;
        let base = EnvFileChange {
            before: a.value.clone(),
            after: after.clone(),
            state: FlagState::conditional(enabled, None),
            changed: true,
            backup: reported(&o, "changed").map(str::to_string),
            restarted: reported(&o, "restarted").map(str::to_string),
            ..unchanged(None)
        };
        match o.exit_code {
            0 => return Ok(base),
            EXIT_LINE_MOVED => continue, // read again: conflict if the key itself changed
            code => return Err(change_error(s, key, enabled, &o, code, old_line)),
        }
    }
    Err(conflict(
        s,
        format!(
            "{key} could not be switched: the file kept changing while paaf wrote it ({ATTEMPTS} tries); nothing was changed: try again when whoever edits it is done"
        ),
    ))
}

/// Runs the change script; a failure after the command may have reached the host is
/// "outcome unknown" (the script carries on there even when the connection is gone).
fn run_change(
    c: &mut Connection,
    s: &EnvFileSettings,
    key: &str,
    line: usize,
    old_line: &str,
    new_line: &str,
    enabled: bool,
) -> Result<ExecOutput> {
    let rt = s.restart_timeout.as_secs().max(1);
    let args = [
        s.path.as_str(),
        &line.to_string(),
        old_line,
        new_line,
        s.unit.as_deref().unwrap_or(""),
        s.check_command.as_deref().unwrap_or(""),
        &rt.to_string(),
        &SETTLE_SECS.to_string(),
        &LOCK_WAIT_SECS.to_string(),
    ];
    let cmd = remote_command(s, CHANGE_SCRIPT, &args);
    // Two restarts (the change, the rollback), each with its check, plus the lock wait.
    let budget = Duration::from_secs(LOCK_WAIT_SECS + 2 * (2 * rt + SETTLE_SECS) + 30);
    c.exec(&cmd, budget, 64 * 1024).map_err(|e| {
        if c.failed_before_sending() {
            e
        } else {
            Error::OutcomeUnknown {
                what: format!(
                    "switching {key} {} in {}{}",
                    on_off(enabled),
                    s.file(),
                    s.unit
                        .as_deref()
                        .map(|u| format!(" (and restarting {u})"))
                        .unwrap_or_default()
                ),
                reason: e.to_string(),
            }
        }
    })
}

fn change_error(
    s: &EnvFileSettings,
    key: &str,
    enabled: bool,
    o: &ExecOutput,
    code: i32,
    old_line: &str,
) -> Error {
    let unit = s.unit.as_deref().unwrap_or("");
    let change = format!("{key}={}", on_off(enabled));
    // The unit failed around a written change (not HTTP: the change runs over SSH).
    let unit_failed = |message: String| Error::Service {
        service: format!("{unit} on {}", s.host),
        code: ErrorCode::ServiceFailed,
        status: 0,
        message,
    };
    let why = || {
        let step = reported(o, "failed").unwrap_or("restart");
        let mut why = match step {
            "is-active" => format!("{unit} was not active {SETTLE_SECS}s after its restart"),
            "check" => format!("the check command failed after {unit} restarted"),
            _ => format!("`systemctl restart {unit}` failed"),
        };
        if let Some(err) = reported(o, "restart-error") {
            why.push_str(&format!(" ({err})"));
        }
        why
    };
    let backup = reported(o, "changed").unwrap_or("PATH.paaf-bak-*");
    match code {
        EXIT_NO_SUDO => no_sudo(s, o, &format!("change {}", s.path)),
        EXIT_NO_FILE => file_not_found(s),
        EXIT_NOT_A_FILE => not_a_file(s),
        EXIT_NO_UNIT => Error::NotFound {
            what: "systemd unit",
            name: unit.to_string(),
            hint: Some(format!(
                "{} has no unit {unit} (LoadState: {}); nothing was changed in {}: check `unit` of this [[flags]] entry",
                s.host,
                reported(o, "missing-unit").unwrap_or("unknown"),
                s.path
            )),
        },
        EXIT_LOCKED => conflict(
            s,
            format!(
                "another change of {} is under way (its lock {}.paaf-lock was held for {LOCK_WAIT_SECS}s); nothing was changed: try again",
                s.path, s.path
            ),
        ),
        EXIT_ROLLED_BACK => unit_failed(format!(
            "ROLLED BACK: {change} in {} was written, but {}; the change was rolled back: the file is as before ({key} is {} again; backup {backup}) and {unit} was restarted with it and is active",
            s.path,
            why(),
            on_off(!enabled)
        )),
        EXIT_ROLLED_BACK_UNIT_DOWN => {
            let (label, state) = match reported(o, "failed-again").unwrap_or("restart") {
                "check" => (
                    "UNIT UNHEALTHY",
                    format!(
                        "the check command fails with the old file too ({unit} was restarted and is active)"
                    ),
                ),
                "is-active" => (
                    "UNIT DOWN",
                    format!("{unit} is not active after the rollback restart either"),
                ),
                _ => (
                    "UNIT DOWN",
                    format!("restarting {unit} with the old file failed too: it is down"),
                ),
            };
            unit_failed(format!(
                "ROLLED BACK, {label}: {change} in {} was written, but {}; the change was rolled back ({key} is {} again in the file; backup {backup}), but {state}; look at it now (`journalctl -u {unit}`)",
                s.path,
                why(),
                on_off(!enabled),
            ))
        }
        EXIT_ROLLBACK_FAILED => unit_failed(format!(
            "ROLLBACK FAILED: {change} in {} was written, but {}, and putting the backup {backup} back failed: the file still has the change and {unit} is not healthy; restore the backup by hand",
            s.path,
            why()
        )),
        EXIT_NOT_WRITTEN if !s.sudo => Error::Privilege {
            host: s.host.clone(),
            reason: format!(
                "the login user could not switch {key} in {} ({}); nothing was changed: set sudo = true for this [[flags]] entry, or let the login user write the file and its directory",
                s.path,
                script_words(o)
            ),
        },
        EXIT_NOT_WRITTEN => Error::RemoteCommand {
            host: s.host.clone(),
            command: format!("switch {key} in {} (line `{old_line}`)", s.path),
            exit_code: code,
            stderr: format!("{}; nothing was changed", script_words(o)),
        },
        // A shell error or a signal: the script stopped somewhere, maybe after the rename.
        _ => Error::OutcomeUnknown {
            what: format!("switching {key} in {}", s.file()),
            reason: format!(
                "the change script ended with exit code {code}{}: {}; check the file{}",
                o.signal
                    .as_deref()
                    .map(|sig| format!(" (signal {sig})"))
                    .unwrap_or_default(),
                script_words(o),
                s.unit
                    .as_deref()
                    .map(|u| format!(" and {u}"))
                    .unwrap_or_default()
            ),
        },
    }
}

/// What the script said (its `paaf-envfile:` lines) and its stderr (messages of mktemp, cp,
/// mv, naming paths only): never the file, whose only piece ever shown is the key's line.
fn script_words(o: &ExecOutput) -> String {
    let said = report(o)
        .into_iter()
        .map(|(w, r)| format!("{w} {r}").trim().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    [said, o.stderr.trim().to_string()]
        .into_iter()
        .filter(|x| !x.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EnvFileSettings {
        EnvFileSettings {
            host: "web-1".into(),
            path: "/etc/checkout/flags.env".into(),
            unit: Some("checkout.service".into()),
            sudo: true,
            check_command: None,
            restart_timeout: DEFAULT_RESTART_TIMEOUT,
        }
    }

    fn pairs(text: &str) -> Vec<(String, String)> {
        effective(&parse(text))
            .into_iter()
            .map(|a| (a.key.clone(), a.value.clone()))
            .collect()
    }

    #[test]
    fn reads_comments_export_quotes_and_spacing() {
        let text = "# flags\n; also a comment\n\nNEW_CHECKOUT=true\nexport LEGACY_API = \"off\"  \n  BETA='Yes'\nEMPTY=\nNAME=hello world  \nnot an assignment\nexportX=1\n";
        assert_eq!(
            pairs(text),
            [
                ("NEW_CHECKOUT", "true"),
                ("LEGACY_API", "off"),
                ("BETA", "Yes"),
                ("EMPTY", ""),
                ("NAME", "hello world"),
                ("exportX", "1"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn lines_inside_multi_line_values_are_not_keys() {
        let text = "CERT=\"-----BEGIN-----\nMIIBaa==\nFAKE=true\n-----END-----\"\nTOKEN=abc\\\nSPLIT=on\nFLAG=1\n";
        let got = pairs(text);
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["CERT", "TOKEN", "FLAG"]);
        assert_eq!(got[1].1, "abcSPLIT=on");
        let flag = parse(text).into_iter().find(|a| a.key == "FLAG").unwrap();
        assert_eq!(flag.line, 6);
        assert_eq!(flag.plain, Some(5..6));
    }

    #[test]
    fn the_last_assignment_wins_and_plain_ranges_point_at_the_value() {
        let text = "A=true\nexport  A = \"FALSE\"  \r\nB=\"a\\\"b\"\nC=\"on\" # not a comment\n";
        let parsed = parse(text);
        let a = parsed.iter().rev().find(|a| a.key == "A").unwrap();
        assert_eq!(a.value, "FALSE");
        let line = lines(text)[a.line];
        assert_eq!(&line[a.plain.clone().unwrap()], "FALSE");
        let b = parsed.iter().find(|a| a.key == "B").unwrap();
        assert_eq!(b.value, "a\"b");
        assert_eq!(b.plain, None);
        // Text after a closing quote is part of the value (never read as a boolean).
        let c = parsed.iter().find(|a| a.key == "C").unwrap();
        assert_eq!((parse_bool(&c.value), c.plain.clone()), (None, None));
        // CRLF lines: the value stops before the \r.
        let crlf = parse("X=on\r\n");
        assert_eq!(crlf[0].value, "on");
        assert_eq!(crlf[0].plain, Some(2..4));
    }

    #[test]
    fn booleans_and_their_spelling() {
        for (v, b) in [
            ("true", true),
            ("1", true),
            ("ON", true),
            ("Yes", true),
            ("enabled", true),
            ("false", false),
            ("0", false),
            ("off", false),
            ("NO", false),
            ("Disabled", false),
        ] {
            assert_eq!(parse_bool(v), Some(b), "{v}");
        }
        for v in ["", "2", "truee", "y", "sk-live-123"] {
            assert_eq!(parse_bool(v), None, "{v}");
        }
        assert_eq!(respell("true", false).unwrap(), "false");
        assert_eq!(respell("1", false).unwrap(), "0");
        assert_eq!(respell("on", false).unwrap(), "off");
        assert_eq!(respell("TRUE", false).unwrap(), "FALSE");
        assert_eq!(respell("No", true).unwrap(), "Yes");
        assert_eq!(respell("disabled", true).unwrap(), "enabled");
        assert_eq!(respell("maybe", true), None);
    }

    #[test]
    fn settings_are_checked() {
        assert!(settings().validate().is_ok());
        let mut s = settings();
        s.path = "flags.env".into();
        assert!(s.validate().is_err());
        let mut s = settings();
        s.unit = Some("--now".into());
        assert!(s.validate().is_err());
        let mut s = settings();
        s.unit = Some("getty@tty1.service".into());
        assert!(s.validate().is_ok());
        assert!(!valid_key("1ABC") && !valid_key("A B") && valid_key("_A.b-1"));
    }

    #[test]
    fn the_remote_command_quotes_everything_and_uses_sudo_only_when_asked() {
        let mut s = settings();
        s.path = "/etc/it's here/flags.env".into();
        let cmd = remote_command(&s, READ_SCRIPT, &[&s.path]);
        let argv = shlex::split(&cmd).unwrap();
        assert_eq!(argv[..2], ["sh", "-c"]);
        assert!(argv[2].contains("sudo -n sh -c"), "{cmd}");
        assert!(argv[2].contains(READ_SCRIPT), "{cmd}");
        assert_eq!(argv[3..], ["paaf-envfile", s.path.as_str()]);
        s.sudo = false;
        let argv = shlex::split(&remote_command(&s, READ_SCRIPT, &[&s.path])).unwrap();
        assert_eq!(
            argv,
            ["sh", "-c", READ_SCRIPT, "paaf-envfile", s.path.as_str()]
        );
    }

    #[test]
    fn the_scripts_exit_with_the_codes_paaf_maps() {
        for code in [EXIT_NO_FILE, EXIT_NOT_A_FILE] {
            assert!(READ_SCRIPT.contains(&format!("exit {code}")), "{code}");
        }
        for code in [
            EXIT_NO_FILE,
            EXIT_NOT_A_FILE,
            EXIT_LINE_MOVED,
            EXIT_NO_UNIT,
            EXIT_LOCKED,
            EXIT_NOT_WRITTEN,
            EXIT_ROLLED_BACK,
            EXIT_ROLLED_BACK_UNIT_DOWN,
            EXIT_ROLLBACK_FAILED,
        ] {
            assert!(CHANGE_SCRIPT.contains(&format!("exit {code}")), "{code}");
        }
        assert!(CHANGE_SCRIPT.contains(&format!("printf '{PREFIX} %s")));
    }

    #[test]
    fn a_non_boolean_flag_is_refused_without_its_value() {
        let s = settings();
        let parsed = parse("API_TOKEN=sk-live-secret-123\n");
        let e = boolean(&s, &parsed[0]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        let m = e.to_string();
        assert!(
            m.contains("API_TOKEN") && m.contains("web-1:/etc/checkout/flags.env"),
            "{m}"
        );
        assert!(!m.contains("sk-live"), "{m}");
        let flag = EnvFlag {
            key: "API_TOKEN".into(),
            enabled: None,
        }
        .to_flag("env", &s);
        assert!(flag.environments.is_empty());
    }
}
