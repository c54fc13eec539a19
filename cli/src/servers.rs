//! `paaf servers`, `paaf server reboot|stop|start`: the cloud commands and their output.

use crate::commands::Ctx;
use crate::render::{self, table};
use crate::{exit, prompt};
use clap::{Args, Subcommand};
use paaf_core::cloud::{Inventory, PowerAction, Server};
use paaf_core::{CancellationToken, Result};

#[derive(Args)]
pub struct ServersArgs {
    /// Part of the name, id, region, state, an IP or a tag value
    pub query: Option<String>,
    /// Only this account (a [[clouds]] name)
    #[arg(long)]
    pub account: Option<String>,
}

#[derive(Args)]
pub struct Which {
    /// The server's id (i-0abc…) or its Name tag
    pub server: String,
    /// The account (a [[clouds]] name), when several have a server by that name
    #[arg(long)]
    pub account: Option<String>,
}

#[derive(Subcommand)]
pub enum ServerCommand {
    /// Reboot through the provider's API, then wait until it reports running
    Reboot(Which),
    /// Stop, then wait until it reports stopped
    Stop(Which),
    /// Start, then wait until it reports running
    Start(Which),
}

pub async fn list(ctx: &Ctx, a: ServersArgs) -> Result<i32> {
    let mut inventory = ctx.paaf.servers(a.account.as_deref()).await?;
    if let Some(q) = a.query.as_deref().map(str::to_lowercase) {
        inventory.servers.retain(|s| matches(s, &q));
    }
    if ctx.json {
        render::json(&inventory);
    } else {
        render_inventory(&inventory);
    }
    Ok(exit::OK)
}

fn matches(s: &Server, q: &str) -> bool {
    let fields = [
        Some(s.id.as_str()),
        s.name.as_deref(),
        Some(s.region.as_str()),
        Some(s.raw_state.as_str()),
        Some(s.account.as_str()),
    ];
    fields
        .iter()
        .flatten()
        .any(|f| f.to_lowercase().contains(q))
        || s.public_ips
            .iter()
            .chain(&s.private_ips)
            .any(|ip| ip.contains(q))
        || s.tags.values().any(|v| v.to_lowercase().contains(q))
}

fn render_inventory(inv: &Inventory) {
    if inv.servers.is_empty() && inv.errors.is_empty() {
        println!(
            "No servers. Add a cloud account as a [[clouds]] entry (see the README's Config section)."
        );
        return;
    }
    let mut t = table(&["NAME", "ID", "ACCOUNT", "REGION", "STATUS", "IPS"]);
    for e in &inv.errors {
        t.add_row(vec![
            "—".into(),
            String::new(),
            e.account.clone(),
            e.region.clone().unwrap_or_default(),
            format!("error[{}]", e.error.code.as_str()),
            e.error.message.clone(),
        ]);
    }
    for s in &inv.servers {
        t.add_row(vec![
            s.name.clone().unwrap_or_default(),
            s.id.clone(),
            s.account.clone(),
            s.region.clone(),
            format!("{} ({})", s.status, s.raw_state),
            s.public_ips
                .iter()
                .chain(&s.private_ips)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    println!("{t}");
    println!("{} servers", inv.servers.len());
}

pub async fn power(ctx: &Ctx, command: ServerCommand) -> Result<i32> {
    let (action, which) = match command {
        ServerCommand::Reboot(w) => (PowerAction::Reboot, w),
        ServerCommand::Stop(w) => (PowerAction::Stop, w),
        ServerCommand::Start(w) => (PowerAction::Start, w),
    };
    let confirm = prompt::confirm(
        ctx.yes,
        &format!("{} {} now?", action.as_str(), which.server),
    );
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let json = ctx.json;
    let mut last = String::new();
    let outcome = ctx
        .paaf
        .server_power(
            which.account.as_deref(),
            &which.server,
            action,
            &confirm,
            cancel,
            |p| {
                let s = &p.server;
                if !json && s.raw_state != last {
                    eprintln!("  {}: {}", s.id, s.raw_state);
                    last = s.raw_state.clone();
                }
            },
        )
        .await?;
    if json {
        render::json(&outcome);
    } else {
        println!(
            "{} {}: {} after {:.1}s",
            action.as_str(),
            outcome.server.name.as_deref().unwrap_or(&outcome.server.id),
            outcome.server.raw_state,
            outcome.elapsed_ms as f64 / 1000.0
        );
    }
    Ok(exit::OK)
}
