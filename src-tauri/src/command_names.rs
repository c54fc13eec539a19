//! Every command the UI may call; build.rs turns each into an `allow-…` permission.

pub const ALL: &[&str] = &[
    "about",
    "list_hosts",
    "host_status",
    "add_host",
    "remove_host",
    "probe_host_key",
    "trust_host_key",
    "forget_host_key",
    "reboot",
    "cancel_action",
    "exec",
    "runbooks",
    "run_runbook",
    "journal",
    "first_paint",
];
