//! `Spool`: a file on its way from one remote to another, kept in an anonymous temporary file so
//! that even a file of a remote's largest allowed size is never held in memory whole.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Bytes read from a spool at a time while it is sent as a request body.
pub(crate) const READ_CHUNK: usize = 256 * 1024;

/// A file in transit, in an anonymous temporary file that the operating system removes when the
/// last clone is dropped, or when the process ends, even by a crash. Clones share one file.
/// Reads and writes run on the blocking pool, never on the async threads.
#[derive(Clone)]
pub struct Spool {
    shared: Arc<Shared>,
}

struct Shared {
    file: Mutex<File>,
    /// Bytes written so far (kept outside the lock, so `len` never waits for a disk write).
    len: AtomicU64,
}

impl Spool {
    /// An empty spool in the system's temporary folder.
    ///
    /// # Errors
    /// The temporary folder cannot be written (full disk, permissions).
    pub fn new() -> io::Result<Spool> {
        Ok(Spool {
            shared: Arc::new(Shared {
                file: Mutex::new(tempfile::tempfile()?),
                len: AtomicU64::new(0),
            }),
        })
    }

    /// Bytes in the spool.
    pub fn len(&self) -> u64 {
        self.shared.len.load(Ordering::Acquire)
    }

    /// Whether nothing was written (or it was cleared).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `bytes` at the end.
    ///
    /// # Errors
    /// The temporary file cannot be written (full disk).
    pub async fn append(&self, bytes: Vec<u8>) -> io::Result<()> {
        self.blocking(move |shared, file| {
            let end = shared.len.load(Ordering::Acquire);
            file.seek(SeekFrom::Start(end))?;
            file.write_all(&bytes)?;
            shared
                .len
                .store(end + bytes.len() as u64, Ordering::Release);
            Ok(())
        })
        .await
    }

    /// Up to `max` bytes from `offset`: fewer at the end, none from the end on.
    ///
    /// # Errors
    /// The temporary file cannot be read.
    pub async fn read_at(&self, offset: u64, max: usize) -> io::Result<Vec<u8>> {
        self.blocking(move |shared, file| {
            let left = shared.len.load(Ordering::Acquire).saturating_sub(offset);
            let n = usize::try_from(left).map_or(max, |left| left.min(max));
            let mut buffer = vec![0; n];
            if n > 0 {
                file.seek(SeekFrom::Start(offset))?;
                file.read_exact(&mut buffer)?;
            }
            Ok(buffer)
        })
        .await
    }

    /// Empties the spool, for a download that starts over.
    ///
    /// # Errors
    /// The temporary file cannot be truncated.
    pub async fn clear(&self) -> io::Result<()> {
        self.blocking(|shared, file| {
            file.set_len(0)?;
            shared.len.store(0, Ordering::Release);
            Ok(())
        })
        .await
    }

    /// The whole content in memory: for files small enough to hold, and for tests.
    ///
    /// # Errors
    /// The temporary file cannot be read.
    pub async fn to_vec(&self) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.len()).map_err(io::Error::other)?;
        self.read_at(0, len).await
    }

    async fn blocking<T, F>(&self, work: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Shared, &mut File) -> io::Result<T> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            // Holding the lock for the whole operation keeps a seek and its read or write together.
            let mut file = shared.file.lock().unwrap_or_else(PoisonError::into_inner);
            work(&shared, &mut file)
        })
        .await
        .map_err(|_| io::Error::other("the temporary-file task was cancelled"))?
    }
}

impl std::fmt::Debug for Spool {
    // The content may be personal data; its size says enough.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool").field("len", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_reads_clears_and_shares_one_file_between_clones() {
        let spool = Spool::new().unwrap();
        assert!(spool.is_empty());
        spool.append(b"hello ".to_vec()).await.unwrap();
        let clone = spool.clone();
        clone.append(b"world".to_vec()).await.unwrap();
        assert_eq!(spool.len(), 11);
        assert_eq!(spool.read_at(6, 100).await.unwrap(), b"world");
        assert_eq!(spool.read_at(2, 3).await.unwrap(), b"llo");
        assert!(spool.read_at(11, 5).await.unwrap().is_empty());
        assert!(spool.read_at(50, 5).await.unwrap().is_empty());
        assert_eq!(clone.to_vec().await.unwrap(), b"hello world");
        assert_eq!(format!("{spool:?}"), "Spool { len: 11 }");

        spool.clear().await.unwrap();
        assert!(clone.is_empty());
        clone.append(b"again".to_vec()).await.unwrap();
        assert_eq!(spool.to_vec().await.unwrap(), b"again");
    }
}
