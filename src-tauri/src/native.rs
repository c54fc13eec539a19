//! What the webview must not decide alone. A compromised webview (script injected through an
//! alert, a dashboard or a server's answer) can call every command the capability grants, with
//! any confirmation it likes and any fingerprint it shows. So security decisions (trusting or
//! forgetting a host key, running a dangerous runbook) are confirmed here, in a native dialog
//! the webview cannot click, and a link leaves the app only as an http(s) URL for the browser.

use paaf_core::{Error, ErrorInfo};
use tauri::{AppHandle, Manager, Runtime, Url};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

/// Set in a debug build to answer the native dialogs without showing them (`yes` or `no`): the
/// WebDriver tests cannot click a native dialog. A release build ignores it.
pub const ANSWER_ENV: &str = "PAAF_DESKTOP_NATIVE_ANSWER";

/// Who answers the native questions: the person, in a dialog; in a debug build, a fixed answer.
pub enum Confirmer {
    Dialog,
    #[cfg(debug_assertions)]
    Fixed(bool),
}

impl Confirmer {
    /// The dialog, unless a debug build is told otherwise by [`ANSWER_ENV`].
    pub fn from_env() -> Confirmer {
        #[cfg(debug_assertions)]
        match std::env::var(ANSWER_ENV).as_deref() {
            Ok("yes") => return Confirmer::Fixed(true),
            Ok("no") => return Confirmer::Fixed(false),
            _ => {}
        }
        Confirmer::Dialog
    }
}

/// A question for the native dialog; its text is shown as plain text.
pub struct Question {
    pub title: String,
    pub message: String,
    /// The label of the button that says yes.
    pub ok: &'static str,
}

/// Asks `question` in a native dialog over the main window: Ok on its yes button only,
/// else the `confirmation-required` error the core gives an unconfirmed action.
pub async fn confirm<R: Runtime>(app: &AppHandle<R>, question: Question) -> Result<(), ErrorInfo> {
    let yes = match app.state::<Confirmer>().inner() {
        #[cfg(debug_assertions)]
        Confirmer::Fixed(answer) => *answer,
        Confirmer::Dialog => {
            let (answered, answer) = tokio::sync::oneshot::channel();
            let mut dialog = app
                .dialog()
                .message(&question.message)
                .title(&question.title)
                .kind(MessageDialogKind::Warning)
                .buttons(MessageDialogButtons::OkCancelCustom(
                    question.ok.into(),
                    "Cancel".into(),
                ));
            if let Some(window) = app.get_webview_window("main") {
                dialog = dialog.parent(&window);
            }
            dialog.show(move |yes| {
                let _ = answered.send(yes);
            });
            answer.await.unwrap_or(false)
        }
    };
    if yes {
        Ok(())
    } else {
        Err(Error::ConfirmationRequired {
            what: question.title,
            how: "confirm it in the dialog paaf shows".into(),
        }
        .into())
    }
}

/// Where the person wants a file saved, asked in a native save dialog proposing `name`; none
/// when cancelled. A debug build told to answer the dialogs itself (`yes`) saves under the
/// temporary directory, `no` cancels.
pub async fn save_path<R: Runtime>(
    app: &AppHandle<R>,
    name: &str,
) -> Result<Option<std::path::PathBuf>, ErrorInfo> {
    match app.state::<Confirmer>().inner() {
        #[cfg(debug_assertions)]
        Confirmer::Fixed(answer) => Ok(answer.then(|| std::env::temp_dir().join(name))),
        Confirmer::Dialog => {
            let (answered, answer) = tokio::sync::oneshot::channel();
            let mut dialog = app
                .dialog()
                .file()
                .set_file_name(name)
                .add_filter("Markdown", &["md"]);
            if let Some(window) = app.get_webview_window("main") {
                dialog = dialog.set_parent(&window);
            }
            dialog.save_file(move |path| {
                let _ = answered.send(path);
            });
            match answer.await.ok().flatten() {
                None => Ok(None),
                Some(path) => path.into_path().map(Some).map_err(|e| {
                    ErrorInfo::from(Error::Other {
                        reason: format!("the save dialog gave no usable path: {e}"),
                    })
                }),
            }
        }
    }
}

/// `url` if it may be handed to the system browser: an absolute http or https URL with a host.
/// A `javascript:`, `file:`, `data:` or app-internal link (an alert's generatorURL is whatever
/// its sender wrote) is refused.
pub fn browsable(url: &str) -> Result<Url, Error> {
    let refused = |what: String| Error::InvalidInput {
        message: format!("paaf opens only http and https links; {what}"),
    };
    let parsed = Url::parse(url).map_err(|e| refused(format!("this one is not a URL ({e})")))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(parsed),
        "http" | "https" => Err(refused("this one has no host".into())),
        scheme => Err(refused(format!("not `{scheme}:` links"))),
    }
}

#[cfg(test)]
mod tests {
    use super::browsable;

    #[test]
    fn only_absolute_http_and_https_links_are_browsable() {
        for ok in [
            "http://prometheus.internal:9090/graph?g0.expr=up",
            "https://grafana.example.com/d/abc?orgId=1",
            "  https://example.com/  ",
            "HTTPS://EXAMPLE.COM/",
        ] {
            assert!(browsable(ok).is_ok(), "{ok}");
        }
        for refused in [
            "javascript:alert(1)",
            " javascript:fetch('//evil')",
            "JaVaScRiPt:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<script>alert(1)</script>",
            "tauri://localhost/#/journal",
            "ipc://localhost/open_link",
            "vbscript:msgbox",
            "ssh://web-1",
            "/relative/path",
            "//evil.example.com/x",
            "http://",
            "",
        ] {
            let e = browsable(refused).expect_err(refused);
            assert_eq!(e.code(), paaf_core::ErrorCode::InvalidInput, "{refused}");
        }
    }
}
