//! `paaf server list|reboot|stop|start|rolling-reboot` (`paaf servers` of old): the cloud
//! commands and their output.

use crate::ctx::{Ctx, Outcome, WatchArg, cancel_on_ctrl_c};
use crate::hosts::DryRun;
use crate::output::{self, Cell, Table, Tone};
use crate::{exit, render};
use clap::{Args, Subcommand};
use paaf_core::cloud::health::HealthCheck;
use paaf_core::cloud::{
    Inventory, InventoryError, PollSettings, PowerAction, Server, ServerFilter, ServerMetric,
    ServerStatus,
};
use paaf_core::thresholds::Level;
use paaf_core::{Error, Result, RollingEvent, RollingPlan, RollingReport};
use std::time::Duration;

#[derive(Args)]
pub struct ServersArgs {
    /// Part of the name, id, account, region, state, an IP or a tag
    pub query: Option<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Show the last list at once, with its age, without asking the clouds
    #[arg(long, conflicts_with = "watch")]
    pub cached: bool,
    #[command(flatten)]
    pub watch: WatchArg,
}

#[derive(Args)]
pub struct FilterArgs {
    /// Only this account (a [[clouds]] name)
    #[arg(long)]
    pub account: Option<String>,
    /// Only this provider (aws, gcp, azure, digitalocean, hetzner, ...)
    #[arg(long)]
    pub provider: Option<String>,
    /// Only this region, zone, location or namespace
    #[arg(long)]
    pub region: Option<String>,
    /// Only servers in this state
    #[arg(long, value_parser = parse_status)]
    pub status: Option<ServerStatus>,
    /// Only servers with this tag: KEY=VALUE, or KEY for any value (repeatable: all must match)
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
}

impl FilterArgs {
    fn filter(self, query: Option<String>) -> Result<ServerFilter> {
        Ok(ServerFilter {
            query,
            provider: self.provider,
            account: self.account,
            region: self.region,
            status: self.status,
            tags: self
                .tags
                .iter()
                .map(|t| ServerFilter::parse_tag(t))
                .collect::<Result<_>>()?,
        })
    }
}

fn parse_status(s: &str) -> std::result::Result<ServerStatus, String> {
    serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
        .map_err(|_| "use running, stopped, pending, stopping, terminated or unknown".to_string())
}

#[derive(Args)]
pub struct Which {
    /// The server's id (i-0abc…, a droplet id, deployment/web…) or its name
    pub server: String,
    /// The account (a [[clouds]] name), when several have a server by that name
    #[arg(long)]
    pub account: Option<String>,
    #[command(flatten)]
    pub dry_run: DryRun,
}

#[derive(Args)]
pub struct RebootArgs {
    #[command(flatten)]
    pub which: Which,
    /// A hard reboot (reset, power cycle) where the provider has one, for a hung OS
    #[arg(long)]
    pub hard: bool,
}

#[derive(Args)]
pub struct RollingArgs {
    /// Part of the name, id, region or a tag of the servers to reboot
    pub query: Option<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Servers rebooted at once
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    /// A hard reboot of each (reset) instead of a clean one
    #[arg(long)]
    pub hard: bool,
    /// URL that must answer 2xx before the next batch: the host is fixed or {ip}; {name},
    /// {id}, {region} are filled percent-encoded in the path or query, e.g.
    /// http://{ip}:8080/health?host={name}
    #[arg(long, conflicts_with = "health_cmd")]
    pub health_url: Option<String>,
    /// Command run here (sh -c) that must exit 0 before the next batch, with PAAF_SERVER_IP,
    /// PAAF_SERVER_NAME, PAAF_SERVER_ID, PAAF_SERVER_REGION set; {ip}, {name}, {id}, {region}
    /// become quoted references to them (never pasted in; refused inside single quotes)
    #[arg(long)]
    pub health_cmd: Option<String>,
    /// Seconds a server may take to pass its health check
    #[arg(long, default_value_t = 300)]
    pub health_timeout: u64,
    /// Seconds between two tries of a failing health check
    #[arg(long, default_value_t = 5)]
    pub health_interval: u64,
    #[command(flatten)]
    pub dry_run: DryRun,
    /// Also reboot servers whose reboot paaf cannot prove (not linked to a [[hosts]] entry,
    /// and no operation of their provider proves it): each is watched for a sign of it, then
    /// counts as unverified (exit 14). Without it they are refused
    #[arg(long)]
    pub accept_unverified: bool,
}

#[derive(Subcommand)]
pub enum ServerCommand {
    /// Every server of every cloud account ([[clouds]]), with its state
    #[command(visible_alias = "ls")]
    List(ServersArgs),
    /// Reboot through the provider's API, then wait until it reports running and for proof
    /// of the reboot (else unverified, exit 14)
    Reboot(RebootArgs),
    /// Stop, then wait until it reports stopped
    Stop(Which),
    /// Start, then wait until it reports running
    Start(Which),
    /// Reboot a group N at a time, each running and healthy before the next; stops at the
    /// first failure
    RollingReboot(RollingArgs),
}

pub async fn list(ctx: &Ctx, a: ServersArgs) -> Outcome {
    let filter = a.filter.filter(a.query)?;
    if !a.cached {
        return ctx
            .watching(a.watch, || async {
                let mut inventory = ctx.paaf.servers(filter.account.as_deref()).await?;
                inventory.servers.retain(|s| filter.matches(s));
                ctx.emit(&inventory, render_inventory);
                Ok(exit::OK)
            })
            .await;
    }
    {
        let Some(cached) = ctx.paaf.cached_servers() else {
            return Err(Error::NotFound {
                what: "server cache",
                name: String::new(),
                hint: Some("run `paaf server list` once to fill it".into()),
            }
            .into());
        };
        let servers: Vec<&Server> = cached
            .servers
            .iter()
            .filter(|s| filter.matches(s))
            .collect();
        let document = serde_json::json!({
            "fetched_at_ms": cached.fetched_at_ms,
            "servers": servers,
        });
        ctx.emit(&document, |_| {
            // The count and age first: they show at once, before a long table is laid out.
            output::summary(&format!(
                "{} servers, cached {}",
                servers.len(),
                render::ago_ms(cached.fetched_at_ms)
            ));
            render_servers(&servers, &[]);
        });
    }
    Ok(exit::OK)
}

fn render_inventory(inv: &Inventory) {
    let servers: Vec<&Server> = inv.servers.iter().collect();
    render_servers(&servers, &inv.errors);
    output::summary(&format!("{} servers", inv.servers.len()));
}

fn render_servers(servers: &[&Server], errors: &[InventoryError]) {
    if servers.is_empty() && errors.is_empty() {
        output::summary(
            "No servers. Add a cloud account to the config, e.g.\n  [[clouds]]\n  name = \"prod\"\n  type = \"hetzner\"\n  token = \"keyring:hcloud\"",
        );
        return;
    }
    let mut t = Table::new(&[
        "NAME", "ID", "PROVIDER", "ACCOUNT", "REGION", "STATUS", "IPS", "METRICS",
    ])
    .wide_only(&["PROVIDER", "REGION"])
    .name_column("ID");
    for e in errors {
        t.row([
            Cell::from("—"),
            Cell::from(""),
            Cell::from(e.provider.clone()),
            Cell::from(e.account.clone()),
            Cell::from(e.region.clone().unwrap_or_default()),
            Cell::new(format!("error[{}]", e.error.code.as_str()), Tone::Bad),
            Cell::from(e.error.message.clone()),
            Cell::from(""),
        ]);
    }
    for s in servers {
        let tone = match s.status {
            ServerStatus::Running => Tone::Good,
            ServerStatus::Stopped | ServerStatus::Terminated => Tone::Bad,
            _ => Tone::Warn,
        };
        t.row([
            Cell::from(s.name.clone().unwrap_or_default()),
            Cell::from(s.id.clone()),
            Cell::from(s.provider.clone()),
            Cell::from(s.account.clone()),
            Cell::from(s.region.clone()),
            Cell::new(format!("{} ({})", s.status, s.raw_state), tone),
            Cell::from(
                s.public_ips
                    .iter()
                    .chain(&s.private_ips)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            metrics_cell(&s.metrics),
        ]);
    }
    t.print();
}

/// What a server reports of itself (`CPU 82% RAM 512MB`), coloured by its worst level.
fn metrics_cell(metrics: &[ServerMetric]) -> Cell {
    let text = metrics
        .iter()
        .map(|m| {
            let value = m.value.map_or("-".to_string(), |v| format!("{v}"));
            let label = m.label.as_deref().unwrap_or("?");
            format!("{label} {value}{}", m.unit.as_deref().unwrap_or(""))
        })
        .collect::<Vec<_>>()
        .join(" ");
    let tone = match metrics.iter().map(|m| m.level).max() {
        Some(Level::Danger) => Tone::Bad,
        Some(Level::Warning) => Tone::Warn,
        _ => Tone::Plain,
    };
    Cell::new(text, tone)
}

pub async fn server(ctx: &Ctx, command: ServerCommand) -> Outcome {
    let (action, which) = match command {
        ServerCommand::List(args) => return list(ctx, args).await,
        ServerCommand::Reboot(RebootArgs { which, hard: false }) => (PowerAction::Reboot, which),
        ServerCommand::Reboot(RebootArgs { which, hard: true }) => (PowerAction::HardReboot, which),
        ServerCommand::Stop(w) => (PowerAction::Stop, w),
        ServerCommand::Start(w) => (PowerAction::Start, w),
        ServerCommand::RollingReboot(args) => return rolling(ctx, args).await,
    };
    if which.dry_run.dry_run {
        let plan = ctx
            .paaf
            .plan_server_power(which.account.as_deref(), &which.server, action)
            .await?;
        return ctx.plan(&plan);
    }
    let confirm = ctx.confirm(&format!("{} {} now?", action.as_str(), which.server))?;
    // -o json: one line per state the provider reports, the outcome (or error) last.
    output::stream_documents();
    let mut last = String::new();
    let outcome = ctx
        .paaf
        .server_power(
            which.account.as_deref(),
            &which.server,
            action,
            &confirm,
            cancel_on_ctrl_c(),
            |p| {
                let s = &p.server;
                if s.raw_state != last {
                    if ctx.is_json() {
                        output::event(&serde_json::json!({ "event": p }));
                    }
                    ctx.note(&format!(
                        "{:>6.1}s  {}: {}",
                        p.elapsed_ms as f64 / 1000.0,
                        s.id,
                        s.raw_state
                    ));
                    last = s.raw_state.clone();
                }
            },
        )
        .await?;
    ctx.emit(&outcome, |o| {
        let evidence = o.evidence.as_ref().map(|e| format!(" ({e})"));
        output::line(&format!(
            "{} {}: {} after {:.1}s{}",
            action.as_str(),
            o.server.name.as_deref().unwrap_or(&o.server.id),
            o.server.raw_state,
            o.elapsed_ms as f64 / 1000.0,
            evidence.unwrap_or_default()
        ));
        if let Some(reason) = o.unverified_reason() {
            output::line(&format!("UNVERIFIED: {reason}"));
        }
    });
    Ok(match outcome.evidence {
        Some(_) => exit::OK,
        None => exit::UNVERIFIED,
    })
}

async fn rolling(ctx: &Ctx, a: RollingArgs) -> Outcome {
    let filter = a.filter.filter(a.query)?;
    let plan = RollingPlan {
        batch: a.batch as usize,
        hard: a.hard,
        health: match (a.health_url, a.health_cmd) {
            (Some(url), _) => Some(HealthCheck::Url(url)),
            (None, Some(cmd)) => Some(HealthCheck::Command(cmd)),
            (None, None) => None,
        },
        health_timeout: Duration::from_secs(a.health_timeout),
        health_interval: Duration::from_secs(a.health_interval.max(1)),
        poll: PollSettings::default(),
        accept_unverified: a.accept_unverified,
    };
    // The confirmation names every server: list them first, so the prompt is answerable.
    let selected = ctx.paaf.rolling_selection(&filter, &plan).await?;
    if a.dry_run.dry_run {
        return ctx.plan(&ctx.paaf.plan_rolling(&plan, &selected));
    }
    let names: Vec<&str> = selected
        .iter()
        .map(|s| s.name.as_deref().unwrap_or(&s.id))
        .collect();
    let confirm = ctx.confirm(&format!(
        "rolling {} of {} servers ({}), {} at a time{}?",
        if a.hard { "hard reboot" } else { "reboot" },
        selected.len(),
        names.join(", "),
        plan.batch,
        if plan.health.is_none() {
            ", without a health check"
        } else {
            ""
        }
    ))?;
    output::stream_documents();
    let report = ctx
        .paaf
        .rolling_reboot(&plan, selected, &confirm, cancel_on_ctrl_c(), |event| {
            if ctx.is_json() {
                output::event(&event);
            }
            ctx.note(&match event {
                RollingEvent::Batch {
                    number,
                    of,
                    servers,
                } => format!("batch {number}/{of}: {}", servers.join(", ")),
                RollingEvent::State { server, raw_state } => format!("  {server}: {raw_state}"),
                RollingEvent::Unhealthy { server, reason } => {
                    format!("  {server}: not healthy yet ({reason})")
                }
                RollingEvent::Unverified { server, reason } => {
                    format!("  {server}: UNVERIFIED ({reason})")
                }
                RollingEvent::Healthy { server } => format!("  {server}: healthy"),
            })
        })
        .await?;
    ctx.emit(&report, render_rolling);
    let unverified = report.unverified();
    Ok(match &report.failed {
        None if unverified.is_empty() => exit::OK,
        None => exit::UNVERIFIED,
        Some(f) => exit::code(f.error.code),
    })
}

fn render_rolling(report: &RollingReport) {
    output::line(&format!(
        "{} rebooted and healthy in {:.1}s",
        report.done.len(),
        report.elapsed_ms as f64 / 1000.0
    ));
    if let Some(f) = &report.failed {
        output::line(&format!(
            "stopped at {}: error[{}] {}",
            f.server.name.as_deref().unwrap_or(&f.server.id),
            f.error.code.as_str(),
            f.error.message
        ));
        if !report.not_started.is_empty() {
            output::line(&format!(
                "not started: {}",
                report
                    .not_started
                    .iter()
                    .map(|s| s.name.as_deref().unwrap_or(&s.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let unverified = report.unverified();
    if !unverified.is_empty() {
        output::line(&format!(
            "unverified (no proof they rebooted): {}",
            unverified.join(", ")
        ));
    }
}
