//! `paaf`: the command-line front-end. It parses arguments, asks for confirmations, calls the
//! core facade and renders what comes back; every decision lives in paaf-core.

mod commands;
mod exit;
mod flags;
mod monitor;
mod prompt;
mod render;
mod servers;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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
                  14 unverified (done, but no proof it took effect), 130 cancelled.",
    after_help = "Examples:\n  paaf host add web-1 --address 10.0.0.5 --user deploy --key ~/.ssh/id_ed25519\n  paaf host list\n  paaf reboot web-1\n  paaf runbook run web-1 restart-app\n  paaf journal"
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
}

#[derive(Subcommand)]
enum HostCommand {
    /// Add a host to the config; its SSH key is shown and must be confirmed
    Add(AddHostArgs),
    /// List hosts with live status
    List {
        /// Only these hosts
        names: Vec<String>,
    },
    /// Remove a host from the config
    Remove { name: String },
    /// Show the host's SSH key fingerprint and record it in known_hosts once confirmed
    Trust { name: String },
    /// Remove the host's keys from known_hosts (after a legitimate key change)
    ForgetKey { name: String },
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("auth").required(true).args(["key", "password_stdin", "password_ref", "agent"])))]
struct AddHostArgs {
    name: String,
    /// Hostname or IP address
    #[arg(long)]
    address: String,
    #[arg(long, default_value_t = 22)]
    port: u16,
    #[arg(long)]
    user: String,
    /// Log in with this private key (ed25519, ecdsa or rsa)
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,
    /// The key's passphrase is read from stdin and stored in the keychain
    #[arg(long, requires = "key")]
    passphrase_stdin: bool,
    /// The key's passphrase is in this secret (keyring:NAME or env:VAR)
    #[arg(
        long,
        requires = "key",
        conflicts_with = "passphrase_stdin",
        value_name = "REF"
    )]
    passphrase_ref: Option<String>,
    /// Log in with a password read from stdin (stored in the keychain)
    #[arg(long)]
    password_stdin: bool,
    /// Log in with the password in this secret (keyring:NAME or env:VAR)
    #[arg(long, value_name = "REF")]
    password_ref: Option<String>,
    /// Log in with the keys of the running ssh-agent (SSH_AUTH_SOCK)
    #[arg(long)]
    agent: bool,
    /// Only write the config; do not connect to check the host key and login
    #[arg(long)]
    no_connect: bool,
}

#[derive(Args)]
struct ExecArgs {
    name: String,
    /// A command to run; repeat to run several over one connection
    #[arg(short = 'c', long = "command", value_name = "CMD")]
    commands: Vec<String>,
    /// The command, after `--` (joined with spaces)
    #[arg(last = true)]
    rest: Vec<String>,
}

#[derive(Subcommand)]
enum RunbookCommand {
    /// List the runbooks on a host
    List { name: String },
    /// Run a runbook; one whose name starts with `__` needs --confirm NAME (or the typed name)
    Run {
        name: String,
        runbook: String,
        /// Type the runbook's name here to confirm a dangerous one in scripts
        #[arg(long, value_name = "RUNBOOK")]
        confirm: Option<String>,
    },
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
    let code = runtime.block_on(commands::dispatch(cli));
    // Blocking SSH workers may still be waiting on a dead host; do not wait for them.
    runtime.shutdown_background();
    std::process::exit(code);
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
