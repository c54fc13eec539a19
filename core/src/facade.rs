//! [`Paaf`]: the one entry point of every front-end. It checks confirmations, writes the
//! journal around every action, and hands the work to the feature modules.

use crate::config::{self, Auth, Config, HostConfig};
use crate::error::{Error, ErrorCode, ErrorInfo, Result};
use crate::events::{CancellationToken, Progress, ProgressSink};
use crate::inventory::{self, HostStatus};
use crate::journal::{
    self, ActionData, ActionKind, ActionRecord, ActionState, Actor, Journal, NewAction,
};
use crate::power::RebootReport;
use crate::power::ssh::RebootJob;
use crate::runbooks::{self, Runbook};
use crate::secrets::{SecretRef, SecretStore};
use crate::ssh::session::{self as ssh_session};
use crate::ssh::{
    Connection, Credentials, ExecOutput, HostKeyPolicy, LoginFiles, OfferedKey, SshPool, Target,
};
use secrecy::SecretString;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

mod deliveries;
mod fanout;
mod flags;
mod fleet_reboot;
mod host_metrics;
mod hosts;
mod incidents;
mod intents;
mod monitoring;
mod overview;
mod plan;
mod protect;
#[cfg(feature = "cloud")]
mod rolling;
#[cfg(feature = "cloud")]
mod servers;
mod team;

pub use deliveries::{DeliveryRound, ResendWhich, Resent};
pub use fanout::{
    DEFAULT_PARALLEL, FanOutJob, FanOutOptions, FanOutProgress, FanOutReport, FanOutSink,
    FanOutTally, HostOutcome, HostRun, LiveGroups, NoFanOutProgress, OutputGroup, fan_out_question,
};
pub use flags::{BackendFlags, FlagChange, FlagTarget};
pub use fleet_reboot::{
    FleetHostState, FleetRebootHost, FleetRebootOptions, FleetRebootReport, FleetRebootSink,
    fleet_reboot_question,
};
pub use hosts::{HostAdded, HostCheck, host_key_declined};
pub use incidents::{AlertRef, IncidentInput};
pub use intents::{IntentConfirmation, IntentOutcome};
pub use monitoring::{AnnotationInput, DashboardView, TimeWindow};
pub use overview::{Overview, OverviewLevel};
pub use plan::Plan;
#[cfg(feature = "cloud")]
pub use rolling::{RollingEvent, RollingFailure, RollingPlan, RollingReport};
#[cfg(feature = "cloud")]
pub use servers::ServerProgress;
pub use team::TeamSync;

/// How a person confirmed a destructive action.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Confirmation {
    /// Not confirmed: destructive actions are refused.
    None,
    /// Confirmed with a yes (a dialog, `--yes`).
    Yes,
    /// Confirmed by typing the target's name; required for dangerous runbooks.
    Typed(String),
}

impl Confirmation {
    fn require(&self, what: &str) -> Result<()> {
        match self {
            Confirmation::None => Err(Error::ConfirmationRequired {
                what: what.to_string(),
                how: "nothing was done without it".into(),
            }),
            _ => Ok(()),
        }
    }

    /// True when this is `expected` typed exactly: what a dangerous runbook needs (a
    /// front-end enables its confirm button on it; the run checks it again).
    pub fn is_typed(&self, expected: &str) -> bool {
        matches!(self, Confirmation::Typed(t) if t == expected)
    }

    fn require_typed(&self, what: &str, expected: &str) -> Result<()> {
        if self.is_typed(expected) {
            return Ok(());
        }
        Err(Error::ConfirmationRequired {
            what: what.to_string(),
            how: format!("it is dangerous: its name `{expected}` must be typed to confirm it"),
        })
    }
}

/// What a front-end shows about the paaf it talks to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct About {
    pub version: String,
    pub config_path: String,
    pub journal_path: String,
    pub operator: String,
    pub frontend: String,
    pub device: String,
    pub secret_backend: String,
}

/// paaf, opened on one config file.
pub struct Paaf {
    config: RwLock<Arc<Config>>,
    secrets: Arc<dyn SecretStore>,
    journal: Arc<Journal>,
    pool: SshPool,
    actor: Actor,
    /// Cancellation handles of the long actions under way, by journal action id.
    running: Mutex<HashMap<i64, CancellationToken>>,
    /// Delivers the incidents' notifications and annotations.
    courier: deliveries::Courier,
    /// A background loop of this facade is posting team timeline rows.
    team_looping: team::Looping,
}

impl Paaf {
    /// Loads the config at `config_path` and opens its journal; `frontend` names the caller
    /// in the journal (`cli`, `desktop`, `mobile`).
    pub fn open(config_path: &Path, secrets: Arc<dyn SecretStore>, frontend: &str) -> Result<Paaf> {
        let config = Config::load(config_path)?;
        let journal = Journal::open(&config.journal)?;
        let actor = Actor {
            operator: config.operator.clone().unwrap_or_else(whoami::username),
            frontend: frontend.to_string(),
            device: whoami::fallible::hostname().unwrap_or_else(|_| "unknown-device".into()),
        };
        let journal = Arc::new(journal);
        Ok(Paaf {
            config: RwLock::new(Arc::new(config)),
            courier: deliveries::Courier::new(journal.clone(), secrets.clone()),
            team_looping: Default::default(),
            secrets,
            journal,
            pool: SshPool::default(),
            actor,
            running: Mutex::new(HashMap::new()),
        })
    }

    /// Like [`Paaf::open`], for apps that hold the config text themselves (a phone app's
    /// settings): the text is validated, written to `config_path` (the journal and known_hosts
    /// sit beside it unless the text says otherwise), then opened.
    pub fn open_text(
        config_path: &Path,
        text: &str,
        secrets: Arc<dyn SecretStore>,
        frontend: &str,
    ) -> Result<Paaf> {
        config::write_validated(config_path, text)?;
        Paaf::open(config_path, secrets, frontend)
    }

    /// Names the device in the journal (a phone's name, which its hostname rarely is).
    pub fn with_device(mut self, device: &str) -> Paaf {
        if !device.trim().is_empty() {
            self.actor.device = device.trim().to_string();
        }
        self
    }

    /// The config as loaded (or as last changed through this facade).
    pub fn config(&self) -> Arc<Config> {
        self.config.read().expect("config lock poisoned").clone()
    }

    /// Version, paths and identity, for an "about" view.
    pub fn about(&self) -> About {
        let config = self.config();
        About {
            version: env!("CARGO_PKG_VERSION").to_string(),
            config_path: config.path.display().to_string(),
            journal_path: config.journal.display().to_string(),
            operator: self.actor.operator.clone(),
            frontend: self.actor.frontend.clone(),
            device: self.actor.device.clone(),
            secret_backend: self.secrets.backend().to_string(),
        }
    }

    /// Cancels the long action `action_id` (its id is in every progress event); false when no
    /// such action is under way.
    pub fn cancel(&self, action_id: i64) -> bool {
        match self
            .running
            .lock()
            .expect("running poisoned")
            .get(&action_id)
        {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Who the journal says acts.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The secret store backend in use ("secret-service", "keyutils", ...).
    pub fn secret_backend(&self) -> String {
        self.secrets.backend().to_string()
    }

    /// Stores a secret under `name` (referenced from the config as `keyring:NAME`).
    pub fn set_secret(&self, name: &str, value: &SecretString) -> Result<()> {
        SecretRef::parse(&format!("keyring:{name}")).map_err(Error::invalid)?;
        self.secrets.set(name, value)
    }

    fn host(&self, name: &str) -> Result<HostConfig> {
        self.config().host(name).cloned()
    }

    pub(crate) fn target(&self, host: &HostConfig) -> Result<Target> {
        self.target_with(host, self.secrets.as_ref(), &Arc::default())
    }

    /// The host's target, its secrets read from `store`, its known_hosts and key from `files`
    /// (shared by the targets of one fan-out, so each file is read once for all of them).
    fn target_with(
        &self,
        host: &HostConfig,
        store: &dyn SecretStore,
        files: &Arc<LoginFiles>,
    ) -> Result<Target> {
        let credentials = match &host.auth {
            Auth::Key { path, passphrase } => Credentials::Key {
                path: path.clone(),
                passphrase: passphrase.as_ref().map(|r| r.resolve(store)).transpose()?,
            },
            Auth::Password { password } => Credentials::Password(password.resolve(store)?),
            Auth::Agent => Credentials::Agent,
        };
        Ok(Target {
            name: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            user: host.user.clone(),
            credentials,
            connect_timeout: host.connect_timeout,
            known_hosts: self.config().known_hosts.clone(),
            legacy_algorithms: host.legacy_algorithms,
            files: files.clone(),
        })
    }

    /// Runs `work` as a journaled action: `pending` from here, `running` once the work calls
    /// [`Started::now`] (right before the first byte of the action reaches the target), then
    /// how it ended (see [`ActionState::after_error`] for a failure). In a journal group (a
    /// protect's parallel steps) it is written `running` with the group's other actions before
    /// the work starts, and its end with theirs.
    async fn journaled<T, F, Fut>(
        &self,
        action: NewAction<'_>,
        work: F,
        summary: impl Fn(&T) -> (ActionState, String),
    ) -> Result<T>
    where
        F: FnOnce(Started) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let group = journal::member();
        let id = match &group {
            Some(member) => member.begin(&self.actor, &action).await?,
            None => self.journal.begin(&self.actor, &action)?,
        };
        let started = Started {
            id,
            journal: self.journal.clone(),
            sent: Arc::default(),
            running: group.is_some(),
        };
        let sent = started.sent.clone();
        let result = work(started).await;
        let sent = sent.load(Ordering::SeqCst);
        match &group {
            Some(member) => {
                let (state, text, code) = how_it_ended(&result, sent, summary);
                // Annotated by the group's runner once the group's ends are written.
                member.end(id, state, &text, code);
            }
            None => self.record_end(id, &result, sent, summary),
        }
        result
    }

    /// Writes how action `id` ended: `summary` of the value, or the error with its code;
    /// `sent` says whether the action had reached its target.
    fn record_end<T>(
        &self,
        id: i64,
        result: &Result<T>,
        sent: bool,
        summary: impl Fn(&T) -> (ActionState, String),
    ) {
        let (state, text, code) = how_it_ended(result, sent, summary);
        if let Err(e) = self.journal.finish(id, state, &text, code) {
            tracing::error!("could not record the end of action {id}: {e}");
        }
        self.annotate_incident_action(id);
    }

    /// Replaces the config this facade works from.
    fn set_config(&self, config: Config) {
        *self.config.write().expect("config lock poisoned") = Arc::new(config);
    }

    /// Connects without logging in and reports the host key and what known_hosts says of it.
    pub async fn probe_host_key(&self, name: &str) -> Result<OfferedKey> {
        let host = self.host(name)?;
        let target = self.target_without_secrets(&host);
        self.pool
            .run(move || ssh_session::probe_host_key(&target))
            .await
    }

    fn target_without_secrets(&self, host: &HostConfig) -> Target {
        Target {
            name: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            user: host.user.clone(),
            credentials: Credentials::Agent,
            connect_timeout: host.connect_timeout,
            known_hosts: self.config().known_hosts.clone(),
            legacy_algorithms: host.legacy_algorithms,
            files: Arc::default(),
        }
    }

    /// Records the host's key in known_hosts if it still has `fingerprint` (the one the user
    /// confirmed), then checks that login works.
    pub async fn trust_host_key(&self, name: &str, fingerprint: &str) -> Result<()> {
        let host = self.host(name)?;
        let target = self.target(&host)?;
        let policy = HostKeyPolicy::AcceptNew(Some(fingerprint.to_string()));
        self.journaled(
            NewAction::new(ActionKind::TrustHostKey, name, fingerprint),
            |started| async move {
                started.now()?;
                self.pool
                    .with_fresh_connection(target, policy, |_| Ok(()))
                    .await
            },
            |_| {
                (
                    ActionState::Succeeded,
                    "host key recorded in known_hosts; login ok".into(),
                )
            },
        )
        .await
    }

    /// Removes the host's keys from known_hosts (after a legitimate key change).
    pub async fn forget_host_key(&self, name: &str) -> Result<usize> {
        let host = self.host(name)?;
        let target = self.target_without_secrets(&host);
        self.pool.forget(&target);
        self.journaled(
            NewAction::new(ActionKind::ForgetHostKey, name, ""),
            |started| async move {
                started.now()?;
                self.pool
                    .run(move || ssh_session::forget_host_key(&target))
                    .await
            },
            |n| {
                (
                    ActionState::Succeeded,
                    format!("{n} known_hosts entries removed"),
                )
            },
        )
        .await
    }

    /// The configured hosts, straight from the config (no network): instant, for first views.
    pub fn hosts(&self) -> Vec<inventory::HostSummary> {
        self.config()
            .hosts
            .iter()
            .map(inventory::HostSummary::from)
            .collect()
    }

    /// Live status of the hosts `selector` chooses (every host when it is empty), at most
    /// `parallel` probed at once.
    pub async fn status_of(
        &self,
        selector: &config::HostSelector,
        parallel: usize,
    ) -> Result<Vec<HostStatus>> {
        let names: Vec<String> = if selector.is_empty() {
            Vec::new()
        } else {
            self.config()
                .select(selector)?
                .into_iter()
                .map(|h| h.name.clone())
                .collect()
        };
        self.probe_hosts(&names, true, parallel).await
    }

    /// Live status of the named hosts (all when `names` is empty), probed concurrently
    /// ([`fanout::DEFAULT_PARALLEL`] at once), with their metrics (every Prometheus asked
    /// meanwhile), the most worrying first.
    pub async fn status(&self, names: &[String]) -> Result<Vec<HostStatus>> {
        self.probe_hosts(names, true, fanout::DEFAULT_PARALLEL)
            .await
    }

    /// [`Paaf::status`]; without `metrics` (a plan's or a protect step's "state now") it skips
    /// the 0.2 s CPU sample on the host and the Prometheus queries, which a confirmation would
    /// otherwise wait for (up to the Prometheus wait when one hangs). At most `parallel` hosts
    /// are probed at once.
    async fn probe_hosts(
        &self,
        names: &[String],
        metrics: bool,
        parallel: usize,
    ) -> Result<Vec<HostStatus>> {
        let config = self.config();
        let hosts: Vec<HostConfig> = if names.is_empty() {
            config.hosts.clone()
        } else {
            names
                .iter()
                .map(|n| config.host(n).cloned())
                .collect::<Result<_>>()?
        };
        // Probes start together; a host whose secrets are missing gets its error instead. A
        // secret, known_hosts and a key file shared by many hosts are read once for all.
        let secrets = fanout::ReadOnce::new(self.secrets.as_ref());
        let files = Arc::new(LoginFiles::default());
        // A fair semaphore: the hosts take the slots in about the order their tasks start.
        let slots = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
        let tasks: Vec<_> = hosts
            .iter()
            .map(|host| {
                let target = self.target_with(host, &secrets, &files)?;
                let cmd = inventory::probe_command(&host.boot_id_command, metrics);
                let (timeout, max) = (host.command_timeout, host.max_output_bytes);
                let (pool, slots) = (self.pool.clone(), slots.clone());
                Ok(tokio::spawn(async move {
                    let _slot = slots
                        .acquire_owned()
                        .await
                        .map_err(|e| Error::other(e.to_string()))?;
                    pool.with_connection(target, move |c| c.exec(&cmd, timeout, max))
                        .await
                }))
            })
            .collect();
        let exporters = if metrics {
            self.node_exporters().await
        } else {
            Vec::new()
        };
        let mut out = Vec::new();
        for (host, task) in hosts.iter().zip(tasks) {
            let result = match task {
                Ok(handle) => handle
                    .await
                    .map_err(|e| Error::other(e.to_string()))
                    .and_then(|r| r),
                Err(e) => Err(e),
            };
            let (error, probe) = match result {
                Ok(o) => (None, Some(inventory::parse_probe(&o.stdout))),
                Err(e) => (Some(ErrorInfo::from(&e)), None),
            };
            let levelled = metrics
                .then(|| host_metrics::metrics_of(host, &exporters, probe.as_ref()))
                .flatten();
            let probe = probe.unwrap_or_default();
            out.push(HostStatus {
                name: host.name.clone(),
                address: host.address.clone(),
                port: host.port,
                user: host.user.clone(),
                reachable: error.is_none(),
                error,
                uptime_secs: probe.uptime_secs,
                boot_id: probe.boot_id,
                os: probe.os,
                metrics: levelled,
                last_action: self.journal.last_for(&host.name)?,
            });
        }
        inventory::worst_first(&mut out);
        Ok(out)
    }

    /// Reboots the host and verifies it came back (new boot id, test command ok), streaming
    /// progress to `sink`; `cancel` stops waiting (the reboot itself may already be under way).
    pub async fn reboot(
        &self,
        name: &str,
        confirm: &Confirmation,
        sink: Arc<dyn ProgressSink>,
        cancel: CancellationToken,
    ) -> Result<RebootReport> {
        let host = self.host(name)?;
        confirm.require(&format!("reboot of {name}"))?;
        self.target(&host)?; // secrets missing: fail before anything is journaled as running
        let make_target = || self.target(&host);
        let (host_ref, target_ref) = (&host, &make_target);
        let report = self
            .journaled(
                NewAction::new(ActionKind::Reboot, name, &host.reboot.command),
                |started| async move {
                    let id = started.id;
                    let _cancellable = self.cancellable(id, &cancel);
                    let report = RebootJob {
                        pool: &self.pool,
                        host: host_ref,
                        target: target_ref,
                        progress: Progress {
                            action_id: id,
                            started: Instant::now(),
                            sink,
                        },
                        cancel,
                        sending: Box::new(move || started.now()),
                        external: None,
                        test_tries: None,
                    }
                    .run()
                    .await?;
                    self.record_down_time(id, name, &report);
                    Ok(report)
                },
                |r| (ActionState::Succeeded, r.summary()),
            )
            .await;
        self.pool.forget(&self.target_without_secrets(&host));
        report
    }

    /// Keeps how long a verified reboot's host was down with its journal row `id`.
    fn record_down_time(&self, id: i64, name: &str, report: &RebootReport) {
        let down = ActionData::Reboot {
            down_ms: report.boot_ms,
        };
        if let Err(e) = self.journal.set_data(id, &down) {
            tracing::warn!("cannot record how long {name} was down: {e}");
        }
    }

    /// Runs a command on the host (reusing an open connection), output bounded per stream.
    pub async fn exec(
        &self,
        name: &str,
        command: &str,
        confirm: &Confirmation,
    ) -> Result<ExecOutput> {
        let host = self.host(name)?;
        if command.trim().is_empty() {
            return Err(Error::invalid("the command is empty"));
        }
        confirm.require(&format!("running `{command}` on {name}"))?;
        let action = NewAction::new(ActionKind::Exec, name, command);
        self.journaled_exec(&host, command.to_string(), action)
            .await
    }

    /// Runs `cmd` on `host` as the journaled `action` (begun right before it runs), output
    /// bounded per stream as the host's config says.
    async fn journaled_exec(
        &self,
        host: &HostConfig,
        cmd: String,
        action: NewAction<'_>,
    ) -> Result<ExecOutput> {
        let target = self.target(host)?;
        let (timeout, max) = (host.command_timeout, host.max_output_bytes);
        self.journaled(
            action,
            |started| async move {
                self.pool
                    .with_connection(target, move |c: &mut Connection| {
                        started.now()?;
                        c.exec(&cmd, timeout, max)
                    })
                    .await
            },
            exec_summary,
        )
        .await
    }

    /// The runbooks in the host's runbook directory.
    pub async fn runbooks(&self, name: &str) -> Result<Vec<Runbook>> {
        let host = self.host(name)?;
        let target = self.target(&host)?;
        let cmd = runbooks::list_command(&host.runbook_dir);
        // The listing is not a command's output: a small `max_output_bytes` must not cut it
        // (a runbook left out would read "not found").
        let (timeout, max) = (
            host.command_timeout,
            host.max_output_bytes.max(runbooks::LIST_MAX_BYTES),
        );
        let out = self
            .pool
            .with_connection(target, move |c| c.exec(&cmd, timeout, max))
            .await?;
        match out.exit_code {
            0 if out.stdout_truncated => Err(Error::RemoteCommand {
                host: name.to_string(),
                command: "list runbooks".into(),
                exit_code: 0,
                stderr: format!(
                    "the names take more than {max} bytes; keep fewer runbooks in {}",
                    host.runbook_dir
                ),
            }),
            0 => Ok(runbooks::parse_list(&out.stdout)),
            runbooks::NO_DIR_EXIT => Err(Error::NotFound {
                what: "runbook directory",
                name: format!("{}:{}", name, host.runbook_dir),
                hint: Some(
                    "create it on the host, or set runbook_dir for this host in the config".into(),
                ),
            }),
            code => Err(Error::RemoteCommand {
                host: name.to_string(),
                command: "list runbooks".into(),
                exit_code: code,
                stderr: out.stderr.trim().to_string(),
            }),
        }
    }

    /// Runs one runbook; a dangerous one (`__name`) needs `Confirmation::Typed(name)`.
    pub async fn run_runbook(
        &self,
        name: &str,
        runbook: &str,
        confirm: &Confirmation,
    ) -> Result<ExecOutput> {
        // A mistyped name is refused (with the closest one) before the confirmation matters.
        // A host that cannot be asked for its runbooks now is asked about first: the run then
        // says why it failed (the runbook list is a convenience, not a safety check).
        if let Err(e) = self.find_runbook(name, runbook).await
            && matches!(e.code(), ErrorCode::NotFound | ErrorCode::InvalidInput)
        {
            return Err(e);
        }
        let what = format!("runbook {runbook} on {name}");
        if runbooks::is_dangerous(runbook) {
            confirm.require_typed(&what, runbook)?;
        } else {
            confirm.require(&what)?;
        }
        let host = self.host(name)?;
        let cmd = runbooks::run_command(&host.runbook_dir, runbook);
        let action = NewAction::new(ActionKind::Runbook, name, runbook);
        self.journaled_exec(&host, cmd, action).await
    }

    /// The newest journal rows first, optionally only those on one target.
    pub fn journal(&self, target: Option<&str>, limit: usize) -> Result<Vec<ActionRecord>> {
        self.journal.list(target, limit)
    }
}

/// Keeps a long action cancellable through [`Paaf::cancel`] until dropped.
struct Cancellable<'a> {
    running: &'a Mutex<HashMap<i64, CancellationToken>>,
    id: i64,
}

impl Paaf {
    /// Makes action `id` cancellable with `token` while the returned guard lives.
    fn cancellable(&self, id: i64, token: &CancellationToken) -> Cancellable<'_> {
        self.running
            .lock()
            .expect("running poisoned")
            .insert(id, token.clone());
        Cancellable {
            running: &self.running,
            id,
        }
    }
}

impl Drop for Cancellable<'_> {
    fn drop(&mut self) {
        self.running
            .lock()
            .expect("running poisoned")
            .remove(&self.id);
    }
}

/// Moves a pending action to `running`; called by the work right before it sends anything.
#[derive(Clone)]
struct Started {
    id: i64,
    journal: Arc<Journal>,
    /// Set once the action is `running`: from then on it may have reached its target.
    sent: Arc<AtomicBool>,
    /// Written `running` already (with its journal group).
    running: bool,
}

impl Started {
    /// Records that the action starts now. On error the work must send nothing: an action
    /// sent without this record would read "not started" after a crash.
    fn now(&self) -> Result<()> {
        if self.running {
            self.sent.store(true, Ordering::SeqCst);
            return Ok(());
        }
        self.journal.mark_running(self.id).map_err(|e| match e {
            Error::Journal { path, reason } => Error::Journal {
                path,
                reason: format!(
                    "cannot record that action {} starts ({reason}), so nothing was sent; check that the journal's file and disk are writable, then try again",
                    self.id
                ),
            },
            other => other,
        })?;
        self.sent.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// How an action ended: `summary` of its value, or its error with its code (`sent`: whether
/// it had reached its target, see [`ActionState::after_error`]).
fn how_it_ended<T>(
    result: &Result<T>,
    sent: bool,
    summary: impl Fn(&T) -> (ActionState, String),
) -> (ActionState, String, Option<&'static str>) {
    match result {
        Ok(v) => {
            let (state, text) = summary(v);
            (state, text, None)
        }
        Err(e) => (
            ActionState::after_error(e, sent),
            e.to_string(),
            Some(e.code().as_str()),
        ),
    }
}

fn exec_summary(o: &ExecOutput) -> (ActionState, String) {
    let state = if o.success() {
        ActionState::Succeeded
    } else {
        ActionState::Failed
    };
    (state, o.summary())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;

    #[test]
    fn an_action_is_cancellable_while_its_guard_lives() {
        let dir = tempfile::tempdir().unwrap();
        let paaf = Paaf::open_text(
            &dir.path().join("config.toml"),
            "",
            Arc::new(MemoryStore::default()),
            "test",
        )
        .unwrap();
        let token = CancellationToken::new();
        let guard = paaf.cancellable(7, &token);
        assert!(!paaf.cancel(8), "another action");
        assert!(paaf.cancel(7));
        assert!(token.is_cancelled());
        drop(guard);
        assert!(!paaf.cancel(7), "a finished action is no longer under way");
    }

    fn empty_paaf(dir: &Path) -> Paaf {
        Paaf::open_text(
            &dir.join("config.toml"),
            "",
            Arc::new(MemoryStore::default()),
            "test",
        )
        .unwrap()
    }

    /// Runs a journaled action whose work fails with `error`, after it was sent or before.
    async fn ending_with(paaf: &Paaf, error: Error, sent: bool) -> ActionRecord {
        let result: Result<()> = paaf
            .journaled(
                NewAction::new(ActionKind::Exec, "web-1", "uptime"),
                |started| async move {
                    if sent {
                        started.now()?;
                    }
                    Err(error)
                },
                |_| (ActionState::Succeeded, "ok".into()),
            )
            .await;
        assert!(result.is_err());
        paaf.journal(Some("web-1"), 1).unwrap().remove(0)
    }

    #[tokio::test]
    async fn an_action_whose_outcome_is_unknown_is_journaled_unknown_not_failed() {
        let dir = tempfile::tempdir().unwrap();
        let paaf = empty_paaf(dir.path());
        let unknown = Error::OutcomeUnknown {
            what: "creating the silence".into(),
            reason: "HTTP 502".into(),
        };
        let row = ending_with(&paaf, unknown, true).await;
        assert_eq!(row.state, ActionState::Unknown);
        assert_eq!(row.error_code.as_deref(), Some("outcome-unknown"));
        assert!(row.result.unwrap().contains("outcome unknown"));
    }

    #[tokio::test]
    async fn a_cancel_after_sending_is_unknown_and_before_sending_is_failed() {
        let dir = tempfile::tempdir().unwrap();
        let paaf = empty_paaf(dir.path());
        let cancelled = || Error::Cancelled {
            what: "reboot of web-1".into(),
        };
        let after = ending_with(&paaf, cancelled(), true).await;
        assert_eq!(after.state, ActionState::Unknown);
        assert_eq!(after.error_code.as_deref(), Some("cancelled"));
        let before = ending_with(&paaf, cancelled(), false).await;
        assert_eq!(before.state, ActionState::Failed);
        let failed = ending_with(&paaf, Error::other("refused"), true).await;
        assert_eq!(
            failed.state,
            ActionState::Failed,
            "other errors stay failed"
        );
    }
}
