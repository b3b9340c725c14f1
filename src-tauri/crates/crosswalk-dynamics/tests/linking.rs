//! Links made from the console (the seed's issue panel): search both sides, link by hand with
//! the link note and the remote link, preview, unlink; and bulk link of existing records by a
//! matching value, previewed before anything is written and run as a run of the item. Against
//! the sandbox over real HTTP with a real SQLite store.

mod common;

use common::{base_settings, count, Harness, ISSUE_TYPE, JOB, PROJECT};
use crosswalk_core::{Code, RunStatus, Trigger};
use crosswalk_dynamics::linking::{self, BulkRule};
use crosswalk_dynamics::Error;
use crosswalk_store::{EventAction, Managed};
use serde_json::{json, Value};

/// An item without auto-create: links come from the console only.
fn manual_settings() -> Value {
    let mut settings = base_settings();
    settings["auto_create"] = json!({"enabled": false});
    settings
}

fn state_note(h: &Harness, case: &str) -> Option<String> {
    h.link_of(case).state["link_note"]
        .as_str()
        .map(str::to_owned)
}

/// A link made by hand in `mode`: visible on both sides, pushed from Dynamics by the next poll,
/// then synced as the mode says (a Jira edit reaches Dynamics in two-way mode only), previewed,
/// and unlinked cleanly.
async fn a_manual_link_round_trip(mode: &str) {
    let mut settings = manual_settings();
    settings["mode"] = json!(mode);
    let h = Harness::start(settings).await;
    h.poll().await;
    let item = linking::open(h.services(), JOB).await.unwrap();
    let record = item.search_records("").await.unwrap().remove(0);
    assert!(record.linked_to.is_none());
    let issue = item
        .search_issues("")
        .await
        .unwrap()
        .into_iter()
        .find(|hit| hit.linked_to.is_none())
        .unwrap();

    let link = item.link(&issue.key, &record.id).await.unwrap();
    assert_eq!(link.managed, Managed::Manual);
    assert_eq!(link.jira_key, issue.key);
    // Both names as the link read them, for the console's filter.
    assert_eq!(link.state["record_name"], json!(record.name));
    assert_eq!(link.state["issue_summary"], json!(issue.summary));
    let events = item.journal.take();
    assert!(
        events.iter().any(
            |e| e.action == crosswalk_engine::context::EventAction::Created
                && e.message.contains("by hand")
        ),
        "{events:#?}"
    );

    // The timeline note says what the seed lists: key, URL, issue id, item, manual.
    let notes = h.link_notes_of(&record.id);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].1, format!("Linked to Jira issue {}", issue.key));
    for needle in [
        issue.key.as_str(),
        issue.url.as_str(),
        issue.id.as_str(),
        "Smart Connected Item: cases",
        "manually",
    ] {
        assert!(
            notes[0].2.contains(needle),
            "note lacks {needle}: {}",
            notes[0].2
        );
    }
    assert_eq!(
        state_note(&h, &record.id).as_deref(),
        Some(notes[0].0.as_str())
    );
    let remote = h.remote_links_of(&issue.key);
    assert_eq!(remote.len(), 1, "{remote:?}");
    assert!(
        remote[0].ends_with(&format!("id={}", record.id)),
        "{remote:?}"
    );

    // Both searches now say they are linked.
    let again = item.search_records(&record.id).await.unwrap();
    assert_eq!(again[0].linked_to.as_deref(), Some(issue.key.as_str()));

    // The next poll pushes Dynamics' mapped values to the new link once.
    let title = h.case_value(&record.id, "title");
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "issue", EventAction::Updated),
        1,
        "{events:#?}"
    );
    assert_eq!(h.issue_field(&issue.key, "summary"), title);

    // A Jira edit reaches the record in two-way mode only.
    h.tick().await;
    h.edit_issue(&issue.key, json!({"summary": "Changed in Jira"}));
    let (_, events) = h.poll().await;
    let two_way = mode == "two_way";
    assert_eq!(
        count(&events, "record", EventAction::Updated),
        usize::from(two_way),
        "{events:#?}"
    );
    let expected = if two_way {
        json!("Changed in Jira")
    } else {
        title
    };
    assert_eq!(h.case_value(&record.id, "title"), expected);
    let summary = h.issue_field(&issue.key, "summary");
    assert_eq!(summary, json!("Changed in Jira"));

    // The preview reads both sides as they are now.
    h.tick().await;
    h.update_case(&record.id, json!({"title": "Changed in Dynamics"}));
    let preview = item.preview(&h.link_of(&record.id)).await.unwrap();
    assert_eq!(preview.managed, "manual");
    assert_eq!(preview.record_name, "Changed in Dynamics");
    assert_eq!(preview.status_sync, "off", "the item does not sync status");
    assert_eq!(preview.status_pending, None);
    let title_field = preview
        .fields
        .iter()
        .find(|f| f.dataverse_column == "title")
        .unwrap();
    assert_eq!(title_field.dynamics, "Changed in Dynamics");
    assert_eq!(Value::String(title_field.jira.clone()), summary);

    // Unlink removes our link, note and remote link; neither side is deleted.
    item.unlink(&issue.key).await.unwrap();
    assert!(h.links().is_empty());
    assert!(h.link_notes_of(&record.id).is_empty());
    assert!(h.remote_links_of(&issue.key).is_empty());
    assert!(h.both_exist(&issue.key, &record.id));
    // Later polls leave the pair alone.
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "issue", EventAction::Updated),
        0,
        "{events:#?}"
    );
    assert_eq!(h.issue_field(&issue.key, "summary"), summary);
    assert_eq!(
        h.case_value(&record.id, "title"),
        json!("Changed in Dynamics")
    );
    let gone = item.unlink(&issue.key).await.unwrap_err();
    assert_eq!(gone.user_facing().code, Code::NotFound);
}

#[tokio::test]
async fn a_manual_link_is_visible_on_both_sides_synced_by_the_next_poll_and_unlinked_cleanly() {
    a_manual_link_round_trip("one_way").await;
}

#[tokio::test]
async fn a_manual_link_in_two_way_mode_carries_jira_edits_back_and_unlinks_cleanly() {
    a_manual_link_round_trip("two_way").await;
}

/// With the link note and the remote link turned off, links (made by auto-create or by hand)
/// write neither, later polls do not try to, the fields still sync, and unlink still works.
#[tokio::test]
async fn with_the_link_note_and_remote_link_off_links_write_neither() {
    let mut settings = base_settings();
    settings["link_note"] = json!(false);
    settings["remote_link"] = json!(false);
    let h = Harness::start(settings).await;
    h.poll().await;
    let (case, key) = h.linked_case("No decorations").await;
    assert_eq!(h.issue_field(&key, "summary"), json!("No decorations"));
    let item = linking::open(h.services(), JOB).await.unwrap();
    let by_hand = h.create_case("Linked by hand, quietly", json!({}));
    let (_, free) = h.create_issue("Free issue", json!({}));
    item.link(&free, &by_hand).await.unwrap();
    for (record, issue) in [(&case, &key), (&by_hand, &free)] {
        assert!(h.notes_of(record).is_empty(), "{:?}", h.notes_of(record));
        assert!(h.remote_links_of(issue).is_empty());
        assert!(state_note(&h, record).is_none());
    }

    // Later polls sync fields and never add what was turned off.
    h.tick().await;
    h.update_case(&case, json!({"title": "No decorations, edited"}));
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "issue", EventAction::Updated),
        2,
        "the edit and the new manual link's first sync: {events:#?}"
    );
    assert_eq!(
        h.issue_field(&free, "summary"),
        json!("Linked by hand, quietly")
    );
    for _ in 0..2 {
        h.tick().await;
        let (_, events) = h.poll().await;
        assert!(Harness::writes(&events).is_empty(), "{events:#?}");
    }
    for (record, issue) in [(&case, &key), (&by_hand, &free)] {
        assert!(h.notes_of(record).is_empty());
        assert!(h.remote_links_of(issue).is_empty());
    }

    item.unlink(&free).await.unwrap();
    assert_eq!(h.links().len(), 1);
    assert!(h.both_exist(&free, &by_hand));
}

#[tokio::test]
async fn auto_managed_links_stay_and_linked_sides_are_refused_with_the_reason() {
    let h = Harness::start(base_settings()).await;
    h.poll().await;
    h.tick().await;
    let case = h.create_case("Auto-linked case", json!({}));
    h.poll().await;
    let auto = h.link_of(&case);
    assert_eq!(auto.managed, Managed::Auto);

    let item = linking::open(h.services(), JOB).await.unwrap();
    let refused = item.unlink(&auto.jira_key).await.unwrap_err();
    assert!(matches!(refused, Error::AutoManaged { .. }), "{refused:?}");
    let facing = refused.user_facing();
    assert_eq!(facing.code, Code::Conflict);
    assert!(facing.message.contains("auto-create"), "{facing:?}");
    assert!(facing.message.contains(&auto.jira_key), "{facing:?}");
    assert!(facing.fix.is_some());
    assert_eq!(h.links().len(), 1, "the link stays");
    assert_eq!(h.link_notes_of(&case).len(), 1, "its note stays");

    let free_issue = item
        .search_issues("")
        .await
        .unwrap()
        .into_iter()
        .find(|hit| hit.linked_to.is_none())
        .unwrap();
    let record_taken = item.link(&free_issue.key, &case).await.unwrap_err();
    let facing = record_taken.user_facing();
    assert_eq!(facing.code, Code::Conflict);
    assert!(
        facing.message.contains("already linked to") && facing.message.contains(&auto.jira_key),
        "{facing:?}"
    );
    let other_case = h.create_case("Another case", json!({}));
    let issue_taken = item.link(&auto.jira_key, &other_case).await.unwrap_err();
    let facing = issue_taken.user_facing();
    assert_eq!(facing.code, Code::Conflict);
    assert!(
        facing.message.contains("already linked to record") && facing.message.contains(&case),
        "{facing:?}"
    );
    assert!(facing
        .fix
        .unwrap()
        .contains("Unlink the existing link first"));
    assert_eq!(h.links().len(), 1);
    assert!(h.link_notes_of(&other_case).is_empty());
}

#[tokio::test]
async fn a_link_retried_after_a_crash_between_the_note_and_the_stored_link_writes_one_note() {
    let h = Harness::start(manual_settings()).await;
    let item = linking::open(h.services(), JOB).await.unwrap();
    let record = item.search_records("").await.unwrap().remove(0);
    let (issue_id, key) = h.project_issues().remove(0);
    // The first attempt wrote the note, then the process died before storing the link.
    let first = item
        .write_link_note_for(&record.id, &issue_id, &key, Managed::Manual)
        .await
        .unwrap();
    assert_eq!(h.link_notes_of(&record.id).len(), 1);
    assert!(h.links().is_empty());

    item.link(&key, &record.id).await.unwrap();
    let notes = h.link_notes_of(&record.id);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].0, first);
    assert_eq!(state_note(&h, &record.id).as_deref(), Some(first.as_str()));
    assert_eq!(h.remote_links_of(&key).len(), 1);
}

#[tokio::test]
async fn bulk_link_previews_the_matches_then_links_them_in_a_run_idempotently() {
    let h = Harness::start(manual_settings()).await;
    h.poll().await;
    let case = |n: &str, ticket: &str| {
        h.create_case(&format!("Bulk {n}"), json!({"ticketnumber": ticket}))
    };
    let a = case("A", "BULK-001");
    let b = case("B", "BULK-002");
    let c1 = case("C1", "BULK-003");
    let _c2 = case("C2", "BULK-003");
    let d = case("D", "BULK-004");
    let e = case("E", "BULK-005");
    let f = case("F", "BULK-006");
    let g = case("G", "BULK-007");
    let issues: Vec<(String, String)> = [
        "BULK-001",
        " bulk-002 ",
        "BULK-003",
        "BULK-005",
        "BULK-006",
        "BULK-006",
        "Bulk-007",
    ]
    .iter()
    .enumerate()
    .map(|(at, value)| h.create_issue(&format!("Issue {at}"), json!({"customfield_10010": value})))
    .collect();
    let item = linking::open(h.services(), JOB).await.unwrap();
    // E and its issue are linked by hand already.
    item.link(&issues[3].1, &e).await.unwrap();
    let notes_before = h.link_notes_of(&a).len();

    let rule = BulkRule {
        dataverse_column: "ticketnumber".into(),
        jira_field: "customfield_10010".into(),
        filter: Some("contains(ticketnumber,'BULK-')".into()),
    };
    let preview = item.bulk_preview(&rule).await.unwrap();
    let pairs: Vec<(&str, &str)> = preview
        .pairs
        .iter()
        .map(|p| (p.record_id.as_str(), p.issue_key.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            (a.as_str(), issues[0].1.as_str()),
            (b.as_str(), issues[1].1.as_str()),
            (g.as_str(), issues[6].1.as_str()),
        ]
    );
    assert_eq!(preview.pairs[0].record_name, "Bulk A");
    assert_eq!(preview.pairs[0].value, "BULK-001");
    assert_eq!(preview.records_read, 8);
    assert_eq!(preview.unmatched, 1, "D has no issue");
    assert_eq!(
        preview.ambiguous, 3,
        "C1 and C2 share a value; F matches two issues"
    );
    let mut ambiguous: Vec<(String, u32, u32)> = preview
        .ambiguous_values
        .iter()
        .map(|v| (v.value.clone(), v.records, v.issues))
        .collect();
    ambiguous.sort();
    assert_eq!(
        ambiguous,
        [("BULK-003".to_owned(), 2, 1), ("BULK-006".to_owned(), 1, 2)]
    );
    assert_eq!(preview.already_linked, 1, "E");
    assert_eq!(preview.no_value, 0);
    // A preview writes nothing.
    assert_eq!(h.links().len(), 1);
    assert_eq!(h.link_notes_of(&a).len(), notes_before);
    assert!(h.remote_links_of(&issues[0].1).is_empty());

    // G is renamed after the preview: its link keeps the name the run's check read.
    h.update_case(&g, json!({"title": "Bulk G renamed"}));
    // "Link 3 pairs": queued and run as a run of the item, one event per record.
    let store = h.store();
    linking::queue_bulk(store, h.job_id(), &preview.pairs).unwrap();
    let (run, events) = h.poll().await;
    assert_eq!(run.trigger, Trigger::Cli);
    assert_eq!(
        count(&events, "link", EventAction::Created),
        3,
        "{events:#?}"
    );
    assert_eq!(run.counts["link"].created, 3);
    assert!(events
        .iter()
        .any(|e| e.message.contains("Bulk link of 3 pair(s)")));
    assert_eq!(run.progress.done, 3);
    assert!(linking::pending_bulk(store, h.job_id()).unwrap().is_none());
    for (case, (_, key)) in [(&a, &issues[0]), (&b, &issues[1]), (&g, &issues[6])] {
        let link = h.link_of(case);
        assert_eq!(&link.jira_key, key);
        assert_eq!(link.managed, Managed::Manual);
        let notes = h.link_notes_of(case);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].2.contains(key.as_str()) && notes[0].2.contains("manually"));
        assert_eq!(h.remote_links_of(key).len(), 1);
    }
    let names = |case: &str| {
        let state = h.link_of(case).state;
        (state["record_name"].clone(), state["issue_summary"].clone())
    };
    assert_eq!(names(&a), (json!("Bulk A"), json!("Issue 0")));
    assert_eq!(names(&g), (json!("Bulk G renamed"), json!("Issue 6")));
    assert!(h
        .store()
        .find_link_by_record(h.job_id(), "incident", &c1)
        .unwrap()
        .is_none());
    assert!(h
        .store()
        .find_link_by_record(h.job_id(), "incident", &f)
        .unwrap()
        .is_none());

    // A retry of the same plan (and a pair whose issue is outside the project) writes no
    // second note or link; the foreign pair fails with the reason.
    let foreign = h.sandbox.handle.jira(|j| {
        let issue = j.issues.iter().find(|i| i.key.starts_with("ENG-")).unwrap();
        (issue.id.to_string(), issue.key.clone())
    });
    let mut retry = preview.pairs.clone();
    retry.push(linking::BulkPair {
        record_id: d.clone(),
        record_name: "Bulk D".into(),
        issue_id: foreign.0,
        issue_key: foreign.1,
        issue_summary: String::new(),
        value: "BULK-004".into(),
    });
    linking::queue_bulk(store, h.job_id(), &retry).unwrap();
    let (run_id, status) = h.run(false).await;
    assert_eq!(status, RunStatus::CompletedWithErrors);
    let events = h.events(run_id);
    assert_eq!(
        count(&events, "link", EventAction::Skipped),
        3,
        "{events:#?}"
    );
    assert_eq!(count(&events, "link", EventAction::Created), 0);
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.action == EventAction::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(failed[0].message.contains("is not an issue of project SUP"));
    assert_eq!(h.links().len(), 4);
    for case in [&a, &b, &g] {
        assert_eq!(h.link_notes_of(case).len(), 1);
    }
    assert!(h.link_notes_of(&d).is_empty());

    // The next poll syncs the mapped fields of the bulk links.
    let (_, events) = h.poll().await;
    assert!(
        count(&events, "issue", EventAction::Updated) >= 3,
        "{events:#?}"
    );
    assert_eq!(h.issue_field(&issues[0].1, "summary"), json!("Bulk A"));
}

#[tokio::test]
async fn bulk_preview_refuses_unknown_columns_and_fields() {
    let h = Harness::start(manual_settings()).await;
    let item = linking::open(h.services(), JOB).await.unwrap();
    let bad_column = item
        .bulk_preview(&BulkRule {
            dataverse_column: "nosuchcolumn".into(),
            jira_field: "summary".into(),
            filter: None,
        })
        .await
        .unwrap_err();
    assert!(
        bad_column.to_string().contains("nosuchcolumn"),
        "{bad_column}"
    );
    let bad_field = item
        .bulk_preview(&BulkRule {
            dataverse_column: "title".into(),
            jira_field: "nosuchfield".into(),
            filter: None,
        })
        .await
        .unwrap_err();
    assert_eq!(bad_field.user_facing().code, Code::Validation);
    // title ↔ summary works on the whole table (no filter).
    let preview = item
        .bulk_preview(&BulkRule {
            dataverse_column: "title".into(),
            jira_field: "summary".into(),
            filter: None,
        })
        .await
        .unwrap();
    assert!(preview.records_read > 0);
    assert!(preview.issues_read > 0);
    assert_eq!(
        preview.records_read,
        preview.pairs.len() as u32
            + preview.unmatched
            + preview.ambiguous
            + preview.already_linked
            + preview.no_value
    );
}

/// Pairs are linked a few at a time; a plan naming the same issue twice (a hand-made or stale
/// plan) links it once and skips the other pair, so concurrent links never race for one side.
#[tokio::test]
async fn a_bulk_plan_naming_an_issue_twice_links_it_once() {
    let h = Harness::start(manual_settings()).await;
    h.poll().await;
    let first = h.create_case("Dup A", json!({}));
    let second = h.create_case("Dup B", json!({}));
    let (issue_id, key) = h.create_issue("Shared issue", json!({}));
    let pair = |record: &str, name: &str| linking::BulkPair {
        record_id: record.to_owned(),
        record_name: name.to_owned(),
        issue_id: issue_id.clone(),
        issue_key: key.clone(),
        issue_summary: "Shared issue".to_owned(),
        value: "shared".to_owned(),
    };
    linking::queue_bulk(
        h.store(),
        h.job_id(),
        &[pair(&first, "Dup A"), pair(&second, "Dup B")],
    )
    .unwrap();
    let (_, events) = h.poll().await;
    assert_eq!(
        count(&events, "link", EventAction::Created),
        1,
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == EventAction::Skipped && e.message.contains("twice")),
        "{events:#?}"
    );
    assert_eq!(h.links().len(), 1);
    assert_eq!(h.link_of(&first).jira_key, key);
    assert!(h.link_notes_of(&second).is_empty());
}

/// An item's scope is one project and one issue type (the seed), and its polls read only those
/// issues' changes: the console's search offers only them, a link to an issue of another
/// project or issue type is refused with the reason (its Jira side would never sync), and a
/// bulk link pairs none of them.
#[tokio::test]
async fn links_stay_inside_the_items_project_and_issue_type() {
    let h = Harness::start(manual_settings()).await;
    h.poll().await;
    let item = linking::open(h.services(), JOB).await.unwrap();
    let type_of = |key: &str| {
        h.sandbox
            .handle
            .jira(|j| j.issue(key).unwrap().issue_type.clone())
    };
    let hits = item.search_issues("").await.unwrap();
    assert!(!hits.is_empty());
    for hit in &hits {
        assert_eq!(type_of(&hit.key), ISSUE_TYPE, "{hit:?}");
    }
    let (other_type, other_project) = h.sandbox.handle.jira(|j| {
        let project = j.project(PROJECT).unwrap().id.clone();
        let other_type = j
            .issues
            .iter()
            .find(|i| i.project == project && i.issue_type != ISSUE_TYPE)
            .map(|i| i.key.clone())
            .expect("a SUP issue of another type");
        let other_project = j
            .issues
            .iter()
            .find(|i| i.project != project)
            .map(|i| i.key.clone())
            .expect("an issue of another project");
        (other_type, other_project)
    });
    assert!(item.search_issues(&other_type).await.unwrap().is_empty());

    let case = h.create_case("Scoped", json!({"ticketnumber": "SCOPE-1"}));
    for (key, scope) in [(&other_project, "project"), (&other_type, "issue type")] {
        let refused = item.link(key, &case).await.unwrap_err();
        let facing = refused.user_facing();
        assert_eq!(facing.code, Code::Validation, "{facing:?}");
        assert!(
            facing.message.contains(key.as_str())
                && facing.message.contains(scope)
                && facing.message.contains(PROJECT),
            "{facing:?}"
        );
        assert!(
            facing
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains(ISSUE_TYPE),
            "{facing:?}"
        );
    }
    assert!(h.links().is_empty());
    assert!(h.link_notes_of(&case).is_empty());
    assert!(h.remote_links_of(&other_type).is_empty());

    // Bulk link: the other type's issue holds the matching value, and is not paired.
    h.edit_issue(&other_type, json!({"customfield_10010": "SCOPE-1"}));
    let rule = BulkRule {
        dataverse_column: "ticketnumber".into(),
        jira_field: "customfield_10010".into(),
        filter: Some("contains(ticketnumber,'SCOPE-')".into()),
    };
    let preview = item.bulk_preview(&rule).await.unwrap();
    assert!(preview.pairs.is_empty(), "{:?}", preview.pairs);
    assert_eq!(preview.unmatched, 1);
    // A hand-made plan naming it fails with the reason when it runs.
    let issue_id = h
        .sandbox
        .handle
        .jira(|j| j.issue(&other_type).unwrap().id.to_string());
    linking::queue_bulk(
        h.store(),
        h.job_id(),
        &[linking::BulkPair {
            record_id: case.clone(),
            record_name: "Scoped".into(),
            issue_id,
            issue_key: other_type.clone(),
            issue_summary: String::new(),
            value: "SCOPE-1".into(),
        }],
    )
    .unwrap();
    let (run_id, status) = h.run(false).await;
    assert_eq!(status, RunStatus::CompletedWithErrors);
    let events = h.events(run_id);
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.action == EventAction::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert!(
        failed[0].message.contains(&other_type) && failed[0].message.contains(ISSUE_TYPE),
        "{}",
        failed[0].message
    );
    assert!(h.links().is_empty());
}
