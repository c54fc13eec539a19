//! One function per command: arguments in, a facade call, output out.

use crate::render::{self, RebootProgress};
use crate::{
    AddHostArgs, Cli, Command, ExecArgs, HostCommand, RunbookCommand, SecretCommand, exit, prompt,
};
use crate::{flags, monitor, servers};
use paaf_core::config::{self, AuthInput, HostInput, SecretInput};
use paaf_core::secrets::KeyringStore;
use paaf_core::{
    CancellationToken, Confirmation, Error, ErrorCode, HostAdded, HostCheck, Paaf, Result,
    host_key_declined,
};
use secrecy::SecretString;
use std::future::Future;
use std::sync::Arc;

pub struct Ctx {
    pub paaf: Paaf,
    pub json: bool,
    pub yes: bool,
    accept_new: bool,
}

/// Runs the command; returns the process exit code.
pub async fn dispatch(cli: Cli) -> i32 {
    let path = cli
        .config
        .clone()
        .unwrap_or_else(config::default_config_path);
    let paaf = match Paaf::open(&path, Arc::new(KeyringStore::open()), "cli") {
        Ok(p) => p,
        Err(e) => {
            render::error(&e, cli.json);
            return exit::code(e.code());
        }
    };
    let ctx = Ctx {
        paaf,
        json: cli.json,
        yes: cli.yes,
        accept_new: cli.accept_new_host_key,
    };
    match run(&ctx, cli.command).await {
        Ok(code) => code,
        Err(e) => {
            render::error(&e, ctx.json);
            exit::code(e.code())
        }
    }
}

async fn run(ctx: &Ctx, command: Command) -> Result<i32> {
    match command {
        Command::Host(HostCommand::Add(args)) => host_add(ctx, args).await,
        Command::Host(HostCommand::List { names }) | Command::Status { names } => {
            status(ctx, &names).await
        }
        Command::Host(HostCommand::Remove { name }) => {
            ctx.paaf.remove_host(&name)?;
            done(ctx, &format!("removed {name}"))
        }
        Command::Host(HostCommand::Trust { name }) => trust(ctx, &name).await.map(|_| exit::OK),
        Command::Host(HostCommand::ForgetKey { name }) => {
            let n = ctx.paaf.forget_host_key(&name).await?;
            done(ctx, &format!("removed {n} known_hosts entries of {name}"))
        }
        Command::Reboot { name } => reboot(ctx, &name).await,
        Command::Exec(args) => exec(ctx, args).await,
        Command::Runbook(RunbookCommand::List { name }) => {
            let books = with_trust(ctx, &name, || ctx.paaf.runbooks(&name)).await?;
            if ctx.json {
                render::json(&books)
            } else {
                render::runbooks(&name, &books)
            }
            Ok(exit::OK)
        }
        Command::Runbook(RunbookCommand::Run {
            name,
            runbook,
            confirm,
        }) => run_runbook(ctx, &name, &runbook, confirm).await,
        Command::Journal { host, limit } => {
            let rows = ctx.paaf.journal(host.as_deref(), limit)?;
            if ctx.json {
                render::json(&rows)
            } else {
                render::journal(&rows)
            }
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
        Command::Secret(SecretCommand::Set { name }) => {
            let value = prompt::secret(&format!("Secret for keyring:{name}")).map_err(|e| {
                Error::InvalidInput {
                    message: format!("cannot read the secret: {e}"),
                }
            })?;
            if value.is_empty() {
                return Err(Error::InvalidInput {
                    message: "the secret is empty".into(),
                });
            }
            ctx.paaf.set_secret(&name, &SecretString::from(value))?;
            done(
                ctx,
                &format!("stored keyring:{name} in {}", ctx.paaf.secret_backend()),
            )
        }
    }
}

pub fn done(ctx: &Ctx, message: &str) -> Result<i32> {
    if ctx.json {
        render::json(&serde_json::json!({ "ok": true, "message": message }));
    } else {
        println!("{message}");
    }
    Ok(exit::OK)
}

/// Shows the host's key and records it once confirmed (or with --accept-new-host-key).
async fn trust(ctx: &Ctx, name: &str) -> Result<()> {
    let key = ctx.paaf.probe_host_key(name).await?;
    render::offered_key(name, &key);
    match key.status {
        paaf_core::ssh::KeyStatus::Known => {
            eprintln!("This key is already trusted.");
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
    let ok = ctx.accept_new
        || prompt::confirm(false, &format!("Trust this key for {name}?")) == Confirmation::Yes;
    if !ok {
        return Err(Error::HostKeyUnknown {
            host: name.into(),
            key_type: key.key_type,
            fingerprint: key.fingerprint,
        });
    }
    ctx.paaf.trust_host_key(name, &key.fingerprint).await?;
    eprintln!("Trusted {} for {name}.", key.fingerprint);
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

async fn host_add(ctx: &Ctx, a: AddHostArgs) -> Result<i32> {
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
        let trusted = ctx.accept_new
            || prompt::confirm(false, &format!("Trust this key for {}?", a.name))
                == Confirmation::Yes;
        if !trusted {
            return Err(host_key_declined(&a.name, &key));
        }
        let trust = HostCheck::Login {
            trust: Some(key.fingerprint.clone()),
        };
        if let HostAdded::KeyToConfirm { key } = ctx.paaf.add_host(input, trust).await? {
            return Err(host_key_declined(&a.name, &key));
        }
    }
    let added = format!("Added {} to {}", a.name, ctx.paaf.config().path.display());
    if a.no_connect {
        return done(ctx, &added);
    }
    let statuses = ctx.paaf.status(std::slice::from_ref(&a.name)).await?;
    if !ctx.json {
        println!("{added}");
    }
    if ctx.json {
        render::json(&statuses[0])
    } else {
        render::hosts(&statuses)
    }
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

async fn status(ctx: &Ctx, names: &[String]) -> Result<i32> {
    let statuses = ctx.paaf.status(names).await?;
    if ctx.json {
        render::json(&statuses)
    } else {
        render::hosts(&statuses)
    }
    Ok(exit::OK)
}

/// A token that Ctrl-C cancels, for a long action to stop waiting.
pub(crate) fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    cancel
}

async fn reboot(ctx: &Ctx, name: &str) -> Result<i32> {
    let confirm = prompt::confirm(ctx.yes, &format!("Reboot {name} now?"));
    let progress = Arc::new(RebootProgress::new(ctx.json));
    let cancel = cancel_on_ctrl_c();
    let result = with_trust(ctx, name, || {
        ctx.paaf
            .reboot(name, &confirm, progress.clone(), cancel.clone())
    })
    .await;
    progress.finish();
    let events = std::mem::take(&mut *progress.events.lock().expect("events poisoned"));
    match result {
        Ok(report) if ctx.json => {
            render::json(&serde_json::json!({ "report": report, "events": events }))
        }
        Ok(report) => render::reboot_report(&report),
        Err(e) if ctx.json => {
            render::json(
                &serde_json::json!({ "error": paaf_core::ErrorInfo::from(&e), "events": events }),
            );
            return Ok(exit::code(e.code()));
        }
        Err(e) => return Err(e),
    }
    Ok(exit::OK)
}

async fn exec(ctx: &Ctx, a: ExecArgs) -> Result<i32> {
    let mut commands = a.commands;
    if !a.rest.is_empty() {
        commands.push(a.rest.join(" "));
    }
    if commands.is_empty() {
        return Err(Error::InvalidInput {
            message: "no command given: `paaf exec HOST -- CMD` or `-c CMD`".into(),
        });
    }
    let confirm = prompt::confirm(
        ctx.yes,
        &format!(
            "Run {} on {}?",
            commands
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            a.name
        ),
    );
    let mut outputs = Vec::new();
    let mut code = exit::OK;
    for cmd in &commands {
        let out = with_trust(ctx, &a.name, || ctx.paaf.exec(&a.name, cmd, &confirm)).await?;
        if !out.success() {
            code = exit::REMOTE_FAILED;
        }
        if !ctx.json {
            render::exec_output(&out);
        }
        outputs.push(out);
    }
    if ctx.json {
        if outputs.len() == 1 {
            render::json(&outputs[0])
        } else {
            render::json(&outputs)
        }
    }
    Ok(code)
}

async fn run_runbook(ctx: &Ctx, name: &str, runbook: &str, typed: Option<String>) -> Result<i32> {
    let confirm = if paaf_core::runbooks::is_dangerous(runbook) {
        prompt::typed(typed, &format!("Runbook {runbook} on {name}"), runbook)
    } else {
        match typed {
            Some(t) => Confirmation::Typed(t),
            None => prompt::confirm(ctx.yes, &format!("Run runbook {runbook} on {name}?")),
        }
    };
    let out = with_trust(ctx, name, || ctx.paaf.run_runbook(name, runbook, &confirm)).await?;
    if ctx.json {
        render::json(&out)
    } else {
        render::exec_output(&out)
    }
    Ok(if out.success() {
        exit::OK
    } else {
        exit::REMOTE_FAILED
    })
}
