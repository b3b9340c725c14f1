//! `jobs`: configured syncs, their schedule and when the scheduler should next run them.

use crate::error::{Error, Result};
use crate::sql::{json_col, ts, ts_col, ts_col_opt, ts_opt};
use crate::{Store, Upserted};
use crosswalk_core::{JobConfig, JobId};
use rusqlite::{params, OptionalExtension, Row};
use time::OffsetDateTime;

/// A job as stored, with its row id, stamps and next due time.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredJob {
    pub id: JobId,
    pub config: JobConfig,
    /// When the scheduler should run it next; `None` until computed (new job, schedule changed).
    pub next_due_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT id, name, kind, schedule, enabled, settings, next_due_at, created_at, updated_at FROM jobs";

fn from_row(row: &Row<'_>) -> rusqlite::Result<StoredJob> {
    Ok(StoredJob {
        id: JobId(row.get(0)?),
        config: JobConfig {
            name: row.get(1)?,
            kind: row.get(2)?,
            schedule: json_col(row, 3)?,
            enabled: row.get(4)?,
            settings: json_col(row, 5)?,
        },
        next_due_at: ts_col_opt(row, 6)?,
        created_at: ts_col(row, 7)?,
        updated_at: ts_col(row, 8)?,
    })
}

fn not_found(id: JobId) -> Error {
    Error::NotFound {
        what: "job",
        name: id.to_string(),
    }
}

impl Store {
    /// All jobs, by name.
    pub fn list_jobs(&self) -> Result<Vec<StoredJob>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY name"))?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The job named `name`, if any.
    pub fn find_job(&self, name: &str) -> Result<Option<StoredJob>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE name = ?1"))?;
        Ok(stmt.query_row([name], from_row).optional()?)
    }

    /// The job named `name`.
    ///
    /// # Errors
    /// `Error::NotFound` when there is none.
    pub fn get_job(&self, name: &str) -> Result<StoredJob> {
        self.find_job(name)?.ok_or_else(|| Error::NotFound {
            what: "job",
            name: name.to_owned(),
        })
    }

    /// The job with row id `id` (the scheduler and runs refer to jobs by id).
    ///
    /// # Errors
    /// `Error::NotFound` when there is none.
    pub fn get_job_by_id(&self, id: JobId) -> Result<StoredJob> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?;
        stmt.query_row([id.0], from_row)
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// Enabled jobs due at or before `now`, most overdue first.
    pub fn list_due_jobs(&self, now: OffsetDateTime) -> Result<Vec<StoredJob>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT} WHERE enabled = 1 AND next_due_at IS NOT NULL AND next_due_at <= ?1 ORDER BY next_due_at, id"
        ))?;
        let rows = stmt
            .query_map([ts(now)], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Saves `config` under its name; saving the same config again changes nothing.
    ///
    /// An update that changes the schedule or `enabled` clears `next_due_at`, so the scheduler
    /// recomputes it; other updates keep it.
    pub fn upsert_job(&self, config: &JobConfig) -> Result<(JobId, Upserted)> {
        let now = ts(self.now());
        let schedule = serde_json::to_string(&config.schedule)?;
        let settings = serde_json::to_string(&config.settings)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let existing = tx
            .query_row(
                &format!("{SELECT} WHERE name = ?1"),
                [&config.name],
                from_row,
            )
            .optional()?;
        let outcome = match existing {
            Some(stored) if stored.config == *config => (stored.id, Upserted::Unchanged),
            Some(stored) => {
                let timing_changed = stored.config.schedule != config.schedule
                    || stored.config.enabled != config.enabled;
                let next_due = if timing_changed {
                    None
                } else {
                    stored.next_due_at
                };
                tx.execute(
                    "UPDATE jobs SET kind = ?2, schedule = ?3, enabled = ?4, settings = ?5,
                            next_due_at = ?6, updated_at = ?7
                     WHERE id = ?1",
                    params![
                        stored.id.0,
                        config.kind,
                        schedule,
                        config.enabled,
                        settings,
                        ts_opt(next_due),
                        now
                    ],
                )?;
                (stored.id, Upserted::Updated)
            }
            None => {
                tx.execute(
                    "INSERT INTO jobs (name, kind, schedule, enabled, settings, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                    params![config.name, config.kind, schedule, config.enabled, settings, now],
                )?;
                (JobId(tx.last_insert_rowid()), Upserted::Created)
            }
        };
        tx.commit()?;
        tracing::debug!(message = "Saved job.", name = %config.name, outcome = ?outcome.1);
        Ok(outcome)
    }

    /// Renames a job, keeping its runs, links and cursors (they hang off the job's id).
    pub fn rename_job(&self, id: JobId, new_name: &str) -> Result<()> {
        let updated = self.conn().execute(
            "UPDATE jobs SET name = ?2, updated_at = ?3 WHERE id = ?1",
            params![id.0, new_name, ts(self.now())],
        )?;
        if updated == 0 {
            return Err(Error::NotFound {
                what: "job",
                name: id.to_string(),
            });
        }
        Ok(())
    }

    /// Deletes the job named `name` with its runs, events, links and cursors; `false` if none.
    pub fn delete_job(&self, name: &str) -> Result<bool> {
        let deleted = self
            .conn()
            .execute("DELETE FROM jobs WHERE name = ?1", [name])?;
        Ok(deleted > 0)
    }

    /// Records when the scheduler should next run the job (`None`: not scheduled).
    pub fn set_job_next_due(&self, id: JobId, next_due_at: Option<OffsetDateTime>) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE jobs SET next_due_at = ?2 WHERE id = ?1",
            params![id.0, ts_opt(next_due_at)],
        )?;
        if changed == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// Turns scheduled runs of the job on or off (a disabled job can still be run by hand).
    ///
    /// Like `upsert_job`, a real change clears `next_due_at`; setting the same value is a no-op.
    pub fn set_job_enabled(&self, id: JobId, enabled: bool) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE jobs SET
                 next_due_at = CASE WHEN enabled = ?2 THEN next_due_at ELSE NULL END,
                 updated_at = CASE WHEN enabled = ?2 THEN updated_at ELSE ?3 END,
                 enabled = ?2
             WHERE id = ?1",
            params![id.0, enabled, ts(self.now())],
        )?;
        if changed == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }
}
