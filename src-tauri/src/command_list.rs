//! The one list of the commands the UI may call (each a function in commands.rs). build.rs
//! turns each into an `allow-…` permission, lib.rs registers each as a handler, and tests check
//! capabilities/main.json and ui/src/lib/api.ts against it: a new command is added here only.

/// Calls the macro `$then` with every command name.
macro_rules! paaf_commands {
    ($then:ident) => {
        $then!(
            about,
            list_hosts,
            host_status,
            add_host,
            remove_host,
            probe_host_key,
            trust_host_key,
            forget_host_key,
            reboot,
            cancel_action,
            exec,
            selectable,
            select_hosts,
            fan_out,
            cancel_fan_out,
            runbooks,
            run_runbook,
            journal,
            first_paint,
            flags,
            flag_state,
            set_flag,
            undo_flag,
            alerts,
            query,
            targets,
            silence,
            silences,
            expire_silence,
            dashboards,
            dashboard,
            panel_data,
            annotate,
            cached_servers,
            servers,
            server_power,
            open_link,
            overview,
            playbooks,
            open_incident,
            incidents,
            incident_detail,
            protect_plan,
            protect,
            stand_down_plan,
            stand_down,
            cancel_run,
            note_incident,
            set_incident_phase,
            postmortem,
            save_postmortem,
            pending_intent,
            open_intent,
            execute_intent,
        )
    };
}

/// The names as strings: `paaf_commands!(command_names)`.
macro_rules! command_names {
    ($($command:ident),* $(,)?) => {
        &[$(stringify!($command)),*]
    };
}
