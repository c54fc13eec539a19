// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    #[cfg(target_os = "linux")]
    without_accelerated_compositing();
    paaf_desktop::run();
}

/// WebKitGTK's accelerated compositing costs ~80 MB of idle memory in the app and its web
/// process (tests/bench/desktop.sh, README "Measure": RSS 492 -> 411 MB, USS 216 -> 147 MB) and
/// buys nothing for paaf's lists, forms and 2D-canvas charts; it is also the usual cause of blank
/// WebKitGTK windows on some GPU drivers. So the app turns it off unless the user chose
/// (`WEBKIT_DISABLE_COMPOSITING_MODE=0` turns it back on), or unless a WebDriver session drives
/// the app (tauri-driver sets TAURI_WEBVIEW_AUTOMATION): WebKitWebDriver's screenshots hang
/// without compositing (WebKitGTK 2.50).
#[cfg(target_os = "linux")]
fn without_accelerated_compositing() {
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    let automated = std::env::var("TAURI_WEBVIEW_AUTOMATION").as_deref() == Ok("true");
    if std::env::var_os(VAR).is_none() && !automated {
        // SAFETY: the first statement of main, before any thread exists, so nothing reads the
        // environment concurrently; the WebKit processes the app starts inherit it.
        unsafe { std::env::set_var(VAR, "1") };
    }
}
