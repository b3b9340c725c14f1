//! `object_map`: which Assets object a job wrote for each remote (Entra) object, with the hash
//! of what it wrote, so unchanged objects are skipped and nothing is ever created twice.

use crate::error::{constraint, Error, Result};
use crate::sql::{ts, ts_col_opt, ts_opt};
use crate::Store;
use crosswalk_core::JobId;
use rusqlite::{ffi, params, params_from_iter, Row, Transaction};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// One remote object's entry in a job's map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    /// The engine's word for the object kind (`user`, `group`, `membership`...).
    pub kind: String,
    pub remote_id: String,
    /// The Assets object id; `None` while a create is journaled but not confirmed.
    pub target_id: Option<String>,
    pub label: String,
    /// Hash of `doc` as last written; empty makes the next run write the object again.
    pub hash: String,
    /// The values last written, as JSON text (the engine owns the shape).
    pub doc: String,
    /// References were written without a target that did not exist yet.
    pub unresolved: bool,
    /// For memberships: the member's remote id.
    pub member_id: Option<String>,
    /// The last run whose full round saw the object.
    pub seen_run: Option<i64>,
    /// Gone from the source but held back by the retirement guard since then.
    pub missing_since: Option<OffsetDateTime>,
    /// When the object was marked removed in Assets.
    pub removed_at: Option<OffsetDateTime>,
}

impl MapEntry {
    /// An entry for an object about to be created (journaled before the create).
    pub fn intent(kind: &str, remote_id: &str, label: &str, doc: String) -> MapEntry {
        MapEntry {
            kind: kind.to_owned(),
            remote_id: remote_id.to_owned(),
            target_id: None,
            label: label.to_owned(),
            hash: String::new(),
            doc,
            unresolved: false,
            member_id: None,
            seen_run: None,
            missing_since: None,
            removed_at: None,
        }
    }
}

/// A change to a job's map; [`Store::map_apply`] applies a batch in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapChange {
    /// Inserts the entry or replaces every column of the existing one.
    Put(MapEntry),
    /// Records that a full round of `run` saw these objects.
    Seen {
        kind: String,
        remote_ids: Vec<String>,
        run: i64,
    },
    /// Forgets an entry (its Assets object was deleted).
    Delete { kind: String, remote_id: String },
}

/// Which entries [`Store::map_select`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapFilter {
    /// All entries of a kind.
    Kind(String),
    /// Active entries of a kind that the full round of `run` did not see.
    Unseen { kind: String, run: i64 },
    /// Entries whose references still wait for their targets.
    Unresolved,
    /// Journaled creates that were never confirmed.
    Open,
    /// Entries held back by the retirement guard.
    Missing,
    /// Entries of a kind marked removed before the cutoff.
    RemovedBefore {
        kind: String,
        cutoff: OffsetDateTime,
    },
    /// Active memberships whose member is this remote id.
    MembershipsOfMember(String),
    /// Active entries of a kind whose remote id starts with the prefix (a group's memberships).
    Prefix { kind: String, prefix: String },
}

/// An active entry as a reference target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapTarget {
    pub kind: String,
    pub remote_id: String,
    pub target_id: String,
    pub label: String,
}

/// Entries per kind: (active, removed).
pub type MapCounts = BTreeMap<String, (u64, u64)>;

const COLUMNS: &str = "kind, remote_id, target_id, label, hash, doc, unresolved, member_id, seen_run, missing_since, removed_at";

fn entry(row: &Row<'_>) -> rusqlite::Result<MapEntry> {
    Ok(MapEntry {
        kind: row.get(0)?,
        remote_id: row.get(1)?,
        target_id: row.get(2)?,
        label: row.get(3)?,
        hash: row.get(4)?,
        doc: row.get(5)?,
        unresolved: row.get(6)?,
        member_id: row.get(7)?,
        seen_run: row.get(8)?,
        missing_since: ts_col_opt(row, 9)?,
        removed_at: ts_col_opt(row, 10)?,
    })
}

/// The first id past every id starting with `prefix`, for an index range scan.
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    end.push(char::MAX);
    end
}

fn put(tx: &Transaction<'_>, job_id: JobId, entry: &MapEntry, now: &str) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO object_map (job_id, kind, remote_id, target_id, label, hash, doc, unresolved,
                                 member_id, seen_run, missing_since, removed_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (job_id, kind, remote_id) DO UPDATE SET
            target_id = excluded.target_id, label = excluded.label, hash = excluded.hash,
            doc = excluded.doc, unresolved = excluded.unresolved, member_id = excluded.member_id,
            seen_run = excluded.seen_run, missing_since = excluded.missing_since,
            removed_at = excluded.removed_at, updated_at = excluded.updated_at",
    )?;
    stmt.execute(params![
        job_id.0,
        entry.kind,
        entry.remote_id,
        entry.target_id,
        entry.label,
        entry.hash,
        entry.doc,
        entry.unresolved,
        entry.member_id,
        entry.seen_run,
        ts_opt(entry.missing_since),
        ts_opt(entry.removed_at),
        now,
    ])?;
    Ok(())
}

/// The query for `filter` and its arguments after the job id. The selective filters (open,
/// unresolved, held back) match a partial index ordered like the result, so they read only
/// their few rows.
pub(crate) fn select_sql(filter: &MapFilter) -> (String, Vec<String>) {
    let (condition, args): (&str, Vec<String>) = match filter {
        MapFilter::Kind(kind) => ("kind = ?2", vec![kind.clone()]),
        MapFilter::Unseen { kind, run } => (
            "kind = ?2 AND removed_at IS NULL AND target_id IS NOT NULL
             AND (seen_run IS NULL OR seen_run <> CAST(?3 AS INTEGER))",
            vec![kind.clone(), run.to_string()],
        ),
        MapFilter::Unresolved => ("unresolved = 1 AND removed_at IS NULL", vec![]),
        MapFilter::Open => ("target_id IS NULL", vec![]),
        MapFilter::Missing => ("missing_since IS NOT NULL AND removed_at IS NULL", vec![]),
        MapFilter::RemovedBefore { kind, cutoff } => (
            "kind = ?2 AND removed_at IS NOT NULL AND removed_at < ?3",
            vec![kind.clone(), ts(*cutoff)],
        ),
        MapFilter::MembershipsOfMember(member) => (
            "member_id = ?2 AND removed_at IS NULL",
            vec![member.clone()],
        ),
        MapFilter::Prefix { kind, prefix } => (
            "kind = ?2 AND remote_id >= ?3 AND remote_id < ?4 AND removed_at IS NULL",
            vec![kind.clone(), prefix.clone(), prefix_end(prefix)],
        ),
    };
    (
        format!(
            "SELECT {COLUMNS} FROM object_map WHERE job_id = ?1 AND {condition} ORDER BY kind, remote_id"
        ),
        args,
    )
}

impl Store {
    /// Applies a batch of changes to the job's map in one transaction (all or nothing).
    ///
    /// # Errors
    /// `Error::NotFound` when the job does not exist.
    pub fn map_apply(&self, job_id: JobId, changes: &[MapChange]) -> Result<()> {
        let now = ts(self.now());
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for change in changes {
            match change {
                MapChange::Put(entry) => put(&tx, job_id, entry, &now),
                MapChange::Seen {
                    kind,
                    remote_ids,
                    run,
                } => {
                    let mut stmt = tx.prepare_cached(
                        "UPDATE object_map SET seen_run = ?4
                         WHERE job_id = ?1 AND kind = ?2 AND remote_id = ?3",
                    )?;
                    remote_ids
                        .iter()
                        .try_for_each(|id| stmt.execute(params![job_id.0, kind, id, run]).map(drop))
                }
                MapChange::Delete { kind, remote_id } => tx
                    .prepare_cached(
                        "DELETE FROM object_map WHERE job_id = ?1 AND kind = ?2 AND remote_id = ?3",
                    )?
                    .execute(params![job_id.0, kind, remote_id])
                    .map(drop),
            }
            .map_err(|error| match constraint(&error) {
                Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => Error::NotFound {
                    what: "job",
                    name: job_id.to_string(),
                },
                _ => Error::Sqlite(error),
            })?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The entries of `kind` for these remote ids (missing ids are simply absent).
    pub fn map_get(
        &self,
        job_id: JobId,
        kind: &str,
        remote_ids: &[&str],
    ) -> Result<HashMap<String, MapEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM object_map WHERE job_id = ?1 AND kind = ?2 AND remote_id = ?3"
        ))?;
        let mut found = HashMap::with_capacity(remote_ids.len());
        for id in remote_ids {
            let mut rows = stmt.query(params![job_id.0, kind, id])?;
            if let Some(row) = rows.next()? {
                found.insert((*id).to_owned(), entry(row)?);
            }
        }
        Ok(found)
    }

    /// (kind, remote id, Assets object id, label) of active entries of these kinds, to resolve
    /// references and name memberships without reading whole entries.
    pub fn map_targets(&self, job_id: JobId, kinds: &[&str]) -> Result<Vec<MapTarget>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT kind, remote_id, target_id, label FROM object_map
             WHERE job_id = ?1 AND kind = ?2 AND target_id IS NOT NULL AND removed_at IS NULL",
        )?;
        let mut out = Vec::new();
        for kind in kinds {
            let rows = stmt.query_map(params![job_id.0, kind], |row| {
                Ok(MapTarget {
                    kind: row.get(0)?,
                    remote_id: row.get(1)?,
                    target_id: row.get(2)?,
                    label: row.get(3)?,
                })
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    /// The entries matching `filter`, ordered by kind and remote id.
    pub fn map_select(&self, job_id: JobId, filter: &MapFilter) -> Result<Vec<MapEntry>> {
        let (sql, args) = select_sql(filter);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let values = std::iter::once(job_id.0.to_string()).chain(args);
        let rows = stmt.query_map(params_from_iter(values), entry)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Up to `limit` entries of `kind` after `after` in remote-id order: walks a kind of any
    /// size (1.3 M memberships) in bounded memory.
    pub fn map_page(
        &self,
        job_id: JobId,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MapEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM object_map WHERE job_id = ?1 AND kind = ?2 AND remote_id > ?3
             ORDER BY remote_id LIMIT ?4"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![job_id.0, kind, after.unwrap_or(""), limit], entry)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether the job has no entry at all: one index probe, where counting would read every
    /// entry.
    pub fn map_is_empty(&self, job_id: JobId) -> Result<bool> {
        let conn = self.conn();
        let any: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM object_map WHERE job_id = ?1)")?
            .query_row([job_id.0], |row| row.get(0))?;
        Ok(!any)
    }

    /// Entries per kind, active and removed (for guards and the console).
    pub fn map_counts(&self, job_id: JobId) -> Result<MapCounts> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT kind, SUM(removed_at IS NULL), SUM(removed_at IS NOT NULL)
             FROM object_map WHERE job_id = ?1 GROUP BY kind",
        )?;
        let rows = stmt.query_map([job_id.0], |row| {
            let count = |i: usize| row.get::<_, i64>(i).map(|n| n.max(0).unsigned_abs());
            Ok((row.get::<_, String>(0)?, (count(1)?, count(2)?)))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forgets the job's whole map (the next run re-identifies objects in Assets); returns how many.
    pub fn map_clear(&self, job_id: JobId) -> Result<usize> {
        Ok(self
            .conn()
            .execute("DELETE FROM object_map WHERE job_id = ?1", [job_id.0])?)
    }
}
