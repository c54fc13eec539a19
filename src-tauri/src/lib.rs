//! paaf's desktop app: the core facade, managed once, behind Tauri commands.

#[cfg(test)]
mod command_names;
pub mod commands;

use paaf_core::Paaf;
use paaf_core::secrets::KeyringStore;
use std::path::PathBuf;
use std::sync::Arc;

/// When the process started, for the first-paint measurement.
pub struct Started(pub std::time::Instant);

/// Opens the core on `config` (PAAF_CONFIG, else the platform default) for this app.
pub fn open_core(config: Option<PathBuf>) -> paaf_core::Result<Paaf> {
    let path = config.unwrap_or_else(paaf_core::config::default_config_path);
    Paaf::open(&path, Arc::new(KeyringStore::open()), "desktop")
}

/// Registers every command with the builder; shared by the app and its tests.
pub fn with_commands<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::about,
        commands::host_status,
        commands::add_host,
        commands::remove_host,
        commands::probe_host_key,
        commands::trust_host_key,
        commands::forget_host_key,
        commands::reboot,
        commands::cancel_action,
        commands::exec,
        commands::runbooks,
        commands::run_runbook,
        commands::journal,
        commands::first_paint,
    ])
}

/// Starts the app; a core that cannot open (a bad config) is reported and the app exits.
pub fn run() {
    let started = Started(std::time::Instant::now());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PAAF_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let core = match open_core(std::env::var_os("PAAF_CONFIG").map(PathBuf::from)) {
        Ok(core) => core,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.code().as_str());
            std::process::exit(3);
        }
    };
    with_commands(tauri::Builder::default())
        .plugin(tauri_plugin_notification::init())
        .manage(core)
        .manage(started)
        .run(tauri::generate_context!())
        .expect("the desktop app failed to start");
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_main_capability_grants_every_command_and_only_those() {
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json")).unwrap();
        assert_eq!(
            cap["windows"],
            serde_json::json!(["main"]),
            "granted to the main window only"
        );
        let granted: Vec<String> = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .filter_map(|p| p.strip_prefix("allow-"))
            .map(|p| p.replace('-', "_"))
            .collect();
        let mut all: Vec<String> = super::command_names::ALL
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut granted_sorted = granted.clone();
        all.sort();
        granted_sorted.sort();
        assert_eq!(granted_sorted, all);
    }
}
