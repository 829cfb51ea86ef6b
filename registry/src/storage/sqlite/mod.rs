//! The embedded metadata store: SQLite, one file in the data dir.
//!
//! WAL mode and a busy timeout let `berth-registry user add` write to the same
//! database while `serve` runs. Each trait method runs its statements on a blocking
//! thread, off the async runtime: writes on one connection, reads on a small pool of
//! their own (WAL lets readers run beside each other and beside the writer).
//! The schema is `registry/migrations/sqlite/`, its version in `PRAGMA user_version`;
//! the change log the caches read ([`changes`]) is kept up to date at every open.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

use async_trait::async_trait;
use berth_model::oci::Digest;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::migrations::{self, Migration};
use super::{
    AccessKey, BlobStep, BlobUnlink, DanglingReference, ImageDeletion, Job, JobLease,
    LifecyclePolicyRecord, LifecyclePreviewRecord, ManifestRecord, Metadata, NewManifest,
    PreviewState, PublishError, PutManifestError, RemoveBytes, RepositoryChange, RepositoryRecord,
    Result, StorageError, SweepOutcome, TagStatus, TokenRecord, Untag, UploadPart, UploadRecord,
    UserRecord,
};

pub mod blobs;
pub mod changes;
mod export;
pub mod fixtures;
pub mod identity;
pub mod images;
pub mod lifecycle;
pub mod references;
pub mod repositories;
pub mod uploads;

pub const DATABASE_FILE: &str = "berth.db";

impl From<rusqlite::Error> for StorageError {
    fn from(error: rusqlite::Error) -> Self {
        StorageError(format!("metadata store error: {error}"))
    }
}

impl From<rusqlite::Error> for PutManifestError {
    fn from(error: rusqlite::Error) -> Self {
        PutManifestError::Storage(error.into())
    }
}

/// A transaction that takes SQLite's write lock at once (`BEGIN IMMEDIATE`), waiting
/// out other writers, in this process or another, for the busy timeout. A deferred
/// transaction that reads before it writes would instead fail at once with
/// `SQLITE_BUSY` when another process (`berth-registry gc`, say) commits in between.
pub(crate) fn write_transaction(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |row| row.get(0),
    )
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    let mut statement = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = statement.query_map([], |row| row.get::<_, String>(1))?;
    for name in names {
        if name? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Applies the migrations newer than the database's `user_version`, all in one
/// write transaction that also records the version: one fsync, and a second process
/// opening the same file waits, then sees the version the first one reached. Data
/// dirs from before versioned migrations (version 0) may hold some of what a
/// migration adds: the SQL is idempotent, and the steps done here in Rust (columns,
/// rows derived from stored manifests) check first.
fn migrate(connection: &mut Connection, known: &[Migration]) -> Result<()> {
    let tx = write_transaction(connection)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if let Some(message) = migrations::too_new(found, known) {
        return Err(StorageError(message));
    }
    for migration in known.iter().filter(|m| m.version > found) {
        let had_manifest_blobs = table_exists(&tx, "manifest_blobs")?;
        let had_manifest_children = table_exists(&tx, "manifest_children")?;
        tx.execute_batch(migration.sql)
            .map_err(|e| StorageError(format!("migration {} failed: {e}", migration.name)))?;
        match migration.name {
            "0003_manifest_blobs" if !had_manifest_blobs => {
                blobs::backfill_manifest_blobs(&tx)?;
            }
            "0004_references_and_lifecycle" => {
                // When a repository last linked, mounted or confirmed a blob for a
                // push: an image deletion keeps links a push started since relies on.
                if !has_column(&tx, "repository_blobs", "linked_at")? {
                    tx.execute_batch(
                        "ALTER TABLE repository_blobs ADD COLUMN linked_at REAL NOT NULL DEFAULT 0",
                    )?;
                }
                if !had_manifest_children {
                    references::backfill_manifest_children(&tx)?;
                }
            }
            _ => {}
        }
        tx.pragma_update(None, "user_version", migration.version)?;
    }
    tx.commit()?;
    Ok(())
}

/// Connections that only read, each used by one thread at a time.
struct Readers {
    connections: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

/// Enough for the blocking threads of a busy server to rarely wait for one.
const READERS: usize = 4;

impl Readers {
    /// Runs `f` on a free connection, or waits for one.
    fn with<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let count = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..count {
            match self.connections[(start + i) % count].try_lock() {
                Ok(connection) => return f(&connection),
                Err(TryLockError::Poisoned(poisoned)) => return f(&poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let connection = self.connections[start % count]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&connection)
    }
}

fn configure(connection: &Connection) -> rusqlite::Result<()> {
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    // The statements a request runs, each parsed once per connection.
    connection.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// A handle to the metadata database; cheap to clone.
#[derive(Clone)]
pub struct SqliteMetadata {
    connection: Arc<Mutex<Connection>>,
    readers: Arc<Readers>,
    data_dir: PathBuf,
}

impl SqliteMetadata {
    pub fn open(data_dir: &Path) -> Result<SqliteMetadata> {
        let path = data_dir.join(DATABASE_FILE);
        let open_error = |source: rusqlite::Error| {
            StorageError(format!(
                "cannot open the metadata database {}: {source}",
                path.display()
            ))
        };
        let connection = Connection::open(&path).map_err(open_error)?;
        configure(&connection).map_err(open_error)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
            )
            .map_err(open_error)?;
        let mut connection = connection;
        migrate(&mut connection, migrations::SQLITE).map_err(|e| {
            StorageError(format!(
                "cannot migrate the metadata database {}: {}",
                path.display(),
                e.0
            ))
        })?;
        let tx = write_transaction(&mut connection).map_err(open_error)?;
        tx.execute_batch(&changes::schema()).map_err(open_error)?;
        tx.commit().map_err(open_error)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open(&path).map_err(open_error)?;
            configure(&reader).map_err(open_error)?;
            reader
                .execute_batch("PRAGMA query_only = ON;")
                .map_err(open_error)?;
            readers.push(Mutex::new(reader));
        }
        Ok(SqliteMetadata {
            connection: Arc::new(Mutex::new(connection)),
            readers: Arc::new(Readers {
                connections: readers,
                next: AtomicUsize::new(0),
            }),
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// Runs `f` on a reading connection on a blocking thread, off the async runtime.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || readers.with(f))
            .await
            .unwrap_or_else(|join_error| std::panic::resume_unwind(join_error.into_panic()))
    }

    /// Runs `f` inside a write transaction (see [`write_transaction`]) on a blocking
    /// thread; `f` gets a runtime handle to drive the blob step it runs under the lock.
    async fn call_locked<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Transaction<'_>, &tokio::runtime::Handle) -> std::result::Result<T, E>
            + Send
            + 'static,
    {
        let handle = tokio::runtime::Handle::current();
        self.call(move |c| {
            let tx = write_transaction(c).map_err(StorageError::from)?;
            let out = f(&tx, &handle)?;
            tx.commit().map_err(StorageError::from)?;
            Ok(out)
        })
        .await
    }

    /// Runs `f` with the connection on a blocking thread, off the async runtime.
    async fn call<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&mut Connection) -> std::result::Result<T, E> + Send + 'static,
    {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = connection
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|join_error| std::panic::resume_unwind(join_error.into_panic()))
    }
}

#[async_trait]
impl Metadata for SqliteMetadata {
    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        let key = key.to_string();
        self.read(move |c| identity::get_setting(c, &key)).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.call(move |c| identity::put_setting(c, &key, &value))
            .await
    }

    async fn delete_setting(&self, key: &str) -> Result<Option<String>> {
        let key = key.to_string();
        self.call(move |c| identity::delete_setting(c, &key)).await
    }

    async fn find_access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>> {
        let id = access_key_id.to_string();
        self.read(move |c| identity::find_access_key(c, &id)).await
    }

    async fn root_access_key(&self) -> Result<Option<AccessKey>> {
        self.read(identity::root_access_key).await
    }

    async fn replace_root_access_key(&self, key: &AccessKey) -> Result<()> {
        let key = key.clone();
        self.call(move |c| identity::replace_root_access_key(c, &key))
            .await
    }

    async fn add_user(&self, user_name: &str, key: &AccessKey) -> Result<bool> {
        let (name, key) = (user_name.to_string(), key.clone());
        self.call(move |c| identity::add_user(c, &name, &key)).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        self.read(identity::list_users).await
    }

    async fn remove_user(&self, user_name: &str) -> Result<bool> {
        let name = user_name.to_string();
        self.call(move |c| identity::remove_user(c, &name)).await
    }

    async fn replace_user_key(&self, user_name: &str, key: &AccessKey) -> Result<bool> {
        let (name, key) = (user_name.to_string(), key.clone());
        self.call(move |c| identity::replace_user_key(c, &name, &key))
            .await
    }

    async fn insert_token(&self, token_hash: &str, record: &TokenRecord, now: f64) -> Result<()> {
        let (hash, record) = (token_hash.to_string(), record.clone());
        self.call(move |c| identity::insert_token(c, &hash, &record, now))
            .await
    }

    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let hash = token_hash.to_string();
        self.read(move |c| identity::find_token(c, &hash)).await
    }

    async fn insert_repository(
        &self,
        record: &RepositoryRecord,
        tags: &[(String, String)],
    ) -> Result<Option<i64>> {
        let (record, tags) = (record.clone(), tags.to_vec());
        self.call(move |c| repositories::insert_repository(c, &record, &tags))
            .await
    }

    async fn find_repository(&self, name: &str) -> Result<Option<RepositoryRecord>> {
        let name = name.to_string();
        self.read(move |c| repositories::find_repository(c, &name))
            .await
    }

    async fn list_repositories(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RepositoryRecord>> {
        let after = after.map(str::to_string);
        self.read(move |c| repositories::list_repositories(c, after.as_deref(), limit))
            .await
    }

    async fn delete_repository(&self, id: i64, force: bool) -> Result<bool> {
        self.call(move |c| repositories::delete_repository(c, id, force))
            .await
    }

    async fn count_images(&self, id: i64) -> Result<u64> {
        self.read(move |c| repositories::count_images(c, id)).await
    }

    async fn update_repository(&self, id: i64, change: RepositoryChange) -> Result<()> {
        self.call(move |c| repositories::update_repository(c, id, &change))
            .await
    }

    async fn resource_tags(&self, id: i64) -> Result<Vec<(String, String)>> {
        self.read(move |c| repositories::resource_tags(c, id)).await
    }

    async fn put_resource_tags(&self, id: i64, tags: &[(String, String)]) -> Result<()> {
        let tags = tags.to_vec();
        self.call(move |c| repositories::put_resource_tags(c, id, &tags))
            .await
    }

    async fn remove_resource_tags(&self, id: i64, keys: &[String]) -> Result<()> {
        let keys = keys.to_vec();
        self.call(move |c| repositories::remove_resource_tags(c, id, &keys))
            .await
    }

    async fn repository_blob(&self, repository_id: i64, digest: &str) -> Result<Option<u64>> {
        let digest = digest.to_string();
        self.read(move |c| images::repository_blob(c, repository_id, &digest))
            .await
    }

    async fn publish_blob(
        &self,
        repository_id: i64,
        digest: &Digest,
        size: u64,
        now: f64,
        put_bytes: BlobStep,
    ) -> std::result::Result<(), PublishError> {
        let digest = digest.to_string();
        self.call_locked(move |tx, handle| {
            blobs::publish_blob(tx, handle, repository_id, &digest, size, now, put_bytes)
        })
        .await
    }

    async fn claim_blob(&self, repository_id: i64, digest: &str, now: f64) -> Result<Option<u64>> {
        let digest = digest.to_string();
        self.call(move |c| images::claim_blob(c, repository_id, &digest, now))
            .await
    }

    async fn mount_blob(&self, to: i64, from: i64, digest: &str) -> Result<Option<u64>> {
        let digest = digest.to_string();
        let now = crate::clock::now_epoch_seconds();
        self.call(move |c| images::mount_blob(c, to, from, &digest, now))
            .await
    }

    async fn unlink_blob(&self, repository_id: i64, digest: &str) -> Result<BlobUnlink> {
        let digest = digest.to_string();
        self.call(move |c| references::unlink_blob(c, repository_id, &digest))
            .await
    }

    async fn find_manifest(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<Option<ManifestRecord>> {
        let digest = digest.to_string();
        self.read(move |c| images::find_manifest(c, repository_id, &digest))
            .await
    }

    async fn resolve_tag(&self, repository_id: i64, tag: &str) -> Result<Option<String>> {
        let tag = tag.to_string();
        self.read(move |c| images::resolve_tag(c, repository_id, &tag))
            .await
    }

    async fn put_manifest(
        &self,
        repository_id: i64,
        manifest: NewManifest,
    ) -> std::result::Result<(), PutManifestError> {
        self.call(move |c| images::put_manifest(c, repository_id, &manifest))
            .await
    }

    async fn manifests_size(&self, repository_id: i64, digests: &[String]) -> Result<u64> {
        let digests = digests.to_vec();
        self.read(move |c| images::manifests_size(c, repository_id, &digests))
            .await
    }

    async fn delete_image(&self, repository_id: i64, digest: &str) -> Result<ImageDeletion> {
        let digest = digest.to_string();
        self.call(move |c| references::delete_image(c, repository_id, &digest))
            .await
    }

    async fn untag(&self, repository_id: i64, tag: &str, delete_untagged: bool) -> Result<Untag> {
        let tag = tag.to_string();
        self.call(move |c| references::untag(c, repository_id, &tag, delete_untagged))
            .await
    }

    async fn blob_records(&self) -> Result<Vec<(String, u64)>> {
        self.read(references::blob_records).await
    }

    async fn dangling_references(&self) -> Result<Vec<DanglingReference>> {
        self.read(references::dangling_references).await
    }

    async fn list_tags(
        &self,
        repository_id: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>> {
        let after = after.map(str::to_string);
        self.read(move |c| images::list_tags(c, repository_id, after.as_deref(), limit))
            .await
    }

    async fn tags_of(&self, repository_id: i64, digest: &str) -> Result<Vec<String>> {
        let digest = digest.to_string();
        self.read(move |c| images::tags_of(c, repository_id, &digest))
            .await
    }

    async fn record_pull(&self, repository_id: i64, digest: &str, now: f64) -> Result<()> {
        let digest = digest.to_string();
        self.call(move |c| images::record_pull(c, repository_id, &digest, now))
            .await
    }

    async fn list_images(
        &self,
        repository_id: i64,
        after: Option<&str>,
        limit: usize,
        status: TagStatus,
    ) -> Result<Vec<(ManifestRecord, Vec<String>)>> {
        let after = after.map(str::to_string);
        self.read(move |c| images::list_images(c, repository_id, after.as_deref(), limit, status))
            .await
    }

    async fn referrers(&self, repository_id: i64, digest: &str) -> Result<Vec<ManifestRecord>> {
        let digest = digest.to_string();
        self.read(move |c| images::referrers(c, repository_id, &digest))
            .await
    }

    async fn lifecycle_policy(&self, repository_id: i64) -> Result<Option<LifecyclePolicyRecord>> {
        self.call(move |c| lifecycle::policy(c, repository_id))
            .await
    }

    async fn put_lifecycle_policy(&self, repository_id: i64, text: &str) -> Result<()> {
        let text = text.to_string();
        self.call(move |c| lifecycle::put_policy(c, repository_id, &text))
            .await
    }

    async fn delete_lifecycle_policy(
        &self,
        repository_id: i64,
    ) -> Result<Option<LifecyclePolicyRecord>> {
        self.call(move |c| lifecycle::delete_policy(c, repository_id))
            .await
    }

    async fn record_lifecycle_evaluation(
        &self,
        repository_id: i64,
        text: &str,
        at: f64,
    ) -> Result<()> {
        let text = text.to_string();
        self.call(move |c| lifecycle::record_evaluation(c, repository_id, &text, at))
            .await
    }

    async fn lifecycle_policies(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(RepositoryRecord, LifecyclePolicyRecord)>> {
        let after = after.map(str::to_string);
        self.call(move |c| lifecycle::policies(c, after.as_deref(), limit))
            .await
    }

    async fn start_lifecycle_preview(
        &self,
        repository_id: i64,
        policy_text: &str,
        now: f64,
        running_since: f64,
    ) -> Result<bool> {
        let text = policy_text.to_string();
        self.call(move |c| lifecycle::start_preview(c, repository_id, &text, now, running_since))
            .await
    }

    async fn finish_lifecycle_preview(
        &self,
        repository_id: i64,
        started_at: f64,
        state: PreviewState,
    ) -> Result<()> {
        self.call(move |c| lifecycle::finish_preview(c, repository_id, started_at, &state))
            .await
    }

    async fn lifecycle_preview(
        &self,
        repository_id: i64,
    ) -> Result<Option<LifecyclePreviewRecord>> {
        self.call(move |c| lifecycle::preview(c, repository_id))
            .await
    }

    async fn create_upload(&self, id: &str, repository_id: i64, now: f64) -> Result<()> {
        let id = id.to_string();
        self.call(move |c| uploads::create_upload(c, &id, repository_id, now))
            .await
    }

    async fn find_upload(&self, id: &str) -> Result<Option<i64>> {
        let id = id.to_string();
        self.read(move |c| uploads::find_upload(c, &id)).await
    }

    async fn delete_upload(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.call(move |c| uploads::delete_upload(c, &id)).await
    }

    async fn upload_parts(&self, id: &str) -> Result<Option<Vec<UploadPart>>> {
        let id = id.to_string();
        self.call(move |c| uploads::upload_parts(c, &id)).await
    }

    async fn add_upload_part(&self, id: &str, part: &UploadPart) -> Result<bool> {
        let (id, part) = (id.to_string(), part.clone());
        self.call(move |c| uploads::add_upload_part(c, &id, &part))
            .await
    }

    async fn uploads_started_before(&self, before: f64) -> Result<Vec<UploadRecord>> {
        self.read(move |c| blobs::uploads_started_before(c, before))
            .await
    }

    async fn unreferenced_blobs(
        &self,
        before: f64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Digest, u64)>> {
        let after = after.map(str::to_string);
        self.read(move |c| blobs::unreferenced_blobs(c, before, after.as_deref(), limit))
            .await
    }

    async fn unrecorded_blobs(&self, digests: &[Digest]) -> Result<Vec<Digest>> {
        let digests = digests.to_vec();
        self.read(move |c| blobs::unrecorded_blobs(c, &digests))
            .await
    }

    async fn sweep_blobs(
        &self,
        digests: &[Digest],
        before: f64,
        remove_bytes: RemoveBytes,
    ) -> Result<SweepOutcome> {
        let digests = digests.to_vec();
        self.call_locked(move |tx, handle| {
            blobs::sweep_blobs(tx, handle, &digests, before, &remove_bytes)
        })
        .await
    }

    /// An exclusive `flock` on `DATA/<job>.lock`: held by the open file, so it ends
    /// with the process however that ends.
    async fn lock_job(&self, job: Job, wait: bool) -> Result<Option<JobLease>> {
        let path = self.data_dir.join(format!("{}.lock", job.name()));
        let locked = tokio::task::spawn_blocking(move || -> std::io::Result<Option<JobLease>> {
            let mut options = std::fs::OpenOptions::new();
            options.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let file = options.open(&path)?;
            if wait {
                file.lock()?;
            } else {
                match file.try_lock() {
                    Ok(()) => {}
                    Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => return Err(e),
                }
            }
            Ok(Some(Box::new(file)))
        })
        .await
        .unwrap_or_else(|join_error| std::panic::resume_unwind(join_error.into_panic()));
        locked.map_err(|e| StorageError(format!("cannot lock the {} job: {e}", job.name())))
    }
}

#[cfg(test)]
mod tests;
