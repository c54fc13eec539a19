//! Overview: the open incident, the firing alerts ranked by the core, the sources that could
//! not be read and the actions not finished yet; pull to refresh; open and resolve the
//! incident.

use super::{Store, Work, shown};
use crate::RUNTIME;
use paaf_core::incident::Incident;
use paaf_core::{ErrorInfo, IncidentInput, Overview};
use std::sync::Arc;

/// What the Overview screen shows.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct OverviewState {
    /// A refresh or an incident change is under way (the spinner); the rest is the last read.
    pub busy: bool,
    /// Alerts ranked, unreadable sources, unfinished actions; none before the first read.
    pub overview: Option<Overview>,
    /// The open incident, if any.
    pub incident: Option<Incident>,
    /// Why the last refresh or incident change failed (what was shown before stays).
    pub error: Option<ErrorInfo>,
}

super::screen_model!(
    OverviewScreen,
    OverviewState,
    OverviewListener,
    "Implemented by the app: receives each new state of the Overview screen on a paaf thread."
);

/// The Overview screen's model.
#[derive(uniffi::Object)]
pub struct OverviewScreen {
    core: Arc<paaf_core::Paaf>,
    store: Arc<Store<OverviewState>>,
}

impl OverviewScreen {
    /// The screen, reading its first state at once.
    pub(crate) fn open(core: Arc<paaf_core::Paaf>) -> Arc<Self> {
        let screen = Arc::new(OverviewScreen {
            core,
            store: Store::new(OverviewState::default()),
        });
        screen.refresh();
        screen
    }

    /// Runs `work` (an incident change, say) then reads the screen again; `busy` meanwhile.
    fn act<F>(&self, work: F)
    where
        F: FnOnce(Arc<paaf_core::Paaf>) -> Work + Send + 'static,
    {
        let (core, store) = (self.core.clone(), self.store.clone());
        store.update(|s| s.busy = true);
        RUNTIME.spawn(async move {
            let done = work(core.clone()).await;
            let overview = core.overview().await;
            let incident = core.incidents(true, 1).map(|mut open| open.pop());
            store.update(|s| {
                s.busy = false;
                s.error = done.err().map(|e| shown(&e));
                match overview {
                    Ok(o) => s.overview = Some(o),
                    Err(e) => s.error = s.error.take().or(Some(shown(&e))),
                }
                match incident {
                    Ok(i) => s.incident = i,
                    Err(e) => s.error = s.error.take().or(Some(shown(&e))),
                }
            });
        });
    }
}

#[uniffi::export]
impl OverviewScreen {
    /// Pull to refresh: reads the alerts, the unfinished actions and the open incident again.
    pub fn refresh(&self) {
        self.act(|_| Box::pin(async { Ok(()) }));
    }

    /// Opens an incident (from a firing alert of the list: `input.alert`); people are told.
    pub fn open_incident(&self, input: IncidentInput) {
        self.act(move |core| Box::pin(async move { core.open_incident(&input).await.map(drop) }));
    }

    /// Resolves the open incident with a closing summary.
    pub fn resolve_incident(&self, summary: String) {
        self.act(move |core| {
            Box::pin(async move { core.resolve_incident(None, &summary).await.map(drop) })
        });
    }
}
