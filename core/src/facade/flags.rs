//! Protect: the facade's feature-flag calls — list the flags of every service, turn one off or
//! on in one environment (journaled with the state before, so it can be undone), undo.

use super::{Confirmation, Paaf};
use crate::config::{FlagsConfig, FlagsKind};
use crate::error::{Error, ErrorInfo, Result};
use crate::flags::devcycle::{self, DevCycle};
use crate::flags::envfile::{self, EnvFileSettings};
use crate::flags::featbit::FeatBit;
use crate::flags::flagsmith::Flagsmith;
use crate::flags::launchdarkly::LaunchDarkly;
use crate::flags::optimizely::Optimizely;
use crate::flags::unleash::Unleash;
use crate::flags::{ChangeNote, Flag, FlagBackend, FlagFilter, FlagRef, FlagState};
use crate::http::Limits;
use crate::journal::ActionState;
use crate::ssh::{SshPool, Target};
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

/// The configured service, connected. One arm per kind of service.
enum Backend {
    Unleash(Unleash),
    DevCycle(Box<DevCycle>),
    Optimizely(Optimizely),
    LaunchDarkly(LaunchDarkly),
    Flagsmith(Flagsmith),
    FeatBit(FeatBit),
    /// Over SSH, through the facade's connection pool.
    EnvFile(Box<EnvFile>),
}

struct EnvFile {
    name: String,
    settings: EnvFileSettings,
    target: Target,
    pool: SshPool,
}

/// Calls the same method on whichever HTTP backend it is, or runs the env-file work.
macro_rules! on_backend {
    ($backend:expr, $b:ident => $call:expr, $e:ident => $envfile:expr) => {
        match $backend {
            Backend::Unleash($b) => $call,
            Backend::DevCycle($b) => $call,
            Backend::Optimizely($b) => $call,
            Backend::LaunchDarkly($b) => $call,
            Backend::Flagsmith($b) => $call,
            Backend::FeatBit($b) => $call,
            Backend::EnvFile($e) => $envfile,
        }
    };
}

impl Backend {
    async fn list(&self, filter: &FlagFilter) -> Result<Vec<Flag>> {
        on_backend!(self, b => b.list(filter).await, e => {
            let (s, name) = (e.settings.clone(), e.name.clone());
            let flags = e
                .pool
                .with_connection(e.target.clone(), move |c| envfile::list_flags(c, &s))
                .await?;
            let query = filter.query.as_deref().map(str::to_lowercase);
            Ok(flags
                .iter()
                .filter(|f| f.enabled.is_some())
                .filter(|f| query.as_ref().is_none_or(|q| f.key.to_lowercase().contains(q)))
                .map(|f| f.to_flag(&name, &e.settings))
                .collect())
        })
    }

    async fn state(&self, flag: &FlagRef<'_>) -> Result<FlagState> {
        on_backend!(self, b => b.state(flag).await, e => {
            let (s, key) = (e.settings.clone(), flag.key.to_string());
            e.pool
                .with_connection(e.target.clone(), move |c| envfile::flag_state(c, &s, &key))
                .await
        })
    }

    async fn set(
        &self,
        flag: &FlagRef<'_>,
        enabled: bool,
        expected: &FlagState,
        note: &ChangeNote,
    ) -> Result<FlagState> {
        on_backend!(self, b => b.set(flag, enabled, expected, note).await, e => {
            let (s, key, expected) = (e.settings.clone(), flag.key.to_string(), expected.clone());
            let change = e
                .pool
                .with_connection(e.target.clone(), move |c| {
                    envfile::set_flag(c, &s, &key, enabled, &expected)
                })
                .await?;
            Ok(change.state)
        })
    }
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
    match (&config.project, config.kind) {
        (Some(p), _) => p.clone(),
        (None, FlagsKind::Unleash) => "default".to_string(),
        (None, _) => String::new(),
    }
}

fn on_off(enabled: bool) -> &'static str {
    if enabled { "on" } else { "off" }
}

impl Paaf {
    fn flags_backend(&self, config: &FlagsConfig) -> Result<Backend> {
        let secret = |r: &Option<crate::secrets::SecretRef>| {
            r.as_ref()
                .ok_or_else(|| Error::other(format!("{}: a secret is missing", config.name)))?
                .resolve(self.secrets.as_ref())
        };
        let limits = Limits::with_timeout(config.timeout);
        let project = config.project.as_deref().unwrap_or_default();
        Ok(match config.kind {
            FlagsKind::Unleash => Backend::Unleash(Unleash::connect(
                &config.name,
                &config.url,
                secret(&config.token)?,
                limits,
            )?),
            FlagsKind::Devcycle => Backend::DevCycle(Box::new(DevCycle::connect(
                &config.name,
                &config.url,
                config.client_id.as_deref().unwrap_or_default(),
                secret(&config.client_secret)?,
                limits,
                project,
                config
                    .auth_url
                    .as_deref()
                    .unwrap_or(devcycle::DEFAULT_AUTH_URL),
            )?)),
            FlagsKind::Optimizely => Backend::Optimizely(Optimizely::connect(
                &config.name,
                &config.url,
                secret(&config.token)?,
                limits,
                project,
            )?),
            FlagsKind::Launchdarkly => Backend::LaunchDarkly(LaunchDarkly::connect(
                &config.name,
                &config.url,
                secret(&config.token)?,
                limits,
                config.project.as_deref().unwrap_or("default"),
                &config.environments.keys().cloned().collect::<Vec<_>>(),
            )?),
            FlagsKind::Flagsmith => Backend::Flagsmith(Flagsmith::connect(
                &config.name,
                &config.url,
                secret(&config.token)?,
                limits,
                project.parse().unwrap_or_default(),
                &config.environments,
            )?),
            FlagsKind::Featbit => Backend::FeatBit(FeatBit::connect(
                &config.name,
                &config.url,
                secret(&config.token)?,
                limits,
                project,
                &config.environments,
            )?),
            FlagsKind::EnvFile => {
                let settings = config.env_file.clone().ok_or_else(|| {
                    Error::other(format!("{}: no env-file settings", config.name))
                })?;
                let host = self.host(&settings.host)?;
                Backend::EnvFile(Box::new(EnvFile {
                    name: config.name.clone(),
                    target: self.target(&host)?,
                    pool: self.pool.clone(),
                    settings,
                }))
            }
        })
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
        let (backend_ref, note_ref, project_ref) = (&backend, &note, &project);
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
        let now = FlagState {
            enabled: row.kind == "flag-on",
            version: None,
        };
        self.set_flag(&target, was_enabled, &now, confirm).await
    }
}
