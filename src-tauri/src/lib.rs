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
        commands::list_hosts,
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
    use paaf_core::secrets::MemoryStore;
    use std::sync::Arc;
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{INVOKE_KEY, get_ipc_response, mock_builder};
    use tauri::webview::InvokeRequest;

    /// The real app (config, capabilities, commands) on Tauri's mock runtime, with a core on
    /// `config`; returns a window with the given label.
    fn app_window(
        config: &str,
        label: &str,
    ) -> (
        tempfile::TempDir,
        tauri::WebviewWindow<tauri::test::MockRuntime>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        let core =
            paaf_core::Paaf::open(&path, Arc::new(MemoryStore::default()), "desktop").unwrap();
        let app = super::with_commands(mock_builder())
            .manage(core)
            .build(tauri::generate_context!())
            .unwrap();
        let window = tauri::WebviewWindowBuilder::new(&app, label, Default::default())
            .build()
            .unwrap();
        (dir, window)
    }

    fn call(
        window: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        get_ipc_response(
            window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<serde_json::Value>().unwrap())
    }

    const ONE_HOST: &str = "[[hosts]]\nname = \"web-1\"\naddress = \"127.0.0.1\"\nport = 9\nuser = \"u\"\nauth = { type = \"agent\" }\nconnect_timeout_secs = 1\n";

    #[test]
    fn commands_answer_through_ipc_and_errors_carry_their_code() {
        let (_dir, main) = app_window(ONE_HOST, "main");
        assert_eq!(
            call(&main, "journal", serde_json::json!({})).unwrap(),
            serde_json::json!([])
        );
        let hosts = call(&main, "list_hosts", serde_json::json!({})).unwrap();
        assert_eq!(hosts[0]["name"], "web-1");
        assert_eq!(hosts[0]["auth"], "agent");
        let about = call(&main, "about", serde_json::json!({})).unwrap();
        assert_eq!(about["frontend"], "desktop");

        let err = call(&main, "exec", serde_json::json!({ "name": "nope", "command": "true", "confirmation": { "kind": "yes" } })).unwrap_err();
        assert_eq!(err["code"], "not-found", "{err}");
        let err = call(&main, "exec", serde_json::json!({ "name": "web-1", "command": "true", "confirmation": { "kind": "none" } })).unwrap_err();
        assert_eq!(err["code"], "confirmation-required", "{err}");
        let err = call(&main, "run_runbook", serde_json::json!({ "name": "web-1", "runbook": "__wipe", "confirmation": { "kind": "yes" } })).unwrap_err();
        assert_eq!(
            err["code"], "confirmation-required",
            "a dangerous runbook wants its typed name: {err}"
        );
        let status = call(&main, "host_status", serde_json::json!({ "names": [] })).unwrap();
        assert_eq!(status[0]["reachable"], false);
        assert_eq!(status[0]["error"]["code"], "unreachable");
        // A nothing-to-cancel answer is false, not an error.
        assert_eq!(
            call(
                &main,
                "cancel_action",
                serde_json::json!({ "actionId": 42 })
            )
            .unwrap(),
            false
        );
    }

    #[test]
    fn a_window_outside_the_capability_cannot_call_paaf() {
        let (_dir, other) = app_window(ONE_HOST, "other");
        let err = call(&other, "journal", serde_json::json!({})).unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{err}");
    }
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
