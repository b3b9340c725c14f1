//! What the engine tells whoever watches it (console window, tray, CLI progress bar).

use crosswalk_core::{JobId, RunId, RunStatus, Trigger, UserFacing};

/// A notice about a run, broadcast to every subscriber; missing some is harmless because the
/// store has the full record.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// A run started.
    RunStarted {
        run_id: RunId,
        job_id: JobId,
        job_name: String,
        trigger: Trigger,
        dry_run: bool,
    },
    /// A run made progress (`total` is 0 while unknown).
    Progress {
        run_id: RunId,
        job_name: String,
        done: u64,
        total: u64,
        message: String,
    },
    /// A run ended, in any final status.
    RunFinished {
        run_id: RunId,
        job_id: JobId,
        job_name: String,
        trigger: Trigger,
        status: RunStatus,
        error: Option<UserFacing>,
    },
    /// Scheduling was paused or resumed.
    SchedulesPaused(bool),
}
