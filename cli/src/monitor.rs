//! `paaf alert list`, `paaf silence …`, `paaf query`, `paaf targets`, `paaf dashboard …`: the monitoring commands, their
//! arguments, and their text output (tables, sparklines with stats).

use crate::ctx::{Ctx, Outcome, WatchArg};
use crate::hosts::DryRun;
use crate::output::Tone;
use crate::output::{self, Cell, Table};
use crate::{exit, render};
use clap::{Args, Subcommand};
use paaf_core::monitor::alert_list::SourceAlerts;
use paaf_core::monitor::alertmanager::Silence;
use paaf_core::monitor::dashboard::parse_interval;
use paaf_core::monitor::grafana::{Dashboard, DashboardHit, PanelData, PanelImage, SearchQuery};
use paaf_core::monitor::prometheus::{QueryResult, Target};
use paaf_core::monitor::{Series, stats};
use paaf_core::{AnnotationInput, DashboardView, Error, Result, TimeWindow};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct SourceArg {
    /// The monitoring source (a [[monitoring]] name); needed when several could answer
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
}

#[derive(Subcommand)]
pub enum AlertCommand {
    /// Firing alerts of every monitoring source (Prometheus, Grafana, Alertmanager)
    #[command(visible_alias = "ls")]
    List(AlertsArgs),
}

#[derive(Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub source: SourceArg,
    #[command(flatten)]
    pub watch: WatchArg,
}

#[derive(Subcommand)]
pub enum SilenceCommand {
    /// Silence the alerts matching every MATCHER (`alertname=X`, `job=~"api.*"`, `env!=dev`)
    Add {
        #[arg(required = true, value_name = "MATCHER")]
        matchers: Vec<String>,
        /// How long, e.g. 30m, 2h, 1d
        #[arg(long = "for", value_name = "DURATION", default_value = "1h")]
        duration: String,
        /// Why (shown to everyone on call)
        #[arg(
            long,
            short = 'm',
            default_value = "silenced from paaf during an incident"
        )]
        comment: String,
        #[command(flatten)]
        source: SourceArg,
        #[command(flatten)]
        dry_run: DryRun,
    },
    /// List the silences, newest first
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        source: SourceArg,
    },
    /// End a silence now
    Expire {
        /// The silence's id (from `paaf silence list`)
        id: String,
        #[command(flatten)]
        source: SourceArg,
        #[command(flatten)]
        dry_run: DryRun,
    },
}

#[derive(Args)]
pub struct QueryArgs {
    /// A PromQL expression, e.g. `rate(http_requests_total[5m])`
    pub expr: String,
    /// Start of the range (Grafana syntax: now-1h, now-1d/d, epoch ms, RFC 3339)
    #[arg(long, default_value = "now-1h")]
    pub from: String,
    /// End of the range (same syntax)
    #[arg(long, default_value = "now")]
    pub to: String,
    /// The value now only, no range
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub instant: bool,
    /// Points per series (the chart's width)
    #[arg(long, default_value_t = 60)]
    pub width: u32,
    #[command(flatten)]
    pub source: SourceArg,
}

/// `paaf dashboard list|show`, and `paaf dashboard UID` of old.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct DashboardArgs {
    #[command(subcommand)]
    pub command: Option<DashboardCommand>,
    #[command(flatten)]
    pub show: ShowArgs,
}

#[derive(Subcommand)]
pub enum DashboardCommand {
    /// Search the dashboards of a Grafana source
    #[command(visible_alias = "ls")]
    List(DashboardsArgs),
    /// One dashboard: its variables and panels (collapsed rows included)
    Show(ShowArgs),
}

#[derive(Args)]
pub struct ShowArgs {
    /// The dashboard's UID (from `paaf dashboard list`)
    #[arg(required = true)]
    pub uid: Option<String>,
    #[command(flatten)]
    pub view: ViewArgs,
    #[command(flatten)]
    pub source: SourceArg,
}

#[derive(Args)]
pub struct DashboardsArgs {
    /// Words in the title
    pub query: Option<String>,
    /// Only dashboards with this tag (repeat for several)
    #[arg(long)]
    pub tag: Vec<String>,
    /// Only the dashboards the token's user starred
    #[arg(long)]
    pub starred: bool,
    /// Only dashboards in this folder (by UID; repeatable)
    #[arg(long, value_name = "UID")]
    pub folder: Vec<String>,
    /// At most this many dashboards
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    #[command(flatten)]
    pub source: SourceArg,
}

/// The time range and variables of a dashboard view.
#[derive(Args)]
pub struct ViewArgs {
    /// Start of the range (Grafana syntax: now-6h, now-1d/d, epoch ms, RFC 3339); the
    /// dashboard's own when not given
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range (same syntax); now when only --from is given
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// A template variable's value, NAME=VALUE (repeat for several values or variables)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

impl ViewArgs {
    fn view(&self) -> Result<DashboardView> {
        let mut variables: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for v in &self.vars {
            let (name, value) = v.split_once('=').ok_or_else(|| Error::InvalidInput {
                message: format!(
                    "--var `{v}`: write it NAME=VALUE, e.g. --var instance=web-1:9100"
                ),
            })?;
            variables
                .entry(name.trim().to_string())
                .or_default()
                .push(value.to_string());
        }
        Ok(DashboardView {
            window: self.from.as_ref().map(|from| TimeWindow {
                from: from.clone(),
                to: self.to.clone().unwrap_or_else(|| "now".into()),
            }),
            variables,
        })
    }
}

#[derive(Args)]
pub struct PanelArgs {
    /// The dashboard's UID (from `paaf dashboard list`)
    pub uid: String,
    /// The panel's id (from `paaf dashboard show UID`)
    pub panel: i64,
    #[command(flatten)]
    pub view: ViewArgs,
    /// Points per series (the chart's width)
    #[arg(long, default_value_t = 60)]
    pub width: u32,
    /// Save Grafana's PNG rendering of the panel here instead (needs its image renderer)
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArg,
}

#[derive(Args)]
pub struct AnnotateArgs {
    /// What happened, e.g. "web-2 rebooted by alice via paaf"
    pub text: String,
    /// On this dashboard (UID); org-wide otherwise
    #[arg(long, value_name = "UID")]
    pub dashboard: Option<String>,
    /// On this panel of the dashboard
    #[arg(long, requires = "dashboard", value_name = "ID")]
    pub panel: Option<i64>,
    /// A tag (repeat for several)
    #[arg(long)]
    pub tag: Vec<String>,
    #[command(flatten)]
    pub source: SourceArg,
}

pub async fn dashboard(ctx: &Ctx, a: DashboardArgs) -> Outcome {
    match a.command {
        Some(DashboardCommand::List(args)) => dashboards(ctx, args).await,
        Some(DashboardCommand::Show(show)) => show_dashboard(ctx, show).await,
        None => show_dashboard(ctx, a.show).await,
    }
}

pub async fn dashboards(ctx: &Ctx, a: DashboardsArgs) -> Outcome {
    let query = SearchQuery {
        query: a.query,
        tags: a.tag,
        starred: a.starred,
        folder_uids: a.folder,
        limit: Some(a.limit),
        page: None,
    };
    let hits = ctx
        .paaf
        .dashboards(a.source.source.as_deref(), &query)
        .await?;
    ctx.emit(&hits, |v| render_hits(v));
    Ok(exit::OK)
}

fn render_hits(hits: &[DashboardHit]) {
    if hits.is_empty() {
        output::summary("No dashboards found.");
        return;
    }
    let mut t = Table::new(&["UID", "TITLE", "FOLDER", "TAGS", "★"]);
    for h in hits {
        t.row([
            h.uid.clone(),
            h.title.clone(),
            h.folder_title.clone().unwrap_or_default(),
            h.tags.join(", "),
            if h.starred {
                "★".into()
            } else {
                String::new()
            },
        ]);
    }
    t.print();
}

async fn show_dashboard(ctx: &Ctx, a: ShowArgs) -> Outcome {
    let uid = a.uid.unwrap_or_default();
    let d = ctx
        .paaf
        .dashboard(a.source.source.as_deref(), &uid, &a.view.view()?)
        .await?;
    ctx.emit(&d, render_dashboard);
    Ok(exit::OK)
}

fn render_dashboard(d: &Dashboard) {
    output::line(&format!("{} ({})", d.title, d.uid));
    if !d.variables.is_empty() {
        let mut t = Table::new(&["VARIABLE", "VALUE", "NOTE"]);
        for v in &d.variables {
            t.row([
                v.name.clone(),
                if v.is_all {
                    "All".into()
                } else {
                    v.values.join(", ")
                },
                v.warning.clone().unwrap_or_default(),
            ]);
        }
        t.print();
    }
    let mut t = Table::new(&["PANEL", "TITLE", "TYPE", "ROW", "QUERIES"]);
    for p in &d.panels {
        t.row([
            p.id.to_string(),
            p.title.clone(),
            p.kind.clone(),
            p.row.clone().unwrap_or_default(),
            p.targets.len().to_string(),
        ]);
    }
    t.print();
}

pub async fn panel(ctx: &Ctx, a: PanelArgs) -> Outcome {
    let view = a.view.view()?;
    let source = a.source.source.as_deref();
    if let Some(file) = &a.png {
        let image = ctx
            .paaf
            .render_panel(source, &a.uid, a.panel, &view, (1000, 500))
            .await?;
        return match image {
            PanelImage::Png { bytes, .. } => {
                std::fs::write(file, bytes).map_err(|e| Error::InvalidInput {
                    message: format!("cannot write {}: {e}", file.display()),
                })?;
                ctx.done(&format!("saved {}", file.display()))
            }
            PanelImage::NoRenderer { message, .. } => Err(Error::InvalidInput {
                message: format!(
                    "{message}; run the command without --png to see the panel's data instead"
                ),
            }
            .into()),
        };
    }
    let data = ctx
        .paaf
        .panel_data(source, &a.uid, a.panel, &view, a.width)
        .await?;
    ctx.emit(&data, |v| render_panel(v, a.width as usize));
    Ok(if data.series.is_empty() && !data.errors.is_empty() {
        exit::code(paaf_core::ErrorCode::ServiceFailed)
    } else {
        exit::OK
    })
}

fn render_panel(data: &PanelData, width: usize) {
    let mut t = Table::new(&["SERIES", "CHART", "MIN", "MAX", "MEAN", "LAST"]);
    for s in &data.series {
        let unit = s.series.unit.as_deref().unwrap_or("");
        let with_unit =
            |v| format!("{}{}", number(v), if unit.is_empty() { "" } else { " " }) + unit;
        t.row([
            s.series.name.clone(),
            sparkline(&s.series, width),
            with_unit(s.stats.min),
            with_unit(s.stats.max),
            with_unit(s.stats.mean),
            with_unit(s.stats.last),
        ]);
    }
    if data.series.is_empty() {
        output::line("No data.");
    } else {
        t.print();
    }
    for e in &data.errors {
        output::note(&format!("query {} failed: {}", e.ref_id, e.message));
    }
}

pub async fn annotate(ctx: &Ctx, a: AnnotateArgs) -> Outcome {
    let input = AnnotationInput {
        text: a.text,
        tags: a.tag,
        dashboard_uid: a.dashboard,
        panel_id: a.panel,
    };
    let id = ctx
        .paaf
        .annotate(a.source.source.as_deref(), &input)
        .await?;
    ctx.emit(&serde_json::json!({ "annotation_id": id }), |_| {
        output::line(&format!("annotation {id} written"))
    });
    Ok(exit::OK)
}

pub async fn alert(ctx: &Ctx, command: AlertCommand) -> Outcome {
    match command {
        AlertCommand::List(args) => alerts(ctx, args).await,
    }
}

pub async fn alerts(ctx: &Ctx, a: AlertsArgs) -> Outcome {
    ctx.watching(a.watch, || async {
        let sources = ctx.paaf.alerts(a.source.source.as_deref()).await?;
        ctx.emit(&sources, |v| render_alerts(v));
        Ok(alerts_exit(&sources))
    })
    .await
}

/// Like `flag list` and `server list`: none configured is a hint, not an error; every source
/// failing is (the first one's code), some failing is not (their rows say it).
fn alerts_exit(sources: &[SourceAlerts]) -> i32 {
    match sources
        .iter()
        .map(|s| s.error.as_ref())
        .collect::<Option<Vec<_>>>()
    {
        Some(errors) if !errors.is_empty() => exit::code(errors[0].code),
        _ => exit::OK,
    }
}

fn render_alerts(sources: &[SourceAlerts]) {
    if sources.is_empty() {
        output::summary(
            "No monitoring source is configured. Add one to the config, e.g.\n  [[monitoring]]\n  name = \"prom\"\n  type = \"prometheus\"\n  url = \"http://prometheus.internal:9090\"",
        );
        return;
    }
    let mut t = Table::new(&["SOURCE", "ALERT", "STATE", "SEVERITY", "SINCE", "SUMMARY"])
        .name_column("ALERT");
    let mut rows = 0;
    for s in sources {
        if let Some(e) = &s.error {
            t.row([
                Cell::from(s.source.clone()),
                Cell::from("—"),
                Cell::new(format!("error[{}]", e.code.as_str()), Tone::Bad),
                Cell::from(""),
                Cell::from(""),
                Cell::from(e.message.clone()),
            ]);
            rows += 1;
        }
        for a in &s.alerts {
            let tone = match a.state.as_str() {
                "firing" => Tone::Bad,
                "pending" | "silenced" | "suppressed" | "inhibited" => Tone::Warn,
                _ => Tone::Plain,
            };
            t.row([
                Cell::from(a.source.clone()),
                Cell::from(a.name.clone()),
                Cell::new(a.state.clone(), tone),
                Cell::from(a.severity.clone().unwrap_or_default()),
                Cell::from(a.since_ms.map(render::ago_ms).unwrap_or_default()),
                Cell::from(a.summary.clone().unwrap_or_default()),
            ]);
            rows += 1;
        }
    }
    if rows == 0 {
        output::summary("No alerts firing.");
    } else {
        t.print();
    }
}

pub async fn silence(ctx: &Ctx, command: SilenceCommand) -> Outcome {
    match command {
        SilenceCommand::Add {
            matchers,
            duration,
            comment,
            source,
            dry_run,
        } => {
            let length = parse_interval(&duration)
                .filter(|ms| *ms > 0)
                .map(|ms| Duration::from_millis(ms as u64))
                .ok_or_else(|| Error::InvalidInput {
                    message: format!("`{duration}` is not a duration: write it like 30m, 2h or 1d"),
                })?;
            if dry_run.dry_run {
                let plan = ctx
                    .paaf
                    .plan_silence(source.source.as_deref(), &matchers, length)?;
                return ctx.plan(&plan);
            }
            let id = ctx
                .paaf
                .silence(source.source.as_deref(), &matchers, length, &comment)
                .await?;
            ctx.emit(&serde_json::json!({ "silence_id": id }), |_| {
                output::line(&format!(
                    "silenced {} for {duration}: silence {id} (end it with `paaf silence expire {id}`)",
                    matchers.join(" ")
                ))
            });
            Ok(exit::OK)
        }
        SilenceCommand::List { source } => {
            let silences = ctx.paaf.silences(source.source.as_deref()).await?;
            ctx.emit(&silences, |v| render_silences(v));
            Ok(exit::OK)
        }
        SilenceCommand::Expire {
            id,
            source,
            dry_run,
        } => {
            if dry_run.dry_run {
                return ctx.plan(
                    &ctx.paaf
                        .plan_expire_silence(source.source.as_deref(), &id)?,
                );
            }
            ctx.paaf
                .expire_silence(source.source.as_deref(), &id)
                .await?;
            ctx.done(&format!("silence {id} expired"))
        }
    }
}

fn render_silences(silences: &[Silence]) {
    if silences.is_empty() {
        output::summary("No silences.");
        return;
    }
    let mut t = Table::new(&["ID", "STATE", "MATCHERS", "ENDS", "BY", "COMMENT"]);
    for s in silences {
        t.row([
            s.id.clone(),
            format!("{:?}", s.state).to_lowercase(),
            s.matchers
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            s.ends_at_ms.map(local_time).unwrap_or_default(),
            s.created_by.clone(),
            s.comment.clone(),
        ]);
    }
    t.print();
}

pub async fn query(ctx: &Ctx, args: QueryArgs) -> Outcome {
    let window = (!args.instant).then(|| TimeWindow {
        from: args.from.clone(),
        to: args.to.clone(),
    });
    let result = ctx
        .paaf
        .query(
            args.source.source.as_deref(),
            &args.expr,
            window.as_ref(),
            args.width,
        )
        .await?;
    ctx.emit(&result, |v| render_query(v, args.width as usize));
    Ok(exit::OK)
}

fn render_query(result: &QueryResult, width: usize) {
    for w in &result.warnings {
        output::note(&format!("warning: {w}"));
    }
    if let Some(sample) = &result.text {
        output::line(&sample.text);
        return;
    }
    if result.series.is_empty() {
        output::line("No data.");
        return;
    }
    let mut t = Table::new(&["SERIES", "CHART", "MIN", "MAX", "MEAN", "LAST"]);
    for s in &result.series {
        let st = stats(&s.values);
        t.row([
            s.name.clone(),
            sparkline(s, width),
            number(st.min),
            number(st.max),
            number(st.mean),
            number(st.last),
        ]);
    }
    t.print();
}

/// One character per point, ▁ (the series' minimum) to █ (its maximum); a gap is a space.
/// Hand-written: eight block characters need no crate.
pub fn sparkline(series: &Series, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut s = series.clone();
    paaf_core::monitor::downsample(&mut s, width.max(1));
    let st = stats(&s.values);
    let (Some(min), Some(max)) = (st.min, st.max) else {
        return String::new();
    };
    s.values
        .iter()
        .map(|v| match v {
            Some(v) if v.is_finite() => {
                let level = if max > min {
                    ((v - min) / (max - min) * 7.0).round() as usize
                } else {
                    3
                };
                BARS[level.min(7)]
            }
            _ => ' ',
        })
        .collect()
}

fn number(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) => format!("{v:.3e}"),
        Some(v) => {
            let text = format!("{v:.3}");
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

pub async fn targets(ctx: &Ctx, source: SourceArg) -> Outcome {
    let targets = ctx.paaf.targets(source.source.as_deref()).await?;
    ctx.emit(&targets, |v| render_targets(v));
    Ok(exit::OK)
}

fn render_targets(targets: &[Target]) {
    let mut t = Table::new(&["JOB", "INSTANCE", "HEALTH", "LAST SCRAPE", "ERROR"]);
    for target in targets {
        t.row([
            target.job.clone(),
            target.instance.clone(),
            format!("{:?}", target.health).to_lowercase(),
            target
                .last_scrape_ms
                .map(render::ago_ms)
                .unwrap_or_default(),
            target.last_error.clone().unwrap_or_default(),
        ]);
    }
    t.print();
}

fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M%:z")
                .to_string()
        })
        .unwrap_or_default()
}
