//! Analyze: the facade's monitoring calls — alerts of every source, silences, Prometheus
//! queries and targets, Grafana dashboards, panel data and annotations.

use super::Paaf;
use crate::config::{ApiAuth, MonitoringConfig, MonitoringKind};
use crate::error::{Error, ErrorInfo, Result};
use crate::http::{HttpAuth, Limits, Service};
use crate::journal::{ActionData, ActionKind, ActionState, NewAction};
use crate::monitor::alert_list::{self, SourceAlerts};
use crate::monitor::alertmanager::{self, Alertmanager, Matcher, NewSilence, Silence};
use crate::monitor::grafana::{
    Dashboard, DashboardHit, Grafana, NewAnnotation, OpenOptions, PanelChart, PanelData,
    PanelImage, SearchQuery,
};
use crate::monitor::prometheus::{self, Prometheus, QueryChart, QueryResult, RangeQuery, Target};
use crate::monitor::timerange::{TimeRange, parse_range};
use crate::secrets::SecretStore;
use std::collections::BTreeMap;
use std::time::Duration;

/// An HTTP client for a monitoring source, its secrets fetched from `secrets`.
pub(crate) fn service_of(source: &MonitoringConfig, secrets: &dyn SecretStore) -> Result<Service> {
    let auth = match &source.auth {
        ApiAuth::None => HttpAuth::None,
        ApiAuth::Token { token } => HttpAuth::Bearer(token.resolve(secrets)?),
        ApiAuth::Basic { user, password } => HttpAuth::Basic {
            user: user.clone(),
            password: password.resolve(secrets)?,
        },
    };
    let limits = Limits::with_timeout(source.timeout);
    let name = format!("{} `{}`", source.kind.as_str(), source.name);
    let service = Service::new(&name, &source.url, auth, limits)?;
    Ok(match source.org_id {
        Some(org) => service.with_default_header("X-Grafana-Org-Id", &org.to_string()),
        None => service,
    })
}

/// How many panels of a dashboard are queried at the same time (Grafana's own front-end
/// sends a handful of `/api/ds/query` requests at once too).
const PANELS_AT_ONCE: usize = 6;

/// The time range of a query, in Grafana's syntax (`now-6h`, `now-1d/d`, epoch ms, RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimeWindow {
    pub from: String,
    pub to: String,
}

impl TimeWindow {
    pub fn resolve(&self) -> Result<TimeRange> {
        Ok(parse_range(
            &self.from,
            &self.to,
            chrono::Utc::now().timestamp_millis(),
        )?)
    }
}

impl Paaf {
    /// The configured monitoring source `name` (or the only one of `kind`).
    fn monitoring(
        &self,
        name: Option<&str>,
        kind: Option<MonitoringKind>,
    ) -> Result<MonitoringConfig> {
        self.config().monitoring_source(name, kind).cloned()
    }

    /// An HTTP client for the source, its secrets fetched from the secret store.
    fn monitoring_service(&self, source: &MonitoringConfig) -> Result<Service> {
        service_of(source, self.secrets.as_ref())
    }

    /// The alerts of every monitoring source (or only `source`), read concurrently; a source
    /// that fails is listed with its error.
    pub async fn alerts(&self, source: Option<&str>) -> Result<Vec<SourceAlerts>> {
        let sources: Vec<MonitoringConfig> = match source {
            Some(name) => vec![self.monitoring(Some(name), None)?],
            None => self.config().monitoring.clone(),
        };
        let reads = sources.iter().map(|s| self.source_alerts(s));
        Ok(futures::future::join_all(reads).await)
    }

    async fn source_alerts(&self, source: &MonitoringConfig) -> SourceAlerts {
        let mut out = SourceAlerts::new(&source.name, source.kind);
        let read = async {
            let service = self.monitoring_service(source)?;
            let name = &source.name;
            let mut alerts = match source.kind {
                MonitoringKind::Prometheus | MonitoringKind::Grafana => {
                    let prefix = match source.kind {
                        MonitoringKind::Grafana => prometheus::GRAFANA_ALERTS_PREFIX,
                        _ => prometheus::API_V1,
                    };
                    prometheus::alerts(&service, prefix)
                        .await?
                        .into_iter()
                        .filter(|a| a.state != prometheus::AlertState::Inactive)
                        .map(|a| alert_list::from_rule(name, a))
                        .collect::<Vec<_>>()
                }
                MonitoringKind::Alertmanager => Alertmanager::new(&service, alertmanager::API_V2)
                    .alerts(&[])
                    .await?
                    .into_iter()
                    .map(|a| alert_list::from_alertmanager(name, a))
                    .collect(),
            };
            alert_list::sort(&mut alerts);
            Ok::<_, Error>(alerts)
        };
        match read.await {
            Ok(alerts) => out.alerts = alerts,
            Err(e) => out.error = Some(ErrorInfo::from(&e)),
        }
        out
    }

    /// The silence API of a source: an Alertmanager's own, or Grafana's.
    pub(super) fn silence_api(
        &self,
        source: Option<&str>,
    ) -> Result<(MonitoringConfig, Service, &'static str)> {
        let config = self.config();
        let source = match source {
            Some(name) => config.monitoring_source(Some(name), None)?.clone(),
            None => config
                .monitoring_source(None, Some(MonitoringKind::Alertmanager))
                .or_else(|_| config.monitoring_source(None, Some(MonitoringKind::Grafana)))
                .cloned()
                .map_err(|_| {
                    Error::invalid(
                        "silences live in an Alertmanager or a Grafana: configure one ([[monitoring]] with type = \"alertmanager\" or \"grafana\"), or name it with --source",
                    )
                })?,
        };
        let prefix = match source.kind {
            MonitoringKind::Alertmanager => alertmanager::API_V2,
            MonitoringKind::Grafana => alertmanager::GRAFANA_PREFIX,
            MonitoringKind::Prometheus => {
                return Err(Error::invalid(format!(
                    "`{}` is a Prometheus server, which holds no silences: silence in its Alertmanager (add it as a [[monitoring]] source with type = \"alertmanager\")",
                    source.name
                )));
            }
        };
        let service = self.monitoring_service(&source)?;
        Ok((source, service, prefix))
    }

    /// Silences the alerts matching `matchers` (`alertname=X`, `job=~"api.*"`) for `duration`;
    /// journaled with the silence id, so it can be expired.
    pub async fn silence(
        &self,
        source: Option<&str>,
        matchers: &[String],
        duration: Duration,
        comment: &str,
    ) -> Result<String> {
        let (source, service, prefix) = self.silence_api(source)?;
        let matchers = parse_matchers(matchers)?;
        let detail = format!(
            "{} for {}",
            matchers
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(","),
            short_duration(duration)
        );
        let new = NewSilence::lasting(matchers, duration, &self.actor.operator, comment);
        let source_name = &source.name;
        self.journaled(
            NewAction::new(ActionKind::Silence, &source.name, &detail),
            |started| async move {
                started.now()?;
                let silence_id = Alertmanager::new(&service, prefix)
                    .create_silence(&new)
                    .await?;
                let data = ActionData::Silence {
                    source: source_name.clone(),
                    silence_id: silence_id.clone(),
                };
                if let Err(e) = self.journal.set_data(started.id, &data) {
                    tracing::warn!("cannot record silence {silence_id} in the journal: {e}");
                }
                Ok(silence_id)
            },
            |id| (ActionState::Succeeded, format!("silence {id}")),
        )
        .await
    }

    /// The alerts firing now that a silence with `matchers` on `source` would mute: the
    /// source's own alerts, filtered by the source itself, so they match as the silence will.
    pub async fn alerts_silenced_by(
        &self,
        source: Option<&str>,
        matchers: &[String],
    ) -> Result<Vec<alertmanager::Alert>> {
        let (_, service, prefix) = self.silence_api(source)?;
        let matchers = parse_matchers(matchers)?;
        Alertmanager::new(&service, prefix).alerts(&matchers).await
    }

    /// The silences of a source, newest first.
    pub async fn silences(&self, source: Option<&str>) -> Result<Vec<Silence>> {
        let (_, service, prefix) = self.silence_api(source)?;
        Alertmanager::new(&service, prefix).silences().await
    }

    /// Expires (ends now) the silence `id`; journaled.
    pub async fn expire_silence(&self, source: Option<&str>, id: &str) -> Result<()> {
        let (source, service, prefix) = self.silence_api(source)?;
        self.journaled(
            NewAction::new(ActionKind::ExpireSilence, &source.name, id),
            |started| async move {
                started.now()?;
                Alertmanager::new(&service, prefix).expire_silence(id).await
            },
            |_| (ActionState::Succeeded, "expired".into()),
        )
        .await
    }

    /// A PromQL query on a Prometheus source: instant, or over `window` with at most `points`
    /// points per series.
    pub async fn query(
        &self,
        source: Option<&str>,
        expr: &str,
        window: Option<&TimeWindow>,
        points: u32,
    ) -> Result<QueryResult> {
        let source = self.monitoring(source, Some(MonitoringKind::Prometheus))?;
        let service = self.monitoring_service(&source)?;
        let api = Prometheus::new(&service, prometheus::API_V1);
        match window {
            None => api.query(expr, None).await,
            Some(w) => {
                let range = w.resolve()?;
                let mut q = RangeQuery::new(range.from_ms, range.to_ms);
                q.max_points = Some(points.max(2));
                api.query_range(expr, &q).await
            }
        }
    }

    /// A PromQL range query over `window`, ready to draw `width` pixels wide (one bucket per
    /// pixel column with min/max/mean/last).
    pub async fn query_chart(
        &self,
        source: Option<&str>,
        expr: &str,
        window: &TimeWindow,
        width: u32,
    ) -> Result<QueryChart> {
        let range = window.resolve()?;
        let source = self.monitoring(source, Some(MonitoringKind::Prometheus))?;
        let service = self.monitoring_service(&source)?;
        let mut q = RangeQuery::new(range.from_ms, range.to_ms);
        q.max_points = Some(width.max(2));
        let result = Prometheus::new(&service, prometheus::API_V1)
            .query_range(expr, &q)
            .await?;
        Ok(QueryChart::of(
            expr,
            result,
            range.from_ms,
            range.to_ms,
            width,
        ))
    }

    /// The scrape targets of a Prometheus source and their health.
    pub async fn targets(&self, source: Option<&str>) -> Result<Vec<Target>> {
        let source = self.monitoring(source, Some(MonitoringKind::Prometheus))?;
        let service = self.monitoring_service(&source)?;
        Prometheus::new(&service, prometheus::API_V1)
            .targets()
            .await
    }
}

/// What to annotate, and where.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AnnotationInput {
    pub text: String,
    pub tags: Vec<String>,
    /// On this dashboard (and panel); org-wide when `None`.
    pub dashboard_uid: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub panel_id: Option<i64>,
}

/// Which dashboard view: its time range (the dashboard's own when `None`) and variable values
/// chosen by the user (e.g. an alert's `instance`), by name.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DashboardView {
    pub window: Option<TimeWindow>,
    pub variables: BTreeMap<String, Vec<String>>,
}

impl DashboardView {
    fn options(&self) -> OpenOptions {
        OpenOptions {
            from: self.window.as_ref().map(|w| w.from.clone()),
            to: self.window.as_ref().map(|w| w.to.clone()),
            now_ms: None,
            variables: self.variables.clone(),
        }
    }
}

impl Paaf {
    fn grafana(&self, source: Option<&str>) -> Result<(MonitoringConfig, Grafana)> {
        let source = self.monitoring(source, Some(MonitoringKind::Grafana))?;
        let service = self.monitoring_service(&source)?;
        Ok((source, Grafana::new(service)))
    }

    /// Dashboards of a Grafana source matching `query`.
    pub async fn dashboards(
        &self,
        source: Option<&str>,
        query: &SearchQuery,
    ) -> Result<Vec<DashboardHit>> {
        self.grafana(source)?.1.search(query).await
    }

    /// One dashboard: its panels (rows expanded) and its variables resolved.
    pub async fn dashboard(
        &self,
        source: Option<&str>,
        uid: &str,
        view: &DashboardView,
    ) -> Result<Dashboard> {
        self.grafana(source)?
            .1
            .dashboard(uid, &view.options())
            .await
    }

    /// A panel's data, downsampled to `width` points per series, with stats.
    pub async fn panel_data(
        &self,
        source: Option<&str>,
        uid: &str,
        panel_id: i64,
        view: &DashboardView,
        width: u32,
    ) -> Result<PanelData> {
        let (_, grafana) = self.grafana(source)?;
        let dashboard = grafana.dashboard(uid, &view.options()).await?;
        grafana.panel_data(&dashboard, panel_id, width).await
    }

    /// A dashboard opened for `view` and every panel of it ready to draw `width` pixels wide
    /// (see [`Grafana::panel_chart`]), the panels queried a few at a time, in the dashboard's
    /// order; a panel whose queries could not be sent has its error beside the others.
    pub async fn dashboard_charts(
        &self,
        source: Option<&str>,
        uid: &str,
        view: &DashboardView,
        width: u32,
    ) -> Result<(Dashboard, Vec<Result<PanelChart>>)> {
        use futures::StreamExt;
        let (_, grafana) = self.grafana(source)?;
        let dashboard = grafana.dashboard(uid, &view.options()).await?;
        // The futures are made first: a closure in the stream would make this future too
        // general for `Send` (rust-lang/rust#102211).
        let queries: Vec<_> = dashboard
            .panels
            .iter()
            .map(|p| grafana.panel_chart(&dashboard, p.id, width))
            .collect();
        let charts = futures::stream::iter(queries)
            .buffered(PANELS_AT_ONCE)
            .collect()
            .await;
        Ok((dashboard, charts))
    }

    /// A panel as PNG when the instance has the image renderer; `NoRenderer` otherwise (draw
    /// [`Paaf::panel_data`] instead).
    pub async fn render_panel(
        &self,
        source: Option<&str>,
        uid: &str,
        panel_id: i64,
        view: &DashboardView,
        size: (u32, u32),
    ) -> Result<PanelImage> {
        let (_, grafana) = self.grafana(source)?;
        let dashboard = grafana.dashboard(uid, &view.options()).await?;
        grafana
            .render_panel(&dashboard, panel_id, size.0, size.1)
            .await
    }

    /// Writes an annotation now (org-wide, or on a dashboard/panel); journaled. Returns its id.
    pub async fn annotate(&self, source: Option<&str>, input: &AnnotationInput) -> Result<i64> {
        let (source, grafana) = self.grafana(source)?;
        if input.text.trim().is_empty() {
            return Err(Error::invalid("the annotation's text is empty"));
        }
        let annotation = NewAnnotation {
            dashboard_uid: input.dashboard_uid.clone(),
            panel_id: input.panel_id,
            time: chrono::Utc::now().timestamp_millis(),
            time_end: None,
            tags: input.tags.clone(),
            text: input.text.clone(),
        };
        let target = match &input.dashboard_uid {
            Some(uid) => format!("{}/{uid}", source.name),
            None => source.name.clone(),
        };
        self.journaled(
            NewAction::new(ActionKind::Annotate, &target, &input.text),
            |started| async move {
                started.now()?;
                grafana.annotate(&annotation).await
            },
            |id| (ActionState::Succeeded, format!("annotation {id}")),
        )
        .await
    }
}

/// `90s`, `30m`, `2h`, `1h30m`: how long a silence lasts, for the journal.
/// Reads silence matchers as a user writes them (`alertname=X`, `job=~"api.*"`).
pub(super) fn parse_matchers(matchers: &[String]) -> Result<Vec<Matcher>> {
    matchers.iter().map(|m| Matcher::parse(m)).collect()
}

fn short_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) if h > 0 => format!("{h}h{m}m"),
        (_, m, s) => format!("{m}m{s}s"),
    }
}
