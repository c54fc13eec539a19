//! The incident's life in the facade: open it (from a firing alert, matched to a playbook),
//! read it, move its phase, write notes, resolve it, draft its post-mortem. Each moment is told
//! to the notify targets and annotated in Grafana through the outbox (`deliveries.rs`); Protect
//! and Stand down are in `protect.rs`.

use super::Paaf;
use crate::config::{MonitoringKind, PlaybookConfig};
use crate::error::{Error, ErrorInfo, Result};
use crate::incident::analyze::{IncidentLook, QueryCheck};
use crate::incident::notify::{Notice, NoticeEvent};
use crate::incident::postmortem::{self, DashboardLink, Postmortem};
use crate::incident::{
    Incident, IncidentAlert, IncidentDetail, IncidentEvent, IncidentEventKind, IncidentPhase,
    Severity,
};
use crate::journal::{ActionKind, NewIncident};
use crate::monitor::alert_list::AlertView;
use crate::monitor::grafana::NewAnnotation;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Which firing alert an incident is opened from: its name, and labels that single it out
/// among several with that name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AlertRef {
    /// The `[[monitoring]]` source; every source when `None`.
    pub source: Option<String>,
    /// Its `alertname`.
    pub name: String,
    /// Labels it must have (a subset of its labels).
    pub labels: BTreeMap<String, String>,
}

/// An incident to open.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentInput {
    /// Empty: the alert's summary, else its name.
    pub title: String,
    /// `None`: the playbook's, else what the alert's `severity` label suggests, else sev3.
    pub severity: Option<Severity>,
    pub alert: Option<AlertRef>,
    /// The playbook to follow; `None`: the first whose `match` the alert's labels satisfy.
    pub playbook: Option<String>,
    /// Open it even while another incident is open (one at a time otherwise).
    pub alongside: bool,
}

impl Paaf {
    /// Attaches the actions of this facade to incident `id` while it is open (`--incident
    /// ID`); `None`: to the newest open incident, the default.
    pub fn choose_incident(&self, id: Option<i64>) {
        self.journal.choose_incident(id);
    }

    /// Incident `id`, or when `None` the current one (the chosen, else the newest open), else
    /// the newest of all (the one just resolved, for its post-mortem).
    pub fn incident(&self, id: Option<i64>) -> Result<Incident> {
        let found = match id {
            Some(id) => self.journal.incident(id)?,
            None => match self.journal.current_incident()? {
                Some(open) => Some(open),
                None => self.journal.incidents(false, 1)?.into_iter().next(),
            },
        };
        found.ok_or_else(|| Error::NotFound {
            what: "incident",
            name: id.map(|i| i.to_string()).unwrap_or_default(),
            hint: Some(match id {
                Some(_) => "see the ids with `paaf incident list`".into(),
                None => "there is none yet: open one with `paaf incident open`".into(),
            }),
        })
    }

    /// Incident `id` (or the current one), which must be open.
    pub(crate) fn open_incident_of(&self, id: Option<i64>) -> Result<Incident> {
        let incident = self.incident(id)?;
        if !incident.is_open() {
            return Err(Error::Conflict {
                what: format!("incident #{} is resolved", incident.id),
                how: "open a new incident (`paaf incident open`)".into(),
            });
        }
        Ok(incident)
    }

    /// Incidents, newest first (only the open ones with `open_only`); also delivers what is
    /// due of their outbox.
    pub fn incidents(&self, open_only: bool, limit: usize) -> Result<Vec<Incident>> {
        self.deliver_soon();
        self.journal.incidents(open_only, limit)
    }

    /// Everything recorded about incident `id` (or the current one).
    pub fn incident_detail(&self, id: Option<i64>) -> Result<IncidentDetail> {
        let incident = self.incident(id)?;
        self.deliver_soon();
        Ok(IncidentDetail {
            actions: self.journal.incident_actions(incident.id)?,
            events: self.journal.incident_events(incident.id)?,
            deliveries: self.journal.deliveries(incident.id)?,
            incident,
        })
    }

    /// Opens an incident: from the firing alert `input.alert` names (its labels and source
    /// kept), following the playbook that matches it (or the one named). One at a time per
    /// journal unless `input.alongside`. People are told, and Grafana annotated.
    pub async fn open_incident(&self, input: &IncidentInput) -> Result<Incident> {
        let config = self.config();
        let alert = match &input.alert {
            Some(wanted) => Some(self.find_alert(wanted).await?),
            None => None,
        };
        let playbook: Option<&PlaybookConfig> = match (&input.playbook, &alert) {
            (Some(name), _) => Some(config.playbook(name)?),
            (None, Some(a)) => config.playbook_for(&a.labels),
            (None, None) => None,
        };
        let severity = input
            .severity
            .or(playbook.and_then(|p| p.severity))
            .or_else(|| {
                alert.as_ref().map(|a| {
                    Severity::from_alert_label(a.labels.get("severity").map(String::as_str))
                })
            })
            .unwrap_or(Severity::Sev3);
        let title = match (input.title.trim(), &alert) {
            ("", Some(a)) => a.summary.clone().unwrap_or_else(|| a.name.clone()),
            ("", None) => {
                return Err(Error::invalid(
                    "an incident needs a title, or the alert it is opened from (CLI: paaf incident open \"Checkout errors\" or --alert NAME)",
                ));
            }
            (t, _) => t.to_string(),
        };
        let incident = self.journal.open_incident(
            &self.actor,
            &NewIncident {
                title,
                severity,
                playbook: playbook.map(|p| p.name.clone()),
                alert,
            },
            !input.alongside,
        )?;
        if let Some(a) = &incident.alert {
            let key = crate::incident::team::key_for_alert(&a.name, &a.labels);
            self.journal.set_team_key(incident.id, &key)?;
        }
        let mut lines = Vec::new();
        if let Some(a) = &incident.alert {
            lines.push(format!(
                "Alert {} from {}{}",
                a.name,
                a.source,
                a.summary
                    .as_ref()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default()
            ));
        }
        match &incident.playbook {
            Some(p) => lines.push(format!("Playbook: {p}")),
            None if incident.alert.is_some() => {
                lines.push("No playbook matches this alert.".into())
            }
            None => {}
        }
        self.tell(&incident, NoticeEvent::Opened, lines);
        self.annotate_moment(&incident, "incident-opened", None);
        Ok(incident)
    }

    /// The alert `wanted` names among the alerts of the monitoring sources: firing first.
    async fn find_alert(&self, wanted: &AlertRef) -> Result<IncidentAlert> {
        let sources = self.alerts(wanted.source.as_deref()).await?;
        let candidates: Vec<&AlertView> = sources
            .iter()
            .flat_map(|s| s.alerts.iter())
            .filter(|a| {
                a.name == wanted.name
                    && wanted
                        .labels
                        .iter()
                        .all(|(k, v)| a.labels.get(k) == Some(v))
            })
            .collect();
        let best = candidates
            .iter()
            .find(|a| a.state == "firing")
            .or(candidates.first());
        match best {
            Some(a) => Ok(IncidentAlert {
                source: a.source.clone(),
                name: a.name.clone(),
                labels: a.labels.clone(),
                summary: a.summary.clone(),
                since_ms: a.since_ms,
                link: a.link.clone(),
            }),
            None => {
                let mut firing: Vec<&str> = sources
                    .iter()
                    .flat_map(|s| s.alerts.iter())
                    .map(|a| a.name.as_str())
                    .collect();
                firing.sort();
                firing.dedup();
                let unreadable: Vec<String> = sources
                    .iter()
                    .filter_map(|s| {
                        s.error
                            .as_ref()
                            .map(|e| format!("{}: {}", s.source, e.code.as_str()))
                    })
                    .collect();
                Err(Error::NotFound {
                    what: "alert",
                    name: wanted.name.clone(),
                    hint: Some(format!(
                        "alerts now: {}{}",
                        if firing.is_empty() {
                            "none".to_string()
                        } else {
                            firing.join(", ")
                        },
                        if unreadable.is_empty() {
                            String::new()
                        } else {
                            format!("; unreadable sources: {}", unreadable.join(", "))
                        }
                    )),
                })
            }
        }
    }

    /// Moves incident `id` (or the current one) to `phase`; `resolved` resolves it.
    pub async fn set_incident_phase(
        &self,
        id: Option<i64>,
        phase: IncidentPhase,
        text: &str,
    ) -> Result<Incident> {
        if phase == IncidentPhase::Resolved {
            return self.resolve_incident(id, text).await;
        }
        let incident = self.open_incident_of(id)?;
        self.change_phase(&incident, phase, text)
    }

    /// Records the new phase and tells people (not when it is already the phase).
    pub(crate) fn change_phase(
        &self,
        incident: &Incident,
        phase: IncidentPhase,
        text: &str,
    ) -> Result<Incident> {
        if incident.phase == phase {
            return Ok(incident.clone());
        }
        let changed = self
            .journal
            .set_phase(incident.id, &self.actor, phase, text)?;
        let lines = if text.trim().is_empty() {
            Vec::new()
        } else {
            vec![text.to_string()]
        };
        self.tell(&changed, NoticeEvent::Phase, lines);
        Ok(changed)
    }

    /// Adds a note to incident `id` (or the current one).
    pub fn note_incident(&self, id: Option<i64>, text: &str) -> Result<IncidentEvent> {
        if text.trim().is_empty() {
            return Err(Error::invalid("the note is empty"));
        }
        let incident = self.open_incident_of(id)?;
        self.journal
            .add_incident_event(incident.id, &self.actor, IncidentEventKind::Note, text)
    }

    /// Resolves incident `id` (or the current one): people are told, and the whole incident
    /// becomes one region annotation in Grafana.
    pub async fn resolve_incident(&self, id: Option<i64>, text: &str) -> Result<Incident> {
        let incident = self.open_incident_of(id)?;
        let resolved =
            self.journal
                .set_phase(incident.id, &self.actor, IncidentPhase::Resolved, text)?;
        let mut lines = Vec::new();
        if !text.trim().is_empty() {
            lines.push(text.to_string());
        }
        if let Some(end) = resolved.resolved_at {
            lines.push(format!(
                "Impact {}",
                postmortem::human_ms(
                    (end - resolved.impact_start()).num_milliseconds().max(0) as u64
                )
            ));
        }
        self.tell(&resolved, NoticeEvent::Resolved, lines);
        self.annotate_moment(&resolved, "incident", resolved.resolved_at);
        Ok(resolved)
    }

    /// The post-mortem draft of incident `id` (or the current one), from the journal.
    pub fn postmortem(&self, id: Option<i64>) -> Result<Postmortem> {
        self.postmortem_with(id, None)
    }

    /// The same, with the team's timeline `team` (see [`Paaf::team_postmortem`]).
    pub(crate) fn postmortem_with(
        &self,
        id: Option<i64>,
        team: Option<crate::incident::team::TeamTimeline>,
    ) -> Result<Postmortem> {
        let incident = self.incident(id)?;
        let actions = self.journal.incident_actions(incident.id)?;
        let events = self.journal.incident_events(incident.id)?;
        let end = incident.resolved_at.unwrap_or_else(chrono::Utc::now);
        let links = self.dashboard_links(&incident, end);
        Ok(postmortem::build(
            &incident,
            &actions,
            &events,
            links,
            team,
            chrono::Utc::now(),
        ))
    }

    /// The Analyze step of incident `id` (or the current one): its playbook's dashboards on
    /// the window from the start of impact to now, and its queries run now (at once) and
    /// held against their thresholds; a query that fails is reported beside the others.
    pub async fn incident_look(&self, id: Option<i64>) -> Result<IncidentLook> {
        let incident = self.incident(id)?;
        let end = incident.resolved_at.unwrap_or_else(chrono::Utc::now);
        let config = self.config();
        let queries = incident
            .playbook
            .as_deref()
            .and_then(|p| config.playbook(p).ok())
            .map(|p| p.queries.clone())
            .unwrap_or_default();
        let checks = futures::future::join_all(queries.iter().map(|q| async move {
            match self.query(Some(&q.source), &q.expr, None, 1).await {
                Ok(result) => QueryCheck::of(
                    &q.source,
                    &q.expr,
                    q.above,
                    q.below,
                    result
                        .series
                        .into_iter()
                        .map(|s| (s.name, s.values.last().copied().flatten()))
                        .collect(),
                ),
                Err(e) => {
                    QueryCheck::failed(&q.source, &q.expr, q.above, q.below, ErrorInfo::from(&e))
                }
            }
        }))
        .await;
        Ok(IncidentLook {
            incident_id: incident.id,
            dashboards: self.dashboard_links(&incident, end),
            queries: checks,
        })
    }

    /// The playbook's dashboards, opened on the impact window (and each listed panel).
    fn dashboard_links(
        &self,
        incident: &Incident,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Vec<DashboardLink> {
        let config = self.config();
        let Some(playbook) = incident
            .playbook
            .as_deref()
            .and_then(|p| config.playbook(p).ok())
        else {
            return Vec::new();
        };
        let (from, to) = (
            incident.impact_start().timestamp_millis(),
            end.timestamp_millis(),
        );
        let mut links = Vec::new();
        for d in &playbook.dashboards {
            let Ok(source) =
                config.monitoring_source(Some(&d.source), Some(MonitoringKind::Grafana))
            else {
                continue;
            };
            let base = format!(
                "{}/d/{}?from={from}&to={to}",
                source.url.trim_end_matches('/'),
                crate::http::path_segment(&d.uid)
            );
            links.push(DashboardLink {
                source: d.source.clone(),
                uid: d.uid.clone(),
                url: base.clone(),
                panel_id: None,
            });
            for panel in &d.panels {
                links.push(DashboardLink {
                    source: d.source.clone(),
                    uid: d.uid.clone(),
                    url: format!("{base}&viewPanel={panel}"),
                    panel_id: Some(*panel),
                });
            }
        }
        links
    }

    /// Queues a notice of `event` to the incident's targets (its playbook's `notify`, else
    /// every `[[notify]]` target) and starts delivering.
    pub(crate) fn tell(&self, incident: &Incident, event: NoticeEvent, lines: Vec<String>) {
        let config = self.config();
        let targets: Vec<String> = match incident
            .playbook
            .as_deref()
            .and_then(|p| config.playbook(p).ok())
        {
            Some(p) if !p.notify.is_empty() => p.notify.clone(),
            _ => config.notify.iter().map(|n| n.name.clone()).collect(),
        };
        let notice = Notice::new(event, incident, lines, &self.by());
        self.queue_notice(incident.id, &targets, &notice);
        self.deliver_soon();
    }

    /// `alice via cli on laptop`.
    pub(crate) fn by(&self) -> String {
        format!(
            "{} via {} on {}",
            self.actor.operator, self.actor.frontend, self.actor.device
        )
    }

    /// Where the incident's annotations go: each dashboard of its playbook, else org-wide in
    /// every Grafana.
    fn annotation_places(&self, incident: &Incident) -> Vec<(String, Option<String>)> {
        let config = self.config();
        let playbook_dashboards: Vec<(String, Option<String>)> = incident
            .playbook
            .as_deref()
            .and_then(|p| config.playbook(p).ok())
            .map(|p| {
                p.dashboards
                    .iter()
                    .map(|d| (d.source.clone(), Some(d.uid.clone())))
                    .collect()
            })
            .unwrap_or_default();
        if !playbook_dashboards.is_empty() {
            return playbook_dashboards;
        }
        config
            .monitoring
            .iter()
            .filter(|m| m.kind == MonitoringKind::Grafana)
            .map(|m| (m.name.clone(), None))
            .collect()
    }

    /// Annotates the opening (a point) or, with `end`, the whole incident (a region).
    fn annotate_moment(
        &self,
        incident: &Incident,
        event: &str,
        end: Option<chrono::DateTime<chrono::Utc>>,
    ) {
        let annotation = NewAnnotation {
            dashboard_uid: None,
            panel_id: None,
            time: incident.opened_at.timestamp_millis(),
            time_end: end.map(|t| t.timestamp_millis()),
            tags: vec![
                "paaf".into(),
                format!("incident-{}", incident.id),
                event.into(),
            ],
            text: match end {
                Some(_) => format!("Incident {} (resolved)", incident.headline()),
                None => format!("Incident {} opened", incident.headline()),
            },
        };
        let places = self.annotation_places(incident);
        self.queue_annotation(incident.id, &places, event, &annotation);
        self.deliver_soon();
    }

    /// Annotates action `id` when it ran in an incident: `paaf`, `incident-N`, its kind.
    pub(crate) fn annotate_incident_action(&self, id: i64) {
        let Ok(Some(action)) = self.journal.get(id) else {
            return;
        };
        let Some(incident_id) = action.incident_id else {
            return;
        };
        if action.kind == ActionKind::Annotate {
            return;
        }
        let Ok(Some(incident)) = self.journal.incident(incident_id) else {
            return;
        };
        let annotation = NewAnnotation {
            dashboard_uid: None,
            panel_id: None,
            time: action.created_at.timestamp_millis(),
            time_end: None,
            tags: vec![
                "paaf".into(),
                format!("incident-{incident_id}"),
                action.kind.name(),
            ],
            text: format!(
                "{} {}: {}{} (by {} via {})",
                action.kind,
                action.target,
                action.state.as_str(),
                action
                    .result
                    .as_ref()
                    .map(|r| format!(" — {r}"))
                    .unwrap_or_default(),
                action.operator,
                action.frontend
            ),
        };
        let places = self.annotation_places(&incident);
        self.queue_annotation(incident_id, &places, &action.kind.name(), &annotation);
        self.deliver_soon();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;
    use std::sync::Arc;

    /// The post-mortem of an incident with 10,000 journal rows of every kind it treats apart
    /// (flags, reboots, silences), written straight into the journal file as another paaf
    /// process would, has every row. Its time budget (200 ms, release) is measured by
    /// tests/bench/postmortem.sh, not asserted here: a wall-clock bound fails on a loaded machine.
    #[tokio::test]
    async fn the_post_mortem_of_10000_journal_rows_has_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let paaf = Paaf::open_text(
            &dir.path().join("config.toml"),
            "operator = \"alice\"\n",
            Arc::new(MemoryStore::default()),
            "cli",
        )
        .unwrap();
        let incident = paaf
            .open_incident(&IncidentInput {
                title: "Checkout errors".into(),
                ..IncidentInput::default()
            })
            .await
            .unwrap();
        let mut db = rusqlite::Connection::open(dir.path().join("journal.sqlite")).unwrap();
        let tx = db.transaction().unwrap();
        let start = incident.opened_at;
        for i in 0..10_000i64 {
            let at = start + chrono::Duration::milliseconds(i * 10);
            let flag_change = |was_enabled: bool| {
                format!(
                    r#"{{"type":"flag-change","backend":"prod","project":"default","flag":"flag-{}","environment":"production","was_enabled":{was_enabled}}}"#,
                    i % 50
                )
            };
            let (kind, target, data) = match i % 4 {
                0 => (
                    "flag-off",
                    format!("flag-{}@production", i % 50),
                    flag_change(true),
                ),
                1 => (
                    "flag-on",
                    format!("flag-{}@production", i % 50),
                    flag_change(false),
                ),
                2 => (
                    "reboot",
                    format!("web-{}", i % 20),
                    r#"{"type":"reboot","down_ms":41000}"#.to_string(),
                ),
                _ => (
                    "silence",
                    "am".to_string(),
                    format!(r#"{{"type":"silence","source":"am","silence_id":"s-{i}"}}"#),
                ),
            };
            tx.execute(
                "INSERT INTO actions (kind, target, detail, data, operator, frontend, device, state, result, created_at, finished_at, duration_ms, owner, incident_id)
                 VALUES (?1, ?2, 'detail', ?3, 'alice', 'cli', 'laptop', 'succeeded', 'done', ?4, ?5, 1000, 'other', ?6)",
                rusqlite::params![
                    kind,
                    target,
                    data,
                    at.to_rfc3339(),
                    (at + chrono::Duration::seconds(1)).to_rfc3339(),
                    incident.id
                ],
            )
            .unwrap();
        }
        tx.commit().unwrap();

        let pm = paaf.postmortem(Some(incident.id)).unwrap();
        assert_eq!(
            pm.timeline.iter().filter(|e| e.action_id.is_some()).count(),
            10_000
        );
        assert!(pm.markdown.contains("## Timeline"));
        assert!(!pm.flags_off.is_empty() && !pm.reboots.is_empty());
    }
}
