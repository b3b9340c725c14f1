//! Invariant: secrets never reach the database. `ConnectionConfig` has no field for one; this
//! test stores everything a connection can carry next to a secret and scans the raw files.

use super::helpers::{entra, jira};
use crate::{NewEvent, Store, DB_FILE};
use crosswalk_core::{EventLevel, Secret, SecretRef, Trigger};

const SENTINEL: &str = "sentinel-secret-7f3a9c01-do-not-store";

#[test]
fn secrets_never_reach_the_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let secret = Secret::new(SENTINEL);
    {
        let store = Store::open(dir.path()).unwrap();
        let mut jira = jira("jira-prod", "jira-prod-token");
        store.upsert_connection(&jira).unwrap();
        jira.secret = Some(SecretRef::Env("JIRA_TOKEN".into()));
        store.upsert_connection(&jira).unwrap();
        store.upsert_connection(&entra("entra-prod")).unwrap();
        let (job_id, _) = store.upsert_job(&super::helpers::job("nightly")).unwrap();
        let run_id = store
            .start_run(job_id, Trigger::Cli, false, super::helpers::T0)
            .unwrap();
        // What the engine might log about a secret: only its Debug form.
        let note = format!("Using {secret:?} for jira-prod");
        store
            .append_events(
                run_id,
                &[NewEvent::new(
                    super::helpers::T0,
                    EventLevel::Info,
                    crate::EventAction::Info,
                    note,
                )],
            )
            .unwrap();
        store
            .set_setting("last_secret_debug", &format!("{secret:?}"))
            .unwrap();
        assert_eq!(
            secret.expose(),
            SENTINEL,
            "the secret was in memory the whole time"
        );
    }

    let mut scanned = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes
                .windows(SENTINEL.len())
                .any(|window| window == SENTINEL.as_bytes()),
            "the secret leaked into {}",
            path.display()
        );
        scanned += 1;
    }
    let db = std::fs::read(dir.path().join(DB_FILE)).unwrap();
    let contains = |needle: &str| {
        db.windows(needle.len())
            .any(|window| window == needle.as_bytes())
    };
    assert!(
        contains("jira-prod") && contains("JIRA_TOKEN"),
        "the scan reads the real data"
    );
    assert!(scanned >= 2, "db and lock file scanned");
}
