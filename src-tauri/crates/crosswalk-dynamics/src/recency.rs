//! "Most recent wins" for a field (or the status) changed on both sides since the last sync.
//!
//! Each side is timed by the field's own newest change, read only when there is a conflict, so
//! an idle poll pays nothing and an unrelated later edit of the issue or the record does not
//! make that side newer. Jira's time is the newest changelog entry touching the field, read
//! with one `POST /changelog/bulkfetch` filtered by the fields in conflict (§B.6). Dynamics'
//! time is the column's newest entry in the audit history (one `GET audits` filtered by the
//! record; `statuscode` stands for the status) when auditing is on for the environment, the
//! table and the column — known from one check per item (`TableAudit`, two requests at the
//! first conflict, kept [`META_TTL`]). Otherwise, or without the View Audit Summary privilege,
//! the record's `modifiedon` stands for the column, which any column's edit moves; every
//! verdict names both times, their sources and why `modifiedon` was used.

use crate::link_sync::{modified_on, STATUS_FIELD};
use crate::meta::META_TTL;
use crate::settings::Ownership;
use crate::status::{most_recent_wins, Winner};
use crate::sync::{stamp, Item};
use crate::Result;
use crosswalk_core::UserFacing;
use crosswalk_dataverse::{AuditOff, Record, TableAudit};
use crosswalk_jira::Issue;
use crosswalk_store::LinkRow;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use time::OffsetDateTime;

/// The column whose audit entries time the status (a state change always changes it too: each
/// status reason belongs to one state).
pub const STATUS_COLUMN: &str = "statuscode";
/// Entries per bulk changelog page: filtered by field, one page covers any issue in practice.
const PAGE: u32 = 1000;
/// `fieldIds` per bulk changelog request (BulkChangelogRequestBean maxItems).
const FIELDS_PER_REQUEST: usize = 10;

/// Where Jira's time for a field came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JiraClock {
    /// The newest changelog entry touching the field.
    Changelog,
    /// The issue's `updated` (no changelog entry for the field, or the changelog was refused).
    IssueUpdated,
}

/// Jira's time for the fields in conflict on one issue.
#[derive(Debug, Clone, Default)]
pub struct JiraTimes {
    changed: HashMap<String, OffsetDateTime>,
    updated: Option<OffsetDateTime>,
}

impl JiraTimes {
    /// Times known without asking Jira: only the issue's `updated`.
    pub fn without_changelog(issue: Option<&Issue>) -> JiraTimes {
        JiraTimes {
            changed: HashMap::new(),
            updated: issue.and_then(Issue::updated),
        }
    }

    /// When Jira last changed `field_id`, and from which clock.
    pub fn of(&self, field_id: &str) -> (Option<OffsetDateTime>, JiraClock) {
        match self.changed.get(field_id) {
            Some(at) => (Some(*at), JiraClock::Changelog),
            None => (self.updated, JiraClock::IssueUpdated),
        }
    }
}

/// Why the record's `modifiedon` stands for a column's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// The audit history was not asked (no conflict on the column needed it).
    NotRead,
    /// Auditing is off for the environment, the table or the column.
    Off(AuditOff),
    /// Auditing is on, but the history has no change of the column since the link was made
    /// (made while auditing was off, or older than the history kept).
    NoEntry,
    /// Dataverse refused the audit history or its settings: why, and the fix.
    Refused(UserFacing),
}

/// Where Dynamics' time for a column came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DynamicsClock {
    /// The column's newest entry in the audit history.
    Audit,
    /// The record's `modifiedon`, and why.
    ModifiedOn(Fallback),
}

/// Dynamics' time for the columns in conflict on one record.
#[derive(Debug, Clone, Default)]
pub struct DynamicsTimes {
    changed: HashMap<String, OffsetDateTime>,
    fallback: HashMap<String, Fallback>,
    modified_on: Option<OffsetDateTime>,
}

impl DynamicsTimes {
    /// Times known without the audit history: only the record's `modifiedon`.
    pub fn without_history(record: Option<&Record>) -> DynamicsTimes {
        DynamicsTimes {
            modified_on: record.and_then(modified_on),
            ..DynamicsTimes::default()
        }
    }

    /// When Dynamics last changed `column`, and from which clock.
    pub fn of(&self, column: &str) -> (Option<OffsetDateTime>, DynamicsClock) {
        match self.changed.get(column) {
            Some(at) => (Some(*at), DynamicsClock::Audit),
            None => (
                self.modified_on,
                DynamicsClock::ModifiedOn(
                    self.fallback
                        .get(column)
                        .cloned()
                        .unwrap_or(Fallback::NotRead),
                ),
            ),
        }
    }

    fn fall_back(&mut self, columns: &[String], why: &Fallback) {
        for column in columns {
            self.fallback.insert(column.clone(), why.clone());
        }
    }
}

/// Both sides' times for the conflicts of one link.
#[derive(Debug, Clone, Default)]
pub struct Times {
    pub jira: JiraTimes,
    pub dynamics: DynamicsTimes,
}

impl Times {
    /// Times known without reading either history: the issue's `updated`, the record's
    /// `modifiedon`.
    pub fn without_history(record: Option<&Record>, issue: Option<&Issue>) -> Times {
        Times {
            jira: JiraTimes::without_changelog(issue),
            dynamics: DynamicsTimes::without_history(record),
        }
    }
}

/// Which side won a conflict, why in words, the compared times for the event, and the fix when
/// a time could not be read as it should (the audit history refused).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub winner: Winner,
    pub why: String,
    pub compared: Value,
    pub fix: Option<String>,
}

/// Settles a conflict on `what` (the field's name, or "the status") by the most recent change:
/// Jira's time from `jira` against Dynamics' from `dynamics`; ties go to Dynamics. `winner` is
/// `Neither` when no time is after the link's `baseline`.
pub fn judge(
    what: &str,
    jira: (Option<OffsetDateTime>, JiraClock),
    dynamics: (Option<OffsetDateTime>, DynamicsClock),
    baseline: OffsetDateTime,
) -> Verdict {
    let (jira_at, clock) = jira;
    let (dynamics_at, dynamics_clock) = dynamics;
    let winner = most_recent_wins(jira_at, dynamics_at, baseline);
    let jira_side = match clock {
        JiraClock::Changelog => format!(
            "Jira changed {what} at {} (issue changelog)",
            show(jira_at)
        ),
        JiraClock::IssueUpdated => format!(
            "the issue was last updated at {} (Jira's updated; the changelog has no entry for {what})",
            show(jira_at)
        ),
    };
    let mut fix = None;
    let dynamics_side = match &dynamics_clock {
        DynamicsClock::Audit => format!(
            "Dynamics changed {what} at {} (Dynamics audit history)",
            show(dynamics_at)
        ),
        DynamicsClock::ModifiedOn(fallback) => {
            let why = match fallback {
                Fallback::NotRead => String::new(),
                Fallback::Off(AuditOff::Organization) => {
                    ", and auditing is off for the environment".to_owned()
                }
                Fallback::Off(AuditOff::Table) => ", and auditing is off for the table".to_owned(),
                Fallback::Off(AuditOff::Column) => {
                    format!(", and auditing is off for the column of {what}")
                }
                Fallback::NoEntry => {
                    format!("; its audit history has no change of {what} since the link was made")
                }
                Fallback::Refused(facing) => {
                    fix = facing.fix.clone();
                    format!(
                        "; its audit history could not be read: {}",
                        facing.message.trim_end_matches('.')
                    )
                }
            };
            format!(
                "the record was last modified at {} (record modifiedon, which an edit of any column moves; Dynamics keeps no time per column without auditing{why})",
                show(dynamics_at)
            )
        }
    };
    let why = match winner {
        Winner::Jira => format!("Jira's value won: {jira_side}, after {dynamics_side}."),
        Winner::Dataverse => {
            format!("Dynamics' value won: {dynamics_side}, not before {jira_side}.")
        }
        Winner::Neither => format!(
            "neither change is dated after the link was made ({jira_side}; {dynamics_side})."
        ),
    };
    let compared = json!({
        "jira": {
            "at": jira_at.map(stamp),
            "source": match clock {
                JiraClock::Changelog => "changelog",
                JiraClock::IssueUpdated => "updated",
            },
        },
        "dynamics": {
            "at": dynamics_at.map(stamp),
            "source": match dynamics_clock {
                DynamicsClock::Audit => "audit",
                DynamicsClock::ModifiedOn(_) => "modifiedon",
            },
        },
    });
    Verdict {
        winner,
        why,
        compared,
        fix,
    }
}

fn show(at: Option<OffsetDateTime>) -> String {
    at.map(stamp)
        .unwrap_or_else(|| "an unknown time".to_owned())
}

impl Item {
    /// Jira's times for `field_ids` on the issue (the newest changelog entry touching each),
    /// falling back to the issue's `updated` for a field without an entry. No request when
    /// `field_ids` is empty. A changelog Jira refuses for this issue (400, 403, 404) falls back
    /// to `updated` as well; sign-in, throttling and network failures are returned.
    ///
    /// # Errors
    /// Jira failures other than the refusals above.
    pub async fn jira_times(
        &self,
        issue_id: &str,
        issue: Option<&Issue>,
        field_ids: &[String],
    ) -> Result<JiraTimes> {
        let mut times = JiraTimes::without_changelog(issue);
        for chunk in field_ids.chunks(FIELDS_PER_REQUEST) {
            let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let mut token: Option<String> = None;
            loop {
                let page = match self
                    .clients
                    .jira
                    .bulk_changelogs(&[issue_id], &ids, token.as_deref(), PAGE)
                    .await
                {
                    Ok(page) => page,
                    Err(error) if matches!(error.status(), Some(400 | 403 | 404)) => {
                        tracing::warn!(
                            message = "Jira refused the issue's changelog; comparing its updated time instead.",
                            issue_id,
                            error = %error,
                        );
                        return Ok(JiraTimes::without_changelog(issue));
                    }
                    Err(error) => return Err(error.into()),
                };
                let entries = page
                    .issue_change_logs
                    .iter()
                    .filter(|log| log.issue_id == issue_id)
                    .flat_map(|log| &log.change_histories);
                for entry in entries {
                    let Some(at) = entry.created_at() else {
                        continue;
                    };
                    for id in ids.iter().filter(|id| entry.touches(id)) {
                        let newest = times.changed.entry((*id).to_owned()).or_insert(at);
                        *newest = (*newest).max(at);
                    }
                }
                match page.next_page_token {
                    // A token that does not move on would loop forever: stop at what was read.
                    Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
                    _ => break,
                }
            }
        }
        Ok(times)
    }
}

/// What an item knows of its table's auditing, kept [`META_TTL`]: the switches, and whether
/// Dataverse refused the audit history (so a role without the privilege costs one request,
/// not one per conflict).
#[derive(Debug, Clone)]
struct AuditKnown {
    at: Instant,
    audit: Arc<TableAudit>,
    refused: Option<UserFacing>,
}

fn audit_cache() -> &'static Mutex<HashMap<String, AuditKnown>> {
    static CACHE: OnceLock<Mutex<HashMap<String, AuditKnown>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Whether a Dataverse failure is a refusal of this read (privilege, bad request, not found),
/// answered by falling back to `modifiedon`; sign-in, throttling and network failures stop the
/// poll as they would anywhere else.
fn refused(error: &crosswalk_dataverse::Error) -> bool {
    match error {
        crosswalk_dataverse::Error::MissingPrivilege { .. }
        | crosswalk_dataverse::Error::MissingMiscPrivilege { .. }
        | crosswalk_dataverse::Error::Unexpected { .. } => true,
        crosswalk_dataverse::Error::Http(error) => matches!(error.status(), Some(400 | 403 | 404)),
        _ => false,
    }
}

impl Item {
    /// Both sides' times for the fields in conflict (`conflicts`: Jira field ids, `status` for
    /// the status), each read with one request; see the module doc.
    ///
    /// # Errors
    /// Jira or Dataverse failures other than the refusals each side falls back on.
    pub async fn conflict_times(
        &self,
        link: &LinkRow,
        record: Option<&Record>,
        issue: Option<&Issue>,
        conflicts: &[String],
    ) -> Result<Times> {
        let columns = self.conflict_columns(conflicts);
        let (jira, dynamics) = tokio::try_join!(
            self.jira_times(&link.jira_issue_id, issue, conflicts),
            self.dynamics_times(link, record, &columns),
        )?;
        Ok(Times { jira, dynamics })
    }

    /// The columns behind the conflicting fields: each "most recent wins" mapping's column,
    /// `statuscode` for the status.
    fn conflict_columns(&self, conflicts: &[String]) -> Vec<String> {
        let mut columns: Vec<String> = Vec::new();
        for field in conflicts {
            let found = self
                .settings
                .fields
                .iter()
                .filter(|m| m.owner == Ownership::MostRecent && &m.jira == field)
                .map(|m| m.dataverse.clone());
            let found: Vec<String> = if field == STATUS_FIELD {
                vec![STATUS_COLUMN.to_owned()]
            } else {
                found.collect()
            };
            for column in found {
                if !columns.contains(&column) {
                    columns.push(column);
                }
            }
        }
        columns
    }

    /// The item's table audit switches, from memory when read less than [`META_TTL`] ago.
    async fn audit_known(&self) -> std::result::Result<AuditKnown, crosswalk_dataverse::Error> {
        let key = format!(
            "{}|{}|{}",
            self.job_id.0,
            self.clients.dataverse.http().base_url(),
            self.settings.table
        );
        if let Some(hit) = audit_cache().lock().expect("audit cache").get(&key) {
            if hit.at.elapsed() < META_TTL {
                return Ok(hit.clone());
            }
        }
        let audit = self
            .clients
            .dataverse
            .table_audit(&self.settings.table)
            .await?;
        let known = AuditKnown {
            at: Instant::now(),
            audit: Arc::new(audit),
            refused: None,
        };
        let mut cache = audit_cache().lock().expect("audit cache");
        cache.retain(|_, old| old.at.elapsed() < META_TTL);
        cache.insert(key, known.clone());
        Ok(known)
    }

    /// Remembers that Dataverse refused this item's audit history until the switches are
    /// read again.
    fn audit_refused(&self, facing: &UserFacing) {
        let key = format!(
            "{}|{}|{}",
            self.job_id.0,
            self.clients.dataverse.http().base_url(),
            self.settings.table
        );
        if let Some(known) = audit_cache().lock().expect("audit cache").get_mut(&key) {
            known.refused = Some(facing.clone());
        }
    }

    /// Dynamics' times for `columns` of the linked record: each audited column's newest audit
    /// entry since the link was made (one request), else the record's `modifiedon` with the
    /// reason. No request without columns; a refusal (no View Audit Summary privilege) falls
    /// back and is remembered, never failing the poll.
    ///
    /// # Errors
    /// Dataverse failures other than refusals (sign-in, throttling, network).
    pub async fn dynamics_times(
        &self,
        link: &LinkRow,
        record: Option<&Record>,
        columns: &[String],
    ) -> Result<DynamicsTimes> {
        let mut times = DynamicsTimes::without_history(record);
        if columns.is_empty() || record.is_none() {
            return Ok(times);
        }
        let known = match self.audit_known().await {
            Ok(known) => known,
            Err(error) if refused(&error) => {
                tracing::warn!(
                    message = "Dataverse refused the audit settings; comparing modifiedon instead.",
                    table = %self.settings.table,
                    error = %error,
                );
                times.fall_back(columns, &Fallback::Refused(error.user_facing()));
                return Ok(times);
            }
            Err(error) => return Err(error.into()),
        };
        if let Some(facing) = known.refused {
            times.fall_back(columns, &Fallback::Refused(facing));
            return Ok(times);
        }
        let mut audited: Vec<&str> = Vec::new();
        for column in columns {
            match known.audit.off(column) {
                Some(off) => times.fall_back(std::slice::from_ref(column), &Fallback::Off(off)),
                None => audited.push(column),
            }
        }
        if audited.is_empty() {
            return Ok(times);
        }
        let read = self
            .clients
            .dataverse
            .column_change_times(&known.audit, &link.dataverse_id, &audited, link.baseline_at)
            .await;
        match read {
            Ok(found) => {
                for column in audited {
                    match found.get(column) {
                        Some(at) => {
                            times.changed.insert(column.to_owned(), *at);
                        }
                        None => {
                            times.fallback.insert(column.to_owned(), Fallback::NoEntry);
                        }
                    }
                }
            }
            Err(error) if refused(&error) => {
                tracing::warn!(
                    message = "Dataverse refused the audit history; comparing modifiedon instead.",
                    table = %self.settings.table,
                    error = %error,
                );
                let facing = error.user_facing();
                self.audit_refused(&facing);
                let audited: Vec<String> = audited.into_iter().map(str::to_owned).collect();
                times.fall_back(&audited, &Fallback::Refused(facing));
            }
            Err(error) => return Err(error.into()),
        }
        Ok(times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosswalk_core::Code;
    use time::macros::datetime;

    const BASELINE: OffsetDateTime = datetime!(2025-03-01 08:00 UTC);

    fn modified(at: Option<OffsetDateTime>) -> (Option<OffsetDateTime>, DynamicsClock) {
        (at, DynamicsClock::ModifiedOn(Fallback::NotRead))
    }

    fn check(
        jira: (Option<OffsetDateTime>, JiraClock),
        dynamics: (Option<OffsetDateTime>, DynamicsClock),
        winner: Winner,
        words: &[&str],
    ) -> Verdict {
        let verdict = judge("Summary", jira, dynamics, BASELINE);
        assert_eq!(verdict.winner, winner, "{}", verdict.why);
        for word in words {
            assert!(
                verdict.why.contains(word),
                "{word:?} not in {}",
                verdict.why
            );
        }
        verdict
    }

    #[test]
    fn the_verdict_names_both_compared_times_and_their_sources() {
        let (t1, t2) = (
            datetime!(2025-03-01 09:00:01 UTC),
            datetime!(2025-03-01 09:00:02 UTC),
        );
        check(
            (Some(t1), JiraClock::Changelog),
            modified(Some(t2)),
            Winner::Dataverse,
            &[
                "Dynamics' value won",
                "2025-03-01T09:00:01Z",
                "2025-03-01T09:00:02Z",
                "issue changelog",
                "record modifiedon",
                "no time per column",
            ],
        );
        check(
            (Some(t2), JiraClock::Changelog),
            modified(Some(t1)),
            Winner::Jira,
            &[
                "Jira's value won",
                "Jira changed Summary at 2025-03-01T09:00:02Z",
            ],
        );
        // Same second: Dynamics wins the tie.
        check(
            (Some(t1), JiraClock::Changelog),
            modified(Some(t1)),
            Winner::Dataverse,
            &["not before"],
        );
        check(
            (Some(t2), JiraClock::IssueUpdated),
            modified(Some(t1)),
            Winner::Jira,
            &[
                "last updated at 2025-03-01T09:00:02Z",
                "no entry for Summary",
            ],
        );
        check(
            (None, JiraClock::IssueUpdated),
            modified(None),
            Winner::Neither,
            &["an unknown time"],
        );
        let verdict = judge(
            "Summary",
            (Some(t1), JiraClock::Changelog),
            modified(Some(t2)),
            BASELINE,
        );
        assert_eq!(
            verdict.compared,
            json!({"jira": {"at": "2025-03-01T09:00:01Z", "source": "changelog"},
                "dynamics": {"at": "2025-03-01T09:00:02Z", "source": "modifiedon"}})
        );
        assert_eq!(verdict.fix, None);
    }

    #[test]
    fn an_audited_column_is_timed_by_its_own_change_and_says_so() {
        let (t1, t2) = (
            datetime!(2025-03-01 09:00:01 UTC),
            datetime!(2025-03-01 09:00:02 UTC),
        );
        let verdict = check(
            (Some(t2), JiraClock::Changelog),
            (Some(t1), DynamicsClock::Audit),
            Winner::Jira,
            &[
                "Jira's value won",
                "Dynamics changed Summary at 2025-03-01T09:00:01Z (Dynamics audit history)",
            ],
        );
        assert_eq!(
            verdict.compared["dynamics"],
            json!({"at": "2025-03-01T09:00:01Z", "source": "audit"})
        );
    }

    #[test]
    fn a_fallback_to_modifiedon_names_the_reason_and_a_refusal_its_fix() {
        let (t1, t2) = (
            datetime!(2025-03-01 09:00:01 UTC),
            datetime!(2025-03-01 09:00:02 UTC),
        );
        let fallback = |why: Fallback| (Some(t2), DynamicsClock::ModifiedOn(why));
        let jira = (Some(t1), JiraClock::Changelog);
        for (why, words) in [
            (
                Fallback::Off(AuditOff::Organization),
                "auditing is off for the environment",
            ),
            (
                Fallback::Off(AuditOff::Table),
                "auditing is off for the table",
            ),
            (
                Fallback::Off(AuditOff::Column),
                "auditing is off for the column of Summary",
            ),
            (
                Fallback::NoEntry,
                "its audit history has no change of Summary since the link was made",
            ),
        ] {
            let verdict = check(jira, fallback(why), Winner::Dataverse, &[words]);
            assert_eq!(verdict.compared["dynamics"]["source"], "modifiedon");
            assert_eq!(verdict.fix, None);
        }
        let refusal = UserFacing::new(
            Code::PermissionDenied,
            "The application user's security role lacks the View Audit Summary privilege (prvReadAuditSummary).",
        )
        .with_fix("grant View Audit Summary");
        let verdict = check(
            jira,
            fallback(Fallback::Refused(refusal)),
            Winner::Dataverse,
            &["its audit history could not be read: The application user's security role lacks the View Audit Summary privilege (prvReadAuditSummary))"],
        );
        assert_eq!(verdict.fix.as_deref(), Some("grant View Audit Summary"));
    }

    #[test]
    fn a_column_without_an_audit_entry_falls_back_to_modifiedon() {
        let modified = datetime!(2025-03-01 10:00 UTC);
        let changed = datetime!(2025-03-01 09:00 UTC);
        let times = DynamicsTimes {
            changed: HashMap::from([("title".to_owned(), changed)]),
            fallback: HashMap::from([("description".to_owned(), Fallback::NoEntry)]),
            modified_on: Some(modified),
        };
        assert_eq!(times.of("title"), (Some(changed), DynamicsClock::Audit));
        assert_eq!(
            times.of("description"),
            (Some(modified), DynamicsClock::ModifiedOn(Fallback::NoEntry))
        );
        assert_eq!(
            times.of("statuscode"),
            (Some(modified), DynamicsClock::ModifiedOn(Fallback::NotRead))
        );
    }

    #[test]
    fn a_field_without_a_changelog_entry_falls_back_to_the_issue_updated_time() {
        let updated = datetime!(2025-03-01 10:00 UTC);
        let changed = datetime!(2025-03-01 09:00 UTC);
        let times = JiraTimes {
            changed: HashMap::from([("summary".to_owned(), changed)]),
            updated: Some(updated),
        };
        assert_eq!(times.of("summary"), (Some(changed), JiraClock::Changelog));
        assert_eq!(times.of("status"), (Some(updated), JiraClock::IssueUpdated));
    }
}
