use super::helpers::{entra, jira, job, memory_store, T0};
use crate::{Error, Upserted};
use crosswalk_core::{Code, Schedule, SecretRef};
use time::Duration;

#[test]
fn saving_the_same_connection_twice_changes_nothing() {
    let (store, clock) = memory_store();
    let (id, outcome) = store.upsert_connection(&entra("entra-prod")).unwrap();
    assert_eq!(outcome, Upserted::Created);

    clock.advance(Duration::minutes(5));
    assert_eq!(
        store.upsert_connection(&entra("entra-prod")).unwrap(),
        (id, Upserted::Unchanged)
    );
    let stored = store.get_connection("entra-prod").unwrap();
    assert_eq!((stored.created_at, stored.updated_at), (T0, T0));

    let mut changed = entra("entra-prod");
    changed.secret = Some(SecretRef::Env("ENTRA_SECRET".into()));
    assert_eq!(
        store.upsert_connection(&changed).unwrap(),
        (id, Upserted::Updated)
    );
    let stored = store.get_connection("entra-prod").unwrap();
    assert_eq!(stored.config, changed);
    assert_eq!(
        (stored.created_at, stored.updated_at),
        (T0, T0 + Duration::minutes(5))
    );
}

#[test]
fn connections_list_by_name_and_delete() {
    let (store, _) = memory_store();
    store
        .upsert_connection(&jira("jira-prod", "jira-prod"))
        .unwrap();
    store.upsert_connection(&entra("entra-prod")).unwrap();
    let names: Vec<_> = store
        .list_connections()
        .unwrap()
        .into_iter()
        .map(|c| c.config.name)
        .collect();
    assert_eq!(names, ["entra-prod", "jira-prod"]);

    assert!(store.find_connection("nope").unwrap().is_none());
    let error = store.get_connection("nope").unwrap_err();
    assert!(matches!(&error, Error::NotFound { what: "connection", name } if name == "nope"));
    assert_eq!(error.user_facing().code, Code::NotFound);

    assert!(store.delete_connection("jira-prod").unwrap());
    assert!(!store.delete_connection("jira-prod").unwrap());
    assert_eq!(store.list_connections().unwrap().len(), 1);
}

#[test]
fn saving_the_same_job_twice_keeps_its_next_due_time() {
    let (store, clock) = memory_store();
    let (id, outcome) = store.upsert_job(&job("nightly")).unwrap();
    assert_eq!(outcome, Upserted::Created);
    assert_eq!(store.get_job("nightly").unwrap().next_due_at, None);

    let due = T0 + Duration::hours(1);
    store.set_job_next_due(id, Some(due)).unwrap();
    clock.advance(Duration::minutes(1));
    assert_eq!(
        store.upsert_job(&job("nightly")).unwrap(),
        (id, Upserted::Unchanged)
    );
    let stored = store.get_job("nightly").unwrap();
    assert_eq!((stored.next_due_at, stored.updated_at), (Some(due), T0));

    // A settings change keeps the schedule's due time...
    let mut settings_changed = job("nightly");
    settings_changed.settings = serde_json::json!({"source": "entra-test", "target": "jira-prod"});
    assert_eq!(
        store.upsert_job(&settings_changed).unwrap(),
        (id, Upserted::Updated)
    );
    assert_eq!(store.get_job_by_id(id).unwrap().next_due_at, Some(due));

    // ...a schedule change asks the scheduler to recompute it.
    let mut schedule_changed = settings_changed.clone();
    schedule_changed.schedule = Schedule::Daily;
    assert_eq!(
        store.upsert_job(&schedule_changed).unwrap(),
        (id, Upserted::Updated)
    );
    let stored = store.get_job_by_id(id).unwrap();
    assert_eq!(stored.config, schedule_changed);
    assert_eq!(stored.next_due_at, None);
    assert_eq!(stored.updated_at, T0 + Duration::minutes(1));
}

#[test]
fn due_jobs_are_enabled_ones_whose_time_has_come() {
    let (store, _) = memory_store();
    let (early, _) = store.upsert_job(&job("early")).unwrap();
    let (late, _) = store.upsert_job(&job("late")).unwrap();
    let (future, _) = store.upsert_job(&job("future")).unwrap();
    let (off, _) = store.upsert_job(&job("off")).unwrap();
    store.upsert_job(&job("unscheduled")).unwrap();
    store
        .set_job_next_due(early, Some(T0 - Duration::hours(2)))
        .unwrap();
    store.set_job_next_due(late, Some(T0)).unwrap();
    store
        .set_job_next_due(future, Some(T0 + Duration::seconds(1)))
        .unwrap();
    store
        .set_job_next_due(off, Some(T0 - Duration::hours(3)))
        .unwrap();
    store.set_job_enabled(off, false).unwrap();

    let due: Vec<_> = store
        .list_due_jobs(T0)
        .unwrap()
        .into_iter()
        .map(|j| j.config.name)
        .collect();
    assert_eq!(due, ["early", "late"]);

    let off_job = store.get_job("off").unwrap();
    assert!(!off_job.config.enabled);
    assert_eq!(off_job.next_due_at, None, "disabling clears the due time");
    store.set_job_enabled(off, false).unwrap(); // no-op
}

#[test]
fn job_updates_by_unknown_id_are_not_found() {
    let (store, _) = memory_store();
    let missing = crosswalk_core::JobId(42);
    assert!(matches!(
        store.set_job_next_due(missing, None),
        Err(Error::NotFound { what: "job", .. })
    ));
    assert!(matches!(
        store.set_job_enabled(missing, true),
        Err(Error::NotFound { what: "job", .. })
    ));
    assert!(matches!(
        store.get_job_by_id(missing),
        Err(Error::NotFound { what: "job", .. })
    ));
    assert!(!store.delete_job("nope").unwrap());
}
