//! "Most recent wins" with Dataverse auditing, against the sandbox over real HTTP: Dynamics'
//! side of a conflict is timed by the column's own newest audit entry when the environment,
//! the table and the column are audited, else by the record's `modifiedon` (auditing off, or
//! no View Audit Summary privilege: said in the conflict event, with the fix).
//!
//! Each test edits the case's title in Dynamics, then the summary in Jira, then another column
//! of the case (description): Jira's edit of the field is newer than Dynamics' edit of the
//! column, but older than the record's `modifiedon`.

mod common;

use common::{base_settings, conflicts, count, Harness};
use crosswalk_sandbox::dataverse::READ_AUDIT_SUMMARY;
use crosswalk_sandbox::identity::CLIENT_ID;
use crosswalk_store::{EventAction, EventRow, RunRow};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Two-way title ↔ summary, "most recent wins" (the default ownership).
fn summary_only() -> Value {
    let mut settings = base_settings();
    settings["mode"] = json!("two_way");
    settings["fields"] = json!([{"dataverse": "title", "jira": "summary"}]);
    settings
}

fn dataverse(run: &RunRow) -> u64 {
    run.requests.get("dataverse").map_or(0, |r| r.requests)
}

fn jira(run: &RunRow) -> u64 {
    run.requests.get("jira").map_or(0, |r| r.requests)
}

/// The baseline poll, a case created after it, and the poll creating its issue.
async fn case_with_issue(h: &Harness, title: &str) -> (String, String) {
    h.poll().await;
    h.tick().await;
    let case = h.create_case(title, json!({}));
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "issue", EventAction::Created),
        1,
        "{events:#?}"
    );
    let key = h.link_of(&case).jira_key;
    h.tick().await;
    (case, key)
}

/// When the audit history last recorded a change of the case's `column`.
fn audited_at(h: &Harness, case: &str, column: &str) -> OffsetDateTime {
    h.sandbox.handle.dataverse(|d| {
        d.audit_records("incident", case)
            .iter()
            .filter(|r| r.columns.iter().any(|c| c == column))
            .map(|r| r.created_on)
            .max()
            .unwrap_or_else(|| panic!("no audit entry for {column} of {case}"))
    })
}

/// The title in Dynamics, then the summary in Jira, then the description in Dynamics; returns
/// (the title's change, Jira's summary change, the record's modifiedon).
async fn edits(
    h: &Harness,
    case: &str,
    key: &str,
    round: u32,
) -> (OffsetDateTime, OffsetDateTime, OffsetDateTime) {
    h.update_case(
        case,
        json!({"title": format!("Printer offline (Dynamics {round})")}),
    );
    let title_at = h.now();
    h.tick().await;
    h.edit_issue(
        key,
        json!({"summary": format!("Printer offline (Jira {round})")}),
    );
    h.tick().await;
    h.update_case(
        case,
        json!({"description": format!("Toner replaced, round {round}")}),
    );
    let (jira_at, modified_at) = (h.jira_changed_at(key, "summary"), h.case_modified_at(case));
    assert!(title_at < jira_at && jira_at < modified_at);
    (title_at, jira_at, modified_at)
}

fn the_conflict(events: &[EventRow]) -> &EventRow {
    let found = conflicts(events);
    assert_eq!(found.len(), 1, "{events:#?}");
    found[0]
}

fn stamp(at: OffsetDateTime) -> String {
    crosswalk_dynamics::sync::stamp(at)
}

#[tokio::test]
async fn with_auditing_a_newer_jira_edit_wins_over_a_later_edit_of_another_column() {
    let h = Harness::start(summary_only()).await;
    h.sandbox
        .handle
        .dataverse(|d| d.set_organization_auditing(true));
    let (case, key) = case_with_issue(&h, "Printer offline").await;
    let (idle_before, _) = h.poll().await;
    // A one-sided Jira edit: the same writes as a conflict Jira wins, without the conflict.
    h.edit_issue(&key, json!({"summary": "Printer offline (Jira only)"}));
    let (one_sided, events) = h.poll().await;
    assert!(conflicts(&events).is_empty(), "{events:#?}");
    h.tick().await;

    let (_, jira_at, modified_at) = edits(&h, &case, &key, 1).await;
    let title_at = audited_at(&h, &case, "title");
    let (first, events) = h.poll().await;
    let conflict = the_conflict(&events);
    assert!(
        conflict.message.contains("Jira's value won")
            && conflict.message.contains("(Dynamics audit history)")
            && conflict.message.contains(&stamp(title_at))
            && !conflict.message.contains(&stamp(modified_at)),
        "{}",
        conflict.message
    );
    let after = conflict.after.as_ref().unwrap();
    assert_eq!(after["winner"], "jira");
    assert_eq!(
        after["compared"],
        json!({
            "jira": {"at": stamp(jira_at), "source": "changelog"},
            "dynamics": {"at": stamp(title_at), "source": "audit"},
        })
    );
    assert_eq!(conflict.fix, None);
    assert_eq!(
        h.case_value(&case, "title"),
        json!("Printer offline (Jira 1)")
    );
    assert_eq!(
        h.issue_field(&key, "summary"),
        json!("Printer offline (Jira 1)")
    );
    // The item's first conflict reads the audit switches (the organization's, then the table
    // with its columns) and the record's audit history; Jira's side reads the changelog.
    assert_eq!(
        (dataverse(&first), jira(&first)),
        (dataverse(&one_sided) + 3, jira(&one_sided) + 1),
        "one-sided: {:?}; conflict: {:?}",
        one_sided.requests,
        first.requests
    );

    // The switches are known now: a conflict costs exactly one Dataverse request.
    h.tick().await;
    edits(&h, &case, &key, 2).await;
    let (second, events) = h.poll().await;
    assert!(the_conflict(&events).message.contains("Jira's value won"));
    assert_eq!(
        h.case_value(&case, "title"),
        json!("Printer offline (Jira 2)")
    );
    assert_eq!(
        (dataverse(&second), jira(&second)),
        (dataverse(&one_sided) + 1, jira(&one_sided) + 1),
        "one-sided: {:?}; conflict: {:?}",
        one_sided.requests,
        second.requests
    );

    // Idle polls read no history.
    let (idle_after, events) = h.poll().await;
    assert!(Harness::writes(&events).is_empty(), "{events:#?}");
    assert_eq!(
        (dataverse(&idle_after), jira(&idle_after)),
        (dataverse(&idle_before), jira(&idle_before))
    );
}

/// Today's behaviour where auditing is off (a fresh environment): `modifiedon` decides, and
/// the event says why; one request per item finds out.
#[tokio::test]
async fn without_auditing_dynamics_is_timed_by_modifiedon_and_the_event_says_why() {
    let h = Harness::start(summary_only()).await;
    let (case, key) = case_with_issue(&h, "Scanner jams").await;
    // A one-sided Dynamics edit: the same writes as a conflict Dynamics wins.
    h.update_case(&case, json!({"title": "Scanner jams (Dynamics only)"}));
    let (one_sided, _) = h.poll().await;
    h.tick().await;

    let (_, jira_at, modified_at) = edits(&h, &case, &key, 1).await;
    let (first, events) = h.poll().await;
    let conflict = the_conflict(&events);
    assert!(
        conflict.message.contains("Dynamics' value won")
            && conflict.message.contains("record modifiedon")
            && conflict
                .message
                .contains("auditing is off for the environment"),
        "{}",
        conflict.message
    );
    assert_eq!(
        conflict.after.as_ref().unwrap()["compared"],
        json!({
            "jira": {"at": stamp(jira_at), "source": "changelog"},
            "dynamics": {"at": stamp(modified_at), "source": "modifiedon"},
        })
    );
    assert_eq!(
        h.issue_field(&key, "summary"),
        json!("Printer offline (Dynamics 1)")
    );
    assert_eq!(
        h.case_value(&case, "title"),
        json!("Printer offline (Dynamics 1)")
    );
    // The organization's switch is read once (the table is not read when it is off).
    assert_eq!(dataverse(&first), dataverse(&one_sided) + 1);
    h.tick().await;
    edits(&h, &case, &key, 2).await;
    let (second, events) = h.poll().await;
    assert!(the_conflict(&events)
        .message
        .contains("Dynamics' value won"));
    assert_eq!(dataverse(&second), dataverse(&one_sided));
}

/// Auditing is on but the application user's role lacks View Audit Summary: the history is
/// refused once, `modifiedon` decides, the conflict says so with the fix, the poll succeeds.
#[tokio::test]
async fn without_view_audit_summary_modifiedon_decides_and_the_conflict_names_the_fix() {
    let h = Harness::start(summary_only()).await;
    h.sandbox.handle.dataverse(|d| {
        d.set_organization_auditing(true);
        d.revoke_misc_privilege(CLIENT_ID, READ_AUDIT_SUMMARY);
    });
    let (case, key) = case_with_issue(&h, "Laptop battery").await;
    h.update_case(&case, json!({"title": "Laptop battery (Dynamics only)"}));
    let (one_sided, _) = h.poll().await;
    h.tick().await;

    let (_, jira_at, modified_at) = edits(&h, &case, &key, 1).await;
    // `Harness::poll` fails on a failed run or a failed event.
    let (first, events) = h.poll().await;
    let conflict = the_conflict(&events);
    assert!(
        conflict.message.contains("Dynamics' value won")
            && conflict
                .message
                .contains("its audit history could not be read")
            && conflict
                .message
                .contains("View Audit Summary privilege (prvReadAuditSummary)"),
        "{}",
        conflict.message
    );
    let fix = conflict.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("grant View Audit Summary (prvReadAuditSummary)"),
        "{fix}"
    );
    assert_eq!(
        conflict.after.as_ref().unwrap()["compared"]["dynamics"],
        json!({"at": stamp(modified_at), "source": "modifiedon"})
    );
    assert_eq!(
        conflict.after.as_ref().unwrap()["compared"]["jira"]["at"],
        json!(stamp(jira_at))
    );
    assert_eq!(
        h.issue_field(&key, "summary"),
        json!("Printer offline (Dynamics 1)")
    );
    // The switches (2) and the refused history (1); the refusal is then remembered.
    assert_eq!(dataverse(&first), dataverse(&one_sided) + 3);
    h.tick().await;
    edits(&h, &case, &key, 2).await;
    let (second, events) = h.poll().await;
    let conflict = the_conflict(&events);
    assert!(conflict.fix.is_some(), "{conflict:#?}");
    assert_eq!(dataverse(&second), dataverse(&one_sided));
}

/// The status is timed the same way, by its `statuscode` audit entry: Jira's later transition
/// wins over Dynamics' earlier status change, though another column changed after both.
#[tokio::test]
async fn with_auditing_the_status_is_timed_by_its_own_status_change() {
    let mut settings = base_settings();
    settings["mode"] = json!("two_way");
    settings["status"] = json!({"enabled": true, "resolution_text": "Resolved from Jira"});
    let h = Harness::start(settings).await;
    h.sandbox
        .handle
        .dataverse(|d| d.set_organization_auditing(true));
    let (case, key) = case_with_issue(&h, "Race with audit").await;
    h.update_case(&case, json!({"statuscode": 2}));
    h.tick().await;
    h.transition(&key, "Resolved");
    h.tick().await;
    h.update_case(&case, json!({"description": "Customer called back"}));
    let status_at = audited_at(&h, &case, "statuscode");
    assert!(status_at < h.case_modified_at(&case));

    let (_, events) = h.poll().await;
    let conflict = the_conflict(&events);
    assert!(
        conflict.message.contains("Jira's value won")
            && conflict.message.contains("(Dynamics audit history)"),
        "{}",
        conflict.message
    );
    assert_eq!(
        conflict.after.as_ref().unwrap()["compared"]["dynamics"],
        json!({"at": stamp(status_at), "source": "audit"})
    );
    assert_eq!(h.case_status(&case), (1, 5), "{events:#?}");
    assert_eq!(h.issue_status(&key), "Resolved");
}
