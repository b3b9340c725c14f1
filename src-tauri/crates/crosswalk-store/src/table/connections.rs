//! `connections`: each remote system's endpoints and where its secret lives (never the secret).

use crate::error::{Error, Result};
use crate::sql::{json_col, ts, ts_col};
use crate::{Store, Upserted};
use crosswalk_core::{ConnectionConfig, ConnectionId};
use rusqlite::{params, OptionalExtension, Row};
use time::OffsetDateTime;

/// A connection as stored, with its row id and stamps.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConnection {
    pub id: ConnectionId,
    pub config: ConnectionConfig,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT id, settings, created_at, updated_at FROM connections";

fn from_row(row: &Row<'_>) -> rusqlite::Result<StoredConnection> {
    Ok(StoredConnection {
        id: ConnectionId(row.get(0)?),
        config: json_col(row, 1)?,
        created_at: ts_col(row, 2)?,
        updated_at: ts_col(row, 3)?,
    })
}

impl Store {
    /// All connections, by name.
    pub fn list_connections(&self) -> Result<Vec<StoredConnection>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY name"))?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The connection named `name`, if any.
    pub fn find_connection(&self, name: &str) -> Result<Option<StoredConnection>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE name = ?1"))?;
        Ok(stmt.query_row([name], from_row).optional()?)
    }

    /// The connection named `name`.
    ///
    /// # Errors
    /// `Error::NotFound` when there is none.
    pub fn get_connection(&self, name: &str) -> Result<StoredConnection> {
        self.find_connection(name)?.ok_or_else(|| Error::NotFound {
            what: "connection",
            name: name.to_owned(),
        })
    }

    /// Saves `config` under its name; saving the same config again changes nothing.
    pub fn upsert_connection(&self, config: &ConnectionConfig) -> Result<(ConnectionId, Upserted)> {
        let now = ts(self.now());
        let json = serde_json::to_string(config)?;
        let kind = config.settings.kind().as_str();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let existing = tx
            .query_row(
                "SELECT id, settings FROM connections WHERE name = ?1",
                [&config.name],
                |row| {
                    Ok((
                        ConnectionId(row.get(0)?),
                        json_col::<ConnectionConfig>(row, 1)?,
                    ))
                },
            )
            .optional()?;
        let outcome = match existing {
            Some((id, stored)) if stored == *config => (id, Upserted::Unchanged),
            Some((id, _)) => {
                tx.execute(
                    "UPDATE connections SET kind = ?2, settings = ?3, updated_at = ?4 WHERE id = ?1",
                    params![id.0, kind, json, now],
                )?;
                (id, Upserted::Updated)
            }
            None => {
                tx.execute(
                    "INSERT INTO connections (name, kind, settings, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![config.name, kind, json, now],
                )?;
                (ConnectionId(tx.last_insert_rowid()), Upserted::Created)
            }
        };
        tx.commit()?;
        tracing::debug!(message = "Saved connection.", name = %config.name, outcome = ?outcome.1);
        Ok(outcome)
    }

    /// Deletes the connection named `name`; `false` if there was none.
    pub fn delete_connection(&self, name: &str) -> Result<bool> {
        let deleted = self
            .conn()
            .execute("DELETE FROM connections WHERE name = ?1", [name])?;
        Ok(deleted > 0)
    }
}
