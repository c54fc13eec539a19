//! Incidents: the PAAF loop as one record. An incident is opened (from a firing alert or by
//! hand), every action taken while it is open is attached to it, its phase moves from opened
//! to resolved, people are told ([`notify`]) and Grafana annotated along the way, and the
//! post-mortem ([`postmortem`]) is written from what the journal kept.
//!
//! These are the types with no I/O; the journal stores them (`journal/incidents.rs`) and the
//! facade runs the loop (`facade/incidents.rs`).

pub mod analyze;
pub mod notify;
pub mod postmortem;
pub mod steps;
pub mod team;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;

/// How bad: sev1 (critical, all hands) to sev4 (minor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Severity {
    Sev1,
    Sev2,
    Sev3,
    Sev4,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Sev1 => "sev1",
            Severity::Sev2 => "sev2",
            Severity::Sev3 => "sev3",
            Severity::Sev4 => "sev4",
        }
    }

    /// The severity an alert's `severity` label suggests (`critical`/`page` → sev1 ...).
    pub fn from_alert_label(label: Option<&str>) -> Severity {
        match label.map(str::to_ascii_lowercase).as_deref() {
            Some("critical" | "page" | "emergency" | "p1" | "sev1") => Severity::Sev1,
            Some("error" | "high" | "major" | "p2" | "sev2") => Severity::Sev2,
            Some("warning" | "warn" | "medium" | "p3" | "sev3") => Severity::Sev3,
            Some(_) => Severity::Sev4,
            None => Severity::Sev3,
        }
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Severity, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sev1" | "1" => Ok(Severity::Sev1),
            "sev2" | "2" => Ok(Severity::Sev2),
            "sev3" | "3" => Ok(Severity::Sev3),
            "sev4" | "4" => Ok(Severity::Sev4),
            _ => Err(format!("severity `{s}` is not sev1, sev2, sev3 or sev4")),
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an incident stands, in the order PAAF goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum IncidentPhase {
    Opened,
    /// Protect is running its steps.
    Protecting,
    /// Every protect step ended well: users are shielded.
    Protected,
    Analyzing,
    Fixing,
    /// Stand down is reversing what Protect changed.
    StandingDown,
    Resolved,
}

impl IncidentPhase {
    pub const ALL: [IncidentPhase; 7] = [
        IncidentPhase::Opened,
        IncidentPhase::Protecting,
        IncidentPhase::Protected,
        IncidentPhase::Analyzing,
        IncidentPhase::Fixing,
        IncidentPhase::StandingDown,
        IncidentPhase::Resolved,
    ];

    /// The name stored and shown (`standing-down`).
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentPhase::Opened => "opened",
            IncidentPhase::Protecting => "protecting",
            IncidentPhase::Protected => "protected",
            IncidentPhase::Analyzing => "analyzing",
            IncidentPhase::Fixing => "fixing",
            IncidentPhase::StandingDown => "standing-down",
            IncidentPhase::Resolved => "resolved",
        }
    }

    /// The phase stored as `name`; `Opened` for a name this version does not know.
    pub fn parse(name: &str) -> IncidentPhase {
        IncidentPhase::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .unwrap_or(IncidentPhase::Opened)
    }
}

impl std::fmt::Display for IncidentPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The alert an incident was opened from, as it was then: its labels and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentAlert {
    /// The `[[monitoring]]` source that showed it.
    pub source: String,
    /// Its `alertname`.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub summary: Option<String>,
    /// When it started firing (epoch ms).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub since_ms: Option<i64>,
    /// The rule's link, when the source gave one.
    pub link: Option<String>,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Incident {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub title: String,
    pub severity: Severity,
    pub phase: IncidentPhase,
    /// The playbook it follows, when one matched its alert or was chosen.
    pub playbook: Option<String>,
    pub alert: Option<IncidentAlert>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who opened it, through what.
    pub operator: String,
    pub frontend: String,
    pub device: String,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// When the harm began: the alert's start, else the opening.
    pub fn impact_start(&self) -> DateTime<Utc> {
        self.alert
            .as_ref()
            .and_then(|a| a.since_ms)
            .and_then(DateTime::from_timestamp_millis)
            .filter(|t| *t <= self.opened_at)
            .unwrap_or(self.opened_at)
    }

    /// `#12 Checkout errors (sev2)`.
    pub fn headline(&self) -> String {
        format!("#{} {} ({})", self.id, self.title, self.severity)
    }
}

/// What an entry of an incident's own timeline (beside its actions) records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum IncidentEventKind {
    /// The phase changed (the event's `phase` is the new one; the opening is the first).
    Phase,
    /// A note someone wrote.
    Note,
    /// The summary of a Protect run.
    Protect,
    /// The summary of a Stand down run.
    StandDown,
}

impl IncidentEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentEventKind::Phase => "phase",
            IncidentEventKind::Note => "note",
            IncidentEventKind::Protect => "protect",
            IncidentEventKind::StandDown => "stand-down",
        }
    }

    pub fn parse(name: &str) -> IncidentEventKind {
        match name {
            "phase" => IncidentEventKind::Phase,
            "protect" => IncidentEventKind::Protect,
            "stand-down" => IncidentEventKind::StandDown,
            _ => IncidentEventKind::Note,
        }
    }
}

/// One entry of an incident's own timeline: a phase change, a note, a run's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentEvent {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub incident_id: i64,
    pub at: DateTime<Utc>,
    pub kind: IncidentEventKind,
    /// For a phase change: the new phase.
    pub phase: Option<IncidentPhase>,
    pub text: String,
    pub operator: String,
    pub frontend: String,
    pub device: String,
}

/// Where a message about an incident (a notification, a Grafana annotation) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DeliveryState {
    /// Not delivered yet: waiting for its first attempt or its next retry.
    Pending,
    Sent,
    /// Every attempt failed; paaf gave up.
    Failed,
}

/// What a delivery carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DeliveryKind {
    /// A message to a `[[notify]]` target.
    Notify,
    /// An annotation in a Grafana.
    Annotation,
}

/// One message about an incident on its way to a notify target or a Grafana, retried with
/// backoff until it is delivered or paaf gives up; it never holds up the incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Delivery {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub incident_id: i64,
    pub kind: DeliveryKind,
    /// The notify target or Grafana source.
    pub channel: String,
    /// What it tells: `opened`, `phase`, `protect`, `stand-down`, `resolved`, or an action.
    pub event: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// An incident with everything recorded about it, for its page.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentDetail {
    pub incident: Incident,
    /// Every action attached to it, oldest first.
    pub actions: Vec<crate::journal::ActionRecord>,
    /// Phase changes, notes and run summaries, oldest first.
    pub events: Vec<IncidentEvent>,
    /// Notifications and annotations, oldest first.
    pub deliveries: Vec<Delivery>,
}
