//! The schema: built from empty, upgraded from every earlier version, never edited in place.

use super::helpers::{entra, memory_store};
use crate::migrations::{latest, migrate_to, user_version, MIGRATIONS};
use crate::{Error, RunFilter, Store, DB_FILE};
use crosswalk_core::RunStatus;
use rusqlite::Connection;

const TABLES: [&str; 10] = [
    "connections",
    "cursors",
    "jobs",
    "link_intents",
    "link_items",
    "links",
    "object_map",
    "run_events",
    "runs",
    "settings",
];

fn tables(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn migrating_from_empty_creates_every_table() {
    let (store, _) = memory_store();
    assert_eq!(store.schema_version().unwrap(), latest());
    let conn = store.conn();
    assert_eq!(tables(&conn), TABLES);
    let problems: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(problems, 0);
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

/// Rows written with the columns migration 1 created; later migrations must keep them readable.
fn insert_v1_fixture(conn: &Connection) {
    let config = serde_json::to_string(&entra("entra-prod")).unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO connections (id, name, kind, settings, created_at, updated_at)
             VALUES (1, 'entra-prod', 'entra', '{config}', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
         INSERT INTO jobs (id, name, kind, schedule, enabled, settings, created_at, updated_at)
             VALUES (1, 'nightly', 'entra-sync', '\"daily\"', 1, '{{}}', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
         INSERT INTO runs (id, job_id, trigger, status, dry_run, started_at, finished_at, counts)
             VALUES (1, 1, 'schedule', 'failed', 0, '2026-01-02T00:00:00.000000Z', '2026-01-02T00:05:00.000000Z',
                     '{{\"user\":{{\"created\":1,\"updated\":0,\"unchanged\":0,\"retired\":0,\"deleted\":0,\"skipped\":0,\"failed\":2}}}}');
         INSERT INTO run_events (run_id, at, level, action, message)
             VALUES (1, '2026-01-02T00:01:00.000000Z', 'error', 'failed', 'Graph said no');
         INSERT INTO cursors (job_id, name, value, updated_at) VALUES (1, 'users', 'delta-1', '2026-01-02T00:05:00.000000Z');
         INSERT INTO settings (key, value) VALUES ('theme', '\"dark\"');"
    ))
    .unwrap();
}

/// Adding migration N+1 automatically adds "upgrade from N" here.
#[test]
fn every_earlier_schema_upgrades_to_the_latest() {
    for from in 0..latest() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            migrate_to(&mut conn, from).unwrap();
            assert_eq!(user_version(&conn).unwrap(), from);
            if from >= 1 {
                insert_v1_fixture(&conn);
            }
        }

        let store = Store::open(dir.path())
            .unwrap_or_else(|error| panic!("upgrade from {from}: {error:?}"));
        assert_eq!(
            store.schema_version().unwrap(),
            latest(),
            "upgrade from {from}"
        );
        assert_eq!(tables(&store.conn()), TABLES, "upgrade from {from}");
        let runs = store.list_runs(&RunFilter::default()).unwrap();
        if from == 0 {
            assert!(runs.is_empty());
            continue;
        }
        assert_eq!(
            store.get_connection("entra-prod").unwrap().config,
            entra("entra-prod")
        );
        let job = store.get_job("nightly").unwrap();
        assert_eq!(runs.len(), 1, "upgrade from {from}");
        assert_eq!(
            (runs[0].status, runs[0].job_name.as_str()),
            (RunStatus::Failed, "nightly")
        );
        assert_eq!(runs[0].totals().failed, 2);
        assert_eq!(
            store.count_events(runs[0].id, &Default::default()).unwrap(),
            1
        );
        assert_eq!(
            store.get_cursor(job.id, "users").unwrap().as_deref(),
            Some("delta-1")
        );
        assert_eq!(
            store.get_setting::<String>("theme").unwrap().as_deref(),
            Some("dark")
        );
        // Migration 2: failures from before the upgrade are not announced as news.
        if from < 2 {
            assert!(
                store.unnotified_failures().unwrap().is_empty(),
                "upgrade from {from}"
            );
            assert!(runs[0].notified_at.is_some(), "upgrade from {from}");
        }
        // Migration 3: the object map starts empty and belongs to existing jobs.
        assert!(store.map_counts(job.id).unwrap().is_empty());
    }
}

#[test]
fn a_database_from_a_newer_crosswalk_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let newer = latest() + 1;
    Connection::open(dir.path().join(DB_FILE))
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();

    let error = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(error, Error::NewerSchema { found, known } if found == newer && known == latest())
    );
    assert!(error.to_string().contains("newer Crosswalk"));
    let error = Store::open_read_only(dir.path()).unwrap_err();
    assert!(matches!(error, Error::NewerSchema { .. }));
    // Refusing must not touch the version.
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    assert_eq!(user_version(&conn).unwrap(), newer);
}

#[test]
fn read_only_open_refuses_a_schema_that_needs_upgrading() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    migrate_to(&mut conn, 1).unwrap();
    drop(conn);
    let error = Store::open_read_only(dir.path()).unwrap_err();
    assert!(matches!(error, Error::OlderSchema { found: 1, known } if known == latest()));
}

/// FNV-1a, enough to notice an edit (`\r` skipped so a CRLF checkout gives the same value).
fn fingerprint(text: &str) -> u64 {
    text.bytes()
        .filter(|byte| *byte != b'\r')
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Fingerprints of shipped migrations. Append the new one's here; never change an old one.
const SHIPPED: &[u64] = &[
    0x3b48_a61d_30fd_bcc9,
    0x0c39_7531_cbd5_8c84,
    0xda09_ad2c_3bc8_ca21,
    0xe229_4279_a393_926d,
    0x0f76_c29d_6dde_e45c,
];

#[test]
fn shipped_migrations_are_never_edited() {
    let actual: Vec<u64> = MIGRATIONS.iter().map(|sql| fingerprint(sql)).collect();
    assert_eq!(
        actual.len(),
        SHIPPED.len(),
        "add the new migration's fingerprint to SHIPPED: {actual:#x?}"
    );
    for (index, (actual, shipped)) in actual.iter().zip(SHIPPED).enumerate() {
        assert_eq!(
            actual,
            shipped,
            "migration {} was edited after shipping; add a new migration instead",
            index + 1
        );
    }
}
