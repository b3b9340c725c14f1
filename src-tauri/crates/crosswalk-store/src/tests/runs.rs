use super::helpers::{job, memory_store, T0};
use crate::{Error, RequestCounts, RunFilter, RunProgress, Store};
use crosswalk_core::{Code, JobId, RunCounts, RunId, RunStatus, Trigger, UserFacing};
use std::collections::BTreeMap;
use time::Duration;

fn counts(created: u64, failed: u64) -> RunCounts {
    RunCounts {
        created,
        failed,
        ..RunCounts::default()
    }
}

#[test]
fn a_run_goes_from_running_to_finished_with_counts_and_traffic() {
    let (store, _) = memory_store();
    let (job_id, _) = store.upsert_job(&job("nightly")).unwrap();
    let run_id = store.start_run(job_id, Trigger::SyncNow, true, T0).unwrap();

    let run = store.get_run(run_id).unwrap();
    assert_eq!(
        (run.status, run.trigger, run.dry_run),
        (RunStatus::Running, Trigger::SyncNow, true)
    );
    assert_eq!((run.started_at, run.finished_at), (T0, None));
    assert_eq!(run.job_name, "nightly");
    assert_eq!(store.running_run(job_id).unwrap(), Some(run_id));

    store
        .update_run_progress(run_id, 40, Some(120), Some("Reading users"))
        .unwrap();
    let progress = store.get_run(run_id).unwrap().progress;
    assert_eq!(
        progress,
        RunProgress {
            done: 40,
            total: Some(120),
            message: Some("Reading users".into())
        }
    );

    let kinds = BTreeMap::from([
        ("user".to_owned(), counts(3, 1)),
        ("group".to_owned(), counts(2, 0)),
    ]);
    let traffic = BTreeMap::from([(
        "graph".to_owned(),
        RequestCounts {
            requests: 12,
            throttled: 1,
            retries: 1,
        },
    )]);
    let error = UserFacing::new(Code::PermissionDenied, "Graph refused Group.Read.All.");
    let end = T0 + Duration::minutes(3);
    store
        .finish_run(
            run_id,
            RunStatus::CompletedWithErrors,
            &kinds,
            &traffic,
            Some(&error),
            end,
        )
        .unwrap();

    let run = store.get_run(run_id).unwrap();
    assert_eq!(run.status, RunStatus::CompletedWithErrors);
    assert_eq!(run.finished_at, Some(end));
    assert_eq!(run.counts, kinds);
    assert_eq!(run.requests, traffic);
    assert_eq!(run.error, Some(error));
    assert_eq!(run.totals(), counts(5, 1));
    assert_eq!(store.running_run(job_id).unwrap(), None);
    assert_eq!(
        store.last_run(job_id).unwrap().map(|run| run.id),
        Some(run_id)
    );
}

#[test]
fn a_job_runs_at_most_once_at_a_time() {
    let (store, _) = memory_store();
    let (job_id, _) = store.upsert_job(&job("nightly")).unwrap();
    let first = store
        .start_run(job_id, Trigger::Schedule, false, T0)
        .unwrap();
    let error = store
        .start_run(job_id, Trigger::SyncNow, false, T0)
        .unwrap_err();
    assert!(
        matches!(error, Error::RunInProgress { job_id: j, run_id } if j == job_id && run_id == first)
    );
    assert_eq!(error.user_facing().code, Code::Conflict);

    store
        .finish_run(
            first,
            RunStatus::Succeeded,
            &BTreeMap::new(),
            &BTreeMap::new(),
            None,
            T0,
        )
        .unwrap();
    store
        .start_run(job_id, Trigger::SyncNow, false, T0)
        .expect("a new run once the first finished");
}

#[test]
fn runs_of_unknown_jobs_or_ids_are_not_found() {
    let (store, _) = memory_store();
    let error = store
        .start_run(JobId(9), Trigger::Cli, false, T0)
        .unwrap_err();
    assert!(
        matches!(error, Error::NotFound { what: "job", .. }),
        "{error:?}"
    );
    assert!(matches!(
        store.get_run(RunId(9)),
        Err(Error::NotFound { what: "run", .. })
    ));
    assert!(matches!(
        store.update_run_progress(RunId(9), 1, None, None),
        Err(Error::NotFound { .. })
    ));
    let finish = store.finish_run(
        RunId(9),
        RunStatus::Failed,
        &BTreeMap::new(),
        &BTreeMap::new(),
        None,
        T0,
    );
    assert!(matches!(finish, Err(Error::NotFound { .. })));
}

fn seeded() -> (Store, JobId, JobId, Vec<RunId>) {
    let (store, _) = memory_store();
    let (a, _) = store.upsert_job(&job("a")).unwrap();
    let (b, _) = store.upsert_job(&job("b")).unwrap();
    let mut ids = Vec::new();
    for minute in 0..5 {
        let job_id = if minute % 2 == 0 { a } else { b };
        let at = T0 + Duration::minutes(minute);
        let id = store
            .start_run(job_id, Trigger::Schedule, false, at)
            .unwrap();
        store
            .finish_run(
                id,
                RunStatus::Succeeded,
                &BTreeMap::new(),
                &BTreeMap::new(),
                None,
                at,
            )
            .unwrap();
        ids.push(id);
    }
    (store, a, b, ids)
}

#[test]
fn runs_list_newest_first_per_job_and_page_by_id() {
    let (store, a, b, ids) = seeded();
    let list = |filter: RunFilter| -> Vec<RunId> {
        store
            .list_runs(&filter)
            .unwrap()
            .into_iter()
            .map(|run| run.id)
            .collect()
    };
    assert_eq!(
        list(RunFilter::default()),
        [ids[4], ids[3], ids[2], ids[1], ids[0]]
    );
    assert_eq!(
        list(RunFilter {
            job: Some(a),
            ..RunFilter::default()
        }),
        [ids[4], ids[2], ids[0]]
    );
    assert_eq!(
        list(RunFilter {
            job: Some(b),
            ..RunFilter::default()
        }),
        [ids[3], ids[1]]
    );
    let first_page = list(RunFilter {
        limit: 2,
        ..RunFilter::default()
    });
    assert_eq!(first_page, [ids[4], ids[3]]);
    let next = list(RunFilter {
        limit: 2,
        before: first_page.last().copied(),
        ..RunFilter::default()
    });
    assert_eq!(next, [ids[2], ids[1]]);
    assert_eq!(
        list(RunFilter {
            job: Some(a),
            limit: 5,
            before: Some(ids[2])
        }),
        [ids[0]]
    );
    assert_eq!(store.last_run(b).unwrap().unwrap().id, ids[3]);
}

#[test]
fn deleting_a_job_deletes_its_runs() {
    let (store, a, _, ids) = seeded();
    assert!(store.delete_job("a").unwrap());
    assert!(matches!(store.get_run(ids[0]), Err(Error::NotFound { .. })));
    assert_eq!(store.list_runs(&RunFilter::default()).unwrap().len(), 2);
    assert_eq!(store.last_run(a).unwrap(), None);
}

#[test]
fn runs_left_running_by_a_crash_become_interrupted_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let (running, done) = {
        let store = Store::open(dir.path()).unwrap();
        let (a, _) = store.upsert_job(&job("a")).unwrap();
        let (b, _) = store.upsert_job(&job("b")).unwrap();
        let done = store.start_run(a, Trigger::Schedule, false, T0).unwrap();
        store
            .finish_run(
                done,
                RunStatus::Succeeded,
                &BTreeMap::new(),
                &BTreeMap::new(),
                None,
                T0,
            )
            .unwrap();
        let running = [
            store.start_run(a, Trigger::Schedule, false, T0).unwrap(),
            store.start_run(b, Trigger::Cli, false, T0).unwrap(),
        ];
        (running, done)
        // The store is dropped here with two runs still "running", as after a crash.
    };

    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.get_run(running[0]).unwrap().status,
        RunStatus::Running,
        "open leaves them alone"
    );
    let later = T0 + Duration::hours(1);
    assert_eq!(store.mark_interrupted_runs(later).unwrap(), running);
    for id in running {
        let run = store.get_run(id).unwrap();
        assert_eq!(
            (run.status, run.finished_at),
            (RunStatus::Interrupted, Some(later))
        );
        assert!(run.error.unwrap().message.contains("stopped"));
    }
    assert_eq!(store.get_run(done).unwrap().status, RunStatus::Succeeded);
    assert!(store.mark_interrupted_runs(later).unwrap().is_empty());

    // Interrupted runs are news for the failure notifier, once.
    let news: Vec<_> = store
        .unnotified_failures()
        .unwrap()
        .into_iter()
        .map(|run| run.id)
        .collect();
    assert_eq!(news, running);
    store.mark_run_notified(running[0], later).unwrap();
    let news: Vec<_> = store
        .unnotified_failures()
        .unwrap()
        .into_iter()
        .map(|run| run.id)
        .collect();
    assert_eq!(news, [running[1]]);
    assert_eq!(store.get_run(running[0]).unwrap().notified_at, Some(later));
}
