use super::helpers::{job, memory_store, T0};
use crate::{Error, EventAction, EventFilter, NewEvent, Store};
use crosswalk_core::{EventLevel, RunId, Trigger};
use time::Duration;

/// A run with 10 events: users u0..u5 (u4 failed, u5 skipped with a warning), groups, one note.
fn run_with_events() -> (Store, RunId) {
    let (store, _) = memory_store();
    let (job_id, _) = store.upsert_job(&job("nightly")).unwrap();
    let run_id = store
        .start_run(job_id, Trigger::Schedule, false, T0)
        .unwrap();
    let mut events = vec![NewEvent::new(
        T0,
        EventLevel::Info,
        EventAction::Info,
        "Reading users from Graph",
    )];
    for i in 0..6 {
        let at = T0 + Duration::seconds(i);
        let (level, action) = match i {
            4 => (EventLevel::Error, EventAction::Failed),
            5 => (EventLevel::Warn, EventAction::Skipped),
            _ => (EventLevel::Info, EventAction::Created),
        };
        let mut event = NewEvent::new(at, level, action, format!("User {i}"))
            .object("user", format!("id-{i}"), format!("Ada {i}"))
            .change(
                None,
                Some(serde_json::json!({"mail": format!("ada{i}@acme.com")})),
            );
        if i == 4 {
            event = event.fix("Grant User.Read.All");
        }
        events.push(event);
    }
    for i in 0..3 {
        events.push(
            NewEvent::new(
                T0,
                EventLevel::Info,
                EventAction::Updated,
                "Members changed (100% synced)",
            )
            .object("group", format!("g-{i}"), format!("Team_{i}")),
        );
    }
    store.append_events(run_id, &events).unwrap();
    (store, run_id)
}

fn labels(store: &Store, run_id: RunId, filter: &EventFilter) -> Vec<String> {
    store
        .list_events(run_id, filter)
        .unwrap()
        .into_iter()
        .map(|event| event.object_label.unwrap_or(event.message))
        .collect()
}

#[test]
fn events_keep_everything_that_was_appended() {
    let (store, run_id) = run_with_events();
    let all = store.list_events(run_id, &EventFilter::default()).unwrap();
    assert_eq!(all.len(), 10);
    assert!(
        all.windows(2).all(|pair| pair[0].id < pair[1].id),
        "oldest first"
    );
    let failed = &all[5];
    assert_eq!(
        (failed.level, failed.action),
        (EventLevel::Error, EventAction::Failed)
    );
    assert_eq!(failed.object_id.as_deref(), Some("id-4"));
    assert_eq!(failed.fix.as_deref(), Some("Grant User.Read.All"));
    assert_eq!(
        failed.after,
        Some(serde_json::json!({"mail": "ada4@acme.com"}))
    );
    assert_eq!(
        (failed.before.clone(), failed.at, failed.run_id),
        (None, T0 + Duration::seconds(4), run_id)
    );
}

#[test]
fn events_filter_by_level_action_kind_and_text() {
    let (store, run_id) = run_with_events();
    let check = |filter: EventFilter, expect: &[&str]| {
        assert_eq!(labels(&store, run_id, &filter), expect, "{filter:?}");
        assert_eq!(
            store.count_events(run_id, &filter).unwrap(),
            expect.len() as u64,
            "{filter:?}"
        );
    };
    check(
        EventFilter {
            min_level: Some(EventLevel::Warn),
            ..Default::default()
        },
        &["Ada 4", "Ada 5"],
    );
    check(
        EventFilter {
            min_level: Some(EventLevel::Error),
            ..Default::default()
        },
        &["Ada 4"],
    );
    check(
        EventFilter {
            action: Some(EventAction::Skipped),
            ..Default::default()
        },
        &["Ada 5"],
    );
    check(
        EventFilter {
            object_kind: Some("group".into()),
            ..Default::default()
        },
        &["Team_0", "Team_1", "Team_2"],
    );
    // Text matches message, label or id, ignores ASCII case, and treats % and _ literally.
    check(
        EventFilter {
            text: Some("ADA 1".into()),
            ..Default::default()
        },
        &["Ada 1"],
    );
    check(
        EventFilter {
            text: Some("id-3".into()),
            ..Default::default()
        },
        &["Ada 3"],
    );
    check(
        EventFilter {
            text: Some("m_1".into()),
            ..Default::default()
        },
        &["Team_1"],
    );
    check(
        EventFilter {
            text: Some("100%".into()),
            ..Default::default()
        },
        &["Team_0", "Team_1", "Team_2"],
    );
    check(
        EventFilter {
            text: Some("0%".into()),
            ..Default::default()
        },
        &["Team_0", "Team_1", "Team_2"],
    );
    check(
        EventFilter {
            text: Some("a%a".into()),
            ..Default::default()
        },
        &[],
    );
    check(
        EventFilter {
            text: Some("a_1".into()),
            ..Default::default()
        },
        &[],
    );
    check(
        EventFilter {
            object_kind: Some("user".into()),
            action: Some(EventAction::Created),
            text: Some("2".into()),
            ..Default::default()
        },
        &["Ada 2"],
    );
}

#[test]
fn events_page_with_limit_and_offset_while_count_ignores_paging() {
    let (store, run_id) = run_with_events();
    let users = |limit, offset| EventFilter {
        object_kind: Some("user".into()),
        limit: Some(limit),
        offset,
        ..Default::default()
    };
    assert_eq!(
        labels(&store, run_id, &users(4, 0)),
        ["Ada 0", "Ada 1", "Ada 2", "Ada 3"]
    );
    assert_eq!(labels(&store, run_id, &users(4, 4)), ["Ada 4", "Ada 5"]);
    assert!(labels(&store, run_id, &users(4, 8)).is_empty());
    assert_eq!(store.count_events(run_id, &users(4, 4)).unwrap(), 6);
}

#[test]
fn a_batch_is_all_or_nothing() {
    let (store, run_id) = run_with_events();
    assert!(matches!(
        store.append_events(
            RunId(999),
            &[NewEvent::new(T0, EventLevel::Info, EventAction::Info, "x")]
        ),
        Err(Error::NotFound { what: "run", .. })
    ));
    let bad = NewEvent::new(T0, EventLevel::Info, EventAction::Info, "never stored");
    let before = store.count_events(run_id, &EventFilter::default()).unwrap();
    let conn = store.conn();
    conn.execute_batch("CREATE TEMP TRIGGER refuse BEFORE INSERT ON run_events WHEN NEW.message = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END;").unwrap();
    drop(conn);
    let boom = NewEvent::new(T0, EventLevel::Info, EventAction::Info, "boom");
    assert!(store.append_events(run_id, &[bad, boom]).is_err());
    assert_eq!(
        store.count_events(run_id, &EventFilter::default()).unwrap(),
        before
    );
}
