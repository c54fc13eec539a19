//! Screen models: each screen of the phone apps as a state record, the user's intents as
//! methods and a listener that receives every new state, so the Compose and SwiftUI apps only
//! render (the approach of redbadger/crux and of matrix-rust-sdk's view models). Everything a
//! screen decides — what to ask before acting, what to show while it runs, what went wrong —
//! is here, where it is tested against the real peers; an intent returns at once and its
//! work runs on the library's runtime, each step reaching the listeners as a new state.

mod alert;
mod analyze;
#[cfg(test)]
mod bench;
mod fix;
mod journal;
mod onboarding;
mod overview;
mod protect;

pub use alert::{AlertListener, AlertScreen, AlertState, SilenceAsk, SilenceRow};
pub use analyze::{
    AnalyzeListener, AnalyzeScreen, AnalyzeState, OpenDashboard, PanelView, QuickQuery, RangeChoice,
};
pub use fix::{
    CommandAsk, CommandKind, CommandRun, FixListener, FixScreen, FixState, HostRunbooks, Machine,
    MachineAction, MachineKind, MachineMetric, PowerAsk, PowerRun,
};
pub use journal::{JournalListener, JournalScreen, JournalState};
pub use onboarding::{
    ConfigStage, HostKeyAsk, OnboardingListener, OnboardingScreen, OnboardingState,
};
pub use overview::{OverviewListener, OverviewScreen, OverviewState};
pub use protect::{FlagAsk, ProtectListener, ProtectScreen, ProtectState};

use paaf_core::ErrorInfo;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Declares a screen's listener (`$listener`, the trait the app implements, documented
/// `$doc`) and exports the `state()` and `subscribe()` every screen has, read from the
/// screen's `store` field: a new screen only writes its state, its intents and this line.
macro_rules! screen_model {
    ($screen:ident, $state:ty, $listener:ident, $doc:literal) => {
        #[doc = $doc]
        #[uniffi::export(with_foreign)]
        pub trait $listener: Send + Sync {
            /// May throw: paaf drops the exception and goes on delivering each new state.
            fn on_state(&self, state: $state) -> Result<(), $crate::PaafError>;
        }

        #[uniffi::export]
        impl $screen {
            /// The state now.
            pub fn state(&self) -> $state {
                self.store.get()
            }

            /// Adds a listener: it gets the state now, then each new one.
            pub fn subscribe(
                &self,
                listener: std::sync::Arc<dyn $listener>,
            ) -> std::sync::Arc<$crate::screens::Subscription> {
                self.store.subscribe(std::sync::Arc::new(move |s| {
                    $crate::screens::heard(listener.on_state(s))
                }))
            }
        }
    };
}
pub(crate) use screen_model;

/// What paaf does with an error an app's listener threw (any listener: a screen's, a long
/// action's progress): nothing. The listener keeps its subscription, the other listeners and
/// the action go on. A listener is foreign code; its exception must not stop paaf's delivery
/// thread or the action whose progress it was shown — a listener whose method returned
/// nothing made uniffi panic on such an exception ("Callback interface failure"), which
/// aborts the phone app (`panic = "abort"`) and, where panics unwind, killed the thread.
pub(crate) fn heard(outcome: Result<(), crate::PaafError>) {
    // The app's own bug, in the app's own code: it has the exception; nothing here to add.
    let _ = outcome;
}

/// What a screen shows of a failed call: its code (the app shows the code's advice) and
/// reason.
pub(crate) fn shown(e: &paaf_core::Error) -> ErrorInfo {
    ErrorInfo::from(e)
}

/// A screen's work on the runtime, boxed (the intents' closures return it).
pub(crate) type Work =
    std::pin::Pin<Box<dyn std::future::Future<Output = paaf_core::Result<()>> + Send>>;

type Deliver<S> = Arc<dyn Fn(S) + Send + Sync>;

enum Message<S> {
    State(S),
    Subscribe(u64, Deliver<S>),
    Unsubscribe(u64),
}

/// A screen's current state and its listeners. Every change goes, in order, to a delivery
/// thread of the screen that calls each listener (foreign code, which may block, never runs
/// on the runtime's workers nor under the state's lock); a new listener first gets the
/// state as it is then.
pub(crate) struct Store<S> {
    state: Mutex<S>,
    deliveries: mpsc::Sender<Message<S>>,
    next_id: AtomicU64,
}

impl<S: Clone + Send + 'static> Store<S> {
    pub(crate) fn new(initial: S) -> Arc<Self> {
        let (deliveries, inbox) = mpsc::channel::<Message<S>>();
        let mut latest = initial.clone();
        // Ends once the store and every subscription are gone (the channel closes).
        let started = std::thread::Builder::new()
            .name("paaf-screen".into())
            .spawn(move || {
                let mut listeners: BTreeMap<u64, Deliver<S>> = BTreeMap::new();
                while let Ok(message) = inbox.recv() {
                    match message {
                        Message::State(state) => {
                            for deliver in listeners.values() {
                                deliver(state.clone());
                            }
                            latest = state;
                        }
                        Message::Subscribe(id, deliver) => {
                            deliver(latest.clone());
                            listeners.insert(id, deliver);
                        }
                        Message::Unsubscribe(id) => {
                            listeners.remove(&id);
                        }
                    }
                }
            });
        if let Err(e) = started {
            // Without the thread no listener hears anything; the state still reads.
            eprintln!("paaf: could not start a screen's delivery thread: {e}");
        }
        Arc::new(Store {
            state: Mutex::new(initial),
            deliveries,
            next_id: AtomicU64::new(1),
        })
    }

    /// The state now.
    pub(crate) fn get(&self) -> S {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Changes the state and sends the new one to the listeners (in the order of changes:
    /// it is queued under the lock).
    pub(crate) fn update(&self, change: impl FnOnce(&mut S)) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut state);
        // A closed channel: nobody can be listening any more.
        let _ = self.deliveries.send(Message::State(state.clone()));
    }

    /// Adds a listener; it gets the state now, then each new one, until the subscription
    /// is cancelled or dropped.
    pub(crate) fn subscribe(&self, deliver: Deliver<S>) -> Arc<Subscription> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let _ = self.deliveries.send(Message::Subscribe(id, deliver));
        let deliveries = Mutex::new(Some(self.deliveries.clone()));
        Arc::new(Subscription {
            stop: Box::new(move || {
                if let Some(sender) = deliveries.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    let _ = sender.send(Message::Unsubscribe(id));
                }
            }),
        })
    }
}

/// A listener's registration with a screen: it hears new states until `cancel()` or until
/// this handle is released (Kotlin `close()`, Swift deinit).
#[derive(uniffi::Object)]
pub struct Subscription {
    stop: Box<dyn Fn() + Send + Sync>,
}

#[uniffi::export]
impl Subscription {
    /// Stops the listener hearing new states (a state being delivered still arrives).
    pub fn cancel(&self) {
        (self.stop)();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        (self.stop)();
    }
}
