//! Tap-to-act on the desktop: while this device is paired, the app follows the relay's stream
//! of intents, shows a system notification for each and hands its `paaf://intent/` link to the
//! UI (the `intent` event), which opens its confirmation. Nothing runs without that confirmation.

use paaf_core::Paaf;
use paaf_core::intent::relay_client::IntentNotice;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

/// The UI event carrying an intent's link.
pub const INTENT_EVENT: &str = "intent";
/// How long to wait before following the stream again after it ended or failed, or before
/// looking again for a pairing.
const RETRY: Duration = Duration::from_secs(15);

/// Follows the paired relay's stream for as long as the app runs, resuming after the last
/// intent seen when the stream drops.
pub fn follow<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let mut last: Option<String> = None;
        loop {
            let paaf = app.state::<Paaf>();
            if matches!(paaf.relay_pairing(), Ok(Some(_))) {
                let followed = paaf
                    .relay_listen(last.clone().as_deref(), |id, notice| {
                        last = Some(id.to_string());
                        announce(&app, &notice);
                        true
                    })
                    .await;
                if let Err(e) = followed {
                    tracing::warn!("the relay's intent stream: {e}");
                }
            }
            tokio::time::sleep(RETRY).await;
        }
    });
}

/// Shows the notification and hands the link to the UI.
fn announce<R: Runtime>(app: &AppHandle<R>, notice: &IntentNotice) {
    let (title, body) = notification_text(notice);
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!("cannot show the intent notification: {e}");
    }
    if let Err(e) = app.emit(INTENT_EVENT, &notice.url) {
        tracing::warn!("cannot hand the intent to the window: {e}");
    }
}

/// The notification's title and body: the alert, then the action the relay asks for. These
/// are the relay's words; the confirmation shows what this device's own playbook will run.
pub fn notification_text(notice: &IntentNotice) -> (String, String) {
    (
        format!("{} firing ({})", notice.alert, notice.playbook),
        format!(
            "{} {}: open paaf to confirm or dismiss",
            notice.kind, notice.target
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notification_names_the_alert_and_the_action_and_never_the_link() {
        let notice = IntentNotice {
            id: "i-1".into(),
            url: "paaf://intent/eyJ2IjoxfQ.c2ln".into(),
            alert: "CheckoutErrors".into(),
            playbook: "checkout".into(),
            kind: "flag-off".into(),
            target: "new-checkout".into(),
            expires_at_ms: 0,
        };
        let (title, body) = notification_text(&notice);
        assert_eq!(title, "CheckoutErrors firing (checkout)");
        assert_eq!(
            body,
            "flag-off new-checkout: open paaf to confirm or dismiss"
        );
        assert!(!body.contains("paaf://") && !title.contains("paaf://"));
    }
}
