//! Grafana dashboard JSON read into the parts paaf shows and queries, with no I/O: every panel
//! flattened with the row it sits in, template variable definitions, `$var` interpolation in
//! Grafana's syntax and formats, and the built-in `$__interval` / `$__rate_interval` / `$__range`.
//!
//! Layouts read: the current schema (`panels[]`, where a collapsed row keeps its panels in its
//! own `panels[]` and an expanded row is followed by its panels) and the legacy one
//! (schemaVersion < 16: `rows[]` each holding `panels[]` sized by `span`, laid out the way
//! Grafana's dashboard migrator does). Reference:
//! https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/
//! and, for variables, https://grafana.com/docs/grafana/latest/dashboards/variables/variable-syntax/

use crate::error::{Error, Result};
use crate::monitor::timerange::TimeRange;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A panel's place on the 24-column grid (one row unit is 30 px).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GridPos {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// A data source as a dashboard names it: `{type, uid}` (the uid may be a `${var}`), or a legacy
/// name string (`"Prometheus"`, `"$datasource"`), or nothing (the default data source).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DatasourceRef {
    pub uid: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Legacy form: a data source name or a variable holding one.
    pub name: Option<String>,
}

impl DatasourceRef {
    /// Read the `datasource` field of a panel, target or variable (`null` gives `None`).
    pub fn from_json(value: &Value) -> Option<DatasourceRef> {
        match value {
            Value::String(s) if !s.is_empty() => Some(DatasourceRef {
                name: Some(s.clone()),
                ..DatasourceRef::default()
            }),
            Value::Object(o) => {
                let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
                let r = DatasourceRef {
                    uid: text("uid"),
                    kind: text("type"),
                    name: None,
                };
                (r.uid.is_some() || r.kind.is_some()).then_some(r)
            }
            _ => None,
        }
    }

    /// The `-- Mixed --` pseudo data source: each target names its own.
    pub fn is_mixed(&self) -> bool {
        self.uid.as_deref() == Some("-- Mixed --") || self.name.as_deref() == Some("-- Mixed --")
    }
}

/// One query of a panel (a dashboard's "target").
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PanelQuery {
    pub ref_id: String,
    /// The target's own data source (mixed panels), else the panel's applies.
    pub datasource: Option<DatasourceRef>,
    /// Hidden in the panel editor: Grafana does not run it.
    pub hidden: bool,
    /// The target as the dashboard holds it, sent back (interpolated) in `/api/ds/query`.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub query: Value,
}

/// One panel, wherever it sits in the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Panel {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    /// Visualization type (`timeseries`, `stat`, `graph`, `singlestat`, `table`, …).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// Title of the row the panel is in (collapsed or not); `None` above the first row.
    pub row: Option<String>,
    pub datasource: Option<DatasourceRef>,
    pub targets: Vec<PanelQuery>,
    pub grid_pos: GridPos,
    /// The panel's "min interval" (`interval`), e.g. `30s` or `$resolution`.
    pub min_interval: Option<String>,
    pub max_data_points: Option<u32>,
    /// The panel's unit (`fieldConfig.defaults.unit`, legacy `format` / first y axis's
    /// `format`): what a series without its own unit is shown in.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub unit: Option<String>,
    /// The panel's thresholds (`fieldConfig.defaults.thresholds`); none when it has none.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub thresholds: Option<Thresholds>,
}

/// A panel's thresholds: the colour of a value is that of the last step it reaches.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Thresholds {
    /// The step values are percentages of the panel's min..max, not values.
    pub percentage: bool,
    /// In increasing order; the first is the base (its `value` null).
    pub steps: Vec<ThresholdStep>,
}

/// One threshold step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ThresholdStep {
    /// From this value up; null for the base step.
    pub value: Option<f64>,
    /// Grafana's colour: a name (`green`, `semi-dark-red`) or `#rrggbb`.
    pub color: String,
}

/// What kind of template variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum VariableKind {
    Query,
    Custom,
    Constant,
    Interval,
    Textbox,
    Datasource,
    Adhoc,
    Other(String),
}

/// A template variable as saved in the dashboard (before it is resolved).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariableDef {
    pub name: String,
    pub label: Option<String>,
    pub kind: VariableKind,
    /// The query as text: `label_values(up, job)`, `a,b,c`, `30s,5m`, `prometheus`, …
    pub query: String,
    pub datasource: Option<DatasourceRef>,
    /// Grafana's regex filter on the options (query variables).
    pub regex: String,
    pub multi: bool,
    pub include_all: bool,
    /// The value that stands for "All" (e.g. `.+`); without it "All" means every option.
    pub all_value: Option<String>,
    /// Saved current values (`$__all` for "All").
    pub current: Vec<String>,
    /// Options saved with the dashboard (custom, interval and some query variables).
    pub saved_options: Vec<String>,
    /// Interval variables: the `auto` option, its step count and floor.
    pub auto: bool,
    pub auto_count: u32,
    pub auto_min: Option<String>,
}

/// A dashboard's JSON model, read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardModel {
    pub uid: String,
    pub title: String,
    pub schema_version: i64,
    /// Default time range (`time.from` / `time.to`, e.g. `now-6h` / `now`).
    pub time_from: String,
    pub time_to: String,
    /// Relative URL from the dashboard API's `meta.url` (`/d/uid/slug`).
    pub url: Option<String>,
    pub folder_title: Option<String>,
    pub panels: Vec<Panel>,
    pub variables: Vec<VariableDef>,
}

impl DashboardModel {
    /// The panel with `id`.
    pub fn panel(&self, id: i64) -> Option<&Panel> {
        self.panels.iter().find(|p| p.id == id)
    }

    /// The slug of the dashboard URL (`/d/uid/slug`), used by the render endpoint.
    pub fn slug(&self) -> String {
        self.url
            .as_deref()
            .and_then(|u| u.rsplit('/').next())
            .filter(|s| !s.is_empty() && *s != self.uid)
            .map(str::to_string)
            .unwrap_or_else(|| slugify(&self.title))
    }
}

/// Grafana's slug: lower case, runs of anything but letters and digits become one `-`.
fn slugify(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

const GRID_COLUMNS: u32 = 24;

/// Read a dashboard: the body of `GET /api/dashboards/uid/{uid}` (`{dashboard, meta}`), or a
/// bare dashboard JSON model.
pub fn parse_dashboard(body: &Value) -> Result<DashboardModel> {
    let dash = body.get("dashboard").unwrap_or(body);
    let meta = body.get("meta");
    let obj = dash.as_object().ok_or_else(|| Error::MalformedResponse {
        what: "Grafana dashboard".into(),
        reason: "the dashboard is not a JSON object".into(),
    })?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let time = obj.get("time");
    let mut panels = Vec::new();
    if let Some(list) = obj.get("panels").and_then(Value::as_array) {
        flatten_panels(list, &mut panels);
    }
    if let Some(rows) = obj.get("rows").and_then(Value::as_array) {
        legacy_rows(rows, &mut panels);
    }
    let variables = obj
        .get("templating")
        .and_then(|t| t.get("list"))
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(parse_variable).collect())
        .unwrap_or_default();
    Ok(DashboardModel {
        uid: text(obj.get("uid")).unwrap_or_default(),
        title: text(obj.get("title")).unwrap_or_default(),
        schema_version: obj
            .get("schemaVersion")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        time_from: text(time.and_then(|t| t.get("from"))).unwrap_or_else(|| "now-6h".into()),
        time_to: text(time.and_then(|t| t.get("to"))).unwrap_or_else(|| "now".into()),
        url: text(meta.and_then(|m| m.get("url"))),
        folder_title: text(meta.and_then(|m| m.get("folderTitle"))),
        panels,
        variables,
    })
}

fn flatten_panels(list: &[Value], out: &mut Vec<Panel>) {
    let mut row: Option<String> = None;
    for p in list {
        if p.get("type").and_then(Value::as_str) == Some("row") {
            row = p.get("title").and_then(Value::as_str).map(str::to_string);
            // A collapsed row keeps its panels inside itself.
            for inner in p
                .get("panels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(parse_panel(inner, row.clone(), None));
            }
        } else {
            out.push(parse_panel(p, row.clone(), None));
        }
    }
}

/// Schema < 16: rows of panels sized in 12ths (`span`), heights in px; placed as Grafana's
/// migrator does (width = span × 2, height = ⌈px / 38⌉ with a 3-unit minimum, left to right,
/// wrapping at 24 columns).
fn legacy_rows(rows: &[Value], out: &mut Vec<Panel>) {
    let mut y = 0u32;
    for row in rows {
        let title = row
            .get("title")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        let height = grid_height(row.get("height"));
        let (mut x, mut row_h) = (0u32, 0u32);
        for p in row
            .get("panels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let span = p.get("span").and_then(Value::as_f64).unwrap_or(12.0);
            let w = ((span.floor() as u32) * 2).clamp(1, GRID_COLUMNS);
            let h = p
                .get("height")
                .map(|h| grid_height(Some(h)))
                .unwrap_or(height);
            if x + w > GRID_COLUMNS {
                y += row_h;
                x = 0;
                row_h = 0;
            }
            let pos = GridPos { x, y, w, h };
            out.push(parse_panel(p, title.clone(), Some(pos)));
            x += w;
            row_h = row_h.max(h);
        }
        y += row_h;
    }
}

fn grid_height(height: Option<&Value>) -> u32 {
    const CELL: f64 = 30.0;
    const MARGIN: f64 = 8.0;
    let px = match height {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(250.0),
        Some(Value::String(s)) => s.trim_end_matches("px").trim().parse().unwrap_or(250.0),
        _ => 250.0,
    };
    (px.max(CELL * 3.0) / (CELL + MARGIN)).ceil() as u32
}

fn parse_panel(p: &Value, row: Option<String>, pos: Option<GridPos>) -> Panel {
    let text = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    let grid_pos = pos.unwrap_or_else(|| {
        let g = p.get("gridPos");
        let n = |k: &str| {
            g.and_then(|g| g.get(k))
                .and_then(Value::as_u64)
                .unwrap_or(0) as u32
        };
        GridPos {
            x: n("x"),
            y: n("y"),
            w: n("w"),
            h: n("h"),
        }
    });
    let targets = p
        .get("targets")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .enumerate()
                .map(|(i, t)| PanelQuery {
                    ref_id: t
                        .get("refId")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| ref_id_for(i)),
                    datasource: t.get("datasource").and_then(DatasourceRef::from_json),
                    hidden: t.get("hide").and_then(Value::as_bool).unwrap_or(false),
                    query: t.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    Panel {
        id: p.get("id").and_then(Value::as_i64).unwrap_or(0),
        kind: text("type").unwrap_or_default(),
        title: text("title").unwrap_or_default(),
        row,
        datasource: p.get("datasource").and_then(DatasourceRef::from_json),
        targets,
        grid_pos,
        min_interval: text("interval").filter(|s| !s.is_empty()),
        max_data_points: p
            .get("maxDataPoints")
            .and_then(Value::as_u64)
            .map(|n| n.min(u32::MAX as u64) as u32),
        unit: panel_unit(p),
        thresholds: panel_thresholds(p),
    }
}

/// `fieldConfig.defaults.unit`, else the legacy singlestat `format` or graph's left y axis.
fn panel_unit(p: &Value) -> Option<String> {
    let defaults = p.pointer("/fieldConfig/defaults/unit");
    [defaults, p.get("format"), p.pointer("/yaxes/0/format")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|u| !u.is_empty())
        .map(str::to_string)
}

/// `fieldConfig.defaults.thresholds` (`{mode, steps: [{color, value}]}`); steps sorted, the
/// base first, those with neither colour nor a number value dropped.
fn panel_thresholds(p: &Value) -> Option<Thresholds> {
    let t = p.pointer("/fieldConfig/defaults/thresholds")?;
    let mut steps: Vec<ThresholdStep> = t
        .get("steps")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|s| {
            let color = s.get("color").and_then(Value::as_str)?.to_string();
            let value = match s.get("value") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_f64()?),
            };
            Some(ThresholdStep { value, color })
        })
        .collect();
    steps.sort_by(|a, b| match (a.value, b.value) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, _) => std::cmp::Ordering::Less,
        (_, None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x.total_cmp(&y),
    });
    (!steps.is_empty()).then(|| Thresholds {
        percentage: t.get("mode").and_then(Value::as_str) == Some("percentage"),
        steps,
    })
}

/// Grafana names unnamed targets A, B, …, Z, AA, …
fn ref_id_for(i: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut s = String::new();
    let mut n = i;
    loop {
        s.insert(0, letters[n % 26] as char);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s
}

fn parse_variable(v: &Value) -> Option<VariableDef> {
    let name = v.get("name")?.as_str()?.to_string();
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let kind = match v.get("type").and_then(Value::as_str).unwrap_or("") {
        "query" => VariableKind::Query,
        "custom" => VariableKind::Custom,
        "constant" => VariableKind::Constant,
        "interval" => VariableKind::Interval,
        "textbox" => VariableKind::Textbox,
        "datasource" => VariableKind::Datasource,
        "adhoc" => VariableKind::Adhoc,
        other => VariableKind::Other(other.to_string()),
    };
    // Query variables save either a string or an object such as
    // `{"qryType":1,"query":"label_values(up, job)","refId":"…"}`.
    let query = match v.get("query") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => match o.get("query").and_then(Value::as_str) {
            Some(q) if !q.is_empty() => q.to_string(),
            _ => match (
                o.get("label").and_then(Value::as_str),
                o.get("metric").and_then(Value::as_str),
            ) {
                (Some(l), Some(m)) if !m.is_empty() => format!("label_values({m}, {l})"),
                (Some(l), _) => format!("label_values({l})"),
                _ => String::new(),
            },
        },
        _ => String::new(),
    };
    let current = v
        .get("current")
        .and_then(|c| c.get("value"))
        .map(values_of)
        .unwrap_or_default();
    let saved_options = v
        .get("options")
        .and_then(Value::as_array)
        .map(|os| {
            os.iter()
                .filter_map(|o| o.get("value").and_then(Value::as_str).map(str::to_string))
                .filter(|o| o != ALL)
                .collect()
        })
        .unwrap_or_default();
    Some(VariableDef {
        name,
        label: text("label").filter(|l| !l.is_empty()),
        kind,
        query,
        datasource: v.get("datasource").and_then(DatasourceRef::from_json),
        regex: text("regex").unwrap_or_default(),
        multi: v.get("multi").and_then(Value::as_bool).unwrap_or(false),
        include_all: v
            .get("includeAll")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        all_value: text("allValue").filter(|a| !a.is_empty()),
        current,
        saved_options,
        auto: v.get("auto").and_then(Value::as_bool).unwrap_or(false),
        auto_count: v.get("auto_count").and_then(Value::as_u64).unwrap_or(30) as u32,
        auto_min: text("auto_min"),
    })
}

fn values_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// Grafana's value for the "All" option.
pub const ALL: &str = "$__all";

/// Options of a custom variable: comma-separated (`\,` escapes a comma), each `value` or
/// `text : value` (the value is kept).
pub fn custom_options(query: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                cur.push(',');
                chars.next();
            }
            ',' => items.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    items.push(cur);
    items
        .into_iter()
        .map(|i| match i.split_once(" : ") {
            Some((_, value)) => value.trim().to_string(),
            None => i.trim().to_string(),
        })
        .filter(|i| !i.is_empty())
        .collect()
}

/// The value of one variable as interpolation sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VarValue {
    pub values: Vec<String>,
    pub multi: bool,
    pub include_all: bool,
    pub is_all: bool,
    pub all_value: Option<String>,
    /// Every option, for "All" without a custom all value.
    pub options: Vec<String>,
}

impl VarValue {
    /// A plain single value (constants, built-ins).
    pub fn single(value: impl Into<String>) -> VarValue {
        VarValue {
            values: vec![value.into()],
            ..VarValue::default()
        }
    }
}

/// Variable values by name, built-ins included.
pub type Scope = BTreeMap<String, VarValue>;

/// How a variable is written into a query when `${var:format}` names no format: Grafana lets each
/// data source choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultFormat {
    /// Prometheus and Loki: a single value as is (quotes and backslashes escaped), several as an
    /// escaped regex alternation `(a|b)`.
    Prometheus,
    /// Most other data sources: several values as `{a,b}`.
    Glob,
    /// Inside a variable's `regex` filter: values regex-escaped, several as `(a|b)`.
    Regex,
}

/// Replace `$var`, `${var}`, `${var:format}`, `${var.field}` and `[[var]]` / `[[var:format]]` in
/// `text` with values from `scope`; unknown names are left as written (as Grafana does).
pub fn interpolate(text: &str, scope: &Scope, default: DefaultFormat) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(['$', '[']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        match reference_at(tail) {
            Some((len, name, format)) => {
                match scope.get(name) {
                    Some(value) => out.push_str(&format_value(name, value, format, default)),
                    None => out.push_str(&tail[..len]),
                }
                rest = &tail[len..];
            }
            None => {
                // `$` and `[` are one byte each.
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A variable reference at the start of `s`: (length, name, format).
fn reference_at(s: &str) -> Option<(usize, &str, Option<&str>)> {
    if let Some(inner) = s.strip_prefix("${") {
        let end = inner.find('}')?;
        let body = &inner[..end];
        let (name_field, format) = match body.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (body, None),
        };
        // `${var.field}`: the field path is ignored; the value is the variable's.
        let name = name_field.split('.').next().unwrap_or("");
        if name.is_empty() || !name.chars().all(is_word) {
            return None;
        }
        return Some((end + 3, name, format));
    }
    if let Some(inner) = s.strip_prefix("[[") {
        let end = inner.find("]]")?;
        let body = &inner[..end];
        let (name, format) = match body.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (body, None),
        };
        if name.is_empty() || !name.chars().all(is_word) {
            return None;
        }
        return Some((end + 4, name, format));
    }
    if let Some(inner) = s.strip_prefix('$') {
        let len = inner.find(|c: char| !is_word(c)).unwrap_or(inner.len());
        if len == 0 {
            return None;
        }
        return Some((len + 1, &inner[..len], None));
    }
    None
}

/// The values a variable stands for: its selection, or for "All" every option.
fn selected(value: &VarValue) -> Vec<String> {
    if value.is_all {
        value.options.clone()
    } else {
        value.values.clone()
    }
}

fn format_value(
    name: &str,
    value: &VarValue,
    format: Option<&str>,
    default: DefaultFormat,
) -> String {
    // A custom "All" value (`.+`, `*`) is written as is, whatever the format.
    if value.is_all
        && let Some(all) = &value.all_value
    {
        return all.clone();
    }
    let values = selected(value);
    let several = values.len() != 1;
    match format.map(|f| f.split(':').next().unwrap_or(f)) {
        Some("regex") => {
            let escaped: Vec<String> = values.iter().map(|v| regex_escape(v)).collect();
            if several {
                format!("({})", escaped.join("|"))
            } else {
                escaped.concat()
            }
        }
        Some("pipe") => values.join("|"),
        Some("csv") | Some("raw") | Some("text") => values.join(","),
        Some("glob") => glob(&values),
        Some("json") => {
            if several {
                serde_json::to_string(&values).unwrap_or_default()
            } else {
                serde_json::to_string(&values[0]).unwrap_or_default()
            }
        }
        Some("doublequote") => values
            .iter()
            .map(|v| format!("\"{}\"", v.replace('"', "\\\"")))
            .collect::<Vec<_>>()
            .join(","),
        Some("singlequote") => values
            .iter()
            .map(|v| format!("'{}'", v.replace('\'', "\\'")))
            .collect::<Vec<_>>()
            .join(","),
        Some("sqlstring") => values
            .iter()
            .map(|v| format!("'{}'", v.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(","),
        Some("percentencode") => {
            let encoded: Vec<String> = values.iter().map(|v| percent_encode(v)).collect();
            if several {
                percent_encode(&format!("{{{}}}", values.join(",")))
            } else {
                encoded.concat()
            }
        }
        Some("lucene") => {
            let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
            if several {
                format!("({})", quoted.join(" OR "))
            } else {
                lucene_escape(&values[0])
            }
        }
        Some("queryparam") => values
            .iter()
            .map(|v| format!("var-{name}={}", percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&"),
        _ => match default {
            DefaultFormat::Prometheus => {
                if !value.multi && !value.include_all {
                    values
                        .iter()
                        .map(|v| v.replace('\\', "\\\\").replace('\'', "\\\\'"))
                        .collect::<Vec<_>>()
                        .join(",")
                } else {
                    let escaped: Vec<String> =
                        values.iter().map(|v| prometheus_regex_escape(v)).collect();
                    if escaped.len() == 1 {
                        escaped[0].clone()
                    } else {
                        format!("({})", escaped.join("|"))
                    }
                }
            }
            DefaultFormat::Glob => glob(&values),
            DefaultFormat::Regex => format_value(name, value, Some("regex"), default),
        },
    }
}

fn glob(values: &[String]) -> String {
    if values.len() == 1 {
        values[0].clone()
    } else {
        format!("{{{}}}", values.join(","))
    }
}

/// Grafana's `regexEscape`.
fn regex_escape(v: &str) -> String {
    backslashed(v, "\\^$*+?.()|[]{}/")
}

/// `v` with a backslash before each character of `special`.
fn backslashed(v: &str, special: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The Prometheus data source's escape for values in a `=~` matcher: regex metacharacters get a
/// backslash that survives PromQL's string escaping (`\\.`).
fn prometheus_regex_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if c == '\\' {
            out.push_str("\\\\\\\\");
        } else if "$^*{}[]'+?.()|".contains(c) {
            out.push_str("\\\\");
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

fn lucene_escape(v: &str) -> String {
    backslashed(v, "+-&|!(){}[]^\"~*?:\\/ ")
}

/// As JavaScript's `encodeURIComponent`.
fn percent_encode(v: &str) -> String {
    super::percent_encoded(v, b"-_.!~*'()")
}

/// Apply a query variable's `regex` filter to its options, as Grafana does
/// (https://grafana.com/docs/grafana/latest/dashboards/variables/add-template-variables/#filter-variables-with-regex):
/// options that do not match are dropped; a named group `value` (or `text`) gives the option,
/// else the first capture group, else the option as is; with the `g` flag every match of an
/// option with a capture group is an option. `/pattern/flags` takes the flags `g`, `i`, `m`, `s`
/// (`u` and `y` change nothing here); text without slashes must match whole (`^text$`).
/// Variables in the pattern are interpolated, regex-escaped. Duplicates are dropped, first kept.
/// An empty filter keeps every option. The error is a message for the variable's warning.
pub fn filter_options(
    filter: &str,
    scope: &Scope,
    options: Vec<String>,
) -> std::result::Result<Vec<String>, String> {
    if filter.is_empty() {
        return Ok(options);
    }
    let written = interpolate(filter, scope, DefaultFormat::Regex);
    let (pattern, global) = js_regex(&written)?;
    let re = regex_lite::Regex::new(&pattern)
        .map_err(|e| format!("regex `{filter}` is not one paaf can apply: {e}"))?;
    let mut out: Vec<String> = Vec::new();
    let mut push = |v: &str| {
        if !out.iter().any(|o| o == v) {
            out.push(v.to_string());
        }
    };
    for option in &options {
        let matches: Vec<regex_lite::Captures> = if global {
            re.captures_iter(option).collect()
        } else {
            re.captures(option).into_iter().collect()
        };
        if matches.is_empty() {
            continue;
        }
        let named = matches
            .iter()
            .find_map(|m| m.name("value"))
            .or_else(|| matches.iter().find_map(|m| m.name("text")));
        if let Some(group) = named {
            push(group.as_str());
            continue;
        }
        // A group that took no part in the match gives no option (Grafana's `undefined`).
        let firsts = matches.iter().filter_map(|m| m.get(1)).map(|g| g.as_str());
        if re.captures_len() == 1 {
            push(option);
        } else if matches.len() > 1 {
            firsts.for_each(&mut push);
        } else {
            firsts.take(1).for_each(&mut push);
        }
    }
    Ok(out)
}

/// A JavaScript regex literal (`/p/flags`) or bare text (`^text$`) as a Rust pattern, and
/// whether it has the `g` flag.
fn js_regex(text: &str) -> std::result::Result<(String, bool), String> {
    let Some(body) = text.strip_prefix('/') else {
        return Ok((format!("^(?:{text})$"), false));
    };
    let end = body
        .rfind('/')
        .ok_or_else(|| format!("regex `{text}` has no closing `/`"))?;
    let (pattern, flags) = (&body[..end], &body[end + 1..]);
    let mut inline = String::new();
    let mut global = false;
    for f in flags.chars() {
        match f {
            'g' => global = true,
            'i' | 'm' | 's' => inline.push(f),
            'u' | 'y' => {}
            other => return Err(format!("regex `{text}` has an unknown flag `{other}`")),
        }
    }
    Ok(if inline.is_empty() {
        (pattern.to_string(), global)
    } else {
        (format!("(?{inline}){pattern}"), global)
    })
}

/// Grafana's `roundInterval`: the nearest "nice" step at or below the raw interval.
pub fn round_interval(ms: i64) -> i64 {
    const TABLE: &[(i64, i64)] = &[
        (15, 10),
        (35, 20),
        (75, 50),
        (150, 100),
        (350, 200),
        (750, 500),
        (1_500, 1_000),
        (3_500, 2_000),
        (7_500, 5_000),
        (12_500, 10_000),
        (17_500, 15_000),
        (25_000, 20_000),
        (45_000, 30_000),
        (90_000, 60_000),
        (210_000, 120_000),
        (450_000, 300_000),
        (750_000, 600_000),
        (1_050_000, 900_000),
        (1_500_000, 1_200_000),
        (2_700_000, 1_800_000),
        (5_400_000, 3_600_000),
        (9_000_000, 7_200_000),
        (16_200_000, 10_800_000),
        (32_400_000, 21_600_000),
        (86_400_000, 43_200_000),
        (604_800_000, 86_400_000),
        (1_814_400_000, 604_800_000),
        (3_628_800_000, 2_592_000_000),
    ];
    TABLE
        .iter()
        .find(|(below, _)| ms < *below)
        .map(|(_, nice)| *nice)
        .unwrap_or(31_536_000_000)
}

/// Grafana's `secondsToHms` for an interval: its largest whole unit (`15s`, `1m`, `2h`, `1d`,
/// `1y`, `500ms`).
pub fn format_interval(ms: i64) -> String {
    let s = ms / 1000;
    for (unit, size) in [
        ("y", 31_536_000),
        ("d", 86_400),
        ("h", 3_600),
        ("m", 60),
        ("s", 1),
    ] {
        if s >= size {
            return format!("{}{unit}", s / size);
        }
    }
    format!("{ms}ms")
}

/// A Grafana/Prometheus duration (`15s`, `1m`, `1h30m`, `500ms`, `2d`, `1w`, `1y`) in ms; `None`
/// for anything else (e.g. an unresolved `$var`, or more milliseconds than an `i64` holds).
pub fn parse_interval(text: &str) -> Option<i64> {
    let text = text.trim().trim_start_matches('>');
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<f64>() {
        return Some((secs * 1000.0) as i64);
    }
    let mut total = 0i64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let size = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total = n.checked_mul(size).and_then(|ms| total.checked_add(ms))?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// The built-in intervals of one panel query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Intervals {
    pub interval_ms: i64,
    pub rate_interval_ms: i64,
    pub range_ms: i64,
}

/// `$__interval` = the range over `max_data_points` rounded to a nice step, but not below
/// `min_interval_ms` (the panel's min interval, else the data source's scrape interval);
/// `$__rate_interval` = max(`$__interval` + scrape, 4 × scrape), where scrape is the panel's min
/// interval if set, else the data source's scrape interval (Grafana's Prometheus docs:
/// https://grafana.com/docs/grafana/latest/datasources/prometheus/template-variables/#use-__rate_interval).
pub fn intervals(
    range: TimeRange,
    max_data_points: u32,
    min_interval_ms: Option<i64>,
    scrape_interval_ms: i64,
) -> Intervals {
    // Saturating: any two epoch milliseconds make a range (`--from -9223372036854775808`).
    let range_ms = range.to_ms.saturating_sub(range.from_ms).max(0);
    let raw = range_ms / i64::from(max_data_points.max(1));
    let floor = min_interval_ms.unwrap_or(scrape_interval_ms);
    let interval_ms = round_interval(raw).max(floor).max(1);
    let scrape = min_interval_ms.unwrap_or(scrape_interval_ms);
    Intervals {
        interval_ms,
        rate_interval_ms: interval_ms
            .saturating_add(scrape)
            .max(scrape.saturating_mul(4)),
        range_ms,
    }
}

/// The built-in variables for a range and its intervals.
pub fn builtin_scope(range: TimeRange, iv: &Intervals) -> Scope {
    let mut scope = Scope::new();
    let range_s = (iv.range_ms as f64 / 1000.0).round() as i64;
    for (name, value) in [
        ("__interval", format_interval(iv.interval_ms)),
        ("__interval_ms", iv.interval_ms.to_string()),
        ("__rate_interval", format_interval(iv.rate_interval_ms)),
        ("__rate_interval_ms", iv.rate_interval_ms.to_string()),
        ("__range", format!("{range_s}s")),
        ("__range_s", range_s.to_string()),
        ("__range_ms", iv.range_ms.to_string()),
        ("__from", range.from_ms.to_string()),
        ("__to", range.to_ms.to_string()),
    ] {
        scope.insert(name.to_string(), VarValue::single(value));
    }
    scope
}

/// Interpolate every string of a target's JSON except its `refId` and `datasource`.
pub fn interpolate_json(value: &Value, scope: &Scope, default: DefaultFormat) -> Value {
    match value {
        Value::String(s) => Value::String(interpolate(s, scope, default)),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| interpolate_json(v, scope, default))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = if k == "refId" || k == "datasource" {
                        v.clone()
                    } else {
                        interpolate_json(v, scope, default)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/src/monitor/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn multi(values: &[&str]) -> VarValue {
        VarValue {
            values: values.iter().map(|v| v.to_string()).collect(),
            multi: true,
            ..VarValue::default()
        }
    }

    #[test]
    fn collapsed_rows_give_up_their_nested_panels_with_the_row_title() {
        let d =
            parse_dashboard(&fixture("kubernetes-mixin-networking-cluster-total.json")).unwrap();
        assert_eq!(d.schema_version, 18);
        // 5 top-level non-row panels + 2 + 2 + 4 nested in the three collapsed rows.
        let rows: Vec<_> = d
            .panels
            .iter()
            .map(|p| p.row.as_deref().unwrap_or(""))
            .collect();
        assert!(d.panels.iter().all(|p| p.kind != "row"));
        let in_errors = d
            .panels
            .iter()
            .filter(|p| p.row.as_deref() == Some("Errors"))
            .count();
        assert_eq!(in_errors, 4, "{rows:?}");
        let avg = d
            .panels
            .iter()
            .filter(|p| p.row.as_deref() == Some("Average Bandwidth"))
            .count();
        assert_eq!(avg, 2);
        let first = d.panel(3).unwrap();
        assert_eq!(first.row.as_deref(), Some("Current Bandwidth"));
        assert_eq!(first.kind, "graph");
        assert_eq!(
            first.datasource.as_ref().unwrap().name.as_deref(),
            Some("$datasource")
        );
        assert_eq!(
            first.grid_pos,
            GridPos {
                x: 0,
                y: 1,
                w: 12,
                h: 9
            }
        );
        assert_eq!(first.targets[0].ref_id, "A");
        assert!(
            first.targets[0].query["expr"]
                .as_str()
                .unwrap()
                .contains("[$interval:$resolution]")
        );
    }

    #[test]
    fn a_panel_keeps_its_unit_and_thresholds_sorted_base_first() {
        let d = parse_dashboard(&fixture("dotdc-k8s-views-nodes.json")).unwrap();
        let gauge = d.panel(7).unwrap();
        assert_eq!(gauge.unit.as_deref(), Some("percentunit"));
        let t = gauge.thresholds.as_ref().unwrap();
        assert!(t.percentage);
        let steps: Vec<_> = t.steps.iter().map(|s| (s.value, &s.color[..])).collect();
        assert_eq!(
            steps,
            [(None, "green"), (Some(50.0), "orange"), (Some(70.0), "red")]
        );
        let legacy = serde_json::json!({"panels": [{"id": 1, "type": "graph",
            "yaxes": [{"format": "bytes"}, {"format": "short"}],
            "fieldConfig": {"defaults": {"thresholds": {"mode": "absolute", "steps": [
                {"color": "red", "value": 80}, {"color": "green", "value": null}, {"value": 3}]}}}}]});
        let p = &parse_dashboard(&legacy).unwrap().panels[0];
        assert_eq!(p.unit.as_deref(), Some("bytes"));
        let t = p.thresholds.as_ref().unwrap();
        assert!(!t.percentage);
        assert_eq!(t.steps[0].value, None);
        assert_eq!(
            (t.steps[1].value, &t.steps[1].color[..]),
            (Some(80.0), "red")
        );
        assert_eq!(t.steps.len(), 2);
    }

    #[test]
    fn legacy_rows_are_laid_out_on_the_grid() {
        let d = parse_dashboard(&fixture(
            "kubernetes-mixin-k8s-resources-cluster-legacy-rows-schema14.json",
        ))
        .unwrap();
        assert_eq!(d.schema_version, 14);
        assert_eq!(d.panels.len(), 22);
        let headlines: Vec<_> = d
            .panels
            .iter()
            .filter(|p| p.row.as_deref() == Some("Headlines"))
            .collect();
        assert_eq!(headlines.len(), 6);
        // span 2 → w 4, side by side; 100px → the 3-unit minimum (90px / 38 → 3).
        assert_eq!(
            headlines[0].grid_pos,
            GridPos {
                x: 0,
                y: 0,
                w: 4,
                h: 3
            }
        );
        assert_eq!(
            headlines[5].grid_pos,
            GridPos {
                x: 20,
                y: 0,
                w: 4,
                h: 3
            }
        );
        let cpu = d
            .panels
            .iter()
            .find(|p| p.row.as_deref() == Some("CPU"))
            .unwrap();
        assert_eq!(
            cpu.grid_pos,
            GridPos {
                x: 0,
                y: 3,
                w: 24,
                h: 7
            }
        );
        let bw: Vec<_> = d
            .panels
            .iter()
            .filter(|p| p.row.as_deref() == Some("Bandwidth"))
            .collect();
        assert_eq!(
            (bw[0].grid_pos.x, bw[1].grid_pos.x, bw[1].grid_pos.w),
            (0, 12, 12)
        );
    }

    #[test]
    fn variables_of_every_kind_are_read() {
        let d = parse_dashboard(&fixture("dotdc-k8s-views-nodes.json")).unwrap();
        let v = |n: &str| d.variables.iter().find(|v| v.name == n).unwrap();
        assert_eq!(v("datasource").kind, VariableKind::Datasource);
        assert_eq!(v("datasource").query, "prometheus");
        let cluster = v("cluster");
        assert_eq!(cluster.kind, VariableKind::Query);
        assert_eq!(cluster.query, "label_values(kube_node_info,cluster)");
        assert_eq!(
            cluster.datasource.as_ref().unwrap().uid.as_deref(),
            Some("${datasource}")
        );
        let res = v("resolution");
        assert_eq!(res.kind, VariableKind::Custom);
        assert_eq!(res.current, vec!["30s"]);
        assert_eq!(
            custom_options(&res.query),
            vec!["1s", "15s", "30s", "1m", "3m", "5m"]
        );
        let net =
            parse_dashboard(&fixture("kubernetes-mixin-networking-cluster-total.json")).unwrap();
        let interval = net
            .variables
            .iter()
            .find(|v| v.name == "resolution")
            .unwrap();
        assert_eq!(interval.kind, VariableKind::Interval);
        assert_eq!(interval.saved_options, vec!["30s", "5m", "1h"]);
    }

    #[test]
    fn the_slug_comes_from_the_meta_url_else_the_title() {
        let body = serde_json::json!({"dashboard": {"uid": "abc", "title": "Node Exporter Full"},
            "meta": {"url": "/d/abc/node-exporter-full"}});
        assert_eq!(parse_dashboard(&body).unwrap().slug(), "node-exporter-full");
        let bare = serde_json::json!({"uid": "abc", "title": "K8s / Views: Nodes"});
        assert_eq!(parse_dashboard(&bare).unwrap().slug(), "k8s-views-nodes");
    }

    #[test]
    fn custom_options_handle_escaped_commas_and_key_value_pairs() {
        assert_eq!(
            custom_options(r"a\,b, c , Prod : prod-1"),
            vec!["a,b", "c", "prod-1"]
        );
    }

    #[test]
    fn all_reference_syntaxes_are_interpolated() {
        let mut scope = Scope::new();
        scope.insert("job".into(), VarValue::single("node"));
        scope.insert("node".into(), multi(&["web-1", "web.2"]));
        let p = DefaultFormat::Prometheus;
        assert_eq!(
            interpolate("up{job=\"$job\"}", &scope, p),
            "up{job=\"node\"}"
        );
        assert_eq!(interpolate("${job}_x", &scope, p), "node_x");
        assert_eq!(interpolate("[[job]]", &scope, p), "node");
        assert_eq!(interpolate("${node:csv}", &scope, p), "web-1,web.2");
        assert_eq!(interpolate("${node:pipe}", &scope, p), "web-1|web.2");
        assert_eq!(interpolate("${node:regex}", &scope, p), r"(web-1|web\.2)");
        assert_eq!(
            interpolate("[[node:json]]", &scope, p),
            r#"["web-1","web.2"]"#
        );
        assert_eq!(interpolate("${node:glob}", &scope, p), "{web-1,web.2}");
        // Prometheus default: a regex alternation whose backslash survives PromQL's escaping.
        assert_eq!(
            interpolate("x=~\"$node\"", &scope, p),
            r#"x=~"(web-1|web\\.2)""#
        );
        assert_eq!(
            interpolate("$node", &scope, DefaultFormat::Glob),
            "{web-1,web.2}"
        );
        // Unknown names, lone dollars and brackets stay.
        assert_eq!(
            interpolate("$nope ${nope} [[nope]] $ 5$ [1]", &scope, p),
            "$nope ${nope} [[nope]] $ 5$ [1]"
        );
        // `${var.field}` uses the variable's value.
        assert_eq!(interpolate("${job.text}", &scope, p), "node");
    }

    #[test]
    fn all_uses_the_custom_all_value_or_every_option() {
        let mut scope = Scope::new();
        scope.insert(
            "ns".into(),
            VarValue {
                is_all: true,
                include_all: true,
                multi: true,
                all_value: Some(".+".into()),
                options: vec!["a".into(), "b".into()],
                values: vec![ALL.into()],
            },
        );
        scope.insert(
            "pod".into(),
            VarValue {
                is_all: true,
                include_all: true,
                options: vec!["p1".into(), "p2".into()],
                values: vec![ALL.into()],
                ..VarValue::default()
            },
        );
        let p = DefaultFormat::Prometheus;
        assert_eq!(
            interpolate("{ns=~\"$ns\", pod=~\"$pod\"}", &scope, p),
            "{ns=~\".+\", pod=~\"(p1|p2)\"}"
        );
        assert_eq!(interpolate("${pod:csv}", &scope, p), "p1,p2");
    }

    #[test]
    fn builtins_follow_grafanas_interval_rules() {
        let hour = TimeRange {
            from_ms: 0,
            to_ms: 3_600_000,
        };
        // 3600 s / 1000 px = 3.6 s → 5 s, but not below a 15 s scrape interval.
        let iv = intervals(hour, 1000, None, 15_000);
        assert_eq!(iv.interval_ms, 15_000);
        assert_eq!(iv.rate_interval_ms, 60_000);
        let day = TimeRange {
            from_ms: 0,
            to_ms: 86_400_000,
        };
        let iv = intervals(day, 400, None, 15_000);
        assert_eq!(iv.interval_ms, 300_000, "216 s rounds to 5m");
        assert_eq!(iv.rate_interval_ms, 315_000);
        let scope = builtin_scope(day, &iv);
        let p = DefaultFormat::Prometheus;
        assert_eq!(
            interpolate(
                "rate(x[$__rate_interval]) [$__interval] $__range $__range_s ${__interval_ms}",
                &scope,
                p
            ),
            "rate(x[5m]) [5m] 86400s 86400 300000"
        );
        // A panel min interval raises the floor and is the scrape in $__rate_interval.
        let iv = intervals(hour, 1000, Some(60_000), 15_000);
        assert_eq!((iv.interval_ms, iv.rate_interval_ms), (60_000, 240_000));
    }

    #[test]
    fn intervals_are_parsed_and_formatted() {
        assert_eq!(parse_interval("15s"), Some(15_000));
        assert_eq!(parse_interval("1h30m"), Some(5_400_000));
        assert_eq!(parse_interval("500ms"), Some(500));
        assert_eq!(parse_interval(">10s"), Some(10_000));
        assert_eq!(parse_interval("$resolution"), None);
        assert_eq!(format_interval(90_000), "1m");
        assert_eq!(format_interval(500), "500ms");
        assert_eq!(format_interval(86_400_000), "1d");
        assert_eq!(round_interval(3_600), 5_000);
        assert_eq!(round_interval(3_400), 2_000);
    }

    /// Found by the `time_range` fuzz target: `-9223372036854775808` to `9223372036854775807`
    /// is a valid range of epoch milliseconds, and its length overflowed.
    #[test]
    fn the_widest_range_has_intervals() {
        let widest = TimeRange {
            from_ms: i64::MIN,
            to_ms: i64::MAX,
        };
        let iv = intervals(widest, 1000, None, 15_000);
        assert_eq!(iv.range_ms, i64::MAX);
        assert_eq!(iv.interval_ms, 31_536_000_000);
        builtin_scope(widest, &iv);
    }

    /// Seen while writing the `dashboard` fuzz target (its 10-minute run did not reach it): a
    /// duration whose milliseconds do not fit in 64 bits overflowed. Durations come from
    /// dashboards, a data source's `timeInterval` and `paaf silence add --for`.
    #[test]
    fn a_duration_too_long_to_count_is_not_a_duration() {
        assert_eq!(parse_interval("99999999999999999y"), None);
        assert_eq!(parse_interval("9223372036854775807ms1ms"), None);
        let hour = TimeRange {
            from_ms: 0,
            to_ms: 3_600_000,
        };
        let iv = intervals(hour, 1000, Some(i64::MAX / 2), 15_000);
        assert_eq!(iv.rate_interval_ms, i64::MAX);
        let iv = intervals(hour, 1000, None, i64::MAX);
        assert_eq!((iv.interval_ms, iv.rate_interval_ms), (i64::MAX, i64::MAX));
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_variable_regex_keeps_matches_and_their_capture_group() {
        let scope = Scope::new();
        let hosts = strings(&["web-1", "web-2", "db-1", "web-1"]);
        // The example of Grafana's "Filter variables with regex" section.
        assert_eq!(
            filter_options("/web-(.*)/", &scope, hosts.clone()).unwrap(),
            ["1", "2"]
        );
        // Without a group the option is kept whole; without slashes the text must match whole.
        assert_eq!(
            filter_options("/^web/", &scope, hosts.clone()).unwrap(),
            ["web-1", "web-2"]
        );
        assert_eq!(
            filter_options("db-.", &scope, hosts.clone()).unwrap(),
            ["db-1"]
        );
        assert_eq!(filter_options("", &scope, hosts.clone()).unwrap(), hosts);
        // Named groups: `value` is the option (Grafana's docs: `/(?<text>[^:]+):(?<value>.*)/`).
        let pairs = strings(&["Prod:prod-1", "Dev:dev-1"]);
        assert_eq!(
            filter_options("/(?<text>[^:]+):(?<value>.*)/", &scope, pairs).unwrap(),
            ["prod-1", "dev-1"]
        );
        // Flags: case-insensitive, and `g` makes every match an option.
        assert_eq!(
            filter_options("/WEB-(\\d)/i", &scope, hosts).unwrap(),
            ["1", "2"]
        );
        assert_eq!(
            filter_options("/(\\w)=/g", &scope, strings(&["a=1,b=2", "c=3"])).unwrap(),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn the_variable_regex_interpolates_variables_and_reports_bad_patterns() {
        let mut scope = Scope::new();
        scope.insert("env".into(), VarValue::single("prod.eu"));
        let hosts = strings(&["prod.eu-1", "prodXeu-2", "dev-1"]);
        // `$env` is regex-escaped: the dot is literal.
        assert_eq!(
            filter_options("/^$env-(.*)/", &scope, hosts.clone()).unwrap(),
            ["1"]
        );
        let unclosed = filter_options("/web-(/", &scope, hosts.clone()).unwrap_err();
        assert!(unclosed.contains("web-("), "{unclosed}");
        // Look-around is JavaScript-only: refused with a reason, not a panic.
        assert!(filter_options("/(?!dev).*/", &scope, hosts.clone()).is_err());
        assert!(
            filter_options("/x/q", &scope, hosts)
                .unwrap_err()
                .contains("flag `q`")
        );
    }

    #[test]
    fn target_json_is_interpolated_except_ref_id_and_datasource() {
        let mut scope = Scope::new();
        scope.insert("ds".into(), VarValue::single("P1"));
        scope.insert("A".into(), VarValue::single("oops"));
        let t = serde_json::json!({"refId": "A", "datasource": {"uid": "$ds"}, "expr": "up{x=\"$ds\"}",
            "legendFormat": "{{instance}}", "nested": ["$ds"], "intervalFactor": 2});
        let out = interpolate_json(&t, &scope, DefaultFormat::Prometheus);
        assert_eq!(out["refId"], "A");
        assert_eq!(out["datasource"]["uid"], "$ds");
        assert_eq!(out["expr"], "up{x=\"P1\"}");
        assert_eq!(out["legendFormat"], "{{instance}}");
        assert_eq!(out["nested"][0], "P1");
        assert_eq!(out["intervalFactor"], 2);
    }
}
