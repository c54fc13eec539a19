//! Analyze: the clients of Grafana ([`grafana`], with its dashboard model in [`dashboard`]),
//! Prometheus ([`prometheus`]) and Alertmanager ([`alertmanager`]), their alerts in one list
//! ([`alert_list`]), and the network-free parts: Grafana `/api/ds/query` data frames decoded into
//! named series ([`frames`]), series thinned for the screen with per-series stats
//! ([`downsample`]), and Grafana's time syntax (`now-6h`, `now-1d/d`, …) resolved to epoch
//! milliseconds ([`timerange`]).

pub mod alert_list;
pub mod alertmanager;
pub mod dashboard;
pub mod downsample;
pub mod frames;
pub mod grafana;
pub mod prometheus;
pub mod timerange;

pub use downsample::{ChartSeries, SeriesStats, chart_series, downsample, lttb_indices, stats};
pub use frames::{
    DEFAULT_MAX_RESPONSE_BYTES, DsQueryResponse, QueryError, Series, SkipReason, SkippedField,
    decode_ds_query,
};
pub use timerange::{Boundary, TimeParseError, TimeRange, parse_range, parse_time};

/// `endpoint` under an API's path `prefix` (`api/v1` + `query` → `api/v1/query`).
fn api_path(prefix: &str, endpoint: &str) -> String {
    if prefix.is_empty() {
        endpoint.to_string()
    } else {
        format!("{prefix}/{endpoint}")
    }
}

/// `v` with every byte but ASCII letters, digits and those in `kept` percent-encoded (`%2F`).
fn percent_encoded(v: &str, kept: &[u8]) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || kept.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
