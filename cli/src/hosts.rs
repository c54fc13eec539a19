//! `paaf host …`, `paaf status`, `paaf reboot`, `paaf exec`, `paaf runbook …`: the commands on
//! `[[hosts]]` over SSH, their arguments, and the host-key trust they may ask for.

use crate::ctx::{Ctx, Outcome, cancel_on_ctrl_c};
use crate::prompt::{self, Answer};
use crate::render::{self, RebootProgress};
use crate::{exit, output};
use clap::{Args, Subcommand};
use paaf_core::config::{AuthInput, HostInput, SecretInput};
use paaf_core::{Error, ErrorCode, HostAdded, HostCheck, Result, host_key_declined};
use secrecy::SecretString;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum HostCommand {
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
pub struct AddHostArgs {
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
pub struct ExecArgs {
    name: String,
    /// A command to run; repeat to run several over one connection
    #[arg(short = 'c', long = "command", value_name = "CMD")]
    commands: Vec<String>,
    /// The command, after `--` (joined with spaces)
    #[arg(last = true)]
    rest: Vec<String>,
}

#[derive(Subcommand)]
pub enum RunbookCommand {
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

pub async fn host(ctx: &Ctx, command: HostCommand) -> Outcome {
    match command {
        HostCommand::Add(args) => add(ctx, args).await,
        HostCommand::List { names } => status(ctx, &names).await,
        HostCommand::Remove { name } => {
            ctx.paaf.remove_host(&name)?;
            ctx.done(&format!("removed {name}"))
        }
        HostCommand::Trust { name } => {
            trust(ctx, &name).await?;
            Ok(exit::OK)
        }
        HostCommand::ForgetKey { name } => {
            let n = ctx.paaf.forget_host_key(&name).await?;
            ctx.done(&format!("removed {n} known_hosts entries of {name}"))
        }
    }
}

/// Shows the host's key and records it once confirmed (or with --accept-new-host-key).
async fn trust(ctx: &Ctx, name: &str) -> Result<()> {
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
            trust(ctx, name).await?;
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

pub async fn status(ctx: &Ctx, names: &[String]) -> Outcome {
    let statuses = ctx.paaf.status(names).await?;
    ctx.emit(&statuses, |s| render::hosts(s));
    Ok(exit::OK)
}

pub async fn reboot(ctx: &Ctx, name: &str) -> Outcome {
    let confirm = ctx.confirm(&format!("Reboot {name} now?"))?;
    let progress = Arc::new(RebootProgress::new(ctx.is_json()));
    let cancel = cancel_on_ctrl_c();
    let result = with_trust(ctx, name, || {
        ctx.paaf
            .reboot(name, &confirm, progress.clone(), cancel.clone())
    })
    .await;
    progress.finish();
    let events = std::mem::take(&mut *progress.events.lock().expect("events poisoned"));
    match result {
        Ok(report) => ctx.emit(
            &serde_json::json!({ "report": report, "events": events }),
            |_| render::reboot_report(&report),
        ),
        // With --json the events seen before the error are part of the document.
        Err(e) if ctx.is_json() => {
            output::json(
                &serde_json::json!({ "error": paaf_core::ErrorInfo::from(&e), "events": events }),
            );
            return Ok(exit::code(e.code()));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(exit::OK)
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
    let confirm = ctx.confirm(&format!(
        "Run {} on {}?",
        commands
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", "),
        a.name
    ))?;
    let mut outputs = Vec::new();
    let mut code = exit::OK;
    for cmd in &commands {
        let out = with_trust(ctx, &a.name, || ctx.paaf.exec(&a.name, cmd, &confirm)).await?;
        if !out.success() {
            code = exit::REMOTE_FAILED;
        }
        // Each command's output shows as it ends; --json prints them all at the end.
        ctx.human(|| render::exec_output(&out));
        outputs.push(out);
    }
    if let [one] = outputs.as_slice() {
        ctx.emit(one, |_| {});
    } else {
        ctx.emit(&outputs, |_| {});
    }
    Ok(code)
}

pub async fn runbook(ctx: &Ctx, command: RunbookCommand) -> Outcome {
    let (name, runbook, typed) = match command {
        RunbookCommand::List { name } => {
            let books = with_trust(ctx, &name, || ctx.paaf.runbooks(&name)).await?;
            ctx.emit(&books, |b| render::runbooks(&name, b));
            return Ok(exit::OK);
        }
        RunbookCommand::Run {
            name,
            runbook,
            confirm,
        } => (name, runbook, confirm),
    };
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
