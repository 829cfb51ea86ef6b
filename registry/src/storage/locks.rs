//! Job locks: one process at a time runs a periodic job (garbage collection,
//! lifecycle, upload expiry) or a start-up step. PostgreSQL holds them as advisory
//! locks (see `postgres::locks`); the embedded store as file locks in the data dir,
//! which also keep a `serve` and a command-line run on the same data dir apart.

use std::path::{Path, PathBuf};

use super::{Result, StorageError};

/// Something that holds a lock until it is dropped.
pub trait HeldLock: Send + Sync {
    /// False once the lock is known to be lost (its database connection died): a
    /// job should stop at its next step rather than run beside another leader.
    fn is_held(&self) -> bool;
}

/// A held job lock; dropping it releases the lock.
pub struct JobLock {
    job: String,
    held: Box<dyn HeldLock>,
}

impl JobLock {
    pub fn new(job: &str, held: Box<dyn HeldLock>) -> JobLock {
        JobLock {
            job: job.to_string(),
            held,
        }
    }

    pub fn job(&self) -> &str {
        &self.job
    }

    pub fn is_held(&self) -> bool {
        self.held.is_held()
    }
}

impl std::fmt::Debug for JobLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobLock")
            .field("job", &self.job)
            .field("held", &self.is_held())
            .finish()
    }
}

/// Job names become file names and lock keys: keep them to a safe alphabet.
pub fn validate_job_name(job: &str) -> Result<()> {
    let ok = (1..=64).contains(&job.len())
        && job
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StorageError(format!(
            "job name '{job}' must be 1 to 64 letters, digits, '-' or '_'"
        )))
    }
}

/// An exclusive `flock` on `DATA/locks/<job>.lock`, released when the file closes
/// (also when the process dies).
struct FileLock {
    _file: std::fs::File,
}

impl HeldLock for FileLock {
    fn is_held(&self) -> bool {
        true
    }
}

fn lock_path(dir: &Path, job: &str) -> Result<PathBuf> {
    validate_job_name(job)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| StorageError(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir.join(format!("{job}.lock")))
}

fn open_lock_file(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| StorageError(format!("cannot open {}: {e}", path.display())))
}

/// Takes `job`'s file lock in `dir` unless someone holds it.
pub async fn try_lock_file(dir: &Path, job: &str) -> Result<Option<JobLock>> {
    let path = lock_path(dir, job)?;
    let job = job.to_string();
    tokio::task::spawn_blocking(move || {
        let file = open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(JobLock::new(&job, Box::new(FileLock { _file: file })))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(StorageError(format!("cannot lock {}: {e}", path.display())))
            }
        }
    })
    .await
    .map_err(|e| StorageError(format!("lock task failed: {e}")))?
}

/// Waits for `job`'s file lock in `dir`.
pub async fn lock_file(dir: &Path, job: &str) -> Result<JobLock> {
    let path = lock_path(dir, job)?;
    let job = job.to_string();
    tokio::task::spawn_blocking(move || {
        let file = open_lock_file(&path)?;
        file.lock()
            .map_err(|e| StorageError(format!("cannot lock {}: {e}", path.display())))?;
        Ok(JobLock::new(&job, Box::new(FileLock { _file: file })))
    })
    .await
    .map_err(|e| StorageError(format!("lock task failed: {e}")))?
}
