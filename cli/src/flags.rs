//! `paaf flag list|off|on|undo` (`paaf flags` of old): the feature-flag commands, their arguments and output.

use crate::ctx::{Ctx, Failure, Outcome};
use crate::exit;
use crate::hosts::DryRun;
use crate::output::{self, Cell, Table, Tone};
use clap::{Args, Subcommand};
use paaf_core::flags::FlagFilter;
use paaf_core::{BackendFlags, FlagChange, FlagTarget};
use std::io::IsTerminal;

#[derive(Args)]
pub struct FlagsArgs {
    /// Part of the flag's key or name
    pub query: Option<String>,
    /// Only this flag service (a [[flags]] name)
    #[arg(long)]
    pub backend: Option<String>,
    /// Only flags of this project
    #[arg(long)]
    pub project: Option<String>,
    /// Only this environment's state
    #[arg(long)]
    pub env: Option<String>,
    /// Only flags with this tag
    #[arg(long)]
    pub tag: Option<String>,
}

#[derive(Args)]
pub struct FlagWhere {
    /// The flag's key
    pub key: String,
    /// The environment, e.g. production
    #[arg(long)]
    pub env: String,
    /// The project; the service's configured one (Unleash: `default`) when not given
    #[arg(long)]
    pub project: Option<String>,
    /// The flag service (a [[flags]] name); needed when several are configured
    #[arg(long)]
    pub backend: Option<String>,
    #[command(flatten)]
    pub dry_run: DryRun,
}

#[derive(Subcommand)]
pub enum FlagCommand {
    /// Feature flags of every flag service, with their state per environment
    #[command(visible_alias = "ls")]
    List(FlagsArgs),
    /// Turn a flag OFF in one environment (the kill switch), after confirmation
    Off(FlagWhere),
    /// Turn a flag ON in one environment, after confirmation
    On(FlagWhere),
    /// Put a flag back as it was before a change paaf made (its journal action id)
    Undo {
        /// The id of the flag change in `paaf journal`
        action_id: i64,
        #[command(flatten)]
        dry_run: DryRun,
    },
}

pub async fn list(ctx: &Ctx, a: FlagsArgs) -> Outcome {
    let filter = FlagFilter {
        query: a.query,
        project: a.project,
        environment: a.env,
        tag: a.tag,
    };
    let backends = ctx.paaf.flags(a.backend.as_deref(), &filter).await?;
    ctx.emit(&backends, |b| render_flags(b));
    Ok(exit::OK)
}

fn render_flags(backends: &[BackendFlags]) {
    if backends.is_empty() {
        output::summary(
            "No flag service is configured. Add one to the config, e.g.\n  [[flags]]\n  name = \"prod\"\n  type = \"unleash\"\n  url = \"https://unleash.example.com\"\n  token = \"keyring:unleash-prod\"",
        );
        return;
    }
    let mut t = Table::new(&["SERVICE", "PROJECT", "FLAG", "ENVIRONMENTS", "TAGS"])
        .wide_only(&["PROJECT", "TAGS"])
        .name_column("FLAG");
    for b in backends {
        if let Some(e) = &b.error {
            t.row([
                Cell::from(b.backend.clone()),
                Cell::from(""),
                Cell::new(format!("error[{}]", e.code.as_str()), Tone::Bad),
                Cell::from(e.message.clone()),
                Cell::from(""),
            ]);
        }
        for f in &b.flags {
            let envs = f
                .environments
                .iter()
                .map(|e| format!("{} {}", e.name, if e.enabled { "ON" } else { "off" }))
                .collect::<Vec<_>>()
                .join(", ");
            t.row([
                Cell::from(f.backend.clone()),
                Cell::from(f.project.clone()),
                Cell::from(f.key.clone()),
                Cell::from(envs),
                Cell::from(f.tags.join(", ")),
            ]);
        }
    }
    t.print();
}

/// `text` escaped, in bold on a terminal: the bold is added after escaping, so it is the only
/// control sequence in the question.
fn bold(text: &str) -> String {
    let text = output::shown(text);
    if std::io::stderr().is_terminal() {
        format!("\x1b[1m{text}\x1b[0m")
    } else {
        text
    }
}

pub async fn flag(ctx: &Ctx, command: FlagCommand) -> Outcome {
    let change = match command {
        FlagCommand::List(args) => return list(ctx, args).await,
        FlagCommand::Off(w) if w.dry_run.dry_run => return plan(ctx, w, false).await,
        FlagCommand::On(w) if w.dry_run.dry_run => return plan(ctx, w, true).await,
        FlagCommand::Off(w) => set(ctx, w, false).await?,
        FlagCommand::On(w) => set(ctx, w, true).await?,
        FlagCommand::Undo { action_id, dry_run } if dry_run.dry_run => {
            return ctx.plan(&ctx.paaf.plan_undo_flag(action_id).await?);
        }
        FlagCommand::Undo { action_id, .. } => {
            let confirm = ctx.confirm(&format!(
                "Undo flag change {action_id} (set the flag back as it was)?"
            ))?;
            ctx.paaf.undo_flag(action_id, &confirm).await?
        }
    };
    ctx.emit(&change, print_change);
    Ok(exit::OK)
}

fn target(w: FlagWhere) -> FlagTarget {
    FlagTarget {
        backend: w.backend,
        project: w.project.unwrap_or_default(),
        key: w.key,
        environment: w.env,
    }
}

async fn plan(ctx: &Ctx, w: FlagWhere, enabled: bool) -> Outcome {
    ctx.plan(&ctx.paaf.plan_flag(&target(w), enabled).await?)
}

/// Reads the flag's current state, shows it in the confirmation, then switches it if it is
/// still in that state.
async fn set(ctx: &Ctx, w: FlagWhere, enabled: bool) -> Result<FlagChange, Failure> {
    let target = target(w);
    let now = ctx.paaf.flag_state(&target).await?;
    let word = |on: bool| if on { "ON" } else { "OFF" };
    let question = format!(
        "{} is {} in {}. Turn it {} in {} ({})?",
        output::shown(&target.key),
        word(now.enabled),
        bold(&target.environment.to_uppercase()),
        bold(word(enabled)),
        bold(&target.environment.to_uppercase()),
        now.guard.explained(),
    );
    let confirm = ctx.confirm_escaped(&question)?;
    Ok(ctx.paaf.set_flag(&target, enabled, &now, &confirm).await?)
}

fn print_change(c: &FlagChange) {
    let word = |on: bool| if on { "ON" } else { "OFF" };
    output::line(&format!(
        "{} in {}: {} -> {} (journal action {}; undo with `paaf flag undo {}`)",
        c.key,
        c.environment,
        word(c.was_enabled),
        word(c.enabled),
        c.action_id,
        c.action_id
    ));
}
