//! Cursors, settings and links.

use super::helpers::{job, memory_store, T0};
use crate::{Error, LinkId, Managed, NewLink};
use crosswalk_core::JobId;
use serde::{Deserialize, Serialize};

#[test]
fn cursors_are_per_job_replaced_in_place_and_cleared_together() {
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    let (b, _) = store.upsert_job(&job("b")).unwrap();
    assert_eq!(store.get_cursor(a, "users").unwrap(), None);
    store.set_cursor(a, "users", "delta-1").unwrap();
    store.set_cursor(a, "users", "delta-2").unwrap();
    store.set_cursor(a, "groups", "g-1").unwrap();
    store.set_cursor(b, "users", "other").unwrap();
    assert_eq!(
        store.get_cursor(a, "users").unwrap().as_deref(),
        Some("delta-2")
    );

    assert_eq!(store.clear_cursors(a).unwrap(), 2);
    assert_eq!(store.get_cursor(a, "groups").unwrap(), None);
    assert_eq!(
        store.get_cursor(b, "users").unwrap().as_deref(),
        Some("other")
    );

    assert!(matches!(
        store.set_cursor(JobId(99), "users", "x"),
        Err(Error::NotFound { what: "job", .. })
    ));
    store.delete_job("b").unwrap();
    assert_eq!(
        store.get_cursor(b, "users").unwrap(),
        None,
        "cursors go with their job"
    );
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Window {
    width: u32,
    maximized: bool,
}

#[test]
fn settings_round_trip_typed_values() {
    let (store, _) = memory_store();
    assert_eq!(store.get_setting::<Window>("window").unwrap(), None);
    store
        .set_setting(
            "window",
            &Window {
                width: 1200,
                maximized: false,
            },
        )
        .unwrap();
    store
        .set_setting(
            "window",
            &Window {
                width: 800,
                maximized: true,
            },
        )
        .unwrap();
    assert_eq!(
        store.get_setting::<Window>("window").unwrap(),
        Some(Window {
            width: 800,
            maximized: true
        })
    );
    store.set_setting("theme", "dark").unwrap();
    assert!(matches!(
        store.get_setting::<Window>("theme"),
        Err(Error::Json(_))
    ));
    assert!(store.delete_setting("theme").unwrap());
    assert!(!store.delete_setting("theme").unwrap());
}

fn link(job_id: JobId, issue: &str, record: &str) -> NewLink {
    NewLink {
        job_id,
        jira_issue_id: issue.to_owned(),
        jira_key: format!("SUP-{issue}"),
        dataverse_table: "incident".to_owned(),
        dataverse_id: record.to_owned(),
        managed: Managed::Auto,
        baseline_at: None,
        state: serde_json::json!({}),
    }
}

#[test]
fn links_are_unique_per_issue_and_per_record_within_a_job() {
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    let (b, _) = store.upsert_job(&job("b")).unwrap();
    let first = store.insert_link(&link(a, "10001", "rec-1")).unwrap();
    let second = store
        .insert_link(&NewLink {
            managed: Managed::Manual,
            ..link(a, "10002", "rec-2")
        })
        .unwrap();
    store
        .insert_link(&link(b, "10001", "rec-1"))
        .expect("another job may link the same pair");

    for duplicate in [link(a, "10001", "rec-9"), link(a, "10009", "rec-1")] {
        let error = store.insert_link(&duplicate).unwrap_err();
        assert!(
            matches!(error, Error::AlreadyExists { what: "link", .. }),
            "{error:?}"
        );
    }
    assert!(matches!(
        store.insert_link(&link(JobId(99), "1", "r")),
        Err(Error::NotFound { what: "job", .. })
    ));

    let by_issue = store.find_link_by_issue(a, "10002").unwrap().unwrap();
    assert_eq!(
        (by_issue.id, by_issue.managed, by_issue.created_at),
        (second, Managed::Manual, T0)
    );
    let by_record = store
        .find_link_by_record(a, "incident", "rec-1")
        .unwrap()
        .unwrap();
    assert_eq!(
        (by_record.id, by_record.jira_key.as_str()),
        (first, "SUP-10001")
    );
    assert_eq!(
        store.find_link_by_record(a, "account", "rec-1").unwrap(),
        None
    );

    store
        .set_link_state(
            first,
            Some(T0),
            &serde_json::json!({"title": "Printer on fire"}),
        )
        .unwrap();
    let updated = store.find_link_by_issue(a, "10001").unwrap().unwrap();
    assert_eq!(
        (updated.baseline_at, updated.state["title"].as_str()),
        (Some(T0), Some("Printer on fire"))
    );

    let ids: Vec<LinkId> = store
        .list_links(a)
        .unwrap()
        .into_iter()
        .map(|link| link.id)
        .collect();
    assert_eq!(ids, [first, second]);
    assert!(store.delete_link(first).unwrap());
    assert!(!store.delete_link(first).unwrap());
    assert!(matches!(
        store.set_link_state(first, None, &serde_json::json!({})),
        Err(Error::NotFound { .. })
    ));
    store.delete_job("a").unwrap();
    assert!(
        store.list_links(a).unwrap().is_empty(),
        "links go with their job"
    );
    assert_eq!(store.list_links(b).unwrap().len(), 1);
}

#[test]
fn link_items_remember_copies_per_side_and_go_with_their_link() {
    use crate::{ItemKind, ItemStatus, NewLinkItem, Side};
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    let link_id = store.insert_link(&link(a, "10001", "rec-1")).unwrap();
    let pending = NewLinkItem {
        link_id,
        kind: ItemKind::Comment,
        origin: Side::Dataverse,
        jira_id: None,
        dataverse_id: Some("note-1".into()),
        hash: String::new(),
        status: ItemStatus::Pending,
        reason: None,
    };
    let id = store.insert_link_item(&pending).unwrap();
    // Two copies of one note would be a duplicate: the table refuses the second.
    assert!(store.insert_link_item(&pending).is_err());
    store
        .update_link_item(id, Some("20001"), None, "h1", ItemStatus::Synced)
        .unwrap();
    let items = store.list_link_items(link_id, ItemKind::Comment).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (
            items[0].jira_id.as_deref(),
            items[0].dataverse_id.as_deref(),
            items[0].status,
            items[0].origin
        ),
        (
            Some("20001"),
            Some("note-1"),
            ItemStatus::Synced,
            Side::Dataverse
        )
    );
    assert!(store
        .list_link_items(link_id, ItemKind::Attachment)
        .unwrap()
        .is_empty());
    store.delete_link(link_id).unwrap();
    assert!(store
        .list_link_items(link_id, ItemKind::Comment)
        .unwrap()
        .is_empty());
}

#[test]
fn links_with_pending_items_are_listed_per_job_until_their_copies_are_confirmed() {
    use crate::{ItemKind, ItemStatus, NewLinkItem, Side};
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    let (b, _) = store.upsert_job(&job("b")).unwrap();
    let first = store.insert_link(&link(a, "10001", "rec-1")).unwrap();
    let second = store.insert_link(&link(a, "10002", "rec-2")).unwrap();
    let other = store.insert_link(&link(b, "10003", "rec-3")).unwrap();
    let item = |link_id, id: &str| NewLinkItem {
        link_id,
        kind: ItemKind::Comment,
        origin: Side::Jira,
        jira_id: Some(id.into()),
        dataverse_id: Some(format!("note-{id}")),
        hash: String::new(),
        status: ItemStatus::Pending,
        reason: None,
    };
    assert!(store.list_links_with_pending_items(a).unwrap().is_empty());
    let one = store.insert_link_item(&item(first, "1")).unwrap();
    store.insert_link_item(&item(first, "2")).unwrap();
    store.insert_link_item(&item(other, "3")).unwrap();
    let synced = store.insert_link_item(&item(second, "4")).unwrap();
    store
        .update_link_item(synced, None, None, "", ItemStatus::Synced)
        .unwrap();
    assert_eq!(store.list_links_with_pending_items(a).unwrap(), vec![first]);
    assert_eq!(store.list_links_with_pending_items(b).unwrap(), vec![other]);
    store
        .update_link_item(one, None, None, "", ItemStatus::Synced)
        .unwrap();
    assert_eq!(store.list_links_with_pending_items(a).unwrap(), vec![first]);
}

#[test]
fn link_intents_are_journaled_once_and_settled() {
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    assert!(store.insert_link_intent(a, "incident", "rec-1").unwrap());
    assert!(!store.insert_link_intent(a, "incident", "rec-1").unwrap());
    assert!(store.has_link_intent(a, "incident", "rec-1").unwrap());
    let intents = store.list_link_intents(a).unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].started_at, T0);
    store.delete_link_intent(a, "incident", "rec-1").unwrap();
    assert!(!store.has_link_intent(a, "incident", "rec-1").unwrap());
}
