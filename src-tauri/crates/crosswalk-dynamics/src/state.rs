//! What a link remembers between polls (stored as JSON in `links.state`): the comparable value
//! of each mapped field on both sides at the last sync, the status pair, the versions of the
//! record and issue it last saw, so its own writes read back as "no change", a status move
//! (to Jira or Dataverse) still to be made, and both sides' names as last read (the console's
//! link filter matches them without a remote call).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One mapped field as both sides held it when they last agreed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldState {
    /// `convert::comparable_dataverse` of the column.
    pub dataverse: Value,
    /// `convert::comparable_jira` of the field.
    pub jira: Value,
}

/// The status pair both sides held at the last sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusState {
    pub state: i32,
    pub status: i32,
    /// Jira status id.
    pub jira: String,
}

/// The side a pending status move writes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusSide {
    /// A Jira workflow transition (the default: states stored before Dataverse writes were
    /// retried hold only Jira moves).
    #[default]
    Jira,
    /// A Dataverse status write (an update or one of the documented actions).
    Dynamics,
}

/// A status move that failed: to Jira because the record's status asks for it (no transition
/// to the target, or Jira refused it), or to Dataverse because Jira's status asks for it
/// (Dataverse refused the update or action). Tried again at every poll until it applies or
/// either side's status changes, and reported again only when the target or the reason changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingStatus {
    /// The side the move writes to.
    #[serde(default)]
    pub side: StatusSide,
    /// The status the move aims at: a Jira status id, or `state/status` in Dataverse
    /// (see [`PendingStatus::dataverse_target`]).
    pub target: String,
    /// The last attempt's failure as the admin read it.
    pub reason: String,
    /// Failed attempts at this target so far.
    pub attempts: u32,
    /// After [`PendingStatus::EVERY_POLL`] attempts, not tried again before this time (RFC 3339):
    /// a move the admin has not fixed yet costs a request per link every quarter hour, not
    /// every poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
}

impl PendingStatus {
    /// How a Dataverse target is stored: `"1/3"` for statecode 1, statuscode 3.
    pub fn dataverse_target((state, status): (i32, i32)) -> String {
        format!("{state}/{status}")
    }

    /// Whether this is a move on `side` to `target` (its attempts count on).
    pub fn aims_at(&self, side: StatusSide, target: &str) -> bool {
        self.side == side && self.target == target
    }

    /// Attempts made at every poll before retries slow down to [`PendingStatus::BACKOFF`].
    pub const EVERY_POLL: u32 = 5;
    /// The wait between later attempts.
    pub const BACKOFF: time::Duration = time::Duration::minutes(15);

    /// When the next attempt may be made after `attempts` failures, from `now`.
    pub fn retry_after_for(attempts: u32, now: time::OffsetDateTime) -> Option<String> {
        (attempts >= Self::EVERY_POLL)
            .then(|| {
                (now + Self::BACKOFF)
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .flatten()
    }

    /// Whether the move may be tried at `now`.
    pub fn due(&self, now: time::OffsetDateTime) -> bool {
        self.retry_after.as_deref().is_none_or(|at| {
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                .map_or(true, |at| now >= at)
        })
    }
}

/// Comments or attachments whose copy is journaled but not confirmed (a run stopped before the
/// write, or the other side refused it): retried on the [`PendingStatus`] schedule, and each
/// distinct failure reported once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCopies {
    /// The failures reported since the copies became pending, as the admin read them.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Polls that tried and left copies pending.
    #[serde(default)]
    pub attempts: u32,
    /// Not tried again before this time (RFC 3339), see [`PendingStatus::retry_after_for`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
}

impl PendingCopies {
    /// Whether the copies may be tried at `now`.
    pub fn due(&self, now: time::OffsetDateTime) -> bool {
        self.retry_after.as_deref().is_none_or(|at| {
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                .map_or(true, |at| now >= at)
        })
    }
}

/// A link's memory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkState {
    /// False until the link's first sync pushed Dynamics' values (a new link's baseline).
    #[serde(default)]
    pub initialized: bool,
    /// Per Jira field id.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusState>,
    /// The record's `modifiedon` as last read (a change read with this version is our own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_at: Option<String>,
    /// The issue's `updated` as last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_at: Option<String>,
    /// A status move to Jira or Dataverse still to be made (see [`PendingStatus`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_pending: Option<PendingStatus>,
    /// Copies of comments or attachments still to be made (see [`PendingCopies`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies_pending: Option<PendingCopies>,
    /// The "Linked to Jira" note on the record's timeline (never synced as a comment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_note: Option<String>,
    /// The issue's summary as last read (by the link or a sync), so admins can find the link
    /// by what they see without asking Jira.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_summary: Option<String>,
    /// The record's primary name (the table's `PrimaryNameAttribute`) as last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_name: Option<String>,
}

impl LinkState {
    /// Reads a stored state; anything unreadable starts over (the next sync re-baselines).
    pub fn from_json(value: &Value) -> LinkState {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }

    /// Keeps the names a read carried: `None` is a side not read (or read without its name
    /// column), whose stored name stays; an empty or null name is no name.
    pub fn remember_names(&mut self, record_name: Option<&Value>, issue_summary: Option<&Value>) {
        let text = |value: &Value| {
            value
                .as_str()
                .filter(|text| !text.trim().is_empty())
                .map(str::to_owned)
        };
        if let Some(name) = record_name {
            self.record_name = text(name);
        }
        if let Some(summary) = issue_summary {
            self.issue_summary = text(summary);
        }
    }

    /// The JSON stored in `links.state`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
