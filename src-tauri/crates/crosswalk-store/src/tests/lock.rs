//! The single-writer lock on the data folder, in this process and from another one.

use super::helpers::job;
use crate::{Error, Store, DB_FILE, LOCK_FILE};
use crosswalk_core::Code;
use std::path::Path;
use std::process::Command;

/// Set in the child process spawned by `a_second_process_is_refused_and_told_our_pid`.
const PROBE_ENV: &str = "CROSSWALK_STORE_LOCK_PROBE";

fn expect_locked(result: crate::Result<Store>, dir: &Path) -> Option<u32> {
    match result {
        Err(Error::Locked { path, pid }) => {
            assert_eq!(path, dir);
            pid
        }
        other => panic!("expected Error::Locked, got {other:?}"),
    }
}

#[test]
fn a_second_open_in_the_same_process_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path()).unwrap();
    let pid = expect_locked(Store::open(dir.path()), dir.path());
    assert_eq!(pid, Some(std::process::id()));
    assert!(dir.path().join(DB_FILE).is_file());

    drop(first);
    let again = Store::open(dir.path()).expect("the lock is released on drop");
    assert_eq!(again.schema_version().unwrap(), crate::migrations::latest());
}

#[test]
fn the_lock_message_names_the_pid_folder_and_the_way_out() {
    let error = Error::Locked {
        path: "/data/crosswalk".into(),
        pid: Some(4242),
    };
    assert_eq!(
        error.to_string(),
        "Another Crosswalk process (pid 4242) is using the data folder /data/crosswalk. \
         Close the console or stop `crosswalk serve`, or use --data-dir for a separate folder"
    );
    let facing = error.user_facing();
    assert_eq!(facing.code, Code::Conflict);
    assert!(facing.fix.unwrap().contains("--data-dir"));
    let error = Error::Locked {
        path: "/data/crosswalk".into(),
        pid: None,
    };
    assert!(error
        .to_string()
        .starts_with("Another Crosswalk process is using the data folder /data/crosswalk."));
}

#[test]
fn a_second_process_is_refused_and_told_our_pid() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Store::open(dir.path()).unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tests::lock::lock_probe_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE_ENV, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = format!("PROBE locked pid={}", std::process::id());
    assert!(stdout.contains(&expected), "child said: {stdout}");
}

/// Not a test on its own: the child half of `a_second_process_is_refused_and_told_our_pid`.
#[test]
fn lock_probe_child() {
    let Some(dir) = std::env::var_os(PROBE_ENV) else {
        return;
    };
    match Store::open(Path::new(&dir)) {
        Err(Error::Locked { pid, .. }) => println!("PROBE locked pid={}", pid.unwrap_or(0)),
        Ok(_) => println!("PROBE opened"),
        Err(error) => println!("PROBE error {error}"),
    }
}

#[test]
fn read_only_open_works_while_the_writer_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(dir.path()).unwrap();
    writer.upsert_job(&job("nightly")).unwrap();

    let reader = Store::open_read_only(dir.path()).unwrap();
    assert!(reader.is_read_only());
    assert_eq!(reader.get_job("nightly").unwrap().config.name, "nightly");

    // It sees later commits too (WAL readers get a fresh snapshot per statement).
    writer.upsert_job(&job("hourly")).unwrap();
    assert_eq!(reader.list_jobs().unwrap().len(), 2);

    let error = reader.upsert_job(&job("sneaky")).unwrap_err();
    assert!(matches!(error, Error::Sqlite(_)), "{error:?}");
    assert_eq!(error.user_facing().code, Code::Conflict);
    assert!(error.user_facing().message.contains("read-only"));
    assert!(dir.path().join(LOCK_FILE).is_file());
}

#[test]
fn read_only_open_works_after_the_writer_closed() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path())
        .unwrap()
        .upsert_job(&job("nightly"))
        .unwrap();
    let reader = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(reader.list_jobs().unwrap().len(), 1);
    // A read-only open takes no lock, so a writer can still come in.
    Store::open(dir.path()).unwrap();
}

#[test]
fn read_only_open_of_an_empty_folder_says_there_is_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let error = Store::open_read_only(dir.path()).unwrap_err();
    assert!(matches!(&error, Error::NoData { path } if path == dir.path()));
    assert_eq!(
        error.to_string(),
        format!("No Crosswalk data in {} yet", dir.path().display())
    );
    assert_eq!(error.user_facing().code, Code::NotFound);
    assert!(
        !dir.path().join(DB_FILE).exists(),
        "a read-only open must not create the database"
    );
}

#[test]
fn open_creates_missing_folders() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/crosswalk");
    Store::open(&nested).unwrap();
    assert!(nested.join(DB_FILE).is_file());
    let pid = std::fs::read_to_string(nested.join(LOCK_FILE)).unwrap();
    assert_eq!(pid.trim(), std::process::id().to_string());
}

#[test]
fn a_store_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<Error>();
}
