//! Grafana over its HTTP API (https://grafana.com/docs/grafana/latest/developers/http_api/):
//! dashboard search, a dashboard opened with its template variables resolved, a panel's data
//! through `/api/ds/query` (decoded, thinned to the screen width, with stats), a panel PNG when
//! Grafana has an image renderer, Grafana-managed alerts and silences, and annotations.
//!
//! Choices worth knowing:
//! - Query variables (`label_values(…)`, `label_values(label)`, `metrics(…)`, `query_result(…)`,
//!   `label_names()`) of Prometheus data sources are answered by the data source's own API through
//!   Grafana's documented data source proxy, `GET /api/datasources/proxy/uid/{uid}/*`
//!   (https://grafana.com/docs/grafana/latest/developers/http_api/data_source/#data-source-proxy-calls):
//!   these functions are the Prometheus data source's front-end helpers, which `/api/ds/query`
//!   does not run. Variables of other data sources keep their saved value, with a warning.
//! - `/api/ds/query` answers HTTP 400 (or 207) with the full body when any one query fails
//!   (Grafana's `toJsonStreamingResponse`); errors of single queries are kept beside the good
//!   series, read from the failure's whole body. A 400 that is not such a body (a proxy's
//!   page) is followed by one request per query to recover the good ones.
//! - Without an image renderer, Grafana up to 12.x answers a render request with HTTP 200 and its
//!   own "plugin not installed" PNG (`public/img/rendering_plugin_not_installed.png`, not the
//!   requested size); newer versions, and a failing renderer, answer HTTP 500 "Rendering
//!   failed.". Both become [`PanelImage::NoRenderer`] so callers draw from the panel's data.

use crate::error::{Error, ErrorCode, Result};
use crate::http::{HttpFailure, Method, Request, Retry, Service};
use crate::monitor::alertmanager::{self, Alertmanager};
use crate::monitor::dashboard::{
    ALL, DashboardModel, DatasourceRef, DefaultFormat, Intervals, Panel, Scope, Thresholds,
    VarValue, VariableDef, VariableKind, builtin_scope, custom_options, filter_options,
    format_interval, interpolate, interpolate_json, intervals, parse_dashboard, parse_interval,
    round_interval,
};
use crate::monitor::downsample::{ChartSeries, SeriesStats, chart_series, downsample, stats};
use crate::monitor::frames::{
    DEFAULT_MAX_RESPONSE_BYTES, DsQueryResponse, QueryError, Series, SkippedField, decode_ds_query,
};
use crate::monitor::prometheus::{self, PromAlert, Prometheus};
use crate::monitor::timerange::{TimeRange, parse_range};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Prometheus's default scrape interval, used for `$__rate_interval` when the data source does
/// not say (`jsonData.timeInterval`).
const DEFAULT_SCRAPE_MS: i64 = 15_000;

/// One Grafana instance.
#[derive(Debug, Clone)]
pub struct Grafana {
    service: Service,
}

/// What to search for (`GET /api/search`); empty fields are left out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SearchQuery {
    pub query: Option<String>,
    /// Dashboards carrying all of these tags.
    pub tags: Vec<String>,
    /// Only the dashboards the token's user starred.
    pub starred: bool,
    pub folder_uids: Vec<String>,
    /// At most 5000 (Grafana's cap).
    pub limit: Option<u32>,
    /// 1-based page of `limit` results.
    pub page: Option<u32>,
}

/// A dashboard found by search.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DashboardHit {
    pub uid: String,
    pub title: String,
    /// Relative URL (`/d/uid/slug`).
    pub url: String,
    pub tags: Vec<String>,
    pub folder_title: Option<String>,
    pub starred: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHit {
    #[serde(default)]
    uid: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    tags: Vec<String>,
    folder_title: Option<String>,
    #[serde(default)]
    is_starred: bool,
}

/// A data source as `GET /api/datasources` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DataSourceInfo {
    pub uid: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub json_data: Value,
}

impl DataSourceInfo {
    /// The scrape interval the data source declares (`jsonData.timeInterval`), in ms.
    fn scrape_ms(&self) -> Option<i64> {
        self.json_data
            .get("timeInterval")
            .and_then(Value::as_str)
            .and_then(parse_interval)
    }
}

/// How to open a dashboard.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Time range in Grafana's syntax (`now-6h`, epoch ms, …); the dashboard's own when `None`.
    pub from: Option<String>,
    pub to: Option<String>,
    /// "Now" in epoch ms for relative times; the clock when `None`.
    pub now_ms: Option<i64>,
    /// Variable values chosen by the caller (e.g. an alert's `instance` label), by name; they
    /// replace the saved selection. `["$__all"]` selects "All".
    pub variables: BTreeMap<String, Vec<String>>,
}

/// A template variable with its value settled.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ResolvedVariable {
    pub name: String,
    pub label: Option<String>,
    pub kind: VariableKind,
    /// Selected values (data source variables: data source uids); `["$__all"]` with `is_all`.
    pub values: Vec<String>,
    pub is_all: bool,
    /// Every option, as known.
    pub options: Vec<String>,
    pub multi: bool,
    pub include_all: bool,
    #[serde(skip)]
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    all_value: Option<String>,
    /// Why the value may not be what Grafana would show (options not loaded, a regex filter paaf
    /// cannot apply, …).
    pub warning: Option<String>,
}

/// A dashboard opened for a time range: its panels and its variables resolved.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    pub url: Option<String>,
    pub slug: String,
    pub folder_title: Option<String>,
    pub range: TimeRange,
    pub panels: Vec<Panel>,
    pub variables: Vec<ResolvedVariable>,
    /// The data sources Grafana listed (`None` when the token may not list them).
    #[serde(skip)]
    datasources: Option<Vec<DataSourceInfo>>,
}

impl Dashboard {
    /// The panel with `id`.
    pub fn panel(&self, id: i64) -> Option<&Panel> {
        self.panels.iter().find(|p| p.id == id)
    }

    /// The variables as interpolation sees them (no built-ins).
    pub fn scope(&self) -> Scope {
        self.variables
            .iter()
            .map(|v| (v.name.clone(), var_value(v)))
            .collect()
    }
}

fn var_value(v: &ResolvedVariable) -> VarValue {
    VarValue {
        values: v.values.clone(),
        multi: v.multi,
        include_all: v.include_all,
        is_all: v.is_all,
        all_value: v.all_value.clone(),
        options: v.options.clone(),
    }
}

/// One series of a panel, thinned to the width, with stats over all its points.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PanelSeries {
    #[serde(flatten)]
    pub series: Series,
    pub stats: SeriesStats,
}

/// A panel's data for a time range.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PanelData {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub panel_id: i64,
    pub series: Vec<PanelSeries>,
    /// Queries that failed (or could not be sent), beside the series of those that worked.
    pub errors: Vec<QueryError>,
    pub skipped: Vec<SkippedField>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub from_ms: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub to_ms: i64,
    /// The `$__interval` the queries ran with.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub interval_ms: i64,
}

/// A panel ready to draw at a pixel width: each series one bucket per pixel column.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PanelChart {
    pub panel_id: i64,
    pub title: String,
    /// Visualization type (`timeseries`, `stat`, `gauge`, …).
    pub kind: String,
    /// The panel's unit (each series may carry its own).
    pub unit: Option<String>,
    pub thresholds: Option<Thresholds>,
    pub series: Vec<ChartSeries>,
    /// Queries that failed (or could not be sent), beside the series of those that worked.
    pub errors: Vec<QueryError>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The `$__interval` the queries ran with.
    pub interval_ms: i64,
    /// The pixel width the series are bucketed for.
    pub width: u32,
}

impl PanelChart {
    /// `decoded`'s series bucketed `width` columns wide over `range`, a series without a unit
    /// taking the panel's.
    pub fn of(
        panel: &Panel,
        decoded: DsQueryResponse,
        range: TimeRange,
        interval_ms: i64,
        width: u32,
    ) -> PanelChart {
        let series = decoded
            .series
            .into_iter()
            .map(|mut s| {
                s.unit = s.unit.or_else(|| panel.unit.clone());
                chart_series(s, range.from_ms, range.to_ms, width)
            })
            .collect();
        PanelChart {
            panel_id: panel.id,
            title: panel.title.clone(),
            kind: panel.kind.clone(),
            unit: panel.unit.clone(),
            thresholds: panel.thresholds.clone(),
            series,
            errors: decoded.errors,
            from_ms: range.from_ms,
            to_ms: range.to_ms,
            interval_ms,
            width: width.max(1),
        }
    }
}

/// Why Grafana gave no panel image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoRendererReason {
    /// HTTP 200 with Grafana's placeholder picture: no image renderer is installed.
    PluginNotInstalled,
    /// HTTP 500 "Rendering failed.": no renderer configured (newer Grafana) or it failed.
    RenderFailed,
}

/// The outcome of a panel render.
#[derive(Debug, Clone, PartialEq)]
pub enum PanelImage {
    Png {
        bytes: Vec<u8>,
        width: u32,
        height: u32,
    },
    /// No image: draw the panel from [`Grafana::panel_data`] instead.
    NoRenderer {
        reason: NoRendererReason,
        message: String,
    },
}

/// A new annotation: org-wide, or on a dashboard (and panel).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAnnotation {
    #[serde(rename = "dashboardUID", skip_serializing_if = "Option::is_none")]
    pub dashboard_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panel_id: Option<i64>,
    /// Epoch ms.
    pub time: i64,
    /// Epoch ms; a region annotation when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_end: Option<i64>,
    pub tags: Vec<String>,
    pub text: String,
}

impl Grafana {
    /// A client over `service` (base URL of the Grafana instance, `HttpAuth::Bearer(token)`).
    pub fn new(service: Service) -> Grafana {
        Grafana { service }
    }

    /// The underlying service.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Search dashboards (`GET /api/search?type=dash-db…`,
    /// https://grafana.com/docs/grafana/latest/developers/http_api/folder_dashboard_search/).
    pub async fn search(&self, q: &SearchQuery) -> Result<Vec<DashboardHit>> {
        let mut request = Request::get("api/search").query("type", "dash-db");
        if let Some(text) = q.query.as_deref().filter(|t| !t.is_empty()) {
            request = request.query("query", text);
        }
        for tag in &q.tags {
            request = request.query("tag", tag.as_str());
        }
        if q.starred {
            request = request.query("starred", "true");
        }
        for folder in &q.folder_uids {
            request = request.query("folderUIDs", folder.as_str());
        }
        if let Some(limit) = q.limit {
            request = request.query("limit", limit.clamp(1, 5000).to_string());
        }
        if let Some(page) = q.page {
            request = request.query("page", page.max(1).to_string());
        }
        let hits: Vec<RawHit> = self.service.get_json(request).await?;
        Ok(hits
            .into_iter()
            .map(|h| DashboardHit {
                uid: h.uid,
                title: h.title,
                url: h.url,
                tags: h.tags,
                folder_title: h.folder_title,
                starred: h.is_starred,
            })
            .collect())
    }

    /// The data sources of the organization (`GET /api/datasources`,
    /// https://grafana.com/docs/grafana/latest/developers/http_api/data_source/#get-all-data-sources).
    pub async fn datasources(&self) -> Result<Vec<DataSourceInfo>> {
        self.service.get_json(Request::get("api/datasources")).await
    }

    /// Open a dashboard (`GET /api/dashboards/uid/{uid}`,
    /// https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/#get-dashboard-by-uid):
    /// panels flattened, variables resolved for the time range.
    pub async fn dashboard(&self, uid: &str, options: &OpenOptions) -> Result<Dashboard> {
        let path = format!("api/dashboards/uid/{}", path_segment(uid));
        let body: Value = self.service.get_json(Request::get(path)).await?;
        let model = parse_dashboard(&body)?;
        let now = options
            .now_ms
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        let from = options.from.as_deref().unwrap_or(&model.time_from);
        let to = options.to.as_deref().unwrap_or(&model.time_to);
        let range = parse_range(from, to, now).map_err(|e| Error::invalid(e.to_string()))?;
        // Listing data sources needs `datasources:read`; without it, uids are used as written.
        let datasources = match self.datasources().await {
            Ok(list) => Some(list),
            Err(e) if matches!(e.code(), ErrorCode::PermissionDenied | ErrorCode::NotFound) => None,
            Err(e) => return Err(e),
        };
        let variables = self
            .resolve_variables(&model, range, datasources.as_deref(), &options.variables)
            .await;
        Ok(Dashboard {
            slug: model.slug(),
            uid: model.uid,
            title: model.title,
            url: model.url,
            folder_title: model.folder_title,
            range,
            panels: model.panels,
            variables,
            datasources,
        })
    }

    async fn resolve_variables(
        &self,
        model: &DashboardModel,
        range: TimeRange,
        datasources: Option<&[DataSourceInfo]>,
        chosen: &BTreeMap<String, Vec<String>>,
    ) -> Vec<ResolvedVariable> {
        let builtins = builtin_scope(range, &intervals(range, 1000, None, DEFAULT_SCRAPE_MS));
        let mut scope = builtins;
        let mut out = Vec::new();
        for def in &model.variables {
            let resolved = self
                .resolve_variable(def, range, &scope, datasources, chosen.get(&def.name))
                .await;
            scope.insert(def.name.clone(), var_value(&resolved));
            out.push(resolved);
        }
        out
    }

    async fn resolve_variable(
        &self,
        def: &VariableDef,
        range: TimeRange,
        scope: &Scope,
        datasources: Option<&[DataSourceInfo]>,
        chosen: Option<&Vec<String>>,
    ) -> ResolvedVariable {
        let mut warning = None;
        let options: Vec<String> = match &def.kind {
            VariableKind::Constant => vec![def.query.clone()],
            VariableKind::Textbox => {
                let value = chosen
                    .cloned()
                    .filter(|v| !v.is_empty())
                    .or_else(|| Some(def.current.clone()).filter(|v| !v.is_empty()))
                    .unwrap_or_else(|| vec![def.query.clone()]);
                return finish(def, value.clone(), false, value, None);
            }
            VariableKind::Custom => {
                custom_options(&interpolate(&def.query, scope, DefaultFormat::Glob))
            }
            VariableKind::Interval => {
                let mut o: Vec<String> = def
                    .query
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if def.auto {
                    o.insert(0, "auto".into());
                }
                o
            }
            VariableKind::Datasource => match datasources {
                Some(list) => {
                    if !def.regex.is_empty() {
                        warning = Some(format!("regex `{}` not applied", def.regex));
                    }
                    let (values, _) = pick(def, &[], chosen);
                    let of_type: Vec<&DataSourceInfo> =
                        list.iter().filter(|d| d.kind == def.query).collect();
                    let options: Vec<String> = of_type.iter().map(|d| d.uid.clone()).collect();
                    // Saved values are names, uids or "default".
                    let found: Vec<String> = values
                        .iter()
                        .filter_map(|v| lookup(&of_type, v).map(|d| d.uid.clone()))
                        .collect();
                    let values = if found.is_empty() {
                        of_type
                            .iter()
                            .find(|d| d.is_default)
                            .or(of_type.first())
                            .map(|d| vec![d.uid.clone()])
                            .unwrap_or_default()
                    } else {
                        found
                    };
                    if values.is_empty() {
                        warning = Some(format!("no data source of type `{}`", def.query));
                    }
                    return finish(def, values, false, options, warning);
                }
                None => {
                    warning =
                        Some("the data sources could not be listed (datasources:read)".into());
                    Vec::new()
                }
            },
            VariableKind::Query => {
                match self.query_variable(def, range, scope, datasources).await {
                    Ok(o) => match filter_options(&def.regex, scope, o) {
                        Ok(filtered) => filtered,
                        Err(reason) => {
                            warning = Some(format!("{reason}; saved options kept"));
                            def.saved_options.clone()
                        }
                    },
                    Err(reason) => {
                        warning = Some(reason);
                        def.saved_options.clone()
                    }
                }
            }
            VariableKind::Adhoc | VariableKind::Other(_) => {
                warning = Some("this kind of variable is not supported; saved value kept".into());
                def.saved_options.clone()
            }
        };
        let (mut values, is_all) = pick(def, &options, chosen);
        if def.kind == VariableKind::Interval && values.first().map(String::as_str) == Some("auto")
        {
            let step = (range.to_ms - range.from_ms) / i64::from(def.auto_count.max(1));
            let floor = def
                .auto_min
                .as_deref()
                .and_then(parse_interval)
                .unwrap_or(0);
            values = vec![format_interval(round_interval(step).max(floor))];
        }
        finish(def, values, is_all, options, warning)
    }

    /// Options of a query variable, from its data source through Grafana's proxy.
    async fn query_variable(
        &self,
        def: &VariableDef,
        range: TimeRange,
        scope: &Scope,
        datasources: Option<&[DataSourceInfo]>,
    ) -> std::result::Result<Vec<String>, String> {
        let ds = resolve_datasource(def.datasource.as_ref(), scope, datasources)?;
        if ds.kind.as_deref().is_some_and(|k| k != "prometheus") {
            return Err(format!(
                "options of `{}` data source variables are not loaded; saved value kept",
                ds.kind.unwrap_or_default()
            ));
        }
        let query = interpolate(&def.query, scope, DefaultFormat::Prometheus);
        let parsed = parse_var_query(&query)
            .ok_or_else(|| format!("`{query}` is not a Prometheus variable query paaf reads"))?;
        let prefix = format!("api/datasources/proxy/uid/{}/api/v1", path_segment(&ds.uid));
        let start = (range.from_ms / 1000).to_string();
        let end = (range.to_ms / 1000).to_string();
        let strings = |request: Request| async {
            let r: PromStrings = self
                .service
                .get_json(request)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(r.data)
        };
        match parsed {
            VarQuery::LabelNames(selector) => {
                let mut request = Request::get(format!("{prefix}/labels"))
                    .query("start", start.as_str())
                    .query("end", end.as_str());
                if let Some(s) = selector {
                    request = request.query("match[]", s);
                }
                strings(request).await
            }
            VarQuery::LabelValues { selector, label } => {
                let mut request =
                    Request::get(format!("{prefix}/label/{}/values", path_segment(&label)))
                        .query("start", start.as_str())
                        .query("end", end.as_str());
                if let Some(s) = selector {
                    request = request.query("match[]", s);
                }
                strings(request).await
            }
            VarQuery::QueryResult(expr) => {
                let result = Prometheus::new(&self.service, &prefix)
                    .query(&expr, Some(range.to_ms))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(result.series.iter().map(query_result_line).collect())
            }
        }
    }

    /// A panel's data (`POST /api/ds/query`,
    /// https://grafana.com/docs/grafana/latest/developers/http_api/data_source/#query-a-data-source)
    /// for the dashboard's range, `width_px` points wide: every series with its stats, thinned
    /// to the width; failed queries in `errors`.
    pub async fn panel_data(
        &self,
        dashboard: &Dashboard,
        panel_id: i64,
        width_px: u32,
    ) -> Result<PanelData> {
        let (decoded, range, iv, max_points) =
            self.panel_frames(dashboard, panel_id, width_px).await?;
        let series = decoded
            .series
            .into_iter()
            .map(|mut s| {
                let st = stats(&s.values);
                downsample(&mut s, max_points as usize);
                PanelSeries {
                    series: s,
                    stats: st,
                }
            })
            .collect();
        Ok(PanelData {
            panel_id,
            series,
            errors: decoded.errors,
            skipped: decoded.skipped,
            from_ms: range.from_ms,
            to_ms: range.to_ms,
            interval_ms: iv.interval_ms,
        })
    }

    /// A panel ready to draw `width_px` wide (a phone's chart): its queries run as for
    /// [`Grafana::panel_data`], each series bucketed per pixel column (min/max/mean/last),
    /// with the panel's unit (for series without their own) and thresholds.
    pub async fn panel_chart(
        &self,
        dashboard: &Dashboard,
        panel_id: i64,
        width_px: u32,
    ) -> Result<PanelChart> {
        let (decoded, range, iv, _) = self.panel_frames(dashboard, panel_id, width_px).await?;
        let panel = find_panel(dashboard, panel_id)?;
        Ok(PanelChart::of(
            panel,
            decoded,
            range,
            iv.interval_ms,
            width_px,
        ))
    }

    /// The panel's queries sent through `/api/ds/query` and decoded, with the range, the
    /// intervals and the point count they asked for.
    async fn panel_frames(
        &self,
        dashboard: &Dashboard,
        panel_id: i64,
        width_px: u32,
    ) -> Result<(DsQueryResponse, TimeRange, Intervals, u32)> {
        let panel = find_panel(dashboard, panel_id)?;
        let range = dashboard.range;
        let max_points = panel
            .max_data_points
            .map_or(width_px, |m| m.min(width_px))
            .max(1);
        let mut scope = dashboard.scope();
        let list = dashboard.datasources.as_deref();
        let panel_ds = resolve_datasource(panel.datasource.as_ref(), &scope, list);
        let scrape = panel_ds
            .as_ref()
            .ok()
            .and_then(|d| list.and_then(|l| l.iter().find(|i| i.uid == d.uid)))
            .and_then(DataSourceInfo::scrape_ms)
            .unwrap_or(DEFAULT_SCRAPE_MS);
        let min_interval = panel
            .min_interval
            .as_deref()
            .and_then(|i| parse_interval(&interpolate(i, &scope, DefaultFormat::Glob)));
        let iv = intervals(range, max_points, min_interval, scrape);
        scope.extend(builtin_scope(range, &iv));

        let mut errors = Vec::new();
        let mut queries = Vec::new();
        for target in panel.targets.iter().filter(|t| !t.hidden) {
            let named = match (&target.datasource, &panel.datasource) {
                (Some(own), _) => Ok(resolve_datasource(Some(own), &scope, list)),
                (None, Some(p)) if p.is_mixed() => Err(()),
                _ => Ok(panel_ds.clone()),
            };
            let ds = match named {
                Ok(Ok(ds)) => ds,
                Ok(Err(message)) => {
                    errors.push(local_error(&target.ref_id, message));
                    continue;
                }
                Err(()) => {
                    errors.push(local_error(
                        &target.ref_id,
                        "the query names no data source".into(),
                    ));
                    continue;
                }
            };
            let format = match ds.kind.as_deref() {
                Some("prometheus") | Some("loki") | None => DefaultFormat::Prometheus,
                _ => DefaultFormat::Glob,
            };
            let mut query = interpolate_json(&target.query, &scope, format);
            if let Value::Object(o) = &mut query {
                o.insert("refId".into(), json!(target.ref_id));
                let mut d = json!({ "uid": ds.uid });
                if let Some(kind) = &ds.kind {
                    d["type"] = json!(kind);
                }
                o.insert("datasource".into(), d);
                o.insert("maxDataPoints".into(), json!(max_points));
                o.insert("intervalMs".into(), json!(iv.interval_ms));
                o.remove("hide");
            }
            queries.push(query);
        }
        let mut decoded = if queries.is_empty() {
            DsQueryResponse::default()
        } else {
            self.ds_query(range, &queries).await?
        };
        decoded.errors.splice(0..0, errors);
        Ok((decoded, range, iv, max_points))
    }

    async fn ds_query(&self, range: TimeRange, queries: &[Value]) -> Result<DsQueryResponse> {
        match self.ds_query_once(range, queries).await? {
            Ok(decoded) => Ok(decoded),
            Err(failure) => {
                // The 400 body was not Grafana's: ask again query by query so the good ones
                // still show.
                // Server-side expressions read other queries' results and cannot go alone.
                let expressions = queries.iter().any(|q| q["datasource"]["uid"] == "__expr__");
                if queries.len() == 1 || expressions {
                    return Ok(failed_queries(queries, &failure));
                }
                let mut all = DsQueryResponse::default();
                for q in queries {
                    let one = std::slice::from_ref(q);
                    let part = match self.ds_query_once(range, one).await? {
                        Ok(decoded) => decoded,
                        Err(failure) => failed_queries(one, &failure),
                    };
                    all.series.extend(part.series);
                    all.errors.extend(part.errors);
                    all.skipped.extend(part.skipped);
                }
                Ok(all)
            }
        }
    }

    /// One `/api/ds/query`; a 400 whose body is not Grafana's per-query results comes back as
    /// `Err`.
    async fn ds_query_once(
        &self,
        range: TimeRange,
        queries: &[Value],
    ) -> Result<std::result::Result<DsQueryResponse, HttpFailure>> {
        let body = json!({
            "from": range.from_ms.to_string(),
            "to": range.to_ms.to_string(),
            "queries": queries,
        });
        let request = Request::with_body(Method::POST, "api/ds/query", &body, Retry::Idempotent)?;
        match self.service.send_raw(request).await? {
            Ok(response) => decode_ds_query(&response.body, DEFAULT_MAX_RESPONSE_BYTES).map(Ok),
            Err(failure) if failure.status == 400 => {
                match decode_ds_query(failure.full_body.as_bytes(), DEFAULT_MAX_RESPONSE_BYTES) {
                    Ok(d) if !d.errors.is_empty() || !d.series.is_empty() => Ok(Ok(d)),
                    _ => Ok(Err(failure)),
                }
            }
            Err(failure) => Err(self.service.status_error(&failure)),
        }
    }

    /// A panel as PNG (`GET /render/d-solo/{uid}/{slug}`,
    /// https://grafana.com/docs/grafana/latest/setup-grafana/image-rendering/), with the
    /// dashboard's range and variables, in UTC.
    pub async fn render_panel(
        &self,
        dashboard: &Dashboard,
        panel_id: i64,
        width: u32,
        height: u32,
    ) -> Result<PanelImage> {
        find_panel(dashboard, panel_id)?;
        let path = format!(
            "render/d-solo/{}/{}",
            path_segment(&dashboard.uid),
            path_segment(&dashboard.slug)
        );
        let mut request = Request::get(path)
            .query("panelId", panel_id.to_string())
            .query("from", dashboard.range.from_ms.to_string())
            .query("to", dashboard.range.to_ms.to_string())
            .query("width", width.to_string())
            .query("height", height.to_string())
            .query("scale", "1")
            .query("tz", "UTC");
        for v in &dashboard.variables {
            for value in &v.values {
                request = request.query(&format!("var-{}", v.name), value.as_str());
            }
        }
        match self.service.send_raw(request).await? {
            Ok(response) => match png_size(&response.body) {
                Some((w, h)) if (w, h) == (width, height) => Ok(PanelImage::Png {
                    bytes: response.body,
                    width: w,
                    height: h,
                }),
                Some((w, h)) => Ok(PanelImage::NoRenderer {
                    reason: NoRendererReason::PluginNotInstalled,
                    message: format!(
                        "{} has no image renderer: it sent its {w}×{h} placeholder instead of a {width}×{height} panel",
                        self.service.name()
                    ),
                }),
                None => Err(Error::MalformedResponse {
                    what: self.service.name().to_string(),
                    reason: "the render endpoint did not answer with a PNG".into(),
                }),
            },
            Err(failure) if failure.status == 500 => Ok(PanelImage::NoRenderer {
                reason: NoRendererReason::RenderFailed,
                message: format!(
                    "{} could not render the panel (HTTP 500{}); is the image renderer installed?",
                    self.service.name(),
                    if failure.body.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", failure.body)
                    }
                ),
            }),
            Err(failure) => Err(self.service.status_error(&failure)),
        }
    }

    /// Firing and pending Grafana-managed alerts
    /// (`GET /api/prometheus/grafana/api/v1/alerts`, the Prometheus alerts format).
    pub async fn alerts(&self) -> Result<Vec<PromAlert>> {
        prometheus::alerts(&self.service, prometheus::GRAFANA_ALERTS_PREFIX).await
    }

    /// Grafana's own Alertmanager (`/api/alertmanager/grafana/api/v2`): its alerts and silences.
    pub fn alertmanager(&self) -> Alertmanager<'_> {
        Alertmanager::new(&self.service, alertmanager::GRAFANA_PREFIX)
    }

    /// Add an annotation (`POST /api/annotations`,
    /// https://grafana.com/docs/grafana/latest/developers/http_api/annotations/#create-annotation);
    /// returns its id.
    pub async fn annotate(&self, annotation: &NewAnnotation) -> Result<i64> {
        #[derive(Deserialize)]
        struct Created {
            id: i64,
        }
        let request = Request::with_body(
            Method::POST,
            "api/annotations",
            annotation,
            Retry::NotIdempotent,
        )?;
        let created: Created = self
            .service
            .send(request)
            .await?
            .json(self.service.name())?;
        Ok(created.id)
    }
}

fn finish(
    def: &VariableDef,
    values: Vec<String>,
    is_all: bool,
    options: Vec<String>,
    warning: Option<String>,
) -> ResolvedVariable {
    ResolvedVariable {
        name: def.name.clone(),
        label: def.label.clone(),
        kind: def.kind.clone(),
        values,
        is_all,
        options,
        multi: def.multi,
        include_all: def.include_all,
        all_value: def.all_value.clone(),
        warning,
    }
}

/// The selection: the caller's choice, else the saved one if still an option, else "All" when
/// offered, else the first option (Grafana's rule when a saved value disappeared).
fn pick(
    def: &VariableDef,
    options: &[String],
    chosen: Option<&Vec<String>>,
) -> (Vec<String>, bool) {
    let chosen = chosen.filter(|c| !c.is_empty());
    let wanted = chosen.or(Some(&def.current).filter(|c| !c.is_empty()));
    if let Some(w) = wanted {
        if def.include_all && w.iter().any(|v| v == ALL || v == "All") {
            return (vec![ALL.to_string()], true);
        }
        if chosen.is_some() || options.is_empty() || w.iter().all(|v| options.contains(v)) {
            return (w.clone(), false);
        }
    }
    if def.include_all && !options.is_empty() {
        return (vec![ALL.to_string()], true);
    }
    (options.first().cloned().into_iter().collect(), false)
}

fn lookup<'a>(list: &[&'a DataSourceInfo], key: &str) -> Option<&'a DataSourceInfo> {
    if key == "default" {
        return list.iter().find(|d| d.is_default).copied();
    }
    list.iter()
        .find(|d| d.uid == key)
        .or_else(|| list.iter().find(|d| d.name == key))
        .copied()
}

/// A data source to send a query to.
#[derive(Debug, Clone, PartialEq)]
struct DsTarget {
    uid: String,
    kind: Option<String>,
}

/// Find the data source a panel, target or variable names, through variables and the list.
fn resolve_datasource(
    r: Option<&DatasourceRef>,
    scope: &Scope,
    list: Option<&[DataSourceInfo]>,
) -> std::result::Result<DsTarget, String> {
    let all: Vec<&DataSourceInfo> = list.map(|l| l.iter().collect()).unwrap_or_default();
    let from_list = |d: &DataSourceInfo| DsTarget {
        uid: d.uid.clone(),
        kind: Some(d.kind.clone()),
    };
    let Some(r) = r else {
        return lookup(&all, "default")
            .map(from_list)
            .ok_or_else(|| "no data source named and no default data source known".to_string());
    };
    if r.uid.as_deref() == Some("__expr__") {
        return Ok(DsTarget {
            uid: "__expr__".into(),
            kind: Some("__expr__".into()),
        });
    }
    let written = r.uid.as_deref().or(r.name.as_deref()).unwrap_or("default");
    let key = interpolate(written, scope, DefaultFormat::Glob);
    if let Some(found) = lookup(&all, &key) {
        return Ok(from_list(found));
    }
    if list.is_none() && !key.contains('$') && key != "default" {
        return Ok(DsTarget {
            uid: key,
            kind: r.kind.clone(),
        });
    }
    if key == "default" || (r.uid.is_none() && r.name.is_none()) {
        // `{type: "prometheus"}` without a uid: the default of that type, else the default.
        let of_type = all
            .iter()
            .filter(|d| r.kind.as_deref().is_none_or(|k| d.kind == k))
            .copied()
            .collect::<Vec<_>>();
        if let Some(d) = lookup(&of_type, "default").or(of_type.first().copied()) {
            return Ok(from_list(d));
        }
    }
    Err(format!("data source `{key}` not found"))
}

fn find_panel(dashboard: &Dashboard, panel_id: i64) -> Result<&Panel> {
    dashboard.panel(panel_id).ok_or_else(|| Error::NotFound {
        what: "panel",
        name: panel_id.to_string(),
        hint: Some(format!(
            "dashboard `{}` has no panel with this id",
            dashboard.title
        )),
    })
}

fn local_error(ref_id: &str, message: String) -> QueryError {
    QueryError {
        ref_id: ref_id.to_string(),
        status: None,
        message,
    }
}

/// Every query of a request that failed as a whole with `failure`.
fn failed_queries(queries: &[Value], failure: &HttpFailure) -> DsQueryResponse {
    let message = serde_json::from_str::<Value>(&failure.body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| failure.body.clone());
    DsQueryResponse {
        errors: queries
            .iter()
            .map(|q| QueryError {
                ref_id: q["refId"].as_str().unwrap_or("").to_string(),
                status: Some(failure.status),
                message: message.clone(),
            })
            .collect(),
        ..DsQueryResponse::default()
    }
}

/// A Prometheus variable query, as Grafana's Prometheus data source reads it.
#[derive(Debug, Clone, PartialEq)]
enum VarQuery {
    LabelNames(Option<String>),
    LabelValues {
        selector: Option<String>,
        label: String,
    },
    QueryResult(String),
}

fn parse_var_query(q: &str) -> Option<VarQuery> {
    let q = q.trim();
    let open = q.find('(')?;
    let close = q.rfind(')')?;
    if close < open {
        return None;
    }
    let func = q[..open].trim();
    let args = q[open + 1..close].trim();
    match func {
        "label_names" => Some(VarQuery::LabelNames(
            Some(args.to_string()).filter(|a| !a.is_empty()),
        )),
        // The label is after the last comma: selectors have commas, label names never do.
        "label_values" => match args.rfind(',') {
            Some(comma) => Some(VarQuery::LabelValues {
                selector: Some(args[..comma].trim().to_string()).filter(|s| !s.is_empty()),
                label: args[comma + 1..].trim().to_string(),
            }),
            None if !args.is_empty() => Some(VarQuery::LabelValues {
                selector: None,
                label: args.to_string(),
            }),
            None => None,
        },
        "metrics" => Some(VarQuery::LabelValues {
            selector: Some(format!("{{__name__=~\"{}\"}}", args.replace('"', "\\\""))),
            label: "__name__".into(),
        }),
        "query_result" if !args.is_empty() => Some(VarQuery::QueryResult(args.to_string())),
        _ => None,
    }
}

/// `metric{a="1", b="2"} value timestamp_ms`, as Grafana lists `query_result` rows.
fn query_result_line(s: &Series) -> String {
    let name = s.labels.get("__name__").cloned().unwrap_or_default();
    let labels: Vec<String> = s
        .labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    let value = s
        .values
        .last()
        .copied()
        .flatten()
        .map(|v| v.to_string())
        .unwrap_or_default();
    let at = s.times_ms.last().copied().unwrap_or_default();
    format!("{name}{{{}}} {value} {at}", labels.join(", "))
}

#[derive(Deserialize)]
struct PromStrings {
    #[serde(default)]
    data: Vec<String>,
}

/// A path segment with `/`, `?`, `#`, `%` and spaces escaped.
fn path_segment(s: &str) -> String {
    super::percent_encoded(s, b"-_.~:@!$&'()*+,;=")
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: VariableKind, current: &[&str]) -> VariableDef {
        VariableDef {
            name: "v".into(),
            label: None,
            kind,
            query: String::new(),
            datasource: None,
            regex: String::new(),
            multi: false,
            include_all: false,
            all_value: None,
            current: current.iter().map(|s| s.to_string()).collect(),
            saved_options: Vec::new(),
            auto: false,
            auto_count: 30,
            auto_min: None,
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn variable_queries_are_read_like_grafanas_prometheus_data_source() {
        assert_eq!(
            parse_var_query("label_values(node_uname_info{job=\"a\", x=~\"b,c\"}, instance)"),
            Some(VarQuery::LabelValues {
                selector: Some("node_uname_info{job=\"a\", x=~\"b,c\"}".into()),
                label: "instance".into()
            })
        );
        assert_eq!(
            parse_var_query("label_values(job)"),
            Some(VarQuery::LabelValues {
                selector: None,
                label: "job".into()
            })
        );
        assert_eq!(
            parse_var_query("metrics(node_.*)"),
            Some(VarQuery::LabelValues {
                selector: Some("{__name__=~\"node_.*\"}".into()),
                label: "__name__".into()
            })
        );
        assert_eq!(
            parse_var_query("query_result(topk(5, up))"),
            Some(VarQuery::QueryResult("topk(5, up)".into()))
        );
        assert_eq!(
            parse_var_query("label_names()"),
            Some(VarQuery::LabelNames(None))
        );
        assert_eq!(parse_var_query("up"), None);
    }

    #[test]
    fn the_selection_follows_grafanas_rules() {
        let options = strings(&["a", "b"]);
        let d = def(VariableKind::Custom, &["b"]);
        assert_eq!(pick(&d, &options, None), (strings(&["b"]), false));
        // A saved value that is gone: the first option.
        let gone = def(VariableKind::Custom, &["zz"]);
        assert_eq!(pick(&gone, &options, None), (strings(&["a"]), false));
        // … or All when offered.
        let mut all = def(VariableKind::Custom, &["zz"]);
        all.include_all = true;
        assert_eq!(pick(&all, &options, None), (strings(&[ALL]), true));
        // The caller's choice wins even when it is not a known option.
        let chosen = strings(&["web-9"]);
        assert_eq!(pick(&d, &options, Some(&chosen)), (chosen.clone(), false));
        let mut saved_all = def(VariableKind::Query, &[ALL]);
        saved_all.include_all = true;
        assert_eq!(pick(&saved_all, &options, None), (strings(&[ALL]), true));
    }

    fn ds(uid: &str, name: &str, kind: &str, default: bool) -> DataSourceInfo {
        DataSourceInfo {
            uid: uid.into(),
            name: name.into(),
            kind: kind.into(),
            is_default: default,
            json_data: Value::Null,
        }
    }

    #[test]
    fn data_sources_resolve_through_variables_names_and_the_default() {
        let list = vec![
            ds("P1", "Prom", "prometheus", true),
            ds("L1", "Loki", "loki", false),
        ];
        let mut scope = Scope::new();
        scope.insert("datasource".into(), VarValue::single("L1"));
        let r = |uid: Option<&str>, name: Option<&str>| DatasourceRef {
            uid: uid.map(str::to_string),
            kind: None,
            name: name.map(str::to_string),
        };
        let uid = |x: std::result::Result<DsTarget, String>| x.unwrap().uid;
        assert_eq!(uid(resolve_datasource(None, &scope, Some(&list))), "P1");
        assert_eq!(
            uid(resolve_datasource(
                Some(&r(Some("${datasource}"), None)),
                &scope,
                Some(&list)
            )),
            "L1"
        );
        assert_eq!(
            uid(resolve_datasource(
                Some(&r(None, Some("$datasource"))),
                &scope,
                Some(&list)
            )),
            "L1"
        );
        assert_eq!(
            uid(resolve_datasource(
                Some(&r(None, Some("Prom"))),
                &scope,
                Some(&list)
            )),
            "P1"
        );
        assert_eq!(
            uid(resolve_datasource(
                Some(&r(None, Some("default"))),
                &scope,
                Some(&list)
            )),
            "P1"
        );
        assert!(resolve_datasource(Some(&r(Some("$nope"), None)), &scope, Some(&list)).is_err());
        // Without the list, a literal uid is used as written.
        assert_eq!(
            uid(resolve_datasource(Some(&r(Some("X9"), None)), &scope, None)),
            "X9"
        );
    }

    #[test]
    fn png_size_reads_the_ihdr_chunk() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&400u32.to_be_bytes());
        png.extend_from_slice(&200u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((400, 200)));
        assert_eq!(png_size(b"<html>login</html>"), None);
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(path_segment("rYdddlPWk"), "rYdddlPWk");
    }
}
