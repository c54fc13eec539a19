//! The alerts of every monitoring source in one list, whatever the source speaks: Prometheus
//! rules (`/api/v1/alerts`), Grafana-managed rules (the same format under Grafana), and
//! Alertmanager (which knows what is silenced).

use super::alertmanager::{Alert, AlertStatus};
use super::prometheus::{AlertState, PromAlert};
use crate::config::MonitoringKind;
use crate::error::ErrorInfo;
use serde::Serialize;
use std::collections::BTreeMap;

/// One alert as every front-end shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AlertView {
    /// The configured source it comes from.
    pub source: String,
    /// The `alertname` label.
    pub name: String,
    /// `firing`, `pending`, `silenced`, `inhibited`, `suppressed`, `unprocessed`.
    pub state: String,
    /// The `severity` label, when there is one.
    pub severity: Option<String>,
    /// The `summary` annotation, else `description`.
    pub summary: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// When it started firing (epoch ms).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub since_ms: Option<i64>,
    /// Ids of the silences that mute it (Alertmanager sources).
    pub silenced_by: Vec<String>,
    /// The rule's link (Prometheus graph, Grafana rule), when the source gives one.
    pub link: Option<String>,
}

/// The alerts of one source, or why they could not be read: one failing source never hides
/// the others.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SourceAlerts {
    pub source: String,
    /// `grafana`, `prometheus` or `alertmanager`.
    pub kind: String,
    pub alerts: Vec<AlertView>,
    pub error: Option<ErrorInfo>,
}

impl SourceAlerts {
    pub(crate) fn new(source: &str, kind: MonitoringKind) -> SourceAlerts {
        SourceAlerts {
            source: source.to_string(),
            kind: kind.as_str().to_string(),
            alerts: Vec::new(),
            error: None,
        }
    }
}

fn summary(annotations: &BTreeMap<String, String>) -> Option<String> {
    annotations
        .get("summary")
        .or_else(|| annotations.get("description"))
        .cloned()
}

/// A rule's alert; inactive ones are left out by the caller.
pub(crate) fn from_rule(source: &str, a: PromAlert) -> AlertView {
    let state = match a.state {
        AlertState::Firing => "firing".to_string(),
        AlertState::Pending => "pending".to_string(),
        AlertState::Inactive => "inactive".to_string(),
        AlertState::Other => a.state_text.clone(),
    };
    AlertView {
        source: source.to_string(),
        name: a.name().to_string(),
        state,
        severity: a.labels.get("severity").cloned(),
        summary: summary(&a.annotations),
        since_ms: a.active_at_ms,
        silenced_by: Vec::new(),
        link: None,
        labels: a.labels,
    }
}

/// An alert held by an Alertmanager.
pub(crate) fn from_alertmanager(source: &str, a: Alert) -> AlertView {
    let state = match a.status {
        AlertStatus::Active => "firing",
        AlertStatus::Silenced => "silenced",
        AlertStatus::Inhibited => "inhibited",
        AlertStatus::Suppressed => "suppressed",
        AlertStatus::Unprocessed => "unprocessed",
    };
    AlertView {
        source: source.to_string(),
        name: a.name().to_string(),
        state: state.to_string(),
        severity: a.labels.get("severity").cloned(),
        summary: summary(&a.annotations),
        since_ms: a.starts_at_ms,
        silenced_by: a.silenced_by,
        link: a.generator_url,
        labels: a.labels,
    }
}

/// Firing first, then pending, then the muted ones; newest first within each.
pub(crate) fn sort(alerts: &mut [AlertView]) {
    let rank = |s: &str| match s {
        "firing" => 0,
        "pending" => 1,
        _ => 2,
    };
    alerts.sort_by(|a, b| {
        rank(&a.state)
            .cmp(&rank(&b.state))
            .then(b.since_ms.cmp(&a.since_ms))
            .then(a.name.cmp(&b.name))
    });
}
