//! The order of one poll: settle what an interrupted run left open, read both sides' changes,
//! create issues for new records, bring every touched link in step, copy notes, then move the
//! cursors.

use crate::error::{Error, Result};
use crate::link_sync::{issue_updated, record_version};
use crate::presence::{is_not_found, Gone};
use crate::state::{LinkState, PendingCopies, PendingStatus};
use crate::sync::{parse_stamp, stamp, Item, CURSOR_CREATED};
use crosswalk_engine::context::EventAction;
use crosswalk_engine::RunEvent;
use crosswalk_store::{ItemKind, ItemStatus, LinkId, LinkRow};
use futures_util::StreamExt as _;
use std::collections::HashSet;
use time::{Duration, OffsetDateTime};

/// Links synchronized (or issues created) at the same time within one poll.
const LINKS_IN_FLIGHT: usize = 4;

/// Whether a failure concerns one link only (the poll goes on with the others): the record or
/// issue is gone, refused or in conflict. Sign-in, throttling and network failures stop the
/// poll instead, so its cursors stay where they were.
pub(crate) fn per_link(error: &Error) -> bool {
    matches!(
        remote_status(error),
        Some(400 | 403 | 404 | 409 | 412 | 413 | 422)
    )
}

/// The HTTP status Jira or Dataverse answered with (Dataverse's typed refusals count as 400).
pub(crate) fn remote_status(error: &Error) -> Option<u16> {
    use crosswalk_dataverse::Error as Dv;
    match error {
        Error::Jira(e) => e.status(),
        Error::Dataverse(
            Dv::MissingPrivilege { .. }
            | Dv::PreconditionFailed { .. }
            | Dv::AttachmentTooLarge { .. }
            | Dv::InvalidStateTransition { .. }
            | Dv::InvalidArgument { .. },
        ) => Some(400),
        Error::Dataverse(Dv::Http(e)) => e.status(),
        _ => None,
    }
}

impl Item {
    /// One poll of the item.
    ///
    /// # Errors
    /// Failures that stop the poll (sign-in, throttling beyond retries, network, store).
    pub async fn poll(&self) -> Result<()> {
        self.poll_steps()
            .await
            .map_err(|error| self.column_gone(error))
    }

    /// Dataverse's 400 for a mapped column that was deleted after the item's metadata was
    /// read (it is cached): the admin-facing `NoColumn` naming the mapping, not the raw 400.
    fn column_gone(&self, error: Error) -> Error {
        let Error::Dataverse(crosswalk_dataverse::Error::Http(crosswalk_http::Error::Remote {
            status,
            detail,
            ..
        })) = &error
        else {
            return error;
        };
        let Some(name) = detail
            .split("Could not find a property named '")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
        else {
            return error;
        };
        let mapped = self
            .settings
            .fields
            .iter()
            .find(|m| m.dataverse == name || format!("_{}_value", m.dataverse) == name);
        match mapped {
            Some(mapping) if status.as_u16() == 400 => Error::NoColumn {
                table: self.settings.table.clone(),
                column: mapping.dataverse.clone(),
            },
            _ => error,
        }
    }

    async fn poll_steps(&self) -> Result<()> {
        let store = &self.services.store;
        let baseline = self.baseline()?;
        self.journal.progress(0, 4, "Settling interrupted work");
        let settled = self.settle_intents().await?;

        self.journal
            .progress(1, 4, "Reading changes in Dynamics and Jira");
        let mut changes = self.read_changes(baseline).await?;
        let added = self.added_mappings(&mut changes)?;
        let backfill = !added.is_empty() && !self.dry_run;
        if backfill {
            self.journal.event(RunEvent::info(format!(
                "New field mappings ({}): every linked issue takes their values in this poll, as a new link does; values that are already equal are not written.",
                added.join(", ").replace('>', " → ")
            )));
        }

        if self.settings.auto_create.enabled {
            self.journal
                .progress(2, 4, "Creating issues for new records");
            let (records, newest) = self.new_records(baseline, &settled).await?;
            // A create Jira refused (permission, required field...) is tried again by the next
            // polls: the cursor stays before the oldest such record, or it would fall out of
            // the window once the overlap has passed.
            let mut refused: Option<OffsetDateTime> = None;
            let work: Vec<_> = records
                .iter()
                .map(|record| async move { (record, self.create_issue_for(record).await) })
                .collect();
            let mut created = futures_util::stream::iter(work).buffer_unordered(LINKS_IN_FLIGHT);
            while let Some((record, outcome)) = created.next().await {
                if outcome?.is_none() && !self.dry_run {
                    if let Some(at) = record
                        .fields
                        .get("createdon")
                        .and_then(serde_json::Value::as_str)
                        .and_then(parse_stamp)
                    {
                        refused = Some(refused.map_or(at, |old| old.min(at)));
                    }
                }
            }
            let newest = match (newest, refused) {
                (Some(newest), Some(at)) => Some(
                    parse_stamp(&newest)
                        .map_or(at, |newest| newest.min(at))
                        .checked_sub(Duration::seconds(1))
                        .map_or(newest, stamp),
                ),
                (newest, _) => newest,
            };
            if let Some(newest) = newest {
                changes.cursors.insert(CURSOR_CREATED, newest);
            }
        }

        let links = store.list_links(self.job_id)?;
        // Copies journaled but not written (a stopped run, a refused write) are retried even
        // when neither side changed: one read of the pending-items index, no request.
        let copies = !self.dry_run && (self.settings.comments || self.settings.attachments);
        let pending_copies: HashSet<LinkId> = if copies {
            store
                .list_links_with_pending_items(self.job_id)?
                .into_iter()
                .collect()
        } else {
            HashSet::new()
        };
        let now = self.services.clock.now();
        // Links whose pending copies are due (not waiting out the quarter hour).
        let copies_due = |link: &LinkRow| {
            pending_copies.contains(&link.id)
                && LinkState::from_json(&link.state)
                    .copies_pending
                    .is_none_or(|p| p.due(now))
        };
        let touched: Vec<&LinkRow> = links
            .iter()
            .filter(|link| {
                let state = LinkState::from_json(&link.state);
                // A version the link already synced (the read window's overlap, or our own
                // write read back) is no news: re-reading it would cost a comments request
                // per issue on every poll while the window stays put.
                let record_changed = changes
                    .records
                    .get(&link.dataverse_id)
                    .is_some_and(|r| record_version(r) != state.record_at);
                let issue_changed = changes
                    .issues
                    .get(&link.jira_issue_id)
                    .is_some_and(|i| issue_updated(i) != state.issue_at);
                !state.initialized
                    || backfill
                    || record_changed
                    || issue_changed
                    // A link note that could not be written yet (e.g. no Create on notes).
                    || (self.settings.link_note && !self.dry_run && state.link_note.is_none())
                    // A status move that failed is tried again: to Jira (one transitions
                    // read) or to Dataverse (the write itself; this poll's change reads already
                    // say whether either side's status moved since).
                    || (self.settings.status.enabled
                        && !self.dry_run
                        && state
                            .status_pending
                            .as_ref()
                            .is_some_and(|p| p.due(now)))
                    || copies_due(link)
            })
            .collect();
        let total = touched.len() as u64;
        self.journal
            .count_unchanged("link", links.len() as u64 - total);
        self.journal.progress(
            0,
            total,
            &format!("Synchronizing linked records (0 of {total})"),
        );
        // Links are independent (one record, one issue each): a few at a time keeps the poll
        // latency-bound rather than sequential, well inside both services' limits.
        let work: Vec<_> = touched
            .into_iter()
            .map(|link| {
                let record = changes.records.remove(&link.dataverse_id);
                let issue = changes.issues.get(&link.jira_issue_id).cloned();
                let retry = copies_due(link);
                async move {
                    let outcome = self.sync_one(link, record, issue, retry, backfill).await;
                    (link, outcome)
                }
            })
            .collect();
        let mut results = futures_util::stream::iter(work).buffer_unordered(LINKS_IN_FLIGHT);
        // Links found gone by a write's 404 (the deletion check does not unlink them again).
        let mut unlinked: HashSet<LinkId> = HashSet::new();
        let mut done = 0u64;
        while let Some((link, outcome)) = results.next().await {
            done += 1;
            self.journal.progress(
                done,
                total,
                &format!("Synchronizing linked records ({done} of {total})"),
            );
            if let Err(error) = outcome {
                if !per_link(&error) {
                    return Err(error);
                }
                // A 404: the issue or the record may be gone (one or two reads say which);
                // a deletion unlinks instead of failing the link at every poll.
                if is_not_found(&error) {
                    match self.which_side_gone(link).await? {
                        Some(Gone::Issue) => {
                            self.forget_deleted_issue(link).await?;
                            unlinked.insert(link.id);
                            continue;
                        }
                        Some(Gone::Record) => {
                            changes.deleted_records.push(link.dataverse_id.clone());
                            unlinked.insert(link.id);
                            continue;
                        }
                        None => {}
                    }
                }
                let facing = error.user_facing();
                let mut event = RunEvent::object(
                    "link",
                    &link.jira_key,
                    &link.dataverse_id,
                    EventAction::Failed,
                    facing.message.clone(),
                );
                if let Some(fix) = facing.fix {
                    event = event.with_fix(fix);
                }
                self.journal.event(event);
            }
        }
        drop(results);

        if self.presence_due()? {
            self.check_presence(&links, &unlinked, &mut changes).await?;
        }
        let mut forgotten = HashSet::new();
        for id in std::mem::take(&mut changes.deleted_records) {
            if let Some(link) = store.find_link_by_record(self.job_id, &self.settings.table, &id)? {
                if forgotten.insert(link.id) {
                    self.forget_deleted_record(&link).await?;
                }
            }
        }

        self.journal.progress(3, 4, "Copying notes from Dynamics");
        self.notes_from_dataverse(&mut changes, baseline).await?;
        if !self.dry_run {
            self.save_cursors(&changes)?;
        }
        self.journal.progress(4, 4, "Done");
        Ok(())
    }

    async fn sync_one(
        &self,
        link: &LinkRow,
        record: Option<crosswalk_dataverse::Record>,
        issue: Option<crosswalk_jira::Issue>,
        retry_copies: bool,
        backfill: bool,
    ) -> Result<()> {
        let state = LinkState::from_json(&link.state);
        let new = !state.initialized;
        let newest = self
            .sync_link(link, record, issue.clone(), backfill)
            .await?;
        let issue = newest.or(issue);
        if self.settings.link_note && !self.dry_run && state.link_note.is_none() && !new {
            // Written when the link was made unless that failed: try again (same note id, so
            // never a second note); a failure is the link's event again, with the fix.
            self.decorate_link(link).await;
        }
        if self.dry_run || (!self.settings.comments && !self.settings.attachments) {
            return Ok(());
        }
        let issue = match issue {
            Some(issue) => Some(issue),
            // A retry of pending copies needs the issue's attachments (its comments are read
            // anyway): one issue read, only for links with such copies.
            None if new || retry_copies => Some(self.read_issue(&link.jira_issue_id).await?),
            None => None,
        };
        let copied = async {
            if new {
                self.all_notes_to_jira(link).await?;
            }
            if let Some(issue) = &issue {
                self.issue_items_to_dataverse(link, issue).await?;
            }
            if retry_copies {
                self.retry_pending_notes(link).await?;
            }
            Ok(())
        }
        .await;
        if copied.is_err() {
            // The fields step already recorded this issue version as synced: forget it, so the
            // next poll comes back for the comments and attachments that were not copied.
            if let Some(stored) = self
                .services
                .store
                .find_link_by_issue(self.job_id, &link.jira_issue_id)?
            {
                let mut state = LinkState::from_json(&stored.state);
                state.issue_at = None;
                self.services.store.set_link_state(
                    stored.id,
                    stored.baseline_at,
                    &state.to_json(),
                )?;
            }
        }
        // An attempt counts when the link's items were read: a retry, or a changed issue.
        if copied.is_ok() && (retry_copies || issue.is_some()) {
            self.settle_copies(link)?;
        }
        copied
    }

    /// After a link's copies were tried: forgets the retry schedule once nothing is pending,
    /// or counts one more attempt (every poll, then every quarter hour as for status moves).
    /// Store reads only: every pending copy of a touched link was tried by this poll.
    fn settle_copies(&self, link: &LinkRow) -> Result<()> {
        let store = &self.services.store;
        let mut pending = false;
        for kind in [ItemKind::Comment, ItemKind::Attachment] {
            pending |= store
                .list_link_items(link.id, kind)?
                .iter()
                .any(|item| item.status == ItemStatus::Pending);
        }
        let Some(stored) = store.find_link_by_issue(self.job_id, &link.jira_issue_id)? else {
            return Ok(());
        };
        let mut state = LinkState::from_json(&stored.state);
        let before = state.copies_pending.clone();
        state.copies_pending = match state.copies_pending.take() {
            _ if !pending => None,
            copies => {
                let mut copies = copies.unwrap_or_default();
                copies.attempts += 1;
                copies.retry_after =
                    PendingStatus::retry_after_for(copies.attempts, self.services.clock.now());
                Some(copies)
            }
        };
        if state.copies_pending != before {
            store.set_link_state(stored.id, stored.baseline_at, &state.to_json())?;
        }
        Ok(())
    }

    /// Records a refused copy's reason in the link's state; `false` when it was reported
    /// already while the link's copies stayed pending (reported once per distinct reason).
    pub(crate) fn remember_copy_failure(&self, link: &LinkRow, reason: &str) -> bool {
        let remembered = (|| -> Result<bool> {
            let store = &self.services.store;
            let Some(stored) = store.find_link_by_issue(self.job_id, &link.jira_issue_id)? else {
                return Ok(true);
            };
            let mut state = LinkState::from_json(&stored.state);
            let copies = state
                .copies_pending
                .get_or_insert_with(PendingCopies::default);
            if copies.reasons.iter().any(|known| known == reason) {
                return Ok(false);
            }
            copies.reasons.push(reason.to_owned());
            store.set_link_state(stored.id, stored.baseline_at, &state.to_json())?;
            Ok(true)
        })();
        remembered.unwrap_or_else(|error| {
            tracing::warn!(message = "Could not remember a copy failure.", error = %error);
            true
        })
    }
}
