//! The Tauri application: window, tray, notifications, plugins, and the engine's lifetime.

mod commands;
mod notify;
mod open;
mod tray;

use crosswalk_api::Api;
use std::path::PathBuf;
use std::process::ExitCode;
use tauri::Manager as _;

/// Builds and runs the app; returns when the admin quits.
pub fn run(data_dir: PathBuf, demo: Option<Box<crosswalk_cli::DemoSandbox>>) -> ExitCode {
    let _log_guard =
        match crosswalk_cli::init_file_logging(&crosswalk_api::boot::log_dir(&data_dir), 0) {
            Ok(guard) => Some(guard),
            Err(error) => {
                eprintln!(
                    "warning: cannot write logs to {}: {error}",
                    crosswalk_api::boot::log_dir(&data_dir).display()
                );
                None
            }
        };
    // The engine runs on Tauri's tokio runtime, so schedules keep going with the window closed.
    let api = match tauri::async_runtime::block_on(async {
        crosswalk_api::boot::start(&data_dir, env!("CARGO_PKG_VERSION"), demo.is_some())
    }) {
        Ok(api) => api,
        Err(error) => {
            let user_facing = crosswalk_engine::engine::user_facing_of(&error);
            eprintln!("error: {}", user_facing.message);
            if let Some(fix) = &user_facing.fix {
                eprintln!("fix: {fix}");
            }
            return ExitCode::from(user_facing.code.exit_code());
        }
    };
    tracing::info!(message = "Console starting.", data_dir = %data_dir.display());
    // Subscribed before the window is built: a run due at start-up (a missed nightly sync) can
    // fail within milliseconds, long before `setup` runs, and its notification must not be lost.
    let events = api.engine().subscribe();

    let mut builder = tauri::Builder::default();
    if demo.is_none() {
        // A second launch focuses the running console instead of fighting over the data folder.
        // The demo (own data folder, own window) may run beside it.
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_main_window(app)
        }));
    }
    let app = builder
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .manage(api.clone())
        .invoke_handler(commands::handler())
        .setup(move |app| {
            tray::build(app.handle())?;
            notify::forward_engine_events(app.handle().clone(), api.clone(), events);
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window hides it; the tray's Quit ends the app. Schedules keep running.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == "main" {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            eprintln!("error: the console window could not start: {error}");
            return ExitCode::from(1);
        }
    };
    let _demo = demo;
    app.run(|handle, event| {
        if let tauri::RunEvent::ExitRequested { api, code, .. } = &event {
            // Only an explicit quit (code set) ends the app; closing the last window does not.
            if code.is_none() {
                api.prevent_exit();
            }
        }
        if let tauri::RunEvent::Exit = event {
            let api: tauri::State<'_, Api> = handle.state();
            tauri::async_runtime::block_on(api.scheduler().shutdown());
        }
    });
    ExitCode::SUCCESS
}

/// Shows, unminimises and focuses the console window.
pub(crate) fn show_main_window(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}
