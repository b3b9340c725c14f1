//! `links`: which Jira issue belongs to which Dataverse record, per job (for the Dynamics sync).

use crate::error::{constraint, Error, Result};
use crate::sql::{json_col, ts, ts_col, ts_col_opt, ts_opt, word_col};
use crate::Store;
use crosswalk_core::JobId;
use rusqlite::{ffi, params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// Row id of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LinkId(pub i64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Who made a link: the sync (and may remove it) or an admin (the sync leaves it alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Managed {
    Auto,
    Manual,
}

impl Managed {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Managed::Auto => "auto",
            Managed::Manual => "manual",
        }
    }

    /// Parses the stored word.
    pub fn parse(value: &str) -> Option<Managed> {
        [Managed::Auto, Managed::Manual]
            .into_iter()
            .find(|managed| managed.as_str() == value)
    }
}

/// A link to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLink {
    pub job_id: JobId,
    pub jira_issue_id: String,
    pub jira_key: String,
    pub dataverse_table: String,
    pub dataverse_id: String,
    pub managed: Managed,
    /// When both sides were last known to agree.
    pub baseline_at: Option<OffsetDateTime>,
    /// The connector's per-link memory (field values at the baseline, etc.).
    pub state: serde_json::Value,
}

/// A stored link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRow {
    pub id: LinkId,
    pub job_id: JobId,
    pub jira_issue_id: String,
    pub jira_key: String,
    pub dataverse_table: String,
    pub dataverse_id: String,
    pub managed: Managed,
    pub baseline_at: Option<OffsetDateTime>,
    pub state: serde_json::Value,
    pub created_at: OffsetDateTime,
}

const SELECT: &str = "SELECT id, job_id, jira_issue_id, jira_key, dataverse_table, dataverse_id,
        managed, baseline_at, state, created_at
    FROM links";

fn from_row(row: &Row<'_>) -> rusqlite::Result<LinkRow> {
    Ok(LinkRow {
        id: LinkId(row.get(0)?),
        job_id: JobId(row.get(1)?),
        jira_issue_id: row.get(2)?,
        jira_key: row.get(3)?,
        dataverse_table: row.get(4)?,
        dataverse_id: row.get(5)?,
        managed: word_col(row, 6, Managed::parse)?,
        baseline_at: ts_col_opt(row, 7)?,
        state: json_col(row, 8)?,
        created_at: ts_col(row, 9)?,
    })
}

impl Store {
    /// Stores a new link.
    ///
    /// # Errors
    /// `Error::AlreadyExists` when the job already links that issue or that record;
    /// `Error::NotFound` when the job does not exist.
    pub fn insert_link(&self, link: &NewLink) -> Result<LinkId> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO links (job_id, jira_issue_id, jira_key, dataverse_table, dataverse_id,
                                managed, baseline_at, state, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                link.job_id.0,
                link.jira_issue_id,
                link.jira_key,
                link.dataverse_table,
                link.dataverse_id,
                link.managed.as_str(),
                ts_opt(link.baseline_at),
                serde_json::to_string(&link.state)?,
                ts(self.now()),
            ],
        )
        .map_err(|error| match constraint(&error) {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE) => Error::AlreadyExists {
                what: "link",
                name: format!(
                    "{} <-> {}/{}",
                    link.jira_key, link.dataverse_table, link.dataverse_id
                ),
            },
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => Error::NotFound {
                what: "job",
                name: link.job_id.to_string(),
            },
            _ => Error::Sqlite(error),
        })?;
        Ok(LinkId(conn.last_insert_rowid()))
    }

    /// All of a job's links, oldest first.
    pub fn list_links(&self, job_id: JobId) -> Result<Vec<LinkRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE job_id = ?1 ORDER BY id"))?;
        let rows = stmt
            .query_map([job_id.0], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The job's link for a Jira issue (by its immutable id, not its key).
    pub fn find_link_by_issue(
        &self,
        job_id: JobId,
        jira_issue_id: &str,
    ) -> Result<Option<LinkRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT} WHERE job_id = ?1 AND jira_issue_id = ?2"
        ))?;
        Ok(stmt
            .query_row(params![job_id.0, jira_issue_id], from_row)
            .optional()?)
    }

    /// The job's link for a Dataverse record.
    pub fn find_link_by_record(
        &self,
        job_id: JobId,
        table: &str,
        record_id: &str,
    ) -> Result<Option<LinkRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT} WHERE job_id = ?1 AND dataverse_table = ?2 AND dataverse_id = ?3"
        ))?;
        Ok(stmt
            .query_row(params![job_id.0, table, record_id], from_row)
            .optional()?)
    }

    /// Records a new baseline for a link after both sides were brought in step.
    pub fn set_link_state(
        &self,
        id: LinkId,
        baseline_at: Option<OffsetDateTime>,
        state: &serde_json::Value,
    ) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE links SET baseline_at = ?2, state = ?3 WHERE id = ?1",
            params![id.0, ts_opt(baseline_at), serde_json::to_string(state)?],
        )?;
        if changed == 0 {
            return Err(Error::NotFound {
                what: "link",
                name: id.to_string(),
            });
        }
        Ok(())
    }

    /// Removes a link; `false` if there was none.
    pub fn delete_link(&self, id: LinkId) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM links WHERE id = ?1", [id.0])?
            > 0)
    }
}
