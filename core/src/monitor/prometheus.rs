//! Prometheus HTTP API v1 (<https://prometheus.io/docs/prometheus/latest/querying/api/>): instant
//! and range queries decoded into the same [`Series`] Grafana's data frames become (so both feed
//! the same downsampler and charts), firing and pending alerts, and scrape-target health.
//!
//! Every call takes a path prefix: `"api/v1"` ([`API_V1`]) on a Prometheus server. Grafana serves
//! the same alerts format for its own alert rules under
//! `"api/prometheus/grafana/api/v1"` ([`GRAFANA_ALERTS_PREFIX`]), so [`alerts`] works there too.
//!
//! Wire format notes:
//! - Sample values are strings (`"1"`, `"1e+00"`, `"NaN"`, `"+Inf"`, `"-Inf"`); times are epoch
//!   seconds with a fraction (`1435781451.781`), turned into epoch milliseconds.
//! - A failed call answers `{"status":"error","errorType","error"}` with HTTP 400 (`bad_data`),
//!   422 (`execution`) or 503 (`timeout`, `canceled`); it becomes a typed error that names the
//!   query (see [`api_error`]).
//! - A range query is refused by Prometheus when it would return more than 11,000 points per
//!   series; the step is always chosen so that cannot happen ([`choose_step_ms`]).

use super::downsample::{ChartSeries, chart_series};
use super::frames::{Series, format_labels};
use crate::error::{Error, ErrorCode, Result};
use crate::http::{HttpFailure, Request, Service};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The API prefix of a Prometheus server.
pub const API_V1: &str = "api/v1";
/// Where Grafana serves its own alert rules' alerts in Prometheus's format.
pub const GRAFANA_ALERTS_PREFIX: &str = "api/prometheus/grafana/api/v1";
/// Prometheus refuses range queries that would return more points per series than this.
pub const MAX_POINTS_PER_SERIES: i64 = 11_000;
/// Points per series asked for when the caller gives neither a step nor a maximum: about the
/// width of a chart in pixels.
pub const DEFAULT_MAX_POINTS: u32 = 1_000;
/// The smallest step chosen automatically (a caller may still ask for a smaller one).
pub const DEFAULT_MIN_STEP_MS: i64 = 1_000;
/// Longest query text quoted in an error message.
const QUERY_IN_ERRORS: usize = 200;

/// A client of one Prometheus-compatible API: a [`Service`] and the path prefix of its API.
#[derive(Debug, Clone)]
pub struct Prometheus<'a> {
    service: &'a Service,
    prefix: String,
}

/// Which kind of value a query returned (`data.resultType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ResultType {
    /// An instant vector: one point per series.
    Vector,
    /// A range vector: many points per series.
    Matrix,
    /// One number, without labels: one series of one point.
    Scalar,
    /// A string literal: no series; see [`QueryResult::text`].
    String,
}

/// A `string` result: its value and when it was evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TextSample {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_ms: i64,
    pub text: String,
}

/// The answer to a query.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QueryResult {
    pub result_type: ResultType,
    /// One series per label set. `ref_id` is the query text; `name` is the labels in Prometheus
    /// style (`metric{job="api"}`), or the query text for a series without labels.
    pub series: Vec<Series>,
    /// For a `string` result: its time (epoch ms) and text.
    pub text: Option<TextSample>,
    /// The step a range query ran with (chosen by [`choose_step_ms`]); `None` for instant queries.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub step_ms: Option<i64>,
    /// Prometheus's warnings (the data is still complete enough to show), plus paaf's own when
    /// something in the answer could not be shown (native histograms).
    pub warnings: Vec<String>,
}

/// A range query's answer ready to draw at a pixel width (a phone's quick query).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QueryChart {
    pub expr: String,
    /// Each series bucketed per pixel column (min/max/mean/last).
    pub series: Vec<ChartSeries>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The step the query ran with.
    pub step_ms: Option<i64>,
    pub warnings: Vec<String>,
    pub width: u32,
}

impl QueryChart {
    /// `result`'s series bucketed `width` columns wide over `from_ms..to_ms`.
    pub fn of(expr: &str, result: QueryResult, from_ms: i64, to_ms: i64, width: u32) -> Self {
        QueryChart {
            expr: expr.to_string(),
            series: result
                .series
                .into_iter()
                .map(|s| chart_series(s, from_ms, to_ms, width))
                .collect(),
            from_ms,
            to_ms,
            step_ms: result.step_ms,
            warnings: result.warnings,
            width: width.max(1),
        }
    }
}

/// The time range and resolution of a range query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeQuery {
    /// Epoch milliseconds (e.g. from [`super::timerange::parse_range`]).
    pub from_ms: i64,
    pub to_ms: i64,
    /// The step; chosen from the range and `max_points` when `None`. Either way it is raised when
    /// needed so no series exceeds Prometheus's 11,000 points.
    pub step_ms: Option<i64>,
    /// Points per series wanted when the step is chosen ([`DEFAULT_MAX_POINTS`] when `None`).
    pub max_points: Option<u32>,
}

impl RangeQuery {
    /// A range with the step chosen for [`DEFAULT_MAX_POINTS`] points.
    pub fn new(from_ms: i64, to_ms: i64) -> RangeQuery {
        RangeQuery {
            from_ms,
            to_ms,
            step_ms: None,
            max_points: None,
        }
    }
}

impl From<super::timerange::TimeRange> for RangeQuery {
    fn from(r: super::timerange::TimeRange) -> Self {
        RangeQuery::new(r.from_ms, r.to_ms)
    }
}

/// The state of a Prometheus (or Grafana) alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertState {
    /// Prometheus `firing`; Grafana `Alerting` (also `Alerting (NoData)` and the like).
    Firing,
    /// The condition holds but not yet for the rule's `for` duration.
    Pending,
    /// Prometheus `inactive`; Grafana `Normal`.
    Inactive,
    /// Anything else (Grafana `NoData`, `Error`, …): see [`PromAlert::state_text`].
    Other,
}

impl AlertState {
    fn parse(text: &str) -> AlertState {
        let t = text.trim().to_ascii_lowercase();
        if t.starts_with("firing") || t.starts_with("alerting") {
            AlertState::Firing
        } else if t.starts_with("pending") {
            AlertState::Pending
        } else if t.starts_with("inactive") || t.starts_with("normal") {
            AlertState::Inactive
        } else {
            AlertState::Other
        }
    }
}

/// One active alert of an alerting rule (`GET <prefix>/alerts`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromAlert {
    /// `alertname` and the rule's labels.
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    /// The state as the server wrote it (`firing`, `Alerting (NoData)`, …).
    pub state_text: String,
    /// When the alert became pending (epoch ms).
    pub active_at_ms: Option<i64>,
    /// The rule expression's value when last evaluated (`NaN`/`±inf` possible).
    pub value: Option<f64>,
}

impl PromAlert {
    /// The `alertname` label ("" when missing).
    pub fn name(&self) -> &str {
        self.labels
            .get("alertname")
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Scrape health of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TargetHealth {
    Up,
    Down,
    /// Not scraped yet.
    Unknown,
}

/// One active scrape target (`GET <prefix>/targets?state=active`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Target {
    /// The `job` label.
    pub job: String,
    /// The `instance` label (`host:port`).
    pub instance: String,
    pub health: TargetHealth,
    /// Why the last scrape failed; `None` when it worked.
    pub last_error: Option<String>,
    /// When it was last scraped (epoch ms); `None` before the first scrape.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub last_scrape_ms: Option<i64>,
    /// How long the last scrape took.
    pub last_scrape_duration_ms: Option<f64>,
    pub scrape_url: String,
    /// All target labels after relabelling.
    pub labels: BTreeMap<String, String>,
}

impl<'a> Prometheus<'a> {
    /// A client of the API at `prefix` (e.g. [`API_V1`]) under `service`'s base URL.
    pub fn new(service: &'a Service, prefix: &str) -> Prometheus<'a> {
        Prometheus {
            service,
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    fn path(&self, endpoint: &str) -> String {
        super::api_path(&self.prefix, endpoint)
    }

    /// Evaluates `expr` at `at_ms` (epoch ms; the server's now when `None`).
    pub async fn query(&self, expr: &str, at_ms: Option<i64>) -> Result<QueryResult> {
        check_expr(expr)?;
        let mut request = Request::get(self.path("query")).query("query", expr);
        if let Some(at) = at_ms {
            request = request.query("time", seconds(at));
        }
        let (data, warnings) = self.call::<RawData>(request, &query_what(expr)).await?;
        decode_data(data, expr, warnings, None)
    }

    /// Evaluates `expr` over a range; the step is chosen by [`choose_step_ms`].
    pub async fn query_range(&self, expr: &str, range: &RangeQuery) -> Result<QueryResult> {
        check_expr(expr)?;
        if range.to_ms < range.from_ms {
            return Err(Error::invalid(format!(
                "the time range of {} ends before it starts",
                query_what(expr)
            )));
        }
        let step = choose_step_ms(range.from_ms, range.to_ms, range.step_ms, range.max_points);
        let request = Request::get(self.path("query_range"))
            .query("query", expr)
            .query("start", seconds(range.from_ms))
            .query("end", seconds(range.to_ms))
            .query("step", seconds(step));
        let (data, warnings) = self.call::<RawData>(request, &query_what(expr)).await?;
        decode_data(data, expr, warnings, Some(step))
    }

    /// The alerts of the alerting rules that are pending or firing now.
    pub async fn alerts(&self) -> Result<Vec<PromAlert>> {
        let endpoint = format!("{} {}", self.service.name(), self.path("alerts"));
        let (data, _) = self
            .call::<serde_json::Value>(Request::get(self.path("alerts")), "the alerts list")
            .await?;
        decode_alerts(data, &endpoint)
    }

    /// The active scrape targets and their health, ordered by job then instance.
    pub async fn targets(&self) -> Result<Vec<Target>> {
        let request = Request::get(self.path("targets")).query("state", "active");
        let (data, _) = self.call::<RawTargets>(request, "the targets list").await?;
        let mut targets: Vec<Target> = data
            .active_targets
            .into_iter()
            .map(RawTarget::into_target)
            .collect();
        targets.sort_by(|a, b| (&a.job, &a.instance).cmp(&(&b.job, &b.instance)));
        Ok(targets)
    }

    /// Sends `request` and unwraps the `{status, data, warnings}` envelope.
    async fn call<T: DeserializeOwned>(
        &self,
        request: Request,
        what: &str,
    ) -> Result<(T, Vec<String>)> {
        let endpoint = format!("{} {}", self.service.name(), request.path);
        match self.service.send_raw(request).await? {
            Ok(response) => decode_envelope(&response.body, &endpoint, self.service.name(), what),
            Err(failure) => Err(api_error(self.service, &failure, what)
                .unwrap_or_else(|| self.service.status_error(&failure))),
        }
    }
}

/// The alerts of a Prometheus-format alerts API: `prefix` is [`API_V1`] on Prometheus,
/// [`GRAFANA_ALERTS_PREFIX`] on Grafana.
pub async fn alerts(service: &Service, prefix: &str) -> Result<Vec<PromAlert>> {
    Prometheus::new(service, prefix).alerts().await
}

/// The step (ms) of a range query over `[from_ms, to_ms]`: `step_ms` when given, else the
/// span divided by `max_points` (default [`DEFAULT_MAX_POINTS`]) rounded up to a round
/// duration (1s, 2s, 5s, 10s, 15s, 30s, 1m, … 1d, then whole days), at least
/// [`DEFAULT_MIN_STEP_MS`]. Either way raised so the query returns at most 11,000 points per
/// series, the most Prometheus accepts.
pub fn choose_step_ms(
    from_ms: i64,
    to_ms: i64,
    step_ms: Option<i64>,
    max_points: Option<u32>,
) -> i64 {
    let span = to_ms.saturating_sub(from_ms).max(0);
    let step = match step_ms {
        Some(s) if s > 0 => s,
        _ => {
            let points = i64::from(max_points.unwrap_or(DEFAULT_MAX_POINTS).max(2));
            // n points cover n-1 steps.
            round_step(div_ceil(span, points - 1)).max(DEFAULT_MIN_STEP_MS)
        }
    };
    // span/step + 1 points; Prometheus refuses span/step > 11,000.
    step.max(div_ceil(span, MAX_POINTS_PER_SERIES - 1)).max(1)
}

/// `ceil(a / b)` for `a >= 0`, `b > 0`, without overflow.
fn div_ceil(a: i64, b: i64) -> i64 {
    a / b + i64::from(a % b != 0)
}

/// The smallest round duration at least `ms`.
fn round_step(ms: i64) -> i64 {
    const S: i64 = 1_000;
    const M: i64 = 60 * S;
    const H: i64 = 60 * M;
    const D: i64 = 24 * H;
    const ROUND: [i64; 18] = [
        S,
        2 * S,
        5 * S,
        10 * S,
        15 * S,
        30 * S,
        M,
        2 * M,
        5 * M,
        10 * M,
        15 * M,
        30 * M,
        H,
        2 * H,
        3 * H,
        6 * H,
        12 * H,
        D,
    ];
    ROUND
        .iter()
        .copied()
        .find(|&r| r >= ms)
        .unwrap_or_else(|| div_ceil(ms, D).saturating_mul(D))
}

/// Epoch (or duration) milliseconds as Prometheus's decimal seconds, exactly (`-1.500`).
fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

fn check_expr(expr: &str) -> Result<()> {
    if expr.trim().is_empty() {
        return Err(Error::invalid("the PromQL query is empty"));
    }
    Ok(())
}

/// "query `up`", cut to a readable length.
fn query_what(expr: &str) -> String {
    let expr = expr.trim();
    if expr.chars().count() > QUERY_IN_ERRORS {
        let cut: String = expr.chars().take(QUERY_IN_ERRORS).collect();
        format!("query `{cut}…`")
    } else {
        format!("query `{expr}`")
    }
}

// ---- errors -----------------------------------------------------------------------------------

/// The typed error for a Prometheus API failure (`{"status":"error","errorType","error"}`),
/// naming `what` failed (e.g. "query `rate(x[5m]`"); `None` when the body is not such an error
/// (then the HTTP status decides, as for any service). The failure body arrives cut to a few
/// hundred bytes, so a long message is read up to the cut.
///
/// - `bad_data` (400) and `execution` (422): the query or its parameters are wrong:
///   [`ErrorCode::InvalidInput`].
/// - `timeout`, `canceled` (503): [`ErrorCode::Timeout`].
/// - `not_found`: [`ErrorCode::NotFound`]; `unavailable`, `internal`: [`ErrorCode::ServiceFailed`].
pub fn api_error(service: &Service, failure: &HttpFailure, what: &str) -> Option<Error> {
    let (error_type, message) = parse_error_body(&failure.body)?;
    Some(typed_error(
        service.name(),
        failure.status,
        &error_type,
        &message,
        what,
    ))
}

fn typed_error(service: &str, status: u16, error_type: &str, message: &str, what: &str) -> Error {
    let (code, hint) = match error_type {
        "bad_data" => (
            ErrorCode::InvalidInput,
            "check the PromQL syntax, the metric and label names, and the time range",
        ),
        "execution" => (
            ErrorCode::InvalidInput,
            "the query parses but cannot run: check its label matching, or ask for less (a shorter range, fewer series)",
        ),
        "timeout" | "canceled" => (
            ErrorCode::Timeout,
            "Prometheus gave up on it: ask for less (a shorter range, a larger step, fewer series)",
        ),
        "not_found" => (ErrorCode::NotFound, "check the name"),
        _ if status == 404 => (ErrorCode::NotFound, "check the name"),
        _ if status >= 500 => (
            ErrorCode::ServiceFailed,
            "Prometheus failed: try again later, or check its status",
        ),
        _ => (ErrorCode::ServiceFailed, "Prometheus refused it"),
    };
    let message = if message.is_empty() {
        "(no message)"
    } else {
        message
    };
    Error::Service {
        service: service.to_string(),
        code,
        status,
        message: format!("{what} failed: {message} ({error_type}, HTTP {status}); {hint}"),
    }
}

/// `(errorType, error)` of an error body, which may be cut short.
fn parse_error_body(body: &str) -> Option<(String, String)> {
    #[derive(Deserialize)]
    struct ErrorBody {
        status: String,
        #[serde(rename = "errorType", default)]
        error_type: String,
        #[serde(default)]
        error: String,
    }
    if let Ok(b) = serde_json::from_str::<ErrorBody>(body) {
        return (b.status == "error").then_some((b.error_type, b.error));
    }
    // Cut short: read the two fields as far as they go.
    if !body.trim_start().starts_with('{') || !body.contains("\"status\":\"error\"") {
        return None;
    }
    let error_type = json_string_after(body, "\"errorType\":\"")?.0;
    let (mut error, complete) = json_string_after(body, "\"error\":\"").unwrap_or_default();
    if !complete {
        error.push('…');
    }
    Some((error_type, error))
}

/// The JSON string starting right after `key` in `text`, unescaped; and whether its closing
/// quote was found.
fn json_string_after(text: &str, key: &str) -> Option<(String, bool)> {
    let start = text.find(key)? + key.len();
    let mut out = String::new();
    let mut chars = text[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some((out, true)),
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(ch);
                    }
                }
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    Some((out, false))
}

/// A body that is not the JSON the API documents, described by position only: serde_json's
/// message could quote response text.
fn malformed(endpoint: &str, e: &serde_json::Error) -> Error {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Eof => "the body ended early (truncated?)",
        Category::Syntax => "the body is not JSON (an HTML page?)",
        Category::Data => "the JSON does not have the Prometheus API's shape",
        Category::Io => "the body could not be read",
    };
    let at = if e.line() > 0 {
        format!(" at line {} column {}", e.line(), e.column())
    } else {
        String::new()
    };
    Error::MalformedResponse {
        what: endpoint.to_string(),
        reason: format!("{what}{at}"),
    }
}

// ---- decoding ---------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType", default)]
    error_type: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    warnings: Vec<String>,
}

/// Unwraps a 2xx body; `endpoint` names it in a malformed-response error, `service` and `what`
/// in an API error.
fn decode_envelope<T: DeserializeOwned>(
    body: &[u8],
    endpoint: &str,
    service: &str,
    what: &str,
) -> Result<(T, Vec<String>)> {
    let envelope: Envelope<T> =
        serde_json::from_slice(body).map_err(|e| malformed(endpoint, &e))?;
    if envelope.status != "success" {
        return Err(typed_error(
            service,
            200,
            &envelope.error_type,
            &envelope.error,
            what,
        ));
    }
    let data = envelope.data.ok_or_else(|| Error::MalformedResponse {
        what: endpoint.to_string(),
        reason: "a success without `data`".into(),
    })?;
    Ok((data, envelope.warnings))
}

/// Decodes a query response body (`GET query` or `query_range`) for `expr`; `step_ms` is the
/// step a range query ran with.
pub fn decode_query(body: &[u8], expr: &str, step_ms: Option<i64>) -> Result<QueryResult> {
    let (data, warnings) =
        decode_envelope::<RawData>(body, "Prometheus query", "Prometheus", &query_what(expr))?;
    decode_data(data, expr, warnings, step_ms)
}

#[derive(Deserialize)]
struct RawData {
    #[serde(rename = "resultType")]
    result_type: ResultType,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    /// Vector: one sample.
    value: Option<RawSample>,
    /// Matrix: the samples.
    #[serde(default)]
    values: Vec<RawSample>,
    /// Native histograms (vector, matrix), which have no single value to plot.
    histogram: Option<serde_json::Value>,
    histograms: Option<Vec<serde_json::Value>>,
}

/// `[<unix seconds>, "<value>"]`.
#[derive(Deserialize)]
struct RawSample(f64, String);

impl RawSample {
    fn time_ms(&self) -> i64 {
        (self.0 * 1000.0).round() as i64
    }

    /// The value; `NaN`, `+Inf`, `-Inf` as such; a value that is no number is a gap.
    fn value(&self) -> Option<f64> {
        parse_value(&self.1)
    }
}

fn parse_value(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok()
}

fn decode_data(
    data: RawData,
    expr: &str,
    mut warnings: Vec<String>,
    step_ms: Option<i64>,
) -> Result<QueryResult> {
    let shape = |e: serde_json::Error| Error::MalformedResponse {
        what: "Prometheus query".into(),
        reason: format!(
            "the `{}` result does not have the documented shape ({})",
            serde_json::to_value(data.result_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            e.classify_text()
        ),
    };
    let mut result = QueryResult {
        result_type: data.result_type,
        series: Vec::new(),
        text: None,
        step_ms,
        warnings: Vec::new(),
    };
    match data.result_type {
        ResultType::Vector | ResultType::Matrix => {
            let raw: Vec<RawSeries> = serde_json::from_value(data.result).map_err(shape)?;
            let mut histograms = 0;
            for s in raw {
                let samples: Vec<RawSample> = match s.value {
                    Some(v) => vec![v],
                    None => s.values,
                };
                if samples.is_empty() {
                    if s.histogram.is_some() || s.histograms.is_some() {
                        histograms += 1;
                    }
                    continue;
                }
                result.series.push(series(expr, s.metric, &samples));
            }
            if histograms > 0 {
                warnings.push(format!(
                    "{histograms} series hold native histograms, which paaf does not chart; query a quantile or a rate of them instead"
                ));
            }
        }
        ResultType::Scalar => {
            let sample: RawSample = serde_json::from_value(data.result).map_err(shape)?;
            result.series.push(series(expr, BTreeMap::new(), &[sample]));
        }
        ResultType::String => {
            let sample: RawSample = serde_json::from_value(data.result).map_err(shape)?;
            result.text = Some(TextSample {
                at_ms: sample.time_ms(),
                text: sample.1,
            });
        }
    }
    result.warnings = warnings;
    Ok(result)
}

trait ClassifyText {
    fn classify_text(&self) -> &'static str;
}

impl ClassifyText for serde_json::Error {
    fn classify_text(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Data => "unexpected types",
            _ => "not JSON",
        }
    }
}

fn series(expr: &str, labels: BTreeMap<String, String>, samples: &[RawSample]) -> Series {
    let name = if labels.is_empty() {
        expr.trim().to_string()
    } else {
        format_labels(&labels)
    };
    Series {
        ref_id: expr.trim().to_string(),
        name,
        labels,
        unit: None,
        times_ms: samples.iter().map(RawSample::time_ms).collect(),
        values: samples.iter().map(RawSample::value).collect(),
    }
}

#[derive(Deserialize)]
struct RawAlerts {
    #[serde(default)]
    alerts: Option<Vec<RawAlert>>,
}

#[derive(Deserialize)]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    state: String,
    #[serde(rename = "activeAt")]
    active_at: Option<String>,
    value: Option<serde_json::Value>,
}

/// An alerts answer (`GET <prefix>/alerts`, a 2xx body) decoded as [`Prometheus::alerts`]
/// reads it; `endpoint` names it in a malformed-response error.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn decode_alerts_answer(body: &[u8], endpoint: &str) -> Result<Vec<PromAlert>> {
    let (data, _) = decode_envelope(body, endpoint, "Prometheus", "the alerts list")?;
    decode_alerts(data, endpoint)
}

/// `data` of an alerts answer: `{"alerts": [...]}` (`null` when there are none, as Go may
/// write it). Anything else, such as the array Alertmanager's old v1 API answers at the same
/// path, is a malformed response rather than an empty list.
fn decode_alerts(data: serde_json::Value, endpoint: &str) -> Result<Vec<PromAlert>> {
    if !data.is_object() {
        return Err(Error::MalformedResponse {
            what: endpoint.to_string(),
            reason: "its `data` is not the `{\"alerts\": [...]}` object of the alerts API".into(),
        });
    }
    let raw: RawAlerts = serde_json::from_value(data).map_err(|e| malformed(endpoint, &e))?;
    Ok(raw
        .alerts
        .unwrap_or_default()
        .into_iter()
        .map(RawAlert::into_alert)
        .collect())
}

impl RawAlert {
    fn into_alert(self) -> PromAlert {
        PromAlert {
            state: AlertState::parse(&self.state),
            state_text: self.state,
            labels: self.labels,
            annotations: self.annotations,
            active_at_ms: self.active_at.as_deref().and_then(rfc3339_ms),
            value: match self.value {
                Some(serde_json::Value::String(s)) => parse_value(&s),
                Some(serde_json::Value::Number(n)) => n.as_f64(),
                _ => None,
            },
        }
    }
}

/// Epoch ms of an RFC 3339 time; `None` for Go's zero time (`0001-01-01T00:00:00Z`, "never").
pub(crate) fn rfc3339_ms(text: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    use chrono::Datelike;
    (t.year() > 1).then(|| t.timestamp_millis())
}

#[derive(Deserialize)]
struct RawTargets {
    #[serde(rename = "activeTargets", default)]
    active_targets: Vec<RawTarget>,
}

#[derive(Deserialize)]
struct RawTarget {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(rename = "scrapePool", default)]
    scrape_pool: String,
    #[serde(rename = "scrapeUrl", default)]
    scrape_url: String,
    #[serde(rename = "lastError", default)]
    last_error: String,
    #[serde(rename = "lastScrape")]
    last_scrape: Option<String>,
    #[serde(rename = "lastScrapeDuration")]
    last_scrape_duration: Option<f64>,
    #[serde(default)]
    health: String,
}

impl RawTarget {
    fn into_target(self) -> Target {
        Target {
            job: self
                .labels
                .get("job")
                .cloned()
                .unwrap_or_else(|| self.scrape_pool.clone()),
            instance: self.labels.get("instance").cloned().unwrap_or_default(),
            health: match self.health.as_str() {
                "up" => TargetHealth::Up,
                "down" => TargetHealth::Down,
                _ => TargetHealth::Unknown,
            },
            last_error: Some(self.last_error).filter(|e| !e.is_empty()),
            last_scrape_ms: self.last_scrape.as_deref().and_then(rfc3339_ms),
            last_scrape_duration_ms: self.last_scrape_duration.map(|s| s * 1000.0),
            scrape_url: self.scrape_url,
            labels: self.labels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS_VECTOR: &str = include_str!("testdata/prometheus-docs-query-up-vector.json");
    const DOCS_MATRIX: &str = include_str!("testdata/prometheus-docs-query_range-up.json");
    const NAN_INF: &str = include_str!("testdata/prometheus-2.42-query_range-nan-inf.json");
    const SCALAR: &str = include_str!("testdata/prometheus-2.42-query-scalar.json");
    const STRING: &str = include_str!("testdata/prometheus-2.42-query-string.json");
    const ERR_400: &str = include_str!("testdata/prometheus-2.42-error-400-bad_data.json");
    const ERR_422: &str = include_str!("testdata/prometheus-2.42-error-422-execution.json");
    const ERR_503: &str = include_str!("testdata/prometheus-2.42-error-503-timeout.json");
    const ALERTS: &str = include_str!("testdata/prometheus-2.42-alerts.json");
    const TARGETS: &str = include_str!("testdata/prometheus-2.42-targets-active.json");

    fn decode(body: &str) -> QueryResult {
        decode_query(body.as_bytes(), "up", None).unwrap()
    }

    fn service() -> Service {
        Service::new(
            "prometheus \"ops\"",
            "http://127.0.0.1:1",
            crate::http::HttpAuth::None,
            crate::http::Limits::default(),
        )
        .unwrap()
    }

    fn failure(status: u16, body: &str) -> HttpFailure {
        HttpFailure {
            status,
            headers: Default::default(),
            body: body.to_string(),
            full_body: body.to_string(),
        }
    }

    #[test]
    fn an_instant_vector_becomes_one_point_per_series_with_ms_times() {
        let r = decode(DOCS_VECTOR);
        assert_eq!(r.result_type, ResultType::Vector);
        assert_eq!(r.series.len(), 2);
        let s = &r.series[0];
        assert_eq!(s.name, r#"up{instance="localhost:9090", job="prometheus"}"#);
        assert_eq!(s.ref_id, "up");
        assert_eq!(s.labels["job"], "prometheus");
        assert_eq!(s.times_ms, vec![1_435_781_451_781]);
        assert_eq!(s.values, vec![Some(1.0)]);
        assert_eq!(r.series[1].values, vec![Some(0.0)]);
        assert_eq!(r.step_ms, None);
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn a_matrix_keeps_every_point_of_every_series() {
        let r = decode_query(DOCS_MATRIX.as_bytes(), "up", Some(15_000)).unwrap();
        assert_eq!(r.result_type, ResultType::Matrix);
        assert_eq!(r.step_ms, Some(15_000));
        let node = &r.series[1];
        assert_eq!(node.labels["instance"], "localhost:9091");
        assert_eq!(
            node.times_ms,
            vec![1_435_781_430_781, 1_435_781_445_781, 1_435_781_460_781]
        );
        assert_eq!(node.values, vec![Some(0.0), Some(0.0), Some(1.0)]);
        // The series feed the same downsampler as Grafana's frames.
        let stats = crate::monitor::stats(&node.values);
        assert_eq!(stats.max, Some(1.0));
    }

    #[test]
    fn nan_and_infinities_arrive_as_strings_and_stay_special_values() {
        let r = decode_query(NAN_INF.as_bytes(), "vector(NaN) or …", Some(2_000)).unwrap();
        assert_eq!(r.series.len(), 3);
        let nan = &r.series[0];
        assert!(nan.labels.is_empty());
        // A series without labels is named after the query.
        assert_eq!(nan.name, "vector(NaN) or …");
        assert_eq!(nan.values.len(), 3);
        assert!(nan.values.iter().all(|v| v.is_some_and(f64::is_nan)));
        assert_eq!(r.series[1].name, r#"{k="neg"}"#);
        assert!(
            r.series[1]
                .values
                .iter()
                .all(|v| *v == Some(f64::NEG_INFINITY))
        );
        assert!(r.series[2].values.iter().all(|v| *v == Some(f64::INFINITY)));
        assert_eq!(r.series[2].times_ms[1] - r.series[2].times_ms[0], 2_000);
    }

    #[test]
    fn a_scalar_is_one_series_of_one_point_and_a_string_is_text() {
        let r = decode_query(SCALAR.as_bytes(), "scalar(vector(0.5)) * 2", None).unwrap();
        assert_eq!(r.result_type, ResultType::Scalar);
        assert_eq!(r.series.len(), 1);
        assert_eq!(r.series[0].values, vec![Some(1.0)]);
        assert_eq!(r.series[0].times_ms, vec![1_795_632_861_626]);
        let r = decode_query(STRING.as_bytes(), "\"paaf\"", None).unwrap();
        assert_eq!(r.result_type, ResultType::String);
        assert!(r.series.is_empty());
        assert_eq!(
            r.text,
            Some(TextSample {
                at_ms: 1_795_632_861_668,
                text: "paaf".to_string()
            })
        );
    }

    #[test]
    fn special_value_spellings_parse() {
        for (text, want) in [
            ("+Inf", f64::INFINITY),
            ("-Inf", f64::NEG_INFINITY),
            ("1e+00", 1.0),
            ("-2.5e-3", -0.0025),
            ("0", 0.0),
        ] {
            assert_eq!(parse_value(text), Some(want), "{text}");
        }
        assert!(parse_value("NaN").unwrap().is_nan());
        assert_eq!(parse_value("many"), None);
    }

    #[test]
    fn warnings_are_kept_and_native_histograms_are_reported_not_dropped_silently() {
        let body = r#"{"status":"success","warnings":["partial data"],"data":{"resultType":"vector","result":[
            {"metric":{"__name__":"h"},"histogram":[1700000000,{"count":"3","sum":"1","buckets":[]}]},
            {"metric":{"__name__":"up"},"value":[1700000000.5,"1"]}]}}"#;
        let r = decode_query(body.as_bytes(), "x", None).unwrap();
        assert_eq!(r.series.len(), 1);
        assert_eq!(r.series[0].times_ms, vec![1_700_000_000_500]);
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
        assert_eq!(r.warnings[0], "partial data");
        assert!(r.warnings[1].contains("native histograms"));
    }

    #[test]
    fn error_bodies_become_typed_errors_naming_the_query() {
        let svc = service();
        let what = query_what("rate(node_cpu_seconds_total[1m]");
        let e = api_error(&svc, &failure(400, ERR_400), &what).unwrap();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        let text = e.to_string();
        assert!(
            text.contains("query `rate(node_cpu_seconds_total[1m]`"),
            "{text}"
        );
        assert!(text.contains("unclosed left parenthesis"), "{text}");
        assert!(text.contains("bad_data, HTTP 400"), "{text}");
        assert!(text.starts_with("prometheus \"ops\""), "{text}");

        let e = api_error(&svc, &failure(422, ERR_422), &what).unwrap();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.to_string().contains("invalid regular expression"), "{e}");

        let e = api_error(&svc, &failure(503, ERR_503), &what).unwrap();
        assert_eq!(e.code(), ErrorCode::Timeout);
        assert!(
            e.to_string().contains("timed out in expression evaluation"),
            "{e}"
        );
        assert!(e.to_string().contains("shorter range"), "{e}");

        // Not a Prometheus error body: the HTTP status decides.
        assert!(api_error(&svc, &failure(502, "<html>bad gateway</html>"), &what).is_none());
    }

    #[test]
    fn an_error_body_cut_short_is_still_read_as_far_as_it_goes() {
        let cut = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:3: parse error: unexpected"#;
        let (t, m) = parse_error_body(cut).unwrap();
        assert_eq!(t, "bad_data");
        assert_eq!(
            m,
            "invalid parameter \"query\": 1:3: parse error: unexpected…"
        );
        assert!(parse_error_body("404 page not found").is_none());
    }

    #[test]
    fn a_success_status_without_success_is_still_an_error() {
        let e = decode_query(ERR_400.as_bytes(), "up{", None).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.to_string().contains("query `up{`"), "{e}");
    }

    #[test]
    fn a_page_that_is_not_the_api_is_a_malformed_response_that_quotes_nothing() {
        let e =
            decode_query(b"<html><title>Login secret-ish</title></html>", "up", None).unwrap_err();
        assert_eq!(e.code(), ErrorCode::MalformedResponse);
        assert!(!e.to_string().contains("Login"), "{e}");
        let e = decode_query(
            br#"{"status":"success","data":{"resultType":"vector","result":{"no":1}}}"#,
            "up",
            None,
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::MalformedResponse);
        let e = decode_query(br#"{"status":"success"}"#, "up", None).unwrap_err();
        assert_eq!(e.code(), ErrorCode::MalformedResponse);
    }

    #[test]
    fn alerts_decode_state_times_and_value() {
        let (data, _) = decode_envelope(ALERTS.as_bytes(), "e", "s", "the alerts list").unwrap();
        let alerts = decode_alerts(data, "e").unwrap();
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.name(), "PaafTestAlwaysFiring");
        assert_eq!(a.state, AlertState::Firing);
        assert_eq!(a.labels["severity"], "page");
        assert!(a.annotations["summary"].contains("Checkout"));
        assert_eq!(a.value, Some(1.0));
        // 2026-11-25T18:53:58.086824579Z
        assert_eq!(a.active_at_ms, Some(1_795_632_838_086));
    }

    #[test]
    fn an_alerts_answer_of_another_shape_is_malformed_and_null_is_none() {
        // Alertmanager 0.25's deprecated v1 API answers api/v1/alerts with an array.
        let e = decode_alerts(serde_json::json!([]), "am api/v1/alerts").unwrap_err();
        assert_eq!(e.code(), ErrorCode::MalformedResponse);
        assert!(e.to_string().contains("am api/v1/alerts"), "{e}");
        let none = decode_alerts(serde_json::json!({"alerts": null}), "e").unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn grafana_spellings_of_alert_states_are_understood() {
        assert_eq!(AlertState::parse("Alerting"), AlertState::Firing);
        assert_eq!(AlertState::parse("Alerting (NoData)"), AlertState::Firing);
        assert_eq!(AlertState::parse("pending"), AlertState::Pending);
        assert_eq!(AlertState::parse("Normal"), AlertState::Inactive);
        assert_eq!(AlertState::parse("NoData"), AlertState::Other);
    }

    #[test]
    fn targets_decode_health_last_scrape_and_errors() {
        let (data, _) =
            decode_envelope::<RawTargets>(TARGETS.as_bytes(), "e", "s", "targets").unwrap();
        let t: Vec<Target> = data
            .active_targets
            .into_iter()
            .map(RawTarget::into_target)
            .collect();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].job, "node");
        assert_eq!(t[0].instance, "127.0.0.1:19100");
        assert_eq!(t[0].health, TargetHealth::Up);
        assert_eq!(t[0].last_error, None);
        assert!(t[0].last_scrape_ms.is_some_and(|ms| ms > 1_700_000_000_000));
        assert!(
            t[0].last_scrape_duration_ms
                .is_some_and(|ms| ms > 0.0 && ms < 1000.0)
        );

        let never = r#"{"status":"success","data":{"activeTargets":[{"labels":{"job":"db","instance":"db:9187"},
            "scrapePool":"db","scrapeUrl":"http://db:9187/metrics","lastError":"connection refused",
            "lastScrape":"0001-01-01T00:00:00Z","lastScrapeDuration":0,"health":"down"}],"droppedTargets":[]}}"#;
        let (data, _) = decode_envelope::<RawTargets>(never.as_bytes(), "e", "s", "t").unwrap();
        let t = data
            .active_targets
            .into_iter()
            .next()
            .unwrap()
            .into_target();
        assert_eq!(t.health, TargetHealth::Down);
        assert_eq!(t.last_error.as_deref(), Some("connection refused"));
        assert_eq!(t.last_scrape_ms, None);
    }

    #[test]
    fn the_step_follows_the_range_and_never_exceeds_prometheus_points_limit() {
        const H: i64 = 3_600_000;
        // 6 h over 1,000 points: 21.6 s rounds up to 30 s.
        assert_eq!(choose_step_ms(0, 6 * H, None, None), 30_000);
        // A short range never goes below a second when the step is chosen...
        assert_eq!(choose_step_ms(0, 60_000, None, None), 1_000);
        // ...but a caller's step is kept when it fits.
        assert_eq!(choose_step_ms(0, 60_000, Some(250), None), 250);
        // 1 h over 60 points: 61 s rounds up to 2 min.
        assert_eq!(choose_step_ms(0, H, None, Some(60)), 120_000);
        // A year at 1 s would be 31.5 M points: raised to fit 11,000.
        let year = 365 * 24 * H;
        for step in [Some(1_000), None] {
            for max in [None, Some(100_000), Some(u32::MAX)] {
                let s = choose_step_ms(0, year, step, max);
                assert!(year / s < MAX_POINTS_PER_SERIES, "{step:?} {max:?} {s}");
            }
        }
        // Weird inputs do not panic and give a positive step.
        assert!(choose_step_ms(10, 0, None, Some(0)) >= 1);
        assert!(choose_step_ms(0, 0, Some(-5), None) >= 1);
        assert!(choose_step_ms(i64::MIN / 2, i64::MAX / 2, None, None) >= 1);
    }

    #[test]
    fn round_steps_and_decimal_seconds() {
        assert_eq!(round_step(1), 1_000);
        assert_eq!(round_step(21_600), 30_000);
        assert_eq!(round_step(25 * 3_600_000), 2 * 86_400_000);
        assert_eq!(seconds(1_435_781_451_781), "1435781451.781");
        assert_eq!(seconds(5), "0.005");
        assert_eq!(seconds(-1_500), "-1.500");
    }
}
