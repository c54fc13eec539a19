//! The post-mortem draft of an incident, written from the journal alone: what happened when,
//! who did what from where, how long users were shielded and how long the stand-down took,
//! which flags were off and which hosts were down — Markdown for people, the same as JSON.

use super::{Incident, IncidentAlert, IncidentEvent, IncidentEventKind, IncidentPhase};
use crate::journal::{ActionData, ActionKind, ActionRecord, ActionState};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

/// One line of the timeline: an action, a phase change, a note or a run's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `action`, `phase`, `note`, `protect` or `stand-down`.
    pub entry: String,
    /// The action's kind (`flag-off`), the new phase, or the note's text.
    pub what: String,
    pub target: String,
    /// The action's state and result line.
    pub result: String,
    pub operator: String,
    pub frontend: String,
    pub device: String,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub duration_ms: Option<u64>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub action_id: Option<i64>,
}

/// A flag that was off during the incident, and for how long.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FlagOffWindow {
    pub backend: String,
    pub flag: String,
    pub environment: String,
    pub off_at: DateTime<Utc>,
    /// When it was turned back on; `None`: still off when the incident ended.
    pub back_on_at: Option<DateTime<Utc>>,
    /// Off for this long (until the end of the incident, or now, when never turned back).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub off_ms: u64,
}

/// A host rebooted during the incident, and how long it was down.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HostReboot {
    pub host: String,
    pub at: DateTime<Utc>,
    pub state: ActionState,
    /// From the dropped connection to the new boot id, for a verified reboot.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub down_ms: Option<u64>,
    /// The whole action, command to verification.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub duration_ms: Option<u64>,
}

/// A dashboard of the incident's playbook, opened on the impact window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DashboardLink {
    pub source: String,
    pub uid: String,
    /// `…/d/UID?from=MS&to=MS` (a panel's adds `&viewPanel=ID`).
    pub url: String,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub panel_id: Option<i64>,
}

/// The post-mortem draft: the facts, and the same as Markdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Postmortem {
    pub incident: Incident,
    /// One paragraph.
    pub summary: String,
    pub impact_start: DateTime<Utc>,
    /// The resolution; `None` while the incident is open.
    pub impact_end: Option<DateTime<Utc>>,
    /// From the start of impact to `protected`.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub time_to_protect_ms: Option<u64>,
    /// From the start of impact to the end of the last stand-down run.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub time_to_stand_down_ms: Option<u64>,
    /// From the start of impact to `resolved`.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub time_to_resolve_ms: Option<u64>,
    pub alert: Option<IncidentAlert>,
    pub timeline: Vec<TimelineEntry>,
    pub flags_off: Vec<FlagOffWindow>,
    pub reboots: Vec<HostReboot>,
    pub dashboards: Vec<DashboardLink>,
    /// Every responder's device's rows, when this device is paired and the incident shared.
    pub team: Option<super::team::TeamTimeline>,
    /// The whole draft as Markdown.
    pub markdown: String,
}

/// Builds the post-mortem of `incident` from its journal rows, oldest first, and the team's
/// timeline when there is one; `now` ends the windows of an incident still open.
pub fn build(
    incident: &Incident,
    actions: &[ActionRecord],
    events: &[IncidentEvent],
    dashboards: Vec<DashboardLink>,
    team: Option<super::team::TeamTimeline>,
    now: DateTime<Utc>,
) -> Postmortem {
    let start = incident.impact_start();
    let end = incident.resolved_at;
    let since_start = |t: DateTime<Utc>| Some((t - start).num_milliseconds().max(0) as u64);
    let first_phase = |phase: IncidentPhase| {
        events
            .iter()
            .find(|e| e.kind == IncidentEventKind::Phase && e.phase == Some(phase))
            .map(|e| e.at)
    };
    let stand_down_end = events
        .iter()
        .rfind(|e| e.kind == IncidentEventKind::StandDown)
        .map(|e| e.at);
    let mut timeline: Vec<TimelineEntry> = events.iter().map(event_entry).collect();
    timeline.extend(actions.iter().map(action_entry));
    // Stable: an event and an action at the same instant keep events first.
    timeline.sort_by_key(|e| e.at);
    let flags_off = flag_windows(actions, end.unwrap_or(now));
    let reboots = actions
        .iter()
        .filter(|a| a.kind == ActionKind::Reboot)
        .map(|a| HostReboot {
            host: a.target.clone(),
            at: a.created_at,
            state: a.state,
            down_ms: match &a.data {
                Some(ActionData::Reboot { down_ms }) => Some(*down_ms),
                _ => None,
            },
            duration_ms: a.duration_ms,
        })
        .collect();
    let failed = actions
        .iter()
        .filter(|a| matches!(a.state, ActionState::Failed | ActionState::Unknown))
        .count();
    let summary = format!(
        "{} ({}) {}{}. {} action{} taken{}.",
        incident.title,
        incident.severity,
        match &incident.alert {
            Some(a) => format!("opened from the alert {} ({})", a.name, a.source),
            None => "opened by hand".into(),
        },
        match end {
            Some(t) => format!(", resolved after {}", human_ms(since_start(t).unwrap_or(0))),
            None => format!(", still open ({})", incident.phase),
        },
        actions.len(),
        if actions.len() == 1 { "" } else { "s" },
        if failed > 0 {
            format!(", {failed} of them failed or with an unknown outcome")
        } else {
            String::new()
        }
    );
    let mut pm = Postmortem {
        incident: incident.clone(),
        summary,
        impact_start: start,
        impact_end: end,
        time_to_protect_ms: first_phase(IncidentPhase::Protected).and_then(since_start),
        time_to_stand_down_ms: stand_down_end.and_then(since_start),
        time_to_resolve_ms: end.and_then(since_start),
        alert: incident.alert.clone(),
        timeline,
        flags_off,
        reboots,
        dashboards,
        team,
        markdown: String::new(),
    };
    pm.markdown = markdown(&pm);
    pm
}

fn event_entry(e: &IncidentEvent) -> TimelineEntry {
    let (entry, what) = match (e.kind, e.phase) {
        (IncidentEventKind::Phase, Some(p)) => ("phase", format!("phase: {p}")),
        (kind, _) => (kind.as_str(), e.text.clone()),
    };
    TimelineEntry {
        at: e.at,
        entry: entry.into(),
        what,
        target: String::new(),
        result: if e.kind == IncidentEventKind::Phase {
            e.text.clone()
        } else {
            String::new()
        },
        operator: e.operator.clone(),
        frontend: e.frontend.clone(),
        device: e.device.clone(),
        duration_ms: None,
        action_id: None,
    }
}

fn action_entry(a: &ActionRecord) -> TimelineEntry {
    TimelineEntry {
        at: a.created_at,
        entry: "action".into(),
        what: a.kind.name(),
        target: a.target.clone(),
        result: match &a.result {
            Some(r) => format!("{}: {r}", a.state.as_str()),
            None => a.state.as_str().to_string(),
        },
        operator: a.operator.clone(),
        frontend: a.frontend.clone(),
        device: a.device.clone(),
        duration_ms: a.duration_ms,
        action_id: Some(a.id),
    }
}

/// Each successful flag-off, paired with the next successful flag-on of the same flag; in one
/// pass (a flag never turned back on would otherwise make every later row scanned again).
fn flag_windows(actions: &[ActionRecord], end: DateTime<Utc>) -> Vec<FlagOffWindow> {
    let mut out: Vec<FlagOffWindow> = Vec::new();
    // The windows still open, by flag (backend, project, flag, environment).
    let mut open: HashMap<(&str, &str, &str, &str), Vec<usize>> = HashMap::new();
    for a in actions {
        let Some(ActionData::FlagChange {
            backend,
            project,
            flag,
            environment,
            ..
        }) = &a.data
        else {
            continue;
        };
        if !matches!(a.state, ActionState::Succeeded | ActionState::Unverified) {
            continue;
        }
        let which = (
            backend.as_str(),
            project.as_str(),
            flag.as_str(),
            environment.as_str(),
        );
        let at = a.finished_at.unwrap_or(a.created_at);
        match a.kind {
            ActionKind::FlagOff => {
                open.entry(which).or_default().push(out.len());
                out.push(FlagOffWindow {
                    backend: backend.clone(),
                    flag: flag.clone(),
                    environment: environment.clone(),
                    off_at: at,
                    back_on_at: None,
                    off_ms: 0,
                });
            }
            ActionKind::FlagOn => {
                for i in open.remove(&which).unwrap_or_default() {
                    out[i].back_on_at = Some(at);
                }
            }
            _ => {}
        }
    }
    for w in &mut out {
        let until = w.back_on_at.unwrap_or(end);
        w.off_ms = (until - w.off_at).num_milliseconds().max(0) as u64;
    }
    out
}

/// `2h05m`, `3m12s`, `850ms`.
pub fn human_ms(ms: u64) -> String {
    let secs = ms / 1000;
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, 0) => format!("{ms}ms"),
        (0, 0, s) => format!("{s}.{}s", ms % 1000 / 100),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

pub(super) fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A table cell: pipes and line breaks would break the row.
pub(super) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

fn markdown(pm: &Postmortem) -> String {
    let i = &pm.incident;
    let mut md = String::new();
    let _ = writeln!(md, "# Post-mortem: {} (incident #{})\n", i.title, i.id);
    let _ = writeln!(md, "## Summary\n\n{}\n", pm.summary);
    let _ = writeln!(md, "- Severity: {}", i.severity);
    let _ = writeln!(
        md,
        "- Impact window: {} → {}",
        time(pm.impact_start),
        pm.impact_end
            .map(time)
            .unwrap_or_else(|| "still open".into())
    );
    let span = |ms: Option<u64>| ms.map(human_ms).unwrap_or_else(|| "—".into());
    let _ = writeln!(
        md,
        "- Time to protect: {} · to stand down: {} · to resolve: {} (from the start of impact)",
        span(pm.time_to_protect_ms),
        span(pm.time_to_stand_down_ms),
        span(pm.time_to_resolve_ms)
    );
    if let Some(p) = &i.playbook {
        let _ = writeln!(md, "- Playbook: {p}");
    }
    let _ = writeln!(
        md,
        "- Opened by {} via {} on {}\n",
        i.operator, i.frontend, i.device
    );
    if let Some(a) = &pm.alert {
        let _ = writeln!(md, "## The alert that opened it\n");
        let _ = writeln!(md, "- {} from {}", a.name, a.source);
        if let Some(s) = &a.summary {
            let _ = writeln!(md, "- {s}");
        }
        if let Some(t) = a.since_ms.and_then(DateTime::from_timestamp_millis) {
            let _ = writeln!(md, "- Firing since {}", time(t));
        }
        let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(md, "- Labels: {}\n", labels.join(", "));
    }
    let _ = writeln!(md, "## Timeline\n");
    let _ = writeln!(
        md,
        "| time | what | target | result | who (front-end, device) | duration |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for e in &pm.timeline {
        let what = match e.action_id {
            Some(id) => format!("{} (#{id})", e.what),
            None => e.what.clone(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} ({}, {}) | {} |",
            time(e.at),
            cell(&what),
            cell(&e.target),
            cell(&e.result),
            cell(&e.operator),
            cell(&e.frontend),
            cell(&e.device),
            e.duration_ms.map(human_ms).unwrap_or_default()
        );
    }
    if let Some(team) = &pm.team {
        md.push_str(&super::team::markdown(team));
    }
    let _ = writeln!(md, "\n## Flags turned off\n");
    if pm.flags_off.is_empty() {
        let _ = writeln!(md, "None.");
    }
    for f in &pm.flags_off {
        let _ = writeln!(
            md,
            "- {} in {} ({}): off at {}, {} — off for {}",
            f.flag,
            f.environment,
            f.backend,
            time(f.off_at),
            f.back_on_at
                .map(|t| format!("back on at {}", time(t)))
                .unwrap_or_else(|| "never turned back on".into()),
            human_ms(f.off_ms)
        );
    }
    let _ = writeln!(md, "\n## Hosts rebooted\n");
    if pm.reboots.is_empty() {
        let _ = writeln!(md, "None.");
    }
    for r in &pm.reboots {
        let _ = writeln!(
            md,
            "- {} at {}: {}{}",
            r.host,
            time(r.at),
            r.state.as_str(),
            match (r.down_ms, r.duration_ms) {
                (Some(d), _) => format!(", down for {}", human_ms(d)),
                (None, Some(d)) => format!(", reboot took {}", human_ms(d)),
                _ => String::new(),
            }
        );
    }
    let _ = writeln!(md, "\n## Dashboards for the impact window\n");
    if pm.dashboards.is_empty() {
        let _ = writeln!(md, "None in the playbook.");
    }
    for d in &pm.dashboards {
        let _ = match d.panel_id {
            Some(p) => writeln!(md, "- {} panel {p} ({}): {}", d.uid, d.source, d.url),
            None => writeln!(md, "- {} ({}): {}", d.uid, d.source, d.url),
        };
    }
    let _ = writeln!(md, "\n## Root cause\n\n_To be written._\n");
    let _ = writeln!(md, "## Action items\n\n_To be written._");
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human_ms(850), "850ms");
        assert_eq!(human_ms(3_400), "3.4s");
        assert_eq!(human_ms(192_000), "3m12s");
        assert_eq!(human_ms(7_500_000), "2h05m");
    }

    fn flag_change(id: i64, kind: ActionKind, flag: &str, state: ActionState) -> ActionRecord {
        let at = DateTime::from_timestamp(1_800_000_000 + id * 60, 0).unwrap();
        ActionRecord {
            id,
            kind,
            target: format!("{flag}@production"),
            detail: String::new(),
            data: Some(ActionData::FlagChange {
                backend: "prod".into(),
                project: "default".into(),
                flag: flag.into(),
                environment: "production".into(),
                was_enabled: kind == ActionKind::FlagOff,
            }),
            operator: "alice".into(),
            frontend: "cli".into(),
            device: "laptop".into(),
            state,
            result: None,
            error_code: None,
            created_at: at,
            finished_at: Some(at),
            duration_ms: Some(0),
            incident_id: Some(1),
            step: None,
        }
    }

    #[test]
    fn a_flag_is_off_from_each_change_off_to_its_next_change_on() {
        use ActionKind::{FlagOff, FlagOn};
        use ActionState::{Failed, Succeeded};
        let actions = [
            flag_change(1, FlagOff, "a", Succeeded),
            flag_change(2, FlagOff, "b", Succeeded),
            flag_change(3, FlagOn, "b", Failed), // changed nothing
            flag_change(4, FlagOn, "a", Succeeded),
            flag_change(5, FlagOff, "a", Succeeded),
            flag_change(6, FlagOn, "a", Succeeded),
        ];
        let end = DateTime::from_timestamp(1_800_000_000 + 600, 0).unwrap();
        let windows: Vec<(String, u64, bool)> = flag_windows(&actions, end)
            .into_iter()
            .map(|w| (w.flag, w.off_ms / 60_000, w.back_on_at.is_some()))
            .collect();
        assert_eq!(
            windows,
            [
                ("a".into(), 3, true),
                ("b".into(), 8, false), // still off at the end
                ("a".into(), 1, true),
            ]
        );
    }

    #[test]
    fn a_pipe_in_a_name_does_not_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
