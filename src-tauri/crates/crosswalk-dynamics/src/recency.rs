//! "Most recent wins" for a field (or the status) changed on both sides since the last sync.
//!
//! Jira's side is timed per field: the newest changelog entry touching it, read with one
//! `POST /changelog/bulkfetch` filtered by the fields in conflict (§B.6), and only when there
//! is a conflict, so an idle poll pays nothing. An unrelated later edit of the issue (a
//! comment, another field) therefore does not make Jira's side newer. Dataverse keeps no
//! per-field time without auditing, so its side stays the record's `modifiedon`, which any
//! column's edit moves: the asymmetry is stated in every verdict, which names both times.

use crate::status::{most_recent_wins, Winner};
use crate::sync::{stamp, Item};
use crate::Result;
use crosswalk_jira::Issue;
use serde_json::{json, Value};
use std::collections::HashMap;
use time::OffsetDateTime;

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

/// Which side won a conflict, why in words, and the compared times for the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub winner: Winner,
    pub why: String,
    pub compared: Value,
}

/// Settles a conflict on `what` (the field's name, or "the status") by the most recent change:
/// Jira's time from `jira` against the record's `modifiedon`; ties go to Dynamics. `winner`
/// is `Neither` when no time is after the link's `baseline`.
pub fn judge(
    what: &str,
    jira: (Option<OffsetDateTime>, JiraClock),
    modified_on: Option<OffsetDateTime>,
    baseline: OffsetDateTime,
) -> Verdict {
    let (jira_at, clock) = jira;
    let winner = most_recent_wins(jira_at, modified_on, baseline);
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
    let dynamics_side = format!(
        "the record was last modified at {} (Dynamics modifiedon, which an edit of any column moves; Dynamics keeps no time per column)",
        show(modified_on)
    );
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
        "dynamics": {"at": modified_on.map(stamp), "source": "modifiedon"},
    });
    Verdict {
        winner,
        why,
        compared,
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const BASELINE: OffsetDateTime = datetime!(2025-03-01 08:00 UTC);

    fn check(
        jira: (Option<OffsetDateTime>, JiraClock),
        dynamics: Option<OffsetDateTime>,
        winner: Winner,
        words: &[&str],
    ) {
        let verdict = judge("Summary", jira, dynamics, BASELINE);
        assert_eq!(verdict.winner, winner, "{}", verdict.why);
        for word in words {
            assert!(
                verdict.why.contains(word),
                "{word:?} not in {}",
                verdict.why
            );
        }
    }

    #[test]
    fn the_verdict_names_both_compared_times_and_their_sources() {
        let (t1, t2) = (
            datetime!(2025-03-01 09:00:01 UTC),
            datetime!(2025-03-01 09:00:02 UTC),
        );
        check(
            (Some(t1), JiraClock::Changelog),
            Some(t2),
            Winner::Dataverse,
            &[
                "Dynamics' value won",
                "2025-03-01T09:00:01Z",
                "2025-03-01T09:00:02Z",
                "issue changelog",
                "modifiedon",
            ],
        );
        check(
            (Some(t2), JiraClock::Changelog),
            Some(t1),
            Winner::Jira,
            &[
                "Jira's value won",
                "Jira changed Summary at 2025-03-01T09:00:02Z",
            ],
        );
        // Same second: Dynamics wins the tie.
        check(
            (Some(t1), JiraClock::Changelog),
            Some(t1),
            Winner::Dataverse,
            &["not before"],
        );
        check(
            (Some(t2), JiraClock::IssueUpdated),
            Some(t1),
            Winner::Jira,
            &[
                "last updated at 2025-03-01T09:00:02Z",
                "no entry for Summary",
            ],
        );
        check(
            (None, JiraClock::IssueUpdated),
            None,
            Winner::Neither,
            &["an unknown time"],
        );
        let verdict = judge(
            "Summary",
            (Some(t1), JiraClock::Changelog),
            Some(t2),
            BASELINE,
        );
        assert_eq!(
            verdict.compared,
            json!({"jira": {"at": "2025-03-01T09:00:01Z", "source": "changelog"},
                "dynamics": {"at": "2025-03-01T09:00:02Z", "source": "modifiedon"}})
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
