//! Grafana, Prometheus and Alertmanager clients on arbitrary answers: search, dashboards with
//! their variables, panel data and images, alerts in one list, silences, annotations, queries,
//! targets (the input's format: `paaf_core::fuzzing`).
#![no_main]

#[path = "tls.rs"]
mod tls;

libfuzzer_sys::fuzz_target!(
    init: tls::without_system_roots(),
    |data: &[u8]| {
        paaf_core::fuzzing::decode_monitor_answer(data);
    }
);
