//! Alert: the silences of an Alertmanager (or a Grafana's), the firing alerts to silence, a
//! silence added for a duration with its comment — once the user saw what it mutes and said
//! yes — or expired, and a Grafana annotation written for the people looking at the
//! dashboards.

use super::{Store, shown};
use crate::{Paaf, RUNTIME};
use paaf_core::config::MonitoringKind;
use paaf_core::monitor::alert_list::SourceAlerts;
use paaf_core::monitor::alertmanager::{Silence, SilenceState};
use paaf_core::{AnnotationInput, ErrorInfo};
use std::sync::Arc;
use std::time::Duration;

/// A silence of the source, and whether it can still be ended (an expired one cannot).
#[derive(Debug, Clone, uniffi::Record)]
pub struct SilenceRow {
    pub silence: Silence,
    /// Its matchers as Alertmanager writes them (`alertname="X"`, `instance=~"web-.*"`), for
    /// the app to show as they are.
    pub matchers: Vec<String>,
    pub can_expire: bool,
}

/// The confirmation a silence waits for: what it mutes, for how long, where, and which alerts
/// firing now it would hide.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SilenceAsk {
    /// The source it goes to (named in `question`).
    pub source: Option<String>,
    /// The matchers as entered (sent so once confirmed).
    pub matchers: Vec<String>,
    pub minutes: u32,
    pub comment: String,
    /// How many alerts firing now on the source it matches, and their names (each once).
    pub matching_now: u32,
    pub matching_names: Vec<String>,
    /// "Silence 1 alert firing now on am (http://…) for 30 min?"
    pub question: String,
    /// The call as it will be sent (the matchers as the source reads them) and the comment.
    pub steps: Vec<String>,
    /// Set when it matches no alert firing now (a typo in a matcher?).
    pub warning: Option<String>,
}

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
    pub silences: Vec<SilenceRow>,
    /// A silence waiting for the user's yes (the dialog), none otherwise.
    pub asking: Option<SilenceAsk>,
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

/// Active, pending, expired; newest first within each; each with what can be done to it.
fn ordered(mut silences: Vec<Silence>) -> Vec<SilenceRow> {
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
        .into_iter()
        .map(|silence| SilenceRow {
            can_expire: silence.state != SilenceState::Expired,
            matchers: silence.matchers.iter().map(|m| m.to_string()).collect(),
            silence,
        })
        .collect()
}

/// A silence's length as people say it: "30 min", "4 h", "90 min".
fn spoken(minutes: u32) -> String {
    if minutes >= 60 && minutes.is_multiple_of(60) {
        format!("{} h", minutes / 60)
    } else {
        format!("{minutes} min")
    }
}

/// The confirmation of silencing `matchers` on `source` for `minutes`: the core's plan of the
/// call and the alerts firing now that it would mute, read from the source.
async fn ask(
    core: &paaf_core::Paaf,
    source: Option<String>,
    matchers: Vec<String>,
    minutes: u32,
    comment: String,
) -> paaf_core::Result<SilenceAsk> {
    let length = Duration::from_secs(u64::from(minutes) * 60);
    let plan = core.plan_silence(source.as_deref(), &matchers, length)?;
    let muted = core
        .alerts_silenced_by(source.as_deref(), &matchers)
        .await?;
    let mut names: Vec<String> = muted.iter().map(|a| a.name().to_string()).collect();
    names.sort();
    names.dedup();
    let count = muted.len();
    let alerts = if count == 1 { "alert" } else { "alerts" };
    let question = format!(
        "Silence {count} {alerts} firing now on {} for {}?",
        plan.target,
        spoken(minutes)
    );
    let warning = (count == 0).then(|| {
        "It matches no alert firing now: check the matchers (it still mutes the matching alerts that fire before it ends).".to_string()
    });
    let mut steps = plan.steps;
    steps.push(format!("comment: {comment}"));
    Ok(SilenceAsk {
        source,
        matchers,
        minutes,
        comment,
        matching_now: u32::try_from(count).unwrap_or(u32::MAX),
        matching_names: names,
        question,
        steps,
        warning,
    })
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

    /// Asks the confirmation (`asking`) of silencing the alerts matching every matcher
    /// (`alertname=X`, `job=~"api.*"`) for `minutes`, with the comment people will read: what
    /// it mutes and the alerts firing now that match, read from the source. Bad matchers are
    /// an error, nothing asked.
    pub fn ask_silence(&self, matchers: Vec<String>, minutes: u32, comment: String) {
        let (core, store) = (self.core.clone(), self.store.clone());
        let mut source = None;
        store.update(|s| {
            s.busy = true;
            s.error = None;
            s.asking = None;
            source = s.source.clone();
        });
        RUNTIME.spawn(async move {
            let asked = ask(&core, source, matchers, minutes, comment).await;
            store.update(|s| {
                s.busy = false;
                match asked {
                    Ok(a) => s.asking = Some(a),
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }

    /// The user said no: nothing is silenced.
    pub fn dismiss(&self) {
        self.store.update(|s| s.asking = None);
    }

    /// The user said yes: adds the silence asked, on the source it named; journaled. Then
    /// the silences read again.
    pub fn confirm(&self) {
        let mut asked = None;
        self.store.update(|s| asked = s.asking.take());
        let Some(asked) = asked else {
            return;
        };
        let core = self.core.clone();
        let length = Duration::from_secs(u64::from(asked.minutes) * 60);
        self.act(
            async move {
                core.silence(
                    asked.source.as_deref(),
                    &asked.matchers,
                    length,
                    &asked.comment,
                )
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
