//! Starting, watching and cancelling runs: at most one run per job at a time, every run recorded.

use crate::context::{RunContext, RunOutcome};
use crate::events::EngineEvent;
use crate::kind::Registry;
use crate::services::Services;
use anyhow::Context as _;
use crosswalk_core::{Code, JobId, RunId, RunStatus, Trigger, UserFacing};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

/// A run to start.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub job_name: String,
    pub trigger: Trigger,
    pub dry_run: bool,
}

/// A run that has started; `finished` resolves with its final status.
pub struct StartedRun {
    pub run_id: RunId,
    pub job_id: JobId,
    pub finished: oneshot::Receiver<RunStatus>,
}

struct ActiveRun {
    run_id: RunId,
    cancel: CancellationToken,
}

struct Inner {
    services: Services,
    registry: Registry,
    events: broadcast::Sender<EngineEvent>,
    active: Mutex<HashMap<JobId, ActiveRun>>,
}

/// Runs jobs. Cheap to clone; all clones share the same runs.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// An engine over `services` that knows the job kinds in `registry`.
    ///
    /// Runs left `running` by a process that died are marked `interrupted` here, once.
    pub fn new(services: Services, registry: Registry) -> anyhow::Result<Engine> {
        let now = services.clock.now();
        let interrupted = services
            .store
            .mark_interrupted_runs(now)
            .context("marking runs of a previous process as interrupted")?;
        if !interrupted.is_empty() {
            tracing::warn!(
                message = "Runs of a previous process were interrupted.",
                count = interrupted.len()
            );
        }
        let (events, _) = broadcast::channel(1024);
        Ok(Engine {
            inner: Arc::new(Inner {
                services,
                registry,
                events,
                active: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The shared services (store, secrets, clock).
    pub fn services(&self) -> &Services {
        &self.inner.services
    }

    /// The registered job kinds.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Subscribes to run notices (progress, started, finished).
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    pub(crate) fn broadcast(&self, event: EngineEvent) {
        let _ = self.inner.events.send(event);
    }

    /// True while a run of `job_id` is going in this process.
    pub fn is_running(&self, job_id: JobId) -> bool {
        self.active().contains_key(&job_id)
    }

    /// Ids of runs going now.
    pub fn running(&self) -> Vec<(JobId, RunId)> {
        self.active()
            .iter()
            .map(|(job, run)| (*job, run.run_id))
            .collect()
    }

    /// Asks a run to stop; returns false when no such run is going.
    pub fn cancel(&self, run_id: RunId) -> bool {
        let active = self.active();
        match active.values().find(|run| run.run_id == run_id) {
            Some(run) => {
                run.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Asks every run to stop (quit, shutdown).
    pub fn cancel_all(&self) {
        self.active().values().for_each(|run| run.cancel.cancel());
    }

    /// Starts a run of a job on the current tokio runtime.
    ///
    /// # Errors
    /// A `UserFacing` error when the job does not exist, its kind is unknown, or a run of it is
    /// already going (at most one run per job at a time).
    pub fn start(&self, request: RunRequest) -> anyhow::Result<StartedRun> {
        let services = &self.inner.services;
        let job = services.store.find_job(&request.job_name)?.ok_or_else(|| {
            UserFacing::new(
                Code::NotFound,
                format!("There is no job named \"{}\".", request.job_name),
            )
            .with_fix(
                "Run `crosswalk config export` or open Jobs in the console to see the job names.",
            )
        })?;
        let kind = self.inner.registry.get(&job.config.kind).ok_or_else(|| {
            UserFacing::new(
                Code::Validation,
                format!(
                    "Job \"{}\" has kind \"{}\", which this version of Crosswalk does not know.",
                    job.config.name, job.config.kind
                ),
            )
            .with_fix(format!(
                "Use one of: {}.",
                self.inner.registry.words().join(", ")
            ))
        })?;
        let cancel = CancellationToken::new();
        let run_id = {
            let mut active = self.active();
            if let Some(run) = active.get(&job.id) {
                return Err(UserFacing::new(
                    Code::Conflict,
                    format!(
                        "Job \"{}\" is already running (run {}).",
                        job.config.name, run.run_id
                    ),
                )
                .with_fix("Wait for it to finish or cancel it first.")
                .into());
            }
            let run_id = services.store.start_run(
                job.id,
                request.trigger,
                request.dry_run,
                services.clock.now(),
            )?;
            active.insert(
                job.id,
                ActiveRun {
                    run_id,
                    cancel: cancel.clone(),
                },
            );
            run_id
        };
        let identity = crate::context::RunIdentity {
            run_id,
            job_id: job.id,
            job: job.config.clone(),
            trigger: request.trigger,
            dry_run: request.dry_run,
        };
        let ctx = RunContext::new(
            identity,
            services.clone(),
            cancel.clone(),
            self.inner.events.clone(),
        );
        self.broadcast(EngineEvent::RunStarted {
            run_id,
            job_id: job.id,
            job_name: job.config.name.clone(),
            trigger: request.trigger,
            dry_run: request.dry_run,
        });
        tracing::info!(message = "Run started.", %run_id, job = %job.config.name, trigger = request.trigger.as_str(), dry_run = request.dry_run);

        let (finished_tx, finished) = oneshot::channel();
        let engine = self.clone();
        tokio::spawn(async move {
            // The job runs in its own task so a panic is caught as a JoinError instead of
            // taking the runner (and the scheduler) down with it.
            let mut work = tokio::spawn(kind.run(ctx.clone()));
            let res = tokio::select! {
                res = &mut work => match res {
                    Ok(res) => Outcome::Done(res),
                    Err(join_error) if join_error.is_panic() => Outcome::Panicked(panic_message(join_error)),
                    Err(_) => Outcome::Cancelled,
                },
                () = cancel.cancelled() => {
                    work.abort();
                    Outcome::Cancelled
                }
            };
            let status = engine.finish(&ctx, res);
            let _ = finished_tx.send(status);
        });
        Ok(StartedRun {
            run_id,
            job_id: job.id,
            finished,
        })
    }

    /// Starts a run and waits for it to end.
    pub async fn run_to_end(&self, request: RunRequest) -> anyhow::Result<(RunId, RunStatus)> {
        let started = self.start(request)?;
        let status = started.finished.await.unwrap_or(RunStatus::Interrupted);
        Ok((started.run_id, status))
    }

    fn finish(&self, ctx: &RunContext, outcome: Outcome) -> RunStatus {
        ctx.flush_progress();
        ctx.flush_events();
        let services = &self.inner.services;
        let mut counts = ctx.counts();
        let (status, error) = match outcome {
            Outcome::Done(Ok(RunOutcome { counts: reported })) => {
                for (kind, reported) in reported {
                    counts.insert(kind, reported);
                }
                let failed = counts.values().any(|c| c.failed > 0);
                (
                    if failed {
                        RunStatus::CompletedWithErrors
                    } else {
                        RunStatus::Succeeded
                    },
                    None,
                )
            }
            Outcome::Done(Err(error)) => {
                tracing::error!(message = "Run failed.", run_id = %ctx.run_id, error = format!("{error:#}"));
                (RunStatus::Failed, Some(user_facing_of(&error)))
            }
            Outcome::Panicked(message) => {
                tracing::error!(message = "Run panicked.", run_id = %ctx.run_id, panic = %message);
                (
                    RunStatus::Failed,
                    Some(UserFacing::new(Code::Unknown, format!("The run stopped on an internal error: {message}.")).with_fix(
                        "This is a bug in Crosswalk. Nothing after the error was written; the next run continues from the last saved state. Please report it with the run id.",
                    )),
                )
            }
            Outcome::Cancelled => (
                RunStatus::Cancelled,
                Some(
                    UserFacing::new(Code::Cancelled, "The run was cancelled.").with_fix(
                        "Start it again with Sync now; it continues from the last saved state.",
                    ),
                ),
            ),
        };
        if let Some(error) = &error {
            let event = crate::RunEvent::info(error.message.clone())
                .with_level(crosswalk_core::EventLevel::Error);
            let event = match &error.fix {
                Some(fix) => event.with_fix(fix.clone()),
                None => event,
            };
            ctx.event(event);
            ctx.flush_events();
        }
        let requests = ctx
            .requests
            .snapshot()
            .into_iter()
            .map(|(remote, stats)| {
                (
                    remote,
                    crosswalk_store::RequestCounts {
                        requests: stats.requests,
                        throttled: stats.throttled,
                        retries: stats.retries,
                    },
                )
            })
            .collect();
        let now = services.clock.now();
        if let Err(store_error) =
            services
                .store
                .finish_run(ctx.run_id, status, &counts, &requests, error.as_ref(), now)
        {
            tracing::error!(message = "Could not record the end of a run.", run_id = %ctx.run_id, error = %store_error);
        }
        tracing::info!(message = "Run finished.", run_id = %ctx.run_id, status = status.as_str());
        // Free the job before telling anyone, so a watcher may start it again right away.
        self.active().remove(&ctx.job_id);
        self.broadcast(EngineEvent::RunFinished {
            run_id: ctx.run_id,
            job_id: ctx.job_id,
            job_name: ctx.job.name.clone(),
            trigger: ctx.trigger,
            status,
            error,
        });
        status
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, ActiveRun>> {
        self.inner
            .active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

enum Outcome {
    Done(anyhow::Result<RunOutcome>),
    Panicked(String),
    Cancelled,
}

fn panic_message(join_error: tokio::task::JoinError) -> String {
    let payload = join_error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// The admin-facing form of an error: the first `UserFacing` in its chain, or its outer context.
pub fn user_facing_of(error: &anyhow::Error) -> UserFacing {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<UserFacing>().cloned())
        .unwrap_or_else(|| UserFacing::new(Code::Unknown, format!("{error:#}")))
}
