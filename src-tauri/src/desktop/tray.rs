//! The tray icon: open the console, sync everything now, pause schedules, quit.

use crosswalk_api::Api;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager as _, Wry};

/// Builds the tray icon and its menu.
pub(super) fn build(app: &AppHandle) -> tauri::Result<()> {
    let api: tauri::State<'_, Api> = app.state();
    let paused = api
        .get_settings()
        .map(|s| s.schedules_paused)
        .unwrap_or(false);
    let open = MenuItem::with_id(app, "open", "Open Crosswalk", true, None::<&str>)?;
    let sync_all = MenuItem::with_id(app, "sync-all", "Sync all now", true, None::<&str>)?;
    let pause =
        CheckMenuItem::with_id(app, "pause", "Pause schedules", true, paused, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Crosswalk", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &open,
            &sync_all,
            &pause,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("Crosswalk")
        .menu(&menu)
        .on_menu_event(on_menu_event);
    if let Some(icon) = app.default_window_icon().cloned() {
        tray = tray.icon(icon);
    }
    if let Err(error) = tray.build(app) {
        // No tray host (some desktops): the window still works, closing it just hides it.
        tracing::warn!(message = "Tray icon unavailable.", error = %error);
    }
    app.manage(PauseItem(pause));
    Ok(())
}

struct PauseItem(CheckMenuItem<Wry>);

/// Keeps the tray's check mark in step when pausing happens elsewhere (Settings screen).
pub(super) fn set_paused(app: &AppHandle, paused: bool) {
    if let Some(item) = app.try_state::<PauseItem>() {
        let _ = item.0.set_checked(paused);
    }
}

fn on_menu_event(app: &AppHandle, event: tauri::menu::MenuEvent) {
    let api: Api = app.state::<Api>().inner().clone();
    match event.id().as_ref() {
        "open" => super::show_main_window(app),
        "sync-all" => {
            tauri::async_runtime::spawn(async move {
                if let Err(error) = api.scheduler().run_all().await {
                    tracing::error!(message = "Sync all failed.", error = format!("{error:#}"));
                }
            });
        }
        "pause" => {
            tauri::async_runtime::spawn(async move {
                let paused = api
                    .get_settings()
                    .map(|s| s.schedules_paused)
                    .unwrap_or(false);
                if let Err(error) = api.scheduler().pause(!paused).await {
                    tracing::error!(
                        message = "Pausing schedules failed.",
                        error = format!("{error:#}")
                    );
                }
            });
        }
        "quit" => app.exit(0),
        _ => {}
    }
}
