//! Copies journaled as pending but not written: a run that stopped after journaling a Jira
//! comment's copy and before writing it, or Dataverse refusing the write. The link already
//! remembers the version, so nothing on either side changes again; the next polls must
//! still write the copy (exactly one note, its id derived from the comment), retry a refused one
//! on the status moves' schedule (every poll, then every quarter hour after 5 attempts) with one
//! event per distinct reason, and cost an idle poll nothing when nothing is pending. Against the
//! sandbox over real HTTP with a real SQLite store; assertions read the sandbox's state.

mod common;

use common::{base_settings, count, Harness};
use crosswalk_sandbox::dataverse::Privilege;
use crosswalk_sandbox::identity::CLIENT_ID;
use crosswalk_sandbox::{Fault, FaultRule, Server};
use crosswalk_store::{EventAction, EventRow, ItemKind, ItemStatus, LinkItem, RunRow};
use serde_json::{json, Value};

fn settings() -> Value {
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

/// Takes the Create privilege on notes away from the connector's role, or gives it back.
fn set_note_create(h: &Harness, granted: bool) {
    h.sandbox.handle.dataverse(|d| {
        if granted {
            d.grant_privilege(CLIENT_ID, "annotation", Privilege::Create);
        } else {
            d.revoke_privilege(CLIENT_ID, "annotation", Privilege::Create);
        }
    });
}

/// Copies of `text` among the case's notes: (note id, subject, text, ...).
fn copies_of(h: &Harness, case: &str, text: &str) -> Vec<String> {
    h.notes_of(case)
        .into_iter()
        .filter(|n| n.2.contains(text))
        .map(|n| n.0)
        .collect()
}

fn failed<'a>(events: &'a [EventRow], kind: &str) -> Vec<&'a EventRow> {
    events
        .iter()
        .filter(|e| e.object_kind.as_deref() == Some(kind) && e.action == EventAction::Failed)
        .collect()
}

/// Requests a poll made to one service.
fn requests(run: &RunRow, service: &str) -> u64 {
    run.requests.get(service).map_or(0, |r| r.requests)
}

/// The link's retry schedule of pending copies (`null` when nothing is pending).
fn copies_pending(h: &Harness, case: &str) -> Value {
    h.link_of(case)
        .state
        .get("copies_pending")
        .cloned()
        .unwrap_or(Value::Null)
}

/// What a quarter hour's wait does to the schedule: the next attempt is due now.
fn let_a_quarter_hour_pass(h: &Harness, case: &str) {
    let link = h.link_of(case);
    let mut state = link.state.clone();
    state["copies_pending"]["retry_after"] = json!("2000-01-01T00:00:00Z");
    h.store()
        .set_link_state(link.id, link.baseline_at, &state)
        .unwrap();
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
async fn a_jira_comment_journaled_but_never_written_is_copied_by_the_next_poll_without_a_change() {
    let mut h = Harness::start(settings()).await;
    h.poll().await;
    let (case, key) = h.linked_case("Stopped before the note").await;
    h.tick().await;
    h.comment_on(&key, "The scanner drops every other page");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        1,
        "{events:#?}"
    );
    let item = only_item(&h, &case, ItemKind::Comment);
    let note_id = item.dataverse_id.clone().expect("journaled with its id");
    // What a run that stopped between journaling and writing leaves: the row pending, no note.
    h.store()
        .update_link_item(item.id, None, None, &item.hash, ItemStatus::Pending)
        .unwrap();
    h.delete_note(&note_id);
    assert!(copies_of(&h, &case, "scanner drops").is_empty());

    h.restart();
    h.tick().await;
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        1,
        "{events:#?}"
    );
    assert_eq!(
        copies_of(&h, &case, "scanner drops"),
        vec![note_id],
        "one note, with the derived id"
    );
    let item = only_item(&h, &case, ItemKind::Comment);
    assert_eq!(item.status, ItemStatus::Synced, "{item:#?}");
    assert!(copies_pending(&h, &case).is_null());
    quiet(&h, 3).await;
    assert_eq!(h.notes_of(&case).len(), 2, "the link note and the copy");
    assert_eq!(h.comment_ids(&key).len(), 1, "the note is not copied back");
}

#[tokio::test]
async fn a_refused_note_is_retried_on_schedule_reported_once_and_written_once_allowed() {
    let h = Harness::start(settings()).await;
    h.poll().await;
    let (case, key) = h.linked_case("Refused note").await;
    h.tick().await;
    let (idle, _) = h.poll().await;
    set_note_create(&h, false);
    h.tick().await;
    h.comment_on(&key, "Toner smears on the left edge");

    let (_, _, events) = h.run_events().await;
    let reported = failed(&events, "comment");
    assert_eq!(reported.len(), 1, "{events:#?}");
    assert!(
        reported[0].message.contains("Create privilege"),
        "{}",
        reported[0].message
    );
    let fix = reported[0].fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("tries the copy again at every poll (after 5 attempts, every 15 minutes)"),
        "{fix}"
    );
    assert_eq!(
        only_item(&h, &case, ItemKind::Comment).status,
        ItemStatus::Pending
    );
    assert_eq!(copies_pending(&h, &case)["attempts"], 1);

    // Nothing changes on either side: retried at every poll, not reported again.
    for attempt in 2..=5 {
        h.tick().await;
        let (run, events) = h.poll().await;
        assert!(Harness::writes(&events).is_empty(), "{events:#?}");
        assert!(
            requests(&run, "dataverse") > requests(&idle, "dataverse")
                && requests(&run, "jira") > requests(&idle, "jira"),
            "attempt {attempt} made {:?}; an idle poll {:?}",
            run.requests,
            idle.requests
        );
        assert_eq!(copies_pending(&h, &case)["attempts"], attempt);
    }
    assert!(
        copies_pending(&h, &case)["retry_after"].is_string(),
        "{}",
        copies_pending(&h, &case)
    );
    // After 5 attempts, not before a quarter hour: the poll costs what an idle one does.
    h.tick().await;
    let (run, events) = h.poll().await;
    assert!(Harness::writes(&events).is_empty(), "{events:#?}");
    assert_eq!(
        (requests(&run, "dataverse"), requests(&run, "jira")),
        (requests(&idle, "dataverse"), requests(&idle, "jira")),
        "a waiting retry costs nothing"
    );
    assert_eq!(copies_pending(&h, &case)["attempts"], 5);
    assert!(copies_of(&h, &case, "Toner smears").is_empty());

    // The admin fixes the role; once the quarter hour has passed the note is written, once.
    set_note_create(&h, true);
    let_a_quarter_hour_pass(&h, &case);
    h.tick().await;
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        1,
        "{events:#?}"
    );
    assert_eq!(copies_of(&h, &case, "Toner smears").len(), 1);
    assert_eq!(
        only_item(&h, &case, ItemKind::Comment).status,
        ItemStatus::Synced
    );
    assert!(copies_pending(&h, &case).is_null());
    quiet(&h, 2).await;
    assert_eq!(copies_of(&h, &case, "Toner smears").len(), 1);
}

#[tokio::test]
async fn a_new_reason_for_a_refused_note_is_reported_once_more() {
    let h = Harness::start(settings()).await;
    h.poll().await;
    let (case, key) = h.linked_case("Refused twice").await;
    set_note_create(&h, false);
    h.tick().await;
    h.comment_on(&key, "Paper tray 3 is missing");
    let (_, _, events) = h.run_events().await;
    assert_eq!(failed(&events, "comment").len(), 1, "{events:#?}");
    h.tick().await;
    let (_, events) = h.poll().await;
    assert!(failed(&events, "comment").is_empty(), "{events:#?}");

    // The admin gives Create back but the role lacks Append on notes: another reason, said once.
    h.sandbox.handle.dataverse(|d| {
        d.grant_privilege(CLIENT_ID, "annotation", Privilege::Create);
        d.revoke_privilege(CLIENT_ID, "annotation", Privilege::Append);
    });
    h.tick().await;
    let (_, _, events) = h.run_events().await;
    let reasons: Vec<&str> = failed(&events, "comment")
        .iter()
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(reasons.len(), 1, "{events:#?}");
    assert!(reasons[0].contains("Append"), "{}", reasons[0]);
    h.tick().await;
    let (_, events) = h.poll().await;
    assert!(failed(&events, "comment").is_empty(), "{events:#?}");
    assert_eq!(copies_pending(&h, &case)["attempts"], 4);
}

#[tokio::test]
async fn a_dynamics_note_jira_refused_is_copied_once_after_it_left_the_read_window() {
    let h = Harness::start(settings()).await;
    h.poll().await;
    let (case, key) = h.linked_case("Refused comment").await;
    h.tick().await;
    h.sandbox.handle.add_fault(FaultRule {
        method: Some("POST".into()),
        times: None,
        ..FaultRule::next(
            Server::Jira,
            "/comment",
            1,
            Fault::Status {
                status: 403,
                retry_after_secs: None,
            },
        )
    });
    h.add_note(&case, "Call", "Customer wants a callback on Monday");
    let (_, _, events) = h.run_events().await;
    assert_eq!(failed(&events, "comment").len(), 1, "{events:#?}");
    let item = only_item(&h, &case, ItemKind::Comment);
    assert_eq!(
        (item.status, item.jira_id.as_deref()),
        (ItemStatus::Pending, None)
    );
    // Still refused while the note is in the notes' read window: not reported again.
    h.sandbox.handle.advance_clock(time::Duration::minutes(3));
    h.tick().await;
    let (_, events) = h.poll().await;
    assert!(Harness::writes(&events).is_empty(), "{events:#?}");

    // Jira takes comments again; the note is no longer read as changed, the retry copies it.
    h.sandbox.handle.clear_faults();
    h.tick().await;
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        1,
        "{events:#?}"
    );
    let comments = h.comment_ids(&key);
    assert_eq!(comments.len(), 1, "{:?}", h.comments_of(&key));
    let item = only_item(&h, &case, ItemKind::Comment);
    assert_eq!(item.status, ItemStatus::Synced, "{item:#?}");
    assert_eq!(item.jira_id.as_deref(), Some(comments[0].as_str()));
    assert!(copies_pending(&h, &case).is_null());
    quiet(&h, 2).await;
    assert_eq!(h.comment_ids(&key).len(), 1);
}

#[tokio::test]
async fn an_idle_poll_costs_no_more_when_every_copy_is_recorded() {
    let h = Harness::start(settings()).await;
    h.poll().await;
    let (case, key) = h.linked_case("Nothing pending").await;
    h.tick().await;
    let (idle, _) = h.poll().await;
    h.tick().await;
    h.comment_on(&key, "Works again after the update");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "comment", EventAction::Created),
        1,
        "{events:#?}"
    );
    // The copy reads back once (the note's own change); after that, polls are idle again.
    h.tick().await;
    h.poll().await;
    let log = common::RequestLog::start();
    for _ in 0..2 {
        h.tick().await;
        log.take();
        let (run, events) = h.poll().await;
        assert!(Harness::writes(&events).is_empty(), "{events:#?}");
        // No issue, comment or notes read for the link: it has nothing pending.
        let routes = log.take();
        assert!(
            !routes
                .iter()
                .any(|r| r.contains("/issue/") || r.contains("annotations(")),
            "{routes:#?}"
        );
        assert_eq!(
            (requests(&run, "dataverse"), requests(&run, "jira")),
            (requests(&idle, "dataverse"), requests(&idle, "jira")),
            "{:?} after the copy; {:?} before",
            run.requests,
            idle.requests
        );
    }
    assert!(h
        .store()
        .list_links_with_pending_items(h.job_id())
        .unwrap()
        .is_empty());
    assert!(copies_pending(&h, &case).is_null());
}
