//! Status sync of Smart Connected Items against the sandbox over real HTTP: Cases resolved
//! through `CloseIncident`, cancelled, reactivated; opportunities won and lost through their
//! actions, leads qualified and disqualified; most recent side wins; missing workflow
//! transitions and refused writes reported; the documented modes matrix (status goes both ways
//! in one-way and two-way mode once enabled); no echoes; failed moves on either side retried
//! at every poll until they apply or a newer status change takes over.
//!
//! The sandbox's SUP workflow: Open(1) → In Progress(3) ↔ Waiting for customer(10002);
//! Resolve → Resolved(5) → Close → Closed(6); Cancel request → Cancelled(10003); Reopen → Open
//! from Resolved, Closed and Cancelled. Cases: Active(0) 1/2/3/4, Resolved(1) 5/1000,
//! Cancelled(2) 6/2000.

mod common;

use common::{
    assert_compared, base_settings, conflicts, count, open_case, status_settings, Harness,
    RESOLUTION,
};
use crosswalk_core::RunStatus;
use crosswalk_store::{EventAction, EventRow};
use serde_json::{json, Value};

/// Two-way status sync whose map makes Information Provided (Resolved 1/1000) Jira's Closed,
/// which SUP reaches only from Resolved (an in-progress issue has no transition to it), with
/// one open case titled `title`.
async fn with_unreachable_close(title: &str) -> (Harness, String, String) {
    let mut settings = status_settings("two_way");
    settings["status"]["map"] = json!([{"jira_status": "6", "state": 1, "status": 1000}]);
    Harness::with_case(settings, title, open_case()).await
}

fn status_events(events: &[EventRow], action: EventAction) -> Vec<&EventRow> {
    events
        .iter()
        .filter(|e| e.object_kind.as_deref() == Some("status") && e.action == action)
        .collect()
}

#[tokio::test]
async fn a_new_link_takes_the_status_of_the_case() {
    let (h, case, key) = Harness::with_status_case("two_way", "Status starts from Dynamics").await;
    // An active "In Progress" case puts its new issue in progress (the issue starts Open).
    assert_eq!(h.case_status(&case), (0, 1));
    assert_eq!(h.issue_status(&key), "In Progress");
    h.assert_quiet(2).await;
}

#[tokio::test]
async fn resolving_the_issue_in_jira_resolves_the_case_through_close_incident() {
    let (h, case, key) = Harness::with_status_case("two_way", "Printer jams").await;
    assert!(h.resolutions_of(&case).is_empty());

    h.transition(&key, "Resolved");
    let (_, events) = h.poll().await;
    let updated = status_events(&events, EventAction::Updated);
    assert_eq!(updated.len(), 1, "{events:#?}");
    assert!(
        updated[0].message.contains("Resolved"),
        "{}",
        updated[0].message
    );
    assert_eq!(
        updated[0].before,
        Some(json!({"statecode": 0, "statuscode": 1}))
    );
    assert_eq!(
        updated[0].after,
        Some(json!({"statecode": 1, "statuscode": 5, "via": "the CloseIncident action"}))
    );
    assert_eq!(h.case_status(&case), (1, 5), "Resolved / Problem Solved");
    assert_eq!(
        h.resolutions_of(&case),
        vec![(RESOLUTION.to_owned(), 1, 2)],
        "one completed case resolution with the configured text"
    );
    assert_eq!(h.issue_status(&key), "Resolved");

    // Closing the issue is still a done status: the case stays resolved, nothing is rewritten.
    h.tick().await;
    h.transition(&key, "Closed");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Failed),
        0,
        "{events:#?}"
    );
    assert_eq!(h.case_status(&case).0, 1);
    assert_eq!(h.resolutions_of(&case).len(), 1);
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn without_a_resolution_text_the_resolution_names_the_issue() {
    let mut settings = status_settings("two_way");
    settings["status"] = json!({"enabled": true});
    let (h, case, key) = Harness::with_case(settings, "Default resolution", open_case()).await;
    h.transition(&key, "Resolved");
    h.poll().await;
    let resolutions = h.resolutions_of(&case);
    assert_eq!(resolutions.len(), 1, "{resolutions:?}");
    assert!(resolutions[0].0.contains(&key), "{resolutions:?}");
}

#[tokio::test]
async fn cancelling_the_issue_cancels_the_case_and_cancelling_the_case_cancels_the_issue() {
    let (h, case, key) = Harness::with_status_case("two_way", "Duplicate request").await;
    h.transition(&key, "Cancelled");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    // The documented Case cancel pair: statecode 2 Cancelled, statuscode 6 Cancelled.
    assert_eq!(h.case_status(&case), (2, 6));
    assert!(
        h.resolutions_of(&case).is_empty(),
        "cancelling writes no resolution"
    );
    h.assert_quiet(2).await;

    // The other way round: a Dynamics user cancels a second case.
    let (other, other_key) = h
        .case_with_issue("Cancelled by the customer", open_case())
        .await;
    h.update_case(&other, json!({"statecode": 2, "statuscode": 6}));
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(h.issue_status(&other_key), "Cancelled");
    assert_eq!(h.case_status(&other), (2, 6));
    h.assert_quiet(2).await;
}

#[tokio::test]
async fn resolving_the_case_in_dynamics_resolves_the_issue() {
    let (h, case, key) = Harness::with_status_case("two_way", "Resolved in Dynamics").await;
    h.resolve_case(&case, 5, "Solved on the phone");
    let (_, events) = h.poll().await;
    let updated = status_events(&events, EventAction::Updated);
    assert_eq!(updated.len(), 1, "{events:#?}");
    assert_eq!(updated[0].before, Some(json!("In Progress")));
    assert_eq!(updated[0].after, Some(json!("Resolved")));
    assert_eq!(h.issue_status(&key), "Resolved");
    assert_eq!(h.case_status(&case), (1, 5));
    assert_eq!(
        h.resolutions_of(&case).len(),
        1,
        "only the Dynamics user's resolution"
    );
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn reactivating_the_case_reopens_the_issue() {
    let (h, case, key) = Harness::with_status_case("two_way", "Came back").await;
    h.transition(&key, "Resolved");
    h.poll().await;
    assert_eq!(h.case_status(&case), (1, 5));

    // A Dynamics user reactivates the case (statecode 0, its default reason In Progress).
    h.tick().await;
    h.update_case(&case, json!({"statecode": 0, "statuscode": 1}));
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    // SUP reopens only to Open; the engine goes on to the mapped status when it can.
    assert_eq!(h.issue_status(&key), "In Progress", "{events:#?}");
    assert!(
        status_events(&events, EventAction::Updated)[0]
            .message
            .contains("Reopened"),
        "{events:#?}"
    );
    let reopened = status_events(&events, EventAction::Updated)[0];
    assert_eq!(reopened.before, Some(json!("Resolved")));
    assert_eq!(reopened.after, Some(json!("In Progress")));
    assert_eq!(
        h.case_status(&case),
        (0, 1),
        "Jira's move is not echoed back"
    );
    h.assert_quiet(3).await;

    // And Jira can resolve it again: a second resolution is written.
    h.tick().await;
    h.transition(&key, "Resolved");
    h.poll().await;
    assert_eq!(h.case_status(&case), (1, 5));
    assert_eq!(h.resolutions_of(&case).len(), 2);
}

#[tokio::test]
async fn reopening_the_issue_in_jira_reactivates_the_case() {
    let (h, case, key) = Harness::with_status_case("two_way", "Reopened in Jira").await;
    h.resolve_case(&case, 5, "Thought it was fixed");
    h.poll().await;
    assert_eq!(h.issue_status(&key), "Resolved");

    h.tick().await;
    h.transition(&key, "Open");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(h.case_status(&case).0, 0, "the case is active again");
    assert_eq!(
        h.issue_status(&key),
        "Open",
        "Dynamics' reactivation is not echoed"
    );
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn when_both_sides_change_between_polls_the_most_recent_wins() {
    let (h, case, key) = Harness::with_status_case("two_way", "Race one").await;
    // Dynamics first, Jira a second later: Jira wins.
    h.update_case(&case, json!({"statuscode": 2}));
    h.tick().await;
    h.transition(&key, "Resolved");
    let (_, events) = h.poll().await;
    assert_eq!(h.case_status(&case), (1, 5), "{events:#?}");
    assert_eq!(h.issue_status(&key), "Resolved");
    h.assert_quiet(2).await;

    // Jira first, Dynamics a second later: Dynamics wins.
    let (other, other_key) = h.case_with_issue("Race two", open_case()).await;
    h.transition(&other_key, "Waiting for customer");
    h.tick().await;
    h.resolve_case(&other, 5, "Solved on the phone");
    let (_, events) = h.poll().await;
    assert_eq!(h.case_status(&other), (1, 5), "{events:#?}");
    assert_eq!(h.issue_status(&other_key), "Resolved", "{events:#?}");
    assert_eq!(
        h.resolutions_of(&other).len(),
        1,
        "no second resolution from Jira"
    );
    h.assert_quiet(2).await;
}

#[tokio::test]
async fn a_transition_missing_from_the_workflow_is_reported_and_nothing_is_written() {
    // "Information Provided" is explicitly Jira's Closed, which SUP reaches only from Resolved.
    let (h, case, key) = with_unreachable_close("Unreachable status").await;
    assert_eq!(h.issue_status(&key), "In Progress");
    let updated_before = h.sandbox.handle.jira(|j| j.issue_updated(&key));

    h.resolve_case(&case, 1000, "Answered by email");
    let (status, run, events) = h.run_events().await;
    let failed = status_events(&events, EventAction::Failed);
    assert_eq!(failed.len(), 1, "{events:#?}");
    let message = &failed[0].message;
    assert!(
        message.contains("no transition")
            && message.contains("In Progress")
            && message.contains("Closed"),
        "{message}"
    );
    assert!(
        failed[0]
            .fix
            .as_deref()
            .is_some_and(|fix| fix.contains("workflow")),
        "{:?}",
        failed[0]
    );
    assert_ne!(status, RunStatus::Succeeded, "{run:?}");
    // Nothing was guessed or half-written on either side.
    assert_eq!(h.issue_status(&key), "In Progress");
    assert_eq!(
        h.sandbox.handle.jira(|j| j.issue_updated(&key)),
        updated_before
    );
    assert_eq!(h.case_status(&case), (1, 1000));
    assert_eq!(h.resolutions_of(&case).len(), 1);
    assert_eq!(count(&events, "issue", EventAction::Updated), 0);
    assert_eq!(count(&events, "record", EventAction::Updated), 0);
}

#[tokio::test]
async fn one_way_items_sync_status_both_ways_but_fields_only_to_jira() {
    // The modes matrix: "Status sync when enabled — One-Way Sync: Yes, both directions"; only
    // mapped fields follow the mode.
    let (h, case, key) = Harness::with_status_case("one_way", "One-way status").await;

    h.resolve_case(&case, 5, "Solved");
    h.poll().await;
    assert_eq!(h.issue_status(&key), "Resolved");

    h.tick().await;
    h.transition(&key, "Open");
    h.edit_issue(&key, json!({"summary": "Edited in Jira"}));
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(
        count(&events, "record", EventAction::Updated),
        0,
        "{events:#?}"
    );
    assert_eq!(
        h.case_status(&case).0,
        0,
        "the reopened issue reactivates the case"
    );
    assert_eq!(h.case_value(&case, "title"), json!("One-way status"));
    h.assert_quiet(2).await;
}

#[tokio::test]
async fn status_sync_off_leaves_both_statuses_alone() {
    let mut settings = base_settings();
    settings["mode"] = json!("two_way");
    let (h, case, key) = Harness::with_case(settings, "No status sync", open_case()).await;
    let initial = h.issue_status(&key);
    h.transition(&key, "Cancelled");
    let (_, events) = h.poll().await;
    assert_eq!(count(&events, "status", EventAction::Updated), 0);
    assert_eq!(h.case_status(&case), (0, 1));
    h.tick().await;
    h.resolve_case(&case, 5, "Done");
    h.poll().await;
    assert_eq!(h.issue_status(&key), "Cancelled");
    assert_ne!(initial, "Cancelled");
}

#[tokio::test]
async fn status_changes_are_not_echoed_across_many_polls() {
    let (h, case, key) = Harness::with_status_case("two_way", "Echo check").await;
    h.update_case(&case, json!({"statuscode": 2}));
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(h.issue_status(&key), "Waiting for customer");
    let updated = h.sandbox.handle.jira(|j| j.issue_updated(&key));
    let version = h
        .sandbox
        .handle
        .dataverse(|d| d.row("incident", &case).unwrap().version);
    for _ in 0..5 {
        h.tick().await;
        let (_, events) = h.poll().await;
        let writes = Harness::writes(&events);
        assert!(writes.is_empty(), "{writes:#?}");
    }
    assert_eq!(h.sandbox.handle.jira(|j| j.issue_updated(&key)), updated);
    assert_eq!(
        h.sandbox
            .handle
            .dataverse(|d| d.row("incident", &case).unwrap().version),
        version
    );
    assert_eq!(h.case_status(&case), (0, 2));
}

/// Jira's status is timed by its own changelog entry: a comment after both changes moves the
/// issue's `updated` but is no status change, so the later Dynamics change still wins.
#[tokio::test]
async fn an_unrelated_later_jira_edit_does_not_make_jira_win_the_status() {
    let (h, case, key) = Harness::with_status_case("two_way", "Status race with a comment").await;
    h.transition(&key, "Waiting for customer");
    h.tick().await;
    h.resolve_case(&case, 5, "Solved on the phone");
    h.tick().await;
    h.comment_on(&key, "Customer called back");
    let (jira_at, dynamics_at) = (h.jira_changed_at(&key, "status"), h.case_modified_at(&case));
    assert!(jira_at < dynamics_at && dynamics_at < h.issue_updated_at(&key));

    let (_, events) = h.poll().await;
    let found = conflicts(&events);
    assert_eq!(found.len(), 1, "{events:#?}");
    assert!(
        found[0].message.contains("Dynamics' value won"),
        "{}",
        found[0].message
    );
    assert_compared(found[0], "dynamics", jira_at, dynamics_at);
    assert_eq!(h.issue_status(&key), "Resolved", "{events:#?}");
    assert_eq!(h.case_status(&case), (1, 5));
    assert_eq!(h.resolutions_of(&case).len(), 1, "no resolution from Jira");
    h.assert_quiet(2).await;

    // The reverse still works: Jira's status change after the record's, then a comment.
    let (other, other_key) = h.case_with_issue("Jira moves last", open_case()).await;
    h.update_case(&other, json!({"statuscode": 2}));
    h.tick().await;
    h.transition(&other_key, "Resolved");
    h.tick().await;
    h.comment_on(&other_key, "Closing note");
    let (jira_at, dynamics_at) = (
        h.jira_changed_at(&other_key, "status"),
        h.case_modified_at(&other),
    );
    let (_, events) = h.poll().await;
    let found = conflicts(&events);
    assert_eq!(found.len(), 1, "{events:#?}");
    assert_compared(found[0], "jira", jira_at, dynamics_at);
    assert_eq!(h.case_status(&other), (1, 5), "{events:#?}");
    assert_eq!(h.issue_status(&other_key), "Resolved");
    h.assert_quiet(2).await;
}

/// A status move Jira's workflow cannot make stays pending: tried at every poll, reported once
/// for the same target and reason, and applied once an admin adds the transition.
#[tokio::test]
async fn a_missing_transition_is_retried_every_poll_reported_once_and_applied_once_added() {
    let (h, case, key) = with_unreachable_close("Closed straight from progress").await;
    assert_eq!(h.issue_status(&key), "In Progress");
    h.resolve_case(&case, 1000, "Answered by email");

    let (_, _, events) = h.run_events().await;
    let mut failed = status_events(&events, EventAction::Failed).len();
    for _ in 0..2 {
        h.tick().await;
        // Poll asserts no failed events: the same failure is not reported again.
        let (run, events) = h.poll().await;
        failed += status_events(&events, EventAction::Failed).len();
        assert!(Harness::writes(&events).is_empty(), "{events:#?}");
        // A retry costs one transitions read on top of an idle poll's search.
        let jira = run.requests.get("jira").map_or(0, |r| r.requests);
        assert!(
            jira <= 3,
            "a retry poll made {jira} Jira requests: {:?}",
            run.requests
        );
    }
    assert_eq!(failed, 1, "one report over three polls");
    assert_eq!(h.issue_status(&key), "In Progress");
    let pending = h.link_of(&case).state["status_pending"].clone();
    assert_eq!(pending["target"], "6", "{pending}");
    assert_eq!(pending["attempts"], 3, "{pending}");
    // The links panel's status indicator says a move is waiting, and why.
    let item = crosswalk_dynamics::linking::open(h.services(), common::JOB)
        .await
        .unwrap();
    let preview = item.preview(&h.link_of(&case)).await.unwrap();
    assert_eq!(preview.status_sync, "pending");
    let why = preview.status_pending.unwrap();
    assert!(
        why.contains("Jira issue's status failed 3 times") && why.contains("Last reason:"),
        "{why}"
    );

    // The admin adds the transition: the next poll makes the move and says how it went.
    h.add_workflow_transition(&key, "Close from progress", &["3"], "6");
    let (_, events) = h.poll().await;
    let updated = status_events(&events, EventAction::Updated);
    assert_eq!(updated.len(), 1, "{events:#?}");
    assert!(
        updated[0].message.contains("Closed")
            && updated[0].message.contains("applied after 4 attempts"),
        "{}",
        updated[0].message
    );
    assert_eq!(h.issue_status(&key), "Closed");
    assert_eq!(h.case_status(&case), (1, 1000), "nothing echoed back");
    assert!(h.link_of(&case).state.get("status_pending").is_none());
    let preview = item.preview(&h.link_of(&case)).await.unwrap();
    assert_eq!(preview.status_sync, "in_step");
    assert_eq!(preview.status_pending, None);
    h.assert_quiet(2).await;
}

/// A Jira status change made while a move is pending wins, as any later change does: the move
/// is dropped and the record follows Jira.
#[tokio::test]
async fn a_jira_status_change_while_a_move_is_pending_takes_over() {
    let (h, case, key) = with_unreachable_close("Agent resolves by hand").await;
    h.resolve_case(&case, 1000, "Answered by email");
    let (_, _, events) = h.run_events().await;
    assert_eq!(status_events(&events, EventAction::Failed).len(), 1);

    h.tick().await;
    h.transition(&key, "Waiting for customer");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(
        h.case_status(&case).0,
        0,
        "the case follows Jira back to active"
    );
    assert_eq!(h.issue_status(&key), "Waiting for customer");
    assert!(h.link_of(&case).state.get("status_pending").is_none());
    h.assert_quiet(2).await;
}

// ---- Opportunities and leads: outcomes through their actions (§F.9) --------------------------
//
// Opportunities: Open(0) 1 In Progress / 2 On Hold, Won(1) 3, Lost(2) 4 Canceled / 5 Out-Sold.
// Leads: Open(0) 1 New / 2 Contacted, Qualified(1) 3, Disqualified(2) 4..7 (7 Canceled).
// Heuristically SUP's Resolved is Won / Qualified and Cancelled is Canceled (4 / 7).

fn sales_settings(table: &str, name_column: &str) -> Value {
    let mut settings = common::table_settings(table, name_column);
    settings["mode"] = json!("two_way");
    settings["status"] = json!({"enabled": true});
    settings
}

#[tokio::test]
async fn resolving_the_issue_wins_the_opportunity_with_an_opportunity_close() {
    let (h, opportunity, key) = Harness::with_linked(
        sales_settings("opportunity", "name"),
        json!({"name": "Contoso renewal"}),
    )
    .await;
    assert_eq!(h.row_status("opportunity", &opportunity), (0, 1));
    assert_eq!(h.issue_status(&key), "In Progress");

    h.transition(&key, "Resolved");
    let (_, events) = h.poll().await;
    let updated = status_events(&events, EventAction::Updated);
    assert_eq!(updated.len(), 1, "{events:#?}");
    assert!(
        updated[0].message.contains("WinOpportunity") && updated[0].message.contains("Won"),
        "{}",
        updated[0].message
    );
    assert_eq!(h.row_status("opportunity", &opportunity), (1, 3), "Won");
    let closes = h.opportunity_closes_of(&opportunity);
    assert_eq!(closes.len(), 1, "{closes:?}");
    assert!(
        closes[0].0.contains(&key),
        "the close names the issue: {closes:?}"
    );
    assert_eq!((closes[0].1, closes[0].2), (1, 2), "a completed close");
    assert_eq!(h.issue_status(&key), "Resolved");
    h.assert_quiet(3).await;

    // Reopened in Jira: Dataverse allows reopening by an update, to the Open state.
    h.tick().await;
    h.transition(&key, "Open");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(h.row_status("opportunity", &opportunity).0, 0, "open again");
    assert_eq!(h.issue_status(&key), "Open", "the reopening is not echoed");
    h.assert_quiet(2).await;

    // And won again: a second close.
    h.tick().await;
    h.transition(&key, "Resolved");
    h.poll().await;
    assert_eq!(h.row_status("opportunity", &opportunity), (1, 3));
    assert_eq!(h.opportunity_closes_of(&opportunity).len(), 2);
}

#[tokio::test]
async fn a_lost_mapped_status_loses_the_opportunity_with_its_reason() {
    let mut settings = sales_settings("opportunity", "name");
    // Cancelled (10003) is explicitly Lost / Out-Sold.
    settings["status"]["map"] = json!([{"jira_status": "10003", "state": 2, "status": 5}]);
    let (h, opportunity, key) =
        Harness::with_linked(settings, json!({"name": "Fabrikam pilot"})).await;

    h.transition(&key, "Cancelled");
    let (_, events) = h.poll().await;
    let updated = status_events(&events, EventAction::Updated);
    assert_eq!(updated.len(), 1, "{events:#?}");
    assert!(
        updated[0].message.contains("LoseOpportunity"),
        "{}",
        updated[0].message
    );
    assert_eq!(
        h.row_status("opportunity", &opportunity),
        (2, 5),
        "Lost / Out-Sold"
    );
    assert_eq!(h.opportunity_closes_of(&opportunity).len(), 1);
    assert_eq!(h.issue_status(&key), "Cancelled");
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn an_opportunity_won_in_dynamics_moves_the_issue() {
    let (h, opportunity, key) = Harness::with_linked(
        sales_settings("opportunity", "name"),
        json!({"name": "Woodgrove deal"}),
    )
    .await;
    h.close_opportunity(&opportunity, true, 3, "Signed");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(h.issue_status(&key), "Resolved");
    assert_eq!(h.row_status("opportunity", &opportunity), (1, 3));
    assert_eq!(
        h.opportunity_closes_of(&opportunity).len(),
        1,
        "only the Dynamics user's close"
    );
    h.assert_quiet(3).await;
}

#[tokio::test]
async fn a_win_dataverse_refuses_is_reported_with_what_was_asked_and_the_fix() {
    let (h, opportunity, key) = Harness::with_linked(
        sales_settings("opportunity", "name"),
        json!({"name": "Refused win"}),
    )
    .await;
    // The role loses the shared activity Create privilege an Opportunity Close needs.
    h.sandbox.handle.dataverse(|d| {
        for table in ["task", "incidentresolution"] {
            d.revoke_privilege(
                crosswalk_sandbox::identity::CLIENT_ID,
                table,
                crosswalk_sandbox::dataverse::Privilege::Create,
            );
        }
    });
    h.transition(&key, "Resolved");
    let (_, _, events) = h.run_events().await;
    let failed = status_events(&events, EventAction::Failed);
    assert_eq!(failed.len(), 1, "{events:#?}");
    let message = &failed[0].message;
    assert!(
        message.contains("\"Resolved\"")
            && message.contains("Won")
            && message.contains("WinOpportunity")
            && message.contains("Create privilege on the opportunityclose table"),
        "{message}"
    );
    let fix = failed[0].fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("security role")
            && fix.contains(
                "tries the status change again at every poll (after 5 attempts, every 15 minutes)"
            ),
        "{fix}"
    );
    assert_eq!(
        h.row_status("opportunity", &opportunity),
        (0, 1),
        "nothing half-written"
    );
    assert!(h.opportunity_closes_of(&opportunity).is_empty());
}

#[tokio::test]
async fn a_lead_qualified_from_jira_creates_nothing_else_and_can_be_disqualified() {
    let (h, lead, key) = Harness::with_linked(
        sales_settings("lead", "subject"),
        json!({"subject": "Wants 50 seats", "firstname": "Ada", "lastname": "Lovelace", "companyname": "Analytical Engines"}),
    )
    .await;
    assert_eq!(h.row_status("lead", &lead), (0, 1));
    let before = (
        h.row_count("account"),
        h.row_count("contact"),
        h.row_count("opportunity"),
    );

    h.transition(&key, "Resolved");
    let (_, events) = h.poll().await;
    let updated = status_events(&events, EventAction::Updated);
    assert_eq!(updated.len(), 1, "{events:#?}");
    assert!(
        updated[0].message.contains("QualifyLead"),
        "{}",
        updated[0].message
    );
    assert_eq!(h.row_status("lead", &lead), (1, 3), "Qualified");
    assert_eq!(
        (
            h.row_count("account"),
            h.row_count("contact"),
            h.row_count("opportunity")
        ),
        before,
        "no account, contact or opportunity created"
    );
    h.assert_quiet(2).await;

    // Cancelled in Jira: the qualified lead is reactivated, then disqualified by an update.
    h.tick().await;
    h.transition(&key, "Open");
    h.poll().await;
    assert_eq!(h.row_status("lead", &lead).0, 0);
    h.tick().await;
    h.transition(&key, "Cancelled");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(
        h.row_status("lead", &lead),
        (2, 7),
        "Disqualified / Canceled"
    );
    assert_eq!(h.issue_status(&key), "Cancelled");
    h.assert_quiet(2).await;
}

/// Takes the shared activity Create privilege away from the connector's role (opportunity
/// closes and case resolutions are activities), or gives it back.
fn set_activity_create(h: &Harness, granted: bool) {
    h.sandbox.handle.dataverse(|d| {
        for table in ["task", "incidentresolution"] {
            let (app, privilege) = (
                crosswalk_sandbox::identity::CLIENT_ID,
                crosswalk_sandbox::dataverse::Privilege::Create,
            );
            if granted {
                d.grant_privilege(app, table, privilege);
            } else {
                d.revoke_privilege(app, table, privilege);
            }
        }
    });
}

/// Requests a poll made to one service.
fn requests(run: &crosswalk_store::RunRow, service: &str) -> u64 {
    run.requests.get(service).map_or(0, |r| r.requests)
}

/// A status change Dataverse refuses stays pending like a Jira move: tried again at every poll
/// for the price of the write alone, reported once, and applied once the role allows it.
#[tokio::test]
async fn a_win_dataverse_refuses_is_retried_every_poll_reported_once_and_applied_once_allowed() {
    let (h, opportunity, key) = Harness::with_linked(
        sales_settings("opportunity", "name"),
        json!({"name": "Retried win"}),
    )
    .await;
    let (idle, _) = h.poll().await;
    set_activity_create(&h, false);
    h.tick().await;
    h.transition(&key, "Resolved");

    let (_, _, events) = h.run_events().await;
    let reported = status_events(&events, EventAction::Failed);
    assert_eq!(reported.len(), 1, "{events:#?}");
    assert!(
        reported[0].message.contains("WinOpportunity")
            && reported[0]
                .message
                .contains("Create privilege on the opportunityclose table"),
        "{}",
        reported[0].message
    );
    let fix = reported[0].fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("security role")
            && fix.contains(
                "tries the status change again at every poll (after 5 attempts, every 15 minutes)"
            ),
        "{fix}"
    );
    let mut failed = reported.len();
    for _ in 0..2 {
        h.tick().await;
        let (status, run, events) = h.run_events().await;
        failed += status_events(&events, EventAction::Failed).len();
        assert_eq!(status, RunStatus::Succeeded, "{run:?}");
        assert!(Harness::writes(&events).is_empty(), "{events:#?}");
        // The retry is the refused action itself: no Jira request, one Dataverse request on
        // top of an idle poll's.
        assert!(
            requests(&run, "jira") <= requests(&idle, "jira")
                && requests(&run, "dataverse") <= requests(&idle, "dataverse") + 1,
            "a retry poll made {:?}; an idle poll {:?}",
            run.requests,
            idle.requests
        );
    }
    assert_eq!(failed, 1, "one report over three polls");
    assert_eq!(h.row_status("opportunity", &opportunity), (0, 1));
    assert!(h.opportunity_closes_of(&opportunity).is_empty());
    let pending = h.link_of_row("opportunity", &opportunity).state["status_pending"].clone();
    assert_eq!(pending["side"], "dynamics", "{pending}");
    assert_eq!(pending["target"], "1/3", "{pending}");
    assert_eq!(pending["attempts"], 3, "{pending}");

    // The admin fixes the role: the next poll wins the opportunity and says how it went.
    set_activity_create(&h, true);
    let (_, events) = h.poll().await;
    let updated = status_events(&events, EventAction::Updated);
    assert_eq!(updated.len(), 1, "{events:#?}");
    assert!(
        updated[0].message.contains("WinOpportunity")
            && updated[0].message.contains("applied after 4 attempts"),
        "{}",
        updated[0].message
    );
    assert_eq!(h.row_status("opportunity", &opportunity), (1, 3), "Won");
    assert_eq!(h.opportunity_closes_of(&opportunity).len(), 1);
    assert_eq!(h.issue_status(&key), "Resolved", "nothing echoed back");
    assert!(h
        .link_of_row("opportunity", &opportunity)
        .state
        .get("status_pending")
        .is_none());
    h.assert_quiet(2).await;
}

/// A Dynamics status change made while a Dataverse write is pending wins, as any later change
/// does: the write is dropped (not applied once the role allows it) and the issue follows.
#[tokio::test]
async fn a_dynamics_status_change_while_a_write_is_pending_takes_over() {
    let (h, case, key) = Harness::with_status_case("two_way", "Resolution refused").await;
    set_activity_create(&h, false);
    h.transition(&key, "Resolved");
    let (_, _, events) = h.run_events().await;
    let failed = status_events(&events, EventAction::Failed);
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert!(
        failed[0].message.contains("CloseIncident"),
        "{}",
        failed[0].message
    );
    assert_eq!(h.case_status(&case), (0, 1));
    assert_eq!(h.link_of(&case).state["status_pending"]["side"], "dynamics");

    // An agent puts the case on hold in Dynamics: the newer change wins and the issue is reopened.
    h.tick().await;
    h.update_case(&case, json!({"statuscode": 2}));
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "status", EventAction::Updated),
        1,
        "{events:#?}"
    );
    // SUP reopens to Open only, and "Waiting for customer" is no single hop further.
    assert_eq!(h.issue_status(&key), "Open", "{events:#?}");
    assert!(h.link_of(&case).state.get("status_pending").is_none());

    // Granting the privilege later resolves nothing: the dropped write is not made.
    set_activity_create(&h, true);
    h.assert_quiet(2).await;
    assert_eq!(h.case_status(&case), (0, 2));
    assert!(h.resolutions_of(&case).is_empty());
}
