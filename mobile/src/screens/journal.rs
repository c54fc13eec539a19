//! Journal: the actions of every front-end sharing this journal, newest first, filtered by
//! target; a row is its own detail (state, result, error code, operator, device).

use super::{Store, shown};
use paaf_core::ErrorInfo;
use paaf_core::journal::ActionRecord;
use std::sync::Arc;

/// How many rows the screen lists.
const ROWS: usize = 200;

/// What the Journal screen shows.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct JournalState {
    /// Only the actions on this target (a host, a server, a flag, a source); all when null.
    pub target: Option<String>,
    /// Newest first, at most 200.
    pub actions: Vec<ActionRecord>,
    /// The targets of the listed actions, for the filter's choices (all actions when no filter).
    pub targets: Vec<String>,
    pub error: Option<ErrorInfo>,
}

super::screen_model!(
    JournalScreen,
    JournalState,
    JournalListener,
    "Implemented by the app: receives each new state of the Journal screen on a paaf thread."
);

/// The Journal screen's model.
#[derive(uniffi::Object)]
pub struct JournalScreen {
    core: Arc<paaf_core::Paaf>,
    store: Arc<Store<JournalState>>,
}

impl JournalScreen {
    pub(crate) fn open(core: Arc<paaf_core::Paaf>) -> Arc<Self> {
        let screen = Arc::new(JournalScreen {
            core,
            store: Store::new(JournalState::default()),
        });
        screen.refresh();
        screen
    }
}

#[uniffi::export]
impl JournalScreen {
    /// Shows only the actions on `target` (null: all of them).
    pub fn filter(&self, target: Option<String>) {
        self.store.update(|s| s.target = target);
        self.refresh();
    }

    /// Reads the journal again (a local read: no network).
    pub fn refresh(&self) {
        let target = self.store.get().target;
        let listed = self.core.journal(target.as_deref(), ROWS);
        let all_targets = match &target {
            None => None,
            Some(_) => self.core.journal(None, ROWS).ok(),
        };
        self.store.update(|s| match listed {
            Ok(actions) => {
                let mut targets: Vec<String> = all_targets
                    .as_ref()
                    .unwrap_or(&actions)
                    .iter()
                    .map(|a| a.target.clone())
                    .collect();
                targets.sort();
                targets.dedup();
                s.targets = targets;
                s.actions = actions;
                s.error = None;
            }
            Err(e) => s.error = Some(shown(&e)),
        });
    }
}
