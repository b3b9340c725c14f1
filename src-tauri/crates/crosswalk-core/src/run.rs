//! Runs: one execution of a job, its trigger, status and per-kind counts.

use serde::{Deserialize, Serialize};

/// Why a run started; shown in run lists so admins can tell schedule from clicks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Trigger {
    /// Its schedule came due.
    Schedule,
    /// A scheduled run that was missed (machine asleep or app closed) and ran at start-up.
    Missed,
    /// "Sync now" in the console.
    SyncNow,
    /// `crosswalk sync` on the command line.
    Cli,
}

impl Trigger {
    /// The word stored in the database and printed by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Missed => "missed",
            Trigger::SyncNow => "sync_now",
            Trigger::Cli => "cli",
        }
    }

    /// Parses the stored word.
    pub fn parse(value: &str) -> Option<Trigger> {
        [
            Trigger::Schedule,
            Trigger::Missed,
            Trigger::SyncNow,
            Trigger::Cli,
        ]
        .into_iter()
        .find(|trigger| trigger.as_str() == value)
    }
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum RunStatus {
    Running,
    /// Finished and every object succeeded.
    Succeeded,
    /// Finished, but some objects failed (see the run's events).
    CompletedWithErrors,
    /// Stopped by an error before finishing.
    Failed,
    /// Stopped by the admin.
    Cancelled,
    /// The process ended while the run was going (crash, kill, power loss).
    Interrupted,
}

impl RunStatus {
    /// The word stored in the database and printed by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::CompletedWithErrors => "completed_with_errors",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Parses the stored word.
    pub fn parse(value: &str) -> Option<RunStatus> {
        [
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::CompletedWithErrors,
            RunStatus::Failed,
            RunStatus::Cancelled,
            RunStatus::Interrupted,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }

    /// True once the run can no longer change.
    pub fn is_final(self) -> bool {
        self != RunStatus::Running
    }
}

/// Severity of one run event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum EventLevel {
    Info,
    Warn,
    Error,
}

impl EventLevel {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EventLevel::Info => "info",
            EventLevel::Warn => "warn",
            EventLevel::Error => "error",
        }
    }

    /// Parses the stored word.
    pub fn parse(value: &str) -> Option<EventLevel> {
        [EventLevel::Info, EventLevel::Warn, EventLevel::Error]
            .into_iter()
            .find(|level| level.as_str() == value)
    }
}

/// Outcome counts of a run, per object kind or in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunCounts {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub updated: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unchanged: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub retired: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub deleted: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub skipped: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub failed: u64,
}

impl RunCounts {
    /// Adds another set of counts to this one.
    pub fn add(&mut self, other: &RunCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.retired += other.retired;
        self.deleted += other.deleted;
        self.skipped += other.skipped;
        self.failed += other.failed;
    }

    /// Objects the run looked at.
    pub fn total(&self) -> u64 {
        self.created
            + self.updated
            + self.unchanged
            + self.retired
            + self.deleted
            + self.skipped
            + self.failed
    }
}
