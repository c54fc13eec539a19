//! paaf's desktop app: the core facade, managed once, behind Tauri commands.

#[macro_use]
mod command_list;
pub mod commands;
pub mod deep_link;
pub mod native;
pub mod relay_stream;
pub mod tray;

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

/// Every command the UI may call, by the name it invokes.
pub const COMMANDS: &[&str] = paaf_commands!(command_names);

/// `tauri::generate_handler!` over `commands::NAME` for every command of the list.
macro_rules! handler {
    ($($command:ident),* $(,)?) => {
        tauri::generate_handler![$(commands::$command),*]
    };
}

/// Registers every command with the builder; shared by the app and its tests.
pub fn with_commands<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(paaf_commands!(handler))
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
    // First: a second launch (the system opening a paaf:// link) hands its arguments to this
    // instance and exits.
    let single = tauri_plugin_single_instance::init(|app, args, _cwd| {
        deep_link::handle(app, args);
    });
    with_commands(tauri::Builder::default().plugin(single))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .manage(core)
        .manage(native::Confirmer::from_env())
        .manage(commands::Runs::default())
        .manage(commands::FanOuts::default())
        .manage(commands::PendingIntent::from_args(std::env::args().skip(1)))
        .manage(started)
        .setup(|app| {
            // A desktop without a tray (no StatusNotifier host) still gets the window.
            if let Err(e) = tray::install(app.handle()) {
                tracing::warn!("no tray icon: {e}");
            }
            #[cfg(target_os = "linux")]
            if std::env::var_os("PAAF_NO_SCHEME_REGISTRATION").is_none() {
                deep_link::register_for_user();
            }
            relay_stream::follow(app.handle().clone());
            Ok(())
        })
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
        app_window_answering(config, label, true)
    }

    /// [`app_window`] whose native dialogs are answered `native_answer`.
    fn app_window_answering(
        config: &str,
        label: &str,
        native_answer: bool,
    ) -> (
        tempfile::TempDir,
        tauri::WebviewWindow<tauri::test::MockRuntime>,
    ) {
        let (dir, core) = core_on(config);
        (dir, window_over(core, label, native_answer))
    }

    /// A core on `config` in a new directory, with an in-memory secret store.
    fn core_on(config: &str) -> (tempfile::TempDir, paaf_core::Paaf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        let core =
            paaf_core::Paaf::open(&path, Arc::new(MemoryStore::default()), "desktop").unwrap();
        (dir, core)
    }

    /// The app's window `label` over `core`, its native dialogs answered `native_answer`.
    fn window_over(
        core: paaf_core::Paaf,
        label: &str,
        native_answer: bool,
    ) -> tauri::WebviewWindow<tauri::test::MockRuntime> {
        let app = super::with_commands(mock_builder())
            .plugin(tauri_plugin_notification::init())
            .manage(core)
            .manage(crate::native::Confirmer::Fixed(native_answer))
            .manage(crate::commands::Runs::default())
            .manage(crate::commands::FanOuts::default())
            .manage(crate::commands::PendingIntent::default())
            .build(tauri::generate_context!())
            .unwrap();
        tauri::WebviewWindowBuilder::new(&app, label, Default::default())
            .build()
            .unwrap()
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
        assert_eq!(
            call(
                &main,
                "cancel_fan_out",
                serde_json::json!({ "runId": "no-such-run" })
            )
            .unwrap(),
            false
        );
        // A fan-out is known by its runId while it runs, and forgotten once it has ended.
        let report = call(&main, "fan_out", serde_json::json!({ "runId": "run-1", "selector": { "names": [], "tags": [], "groups": [] }, "command": "true", "confirmation": { "kind": "yes" }, "onProgress": "__CHANNEL__:9" })).unwrap();
        assert_eq!(report["tally"]["total"], 1, "{report}");
        assert_eq!(report["cancelled"], false, "{report}");
        assert_eq!(
            call(
                &main,
                "cancel_fan_out",
                serde_json::json!({ "runId": "run-1" })
            )
            .unwrap(),
            false,
            "it has ended"
        );
    }

    const FLAGS_AND_MONITORING: &str = "[[flags]]\nname = \"prod\"\ntype = \"unleash\"\nurl = \"http://127.0.0.1:9\"\ntoken = \"keyring:unleash-prod\"\n\n[[monitoring]]\nname = \"prom\"\ntype = \"prometheus\"\nurl = \"http://127.0.0.1:9\"\ntimeout_secs = 1\n";

    #[test]
    fn flag_commands_take_the_ui_shapes_and_a_failing_service_is_a_row_with_its_code() {
        let (_dir, main) = app_window(FLAGS_AND_MONITORING, "main");
        // No arguments at all: every service, no filter. The token is not in the (empty) secret
        // store, so the service is listed with that error rather than failing the whole call.
        let listed = call(&main, "flags", serde_json::json!({})).unwrap();
        assert_eq!(listed[0]["backend"], "prod");
        assert_eq!(listed[0]["flags"], serde_json::json!([]));
        assert_eq!(listed[0]["error"]["code"], "secret", "{listed}");
        // A filter with only some fields, as the UI sends it.
        let filtered = call(
            &main,
            "flags",
            serde_json::json!({ "backend": "prod", "filter": { "query": "checkout" } }),
        )
        .unwrap();
        assert_eq!(filtered[0]["error"]["code"], "secret", "{filtered}");

        // A target without backend and project (the only service; its default project) is
        // accepted and reaches the service.
        let target = serde_json::json!({ "key": "new-checkout", "environment": "production" });
        let err = call(&main, "flag_state", serde_json::json!({ "target": target })).unwrap_err();
        assert_eq!(err["code"], "secret", "{err}");

        let set = |confirmation: serde_json::Value| {
            call(&main, "set_flag", serde_json::json!({
                "target": { "backend": "prod", "project": "", "key": "new-checkout", "environment": "production" },
                "enabled": false,
                "expected": { "enabled": true, "version": null },
                "confirmation": confirmation,
            }))
            .unwrap_err()
        };
        let err = set(serde_json::json!({ "kind": "none" }));
        assert_eq!(err["code"], "confirmation-required", "{err}");
        let err = set(serde_json::json!({ "kind": "yes" }));
        assert_eq!(
            err["code"], "secret",
            "confirmed, it reached the service: {err}"
        );

        let err = call(
            &main,
            "undo_flag",
            serde_json::json!({ "actionId": 999, "confirmation": { "kind": "yes" } }),
        )
        .unwrap_err();
        assert_eq!(err["code"], "not-found", "{err}");
        let err = call(
            &main,
            "flag_state",
            serde_json::json!({ "target": { "backend": "nope", "key": "k", "environment": "e" } }),
        )
        .unwrap_err();
        assert_eq!(err["code"], "not-found", "{err}");
    }

    #[test]
    fn monitoring_commands_take_the_ui_shapes_and_errors_carry_their_code() {
        let (_dir, main) = app_window(FLAGS_AND_MONITORING, "main");
        let alerts = call(&main, "alerts", serde_json::json!({})).unwrap();
        assert_eq!(alerts[0]["source"], "prom");
        assert_eq!(alerts[0]["kind"], "prometheus");
        assert_eq!(alerts[0]["error"]["code"], "unreachable", "{alerts}");

        let query = |window: serde_json::Value| {
            call(
                &main,
                "query",
                serde_json::json!({ "expr": "up", "window": window, "points": 200 }),
            )
            .unwrap_err()
        };
        let err = query(serde_json::json!({ "from": "now-1h", "to": "now" }));
        assert_eq!(
            err["code"], "unreachable",
            "a range query reached the server: {err}"
        );
        let err = query(serde_json::json!(null));
        assert_eq!(
            err["code"], "unreachable",
            "an instant query reached the server: {err}"
        );
        let err = query(serde_json::json!({ "from": "an hour ago", "to": "now" }));
        assert_eq!(err["code"], "invalid-input", "{err}");

        let err = call(&main, "targets", serde_json::json!({})).unwrap_err();
        assert_eq!(err["code"], "unreachable", "{err}");

        // A Prometheus holds no silences: the core says where they are instead.
        let err = call(&main, "silence", serde_json::json!({
            "source": "prom", "matchers": ["alertname=CheckoutErrors"], "durationSecs": 3600, "comment": "on it",
        }))
        .unwrap_err();
        assert_eq!(err["code"], "invalid-input", "{err}");
        let err = call(&main, "silences", serde_json::json!({})).unwrap_err();
        assert_eq!(err["code"], "invalid-input", "{err}");
        let err = call(&main, "expire_silence", serde_json::json!({ "id": "abc" })).unwrap_err();
        assert_eq!(err["code"], "invalid-input", "{err}");

        // No Grafana configured: every Grafana command says so with a code, inputs accepted.
        let view = serde_json::json!({ "window": { "from": "now-6h", "to": "now" }, "variables": { "instance": ["web-2"] } });
        for (cmd, args) in [
            (
                "dashboards",
                serde_json::json!({ "query": { "query": "checkout", "tags": [] } }),
            ),
            (
                "dashboard",
                serde_json::json!({ "uid": "abc", "view": view }),
            ),
            (
                "panel_data",
                serde_json::json!({ "uid": "abc", "panelId": 4, "view": view, "width": 300 }),
            ),
            (
                "annotate",
                serde_json::json!({ "input": { "text": "web-2 rebooted", "tags": ["paaf"] } }),
            ),
        ] {
            let err = call(&main, cmd, args).unwrap_err();
            assert!(
                err["code"].is_string() && err["code"] != "other",
                "{cmd}: {err}"
            );
        }
    }

    const ONE_CLOUD: &str = "[[clouds]]\nname = \"prod\"\ntype = \"aws\"\nregions = [\"eu-west-1\"]\naccess_key_id = \"AKIDEXAMPLE\"\nsecret_access_key = \"keyring:aws-prod\"\nendpoint = \"http://127.0.0.1:9\"\n";

    #[test]
    fn cloud_commands_take_the_ui_shapes_and_a_failing_account_is_a_row_with_its_code() {
        let (_dir, main) = app_window(ONE_CLOUD, "main");
        // The secret is not in the (empty) store: the account is an error row, not a failure.
        let inventory = call(&main, "servers", serde_json::json!({})).unwrap();
        assert_eq!(inventory["servers"], serde_json::json!([]));
        let row = &inventory["errors"][0];
        assert_eq!(
            (&row["provider"], &row["account"]),
            (&"aws".into(), &"prod".into())
        );
        assert_eq!(row["error"]["code"], "secret", "{inventory}");
        let err = call(&main, "servers", serde_json::json!({ "account": "nope" })).unwrap_err();
        assert_eq!(err["code"], "not-found", "{err}");

        let err = call(
            &main,
            "server_power",
            serde_json::json!({
                "account": "prod", "server": "web-1", "action": "hard-reboot",
                "confirmation": { "kind": "yes" }, "onProgress": "__CHANNEL__:7",
            }),
        )
        .unwrap_err();
        assert_eq!(err["code"], "not-found", "{err}");
        let err = call(&main, "server_power", serde_json::json!({
            "server": "web-1", "action": "shutdown", "confirmation": { "kind": "yes" }, "onProgress": "__CHANNEL__:7",
        }))
        .unwrap_err();
        assert!(
            err.to_string().contains("shutdown"),
            "an unknown action is refused: {err}"
        );
    }

    const ONE_PLAYBOOK: &str = "[[flags]]\nname = \"prod\"\ntype = \"unleash\"\nurl = \"http://127.0.0.1:9\"\ntoken = \"keyring:unleash-prod\"\n\n[[playbooks]]\nname = \"checkout\"\n[[playbooks.protect]]\nflag = \"new-checkout\"\nenv = \"production\"\nstate = \"off\"\n";

    #[test]
    fn the_incident_loop_answers_through_ipc_from_open_to_post_mortem() {
        let (_dir, main) = app_window_answering(ONE_PLAYBOOK, "main", true);
        assert_eq!(
            call(&main, "playbooks", serde_json::json!({})).unwrap(),
            serde_json::json!(["checkout"])
        );
        let err = call(&main, "open_incident", serde_json::json!({ "input": {} })).unwrap_err();
        assert_eq!(err["code"], "invalid-input", "a title or an alert: {err}");
        let opened = call(
            &main,
            "open_incident",
            serde_json::json!({ "input": { "title": "Checkout errors", "severity": "sev2", "playbook": "checkout" } }),
        )
        .unwrap();
        let id = opened["id"].as_i64().unwrap();
        assert_eq!(opened["phase"], "opened");
        assert_eq!(opened["playbook"], "checkout");
        let open = call(&main, "incidents", serde_json::json!({ "openOnly": true })).unwrap();
        assert_eq!(open[0]["id"], id);
        let err = call(
            &main,
            "open_incident",
            serde_json::json!({ "input": { "title": "Another" } }),
        )
        .unwrap_err();
        assert_eq!(
            err["code"], "conflict",
            "one open incident at a time: {err}"
        );

        let note = call(
            &main,
            "note_incident",
            serde_json::json!({ "text": "looking at the flags" }),
        )
        .unwrap();
        assert_eq!(note["kind"], "note");

        // Protect's plan lists the step with its target's state now (unreadable here: no token).
        let plan = call(&main, "protect_plan", serde_json::json!({})).unwrap();
        assert_eq!(plan["incident_id"], id);
        assert_eq!(plan["steps"][0]["kind"], "flag-off");
        assert!(
            plan["steps"][0]["state_now"]
                .as_str()
                .unwrap()
                .contains("unknown"),
            "{plan}"
        );
        let err = call(&main, "protect", serde_json::json!({ "plan": plan, "confirmation": { "kind": "none" }, "onEvent": "__CHANNEL__:3" })).unwrap_err();
        assert_eq!(err["code"], "confirmation-required", "{err}");
        let report = call(&main, "protect", serde_json::json!({ "plan": plan, "confirmation": { "kind": "yes" }, "onEvent": "__CHANNEL__:3" })).unwrap();
        assert_eq!(report["run"], "protect");
        assert_eq!(report["steps"][0]["status"], "failed", "{report}");

        assert_eq!(
            call(&main, "cancel_run", serde_json::json!({ "incidentId": id })).unwrap(),
            false,
            "no run going on"
        );
        let down = call(&main, "stand_down_plan", serde_json::json!({ "id": id })).unwrap();
        assert_eq!(down["run"], "stand-down");
        let report = call(&main, "stand_down", serde_json::json!({ "plan": down, "confirmation": { "kind": "yes" }, "onEvent": "__CHANNEL__:4" })).unwrap();
        assert_eq!(report["run"], "stand-down");

        let phase = call(
            &main,
            "set_incident_phase",
            serde_json::json!({ "phase": "fixing" }),
        )
        .unwrap();
        assert_eq!(phase["phase"], "fixing");
        let resolved = call(
            &main,
            "set_incident_phase",
            serde_json::json!({ "id": id, "phase": "resolved", "text": "flag fixed" }),
        )
        .unwrap();
        assert!(resolved["resolved_at"].is_string(), "{resolved}");
        let detail = call(&main, "incident_detail", serde_json::json!({ "id": id })).unwrap();
        assert!(
            detail["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["text"] == "looking at the flags")
        );

        let pm = call(&main, "postmortem", serde_json::json!({ "id": id })).unwrap();
        assert!(
            pm["markdown"].as_str().unwrap().contains("Checkout errors"),
            "{pm}"
        );
        // The native save dialog answers itself in this build: the Markdown read from the journal is written.
        let saved = call(&main, "save_postmortem", serde_json::json!({ "id": id })).unwrap();
        let written = std::fs::read_to_string(saved.as_str().unwrap()).unwrap();
        assert_eq!(written, pm["markdown"].as_str().unwrap());
        std::fs::remove_file(saved.as_str().unwrap()).unwrap();

        let overview = call(&main, "overview", serde_json::json!({})).unwrap();
        assert_eq!(overview["unmonitored"], true, "{overview}");
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
        let granted: std::collections::BTreeSet<String> = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .filter_map(|p| p.strip_prefix("allow-"))
            .map(|p| p.replace('-', "_"))
            .collect();
        assert_eq!(
            granted,
            listed(),
            "capabilities/main.json vs command_list.rs"
        );
    }

    fn listed() -> std::collections::BTreeSet<String> {
        super::COMMANDS.iter().map(|c| c.to_string()).collect()
    }

    /// Every command name ui/src/lib/api.ts passes to `call<T>('…')` or `invoke('…')`.
    fn invoked_by_the_ui() -> std::collections::BTreeSet<String> {
        let api = include_str!("../../ui/src/lib/api.ts");
        let mut names = std::collections::BTreeSet::new();
        for line in api.lines() {
            for opening in ["call<", "invoke("] {
                for (at, _) in line.match_indices(opening) {
                    // From the `<` or `(`: a generic argument at most, then `('name'`.
                    let rest = &line[at + opening.len() - 1..];
                    let Some(quote) = rest.find("('") else {
                        continue;
                    };
                    if rest[..quote].contains('(') {
                        continue;
                    }
                    let name = &rest[quote + 2..];
                    names.insert(name[..name.find('\'').unwrap()].to_string());
                }
            }
        }
        names
    }

    #[test]
    fn the_ui_calls_every_command_of_the_list_and_no_other() {
        assert_eq!(
            invoked_by_the_ui(),
            listed(),
            "ui/src/lib/api.ts vs command_list.rs"
        );
    }

    const ONE_HOST_WITH_A_KNOWN_KEY: &str = "known_hosts = \"known_hosts\"\n[[hosts]]\nname = \"web-1\"\naddress = \"127.0.0.1\"\nport = 9\nuser = \"u\"\nauth = { type = \"agent\" }\nconnect_timeout_secs = 1\n";
    const KNOWN_KEY: &str = "[127.0.0.1]:9 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIyLlsf0FRDVDj2cWUYBp3habExc/P+ylo2ErExOyNN8\n";

    /// Issue 14: a compromised webview sends whatever confirmation it likes; trusting or
    /// forgetting a host key and running a dangerous runbook also need the native dialog's yes.
    #[test]
    fn security_decisions_need_the_native_dialogs_yes_whatever_the_webview_sends() {
        let dangerous = serde_json::json!({ "name": "web-1", "runbook": "__wipe-cache", "confirmation": { "kind": "typed", "value": "__wipe-cache" } });
        let trust = serde_json::json!({ "name": "web-1", "fingerprint": "SHA256:T2lzxtWHFZOKRi6rOtAaDWCAnPWJ1jtqUgW8T5e+6j0" });
        let forget = serde_json::json!({ "name": "web-1" });
        let add_trusting = serde_json::json!({
            "input": { "name": "web-2", "address": "127.0.0.1", "port": 9, "user": "u", "auth": { "type": "agent" } },
            "check": { "kind": "login", "trust": "SHA256:T2lzxtWHFZOKRi6rOtAaDWCAnPWJ1jtqUgW8T5e+6j0" },
        });

        let (dir, main) = app_window_answering(ONE_HOST_WITH_A_KNOWN_KEY, "main", false);
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, KNOWN_KEY).unwrap();
        for (cmd, args) in [
            ("run_runbook", &dangerous),
            ("trust_host_key", &trust),
            ("forget_host_key", &forget),
            ("add_host", &add_trusting),
        ] {
            let err = call(&main, cmd, args.clone()).unwrap_err();
            assert_eq!(err["code"], "confirmation-required", "{cmd}: {err}");
        }
        assert_eq!(
            std::fs::read_to_string(&known_hosts).unwrap(),
            KNOWN_KEY,
            "a declined forget keeps the key"
        );
        let config = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
        assert!(
            !config.contains("web-2"),
            "a declined trust adds nothing: {config}"
        );
        // A runbook that is not dangerous needs no native dialog: it reaches the host.
        let err = call(&main, "run_runbook", serde_json::json!({ "name": "web-1", "runbook": "restart-app", "confirmation": { "kind": "yes" } })).unwrap_err();
        assert_eq!(err["code"], "unreachable", "{err}");

        let (dir, main) = app_window_answering(ONE_HOST_WITH_A_KNOWN_KEY, "main", true);
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, KNOWN_KEY).unwrap();
        let err = call(&main, "run_runbook", dangerous).unwrap_err();
        assert_eq!(
            err["code"], "unreachable",
            "confirmed, it reached the host: {err}"
        );
        let err = call(&main, "trust_host_key", trust).unwrap_err();
        assert_eq!(
            err["code"], "unreachable",
            "confirmed, it reached the host: {err}"
        );
        let err = call(&main, "add_host", add_trusting).unwrap_err();
        assert_eq!(
            err["code"], "unreachable",
            "confirmed, it reached the host: {err}"
        );
        assert_eq!(call(&main, "forget_host_key", forget).unwrap(), 1);
        assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), "");
    }

    #[test]
    fn only_http_and_https_links_are_opened() {
        let (_dir, main) = app_window(ONE_HOST, "main");
        for url in [
            "javascript:alert(document.domain)",
            "file:///etc/shadow",
            "tauri://localhost/#/journal",
            "not a url",
        ] {
            let err = call(&main, "open_link", serde_json::json!({ "url": url })).unwrap_err();
            assert_eq!(err["code"], "invalid-input", "{url}: {err}");
        }
    }

    const PLAYBOOK: &str = "[[hosts]]\nname = \"web-2\"\naddress = \"127.0.0.1\"\nport = 9\nuser = \"ops\"\nauth = { type = \"agent\" }\nconnect_timeout_secs = 1\n\n[[playbooks]]\nname = \"checkout\"\nmatch = { alertname = \"CheckoutErrors\" }\nprotect = [\n  { reboot = \"web-2\" },\n  { runbook = \"__drain\", host = \"web-2\" },\n]\n";

    /// A relay as the device sees it: pairing pins `key`, the first claim of any intent is ours.
    async fn relay_answering(key: &ed25519_dalek::SigningKey) -> wiremock::MockServer {
        use wiremock::matchers::{method, path, path_regex};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let relay = MockServer::start().await;
        let pairing = serde_json::json!({
            "device_id": "d-1",
            "device_token": "device-token",
            "relay_key": paaf_core::intent::format_key(&key.verifying_key()),
        });
        Mock::given(method("POST"))
            .and(path("/pair"))
            .respond_with(ResponseTemplate::new(200).set_body_json(pairing))
            .mount(&relay)
            .await;
        // Pairing registers the device's team-timeline key right after `/pair`.
        Mock::given(method("POST"))
            .and(path("/device/key"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&relay)
            .await;
        let claim = serde_json::json!({ "first": true, "device": "desktop", "claimed_at": "now", "result": null });
        Mock::given(method("POST"))
            .and(path_regex("^/intents/[^/]+/claim$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(claim))
            .mount(&relay)
            .await;
        Mock::given(method("POST"))
            .and(path_regex("^/intents/[^/]+/result$"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&relay)
            .await;
        // Asked before Run: nobody claimed it yet.
        Mock::given(method("GET"))
            .and(path_regex("^/intents/[^/]+/claim$"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({ "claim": null })),
            )
            .mount(&relay)
            .await;
        relay
    }

    /// A `paaf://intent/` link to `action`, signed by `key`, expiring `expires_in_ms` from now.
    fn intent_link(
        key: &ed25519_dalek::SigningKey,
        action: paaf_core::intent::IntentAction,
        expires_in_ms: i64,
    ) -> String {
        use paaf_core::intent::{self, ActionIntent, IntentOrigin};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let intent = ActionIntent {
            v: intent::VERSION,
            id: format!("i-{now}-{expires_in_ms}"),
            key_id: intent::key_id(&key.verifying_key()),
            issued_at_ms: now - 120_000,
            expires_at_ms: now + expires_in_ms,
            nonce: format!("n-{now}-{expires_in_ms}"),
            origin: IntentOrigin {
                source: "grafana".into(),
                alert: "CheckoutErrors".into(),
                labels: [("service".to_string(), "checkout-api".to_string())].into(),
                fingerprint: None,
                playbook: "checkout".into(),
            },
            action,
        };
        intent::url_of(&intent::sign(&intent, key))
    }

    /// Issue 19: a `paaf://intent/` link reaches the same core verification as `paaf intent
    /// open`: a valid one opens a confirmation; forged, expired and replayed ones are refused
    /// with their codes, and nothing is run for them.
    #[test]
    fn an_intent_link_opens_a_confirmation_and_forged_expired_or_replayed_ones_are_refused() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let relay = runtime.block_on(relay_answering(&key));
        let (_dir, core) = core_on(PLAYBOOK);
        let token = secrecy::SecretString::from("team-token");
        runtime
            .block_on(core.relay_pair(&relay.uri(), &token))
            .unwrap();
        let main = window_over(core, "main", true);
        let open = |link: &str| call(&main, "open_intent", serde_json::json!({ "link": link }));
        let execute = |link: &str, kind: &str| {
            let confirmation = serde_json::json!({ "kind": kind });
            let args = serde_json::json!({ "link": link, "confirmation": confirmation });
            call(&main, "execute_intent", args)
        };
        let journaled = || {
            let rows = call(&main, "journal", serde_json::json!({ "target": "web-2" })).unwrap();
            rows.as_array().unwrap().len()
        };
        let reboot = paaf_core::intent::IntentAction::Reboot {
            host: "web-2".into(),
        };

        let link = intent_link(&key, reboot.clone(), 600_000);
        let shown = open(&link).unwrap();
        assert_eq!(shown["alert"], "CheckoutErrors", "{shown}");
        assert_eq!(shown["playbook"], "checkout", "{shown}");
        assert_eq!(shown["kind"], "reboot", "{shown}");
        assert_eq!(shown["target"], "web-2", "{shown}");
        assert_eq!(shown["typed_name"], serde_json::Value::Null, "{shown}");
        assert_eq!(shown["labels"]["service"], "checkout-api", "{shown}");

        let drain = paaf_core::intent::IntentAction::Runbook {
            host: "web-2".into(),
            runbook: "__drain".into(),
        };
        let dangerous = intent_link(&key, drain, 600_000);
        let shown = open(&dangerous).unwrap();
        assert_eq!(
            shown["typed_name"], "__drain",
            "a dangerous runbook wants its name typed"
        );
        let err = execute(&dangerous, "yes").unwrap_err();
        assert_eq!(err["code"], "confirmation-required", "{err}");

        let forger = ed25519_dalek::SigningKey::from_bytes(&[8; 32]);
        let forged = intent_link(&forger, reboot.clone(), 600_000);
        for err in [open(&forged), execute(&forged, "yes")].map(Result::unwrap_err) {
            assert_eq!(err["code"], "auth-failed", "{err}");
        }

        let expired = intent_link(&key, reboot.clone(), -60_000);
        let err = open(&expired).unwrap_err();
        assert_eq!(err["code"], "conflict", "{err}");
        assert!(
            err["message"].as_str().unwrap().contains("expired"),
            "{err}"
        );
        assert_eq!(journaled(), 0, "nothing ran for the refused intents");

        let err = execute(&link, "none").unwrap_err();
        assert_eq!(err["code"], "confirmation-required", "{err}");
        // Confirmed, it claims the intent and runs: the host is unreachable, so the reboot fails,
        // and the journal has it.
        let err = execute(&link, "yes").unwrap_err();
        assert_eq!(err["code"], "unreachable", "{err}");
        assert_eq!(journaled(), 1);
        let err = open(&link).unwrap_err();
        assert_eq!(err["code"], "conflict", "{err}");
        assert!(
            err["message"].as_str().unwrap().contains("already used"),
            "{err}"
        );
        let err = execute(&link, "yes").unwrap_err();
        assert_eq!(err["code"], "conflict", "replayed: {err}");
        assert_eq!(journaled(), 1, "nothing ran again");
    }

    /// Issue 19: while paired, the app follows the relay's stream and hands each intent's link
    /// to the window (after its notification), where the confirmation opens.
    #[test]
    fn the_relays_stream_hands_each_intent_link_to_the_window() {
        use tauri::{Listener, Manager};
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let relay = runtime.block_on(relay_answering(&key));
        let notice = serde_json::json!({ "id": "i-1", "url": "paaf://intent/abc.def", "alert": "CheckoutErrors", "playbook": "checkout", "kind": "reboot", "target": "web-2", "expires_at_ms": 0 });
        let stream = format!("event: intent\nid: 7\ndata: {notice}\n\n");
        runtime.block_on(
            wiremock::Mock::given(wiremock::matchers::path("/stream"))
                .and(wiremock::matchers::header(
                    "authorization",
                    "Bearer device-token",
                ))
                .respond_with(
                    wiremock::ResponseTemplate::new(200)
                        .insert_header("content-type", "text/event-stream")
                        .set_body_string(stream),
                )
                .mount(&relay),
        );
        let (_dir, core) = core_on(PLAYBOOK);
        let token = secrecy::SecretString::from("team-token");
        runtime
            .block_on(core.relay_pair(&relay.uri(), &token))
            .unwrap();
        let main = window_over(core, "main", true);
        let (links, received) = std::sync::mpsc::channel();
        main.listen(crate::relay_stream::INTENT_EVENT, move |event| {
            let _ = links.send(event.payload().to_string());
        });
        crate::relay_stream::follow(main.app_handle().clone());
        let link = received
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the intent reached the window");
        assert_eq!(link, "\"paaf://intent/abc.def\"");
    }

    /// Issue 19, devices: the `paaf://` handler, invoked as a second launch hands over its
    /// arguments (tauri-plugin-single-instance) and as a click on the notification's button
    /// does: the link reaches the window (which opens IntentConfirm on it); anything else
    /// (no link, another scheme, the notification closed) hands nothing.
    #[test]
    fn a_second_launchs_link_and_a_notification_click_open_the_intent_in_the_window() {
        use tauri::{Listener, Manager};
        let (_dir, core) = core_on(PLAYBOOK);
        let main = window_over(core, "main", true);
        let (links, received) = std::sync::mpsc::channel();
        main.listen(crate::relay_stream::INTENT_EVENT, move |event| {
            let _ = links.send(event.payload().to_string());
        });
        let app = main.app_handle();
        let launch = ["/usr/bin/paaf-desktop", "paaf://intent/abc.def"].map(String::from);
        assert!(crate::deep_link::handle(app, launch));
        let got = |what: &str| {
            received
                .recv_timeout(std::time::Duration::from_secs(10))
                .expect(what)
        };
        assert_eq!(got("the launch's link"), "\"paaf://intent/abc.def\"");
        assert!(!crate::deep_link::handle(app, ["paaf-desktop".to_string()]));
        assert!(!crate::deep_link::handle(
            app,
            ["https://x/intent".to_string()]
        ));
        let review = crate::relay_stream::REVIEW_ACTION;
        assert!(crate::relay_stream::on_notification_action(
            app,
            review,
            "paaf://intent/gh.ij"
        ));
        assert_eq!(
            got("the clicked notification's link"),
            "\"paaf://intent/gh.ij\""
        );
        assert!(!crate::relay_stream::on_notification_action(
            app,
            "__closed",
            "paaf://intent/x.y"
        ));
        assert!(
            received
                .recv_timeout(std::time::Duration::from_millis(300))
                .is_err(),
            "nothing else reached the window"
        );
    }

    #[test]
    fn the_app_takes_an_intent_link_from_its_arguments_once() {
        let pending = crate::commands::PendingIntent::from_args(
            ["--verbose", "paaf://intent/abc.def"].map(String::from),
        );
        assert_eq!(
            pending.0.lock().unwrap().take().as_deref(),
            Some("paaf://intent/abc.def")
        );
        let none = crate::commands::PendingIntent::from_args(["https://x".to_string()]);
        assert_eq!(none.0.lock().unwrap().take(), None);
    }
}
