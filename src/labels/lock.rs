//! The store lock: an advisory lock (`flock`) on the store directory itself, so that writers
//! of one store take turns and readers never see a write half done.
//!
//! Every write to a store holds it exclusively for as long as the write takes: an ingest's
//! read–modify–replace of `paragraphs.jsonl`, an import's replacement of `annotations.jsonl`,
//! one decision's append. Reading a store holds it shared. Nobody holds it for a whole
//! labelling session, so two people can label one store at once: their decisions are
//! appended in turn. The lock lives on the directory's open handle and the operating system
//! drops it when the process ends, however it ends: a killed writer never leaves the store
//! locked. It knows nothing of the files it guards.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use super::StoreError;

/// How long a writer waits for another to finish before giving up with a message. Writers
/// hold the lock only while they write (an ingest of thousands of articles, a few seconds).
const WAIT: Duration = Duration::from_secs(60);

/// How often a waiting writer tries again.
const RETRY: Duration = Duration::from_millis(20);

/// The store directory's lock, held until dropped.
#[derive(Debug)]
pub(super) struct StoreLock {
    _handle: File,
}

impl StoreLock {
    /// Waits (up to a minute) for every other reader and writer of the store at `dir` to
    /// finish, then holds it alone.
    pub(super) fn exclusive(dir: &Path) -> Result<StoreLock, StoreError> {
        StoreLock::acquire(dir, WAIT, File::try_lock)
    }

    /// Waits for any writer of the store at `dir` to finish, then holds it with other readers.
    pub(super) fn shared(dir: &Path) -> Result<StoreLock, StoreError> {
        StoreLock::acquire(dir, WAIT, File::try_lock_shared)
    }

    fn acquire(
        dir: &Path,
        wait: Duration,
        try_lock: fn(&File) -> Result<(), TryLockError>,
    ) -> Result<StoreLock, StoreError> {
        let handle = File::open(dir).map_err(|source| StoreError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let started = Instant::now();
        loop {
            match try_lock(&handle) {
                Ok(()) => return Ok(StoreLock { _handle: handle }),
                Err(TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(RETRY);
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Busy {
                        dir: dir.to_path_buf(),
                        waited: wait,
                    });
                }
                // A file system without locks (some network mounts): go on unlocked, as
                // stance did before it locked at all.
                Err(TryLockError::Error(err)) if is_unsupported(&err) => {
                    return Ok(StoreLock { _handle: handle });
                }
                Err(TryLockError::Error(source)) => {
                    return Err(StoreError::Lock {
                        dir: dir.to_path_buf(),
                        source,
                    });
                }
            }
        }
    }
}

/// Whether the file system cannot lock at all (as opposed to a lock that is taken).
fn is_unsupported(err: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    if matches!(err.raw_os_error(), Some(libc::EOPNOTSUPP | libc::ENOLCK)) {
        return true;
    }
    err.kind() == std::io::ErrorKind::Unsupported
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_exclude_each_other_and_readers_share() {
        let dir = tempfile::tempdir().unwrap();
        let quick = Duration::from_millis(50);
        let exclusive = |wait| StoreLock::acquire(dir.path(), wait, File::try_lock);
        let shared = |wait| StoreLock::acquire(dir.path(), wait, File::try_lock_shared);

        let writer = exclusive(quick).unwrap();
        let err = exclusive(quick).unwrap_err();
        assert!(
            err.to_string()
                .contains("busy: another stance process is writing to it"),
            "{err}"
        );
        assert!(shared(quick).is_err());
        drop(writer);

        let reader = shared(quick).unwrap();
        let other_reader = shared(quick).unwrap();
        assert!(exclusive(quick).is_err());
        drop((reader, other_reader));
        exclusive(quick).unwrap();
    }

    #[test]
    fn a_waiting_writer_goes_ahead_when_the_other_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::exclusive(dir.path()).unwrap();
        let path = dir.path().to_owned();
        let second = std::thread::spawn(move || StoreLock::exclusive(&path).map(drop));
        std::thread::sleep(Duration::from_millis(100));
        assert!(!second.is_finished());
        drop(first);
        second.join().unwrap().unwrap();
    }
}
