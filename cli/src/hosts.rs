//! `paaf host …`, `paaf status`, `paaf reboot`, `paaf exec`, `paaf runbook …`: the commands on
//! `[[hosts]]` over SSH, their arguments, and the host-key trust they may ask for.

use crate::ctx::{Ctx, Outcome, WatchArg, cancel_on_ctrl_c};
use crate::fleet::{self, FanOutArgs, SelectorArgs};
use crate::prompt::{self, Answer};
use crate::render::{self, RebootProgress};
use crate::{exit, output};
use clap::{Args, Subcommand};
use paaf_core::config::{AuthInput, HostInput, HostSelector, SecretInput};
use paaf_core::{Error, ErrorCode, FanOutJob, HostAdded, HostCheck, Result, host_key_declined};
use secrecy::SecretString;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum HostCommand {
    /// List hosts with live status: reachable, uptime, boot id, OS, last action
    #[command(visible_alias = "ls")]
    List {
        /// Only these hosts: [[hosts]] names or globs like 'web-*'
        names: Vec<String>,
        #[command(flatten)]
        select: SelectorArgs,
        /// How many hosts are probed at once
        #[arg(long, default_value_t = paaf_core::DEFAULT_PARALLEL as u64, value_name = "N",
              value_parser = clap::value_parser!(u64).range(1..=1024))]
        parallel: u64,
        #[command(flatten)]
        watch: WatchArg,
    },
    /// Add a host to the config; its SSH key is shown and must be confirmed
    #[command(
        override_usage = "paaf host add NAME --address ADDRESS --user USER [OPTIONS]\n         \
            (--key PATH | --password-stdin | --password-ref REF | --agent)",
        after_help = "Examples:\n  paaf host add web-1 --address 10.0.0.5 --user deploy --key ~/.ssh/id_ed25519\n  \
            paaf host add db-1 --address db.internal --port 2222 --user ops --password-stdin"
    )]
    Add(AddHostArgs),
    /// Remove a host from the config
    #[command(visible_alias = "rm")]
    Remove {
        /// The host's name
        name: String,
        #[command(flatten)]
        dry_run: DryRun,
    },
    /// Show the host's SSH key fingerprint and record it in known_hosts once confirmed
    Trust {
        /// The host's name
        name: String,
        /// Trust the key only if it has this fingerprint (SHA256:…), without asking: for
        /// scripts that got it out of band
        #[arg(long, value_name = "SHA256")]
        fingerprint: Option<String>,
    },
    /// Remove the host's keys from known_hosts (after a legitimate key change)
    ForgetKey {
        /// The host's name
        name: String,
        #[command(flatten)]
        dry_run: DryRun,
    },
}

/// `--dry-run`: show what would be done, do nothing.
#[derive(Args, Clone, Copy)]
pub struct DryRun {
    /// Show what would be done (target, its state now, the exact commands) and stop: nothing
    /// is sent, nothing journaled
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args)]
pub struct RebootArgs {
    /// The host's name, or a glob like 'web-*' (or choose with --tag / --group)
    pub name: Option<String>,
    #[command(flatten)]
    pub select: SelectorArgs,
    #[command(flatten)]
    pub fleet: fleet::FleetRebootArgs,
    #[command(flatten)]
    pub dry_run: DryRun,
}

pub const REBOOT_HELP: &str = "Reboot a host and verify it came back, the way Ansible's reboot \
    module does. Phases, each with its own deadline (per host in the config, [hosts.reboot]):\n\n  \
    1. connect, read the boot id and /etc/machine-id, check that sudo -n may run the reboot \
    command\n  \
    2. send the reboot, detached (reboot.command, default `shutdown -r now`)\n  \
    3. shutdown: the connection drops (shutdown_timeout_secs, default 120)\n  \
    4. boot: knock on the SSH port every 250 ms; once it answers, log in until the boot id \
    changed, same machine-id (timeout_secs, default 600; failed logins retried 2^n s apart, at \
    most backoff_max_secs)\n  \
    5. test command: test_command (default whoami) succeeds (test_timeout_secs, default 120)\n\n\
    Many hosts ('web-*', --tag, --group): --batch N at a time, each batch verified (new boot id, \
    then --health-cmd or each host's test_command) before the next; the first failure stops \
    and the report says which hosts are done, mid-reboot or untouched.\n\n\
    Done only when verified. A phase out of time exits 7 naming the phase; Ctrl-C stops \
    waiting (exit 130; the host may still be rebooting). -o json prints one event per line, \
    the report last (with several hosts: the report alone).";

pub const REBOOT_EXAMPLES: &str = "Examples:\n  paaf reboot web-1\n  \
    paaf reboot web-1 --dry-run\n  paaf reboot web-1 --yes -o json\n  \
    paaf reboot --tag role=web --batch 5 --health-cmd 'systemctl is-active nginx'";

#[derive(Args)]
#[command(group(clap::ArgGroup::new("auth").required(true).args(["key", "password_stdin", "password_ref", "agent"])))]
pub struct AddHostArgs {
    /// The host's name in paaf (letters, digits, -, _ and .)
    name: String,
    /// Hostname or IP address
    #[arg(long)]
    address: String,
    /// SSH port
    #[arg(long, default_value_t = 22, value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
    /// The user to log in as
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
#[command(
    after_help = "The exit code is the remote command's own (128+N when killed by signal N), \
    as with ssh; paaf's own codes (see paaf --help) when it could not run it. With several -c, \
    the first that fails stops the rest (unless --keep-going) and its code is paaf's.\n\n\
    Several hosts (a glob, --tag, --group): one command on each, --parallel at a time, results \
    grouped by identical output; exit 0 when it succeeded everywhere, else 9 when it failed \
    somewhere, else the first host's error code. Ctrl-C starts no more hosts.\n\n\
    Examples:\n  paaf exec web-1 -- systemctl status nginx\n  \
    paaf exec web-1 -c 'df -h' -c uptime --keep-going\n  \
    paaf exec 'web-*' -- uptime\n  paaf exec --tag role=web --tag env=prod -- systemctl restart agent"
)]
pub struct ExecArgs {
    /// The host's name, or a glob like 'web-*' (or choose with --tag / --group)
    name: Option<String>,
    #[command(flatten)]
    select: SelectorArgs,
    #[command(flatten)]
    fan: FanOutArgs,
    /// A command to run; repeat to run several over one connection
    #[arg(short = 'c', long = "command", value_name = "CMD")]
    commands: Vec<String>,
    /// With several commands: run the next ones after one failed
    #[arg(long)]
    keep_going: bool,
    #[command(flatten)]
    dry_run: DryRun,
    /// The command, after `--` (joined with spaces)
    #[arg(last = true)]
    rest: Vec<String>,
}

#[derive(Subcommand)]
pub enum RunbookCommand {
    /// List the runbooks on a host
    #[command(visible_alias = "ls")]
    List {
        /// The host's name
        name: String,
    },
    /// Run a runbook; one whose name starts with `__` needs --confirm NAME (or the typed name)
    #[command(after_help = "With --tag or --group, give the runbook alone: \
        paaf runbook run --group checkout restart-app")]
    Run {
        /// The host's name or a glob like 'web-*'; with --tag / --group, the runbook
        name: String,
        /// The runbook's name (see `paaf runbook list HOST`)
        runbook: Option<String>,
        #[command(flatten)]
        select: SelectorArgs,
        #[command(flatten)]
        fan: FanOutArgs,
        /// Type the runbook's name here to confirm a dangerous one in scripts
        #[arg(long, value_name = "RUNBOOK")]
        confirm: Option<String>,
        #[command(flatten)]
        dry_run: DryRun,
    },
}

pub async fn host(ctx: &Ctx, command: HostCommand) -> Outcome {
    match command {
        HostCommand::Add(args) => add(ctx, args).await,
        HostCommand::List {
            names,
            select,
            parallel,
            watch,
        } => fleet::status(ctx, &names, &select, parallel as usize, watch).await,
        HostCommand::Remove { name, dry_run } => {
            if dry_run.dry_run {
                return ctx.plan(&ctx.paaf.plan_remove_host(&name)?);
            }
            ctx.paaf.remove_host(&name)?;
            ctx.done(&format!("removed {name}"))
        }
        HostCommand::Trust { name, fingerprint } => {
            trust(ctx, &name, fingerprint.as_deref()).await?;
            Ok(exit::OK)
        }
        HostCommand::ForgetKey { name, dry_run } => {
            if dry_run.dry_run {
                return ctx.plan(&ctx.paaf.plan_forget_key(&name)?);
            }
            let n = ctx.paaf.forget_host_key(&name).await?;
            ctx.done(&format!("removed {n} known_hosts entries of {name}"))
        }
    }
}

/// Shows the host's key and records it once confirmed (or with --accept-new-host-key, or when
/// it has the `pinned` fingerprint).
async fn trust(ctx: &Ctx, name: &str, pinned: Option<&str>) -> Result<()> {
    let key = ctx.paaf.probe_host_key(name).await?;
    render::offered_key(name, &key);
    match key.status {
        paaf_core::ssh::KeyStatus::Known => {
            output::note("This key is already trusted.");
            return Ok(());
        }
        paaf_core::ssh::KeyStatus::Changed => {
            return Err(Error::HostKeyChanged {
                host: name.into(),
                fingerprint: key.fingerprint,
                known_hosts: ctx.paaf.config().known_hosts.clone(),
            });
        }
        paaf_core::ssh::KeyStatus::Unknown => {}
    }
    if let Some(expected) = pinned {
        // The core records the key only if the host still offers exactly this one.
        if expected != key.fingerprint {
            return Err(Error::Ssh {
                host: name.into(),
                reason: format!(
                    "it offers {} but {expected} was given with --fingerprint; nothing was trusted",
                    key.fingerprint
                ),
            });
        }
        ctx.paaf.trust_host_key(name, expected).await?;
        output::note(&format!("Trusted {expected} for {name}."));
        return Ok(());
    }
    let question = output::shown(&format!("Trust this key for {name}?"));
    if !ctx.accept_new_host_key && prompt::yes_no(&question) != Answer::Yes {
        return Err(Error::HostKeyUnknown {
            host: name.into(),
            key_type: key.key_type,
            fingerprint: key.fingerprint,
        });
    }
    ctx.paaf.trust_host_key(name, &key.fingerprint).await?;
    output::note(&format!("Trusted {} for {name}.", key.fingerprint));
    Ok(())
}

/// Runs `action`; on an unknown host key, offers to trust it and runs it once more.
async fn with_trust<T, F, Fut>(ctx: &Ctx, name: &str, action: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    match action().await {
        Err(e) if e.code() == ErrorCode::HostKeyUnknown => {
            trust(ctx, name, None).await?;
            action().await
        }
        other => other,
    }
}

async fn add(ctx: &Ctx, a: AddHostArgs) -> Outcome {
    let reference = |r: &Option<String>| r.clone().map(SecretInput::Reference);
    let auth = if let Some(path) = &a.key {
        let passphrase = if a.passphrase_stdin {
            Some(SecretInput::Value(read_secret("Key passphrase")?))
        } else {
            reference(&a.passphrase_ref)
        };
        AuthInput::Key {
            path: path.clone(),
            passphrase,
        }
    } else if a.password_stdin {
        AuthInput::Password {
            password: SecretInput::Value(read_secret("Password")?),
        }
    } else if let Some(r) = reference(&a.password_ref) {
        AuthInput::Password { password: r }
    } else {
        AuthInput::Agent
    };
    let input = HostInput {
        name: a.name.clone(),
        address: a.address,
        port: a.port,
        user: a.user,
        auth,
    };
    let check = if a.no_connect {
        HostCheck::NoConnect
    } else {
        HostCheck::Login { trust: None }
    };
    if let HostAdded::KeyToConfirm { key } = ctx.paaf.add_host(input.clone(), check).await? {
        render::offered_key(&a.name, &key);
        let question = output::shown(&format!("Trust this key for {}?", a.name));
        if !ctx.accept_new_host_key && prompt::yes_no(&question) != Answer::Yes {
            return Err(host_key_declined(&a.name, &key).into());
        }
        let trust = HostCheck::Login {
            trust: Some(key.fingerprint.clone()),
        };
        if let HostAdded::KeyToConfirm { key } = ctx.paaf.add_host(input, trust).await? {
            return Err(host_key_declined(&a.name, &key).into());
        }
    }
    let added = format!("Added {} to {}", a.name, ctx.paaf.config().path.display());
    if a.no_connect {
        return ctx.done(&added);
    }
    let statuses = ctx.paaf.status(std::slice::from_ref(&a.name)).await?;
    ctx.emit(&statuses[0], |_| {
        output::line(&added);
        render::hosts(&statuses)
    });
    Ok(if statuses[0].reachable {
        exit::OK
    } else {
        statuses[0]
            .error
            .as_ref()
            .map(|e| exit::code(e.code))
            .unwrap_or(1)
    })
}

fn read_secret(what: &str) -> Result<SecretString> {
    let v = prompt::secret(what).map_err(|e| Error::InvalidInput {
        message: format!("cannot read the {what}: {e}"),
    })?;
    if v.is_empty() {
        return Err(Error::InvalidInput {
            message: format!("the {what} is empty"),
        });
    }
    Ok(SecretString::from(v))
}

pub async fn reboot(ctx: &Ctx, a: RebootArgs) -> Outcome {
    let selector = a.select.selector(a.name.as_slice())?;
    let name = match selector.single_name() {
        Some(name) if a.fleet.is_single() => name,
        _ => return fleet::reboot_many(ctx, &selector, a.fleet, a.dry_run.dry_run).await,
    };
    if a.dry_run.dry_run {
        return ctx.plan(&ctx.paaf.plan_reboot(name).await?);
    }
    let host = ctx.paaf.config().host(name).cloned()?;
    let confirm = ctx.confirm(&format!("Reboot {name} now?"))?;
    output::stream_documents();
    let progress = Arc::new(RebootProgress::new(ctx.is_json(), &host.reboot));
    let cancel = cancel_on_ctrl_c();
    progress.clear_on(&cancel);
    let result = with_trust(ctx, name, || {
        ctx.paaf
            .reboot(name, &confirm, progress.clone(), cancel.clone())
    })
    .await;
    progress.finish();
    match result {
        Ok(report) => {
            if ctx.is_json() {
                output::event(&serde_json::json!({ "report": report }));
            } else {
                render::reboot_report(&report);
            }
            Ok(exit::OK)
        }
        // With -o json the events went out as they came; the error is the last line.
        Err(e) if ctx.is_json() => {
            output::event(&serde_json::json!({ "error": paaf_core::ErrorInfo::from(&e) }));
            Ok(exit::code(e.code()))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn exec(ctx: &Ctx, a: ExecArgs) -> Outcome {
    let mut commands = a.commands;
    if !a.rest.is_empty() {
        commands.push(a.rest.join(" "));
    }
    if commands.is_empty() {
        return Err(Error::InvalidInput {
            message: "no command given: `paaf exec HOST -- CMD` or `-c CMD`".into(),
        }
        .into());
    }
    let selector = a.select.selector(a.name.as_slice())?;
    let Some(name) = selector.single_name().map(str::to_string) else {
        return exec_on_many(ctx, &selector, commands, a.fan, a.dry_run.dry_run).await;
    };
    if a.dry_run.dry_run {
        return ctx.plan(&ctx.paaf.plan_exec(&name, &commands)?);
    }
    ctx.paaf.config().host(&name)?;
    let confirm = ctx.confirm(&format!(
        "Run {} on {}?",
        commands
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", "),
        name
    ))?;
    let mut outputs = Vec::new();
    let mut code = exit::OK;
    for (i, cmd) in commands.iter().enumerate() {
        let out = with_trust(ctx, &name, || ctx.paaf.exec(&name, cmd, &confirm)).await?;
        // Each command's output shows as it ends; --json prints them all at the end.
        ctx.human(|| render::exec_output(&out));
        let failed = !out.success();
        if failed && code == exit::OK {
            code = out.passed_exit_code();
        }
        outputs.push(out);
        if failed && commands.len() > 1 {
            let rest = &commands[i + 1..];
            ctx.note(&format!(
                "paaf: command {} of {} failed: `{cmd}`{}",
                i + 1,
                commands.len(),
                match (rest.is_empty(), a.keep_going) {
                    (true, _) => String::new(),
                    (false, true) => "; going on (--keep-going)".into(),
                    (false, false) => format!(
                        "; not run: {} (--keep-going runs them anyway)",
                        rest.iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            ));
            if !a.keep_going {
                break;
            }
        }
    }
    if let [one] = outputs.as_slice() {
        ctx.emit(one, |_| {});
    } else {
        ctx.emit(&outputs, |_| {});
    }
    Ok(code)
}

/// `exec` on the hosts of a glob, tags or groups: one command, fanned out.
async fn exec_on_many(
    ctx: &Ctx,
    selector: &HostSelector,
    commands: Vec<String>,
    fan: FanOutArgs,
    dry_run: bool,
) -> Outcome {
    if selector.is_empty() {
        return Err(Error::InvalidInput {
            message: "which hosts? `paaf exec HOST -- CMD`, a glob like 'web-*', --tag or --group"
                .into(),
        }
        .into());
    }
    let [command] = <[String; 1]>::try_from(commands).map_err(|_| Error::InvalidInput {
        message: "on several hosts, give one command (join steps with && in it)".into(),
    })?;
    fleet::fan_out(
        ctx,
        selector,
        FanOutJob::Command(command),
        fan,
        None,
        dry_run,
    )
    .await
}

pub async fn runbook(ctx: &Ctx, command: RunbookCommand) -> Outcome {
    let (name, runbook, typed, dry_run) = match command {
        RunbookCommand::List { name } => {
            let books = with_trust(ctx, &name, || ctx.paaf.runbooks(&name)).await?;
            ctx.emit(&books, |b| render::runbooks(&name, b));
            return Ok(exit::OK);
        }
        RunbookCommand::Run {
            name,
            runbook,
            select,
            fan,
            confirm,
            dry_run,
        } => {
            let (hosts, runbook) = match runbook {
                Some(r) => (vec![name], r),
                None => (Vec::new(), name),
            };
            let selector = select.selector(&hosts)?;
            match selector.single_name() {
                Some(one) => (one.to_string(), runbook, confirm, dry_run),
                None if selector.is_empty() => {
                    return Err(Error::InvalidInput {
                        message: format!(
                            "which hosts? `paaf runbook run HOST {runbook}`, a glob like 'web-*', --tag or --group"
                        ),
                    }
                    .into());
                }
                None => {
                    let job = FanOutJob::Runbook(runbook);
                    return fleet::fan_out(ctx, &selector, job, fan, confirm, dry_run.dry_run)
                        .await;
                }
            }
        }
    };
    if dry_run.dry_run {
        let plan = with_trust(ctx, &name, || ctx.paaf.plan_runbook(&name, &runbook)).await?;
        return ctx.plan(&plan);
    }
    // A mistyped name is refused, with the closest one, before anything is asked.
    with_trust(ctx, &name, || ctx.paaf.find_runbook(&name, &runbook)).await?;
    let confirm = if paaf_core::runbooks::is_dangerous(&runbook) {
        ctx.confirm_typed(typed, &format!("Runbook {runbook} on {name}"), &runbook)?
    } else {
        match typed {
            Some(t) => paaf_core::Confirmation::Typed(t),
            None => ctx.confirm(&format!("Run runbook {runbook} on {name}?"))?,
        }
    };
    let out = with_trust(ctx, &name, || {
        ctx.paaf.run_runbook(&name, &runbook, &confirm)
    })
    .await?;
    ctx.emit(&out, render::exec_output);
    Ok(if out.success() {
        exit::OK
    } else {
        exit::REMOTE_FAILED
    })
}
