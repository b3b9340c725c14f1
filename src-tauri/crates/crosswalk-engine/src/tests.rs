//! Engine and scheduler behaviour on a real SQLite file, with test job kinds and a manual clock.

use crate::context::{EventAction, RunContext, RunEvent, RunOutcome};
use crate::kind::{JobKind, RunFuture};
use crate::{Engine, Registry, RunRequest, Scheduler, Services};
use crosswalk_core::clock::ManualClock;
use crosswalk_core::{Code, JobConfig, RunStatus, Schedule, Trigger, UserFacing, ValidationError};
use crosswalk_store::{RunFilter, Store};
use std::sync::Arc;
use std::time::Duration;
use time::macros::datetime;

/// A job kind whose behaviour is chosen by its settings: `{"mode": "ok" | "fail" | "panic" | "wait"}`.
struct Scripted;

impl JobKind for Scripted {
    fn kind(&self) -> &'static str {
        "scripted"
    }

    fn label(&self) -> &'static str {
        "Scripted test job"
    }

    fn validate(&self, _settings: &serde_json::Value) -> Result<(), Vec<ValidationError>> {
        Ok(())
    }

    fn run(&self, ctx: RunContext) -> RunFuture {
        Box::pin(async move {
            let mode = ctx.job.settings["mode"].as_str().unwrap_or("ok").to_owned();
            match mode.as_str() {
                "fail" => Err(
                    UserFacing::new(Code::AuthExpired, "The client secret has expired.")
                        .with_fix("Create a new secret.")
                        .into(),
                ),
                "panic" => panic!("scripted panic"),
                "wait" => {
                    ctx.progress(1, 10, "waiting");
                    ctx.cancelled().await;
                    Ok(RunOutcome::default())
                }
                _ => {
                    for idx in 0..1200u64 {
                        ctx.progress(idx, 1200, "working");
                        let action = if idx % 3 == 0 {
                            EventAction::Created
                        } else {
                            EventAction::Updated
                        };
                        ctx.event(RunEvent::object(
                            "user",
                            &idx.to_string(),
                            &format!("User {idx}"),
                            action,
                            "ok",
                        ));
                    }
                    ctx.event(
                        RunEvent::object(
                            "user",
                            "x",
                            "Broken user",
                            EventAction::Failed,
                            "rejected",
                        )
                        .with_fix("fix it"),
                    );
                    ctx.count_unchanged("group", 7);
                    Ok(RunOutcome::default())
                }
            }
        })
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    engine: Engine,
    clock: Arc<ManualClock>,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    harness_on(dir, store)
}

fn harness_on(dir: tempfile::TempDir, store: Store) -> Harness {
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-21 12:00 UTC)));
    let secrets = crosswalk_secrets::Secrets::new(crosswalk_secrets::Keychain::with_service(
        "crosswalk-engine-tests",
    ));
    let services = Services::new(Arc::new(store), Arc::new(secrets)).with_clock(clock.clone());
    let mut registry = Registry::new();
    registry.register(Scripted);
    Harness {
        _dir: dir,
        engine: Engine::new(services, registry).unwrap(),
        clock,
    }
}

fn add_job(engine: &Engine, name: &str, mode: &str, schedule: Schedule) {
    let job = JobConfig {
        name: name.into(),
        kind: "scripted".into(),
        schedule,
        enabled: true,
        settings: serde_json::json!({ "mode": mode }),
    };
    engine.services().store.upsert_job(&job).unwrap();
}

fn run(_engine: &Engine, name: &str) -> RunRequest {
    RunRequest {
        job_name: name.into(),
        trigger: Trigger::SyncNow,
        dry_run: false,
    }
}

#[tokio::test]
async fn a_run_records_counts_events_progress_and_status() {
    let h = harness();
    add_job(&h.engine, "sync", "ok", Schedule::Off);
    let (run_id, status) = h.engine.run_to_end(run(&h.engine, "sync")).await.unwrap();
    assert_eq!(status, RunStatus::CompletedWithErrors);
    let store = &h.engine.services().store;
    let row = store.get_run(run_id).unwrap();
    assert_eq!(row.status, RunStatus::CompletedWithErrors);
    assert_eq!(row.trigger, Trigger::SyncNow);
    assert_eq!(
        (
            row.counts["user"].created,
            row.counts["user"].updated,
            row.counts["user"].failed
        ),
        (400, 800, 1)
    );
    assert_eq!(row.counts["group"].unchanged, 7);
    assert_eq!(
        (row.progress.done, row.progress.total),
        (1199, Some(1200)),
        "the last progress is kept even when throttled"
    );
    let all = crosswalk_store::EventFilter {
        limit: Some(10_000),
        ..Default::default()
    };
    assert_eq!(
        store.count_events(run_id, &all).unwrap(),
        1201,
        "every event persisted across batches"
    );
    let failures = crosswalk_store::EventFilter {
        action: Some(EventAction::Failed),
        ..Default::default()
    };
    let failed = store.list_events(run_id, &failures).unwrap();
    assert_eq!(failed[0].fix.as_deref(), Some("fix it"));
}

#[tokio::test]
async fn a_failing_run_keeps_the_admin_facing_error_and_fix() {
    let h = harness();
    add_job(&h.engine, "bad", "fail", Schedule::Off);
    let (run_id, status) = h.engine.run_to_end(run(&h.engine, "bad")).await.unwrap();
    assert_eq!(status, RunStatus::Failed);
    let row = h.engine.services().store.get_run(run_id).unwrap();
    let error = row.error.unwrap();
    assert_eq!(error.code, Code::AuthExpired);
    assert_eq!(error.fix.as_deref(), Some("Create a new secret."));
}

#[tokio::test]
async fn a_panicking_run_is_recorded_as_failed_and_the_engine_goes_on() {
    let h = harness();
    add_job(&h.engine, "boom", "panic", Schedule::Off);
    add_job(&h.engine, "fine", "ok", Schedule::Off);
    let (run_id, status) = h.engine.run_to_end(run(&h.engine, "boom")).await.unwrap();
    assert_eq!(status, RunStatus::Failed);
    let error = h
        .engine
        .services()
        .store
        .get_run(run_id)
        .unwrap()
        .error
        .unwrap();
    assert!(
        error.message.contains("scripted panic"),
        "{}",
        error.message
    );
    // The same job can run again, and other jobs are unaffected.
    assert_eq!(
        h.engine.run_to_end(run(&h.engine, "boom")).await.unwrap().1,
        RunStatus::Failed
    );
    assert_eq!(
        h.engine.run_to_end(run(&h.engine, "fine")).await.unwrap().1,
        RunStatus::CompletedWithErrors
    );
}

#[tokio::test]
async fn at_most_one_run_per_job_and_cancel_stops_it() {
    let h = harness();
    add_job(&h.engine, "slow", "wait", Schedule::Off);
    let started = h.engine.start(run(&h.engine, "slow")).unwrap();
    let second = h
        .engine
        .start(run(&h.engine, "slow"))
        .err()
        .expect("second run refused");
    assert_eq!(crate::engine::user_facing_of(&second).code, Code::Conflict);
    assert!(h.engine.is_running(started.job_id));
    assert!(h.engine.cancel(started.run_id));
    assert_eq!(started.finished.await.unwrap(), RunStatus::Cancelled);
    assert!(!h.engine.is_running(started.job_id));
    assert_eq!(
        h.engine
            .services()
            .store
            .get_run(started.run_id)
            .unwrap()
            .status,
        RunStatus::Cancelled
    );
}

#[tokio::test]
async fn unknown_jobs_and_kinds_are_explained() {
    let h = harness();
    let err = h.engine.start(run(&h.engine, "nope")).err().unwrap();
    assert_eq!(crate::engine::user_facing_of(&err).code, Code::NotFound);
    let job = JobConfig {
        name: "odd".into(),
        kind: "martian".into(),
        schedule: Schedule::Off,
        enabled: true,
        settings: serde_json::json!({}),
    };
    h.engine.services().store.upsert_job(&job).unwrap();
    let err = crate::engine::user_facing_of(&h.engine.start(run(&h.engine, "odd")).err().unwrap());
    assert_eq!(err.code, Code::Validation);
    assert!(err.fix.unwrap().contains("scripted"));
}

#[tokio::test]
async fn runs_of_a_dead_process_become_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let job = JobConfig {
        name: "j".into(),
        kind: "scripted".into(),
        schedule: Schedule::Off,
        enabled: true,
        settings: serde_json::json!({}),
    };
    let (job_id, _) = store.upsert_job(&job).unwrap();
    let orphan = store
        .start_run(
            job_id,
            Trigger::Schedule,
            false,
            datetime!(2026-11-21 11:00 UTC),
        )
        .unwrap();
    drop(store); // the process "dies" with the run still marked running
    let path = dir.path().to_owned();
    let h = harness_on(dir, Store::open(&path).unwrap());
    let row = h.engine.services().store.get_run(orphan).unwrap();
    assert_eq!(row.status, RunStatus::Interrupted);
    // And the job can run again.
    assert_eq!(
        h.engine.run_to_end(run(&h.engine, "j")).await.unwrap().1,
        RunStatus::CompletedWithErrors
    );
}

async fn wait_for_runs(engine: &Engine, n: usize) -> Vec<crosswalk_store::RunRow> {
    for _ in 0..200 {
        let runs = engine
            .services()
            .store
            .list_runs(&RunFilter {
                job: None,
                limit: 100,
                before: None,
            })
            .unwrap();
        if runs.len() >= n && runs.iter().all(|r| r.status.is_final()) {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("expected {n} finished runs");
}

#[tokio::test]
async fn the_scheduler_runs_due_jobs_catches_up_missed_ones_and_honours_pause() {
    let h = harness();
    add_job(&h.engine, "hourly", "ok", Schedule::Hourly);
    add_job(&h.engine, "manual", "ok", Schedule::Off);
    let handle = Scheduler::spawn(h.engine.clone());
    // A newly scheduled job is first due one interval from now; nothing runs yet.
    handle.config_changed().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let store = &h.engine.services().store;
    let due = store
        .find_job("hourly")
        .unwrap()
        .unwrap()
        .next_due_at
        .unwrap();
    assert_eq!(due, datetime!(2026-11-21 13:00 UTC));
    assert!(store
        .list_runs(&RunFilter {
            job: None,
            limit: 10,
            before: None
        })
        .unwrap()
        .is_empty());

    // The machine "sleeps" for three hours: one catch-up run, marked missed, then due an hour on.
    h.clock.advance(time::Duration::hours(3));
    handle.config_changed().await;
    let runs = wait_for_runs(&h.engine, 1).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger, Trigger::Missed);
    assert_eq!(
        store
            .find_job("hourly")
            .unwrap()
            .unwrap()
            .next_due_at
            .unwrap(),
        datetime!(2026-11-21 16:00 UTC)
    );

    // Paused: a due job does not run, but "Sync now" does.
    handle.pause(true).await.unwrap();
    h.clock.advance(time::Duration::minutes(61));
    handle.config_changed().await;
    handle.run_now("manual", Trigger::SyncNow).await.unwrap();
    let runs = wait_for_runs(&h.engine, 2).await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].job_name, "manual");

    // Resumed just after the due time: a normal scheduled run.
    handle.pause(false).await.unwrap();
    let runs = wait_for_runs(&h.engine, 3).await;
    assert_eq!(runs[0].job_name, "hourly");
    assert_eq!(runs[0].trigger, Trigger::Schedule);
    handle.shutdown().await;
}
