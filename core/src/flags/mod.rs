//! Protect: feature flags across services. One [`FlagBackend`] per kind of flag service, one
//! file each, written with plain async methods; [`DynFlagBackend`] holds whichever is
//! configured (every `FlagBackend` is one), and [`connect`] builds it from its typed config.
//! The facade lists flags from every configured service and turns one flag on or off in one
//! environment, conditionally where the service can refuse a write over a change made
//! meanwhile and by a re-read right before writing where it cannot ([`WriteGuard`]), and
//! journals the previous state so it can be undone.
//!
//! The helpers below the types are what the HTTP services share: the vendor's words from an
//! error body, a refusal as a typed error, a bounded pager, a GET that hands a 404 back.

pub mod devcycle;
pub mod envfile;
pub mod featbit;
pub mod flagsmith;
pub mod launchdarkly;
pub mod optimizely;
pub mod unleash;

use crate::config::{FlagService, FlagsConfig};
use crate::error::{Error, ErrorCode, Result};
use crate::http::{HttpFailure, Limits, Request, Service};
use crate::secrets::SecretStore;
use crate::ssh::{SshPool, Target};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
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
    /// A project as a whole (listing its flags or environments).
    pub fn project(noun: &'static str, project: &'a str) -> Subject<'a> {
        Subject {
            noun,
            project,
            key: None,
            environment: None,
        }
    }

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

/// What a write does with the state read right before it: `Ok(None)`, still `expected` and to
/// be switched; `Ok(Some(now))`, already as wanted (nothing to write); a conflict when it is
/// no longer what the user saw (`known` adds what is known of the change).
pub(crate) fn still_needed(
    service: &str,
    subject: impl std::fmt::Display,
    now: FlagState,
    expected: &FlagState,
    enabled: bool,
    known: &str,
) -> Result<Option<FlagState>> {
    if now.enabled != expected.enabled {
        return Err(changed_meanwhile(
            service,
            subject,
            now.enabled,
            expected.enabled,
            known,
        ));
    }
    Ok((now.enabled == enabled).then_some(now))
}

/// Names as a hint lists them: `a, b`, or `none`.
pub(crate) fn listed<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An environment `subject` names that its project does not have (`known`: those it has).
pub(crate) fn no_environment(
    vendor: &'static str,
    service: &str,
    subject: &Subject<'_>,
    known: &[String],
) -> Error {
    let env = subject.environment.unwrap_or_default();
    Error::NotFound {
        what: vendor,
        name: env.to_string(),
        hint: Some(format!(
            "{service} has no environment `{env}` in project `{}`; it has: {}",
            subject.project,
            listed(known)
        )),
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

/// The state of one flag in one environment right now, with what the service offers for a
/// conditional write: a version to write against, and how the write is guarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FlagState {
    pub enabled: bool,
    /// The service's version of the flag in that environment (FeatBit's revision), when its
    /// conditional write can check it: a write against the version the user saw is refused
    /// after any change since, even one turned back meanwhile.
    pub version: Option<String>,
    /// How a write of this flag is guarded against a change made since this read (what a
    /// confirmation says).
    #[serde(default)]
    pub guard: WriteGuard,
}

impl FlagState {
    /// A state read from a service whose write is refused when the flag changed since
    /// (`version`: what that refusal checks, besides the state itself).
    pub fn conditional(enabled: bool, version: Option<String>) -> FlagState {
        FlagState {
            enabled,
            version,
            guard: WriteGuard::Conditional,
        }
    }

    /// A state read from a service without a conditional write.
    pub fn best_effort(enabled: bool) -> FlagState {
        FlagState {
            enabled,
            version: None,
            guard: WriteGuard::BestEffort,
        }
    }
}

/// How a flag write is protected against a change made between the read the user confirmed and
/// the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum WriteGuard {
    /// The service itself refuses the write when the flag changed meanwhile (a JSON Patch
    /// `test`, a lock and compare on the host): written only if nobody changed it.
    Conditional,
    /// The service has no conditional write: paaf re-reads the flag right before writing and
    /// refuses when it changed, but a change made in the instant between that read and the
    /// write would be overwritten.
    #[default]
    BestEffort,
}

impl WriteGuard {
    /// The guarantee in words, for a confirmation.
    pub fn explained(self) -> &'static str {
        match self {
            WriteGuard::Conditional => "written only if nobody changes it before",
            WriteGuard::BestEffort => {
                "best effort: this service has no conditional write, so paaf re-reads the flag right before writing; a change made in that instant would be overwritten"
            }
        }
    }
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
    /// state the user saw and confirmed). A service with a conditional write makes the write
    /// conditional on `expected` (and `expected.version`, when it has one); the others re-read
    /// right before writing. Returns the new state.
    fn set(
        &self,
        flag: &FlagRef<'_>,
        enabled: bool,
        expected: &FlagState,
        note: &ChangeNote,
    ) -> impl std::future::Future<Output = Result<FlagState>> + Send;
}

/// A [`FlagBackend`] behind `dyn`, for the facade to hold whichever service is configured:
/// every `FlagBackend` is one through the blanket impl below, so no service forwards by hand.
pub trait DynFlagBackend: Send + Sync {
    /// [`FlagBackend::name`].
    fn name(&self) -> &str;
    /// [`FlagBackend::list`].
    fn list<'a>(&'a self, filter: &'a FlagFilter) -> BoxFuture<'a, Result<Vec<Flag>>>;
    /// [`FlagBackend::state`].
    fn state<'a>(&'a self, flag: &'a FlagRef<'a>) -> BoxFuture<'a, Result<FlagState>>;
    /// [`FlagBackend::set`].
    fn set<'a>(
        &'a self,
        flag: &'a FlagRef<'a>,
        enabled: bool,
        expected: &'a FlagState,
        note: &'a ChangeNote,
    ) -> BoxFuture<'a, Result<FlagState>>;
}

impl<T: FlagBackend> DynFlagBackend for T {
    fn name(&self) -> &str {
        FlagBackend::name(self)
    }

    fn list<'a>(&'a self, filter: &'a FlagFilter) -> BoxFuture<'a, Result<Vec<Flag>>> {
        Box::pin(FlagBackend::list(self, filter))
    }

    fn state<'a>(&'a self, flag: &'a FlagRef<'a>) -> BoxFuture<'a, Result<FlagState>> {
        Box::pin(FlagBackend::state(self, flag))
    }

    fn set<'a>(
        &'a self,
        flag: &'a FlagRef<'a>,
        enabled: bool,
        expected: &'a FlagState,
        note: &'a ChangeNote,
    ) -> BoxFuture<'a, Result<FlagState>> {
        Box::pin(FlagBackend::set(self, flag, enabled, expected, note))
    }
}

/// What connecting a service may need beyond its config: the secret store, and for env-file
/// flags the SSH target (and the connection pool) of a `[[hosts]]` name.
pub(crate) struct Connector<'a> {
    pub secrets: &'a dyn SecretStore,
    pub ssh: &'a dyn Fn(&str) -> Result<(Target, SshPool)>,
}

/// The configured service, connected; each kind builds itself from its own config.
pub(crate) fn connect(
    config: &FlagsConfig,
    with: &Connector<'_>,
) -> Result<Box<dyn DynFlagBackend>> {
    let (name, secrets) = (config.name.as_str(), with.secrets);
    let limits = Limits::with_timeout(config.timeout);
    Ok(match &config.service {
        FlagService::Unleash(c) => Box::new(c.connect(name, secrets, limits)?),
        FlagService::DevCycle(c) => Box::new(c.connect(name, secrets, limits)?),
        FlagService::Optimizely(c) => Box::new(c.connect(name, secrets, limits)?),
        FlagService::LaunchDarkly(c) => Box::new(c.connect(name, secrets, limits)?),
        FlagService::Flagsmith(c) => Box::new(c.connect(name, secrets, limits)?),
        FlagService::FeatBit(c) => Box::new(c.connect(name, secrets, limits)?),
        FlagService::EnvFile(c) => Box::new(c.connect(name, with.ssh)?),
    })
}

/// The vendor's own words from an error body: the first of `fields` that it has (a string as
/// it is, a list joined with "; ", anything else as JSON). A body cut short still gives the
/// start of its message; a body that is not JSON is shown as it is.
pub(crate) fn vendor_said(body: &str, fields: &[&str]) -> String {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) {
        let words = fields.iter().find_map(|f| match map.get(*f)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(items) => Some(
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => Some(other.to_string()),
        });
        if let Some(words) = words {
            return words;
        }
    }
    for field in fields {
        let opening = format!("\"{field}\":\"");
        if let Some(start) = body.find(&opening) {
            return cut_string(&body[start + opening.len()..]);
        }
    }
    if body.is_empty() {
        "(no message)".into()
    } else {
        body.to_string()
    }
}

/// A JSON string's text up to its closing quote, or up to where the body was cut (then `…`).
fn cut_string(rest: &str) -> String {
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return out,
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            c => out.push(c),
        }
    }
    format!("{out}…")
}

/// Whether an error body says an approval or a change request is needed.
pub(crate) fn asks_for_approval(body: &str) -> bool {
    let lower = body.to_lowercase();
    lower.contains("approval") || lower.contains("change request")
}

/// A refused request as the service's typed error: `{subject}: {what} (HTTP {status}:
/// {said}); {fix}`.
pub(crate) struct Refusal<'a> {
    pub code: ErrorCode,
    pub what: &'a str,
    pub fix: String,
}

impl Refusal<'_> {
    /// The error of `service` for a refusal with `status`, about `subject`, in the vendor's
    /// words `said`.
    pub fn error(
        self,
        service: &str,
        status: u16,
        subject: impl std::fmt::Display,
        said: &str,
    ) -> Error {
        let Refusal { code, what, fix } = self;
        Error::Service {
            service: service.to_string(),
            code,
            status,
            message: format!("{subject}: {what} (HTTP {status}: {said}); {fix}"),
        }
    }
}

/// What a 409/412 means for a flag change: someone else's change won.
pub(crate) const CONFLICT_FIX: &str =
    "nothing was changed: look at its current state and decide again";

/// Refuses a reference that leaves out a name the service needs (`what`: `flag`,
/// `environment`, …), before any request.
pub(crate) fn require_names(service: &str, vendor: &str, names: &[(&str, &str)]) -> Result<()> {
    match names.iter().find(|(_, value)| value.trim().is_empty()) {
        Some((what, _)) => Err(Error::invalid(format!(
            "{service}: name the {vendor} {what}"
        ))),
        None => Ok(()),
    }
}

/// `asked`, or the service's configured project when the request names none.
pub(crate) fn project_or<'a>(asked: &'a str, configured: &'a str) -> &'a str {
    if asked.trim().is_empty() {
        configured
    } else {
        asked
    }
}

/// An `outcome-unknown` error names what it was about (the request path alone omits the
/// environment); other errors already do.
pub(crate) fn outcome_about(error: Error, subject: impl std::fmt::Display) -> Error {
    match error {
        Error::OutcomeUnknown { what, reason } => Error::OutcomeUnknown {
            what: format!("{what} ({subject})"),
            reason,
        },
        other => other,
    }
}

/// A GET decoded as `T`; a 404 is handed back for the caller to say what was not found, any
/// other failed status becomes `failure`'s error.
pub(crate) async fn get_or_404<T: DeserializeOwned>(
    service: &Service,
    request: Request,
    failure: impl FnOnce(&HttpFailure) -> Error,
) -> Result<std::result::Result<T, HttpFailure>> {
    match service.send_raw(request).await? {
        Ok(response) => Ok(Ok(response.json(service.name())?)),
        Err(f) if f.status == 404 => Ok(Err(f)),
        Err(f) => Err(failure(&f)),
    }
}

/// The most pages paaf reads of one list, against a pager that never ends.
pub(crate) const MAX_PAGES: usize = 1000;

/// Watches a paged listing: a page that repeats the one before (a `next` link, page number or
/// offset the server ignores) or a list of more than [`MAX_PAGES`] pages is an answer paaf
/// cannot read, not a loop that runs until the timeout.
pub(crate) struct Pager {
    service: String,
    pages: usize,
    last: Vec<String>,
}

impl Pager {
    pub fn new(service: &str) -> Pager {
        Pager {
            service: service.to_string(),
            pages: 0,
            last: Vec::new(),
        }
    }

    /// Records one page by the keys of its items (an empty page ends a listing, unchecked).
    pub fn page<'k>(&mut self, keys: impl IntoIterator<Item = &'k str>) -> Result<()> {
        let keys: Vec<String> = keys.into_iter().map(str::to_string).collect();
        if keys.is_empty() {
            return Ok(());
        }
        self.pages += 1;
        let reason = if keys == self.last {
            format!(
                "its page {} repeats page {} (its pager ignores where paaf asks to go on)",
                self.pages,
                self.pages - 1
            )
        } else if self.pages > MAX_PAGES {
            format!("its list goes on past {MAX_PAGES} pages")
        } else {
            self.last = keys;
            return Ok(());
        };
        Err(Error::MalformedResponse {
            what: self.service.clone(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_words_come_from_the_first_field_there_is() {
        assert_eq!(
            vendor_said(r#"{"message":"no \"x\""}"#, &["message"]),
            "no \"x\""
        );
        assert_eq!(
            vendor_said(
                r#"{"id":"1","message":"You don't have the req"#,
                &["message"]
            ),
            "You don't have the req…"
        );
        assert_eq!(vendor_said("plain", &["message"]), "plain");
        assert_eq!(vendor_said("", &["message"]), "(no message)");
        assert_eq!(
            vendor_said(
                r#"{"message":null,"error":"Not Found"}"#,
                &["message", "error"]
            ),
            "Not Found"
        );
        assert_eq!(
            vendor_said(r#"{"message":["a","b"]}"#, &["message"]),
            "a; b"
        );
        assert_eq!(
            vendor_said(
                r#"{"title":"Forbidden","detail":"No access"}"#,
                &["message", "detail", "title"]
            ),
            "No access"
        );
    }

    #[test]
    fn a_pager_that_repeats_a_page_or_never_ends_is_malformed() {
        let mut pager = Pager::new("svc");
        pager.page(["a", "b"]).unwrap();
        pager.page(["c"]).unwrap();
        pager.page(std::iter::empty()).unwrap();
        let e = pager.page(["c"]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::MalformedResponse);
        assert!(e.to_string().contains("page 3 repeats page 2"), "{e}");

        let mut pager = Pager::new("svc");
        for page in 0..MAX_PAGES {
            pager.page([page.to_string().as_str()]).unwrap();
        }
        let e = pager.page(["last"]).unwrap_err();
        assert!(e.to_string().contains("past 1000 pages"), "{e}");
    }

    #[test]
    fn a_state_says_how_its_write_is_guarded() {
        let seen: FlagState = serde_json::from_str(r#"{"enabled":true,"version":null}"#).unwrap();
        assert_eq!(seen, FlagState::best_effort(true));
        assert_eq!(
            serde_json::to_value(FlagState::conditional(false, Some("r1".into()))).unwrap(),
            serde_json::json!({"enabled": false, "version": "r1", "guard": "conditional"})
        );
        assert!(
            WriteGuard::BestEffort
                .explained()
                .starts_with("best effort")
        );
    }
}
