//! `paaf://` links handed to the desktop app: a `paaf://intent/…` link (a tapped ntfy button,
//! a link clicked in a browser or chat, the app's own notification) opens its confirmation
//! (IntentConfirm) in the window, brought to the front. The link reaches the app
//! - at start, as an argument (the system's URL handler runs `paaf-desktop %u`: see
//!   [`DESKTOP_ENTRY`], installed by [`register_scheme`]);
//! - while it runs, from a second launch with the link: that launch hands its arguments to the
//!   running instance (tauri-plugin-single-instance) and exits;
//! - from the native notification of a streamed intent, when its action is clicked.
//!
//! Nothing runs from a link: IntentConfirm asks the core, which verifies it, and the person
//! confirms.

use crate::relay_stream::INTENT_EVENT;
use tauri::{AppHandle, Emitter, Manager, Runtime};

/// The freedesktop entry that makes paaf-desktop the `paaf://` handler (`%u`: the link).
pub const DESKTOP_ENTRY: &str = "[Desktop Entry]
Type=Application
Name=paaf
Comment=Incident remote control
Exec=paaf-desktop %u
Icon=paaf
Terminal=false
Categories=Utility;Network;
MimeType=x-scheme-handler/paaf;
";

/// The first `paaf://intent/` link among `args` (a launch's arguments), if any.
pub fn intent_link(args: impl IntoIterator<Item = String>) -> Option<String> {
    args.into_iter()
        .map(|a| a.trim().to_string())
        .find(|a| a.starts_with(paaf_core::intent::URL_PREFIX))
}

/// Hands the `paaf://intent/` link among `args` to the window (the `intent` event opens its
/// confirmation) and brings the window to the front; false when there was none.
pub fn handle<R: Runtime>(app: &AppHandle<R>, args: impl IntoIterator<Item = String>) -> bool {
    let Some(link) = intent_link(args) else {
        return false;
    };
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    if let Err(e) = app.emit(INTENT_EVENT, &link) {
        tracing::warn!("cannot hand the intent link to the window: {e}");
    }
    true
}

/// Makes paaf-desktop the handler of `paaf://` links for this user (Linux, freedesktop):
/// writes `paaf.desktop` into `applications` (`~/.local/share/applications`) with `exec` as
/// the program, and records it as the default for `x-scheme-handler/paaf` in `mimeapps`
/// (`~/.config/mimeapps.list`), keeping the other entries there. A package that installs
/// [`DESKTOP_ENTRY`] system-wide makes this a no-op choice the user can still change.
pub fn register_scheme(
    applications: &std::path::Path,
    mimeapps: &std::path::Path,
    exec: &std::path::Path,
) -> std::io::Result<()> {
    std::fs::create_dir_all(applications)?;
    let quoted = exec.display().to_string().replace('"', "\\\"");
    let entry = DESKTOP_ENTRY.replace("Exec=paaf-desktop", &format!("Exec=\"{quoted}\""));
    std::fs::write(applications.join("paaf.desktop"), entry)?;
    let old = match std::fs::read_to_string(mimeapps) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    if let Some(dir) = mimeapps.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(mimeapps, with_default_handler(&old))
}

/// `mimeapps.list` text with `x-scheme-handler/paaf=paaf.desktop` under
/// `[Default Applications]`, every other line kept.
fn with_default_handler(text: &str) -> String {
    const KEY: &str = "x-scheme-handler/paaf=";
    const LINE: &str = "x-scheme-handler/paaf=paaf.desktop";
    let mut out = Vec::new();
    let mut in_defaults = false;
    let mut written = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            if in_defaults && !written {
                out.push(LINE.to_string());
                written = true;
            }
            in_defaults = trimmed == "[Default Applications]";
        }
        if in_defaults && trimmed.starts_with(KEY) {
            if !written {
                out.push(LINE.to_string());
                written = true;
            }
            continue;
        }
        out.push(line.to_string());
    }
    if !written {
        if !in_defaults {
            out.push("[Default Applications]".to_string());
        }
        out.push(LINE.to_string());
    }
    out.join("\n") + "\n"
}

/// [`register_scheme`] in the user's XDG directories, for the running executable; logged,
/// never fatal (the app works without it, links then open only from its own notifications).
#[cfg(target_os = "linux")]
pub fn register_for_user() {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".local/share")));
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let (Some(data), Some(config), Ok(exe)) = (data, config, std::env::current_exe()) else {
        return;
    };
    if let Err(e) = register_scheme(
        &data.join("applications"),
        &config.join("mimeapps.list"),
        &exe,
    ) {
        tracing::warn!("cannot register paaf:// links with the desktop: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_registered_as_the_paaf_handler_keeping_the_other_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let (apps, mime) = (
            dir.path().join("apps"),
            dir.path().join("cfg/mimeapps.list"),
        );
        std::fs::create_dir_all(mime.parent().unwrap()).unwrap();
        std::fs::write(
            &mime,
            "[Default Applications]\ntext/html=firefox.desktop\nx-scheme-handler/paaf=old.desktop\n[Added Associations]\nimage/png=eog.desktop\n",
        )
        .unwrap();
        register_scheme(&apps, &mime, std::path::Path::new("/opt/paaf/paaf-desktop")).unwrap();
        let entry = std::fs::read_to_string(apps.join("paaf.desktop")).unwrap();
        assert!(entry.contains("MimeType=x-scheme-handler/paaf;"), "{entry}");
        assert!(
            entry.contains("Exec=\"/opt/paaf/paaf-desktop\" %u"),
            "{entry}"
        );
        let list = std::fs::read_to_string(&mime).unwrap();
        assert_eq!(
            list,
            "[Default Applications]\ntext/html=firefox.desktop\nx-scheme-handler/paaf=paaf.desktop\n[Added Associations]\nimage/png=eog.desktop\n"
        );
        // Again, and on a file without the section: one line, in the section.
        register_scheme(&apps, &mime, std::path::Path::new("/opt/paaf/paaf-desktop")).unwrap();
        assert_eq!(std::fs::read_to_string(&mime).unwrap(), list);
        let fresh = dir.path().join("fresh/mimeapps.list");
        register_scheme(&apps, &fresh, std::path::Path::new("/x")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&fresh).unwrap(),
            "[Default Applications]\nx-scheme-handler/paaf=paaf.desktop\n"
        );
    }

    #[test]
    fn only_intent_links_are_taken_from_a_launchs_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            intent_link(args(&["paaf-desktop", "--x", "paaf://intent/abc.def"])).as_deref(),
            Some("paaf://intent/abc.def")
        );
        assert_eq!(
            intent_link(args(&["paaf-desktop", "https://evil/intent"])),
            None
        );
        assert_eq!(intent_link(args(&["paaf://pair/?url=x"])), None);
    }
}
