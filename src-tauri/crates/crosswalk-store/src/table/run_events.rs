//! `run_events`: what a run did to each object (or noticed), for the run log screen.

use crate::error::{constraint, Error, Result};
use crate::sql::{json_col_opt, ts, ts_col, word_col};
use crate::Store;
use crosswalk_core::{EventLevel, RunId};
use rusqlite::types::Value;
use rusqlite::{ffi, params, params_from_iter, Row};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What happened to the object an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    Created,
    Updated,
    Unchanged,
    /// Marked inactive on the target (e.g. an Assets object whose user left).
    Retired,
    Deleted,
    Skipped,
    Failed,
    /// Not about one object: a note on the run itself.
    Info,
}

impl EventAction {
    const ALL: [EventAction; 8] = [
        EventAction::Created,
        EventAction::Updated,
        EventAction::Unchanged,
        EventAction::Retired,
        EventAction::Deleted,
        EventAction::Skipped,
        EventAction::Failed,
        EventAction::Info,
    ];

    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::Created => "created",
            EventAction::Updated => "updated",
            EventAction::Unchanged => "unchanged",
            EventAction::Retired => "retired",
            EventAction::Deleted => "deleted",
            EventAction::Skipped => "skipped",
            EventAction::Failed => "failed",
            EventAction::Info => "info",
        }
    }

    /// Parses the stored word.
    pub fn parse(value: &str) -> Option<EventAction> {
        EventAction::ALL
            .into_iter()
            .find(|action| action.as_str() == value)
    }
}

/// An event to append; build with `NewEvent::new(..)` and the `object`/`change`/`fix` setters.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: OffsetDateTime,
    pub level: EventLevel,
    pub action: EventAction,
    pub message: String,
    /// Kind of object (`user`, `group`, `case`), in Crosswalk's vocabulary.
    pub object_kind: Option<String>,
    /// The object's id on the source side.
    pub object_id: Option<String>,
    /// What an admin recognises the object by (display name, issue key).
    pub object_label: Option<String>,
    /// The target's fields before the change (only the fields the job manages).
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// What the admin can do about a warning or failure.
    pub fix: Option<String>,
}

impl NewEvent {
    /// An event about the run as a whole; add the object with `object`.
    pub fn new(
        at: OffsetDateTime,
        level: EventLevel,
        action: EventAction,
        message: impl Into<String>,
    ) -> NewEvent {
        NewEvent {
            at,
            level,
            action,
            message: message.into(),
            object_kind: None,
            object_id: None,
            object_label: None,
            before: None,
            after: None,
            fix: None,
        }
    }

    /// Names the object the event is about.
    pub fn object(
        mut self,
        kind: impl Into<String>,
        id: impl Into<String>,
        label: impl Into<String>,
    ) -> NewEvent {
        self.object_kind = Some(kind.into());
        self.object_id = Some(id.into());
        self.object_label = Some(label.into());
        self
    }

    /// Records the object's managed fields before and after the change.
    pub fn change(
        mut self,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> NewEvent {
        self.before = before;
        self.after = after;
        self
    }

    /// Adds what the admin should do.
    pub fn fix(mut self, fix: impl Into<String>) -> NewEvent {
        self.fix = Some(fix.into());
        self
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: i64,
    pub run_id: RunId,
    pub at: OffsetDateTime,
    pub level: EventLevel,
    pub action: EventAction,
    pub message: String,
    pub object_kind: Option<String>,
    pub object_id: Option<String>,
    pub object_label: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub fix: Option<String>,
}

/// Which events of a run to show; empty fields match everything. Events come oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// This severity or worse (`Warn` shows warnings and errors).
    pub min_level: Option<EventLevel>,
    pub action: Option<EventAction>,
    pub object_kind: Option<String>,
    /// Case-insensitive substring of the message, object label or object id.
    pub text: Option<String>,
    /// At most this many (`None`: all); ignored by `count_events`.
    pub limit: Option<u32>,
    /// Skip this many first; ignored by `count_events`.
    pub offset: u32,
}

impl EventFilter {
    /// The WHERE clause and its arguments for `run_id`.
    fn where_clause(&self, run_id: RunId) -> (String, Vec<Value>) {
        let mut sql = String::from(" WHERE run_id = ?1");
        let mut args = vec![Value::Integer(run_id.0)];
        let mut arg = |value: Value| {
            args.push(value);
            format!("?{}", args.len())
        };
        match self.min_level {
            None | Some(EventLevel::Info) => {}
            Some(EventLevel::Warn) => sql.push_str(" AND level IN ('warn', 'error')"),
            Some(EventLevel::Error) => sql.push_str(" AND level = 'error'"),
        }
        if let Some(action) = self.action {
            sql.push_str(&format!(
                " AND action = {}",
                arg(Value::Text(action.as_str().into()))
            ));
        }
        if let Some(kind) = &self.object_kind {
            sql.push_str(&format!(
                " AND object_kind = {}",
                arg(Value::Text(kind.clone()))
            ));
        }
        if let Some(text) = self.text.as_deref().filter(|text| !text.is_empty()) {
            let p = arg(Value::Text(format!("%{}%", escape_like(text))));
            sql.push_str(&format!(
                " AND (message LIKE {p} ESCAPE '\\' OR object_label LIKE {p} ESCAPE '\\' OR object_id LIKE {p} ESCAPE '\\')"
            ));
        }
        (sql, args)
    }
}

/// Escapes LIKE's wildcards so a search for `50%` finds "50%".
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

const SELECT: &str = "SELECT id, run_id, at, level, action, message, object_kind, object_id,
        object_label, before, after, fix
    FROM run_events";

fn from_row(row: &Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        id: row.get(0)?,
        run_id: RunId(row.get(1)?),
        at: ts_col(row, 2)?,
        level: word_col(row, 3, EventLevel::parse)?,
        action: word_col(row, 4, EventAction::parse)?,
        message: row.get(5)?,
        object_kind: row.get(6)?,
        object_id: row.get(7)?,
        object_label: row.get(8)?,
        before: json_col_opt(row, 9)?,
        after: json_col_opt(row, 10)?,
        fix: row.get(11)?,
    })
}

impl Store {
    /// Appends a batch of events to a run in one transaction (all or none).
    ///
    /// # Errors
    /// `Error::NotFound` when the run does not exist.
    pub fn append_events(&self, run_id: RunId, events: &[NewEvent]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO run_events (run_id, at, level, action, message, object_kind, object_id,
                                         object_label, before, after, fix)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for event in events {
                let before = event
                    .before
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()?;
                let after = event
                    .after
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()?;
                stmt.execute(params![
                    run_id.0,
                    ts(event.at),
                    event.level.as_str(),
                    event.action.as_str(),
                    event.message,
                    event.object_kind,
                    event.object_id,
                    event.object_label,
                    before,
                    after,
                    event.fix,
                ])
                .map_err(|error| match constraint(&error) {
                    Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => Error::NotFound {
                        what: "run",
                        name: run_id.to_string(),
                    },
                    _ => Error::Sqlite(error),
                })?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A page of a run's events matching `filter`, oldest first.
    pub fn list_events(&self, run_id: RunId, filter: &EventFilter) -> Result<Vec<EventRow>> {
        let (where_clause, mut args) = filter.where_clause(run_id);
        let limit = filter.limit.map_or(-1, i64::from);
        args.push(Value::Integer(limit));
        args.push(Value::Integer(i64::from(filter.offset)));
        let sql = format!(
            "{SELECT}{where_clause} ORDER BY id LIMIT ?{} OFFSET ?{}",
            args.len() - 1,
            args.len()
        );
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args), from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// How many of a run's events match `filter` (for "page 3 of 12").
    pub fn count_events(&self, run_id: RunId, filter: &EventFilter) -> Result<u64> {
        let (where_clause, args) = filter.where_clause(run_id);
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached(&format!("SELECT count(*) FROM run_events{where_clause}"))?;
        let count: i64 = stmt.query_row(params_from_iter(args), |row| row.get(0))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
