//! Protect: feature flags across services. One [`FlagBackend`] per kind of flag service, one
//! file each, written with plain async methods; [`DynFlagBackend`] holds whichever is
//! configured (every `FlagBackend` is one), and [`connect`] builds it from its typed config.
//! The facade lists flags from every configured service and turns one flag on or off in one
//! environment, conditionally where the service can refuse a write over a change made
//! meanwhile and by a re-read right before writing where it cannot ([`WriteGuard`]), and
//! journals the previous state so it can be undone.
//!
//! The helpers below the types are what the HTTP services share: the vendor's words from an
//! error body and the approvals it asks for (for each service's [`Vendor`](crate::http::Vendor),
//! which gives the one failure policy of [`Service`] its error codes and hints), a request
//! that hands a 404 back to be explained, a bounded pager.

pub mod devcycle;
pub mod envfile;
pub mod featbit;
pub mod flagsmith;
pub mod launchdarkly;
pub mod optimizely;
pub mod unleash;

use crate::config::{FlagService, FlagsConfig};
use crate::error::{Error, Result};
use crate::http::{Doing, HttpFailure, Limits, Request, Said, Service};
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
            "{subject}: it is now {}, not {} as when you looked{known}; {CONFLICT_FIX}",
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

impl FlagFilter {
    /// Whether a flag keyed `key` (and named `name`) matches the query: a case-insensitive
    /// substring of either; without a query every flag does.
    pub(crate) fn matches_text(&self, key: &str, name: Option<&str>) -> bool {
        let Some(query) = &self.query else {
            return true;
        };
        let query = query.to_lowercase();
        key.to_lowercase().contains(&query)
            || name.is_some_and(|n| n.to_lowercase().contains(&query))
    }

    /// Whether a flag carrying `tags` has the tag asked for (in any case); without one every
    /// flag does.
    pub(crate) fn matches_tags(&self, tags: &[String]) -> bool {
        self.tag.as_ref().is_none_or(|want| {
            let want = want.to_lowercase();
            tags.iter().any(|have| have.to_lowercase() == want)
        })
    }
}

/// Who asks for a change, for backends that record a comment (LaunchDarkly) or an audit note.
#[derive(Debug, Clone)]
pub struct ChangeNote {
    /// e.g. "paaf: alice via mobile@Pixel 8 (incident 12)".
    pub comment: String,
}

/// One switch asked of a service: `flag` to `enabled`, if its state is still `expected` (the
/// state the user saw and confirmed); `note` says who asks.
#[derive(Debug, Clone, Copy)]
pub struct FlagSwitch<'a> {
    pub flag: &'a FlagRef<'a>,
    pub enabled: bool,
    pub expected: &'a FlagState,
    pub note: &'a ChangeNote,
    /// `expected` was read from the service just before this call, with nobody's confirmation
    /// in between (a protect step looks at the flag, then switches it): a service without a
    /// conditional write takes it as the state now instead of reading the flag again.
    pub expected_is_now: bool,
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

    /// The states of several flags, each as [`FlagBackend::state`] gives it, in order: read
    /// together where the service can answer for many flags at once (a playbook's parallel
    /// steps read theirs in one request, not one each while the service answers them in turn).
    fn states(
        &self,
        flags: &[FlagRef<'_>],
    ) -> impl std::future::Future<Output = Vec<Result<FlagState>>> + Send {
        futures::future::join_all(flags.iter().map(|f| self.state(f)))
    }

    /// Turns the flag on or off in one environment, if its state is still `expected` (the
    /// state the user saw and confirmed). A service with a conditional write makes the write
    /// conditional on `expected` (and `expected.version`, when it has one); the others re-read
    /// right before writing (unless `expected_is_now`). Returns the new state.
    fn set(
        &self,
        switch: &FlagSwitch<'_>,
    ) -> impl std::future::Future<Output = Result<FlagState>> + Send;

    /// True when the state [`FlagBackend::set`] returns is the service's own word after the
    /// write (read back, or the write's answer), so it proves the write took effect; false
    /// when it is only the state written.
    fn set_answers_read_back(&self) -> bool {
        true
    }
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
    /// [`FlagBackend::states`].
    fn states<'a>(&'a self, flags: &'a [FlagRef<'a>]) -> BoxFuture<'a, Vec<Result<FlagState>>>;
    /// [`FlagBackend::set`].
    fn set<'a>(&'a self, switch: &'a FlagSwitch<'a>) -> BoxFuture<'a, Result<FlagState>>;
    /// [`FlagBackend::set_answers_read_back`].
    fn set_answers_read_back(&self) -> bool;
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

    fn states<'a>(&'a self, flags: &'a [FlagRef<'a>]) -> BoxFuture<'a, Vec<Result<FlagState>>> {
        Box::pin(FlagBackend::states(self, flags))
    }

    fn set<'a>(&'a self, switch: &'a FlagSwitch<'a>) -> BoxFuture<'a, Result<FlagState>> {
        Box::pin(FlagBackend::set(self, switch))
    }

    fn set_answers_read_back(&self) -> bool {
        FlagBackend::set_answers_read_back(self)
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

/// The vendor's own words in an error body, for a [`Vendor`](crate::http::Vendor): the first
/// of `fields` it has (a string as it is, a list joined with "; ", anything else as JSON);
/// `None` when the body is not such JSON (the failure policy then shows its first bytes).
pub(crate) fn said_in(failure: &HttpFailure, fields: &[&str]) -> Option<Said> {
    let serde_json::Value::Object(map) = failure.json::<serde_json::Value>()? else {
        return None;
    };
    fields.iter().find_map(|f| match map.get(*f)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(Said::message(s.clone())),
        serde_json::Value::Array(items) => Some(Said::message(
            items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        other => Some(Said::message(other.to_string())),
    })
}

/// Whether an error body says an approval or a change request is needed.
pub(crate) fn asks_for_approval(failure: &HttpFailure) -> bool {
    let lower = failure.full_body.to_lowercase();
    lower.contains("approval") || lower.contains("change request")
}

/// What a 409/412 means for a flag change: someone else's change won.
pub(crate) const CONFLICT_FIX: &str =
    "nothing was changed: look at its current state and decide again";

/// A request switching `subject` on or off, as the failure policy names it.
pub(crate) fn switching(subject: impl std::fmt::Display, enabled: bool) -> Doing {
    Doing::new(format!("switching {subject} to {}", on_off(enabled)))
}

/// A failure handed back by [`Service::fetch_except`] to say what is missing: a 404.
pub(crate) fn is_404(failure: &HttpFailure) -> bool {
    failure.status == 404
}

/// What `service` said in `failure`, for a not-found message of the caller's own.
pub(crate) fn answered(service: &Service, failure: &HttpFailure) -> String {
    match service.words(failure) {
        words if words.is_empty() => "(no message)".into(),
        words => words,
    }
}

/// `request`, `doing` something, decoded as `T`; a 404 comes back as what the service said,
/// for the caller to say what is missing (another read may tell which); any other failure
/// is the failure policy's error.
pub(crate) async fn fetch_found<T: DeserializeOwned>(
    service: &Service,
    request: Request,
    doing: &Doing,
) -> Result<std::result::Result<T, String>> {
    match service.fetch_except(request, doing, is_404).await? {
        Ok(response) => Ok(Ok(response.json(service.name())?)),
        Err(failure) => Ok(Err(answered(service, &failure))),
    }
}

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
    use crate::error::ErrorCode;

    fn failure(body: &str) -> HttpFailure {
        HttpFailure {
            status: 403,
            headers: Default::default(),
            body: body.chars().take(300).collect(),
            full_body: body.to_string(),
        }
    }

    fn said(body: &str, fields: &[&str]) -> Option<String> {
        said_in(&failure(body), fields).map(|s| s.to_string())
    }

    #[test]
    fn vendor_words_come_from_the_first_field_there_is() {
        assert_eq!(
            said(r#"{"message":"no \"x\""}"#, &["message"]).as_deref(),
            Some("no \"x\"")
        );
        assert_eq!(
            said(
                r#"{"message":null,"error":"Not Found"}"#,
                &["message", "error"]
            )
            .as_deref(),
            Some("Not Found")
        );
        assert_eq!(
            said(r#"{"message":["a","b"]}"#, &["message"]).as_deref(),
            Some("a; b")
        );
        assert_eq!(
            said(
                r#"{"title":"Forbidden","detail":"No access"}"#,
                &["message", "detail", "title"]
            )
            .as_deref(),
            Some("No access")
        );
        // Not the vendor's JSON (plain text, nothing, a body cut short): the failure policy
        // shows the body's first bytes instead, so the start of a cut message still shows.
        let service = Service::new(
            "svc",
            "http://127.0.0.1:1",
            Default::default(),
            Limits::default(),
        )
        .unwrap();
        for (body, shown) in [
            ("plain", "HTTP 403 (plain);"),
            ("", "HTTP 403;"),
            (
                r#"{"id":"1","message":"You don't have the req"#,
                "You don't have the req",
            ),
        ] {
            assert_eq!(said(body, &["message"]), None);
            let e = service.status_error(&failure(body));
            assert!(e.to_string().contains(shown), "{e}");
        }
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
    fn a_filter_matches_key_or_name_and_a_tag_in_any_case() {
        let all = FlagFilter::default();
        assert!(all.matches_text("k", None) && all.matches_tags(&[]));
        let filter = FlagFilter {
            query: Some("Check".into()),
            tag: Some("WEB".into()),
            ..FlagFilter::default()
        };
        assert!(filter.matches_text("new-checkout", None));
        assert!(filter.matches_text("f-1", Some("New Checkout")));
        assert!(!filter.matches_text("f-1", Some("search")));
        assert!(filter.matches_tags(&["api".into(), "web".into()]));
        assert!(!filter.matches_tags(&["api".into()]));
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
