//! What the engine tells whoever watches it (console window, tray, CLI progress bar).

use crosswalk_core::{JobId, RunId, RunStatus, Trigger, UserFacing};
use time::OffsetDateTime;

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
    /// The client secret of a connection crossed an expiry warning threshold (30, 14, 7 or 1 days
    /// before, or `0` once expired). Sent once per threshold and secret; see `secret_expiry`.
    SecretExpiring {
        connection: String,
        app_display_name: String,
        expires_at: OffsetDateTime,
        /// Whole days left (negative once expired).
        days_left: i64,
        threshold: u32,
        /// One sentence naming the connection and the date.
        message: String,
        /// Where to create the new secret and how to give it to Crosswalk.
        fix: String,
    },
}
