//! Alertmanager API v2 (<https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml>):
//! the alerts it holds (active, silenced, inhibited) and silences: create one for a while, list
//! them, expire one.
//!
//! Every call goes to a path prefix: `"api/v2"` ([`API_V2`]) on an Alertmanager; Grafana serves
//! the same API for its own alerts under `"api/alertmanager/grafana/api/v2"`
//! ([`GRAFANA_PREFIX`]).
//!
//! Quirks handled here:
//! - Alertmanager 0.25 answers `DELETE silence/{id}` of an unknown id with HTTP 500 and the body
//!   `"silence not found"`: that is reported as not-found, not as a failed service.
//! - Its refusals are a JSON string (`"matcher value contains unescaped double quote"`, HTTP 400)
//!   or `{"code":612,"message":"…"}` (HTTP 422, request validation): both become invalid-input
//!   errors quoting that message.

use crate::error::{Error, ErrorCode, Result};
use crate::http::{HttpFailure, Method, Request, Retry, Service};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The API prefix of an Alertmanager.
pub const API_V2: &str = "api/v2";
/// Where Grafana serves its own Alertmanager's API.
pub const GRAFANA_PREFIX: &str = "api/alertmanager/grafana/api/v2";

/// A label matcher of a silence or an alert filter: `name="value"`, `name!="value"`,
/// `name=~"regex"`, `name!~"regex"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub is_regex: bool,
    /// `false` for `!=` and `!~` (absent in old Alertmanagers: then `true`).
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl Matcher {
    /// `name="value"`.
    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.to_string(),
            value: value.to_string(),
            is_regex: false,
            is_equal: true,
        }
    }

    /// `name=~"regex"` (anchored by Alertmanager: it must match the whole value).
    pub fn regex(name: &str, regex: &str) -> Matcher {
        Matcher {
            is_regex: true,
            ..Matcher::equal(name, regex)
        }
    }

    /// Reads `name=value`, `name!=value`, `name=~regex`, `name!~regex`; the value may be in
    /// double quotes (`service="checkout"`), as amtool and the Alertmanager UI write it.
    pub fn parse(text: &str) -> Result<Matcher> {
        let bad = || {
            Error::invalid(format!(
                "`{text}` is not a label matcher; write it like service=checkout, env!=dev, severity=~\"page|critical\" or instance!~\"web-.*\""
            ))
        };
        let pos = text.find(['=', '!']).ok_or_else(bad)?;
        let (name, rest) = text.split_at(pos);
        let (op, value) = ["!~", "=~", "!=", "="]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))
            .ok_or_else(bad)?;
        let name = name.trim();
        let valid_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(bad());
        }
        let value = value.trim();
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) => {
                serde_json::from_str::<String>(&format!("\"{inner}\"")).map_err(|_| bad())?
            }
            None => value.to_string(),
        };
        Ok(Matcher {
            name: name.to_string(),
            value,
            is_regex: op.ends_with('~'),
            is_equal: op.starts_with('='),
        })
    }

    /// The operator: `=`, `!=`, `=~` or `!~`.
    pub fn operator(&self) -> &'static str {
        match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        }
    }

    /// Whether this matcher accepts a label value (`None`: the label is absent, i.e. empty).
    /// An invalid regex matches nothing.
    fn accepts_empty(&self) -> bool {
        let hit = if self.is_regex {
            // Only the common forms are recognised; others are left to the server to judge.
            matches!(self.value.as_str(), "" | ".*" | "^.*$" | "(.*)")
        } else {
            self.value.is_empty()
        };
        hit == self.is_equal
    }
}

impl std::fmt::Display for Matcher {
    /// `name="value"` with the value escaped as the Alertmanager filter syntax wants.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let quoted = serde_json::to_string(&self.value).map_err(|_| std::fmt::Error)?;
        write!(f, "{}{}{}", self.name, self.operator(), quoted)
    }
}

/// Where an alert stands in Alertmanager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertStatus {
    /// Notifications go out.
    Active,
    /// Muted by at least one silence ([`Alert::silenced_by`]).
    Silenced,
    /// Muted by an inhibition rule ([`Alert::inhibited_by`]), and by no silence.
    Inhibited,
    /// Muted otherwise (a mute time interval).
    Suppressed,
    /// Received but not yet processed.
    Unprocessed,
}

/// One alert held by Alertmanager (`GET <prefix>/alerts`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub status: AlertStatus,
    /// Ids of the silences that mute it.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts that inhibit it.
    pub inhibited_by: Vec<String>,
    /// Alertmanager's id of the alert (a hash of its labels).
    pub fingerprint: String,
    /// Epoch ms.
    pub starts_at_ms: Option<i64>,
    /// When it resolves unless re-sent (epoch ms).
    pub ends_at_ms: Option<i64>,
    pub updated_at_ms: Option<i64>,
    /// Link to the rule's expression in the alert's source (Prometheus graph, Grafana rule).
    pub generator_url: Option<String>,
    /// Receivers it is routed to.
    pub receivers: Vec<String>,
}

impl Alert {
    /// The `alertname` label ("" when missing).
    pub fn name(&self) -> &str {
        self.labels
            .get("alertname")
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// A silence to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    /// Alerts matching all of these are muted; at least one must not match an empty value.
    pub matchers: Vec<Matcher>,
    /// Epoch ms.
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// Who silenced (shown to everyone else on call).
    pub created_by: String,
    /// Why (e.g. the incident).
    pub comment: String,
}

impl NewSilence {
    /// A silence from now for `duration`.
    pub fn lasting(
        matchers: Vec<Matcher>,
        duration: Duration,
        created_by: &str,
        comment: &str,
    ) -> NewSilence {
        let now = chrono::Utc::now().timestamp_millis();
        let length = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        NewSilence {
            matchers,
            starts_at_ms: now,
            ends_at_ms: now.saturating_add(length),
            created_by: created_by.to_string(),
            comment: comment.to_string(),
        }
    }

    /// Refuses what Alertmanager would refuse, with a message that says how to fix it.
    fn check(&self) -> Result<()> {
        if self.matchers.is_empty() {
            return Err(Error::invalid(
                "a silence needs at least one label matcher (e.g. alertname=CheckoutErrors)",
            ));
        }
        if let Some(m) = self.matchers.iter().find(|m| m.name.trim().is_empty()) {
            return Err(Error::invalid(format!(
                "the silence matcher `{m}` has no label name"
            )));
        }
        if self.matchers.iter().all(Matcher::accepts_empty) {
            return Err(Error::invalid(
                "these matchers would silence every alert; add one that names a label value (e.g. alertname=CheckoutErrors)",
            ));
        }
        if self.ends_at_ms <= self.starts_at_ms {
            return Err(Error::invalid("a silence must end after it starts"));
        }
        if self.ends_at_ms <= chrono::Utc::now().timestamp_millis() {
            return Err(Error::invalid("a silence must end in the future"));
        }
        if self.created_by.trim().is_empty() {
            return Err(Error::invalid("a silence needs its author (created by)"));
        }
        if self.comment.trim().is_empty() {
            return Err(Error::invalid(
                "a silence needs a comment saying why (e.g. the incident)",
            ));
        }
        Ok(())
    }
}

/// A silence's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SilenceState {
    /// Muting now.
    Active,
    /// Starts later.
    Pending,
    /// Over (ended, or expired by hand).
    Expired,
    Unknown,
}

/// A silence (`GET <prefix>/silences`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Silence {
    pub id: String,
    pub state: SilenceState,
    pub matchers: Vec<Matcher>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub starts_at_ms: Option<i64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ends_at_ms: Option<i64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub updated_at_ms: Option<i64>,
    pub created_by: String,
    pub comment: String,
}

/// A client of one Alertmanager API: a [`Service`] and the path prefix of the API.
#[derive(Debug, Clone)]
pub struct Alertmanager<'a> {
    service: &'a Service,
    prefix: String,
}

impl<'a> Alertmanager<'a> {
    /// A client of the API at `prefix` ([`API_V2`] or [`GRAFANA_PREFIX`]) under `service`'s base
    /// URL.
    pub fn new(service: &'a Service, prefix: &str) -> Alertmanager<'a> {
        Alertmanager {
            service,
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    fn path(&self, endpoint: &str) -> String {
        super::api_path(&self.prefix, endpoint)
    }

    /// The alerts matching every matcher of `filter` (all alerts when empty), whatever their
    /// status (active, silenced, inhibited).
    pub async fn alerts(&self, filter: &[Matcher]) -> Result<Vec<Alert>> {
        let mut request = Request::get(self.path("alerts"));
        for m in filter {
            request = request.query("filter", m.to_string());
        }
        let raw: Vec<RawAlert> = self.call(request, "the alerts list").await?;
        Ok(raw.into_iter().map(RawAlert::into_alert).collect())
    }

    /// Creates a silence; returns its id. Not retried when the outcome is unclear (a second
    /// attempt could make a second silence): an `outcome-unknown` error says to look at
    /// [`Alertmanager::silences`].
    pub async fn create_silence(&self, new: &NewSilence) -> Result<String> {
        new.check()?;
        let body = RawNewSilence {
            matchers: &new.matchers,
            starts_at: rfc3339(new.starts_at_ms)?,
            ends_at: rfc3339(new.ends_at_ms)?,
            created_by: &new.created_by,
            comment: &new.comment,
        };
        let request = Request::with_body(
            Method::POST,
            self.path("silences"),
            &body,
            Retry::NotIdempotent,
        )?;
        let created: Created = self.call(request, "creating the silence").await?;
        if created.silence_id.is_empty() {
            return Err(Error::MalformedResponse {
                what: format!("{} {}", self.service.name(), self.path("silences")),
                reason: "the silence was accepted but no silenceID came back".into(),
            });
        }
        Ok(created.silence_id)
    }

    /// Every silence the Alertmanager keeps (active, pending and recently expired).
    pub async fn silences(&self) -> Result<Vec<Silence>> {
        let raw: Vec<RawSilence> = self
            .call(Request::get(self.path("silences")), "the silences list")
            .await?;
        Ok(raw.into_iter().map(RawSilence::into_silence).collect())
    }

    /// Ends a silence now (Alertmanager keeps it, expired). Expiring an expired silence is
    /// not an error; an unknown id is `not-found`.
    pub async fn expire_silence(&self, id: &str) -> Result<()> {
        let id = id.trim();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::invalid(format!(
                "`{id}` is not a silence id (they look like 742d969d-9ab3-4116-b573-62781a5834d4)"
            )));
        }
        let request = Request::delete(self.path(&format!("silence/{id}")));
        match self.service.send_raw(request).await? {
            Ok(_) => Ok(()),
            Err(f) if is_not_found(&f) => Err(Error::NotFound {
                what: "silence",
                name: id.to_string(),
                hint: Some(format!(
                    "{} has no silence with this id; list them to see which exist",
                    self.service.name()
                )),
            }),
            Err(f) => Err(self.failure_error(&f, &format!("expiring silence {id}"))),
        }
    }

    async fn call<T: DeserializeOwned>(&self, request: Request, what: &str) -> Result<T> {
        let endpoint = format!("{} {}", self.service.name(), request.path);
        match self.service.send_raw(request).await? {
            Ok(response) => {
                serde_json::from_slice(&response.body).map_err(|e| malformed(&endpoint, &e))
            }
            Err(failure) => Err(self.failure_error(&failure, what)),
        }
    }

    /// A refusal of the request itself (400, 422) quotes Alertmanager's reason; other
    /// statuses are typed as for any service.
    fn failure_error(&self, failure: &HttpFailure, what: &str) -> Error {
        match (failure.status, refusal_message(&failure.body)) {
            (400 | 422, Some(message)) => Error::Service {
                service: self.service.name().to_string(),
                code: ErrorCode::InvalidInput,
                status: failure.status,
                message: format!(
                    "{what} was refused (HTTP {}): {message}; check the matchers and times",
                    failure.status
                ),
            },
            _ => self.service.status_error(failure),
        }
    }
}

/// Alertmanager 0.25 says 500 `"silence not found"`; Grafana and newer ones 404.
fn is_not_found(f: &HttpFailure) -> bool {
    f.status == 404 || (f.status == 500 && f.body.to_ascii_lowercase().contains("not found"))
}

/// The message of a refusal body: a JSON string, or `{"message": …}`.
fn refusal_message(body: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(body).ok()? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Object(o) => o
            .get("message")
            .or_else(|| o.get("error"))
            .and_then(|m| m.as_str())
            .map(str::to_owned),
        _ => None,
    }
}

/// An alerts list answer (`GET <prefix>/alerts`, a 2xx body) decoded as
/// [`Alertmanager::alerts`] reads it; `endpoint` names it in a malformed-response error.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn decode_alerts(body: &[u8], endpoint: &str) -> Result<Vec<Alert>> {
    let raw: Vec<RawAlert> = serde_json::from_slice(body).map_err(|e| malformed(endpoint, &e))?;
    Ok(raw.into_iter().map(RawAlert::into_alert).collect())
}

fn malformed(endpoint: &str, e: &serde_json::Error) -> Error {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Eof => "the body ended early (truncated?)",
        Category::Syntax => "the body is not JSON (an HTML page?)",
        Category::Data => "the JSON does not have the Alertmanager API's shape",
        Category::Io => "the body could not be read",
    };
    Error::MalformedResponse {
        what: endpoint.to_string(),
        reason: format!("{what} at line {} column {}", e.line(), e.column()),
    }
}

fn rfc3339(ms: i64) -> Result<String> {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .ok_or_else(|| Error::invalid(format!("{ms} is not a time a silence can have")))
}

fn ms(text: &Option<String>) -> Option<i64> {
    text.as_deref().and_then(super::prometheus::rfc3339_ms)
}

// ---- wire types -------------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RawNewSilence<'a> {
    matchers: &'a [Matcher],
    starts_at: String,
    ends_at: String,
    created_by: &'a str,
    comment: &'a str,
}

#[derive(Deserialize)]
struct Created {
    #[serde(rename = "silenceID", default)]
    silence_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    status: RawAlertStatus,
    #[serde(default)]
    fingerprint: String,
    starts_at: Option<String>,
    ends_at: Option<String>,
    updated_at: Option<String>,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    #[serde(default)]
    receivers: Vec<Receiver>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawAlertStatus {
    #[serde(default)]
    state: String,
    #[serde(default)]
    silenced_by: Vec<String>,
    #[serde(default)]
    inhibited_by: Vec<String>,
}

#[derive(Deserialize)]
struct Receiver {
    #[serde(default)]
    name: String,
}

impl RawAlert {
    fn into_alert(self) -> Alert {
        let s = self.status;
        let status = match s.state.as_str() {
            "active" => AlertStatus::Active,
            "unprocessed" => AlertStatus::Unprocessed,
            _ if !s.silenced_by.is_empty() => AlertStatus::Silenced,
            _ if !s.inhibited_by.is_empty() => AlertStatus::Inhibited,
            "suppressed" => AlertStatus::Suppressed,
            _ => AlertStatus::Unprocessed,
        };
        Alert {
            labels: self.labels,
            annotations: self.annotations,
            status,
            silenced_by: s.silenced_by,
            inhibited_by: s.inhibited_by,
            fingerprint: self.fingerprint,
            starts_at_ms: ms(&self.starts_at),
            ends_at_ms: ms(&self.ends_at),
            updated_at_ms: ms(&self.updated_at),
            generator_url: self.generator_url.filter(|u| !u.is_empty()),
            receivers: self.receivers.into_iter().map(|r| r.name).collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSilence {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: RawSilenceStatus,
    #[serde(default)]
    matchers: Vec<Matcher>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    updated_at: Option<String>,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize, Default)]
struct RawSilenceStatus {
    #[serde(default)]
    state: String,
}

impl RawSilence {
    fn into_silence(self) -> Silence {
        Silence {
            state: match self.status.state.as_str() {
                "active" => SilenceState::Active,
                "pending" => SilenceState::Pending,
                "expired" => SilenceState::Expired,
                _ => SilenceState::Unknown,
            },
            id: self.id,
            matchers: self.matchers,
            starts_at_ms: ms(&self.starts_at),
            ends_at_ms: ms(&self.ends_at),
            updated_at_ms: ms(&self.updated_at),
            created_by: self.created_by,
            comment: self.comment,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALERTS: &str = include_str!("testdata/alertmanager-0.25-alerts.json");
    const SILENCED: &str = include_str!("testdata/alertmanager-0.25-alerts-silenced.json");
    const SILENCES: &str = include_str!("testdata/alertmanager-0.25-silences.json");

    fn alerts(body: &str) -> Vec<Alert> {
        decode_alerts(body.as_bytes(), "Alertmanager alerts").unwrap()
    }

    #[test]
    fn an_active_alert_decodes_with_its_times_fingerprint_and_source() {
        let a = &alerts(ALERTS)[0];
        assert_eq!(a.name(), "PaafTestAlwaysFiring");
        assert_eq!(a.status, AlertStatus::Active);
        assert_eq!(a.fingerprint, "5916876fd4590433");
        assert_eq!(a.labels["service"], "checkout");
        // 2026-11-25T18:53:58.086Z
        assert_eq!(a.starts_at_ms, Some(1_795_632_838_086));
        assert!(a.ends_at_ms > a.starts_at_ms);
        assert!(
            a.generator_url
                .as_deref()
                .unwrap()
                .contains("g0.expr=vector%281%29&")
        );
        assert_eq!(a.receivers, vec!["blackhole"]);
    }

    #[test]
    fn a_silenced_alert_names_its_silence() {
        let a = &alerts(SILENCED)[0];
        assert_eq!(a.status, AlertStatus::Silenced);
        assert_eq!(a.silenced_by, vec!["742d969d-9ab3-4116-b573-62781a5834d4"]);
        let inhibited = r#"[{"labels":{"alertname":"X"},"annotations":{},"fingerprint":"f","startsAt":"2024-01-01T00:00:00Z",
            "endsAt":"2024-01-01T00:05:00Z","updatedAt":"2024-01-01T00:00:00Z","receivers":[],
            "status":{"state":"suppressed","silencedBy":[],"inhibitedBy":["abc"]}}]"#;
        assert_eq!(alerts(inhibited)[0].status, AlertStatus::Inhibited);
    }

    #[test]
    fn silences_decode_matchers_state_and_times() {
        let s: Vec<Silence> = serde_json::from_str::<Vec<RawSilence>>(SILENCES)
            .unwrap()
            .into_iter()
            .map(RawSilence::into_silence)
            .collect();
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!(s.id, "742d969d-9ab3-4116-b573-62781a5834d4");
        assert_eq!(s.state, SilenceState::Expired);
        assert_eq!(s.created_by, "paaf-test");
        assert_eq!(s.matchers[0], Matcher::equal("service", "checkout"));
        assert_eq!(s.matchers[1], Matcher::regex("severity", "page|critical"));
        assert!(s.ends_at_ms >= s.starts_at_ms);
    }

    #[test]
    fn matchers_parse_and_print_in_the_filter_syntax() {
        let cases = [
            ("service=checkout", "service=\"checkout\"", false, true),
            ("env!=dev", "env!=\"dev\"", false, false),
            (
                "severity=~\"page|critical\"",
                "severity=~\"page|critical\"",
                true,
                true,
            ),
            (" instance !~ web-.* ", "instance!~\"web-.*\"", true, false),
            (
                "msg=\"say \\\"hi\\\"\"",
                "msg=\"say \\\"hi\\\"\"",
                false,
                true,
            ),
        ];
        for (text, printed, regex, equal) in cases {
            let m = Matcher::parse(text).unwrap();
            assert_eq!(m.to_string(), printed, "{text}");
            assert_eq!((m.is_regex, m.is_equal), (regex, equal), "{text}");
        }
        for bad in ["service", "=x", "1abc=x", "a b=c"] {
            assert_eq!(
                Matcher::parse(bad).unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_new_silence_is_checked_before_it_is_sent() {
        let ok = NewSilence::lasting(
            vec![Matcher::equal("service", "checkout")],
            Duration::from_secs(600),
            "alice",
            "incident 42",
        );
        assert!(ok.check().is_ok());
        assert_eq!(ok.ends_at_ms - ok.starts_at_ms, 600_000);
        let broken = [
            NewSilence {
                matchers: vec![],
                ..ok.clone()
            },
            NewSilence {
                matchers: vec![Matcher::regex("alertname", ".*")],
                ..ok.clone()
            },
            NewSilence {
                ends_at_ms: ok.starts_at_ms,
                ..ok.clone()
            },
            NewSilence {
                created_by: " ".into(),
                ..ok.clone()
            },
            NewSilence {
                comment: String::new(),
                ..ok.clone()
            },
        ];
        for b in broken {
            assert_eq!(
                b.check().unwrap_err().code(),
                ErrorCode::InvalidInput,
                "{b:?}"
            );
        }
    }

    #[test]
    fn the_silence_body_has_the_documented_shape() {
        let body = RawNewSilence {
            matchers: &[Matcher::equal("service", "checkout")],
            starts_at: rfc3339(1_700_000_000_123).unwrap(),
            ends_at: rfc3339(1_700_000_600_123).unwrap(),
            created_by: "alice",
            comment: "incident 42",
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "matchers": [{"name": "service", "value": "checkout", "isRegex": false, "isEqual": true}],
                "startsAt": "2023-11-14T22:13:20.123Z",
                "endsAt": "2023-11-14T22:23:20.123Z",
                "createdBy": "alice",
                "comment": "incident 42"
            })
        );
    }

    #[test]
    fn refusals_and_not_found_are_read_from_alertmanager_bodies() {
        assert_eq!(
            refusal_message(r#""matcher value contains unescaped double quote: =\"checkout""#)
                .as_deref(),
            Some("matcher value contains unescaped double quote: =\"checkout")
        );
        assert_eq!(
            refusal_message(
                r#"{"code":612,"message":"matchers in body should have at least 1 items"}"#
            )
            .as_deref(),
            Some("matchers in body should have at least 1 items")
        );
        assert_eq!(refusal_message("<html>"), None);
        let f = |status, body: &str| HttpFailure {
            status,
            headers: Default::default(),
            body: body.into(),
            full_body: body.into(),
        };
        assert!(is_not_found(&f(500, "\"silence not found\"")));
        assert!(is_not_found(&f(404, "")));
        assert!(!is_not_found(&f(500, "\"internal error\"")));
    }
}
