//! `cursors`: where a job's incremental reads resume (Graph delta links, Jira "updated since").

use crate::error::{constraint, Error, Result};
use crate::sql::ts;
use crate::Store;
use crosswalk_core::JobId;
use rusqlite::{ffi, params, OptionalExtension};

impl Store {
    /// The job's cursor called `name`, if one was saved.
    pub fn get_cursor(&self, job_id: JobId, name: &str) -> Result<Option<String>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT value FROM cursors WHERE job_id = ?1 AND name = ?2")?;
        Ok(stmt
            .query_row(params![job_id.0, name], |row| row.get(0))
            .optional()?)
    }

    /// Saves (or replaces) the job's cursor called `name`.
    ///
    /// # Errors
    /// `Error::NotFound` when the job does not exist.
    pub fn set_cursor(&self, job_id: JobId, name: &str, value: &str) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO cursors (job_id, name, value, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (job_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![job_id.0, name, value, ts(self.now())],
            )
            .map_err(|error| match constraint(&error) {
                Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                    Error::NotFound { what: "job", name: job_id.to_string() }
                }
                _ => Error::Sqlite(error),
            })?;
        Ok(())
    }

    /// Forgets all of the job's cursors, so its next run reads everything again; returns how many.
    pub fn clear_cursors(&self, job_id: JobId) -> Result<usize> {
        Ok(self
            .conn()
            .execute("DELETE FROM cursors WHERE job_id = ?1", [job_id.0])?)
    }

    /// Forgets one of the job's cursors; returns whether it existed.
    pub fn delete_cursor(&self, job_id: JobId, name: &str) -> Result<bool> {
        Ok(self.conn().execute(
            "DELETE FROM cursors WHERE job_id = ?1 AND name = ?2",
            params![job_id.0, name],
        )? > 0)
    }
}
