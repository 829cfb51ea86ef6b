//! A cache in front of any [`Metadata`] store, for what every request reads: registry
//! tokens, access keys, the registry's settings (the registry policy among them),
//! repositories (with their policies), tags and manifests.
//!
//! Nothing is served stale, even when another process wrote: every cached read first
//! asks the store's [`ChangeFeed`] what was committed since the last read (by anyone)
//! and drops those entries. The feed must answer that cheaply when nothing changed —
//! SQLite's reads shared memory ([`super::sqlite::changes`]); PostgreSQL's is one
//! small query ([`super::postgres::changes`]), since `LISTEN` alone delivers after
//! the commit and a request could still see an entry another process just changed.
//!
//! Within one request ([`one_request`]) the feed is asked once: everything the
//! request then reads is at least as new as the moment it began, as if it ran at that
//! instant. A write (by this request) makes the next read ask again, so a request
//! reads what it wrote.
//!
//! Only what was found is cached, so creating something needs no announcement —
//! except settings, whose absence is kept too (every request asks for the registry
//! policy, which is usually not set): a feed reports settings added as well.
//! Each cache is bounded; when one is full it starts over.

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use berth_model::oci::Digest;

use super::{
    AccessKey, BlobStep, BlobUnlink, DanglingReference, ImageDeletion, Job, JobLease,
    LifecyclePolicyRecord, LifecyclePreviewRecord, ManifestRecord, Metadata, NewManifest,
    PreviewState, PublishError, PutManifestError, RemoveBytes, RepositoryChange, RepositoryRecord,
    Result, SweepOutcome, TagStatus, TokenRecord, Untag, UploadPart, UploadRecord, UserRecord,
};

/// Something a cache may hold that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The repository with this id, or its policy.
    Repository(i64),
    /// Any tag of the repository with this id.
    Tags(i64),
    /// Any manifest of the repository with this id.
    Manifests(i64),
    /// Any access key or registry token.
    Auth,
    /// The registry setting with this name (added, changed or deleted).
    Setting(String),
}

/// What the feed reports since it was last asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    Nothing,
    Some(Vec<Change>),
    /// More than the feed can tell apart: drop everything.
    Everything,
}

/// Changes committed to a metadata store by any process.
#[async_trait]
pub trait ChangeFeed: Send + Sync + 'static {
    /// What was committed since the previous call. Called before every cached read,
    /// so it must be cheap when the answer is [`Changed::Nothing`].
    async fn poll(&self) -> Result<Changed>;
}

mod entries;

use entries::*;

tokio::task_local! {
    /// Whether the current request asked the feed since it began or last wrote.
    static ASKED: Cell<bool>;
}

/// Runs one request's work: the caches ask their feed at most once in it, unless it
/// writes (see the module docs).
pub async fn one_request<F: Future>(work: F) -> F::Output {
    ASKED.scope(Cell::new(false), work).await
}

/// After a write, the current request's next cached read asks the feed again.
fn wrote() {
    let _ = ASKED.try_with(|asked| asked.set(false));
}

/// [`Metadata`] with the reads of a pull cached; see the module docs.
pub struct CachedMetadata {
    inner: Arc<dyn Metadata>,
    feed: Box<dyn ChangeFeed>,
    /// Polling the feed and applying what it says happen as one step: a read that
    /// polls after another must find its changes applied.
    refresh: tokio::sync::Mutex<()>,
    cached: Mutex<Cached>,
}

impl CachedMetadata {
    pub fn new(inner: Arc<dyn Metadata>, feed: Box<dyn ChangeFeed>) -> CachedMetadata {
        CachedMetadata {
            inner,
            feed,
            refresh: tokio::sync::Mutex::new(()),
            cached: Mutex::new(Cached::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies what changed since the last read (unless the current request already
    /// did); the epoch the cache is now at.
    async fn fresh(&self) -> Result<u64> {
        if ASKED.try_with(Cell::get).unwrap_or(false) {
            return Ok(self.lock().epoch);
        }
        let _one_at_a_time = self.refresh.lock().await;
        let changed = self.feed.poll().await?;
        let mut cached = self.lock();
        cached.apply(changed);
        let _ = ASKED.try_with(|asked| asked.set(true));
        Ok(cached.epoch)
    }

    /// Stores what was read at `epoch`, unless a change was applied since: the read
    /// may predate it.
    fn fill(&self, epoch: u64, store: impl FnOnce(&mut Cached)) {
        let mut cached = self.lock();
        if cached.epoch == epoch {
            store(&mut cached);
        }
    }
}

#[async_trait]
impl Metadata for CachedMetadata {
    async fn find_access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>> {
        let epoch = self.fresh().await?;
        if let Some(hit) = self.lock().access_keys.get(access_key_id) {
            return Ok(Some(hit.clone()));
        }
        let found = self.inner.find_access_key(access_key_id).await?;
        if let Some(key) = &found {
            self.fill(epoch, |c| {
                insert_bounded(
                    &mut c.access_keys,
                    access_key_id,
                    key.clone(),
                    MAX_ACCESS_KEYS,
                )
            });
        }
        Ok(found)
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        let epoch = self.fresh().await?;
        if let Some(hit) = self.lock().settings.get(key) {
            return Ok(hit.clone());
        }
        let found = self.inner.get_setting(key).await?;
        self.fill(epoch, |c| {
            insert_bounded(&mut c.settings, key, found.clone(), MAX_SETTINGS)
        });
        Ok(found)
    }

    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let epoch = self.fresh().await?;
        if let Some(hit) = self.lock().tokens.get(token_hash) {
            return Ok(Some(hit.clone()));
        }
        let found = self.inner.find_token(token_hash).await?;
        if let Some(record) = &found {
            self.fill(epoch, |c| {
                insert_bounded(&mut c.tokens, token_hash, record.clone(), MAX_TOKENS)
            });
        }
        Ok(found)
    }

    async fn find_repository(&self, name: &str) -> Result<Option<RepositoryRecord>> {
        let epoch = self.fresh().await?;
        if let Some(hit) = self.lock().repositories.get(name) {
            return Ok(Some(hit.clone()));
        }
        let found = self.inner.find_repository(name).await?;
        if let Some(record) = &found {
            self.fill(epoch, |c| {
                c.keep_repository(name, record.clone(), MAX_REPOSITORY_BYTES)
            });
        }
        Ok(found)
    }

    async fn resolve_tag(&self, repository_id: i64, tag: &str) -> Result<Option<String>> {
        let epoch = self.fresh().await?;
        if let Some(hit) = self
            .lock()
            .tags
            .get(&repository_id)
            .and_then(|tags| tags.get(tag))
        {
            return Ok(Some(hit.clone()));
        }
        let found = self.inner.resolve_tag(repository_id, tag).await?;
        if let Some(digest) = &found {
            self.fill(epoch, |c| {
                if c.tag_count >= MAX_TAGS {
                    c.tags.clear();
                    c.tag_count = 0;
                }
                let tags = c.tags.entry(repository_id).or_default();
                if tags.insert(tag.to_string(), digest.clone()).is_none() {
                    c.tag_count += 1;
                }
            });
        }
        Ok(found)
    }

    async fn find_manifest(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<Option<ManifestRecord>> {
        let epoch = self.fresh().await?;
        if let Some(hit) = self
            .lock()
            .manifests
            .get(&repository_id)
            .and_then(|manifests| manifests.get(digest))
        {
            return Ok(Some(ManifestRecord::clone(hit)));
        }
        let found = self.inner.find_manifest(repository_id, digest).await?;
        if let Some(record) = &found {
            let bytes = manifest_size(record);
            if bytes <= MAX_MANIFEST_BYTES / 16 {
                let record = Arc::new(record.clone());
                self.fill(epoch, |c| {
                    if c.manifest_bytes + bytes > MAX_MANIFEST_BYTES {
                        c.manifests.clear();
                        c.manifest_bytes = 0;
                    }
                    let manifests = c.manifests.entry(repository_id).or_default();
                    if let Some(old) = manifests.insert(digest.to_string(), record) {
                        c.manifest_bytes -= manifest_size(&old);
                    }
                    c.manifest_bytes += bytes;
                });
            }
        }
        Ok(found)
    }

    // Everything else goes straight to the store. Writes reach the caches through the
    // feed, like anyone else's; the request that wrote asks the feed again.

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        let result = self.inner.put_setting(key, value).await;
        wrote();
        result
    }

    async fn delete_setting(&self, key: &str) -> Result<Option<String>> {
        let result = self.inner.delete_setting(key).await;
        wrote();
        result
    }

    async fn root_access_key(&self) -> Result<Option<AccessKey>> {
        self.inner.root_access_key().await
    }

    async fn replace_root_access_key(&self, key: &AccessKey) -> Result<()> {
        let result = self.inner.replace_root_access_key(key).await;
        wrote();
        result
    }

    async fn add_user(&self, user_name: &str, key: &AccessKey) -> Result<bool> {
        let result = self.inner.add_user(user_name, key).await;
        wrote();
        result
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        self.inner.list_users().await
    }

    async fn remove_user(&self, user_name: &str) -> Result<bool> {
        let result = self.inner.remove_user(user_name).await;
        wrote();
        result
    }

    async fn replace_user_key(&self, user_name: &str, key: &AccessKey) -> Result<bool> {
        let result = self.inner.replace_user_key(user_name, key).await;
        wrote();
        result
    }

    async fn insert_token(&self, token_hash: &str, record: &TokenRecord, now: f64) -> Result<()> {
        let result = self.inner.insert_token(token_hash, record, now).await;
        wrote();
        result
    }

    async fn insert_repository(
        &self,
        record: &RepositoryRecord,
        tags: &[(String, String)],
    ) -> Result<Option<i64>> {
        let result = self.inner.insert_repository(record, tags).await;
        wrote();
        result
    }

    async fn list_repositories(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RepositoryRecord>> {
        self.inner.list_repositories(after, limit).await
    }

    async fn delete_repository(&self, id: i64, force: bool) -> Result<bool> {
        let result = self.inner.delete_repository(id, force).await;
        wrote();
        result
    }

    async fn count_images(&self, id: i64) -> Result<u64> {
        self.inner.count_images(id).await
    }

    async fn update_repository(&self, id: i64, change: RepositoryChange) -> Result<()> {
        let result = self.inner.update_repository(id, change).await;
        wrote();
        result
    }

    async fn resource_tags(&self, id: i64) -> Result<Vec<(String, String)>> {
        self.inner.resource_tags(id).await
    }

    async fn put_resource_tags(&self, id: i64, tags: &[(String, String)]) -> Result<()> {
        let result = self.inner.put_resource_tags(id, tags).await;
        wrote();
        result
    }

    async fn remove_resource_tags(&self, id: i64, keys: &[String]) -> Result<()> {
        let result = self.inner.remove_resource_tags(id, keys).await;
        wrote();
        result
    }

    async fn repository_blob(&self, repository_id: i64, digest: &str) -> Result<Option<u64>> {
        self.inner.repository_blob(repository_id, digest).await
    }

    async fn claim_blob(&self, repository_id: i64, digest: &str, now: f64) -> Result<Option<u64>> {
        let result = self.inner.claim_blob(repository_id, digest, now).await;
        wrote();
        result
    }

    async fn publish_blob(
        &self,
        repository_id: i64,
        digest: &Digest,
        size: u64,
        now: f64,
        put_bytes: BlobStep,
    ) -> Result<(), PublishError> {
        let result = self
            .inner
            .publish_blob(repository_id, digest, size, now, put_bytes)
            .await;
        wrote();
        result
    }

    async fn mount_blob(&self, to: i64, from: i64, digest: &str) -> Result<Option<u64>> {
        let result = self.inner.mount_blob(to, from, digest).await;
        wrote();
        result
    }

    async fn unlink_blob(&self, repository_id: i64, digest: &str) -> Result<BlobUnlink> {
        let result = self.inner.unlink_blob(repository_id, digest).await;
        wrote();
        result
    }

    async fn put_manifest(
        &self,
        repository_id: i64,
        manifest: NewManifest,
    ) -> Result<(), PutManifestError> {
        let result = self.inner.put_manifest(repository_id, manifest).await;
        wrote();
        result
    }

    async fn manifests_size(&self, repository_id: i64, digests: &[String]) -> Result<u64> {
        self.inner.manifests_size(repository_id, digests).await
    }

    async fn delete_image(&self, repository_id: i64, digest: &str) -> Result<ImageDeletion> {
        let result = self.inner.delete_image(repository_id, digest).await;
        wrote();
        result
    }

    async fn untag(&self, repository_id: i64, tag: &str, delete_untagged: bool) -> Result<Untag> {
        let result = self.inner.untag(repository_id, tag, delete_untagged).await;
        wrote();
        result
    }

    async fn blob_records(&self) -> Result<Vec<(String, u64)>> {
        self.inner.blob_records().await
    }

    async fn dangling_references(&self) -> Result<Vec<DanglingReference>> {
        self.inner.dangling_references().await
    }

    async fn list_tags(
        &self,
        repository_id: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>> {
        self.inner.list_tags(repository_id, after, limit).await
    }

    async fn tags_of(&self, repository_id: i64, digest: &str) -> Result<Vec<String>> {
        self.inner.tags_of(repository_id, digest).await
    }

    async fn record_pull(&self, repository_id: i64, digest: &str, now: f64) -> Result<()> {
        let result = self.inner.record_pull(repository_id, digest, now).await;
        wrote();
        result
    }

    async fn list_images(
        &self,
        repository_id: i64,
        after: Option<&str>,
        limit: usize,
        status: TagStatus,
    ) -> Result<Vec<(ManifestRecord, Vec<String>)>> {
        self.inner
            .list_images(repository_id, after, limit, status)
            .await
    }

    async fn referrers(&self, repository_id: i64, digest: &str) -> Result<Vec<ManifestRecord>> {
        self.inner.referrers(repository_id, digest).await
    }

    async fn lifecycle_policy(&self, repository_id: i64) -> Result<Option<LifecyclePolicyRecord>> {
        self.inner.lifecycle_policy(repository_id).await
    }

    async fn put_lifecycle_policy(&self, repository_id: i64, text: &str) -> Result<()> {
        let result = self.inner.put_lifecycle_policy(repository_id, text).await;
        wrote();
        result
    }

    async fn delete_lifecycle_policy(
        &self,
        repository_id: i64,
    ) -> Result<Option<LifecyclePolicyRecord>> {
        let result = self.inner.delete_lifecycle_policy(repository_id).await;
        wrote();
        result
    }

    async fn record_lifecycle_evaluation(
        &self,
        repository_id: i64,
        text: &str,
        at: f64,
    ) -> Result<()> {
        let result = self
            .inner
            .record_lifecycle_evaluation(repository_id, text, at)
            .await;
        wrote();
        result
    }

    async fn lifecycle_policies(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(RepositoryRecord, LifecyclePolicyRecord)>> {
        self.inner.lifecycle_policies(after, limit).await
    }

    async fn start_lifecycle_preview(
        &self,
        repository_id: i64,
        policy_text: &str,
        now: f64,
        running_since: f64,
    ) -> Result<bool> {
        let result = self
            .inner
            .start_lifecycle_preview(repository_id, policy_text, now, running_since)
            .await;
        wrote();
        result
    }

    async fn finish_lifecycle_preview(
        &self,
        repository_id: i64,
        started_at: f64,
        state: PreviewState,
    ) -> Result<()> {
        let result = self
            .inner
            .finish_lifecycle_preview(repository_id, started_at, state)
            .await;
        wrote();
        result
    }

    async fn lifecycle_preview(
        &self,
        repository_id: i64,
    ) -> Result<Option<LifecyclePreviewRecord>> {
        self.inner.lifecycle_preview(repository_id).await
    }

    async fn create_upload(&self, id: &str, repository_id: i64, now: f64) -> Result<()> {
        let result = self.inner.create_upload(id, repository_id, now).await;
        wrote();
        result
    }

    async fn find_upload(&self, id: &str) -> Result<Option<i64>> {
        self.inner.find_upload(id).await
    }

    async fn delete_upload(&self, id: &str) -> Result<bool> {
        let result = self.inner.delete_upload(id).await;
        wrote();
        result
    }

    async fn upload_parts(&self, id: &str) -> Result<Option<Vec<UploadPart>>> {
        self.inner.upload_parts(id).await
    }

    async fn add_upload_part(&self, id: &str, part: &UploadPart) -> Result<bool> {
        let result = self.inner.add_upload_part(id, part).await;
        wrote();
        result
    }

    async fn uploads_started_before(&self, before: f64) -> Result<Vec<UploadRecord>> {
        self.inner.uploads_started_before(before).await
    }

    async fn unreferenced_blobs(
        &self,
        before: f64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Digest, u64)>> {
        self.inner.unreferenced_blobs(before, after, limit).await
    }

    async fn unrecorded_blobs(&self, digests: &[Digest]) -> Result<Vec<Digest>> {
        self.inner.unrecorded_blobs(digests).await
    }

    async fn sweep_blobs(
        &self,
        digests: &[Digest],
        before: f64,
        remove_bytes: RemoveBytes,
    ) -> Result<SweepOutcome> {
        let result = self.inner.sweep_blobs(digests, before, remove_bytes).await;
        wrote();
        result
    }

    async fn lock_job(&self, job: Job, wait: bool) -> Result<Option<JobLease>> {
        self.inner.lock_job(job, wait).await
    }
}

#[cfg(test)]
mod tests;
