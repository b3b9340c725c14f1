//! `link_items` and `link_intents`: the Dynamics connector's memory of the comments and
//! attachments it copied (so it never copies its own copies back, nor copies twice), and of
//! issue creates in flight (so a crash between create and record never makes a second issue).

use crate::error::Result;
use crate::sql::{ts, ts_col};
use crate::table::links::LinkId;
use crate::Store;
use crosswalk_core::JobId;
use rusqlite::{params, OptionalExtension, Row};
use time::OffsetDateTime;

/// What kind of thing was copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Comment,
    Attachment,
}

impl ItemKind {
    fn as_str(self) -> &'static str {
        match self {
            ItemKind::Comment => "comment",
            ItemKind::Attachment => "attachment",
        }
    }

    fn parse(value: &str) -> Option<ItemKind> {
        [ItemKind::Comment, ItemKind::Attachment]
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

/// The side an item was first written on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Jira,
    Dataverse,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Jira => "jira",
            Side::Dataverse => "dataverse",
        }
    }

    fn parse(value: &str) -> Option<Side> {
        [Side::Jira, Side::Dataverse]
            .into_iter()
            .find(|side| side.as_str() == value)
    }
}

/// Where an item's copy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemStatus {
    /// Journaled before the copy was written; not yet confirmed.
    Pending,
    Synced,
    /// Not copied on purpose (too large, disabled); `reason` says why.
    Skipped,
    /// The original was deleted (and the copy too, when deletions are mirrored).
    Deleted,
}

impl ItemStatus {
    fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pending => "pending",
            ItemStatus::Synced => "synced",
            ItemStatus::Skipped => "skipped",
            ItemStatus::Deleted => "deleted",
        }
    }

    fn parse(value: &str) -> Option<ItemStatus> {
        [
            ItemStatus::Pending,
            ItemStatus::Synced,
            ItemStatus::Skipped,
            ItemStatus::Deleted,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }
}

/// One copied (or deliberately skipped) comment or attachment of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkItem {
    pub id: i64,
    pub link_id: LinkId,
    pub kind: ItemKind,
    pub origin: Side,
    pub jira_id: Option<String>,
    pub dataverse_id: Option<String>,
    pub hash: String,
    pub status: ItemStatus,
    pub reason: Option<String>,
    pub created_at: OffsetDateTime,
}

/// An item to record (before its copy is written, with `status` Pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLinkItem {
    pub link_id: LinkId,
    pub kind: ItemKind,
    pub origin: Side,
    pub jira_id: Option<String>,
    pub dataverse_id: Option<String>,
    pub hash: String,
    pub status: ItemStatus,
    pub reason: Option<String>,
}

/// An issue create in flight for a Dataverse record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkIntent {
    pub dataverse_table: String,
    pub dataverse_id: String,
    pub started_at: OffsetDateTime,
}

const SELECT: &str = "SELECT id, link_id, kind, origin, jira_id, dataverse_id, hash, status,
        reason, created_at FROM link_items";

fn bad_word(index: usize, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("unknown word {value:?}").into(),
    )
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<LinkItem> {
    let kind: String = row.get(2)?;
    let origin: String = row.get(3)?;
    let status: String = row.get(7)?;
    Ok(LinkItem {
        id: row.get(0)?,
        link_id: LinkId(row.get(1)?),
        kind: ItemKind::parse(&kind).ok_or_else(|| bad_word(2, &kind))?,
        origin: Side::parse(&origin).ok_or_else(|| bad_word(3, &origin))?,
        jira_id: row.get(4)?,
        dataverse_id: row.get(5)?,
        hash: row.get(6)?,
        status: ItemStatus::parse(&status).ok_or_else(|| bad_word(7, &status))?,
        reason: row.get(8)?,
        created_at: ts_col(row, 9)?,
    })
}

impl Store {
    /// Records an item; returns its row id.
    ///
    /// # Errors
    /// A unique violation when the link already has that Jira or Dataverse id of that kind.
    pub fn insert_link_item(&self, item: &NewLinkItem) -> Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO link_items (link_id, kind, origin, jira_id, dataverse_id, hash, status,
                                     reason, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                item.link_id.0,
                item.kind.as_str(),
                item.origin.as_str(),
                item.jira_id,
                item.dataverse_id,
                item.hash,
                item.status.as_str(),
                item.reason,
                ts(self.now()),
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Confirms an item's copy: both ids known, status and hash as now.
    pub fn update_link_item(
        &self,
        id: i64,
        jira_id: Option<&str>,
        dataverse_id: Option<&str>,
        hash: &str,
        status: ItemStatus,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE link_items SET jira_id = COALESCE(?2, jira_id),
                    dataverse_id = COALESCE(?3, dataverse_id), hash = ?4, status = ?5
             WHERE id = ?1",
            params![id, jira_id, dataverse_id, hash, status.as_str()],
        )?;
        Ok(())
    }

    /// Every item of a link of one kind, oldest first.
    pub fn list_link_items(&self, link_id: LinkId, kind: ItemKind) -> Result<Vec<LinkItem>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT} WHERE link_id = ?1 AND kind = ?2 ORDER BY id"
        ))?;
        let rows = stmt
            .query_map(params![link_id.0, kind.as_str()], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The job's links with a copy journaled but not confirmed (a run stopped before the
    /// write, or the other side refused it): one read of the `link_items_pending` index per
    /// poll, so those copies are retried without a request for the links that have none.
    pub fn list_links_with_pending_items(&self, job_id: JobId) -> Result<Vec<LinkId>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT i.link_id FROM link_items i INDEXED BY link_items_pending
             JOIN links l ON l.id = i.link_id
             WHERE i.status = 'pending' AND l.job_id = ?1 ORDER BY i.link_id",
        )?;
        let rows = stmt
            .query_map([job_id.0], |row| Ok(LinkId(row.get(0)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Journals an issue create for a record; `false` when one was already journaled.
    pub fn insert_link_intent(&self, job_id: JobId, table: &str, record_id: &str) -> Result<bool> {
        Ok(self.conn().execute(
            "INSERT OR IGNORE INTO link_intents (job_id, dataverse_table, dataverse_id, started_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![job_id.0, table, record_id, ts(self.now())],
        )? > 0)
    }

    /// Issue creates journaled and not yet settled, oldest first.
    pub fn list_link_intents(&self, job_id: JobId) -> Result<Vec<LinkIntent>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT dataverse_table, dataverse_id, started_at FROM link_intents
             WHERE job_id = ?1 ORDER BY started_at, dataverse_id",
        )?;
        let rows = stmt
            .query_map([job_id.0], |row| {
                Ok(LinkIntent {
                    dataverse_table: row.get(0)?,
                    dataverse_id: row.get(1)?,
                    started_at: ts_col(row, 2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Settles an intent (its issue was recorded as a link, or it was never created).
    pub fn delete_link_intent(&self, job_id: JobId, table: &str, record_id: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM link_intents WHERE job_id = ?1 AND dataverse_table = ?2
                 AND dataverse_id = ?3",
            params![job_id.0, table, record_id],
        )?;
        Ok(())
    }

    /// Whether a record has an issue create in flight.
    pub fn has_link_intent(&self, job_id: JobId, table: &str, record_id: &str) -> Result<bool> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM link_intents WHERE job_id = ?1 AND dataverse_table = ?2
                     AND dataverse_id = ?3",
                params![job_id.0, table, record_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}
