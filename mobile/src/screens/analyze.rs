//! Analyze: the dashboards of a Grafana source (search, starred), one dashboard opened with
//! every panel ready to draw at the screen's pixel width (one bucket per pixel column with
//! min/max/mean/last, the unit and the thresholds, prepared by the core), the time range and
//! the variables to pick, and PromQL quick queries drawn the same way.

use super::{Store, shown};
use crate::{Paaf, RUNTIME};
use paaf_core::config::MonitoringKind;
use paaf_core::monitor::dashboard::{GridPos, Panel};
use paaf_core::monitor::grafana::{DashboardHit, PanelChart, ResolvedVariable, SearchQuery};
use paaf_core::monitor::prometheus::QueryChart;
use paaf_core::{DashboardView, ErrorInfo, TimeWindow};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The chart width used until the app says its own (`set_width`).
const DEFAULT_WIDTH: u32 = 1080;

/// The time ranges the picker offers (Grafana's quick ranges), as (label, from).
const RANGES: [(&str, &str); 7] = [
    ("Last 5 minutes", "now-5m"),
    ("Last 15 minutes", "now-15m"),
    ("Last 1 hour", "now-1h"),
    ("Last 6 hours", "now-6h"),
    ("Last 24 hours", "now-24h"),
    ("Last 2 days", "now-2d"),
    ("Last 7 days", "now-7d"),
];

/// A choice of the time-range picker.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RangeChoice {
    pub label: String,
    pub window: TimeWindow,
}

/// A PromQL query offered with one tap: a playbook's, with the values that mean trouble.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QuickQuery {
    pub label: String,
    /// The `[[monitoring]]` Prometheus it runs on.
    pub source: String,
    pub expr: String,
    pub above: Option<f64>,
    pub below: Option<f64>,
}

/// One panel of the open dashboard: where it sits on Grafana's grid and its chart.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PanelView {
    pub panel_id: i64,
    pub title: String,
    /// Visualization type (`timeseries`, `stat`, `gauge`, …).
    pub kind: String,
    /// The row it is in, if any.
    pub row: Option<String>,
    pub grid_pos: GridPos,
    /// The series ready to draw; null when its queries could not be run (`error`).
    pub chart: Option<PanelChart>,
    pub error: Option<ErrorInfo>,
}

/// The dashboard on screen.
#[derive(Debug, Clone, uniffi::Record)]
pub struct OpenDashboard {
    pub uid: String,
    pub title: String,
    /// Relative URL in Grafana (`/d/uid/slug`).
    pub url: Option<String>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The variables with their value and options, for the pickers.
    pub variables: Vec<ResolvedVariable>,
    /// In the dashboard's order.
    pub panels: Vec<PanelView>,
}

/// What the Analyze screen shows.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct AnalyzeState {
    /// A read is under way; the rest is the last read.
    pub busy: bool,
    /// The Grafana sources configured, and the one shown (null when there is none).
    pub grafana_sources: Vec<String>,
    pub grafana: Option<String>,
    /// The dashboard search: its text and whether only starred dashboards are listed.
    pub search: String,
    pub starred_only: bool,
    pub dashboards: Vec<DashboardHit>,
    pub dashboard: Option<OpenDashboard>,
    /// The time range picked (`view.window`; null: the dashboard's own, the last hour for
    /// queries) and the variable values picked (`view.variables`, by name; `["$__all"]` for
    /// All).
    pub view: DashboardView,
    pub ranges: Vec<RangeChoice>,
    /// The chart width in pixels the series are prepared for.
    pub width: u32,
    pub quick_queries: Vec<QuickQuery>,
    /// The last query run, ready to draw.
    pub query: Option<QueryChart>,
    pub error: Option<ErrorInfo>,
}

super::screen_model!(
    AnalyzeScreen,
    AnalyzeState,
    AnalyzeListener,
    "Implemented by the app: receives each new state of the Analyze screen on a paaf thread."
);

/// The Analyze screen's model.
#[derive(uniffi::Object)]
pub struct AnalyzeScreen {
    core: Arc<paaf_core::Paaf>,
    store: Arc<Store<AnalyzeState>>,
    /// Bumped by every change of what the dashboard shows: a read answering an older
    /// request is dropped (a search typed fast, a range picked twice).
    searches: Arc<AtomicU64>,
    opens: Arc<AtomicU64>,
}

/// Each panel beside its chart (or why it has none), in the dashboard's order.
pub(crate) fn panel_views(
    panels: &[Panel],
    charts: Vec<paaf_core::Result<PanelChart>>,
) -> Vec<PanelView> {
    panels
        .iter()
        .zip(charts)
        .map(|(p, chart)| PanelView {
            panel_id: p.id,
            title: p.title.clone(),
            kind: p.kind.clone(),
            row: p.row.clone(),
            grid_pos: p.grid_pos,
            error: chart.as_ref().err().map(shown),
            chart: chart.ok(),
        })
        .collect()
}

/// The playbooks' queries, each once.
fn quick_queries(config: &paaf_core::config::Config) -> Vec<QuickQuery> {
    let mut out: Vec<QuickQuery> = Vec::new();
    for playbook in &config.playbooks {
        for q in &playbook.queries {
            if out.iter().any(|o| o.source == q.source && o.expr == q.expr) {
                continue;
            }
            out.push(QuickQuery {
                label: format!("{}: {}", playbook.name, q.expr),
                source: q.source.clone(),
                expr: q.expr.clone(),
                above: q.above,
                below: q.below,
            });
        }
    }
    out
}

impl AnalyzeScreen {
    pub(crate) fn open(core: Arc<paaf_core::Paaf>) -> Arc<Self> {
        let config = core.config();
        let grafana_sources: Vec<String> = config
            .monitoring
            .iter()
            .filter(|m| m.kind == MonitoringKind::Grafana)
            .map(|m| m.name.clone())
            .collect();
        let initial = AnalyzeState {
            grafana: grafana_sources.first().cloned(),
            grafana_sources,
            ranges: RANGES
                .iter()
                .map(|(label, from)| RangeChoice {
                    label: (*label).into(),
                    window: TimeWindow {
                        from: (*from).into(),
                        to: "now".into(),
                    },
                })
                .collect(),
            width: DEFAULT_WIDTH,
            quick_queries: quick_queries(&config),
            ..AnalyzeState::default()
        };
        let screen = Arc::new(AnalyzeScreen {
            core,
            store: Store::new(initial),
            searches: Arc::new(AtomicU64::new(0)),
            opens: Arc::new(AtomicU64::new(0)),
        });
        screen.list();
        screen
    }

    /// Lists the dashboards matching the search (when a Grafana is configured).
    fn list(&self) {
        let state = self.store.get();
        let Some(source) = state.grafana else {
            return;
        };
        let generation = self.searches.fetch_add(1, Ordering::SeqCst) + 1;
        let (core, store, searches) =
            (self.core.clone(), self.store.clone(), self.searches.clone());
        store.update(|s| {
            s.busy = true;
            s.error = None;
        });
        let query = SearchQuery {
            query: (!state.search.is_empty()).then_some(state.search),
            starred: state.starred_only,
            ..SearchQuery::default()
        };
        RUNTIME.spawn(async move {
            let found = core.dashboards(Some(&source), &query).await;
            if searches.load(Ordering::SeqCst) != generation {
                return;
            }
            store.update(|s| {
                s.busy = false;
                match found {
                    Ok(hits) => s.dashboards = hits,
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }

    /// Opens (or reads again) dashboard `uid` for the state's range, variables and width.
    fn load(&self, uid: String) {
        let state = self.store.get();
        let Some(source) = state.grafana else {
            self.store.update(|s| {
                s.error = Some(ErrorInfo {
                    code: paaf_core::ErrorCode::Config,
                    message: "no Grafana is configured: add a [[monitoring]] source with type = \"grafana\"".into(),
                    phase: None,
                })
            });
            return;
        };
        let generation = self.opens.fetch_add(1, Ordering::SeqCst) + 1;
        let (core, store, opens) = (self.core.clone(), self.store.clone(), self.opens.clone());
        store.update(|s| {
            s.busy = true;
            s.error = None;
        });
        let view = state.view;
        let width = state.width;
        RUNTIME.spawn(async move {
            let read = core
                .dashboard_charts(Some(&source), &uid, &view, width)
                .await;
            if opens.load(Ordering::SeqCst) != generation {
                return;
            }
            store.update(|s| {
                s.busy = false;
                match read {
                    Ok((dashboard, charts)) => {
                        let panels = panel_views(&dashboard.panels, charts);
                        s.dashboard = Some(OpenDashboard {
                            uid: dashboard.uid,
                            title: dashboard.title,
                            url: dashboard.url,
                            from_ms: dashboard.range.from_ms,
                            to_ms: dashboard.range.to_ms,
                            variables: dashboard.variables,
                            panels,
                        });
                    }
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }

    /// Reads the open dashboard again (after a change of range, variables or width).
    fn reload(&self) {
        if let Some(open) = self.store.get().dashboard {
            self.load(open.uid);
        }
    }
}

#[uniffi::export]
impl AnalyzeScreen {
    /// Lists the dashboards whose title matches `query` (empty: all).
    pub fn search(&self, query: String) {
        self.store.update(|s| s.search = query);
        self.list();
    }

    /// Lists only the starred dashboards, or all of them again.
    pub fn show_starred(&self, starred_only: bool) {
        self.store.update(|s| s.starred_only = starred_only);
        self.list();
    }

    /// Shows the dashboards of another configured Grafana (its name from `grafana_sources`).
    pub fn use_grafana(&self, source: String) {
        self.store.update(|s| {
            s.grafana = Some(source);
            s.dashboard = None;
            s.view.variables.clear();
        });
        self.list();
    }

    /// Opens a dashboard of the list: its panels prepared for the width, range and variables.
    pub fn open_dashboard(&self, uid: String) {
        self.store.update(|s| {
            if s.dashboard.as_ref().is_none_or(|d| d.uid != uid) {
                s.view.variables.clear();
            }
        });
        self.load(uid);
    }

    /// Back to the list.
    pub fn close_dashboard(&self) {
        self.opens.fetch_add(1, Ordering::SeqCst);
        self.store.update(|s| {
            s.dashboard = None;
            s.view.variables.clear();
            s.busy = false;
        });
    }

    /// Picks the time range (a choice of `ranges`, or one typed in Grafana's syntax); null:
    /// the dashboard's own. A range paaf cannot read is refused with its error.
    pub fn set_window(&self, window: Option<TimeWindow>) {
        if let Some(Err(e)) = window.as_ref().map(TimeWindow::resolve) {
            self.store.update(|s| s.error = Some(shown(&e)));
            return;
        }
        self.store.update(|s| s.view.window = window);
        self.reload();
    }

    /// Picks the values of variable `name` (`["$__all"]` for All).
    pub fn set_variable(&self, name: String, values: Vec<String>) {
        self.store.update(|s| {
            s.view.variables.insert(name, values);
        });
        self.reload();
    }

    /// The chart width in pixels (the app's, once laid out): the series are prepared again.
    pub fn set_width(&self, width: u32) {
        let width = width.max(1);
        if self.store.get().width == width {
            return;
        }
        self.store.update(|s| s.width = width);
        self.reload();
    }

    /// Reads the list and the open dashboard again.
    pub fn refresh(&self) {
        self.list();
        self.reload();
    }

    /// Runs a PromQL query on a Prometheus source (null: the only one) over the picked range
    /// (the last hour when none), ready to draw at the width.
    pub fn run_query(&self, source: Option<String>, expr: String) {
        let state = self.store.get();
        let (core, store) = (self.core.clone(), self.store.clone());
        let window = state.view.window.unwrap_or_else(|| TimeWindow {
            from: "now-1h".into(),
            to: "now".into(),
        });
        store.update(|s| {
            s.busy = true;
            s.error = None;
        });
        RUNTIME.spawn(async move {
            let chart = core
                .query_chart(source.as_deref(), &expr, &window, state.width)
                .await;
            store.update(|s| {
                s.busy = false;
                match chart {
                    Ok(c) => s.query = Some(c),
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }
}

#[uniffi::export]
impl Paaf {
    /// The Analyze screen's model: dashboards, their panels ready to draw, quick queries.
    pub fn analyze_screen(&self) -> Arc<AnalyzeScreen> {
        AnalyzeScreen::open(self.core.clone())
    }
}
