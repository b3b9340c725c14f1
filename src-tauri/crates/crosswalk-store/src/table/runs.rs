//! `runs`: one execution of a job, from start to its final status, counts and error.

use crate::error::{constraint, Error, Result};
use crate::sql::{count, json_col, json_col_opt, ts, ts_col, ts_col_opt, u64_col, word_col};
use crate::Store;
use crosswalk_core::{Code, JobId, RunCounts, RunId, RunStatus, Trigger, UserFacing};
use rusqlite::{ffi, params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// HTTP traffic of a run against one remote, so admins can see throttling at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCounts {
    /// Requests sent, retries included.
    pub requests: u64,
    /// Responses that were 429 or 503 with `Retry-After`.
    pub throttled: u64,
    /// Requests sent again after a failure or throttling.
    pub retries: u64,
}

impl RequestCounts {
    /// Adds another remote's (or page's) counts to these.
    pub fn add(&mut self, other: &RequestCounts) {
        self.requests += other.requests;
        self.throttled += other.throttled;
        self.retries += other.retries;
    }
}

/// Where a running run is, for progress bars that survive a console reload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunProgress {
    pub done: u64,
    /// `None` while the total is not known yet.
    pub total: Option<u64>,
    pub message: Option<String>,
}

/// A run as stored, with its job's name for lists.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: RunId,
    pub job_id: JobId,
    pub job_name: String,
    pub trigger: Trigger,
    pub status: RunStatus,
    pub dry_run: bool,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    /// Outcome counts per object kind (`user`, `group`, `case`...).
    pub counts: BTreeMap<String, RunCounts>,
    /// HTTP traffic per remote (`graph`, `jira`...).
    pub requests: BTreeMap<String, RequestCounts>,
    /// Why the run failed as a whole (per-object failures are events).
    pub error: Option<UserFacing>,
    pub progress: RunProgress,
    /// When a failure notification was shown for this run.
    pub notified_at: Option<OffsetDateTime>,
}

impl RunRow {
    /// Counts over all object kinds.
    pub fn totals(&self) -> RunCounts {
        let mut totals = RunCounts::default();
        self.counts.values().for_each(|counts| totals.add(counts));
        totals
    }
}

/// Which runs `list_runs` returns: newest first, `limit` at a time, older than `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunFilter {
    /// Only this job's runs.
    pub job: Option<JobId>,
    pub limit: u32,
    /// Keyset paging: pass the last id of the previous page.
    pub before: Option<RunId>,
}

impl Default for RunFilter {
    fn default() -> RunFilter {
        RunFilter {
            job: None,
            limit: 50,
            before: None,
        }
    }
}

const SELECT: &str = "SELECT r.id, r.job_id, j.name, r.trigger, r.status, r.dry_run, r.started_at,
        r.finished_at, r.counts, r.requests, r.error, r.progress_done, r.progress_total,
        r.progress_message, r.notified_at
    FROM runs r JOIN jobs j ON j.id = r.job_id";

fn from_row(row: &Row<'_>) -> rusqlite::Result<RunRow> {
    let total: Option<i64> = row.get(12)?;
    Ok(RunRow {
        id: RunId(row.get(0)?),
        job_id: JobId(row.get(1)?),
        job_name: row.get(2)?,
        trigger: word_col(row, 3, Trigger::parse)?,
        status: word_col(row, 4, RunStatus::parse)?,
        dry_run: row.get(5)?,
        started_at: ts_col(row, 6)?,
        finished_at: ts_col_opt(row, 7)?,
        counts: json_col(row, 8)?,
        requests: json_col(row, 9)?,
        error: json_col_opt(row, 10)?,
        progress: RunProgress {
            done: u64_col(row, 11)?,
            total: total.map(|total| u64::try_from(total).unwrap_or(0)),
            message: row.get(13)?,
        },
        notified_at: ts_col_opt(row, 14)?,
    })
}

fn not_found(id: RunId) -> Error {
    Error::NotFound {
        what: "run",
        name: id.to_string(),
    }
}

fn check_changed(changed: usize, id: RunId) -> Result<()> {
    if changed == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

/// The error recorded on runs a crashed process left behind.
fn interrupted_error() -> UserFacing {
    UserFacing::new(
        Code::Unknown,
        "Crosswalk stopped while this run was in progress (closed, killed or the machine lost power).",
    )
    .with_fix("Start the job again (Sync now in the console, or `crosswalk sync JOB`).")
}

impl Store {
    /// Records a new run of `job_id` as running and returns its id.
    ///
    /// # Errors
    /// `Error::RunInProgress` when the job already has a running run; `Error::NotFound` when
    /// the job does not exist.
    pub fn start_run(
        &self,
        job_id: JobId,
        trigger: Trigger,
        dry_run: bool,
        now: OffsetDateTime,
    ) -> Result<RunId> {
        let conn = self.conn();
        let inserted = conn.execute(
            "INSERT INTO runs (job_id, trigger, status, dry_run, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![job_id.0, trigger.as_str(), RunStatus::Running.as_str(), dry_run, ts(now)],
        );
        let error = match inserted {
            Ok(_) => {
                let id = RunId(conn.last_insert_rowid());
                tracing::debug!(message = "Run started.", %job_id, run_id = %id, trigger = trigger.as_str(), dry_run);
                return Ok(id);
            }
            Err(error) => error,
        };
        match constraint(&error) {
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => Err(Error::NotFound {
                what: "job",
                name: job_id.to_string(),
            }),
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE) => {
                let running = conn
                    .query_row(
                        "SELECT id FROM runs WHERE job_id = ?1 AND status = 'running'",
                        [job_id.0],
                        |row| row.get(0).map(RunId),
                    )
                    .optional()?;
                Err(match running {
                    Some(run_id) => Error::RunInProgress { job_id, run_id },
                    None => Error::Sqlite(error),
                })
            }
            _ => Err(Error::Sqlite(error)),
        }
    }

    /// Saves how far a running run got (cheap; call it every page or so, not every object).
    pub fn update_run_progress(
        &self,
        run_id: RunId,
        done: u64,
        total: Option<u64>,
        message: Option<&str>,
    ) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE runs SET progress_done = ?2, progress_total = ?3, progress_message = ?4 WHERE id = ?1",
            params![run_id.0, count(done), total.map(count), message],
        )?;
        check_changed(changed, run_id)
    }

    /// Records a run's final status (pass a final one), counts, HTTP traffic and, for failures, its error.
    pub fn finish_run(
        &self,
        run_id: RunId,
        status: RunStatus,
        counts: &BTreeMap<String, RunCounts>,
        requests: &BTreeMap<String, RequestCounts>,
        error: Option<&UserFacing>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let error_json = error.map(serde_json::to_string).transpose()?;
        let changed = self.conn().execute(
            "UPDATE runs SET status = ?2, counts = ?3, requests = ?4, error = ?5, finished_at = ?6 WHERE id = ?1",
            params![
                run_id.0,
                status.as_str(),
                serde_json::to_string(counts)?,
                serde_json::to_string(requests)?,
                error_json,
                ts(now)
            ],
        )?;
        check_changed(changed, run_id)?;
        tracing::debug!(message = "Run finished.", %run_id, status = status.as_str());
        Ok(())
    }

    /// The run with id `run_id`.
    ///
    /// # Errors
    /// `Error::NotFound` when there is none.
    pub fn get_run(&self, run_id: RunId) -> Result<RunRow> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE r.id = ?1"))?;
        stmt.query_row([run_id.0], from_row)
            .optional()?
            .ok_or_else(|| not_found(run_id))
    }

    /// Runs matching `filter`, newest first.
    pub fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRow>> {
        let mut sql = format!("{SELECT} WHERE 1 = 1");
        let mut args: Vec<i64> = Vec::new();
        if let Some(job) = filter.job {
            args.push(job.0);
            sql.push_str(&format!(" AND r.job_id = ?{}", args.len()));
        }
        if let Some(before) = filter.before {
            args.push(before.0);
            sql.push_str(&format!(" AND r.id < ?{}", args.len()));
        }
        args.push(i64::from(filter.limit));
        sql.push_str(&format!(" ORDER BY r.id DESC LIMIT ?{}", args.len()));
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The job's most recent run, running or not.
    pub fn last_run(&self, job_id: JobId) -> Result<Option<RunRow>> {
        let runs = self.list_runs(&RunFilter {
            job: Some(job_id),
            limit: 1,
            before: None,
        })?;
        Ok(runs.into_iter().next())
    }

    /// The job's run in progress, if any.
    pub fn running_run(&self, job_id: JobId) -> Result<Option<RunId>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT id FROM runs WHERE job_id = ?1 AND status = 'running'")?;
        Ok(stmt
            .query_row([job_id.0], |row| row.get(0).map(RunId))
            .optional()?)
    }

    /// Marks runs a previous process left `running` as `interrupted`; call once at engine start.
    pub fn mark_interrupted_runs(&self, now: OffsetDateTime) -> Result<Vec<RunId>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "UPDATE runs SET status = ?1, finished_at = ?2, error = COALESCE(error, ?3)
             WHERE status = 'running' RETURNING id",
        )?;
        let ids: Vec<RunId> = stmt
            .query_map(
                params![
                    RunStatus::Interrupted.as_str(),
                    ts(now),
                    serde_json::to_string(&interrupted_error())?
                ],
                |row| row.get(0).map(RunId),
            )?
            .collect::<rusqlite::Result<_>>()?;
        for run_id in &ids {
            tracing::warn!(message = "Marked run left running by an earlier process as interrupted.", %run_id);
        }
        Ok(ids)
    }

    /// Finished runs that failed (wholly or partly) and were not announced yet, oldest first.
    pub fn unnotified_failures(&self) -> Result<Vec<RunRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT} WHERE r.notified_at IS NULL
                AND r.status IN ('failed', 'completed_with_errors', 'interrupted')
             ORDER BY r.id"
        ))?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Remembers that a failure notification was shown for the run.
    pub fn mark_run_notified(&self, run_id: RunId, now: OffsetDateTime) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE runs SET notified_at = ?2 WHERE id = ?1",
            params![run_id.0, ts(now)],
        )?;
        check_changed(changed, run_id)
    }
}
