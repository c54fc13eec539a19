//! Protect: the flags of every flag service with search; the kill switch shows the flag's
//! state now and asks a confirmation naming flag, environment and service, then shows the
//! result and offers undo (itself confirmed).

use super::{Store, shown};
use crate::RUNTIME;
use paaf_core::flags::{FlagFilter, FlagState};
use paaf_core::{BackendFlags, Confirmation, ErrorInfo, FlagChange, FlagTarget};
use std::sync::Arc;

/// The confirmation a flag change waits for: what it changes, the state read now, the write.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FlagAsk {
    pub target: FlagTarget,
    /// The state it is set to.
    pub enabled: bool,
    /// Set when this puts back the change journaled as this action (undo).
    pub undo_of: Option<i64>,
    /// "Turn new-checkout OFF in production (unleash `prod`)? It is ON now."
    pub question: String,
    /// The writes, as they will be sent, and how a change made meanwhile is caught.
    pub steps: Vec<String>,
    /// The state read for this confirmation: the change is refused if it is no longer so.
    pub state_now: FlagState,
}

/// What the Protect screen shows.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ProtectState {
    /// A read or a change is under way.
    pub busy: bool,
    /// The search (key, name, description, tag); empty: every flag.
    pub query: String,
    /// Every flag service with its flags matching the search; a service that failed has its
    /// `error`.
    pub services: Vec<BackendFlags>,
    /// A change waiting for the user's yes (the dialog), none otherwise.
    pub asking: Option<FlagAsk>,
    /// The last change made here (its `action_id` is what undo puts back).
    pub last_change: Option<FlagChange>,
    /// The last change can be undone (it was not an undo itself).
    pub can_undo: bool,
    pub error: Option<ErrorInfo>,
}

super::screen_model!(
    ProtectScreen,
    ProtectState,
    ProtectListener,
    "Implemented by the app: receives each new state of the Protect screen on a paaf thread."
);

/// The Protect screen's model.
#[derive(uniffi::Object)]
pub struct ProtectScreen {
    core: Arc<paaf_core::Paaf>,
    store: Arc<Store<ProtectState>>,
}

impl ProtectScreen {
    pub(crate) fn open(core: Arc<paaf_core::Paaf>) -> Arc<Self> {
        let screen = Arc::new(ProtectScreen {
            core,
            store: Store::new(ProtectState::default()),
        });
        screen.refresh();
        screen
    }
}

/// Reads the flags matching `query` into the state.
async fn reload(core: &paaf_core::Paaf, store: &Store<ProtectState>, query: String) {
    let filter = FlagFilter {
        query: (!query.is_empty()).then_some(query),
        ..FlagFilter::default()
    };
    let read = core.flags(None, &filter).await;
    store.update(|s| {
        s.busy = false;
        match read {
            Ok(services) => s.services = services,
            Err(e) => s.error = Some(shown(&e)),
        }
    });
}

/// The confirmation of setting `target` to `enabled` (or of undoing `undo_of`), read now.
async fn ask(
    core: &paaf_core::Paaf,
    target: FlagTarget,
    enabled: bool,
    undo_of: Option<i64>,
) -> paaf_core::Result<FlagAsk> {
    let state_now = core.flag_state(&target).await?;
    let plan = match undo_of {
        Some(id) => core.plan_undo_flag(id).await?,
        None => core.plan_flag(&target, enabled).await?,
    };
    let word = |on: bool| if on { "ON" } else { "OFF" };
    let question = format!(
        "Turn {} {}? It is {} now.",
        plan.target,
        word(enabled),
        word(state_now.enabled)
    );
    Ok(FlagAsk {
        target,
        enabled,
        undo_of,
        question,
        steps: plan.steps,
        state_now,
    })
}

#[uniffi::export]
impl ProtectScreen {
    /// Lists the flags matching `query` (empty: all).
    pub fn search(&self, query: String) {
        self.store.update(|s| s.query = query);
        self.refresh();
    }

    /// Reads the flags of every service again.
    pub fn refresh(&self) {
        let (core, store) = (self.core.clone(), self.store.clone());
        let mut query = String::new();
        store.update(|s| {
            s.busy = true;
            s.error = None;
            query = s.query.clone();
        });
        RUNTIME.spawn(async move { reload(&core, &store, query).await });
    }

    /// The kill switch: reads the flag's state now and asks the confirmation (`asking`).
    pub fn ask_switch(&self, target: FlagTarget, enabled: bool) {
        self.ask(target, enabled, None);
    }

    /// Asks the confirmation of putting the last change back (`asking`).
    pub fn ask_undo(&self) {
        let state = self.store.get();
        let Some(change) = state.last_change.filter(|_| state.can_undo) else {
            self.store.update(|s| {
                s.error = Some(ErrorInfo {
                    code: paaf_core::ErrorCode::InvalidInput,
                    message: "there is no change of this screen to undo".into(),
                    phase: None,
                })
            });
            return;
        };
        let target = FlagTarget {
            backend: Some(change.backend),
            project: change.project,
            key: change.key,
            environment: change.environment,
        };
        self.ask(target, change.was_enabled, Some(change.action_id));
    }

    /// The user said no: nothing changes.
    pub fn dismiss(&self) {
        self.store.update(|s| s.asking = None);
    }

    /// The user said yes: makes the change asked, if the flag is still as shown; then shows
    /// the result and the flags read again.
    pub fn confirm(&self) {
        let Some(asked) = self.store.get().asking else {
            return;
        };
        let (core, store) = (self.core.clone(), self.store.clone());
        store.update(|s| {
            s.asking = None;
            s.busy = true;
            s.error = None;
        });
        RUNTIME.spawn(async move {
            let done = match asked.undo_of {
                Some(id) => core.undo_flag(id, &Confirmation::Yes).await,
                None => {
                    core.set_flag(
                        &asked.target,
                        asked.enabled,
                        &asked.state_now,
                        &Confirmation::Yes,
                    )
                    .await
                }
            };
            let query = store.get().query;
            store.update(|s| match done {
                Ok(change) => {
                    s.last_change = Some(change);
                    s.can_undo = asked.undo_of.is_none();
                }
                Err(e) => s.error = Some(shown(&e)),
            });
            reload(&core, &store, query).await;
        });
    }
}

impl ProtectScreen {
    fn ask(&self, target: FlagTarget, enabled: bool, undo_of: Option<i64>) {
        let (core, store) = (self.core.clone(), self.store.clone());
        store.update(|s| {
            s.busy = true;
            s.error = None;
        });
        RUNTIME.spawn(async move {
            let asked = ask(&core, target, enabled, undo_of).await;
            store.update(|s| {
                s.busy = false;
                match asked {
                    Ok(a) => s.asking = Some(a),
                    Err(e) => s.error = Some(shown(&e)),
                }
            });
        });
    }
}
