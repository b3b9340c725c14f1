//! Brings one link's mapped fields in step, then its status (`link_status`).
//!
//! Each side's current value is compared with what both sides held at the last sync (the
//! link's state); only a side that changed since is copied, in the mode's direction, and a
//! field changed on both sides is settled by its ownership rule and logged as a conflict ("most
//! recent wins" times each side by the field's own newest change, see `recency`). After writing, the
//! written side is read back so the next poll sees its own write as no change.

use crate::convert;
use crate::error::{Error, Result};
use crate::recency::{judge, Times};
use crate::settings::{FieldMapping, Ownership, SyncMode};
use crate::state::{FieldState, LinkState, StatusState};
use crate::status::Winner;
use crate::sync::{parse_stamp, Details, Item};
use crosswalk_core::EventLevel;
use crosswalk_dataverse::Record;
use crosswalk_engine::context::EventAction;
use crosswalk_engine::RunEvent;
use crosswalk_jira::Issue;
use crosswalk_store::LinkRow;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// The changelog field id of an issue's status (§B.6).
pub(crate) const STATUS_FIELD: &str = "status";

/// Which way one field goes this poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToJira,
    ToDataverse,
}

/// One mapped field on both sides now, compared with the link's state.
#[derive(Debug, Default)]
struct FieldChange<'a> {
    record_value: Option<&'a Value>,
    issue_value: Option<&'a Value>,
    /// Comparable values (`None`: that side was not read this poll).
    d_now: Option<Value>,
    j_now: Option<Value>,
    d_changed: bool,
    j_changed: bool,
    /// Both sides changed to something new: a conflict in two-way mode.
    both: bool,
}

/// The record's version as the link state keeps it: its ETag (the row version, which changes
/// with every write) or, without one, `modifiedon` — whole seconds, so an edit in the same
/// second as the connector's read-back would look like a version already seen.
pub(crate) fn record_version(record: &Record) -> Option<String> {
    record.etag.as_ref().map(|etag| etag.0.clone()).or_else(|| {
        record
            .fields
            .get("modifiedon")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// When the record last changed, any column (for "most recent wins"; whole seconds).
pub(crate) fn modified_on(record: &Record) -> Option<OffsetDateTime> {
    record
        .fields
        .get("modifiedon")
        .and_then(Value::as_str)
        .and_then(parse_stamp)
}

/// The issue's version as the link state keeps it.
pub(crate) fn issue_updated(issue: &Issue) -> Option<String> {
    issue
        .fields
        .get("updated")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub(crate) fn record_status(record: &Record) -> Option<(i32, i32)> {
    let get = |name: &str| {
        record
            .fields
            .get(name)
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
    };
    Some((get("statecode")?, get("statuscode")?))
}

/// Whether the record's and the issue's status changed since the state: (Dynamics, Jira). A
/// Jira status without a stored pair counts as a change only on a new link.
pub(crate) fn status_changes(
    state: &LinkState,
    record: Option<&Record>,
    issue: Option<&Issue>,
) -> (bool, bool) {
    let previous = state.status.as_ref();
    let d_changed = match (record.and_then(record_status), previous) {
        (Some(now), Some(prev)) => now != (prev.state, prev.status),
        (Some(_), None) => true,
        _ => false,
    };
    let j_changed = match (issue.and_then(Issue::status), previous) {
        (Some(now), Some(prev)) => now.id != prev.jira,
        (Some(_), None) => !state.initialized,
        _ => false,
    };
    (d_changed, j_changed)
}

/// A write's outcome for the link's log, except a 404: the issue or the record may be gone, and
/// the poll asks which (a deletion unlinks instead of failing at every poll).
fn gone_or_refused<E: Into<Error>>(
    outcome: std::result::Result<(), E>,
) -> Result<std::result::Result<(), crosswalk_core::UserFacing>> {
    match outcome.map_err(Into::into) {
        Err(error) if crate::presence::is_not_found(&error) => Err(error),
        outcome => Ok(outcome.map_err(|error| error.user_facing())),
    }
}

impl Item {
    /// Syncs one link given what changed (`None`: that side did not change this poll); returns
    /// the newest copy of the issue it read, if any, so the comments step need not read it again.
    /// With `backfill` (mappings were added) the record is compared even if it did not change,
    /// read when this poll did not, so the new mappings' values are carried once.
    ///
    /// # Errors
    /// Store failures and remote failures that stop the whole item (sign-in, throttling that
    /// outlasted the retries); per-field problems are events and the link continues.
    pub async fn sync_link(
        &self,
        link: &LinkRow,
        record: Option<Record>,
        issue: Option<Issue>,
        backfill: bool,
    ) -> Result<Option<Issue>> {
        let mut state = LinkState::from_json(&link.state);
        // A version we already saw (our own write read back, or a re-read overlap) is no news.
        let mut record = record
            .filter(|r| backfill || record_version(r) != state.record_at || !state.initialized);
        if backfill && state.initialized && record.is_none() {
            record = Some(self.read_record(&link.dataverse_id).await?);
        }
        let mut issue = issue.filter(|i| issue_updated(i) != state.issue_at || !state.initialized);
        // A status move that failed, on either side, is tried again at every poll
        // (`state.status_pending`).
        let now = self.services.clock.now();
        let retry_status = self.settings.status.enabled
            && !self.dry_run
            && state.status_pending.as_ref().is_some_and(|p| p.due(now));
        // A new link (a manual or bulk link of records that did not change) syncs once anyway.
        if record.is_none() && issue.is_none() && state.initialized && !retry_status {
            return Ok(None);
        }
        let details = self.details().await?;
        if !state.initialized {
            if record.is_none() {
                record = Some(self.read_record(&link.dataverse_id).await?);
            }
            if issue.is_none() {
                issue = Some(self.read_issue(&link.jira_issue_id).await?);
            }
        }
        // Without a fresh read (a retry poll), the name this link last read, else the id.
        let label = self.link_label(link, record.as_ref(), state.record_name.as_deref());

        // Change tracking answers no formatted values; lookups shown by name need them.
        if record
            .as_ref()
            .is_some_and(|r| self.lacks_names(details, r))
        {
            record = Some(self.read_record(&link.dataverse_id).await?);
        }
        self.resolve_users(details, record.as_ref(), issue.as_ref())
            .await;
        // Jira's changelog and Dynamics' audit history are read only for a real "most recent
        // wins" conflict.
        let conflicts =
            self.most_recent_conflicts(details, &state, record.as_ref(), issue.as_ref());
        let times = if conflicts.is_empty() {
            Times::without_history(record.as_ref(), issue.as_ref())
        } else {
            self.conflict_times(link, record.as_ref(), issue.as_ref(), &conflicts)
                .await?
        };
        let (to_jira, to_dataverse) = self.plan_fields(
            details,
            link,
            &state,
            record.as_ref(),
            issue.as_ref(),
            &times,
        );
        let mut wrote_jira = false;
        let mut wrote_dataverse = false;
        if !to_jira.0.is_empty() && !self.dry_run {
            let outcome = self
                .clients
                .jira
                .edit_issue(&link.jira_issue_id, Value::Object(to_jira.0.clone()))
                .await;
            let outcome = gone_or_refused(outcome)?;
            wrote_jira = self.log_write(link, &label, "issue", "Dynamics", to_jira, outcome);
        }
        if !to_dataverse.0.is_empty() && !self.dry_run {
            let outcome = self
                .clients
                .dataverse
                .update(
                    self.entity_set(),
                    &link.dataverse_id,
                    &Value::Object(to_dataverse.0.clone()),
                    None,
                )
                .await;
            let outcome = gone_or_refused(outcome)?;
            wrote_dataverse = self.log_write(link, &label, "record", "Jira", to_dataverse, outcome);
        }

        if self.settings.status.enabled && !self.dry_run {
            let (j, d) = self
                .sync_status(
                    link,
                    &label,
                    &mut state,
                    record.as_ref(),
                    issue.as_ref(),
                    &times,
                )
                .await?;
            wrote_jira |= j;
            wrote_dataverse |= d;
        } else if !self.settings.status.enabled {
            state.status_pending = None;
        }
        if self.dry_run {
            return Ok(issue);
        }

        // Read back what was written, so the next poll recognises it.
        if wrote_jira {
            issue = Some(self.read_issue(&link.jira_issue_id).await?);
        }
        if wrote_dataverse {
            record = Some(self.read_record(&link.dataverse_id).await?);
        }
        self.remember(details, &mut state, record.as_ref(), issue.as_ref());
        state.initialized = true;
        self.save_state(link, &state)?;
        Ok(issue)
    }

    /// Logs one side's field write: an `Updated` event with the before/after values, or the
    /// failure with its fix. Returns whether the write happened.
    #[allow(clippy::type_complexity)]
    fn log_write(
        &self,
        link: &LinkRow,
        label: &str,
        kind: &str,
        source: &str,
        (_, names, before, after): (
            Map<String, Value>,
            Vec<String>,
            Map<String, Value>,
            Map<String, Value>,
        ),
        outcome: std::result::Result<(), crosswalk_core::UserFacing>,
    ) -> bool {
        match outcome {
            Ok(()) => {
                self.journal.event(
                    RunEvent::object(
                        kind,
                        &link.jira_key,
                        label,
                        EventAction::Updated,
                        format!("Updated {} from {source}", names.join(", ")),
                    )
                    .with_change(Some(Value::Object(before)), Some(Value::Object(after))),
                );
                true
            }
            Err(facing) => {
                self.field_failure(link, label, kind, &facing);
                false
            }
        }
    }

    /// Logs a write Jira or Dataverse refused for one link, with the fix when there is one.
    pub(crate) fn field_failure(
        &self,
        link: &LinkRow,
        label: &str,
        kind: &str,
        facing: &crosswalk_core::UserFacing,
    ) {
        let mut event = RunEvent::object(
            kind,
            &link.jira_key,
            label,
            EventAction::Failed,
            facing.message.clone(),
        );
        if let Some(fix) = &facing.fix {
            event = event.with_fix(fix.clone());
        }
        self.journal.event(event);
    }

    /// The link's name in run-log events: the record's primary name when it was read, else
    /// `stored` (the name the link last read, when the caller passes it), else the record id.
    fn link_label(&self, link: &LinkRow, record: Option<&Record>, stored: Option<&str>) -> String {
        record
            .map(|r| self.record_label(r))
            .or_else(|| stored.map(str::to_owned))
            .unwrap_or_else(|| link.dataverse_id.clone())
    }

    /// A mapped value that could not be converted, logged with the mapping to check (`from`
    /// → `to`, in the direction of the copy).
    fn conversion_failed(
        &self,
        link: &LinkRow,
        label: &str,
        error: &impl std::fmt::Display,
        (from, to): (&str, &str),
    ) {
        self.journal.event(
            RunEvent::object(
                "field",
                &link.jira_key,
                label,
                EventAction::Failed,
                error.to_string(),
            )
            .with_fix(format!(
                "Check the mapping {from} → {to} in the item's field mappings (value map, types)"
            )),
        );
    }

    /// A record's primary name column as read (`None` when the table has none or the read
    /// did not carry it).
    pub(crate) fn primary_name_of<'r>(&self, record: &'r Record) -> Option<&'r Value> {
        let column = self.meta.entity.primary_name_attribute.as_ref()?;
        record.fields.get(column)
    }

    /// Records both sides' current comparable values, versions and names in the state.
    fn remember(
        &self,
        details: &Details,
        state: &mut LinkState,
        record: Option<&Record>,
        issue: Option<&Issue>,
    ) {
        for mapping in &self.settings.fields {
            let (Some(column), Some(field)) = (
                details.meta.columns.get(&mapping.dataverse),
                details.meta.fields.get(&mapping.jira),
            ) else {
                continue;
            };
            let previous = state.fields.get(&mapping.jira).cloned();
            let dataverse = match record {
                Some(r) => {
                    convert::comparable_dataverse(column, self.record_value(r, &mapping.dataverse))
                }
                None => previous
                    .as_ref()
                    .map(|p| p.dataverse.clone())
                    .unwrap_or(Value::Null),
            };
            let jira = match issue {
                Some(i) => convert::comparable_jira(
                    field,
                    i.fields.get(&mapping.jira).unwrap_or(&Value::Null),
                ),
                None => previous.map(|p| p.jira).unwrap_or(Value::Null),
            };
            state
                .fields
                .insert(mapping.jira.clone(), FieldState { dataverse, jira });
        }
        if let Some(r) = record {
            state.record_at = record_version(r);
        }
        if let Some(i) = issue {
            state.issue_at = issue_updated(i);
        }
        // Both reads already carry the names (the record's primary name column is in every
        // `$select`, `summary` in every issue read), so keeping them costs no request.
        state.remember_names(
            record.and_then(|r| self.primary_name_of(r)),
            issue.and_then(|i| i.fields.get("summary")),
        );
        if self.settings.status.enabled {
            let dv = record
                .and_then(record_status)
                .or_else(|| state.status.as_ref().map(|s| (s.state, s.status)));
            let jira = issue
                .and_then(Issue::status)
                .map(|s| s.id)
                .or_else(|| state.status.as_ref().map(|s| s.jira.clone()));
            if let (Some((st, sc)), Some(jira)) = (dv, jira) {
                state.status = Some(StatusState {
                    state: st,
                    status: sc,
                    jira,
                });
            }
        }
    }

    /// The writes of this poll: (Jira fields, written names, before, after) and the same for
    /// Dataverse.
    #[allow(clippy::type_complexity)]
    fn plan_fields(
        &self,
        details: &Details,
        link: &LinkRow,
        state: &LinkState,
        record: Option<&Record>,
        issue: Option<&Issue>,
        times: &Times,
    ) -> (
        (
            Map<String, Value>,
            Vec<String>,
            Map<String, Value>,
            Map<String, Value>,
        ),
        (
            Map<String, Value>,
            Vec<String>,
            Map<String, Value>,
            Map<String, Value>,
        ),
    ) {
        let mut jira = (Map::new(), Vec::new(), Map::new(), Map::new());
        let mut dataverse = (Map::new(), Vec::new(), Map::new(), Map::new());
        let label = self.link_label(link, record, None);
        for mapping in &self.settings.fields {
            let (Some(column), Some(field)) = (
                details.meta.columns.get(&mapping.dataverse),
                details.meta.fields.get(&mapping.jira),
            ) else {
                continue;
            };
            let FieldChange {
                record_value,
                issue_value,
                d_now,
                j_now,
                d_changed,
                j_changed,
                both,
            } = self.field_change(details, mapping, state, record, issue);
            let direction = if !state.initialized {
                // A new link starts from the record: Dynamics' values are pushed once.
                d_now.as_ref().map(|_| Direction::ToJira)
            } else {
                match (self.settings.mode, d_changed, j_changed) {
                    (SyncMode::DisplayOnly, _, _) => None,
                    (SyncMode::OneWay, true, _) => Some(Direction::ToJira),
                    (SyncMode::OneWay, false, _) => None,
                    (SyncMode::TwoWay, true, false) => Some(Direction::ToJira),
                    (SyncMode::TwoWay, false, true) => Some(Direction::ToDataverse),
                    (SyncMode::TwoWay, false, false) => None,
                    (SyncMode::TwoWay, true, true) if !both => None,
                    (SyncMode::TwoWay, true, true) => {
                        let (direction, why, compared, fix) =
                            self.conflict_winner(mapping, &field.name, link, times);
                        let event = RunEvent::object(
                            "conflict",
                            &link.jira_key,
                            &label,
                            EventAction::Info,
                            format!(
                                "{} changed in both Jira and Dynamics since the last sync; {why}",
                                field.name
                            ),
                        )
                        .with_level(EventLevel::Warn)
                        .with_change(
                            Some(json!({"dynamics": record_value, "jira": issue_value})),
                            Some(json!({
                                "winner": match direction {
                                    Direction::ToJira => "dynamics",
                                    Direction::ToDataverse => "jira",
                                },
                                "compared": compared,
                                "why": why,
                            })),
                        );
                        // The fix when Dynamics' audit history was refused (see `recency`).
                        self.journal.event(match fix {
                            Some(fix) => event.with_fix(fix),
                            None => event,
                        });
                        Some(direction)
                    }
                }
            };
            let values = self.convert_ctx(&mapping.values);
            match direction {
                Some(Direction::ToJira) => {
                    let Some(value) = record_value else { continue };
                    let formatted = record.and_then(|r| {
                        r.formatted
                            .get(&self.read_name(&mapping.dataverse))
                            .map(String::as_str)
                    });
                    if !state.initialized && j_now.is_some() && j_now == d_now {
                        continue;
                    }
                    match convert::to_jira(column, field, value, formatted, &values) {
                        Ok(write) => {
                            jira.0.insert(mapping.jira.clone(), write);
                            jira.1.push(field.name.clone());
                            // An issue not read this poll did not change: it still holds
                            // what it held at the last sync.
                            let before = issue_value.cloned().or_else(|| {
                                state.fields.get(&mapping.jira).map(|s| s.jira.clone())
                            });
                            jira.2
                                .insert(field.name.clone(), before.unwrap_or(Value::Null));
                            jira.3.insert(field.name.clone(), Self::describe(value));
                        }
                        Err(error) => self.conversion_failed(
                            link,
                            &label,
                            &error,
                            (&mapping.dataverse, &field.name),
                        ),
                    }
                }
                Some(Direction::ToDataverse) => {
                    let Some(value) = issue_value else { continue };
                    match convert::to_dataverse(column, field, value, &values) {
                        Ok(write) => {
                            for (key, v) in write {
                                dataverse.0.insert(key, v);
                            }
                            dataverse.1.push(mapping.dataverse.clone());
                            // Likewise a record not read this poll.
                            let before = record_value.cloned().or_else(|| {
                                state.fields.get(&mapping.jira).map(|s| s.dataverse.clone())
                            });
                            dataverse
                                .2
                                .insert(mapping.dataverse.clone(), before.unwrap_or(Value::Null));
                            dataverse
                                .3
                                .insert(mapping.dataverse.clone(), Self::describe(value));
                        }
                        Err(error) => self.conversion_failed(
                            link,
                            &label,
                            &error,
                            (&field.name, &mapping.dataverse),
                        ),
                    }
                }
                None => {}
            }
        }
        (jira, dataverse)
    }

    /// Which side wins a field changed on both sides, why (for the conflict log) and, for "most
    /// recent wins", the compared times (each side's newest change of the field, see
    /// `recency`) and the fix when a time could not be read.
    fn conflict_winner(
        &self,
        mapping: &FieldMapping,
        name: &str,
        link: &LinkRow,
        times: &Times,
    ) -> (Direction, String, Value, Option<String>) {
        match mapping.owner {
            Ownership::Jira => (
                Direction::ToDataverse,
                "Jira's value won (the field is owned by Jira).".to_owned(),
                Value::Null,
                None,
            ),
            Ownership::Dynamics => (
                Direction::ToJira,
                "Dynamics' value won (the field is owned by Dynamics).".to_owned(),
                Value::Null,
                None,
            ),
            Ownership::MostRecent => {
                let verdict = judge(
                    name,
                    times.jira.of(&mapping.jira),
                    times.dynamics.of(&mapping.dataverse),
                    link.baseline_at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
                );
                let direction = match verdict.winner {
                    Winner::Jira => Direction::ToDataverse,
                    Winner::Dataverse => Direction::ToJira,
                    // Neither is after the link was made: the record, where the link started.
                    Winner::Neither => Direction::ToJira,
                };
                let why = match verdict.winner {
                    Winner::Neither => format!("Dynamics' value won: {}", verdict.why),
                    _ => verdict.why,
                };
                (direction, why, verdict.compared, verdict.fix)
            }
        }
    }

    /// One mapped field now on both sides against the state.
    fn field_change<'a>(
        &self,
        details: &Details,
        mapping: &FieldMapping,
        state: &LinkState,
        record: Option<&'a Record>,
        issue: Option<&'a Issue>,
    ) -> FieldChange<'a> {
        let (Some(column), Some(field)) = (
            details.meta.columns.get(&mapping.dataverse),
            details.meta.fields.get(&mapping.jira),
        ) else {
            return FieldChange::default();
        };
        let previous = state.fields.get(&mapping.jira);
        // Dataverse answers null for a selected empty column: a column missing from the answer
        // was not read (an older query's `$select`), which says nothing of its value.
        let read_name = self.read_name(&mapping.dataverse);
        let record_value = record
            .filter(|r| r.fields.contains_key(&read_name))
            .map(|r| self.record_value(r, &mapping.dataverse));
        let issue_value = issue.map(|i| i.fields.get(&mapping.jira).unwrap_or(&Value::Null));
        let d_now = record_value.map(|v| convert::comparable_dataverse(column, v));
        let j_now = issue_value.map(|v| convert::comparable_jira(field, v));
        let d_changed = match (&d_now, previous) {
            (Some(now), Some(prev)) => *now != prev.dataverse,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let j_changed = match (&j_now, previous) {
            (Some(now), Some(prev)) => *now != prev.jira,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let both = d_changed
            && j_changed
            && d_now != previous.map(|p| p.dataverse.clone())
            && j_now != previous.map(|p| p.jira.clone());
        FieldChange {
            record_value,
            issue_value,
            d_now,
            j_now,
            d_changed,
            j_changed,
            both,
        }
    }

    /// Jira field ids (and `status`) changed on both sides since the last sync and settled by
    /// "most recent wins": the only case that needs Jira's per-field times.
    fn most_recent_conflicts(
        &self,
        details: &Details,
        state: &LinkState,
        record: Option<&Record>,
        issue: Option<&Issue>,
    ) -> Vec<String> {
        if !state.initialized || record.is_none() || issue.is_none() {
            return Vec::new();
        }
        let mut fields: Vec<String> = Vec::new();
        if self.settings.mode == SyncMode::TwoWay {
            for mapping in &self.settings.fields {
                if mapping.owner == Ownership::MostRecent
                    && self
                        .field_change(details, mapping, state, record, issue)
                        .both
                    && !fields.contains(&mapping.jira)
                {
                    fields.push(mapping.jira.clone());
                }
            }
        }
        if self.settings.status.enabled && status_changes(state, record, issue) == (true, true) {
            fields.push(STATUS_FIELD.to_owned());
        }
        fields
    }
}
