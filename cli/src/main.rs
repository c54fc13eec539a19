//! `paaf`: the command-line front-end. It parses arguments, asks for confirmations, calls the
//! core facade and renders what comes back; every decision lives in paaf-core.
//!
//! Modules depend one way: this file (arguments, dispatch) → the command modules (hosts,
//! fleet, flags, monitor, servers, incidents, relay, setup) → ctx (the facade, options, emit/confirm) → output (the
//! only printing, escaped), prompt, exit.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod ctx;
mod exit;
mod flags;
mod fleet;
mod hosts;
mod incidents;
mod monitor;
mod output;
mod prompt;
mod relay;
mod render;
mod servers;
mod setup;

use clap::{Args, CommandFactory, Parser, Subcommand};
use ctx::{Ctx, Outcome, WatchArg};
use hosts::{ExecArgs, HostCommand, RunbookCommand};
use output::{ColorChoice, Format};
use paaf_core::secrets::KeyringStore;
use paaf_core::{Error, Paaf};
use std::path::PathBuf;
use std::sync::Arc;

/// `paaf --version` and `paaf version`: the release, the commit and the day it was built.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PAAF_GIT_COMMIT"),
    ", built ",
    env!("PAAF_BUILD_DATE"),
    ")"
);

const GLOBAL: &str = "Global options";

#[derive(Parser)]
#[command(
    name = "paaf",
    version = VERSION,
    max_term_width = 100,
    about = "Incident remote control: protect, analyze, alert, fix — from a terminal",
    long_about = "Incident remote control: reboot and verify servers over SSH, switch feature \
                  flags off, read alerts and dashboards, silence alerts, run the incident loop \
                  (open from an alert, protect, stand down, post-mortem), and keep a journal of \
                  every action.",
    after_long_help = "Exit codes:\n  0 ok · 1 other error · 2 usage · 3 config or input (also an unknown \
                  name) · 4 host key unknown or changed · 5 authentication, secret, sudo or \
                  permission · 6 unreachable or SSH failure · 7 timeout · 8 confirmation \
                  required · 9 the remote command failed (exec: its own exit code) · 10 journal · \
                  11 a service failed, rate-limited or answered badly · 12 conflict (changed \
                  meanwhile, or approval required) · 13 outcome unknown · \
                  14 unverified (done, but no proof it took effect) · 130 cancelled\n\n\
                  Examples:\n  paaf host add web-1 --address 10.0.0.5 --user deploy --key ~/.ssh/id_ed25519\n  \
                  paaf host list\n  paaf reboot web-1\n  paaf flag off new-checkout --env production\n  \
                  paaf alert list -o json\n  paaf journal --limit 10\n  \
                  paaf incident open --alert CheckoutErrors\n  paaf incident protect\n  \
                  paaf incident postmortem > pm.md",
    after_help = "Exit codes and examples: paaf --help. Completion: paaf completion bash|zsh|fish."
)]
struct Cli {
    /// Config file [env: PAAF_CONFIG] [default: ~/.config/paaf/config.toml]
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    config: Option<PathBuf>,
    /// Use the config of this context (~/.config/paaf/contexts/NAME/) [env: PAAF_CONTEXT]
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        conflicts_with = "config",
        help_heading = GLOBAL
    )]
    context: Option<String>,
    /// Output format [default: table on a terminal, tsv otherwise]
    #[arg(short = 'o', long, global = true, value_enum, help_heading = GLOBAL)]
    output: Option<Format>,
    /// The same as -o json
    #[arg(long, global = true, conflicts_with = "output", help_heading = GLOBAL)]
    json: bool,
    /// Leave out the header line of tables and TSV
    #[arg(long, global = true, help_heading = GLOBAL)]
    no_headers: bool,
    /// Colour states (down, firing, dangerous); auto: on a terminal without NO_COLOR
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = GLOBAL)]
    color: ColorChoice,
    /// Answer yes to confirmations (dangerous runbooks still need --confirm NAME)
    #[arg(long, short = 'y', global = true, help_heading = GLOBAL)]
    yes: bool,
    /// Trust a host key seen for the first time (a changed key is always refused)
    #[arg(long, global = true, help_heading = GLOBAL)]
    accept_new_host_key: bool,
    /// The open incident actions attach to (and incident commands mean); default: the newest
    #[arg(long, global = true, value_name = "ID", help_heading = GLOBAL)]
    incident: Option<i64>,
    /// Logs on stderr: -v the steps (SSH, HTTP), -vv debug; PAAF_LOG=filter overrides
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hosts reached over SSH: list with live status, add, remove, trust their keys
    #[command(subcommand)]
    Host(HostCommand),
    /// Reboot a host, or many batch by batch, and verify each came back (new boot id, then the
    /// test command)
    #[command(long_about = hosts::REBOOT_HELP, after_long_help = hosts::REBOOT_EXAMPLES)]
    Reboot(hosts::RebootArgs),
    /// Run a command on a host, or on many ('web-*', --tag, --group)
    Exec(ExecArgs),
    /// List and run the runbooks on a host (RebootX convention)
    #[command(subcommand)]
    Runbook(RunbookCommand),
    /// The journal of actions, newest first
    Journal(JournalArgs),
    /// Cloud servers of every [[clouds]] account: list, reboot, stop, start
    #[command(subcommand)]
    Server(servers::ServerCommand),
    /// Feature flags: list, turn off or on in one environment, undo a change
    #[command(subcommand)]
    Flag(flags::FlagCommand),
    /// Firing alerts of every monitoring source
    #[command(subcommand)]
    Alert(monitor::AlertCommand),
    /// Silence alerts (Alertmanager or Grafana), list and expire silences
    #[command(subcommand)]
    Silence(monitor::SilenceCommand),
    /// A PromQL query: a sparkline and min/max/mean/last per series
    Query(monitor::QueryArgs),
    /// The scrape targets of a Prometheus source and their health
    Targets {
        #[command(flatten)]
        source: monitor::SourceArg,
    },
    /// Grafana dashboards: search, or show one with its variables and panels
    Dashboard(monitor::DashboardArgs),
    /// A Grafana panel's data: a sparkline and min/max/mean/last per series (or --png)
    Panel(monitor::PanelArgs),
    /// Write a Grafana annotation now (org-wide, or on a dashboard or panel)
    Annotate(monitor::AnnotateArgs),
    /// Incidents: open one from an alert, protect, stand down, resolve, post-mortem
    #[command(subcommand)]
    Incident(incidents::IncidentCommand),
    /// paaf-relay: pair this device, follow its stream of action intents
    #[command(subcommand)]
    Relay(relay::RelayCommand),
    /// Action intents from paaf-relay: open one (verify, confirm, run once)
    #[command(subcommand)]
    Intent(relay::IntentCommand),
    /// Store secrets (passwords, key passphrases, API tokens) in the OS keychain
    #[command(subcommand)]
    Secret(SecretCommand),
    /// The config file: view, validate, path, init; contexts
    #[command(subcommand)]
    Config(setup::ConfigCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(after_help = setup::COMPLETION_HELP)]
    Completion { shell: clap_complete::Shell },
    /// Print the man page (roff): paaf man > /usr/local/share/man/man1/paaf.1
    Man,
    /// The version, the commit and the build date
    Version,

    // The first forms of these commands, kept so scripts keep working.
    #[command(hide = true)]
    Status {
        names: Vec<String>,
        #[command(flatten)]
        watch: WatchArg,
    },
    #[command(hide = true)]
    Servers(servers::ServersArgs),
    #[command(hide = true)]
    Flags(flags::FlagsArgs),
    #[command(hide = true)]
    Alerts(monitor::AlertsArgs),
    #[command(hide = true)]
    Dashboards(monitor::DashboardsArgs),
}

#[derive(Args)]
struct JournalArgs {
    /// Only actions on this target (a host, server, flag or source name)
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
    /// At most this many actions, newest first
    #[arg(long, default_value_t = 50, value_parser = ctx::at_least_one)]
    limit: u64,
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Store a secret read from stdin (or a hidden prompt) under NAME, for `keyring:NAME`
    Set {
        /// The secret's name: the config refers to it as keyring:NAME
        name: String,
    },
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(setup::usage_error(e)),
    };
    output::configure(output::Settings::resolve(
        cli.output,
        cli.json,
        cli.no_headers,
        cli.color,
    ));
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

/// The whole command line's definition, for completion, the man page and the tests.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs the command; returns the process exit code.
async fn dispatch(cli: Cli) -> i32 {
    let path = match setup::config_path(cli.config.clone(), cli.context.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            ctx::print_error(&e);
            return exit::code(e.code());
        }
    };
    // What needs no config: it works before there is one, or on a broken one.
    let early = match &cli.command {
        Command::Completion { shell } => Some(setup::completion(*shell)),
        Command::Man => Some(setup::man()),
        Command::Version => Some(setup::version(VERSION)),
        Command::Config(command) => Some(setup::config(command, &path)),
        _ => None,
    };
    if let Some(outcome) = early {
        return outcome.unwrap_or_else(|f| setup::fail(&f));
    }
    let paaf = match Paaf::open(&path, Arc::new(KeyringStore::open()), "cli") {
        Ok(p) => p,
        Err(e) => {
            ctx::print_error(&e);
            return exit::code(e.code());
        }
    };
    paaf.choose_incident(cli.incident);
    let ctx = Ctx::new(paaf, cli.yes, cli.accept_new_host_key);
    let code = match run(&ctx, cli.command).await {
        Ok(code) => code,
        Err(failure) => ctx.fail(&failure),
    };
    // What the command queued for an open incident (e.g. the Grafana annotation of a `paaf
    // flag off`) gets its attempt before the process ends, not a round the exit cuts short.
    if ctx.delivers_at_exit() {
        incidents::deliver(&ctx).await;
    }
    code
}

async fn run(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::Host(command) => hosts::host(ctx, command).await,
        Command::Status { names, watch } => {
            let every = fleet::SelectorArgs::default();
            fleet::status(ctx, &names, &every, paaf_core::DEFAULT_PARALLEL, watch).await
        }
        Command::Reboot(args) => hosts::reboot(ctx, args).await,
        Command::Exec(args) => hosts::exec(ctx, args).await,
        Command::Runbook(command) => hosts::runbook(ctx, command).await,
        Command::Journal(JournalArgs { host, limit }) => {
            let rows = ctx.paaf.journal(host.as_deref(), limit as usize)?;
            ctx.emit(&rows, |r| render::journal(r, host.as_deref()));
            Ok(exit::OK)
        }
        Command::Alert(command) => monitor::alert(ctx, command).await,
        Command::Alerts(args) => monitor::alerts(ctx, args).await,
        Command::Silence(command) => monitor::silence(ctx, command).await,
        Command::Query(args) => monitor::query(ctx, args).await,
        Command::Targets { source } => monitor::targets(ctx, source).await,
        Command::Dashboard(args) => monitor::dashboard(ctx, args).await,
        Command::Dashboards(args) => monitor::dashboards(ctx, args).await,
        Command::Panel(args) => monitor::panel(ctx, args).await,
        Command::Annotate(args) => monitor::annotate(ctx, args).await,
        Command::Flag(command) => flags::flag(ctx, command).await,
        Command::Flags(args) => flags::list(ctx, args).await,
        Command::Server(command) => servers::server(ctx, command).await,
        Command::Servers(args) => servers::list(ctx, args).await,
        Command::Incident(command) => incidents::incident(ctx, command).await,
        Command::Relay(command) => relay::relay(ctx, command).await,
        Command::Intent(command) => relay::intent(ctx, command).await,
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
        Command::Completion { .. } | Command::Man | Command::Version | Command::Config(_) => {
            unreachable!("handled before the config is opened")
        }
    }
}

fn init_logging(verbose: u8) {
    // -v: paaf's own steps (SSH and HTTP) at info; -vv: debug, every crate.
    let default = match verbose {
        0 => "warn",
        1 => "warn,paaf_core=info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAAF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(output::settings().color && std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests;
