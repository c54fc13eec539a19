//! Protect: the facade's feature-flag calls — list the flags of every service, turn one off or
//! on in one environment (journaled with the state before, so it can be undone), undo.

use super::{Confirmation, Paaf};
use crate::config::FlagsConfig;
use crate::error::{Error, ErrorInfo, Result};
use crate::flags::{
    self, ChangeNote, Connector, DynFlagBackend, Flag, FlagFilter, FlagRef, FlagState, FlagSwitch,
};
use crate::journal::{ActionData, ActionKind, ActionState, NewAction};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
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

/// The journal's line for a flag change (what people read; undo reads the action's data).
fn change_detail(change: &ActionData) -> String {
    match change {
        ActionData::FlagChange {
            backend,
            project,
            flag,
            environment,
            was_enabled,
        } => format!(
            "backend={backend} project={project} flag={flag} env={environment} was={}",
            on_off(*was_enabled)
        ),
        other => format!("{other:?}"),
    }
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

/// A flag service's config and its connection.
type Connected = (FlagsConfig, Arc<dyn DynFlagBackend>);

/// The flag services one run (a Protect or a Stand down) has connected, each once for all its
/// steps: one read of its secret (the system keyring answers synchronously, on the thread that
/// runs every step of the run) and one HTTP client whose connections the steps share.
#[derive(Default)]
pub(crate) struct FlagServices {
    connected: Mutex<HashMap<String, Arc<dyn DynFlagBackend>>>,
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

    /// The service `config` names, connected once per `services` (or now, without).
    fn flag_service(
        &self,
        config: &FlagsConfig,
        services: Option<&FlagServices>,
    ) -> Result<Arc<dyn DynFlagBackend>> {
        let Some(services) = services else {
            return self.flags_backend(config).map(Arc::from);
        };
        if let Some(found) = services.connected.lock().unwrap().get(&config.name) {
            return Ok(found.clone());
        }
        let connected: Arc<dyn DynFlagBackend> = Arc::from(self.flags_backend(config)?);
        services
            .connected
            .lock()
            .unwrap()
            .insert(config.name.clone(), connected.clone());
        Ok(connected)
    }

    /// The states of several flags, in order, each service asked once for all of its flags
    /// (which it answers in one read where it can, see [`flags::FlagBackend::states`]).
    pub(super) async fn flag_states(
        &self,
        targets: &[FlagTarget],
        services: &FlagServices,
    ) -> Vec<Result<FlagState>> {
        // Each service once, with the indexes of its flags; a service that cannot be reached
        // (unknown, its secret missing) has each flag read alone, for each its own error.
        let mut names: Vec<Option<String>> = Vec::new();
        let mut by_service: Vec<(Option<Connected>, Vec<usize>)> = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            match names.iter().position(|n| *n == target.backend) {
                Some(at) => by_service[at].1.push(i),
                None => {
                    let config = self
                        .config()
                        .flags_backend(target.backend.as_deref())
                        .ok()
                        .cloned();
                    let service = config.and_then(|c| {
                        let backend = self.flag_service(&c, Some(services)).ok()?;
                        Some((c, backend))
                    });
                    names.push(target.backend.clone());
                    by_service.push((service, vec![i]));
                }
            }
        }
        let reads = by_service.iter().map(|(service, members)| async move {
            let Some((config, backend)) = service else {
                let alone = members
                    .iter()
                    .map(|&i| self.flag_state_via(&targets[i], Some(services)));
                return futures::future::join_all(alone).await;
            };
            let projects: Vec<String> = members
                .iter()
                .map(|&i| project_of(config, &targets[i]))
                .collect();
            let refs: Vec<FlagRef<'_>> = members
                .iter()
                .zip(&projects)
                .map(|(&i, project)| FlagRef {
                    project,
                    key: &targets[i].key,
                    environment: &targets[i].environment,
                })
                .collect();
            backend.states(&refs).await
        });
        let mut states: Vec<Option<Result<FlagState>>> = targets.iter().map(|_| None).collect();
        for ((_, members), read) in by_service
            .iter()
            .zip(futures::future::join_all(reads).await)
        {
            for (&i, state) in members.iter().zip(read) {
                states[i] = Some(state);
            }
        }
        states
            .into_iter()
            .map(|s| s.unwrap_or_else(|| Err(Error::other("the flag was not read"))))
            .collect()
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
        self.flag_state_via(target, None).await
    }

    /// [`Paaf::flag_state`], through the service connected once per `services`.
    pub(super) async fn flag_state_via(
        &self,
        target: &FlagTarget,
        services: Option<&FlagServices>,
    ) -> Result<FlagState> {
        let config = self
            .config()
            .flags_backend(target.backend.as_deref())?
            .clone();
        let backend = self.flag_service(&config, services)?;
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
        self.switch_flag(target, enabled, expected, false, confirm, None)
            .await
            .map(|(change, _)| change)
    }

    /// [`Paaf::set_flag`]; `expected_is_now`: `expected` was read just now, with no
    /// confirmation in between (see [`FlagSwitch::expected_is_now`]); through the service
    /// connected once per `services`, when given. Also says whether the change's `enabled` is
    /// the service's own word after the write, which proves it.
    pub(super) async fn switch_flag(
        &self,
        target: &FlagTarget,
        enabled: bool,
        expected: &FlagState,
        expected_is_now: bool,
        confirm: &Confirmation,
        services: Option<&FlagServices>,
    ) -> Result<(FlagChange, bool)> {
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
        let backend = self.flag_service(&config, services)?;
        let project = project_of(&config, target);
        let kind = if enabled {
            ActionKind::FlagOn
        } else {
            ActionKind::FlagOff
        };
        let change = ActionData::FlagChange {
            backend: config.name.clone(),
            project: project.clone(),
            flag: target.key.clone(),
            environment: target.environment.clone(),
            was_enabled: expected.enabled,
        };
        let detail = change_detail(&change);
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
                NewAction::new(kind, &flag_target, &detail).with_data(change),
                |started| async move {
                    started.now()?;
                    let flag = FlagRef {
                        project: project_ref,
                        key: &target.key,
                        environment: &target.environment,
                    };
                    let switch = FlagSwitch {
                        flag: &flag,
                        enabled,
                        expected,
                        note: note_ref,
                        expected_is_now,
                    };
                    let state = backend_ref.set(&switch).await?;
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
        let change = FlagChange {
            action_id,
            backend: config.name,
            project: project.clone(),
            key: target.key.clone(),
            environment: target.environment.clone(),
            was_enabled: expected.enabled,
            enabled: new_state.enabled,
        };
        Ok((change, backend.set_answers_read_back()))
    }

    /// Undoes the flag change journaled as `action_id`: sets the flag back to the state it had
    /// before, if nobody changed it since.
    pub async fn undo_flag(&self, action_id: i64, confirm: &Confirmation) -> Result<FlagChange> {
        let (target, was_enabled, kind) = self.flag_change_of(action_id)?;
        let now = FlagState::best_effort(kind == ActionKind::FlagOn);
        self.set_flag(&target, was_enabled, &now, confirm).await
    }

    /// The flag change journaled as `action_id`: which flag, the state it had before, and
    /// whether the change turned it on or off. Only a change that succeeded can be undone.
    pub(super) fn flag_change_of(&self, action_id: i64) -> Result<(FlagTarget, bool, ActionKind)> {
        let row = self
            .journal
            .get(action_id)?
            .ok_or_else(|| Error::NotFound {
                what: "journal action",
                name: action_id.to_string(),
                hint: Some("see the ids with `paaf journal`".into()),
            })?;
        let (ActionKind::FlagOn | ActionKind::FlagOff, ActionState::Succeeded) =
            (row.kind, row.state)
        else {
            return Err(Error::invalid(format!(
                "action {action_id} is a {} ({}); only a flag change that succeeded can be undone",
                row.kind,
                row.state.as_str()
            )));
        };
        let Some(ActionData::FlagChange {
            backend,
            project,
            flag,
            environment,
            was_enabled,
        }) = row.data
        else {
            return Err(Error::other(format!(
                "journal action {action_id} does not say which flag it changed, so it cannot be undone; set the flag by hand (`paaf flag on|off`)"
            )));
        };
        let target = FlagTarget {
            backend: Some(backend),
            project,
            key: flag,
            environment,
        };
        Ok((target, was_enabled, row.kind))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::secrets::{MemoryStore, SecretStore};
    use std::sync::{Arc, Mutex};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    /// Unleash flags in one environment, answering the admin API's read and on/off calls
    /// (https://docs.getunleash.io/reference/api/unleash) for whatever names it is asked
    /// about (each flag starting in the same state), and remembering the names each switch
    /// was sent for.
    #[derive(Clone)]
    pub(crate) struct FakeUnleash {
        /// Every flag's state until it is switched.
        initial: bool,
        /// The flags switched, by key.
        enabled: Arc<Mutex<std::collections::HashMap<String, bool>>>,
        switched: Arc<Mutex<Vec<Vec<String>>>>,
        /// Switches are answered 200 but change nothing (a server that lies).
        ignores_switches: Arc<Mutex<bool>>,
    }

    impl wiremock::Respond for FakeUnleash {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let segments: Vec<String> = request
                .url
                .path_segments()
                .into_iter()
                .flatten()
                .map(|s| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .collect();
            // api/admin/projects/{p}/features/{f}[/environments/{env}/on|off]
            match (request.method.as_str(), segments.as_slice()) {
                // A project's flags: the ten a parallel playbook of the tests names.
                ("GET", [_, _, _, _, features]) if features == "features" => {
                    let features: Vec<serde_json::Value> = (0..10)
                        .map(|i| {
                            let flag = format!("f{i}");
                            serde_json::json!({
                                "name": flag,
                                "environments": [{"name": ENV, "enabled": self.state_of(&flag)}]
                            })
                        })
                        .collect();
                    ResponseTemplate::new(200)
                        .set_body_json(serde_json::json!({ "features": features }))
                }
                ("GET", [_, _, _, _, _, flag]) => {
                    let enabled = self.state_of(flag);
                    ResponseTemplate::new(200).set_body_json(serde_json::json!({
                        "environments": [{"name": ENV, "enabled": enabled}]
                    }))
                }
                ("POST", [_, _, _, project, _, flag, _, env, switch]) => {
                    if !*self.ignores_switches.lock().unwrap() {
                        self.enabled
                            .lock()
                            .unwrap()
                            .insert(flag.clone(), switch == "on");
                    }
                    self.switched.lock().unwrap().push(vec![
                        project.clone(),
                        flag.clone(),
                        env.clone(),
                        switch.clone(),
                    ]);
                    ResponseTemplate::new(200)
                }
                _ => ResponseTemplate::new(404),
            }
        }
    }

    pub(crate) const PROJECT: &str = "my \"team\" project";
    pub(crate) const FLAG: &str = "new checkout";
    pub(crate) const ENV: &str = "prod \"eu\" west";

    impl FakeUnleash {
        pub(crate) async fn start(enabled: bool) -> (FakeUnleash, MockServer) {
            let fake = FakeUnleash {
                initial: enabled,
                enabled: Arc::default(),
                switched: Arc::default(),
                ignores_switches: Arc::default(),
            };
            let server = MockServer::start().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(fake.clone())
                .mount(&server)
                .await;
            (fake, server)
        }

        /// [`FLAG`]'s state.
        pub(crate) fn enabled(&self) -> bool {
            self.state_of(FLAG)
        }

        fn state_of(&self, flag: &str) -> bool {
            *self
                .enabled
                .lock()
                .unwrap()
                .get(flag)
                .unwrap_or(&self.initial)
        }

        pub(crate) fn switched(&self) -> Vec<Vec<String>> {
            self.switched.lock().unwrap().clone()
        }

        /// From now on, switches are answered 200 and change nothing.
        pub(crate) fn ignore_switches(&self) {
            *self.ignores_switches.lock().unwrap() = true;
        }
    }

    /// A paaf whose only flag service is the fake Unleash at `url`, with `more` config.
    pub(crate) fn paaf_with_unleash(dir: &std::path::Path, url: &str, more: &str) -> Paaf {
        let store = Arc::new(MemoryStore::default());
        store
            .set("unleash", &secrecy::SecretString::from("*:*.paaf-test"))
            .unwrap();
        let text = format!(
            "[[flags]]\nname = \"saas\"\ntype = \"unleash\"\nurl = \"{url}\"\ntoken = \"keyring:unleash\"\n{more}"
        );
        Paaf::open_text(&dir.join("config.toml"), &text, store, "test").unwrap()
    }

    pub(crate) fn target() -> FlagTarget {
        FlagTarget {
            backend: None,
            project: PROJECT.into(),
            key: FLAG.into(),
            environment: ENV.into(),
        }
    }

    /// A paaf on a new fake Unleash whose flag is on, with the state the user saw (the server
    /// and the config's directory live as long as the guards).
    async fn seen_on() -> (FakeUnleash, MockServer, tempfile::TempDir, Paaf, FlagState) {
        let (unleash, server) = FakeUnleash::start(true).await;
        let dir = tempfile::tempdir().unwrap();
        let paaf = paaf_with_unleash(dir.path(), &server.uri(), "");
        let before = paaf.flag_state(&target()).await.unwrap();
        (unleash, server, dir, paaf, before)
    }

    #[tokio::test]
    async fn a_flag_whose_names_have_spaces_and_quotes_is_undone_where_it_was_changed() {
        let (unleash, _server, _dir, paaf, before) = seen_on().await;
        let change = paaf
            .set_flag(&target(), false, &before, &Confirmation::Yes)
            .await
            .unwrap();
        assert!(!unleash.enabled());

        let undone = paaf
            .undo_flag(change.action_id, &Confirmation::Yes)
            .await
            .unwrap();
        assert!(unleash.enabled(), "the undo turned it back on");
        assert_eq!(
            (
                undone.backend.as_str(),
                undone.project.as_str(),
                undone.key.as_str()
            ),
            ("saas", PROJECT, FLAG)
        );
        assert_eq!(undone.environment, ENV);
        let names = |s: &str| vec![PROJECT.to_string(), FLAG.into(), ENV.into(), s.into()];
        assert_eq!(unleash.switched(), [names("off"), names("on")]);
    }

    #[tokio::test]
    async fn a_flag_is_not_switched_when_the_journal_cannot_record_that_the_change_starts() {
        let (unleash, _server, _dir, paaf, before) = seen_on().await;
        // The journal takes the pending row, then refuses the `running` one (a full disk, an
        // I/O error): the change must not be sent, or a crash would leave it "not started".
        rusqlite::Connection::open(&paaf.config().journal)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER refuse_running BEFORE UPDATE OF state ON actions
                 WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;",
            )
            .unwrap();
        let err = paaf
            .set_flag(&target(), false, &before, &Confirmation::Yes)
            .await
            .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Journal, "{err}");
        assert!(err.to_string().contains("nothing was sent"), "{err}");
        assert!(unleash.switched().is_empty(), "{:?}", unleash.switched());
        assert!(unleash.enabled());
    }
}
