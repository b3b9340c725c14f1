//! The seed's modes matrix and its "What changes in Dynamics when Jira users work in Jira"
//! table, cell by cell and in each mode that has the cell, against the sandbox over real HTTP
//! with a real SQLite store: a display-only link is previewed but never written to by a poll;
//! comments and attachments travel both ways in one-way and two-way mode when their switch is
//! on, and not at all when it is off. Assertions read the sandbox's state.

mod common;

use common::{base_settings, count, file_bytes, Harness, RequestLog, JOB};
use crosswalk_dynamics::linking;
use crosswalk_store::EventAction;
use serde_json::{json, Value};

/// Requests that change something on a server: everything but GETs, sign-ins and Jira's
/// search (a POST that only reads).
fn write_requests(routes: &[String]) -> Vec<&String> {
    routes
        .iter()
        .filter(|line| {
            let mut parts = line.split_whitespace();
            let (remote, method) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let route = parts.next().unwrap_or("");
            !(method == "GET"
                || remote == "entra-login"
                || (method == "POST" && route == "/rest/api/3/search/jql"))
        })
        .collect()
}

/// Everything a Dynamics or Jira user can see of a linked pair, to compare before and after.
fn both_sides(h: &Harness, case: &str, key: &str) -> Value {
    json!({
        "title": h.case_value(case, "title"),
        "description": h.case_value(case, "description"),
        "case_status": h.case_status(case),
        "notes": h.notes_of(case),
        "summary": h.issue_field(key, "summary"),
        "issue_description": h.issue_field(key, "description"),
        "issue_status": h.issue_status(key),
        "comments": h.comments_of(key),
        "attachments": h.jira_attachments(key).len(),
        "remote_links": h.remote_links_of(key),
    })
}

/// The seed's Display Only column with a link made by hand: however both sides change (fields,
/// status, comments, files) and however often the item runs, a poll writes nothing on either
/// side, even with status, comments and attachments switched on in the settings; the console's
/// preview shows both sides as they are now.
#[tokio::test]
async fn a_display_only_link_is_previewed_but_no_poll_writes_to_either_side() {
    let mut settings = base_settings();
    settings["mode"] = json!("display_only");
    settings["auto_create"] = json!({"enabled": false});
    settings["status"] = json!({"enabled": true});
    settings["comments"] = json!(true);
    settings["attachments"] = json!(true);
    let h = Harness::start(settings).await;
    h.poll().await;
    let case = h.create_case("Display only case", json!({"description": "As created"}));
    let (_, key) = h.create_issue("Display only issue", json!({}));
    let item = linking::open(h.services(), JOB).await.unwrap();
    let link = item.link(&key, &case).await.unwrap();
    assert_eq!(
        h.link_notes_of(&case).len(),
        1,
        "the link itself is visible"
    );
    assert_eq!(h.remote_links_of(&key).len(), 1);

    h.tick().await;
    h.update_case(
        &case,
        json!({"title": "Edited in Dynamics", "description": "Edited too", "statuscode": 2}),
    );
    h.add_note(&case, "Call log", "Customer called about it");
    h.add_file_note(&case, "dynamics.png", &file_bytes(20 * 1024, 1));
    h.edit_issue(&key, json!({"summary": "Edited in Jira"}));
    h.transition(&key, "In Progress");
    h.comment_on(&key, "Looking into it");
    h.attach_on_jira(&key, "jira.log", file_bytes(30 * 1024, 2))
        .await;
    let before = both_sides(&h, &case, &key);

    let log = RequestLog::start();
    for poll in 0..3 {
        h.tick().await;
        let (run, events) = h.poll().await;
        assert!(
            Harness::writes(&events).is_empty(),
            "poll {poll}: {events:#?}"
        );
        assert!(run.counts.is_empty(), "poll {poll}: {:?}", run.counts);
    }
    let polled = log.take();
    assert!(write_requests(&polled).is_empty(), "{polled:#?}");
    assert_eq!(both_sides(&h, &case, &key), before);
    assert_eq!(h.link_of(&case).state, link.state, "the link is not synced");

    // The preview reads both sides now: what each side's users changed, nothing carried over.
    let preview = item.preview(&h.link_of(&case)).await.unwrap();
    let read = log.take();
    assert!(!read.is_empty(), "the recorder sees this thread's requests");
    assert!(write_requests(&read).is_empty(), "{read:#?}");
    assert_eq!(preview.record_name, "Edited in Dynamics");
    assert_eq!(preview.record_status.as_deref(), Some("On Hold"));
    assert_eq!(preview.issue_summary, "Edited in Jira");
    assert_eq!(preview.issue_status, "In Progress");
    let shown: Vec<(&str, &str, &str)> = preview
        .fields
        .iter()
        .map(|f| {
            (
                f.dataverse_column.as_str(),
                f.dynamics.as_str(),
                f.jira.as_str(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("title", "Edited in Dynamics", "Edited in Jira"),
            ("description", "Edited too", ""),
        ]
    );
}

/// A one- or two-way item with auto-create and the given comment / attachment switches.
fn copy_settings(mode: &str, comments: bool, attachments: bool) -> Value {
    let mut settings = base_settings();
    settings["mode"] = json!(mode);
    settings["comments"] = json!(comments);
    settings["attachments"] = json!(attachments);
    settings
}

/// One Jira comment, one Jira attachment, one Dynamics note and one Dynamics file on a linked
/// pair: each reaches the other side (byte-identical for files) exactly when its switch is on,
/// in the poll after it was made, and nothing moves in the polls after that.
async fn copies_follow_the_switches(mode: &str, comments: bool, attachments: bool) {
    let h = Harness::start(copy_settings(mode, comments, attachments)).await;
    h.poll().await;
    let (case, key) = h.linked_case(&format!("Copies in {mode}")).await;
    h.tick().await;
    let jira_file = file_bytes(200 * 1024, 3);
    let dynamics_file = file_bytes(150 * 1024, 4);
    h.comment_on(&key, "From Jira: replaced the toner");
    h.attach_on_jira(&key, "from-jira.log", jira_file.clone())
        .await;
    h.add_note(&case, "Call log", "From Dynamics: the customer called");
    h.add_file_note(&case, "from-dynamics.png", &dynamics_file);

    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        2 * usize::from(comments),
        "{events:#?}"
    );
    assert_eq!(
        count(&events, "attachment", EventAction::Created),
        2 * usize::from(attachments),
        "{events:#?}"
    );
    let check = |polls: &str| {
        let jira_comments = h.comments_of(&key);
        assert_eq!(
            jira_comments
                .iter()
                .filter(|c| c.contains("From Dynamics: the customer called"))
                .count(),
            usize::from(comments),
            "{polls}: {jira_comments:?}"
        );
        assert_eq!(jira_comments.len(), 1 + usize::from(comments), "{polls}");
        let notes = h.notes_of(&case);
        assert_eq!(
            notes
                .iter()
                .filter(|n| n.2.contains("From Jira: replaced the toner"))
                .count(),
            usize::from(comments),
            "{polls}: {notes:?}"
        );
        // The link note, the two notes made in Dynamics, and the copies.
        assert_eq!(
            notes.len(),
            3 + usize::from(comments) + usize::from(attachments),
            "{polls}: {notes:?}"
        );
        let on_jira = h.jira_attachments(&key);
        let copied: Vec<_> = on_jira
            .iter()
            .filter(|a| a.1 == "from-dynamics.png")
            .collect();
        assert_eq!(copied.len(), usize::from(attachments), "{polls}");
        assert!(copied.iter().all(|a| a.2 == dynamics_file), "{polls}");
        assert_eq!(on_jira.len(), 1 + usize::from(attachments), "{polls}");
        let on_dynamics = h.file_notes_of(&case);
        let copied: Vec<_> = on_dynamics
            .iter()
            .filter(|f| f.1 == "from-jira.log")
            .collect();
        assert_eq!(copied.len(), usize::from(attachments), "{polls}");
        assert!(copied.iter().all(|f| f.2 == jira_file), "{polls}");
        assert_eq!(on_dynamics.len(), 1 + usize::from(attachments), "{polls}");
    };
    check("after the first poll");
    for poll in 0..5 {
        h.tick().await;
        let (_, events) = h.poll().await;
        let writes = Harness::writes(&events);
        assert!(writes.is_empty(), "poll {poll}: {writes:#?}");
    }
    check("after five more polls");
}

#[tokio::test]
async fn comments_and_attachments_travel_both_ways_in_one_way_mode() {
    copies_follow_the_switches("one_way", true, true).await;
}

#[tokio::test]
async fn comments_and_attachments_travel_both_ways_in_two_way_mode() {
    copies_follow_the_switches("two_way", true, true).await;
}

#[tokio::test]
async fn with_comments_and_attachments_off_nothing_is_copied_either_way() {
    copies_follow_the_switches("two_way", false, false).await;
}

#[tokio::test]
async fn with_attachments_off_comments_travel_but_files_stay() {
    copies_follow_the_switches("one_way", true, false).await;
}

#[tokio::test]
async fn with_comments_off_files_travel_but_comments_stay() {
    copies_follow_the_switches("two_way", false, true).await;
}
