//! The schema, as an append-only list of migrations checked against `PRAGMA user_version`.
//!
//! Never edit or reorder a migration that has shipped: add a new one at the end. Each runs in
//! its own transaction together with the `user_version` bump, so a crash leaves the database at
//! the previous version. `PRAGMA foreign_keys` cannot change inside a transaction; a future
//! migration that rebuilds a table must not rely on switching it off.

use crate::error::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};

/// Every migration, in order; migration `i` moves `user_version` from `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
CREATE TABLE connections (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    -- The whole ConnectionConfig as JSON. It holds no secret, only where the secret lives.
    settings    TEXT NOT NULL CHECK (json_valid(settings)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    schedule    TEXT NOT NULL CHECK (json_valid(schedule)),
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    settings    TEXT NOT NULL CHECK (json_valid(settings)),
    -- NULL until the scheduler computes it (new job, or schedule changed).
    next_due_at TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX jobs_due ON jobs (next_due_at) WHERE enabled = 1 AND next_due_at IS NOT NULL;

CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    job_id           INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    trigger          TEXT NOT NULL,
    status           TEXT NOT NULL,
    dry_run          INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    -- {object kind: RunCounts}
    counts           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(counts)),
    -- {remote: {requests, throttled, retries}}
    requests         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(requests)),
    -- UserFacing, when the run failed as a whole.
    error            TEXT CHECK (error IS NULL OR json_valid(error)),
    progress_done    INTEGER NOT NULL DEFAULT 0,
    progress_total   INTEGER,
    progress_message TEXT
) STRICT;
CREATE INDEX runs_by_job ON runs (job_id, id);
-- At most one run in progress per job, even if two callers race.
CREATE UNIQUE INDEX runs_one_running_per_job ON runs (job_id) WHERE status = 'running';

CREATE TABLE run_events (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    level        TEXT NOT NULL,
    object_kind  TEXT,
    object_id    TEXT,
    object_label TEXT,
    action       TEXT NOT NULL,
    message      TEXT NOT NULL,
    before       TEXT CHECK (before IS NULL OR json_valid(before)),
    after        TEXT CHECK (after IS NULL OR json_valid(after)),
    fix          TEXT
) STRICT;
CREATE INDEX run_events_by_run ON run_events (run_id, id);

CREATE TABLE links (
    id              INTEGER PRIMARY KEY,
    job_id          INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    jira_issue_id   TEXT NOT NULL,
    jira_key        TEXT NOT NULL,
    dataverse_table TEXT NOT NULL,
    dataverse_id    TEXT NOT NULL,
    managed         TEXT NOT NULL CHECK (managed IN ('auto', 'manual')),
    baseline_at     TEXT,
    state           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state)),
    created_at      TEXT NOT NULL,
    UNIQUE (job_id, jira_issue_id),
    UNIQUE (job_id, dataverse_table, dataverse_id)
) STRICT;

CREATE TABLE cursors (
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL CHECK (json_valid(value))
) STRICT, WITHOUT ROWID;
"#,
    // 2: failure notifications remember which runs they announced; events filter by level.
    r#"
ALTER TABLE runs ADD COLUMN notified_at TEXT;
-- Runs that finished before this version are not news any more.
UPDATE runs SET notified_at = finished_at WHERE status <> 'running';
CREATE INDEX runs_to_notify ON runs (id)
    WHERE notified_at IS NULL AND status IN ('failed', 'completed_with_errors', 'interrupted');
CREATE INDEX run_events_by_level ON run_events (run_id, level, id);
"#,
    // 3: Entra Sync's map from remote objects to the Assets objects written for them.
    r#"
CREATE TABLE object_map (
    id            INTEGER PRIMARY KEY,
    job_id        INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    remote_id     TEXT NOT NULL,
    -- NULL while a create is journaled but not confirmed: the next run finds it by AQL.
    target_id     TEXT,
    label         TEXT NOT NULL,
    -- Hash of `doc` as last written; '' makes the next run write the object again.
    hash          TEXT NOT NULL,
    doc           TEXT NOT NULL CHECK (json_valid(doc)),
    -- 1 when references were written without a target that did not exist yet.
    unresolved    INTEGER NOT NULL DEFAULT 0 CHECK (unresolved IN (0, 1)),
    -- Memberships: the member's remote id, so a leaver's memberships are found.
    member_id     TEXT,
    -- The last run whose full round saw the object (full rounds retire the unseen).
    seen_run      INTEGER,
    -- Gone from the source but held back by the retirement guard.
    missing_since TEXT,
    removed_at    TEXT,
    updated_at    TEXT NOT NULL,
    UNIQUE (job_id, kind, remote_id)
) STRICT;
CREATE INDEX object_map_members ON object_map (job_id, member_id) WHERE member_id IS NOT NULL;
CREATE INDEX object_map_unresolved ON object_map (job_id) WHERE unresolved = 1;
CREATE INDEX object_map_open ON object_map (job_id) WHERE target_id IS NULL;
CREATE INDEX object_map_missing ON object_map (job_id) WHERE missing_since IS NOT NULL;
"#,
    // 4: the Dynamics connector's copies of comments and attachments, and journaled issue creates.
    r#"
CREATE TABLE link_items (
    id           INTEGER PRIMARY KEY,
    link_id      INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('comment', 'attachment')),
    -- The side the item was written on; the connector wrote its copy on the other side.
    origin       TEXT NOT NULL CHECK (origin IN ('jira', 'dataverse')),
    -- NULL while a copy to Jira is journaled but not confirmed (the next run settles it).
    jira_id      TEXT,
    -- Copies to Dataverse get a GUID chosen before the write, so this is never NULL for them.
    dataverse_id TEXT,
    -- Hash of the text as last synchronized (an edit on the origin side changes it).
    hash         TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('pending', 'synced', 'skipped', 'deleted')),
    -- Why an item was skipped (shown once as an event, not again every poll).
    reason       TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (link_id, kind, jira_id),
    UNIQUE (link_id, kind, dataverse_id)
) STRICT;
CREATE INDEX link_items_pending ON link_items (link_id) WHERE status = 'pending';

CREATE TABLE link_intents (
    job_id          INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    dataverse_table TEXT NOT NULL,
    dataverse_id    TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    PRIMARY KEY (job_id, dataverse_table, dataverse_id)
) STRICT, WITHOUT ROWID;
"#,
    // 5: the object map's partial indexes carry the (kind, remote_id) order the engine reads them
    // in; keyed on job_id alone, SQLite preferred the unique index and scanned every entry of
    // the job (1.5 M rows at the large benchmark size) on every run to find the few open,
    // unresolved or held-back ones.
    r#"
DROP INDEX object_map_unresolved;
DROP INDEX object_map_open;
DROP INDEX object_map_missing;
CREATE INDEX object_map_unresolved ON object_map (job_id, kind, remote_id) WHERE unresolved = 1;
CREATE INDEX object_map_open ON object_map (job_id, kind, remote_id) WHERE target_id IS NULL;
CREATE INDEX object_map_missing ON object_map (job_id, kind, remote_id) WHERE missing_since IS NOT NULL;
"#,
];

/// The schema version this build writes.
pub(crate) fn latest() -> u32 {
    u32::try_from(MIGRATIONS.len()).expect("fewer than 2^32 migrations")
}

/// Reads `PRAGMA user_version`.
pub(crate) fn user_version(conn: &Connection) -> Result<u32> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    // A negative or huge user_version was not written by us; treat it as "newer than known".
    Ok(u32::try_from(version).unwrap_or(u32::MAX))
}

/// Applies every migration the database does not have yet.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, latest())
}

/// Applies migrations up to `target` (tests use it to build older schemas).
pub(crate) fn migrate_to(conn: &mut Connection, target: u32) -> Result<()> {
    let known = latest();
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = user_version(&tx)?;
        if found > known {
            return Err(Error::NewerSchema { found, known });
        }
        if found >= target {
            return Ok(());
        }
        let index = usize::try_from(found).expect("u32 fits in usize");
        tx.execute_batch(MIGRATIONS[index])?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
        tracing::info!(message = "Applied database migration.", version = found + 1);
    }
}
