//! Deletions the change reads cannot see: a deleted Jira issue (JQL finds only what exists) and
//! a record deleted from a table without change tracking (a `modifiedon` window lists only
//! what is there). Every `deletion_check_minutes` a poll lists which linked issues and records
//! still exist — the item's JQL scope by id only (up to 5,000 a page, §B.5) and the linked
//! records by primary key (100 ids a request) — and reads each one missing on its own: only a
//! 404 unlinks; a 403, a search lag or an issue moved to another project never does. A
//! deletion removes the link and Crosswalk's own marks (remote link, link note), never the
//! other side's issue or record.

use crate::error::{Error, Result};
use crate::state::LinkState;
use crate::sync::{parse_stamp, stamp, Changes, Item};
use crosswalk_dataverse::Query;
use crosswalk_engine::context::EventAction;
use crosswalk_engine::RunEvent;
use crosswalk_store::{LinkId, LinkRow};
use std::collections::{HashMap, HashSet};
use time::{Duration, OffsetDateTime};

/// Cursor: when the last presence check ran.
pub const CURSOR_PRESENCE: &str = "presence.checked";
/// Cursor: records unlinked because their issue was deleted (or by hand), `{id: when}`.
/// Auto-create's read window reaches back (the overlap, or to a refused create), and would
/// otherwise give such a record a new issue.
pub const CURSOR_UNLINKED: &str = "unlinked.records";
/// How long an unlinked record is kept from auto-create (far past any read window).
const UNLINKED_KEPT: Duration = Duration::days(7);
/// Linked record ids per Dataverse query: `pk eq … or …` keeps the URL near 7 KB, far under
/// the 32 KB Dataverse accepts.
const IDS_PER_QUERY: usize = 100;
/// Issue ids per search page when only ids are asked for (§B.5: up to 5,000).
const IDS_PAGE: u32 = 5000;
/// More than this share (percent) of links missing at once is taken for lost access, not
/// deletions: nothing is unlinked by that check (the guard Entra Sync has for retirements).
const MASS_PERCENT: usize = 20;
/// ...unless only this many are missing (a small item may lose a few issues at once).
const MASS_MIN: usize = 10;
/// Missing issues (and records) read one by one per check; the rest wait for the next check,
/// so a scope changed under the item or a narrowed role costs 50 reads, not thousands.
const CONFIRM_PER_CHECK: usize = 50;

/// Which side of a link is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    Issue,
    Record,
}

/// Whether Jira or Dataverse answered 404.
pub(crate) fn is_not_found(error: &Error) -> bool {
    crate::poll::remote_status(error) == Some(404)
}

/// A Dataverse GUID as stored in links (anything else is never put into a filter).
fn is_guid(id: &str) -> bool {
    id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

impl Item {
    /// Whether this poll should check that linked issues and records still exist.
    ///
    /// # Errors
    /// Store failures.
    pub fn presence_due(&self) -> Result<bool> {
        let Some(last) = self
            .cursor(CURSOR_PRESENCE)?
            .as_deref()
            .and_then(parse_stamp)
        else {
            return Ok(true);
        };
        let every = Duration::minutes(i64::from(self.settings.deletion_check_minutes));
        Ok(self.services.clock.now() - last >= every)
    }

    /// Lists which linked issues and records still exist and unlinks the deleted ones (a
    /// deleted record goes to `changes.deleted_records`, handled with change tracking's).
    ///
    /// # Errors
    /// Failures that stop the poll (sign-in, throttling, network, store).
    /// Links in `gone_already` were found gone this poll already: they count as missing, but are
    /// not read or unlinked again.
    pub async fn check_presence(
        &self,
        links: &[LinkRow],
        gone_already: &HashSet<LinkId>,
        changes: &mut Changes,
    ) -> Result<()> {
        let now = self.services.clock.now();
        if !links.is_empty() {
            // A link made moments ago may not be searchable yet (§B.5, eventually consistent).
            let settled = now - Duration::seconds(i64::from(self.settings.jira_search_lag_secs));
            let issues = self.existing_issues().await?;
            let missing: Vec<&LinkRow> = links
                .iter()
                .filter(|l| l.created_at <= settled && !issues.contains(&l.jira_issue_id))
                .collect();
            self.confirm_missing(&missing, links.len(), gone_already, Gone::Issue, changes)
                .await?;

            if !self.meta.entity.change_tracking_enabled {
                let records = self.existing_records(links).await?;
                let missing: Vec<&LinkRow> = links
                    .iter()
                    .filter(|l| !records.contains(&l.dataverse_id.to_ascii_lowercase()))
                    .collect();
                self.confirm_missing(&missing, links.len(), gone_already, Gone::Record, changes)
                    .await?;
            }
        }
        changes.cursors.insert(CURSOR_PRESENCE, stamp(now));
        Ok(())
    }

    /// Reads each missing side on its own (at most [`CONFIRM_PER_CHECK`]) and unlinks on 404.
    async fn confirm_missing(
        &self,
        missing: &[&LinkRow],
        of: usize,
        gone_already: &HashSet<LinkId>,
        side: Gone,
        changes: &mut Changes,
    ) -> Result<()> {
        if missing.len() > MASS_MIN && missing.len() * 100 > of * MASS_PERCENT {
            let (what, fix) = match side {
                Gone::Issue => (
                    "linked Jira issues are not found by the item's search",
                    format!(
                        "Check that the Jira account of the item's connection still has Browse projects on {} and sees those issues (issue security). Issues deleted on purpose are unlinked one by one as their records change.",
                        self.settings.jira_project
                    ),
                ),
                Gone::Record => (
                    "linked Dynamics records are not found in the table",
                    "Check the application user's security role (Read on the table, organization-wide). Records deleted on purpose are unlinked one by one as their issues change.".to_owned(),
                ),
            };
            self.journal.event(
                RunEvent::info(format!(
                    "{} of {of} {what}: more than {MASS_PERCENT}% at once, so nothing was unlinked (more likely lost access than deletions).",
                    missing.len()
                ))
                .with_level(crosswalk_core::EventLevel::Warn)
                .with_fix(fix),
            );
            return Ok(());
        }
        let unsettled = missing
            .iter()
            .filter(|link| !gone_already.contains(&link.id));
        for link in unsettled.take(CONFIRM_PER_CHECK) {
            if self.side_gone(link, side).await? {
                match side {
                    Gone::Issue => self.forget_deleted_issue(link).await?,
                    Gone::Record => changes.deleted_records.push(link.dataverse_id.clone()),
                }
            }
        }
        if missing.len() > CONFIRM_PER_CHECK {
            let what = match side {
                Gone::Issue => "linked Jira issues were not found by the item's search",
                Gone::Record => "linked Dynamics records were not found in the table",
            };
            self.journal.event(RunEvent::info(format!(
                "{} {what}; {CONFIRM_PER_CHECK} were read one by one this poll, the rest are read by the next checks. Many at once usually means the item's project or issue type changed, or the application user lost read access.",
                missing.len()
            )));
        }
        Ok(())
    }

    /// Whether one side of a link answers 404 when read on its own.
    async fn side_gone(&self, link: &LinkRow, side: Gone) -> Result<bool> {
        let read = match side {
            Gone::Issue => self
                .clients
                .jira
                .get_issue(&link.jira_issue_id, &["updated"], false)
                .await
                .map(drop)
                .map_err(Error::from),
            Gone::Record => {
                let pk = self.meta.entity.primary_id_attribute.as_str();
                self.clients
                    .dataverse
                    .get(self.entity_set(), &link.dataverse_id, &[pk], false)
                    .await
                    .map(drop)
                    .map_err(Error::from)
            }
        };
        match read {
            Ok(()) => Ok(false),
            // Jira answers 404 for an issue it hides too: the issue is gone only while the
            // project is still visible to the connector's account (one more read, per deletion).
            Err(error) if is_not_found(&error) && side == Gone::Issue => {
                match self
                    .clients
                    .jira
                    .get_project(&self.settings.jira_project)
                    .await
                {
                    Ok(_) => Ok(true),
                    // Hidden, refused or throttled: not known to be gone, so kept.
                    Err(error) if error.status().is_some() => Ok(false),
                    Err(error) => Err(error.into()),
                }
            }
            Err(error) if is_not_found(&error) => Ok(true),
            // Refused (403, 400...): not a deletion; the link's own sync reports it.
            Err(error) if crate::poll::per_link(&error) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// After a link's sync answered 404: which side is gone, if either (one or two reads).
    ///
    /// # Errors
    /// Failures that stop the poll.
    pub async fn which_side_gone(&self, link: &LinkRow) -> Result<Option<Gone>> {
        for side in [Gone::Issue, Gone::Record] {
            if self.side_gone(link, side).await? {
                return Ok(Some(side));
            }
        }
        Ok(None)
    }

    /// The ids of every issue in the item's scope (id-only search pages).
    async fn existing_issues(&self) -> Result<HashSet<String>> {
        let jql = self.scope_jql();
        let mut ids = HashSet::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .clients
                .jira
                .search_jql(&jql, &[], token.as_deref(), IDS_PAGE)
                .await?;
            ids.extend(page.issues.into_iter().map(|issue| issue.id));
            match page.next_page_token {
                Some(next) if !page.is_last => token = Some(next),
                _ => break,
            }
        }
        Ok(ids)
    }

    /// The ids (lower case) of the linked records that still exist.
    async fn existing_records(&self, links: &[LinkRow]) -> Result<HashSet<String>> {
        let pk = self.meta.entity.primary_id_attribute.clone();
        let ids: Vec<String> = links
            .iter()
            .map(|l| l.dataverse_id.to_ascii_lowercase())
            .filter(|id| is_guid(id))
            .collect();
        let mut found = HashSet::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let filter = chunk
                .iter()
                .map(|id| format!("{pk} eq {id}"))
                .collect::<Vec<_>>()
                .join(" or ");
            let query = Query {
                select: vec![pk.clone()],
                filter: Some(filter),
                orderby: None,
                page_size: Some(IDS_PER_QUERY as u32),
                formatted: false,
            };
            let mut next = None;
            loop {
                let page = self
                    .clients
                    .dataverse
                    .list(self.entity_set(), &query, next.as_ref())
                    .await?;
                found.extend(page.records.into_iter().map(|r| r.id.to_ascii_lowercase()));
                match page.next {
                    Some(link) => next = Some(link),
                    None => break,
                }
            }
        }
        Ok(found)
    }

    /// Unlinks a record deleted in Dynamics: the link and our remote link go, the issue stays.
    ///
    /// # Errors
    /// Store failures.
    pub async fn forget_deleted_record(&self, link: &LinkRow) -> Result<()> {
        self.journal.event(RunEvent::object(
            "link",
            &link.jira_key,
            &link.dataverse_id,
            EventAction::Deleted,
            format!(
                "The Dynamics record was deleted; {} is no longer linked (the issue is kept)",
                link.jira_key
            ),
        ));
        if !self.dry_run {
            self.services.store.delete_link(link.id)?;
            // Best effort: the issue may have lost its remote link already.
            let _ = self
                .clients
                .jira
                .delete_remote_link(&link.jira_issue_id, &self.global_id(&link.dataverse_id))
                .await;
        }
        Ok(())
    }

    /// Unlinks an issue deleted in Jira: the link and our link note go, the record stays.
    ///
    /// # Errors
    /// Store failures.
    pub async fn forget_deleted_issue(&self, link: &LinkRow) -> Result<()> {
        self.journal.event(RunEvent::object(
            "link",
            &link.jira_key,
            &link.dataverse_id,
            EventAction::Deleted,
            format!(
                "The Jira issue {} was deleted; its Dynamics record is no longer linked (the record is kept; link it again from Links if needed)",
                link.jira_key
            ),
        ));
        if !self.dry_run {
            self.remember_unlinked(&link.dataverse_id)?;
            self.services.store.delete_link(link.id)?;
            // Best effort: a note that cannot be deleted stays as a record of the old link.
            for note in Self::own_link_notes(link) {
                if let Err(error) = self.clients.dataverse.delete_note(&note).await {
                    tracing::warn!(message = "Could not delete the link note of a deleted issue.", error = %error);
                }
            }
        }
        Ok(())
    }

    /// Records auto-create must leave alone: unlinked in the last [`UNLINKED_KEPT`].
    ///
    /// # Errors
    /// Store failures.
    pub fn unlinked_records(&self) -> Result<HashMap<String, OffsetDateTime>> {
        let stored = self.cursor(CURSOR_UNLINKED)?;
        let map: HashMap<String, String> = stored
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        let oldest = self.services.clock.now() - UNLINKED_KEPT;
        Ok(map
            .into_iter()
            .filter_map(|(id, at)| Some((id, parse_stamp(&at)?)))
            .filter(|(_, at)| *at >= oldest)
            .collect())
    }

    /// Keeps an unlinked record from auto-create (see [`CURSOR_UNLINKED`]).
    ///
    /// # Errors
    /// Store failures.
    pub fn remember_unlinked(&self, record_id: &str) -> Result<()> {
        let mut map = self.unlinked_records()?;
        map.insert(record_id.to_ascii_lowercase(), self.services.clock.now());
        let text: HashMap<String, String> =
            map.into_iter().map(|(id, at)| (id, stamp(at))).collect();
        let text = serde_json::to_string(&text).unwrap_or_default();
        self.services
            .store
            .set_cursor(self.job_id, CURSOR_UNLINKED, &text)?;
        Ok(())
    }

    /// Our link notes of a link: the one it remembers and the one its id would have had (a
    /// link stored before its note was remembered).
    pub fn own_link_notes(link: &LinkRow) -> Vec<String> {
        let state = LinkState::from_json(&link.state);
        let derived = Item::link_note_id(&link.dataverse_id, &link.jira_issue_id);
        let mut notes: Vec<String> = state.link_note.into_iter().collect();
        if !notes.iter().any(|n| n.eq_ignore_ascii_case(&derived)) {
            notes.push(derived);
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::is_guid;

    #[test]
    fn only_guids_go_into_a_filter() {
        assert!(is_guid("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
        assert!(!is_guid("3fa85f64-5717-4562-b3fc-2c963f66afa6 or true"));
        assert!(!is_guid("x' or '1'='1"));
    }
}
