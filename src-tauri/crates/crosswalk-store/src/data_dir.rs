//! Where the data lives, and the lock that keeps a second process from writing to it.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// File name of the SQLite database inside the data folder.
pub const DB_FILE: &str = "crosswalk.db";
/// File name of the single-writer lock inside the data folder (holds the owner's pid).
pub const LOCK_FILE: &str = "crosswalk.lock";
/// Environment variable that overrides the default data folder.
pub const DATA_DIR_ENV: &str = "CROSSWALK_DATA_DIR";

/// The platform's per-user data folder plus `crosswalk` (e.g. `~/.local/share/crosswalk`).
pub fn default_data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join("crosswalk"))
}

/// The data folder to use: `--data-dir` if given, else `CROSSWALK_DATA_DIR`, else the default.
pub fn resolve_data_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    resolve_with(flag, std::env::var_os(DATA_DIR_ENV), default_data_dir())
}

fn resolve_with(
    flag: Option<PathBuf>,
    env: Option<std::ffi::OsString>,
    default: Option<PathBuf>,
) -> Result<PathBuf> {
    flag.filter(|path| !path.as_os_str().is_empty())
        .or_else(|| env.filter(|value| !value.is_empty()).map(PathBuf::from))
        .or(default)
        .ok_or(Error::NoDataDir)
}

/// An exclusive lock on `crosswalk.lock`, held for as long as this value lives.
///
/// Uses `File::try_lock` (`flock` on Unix, `LockFileEx` on Windows): the OS drops the lock when
/// the process dies, so a crash never leaves a stale lock behind.
#[derive(Debug)]
pub(crate) struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock or reports who holds it.
    pub(crate) fn acquire(data_dir: &Path) -> Result<DataDirLock> {
        let path = data_dir.join(LOCK_FILE);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        // Not truncated on open: the file holds the current owner's pid until we own the lock.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    path: data_dir.to_path_buf(),
                    pid: read_pid(&mut file),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(DataDirLock { _file: file })
    }
}

/// The pid the lock holder wrote; `None` if it cannot be read (Windows locks block reads).
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_env_beats_default() {
        let flag = || Some(PathBuf::from("/flag"));
        let env = || Some(std::ffi::OsString::from("/env"));
        let default = || Some(PathBuf::from("/default"));
        let check = |flag, env, default, expect: &str| {
            assert_eq!(
                resolve_with(flag, env, default).unwrap(),
                PathBuf::from(expect)
            );
        };
        check(flag(), env(), default(), "/flag");
        check(None, env(), default(), "/env");
        check(None, None, default(), "/default");
        check(Some(PathBuf::new()), Some("".into()), default(), "/default");
        assert!(matches!(
            resolve_with(None, None, None),
            Err(Error::NoDataDir)
        ));
    }
}
