//! The TOML config: loading with errors that name file, line and fix; editing that keeps comments.
//!
//! One file per concern: [`hosts`] (`[[hosts]]` and `[defaults]`), [`clouds`] (`[[clouds]]`),
//! [`flags`] (`[[flags]]`), [`monitoring`] (`[[monitoring]]`), [`notify`] (`[[notify]]`),
//! [`playbooks`] (`[[playbooks]]`, checked against all the others), [`selector`] (which hosts a
//! command acts on), [`thresholds`] (when a host metric is a warning or a danger), [`edit`] (changes
//! written back to the file), and [`qr`] (the whole file as one QR code's payload). This file reads the whole file and ties the sections
//! together.

#[cfg(feature = "cloud")]
mod clouds;
mod edit;
mod flags;
mod hosts;
mod monitoring;
mod notify;
mod playbooks;
pub mod qr;
mod selector;
mod thresholds;

#[cfg(test)]
mod tests;

#[cfg(feature = "cloud")]
pub use clouds::*;
pub use edit::*;
pub use flags::*;
pub use hosts::*;
pub use monitoring::*;
pub use notify::*;
pub use playbooks::*;
pub use selector::*;
pub use thresholds::*;

use crate::error::{Error, Result};
use crate::secrets::SecretRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Where the config lives unless `--config` / `PAAF_CONFIG` say otherwise.
pub fn default_config_path() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("paaf")
        .join("config.toml")
}

/// "PREFIX a, b" naming `names`, or `none` when there are none: the hint of a name not found.
pub(crate) fn listing<'a>(
    names: impl Iterator<Item = &'a str>,
    prefix: &str,
    none: &str,
) -> String {
    let list: Vec<&str> = names.collect();
    if list.is_empty() {
        none.to_string()
    } else {
        format!("{prefix}{}", list.join(", "))
    }
}

/// The entry of `entries` called `name`; else a not-found error for `what` whose hint names
/// the configured ones (see [`listing`]).
pub(crate) fn find_named<'a, T>(
    entries: &'a [T],
    name: &str,
    name_of: impl Fn(&T) -> &String,
    what: &'static str,
    prefix: &str,
    none: &str,
) -> Result<&'a T> {
    entries
        .iter()
        .find(|e| name_of(e) == name)
        .ok_or_else(|| Error::NotFound {
            what,
            name: name.to_string(),
            // A near miss first: "did you mean `web-1`?".
            hint: Some(match entries.is_empty() {
                true => none.to_string(),
                false => format!(
                    "{}{}",
                    crate::error::suggestion(name, entries.iter().map(|e| name_of(e).as_str())),
                    listing(entries.iter().map(|e| name_of(e).as_str()), prefix, none)
                ),
            }),
        })
}

/// The commented starter config `paaf config init` writes: it validates, and configures
/// nothing until its examples are filled in.
pub const STARTER: &str = include_str!("starter.toml");

/// The folder of the named contexts: one config (with its journal and known_hosts) each,
/// like kubectl's contexts (per team or per environment).
pub fn contexts_dir() -> PathBuf {
    default_config_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
        .join("contexts")
}

/// The config file of context `name` (`contexts/NAME/config.toml`), for `--context` /
/// `PAAF_CONTEXT`.
pub fn context_config_path(name: &str) -> Result<PathBuf> {
    if !valid_name(name) || name.starts_with('.') {
        return Err(Error::invalid(format!(
            "context `{name}`: use letters, digits, `-`, `_` and `.` only, e.g. --context prod"
        )));
    }
    Ok(contexts_dir().join(name).join("config.toml"))
}

/// The contexts that have a config file, by name.
pub fn contexts() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(contexts_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("config.toml").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    /// Who acts, as written in the journal; the OS user when unset.
    pub operator: Option<String>,
    pub known_hosts: PathBuf,
    pub journal: PathBuf,
    pub hosts: Vec<HostConfig>,
    /// Grafana instances, Prometheus servers and Alertmanagers (`[[monitoring]]`).
    pub monitoring: Vec<MonitoringConfig>,
    /// Feature-flag services (`[[flags]]`).
    pub flags: Vec<FlagsConfig>,
    /// Cloud accounts whose servers paaf lists and powers (`[[clouds]]`); without the
    /// `cloud` feature (a phone library without cloud providers) they are not read.
    #[cfg(feature = "cloud")]
    pub clouds: Vec<CloudConfig>,
    /// Who hears about incidents (`[[notify]]`).
    pub notify: Vec<NotifyConfig>,
    /// What to do when an alert fires (`[[playbooks]]`).
    pub playbooks: Vec<PlaybookConfig>,
}

pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(30);

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

fn ser_ref<S: serde::Serializer>(r: &SecretRef, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(r)
}

fn ser_ref_opt<S: serde::Serializer>(r: &Option<SecretRef>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.collect_str(r),
        None => s.serialize_none(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    operator: Option<Spanned<String>>,
    known_hosts: Option<String>,
    journal: Option<String>,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    hosts: Vec<RawHost>,
    #[serde(default)]
    monitoring: Vec<RawMonitoring>,
    #[serde(default)]
    flags: Vec<RawFlags>,
    #[cfg(feature = "cloud")]
    #[serde(default)]
    clouds: Vec<RawCloud>,
    #[cfg(not(feature = "cloud"))]
    #[serde(default)]
    #[allow(dead_code)]
    clouds: Vec<toml::Value>,
    #[serde(default)]
    notify: Vec<RawNotify>,
    #[serde(default)]
    playbooks: Vec<RawPlaybook>,
}

/// Turns byte offsets into 1-based line numbers and builds errors that name file and line.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    /// A path the config names (`~/` expanded), relative to the config's folder.
    fn path_of(&self, p: &str) -> PathBuf {
        let p = expand_home(p);
        match self.path.parent() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text[..end].bytes().filter(|b| *b == b'\n').count() + 1
    }

    fn err(
        &self,
        span: Option<&Range<usize>>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Error {
        Error::Config {
            file: self.path.to_path_buf(),
            line: span.map(|s| self.line(s)),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// serde's words for a wrong type (`invalid type: string "x", expected i64`) in a user's:
/// what the line needs first (`expected a whole number, found string "x"`).
fn plain_toml_message(message: &str) -> String {
    let (found, expected) = match message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|rest| rest.split_once(", expected "))
    {
        Some(parts) => parts,
        None => return message.to_string(),
    };
    let expected = match expected.trim() {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" | "a borrowed string" => "text in quotes",
        other => other,
    };
    format!("expected {expected}, found {found}")
}

fn expand_home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().unwrap_or_default().join(rest),
        None => PathBuf::from(p),
    }
}

impl Config {
    /// Loads the config at `path`; a missing file is an empty config (hosts get added later).
    pub fn load(path: &Path) -> Result<Config> {
        Config::parse(path, &read_text(path)?)
    }

    /// Parses and validates config text; `path` is used for messages and relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let src = Source { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            src.err(
                e.span().as_ref(),
                plain_toml_message(e.message()),
                "correct the TOML at that line (a starter with every section: `paaf config init` into another file, e.g. --config /tmp/example.toml)",
            )
        })?;
        let operator = match raw.operator {
            Some(op) if op.get_ref().trim().is_empty() => {
                return Err(src.err(
                    Some(&op.span()),
                    "operator is empty",
                    "set `operator = \"your name\"` or remove the line to use the OS user",
                ));
            }
            Some(op) => Some(op.into_inner()),
            None => None,
        };
        let defaults = &raw.defaults;
        let hosts = unique(&src, raw.hosts, |src, r| validate_host(src, defaults, r))?;
        let monitoring = unique(&src, raw.monitoring, validate_monitoring)?;
        let flags = unique(&src, raw.flags, validate_flags)?;
        #[cfg(feature = "cloud")]
        let clouds = unique(&src, raw.clouds, validate_cloud)?;
        let notify = unique(&src, raw.notify, validate_notify)?;
        let config = Config {
            path: path.to_path_buf(),
            operator,
            monitoring,
            flags,
            #[cfg(feature = "cloud")]
            clouds,
            notify,
            playbooks: Vec::new(),
            known_hosts: src.path_of(raw.known_hosts.as_deref().unwrap_or("known_hosts")),
            journal: src.path_of(raw.journal.as_deref().unwrap_or("journal.sqlite")),
            hosts,
        };
        // Last: a playbook names targets of every other section.
        let playbooks = unique(&src, raw.playbooks, |src, r| {
            validate_playbook(src, &config, r)
        })?;
        Ok(Config {
            playbooks,
            ..config
        })
    }
}

/// The config's text; a missing file is empty, any other failure to read it an error (an
/// unreadable file is never taken for an empty one, which an edit would then overwrite).
fn read_text(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Error::Config {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read it: {e}"),
            fix: "check the path, its permissions and that it is UTF-8 text, or pass another with --config / PAAF_CONFIG".into(),
        }),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// A `[[table]]` entry as written, whose name no other entry of its table may have.
trait Entry {
    /// How a message names an entry, and its table.
    const KIND: (&'static str, &'static str);
    /// Its name, where it is written (a validated entry keeps it as it is).
    fn name(&self) -> &Spanned<String>;
}

macro_rules! entry {
    ($raw:ty, $kind:literal, $table:literal) => {
        impl Entry for $raw {
            const KIND: (&'static str, &'static str) = ($kind, $table);
            fn name(&self) -> &Spanned<String> {
                &self.name
            }
        }
    };
}

entry!(RawHost, "host", "[[hosts]]");
entry!(RawMonitoring, "monitoring source", "[[monitoring]]");
entry!(RawFlags, "flag service", "[[flags]]");
#[cfg(feature = "cloud")]
entry!(RawCloud, "cloud account", "[[clouds]]");
entry!(RawNotify, "notify target", "[[notify]]");
entry!(RawPlaybook, "playbook", "[[playbooks]]");

/// Each raw entry validated, in order; a name given twice is refused at the second entry's
/// name.
fn unique<R: Entry, T>(
    src: &Source<'_>,
    raws: Vec<R>,
    validate: impl Fn(&Source<'_>, R) -> Result<T>,
) -> Result<Vec<T>> {
    let (kind, table) = R::KIND;
    let mut names: Vec<String> = Vec::new();
    let mut entries: Vec<T> = Vec::new();
    for raw in raws {
        let (name, at) = (raw.name().get_ref().clone(), raw.name().span());
        let entry = validate(src, raw)?;
        if names.contains(&name) {
            return Err(src.err(
                Some(&at),
                format!("{kind} name `{name}` is used twice"),
                format!("give every {table} entry its own name"),
            ));
        }
        names.push(name);
        entries.push(entry);
    }
    Ok(entries)
}

fn positive(src: &Source, v: Option<&Spanned<u64>>, key: &str) -> Result<Option<u64>> {
    match v {
        Some(s) if *s.get_ref() == 0 => Err(src.err(
            Some(&s.span()),
            format!("{key} must be greater than 0"),
            format!("set {key} to a positive number or remove it for the default"),
        )),
        Some(s) => Ok(Some(*s.get_ref())),
        None => Ok(None),
    }
}
