//! Protect: feature flags across backends. One [`FlagBackend`] per kind of flag service, one
//! file each; the facade lists flags from every configured backend and turns one flag on or
//! off in one environment, re-reading (or conditionally writing) its state so it never flips
//! a flag someone else just changed, and journals the previous state so it can be undone.

pub mod devcycle;
pub mod envfile;
pub mod featbit;
pub mod flagsmith;
pub mod launchdarkly;
pub mod optimizely;
pub mod unleash;

use crate::error::Result;
use serde::{Deserialize, Serialize};

/// What a request was about, as messages write it: ``flag `k` in project `p`, environment `e` ``.
pub(crate) struct Subject<'a> {
    /// The vendor's word for a flag: `flag`, `feature`.
    pub noun: &'static str,
    pub project: &'a str,
    pub key: Option<&'a str>,
    pub environment: Option<&'a str>,
}

impl<'a> Subject<'a> {
    /// One flag in one environment.
    pub fn of(noun: &'static str, flag: &FlagRef<'a>) -> Subject<'a> {
        Subject {
            noun,
            project: flag.project,
            key: Some(flag.key),
            environment: Some(flag.environment),
        }
    }
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.key {
            Some(key) => write!(f, "{} `{key}` in project `{}`", self.noun, self.project)?,
            None => write!(f, "project `{}`", self.project)?,
        }
        if let Some(env) = self.environment {
            write!(f, ", environment `{env}`")?;
        }
        Ok(())
    }
}

/// The flag changed since the user looked (`now` is not `expected`): refused, nothing written
/// (status 412, code `conflict`). `known` adds what is known of the change (` (last …)`).
pub(crate) fn changed_meanwhile(
    service: &str,
    subject: impl std::fmt::Display,
    now: bool,
    expected: bool,
    known: &str,
) -> crate::Error {
    crate::Error::Service {
        service: service.to_string(),
        code: crate::ErrorCode::Conflict,
        status: 412,
        message: format!(
            "{subject}: it is now {}, not {} as when you looked{known}; nothing was changed: look at its current state and decide again",
            on_off(now),
            on_off(expected),
        ),
    }
}

/// `ON` / `OFF`: a flag's state as messages write it.
pub(crate) fn on_off(enabled: bool) -> &'static str {
    if enabled { "ON" } else { "OFF" }
}

/// One flag as a backend reports it, with its state in every environment it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Flag {
    /// The configured backend it comes from (`[[flags]] name`).
    pub backend: String,
    /// The backend's project (Unleash project, LaunchDarkly project key, ...); empty when the
    /// backend has none.
    pub project: String,
    /// The key used in API calls and in `paaf flag off KEY`.
    pub key: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub environments: Vec<FlagEnvironment>,
    /// A link to the flag in the backend's own console, when there is one.
    pub url: Option<String>,
}

/// A flag's state in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FlagEnvironment {
    pub name: String,
    pub enabled: bool,
}

/// Which flag, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagRef<'a> {
    pub project: &'a str,
    pub key: &'a str,
    pub environment: &'a str,
}

/// The state of one flag in one environment right now, with what the backend offers for a
/// conditional write (an ETag, a version number), if anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FlagState {
    pub enabled: bool,
    pub version: Option<String>,
}

/// What to list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FlagFilter {
    /// Case-insensitive substring of the key or name.
    pub query: Option<String>,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub tag: Option<String>,
}

/// Who asks for a change, for backends that record a comment (LaunchDarkly) or an audit note.
#[derive(Debug, Clone)]
pub struct ChangeNote {
    /// e.g. "paaf: alice via mobile@Pixel 8 (incident 12)".
    pub comment: String,
}

/// A flag service. Errors are the core's `Error`, naming the backend, project and
/// environment; a change that needs an approval is `Error::Service` with code `conflict`
/// and the link in its message.
pub trait FlagBackend: Send + Sync {
    /// The configured name, for messages.
    fn name(&self) -> &str;

    /// The flags matching `filter`, with their per-environment state.
    fn list(
        &self,
        filter: &FlagFilter,
    ) -> impl std::future::Future<Output = Result<Vec<Flag>>> + Send;

    /// The flag's state in one environment, read now.
    fn state(
        &self,
        flag: &FlagRef<'_>,
    ) -> impl std::future::Future<Output = Result<FlagState>> + Send;

    /// Turns the flag on or off in one environment, if its state is still `expected` (the
    /// state the user saw and confirmed). A backend with a conditional write uses
    /// `expected.version`; the others re-read right before writing. Returns the new state.
    fn set(
        &self,
        flag: &FlagRef<'_>,
        enabled: bool,
        expected: &FlagState,
        note: &ChangeNote,
    ) -> impl std::future::Future<Output = Result<FlagState>> + Send;
}
