//! The state at a glance, for the desktop tray (and any surface that has one line to say it):
//! is anything firing, how badly, and what is paaf doing right now. The front-ends only draw
//! it; what counts as critical and how the line reads is decided here.

use super::Paaf;
use crate::error::Result;
use crate::journal::{ActionRecord, ActionState};
use crate::monitor::alert_list::{AlertView, SourceAlerts};
use serde::Serialize;

/// How many firing alerts an overview carries by name (the rest are counted).
pub const TOP_ALERTS: usize = 5;
/// How far back the journal is read for unfinished actions.
const RECENT_ACTIONS: usize = 200;

/// The overall state, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum OverviewLevel {
    /// A firing alert with a critical severity (`critical`, `page`, `emergency`, `p1`).
    Critical,
    /// Firing alerts, none critical.
    Warning,
    /// Nothing firing that paaf can see, but a source could not be read.
    Unknown,
    /// Nothing firing, every source read.
    Ok,
}

/// The state at a glance.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Overview {
    pub level: OverviewLevel,
    /// One line: "2 alerts firing (1 critical) · rebooting web-1".
    pub headline: String,
    /// At most a few words, for a tray title: "2 firing", "ok", "?".
    pub short: String,
    pub firing: u32,
    pub critical: u32,
    /// The firing alerts, critical first, newest first: at most [`TOP_ALERTS`].
    pub top_alerts: Vec<AlertView>,
    /// Sources that could not be read, with their error codes ("prom: unreachable").
    pub unreadable: Vec<String>,
    /// Actions not finished yet, from every front-end sharing this journal, newest first.
    pub running: Vec<ActionRecord>,
    /// No monitoring source is configured: the level says nothing about alerts.
    pub unmonitored: bool,
}

impl Paaf {
    /// Reads every monitoring source's alerts (concurrently; a failing source is counted as
    /// unreadable) and the journal's unfinished actions.
    pub async fn overview(&self) -> Result<Overview> {
        let sources = self.alerts(None).await?;
        let running = self
            .journal
            .list(None, RECENT_ACTIONS)?
            .into_iter()
            .filter(|a| matches!(a.state, ActionState::Pending | ActionState::Running))
            .collect();
        Ok(Overview::from_parts(&sources, running))
    }
}

fn is_critical(alert: &AlertView) -> bool {
    alert.severity.as_deref().is_some_and(|s| {
        ["critical", "page", "emergency", "p1"]
            .iter()
            .any(|c| s.eq_ignore_ascii_case(c))
    })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Overview {
    /// The overview of these sources' alerts (one per configured monitoring source: none
    /// means none is configured) and these unfinished actions.
    pub fn from_parts(sources: &[SourceAlerts], running: Vec<ActionRecord>) -> Overview {
        let unmonitored = sources.is_empty();
        let mut firing: Vec<&AlertView> = sources
            .iter()
            .flat_map(|s| &s.alerts)
            .filter(|a| a.state == "firing")
            .collect();
        // Critical first, then the newest.
        firing.sort_by(|a, b| {
            is_critical(b)
                .cmp(&is_critical(a))
                .then(b.since_ms.cmp(&a.since_ms))
                .then(a.name.cmp(&b.name))
        });
        let critical = firing.iter().filter(|a| is_critical(a)).count();
        let unreadable: Vec<String> = sources
            .iter()
            .filter_map(|s| {
                s.error
                    .as_ref()
                    .map(|e| format!("{}: {}", s.source, e.code.as_str()))
            })
            .collect();
        let level = if critical > 0 {
            OverviewLevel::Critical
        } else if !firing.is_empty() {
            OverviewLevel::Warning
        } else if !unreadable.is_empty() {
            OverviewLevel::Unknown
        } else {
            OverviewLevel::Ok
        };

        let mut parts = Vec::new();
        if unmonitored {
            parts.push("no monitoring configured".to_string());
        } else if firing.is_empty() {
            parts.push("no alerts firing".to_string());
        } else {
            let mut part = format!("{} firing", plural(firing.len(), "alert", "alerts"));
            if critical > 0 {
                part += &format!(" ({critical} critical)");
            }
            parts.push(part);
        }
        if !unreadable.is_empty() {
            parts.push(format!(
                "{} unreadable",
                plural(unreadable.len(), "source", "sources")
            ));
        }
        match running.as_slice() {
            [] => {}
            [one] => parts.push(format!("{} {} running", one.kind, one.target)),
            many => parts.push(format!(
                "{} running",
                plural(many.len(), "action", "actions")
            )),
        }
        let mut headline = parts.join(" · ");
        if let Some(first) = headline.get(..1) {
            headline = first.to_uppercase() + &headline[1..];
        }
        let short = match level {
            OverviewLevel::Critical | OverviewLevel::Warning => format!("{} firing", firing.len()),
            OverviewLevel::Unknown => "?".to_string(),
            OverviewLevel::Ok => "ok".to_string(),
        };
        Overview {
            level,
            headline,
            short,
            firing: firing.len() as u32,
            critical: critical as u32,
            top_alerts: firing.into_iter().take(TOP_ALERTS).cloned().collect(),
            unreadable,
            running,
            unmonitored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorCode, ErrorInfo};
    use crate::journal::{ActionKind, NewAction};
    use std::collections::BTreeMap;

    fn alert(name: &str, state: &str, severity: Option<&str>, since_ms: i64) -> AlertView {
        AlertView {
            source: "am".into(),
            name: name.into(),
            state: state.into(),
            severity: severity.map(str::to_string),
            summary: None,
            labels: BTreeMap::new(),
            since_ms: Some(since_ms),
            silenced_by: vec![],
            link: None,
        }
    }

    fn source(name: &str, alerts: Vec<AlertView>) -> SourceAlerts {
        SourceAlerts {
            source: name.into(),
            kind: "alertmanager".into(),
            alerts,
            error: None,
        }
    }

    fn failing(name: &str) -> SourceAlerts {
        SourceAlerts {
            error: Some(ErrorInfo {
                code: ErrorCode::Unreachable,
                message: "connection refused".into(),
                phase: None,
            }),
            ..source(name, vec![])
        }
    }

    #[test]
    fn critical_alerts_come_first_and_set_the_level() {
        let o = Overview::from_parts(
            &[
                source(
                    "am",
                    vec![
                        alert("DiskFilling", "firing", Some("warning"), 30),
                        alert("CheckoutErrors", "firing", Some("Critical"), 10),
                        alert("Silenced", "silenced", Some("critical"), 40),
                        alert("Slow", "pending", Some("critical"), 50),
                    ],
                ),
                source("prom", vec![alert("HighLatency", "firing", None, 20)]),
            ],
            vec![],
        );
        assert_eq!(o.level, OverviewLevel::Critical);
        assert_eq!((o.firing, o.critical), (3, 1));
        let names: Vec<&str> = o.top_alerts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["CheckoutErrors", "DiskFilling", "HighLatency"]);
        assert_eq!(o.headline, "3 alerts firing (1 critical)");
        assert_eq!(o.short, "3 firing");
    }

    #[test]
    fn firing_without_a_critical_severity_is_a_warning() {
        let o = Overview::from_parts(
            &[source(
                "am",
                vec![alert("DiskFilling", "firing", Some("warning"), 1)],
            )],
            vec![],
        );
        assert_eq!(o.level, OverviewLevel::Warning);
        assert_eq!(o.headline, "1 alert firing");
    }

    #[test]
    fn an_unreadable_source_is_unknown_not_ok_and_is_named_with_its_code() {
        let o = Overview::from_parts(&[source("am", vec![]), failing("prom")], vec![]);
        assert_eq!(o.level, OverviewLevel::Unknown);
        assert_eq!(o.unreadable, ["prom: unreachable"]);
        assert_eq!(o.headline, "No alerts firing · 1 source unreadable");
        assert_eq!(o.short, "?");
        // Firing alerts elsewhere still win over an unreadable source.
        let o = Overview::from_parts(
            &[
                source("am", vec![alert("A", "firing", None, 1)]),
                failing("prom"),
            ],
            vec![],
        );
        assert_eq!(o.level, OverviewLevel::Warning);
    }

    #[test]
    fn the_top_alerts_are_capped_and_the_rest_counted() {
        let alerts = (0..9)
            .map(|i| alert(&format!("A{i}"), "firing", None, i))
            .collect();
        let o = Overview::from_parts(&[source("am", alerts)], vec![]);
        assert_eq!(o.firing, 9);
        assert_eq!(o.top_alerts.len(), TOP_ALERTS);
        assert_eq!(o.top_alerts[0].name, "A8", "newest first");
    }

    #[test]
    fn no_monitoring_configured_says_so() {
        let o = Overview::from_parts(&[], vec![]);
        assert_eq!(o.level, OverviewLevel::Ok);
        assert_eq!(o.headline, "No monitoring configured");
        assert_eq!(o.short, "ok");
    }

    #[tokio::test]
    async fn the_overview_reads_unfinished_actions_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "").unwrap();
        let paaf = Paaf::open(
            &path,
            std::sync::Arc::new(crate::secrets::MemoryStore::default()),
            "desktop",
        )
        .unwrap();
        let actor = paaf.actor().clone();
        let done = paaf
            .journal
            .begin(&actor, &NewAction::new(ActionKind::Reboot, "db-1", ""))
            .unwrap();
        paaf.journal
            .finish(done, ActionState::Succeeded, "ok", None)
            .unwrap();
        let id = paaf
            .journal
            .begin(&actor, &NewAction::new(ActionKind::Reboot, "web-1", ""))
            .unwrap();
        paaf.journal.mark_running(id).unwrap();

        let o = paaf.overview().await.unwrap();
        assert!(o.unmonitored);
        assert_eq!(o.running.len(), 1);
        assert_eq!(o.running[0].target, "web-1");
        assert_eq!(
            o.headline,
            "No monitoring configured · reboot web-1 running"
        );
        let second = paaf
            .journal
            .begin(&actor, &NewAction::new(ActionKind::ServerStop, "web-2", ""))
            .unwrap();
        let o = paaf.overview().await.unwrap();
        assert_eq!(o.headline, "No monitoring configured · 2 actions running");
        assert_eq!(o.running[0].id, second, "newest first");
    }
}
