//! `paaf`: the command-line front-end. It parses arguments, asks for confirmations, calls the
//! core facade and renders what comes back; every decision lives in paaf-core.
//!
//! Modules depend one way: this file (arguments, dispatch) → the command modules (hosts,
//! flags, monitor, servers, incidents) → ctx (the facade, options, emit/confirm) → output (the only
//! printing, escaped), prompt, exit.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod ctx;
mod exit;
mod flags;
mod hosts;
mod incidents;
mod monitor;
mod output;
mod prompt;
mod render;
mod servers;

use clap::{Parser, Subcommand};
use ctx::{Ctx, Outcome};
use hosts::{ExecArgs, HostCommand, RunbookCommand};
use paaf_core::config;
use paaf_core::secrets::KeyringStore;
use paaf_core::{Error, Paaf};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "paaf",
    version,
    about = "Incident remote control: protect, analyze, alert, fix — from a terminal",
    long_about = "Incident remote control: reboot and verify servers over SSH, run their runbooks, \
                  and keep a journal of every action.\n\nExit codes: 0 ok, 1 other error, 2 usage, \
                  3 config or input, 4 host key unknown or changed, 5 authentication, secret, sudo or \
                  permission, 6 unreachable or SSH failure, 7 timeout, 8 confirmation required, \
                  9 remote command failed, 10 journal, 11 a service failed, rate-limited or answered \
                  badly, 12 conflict (changed meanwhile, or approval required), 13 outcome unknown, \
                  130 cancelled.",
    after_help = "Examples:\n  paaf host add web-1 --address 10.0.0.5 --user deploy --key ~/.ssh/id_ed25519\n  paaf host list\n  paaf reboot web-1\n  paaf runbook run web-1 restart-app\n  paaf journal\n  paaf incident open --alert CheckoutErrors\n  paaf incident protect\n  paaf incident postmortem > pm.md"
)]
struct Cli {
    /// Config file [default: the platform config dir, e.g. ~/.config/paaf/config.toml]
    #[arg(long, global = true, env = "PAAF_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    json: bool,
    /// Answer yes to confirmations (dangerous runbooks still need --confirm NAME)
    #[arg(long, short = 'y', global = true)]
    yes: bool,
    /// Trust a host key seen for the first time without asking (a changed key is always refused)
    #[arg(long, global = true)]
    accept_new_host_key: bool,
    /// The incident actions attach to (and incident commands mean), while it is open;
    /// the newest open incident by default
    #[arg(long, global = true, value_name = "ID")]
    incident: Option<i64>,
    /// More log output on stderr (-v info, -vv debug); PAAF_LOG=filter overrides
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add, list, remove hosts and manage their SSH host keys
    #[command(subcommand)]
    Host(HostCommand),
    /// Live status of hosts: reachable, uptime, boot id, OS, last action (same as `host list`)
    Status {
        /// Only these hosts
        names: Vec<String>,
    },
    /// Reboot a host and verify it came back (new boot id, test command ok)
    Reboot { name: String },
    /// Run a command on a host (over one reused connection when several are given)
    Exec(ExecArgs),
    /// List and run the host's runbooks (RebootX convention)
    #[command(subcommand)]
    Runbook(RunbookCommand),
    /// Show the journal of actions, newest first
    Journal {
        /// Only actions on this host
        #[arg(long)]
        host: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Store secrets (passwords, key passphrases, API tokens) in the OS keychain
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Firing alerts of every monitoring source (Prometheus, Grafana, Alertmanager)
    Alerts {
        #[command(flatten)]
        source: monitor::SourceArg,
    },
    /// Silence alerts (in an Alertmanager or a Grafana), list and expire silences
    #[command(subcommand)]
    Silence(monitor::SilenceCommand),
    /// Run a PromQL query on a Prometheus source: a sparkline and min/max/mean/last per series
    Query(monitor::QueryArgs),
    /// The scrape targets of a Prometheus source and their health
    Targets {
        #[command(flatten)]
        source: monitor::SourceArg,
    },
    /// Search the dashboards of a Grafana source
    Dashboards(monitor::DashboardsArgs),
    /// One Grafana dashboard: its variables and panels (collapsed rows included)
    Dashboard {
        uid: String,
        #[command(flatten)]
        view: monitor::ViewArgs,
        #[command(flatten)]
        source: monitor::SourceArg,
    },
    /// A Grafana panel's data: a sparkline and min/max/mean/last per series (or --png)
    Panel(monitor::PanelArgs),
    /// Write a Grafana annotation now (org-wide, or on a dashboard/panel)
    Annotate(monitor::AnnotateArgs),
    /// Feature flags of every flag service, with their state per environment
    Flags(flags::FlagsArgs),
    /// Turn a feature flag off or on in one environment; undo a change
    #[command(subcommand)]
    Flag(flags::FlagCommand),
    /// Every server of every cloud account ([[clouds]]), with its state
    Servers(servers::ServersArgs),
    /// Reboot, stop or start a cloud server, followed until the provider reports it done
    #[command(subcommand)]
    Server(servers::ServerCommand),
    /// Incidents: open one from an alert, protect, stand down, resolve, post-mortem
    #[command(subcommand)]
    Incident(incidents::IncidentCommand),
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Store a secret read from stdin (or a hidden prompt) under NAME, for `keyring:NAME`
    Set { name: String },
}

fn main() {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the async runtime");
    let code = runtime.block_on(dispatch(cli));
    // Blocking SSH workers may still be waiting on a dead host; do not wait for them.
    runtime.shutdown_background();
    std::process::exit(code);
}

/// Runs the command; returns the process exit code.
async fn dispatch(cli: Cli) -> i32 {
    let path = cli
        .config
        .clone()
        .unwrap_or_else(config::default_config_path);
    let paaf = match Paaf::open(&path, Arc::new(KeyringStore::open()), "cli") {
        Ok(p) => p,
        Err(e) => {
            ctx::print_error(&e, cli.json);
            return exit::code(e.code());
        }
    };
    paaf.choose_incident(cli.incident);
    let ctx = Ctx::new(paaf, cli.json, cli.yes, cli.accept_new_host_key);
    match run(&ctx, cli.command).await {
        Ok(code) => code,
        Err(failure) => ctx.fail(&failure),
    }
}

async fn run(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::Host(command) => hosts::host(ctx, command).await,
        Command::Status { names } => hosts::status(ctx, &names).await,
        Command::Reboot { name } => hosts::reboot(ctx, &name).await,
        Command::Exec(args) => hosts::exec(ctx, args).await,
        Command::Runbook(command) => hosts::runbook(ctx, command).await,
        Command::Journal { host, limit } => {
            let rows = ctx.paaf.journal(host.as_deref(), limit)?;
            ctx.emit(&rows, |r| render::journal(r));
            Ok(exit::OK)
        }
        Command::Alerts { source } => monitor::alerts(ctx, source).await,
        Command::Silence(command) => monitor::silence(ctx, command).await,
        Command::Query(args) => monitor::query(ctx, args).await,
        Command::Targets { source } => monitor::targets(ctx, source).await,
        Command::Dashboards(args) => monitor::dashboards(ctx, args).await,
        Command::Dashboard { uid, view, source } => {
            monitor::dashboard(ctx, &uid, &view, source).await
        }
        Command::Panel(args) => monitor::panel(ctx, args).await,
        Command::Annotate(args) => monitor::annotate(ctx, args).await,
        Command::Flags(args) => flags::list(ctx, args).await,
        Command::Flag(command) => flags::flag(ctx, command).await,
        Command::Servers(args) => servers::list(ctx, args).await,
        Command::Server(command) => servers::power(ctx, command).await,
        Command::Incident(command) => incidents::incident(ctx, command).await,
        Command::Secret(SecretCommand::Set { name }) => {
            let value = prompt::secret(&format!("Secret for keyring:{name}")).map_err(|e| {
                Error::InvalidInput {
                    message: format!("cannot read the secret: {e}"),
                }
            })?;
            if value.is_empty() {
                return Err(Error::InvalidInput {
                    message: "the secret is empty".into(),
                }
                .into());
            }
            ctx.paaf
                .set_secret(&name, &secrecy::SecretString::from(value))?;
            ctx.done(&format!(
                "stored keyring:{name} in {}",
                ctx.paaf.secret_backend()
            ))
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAAF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
