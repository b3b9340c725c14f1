//! A crash between writing a copied comment or attachment and recording it, in each direction:
//! the copy is on the other side, carrying the connector's marker (the note's id derived from the
//! original, the comment's property, the attachment's name and size), while its `link_items` row
//! is still pending. The next poll, in a new process, must adopt that copy (exactly one copy,
//! the row recorded) and write nothing more. Against the sandbox over real HTTP with a real
//! SQLite store; assertions read the sandbox's state.
//!
//! Copies to Dynamics are journaled with both ids before the write, so the state a crash leaves
//! is the recorded row set back to pending (the link itself already remembers the issue version,
//! as `sync_link` stores it before the items are copied). Copies to Jira are journaled without a
//! Jira id, which only Jira's answer brings: the sandbox writes the copy and then cuts that
//! answer (`Fault::Truncate`), and a POST is never sent twice.

mod common;

use common::{base_settings, count, file_bytes, Harness};
use crosswalk_sandbox::{Fault, FaultRule, Server};
use crosswalk_store::{EventAction, EventRow, ItemKind, ItemStatus, LinkItem};
use serde_json::json;

fn settings() -> serde_json::Value {
    let mut settings = base_settings();
    settings["comments"] = json!(true);
    settings["attachments"] = json!(true);
    settings
}

/// The link's only item of `kind`.
fn only_item(h: &Harness, case: &str, kind: ItemKind) -> LinkItem {
    let link = h.link_of(case);
    let mut items = h.store().list_link_items(link.id, kind).unwrap();
    assert_eq!(items.len(), 1, "{items:#?}");
    items.remove(0)
}

/// What the process held when it died after writing the copy to Dynamics: the row as journaled.
fn forget_the_record(h: &Harness, item: &LinkItem) {
    h.store()
        .update_link_item(item.id, None, None, &item.hash, ItemStatus::Pending)
        .unwrap();
}

/// The next Jira POST to a path containing `route` is carried out, and its answer cut.
fn lose_the_answer_of_the_next_post(h: &Harness, route: &str) {
    h.sandbox.handle.add_fault(FaultRule {
        method: Some("POST".into()),
        ..FaultRule::next(Server::Jira, route, 1, Fault::Truncate)
    });
}

fn failed<'a>(events: &'a [EventRow], kind: &str) -> Vec<&'a EventRow> {
    events
        .iter()
        .filter(|e| e.object_kind.as_deref() == Some(kind) && e.action == EventAction::Failed)
        .collect()
}

/// `n` more polls, a second apart: none may write, skip or fail anything.
async fn quiet(h: &Harness, n: usize) {
    for poll in 0..n {
        h.tick().await;
        let (_, events) = h.poll().await;
        let writes = Harness::writes(&events);
        assert!(writes.is_empty(), "poll {poll}: {writes:#?}");
    }
}

#[tokio::test]
async fn a_jira_comment_copied_to_a_note_just_before_a_crash_is_recorded_not_copied_again() {
    let mut h = Harness::start(settings()).await;
    h.poll().await;
    let (case, key) = h.linked_case("Crash after a note").await;
    h.tick().await;
    h.comment_on(&key, "The printer jams on tray 2");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        1,
        "{events:#?}"
    );
    let item = only_item(&h, &case, ItemKind::Comment);
    let note_id = item
        .dataverse_id
        .clone()
        .expect("copies to Dynamics get their id first");
    forget_the_record(&h, &item);

    h.restart();
    h.tick().await;
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        0,
        "{events:#?}"
    );
    let copies: Vec<_> = h
        .notes_of(&case)
        .into_iter()
        .filter(|n| n.2.contains("The printer jams on tray 2"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:#?}");
    assert_eq!(copies[0].0, note_id);
    let item = only_item(&h, &case, ItemKind::Comment);
    assert_eq!(item.status, ItemStatus::Synced, "{item:#?}");
    quiet(&h, 3).await;
    assert_eq!(h.notes_of(&case).len(), 2, "the link note and the copy");
    assert_eq!(h.comment_ids(&key).len(), 1, "the note is not copied back");
}

#[tokio::test]
async fn a_dynamics_note_copied_to_a_comment_whose_answer_was_lost_is_recorded_not_copied_again() {
    let mut h = Harness::start(settings()).await;
    h.poll().await;
    let (case, key) = h.linked_case("Crash after a comment").await;
    h.tick().await;
    h.add_note(&case, "Call", "Customer asks for a loan printer");
    lose_the_answer_of_the_next_post(&h, "/comment");
    let (run_id, _) = h.run(false).await;
    let events = h.events(run_id);
    assert_eq!(failed(&events, "comment").len(), 1, "{events:#?}");
    assert_eq!(h.comment_ids(&key).len(), 1, "Jira wrote the copy");
    let item = only_item(&h, &case, ItemKind::Comment);
    assert_eq!(
        (item.status, item.jira_id.as_deref()),
        (ItemStatus::Pending, None),
        "{item:#?}"
    );

    h.restart();
    h.tick().await;
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        0,
        "{events:#?}"
    );
    let comments = h.comment_ids(&key);
    assert_eq!(comments.len(), 1, "{:?}", h.comments_of(&key));
    let item = only_item(&h, &case, ItemKind::Comment);
    assert_eq!(item.status, ItemStatus::Synced, "{item:#?}");
    assert_eq!(item.jira_id.as_deref(), Some(comments[0].as_str()));
    quiet(&h, 3).await;
    assert_eq!(h.comment_ids(&key).len(), 1);
    assert_eq!(h.notes_of(&case).len(), 2, "the comment is not copied back");
}

#[tokio::test]
async fn a_jira_attachment_copied_to_a_note_just_before_a_crash_is_recorded_not_copied_again() {
    let mut h = Harness::start(settings()).await;
    h.poll().await;
    let (case, key) = h.linked_case("Crash after a file note").await;
    h.tick().await;
    let log = file_bytes(200 * 1024, 21);
    h.attach_on_jira(&key, "spooler.log", log.clone()).await;
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "attachment", EventAction::Created),
        1,
        "{events:#?}"
    );
    let item = only_item(&h, &case, ItemKind::Attachment);
    let note_id = item
        .dataverse_id
        .clone()
        .expect("copies to Dynamics get their id first");
    forget_the_record(&h, &item);

    h.restart();
    h.tick().await;
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "attachment", EventAction::Created),
        0,
        "{events:#?}"
    );
    let files = h.file_notes_of(&case);
    assert_eq!(
        files.len(),
        1,
        "{:?}",
        files.iter().map(|f| &f.1).collect::<Vec<_>>()
    );
    assert_eq!(files[0].0, note_id);
    assert!(files[0].2 == log, "the note's file differs");
    let item = only_item(&h, &case, ItemKind::Attachment);
    assert_eq!(item.status, ItemStatus::Synced, "{item:#?}");
    quiet(&h, 3).await;
    assert_eq!(h.file_notes_of(&case).len(), 1);
    assert_eq!(
        h.jira_attachments(&key).len(),
        1,
        "the note is not copied back"
    );
}

#[tokio::test]
async fn a_dynamics_file_copied_to_jira_whose_answer_was_lost_is_recorded_not_copied_again() {
    let mut h = Harness::start(settings()).await;
    h.poll().await;
    let (case, key) = h.linked_case("Crash after an attachment").await;
    h.tick().await;
    let scan = file_bytes(300 * 1024, 22);
    h.add_file_note(&case, "warranty.pdf", &scan);
    lose_the_answer_of_the_next_post(&h, "/attachments");
    let (run_id, _) = h.run(false).await;
    let events = h.events(run_id);
    assert_eq!(failed(&events, "attachment").len(), 1, "{events:#?}");
    assert_eq!(h.jira_attachments(&key).len(), 1, "Jira wrote the copy");
    let item = only_item(&h, &case, ItemKind::Attachment);
    assert_eq!(
        (item.status, item.jira_id.as_deref()),
        (ItemStatus::Pending, None),
        "{item:#?}"
    );

    h.restart();
    h.tick().await;
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "attachment", EventAction::Created),
        0,
        "{events:#?}"
    );
    let attachments = h.jira_attachments(&key);
    assert_eq!(
        attachments.len(),
        1,
        "{:?}",
        attachments.iter().map(|a| &a.1).collect::<Vec<_>>()
    );
    assert!(attachments[0].2 == scan, "the Jira attachment differs");
    let item = only_item(&h, &case, ItemKind::Attachment);
    assert_eq!(item.status, ItemStatus::Synced, "{item:#?}");
    assert_eq!(item.jira_id.as_deref(), Some(attachments[0].0.as_str()));
    quiet(&h, 3).await;
    assert_eq!(h.jira_attachments(&key).len(), 1);
    assert_eq!(
        h.file_notes_of(&case).len(),
        1,
        "the attachment is not copied back"
    );
}
