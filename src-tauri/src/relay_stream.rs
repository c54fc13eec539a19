//! Tap-to-act on the desktop: while this device is paired, the app follows the relay's stream
//! of intents, shows a system notification for each and hands its `paaf://intent/` link to the
//! UI (the `intent` event), which opens its confirmation. On Linux the notification carries the
//! intent's action as a button ("Review flag-off new-checkout@production"); clicking it (or the
//! notification) brings the window forward on that intent's confirmation
//! ([`crate::deep_link::handle`]). Nothing runs without that confirmation.

use paaf_core::Paaf;
use paaf_core::intent::relay_client::IntentNotice;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, Runtime};
#[cfg(not(target_os = "linux"))]
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
    if let Err(e) = notify(app, notice) {
        tracing::warn!("cannot show the intent notification: {e}");
    }
    if let Err(e) = app.emit(INTENT_EVENT, &notice.url) {
        tracing::warn!("cannot hand the intent to the window: {e}");
    }
}

/// The notification's action that opens the intent's confirmation.
pub const REVIEW_ACTION: &str = "review";

/// The buttons of an intent's notification: (identifier, label). `default` is a click on the
/// notification itself.
pub fn notification_actions(notice: &IntentNotice) -> Vec<(&'static str, String)> {
    vec![
        ("default", "Open in paaf".to_string()),
        (
            REVIEW_ACTION,
            format!("Review {} {}", notice.kind, notice.target),
        ),
    ]
}

/// What a click on the notification of intent `link` does: `default` or [`REVIEW_ACTION`]
/// open its confirmation in the window (true); anything else (closed, dismissed) nothing.
pub fn on_notification_action<R: Runtime>(app: &AppHandle<R>, action: &str, link: &str) -> bool {
    match action {
        "default" | REVIEW_ACTION => crate::deep_link::handle(app, [link.to_string()]),
        _ => false,
    }
}

/// Linux: a freedesktop notification with the intent's buttons, its click waited for on a
/// thread of its own.
#[cfg(target_os = "linux")]
fn notify<R: Runtime>(app: &AppHandle<R>, notice: &IntentNotice) -> Result<(), String> {
    let (title, body) = notification_text(notice);
    let mut notification = notify_rust::Notification::new();
    notification.appname("paaf").summary(&title).body(&body);
    for (id, label) in notification_actions(notice) {
        notification.action(id, &label);
    }
    let shown = notification.show().map_err(|e| e.to_string())?;
    let (app, link) = (app.clone(), notice.url.clone());
    std::thread::Builder::new()
        .name("paaf-intent-notification".into())
        .spawn(move || {
            shown.wait_for_action(|action| {
                on_notification_action(&app, action, &link);
            })
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Elsewhere: the notification plugin's (no buttons there; the window already has the intent).
#[cfg(not(target_os = "linux"))]
fn notify<R: Runtime>(app: &AppHandle<R>, notice: &IntentNotice) -> Result<(), String> {
    let (title, body) = notification_text(notice);
    app.notification()
        .builder()
        .title(title)
        .body(body)
        .show()
        .map_err(|e| e.to_string())
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
        let actions = notification_actions(&notice);
        assert_eq!(
            actions,
            [
                ("default", "Open in paaf".to_string()),
                (REVIEW_ACTION, "Review flag-off new-checkout".to_string())
            ]
        );
        assert!(actions.iter().all(|(_, label)| !label.contains("paaf://")));
    }
}
