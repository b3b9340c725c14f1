//! Engine notices to the window (`run:progress`, `run:changed`, `schedules:paused`) and desktop
//! notifications for what happens while nobody is looking (a scheduled run that failed, a client
//! secret about to expire).

use crosswalk_api::dto::{RunChanged, RunProgress};
use crosswalk_api::Api;
use crosswalk_core::{RunStatus, Trigger};
use crosswalk_engine::EngineEvent;
use tauri::{AppHandle, Emitter as _};
use tauri_plugin_notification::NotificationExt as _;

/// Spawns the task that forwards engine events for the life of the app; `events` is subscribed
/// as soon as the engine exists, so events from before the window was built are kept.
pub(super) fn forward_engine_events(
    app: AppHandle,
    api: Api,
    mut events: tokio::sync::broadcast::Receiver<EngineEvent>,
) {
    tauri::async_runtime::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            match event {
                EngineEvent::Progress {
                    run_id,
                    job_name,
                    done,
                    total,
                    message,
                } => {
                    let _ = app.emit(
                        "run:progress",
                        RunProgress {
                            run_id: run_id.0,
                            job_name,
                            done,
                            total,
                            message,
                        },
                    );
                }
                EngineEvent::RunStarted {
                    run_id, job_name, ..
                } => {
                    let _ = app.emit(
                        "run:changed",
                        RunChanged {
                            run_id: run_id.0,
                            job_name,
                            status: RunStatus::Running,
                        },
                    );
                }
                EngineEvent::RunFinished {
                    run_id,
                    job_name,
                    trigger,
                    status,
                    error,
                    ..
                } => {
                    let _ = app.emit(
                        "run:changed",
                        RunChanged {
                            run_id: run_id.0,
                            job_name: job_name.clone(),
                            status,
                        },
                    );
                    let unattended = matches!(trigger, Trigger::Schedule | Trigger::Missed);
                    let bad = matches!(status, RunStatus::Failed | RunStatus::CompletedWithErrors);
                    let wanted = api
                        .get_settings()
                        .map(|s| s.notify_on_failure)
                        .unwrap_or(true);
                    if unattended && bad && wanted {
                        // What went wrong and the fix ("… Fix: …"), not the message alone.
                        let body = match &error {
                            Some(error) => error.to_string(),
                            None => "Some objects failed. Open the run in Crosswalk for details."
                                .to_owned(),
                        };
                        let _ = app
                            .notification()
                            .builder()
                            .title(format!("Crosswalk: {job_name} failed"))
                            .body(body)
                            .show();
                    }
                }
                EngineEvent::SchedulesPaused(paused) => {
                    let _ = app.emit("schedules:paused", paused);
                    super::tray::set_paused(&app, paused);
                }
                EngineEvent::SecretExpiring {
                    connection,
                    threshold,
                    message,
                    fix,
                    ..
                } => {
                    // Once per threshold and secret (the engine remembers), whoever started the
                    // run: a secret about to expire stops every sync that uses the connection.
                    let title = if threshold == 0 {
                        format!("Crosswalk: the client secret of {connection} has expired")
                    } else {
                        format!("Crosswalk: the client secret of {connection} expires soon")
                    };
                    let _ = app
                        .notification()
                        .builder()
                        .title(title)
                        .body(format!("{message} {fix}"))
                        .show();
                }
            }
        }
    });
}
