//! Alert: the silences of an Alertmanager (or a Grafana's), the firing alerts to silence, a
//! silence added for a duration with its comment or expired, and a Grafana annotation
//! written for the people looking at the dashboards.

use super::{Store, shown};
use crate::{Paaf, RUNTIME};
use paaf_core::config::MonitoringKind;
use paaf_core::monitor::alert_list::SourceAlerts;
use paaf_core::monitor::alertmanager::{Silence, SilenceState};
use paaf_core::{AnnotationInput, ErrorInfo};
use std::sync::Arc;
use std::time::Duration;

/// What the Alert screen shows.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct AlertState {
    /// A read or a change is under way.
    pub busy: bool,
    /// The sources that hold silences (Alertmanagers, Grafanas), and the one shown.
    pub silence_sources: Vec<String>,
    pub source: Option<String>,
    /// The Grafana sources an annotation can go to.
    pub grafana_sources: Vec<String>,
    /// The silences of the source: active first, then pending, then the expired ones; each
    /// group newest first.
    pub silences: Vec<Silence>,
    /// The alerts of every monitoring source, to silence one.
    pub alerts: Vec<SourceAlerts>,
    /// The id of the silence added here last.
    pub last_silence: Option<String>,
    /// The id of the annotation written here last.
    pub last_annotation: Option<i64>,
    pub error: Option<ErrorInfo>,
}

super::screen_model!(
    AlertScreen,
    AlertState,
    AlertListener,
    "Implemented by the app: receives each new state of the Alert screen on a paaf thread."
);

/// The Alert screen's model.
#[derive(uniffi::Object)]
pub struct AlertScreen {
    core: Arc<paaf_core::Paaf>,
    store: Arc<Store<AlertState>>,
}

/// Active, pending, expired; newest first within each.
fn ordered(mut silences: Vec<Silence>) -> Vec<Silence> {
    let rank = |s: &SilenceState| match s {
        SilenceState::Active => 0,
        SilenceState::Pending => 1,
        SilenceState::Expired => 2,
        SilenceState::Unknown => 3,
    };
    silences.sort_by(|a, b| {
        rank(&a.state)
            .cmp(&rank(&b.state))
            .then(b.starts_at_ms.cmp(&a.starts_at_ms))
    });
    silences
}

/// Reads the silences of `source` and every source's alerts into the state.
async fn reload(core: &paaf_core::Paaf, store: &Store<AlertState>, source: Option<String>) {
    let silences = match &source {
        Some(name) => core.silences(Some(name)).await,
        None => Ok(Vec::new()),
    };
    let alerts = core.alerts(None).await;
    store.update(|s| {
        s.busy = false;
        match silences {
            Ok(list) => s.silences = ordered(list),
            Err(e) => s.error = s.error.take().or(Some(shown(&e))),
        }
        match alerts {
            Ok(list) => s.alerts = list,
            Err(e) => s.error = s.error.take().or(Some(shown(&e))),
        }
    });
}

impl AlertScreen {
    pub(crate) fn open(core: Arc<paaf_core::Paaf>) -> Arc<Self> {
        let config = core.config();
        let named = |kinds: &[MonitoringKind]| -> Vec<String> {
            config
                .monitoring
                .iter()
                .filter(|m| kinds.contains(&m.kind))
                .map(|m| m.name.clone())
                .collect()
        };
        // An Alertmanager first: that is where the alerts Prometheus sends are silenced.
        let mut silence_sources = named(&[MonitoringKind::Alertmanager]);
        silence_sources.extend(named(&[MonitoringKind::Grafana]));
        let screen = Arc::new(AlertScreen {
            core,
            store: Store::new(AlertState {
                source: silence_sources.first().cloned(),
                silence_sources,
                grafana_sources: named(&[MonitoringKind::Grafana]),
                ..AlertState::default()
            }),
        });
        screen.refresh();
        screen
    }

    /// Runs `work` on the runtime, `busy` meanwhile, records its error (or `done`'s change),
    /// then reads the silences again.
    fn act<T, W, D>(&self, work: W, done: D)
    where
        T: Send + 'static,
        W: Future<Output = paaf_core::Result<T>> + Send + 'static,
        D: FnOnce(&mut AlertState, T) + Send + 'static,
    {
        let (core, store) = (self.core.clone(), self.store.clone());
        store.update(|s| {
            s.busy = true;
            s.error = None;
        });
        RUNTIME.spawn(async move {
            let result = work.await;
            store.update(|s| match result {
                Ok(value) => done(s, value),
                Err(e) => s.error = Some(shown(&e)),
            });
            let source = store.get().source;
            reload(&core, &store, source).await;
        });
    }
}

#[uniffi::export]
impl AlertScreen {
    /// Reads the silences and the alerts again.
    pub fn refresh(&self) {
        let (core, store) = (self.core.clone(), self.store.clone());
        let mut source = None;
        store.update(|s| {
            s.busy = true;
            s.error = None;
            source = s.source.clone();
        });
        RUNTIME.spawn(async move { reload(&core, &store, source).await });
    }

    /// Shows the silences of another source (a name of `silence_sources`).
    pub fn use_source(&self, source: String) {
        self.store.update(|s| {
            s.source = Some(source);
            s.silences.clear();
        });
        self.refresh();
    }

    /// Silences the alerts matching every matcher (`alertname=X`, `job=~"api.*"`) for
    /// `minutes`, with the comment people will read; journaled.
    pub fn add_silence(&self, matchers: Vec<String>, minutes: u32, comment: String) {
        let core = self.core.clone();
        let source = self.store.get().source;
        let length = Duration::from_secs(u64::from(minutes) * 60);
        self.act(
            async move {
                core.silence(source.as_deref(), &matchers, length, &comment)
                    .await
            },
            |s, id| s.last_silence = Some(id),
        );
    }

    /// Ends silence `id` now; journaled.
    pub fn expire_silence(&self, id: String) {
        let core = self.core.clone();
        let source = self.store.get().source;
        self.act(
            async move { core.expire_silence(source.as_deref(), &id).await },
            |_, ()| {},
        );
    }

    /// Writes a Grafana annotation now on `grafana` (null: the only one), org-wide or on a
    /// dashboard and panel; journaled.
    pub fn annotate(&self, grafana: Option<String>, input: AnnotationInput) {
        let core = self.core.clone();
        self.act(
            async move { core.annotate(grafana.as_deref(), &input).await },
            |s, id| s.last_annotation = Some(id),
        );
    }
}

#[uniffi::export]
impl Paaf {
    /// The Alert screen's model: silences (add, expire) and annotations.
    pub fn alert_screen(&self) -> Arc<AlertScreen> {
        AlertScreen::open(self.core.clone())
    }
}
