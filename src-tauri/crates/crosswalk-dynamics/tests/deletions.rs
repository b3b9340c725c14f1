//! Deletions neither change read reports: a deleted Jira issue, and a record deleted from a
//! table without change tracking. The presence check lists what still exists, reads each
//! missing one on its own and unlinks only on a 404; a write that meets a 404 finds out at once.

mod common;

use common::{base_settings, count, Harness, RequestLog};
use crosswalk_engine::context::EventAction;
use crosswalk_store::EventRow;
use serde_json::{json, Value};

fn checking_every_poll(mut settings: Value) -> Value {
    settings["deletion_check_minutes"] = json!(0);
    settings
}

fn unlinked(events: &[EventRow]) -> Vec<&EventRow> {
    events
        .iter()
        .filter(|e| e.object_kind.as_deref() == Some("link") && e.action == EventAction::Deleted)
        .collect()
}

impl Harness {
    fn delete_issue(&self, key: &str) {
        assert!(self.sandbox.handle.jira(|j| j.delete_issue(key)));
    }

    fn delete_row(&self, table: &str, id: &str) {
        let now = self.now();
        assert!(self
            .sandbox
            .handle
            .dataverse(|d| d.delete_row(table, id, now)));
    }
}

/// A linked issue deleted in Jira: the check unlinks its Case and removes the link note it
/// wrote on the Case; the Case stays, and later polls neither recreate an issue nor fail.
#[tokio::test]
async fn a_deleted_jira_issue_unlinks_its_record_and_removes_our_link_note() {
    let h = Harness::start(checking_every_poll(base_settings())).await;
    h.poll().await;
    let (case, key) = h.linked_case("Issue deleted in Jira").await;
    let (other_case, other_key) = h.linked_case("Stays linked").await;
    assert_eq!(h.link_notes_of(&case).len(), 1);

    h.delete_issue(&key);
    let (run, events) = h.poll().await;
    let gone = unlinked(&events);
    assert_eq!(gone.len(), 1, "{events:#?}");
    assert!(
        gone[0]
            .message
            .contains(&format!("Jira issue {key} was deleted"))
            && gone[0].message.contains("the record is kept"),
        "{}",
        gone[0].message
    );
    assert_eq!(run.counts["link"].deleted, 1, "{:?}", run.counts);
    let left: Vec<String> = h.links().into_iter().map(|l| l.jira_key).collect();
    assert_eq!(left, vec![other_key.clone()]);
    assert!(h.link_notes_of(&case).is_empty(), "our link note is gone");
    assert_eq!(h.link_notes_of(&other_case).len(), 1);
    assert_eq!(h.case_value(&case, "title"), json!("Issue deleted in Jira"));

    // The Case changes later: no new issue, no write, nothing fails.
    h.tick().await;
    h.update_case(&case, json!({"title": "Edited after the issue went"}));
    for _ in 0..2 {
        let (_, events) = h.poll().await;
        assert!(Harness::writes(&events).is_empty(), "{events:#?}");
        assert!(unlinked(&events).is_empty(), "{events:#?}");
        h.tick().await;
    }
    assert!(h.issues_for_case(&case).is_empty());
    assert_eq!(h.links().len(), 1);
}

/// Leads have no change tracking in the sandbox: a deleted lead never shows in the `modifiedon`
/// window, so the check finds it (one `pk eq … or …` query for the linked ids) and unlinks
/// it; its issue and the other leads' links stay.
#[tokio::test]
async fn a_record_deleted_from_a_table_without_change_tracking_is_unlinked_by_the_check() {
    let h = Harness::start(checking_every_poll(common::table_settings(
        "lead", "subject",
    )))
    .await;
    h.poll().await;
    h.tick().await;
    let leads: Vec<String> = (0..3)
        .map(|i| h.create_row("lead", json!({"subject": format!("Lead {i}")})))
        .collect();
    let (_, events) = h.poll().await;
    assert_eq!(count(&events, "issue", EventAction::Created), 3);
    let key = h.link_of_row("lead", &leads[1]).jira_key;
    assert_eq!(h.remote_links_of(&key).len(), 1);

    h.delete_row("lead", &leads[1]);
    let (_, events) = h.poll().await;
    let gone = unlinked(&events);
    assert_eq!(gone.len(), 1, "{events:#?}");
    assert!(
        gone[0].message.contains("Dynamics record was deleted") && gone[0].message.contains(&key),
        "{}",
        gone[0].message
    );
    assert_eq!(h.links().len(), 2);
    assert!(
        h.remote_links_of(&key).is_empty(),
        "our remote link is gone"
    );
    assert_eq!(
        h.issue_field(&key, "summary"),
        json!("Lead 1"),
        "the issue is kept"
    );

    let (_, events) = h.poll().await;
    assert!(unlinked(&events).is_empty(), "{events:#?}");
    assert!(Harness::writes(&events).is_empty(), "{events:#?}");
}

/// The check costs one id-only search page (and, without change tracking, one query per 100
/// linked records) and runs only once per interval: polls in between read nothing for it.
#[tokio::test]
async fn the_check_runs_once_per_interval_and_costs_one_id_search() {
    let h = Harness::start(base_settings()).await;
    h.poll().await;
    let (_, key) = h.linked_case("Watched").await;
    h.poll().await;

    let searches = |routes: &[String]| {
        routes
            .iter()
            .filter(|r| r.as_str() == "jira POST /rest/api/3/search/jql")
            .count()
    };
    let log = RequestLog::start();
    log.take();
    h.poll().await;
    let idle = searches(&log.take());

    // Due again: 16 minutes since the last check.
    let past = time::OffsetDateTime::now_utc() - time::Duration::minutes(16);
    h.store()
        .set_cursor(
            h.job_id(),
            crosswalk_dynamics::presence::CURSOR_PRESENCE,
            &crosswalk_dynamics::sync::stamp(past),
        )
        .unwrap();
    h.delete_issue(&key);
    let (_, events) = h.poll().await;
    let routes = log.take();
    assert_eq!(searches(&routes), idle + 1, "{routes:#?}");
    assert_eq!(unlinked(&events).len(), 1, "{events:#?}");

    // Not due: a deletion waits for the next check (nothing else touches the link).
    let (_, other) = h.linked_case("Deleted between checks").await;
    h.delete_issue(&other);
    log.take();
    let (_, events) = h.poll().await;
    assert_eq!(searches(&log.take()), idle, "no check between intervals");
    assert!(unlinked(&events).is_empty(), "{events:#?}");
    assert_eq!(h.links().len(), 1);
}

/// A write that meets a 404 asks at once which side is gone: the Case changed after its issue
/// was deleted, so the item unlinks it in that poll, with no failure, though no check is due.
#[tokio::test]
async fn a_write_to_a_deleted_issue_unlinks_at_once_without_a_failure() {
    let h = Harness::start(base_settings()).await;
    h.poll().await;
    let (case, key) = h.linked_case("About to lose its issue").await;
    h.delete_issue(&key);
    h.tick().await;
    h.update_case(&case, json!({"title": "Edited in Dynamics"}));

    let (_, events) = h.poll().await;
    let gone = unlinked(&events);
    assert_eq!(gone.len(), 1, "{events:#?}");
    assert!(gone[0].message.contains(&key), "{}", gone[0].message);
    assert!(h.links().is_empty());
    assert!(h.issues_for_case(&case).is_empty(), "no issue recreated");
}

/// An issue the item's search no longer finds but Jira still has (moved to another issue type
/// here) is read once and kept linked: only a 404 unlinks.
#[tokio::test]
async fn an_issue_out_of_the_search_but_still_there_stays_linked() {
    let h = Harness::start(checking_every_poll(base_settings())).await;
    h.poll().await;
    let (case, key) = h.linked_case("Moved to another type").await;
    h.sandbox.handle.jira(|j| {
        let idx = j.issue_index(&key).unwrap();
        j.issues[idx].issue_type = "moved-elsewhere".into();
    });

    let log = RequestLog::start();
    log.take();
    let (_, events) = h.poll().await;
    let routes = log.take();
    assert!(unlinked(&events).is_empty(), "{events:#?}");
    assert_eq!(h.link_of(&case).jira_key, key);
    assert!(
        routes
            .iter()
            .any(|r| r.as_str() == "jira GET /rest/api/3/issue/{key}"),
        "the missing issue is read on its own: {routes:#?}"
    );
}

/// Most linked issues gone at once looks like lost access (Browse projects, issue security)
/// more than deletions: the check unlinks nothing and warns with the fix; an issue deleted on
/// purpose is still unlinked when its record changes (the write's 404, with the project still
/// visible).
#[tokio::test]
async fn most_issues_gone_at_once_unlinks_nothing_and_warns() {
    let h = Harness::start(checking_every_poll(base_settings())).await;
    h.poll().await;
    h.tick().await;
    let cases: Vec<String> = (0..12)
        .map(|i| h.create_case(&format!("Watched {i}"), json!({})))
        .collect();
    let (_, events) = h.poll().await;
    assert_eq!(count(&events, "issue", EventAction::Created), 12);
    let keys: Vec<String> = cases.iter().map(|c| h.link_of(c).jira_key).collect();
    for key in &keys[..11] {
        h.delete_issue(key);
    }

    let (_, events) = h.poll().await;
    assert!(unlinked(&events).is_empty(), "{events:#?}");
    let warned: Vec<_> = events
        .iter()
        .filter(|e| e.message.contains("11 of 12 linked Jira issues"))
        .collect();
    assert_eq!(warned.len(), 1, "{events:#?}");
    assert!(warned[0].message.contains("nothing was unlinked"));
    assert!(
        warned[0]
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("Browse projects")),
        "{:?}",
        warned[0].fix
    );
    assert_eq!(h.links().len(), 12);

    // One of them changes in Dynamics: the write meets the deleted issue and unlinks it.
    h.tick().await;
    h.update_case(&cases[0], json!({"title": "Edited after the issue went"}));
    let (_, events) = h.poll().await;
    let gone = unlinked(&events);
    assert_eq!(gone.len(), 1, "{events:#?}");
    assert!(gone[0].message.contains(&keys[0]), "{}", gone[0].message);
    assert_eq!(h.links().len(), 11);
}
