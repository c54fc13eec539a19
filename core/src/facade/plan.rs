//! Dry runs: what a destructive action would do — its target, the target's state now, and the
//! exact remote commands or API calls — without doing it. A plan reads (a host's status, a
//! flag's state, a server's state) but sends nothing that changes anything and journals
//! nothing, so every front-end can offer "show me first".

use super::Paaf;
use crate::error::{Error, Result, suggestion};
use crate::power::ssh::detached_reboot_command;
use crate::runbooks;
use serde::Serialize;

/// What an action would do (`--dry-run`). Not exported to the apps' bindings yet: only the
/// CLI shows plans so far.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Plan {
    /// The action, as the journal would name it (`reboot`, `flag-off`, `server-stop`, ...).
    pub action: String,
    /// What it acts on, with where it is (`web-1 (deploy@10.0.0.5:22)`).
    pub target: String,
    /// The target's state now, as read for this plan; `None` when it cannot be read without
    /// acting (or was not reachable: see `warning`).
    pub now: Option<String>,
    /// The remote commands and API calls, in order, exactly as they would be sent.
    pub steps: Vec<String>,
    /// What would stop the action as things are (the host is down, a key is unknown).
    pub warning: Option<String>,
}

impl Paaf {
    /// The host's state now in a line, or why it could not be read.
    async fn host_now(&self, name: &str) -> (Option<String>, Option<String>) {
        match self.probe_hosts(&[name.to_string()], false, 1).await {
            Ok(s) => match s.into_iter().next() {
                Some(s) if s.reachable => (
                    Some(format!(
                        "up {}s, boot id {}",
                        s.uptime_secs.unwrap_or_default(),
                        s.boot_id.as_deref().unwrap_or("?")
                    )),
                    None,
                ),
                Some(s) => (
                    Some(s.state().label().to_string()),
                    s.error.map(|e| e.message),
                ),
                None => (None, None),
            },
            Err(e) => (None, Some(e.to_string())),
        }
    }

    fn where_is(&self, name: &str) -> Result<String> {
        let h = self.host(name)?;
        Ok(format!("{name} ({}@{}:{})", h.user, h.address, h.port))
    }

    /// The plan of a verified reboot: the sudo check, the detached reboot command, and each
    /// phase with its budget.
    pub async fn plan_reboot(&self, name: &str) -> Result<Plan> {
        let h = self.host(name)?;
        let (now, warning) = self.host_now(name).await;
        let mut steps = vec![format!("read the boot id: {}", h.boot_id_command)];
        if h.reboot.sudo && h.user != "root" {
            steps.push(format!("check sudo: sudo -n -l {}", h.reboot.command));
        }
        steps.push(format!("send: {}", detached_reboot_command(&h)?));
        steps.push(format!(
            "shutdown: wait up to {}s for the connection to drop",
            h.reboot.shutdown_timeout.as_secs()
        ));
        steps.push(format!(
            "boot: knock on the SSH port every 250 ms, log in once it answers until the boot id changed, up to {}s (failed logins retried at most {}s apart)",
            h.reboot.boot_timeout.as_secs(),
            h.reboot.backoff_max.as_secs()
        ));
        steps.push(format!(
            "test command: {} until it succeeds, up to {}s",
            h.test_command,
            h.reboot.test_timeout.as_secs()
        ));
        Ok(Plan {
            action: "reboot".into(),
            target: self.where_is(name)?,
            now,
            steps,
            warning,
        })
    }

    /// The plan of commands run on a host, one after the other over one connection.
    pub fn plan_exec(&self, name: &str, commands: &[String]) -> Result<Plan> {
        let h = self.host(name)?;
        if commands.iter().any(|c| c.trim().is_empty()) {
            return Err(Error::invalid("a command is empty"));
        }
        Ok(Plan {
            action: "exec".into(),
            target: self.where_is(name)?,
            now: None,
            steps: commands
                .iter()
                .map(|c| format!("run: {c} (within {}s)", h.command_timeout.as_secs()))
                .collect(),
            warning: None,
        })
    }

    /// The runbook `runbook` on the host, found in its listing; a name that is not there is
    /// refused with the closest one, before anything is asked or run.
    pub async fn find_runbook(&self, name: &str, runbook: &str) -> Result<runbooks::Runbook> {
        runbooks::check_name(runbook)?;
        let books = self.runbooks(name).await?;
        books
            .iter()
            .find(|b| b.name == runbook)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: "runbook",
                name: runbook.to_string(),
                hint: Some(format!(
                    "{}runbooks on {name}: {}",
                    suggestion(runbook, books.iter().map(|b| b.name.as_str())),
                    books
                        .iter()
                        .map(|b| b.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            })
    }

    /// The plan of a runbook run: the exact command.
    pub async fn plan_runbook(&self, name: &str, runbook: &str) -> Result<Plan> {
        let found = self.find_runbook(name, runbook).await?;
        let h = self.host(name)?;
        Ok(Plan {
            action: "runbook".into(),
            target: self.where_is(name)?,
            now: None,
            steps: vec![format!(
                "run: {} (within {}s)",
                runbooks::run_command(&h.runbook_dir, &found.name),
                h.command_timeout.as_secs()
            )],
            warning: found
                .dangerous
                .then(|| "dangerous: its name must be typed to run it".into()),
        })
    }

    /// The plan of a host's removal from the config.
    pub fn plan_remove_host(&self, name: &str) -> Result<Plan> {
        Ok(Plan::new(
            "host-remove",
            self.where_is(name)?,
            None,
            vec![format!(
                "remove its [[hosts]] entry from {}",
                self.config().path.display()
            )],
        ))
    }

    /// The plan of forgetting a host's keys.
    pub fn plan_forget_key(&self, name: &str) -> Result<Plan> {
        let h = self.host(name)?;
        Ok(Plan::new(
            "forget-host-key",
            self.where_is(name)?,
            None,
            vec![format!(
                "remove every key line for {name}, {} and [{}]:{} from {}",
                h.address,
                h.address,
                h.port,
                self.config().known_hosts.display()
            )],
        ))
    }

    /// The plan of a flag switched on or off: its state read now, and the write.
    pub async fn plan_flag(&self, target: &super::FlagTarget, enabled: bool) -> Result<Plan> {
        let config = self
            .config()
            .flags_backend(target.backend.as_deref())?
            .clone();
        let now = self.flag_state(target).await?;
        let word = |on: bool| if on { "ON" } else { "OFF" };
        Ok(Plan::new(
            if enabled { "flag-on" } else { "flag-off" },
            format!(
                "{} in {} ({} `{}`)",
                target.key,
                target.environment,
                config.kind().as_str(),
                config.name
            ),
            Some(word(now.enabled).into()),
            vec![format!(
                "turn it {} through the service's API ({})",
                word(enabled),
                now.guard.explained()
            )],
        ))
    }

    /// The plan of `paaf flag undo ACTION_ID`: the flag that change switched, read now, and
    /// the write that sets it back.
    pub async fn plan_undo_flag(&self, action_id: i64) -> Result<Plan> {
        let (target, was_enabled, _) = self.flag_change_of(action_id)?;
        let mut plan = self.plan_flag(&target, was_enabled).await?;
        plan.action = "flag-undo".into();
        plan.target = format!("{} (undo of journal action {action_id})", plan.target);
        Ok(plan)
    }

    /// The plan of a silence: the matchers checked, the source and the call.
    pub fn plan_silence(
        &self,
        source: Option<&str>,
        matchers: &[String],
        duration: std::time::Duration,
    ) -> Result<Plan> {
        let (source, _, prefix) = self.silence_api(source)?;
        let matchers: Vec<String> = super::monitoring::parse_matchers(matchers)?
            .iter()
            .map(|m| m.to_string())
            .collect();
        Ok(Plan::new(
            "silence",
            format!("{} ({})", source.name, source.url),
            None,
            vec![format!(
                "POST {}/silences: {} for {}s",
                prefix.trim_end_matches('/'),
                matchers.join(" "),
                duration.as_secs()
            )],
        ))
    }

    /// The plan of a silence's end.
    pub fn plan_expire_silence(&self, source: Option<&str>, id: &str) -> Result<Plan> {
        let (source, _, prefix) = self.silence_api(source)?;
        Ok(Plan::new(
            "expire-silence",
            format!("silence {id} on {} ({})", source.name, source.url),
            None,
            vec![format!(
                "DELETE {}/silence/{id}",
                prefix.trim_end_matches('/')
            )],
        ))
    }
}

impl Plan {
    /// A plan without a warning.
    pub fn new(action: &str, target: String, now: Option<String>, steps: Vec<String>) -> Plan {
        Plan {
            action: action.into(),
            target,
            now,
            steps,
            warning: None,
        }
    }
}

#[cfg(feature = "cloud")]
impl Paaf {
    /// The plan of a cloud server's reboot, stop or start: the server found now, the
    /// provider call, the wait, and the SSH verification where the server is also a host.
    pub async fn plan_server_power(
        &self,
        account: Option<&str>,
        server: &str,
        action: crate::cloud::PowerAction,
    ) -> Result<Plan> {
        let found = self.find_server(account, server).await?;
        let label = found.name.clone().unwrap_or_else(|| found.id.clone());
        let mut steps = vec![
            format!(
                "{} API: {} server {} in {}/{}",
                found.provider,
                action.as_str(),
                found.id,
                found.account,
                found.region
            ),
            format!("follow it until the provider reports {}", action.target()),
        ];
        let reboot = matches!(
            action,
            crate::cloud::PowerAction::Reboot | crate::cloud::PowerAction::HardReboot
        );
        if reboot && let Some(host) = self.host_of(&found) {
            steps.push(format!(
                "verify over SSH as host {}: a new boot id, then `{}`",
                host.name, host.test_command
            ));
        }
        Ok(Plan::new(
            &format!("server-{}", action.as_str()),
            format!(
                "{label} ({} in {}/{})",
                found.id, found.account, found.region
            ),
            Some(format!("{} ({})", found.status, found.raw_state)),
            steps,
        ))
    }

    /// The plan of a rolling reboot of `selected`: its batches in order, each followed and
    /// health-checked before the next.
    pub fn plan_rolling(
        &self,
        plan: &super::RollingPlan,
        selected: &[crate::cloud::Server],
    ) -> Plan {
        let batches: Vec<String> = selected
            .chunks(plan.batch.max(1))
            .enumerate()
            .map(|(i, batch)| {
                format!(
                    "batch {}: {} {}, then wait for running{}",
                    i + 1,
                    if plan.hard { "hard reboot" } else { "reboot" },
                    batch
                        .iter()
                        .map(|s| s.name.clone().unwrap_or_else(|| s.id.clone()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if plan.health.is_some() {
                        format!(" and healthy (within {}s)", plan.health_timeout.as_secs())
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        Plan::new(
            "rolling-reboot",
            format!("{} servers", selected.len()),
            Some(format!("{} running", selected.len())),
            batches,
        )
    }
}
