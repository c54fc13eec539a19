//! The tray icon: the core's [`Overview`] (alerts firing, actions running) and the open
//! incident as an icon colour, a title and a menu, read again every minute, every few seconds
//! while an action runs. Clicking the incident opens the Incident screen, an alert the Alerts
//! screen, an action the Journal. Nothing is decided here: the level, the headline and the
//! order of the alerts come from the core.

use paaf_core::incident::Incident;
use paaf_core::{Overview, OverviewLevel, Paaf};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Emitter, Manager, Runtime};

/// How often the overview is read again; while an action runs, so its end shows soon.
const REFRESH: std::time::Duration = std::time::Duration::from_secs(60);
const REFRESH_WHILE_RUNNING: std::time::Duration = std::time::Duration::from_secs(5);
const TRAY_ID: &str = "paaf";
/// The event the UI follows to another screen (its payload is a hash such as `#/alerts`).
pub const NAVIGATE_EVENT: &str = "navigate";

/// One line of the tray menu, and the screen a click on it opens (a hash: `#/alerts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayLine {
    pub opens: &'static str,
    pub text: String,
}

/// What the tray shows for an overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub level: OverviewLevel,
    /// Beside the icon (where the desktop shows tray titles).
    pub title: String,
    /// The headline, also the first line of the menu.
    pub tooltip: String,
    /// The lines between the headline and "Open paaf" / "Quit".
    pub lines: Vec<TrayLine>,
}

impl TrayView {
    /// The tray for `overview` and the open incident, when there is one (its line first).
    pub fn of(overview: &Overview, incident: Option<&Incident>) -> TrayView {
        let mut lines: Vec<TrayLine> = incident
            .map(|i| TrayLine {
                opens: "#/incident",
                text: format!("Incident {} — {}", i.headline(), i.phase),
            })
            .into_iter()
            .collect();
        lines.extend(overview.top_alerts.iter().map(|a| TrayLine {
            opens: "#/alerts",
            text: match &a.severity {
                Some(sev) => format!("{} [{sev}] — {}", a.name, a.source),
                None => format!("{} — {}", a.name, a.source),
            },
        }));
        let more = overview.firing as usize - overview.top_alerts.len();
        if more > 0 {
            lines.push(TrayLine {
                opens: "#/alerts",
                text: format!("… and {more} more firing"),
            });
        }
        lines.extend(overview.unreadable.iter().map(|u| TrayLine {
            opens: "#/alerts",
            text: format!("unreadable: {u}"),
        }));
        lines.extend(overview.running.iter().map(|a| TrayLine {
            opens: "#/journal",
            text: format!("{} {} — {}", a.kind, a.target, a.state.as_str()),
        }));
        TrayView {
            level: overview.level,
            title: match incident {
                Some(i) => format!("paaf: #{} {} · {}", i.id, i.phase, overview.short),
                None => format!("paaf: {}", overview.short),
            },
            tooltip: overview.headline.clone(),
            lines,
        }
    }
}

/// A filled circle in the level's colour, drawn here: four flat icons do not warrant image
/// decoding (Tauri's `image-png` feature) or files to ship.
pub fn icon(level: OverviewLevel) -> Image<'static> {
    const SIZE: u32 = 32;
    let [r, g, b] = match level {
        OverviewLevel::Critical => [0xd9, 0x2d, 0x20],
        OverviewLevel::Warning => [0xe8, 0xa3, 0x17],
        OverviewLevel::Unknown => [0x80, 0x80, 0x80],
        OverviewLevel::Ok => [0x2e, 0x9e, 0x4f],
    };
    let centre = (SIZE as f32 - 1.0) / 2.0;
    let radius = SIZE as f32 / 2.0 - 1.0;
    let mut rgba = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let d = ((x as f32 - centre).powi(2) + (y as f32 - centre).powi(2)).sqrt();
            // One pixel of anti-aliasing at the edge.
            let alpha = (radius + 0.5 - d).clamp(0.0, 1.0);
            rgba.extend_from_slice(&[r, g, b, (alpha * 255.0) as u8]);
        }
    }
    Image::new_owned(rgba, SIZE, SIZE)
}

fn menu<R: Runtime>(app: &AppHandle<R>, view: &TrayView) -> tauri::Result<Menu<R>> {
    let menu = Menu::new(app)?;
    menu.append(&MenuItem::with_id(
        app,
        "headline",
        &view.tooltip,
        false,
        None::<&str>,
    )?)?;
    if !view.lines.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    for (i, line) in view.lines.iter().enumerate() {
        // The position keeps ids unique; the hash after the colon is where a click goes.
        menu.append(&MenuItem::with_id(
            app,
            format!("{i}:{}", line.opens),
            &line.text,
            true,
            None::<&str>,
        )?)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        "open",
        "Open paaf",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?)?;
    Ok(menu)
}

fn show_main<R: Runtime>(app: &AppHandle<R>, hash: Option<&str>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        if let Some(hash) = hash {
            let _ = window.emit(NAVIGATE_EVENT, hash);
        }
    }
}

/// Builds the tray (an "Unknown" icon until the first read) and starts refreshing it.
pub fn install<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let first = TrayView {
        level: OverviewLevel::Unknown,
        title: "paaf".into(),
        tooltip: "paaf: reading alerts…".into(),
        lines: vec![],
    };
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(first.level))
        .title(&first.title)
        .tooltip(&first.tooltip)
        .menu(&menu(app, &first)?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "quit" => app.exit(0),
            "open" => show_main(app, None),
            id => {
                if let Some((_, hash)) = id.split_once(':') {
                    show_main(app, Some(hash));
                }
            }
        })
        .build(app)?;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut shown: Option<TrayView> = None;
        loop {
            let running = refresh(&app, &mut shown).await;
            tokio::time::sleep(if running {
                REFRESH_WHILE_RUNNING
            } else {
                REFRESH
            })
            .await;
        }
    });
    Ok(())
}

/// Reads the overview again and redraws the tray if what it shows changed; true while an
/// action runs.
async fn refresh<R: Runtime>(app: &AppHandle<R>, shown: &mut Option<TrayView>) -> bool {
    let core = app.state::<Paaf>();
    // An unreadable incident list leaves the incident line out rather than the whole tray.
    let open = core
        .incidents(true, 1)
        .ok()
        .and_then(|l| l.into_iter().next());
    let (view, running) = match core.overview().await {
        Ok(overview) => (
            TrayView::of(&overview, open.as_ref()),
            !overview.running.is_empty(),
        ),
        Err(e) => (
            TrayView {
                level: OverviewLevel::Unknown,
                title: "paaf: ?".into(),
                tooltip: format!("paaf could not read its state: {e}"),
                lines: vec![],
            },
            false,
        ),
    };
    if shown.as_ref() != Some(&view)
        && let Some(tray) = app.tray_by_id(TRAY_ID)
    {
        match redraw(app, &tray, &view) {
            Ok(()) => *shown = Some(view),
            Err(e) => tracing::warn!("tray: {e}"),
        }
    }
    running
}

fn redraw<R: Runtime>(
    app: &AppHandle<R>,
    tray: &TrayIcon<R>,
    view: &TrayView,
) -> tauri::Result<()> {
    tray.set_icon(Some(icon(view.level)))?;
    tray.set_title(Some(&view.title))?;
    tray.set_tooltip(Some(&view.tooltip))?;
    tray.set_menu(Some(menu(app, view)?))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use paaf_core::monitor::alert_list::{AlertView, SourceAlerts};

    fn firing(name: &str, severity: Option<&str>) -> AlertView {
        AlertView {
            source: "am".into(),
            name: name.into(),
            state: "firing".into(),
            severity: severity.map(str::to_string),
            summary: None,
            labels: Default::default(),
            since_ms: Some(1),
            silenced_by: vec![],
            link: None,
        }
    }

    #[test]
    fn the_tray_lists_the_alerts_the_core_ranked_and_counts_the_rest() {
        let alerts = std::iter::once(firing("CheckoutErrors", Some("critical")))
            .chain((0..6).map(|i| firing(&format!("Disk{i}"), None)))
            .collect();
        let source = SourceAlerts {
            source: "am".into(),
            kind: "alertmanager".into(),
            alerts,
            error: None,
        };
        let view = TrayView::of(&Overview::from_parts(&[source], vec![]), None);
        assert_eq!(view.level, OverviewLevel::Critical);
        assert_eq!(view.title, "paaf: 7 firing");
        assert_eq!(view.tooltip, "7 alerts firing (1 critical)");
        assert_eq!(view.lines[0].text, "CheckoutErrors [critical] — am");
        assert_eq!(view.lines[0].opens, "#/alerts");
        assert_eq!(view.lines.len(), 6, "five alerts and the count of the rest");
        assert_eq!(view.lines[5].text, "… and 2 more firing");
    }

    #[test]
    fn the_open_incident_comes_first_in_the_menu_and_in_the_title() {
        let incident = Incident {
            id: 7,
            title: "Checkout errors".into(),
            severity: paaf_core::incident::Severity::Sev2,
            phase: paaf_core::incident::IncidentPhase::Protecting,
            playbook: None,
            alert: None,
            opened_at: Default::default(),
            resolved_at: None,
            operator: "alice".into(),
            frontend: "desktop".into(),
            device: "laptop".into(),
        };
        let source = SourceAlerts {
            source: "am".into(),
            kind: "alertmanager".into(),
            alerts: vec![firing("CheckoutErrors", Some("critical"))],
            error: None,
        };
        let view = TrayView::of(&Overview::from_parts(&[source], vec![]), Some(&incident));
        assert_eq!(view.title, "paaf: #7 protecting · 1 firing");
        assert_eq!(
            view.lines[0],
            TrayLine {
                opens: "#/incident",
                text: "Incident #7 Checkout errors (sev2) — protecting".into()
            }
        );
        assert_eq!(view.lines[1].opens, "#/alerts");
    }

    #[test]
    fn each_level_has_its_own_opaque_round_icon() {
        let levels = [
            OverviewLevel::Critical,
            OverviewLevel::Warning,
            OverviewLevel::Unknown,
            OverviewLevel::Ok,
        ];
        let centres: Vec<Vec<u8>> = levels
            .iter()
            .map(|l| {
                let image = icon(*l);
                assert_eq!((image.width(), image.height()), (32, 32));
                let rgba = image.rgba();
                assert_eq!(rgba[3], 0, "{l:?}: the corner is transparent");
                let centre = ((16 * 32 + 16) * 4) as usize;
                assert_eq!(rgba[centre + 3], 255, "{l:?}: the centre is opaque");
                rgba[centre..centre + 3].to_vec()
            })
            .collect();
        for (i, a) in centres.iter().enumerate() {
            for b in &centres[i + 1..] {
                assert_ne!(a, b, "every level has its own colour");
            }
        }
    }
}
