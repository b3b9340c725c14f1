//! The scheduler: starts runs when their schedule comes due, catches up on runs missed while the
//! machine slept or the app was closed, and takes "Sync now", cancel and pause requests.
//!
//! Due times are kept in the store (`jobs.next_due_at`) and compared with the wall clock, so a
//! run missed while the process was not running is seen at the next start, and a laptop that
//! slept through a due time runs it on waking (the loop never sleeps longer than [`MAX_SLEEP`]).

use crate::engine::{Engine, RunRequest};
use crate::events::EngineEvent;
use crosswalk_core::{RunId, Trigger};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The longest the loop sleeps before looking at the wall clock again.
pub const MAX_SLEEP: Duration = Duration::from_secs(30);
/// A due time further in the past than this counts as missed (reported as such).
const MISSED_AFTER: time::Duration = time::Duration::minutes(2);
/// Settings key that pauses all schedules (tray "Pause schedules").
pub const PAUSED_SETTING: &str = "schedules_paused";

/// What the scheduler can be asked to do.
#[derive(Debug)]
enum Message {
    RunNow {
        job_name: String,
        trigger: Trigger,
        reply: oneshot::Sender<anyhow::Result<RunId>>,
    },
    RunAll {
        reply: oneshot::Sender<Vec<anyhow::Result<RunId>>>,
    },
    Cancel {
        run_id: RunId,
        reply: oneshot::Sender<bool>,
    },
    ConfigChanged,
    Pause(bool),
    Shutdown,
}

/// Talks to a running scheduler. Cheap to clone.
#[derive(Clone)]
pub struct SchedulerHandle {
    tx: mpsc::Sender<Message>,
    engine: Engine,
}

impl SchedulerHandle {
    /// "Sync now": starts a run of `job_name` whatever its schedule says.
    pub async fn run_now(&self, job_name: &str, trigger: Trigger) -> anyhow::Result<RunId> {
        let (reply, rx) = oneshot::channel();
        self.send(Message::RunNow {
            job_name: job_name.to_owned(),
            trigger,
            reply,
        })
        .await?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the scheduler stopped"))?
    }

    /// Tray "Sync all now": starts every enabled job that is not already running.
    pub async fn run_all(&self) -> anyhow::Result<Vec<anyhow::Result<RunId>>> {
        let (reply, rx) = oneshot::channel();
        self.send(Message::RunAll { reply }).await?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the scheduler stopped"))
    }

    /// Asks a run to stop.
    pub async fn cancel(&self, run_id: RunId) -> anyhow::Result<bool> {
        let (reply, rx) = oneshot::channel();
        self.send(Message::Cancel { run_id, reply }).await?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the scheduler stopped"))
    }

    /// Tells the scheduler jobs or schedules were edited, so due times are recomputed.
    pub async fn config_changed(&self) {
        let _ = self.send(Message::ConfigChanged).await;
    }

    /// Pauses or resumes every schedule (persisted; "Sync now" still works while paused).
    pub async fn pause(&self, paused: bool) -> anyhow::Result<()> {
        self.send(Message::Pause(paused)).await
    }

    /// Stops the loop and cancels running runs.
    pub async fn shutdown(&self) {
        let _ = self.send(Message::Shutdown).await;
    }

    /// The engine the scheduler drives.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    async fn send(&self, message: Message) -> anyhow::Result<()> {
        self.tx
            .send(message)
            .await
            .map_err(|_| anyhow::anyhow!("the scheduler stopped"))
    }
}

/// The scheduler loop.
pub struct Scheduler {
    engine: Engine,
    rx: mpsc::Receiver<Message>,
}

impl Scheduler {
    /// A scheduler for `engine` and the handle to talk to it. Call [`Scheduler::run`] on a task.
    pub fn new(engine: Engine) -> (Scheduler, SchedulerHandle) {
        let (tx, rx) = mpsc::channel(64);
        (
            Scheduler {
                engine: engine.clone(),
                rx,
            },
            SchedulerHandle { tx, engine },
        )
    }

    /// Spawns the loop on the current runtime and returns the handle.
    pub fn spawn(engine: Engine) -> SchedulerHandle {
        let (scheduler, handle) = Scheduler::new(engine);
        tokio::spawn(scheduler.run());
        handle
    }

    /// Runs until shut down (or every handle is dropped).
    pub async fn run(mut self) {
        loop {
            let sleep_for = match self.tick() {
                Ok(sleep_for) => sleep_for,
                Err(error) => {
                    tracing::error!(
                        message = "Scheduler tick failed.",
                        error = format!("{error:#}")
                    );
                    MAX_SLEEP
                }
            };
            let message = tokio::select! {
                () = tokio::time::sleep(sleep_for) => None,
                message = self.rx.recv() => match message {
                    Some(message) => Some(message),
                    None => break,
                },
            };
            match message {
                None | Some(Message::ConfigChanged) => {}
                Some(Message::RunNow {
                    job_name,
                    trigger,
                    reply,
                }) => {
                    let res = self
                        .engine
                        .start(RunRequest {
                            job_name,
                            trigger,
                            dry_run: false,
                        })
                        .map(|run| run.run_id);
                    let _ = reply.send(res);
                }
                Some(Message::RunAll { reply }) => {
                    let _ = reply.send(self.run_all());
                }
                Some(Message::Cancel { run_id, reply }) => {
                    let _ = reply.send(self.engine.cancel(run_id));
                }
                Some(Message::Pause(paused)) => {
                    if let Err(error) = self
                        .engine
                        .services()
                        .store
                        .set_setting(PAUSED_SETTING, &paused)
                    {
                        tracing::error!(message = "Could not save the pause setting.", error = %error);
                    }
                    self.engine.broadcast(EngineEvent::SchedulesPaused(paused));
                }
                Some(Message::Shutdown) => break,
            }
        }
        self.engine.cancel_all();
        tracing::info!(message = "Scheduler stopped.");
    }

    fn run_all(&self) -> Vec<anyhow::Result<RunId>> {
        let jobs = match self.engine.services().store.list_jobs() {
            Ok(jobs) => jobs,
            Err(error) => return vec![Err(error.into())],
        };
        jobs.into_iter()
            .filter(|job| job.config.enabled && !self.engine.is_running(job.id))
            .map(|job| {
                self.engine
                    .start(RunRequest {
                        job_name: job.config.name,
                        trigger: Trigger::SyncNow,
                        dry_run: false,
                    })
                    .map(|run| run.run_id)
            })
            .collect()
    }

    /// Starts every due job and returns how long to sleep until the next one is due.
    fn tick(&self) -> anyhow::Result<Duration> {
        let store = &self.engine.services().store;
        let paused: bool = store.get_setting(PAUSED_SETTING)?.unwrap_or(false);
        let now = self.engine.services().clock.now();
        let mut sleep_for = MAX_SLEEP;
        for job in store.list_jobs()? {
            let Some(interval) = job
                .config
                .schedule
                .interval()
                .filter(|_| job.config.enabled)
            else {
                if job.next_due_at.is_some() {
                    store.set_job_next_due(job.id, None)?;
                }
                continue;
            };
            let Some(due) = job.next_due_at else {
                // Newly scheduled: the first scheduled run is one interval from now ("Sync now"
                // is there for an immediate one).
                store.set_job_next_due(job.id, Some(now + interval))?;
                continue;
            };
            if due > now {
                let until = (due - now).unsigned_abs();
                sleep_for = sleep_for.min(until);
                continue;
            }
            if paused || self.engine.is_running(job.id) {
                continue;
            }
            let trigger = if now - due > MISSED_AFTER {
                Trigger::Missed
            } else {
                Trigger::Schedule
            };
            // Several missed intervals collapse into one catch-up run.
            store.set_job_next_due(job.id, Some(now + interval))?;
            if let Err(error) = self.engine.start(RunRequest {
                job_name: job.config.name.clone(),
                trigger,
                dry_run: false,
            }) {
                tracing::error!(message = "Could not start a scheduled run.", job = %job.config.name, error = format!("{error:#}"));
            }
        }
        Ok(sleep_for.max(Duration::from_millis(50)))
    }
}
