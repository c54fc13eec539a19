//! Protect: the facade's feature-flag calls — list the flags of every service, turn one off or
//! on in one environment (journaled with the state before, so it can be undone), undo.

use super::{Confirmation, Paaf};
use crate::config::FlagsConfig;
use crate::error::{Error, ErrorInfo, Result};
use crate::flags::{
    self, ChangeNote, Connector, DynFlagBackend, Flag, FlagFilter, FlagRef, FlagState,
};
use crate::journal::ActionState;
use serde::{Deserialize, Serialize};

/// The flags of one service, or why they could not be read: one failing service never hides
/// the others.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BackendFlags {
    pub backend: String,
    pub flags: Vec<Flag>,
    pub error: Option<ErrorInfo>,
}

/// Which flag, where, as a front-end names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FlagTarget {
    /// The `[[flags]]` service; the only one when `None`.
    pub backend: Option<String>,
    /// Empty: the service's configured project (Unleash: `default`).
    #[serde(default)]
    pub project: String,
    pub key: String,
    pub environment: String,
}

/// A flag switched by paaf: where, and the state before and after.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FlagChange {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub action_id: i64,
    pub backend: String,
    pub project: String,
    pub key: String,
    pub environment: String,
    pub was_enabled: bool,
    pub enabled: bool,
}

/// The journal's detail of a flag change: readable, and parsed back by `undo_flag`.
fn change_detail(backend: &str, project: &str, key: &str, env: &str, was: bool) -> String {
    format!(
        "backend={backend} project={project} flag={key} env={env} was={}",
        on_off(was)
    )
}

/// The target's project, else the service's configured one (Unleash: `default`).
fn project_of(config: &FlagsConfig, target: &FlagTarget) -> String {
    if !target.project.trim().is_empty() {
        return target.project.trim().to_string();
    }
    config.project().unwrap_or_default()
}

fn on_off(enabled: bool) -> &'static str {
    if enabled { "on" } else { "off" }
}

impl Paaf {
    /// The configured service, connected (env-file flags through the facade's SSH pool).
    fn flags_backend(&self, config: &FlagsConfig) -> Result<Box<dyn DynFlagBackend>> {
        let ssh = |host: &str| Ok((self.target(&self.host(host)?)?, self.pool.clone()));
        let connector = Connector {
            secrets: self.secrets.as_ref(),
            ssh: &ssh,
        };
        flags::connect(config, &connector)
    }

    /// The flags of every flag service (or only `backend`), read concurrently.
    pub async fn flags(
        &self,
        backend: Option<&str>,
        filter: &FlagFilter,
    ) -> Result<Vec<BackendFlags>> {
        let configs: Vec<FlagsConfig> = match backend {
            Some(name) => vec![self.config().flags_backend(Some(name))?.clone()],
            None => self.config().flags.clone(),
        };
        let reads = configs.iter().map(|c| async move {
            let result = match self.flags_backend(c) {
                Ok(b) => b.list(filter).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(flags) => BackendFlags {
                    backend: c.name.clone(),
                    flags,
                    error: None,
                },
                Err(e) => BackendFlags {
                    backend: c.name.clone(),
                    flags: Vec::new(),
                    error: Some(ErrorInfo::from(&e)),
                },
            }
        });
        Ok(futures::future::join_all(reads).await)
    }

    /// The flag's state in one environment, read now (what a confirmation shows).
    pub async fn flag_state(&self, target: &FlagTarget) -> Result<FlagState> {
        let config = self
            .config()
            .flags_backend(target.backend.as_deref())?
            .clone();
        let backend = self.flags_backend(&config)?;
        let project = project_of(&config, target);
        backend
            .state(&FlagRef {
                project: &project,
                key: &target.key,
                environment: &target.environment,
            })
            .await
    }

    /// Turns the flag on or off in one environment if it is still `expected` (the state the
    /// user saw when confirming); journaled with the state before, for `undo_flag`.
    pub async fn set_flag(
        &self,
        target: &FlagTarget,
        enabled: bool,
        expected: &FlagState,
        confirm: &Confirmation,
    ) -> Result<FlagChange> {
        let config = self
            .config()
            .flags_backend(target.backend.as_deref())?
            .clone();
        confirm.require(&format!(
            "turning {} {} in {}",
            target.key,
            on_off(enabled),
            target.environment
        ))?;
        let backend = self.flags_backend(&config)?;
        let project = project_of(&config, target);
        let kind = if enabled { "flag-on" } else { "flag-off" };
        let detail = change_detail(
            &config.name,
            &project,
            &target.key,
            &target.environment,
            expected.enabled,
        );
        let flag_target = format!("{}@{}", target.key, target.environment);
        let note = ChangeNote {
            comment: format!(
                "paaf: {} via {}@{}",
                self.actor.operator, self.actor.frontend, self.actor.device
            ),
        };
        let (backend_ref, note_ref, project_ref) = (backend.as_ref(), &note, &project);
        let (action_id, new_state) = self
            .journaled(
                kind,
                &flag_target,
                &detail,
                |started| async move {
                    started.now();
                    let flag = FlagRef {
                        project: project_ref,
                        key: &target.key,
                        environment: &target.environment,
                    };
                    let state = backend_ref.set(&flag, enabled, expected, note_ref).await?;
                    Ok((started.id, state))
                },
                |(_, s): &(i64, FlagState)| {
                    (
                        ActionState::Succeeded,
                        format!("{} -> {}", on_off(expected.enabled), on_off(s.enabled)),
                    )
                },
            )
            .await?;
        Ok(FlagChange {
            action_id,
            backend: config.name,
            project: project.clone(),
            key: target.key.clone(),
            environment: target.environment.clone(),
            was_enabled: expected.enabled,
            enabled: new_state.enabled,
        })
    }

    /// Undoes the flag change journaled as `action_id`: sets the flag back to the state it had
    /// before, if nobody changed it since.
    pub async fn undo_flag(&self, action_id: i64, confirm: &Confirmation) -> Result<FlagChange> {
        let row = self
            .journal
            .get(action_id)?
            .ok_or_else(|| Error::NotFound {
                what: "journal action",
                name: action_id.to_string(),
                hint: Some("see the ids with `paaf journal`".into()),
            })?;
        if !matches!(row.kind.as_str(), "flag-on" | "flag-off")
            || row.state != ActionState::Succeeded
        {
            return Err(Error::invalid(format!(
                "action {action_id} is a {} ({}); only a flag change that succeeded can be undone",
                row.kind,
                row.state.as_str()
            )));
        }
        let field = |name: &str| {
            row.detail
                .split(' ')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(str::to_string)
                .ok_or_else(|| Error::other(format!("journal action {action_id} lacks `{name}`")))
        };
        let target = FlagTarget {
            backend: Some(field("backend")?),
            project: field("project")?,
            key: field("flag")?,
            environment: field("env")?,
        };
        let was_enabled = field("was")? == "on";
        let now = FlagState::best_effort(row.kind == "flag-on");
        self.set_flag(&target, was_enabled, &now, confirm).await
    }
}
