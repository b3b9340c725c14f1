//! Diagnostics logging: stderr for the CLI, a size-capped file in the data folder for the console
//! and `serve`. Secrets never reach either: they are `Secret` values with no Display, and the
//! HTTP layer logs route templates, never URLs with queries or headers.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing_subscriber::EnvFilter;

/// A log file is rotated to `crosswalk.log.1` when it grows past this.
const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;

fn filter(verbose: u8, default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(match verbose {
            0 => default,
            1 => "info",
            _ => "debug,hyper=info,reqwest=info,rustls=info",
        })
    })
}

/// Sends diagnostics to stderr (warnings and errors unless -v).
pub fn init_stderr_logging(verbose: u8) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(verbose, "warn"))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Keeps the log file open; logging stops when it is dropped.
pub struct LogGuard {
    _file: Arc<Mutex<RotatingFile>>,
}

struct RotatingFile {
    path: PathBuf,
    file: File,
    written: u64,
}

impl RotatingFile {
    fn open(path: PathBuf) -> std::io::Result<RotatingFile> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let written = file.metadata()?.len();
        Ok(RotatingFile {
            path,
            file,
            written,
        })
    }

    fn write(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if self.written + buf.len() as u64 > MAX_LOG_BYTES {
            let _ = std::fs::rename(&self.path, self.path.with_extension("log.1"));
            *self = RotatingFile::open(self.path.clone())?;
        }
        self.file.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(())
    }
}

#[derive(Clone)]
struct FileWriter(Arc<Mutex<RotatingFile>>);

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .write(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .file
            .flush()
    }
}

/// Sends diagnostics (info and up) to `<log_dir>/crosswalk.log`, rotated at 5 MB.
pub fn init_file_logging(log_dir: &Path, verbose: u8) -> std::io::Result<LogGuard> {
    std::fs::create_dir_all(log_dir)?;
    let file = Arc::new(Mutex::new(RotatingFile::open(
        log_dir.join("crosswalk.log"),
    )?));
    let writer = FileWriter(Arc::clone(&file));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(verbose, "info"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init();
    Ok(LogGuard { _file: file })
}
