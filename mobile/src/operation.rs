//! A long action seen from an app: progress to a listener the app implements, and a handle
//! that gives the result and cancels the action when cancelled or dropped. [`Operation`] is
//! that pattern once; each exported handle ([`RebootOperation`], [`ServerPowerOperation`],
//! [`crate::FanOutOperation`]) wraps it for one result type, as uniffi objects cannot be
//! generic.

use crate::PaafError;
use crate::screens::heard;
use paaf_core::incident::steps::{RunPlan, RunReport, StepEvent};
use paaf_core::power::RebootReport;
use paaf_core::{CancellationToken, Confirmation, ProgressEvent};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::watch;

/// Implemented by the app: receives every step of a long action, in order, on a paaf thread
/// (post to the UI thread from there).
#[uniffi::export(with_foreign)]
pub trait ProgressListener: Send + Sync {
    /// May throw: paaf drops the exception and the reboot goes on.
    fn on_progress(&self, event: ProgressEvent) -> Result<(), PaafError>;
}

/// An action running on the library's runtime: its outcome once it ends, and the token that
/// stops it (fired on drop too, so an abandoned handle never leaves the action running).
pub(crate) struct Operation<T> {
    pub(crate) cancel: CancellationToken,
    outcome: watch::Receiver<Option<Result<T, PaafError>>>,
}

impl<T: Clone + Send + Sync + 'static> Operation<T> {
    pub(crate) fn start<F, Fut>(runtime: &tokio::runtime::Runtime, work: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = paaf_core::Result<T>> + Send + 'static,
    {
        let cancel = CancellationToken::new();
        let (tx, outcome) = watch::channel(None);
        let running = work(cancel.clone());
        runtime.spawn(async move {
            // Nobody may be waiting (the handle was dropped): the journal has the outcome.
            let _ = tx.send(Some(running.await.map_err(PaafError::from)));
        });
        Operation { cancel, outcome }
    }

    pub(crate) async fn result(&self, what: &str) -> Result<T, PaafError> {
        let lost = || PaafError::internal(format!("the {what} task stopped without a result"));
        let mut outcome = self.outcome.clone();
        let done = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| lost())?;
        done.clone().unwrap_or_else(|| Err(lost()))
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.outcome.borrow().is_some()
    }
}

impl<T> Drop for Operation<T> {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// A verified reboot under way. `result()` waits for its end; `cancel()` — or dropping the
/// handle (Kotlin `close()`, Swift deinit) — stops it: before the reboot command is sent
/// nothing happens to the host; after, paaf stops waiting and reports `cancelled`.
#[derive(uniffi::Object)]
pub struct RebootOperation(Operation<RebootReport>);

impl RebootOperation {
    pub(crate) fn start(
        runtime: &tokio::runtime::Runtime,
        core: Arc<paaf_core::Paaf>,
        name: String,
        confirmation: Confirmation,
        listener: Arc<dyn ProgressListener>,
    ) -> Arc<RebootOperation> {
        let sink = move |event: ProgressEvent| heard(listener.on_progress(event));
        Arc::new(RebootOperation(Operation::start(
            runtime,
            |token| async move {
                core.reboot(&name, &confirmation, Arc::new(sink), token)
                    .await
            },
        )))
    }
}

#[uniffi::export]
impl RebootOperation {
    /// Waits for the reboot to be verified (or to fail) and returns its report.
    pub async fn result(&self) -> Result<RebootReport, PaafError> {
        self.0.result("reboot").await
    }

    /// Stops the reboot (see the type's documentation); `result()` then reports `cancelled`.
    pub fn cancel(&self) {
        self.0.cancel.cancel();
    }

    /// True once the reboot has ended, however it ended.
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

/// Implemented by the app: receives each step's start, progress and end while an incident's
/// Protect or Stand down runs, in order, on a paaf thread (post to the UI thread from there).
#[uniffi::export(with_foreign)]
pub trait StepListener: Send + Sync {
    /// May throw: paaf drops the exception and the run goes on.
    fn on_step(&self, event: StepEvent) -> Result<(), PaafError>;
}

/// Which run of an incident's plan [`RunOperation::start`] starts.
pub(crate) enum RunRequest {
    Protect(RunPlan, Confirmation),
    StandDown(RunPlan, Confirmation),
}

/// An incident's Protect or Stand down under way. `result()` waits for its report; `cancel()`
/// — or dropping the handle — stops the run (and the wait for a running reboot or server).
#[derive(uniffi::Object)]
pub struct RunOperation(Operation<RunReport>);

impl RunOperation {
    pub(crate) fn start(
        runtime: &tokio::runtime::Runtime,
        core: Arc<paaf_core::Paaf>,
        request: RunRequest,
        listener: Arc<dyn StepListener>,
    ) -> Arc<RunOperation> {
        let sink = Arc::new(move |event: StepEvent| heard(listener.on_step(event)));
        Arc::new(RunOperation(Operation::start(
            runtime,
            |token| async move {
                match request {
                    RunRequest::Protect(plan, confirm) => {
                        core.protect(&plan, &confirm, sink, token).await
                    }
                    RunRequest::StandDown(plan, confirm) => {
                        core.stand_down(&plan, &confirm, sink, token).await
                    }
                }
            },
        )))
    }
}

#[uniffi::export]
impl RunOperation {
    /// Waits for the run to end and returns its report, step by step.
    pub async fn result(&self) -> Result<RunReport, PaafError> {
        self.0.result("incident run").await
    }

    /// Stops the run: steps not started are not run.
    pub fn cancel(&self) {
        self.0.cancel.cancel();
    }

    /// True once the run has ended, however it ended.
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

#[cfg(feature = "cloud")]
pub(crate) use cloud::PowerRequest;
#[cfg(feature = "cloud")]
pub use cloud::{ServerPowerListener, ServerPowerOperation};

#[cfg(feature = "cloud")]
mod cloud {
    use super::Operation;
    use crate::PaafError;
    use crate::screens::heard;
    use paaf_core::cloud::{PowerAction, PowerOutcome};
    use paaf_core::{Confirmation, ServerProgress};
    use std::sync::Arc;

    /// Implemented by the app: receives every read of the server while a power action waits
    /// for its final state, in order, on a paaf thread (post to the UI thread from there).
    #[uniffi::export(with_foreign)]
    pub trait ServerPowerListener: Send + Sync {
        /// May throw: paaf drops the exception and the action goes on.
        fn on_progress(&self, progress: ServerProgress) -> Result<(), PaafError>;
    }

    /// Which server, what to do: what [`ServerPowerOperation::start`] needs.
    pub(crate) struct PowerRequest {
        pub account: Option<String>,
        pub server: String,
        pub action: PowerAction,
        pub confirmation: Confirmation,
    }

    /// A power action on a cloud server under way. `result()` waits until the provider reports
    /// the final state; `cancel()` — or dropping the handle — stops waiting (the provider may
    /// still carry the action out) and `result()` reports `cancelled`.
    #[derive(uniffi::Object)]
    pub struct ServerPowerOperation(Operation<PowerOutcome>);

    impl ServerPowerOperation {
        pub(crate) fn start(
            runtime: &tokio::runtime::Runtime,
            core: Arc<paaf_core::Paaf>,
            request: PowerRequest,
            listener: Arc<dyn ServerPowerListener>,
        ) -> Arc<ServerPowerOperation> {
            let PowerRequest {
                account,
                server,
                action,
                confirmation,
            } = request;
            Arc::new(ServerPowerOperation(Operation::start(
                runtime,
                |token| async move {
                    core.server_power(
                        account.as_deref(),
                        &server,
                        action,
                        &confirmation,
                        token,
                        |p: &ServerProgress| heard(listener.on_progress(p.clone())),
                    )
                    .await
                },
            )))
        }
    }

    #[uniffi::export]
    impl ServerPowerOperation {
        /// Waits until the server is in the action's final state (or the action failed).
        pub async fn result(&self) -> Result<PowerOutcome, PaafError> {
            self.0.result("power action").await
        }

        /// Stops waiting (see the type's documentation).
        pub fn cancel(&self) {
            self.0.cancel.cancel();
        }

        /// True once the action has ended, however it ended.
        pub fn is_finished(&self) -> bool {
            self.0.is_finished()
        }
    }
}
