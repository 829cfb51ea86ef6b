//! Metadata in PostgreSQL, shared by every registry process of a deployment.
//!
//! A pool of connections (deadpool), statements prepared once per connection, and
//! the same tables and transactions as the embedded SQLite store. The schema is
//! `registry/migrations/postgres/`, applied at start under an advisory lock so that
//! processes starting together migrate once. This store caches nothing; a server
//! puts [`crate::storage::cache::CachedMetadata`] in front of it, which asks
//! [`changes::PostgresChanges`] before each request what any process changed, so a
//! tag moved through one process is what the next request to any other process
//! sees. Changes are also announced on the `berth_changes` channel (migration 0002).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use berth_model::oci::Digest;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use super::{
    AccessKey, BlobStep, BlobUnlink, DanglingReference, ImageDeletion, Job, JobLease,
    LifecyclePolicyRecord, LifecyclePreviewRecord, ManifestRecord, Metadata, NewManifest,
    PreviewState, PublishError, PutManifestError, RemoveBytes, RepositoryChange, RepositoryRecord,
    Result, StorageError, SweepOutcome, TagStatus, TokenRecord, Untag, UploadPart, UploadRecord,
    UserRecord,
};

mod blobs;
pub mod changes;
mod identity;
mod images;
mod import;
mod lifecycle;
mod locks;
mod migrate;
mod references;
mod repositories;
mod uploads;

/// Connections per process: enough for the registry's concurrency on a few cores,
/// few enough that dozens of processes fit under PostgreSQL's default 100.
pub const DEFAULT_POOL_SIZE: usize = 16;

impl From<tokio_postgres::Error> for StorageError {
    fn from(error: tokio_postgres::Error) -> Self {
        // The server's own message says what is wrong; the Display of a DbError is
        // only "db error".
        match error.as_db_error() {
            Some(db) => StorageError(format!("metadata store error: {}", db.message())),
            None => StorageError(format!("metadata store error: {error}")),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StorageError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StorageError(format!("metadata store unavailable: {other}")),
        }
    }
}

impl From<tokio_postgres::Error> for PutManifestError {
    fn from(error: tokio_postgres::Error) -> Self {
        PutManifestError::Storage(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for PutManifestError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        PutManifestError::Storage(error.into())
    }
}

/// A handle to the shared metadata database; cheap to clone.
#[derive(Clone)]
pub struct PostgresMetadata {
    pool: Pool,
    /// For connections outside the pool: job locks live as long as their session.
    config: tokio_postgres::Config,
}

/// Hides the password of a `postgres://` URL or a `key=value` connection string,
/// for messages.
pub fn redact(url: &str) -> String {
    if !url.contains("://") {
        return url
            .split_whitespace()
            .map(|pair| match pair.split_once('=') {
                Some(("password", _)) => "password=***",
                _ => pair,
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl PostgresMetadata {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or any
    /// libpq connection string) and brings the schema up to date.
    pub async fn connect(url: &str, pool_size: usize) -> Result<PostgresMetadata> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StorageError(format!("--database {}: {e}", redact(url))))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("berth-registry");
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .wait_timeout(Some(Duration::from_secs(30)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StorageError(format!("cannot create the connection pool: {e}")))?;
        let metadata = PostgresMetadata { pool, config };
        migrate::migrate(&metadata).await.map_err(|e| {
            StorageError(format!(
                "cannot prepare the database {}: {}",
                redact(url),
                e.0
            ))
        })?;
        Ok(metadata)
    }

    /// What any process changes in this database, for a cache in front of it.
    pub fn changes(&self) -> changes::PostgresChanges {
        changes::PostgresChanges::new(self.config.clone())
    }

    async fn client(&self) -> Result<deadpool_postgres::Client> {
        Ok(self.pool.get().await?)
    }

    /// A connection of its own, outside the pool.
    async fn dedicated_connection(&self) -> Result<tokio_postgres::Client> {
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }
}

#[async_trait]
impl Metadata for PostgresMetadata {
    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        identity::get_setting(&self.client().await?, key).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        identity::put_setting(&self.client().await?, key, value).await
    }

    async fn delete_setting(&self, key: &str) -> Result<Option<String>> {
        identity::delete_setting(&self.client().await?, key).await
    }

    async fn find_access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>> {
        identity::find_access_key(&self.client().await?, access_key_id).await
    }

    async fn root_access_key(&self) -> Result<Option<AccessKey>> {
        identity::root_access_key(&self.client().await?).await
    }

    async fn replace_root_access_key(&self, key: &AccessKey) -> Result<()> {
        identity::replace_root_access_key(&mut self.client().await?, key).await
    }

    async fn add_user(&self, user_name: &str, key: &AccessKey) -> Result<bool> {
        identity::add_user(&mut self.client().await?, user_name, key).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        identity::list_users(&self.client().await?).await
    }

    async fn remove_user(&self, user_name: &str) -> Result<bool> {
        identity::remove_user(&mut self.client().await?, user_name).await
    }

    async fn replace_user_key(&self, user_name: &str, key: &AccessKey) -> Result<bool> {
        identity::replace_user_key(&mut self.client().await?, user_name, key).await
    }

    async fn insert_token(&self, token_hash: &str, record: &TokenRecord, now: f64) -> Result<()> {
        identity::insert_token(&self.client().await?, token_hash, record, now).await
    }

    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        identity::find_token(&self.client().await?, token_hash).await
    }

    async fn insert_repository(
        &self,
        record: &RepositoryRecord,
        tags: &[(String, String)],
    ) -> Result<Option<i64>> {
        repositories::insert_repository(&mut self.client().await?, record, tags).await
    }

    async fn find_repository(&self, name: &str) -> Result<Option<RepositoryRecord>> {
        repositories::find_repository(&self.client().await?, name).await
    }

    async fn list_repositories(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RepositoryRecord>> {
        repositories::list_repositories(&self.client().await?, after, limit).await
    }

    async fn delete_repository(&self, id: i64, force: bool) -> Result<bool> {
        repositories::delete_repository(&mut self.client().await?, id, force).await
    }

    async fn count_images(&self, id: i64) -> Result<u64> {
        repositories::count_images(&self.client().await?, id).await
    }

    async fn update_repository(&self, id: i64, change: RepositoryChange) -> Result<()> {
        repositories::update_repository(&mut self.client().await?, id, &change).await
    }

    async fn resource_tags(&self, id: i64) -> Result<Vec<(String, String)>> {
        repositories::resource_tags(&self.client().await?, id).await
    }

    async fn put_resource_tags(&self, id: i64, tags: &[(String, String)]) -> Result<()> {
        repositories::put_resource_tags(&mut self.client().await?, id, tags).await
    }

    async fn remove_resource_tags(&self, id: i64, keys: &[String]) -> Result<()> {
        repositories::remove_resource_tags(&self.client().await?, id, keys).await
    }

    async fn repository_blob(&self, repository_id: i64, digest: &str) -> Result<Option<u64>> {
        images::repository_blob(&self.client().await?, repository_id, digest).await
    }

    async fn publish_blob(
        &self,
        repository_id: i64,
        digest: &Digest,
        size: u64,
        now: f64,
        put_bytes: BlobStep,
    ) -> std::result::Result<(), PublishError> {
        let mut client = self.client().await?;
        blobs::publish_blob(&mut client, repository_id, digest, size, now, put_bytes).await
    }

    async fn mount_blob(&self, to: i64, from: i64, digest: &str) -> Result<Option<u64>> {
        let now = crate::clock::now_epoch_seconds();
        images::mount_blob(&self.client().await?, to, from, digest, now).await
    }

    async fn unlink_blob(&self, repository_id: i64, digest: &str) -> Result<BlobUnlink> {
        references::unlink_blob(&mut self.client().await?, repository_id, digest).await
    }

    async fn claim_blob(&self, repository_id: i64, digest: &str, now: f64) -> Result<Option<u64>> {
        images::claim_blob(&self.client().await?, repository_id, digest, now).await
    }

    async fn find_manifest(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<Option<ManifestRecord>> {
        images::find_manifest(&self.client().await?, repository_id, digest).await
    }

    async fn resolve_tag(&self, repository_id: i64, tag: &str) -> Result<Option<String>> {
        images::resolve_tag(&self.client().await?, repository_id, tag).await
    }

    async fn put_manifest(
        &self,
        repository_id: i64,
        manifest: NewManifest,
    ) -> std::result::Result<(), PutManifestError> {
        images::put_manifest(&mut self.client().await?, repository_id, &manifest).await
    }

    async fn manifests_size(&self, repository_id: i64, digests: &[String]) -> Result<u64> {
        images::manifests_size(&self.client().await?, repository_id, digests).await
    }

    async fn delete_image(&self, repository_id: i64, digest: &str) -> Result<ImageDeletion> {
        references::delete_image(&mut self.client().await?, repository_id, digest).await
    }

    async fn untag(&self, repository_id: i64, tag: &str, delete_untagged: bool) -> Result<Untag> {
        references::untag(
            &mut self.client().await?,
            repository_id,
            tag,
            delete_untagged,
        )
        .await
    }

    async fn blob_records(&self) -> Result<Vec<(String, u64)>> {
        references::blob_records(&self.client().await?).await
    }

    async fn dangling_references(&self) -> Result<Vec<DanglingReference>> {
        references::dangling_references(&self.client().await?).await
    }

    async fn list_tags(
        &self,
        repository_id: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>> {
        images::list_tags(&self.client().await?, repository_id, after, limit).await
    }

    async fn tags_of(&self, repository_id: i64, digest: &str) -> Result<Vec<String>> {
        images::tags_of(&self.client().await?, repository_id, digest).await
    }

    async fn record_pull(&self, repository_id: i64, digest: &str, now: f64) -> Result<()> {
        images::record_pull(&self.client().await?, repository_id, digest, now).await
    }

    async fn list_images(
        &self,
        repository_id: i64,
        after: Option<&str>,
        limit: usize,
        status: TagStatus,
    ) -> Result<Vec<(ManifestRecord, Vec<String>)>> {
        images::list_images(&self.client().await?, repository_id, after, limit, status).await
    }

    async fn referrers(&self, repository_id: i64, digest: &str) -> Result<Vec<ManifestRecord>> {
        images::referrers(&self.client().await?, repository_id, digest).await
    }

    async fn lifecycle_policy(&self, repository_id: i64) -> Result<Option<LifecyclePolicyRecord>> {
        lifecycle::policy(&self.client().await?, repository_id).await
    }

    async fn put_lifecycle_policy(&self, repository_id: i64, text: &str) -> Result<()> {
        lifecycle::put_policy(&self.client().await?, repository_id, text).await
    }

    async fn delete_lifecycle_policy(
        &self,
        repository_id: i64,
    ) -> Result<Option<LifecyclePolicyRecord>> {
        lifecycle::delete_policy(&self.client().await?, repository_id).await
    }

    async fn record_lifecycle_evaluation(
        &self,
        repository_id: i64,
        text: &str,
        at: f64,
    ) -> Result<()> {
        lifecycle::record_evaluation(&self.client().await?, repository_id, text, at).await
    }

    async fn lifecycle_policies(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(RepositoryRecord, LifecyclePolicyRecord)>> {
        lifecycle::policies(&self.client().await?, after, limit).await
    }

    async fn start_lifecycle_preview(
        &self,
        repository_id: i64,
        policy_text: &str,
        now: f64,
        running_since: f64,
    ) -> Result<bool> {
        lifecycle::start_preview(
            &mut self.client().await?,
            repository_id,
            policy_text,
            now,
            running_since,
        )
        .await
    }

    async fn finish_lifecycle_preview(
        &self,
        repository_id: i64,
        started_at: f64,
        state: PreviewState,
    ) -> Result<()> {
        lifecycle::finish_preview(&self.client().await?, repository_id, started_at, &state).await
    }

    async fn lifecycle_preview(
        &self,
        repository_id: i64,
    ) -> Result<Option<LifecyclePreviewRecord>> {
        lifecycle::preview(&self.client().await?, repository_id).await
    }

    async fn create_upload(&self, id: &str, repository_id: i64, now: f64) -> Result<()> {
        uploads::create_upload(&self.client().await?, id, repository_id, now).await
    }

    async fn find_upload(&self, id: &str) -> Result<Option<i64>> {
        uploads::find_upload(&self.client().await?, id).await
    }

    async fn delete_upload(&self, id: &str) -> Result<bool> {
        uploads::delete_upload(&self.client().await?, id).await
    }

    async fn upload_parts(&self, id: &str) -> Result<Option<Vec<UploadPart>>> {
        uploads::upload_parts(&self.client().await?, id).await
    }

    async fn add_upload_part(&self, id: &str, part: &UploadPart) -> Result<bool> {
        uploads::add_upload_part(&mut self.client().await?, id, part).await
    }

    async fn uploads_started_before(&self, before: f64) -> Result<Vec<UploadRecord>> {
        blobs::uploads_started_before(&self.client().await?, before).await
    }

    async fn unreferenced_blobs(
        &self,
        before: f64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Digest, u64)>> {
        blobs::unreferenced_blobs(&self.client().await?, before, after, limit).await
    }

    async fn unrecorded_blobs(&self, digests: &[Digest]) -> Result<Vec<Digest>> {
        blobs::unrecorded_blobs(&self.client().await?, digests).await
    }

    async fn sweep_blobs(
        &self,
        digests: &[Digest],
        before: f64,
        remove_bytes: RemoveBytes,
    ) -> Result<SweepOutcome> {
        blobs::sweep_blobs(&mut self.client().await?, digests, before, &remove_bytes).await
    }

    /// A session advisory lock on a connection of its own (outside the pool), held
    /// as long as the lease.
    async fn lock_job(&self, job: Job, wait: bool) -> Result<Option<JobLease>> {
        locks::lock(self.dedicated_connection().await?, job, wait).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://berth:s3cret@db:5432/berth"),
            "postgres://berth:***@db:5432/berth"
        );
        assert_eq!(
            redact("postgres://berth@db/berth"),
            "postgres://berth@db/berth"
        );
        assert_eq!(
            redact("host=db user=berth password=s3cret"),
            "host=db user=berth password=***"
        );
    }
}
