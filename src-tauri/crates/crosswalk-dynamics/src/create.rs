//! Auto-create: a Jira issue for each new Dataverse record (created after the item's baseline
//! and matching its filter), journaled so a crash between the create and its record never makes
//! a second issue; plus what every new link gets: the Dynamics timeline note and the Jira
//! remote link.

use crate::convert;
use crate::error::Result;
use crate::state::LinkState;
use crate::sync::{parse_stamp, stamp, Item, CURSOR_CREATED, OVERLAP, PROPERTY};
use crosswalk_dataverse::{Query, Record};
use crosswalk_engine::context::EventAction;
use crosswalk_engine::RunEvent;
use crosswalk_jira::SearchRequest;
use crosswalk_jira::{NewRemoteLink, RemoteObject};
use crosswalk_store::{LinkRow, Managed, NewLink};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// What settling left to do.
#[derive(Debug, Default)]
pub struct Settled {
    /// Records whose interrupted create never reached Jira: create them now.
    pub retry: Vec<String>,
    /// Records whose create may still appear in search: leave them for a later poll.
    pub waiting: Vec<String>,
}

/// Records per auto-create query page.
const PAGE: u32 = 500;

impl Item {
    /// The remote link's global id for a record: idempotent across retries and re-links.
    pub fn global_id(&self, record_id: &str) -> String {
        format!(
            "system={}&table={}&id={record_id}",
            self.clients.org_url.as_str().trim_end_matches('/'),
            self.settings.table
        )
    }

    /// The record's page in Dynamics (the unified interface's `main.aspx` form URL).
    pub fn record_url(&self, record_id: &str) -> String {
        format!(
            "{}/main.aspx?pagetype=entityrecord&etn={}&id={record_id}",
            self.clients.org_url.as_str().trim_end_matches('/'),
            self.settings.table
        )
    }

    /// The issue's page in Jira.
    pub fn issue_url(&self, key: &str) -> String {
        format!(
            "{}/browse/{key}",
            self.clients.site_url.as_str().trim_end_matches('/')
        )
    }

    /// Settles issue creates journaled by a run that stopped before recording them: an issue
    /// stamped with the record's id is adopted; otherwise the intent is dropped and the record
    /// is created again by this run's auto-create pass.
    ///
    /// # Errors
    /// Remote and store failures.
    pub async fn settle_intents(&self) -> Result<Settled> {
        let store = &self.services.store;
        let intents = store.list_link_intents(self.job_id)?;
        let mut retry = Vec::new();
        let mut waiting = Vec::new();
        for intent in intents {
            if store
                .find_link_by_record(self.job_id, &intent.dataverse_table, &intent.dataverse_id)?
                .is_some()
            {
                store.delete_link_intent(
                    self.job_id,
                    &intent.dataverse_table,
                    &intent.dataverse_id,
                )?;
                continue;
            }
            match self
                .find_stamped_issue(&intent.dataverse_id, intent.started_at)
                .await?
            {
                Some((id, key)) => {
                    let link = self.record_link(&intent.dataverse_id, &id, &key, Managed::Auto)?;
                    store.delete_link_intent(
                        self.job_id,
                        &intent.dataverse_table,
                        &intent.dataverse_id,
                    )?;
                    self.journal.event(RunEvent::object(
                        "issue",
                        &key,
                        &intent.dataverse_id,
                        EventAction::Info,
                        "Found the issue an interrupted run created and linked it (no second issue was created)",
                    ));
                    self.decorate_link(&link).await;
                }
                None => {
                    // Search may not show a just-created issue yet: wait that long before
                    // concluding the create never happened.
                    let lag =
                        time::Duration::seconds(i64::from(self.settings.jira_search_lag_secs));
                    if self.services.clock.now() - intent.started_at < lag {
                        waiting.push(intent.dataverse_id);
                        continue;
                    }
                    store.delete_link_intent(
                        self.job_id,
                        &intent.dataverse_table,
                        &intent.dataverse_id,
                    )?;
                    retry.push(intent.dataverse_id);
                }
            }
        }
        Ok(Settled { retry, waiting })
    }

    /// An issue of the item's project created since `since` carrying our property for `record_id`.
    async fn find_stamped_issue(
        &self,
        record_id: &str,
        since: OffsetDateTime,
    ) -> Result<Option<(String, String)>> {
        let when = crosswalk_jira::jql::format_date_time(since - OVERLAP, &self.meta.time_zone)?;
        let jql = format!(
            "project = {} AND created >= {} ORDER BY created ASC",
            crosswalk_jira::jql::quote(&self.settings.jira_project),
            crosswalk_jira::jql::quote(&when)
        );
        let mut token: Option<String> = None;
        loop {
            let page = self
                .clients
                .jira
                .search(&SearchRequest {
                    jql: &jql,
                    fields: &["summary"],
                    properties: &[PROPERTY],
                    expand: None,
                    next_page_token: token.as_deref(),
                    max_results: 100,
                    reconcile_issues: &[],
                })
                .await?;
            for issue in page.issues {
                let stamped = issue
                    .properties
                    .get(PROPERTY)
                    .and_then(|p| p.get("record"))
                    .and_then(Value::as_str)
                    == Some(record_id);
                if stamped {
                    return Ok(Some((issue.id, issue.key)));
                }
            }
            match page.next_page_token {
                Some(next) if !page.is_last => token = Some(next),
                _ => return Ok(None),
            }
        }
    }

    /// Stores a link with an empty state (its first sync pushes Dynamics' values).
    ///
    /// # Errors
    /// Store failures (a duplicate link names the one that exists).
    pub fn record_link(
        &self,
        record_id: &str,
        issue_id: &str,
        key: &str,
        managed: Managed,
    ) -> Result<LinkRow> {
        let store = &self.services.store;
        store.insert_link(&NewLink {
            job_id: self.job_id,
            jira_issue_id: issue_id.to_owned(),
            jira_key: key.to_owned(),
            dataverse_table: self.settings.table.clone(),
            dataverse_id: record_id.to_owned(),
            managed,
            baseline_at: Some(self.services.clock.now()),
            state: LinkState::default().to_json(),
        })?;
        Ok(store
            .find_link_by_record(self.job_id, &self.settings.table, record_id)?
            .expect("the link was just stored"))
    }

    /// New records to create issues for: created after the baseline (and the last handled
    /// creation), matching the admin's filter, not linked yet; plus `retry` from settling.
    /// With them, the creation cursor to store: the newest `createdon` read, or Dataverse's
    /// clock when the query began if that is later.
    ///
    /// # Errors
    /// Remote failures (an invalid filter is Dataverse's 400 with its message).
    pub async fn new_records(
        &self,
        baseline: OffsetDateTime,
        settled: &Settled,
    ) -> Result<(Vec<Record>, Option<String>)> {
        let store = &self.services.store;
        let since = store
            .get_cursor(self.job_id, CURSOR_CREATED)?
            .as_deref()
            .and_then(parse_stamp)
            .map_or(baseline, |at| at - OVERLAP)
            .max(baseline);
        // `ge`: `createdon` has whole seconds, so a record created in the baseline's own second
        // (after the first poll began) would be missed by `gt`; repeats are skipped as linked.
        let mut filter = format!("createdon ge {}", stamp(since));
        if let Some(extra) = &self.settings.auto_create.filter {
            filter = format!("{filter} and ({extra})");
        }
        let query = Query {
            select: self.select(),
            filter: Some(filter),
            orderby: Some("createdon asc".to_owned()),
            page_size: Some(PAGE),
            formatted: true,
        };
        let mut records = Vec::new();
        let mut newest: Option<OffsetDateTime> = None;
        let mut server_now: Option<OffsetDateTime> = None;
        let mut next = None;
        loop {
            let page = self
                .clients
                .dataverse
                .list(self.entity_set(), &query, next.as_ref())
                .await?;
            server_now = server_now.or(page.server_time);
            for record in page.records {
                if let Some(at) = record
                    .fields
                    .get("createdon")
                    .and_then(Value::as_str)
                    .and_then(parse_stamp)
                {
                    newest = Some(newest.map_or(at, |n: OffsetDateTime| n.max(at)));
                }
                records.push(record);
            }
            match page.next {
                Some(link) => next = Some(link),
                None => break,
            }
        }
        for id in &settled.retry {
            if !records.iter().any(|r| &r.id == id) {
                records.push(self.read_record(id).await?);
            }
        }
        let unlinked = self.unlinked_records()?;
        let mut fresh = Vec::new();
        for record in records {
            if settled.waiting.contains(&record.id)
                || unlinked.contains_key(&record.id.to_ascii_lowercase())
            {
                continue;
            }
            if store
                .find_link_by_record(self.job_id, &self.settings.table, &record.id)?
                .is_none()
            {
                fresh.push(record);
            }
        }
        // Every record created before Dataverse's clock at the first page is in the answer (up
        // to the commit lag the overlap covers), so the cursor may move up to that clock even
        // when nothing was created: an idle poll after a burst stops re-reading the burst once
        // the overlap has passed. Dataverse's clock, not ours, so local skew cannot skip one.
        let cursor = match (newest, server_now) {
            (Some(newest), Some(now)) => Some(newest.max(now)),
            (newest, now) => newest.or(now),
        };
        Ok((fresh, cursor.map(stamp)))
    }

    /// Creates the issue for one record and links them; failures are events.
    ///
    /// # Errors
    /// Store failures, and failures reading the item's metadata ([`Item::details`]).
    pub async fn create_issue_for(&self, record: &Record) -> Result<Option<LinkRow>> {
        let label = self.record_label(record);
        let mut fields = Map::new();
        let mut problems = Vec::new();
        let details = self.details().await?;
        self.resolve_users(details, Some(record), None).await;
        for mapping in &self.settings.fields {
            let (Some(column), Some(field)) = (
                details.meta.columns.get(&mapping.dataverse),
                details.meta.fields.get(&mapping.jira),
            ) else {
                continue;
            };
            let value = self.record_value(record, &mapping.dataverse);
            if value.is_null() {
                continue;
            }
            let formatted = record
                .formatted
                .get(&self.read_name(&mapping.dataverse))
                .map(String::as_str);
            match convert::to_jira(
                column,
                field,
                value,
                formatted,
                &self.convert_ctx(&mapping.values),
            ) {
                Ok(write) => {
                    fields.insert(mapping.jira.clone(), write);
                }
                Err(error) => problems.push(error.to_string()),
            }
        }
        if !fields.contains_key("summary") {
            fields.insert("summary".into(), json!(summary_of(&label)));
        }
        if self.dry_run {
            self.journal.event(
                RunEvent::object(
                    "issue",
                    &record.id,
                    &label,
                    EventAction::Created,
                    "Would create a Jira issue for this new record",
                )
                .with_change(None, Some(Value::Object(fields))),
            );
            return Ok(None);
        }
        let store = &self.services.store;
        store.insert_link_intent(self.job_id, &self.settings.table, &record.id)?;
        let stamp_value =
            json!({"record": record.id, "table": self.settings.table, "item": self.name});
        let created = self
            .clients
            .jira
            .create_issue_with_properties(
                &self.settings.jira_project,
                &self.settings.jira_issue_type,
                Value::Object(fields.clone()),
                &[(PROPERTY, stamp_value)],
            )
            .await;
        let created = match created {
            Ok(created) => created,
            Err(error) if !refused(&error) => {
                // The request may have created the issue before the answer was lost: the
                // intent stays for the next poll to settle, and this poll stops here.
                return Err(error.into());
            }
            Err(error) => {
                // Jira refused it, so nothing was created: the intent goes, the next poll retries.
                store.delete_link_intent(self.job_id, &self.settings.table, &record.id)?;
                let facing = error.user_facing();
                let fix = facing.fix.clone().unwrap_or_else(|| {
                    "Check that the issue type can be created with the mapped fields (required fields, create screen)".to_owned()
                });
                self.journal.event(
                    RunEvent::object(
                        "issue",
                        &record.id,
                        &label,
                        EventAction::Failed,
                        format!("Could not create the Jira issue: {}", facing.message),
                    )
                    .with_fix(fix),
                );
                return Ok(None);
            }
        };
        let link = self.record_link(&record.id, &created.id, &created.key, Managed::Auto)?;
        store.delete_link_intent(self.job_id, &self.settings.table, &record.id)?;
        let mut event = RunEvent::object(
            "issue",
            &created.key,
            &label,
            EventAction::Created,
            format!(
                "Created {} for the new {} record",
                created.key, self.settings.table
            ),
        )
        .with_change(None, Some(Value::Object(fields)));
        if !problems.is_empty() {
            event = event.with_fix(format!(
                "Some mapped values were left out: {}",
                problems.join("; ")
            ));
        }
        self.journal.event(event);
        self.decorate_link(&link).await;
        Ok(Some(link))
    }

    /// Writes the Dynamics timeline note and the Jira remote link of a new link (each only if
    /// enabled); failures are events, the link stands.
    pub async fn decorate_link(&self, link: &LinkRow) {
        if self.settings.link_note {
            if let Err(error) = self.write_link_note(link).await {
                let facing = error.user_facing();
                self.journal.event(
                    RunEvent::object(
                        "link",
                        &link.jira_key,
                        &link.dataverse_id,
                        EventAction::Failed,
                        format!(
                            "Could not write the \"Linked to Jira\" note: {}",
                            facing.message
                        ),
                    )
                    .with_fix(facing.fix.unwrap_or_else(|| {
                        "Grant the application user Create on Notes (annotation)".to_owned()
                    })),
                );
            }
        }
        self.add_remote_link(link).await;
    }

    /// Adds (or refreshes: the global id makes it idempotent) the Jira remote link to the
    /// record when enabled; a failure is an event, the link stands.
    pub async fn add_remote_link(&self, link: &LinkRow) {
        if !self.settings.remote_link {
            return;
        }
        let object = RemoteObject {
            url: self.record_url(&link.dataverse_id),
            title: format!(
                "Dynamics 365 {}: {}",
                self.meta
                    .entity
                    .display_name
                    .clone()
                    .unwrap_or_else(|| self.settings.table.clone()),
                link.dataverse_id
            ),
            summary: Some(format!("Linked by Crosswalk item \"{}\"", self.name)),
        };
        let remote = NewRemoteLink {
            global_id: self.global_id(&link.dataverse_id),
            application: Some(json!({"type": "com.crosswalk.dynamics", "name": "Dynamics 365"})),
            relationship: Some("linked with".to_owned()),
            object,
        };
        if let Err(error) = self
            .clients
            .jira
            .upsert_remote_link(&link.jira_issue_id, &remote)
            .await
        {
            let facing = error.user_facing();
            self.journal.event(
                RunEvent::object(
                    "link",
                    &link.jira_key,
                    &link.dataverse_id,
                    EventAction::Failed,
                    format!(
                        "Could not add the remote link to the Dynamics record: {}",
                        facing.message
                    ),
                )
                .with_fix(facing.fix.unwrap_or_else(|| {
                    "Enable issue linking in Jira (Settings › Issues › Issue linking)".to_owned()
                })),
            );
        }
    }

    /// The id of the "Linked to Jira" note of a record and issue (stable, so a retry finds it).
    pub fn link_note_id(record_id: &str, issue_id: &str) -> String {
        note_id_for(&format!("link-note|{record_id}|{issue_id}"))
    }

    /// Writes the "Linked to Jira" note of a record and issue (create-only under
    /// [`Item::link_note_id`]: writing it again finds the first) and returns its id.
    ///
    /// # Errors
    /// Remote failures (a role without Create on notes is Dataverse's privilege error).
    pub async fn write_link_note_for(
        &self,
        record_id: &str,
        issue_id: &str,
        key: &str,
        managed: Managed,
    ) -> crate::error::Result<String> {
        let note_id = Item::link_note_id(record_id, issue_id);
        let mode = match managed {
            Managed::Auto => "automatically (auto-create)",
            Managed::Manual => "manually",
        };
        let text = format!(
            "This record is linked to Jira issue {key}.\nJira URL: {url}\nJira issue ID: {issue_id}\nSmart Connected Item: {item}\nLinked {mode} by Crosswalk.",
            url = self.issue_url(key),
            item = self.name,
        );
        self.clients
            .dataverse
            .create_note_with_id(
                self.entity_set(),
                record_id,
                &note_id,
                &format!("Linked to Jira issue {key}"),
                &text,
                None,
            )
            .await?;
        Ok(note_id)
    }

    /// The "Linked to Jira" note: its id is derived from the link, so writing it twice (after a
    /// crash) finds the first one instead of adding another.
    async fn write_link_note(&self, link: &LinkRow) -> crate::error::Result<()> {
        let note_id = self
            .write_link_note_for(
                &link.dataverse_id,
                &link.jira_issue_id,
                &link.jira_key,
                link.managed,
            )
            .await?;
        let mut state = LinkState::from_json(&link.state);
        let fresh = self
            .services
            .store
            .find_link_by_issue(self.job_id, &link.jira_issue_id)?;
        if let Some(fresh) = fresh {
            state = LinkState::from_json(&fresh.state);
        }
        state.link_note = Some(note_id);
        self.save_state(link, &state)?;
        Ok(())
    }
}

/// Whether Jira answered with a refusal (so nothing was written), rather than failing in a way
/// that leaves it unknown.
fn refused(error: &crosswalk_jira::Error) -> bool {
    matches!(error.status(), Some(400..=499)) && !matches!(error.status(), Some(408 | 429))
}

/// A summary from a record's name (Jira caps summaries at 255 characters, §B.1).
fn summary_of(label: &str) -> String {
    let line = label.lines().next().unwrap_or_default().trim();
    let line = if line.is_empty() {
        "Dynamics record"
    } else {
        line
    };
    line.chars().take(255).collect()
}

/// A GUID derived from `seed` (FNV-1a, two passes), stable across runs: ids of notes the
/// connector writes, so a retry after a crash finds the note it already wrote.
pub fn note_id_for(seed: &str) -> String {
    let hash = |salt: u64| {
        seed.bytes().fold(0xcbf2_9ce4_8422_2325 ^ salt, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let (a, b) = (hash(0), hash(0x9e37_79b9_7f4a_7c15));
    let hex = format!("{a:016x}{b:016x}");
    // Version 8 (custom) UUID layout: the variant and version bits set, the rest from the hash.
    format!(
        "{}-{}-8{}-{:x}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        (u8::from_str_radix(&hex[16..17], 16).unwrap_or(0) & 0x3) | 0x8,
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_ids_are_stable_guids() {
        let a = note_id_for("link-note|rec|10001");
        assert_eq!(a, note_id_for("link-note|rec|10001"));
        assert_ne!(a, note_id_for("link-note|rec|10002"));
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('8'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn summaries_are_one_line_within_jira_limits() {
        assert_eq!(summary_of("Printer jam\nsecond line"), "Printer jam");
        assert_eq!(summary_of("  "), "Dynamics record");
        assert_eq!(summary_of(&"x".repeat(300)).len(), 255);
    }
}
