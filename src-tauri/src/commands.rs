//! Tauri commands: each converts its arguments, calls the core facade, converts the result.
//! Errors reach the UI as `{code, message}` (`ErrorInfo`), never as bare strings. Every command
//! here is named once more in command_list.rs, the list everything else is made from.

use crate::native::{self, Question};
use paaf_core::cloud::cache::CachedInventory;
use paaf_core::cloud::{Inventory, PowerAction, PowerOutcome};
use paaf_core::config::{HostInput, HostSelector, Selectable};
use paaf_core::flags::{FlagFilter, FlagState};
use paaf_core::incident::postmortem::Postmortem;
use paaf_core::incident::steps::{RunKind, RunPlan, RunReport, StepEvent};
use paaf_core::incident::{Incident, IncidentDetail, IncidentEvent, IncidentPhase};
use paaf_core::inventory::HostStatus;
use paaf_core::journal::ActionRecord;
use paaf_core::monitor::alert_list::SourceAlerts;
use paaf_core::monitor::alertmanager::Silence;
use paaf_core::monitor::grafana::{Dashboard, DashboardHit, PanelData, SearchQuery};
use paaf_core::monitor::prometheus::{QueryResult, Target};
use paaf_core::power::RebootReport;
use paaf_core::runbooks::Runbook;
use paaf_core::ssh::{ExecOutput, OfferedKey};
use paaf_core::{
    AnnotationInput, BackendFlags, CancellationToken, Confirmation, DashboardView, ErrorInfo,
    FanOutJob, FanOutOptions, FanOutProgress, FanOutReport, FlagChange, FlagTarget, HostAdded,
    HostCheck, IncidentInput, IntentConfirmation, IntentOutcome, LiveGroups, Overview, Paaf,
    ProgressEvent, ServerProgress, TimeWindow,
};
use std::sync::Arc;
use std::time::Duration;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

type Reply<T> = Result<T, ErrorInfo>;

#[tauri::command]
pub async fn about(paaf: State<'_, Paaf>) -> Reply<paaf_core::About> {
    Ok(paaf.about())
}

/// The configured hosts without probing them (instant); `host_status` adds the live part.
#[tauri::command]
pub async fn list_hosts(paaf: State<'_, Paaf>) -> Reply<Vec<paaf_core::inventory::HostSummary>> {
    Ok(paaf.hosts())
}

#[tauri::command]
pub async fn host_status(paaf: State<'_, Paaf>, names: Vec<String>) -> Reply<Vec<HostStatus>> {
    Ok(paaf.status(&names).await?)
}

/// Adds a host, saved only once its login worked (or with `NoConnect`); an unknown host key
/// comes back to be confirmed, nothing saved. Adding it again with that key trusted needs the
/// native dialog's yes, as `trust_host_key` does.
#[tauri::command]
pub async fn add_host<R: Runtime>(
    app: AppHandle<R>,
    paaf: State<'_, Paaf>,
    input: HostInput,
    check: HostCheck,
) -> Reply<HostAdded> {
    if let HostCheck::Login {
        trust: Some(fingerprint),
    } = &check
    {
        native::confirm(&app, trust_question(&input.name, fingerprint)).await?;
    }
    Ok(paaf.add_host(input, check).await?)
}

#[tauri::command]
pub async fn remove_host(paaf: State<'_, Paaf>, name: String) -> Reply<()> {
    Ok(paaf.remove_host(&name)?)
}

#[tauri::command]
pub async fn probe_host_key(paaf: State<'_, Paaf>, name: String) -> Reply<OfferedKey> {
    Ok(paaf.probe_host_key(&name).await?)
}

/// Records the key after the person confirmed its fingerprint in a native dialog: the webview
/// could show one fingerprint and send another.
#[tauri::command]
pub async fn trust_host_key<R: Runtime>(
    app: AppHandle<R>,
    paaf: State<'_, Paaf>,
    name: String,
    fingerprint: String,
) -> Reply<()> {
    native::confirm(&app, trust_question(&name, &fingerprint)).await?;
    Ok(paaf.trust_host_key(&name, &fingerprint).await?)
}

fn trust_question(name: &str, fingerprint: &str) -> Question {
    Question {
        title: format!("Trust the host key of {name}?"),
        message: format!(
            "{name} offers the host key\n\n{fingerprint}\n\nTrust it only if it matches the fingerprint the server's owner gives you (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the server)."
        ),
        ok: "Trust this key",
    }
}

/// Forgets the recorded key (after a key change) once confirmed in a native dialog.
#[tauri::command]
pub async fn forget_host_key<R: Runtime>(
    app: AppHandle<R>,
    paaf: State<'_, Paaf>,
    name: String,
) -> Reply<usize> {
    let question = Question {
        title: format!("Forget the recorded host key of {name}?"),
        message: format!(
            "A changed host key may be an attack. Forget the recorded key of {name} only once you know why it changed (a reinstall, a new server); the key it offers now is then shown for you to trust."
        ),
        ok: "Forget key",
    };
    native::confirm(&app, question).await?;
    Ok(paaf.forget_host_key(&name).await?)
}

/// Progress arrives on `on_event`; `cancel_action` with the events' `action_id` stops it.
#[tauri::command]
pub async fn reboot(
    paaf: State<'_, Paaf>,
    name: String,
    confirmation: Confirmation,
    on_event: Channel<ProgressEvent>,
) -> Reply<RebootReport> {
    let sink = Arc::new(move |e: ProgressEvent| {
        let _ = on_event.send(e);
    });
    Ok(paaf
        .reboot(&name, &confirmation, sink, CancellationToken::new())
        .await?)
}

#[tauri::command]
pub async fn cancel_action(paaf: State<'_, Paaf>, action_id: i64) -> Reply<bool> {
    Ok(paaf.cancel(action_id))
}

#[tauri::command]
pub async fn exec(
    paaf: State<'_, Paaf>,
    name: String,
    command: String,
    confirmation: Confirmation,
) -> Reply<ExecOutput> {
    Ok(paaf.exec(&name, &command, &confirmation).await?)
}

/// The tags and groups hosts can be chosen by.
#[tauri::command]
pub async fn selectable(paaf: State<'_, Paaf>) -> Reply<Selectable> {
    Ok(paaf.selectable())
}

/// The names of the hosts `selector` chooses, in config order.
#[tauri::command]
pub async fn select_hosts(paaf: State<'_, Paaf>, selector: HostSelector) -> Reply<Vec<String>> {
    let hosts = paaf.select_hosts(&selector)?;
    Ok(hosts.into_iter().map(|h| h.name).collect())
}

/// `command` on every host `selector` chooses; the groups so far arrive on `on_progress` as
/// each host finishes. `cancel_fan_out` with the same `run_id` (the window's own name for
/// this run) stops the hosts not started yet.
#[tauri::command]
pub async fn fan_out(
    paaf: State<'_, Paaf>,
    fan_outs: State<'_, FanOuts>,
    run_id: String,
    selector: HostSelector,
    command: String,
    confirmation: Confirmation,
    on_progress: Channel<FanOutProgress>,
) -> Reply<FanOutReport> {
    let sink = Arc::new(LiveGroups::new(move |p| {
        let _ = on_progress.send(p);
    }));
    let job = FanOutJob::Command(command);
    let cancel = CancellationToken::new();
    fan_outs
        .0
        .lock()
        .expect("fan-outs poisoned")
        .insert(run_id.clone(), cancel.clone());
    let report = paaf
        .fan_out(
            &selector,
            job,
            FanOutOptions::default(),
            &confirmation,
            sink,
            cancel,
        )
        .await;
    fan_outs
        .0
        .lock()
        .expect("fan-outs poisoned")
        .remove(&run_id);
    Ok(report?)
}

/// The fan-outs going on, by the `run_id` their window gave them, for `cancel_fan_out`.
#[derive(Default)]
pub struct FanOuts(std::sync::Mutex<std::collections::HashMap<String, CancellationToken>>);

/// Stops fan-out `run_id`: hosts not started yet are not started, those running finish (within
/// their timeout) and its report says which ran. False when it is not going on.
#[tauri::command]
pub async fn cancel_fan_out(fan_outs: State<'_, FanOuts>, run_id: String) -> Reply<bool> {
    let token = fan_outs
        .0
        .lock()
        .expect("fan-outs poisoned")
        .remove(&run_id);
    Ok(token.map(|t| t.cancel()).is_some())
}

#[tauri::command]
pub async fn runbooks(paaf: State<'_, Paaf>, name: String) -> Reply<Vec<Runbook>> {
    Ok(paaf.runbooks(&name).await?)
}

/// A dangerous runbook (its name starts with `__`) is also confirmed in a native dialog.
#[tauri::command]
pub async fn run_runbook<R: Runtime>(
    app: AppHandle<R>,
    paaf: State<'_, Paaf>,
    name: String,
    runbook: String,
    confirmation: Confirmation,
) -> Reply<ExecOutput> {
    if paaf_core::runbooks::is_dangerous(&runbook) {
        let question = Question {
            title: format!("Run the dangerous runbook {runbook}?"),
            message: format!(
                "{runbook} is marked dangerous. It runs on {name} as soon as you confirm."
            ),
            ok: "Run dangerous runbook",
        };
        native::confirm(&app, question).await?;
    }
    Ok(paaf.run_runbook(&name, &runbook, &confirmation).await?)
}

#[tauri::command]
pub async fn journal(
    paaf: State<'_, Paaf>,
    target: Option<String>,
    limit: Option<usize>,
) -> Reply<Vec<ActionRecord>> {
    Ok(paaf.journal(target.as_deref(), limit.unwrap_or(200))?)
}

/// Protect: the flags of every flag service (or only `backend`); a failing service is a row
/// with its error.
#[tauri::command]
pub async fn flags(
    paaf: State<'_, Paaf>,
    backend: Option<String>,
    filter: Option<FlagFilter>,
) -> Reply<Vec<BackendFlags>> {
    Ok(paaf
        .flags(backend.as_deref(), &filter.unwrap_or_default())
        .await?)
}

/// The flag's state now, for the confirmation (and as `expected` for `set_flag`).
#[tauri::command]
pub async fn flag_state(paaf: State<'_, Paaf>, target: FlagTarget) -> Reply<FlagState> {
    Ok(paaf.flag_state(&target).await?)
}

/// Written only if the flag is still `expected`; else a `conflict` error.
#[tauri::command]
pub async fn set_flag(
    paaf: State<'_, Paaf>,
    target: FlagTarget,
    enabled: bool,
    expected: FlagState,
    confirmation: Confirmation,
) -> Reply<FlagChange> {
    Ok(paaf
        .set_flag(&target, enabled, &expected, &confirmation)
        .await?)
}

#[tauri::command]
pub async fn undo_flag(
    paaf: State<'_, Paaf>,
    action_id: i64,
    confirmation: Confirmation,
) -> Reply<FlagChange> {
    Ok(paaf.undo_flag(action_id, &confirmation).await?)
}

/// Analyze: the alerts of every monitoring source (or only `source`).
#[tauri::command]
pub async fn alerts(paaf: State<'_, Paaf>, source: Option<String>) -> Reply<Vec<SourceAlerts>> {
    Ok(paaf.alerts(source.as_deref()).await?)
}

/// A PromQL query: over `window` with at most `points` points per series, instant without one.
#[tauri::command]
pub async fn query(
    paaf: State<'_, Paaf>,
    source: Option<String>,
    expr: String,
    window: Option<TimeWindow>,
    points: Option<u32>,
) -> Reply<QueryResult> {
    Ok(paaf
        .query(
            source.as_deref(),
            &expr,
            window.as_ref(),
            points.unwrap_or(300),
        )
        .await?)
}

#[tauri::command]
pub async fn targets(paaf: State<'_, Paaf>, source: Option<String>) -> Reply<Vec<Target>> {
    Ok(paaf.targets(source.as_deref()).await?)
}

/// Alert: silences what `matchers` (`alertname=X`) match for `duration_secs`; the silence id.
#[tauri::command]
pub async fn silence(
    paaf: State<'_, Paaf>,
    source: Option<String>,
    matchers: Vec<String>,
    duration_secs: u64,
    comment: String,
) -> Reply<String> {
    let duration = Duration::from_secs(duration_secs);
    Ok(paaf
        .silence(source.as_deref(), &matchers, duration, &comment)
        .await?)
}

#[tauri::command]
pub async fn silences(paaf: State<'_, Paaf>, source: Option<String>) -> Reply<Vec<Silence>> {
    Ok(paaf.silences(source.as_deref()).await?)
}

#[tauri::command]
pub async fn expire_silence(
    paaf: State<'_, Paaf>,
    source: Option<String>,
    id: String,
) -> Reply<()> {
    Ok(paaf.expire_silence(source.as_deref(), &id).await?)
}

#[tauri::command]
pub async fn dashboards(
    paaf: State<'_, Paaf>,
    source: Option<String>,
    query: Option<SearchQuery>,
) -> Reply<Vec<DashboardHit>> {
    Ok(paaf
        .dashboards(source.as_deref(), &query.unwrap_or_default())
        .await?)
}

#[tauri::command]
pub async fn dashboard(
    paaf: State<'_, Paaf>,
    source: Option<String>,
    uid: String,
    view: Option<DashboardView>,
) -> Reply<Dashboard> {
    Ok(paaf
        .dashboard(source.as_deref(), &uid, &view.unwrap_or_default())
        .await?)
}

/// A panel's series downsampled to `width` points, with min/max/mean/last.
#[tauri::command]
pub async fn panel_data(
    paaf: State<'_, Paaf>,
    source: Option<String>,
    uid: String,
    panel_id: i64,
    view: Option<DashboardView>,
    width: Option<u32>,
) -> Reply<PanelData> {
    let view = view.unwrap_or_default();
    Ok(paaf
        .panel_data(
            source.as_deref(),
            &uid,
            panel_id,
            &view,
            width.unwrap_or(600),
        )
        .await?)
}

/// Writes a Grafana annotation now; its id.
#[tauri::command]
pub async fn annotate(
    paaf: State<'_, Paaf>,
    source: Option<String>,
    input: AnnotationInput,
) -> Reply<i64> {
    Ok(paaf.annotate(source.as_deref(), &input).await?)
}

/// Fix: the server list of the last full listing, with its age (none before the first), to
/// show at once while `servers` asks the clouds again.
#[tauri::command]
pub fn cached_servers(paaf: State<'_, Paaf>) -> Option<CachedInventory> {
    paaf.cached_servers()
}

/// Fix: every server of every cloud account (or only `account`); a failing account or region
/// is an error row.
#[tauri::command]
pub async fn servers(paaf: State<'_, Paaf>, account: Option<String>) -> Reply<Inventory> {
    Ok(paaf.servers(account.as_deref()).await?)
}

/// Each read of the server arrives on `on_progress`; `cancel_action` with its `action_id`
/// stops the wait.
#[tauri::command]
pub async fn server_power(
    paaf: State<'_, Paaf>,
    account: Option<String>,
    server: String,
    action: PowerAction,
    confirmation: Confirmation,
    on_progress: Channel<ServerProgress>,
) -> Reply<PowerOutcome> {
    let observe = |p: &ServerProgress| {
        let _ = on_progress.send(p.clone());
    };
    Ok(paaf
        .server_power(
            account.as_deref(),
            &server,
            action,
            &confirmation,
            CancellationToken::new(),
            observe,
        )
        .await?)
}

/// The state at a glance (alerts firing, ranked; actions still running), as the tray shows it.
#[tauri::command]
pub async fn overview(paaf: State<'_, Paaf>) -> Reply<Overview> {
    Ok(paaf.overview().await?)
}

/// The names of the config's `[[playbooks]]`, to open an incident with one.
#[tauri::command]
pub async fn playbooks(paaf: State<'_, Paaf>) -> Reply<Vec<String>> {
    Ok(paaf
        .config()
        .playbooks
        .iter()
        .map(|p| p.name.clone())
        .collect())
}

/// Opens an incident, from a firing alert when `input.alert` names one.
#[tauri::command]
pub async fn open_incident(paaf: State<'_, Paaf>, input: IncidentInput) -> Reply<Incident> {
    Ok(paaf.open_incident(&input).await?)
}

/// Incidents, newest first (only the open ones with `open_only`).
#[tauri::command]
pub async fn incidents(
    paaf: State<'_, Paaf>,
    open_only: Option<bool>,
    limit: Option<usize>,
) -> Reply<Vec<Incident>> {
    Ok(paaf.incidents(open_only.unwrap_or(false), limit.unwrap_or(50))?)
}

/// Incident `id` (the current one when none) with its actions, timeline and deliveries.
#[tauri::command]
pub async fn incident_detail(paaf: State<'_, Paaf>, id: Option<i64>) -> Reply<IncidentDetail> {
    Ok(paaf.incident_detail(id)?)
}

/// Protect's plan: every step of the playbook with its target's state now.
#[tauri::command]
pub async fn protect_plan(
    paaf: State<'_, Paaf>,
    id: Option<i64>,
    playbook: Option<String>,
) -> Reply<RunPlan> {
    Ok(paaf.protect_plan(id, playbook.as_deref()).await?)
}

/// Runs the confirmed protect `plan`; each step's start, progress and end arrives on
/// `on_event`. A plan with dangerous runbooks is also confirmed in a native dialog, as
/// `run_runbook` is.
#[tauri::command]
pub async fn protect<R: Runtime>(
    app: AppHandle<R>,
    paaf: State<'_, Paaf>,
    runs: State<'_, Runs>,
    plan: RunPlan,
    confirmation: Confirmation,
    on_event: Channel<StepEvent>,
) -> Reply<RunReport> {
    if let Some(runbooks) = &plan.typed_confirmation {
        let question = Question {
            title: format!(
                "Protect incident #{} with dangerous runbooks?",
                plan.incident_id
            ),
            message: format!(
                "The protect steps run the dangerous runbooks {runbooks} as soon as you confirm."
            ),
            ok: "Run protect steps",
        };
        native::confirm(&app, question).await?;
    }
    run_plan(&paaf, &runs, plan, confirmation, on_event).await
}

/// Stand down's plan: what will be reversed, newest change first, and what cannot be.
#[tauri::command]
pub async fn stand_down_plan(paaf: State<'_, Paaf>, id: Option<i64>) -> Reply<RunPlan> {
    Ok(paaf.stand_down_plan(id).await?)
}

/// Runs the confirmed stand-down `plan`; each step's updates arrive on `on_event`.
#[tauri::command]
pub async fn stand_down(
    paaf: State<'_, Paaf>,
    runs: State<'_, Runs>,
    plan: RunPlan,
    confirmation: Confirmation,
    on_event: Channel<StepEvent>,
) -> Reply<RunReport> {
    run_plan(&paaf, &runs, plan, confirmation, on_event).await
}

/// The protect and stand-down runs going on, by incident, for `cancel_run`.
#[derive(Default)]
pub struct Runs(std::sync::Mutex<std::collections::HashMap<i64, CancellationToken>>);

async fn run_plan(
    paaf: &Paaf,
    runs: &Runs,
    plan: RunPlan,
    confirmation: Confirmation,
    on_event: Channel<StepEvent>,
) -> Reply<RunReport> {
    let sink = Arc::new(move |e: StepEvent| {
        let _ = on_event.send(e);
    });
    let cancel = CancellationToken::new();
    let incident = plan.incident_id;
    runs.0
        .lock()
        .expect("runs poisoned")
        .insert(incident, cancel.clone());
    let report = match plan.run {
        RunKind::Protect => paaf.protect(&plan, &confirmation, sink, cancel).await,
        RunKind::StandDown => paaf.stand_down(&plan, &confirmation, sink, cancel).await,
    };
    runs.0.lock().expect("runs poisoned").remove(&incident);
    Ok(report?)
}

/// Stops the protect or stand-down run of incident `incident_id`: the step under way stops
/// waiting, the rest are not run. False when none runs.
#[tauri::command]
pub async fn cancel_run(runs: State<'_, Runs>, incident_id: i64) -> Reply<bool> {
    let token = runs.0.lock().expect("runs poisoned").remove(&incident_id);
    Ok(token.map(|t| t.cancel()).is_some())
}

/// Adds a note to incident `id` (the current one when none).
#[tauri::command]
pub async fn note_incident(
    paaf: State<'_, Paaf>,
    id: Option<i64>,
    text: String,
) -> Reply<IncidentEvent> {
    Ok(paaf.note_incident(id, &text)?)
}

/// Moves incident `id` (the current one when none) to `phase`; `resolved` resolves it.
#[tauri::command]
pub async fn set_incident_phase(
    paaf: State<'_, Paaf>,
    id: Option<i64>,
    phase: IncidentPhase,
    text: Option<String>,
) -> Reply<Incident> {
    Ok(paaf
        .set_incident_phase(id, phase, text.as_deref().unwrap_or(""))
        .await?)
}

/// The post-mortem draft of incident `id` (the current one, else the newest).
#[tauri::command]
pub async fn postmortem(paaf: State<'_, Paaf>, id: Option<i64>) -> Reply<Postmortem> {
    Ok(paaf.team_postmortem(id).await?)
}

/// Saves the post-mortem of incident `id` as Markdown where the person chooses in a native
/// save dialog; the path written, or none when the dialog was cancelled. The text is read
/// here from the journal, never taken from the webview.
#[tauri::command]
pub async fn save_postmortem<R: Runtime>(
    app: AppHandle<R>,
    paaf: State<'_, Paaf>,
    id: Option<i64>,
) -> Reply<Option<String>> {
    let pm = paaf.team_postmortem(id).await?;
    let name = format!("incident-{}-postmortem.md", pm.incident.id);
    let Some(path) = native::save_path(&app, &name).await? else {
        return Ok(None);
    };
    std::fs::write(&path, pm.markdown.as_bytes()).map_err(|e| {
        ErrorInfo::from(paaf_core::Error::Other {
            reason: format!("cannot write {}: {e}", path.display()),
        })
    })?;
    Ok(Some(path.display().to_string()))
}

/// Opens a link (an alert's source, a flag's page) in the system browser, if it is http(s).
#[tauri::command]
pub async fn open_link(url: String) -> Reply<()> {
    let url = native::browsable(&url)?;
    open::that_detached(url.as_str()).map_err(|e| {
        ErrorInfo::from(paaf_core::Error::Other {
            reason: format!("cannot start the browser: {e}"),
        })
    })
}

/// The UI calls this once, right after its first paint. It records the time from process
/// start (for tests/bench); with `PAAF_EXIT_AFTER_FIRST_PAINT=1` it prints it and exits.
#[tauri::command]
pub async fn first_paint<R: Runtime>(
    app: AppHandle<R>,
    started: State<'_, crate::Started>,
) -> Reply<u64> {
    let ms = started.0.elapsed().as_millis() as u64;
    if std::env::var_os("PAAF_EXIT_AFTER_FIRST_PAINT").is_some() {
        println!("first-paint-ms={ms}");
        app.exit(0);
    }
    Ok(ms)
}

/// The `paaf://intent/…` link the app was started with (a tapped notification, the system's
/// URL handler), handed over once: the UI opens its confirmation.
#[derive(Default)]
pub struct PendingIntent(pub std::sync::Mutex<Option<String>>);

impl PendingIntent {
    /// The first `paaf://intent/` argument among `args`, if any.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> PendingIntent {
        let link = args
            .into_iter()
            .find(|a| a.starts_with(paaf_core::intent::URL_PREFIX));
        PendingIntent(std::sync::Mutex::new(link))
    }
}

/// The intent link the app was started with, once (None afterwards, or when there was none).
#[tauri::command]
pub fn pending_intent(pending: State<'_, PendingIntent>) -> Option<String> {
    pending.0.lock().map(|mut p| p.take()).unwrap_or(None)
}

/// Verifies the intent in `link` (pinned relay key, expiry, nonce, this device's own
/// playbook step) and says what it would do: nothing runs.
#[tauri::command]
pub async fn open_intent(paaf: State<'_, Paaf>, link: String) -> Reply<IntentConfirmation> {
    Ok(paaf.open_intent(&link).await?)
}

/// Runs the confirmed intent once, as `paaf intent open` does; a dangerous runbook is also
/// confirmed in a native dialog, as `run_runbook` is.
#[tauri::command]
pub async fn execute_intent<R: Runtime>(
    app: AppHandle<R>,
    paaf: State<'_, Paaf>,
    link: String,
    confirmation: Confirmation,
) -> Reply<IntentOutcome> {
    let shown = paaf.open_intent(&link).await?;
    if let Some(runbook) = &shown.typed_name {
        let question = Question {
            title: format!("Run the dangerous runbook {runbook}?"),
            message: format!(
                "The alert {} asks for {}. It runs as soon as you confirm.",
                shown.alert, shown.action
            ),
            ok: "Run dangerous runbook",
        };
        native::confirm(&app, question).await?;
    }
    let quiet = Arc::new(|_: ProgressEvent| {});
    Ok(paaf.execute_intent(&link, &confirmation, quiet).await?)
}
