//! Alert lists without HTTP: Alertmanager's `GET /api/v2/alerts` and the rule alerts of
//! Prometheus's or Grafana's `…/api/v1/alerts`, decoded and made into the one sorted list
//! every front-end shows; seeded with real Alertmanager and Grafana webhook alerts (the input's
//! format: `paaf_core::fuzzing::decode_alert_list`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    paaf_core::fuzzing::decode_alert_list(data);
});
