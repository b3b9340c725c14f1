//! The object map: journaled creates, seen marks, filters and counts.

use super::helpers::{job, memory_store, T0};
use crate::{Error, MapChange, MapEntry, MapFilter};
use crosswalk_core::JobId;
use time::Duration;

fn written(kind: &str, id: &str, target: &str) -> MapEntry {
    MapEntry {
        target_id: Some(target.to_owned()),
        hash: format!("h-{id}"),
        ..MapEntry::intent(kind, id, &format!("Label {id}"), "{}".into())
    }
}

#[test]
fn a_journaled_create_is_open_until_confirmed_and_a_batch_is_all_or_nothing() {
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    let intent = MapEntry::intent("user", "u1", "Ada", r#"{"Mail":"ada@x"}"#.into());
    store
        .map_apply(a, &[MapChange::Put(intent.clone())])
        .unwrap();
    let open = store.map_select(a, &MapFilter::Open).unwrap();
    assert_eq!(open, [intent]);

    store
        .map_apply(a, &[MapChange::Put(written("user", "u1", "101"))])
        .unwrap();
    assert!(store.map_select(a, &MapFilter::Open).unwrap().is_empty());
    let got = store.map_get(a, "user", &["u1", "nope"]).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got["u1"].target_id.as_deref(), Some("101"));

    // A batch touching a missing job changes nothing.
    let res = store.map_apply(JobId(99), &[MapChange::Put(written("user", "u2", "102"))]);
    assert!(matches!(res, Err(Error::NotFound { what: "job", .. })));
    assert!(store.map_get(a, "user", &["u2"]).unwrap().is_empty());
}

#[test]
fn unseen_entries_are_the_active_ones_a_full_round_did_not_mark() {
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    let mut removed = written("user", "u3", "103");
    removed.removed_at = Some(T0);
    store
        .map_apply(
            a,
            &[
                MapChange::Put(written("user", "u1", "101")),
                MapChange::Put(written("user", "u2", "102")),
                MapChange::Put(removed),
                MapChange::Put(written("group", "g1", "201")),
                MapChange::Seen {
                    kind: "user".into(),
                    remote_ids: vec!["u1".into()],
                    run: 7,
                },
            ],
        )
        .unwrap();
    let unseen = store
        .map_select(
            a,
            &MapFilter::Unseen {
                kind: "user".into(),
                run: 7,
            },
        )
        .unwrap();
    assert_eq!(
        unseen
            .iter()
            .map(|e| e.remote_id.as_str())
            .collect::<Vec<_>>(),
        ["u2"]
    );
    let counts = store.map_counts(a).unwrap();
    assert_eq!(counts["user"], (2, 1));
    assert_eq!(counts["group"], (1, 0));
    let targets = store.map_targets(a, &["user"]).unwrap();
    assert_eq!(
        targets.len(),
        2,
        "removed objects are not reference targets"
    );
}

#[test]
fn memberships_are_found_by_group_prefix_and_by_member() {
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    let membership = |g: &str, m: &str| MapEntry {
        member_id: Some(m.to_owned()),
        ..written("membership", &format!("{g}:{m}"), "9")
    };
    store
        .map_apply(
            a,
            &[
                MapChange::Put(membership("g1", "u1")),
                MapChange::Put(membership("g1", "u2")),
                MapChange::Put(membership("g10", "u1")),
                MapChange::Put(membership("g2", "u1")),
            ],
        )
        .unwrap();
    let of_g1 = store
        .map_select(
            a,
            &MapFilter::Prefix {
                kind: "membership".into(),
                prefix: "g1:".into(),
            },
        )
        .unwrap();
    assert_eq!(
        of_g1
            .iter()
            .map(|e| e.remote_id.as_str())
            .collect::<Vec<_>>(),
        ["g1:u1", "g1:u2"]
    );
    let of_u1 = store
        .map_select(a, &MapFilter::MembershipsOfMember("u1".into()))
        .unwrap();
    assert_eq!(of_u1.len(), 3);
    store
        .map_apply(
            a,
            &[MapChange::Delete {
                kind: "membership".into(),
                remote_id: "g1:u1".into(),
            }],
        )
        .unwrap();
    assert_eq!(
        store
            .map_select(a, &MapFilter::MembershipsOfMember("u1".into()))
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn guard_held_and_long_removed_entries_are_selectable_and_go_with_their_job() {
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    let mut held = written("device", "d1", "301");
    held.missing_since = Some(T0);
    let mut old = written("device", "d2", "302");
    old.removed_at = Some(T0 - Duration::days(40));
    let mut unresolved = written("user", "u1", "101");
    unresolved.unresolved = true;
    store
        .map_apply(
            a,
            &[
                MapChange::Put(held),
                MapChange::Put(old),
                MapChange::Put(unresolved),
            ],
        )
        .unwrap();
    assert_eq!(store.map_select(a, &MapFilter::Missing).unwrap().len(), 1);
    assert_eq!(
        store.map_select(a, &MapFilter::Unresolved).unwrap().len(),
        1
    );
    let expired = store
        .map_select(
            a,
            &MapFilter::RemovedBefore {
                kind: "device".into(),
                cutoff: T0 - Duration::days(30),
            },
        )
        .unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(
        store
            .map_select(a, &MapFilter::Kind("device".into()))
            .unwrap()
            .len(),
        2
    );
    store.delete_job("a").unwrap();
    assert!(store.map_counts(a).unwrap().is_empty());
    let (b, _) = store.upsert_job(&job("b")).unwrap();
    assert_eq!(store.map_clear(b).unwrap(), 0);
}

#[test]
fn every_run_s_selective_reads_use_their_partial_index_not_a_scan_of_the_job() {
    use crate::table::object_map::select_sql;
    let (store, _) = memory_store();
    for (filter, index) in [
        (MapFilter::Open, "object_map_open"),
        (MapFilter::Unresolved, "object_map_unresolved"),
        (MapFilter::Missing, "object_map_missing"),
    ] {
        let (sql, _) = select_sql(&filter);
        let conn = store.conn();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(["1"], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join(" | ");
        assert!(
            plan.contains(index) && !plan.contains("TEMP B-TREE"),
            "{filter:?}: {plan}"
        );
    }
}

#[test]
fn a_kind_is_walked_page_by_page_and_emptiness_is_one_probe() {
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    assert!(store.map_is_empty(a).unwrap());
    let changes: Vec<MapChange> = (0..25)
        .map(|i| MapChange::Put(written("membership", &format!("g:{i:02}"), &i.to_string())))
        .chain([MapChange::Put(written("user", "u1", "900"))])
        .collect();
    store.map_apply(a, &changes).unwrap();
    assert!(!store.map_is_empty(a).unwrap());
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let page = store
            .map_page(a, "membership", after.as_deref(), 10)
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.remote_id.clone());
        seen.extend(page.into_iter().map(|e| e.remote_id));
    }
    let expected: Vec<String> = (0..25).map(|i| format!("g:{i:02}")).collect();
    assert_eq!(seen, expected);
}
