//! Where an item's steps report what they did: the run log during a poll, or a list handed
//! back to the console for actions taken outside a run (a manual link or unlink).

use crosswalk_engine::{RunContext, RunEvent};
use std::sync::Mutex;

/// The destination of events, progress and counts.
pub enum Journal {
    /// A scheduled or "Sync now" run: the run log.
    Run(RunContext),
    /// An admin action from the console: events kept for the answer.
    Collect(Mutex<Vec<RunEvent>>),
}

impl Journal {
    /// A journal that keeps events for the caller.
    pub fn collect() -> Journal {
        Journal::Collect(Mutex::new(Vec::new()))
    }

    /// Records one event.
    pub fn event(&self, event: RunEvent) {
        match self {
            Journal::Run(ctx) => ctx.event(event),
            Journal::Collect(events) => events
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(event),
        }
    }

    /// Reports progress (runs only).
    pub fn progress(&self, done: u64, total: u64, message: &str) {
        if let Journal::Run(ctx) = self {
            ctx.progress(done, total, message);
        }
    }

    /// Counts unchanged objects without an event each (runs only).
    pub fn count_unchanged(&self, kind: &str, n: u64) {
        if let Journal::Run(ctx) = self {
            ctx.count_unchanged(kind, n);
        }
    }

    /// The events collected so far (empty for runs, whose events are in the run log).
    pub fn take(&self) -> Vec<RunEvent> {
        match self {
            Journal::Run(_) => Vec::new(),
            Journal::Collect(events) => std::mem::take(
                &mut *events
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            ),
        }
    }
}
