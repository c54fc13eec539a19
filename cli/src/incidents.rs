//! `paaf incident open|list|show|share|protect|stand-down|analyze|note|phase|resolve|postmortem|
//! deliveries|resend`: the incident commands, their arguments and output. The core decides everything (which alert,
//! which playbook, what runs, what is reversed); this translates.

use crate::ctx::{Ctx, Failure, Outcome, cancel_on_ctrl_c};
use crate::exit;
use crate::output::{self, Cell, Table, Tone};
use chrono::Local;
use clap::{Args, Subcommand};
use paaf_core::incident::analyze::IncidentLook;
use paaf_core::incident::steps::{
    PlanStatus, RunPlan, RunReport, StepEvent, StepStatus, StepUpdate,
};
use paaf_core::incident::team::{TeamSource, TeamTimeline};
use paaf_core::incident::{
    Delivery, DeliveryState, Incident, IncidentDetail, IncidentPhase, Severity,
};
use paaf_core::{AlertRef, Error, IncidentInput, ResendWhich, Resent};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Open an incident, from a firing alert (its playbook found by its labels) or by hand
    Open(OpenArgs),
    /// Incidents, newest first
    List {
        /// Only the open ones
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// An incident: its phase, actions, notes and deliveries (the open one when no ID)
    Show {
        id: Option<i64>,
        /// Also the team's timeline: every paired device's actions in this incident, from
        /// the relay (this device's alone, said so, when the relay cannot be reached)
        #[arg(long)]
        team: bool,
    },
    /// Share an incident with the team through the paired relay: prints its team key, which
    /// the other devices give with --key (incidents opened from the same alert, or acted in
    /// from its intents, share one key without this)
    Share {
        id: Option<i64>,
        /// Join the team incident with this key (as another device's `share` printed it)
        #[arg(long)]
        key: Option<String>,
    },
    /// Run the playbook's protect steps after one confirmation listing them with their
    /// targets' state now
    Protect {
        id: Option<i64>,
        /// The playbook to follow, for an incident that has none
        #[arg(long)]
        playbook: Option<String>,
        /// Show the plan (every step, its target's state now) and stop: nothing is run
        #[arg(long = "dry-run", alias = "plan")]
        plan: bool,
        /// The dangerous runbooks' names, as the plan asks them typed (comma-separated)
        #[arg(long, value_name = "NAMES")]
        confirm: Option<String>,
    },
    /// Reverse what the incident changed (flags back, servers started, silences expired),
    /// after one confirmation listing what will be reversed and what cannot be
    StandDown {
        id: Option<i64>,
        /// Show what would be reversed and what cannot be, and stop: nothing is run
        #[arg(long = "dry-run", alias = "plan")]
        plan: bool,
    },
    /// What the playbook says to look at: its dashboards on the incident's window, its
    /// queries now against their thresholds
    Analyze { id: Option<i64> },
    /// Add a note to the open incident (or --incident ID)
    Note { text: String },
    /// Move an incident to a phase: analyzing, fixing, ...
    Phase {
        #[arg(value_parser = parse_phase)]
        phase: IncidentPhase,
        id: Option<i64>,
        /// Why, for the timeline
        #[arg(long, short = 'm', default_value = "")]
        message: String,
    },
    /// Resolve an incident
    Resolve {
        id: Option<i64>,
        /// What fixed it, for the timeline and the people told
        #[arg(long, short = 'm', default_value = "")]
        message: String,
    },
    /// The post-mortem draft as Markdown (as JSON with --json)
    Postmortem { id: Option<i64> },
    /// The notifications and annotations of an incident (of every incident when no ID),
    /// newest first: sent, pending (retrying) or given up
    Deliveries {
        id: Option<i64>,
        /// Only those paaf gave up on (resend them with `paaf incident resend`)
        #[arg(long)]
        failed: bool,
    },
    /// Send again a delivery paaf gave up on (or is still retrying), or every given-up one
    #[command(group(clap::ArgGroup::new("which").required(true).args(["delivery", "all_failed"])))]
    Resend {
        /// The delivery's id (see `paaf incident deliveries`)
        delivery: Option<i64>,
        /// Every delivery paaf gave up on
        #[arg(long = "all-failed")]
        all_failed: bool,
    },
}

#[derive(Args)]
pub struct OpenArgs {
    /// The title; the alert's summary when opened from an alert
    pub title: Option<String>,
    /// sev1 (critical) to sev4; the playbook's or the alert's by default
    #[arg(long, value_parser = parse_severity)]
    pub severity: Option<Severity>,
    /// The firing alert it is opened from (its alertname)
    #[arg(long, value_name = "ALERTNAME")]
    pub alert: Option<String>,
    /// A label the alert must have, to pick one among several (repeatable)
    #[arg(long = "label", value_name = "KEY=VALUE", requires = "alert")]
    pub labels: Vec<String>,
    /// The monitoring source of the alert
    #[arg(long, requires = "alert")]
    pub source: Option<String>,
    /// The playbook to follow (found from the alert's labels by default)
    #[arg(long)]
    pub playbook: Option<String>,
    /// Open it even while another incident is open
    #[arg(long)]
    pub alongside: bool,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

fn parse_phase(s: &str) -> Result<IncidentPhase, String> {
    IncidentPhase::ALL
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| {
            "use opened, protecting, protected, analyzing, fixing, standing-down or resolved".into()
        })
}

pub async fn incident(ctx: &Ctx, command: IncidentCommand) -> Outcome {
    let code = match command {
        IncidentCommand::Open(a) => open(ctx, a).await?,
        IncidentCommand::List { open, limit } => {
            let list = ctx.paaf.incidents(open, limit)?;
            ctx.emit(&list, |l| render_list(l));
            exit::OK
        }
        IncidentCommand::Show { id, team: false } => {
            let detail = ctx.paaf.incident_detail(id)?;
            ctx.emit(&detail, render_detail);
            exit::OK
        }
        IncidentCommand::Show { id, team: true } => {
            let detail = ctx.paaf.incident_detail(id)?;
            let team = ctx.paaf.team_timeline(Some(detail.incident.id)).await?;
            let shown = WithTeam { detail, team };
            ctx.emit(&shown, |s| {
                render_detail(&s.detail);
                render_team(&s.team);
            });
            exit::OK
        }
        IncidentCommand::Share { id, key } => {
            let incident = ctx.paaf.incident(id)?;
            let key = ctx.paaf.share_incident(Some(incident.id), key.as_deref())?;
            let shared = serde_json::json!({ "incident": incident.id, "key": key });
            ctx.emit(&shared, |_| {
                output::line(&format!(
                    "incident #{} is shared as team incident {key}",
                    incident.id
                ));
                output::note(&format!(
                    "on the other devices: paaf incident share ID --key {key}"
                ));
            });
            exit::OK
        }
        IncidentCommand::Protect {
            id,
            playbook,
            plan,
            confirm,
        } => {
            let p = ctx.paaf.protect_plan(id, playbook.as_deref()).await?;
            run(ctx, p, plan, confirm).await?
        }
        IncidentCommand::StandDown { id, plan } => {
            let p = ctx.paaf.stand_down_plan(id).await?;
            run(ctx, p, plan, None).await?
        }
        IncidentCommand::Analyze { id } => {
            let look = ctx.paaf.incident_look(id).await?;
            ctx.emit(&look, render_look);
            exit::OK
        }
        IncidentCommand::Note { text } => {
            let event = ctx.paaf.note_incident(None, &text)?;
            ctx.emit(&event, |e| {
                output::line(&format!("note added to incident #{}", e.incident_id))
            });
            exit::OK
        }
        IncidentCommand::Phase { phase, id, message } => {
            let incident = ctx.paaf.set_incident_phase(id, phase, &message).await?;
            ctx.emit(&incident, |i| output::line(&headline(i)));
            exit::OK
        }
        IncidentCommand::Resolve { id, message } => {
            let incident = ctx.paaf.resolve_incident(id, &message).await?;
            ctx.emit(&incident, |i| output::line(&headline(i)));
            exit::OK
        }
        IncidentCommand::Postmortem { id } => {
            let pm = ctx.paaf.team_postmortem(id).await?;
            ctx.emit(&pm, |p| output::text(&p.markdown));
            exit::OK
        }
        IncidentCommand::Deliveries { id, failed } => {
            let list = ctx.paaf.deliveries(id, failed)?;
            ctx.emit(&list, |l| render_deliveries(l));
            exit::OK
        }
        IncidentCommand::Resend {
            delivery,
            all_failed: _,
        } => {
            let which = delivery.map_or(ResendWhich::AllFailed, ResendWhich::One);
            let resent = ctx.paaf.resend(which).await?;
            ctx.emit(&resent, render_resent);
            // Still undelivered: its target is not reachable yet (retried with backoff).
            return Ok(match resent.all_sent() {
                true => exit::OK,
                false => exit::code(paaf_core::ErrorCode::Unreachable),
            });
        }
    };
    ctx.deliver_at_exit();
    Ok(code)
}

async fn open(ctx: &Ctx, a: OpenArgs) -> Result<i32, Failure> {
    let mut labels = BTreeMap::new();
    for l in &a.labels {
        let (k, v) = l.split_once('=').ok_or_else(|| Error::InvalidInput {
            message: format!("--label `{l}`: write it KEY=VALUE, e.g. --label instance=web-1"),
        })?;
        labels.insert(k.trim().to_string(), v.trim().to_string());
    }
    let input = IncidentInput {
        title: a.title.unwrap_or_default(),
        severity: a.severity,
        alert: a.alert.map(|name| AlertRef {
            source: a.source,
            name,
            labels,
        }),
        playbook: a.playbook,
        alongside: a.alongside,
    };
    let incident = ctx.paaf.open_incident(&input).await?;
    ctx.emit(&incident, |i| {
        output::line(&format!("opened {}", headline(i)));
        if let Some(p) = &i.playbook {
            output::line(&format!(
                "playbook {p}: see its steps with `paaf incident protect --plan`"
            ));
        }
    });
    Ok(exit::OK)
}

/// Shows the plan, asks once, runs it with a line per step, prints the report.
async fn run(
    ctx: &Ctx,
    plan: RunPlan,
    plan_only: bool,
    typed: Option<String>,
) -> Result<i32, Failure> {
    if plan_only {
        ctx.emit(&plan, |p| {
            render_plan(p);
            output::summary("Dry run: nothing was run, nothing journaled.");
        });
        return Ok(exit::OK);
    }
    ctx.human(|| render_plan(&plan));
    let to_run = plan.to_run().count();
    let confirm = match &plan.typed_confirmation {
        Some(expected) => ctx.confirm_typed(
            typed,
            &format!("{} with dangerous runbooks", plan.run.as_str()),
            expected,
        )?,
        None => ctx.confirm(&format!(
            "Run {} of incident #{}: {to_run} step(s)?",
            plan.run.as_str(),
            plan.incident_id
        ))?,
    };
    let json = ctx.is_json();
    let sink = Arc::new(move |e: StepEvent| {
        if !json {
            step_line(&e)
        }
    });
    let cancel = cancel_on_ctrl_c();
    let report = match plan.run {
        paaf_core::incident::steps::RunKind::Protect => {
            ctx.paaf.protect(&plan, &confirm, sink, cancel).await?
        }
        paaf_core::incident::steps::RunKind::StandDown => {
            ctx.paaf.stand_down(&plan, &confirm, sink, cancel).await?
        }
    };
    ctx.emit(&report, render_report);
    Ok(report_code(&report))
}

/// 0 when no step failed; else the exit code of the first failure's error (13 for an
/// unknown outcome).
fn report_code(report: &RunReport) -> i32 {
    match report.steps.iter().find(|s| s.status.is_failure()) {
        None => exit::OK,
        Some(s) if s.status == StepStatus::Unknown => {
            exit::code(paaf_core::ErrorCode::OutcomeUnknown)
        }
        Some(s) => s
            .error
            .as_ref()
            .map(|e| exit::code(e.code))
            .unwrap_or(exit::code(paaf_core::ErrorCode::Other)),
    }
}

/// Sends the incident's notifications and annotations due now; what fails is said, and
/// retried later.
pub(crate) async fn deliver(ctx: &Ctx) {
    let round = ctx.paaf.deliver_now().await;
    for e in &round.errors {
        ctx.note(&format!("delivery failed: {e}"));
    }
}

fn headline(i: &Incident) -> String {
    format!(
        "incident #{} {} ({}) — {}",
        i.id, i.title, i.severity, i.phase
    )
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn render_list(list: &[Incident]) {
    if list.is_empty() {
        output::summary("No incidents: open one with `paaf incident open`.");
        return;
    }
    let mut t = Table::new(&["ID", "OPENED", "SEVERITY", "PHASE", "TITLE", "PLAYBOOK"])
        .whole(&["OPENED"])
        .wide_only(&["PLAYBOOK"]);
    for i in list {
        t.row([
            Cell::from(i.id.to_string()),
            Cell::from(when(i.opened_at)),
            Cell::new(
                i.severity.to_string(),
                match i.severity {
                    Severity::Sev1 | Severity::Sev2 => Tone::Bad,
                    _ => Tone::Warn,
                },
            ),
            Cell::new(i.phase.to_string(), phase_tone(i.phase)),
            Cell::from(i.title.clone()),
            Cell::from(i.playbook.clone().unwrap_or_default()),
        ]);
    }
    t.print();
}

/// Resolved and protected read well; the phases on the way, pending.
fn phase_tone(phase: IncidentPhase) -> Tone {
    match phase {
        IncidentPhase::Protected | IncidentPhase::Resolved => Tone::Good,
        _ => Tone::Warn,
    }
}

/// A step's ending in colour: failed or unknown is bad, not run or unverified pending.
fn status_tone(status: StepStatus) -> Tone {
    match status {
        StepStatus::Succeeded => Tone::Good,
        StepStatus::Failed | StepStatus::Unknown => Tone::Bad,
        StepStatus::Unverified | StepStatus::Skipped | StepStatus::NotRun => Tone::Warn,
    }
}

fn render_detail(d: &IncidentDetail) {
    let i = &d.incident;
    output::line(&headline(i));
    output::line(&format!(
        "opened {} by {} via {} on {}{}",
        when(i.opened_at),
        i.operator,
        i.frontend,
        i.device,
        i.resolved_at
            .map(|t| format!(", resolved {}", when(t)))
            .unwrap_or_default()
    ));
    if let Some(a) = &i.alert {
        output::line(&format!("alert: {} from {}", a.name, a.source));
    }
    if let Some(p) = &i.playbook {
        output::line(&format!("playbook: {p}"));
    }
    let mut t = Table::new(&["WHEN", "WHAT", "TARGET", "RESULT", "WHO"]);
    for e in &d.events {
        t.row([
            when(e.at),
            match e.phase {
                Some(p) => format!("phase {p}"),
                None => e.kind.as_str().to_string(),
            },
            String::new(),
            e.text.clone(),
            format!("{} ({}@{})", e.operator, e.frontend, e.device),
        ]);
    }
    for a in &d.actions {
        t.row([
            when(a.created_at),
            format!("#{} {}", a.id, a.kind),
            a.target.clone(),
            format!(
                "{}{}",
                a.state.as_str(),
                a.result
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            format!("{} ({}@{})", a.operator, a.frontend, a.device),
        ]);
    }
    t.print();
    if !d.deliveries.is_empty() {
        let mut t = Table::new(&["DELIVERY", "TO", "EVENT", "STATE", "ATTEMPTS", "LAST ERROR"]);
        for x in &d.deliveries {
            t.row([
                x.id.to_string(),
                x.channel.clone(),
                x.event.clone(),
                format!("{:?}", x.state).to_lowercase(),
                x.attempts.to_string(),
                x.last_error.clone().unwrap_or_default(),
            ]);
        }
        t.print();
    }
}

/// An incident with its team timeline (`show --team`).
#[derive(serde::Serialize)]
struct WithTeam {
    #[serde(flatten)]
    detail: IncidentDetail,
    team: TeamTimeline,
}

fn render_team(team: &TeamTimeline) {
    output::line(&match (team.source, &team.incident_key, &team.relay) {
        (TeamSource::Relay, Some(key), Some(relay)) => {
            format!("team timeline of {key}, merged by {relay}:")
        }
        (TeamSource::LocalOnly, _, relay) => format!(
            "team timeline: the relay {} could not be reached, this device's rows only:",
            relay.as_deref().unwrap_or_default()
        ),
        _ => "team timeline: this incident is not shared (`paaf incident share`), this device's rows only:".into(),
    });
    if let Some(error) = &team.error {
        output::note(error);
    }
    let mut t = Table::new(&["WHEN", "WHAT", "TARGET", "RESULT", "WHO", "DEVICE"]);
    for r in &team.rows {
        t.row([
            when(r.started_at),
            format!("#{} {}", r.row_id, r.kind),
            r.target.clone(),
            format!(
                "{}{}",
                r.state,
                r.result
                    .as_ref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default()
            ),
            format!("{} ({})", r.operator, r.frontend),
            format!("{} ({})", r.device, r.device_id),
        ]);
    }
    t.print();
}

fn render_deliveries(list: &[Delivery]) {
    if list.is_empty() {
        output::summary("No deliveries.");
        return;
    }
    let mut t = Table::new(&[
        "DELIVERY",
        "INCIDENT",
        "TO",
        "EVENT",
        "STATE",
        "ATTEMPTS",
        "LAST ERROR",
    ]);
    for x in list {
        t.row([
            Cell::from(x.id.to_string()),
            Cell::from(x.incident_id.to_string()),
            Cell::from(x.channel.clone()),
            Cell::from(x.event.clone()),
            Cell::new(
                format!("{:?}", x.state).to_lowercase(),
                match x.state {
                    DeliveryState::Sent => Tone::Good,
                    DeliveryState::Pending => Tone::Warn,
                    DeliveryState::Failed => Tone::Bad,
                },
            ),
            Cell::from(x.attempts.to_string()),
            Cell::from(x.last_error.clone().unwrap_or_default()),
        ]);
    }
    t.print();
    if list.iter().any(|d| d.state == DeliveryState::Failed) {
        output::summary("Send the given-up ones again with `paaf incident resend --all-failed`.");
    }
}

fn render_resent(resent: &Resent) {
    if resent.deliveries.is_empty() {
        output::summary("No delivery was given up: nothing to resend.");
        return;
    }
    render_deliveries(&resent.deliveries);
    for e in &resent.round.errors {
        output::line(&format!("delivery failed: {e}"));
    }
}

fn render_look(look: &IncidentLook) {
    if look.dashboards.is_empty() && look.queries.is_empty() {
        output::line(&format!(
            "incident #{}: its playbook names no dashboards or queries",
            look.incident_id
        ));
        return;
    }
    for d in &look.dashboards {
        output::line(&match d.panel_id {
            Some(p) => format!("{} panel {p}: {}", d.uid, d.url),
            None => format!("{}: {}", d.uid, d.url),
        });
    }
    let mut t = Table::new(&["QUERY", "SERIES", "VALUE", "THRESHOLD", ""]);
    for q in &look.queries {
        let threshold = [
            q.above.map(|a| format!("> {a}")),
            q.below.map(|b| format!("< {b}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" or ");
        let flag = |trouble: bool| if trouble { "TROUBLE" } else { "ok" }.to_string();
        match (&q.error, q.values.as_slice()) {
            (Some(e), _) => t.row([
                q.expr.clone(),
                String::new(),
                format!("error: {}", e.message),
                threshold,
                flag(true),
            ]),
            (None, []) => t.row([
                q.expr.clone(),
                String::new(),
                "no data".into(),
                threshold,
                flag(true),
            ]),
            (None, values) => {
                for v in values {
                    t.row([
                        q.expr.clone(),
                        v.series.clone(),
                        v.value
                            .map(|x| x.to_string())
                            .unwrap_or_else(|| "null".into()),
                        threshold.clone(),
                        flag(v.trouble),
                    ]);
                }
            }
        }
    }
    if !look.queries.is_empty() {
        t.print();
    }
}

fn render_plan(plan: &RunPlan) {
    output::line(&format!(
        "{} of incident #{}{}:",
        plan.run.as_str(),
        plan.incident_id,
        plan.playbook
            .as_ref()
            .map(|p| format!(" (playbook {p})"))
            .unwrap_or_default()
    ));
    if plan.steps.is_empty() {
        output::line("  nothing to do");
        return;
    }
    let mut t = Table::new(&["#", "STEP", "NOW", "WILL", "HOW"]);
    for s in &plan.steps {
        let will = match &s.status {
            PlanStatus::ToRun => "run".to_string(),
            PlanStatus::Done { action_id } => format!("skip: done by action {action_id}"),
            PlanStatus::AlreadyAsWanted => "skip: already so".into(),
            PlanStatus::OutcomeUnknown { action_id } => {
                format!("skip: action {action_id} outcome unknown, check it")
            }
            PlanStatus::Impossible { reason } => format!("cannot: {reason}"),
        };
        let how = [
            s.parallel.then_some("parallel"),
            s.continue_on_failure.then_some("continues on failure"),
            s.typed_confirmation.as_ref().map(|_| "DANGEROUS"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        t.row([
            (s.index + 1).to_string(),
            s.description.clone(),
            match &s.error {
                Some(e) => format!("{} ({})", s.state_now, e.message),
                None => s.state_now.clone(),
            },
            will,
            how,
        ]);
    }
    t.print();
}

/// One line per step event, on stderr.
fn step_line(e: &StepEvent) {
    let at = format!("{:>6.1}s", e.elapsed_ms as f64 / 1000.0);
    let n = e.index + 1;
    match &e.update {
        StepUpdate::Started { description } => output::note(&format!("{at} [{n}] {description}")),
        StepUpdate::Progress { detail, .. } => output::note(&format!("{at} [{n}]   {detail}")),
        StepUpdate::Finished { outcome } => output::note(&format!(
            "{at} [{n}] {:?}: {}",
            outcome.status, outcome.message
        )),
    }
}

fn render_report(r: &RunReport) {
    let mut t = Table::new(&[
        "#", "STEP", "RESULT", "ACTION", "TOOK", "DETAIL", "EVIDENCE",
    ])
    .wide_only(&["ACTION"]);
    for s in &r.steps {
        t.row([
            Cell::from((s.index + 1).to_string()),
            Cell::from(s.description.clone()),
            Cell::new(
                format!("{:?}", s.status).to_lowercase(),
                status_tone(s.status),
            ),
            Cell::from(s.action_id.map(|a| a.to_string()).unwrap_or_default()),
            Cell::from(format!("{:.1}s", s.duration_ms as f64 / 1000.0)),
            Cell::from(s.message.clone()),
            match (&s.evidence, s.status) {
                (Some(e), _) => Cell::from(e.clone()),
                (None, StepStatus::Succeeded | StepStatus::Unverified) => {
                    Cell::new("unverified", Tone::Warn)
                }
                (None, _) => Cell::from(""),
            },
        ]);
    }
    t.print();
    output::summary(&format!(
        "{} in {:.1}s",
        r.summary(),
        r.elapsed_ms as f64 / 1000.0
    ));
}
