//! The store's errors, and what an admin should do about each.

use crosswalk_core::{Code, UserFacing};
use std::path::PathBuf;

/// Shorthand for the store's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a store call failed; callers match on the variant (the CLI maps it to an exit code).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process holds the data folder's single-writer lock.
    #[error("{}", locked_text(path, *pid))]
    Locked { path: PathBuf, pid: Option<u32> },
    /// A named (or numbered) row does not exist.
    #[error("{what} \"{name}\" does not exist")]
    NotFound { what: &'static str, name: String },
    /// A row with the same identity is already stored.
    #[error("{what} \"{name}\" already exists")]
    AlreadyExists { what: &'static str, name: String },
    /// The job already has a run in progress (at most one per job).
    #[error("job {job_id} already has run {run_id} in progress")]
    RunInProgress {
        job_id: crosswalk_core::JobId,
        run_id: crosswalk_core::RunId,
    },
    /// The database was written by a newer Crosswalk with migrations we do not know.
    #[error("the database was created by a newer Crosswalk (schema {found}, this version knows up to {known})")]
    NewerSchema { found: u32, known: u32 },
    /// A read-only open found a database that still needs migrations we may not apply.
    #[error("the database has schema {found} and needs upgrading to {known}, which a read-only open cannot do")]
    OlderSchema { found: u32, known: u32 },
    /// A read-only open found no database in the data folder.
    #[error("No Crosswalk data in {} yet", path.display())]
    NoData { path: PathBuf },
    /// Neither `--data-dir`, `CROSSWALK_DATA_DIR` nor the platform's data folder is known.
    #[error("cannot tell where to keep Crosswalk's data on this system")]
    NoDataDir,
    /// SQLite failed.
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    /// A JSON column could not be written or read.
    #[error("stored JSON could not be processed")]
    Json(#[from] serde_json::Error),
    /// A file in the data folder could not be created, opened or written.
    #[error("cannot use {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn locked_head(path: &std::path::Path, pid: Option<u32>) -> String {
    let who = match pid {
        Some(pid) => format!("Another Crosswalk process (pid {pid})"),
        None => "Another Crosswalk process".to_owned(),
    };
    format!("{who} is using the data folder {}", path.display())
}

const LOCKED_FIX: &str =
    "Close the console or stop `crosswalk serve`, or use --data-dir for a separate folder";

fn locked_text(path: &std::path::Path, pid: Option<u32>) -> String {
    format!("{}. {LOCKED_FIX}", locked_head(path, pid))
}

impl Error {
    /// The error as an admin sees it: a code for the UI and exit status, a sentence and a fix.
    pub fn user_facing(&self) -> UserFacing {
        match self {
            Error::Locked { path, pid } => {
                UserFacing::new(Code::Conflict, format!("{}.", locked_head(path, *pid)))
                    .with_fix(format!("{LOCKED_FIX}."))
            }
            Error::NotFound { what, name } => {
                let list = match *what {
                    "connection" => "crosswalk connection list",
                    "job" => "crosswalk jobs",
                    "run" => "crosswalk runs",
                    _ => "crosswalk --help",
                };
                UserFacing::new(Code::NotFound, format!("There is no {what} \"{name}\"."))
                    .with_fix(format!("Check the name; `{list}` shows what exists."))
            }
            Error::AlreadyExists { what, name } => {
                UserFacing::new(Code::Conflict, format!("The {what} \"{name}\" already exists."))
            }
            Error::RunInProgress { job_id, run_id } => UserFacing::new(
                Code::Conflict,
                format!("Job {job_id} is already running (run {run_id})."),
            )
            .with_fix("Wait for that run to finish or cancel it, then start the job again."),
            Error::NewerSchema { found, known } => UserFacing::new(
                Code::Unknown,
                format!("The data folder was created by a newer Crosswalk (schema {found}; this version knows {known})."),
            )
            .with_fix("Install the newer Crosswalk again, or use --data-dir for a separate folder."),
            Error::OlderSchema { found, known } => UserFacing::new(
                Code::Conflict,
                format!("The data folder needs an upgrade (schema {found} to {known}) that a read-only command cannot do."),
            )
            .with_fix("Start the console (or any command that changes data) once to upgrade it, then retry."),
            Error::NoData { path } => UserFacing::new(
                Code::NotFound,
                format!("No Crosswalk data in {} yet.", path.display()),
            )
            .with_fix("Start the console or add a connection first, or pass --data-dir with the folder you use."),
            Error::NoDataDir => UserFacing::new(
                Code::Validation,
                "Cannot tell where to keep Crosswalk's data on this system (no user data folder).",
            )
            .with_fix("Pass --data-dir or set CROSSWALK_DATA_DIR."),
            Error::Sqlite(error) => sqlite_user_facing(error),
            Error::Json(error) => UserFacing::new(
                Code::Unknown,
                format!("Stored data could not be read or written as JSON ({error})."),
            ),
            Error::Io { path, source } => {
                let fix = match source.kind() {
                    std::io::ErrorKind::PermissionDenied => {
                        "Check that your account may write to that folder, or use --data-dir for another one."
                    }
                    _ => "Check the folder exists and the disk is not full, or use --data-dir for another one.",
                };
                UserFacing::new(Code::Unknown, format!("Cannot use {} ({source}).", path.display()))
                    .with_fix(fix)
            }
        }
    }
}

fn sqlite_user_facing(error: &rusqlite::Error) -> UserFacing {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => UserFacing::new(
            Code::Conflict,
            "The database is busy with another Crosswalk process.",
        )
        .with_fix("Retry in a moment."),
        Some(ErrorCode::ReadOnly) => UserFacing::new(
            Code::Conflict,
            "The data folder was opened read-only, so nothing can be changed.",
        )
        .with_fix("Close the console (or stop `crosswalk serve`) and retry."),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => UserFacing::new(
            Code::Unknown,
            format!("The database file is damaged ({error})."),
        )
        .with_fix("Restore crosswalk.db from a backup, or move it away to start again."),
        Some(ErrorCode::DiskFull) => {
            UserFacing::new(Code::Unknown, "The disk holding the data folder is full.")
                .with_fix("Free some space and retry.")
        }
        _ => UserFacing::new(
            Code::Unknown,
            format!("The local database failed ({error})."),
        ),
    }
}

/// The extended result code of a constraint violation (`ffi::SQLITE_CONSTRAINT_UNIQUE`...).
pub(crate) fn constraint(error: &rusqlite::Error) -> Option<i32> {
    match error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Some(failure.extended_code)
        }
        _ => None,
    }
}
