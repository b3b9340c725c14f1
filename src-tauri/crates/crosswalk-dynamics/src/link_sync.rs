//! Brings one link's mapped fields and status in step.
//!
//! Each side's current value is compared with what both sides held at the last sync (the
//! link's state); only a side that changed since is copied, in the mode's direction, and a
//! field changed on both sides is settled by its ownership rule and logged as a conflict. After
//! writing, the written side is read back so the next poll sees its own write as no change.

use crate::convert;
use crate::error::Result;
use crate::settings::{Ownership, SyncMode};
use crate::state::{FieldState, LinkState, StatusState};
use crate::status::{
    most_recent_wins, plan_dataverse_write, plan_jira_move, DataverseStatusWrite, JiraStatusMove,
    Winner,
};
use crate::sync::{parse_stamp, Item};
use crosswalk_core::EventLevel;
use crosswalk_dataverse::Record;
use crosswalk_engine::context::EventAction;
use crosswalk_engine::RunEvent;
use crosswalk_jira::Issue;
use crosswalk_store::LinkRow;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// Which way one field goes this poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToJira,
    ToDataverse,
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

/// When the record last changed (for "most recent wins"; whole seconds).
fn modified_on(record: &Record) -> Option<String> {
    record
        .fields
        .get("modifiedon")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The issue's version as the link state keeps it.
pub(crate) fn issue_updated(issue: &Issue) -> Option<String> {
    issue
        .fields
        .get("updated")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn record_status(record: &Record) -> Option<(i32, i32)> {
    let get = |name: &str| {
        record
            .fields
            .get(name)
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
    };
    Some((get("statecode")?, get("statuscode")?))
}

impl Item {
    /// Syncs one link given what changed (`None`: that side did not change this poll); returns
    /// the newest copy of the issue it read, if any, so the comments step need not read it again.
    ///
    /// # Errors
    /// Store failures and remote failures that stop the whole item (sign-in, throttling that
    /// outlasted the retries); per-field problems are events and the link continues.
    pub async fn sync_link(
        &self,
        link: &LinkRow,
        record: Option<Record>,
        issue: Option<Issue>,
    ) -> Result<Option<Issue>> {
        let mut state = LinkState::from_json(&link.state);
        // A version we already saw (our own write read back, or a re-read overlap) is no news.
        let mut record =
            record.filter(|r| record_version(r) != state.record_at || !state.initialized);
        let mut issue = issue.filter(|i| issue_updated(i) != state.issue_at || !state.initialized);
        // A new link (a manual or bulk link of records that did not change) syncs once anyway.
        if record.is_none() && issue.is_none() && state.initialized {
            return Ok(None);
        }
        if !state.initialized {
            if record.is_none() {
                record = Some(self.read_record(&link.dataverse_id).await?);
            }
            if issue.is_none() {
                issue = Some(self.read_issue(&link.jira_issue_id).await?);
            }
        }
        let label = record
            .as_ref()
            .map(|r| self.record_label(r))
            .unwrap_or_else(|| link.dataverse_id.clone());

        // Change tracking answers no formatted values; lookups shown by name need them.
        if record.as_ref().is_some_and(|r| self.lacks_names(r)) {
            record = Some(self.read_record(&link.dataverse_id).await?);
        }
        self.resolve_users(record.as_ref(), issue.as_ref()).await;
        let (to_jira, to_dataverse) =
            self.plan_fields(link, &state, record.as_ref(), issue.as_ref());
        let mut wrote_jira = false;
        let mut wrote_dataverse = false;
        if !to_jira.0.is_empty() && !self.dry_run {
            let outcome = self
                .clients
                .jira
                .edit_issue(&link.jira_issue_id, Value::Object(to_jira.0.clone()))
                .await
                .map_err(|error| error.user_facing());
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
                .await
                .map_err(|error| error.user_facing());
            wrote_dataverse = self.log_write(link, &label, "record", "Jira", to_dataverse, outcome);
        }

        if self.settings.status.enabled && !self.dry_run {
            let (j, d) = self
                .sync_status(link, &label, &state, record.as_ref(), issue.as_ref())
                .await?;
            wrote_jira |= j;
            wrote_dataverse |= d;
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
        self.remember(&mut state, record.as_ref(), issue.as_ref());
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

    fn field_failure(
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

    /// Records both sides' current comparable values and versions in the state.
    fn remember(&self, state: &mut LinkState, record: Option<&Record>, issue: Option<&Issue>) {
        for mapping in &self.settings.fields {
            let (Some(column), Some(field)) = (
                self.meta.columns.get(&mapping.dataverse),
                self.meta.fields.get(&mapping.jira),
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
        link: &LinkRow,
        state: &LinkState,
        record: Option<&Record>,
        issue: Option<&Issue>,
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
        let label = record
            .map(|r| self.record_label(r))
            .unwrap_or_else(|| link.dataverse_id.clone());
        for mapping in &self.settings.fields {
            let (Some(column), Some(field)) = (
                self.meta.columns.get(&mapping.dataverse),
                self.meta.fields.get(&mapping.jira),
            ) else {
                continue;
            };
            let previous = state.fields.get(&mapping.jira);
            let record_value = record.map(|r| self.record_value(r, &mapping.dataverse));
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
                    (SyncMode::TwoWay, true, true) => {
                        if d_now == previous.map(|p| p.dataverse.clone())
                            || j_now == previous.map(|p| p.jira.clone())
                        {
                            None
                        } else {
                            let winner = self.conflict_winner(mapping.owner, link, record, issue);
                            self.journal.event(
                                RunEvent::object(
                                    "conflict",
                                    &link.jira_key,
                                    &label,
                                    EventAction::Info,
                                    format!(
                                        "{} changed in both Jira and Dynamics since the last sync; {}",
                                        field.name, winner.1
                                    ),
                                )
                                .with_level(EventLevel::Warn)
                                .with_change(
                                    Some(json!({"dynamics": record_value, "jira": issue_value})),
                                    Some(json!({"winner": match winner.0 {
                                        Direction::ToJira => "dynamics",
                                        Direction::ToDataverse => "jira",
                                    }})),
                                ),
                            );
                            Some(winner.0)
                        }
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
                            jira.2.insert(
                                field.name.clone(),
                                issue_value.cloned().unwrap_or(Value::Null),
                            );
                            jira.3.insert(field.name.clone(), Self::describe(value));
                        }
                        Err(error) => self.journal.event(
                            RunEvent::object(
                                "field",
                                &link.jira_key,
                                &label,
                                EventAction::Failed,
                                error.to_string(),
                            )
                            .with_fix(format!(
                                "Check the mapping {} → {} in the item's field mappings (value map, types)",
                                mapping.dataverse, field.name
                            )),
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
                            dataverse.2.insert(
                                mapping.dataverse.clone(),
                                record_value.cloned().unwrap_or(Value::Null),
                            );
                            dataverse.3.insert(mapping.dataverse.clone(), Self::describe(value));
                        }
                        Err(error) => self.journal.event(
                            RunEvent::object(
                                "field",
                                &link.jira_key,
                                &label,
                                EventAction::Failed,
                                error.to_string(),
                            )
                            .with_fix(format!(
                                "Check the mapping {} → {} in the item's field mappings (value map, types)",
                                field.name, mapping.dataverse
                            )),
                        ),
                    }
                }
                None => {}
            }
        }
        (jira, dataverse)
    }

    /// Which side wins a field changed on both sides, and why (for the conflict log).
    fn conflict_winner(
        &self,
        owner: Ownership,
        link: &LinkRow,
        record: Option<&Record>,
        issue: Option<&Issue>,
    ) -> (Direction, String) {
        match owner {
            Ownership::Jira => (
                Direction::ToDataverse,
                "Jira's value won (the field is owned by Jira).".to_owned(),
            ),
            Ownership::Dynamics => (
                Direction::ToJira,
                "Dynamics' value won (the field is owned by Dynamics).".to_owned(),
            ),
            Ownership::MostRecent => {
                let d_at = record
                    .and_then(modified_on)
                    .as_deref()
                    .and_then(parse_stamp);
                let j_at = issue.and_then(Issue::updated);
                let baseline = link.baseline_at.unwrap_or(OffsetDateTime::UNIX_EPOCH);
                match most_recent_wins(j_at, d_at, baseline) {
                    Winner::Jira => (
                        Direction::ToDataverse,
                        format!("Jira's value won (changed more recently: Jira {}, Dynamics {}).", show(j_at), show(d_at)),
                    ),
                    _ => (
                        Direction::ToJira,
                        format!("Dynamics' value won (changed more recently or at the same time: Dynamics {}, Jira {}).", show(d_at), show(j_at)),
                    ),
                }
            }
        }
    }

    /// Status both ways, most recent side winning; returns which sides were written.
    async fn sync_status(
        &self,
        link: &LinkRow,
        label: &str,
        state: &LinkState,
        record: Option<&Record>,
        issue: Option<&Issue>,
    ) -> Result<(bool, bool)> {
        let d_now = record.and_then(record_status);
        let j_now = issue.and_then(Issue::status);
        let previous = state.status.as_ref();
        let d_changed = match (d_now, previous) {
            (Some(now), Some(prev)) => now != (prev.state, prev.status),
            (Some(_), None) => true,
            _ => false,
        };
        let j_changed = match (&j_now, previous) {
            (Some(now), Some(prev)) => now.id != prev.jira,
            (Some(_), None) => !state.initialized,
            _ => false,
        };
        let winner = match (d_changed, j_changed) {
            (false, false) => return Ok((false, false)),
            (true, false) => Winner::Dataverse,
            (false, true) => Winner::Jira,
            (true, true) if !state.initialized => Winner::Dataverse,
            (true, true) => most_recent_wins(
                issue.and_then(Issue::updated),
                record
                    .and_then(modified_on)
                    .as_deref()
                    .and_then(parse_stamp),
                link.baseline_at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            ),
        };
        match winner {
            Winner::Dataverse => {
                let Some((st, sc)) = d_now else {
                    return Ok((false, false));
                };
                let Some(target) = self.status_map.to_jira(st, sc).map(str::to_owned) else {
                    self.journal.event(
                        RunEvent::object(
                            "status",
                            &link.jira_key,
                            label,
                            EventAction::Skipped,
                            format!(
                                "Dynamics status {st}/{sc} has no Jira status in the status map"
                            ),
                        )
                        .with_fix("Add the status to the item's status map"),
                    );
                    return Ok((false, false));
                };
                let current = match &j_now {
                    Some(status) => status.id.clone(),
                    None => match previous {
                        Some(prev) => prev.jira.clone(),
                        None => return Ok((false, false)),
                    },
                };
                if current == target {
                    return Ok((false, false));
                }
                let transitions = self.clients.jira.transitions(&link.jira_issue_id).await?;
                match plan_jira_move(&current, &target, &transitions) {
                    JiraStatusMove::AlreadyThere => Ok((false, false)),
                    JiraStatusMove::Transition { transition_id, to } => {
                        match self
                            .clients
                            .jira
                            .transition(&link.jira_issue_id, &transition_id, None)
                            .await
                        {
                            Ok(()) => {
                                self.journal.event(
                                    RunEvent::object(
                                        "status",
                                        &link.jira_key,
                                        label,
                                        EventAction::Updated,
                                        format!(
                                            "Moved the issue to {to} (Dynamics status changed)"
                                        ),
                                    )
                                    .with_change(Some(json!(current)), Some(json!(to))),
                                );
                                Ok((true, false))
                            }
                            Err(error) => {
                                self.field_failure(link, label, "status", &error.user_facing());
                                Ok((false, false))
                            }
                        }
                    }
                    no_transition @ JiraStatusMove::NoTransition { .. } => {
                        if st == 0 {
                            if let Some(wrote) = self
                                .reopen_issue(link, label, &current, &target, &transitions)
                                .await?
                            {
                                return Ok(wrote);
                            }
                        }
                        self.journal.event(
                            RunEvent::object("status", &link.jira_key, label, EventAction::Failed,
                                no_transition.named(&self.meta.statuses).to_string())
                            .with_fix("Add the transition to the Jira workflow, or map the Dynamics status to a status the issue can reach"),
                        );
                        Ok((false, false))
                    }
                }
            }
            Winner::Jira | Winner::Neither => {
                let Some(status) = j_now else {
                    return Ok((false, false));
                };
                let Some(target) = self.status_map.to_dataverse(&status.id) else {
                    self.journal.event(
                        RunEvent::object(
                            "status",
                            &link.jira_key,
                            label,
                            EventAction::Skipped,
                            format!(
                                "Jira status \"{}\" has no Dynamics status in the status map",
                                status.name
                            ),
                        )
                        .with_fix("Add the status to the item's status map"),
                    );
                    return Ok((false, false));
                };
                let current = d_now.or_else(|| previous.map(|p| (p.state, p.status)));
                let Some(current) = current else {
                    return Ok((false, false));
                };
                let Some(plan) = plan_dataverse_write(&self.settings.table, current, target) else {
                    return Ok((false, false));
                };
                self.write_dataverse_status(link, label, &status.name, current, plan)
                    .await
            }
        }
    }

    /// A reactivated record whose closed issue cannot reach the target status directly: most
    /// workflows reopen to their initial status only. Takes the transition to a status that
    /// stands for an active Dataverse state, then the one on to the target when the workflow
    /// has it (the issue is open either way). `None` when the issue is not closed or no
    /// transition reopens it (then the missing transition is reported as usual).
    async fn reopen_issue(
        &self,
        link: &LinkRow,
        label: &str,
        current: &str,
        target: &str,
        transitions: &[crosswalk_jira::Transition],
    ) -> Result<Option<(bool, bool)>> {
        let active = |status: &str| {
            self.status_map
                .to_dataverse(status)
                .is_some_and(|(state, _)| state == 0)
        };
        if active(current) {
            return Ok(None);
        }
        let Some(hop) = transitions
            .iter()
            .filter(|t| t.is_available != Some(false) && active(&t.to.id))
            .min_by_key(|t| t.has_screen)
        else {
            return Ok(None);
        };
        let jira = &self.clients.jira;
        if let Err(error) = jira.transition(&link.jira_issue_id, &hop.id, None).await {
            self.field_failure(link, label, "status", &error.user_facing());
            return Ok(Some((false, false)));
        }
        let mut reached = hop.to.name.clone();
        if hop.to.id != target {
            let next = jira.transitions(&link.jira_issue_id).await?;
            if let JiraStatusMove::Transition { transition_id, to } =
                plan_jira_move(&hop.to.id, target, &next)
            {
                if jira
                    .transition(&link.jira_issue_id, &transition_id, None)
                    .await
                    .is_ok()
                {
                    reached = to;
                }
            }
        }
        self.journal.event(
            RunEvent::object(
                "status",
                &link.jira_key,
                label,
                EventAction::Updated,
                format!("Reopened the issue to {reached} (the Dynamics record was reactivated)"),
            )
            .with_change(Some(json!(current)), Some(json!(reached))),
        );
        Ok(Some((true, false)))
    }

    async fn write_dataverse_status(
        &self,
        link: &LinkRow,
        label: &str,
        jira_status: &str,
        current: (i32, i32),
        plan: DataverseStatusWrite,
    ) -> Result<(bool, bool)> {
        let result = self
            .apply_status_write(link, jira_status, label, &plan)
            .await;
        let result = match result {
            Ok(true) => Ok(()),
            Ok(false) => return Ok((false, false)),
            Err(error) => Err(error),
        };
        match result {
            Ok(()) => {
                self.journal.event(
                    RunEvent::object(
                        "status",
                        &link.jira_key,
                        label,
                        EventAction::Updated,
                        format!("Set the Dynamics status from Jira's \"{jira_status}\""),
                    )
                    .with_change(Some(json!(current)), Some(json!(format!("{plan:?}")))),
                );
                Ok((false, true))
            }
            Err(error) => {
                let facing = error.user_facing();
                let mut event = RunEvent::object(
                    "status",
                    &link.jira_key,
                    label,
                    EventAction::Failed,
                    facing.message.clone(),
                );
                event = event.with_fix(facing.fix.clone().unwrap_or_else(|| {
                    "Check that the application user's role may close or update the record (for Cases: the Case resolution privileges), and whether the environment requires a resolution type".to_owned()
                }));
                self.journal.event(event);
                Ok((false, false))
            }
        }
    }
}

impl Item {
    /// Performs one planned Dataverse status write; `Ok(false)` when it is an action Crosswalk
    /// does not perform (reported as skipped).
    async fn apply_status_write(
        &self,
        link: &LinkRow,
        jira_status: &str,
        label: &str,
        plan: &DataverseStatusWrite,
    ) -> std::result::Result<bool, crosswalk_dataverse::Error> {
        let dv = &self.clients.dataverse;
        match plan {
            DataverseStatusWrite::Patch { state, status } => {
                dv.update(
                    self.entity_set(),
                    &link.dataverse_id,
                    &json!({"statecode": state, "statuscode": status}),
                    None,
                )
                .await?;
                Ok(true)
            }
            DataverseStatusWrite::CloseIncident { status } => {
                let text = self
                    .settings
                    .status
                    .resolution_text
                    .clone()
                    .unwrap_or_else(|| {
                        format!("Resolved in Jira ({}: {jira_status})", link.jira_key)
                    });
                dv.close_incident(&link.dataverse_id, &text, Some(*status))
                    .await?;
                Ok(true)
            }
            DataverseStatusWrite::Reopen { status, then } => {
                dv.update(
                    self.entity_set(),
                    &link.dataverse_id,
                    &json!({"statecode": 0, "statuscode": status}),
                    None,
                )
                .await?;
                Box::pin(self.apply_status_write(link, jira_status, label, then)).await
            }
            other => {
                self.journal.event(
                    RunEvent::object("status", &link.jira_key, label, EventAction::Skipped,
                        format!("Setting this status needs Dataverse's {} action, which Crosswalk does not perform yet", action_name(other)))
                    .with_fix("Change the status in Dynamics, or map the Jira status to a status reachable by a plain update"),
                );
                Ok(false)
            }
        }
    }
}

fn action_name(plan: &DataverseStatusWrite) -> &'static str {
    match plan {
        DataverseStatusWrite::WinOpportunity { .. } => "WinOpportunity",
        DataverseStatusWrite::LoseOpportunity { .. } => "LoseOpportunity",
        DataverseStatusWrite::QualifyLead { .. } => "QualifyLead",
        DataverseStatusWrite::CloseIncident { .. } => "CloseIncident",
        DataverseStatusWrite::Patch { .. } | DataverseStatusWrite::Reopen { .. } => "update",
    }
}

fn show(at: Option<OffsetDateTime>) -> String {
    at.map(crate::sync::stamp)
        .unwrap_or_else(|| "unknown".to_owned())
}
