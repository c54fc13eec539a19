//! paaf for phone apps: the core facade ([`paaf_core::Paaf`]) exported through uniffi.
//!
//! Thin by design: every function converts its arguments, calls the core and converts the
//! result. The records (hosts, journal rows, progress events, ...) are paaf-core's own types,
//! exported by its `uniffi` feature; what lives here is what only a foreign caller needs:
//! the object the app holds, the [`SecretStore`] and [`ProgressListener`] it implements, the
//! handle of a running reboot and the one error type.

mod error;
mod fleet;
mod operation;
mod screens;
mod secrets;

pub use error::PaafError;
pub use fleet::{
    FanOutAsk, FanOutListener, FanOutOperation, FanOutProgress, FanOutReport, FanOutTally,
    FleetChoices, FleetSelector,
};
pub use operation::{ProgressListener, RebootOperation, RunOperation, StepListener};
#[cfg(feature = "cloud")]
pub use operation::{ServerPowerListener, ServerPowerOperation};
pub use screens::*;
pub use secrets::SecretStore;

use paaf_core::config::HostInput;
use paaf_core::flags::{FlagFilter, FlagState};
use paaf_core::incident::postmortem::Postmortem;
use paaf_core::incident::steps::RunPlan;
use paaf_core::incident::team::TeamTimeline;
use paaf_core::incident::{Incident, IncidentDetail, IncidentEvent};
use paaf_core::inventory::{HostStatus, HostSummary};
use paaf_core::journal::ActionRecord;
use paaf_core::monitor::alert_list::SourceAlerts;
use paaf_core::monitor::alertmanager::Silence;
use paaf_core::monitor::grafana::{Dashboard, DashboardHit, PanelData, SearchQuery};
use paaf_core::monitor::prometheus::{QueryResult, Target};
use paaf_core::runbooks::Runbook;
use paaf_core::ssh::{ExecOutput, OfferedKey};
use paaf_core::{
    About, AnnotationInput, BackendFlags, Confirmation, DashboardView, FlagChange, FlagTarget,
    HostAdded, HostCheck, IncidentInput, Overview, TimeWindow,
};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

uniffi::setup_scaffolding!();

/// The one runtime the library's network work runs on: the foreign side awaits its tasks'
/// join handles, so calls work from any thread and any foreign executor.
pub(crate) static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("paaf")
        .enable_all()
        .build()
        .expect("paaf could not start its runtime")
});

/// Runs `work` on the library's runtime and awaits it from the caller's executor.
async fn on_runtime<T: Send + 'static>(
    work: impl Future<Output = paaf_core::Result<T>> + Send + 'static,
) -> Result<T, PaafError> {
    RUNTIME
        .spawn(work)
        .await
        .map_err(|e| PaafError::internal(format!("paaf task failed: {e}")))?
        .map_err(PaafError::from)
}

/// Where the app keeps paaf's config.
#[derive(uniffi::Enum)]
pub enum ConfigSource {
    /// A config file in the app's sandbox (created empty when missing); the journal and
    /// known_hosts sit beside it unless it says otherwise.
    Path { path: String },
    /// The TOML text itself (the app's settings); it is validated and written to `path`, in
    /// the app's sandbox, which the journal and known_hosts sit beside.
    Text { toml: String, path: String },
}

/// paaf, opened by an app: the only object a phone app needs.
#[derive(uniffi::Object)]
pub struct Paaf {
    core: Arc<paaf_core::Paaf>,
}

#[uniffi::export]
impl Paaf {
    /// Opens paaf on the app's config, with the app's keystore as the secret store; `device`
    /// names the phone in the journal ("Pixel 8 of alice").
    #[uniffi::constructor]
    pub fn open(
        config: ConfigSource,
        secrets: Arc<dyn SecretStore>,
        device: String,
    ) -> Result<Arc<Self>, PaafError> {
        let store = secrets::from_app(secrets);
        let core = match config {
            ConfigSource::Path { path } => paaf_core::Paaf::open(Path::new(&path), store, "mobile"),
            ConfigSource::Text { toml, path } => {
                paaf_core::Paaf::open_text(Path::new(&path), &toml, store, "mobile")
            }
        }?;
        Ok(Paaf::from_core(core, &device))
    }

    /// The Overview screen's model (it reads its first state at once).
    pub fn overview_screen(&self) -> Arc<OverviewScreen> {
        OverviewScreen::open(self.core.clone())
    }

    /// The Fix screen's model: hosts and servers, reboot with confirmation and progress.
    pub fn fix_screen(&self) -> Arc<FixScreen> {
        FixScreen::open(self.core.clone())
    }

    /// The Protect screen's model: flags, the kill switch, undo.
    pub fn protect_screen(&self) -> Arc<ProtectScreen> {
        ProtectScreen::open(self.core.clone())
    }

    /// The Journal screen's model.
    pub fn journal_screen(&self) -> Arc<JournalScreen> {
        JournalScreen::open(self.core.clone())
    }

    /// Version, paths and identity, for an "about" view.
    pub fn about(&self) -> About {
        self.core.about()
    }

    /// The configured hosts, straight from the config (no network).
    pub fn hosts(&self) -> Vec<HostSummary> {
        self.core.hosts()
    }

    /// Adds a host, saved only once its login worked (`HostCheck::Login`) or without
    /// connecting (`NoConnect`); secret values in `input` go to the app's SecretStore only
    /// then, the config gets references. An unknown host key comes back as `KeyToConfirm`:
    /// show its fingerprint, and on confirmation add again with `Login { trust }`.
    pub async fn add_host(
        &self,
        input: HostInput,
        check: HostCheck,
    ) -> Result<HostAdded, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.add_host(input, check).await }).await
    }

    /// Removes a host from the config.
    pub fn remove_host(&self, name: String) -> Result<(), PaafError> {
        Ok(self.core.remove_host(&name)?)
    }

    /// Stores a secret in the app's SecretStore, for a `keyring:NAME` reference in the config.
    pub fn set_secret(&self, name: String, value: String) -> Result<(), PaafError> {
        Ok(self.core.set_secret(&name, &value.into())?)
    }

    /// Connects without logging in and reports the host's key and what known_hosts says of it.
    pub async fn probe_host_key(&self, name: String) -> Result<OfferedKey, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.probe_host_key(&name).await }).await
    }

    /// Records the host's key if it still has `fingerprint` (the one the user confirmed), then
    /// checks that login works.
    pub async fn trust_host_key(&self, name: String, fingerprint: String) -> Result<(), PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.trust_host_key(&name, &fingerprint).await }).await
    }

    /// Removes the host's keys from known_hosts (after a legitimate key change); how many.
    pub async fn forget_host_key(&self, name: String) -> Result<u64, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.forget_host_key(&name).await.map(|n| n as u64) }).await
    }

    /// Live status of the named hosts (all when `names` is empty), probed concurrently.
    pub async fn status(&self, names: Vec<String>) -> Result<Vec<HostStatus>, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.status(&names).await }).await
    }

    /// Starts a verified reboot: progress goes to `listener`; the returned operation gives the
    /// result and cancels the reboot when cancelled or dropped.
    pub fn reboot(
        &self,
        name: String,
        confirmation: Confirmation,
        listener: Arc<dyn ProgressListener>,
    ) -> Arc<RebootOperation> {
        RebootOperation::start(&RUNTIME, self.core.clone(), name, confirmation, listener)
    }

    /// Cancels the long action `action_id` (from its progress events); false when none runs.
    pub fn cancel(&self, action_id: i64) -> bool {
        self.core.cancel(action_id)
    }

    /// Runs a command on the host; output bounded per stream.
    pub async fn exec(
        &self,
        name: String,
        command: String,
        confirmation: Confirmation,
    ) -> Result<ExecOutput, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.exec(&name, &command, &confirmation).await }).await
    }

    /// The runbooks in the host's runbook directory.
    pub async fn runbooks(&self, name: String) -> Result<Vec<Runbook>, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.runbooks(&name).await }).await
    }

    /// Runs one runbook; a dangerous one (`__name`) needs `Confirmation.Typed(name)`.
    pub async fn run_runbook(
        &self,
        name: String,
        runbook: String,
        confirmation: Confirmation,
    ) -> Result<ExecOutput, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.run_runbook(&name, &runbook, &confirmation).await }).await
    }

    /// Protect: the flags of every flag service (or only `backend`), matching `query`; a
    /// service that fails is listed with its error.
    pub async fn flags(
        &self,
        backend: Option<String>,
        query: Option<String>,
        environment: Option<String>,
    ) -> Result<Vec<BackendFlags>, PaafError> {
        let core = self.core.clone();
        let filter = FlagFilter {
            query,
            environment,
            ..FlagFilter::default()
        };
        on_runtime(async move { core.flags(backend.as_deref(), &filter).await }).await
    }

    /// The flag's state in one environment, read now: show it in the confirmation.
    pub async fn flag_state(&self, target: FlagTarget) -> Result<FlagState, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.flag_state(&target).await }).await
    }

    /// Turns the flag on or off in one environment if it is still `expected` (the state shown
    /// in the confirmation); journaled, so `undo_flag` can put it back.
    pub async fn set_flag(
        &self,
        target: FlagTarget,
        enabled: bool,
        expected: FlagState,
        confirmation: Confirmation,
    ) -> Result<FlagChange, PaafError> {
        let core = self.core.clone();
        on_runtime(async move {
            core.set_flag(&target, enabled, &expected, &confirmation)
                .await
        })
        .await
    }

    /// Puts a flag back as it was before the change journaled as `action_id`.
    pub async fn undo_flag(
        &self,
        action_id: i64,
        confirmation: Confirmation,
    ) -> Result<FlagChange, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.undo_flag(action_id, &confirmation).await }).await
    }

    /// Analyze: the alerts of every monitoring source (or only `source`).
    pub async fn alerts(&self, source: Option<String>) -> Result<Vec<SourceAlerts>, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.alerts(source.as_deref()).await }).await
    }

    /// The state at a glance (a widget, a notification's summary): the level, a headline, the
    /// firing alerts ranked by the core, unreadable sources and unfinished actions.
    pub async fn overview(&self) -> Result<Overview, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.overview().await }).await
    }

    /// A PromQL query: instant when `from`/`to` are null, else over that range (Grafana
    /// syntax: `now-6h`) with at most `points` points per series (the chart's width).
    pub async fn query(
        &self,
        source: Option<String>,
        expr: String,
        from: Option<String>,
        to: Option<String>,
        points: u32,
    ) -> Result<QueryResult, PaafError> {
        let core = self.core.clone();
        let window = from.map(|from| TimeWindow {
            from,
            to: to.unwrap_or_else(|| "now".into()),
        });
        on_runtime(async move {
            core.query(source.as_deref(), &expr, window.as_ref(), points)
                .await
        })
        .await
    }

    /// The scrape targets of a Prometheus source and their health.
    pub async fn targets(&self, source: Option<String>) -> Result<Vec<Target>, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.targets(source.as_deref()).await }).await
    }

    /// Alert: silences the alerts matching every matcher (`alertname=X`) for `minutes`;
    /// returns the silence id.
    pub async fn silence(
        &self,
        source: Option<String>,
        matchers: Vec<String>,
        minutes: u32,
        comment: String,
    ) -> Result<String, PaafError> {
        let core = self.core.clone();
        let length = Duration::from_secs(u64::from(minutes) * 60);
        on_runtime(async move {
            core.silence(source.as_deref(), &matchers, length, &comment)
                .await
        })
        .await
    }

    /// The silences of a source.
    pub async fn silences(&self, source: Option<String>) -> Result<Vec<Silence>, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.silences(source.as_deref()).await }).await
    }

    /// Ends a silence now.
    pub async fn expire_silence(
        &self,
        source: Option<String>,
        id: String,
    ) -> Result<(), PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.expire_silence(source.as_deref(), &id).await }).await
    }

    /// Analyze: the dashboards of a Grafana source matching `query`, carrying every tag in
    /// `tags`, only the starred ones when `starred`.
    pub async fn dashboards(
        &self,
        source: Option<String>,
        query: Option<String>,
        tags: Vec<String>,
        starred: bool,
    ) -> Result<Vec<DashboardHit>, PaafError> {
        let core = self.core.clone();
        let search = SearchQuery {
            query,
            tags,
            starred,
            ..SearchQuery::default()
        };
        on_runtime(async move { core.dashboards(source.as_deref(), &search).await }).await
    }

    /// A dashboard: its panels (those of collapsed rows too) and its variables resolved, for
    /// `view`: a range in Grafana syntax (the dashboard's own when `window` is null) and the
    /// variable values the user picked, by name (`["$__all"]` for All).
    pub async fn dashboard(
        &self,
        source: Option<String>,
        uid: String,
        view: DashboardView,
    ) -> Result<Dashboard, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.dashboard(source.as_deref(), &uid, &view).await }).await
    }

    /// A panel's series for the same `view` as `dashboard`, thinned to `width` points (the
    /// chart's pixel width), with min/max/last/mean; failed queries in `errors`.
    pub async fn panel_data(
        &self,
        source: Option<String>,
        uid: String,
        panel_id: i64,
        view: DashboardView,
        width: u32,
    ) -> Result<PanelData, PaafError> {
        let core = self.core.clone();
        on_runtime(async move {
            core.panel_data(source.as_deref(), &uid, panel_id, &view, width)
                .await
        })
        .await
    }

    /// Writes a Grafana annotation now (org-wide, or on a dashboard and panel); journaled.
    /// Returns its id.
    pub async fn annotate(
        &self,
        source: Option<String>,
        input: AnnotationInput,
    ) -> Result<i64, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.annotate(source.as_deref(), &input).await }).await
    }

    /// Incidents, newest first (only the open ones with `open_only`).
    pub fn incidents(&self, open_only: bool, limit: u32) -> Result<Vec<Incident>, PaafError> {
        Ok(self.core.incidents(open_only, limit as usize)?)
    }

    /// Everything recorded about incident `id` (null: the current one): its actions, events
    /// and deliveries.
    pub fn incident_detail(&self, id: Option<i64>) -> Result<IncidentDetail, PaafError> {
        Ok(self.core.incident_detail(id)?)
    }

    /// Opens an incident from a firing alert (`input.alert`), following the playbook that
    /// matches it (or the one named); people are told and Grafana annotated.
    pub async fn open_incident(&self, input: IncidentInput) -> Result<Incident, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.open_incident(&input).await }).await
    }

    /// Writes a note in incident `id`'s timeline (null: the current one).
    pub fn note_incident(&self, id: Option<i64>, text: String) -> Result<IncidentEvent, PaafError> {
        Ok(self.core.note_incident(id, &text)?)
    }

    /// Resolves incident `id` (null: the current one) with a closing summary.
    pub async fn resolve_incident(
        &self,
        id: Option<i64>,
        summary: String,
    ) -> Result<Incident, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.resolve_incident(id, &summary).await }).await
    }

    /// Incident `id`'s (null: the current one) timeline across the team's paired devices,
    /// merged by the relay; this device's rows alone, said so in `source` and `error`, when the
    /// relay cannot be reached or the incident is not shared.
    pub async fn team_timeline(&self, id: Option<i64>) -> Result<TeamTimeline, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.team_timeline(id).await }).await
    }

    /// Shares incident `id` (null: the current one) with the team through the paired relay:
    /// under `key` (another device's), else a key of its own, returned to give to the others.
    pub fn share_incident(
        &self,
        id: Option<i64>,
        key: Option<String>,
    ) -> Result<String, PaafError> {
        Ok(self.core.share_incident(id, key.as_deref())?)
    }

    /// The post-mortem draft of incident `id` (null: the current one), Markdown and facts,
    /// with the team timeline when this device is paired and the incident shared.
    pub async fn postmortem(&self, id: Option<i64>) -> Result<Postmortem, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.team_postmortem(id).await }).await
    }

    /// Protect's plan for incident `id` (null: the current one): its playbook's steps, each
    /// with its target read now; `playbook` names one for an incident that has none. Show it,
    /// then pass it to `protect` with the confirmation (`Typed` when `typed_confirmation`).
    pub async fn protect_plan(
        &self,
        id: Option<i64>,
        playbook: Option<String>,
    ) -> Result<RunPlan, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.protect_plan(id, playbook.as_deref()).await }).await
    }

    /// Runs Protect's `plan` after its confirmation: each step's start, progress and end go
    /// to `listener`; the operation gives the report and stops the run when cancelled.
    pub fn protect(
        &self,
        plan: RunPlan,
        confirmation: Confirmation,
        listener: Arc<dyn StepListener>,
    ) -> Arc<RunOperation> {
        let request = operation::RunRequest::Protect(plan, confirmation);
        RunOperation::start(&RUNTIME, self.core.clone(), request, listener)
    }

    /// Stand down's plan for incident `id` (null: the current one): every reversible change
    /// of the incident reversed, newest first, and what cannot be undone listed as such.
    pub async fn stand_down_plan(&self, id: Option<i64>) -> Result<RunPlan, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.stand_down_plan(id).await }).await
    }

    /// Runs Stand down's `plan` after its confirmation, as `protect` does.
    pub fn stand_down(
        &self,
        plan: RunPlan,
        confirmation: Confirmation,
        listener: Arc<dyn StepListener>,
    ) -> Arc<RunOperation> {
        let request = operation::RunRequest::StandDown(plan, confirmation);
        RunOperation::start(&RUNTIME, self.core.clone(), request, listener)
    }

    /// The newest journal rows first, optionally only those on one target.
    pub fn journal(
        &self,
        target: Option<String>,
        limit: u32,
    ) -> Result<Vec<ActionRecord>, PaafError> {
        Ok(self.core.journal(target.as_deref(), limit as usize)?)
    }
}

impl Paaf {
    /// The exported object over an opened core, naming `device` in the journal.
    pub(crate) fn from_core(core: paaf_core::Paaf, device: &str) -> Arc<Paaf> {
        Arc::new(Paaf {
            core: Arc::new(core.with_device(device)),
        })
    }
}

/// Fix: cloud servers (feature `cloud`).
#[cfg(feature = "cloud")]
#[uniffi::export]
impl Paaf {
    /// The server list of the last full listing, with when it was read (none before the
    /// first): what the app shows at once on start while `servers` asks the clouds again.
    pub fn cached_servers(&self) -> Option<paaf_core::cloud::cache::CachedInventory> {
        self.core.cached_servers()
    }

    /// Every server of every cloud account (or only `account`), read concurrently; an account
    /// or region that fails is an error row beside the others.
    pub async fn servers(
        &self,
        account: Option<String>,
    ) -> Result<paaf_core::cloud::Inventory, PaafError> {
        let core = self.core.clone();
        on_runtime(async move { core.servers(account.as_deref()).await }).await
    }

    /// Starts a reboot, stop or start of a server (id or name; in `account` when given): each
    /// read of its state goes to `listener` until the provider reports the final one; the
    /// returned operation gives the outcome and stops waiting when cancelled or dropped.
    pub fn server_power(
        &self,
        account: Option<String>,
        server: String,
        action: paaf_core::cloud::PowerAction,
        confirmation: Confirmation,
        listener: Arc<dyn ServerPowerListener>,
    ) -> Arc<ServerPowerOperation> {
        let request = operation::PowerRequest {
            account,
            server,
            action,
            confirmation,
        };
        ServerPowerOperation::start(&RUNTIME, self.core.clone(), request, listener)
    }
}
