//! Crosswalk's local state in SQLite: connections, jobs, runs and their events, links,
//! cursors and settings.
//!
//! For: everything Crosswalk remembers between runs, in one file per data folder
//! (`crosswalk.db`), guarded by a single-writer lock (`crosswalk.lock`) so the console and
//! `crosswalk serve` never write at the same time. The API is synchronous: small writes may be
//! called directly, async callers with many rows use `spawn_blocking`.
//!
//! Not for: secrets (there is no column for them; connections store only a `SecretRef`, and
//! `crosswalk-secrets` reads the OS keychain), network I/O, or deciding what a job does.
//!
//! Tested with unit tests on real database files in temp folders: every migration from empty
//! and from each earlier version, the lock within and across processes, and each table's
//! methods (`src/tests/`).

mod data_dir;
mod error;
mod migrations;
mod sql;
mod table;
#[cfg(test)]
mod tests;

pub use data_dir::{default_data_dir, resolve_data_dir, DATA_DIR_ENV, DB_FILE, LOCK_FILE};
pub use error::{Error, Result};
pub use table::connections::StoredConnection;
pub use table::jobs::StoredJob;
pub use table::link_items::{ItemKind, ItemStatus, LinkIntent, LinkItem, NewLinkItem, Side};
pub use table::links::{LinkId, LinkRow, Managed, NewLink};
pub use table::object_map::{MapChange, MapCounts, MapEntry, MapFilter, MapTarget};
pub use table::run_events::{EventAction, EventFilter, EventRow, NewEvent};
pub use table::runs::{RequestCounts, RunFilter, RunProgress, RunRow};
pub use table::Upserted;

use crosswalk_core::{Clock, SystemClock};
use data_dir::DataDirLock;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a statement waits for another connection's write before failing with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The open database; `Send + Sync`, one connection behind a mutex.
pub struct Store {
    // Field order matters: the connection closes before the lock is released.
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    data_dir: Option<PathBuf>,
    read_only: bool,
    _lock: Option<DataDirLock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data_dir", &self.data_dir)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the data folder for writing: takes the lock, then migrates.
    ///
    /// # Errors
    /// `Error::Locked` when another process has the folder open; `Error::NewerSchema` when a
    /// newer Crosswalk wrote the database.
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| Error::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let lock = DataDirLock::acquire(data_dir)?;
        let mut conn = Connection::open(data_dir.join(DB_FILE))?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(message = "SQLite refused WAL mode; continuing.", mode);
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        configure(&conn)?;
        migrations::migrate(&mut conn)?;
        tracing::info!(message = "Opened data folder.", data_dir = %data_dir.display());
        Ok(Store::new(
            conn,
            Some(data_dir.to_path_buf()),
            false,
            Some(lock),
        ))
    }

    /// Opens an existing data folder read-only, without the lock (CLI reads while the console runs).
    ///
    /// # Errors
    /// `Error::NoData` when the folder has no database; `Error::OlderSchema` when it still
    /// needs a migration (which only a writer may apply).
    pub fn open_read_only(data_dir: &Path) -> Result<Store> {
        let path = data_dir.join(DB_FILE);
        if !path.is_file() {
            return Err(Error::NoData {
                path: data_dir.to_path_buf(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)?;
        configure(&conn)?;
        conn.pragma_update(None, "query_only", true)?;
        let (found, known) = (migrations::user_version(&conn)?, migrations::latest());
        if found > known {
            return Err(Error::NewerSchema { found, known });
        }
        if found < known {
            return Err(Error::OlderSchema { found, known });
        }
        Ok(Store::new(conn, Some(data_dir.to_path_buf()), true, None))
    }

    /// A fresh, migrated database in memory, for tests.
    pub fn open_in_memory() -> Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        migrations::migrate(&mut conn)?;
        Ok(Store::new(conn, None, false, None))
    }

    /// Uses `clock` for `created_at`/`updated_at` stamps (tests pass a manual clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// The data folder this store was opened from (`None` in memory).
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// True for `open_read_only`; writes then fail with a "read-only" error.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32> {
        migrations::user_version(&self.conn())
    }

    fn new(
        conn: Connection,
        data_dir: Option<PathBuf>,
        read_only: bool,
        lock: Option<DataDirLock>,
    ) -> Store {
        Store {
            conn: Mutex::new(conn),
            clock: Arc::new(SystemClock),
            data_dir,
            read_only,
            _lock: lock,
        }
    }

    /// The connection; a panic while it was held only aborted that call's transaction.
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// "Now" as stored in `created_at`/`updated_at` columns.
    pub(crate) fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}

/// Settings every connection needs, read-only or not.
fn configure(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(())
}
