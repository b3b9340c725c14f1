//! What a running job sees: its config, cancellation, progress reporting and the event log.

use crate::events::EngineEvent;
use crate::services::Services;
use crosswalk_core::{EventLevel, JobConfig, JobId, RunCounts, RunId, Trigger};
pub use crosswalk_store::EventAction;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// What happened to one object (or a note about the run), as admins read it in the run log.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvent {
    pub level: Option<EventLevel>,
    /// e.g. `user`, `group`, `connection`; empty for run-level notes.
    pub object_kind: String,
    /// The remote id (Entra object id, Jira key...).
    pub object_id: String,
    /// A human name for the object.
    pub object_label: String,
    pub action: EventAction,
    pub message: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// For failures: what the admin should do.
    pub fix: Option<String>,
}

impl RunEvent {
    /// A run-level note.
    pub fn info(message: impl Into<String>) -> RunEvent {
        RunEvent {
            level: Some(EventLevel::Info),
            object_kind: String::new(),
            object_id: String::new(),
            object_label: String::new(),
            action: EventAction::Info,
            message: message.into(),
            before: None,
            after: None,
            fix: None,
        }
    }

    /// An outcome for one object.
    pub fn object(
        kind: &str,
        id: &str,
        label: &str,
        action: EventAction,
        message: impl Into<String>,
    ) -> RunEvent {
        let level = match action {
            EventAction::Failed => EventLevel::Error,
            EventAction::Skipped => EventLevel::Warn,
            _ => EventLevel::Info,
        };
        RunEvent {
            level: Some(level),
            object_kind: kind.into(),
            object_id: id.into(),
            object_label: label.into(),
            action,
            message: message.into(),
            before: None,
            after: None,
            fix: None,
        }
    }

    /// Adds the fix an admin should apply.
    pub fn with_fix(mut self, fix: impl Into<String>) -> RunEvent {
        self.fix = Some(fix.into());
        self
    }

    /// Adds before/after values of the fields that changed.
    pub fn with_change(
        mut self,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> RunEvent {
        self.before = before;
        self.after = after;
        self
    }

    /// Sets the severity explicitly.
    pub fn with_level(mut self, level: EventLevel) -> RunEvent {
        self.level = Some(level);
        self
    }
}

/// What a finished run hands back besides its events: counts per object kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutcome {
    pub counts: BTreeMap<String, RunCounts>,
}

/// Events are written in batches of this many, so a 100k-object run does not do 100k commits.
const EVENT_BATCH: usize = 500;
/// Progress is persisted and broadcast at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

struct Shared {
    pending: Vec<RunEvent>,
    counts: BTreeMap<String, RunCounts>,
    last_progress: Option<Instant>,
    /// The newest progress, persisted at the end even if throttled away.
    latest_progress: Option<(u64, u64, String)>,
}

/// Which run of which job a context is for.
pub(crate) struct RunIdentity {
    pub run_id: RunId,
    pub job_id: JobId,
    pub job: JobConfig,
    pub trigger: Trigger,
    pub dry_run: bool,
}

/// Handed to a job kind for one run. Cheap to clone; clones share the event buffer.
#[derive(Clone)]
pub struct RunContext {
    pub run_id: RunId,
    pub job_id: JobId,
    pub job: JobConfig,
    pub trigger: Trigger,
    /// Compute and log the plan without writing to any remote system.
    pub dry_run: bool,
    pub services: Services,
    /// Requests this run made, per remote; every client built for the run shares it.
    pub requests: crosswalk_http::RequestCounter,
    cancel: CancellationToken,
    events_tx: broadcast::Sender<EngineEvent>,
    shared: Arc<Mutex<Shared>>,
}

impl RunContext {
    pub(crate) fn new(
        run: RunIdentity,
        services: Services,
        cancel: CancellationToken,
        events_tx: broadcast::Sender<EngineEvent>,
    ) -> RunContext {
        RunContext {
            run_id: run.run_id,
            job_id: run.job_id,
            job: run.job,
            trigger: run.trigger,
            dry_run: run.dry_run,
            services,
            requests: crosswalk_http::RequestCounter::default(),
            cancel,
            events_tx,
            shared: Arc::new(Mutex::new(Shared {
                pending: Vec::new(),
                counts: BTreeMap::new(),
                last_progress: None,
                latest_progress: None,
            })),
        }
    }

    /// True once the admin asked to stop; check between steps and return early.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the admin asks to stop.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }

    /// Reports progress; cheap to call often (persisted and broadcast at most every 250 ms).
    pub fn progress(&self, done: u64, total: u64, message: &str) {
        {
            let mut shared = self.lock();
            shared.latest_progress = Some((done, total, message.to_owned()));
            let now = Instant::now();
            let due = shared
                .last_progress
                .is_none_or(|last| now - last >= PROGRESS_EVERY)
                || (total > 0 && done >= total);
            if !due {
                return;
            }
            shared.last_progress = Some(now);
            shared.latest_progress = None;
        }
        self.persist_progress(done, total, message);
    }

    /// Persists progress a throttled `progress` call skipped (called when the run ends).
    pub(crate) fn flush_progress(&self) {
        let latest = self.lock().latest_progress.take();
        if let Some((done, total, message)) = latest {
            self.persist_progress(done, total, &message);
        }
    }

    fn persist_progress(&self, done: u64, total: u64, message: &str) {
        if let Err(error) = self.services.store.update_run_progress(
            self.run_id,
            done,
            Some(total).filter(|t| *t > 0),
            Some(message),
        ) {
            tracing::warn!(message = "Could not persist run progress.", run_id = %self.run_id, error = %error);
        }
        let _ = self.events_tx.send(EngineEvent::Progress {
            run_id: self.run_id,
            job_name: self.job.name.clone(),
            done,
            total,
            message: message.to_owned(),
        });
    }

    /// Broadcasts an engine notice on behalf of the run (e.g. a client secret about to expire).
    pub(crate) fn notify(&self, event: EngineEvent) {
        let _ = self.events_tx.send(event);
    }

    /// Records one event; counted under its object kind and action, and written in batches.
    pub fn event(&self, event: RunEvent) {
        let flush = {
            let mut shared = self.lock();
            // Notes about an object (action Info) are not outcomes: they count nowhere.
            if !event.object_kind.is_empty() && event.action != EventAction::Info {
                let counts = shared.counts.entry(event.object_kind.clone()).or_default();
                match event.action {
                    EventAction::Created => counts.created += 1,
                    EventAction::Updated => counts.updated += 1,
                    EventAction::Unchanged => counts.unchanged += 1,
                    EventAction::Retired => counts.retired += 1,
                    EventAction::Deleted => counts.deleted += 1,
                    EventAction::Skipped => counts.skipped += 1,
                    EventAction::Failed => counts.failed += 1,
                    EventAction::Info => {}
                }
            }
            shared.pending.push(event);
            shared.pending.len() >= EVENT_BATCH
        };
        if flush {
            self.flush_events();
        }
    }

    /// Counts an unchanged object without writing an event for it (keeps no-change runs small).
    pub fn count_unchanged(&self, object_kind: &str, n: u64) {
        self.lock()
            .counts
            .entry(object_kind.to_owned())
            .or_default()
            .unchanged += n;
    }

    /// Counts recorded so far, per object kind.
    pub fn counts(&self) -> BTreeMap<String, RunCounts> {
        self.lock().counts.clone()
    }

    /// Writes buffered events to the store.
    pub fn flush_events(&self) {
        let pending = std::mem::take(&mut self.lock().pending);
        if pending.is_empty() {
            return;
        }
        let now = self.services.clock.now();
        let rows: Vec<crosswalk_store::NewEvent> = pending
            .into_iter()
            .map(|event| to_store_event(event, now))
            .collect();
        if let Err(error) = self.services.store.append_events(self.run_id, &rows) {
            tracing::error!(message = "Could not write run events.", run_id = %self.run_id, error = %error);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn to_store_event(event: RunEvent, at: time::OffsetDateTime) -> crosswalk_store::NewEvent {
    let non_empty = |value: String| Some(value).filter(|v| !v.is_empty());
    crosswalk_store::NewEvent {
        at,
        level: event.level.unwrap_or(EventLevel::Info),
        action: event.action,
        message: event.message,
        object_kind: non_empty(event.object_kind),
        object_id: non_empty(event.object_id),
        object_label: non_empty(event.object_label),
        before: event.before,
        after: event.after,
        fix: event.fix,
    }
}
