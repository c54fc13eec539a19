//! Tauri commands: each converts its arguments, calls the core facade, converts the result.
//! Errors reach the UI as `{code, message}` (`ErrorInfo`), never as bare strings.

use paaf_core::config::HostInput;
use paaf_core::inventory::HostStatus;
use paaf_core::journal::ActionRecord;
use paaf_core::power::RebootReport;
use paaf_core::runbooks::Runbook;
use paaf_core::ssh::{ExecOutput, OfferedKey};
use paaf_core::{CancellationToken, Confirmation, ErrorInfo, Paaf, ProgressEvent};
use std::sync::Arc;
use tauri::State;
use tauri::ipc::Channel;

type Reply<T> = Result<T, ErrorInfo>;

fn info(e: paaf_core::Error) -> ErrorInfo {
    ErrorInfo::from(&e)
}

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
    paaf.status(&names).await.map_err(info)
}

#[tauri::command]
pub async fn add_host(paaf: State<'_, Paaf>, input: HostInput) -> Reply<()> {
    paaf.add_host(input).map(|_| ()).map_err(info)
}

#[tauri::command]
pub async fn remove_host(paaf: State<'_, Paaf>, name: String) -> Reply<()> {
    paaf.remove_host(&name).map_err(info)
}

#[tauri::command]
pub async fn probe_host_key(paaf: State<'_, Paaf>, name: String) -> Reply<OfferedKey> {
    paaf.probe_host_key(&name).await.map_err(info)
}

#[tauri::command]
pub async fn trust_host_key(paaf: State<'_, Paaf>, name: String, fingerprint: String) -> Reply<()> {
    paaf.trust_host_key(&name, &fingerprint).await.map_err(info)
}

#[tauri::command]
pub async fn forget_host_key(paaf: State<'_, Paaf>, name: String) -> Reply<usize> {
    paaf.forget_host_key(&name).await.map_err(info)
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
    paaf.reboot(&name, &confirmation, sink, CancellationToken::new())
        .await
        .map_err(info)
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
    paaf.exec(&name, &command, &confirmation)
        .await
        .map_err(info)
}

#[tauri::command]
pub async fn runbooks(paaf: State<'_, Paaf>, name: String) -> Reply<Vec<Runbook>> {
    paaf.runbooks(&name).await.map_err(info)
}

#[tauri::command]
pub async fn run_runbook(
    paaf: State<'_, Paaf>,
    name: String,
    runbook: String,
    confirmation: Confirmation,
) -> Reply<ExecOutput> {
    paaf.run_runbook(&name, &runbook, &confirmation)
        .await
        .map_err(info)
}

#[tauri::command]
pub async fn journal(
    paaf: State<'_, Paaf>,
    target: Option<String>,
    limit: Option<usize>,
) -> Reply<Vec<ActionRecord>> {
    paaf.journal(target.as_deref(), limit.unwrap_or(200))
        .map_err(info)
}

/// The UI calls this once, right after its first paint. It records the time from process
/// start (for tests/bench); with `PAAF_EXIT_AFTER_FIRST_PAINT=1` it prints it and exits.
#[tauri::command]
pub async fn first_paint<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    started: State<'_, crate::Started>,
) -> Reply<u64> {
    let ms = started.0.elapsed().as_millis() as u64;
    if std::env::var_os("PAAF_EXIT_AFTER_FIRST_PAINT").is_some() {
        println!("first-paint-ms={ms}");
        app.exit(0);
    }
    Ok(ms)
}
