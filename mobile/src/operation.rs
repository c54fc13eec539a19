//! A long action seen from an app: progress events to a listener the app implements, and a
//! handle that gives the result and cancels the action when cancelled or dropped.

use crate::PaafError;
use paaf_core::power::RebootReport;
use paaf_core::{CancellationToken, Confirmation, ProgressEvent};
use std::sync::Arc;
use tokio::sync::watch;

/// Implemented by the app: receives every step of a long action, in order, on a paaf thread
/// (post to the UI thread from there).
#[uniffi::export(with_foreign)]
pub trait ProgressListener: Send + Sync {
    fn on_progress(&self, event: ProgressEvent);
}

type Outcome = Option<Result<RebootReport, PaafError>>;

/// A verified reboot under way. `result()` waits for its end; `cancel()` — or dropping the
/// handle (Kotlin `close()`, Swift deinit) — stops it: before the reboot command is sent
/// nothing happens to the host; after, paaf stops waiting and reports `cancelled`.
#[derive(uniffi::Object)]
pub struct RebootOperation {
    cancel: CancellationToken,
    outcome: watch::Receiver<Outcome>,
}

impl RebootOperation {
    pub(crate) fn start(
        runtime: &tokio::runtime::Runtime,
        core: Arc<paaf_core::Paaf>,
        name: String,
        confirmation: Confirmation,
        listener: Arc<dyn ProgressListener>,
    ) -> Arc<RebootOperation> {
        let cancel = CancellationToken::new();
        let (tx, outcome) = watch::channel(None);
        let token = cancel.clone();
        let sink = move |event: ProgressEvent| listener.on_progress(event);
        runtime.spawn(async move {
            let result = core
                .reboot(&name, &confirmation, Arc::new(sink), token)
                .await
                .map_err(PaafError::from);
            // Nobody may be waiting (the handle was dropped): the journal has the outcome.
            let _ = tx.send(Some(result));
        });
        Arc::new(RebootOperation { cancel, outcome })
    }
}

#[uniffi::export]
impl RebootOperation {
    /// Waits for the reboot to be verified (or to fail) and returns its report.
    pub async fn result(&self) -> Result<RebootReport, PaafError> {
        let lost = || PaafError::internal("the reboot task stopped without a result".into());
        let mut outcome = self.outcome.clone();
        let done = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| lost())?;
        done.clone().unwrap_or_else(|| Err(lost()))
    }

    /// Stops the reboot (see the type's documentation); `result()` then reports `cancelled`.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// True once the reboot has ended, however it ended.
    pub fn is_finished(&self) -> bool {
        self.outcome.borrow().is_some()
    }
}

impl Drop for RebootOperation {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
