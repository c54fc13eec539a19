//! Grafana dashboard JSON (`GET /api/dashboards/uid/…`, or a bare model): read, its time range
//! resolved, its variables' options and filters, and every query interpolated as a panel sends
//! it.
#![no_main]

use paaf_core::monitor::dashboard::{
    DefaultFormat, builtin_scope, custom_options, filter_options, interpolate_json, intervals,
    parse_dashboard, parse_interval,
};
use paaf_core::monitor::parse_range;

const NOW_MS: i64 = 1_700_000_000_000;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(model) = parse_dashboard(&body) else {
        return;
    };
    let Ok(range) = parse_range(&model.time_from, &model.time_to, NOW_MS) else {
        return;
    };
    let mut scope = builtin_scope(range, &intervals(range, 1000, None, 15_000));
    for def in &model.variables {
        let options = custom_options(&def.query);
        let _ = filter_options(&def.regex, &scope, options);
        if let Some(min) = def.auto_min.as_deref() {
            parse_interval(min);
        }
    }
    for panel in &model.panels {
        let min = panel.min_interval.as_deref().and_then(parse_interval);
        let iv = intervals(range, panel.max_data_points.unwrap_or(1000), min, 15_000);
        scope.extend(builtin_scope(range, &iv));
        for target in &panel.targets {
            interpolate_json(&target.query, &scope, DefaultFormat::Prometheus);
        }
    }
});
