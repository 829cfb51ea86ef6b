//! Storage: the two traits every backend implements, and the records they speak.
//!
//! - [`Metadata`]: repositories, images, tags, what each manifest references, blob
//!   links, upload sessions, access keys and tokens — what a database holds. Deletes
//!   refuse to leave a reference dangling.
//! - [`Blobs`]: content-addressed bytes and the upload sessions that produce them —
//!   what a file system or an object store holds. Reads verify the bytes against
//!   their digest.
//!
//! The embedded default is SQLite ([`sqlite`]) plus files ([`files`]); scale-out
//! is PostgreSQL ([`postgres`]) plus S3-compatible object storage ([`s3`]), shared by
//! any number of processes. Services depend only on the traits; nothing here knows
//! HTTP or the ECR/OCI wire errors.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use berth_model::ecr::ImageTagMutabilityExclusionFilter;
use berth_model::oci::Digest;
use bytes::Bytes;
use futures_util::stream::BoxStream;

pub mod cache;
pub mod files;
pub mod ingest;
pub mod migrations;
pub mod postgres;
pub mod s3;
pub mod sqlite;

/// Bytes flowing in (an upload's body) or out (a blob's content).
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// A backend failed: the database or the disk, not the request.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StorageError(pub String);

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `None` for the root (admin) key.
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub user_name: String,
    pub created_at: f64,
    pub access_key_ids: Vec<String>,
}

/// A registry token (`aws ecr get-login-password`), stored only as its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub access_key_id: String,
    pub user_name: Option<String>,
    pub expires_at: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryRecord {
    pub id: i64,
    /// The repository policy document, when one is set.
    pub policy: Option<String>,
    pub name: String,
    pub created_at: f64,
    pub image_tag_mutability: String,
    /// In the order given; empty unless the mutability has exclusions.
    pub image_tag_mutability_exclusion_filters: Vec<ImageTagMutabilityExclusionFilter>,
    pub scan_on_push: bool,
    pub encryption_type: String,
    pub kms_key: Option<String>,
}

/// A change to one of a repository's settings.
#[derive(Debug, Clone, PartialEq)]
pub enum RepositoryChange {
    /// The mutability with its exclusion filters, which replace the old ones.
    TagMutability {
        mutability: String,
        exclusion_filters: Vec<ImageTagMutabilityExclusionFilter>,
    },
    ScanOnPush(bool),
    Policy(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ManifestRecord {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub content: Vec<u8>,
    pub image_size: u64,
    pub pushed_at: f64,
    pub last_pulled_at: Option<f64>,
    pub subject: Option<String>,
}

/// Which images a listing includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

/// A manifest to store, with what it references and the tag to point at it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewManifest {
    pub record: ManifestRecord,
    /// Config and layer blobs; each must be linked to the repository.
    pub blobs: Vec<String>,
    /// Child manifests of an index; each must be in the repository.
    pub children: Vec<String>,
    pub tag: Option<String>,
    /// Whether `tag`, if it exists, may not be moved to another manifest.
    pub tag_immutable: bool,
}

/// What deleting an image did.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageDeletion {
    Deleted,
    NotFound,
    /// Indexes in the repository reference it; nothing changed.
    ReferencedBy(Vec<String>),
}

/// What removing a tag did; each carries the digest the tag named.
#[derive(Debug, Clone, PartialEq)]
pub enum Untag {
    Removed(String),
    /// It was the image's last tag, and the image went with it.
    ImageDeleted(String),
    NotFound,
    /// It was the last tag of an image indexes reference; nothing changed.
    ReferencedBy(Vec<String>),
}

/// What unlinking a blob from a repository did.
#[derive(Debug, Clone, PartialEq)]
pub enum BlobUnlink {
    Unlinked,
    NotFound,
    /// Manifests in the repository reference it; nothing changed.
    ReferencedBy(Vec<String>),
}

/// A manifest that references a blob its repository has no link to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DanglingReference {
    pub repository: String,
    pub manifest: String,
    pub blob: String,
}

/// Why a manifest cannot be stored.
#[derive(Debug, thiserror::Error)]
pub enum PutManifestError {
    #[error("blob {0} is not in the repository")]
    MissingBlob(String),
    #[error("manifest {0} is not in the repository")]
    MissingManifest(String),
    #[error("tag {0} is immutable")]
    TagImmutable(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A step on blob bytes that a [`Metadata`] method runs while it holds the lock that
/// orders blob publication against garbage collection (see README, "Architecture
/// notes: garbage collection"). It must not call back into the metadata store.
pub type BlobStep = Pin<Box<dyn Future<Output = Result<(), BlobError>> + Send>>;

/// Removes one blob's bytes; [`Metadata::sweep_blobs`] calls it under its lock.
pub type RemoveBytes = Arc<dyn Fn(Digest) -> BlobStep + Send + Sync>;

/// Why a blob could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What a sweep did: the blobs it deleted, and why others it meant to delete are left.
#[derive(Debug, Default)]
pub struct SweepOutcome {
    pub swept: Vec<Digest>,
    pub failures: Vec<(Digest, String)>,
}

/// An upload session as the metadata store knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRecord {
    pub id: String,
    pub repository_id: i64,
    pub started_at: f64,
}

/// Work that at most one process runs at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    GarbageCollection,
    Lifecycle,
    /// First-start setup (signing keys, admin key): processes starting together
    /// must agree on one of each.
    Bootstrap,
    /// `berth-registry migrate` into this store.
    Migrate,
}

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Job::GarbageCollection => "gc",
            Job::Lifecycle => "lifecycle",
            Job::Bootstrap => "bootstrap",
            Job::Migrate => "migrate",
        }
    }
}

/// Proof that this process runs a [`Job`]; dropping it (or the process dying) lets
/// another run it.
pub type JobLease = Box<dyn Send + Sync>;

/// One piece of an upload, for blob stores that cannot append (object stores): each
/// chunk is stored whole under its own key and recorded here, so that any process can
/// check the next chunk's offset and put the pieces together in order.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadPart {
    /// Where the part starts in the upload.
    pub offset: u64,
    pub size: u64,
    /// Where the blob store keeps the part's bytes.
    pub key: String,
    /// The SHA-256 of the part's bytes alone.
    pub digest: String,
}

/// A repository's lifecycle policy as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecyclePolicyRecord {
    pub text: String,
    /// When a lifecycle run last evaluated this policy (epoch seconds).
    pub last_evaluated_at: Option<f64>,
}

/// Where a lifecycle policy preview stands.
#[derive(Debug, Clone, PartialEq)]
pub enum PreviewState {
    Running,
    /// The evaluation's result, a document only the lifecycle service reads.
    Complete(String),
    /// Why the evaluation did not finish.
    Failed(String),
}

/// A repository's latest lifecycle policy preview.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecyclePreviewRecord {
    pub policy_text: String,
    /// Epoch seconds; also tells one preview from the next.
    pub started_at: f64,
    pub state: PreviewState,
}

/// Metadata: everything but the blobs' bytes. Every method is one consistent step
/// (a transaction where it changes more than one row).
#[async_trait]
pub trait Metadata: Send + Sync + 'static {
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;
    /// Removes a setting and returns what it held, as one step: a concurrent
    /// `put_setting` lands either before (and is what is returned) or after.
    async fn delete_setting(&self, key: &str) -> Result<Option<String>>;

    async fn find_access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>>;
    async fn root_access_key(&self) -> Result<Option<AccessKey>>;
    /// Makes `key` the one root key: any other root key stops working at once.
    async fn replace_root_access_key(&self, key: &AccessKey) -> Result<()>;
    /// Adds a user with its first key; false when the name is taken.
    async fn add_user(&self, user_name: &str, key: &AccessKey) -> Result<bool>;
    /// Users in name order, each with its access key ids.
    async fn list_users(&self) -> Result<Vec<UserRecord>>;
    /// Removes a user, its keys and the registry tokens issued to them, at once;
    /// false when there is no such user.
    async fn remove_user(&self, user_name: &str) -> Result<bool>;
    /// Makes `key` the user's only key: its old keys and their registry tokens stop
    /// working at once. False when there is no such user.
    async fn replace_user_key(&self, user_name: &str, key: &AccessKey) -> Result<bool>;

    /// Stores a token hash; expired tokens are forgotten on the way.
    async fn insert_token(&self, token_hash: &str, record: &TokenRecord, now: f64) -> Result<()>;
    /// The token, if its key still exists.
    async fn find_token(&self, token_hash: &str) -> Result<Option<TokenRecord>>;

    /// Creates a repository; `None` when the name is taken.
    async fn insert_repository(
        &self,
        record: &RepositoryRecord,
        tags: &[(String, String)],
    ) -> Result<Option<i64>>;
    async fn find_repository(&self, name: &str) -> Result<Option<RepositoryRecord>>;
    /// Up to `limit` repositories in name order, strictly after `after`.
    async fn list_repositories(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RepositoryRecord>>;
    /// Deletes a repository and everything in it; without `force`, a repository
    /// holding images is left alone and `false` returned.
    async fn delete_repository(&self, id: i64, force: bool) -> Result<bool>;
    async fn count_images(&self, id: i64) -> Result<u64>;
    async fn update_repository(&self, id: i64, change: RepositoryChange) -> Result<()>;
    async fn resource_tags(&self, id: i64) -> Result<Vec<(String, String)>>;
    async fn put_resource_tags(&self, id: i64, tags: &[(String, String)]) -> Result<()>;
    async fn remove_resource_tags(&self, id: i64, keys: &[String]) -> Result<()>;

    /// The size of a blob the repository may serve.
    async fn repository_blob(&self, repository_id: i64, digest: &str) -> Result<Option<u64>>;
    /// [`Metadata::repository_blob`] for a push that checks what it need not upload:
    /// the link counts as renewed `now`, so an image deletion meanwhile keeps it.
    async fn claim_blob(&self, repository_id: i64, digest: &str, now: f64) -> Result<Option<u64>>;
    /// Publishes a verified blob: runs `put_bytes` (which moves its bytes into place),
    /// records the blob and links it to the repository, all under the lock that
    /// [`Metadata::sweep_blobs`] takes, so a sweep never sees the bytes without the
    /// record. When `put_bytes` fails nothing is recorded.
    async fn publish_blob(
        &self,
        repository_id: i64,
        digest: &Digest,
        size: u64,
        now: f64,
        put_bytes: BlobStep,
    ) -> Result<(), PublishError>;
    /// Links a blob of `from` to `to` (cross-repository mount); its size, or `None`
    /// when `from` does not have it.
    async fn mount_blob(&self, to: i64, from: i64, digest: &str) -> Result<Option<u64>>;
    /// Removes the repository's link to a blob, unless a manifest there references it.
    async fn unlink_blob(&self, repository_id: i64, digest: &str) -> Result<BlobUnlink>;

    async fn find_manifest(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<Option<ManifestRecord>>;
    async fn resolve_tag(&self, repository_id: i64, tag: &str) -> Result<Option<String>>;
    /// Stores a manifest, records what it references, and points its tag at it,
    /// atomically.
    async fn put_manifest(
        &self,
        repository_id: i64,
        manifest: NewManifest,
    ) -> Result<(), PutManifestError>;
    /// The image sizes of child manifests, for an index's total.
    async fn manifests_size(&self, repository_id: i64, digests: &[String]) -> Result<u64>;
    /// Deletes an image with its tags, unless an index in the repository references
    /// it; then unlinks its blobs that no remaining manifest there references and no
    /// push renewed since the image was pushed. Atomic.
    async fn delete_image(&self, repository_id: i64, digest: &str) -> Result<ImageDeletion>;
    /// Removes a tag; with `delete_untagged`, an image left without tags is deleted
    /// as [`Metadata::delete_image`] does (and when it cannot be, nothing changes).
    async fn untag(&self, repository_id: i64, tag: &str, delete_untagged: bool) -> Result<Untag>;
    /// Every blob recorded as stored, with its size, in digest order.
    async fn blob_records(&self) -> Result<Vec<(String, u64)>>;
    /// Manifests referencing blobs their repository has no link to.
    async fn dangling_references(&self) -> Result<Vec<DanglingReference>>;
    /// Tags in lexical order, strictly after `after`.
    async fn list_tags(
        &self,
        repository_id: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>>;
    async fn tags_of(&self, repository_id: i64, digest: &str) -> Result<Vec<String>>;
    async fn record_pull(&self, repository_id: i64, digest: &str, now: f64) -> Result<()>;
    /// Manifests in digest order after `after`, with their tags (content left empty).
    async fn list_images(
        &self,
        repository_id: i64,
        after: Option<&str>,
        limit: usize,
        status: TagStatus,
    ) -> Result<Vec<(ManifestRecord, Vec<String>)>>;
    /// Manifests whose `subject` is `digest`.
    async fn referrers(&self, repository_id: i64, digest: &str) -> Result<Vec<ManifestRecord>>;

    async fn lifecycle_policy(&self, repository_id: i64) -> Result<Option<LifecyclePolicyRecord>>;
    /// Sets the repository's lifecycle policy; a new text has not been evaluated yet.
    async fn put_lifecycle_policy(&self, repository_id: i64, text: &str) -> Result<()>;
    /// Deletes the repository's lifecycle policy; what it was, if there was one.
    async fn delete_lifecycle_policy(
        &self,
        repository_id: i64,
    ) -> Result<Option<LifecyclePolicyRecord>>;
    /// Records that a lifecycle run evaluated the policy `text` at `at`; nothing
    /// when the policy has changed since the run read it.
    async fn record_lifecycle_evaluation(
        &self,
        repository_id: i64,
        text: &str,
        at: f64,
    ) -> Result<()>;
    /// Up to `limit` repositories with a lifecycle policy, in name order after `after`.
    async fn lifecycle_policies(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(RepositoryRecord, LifecyclePolicyRecord)>>;

    /// Starts a preview of `policy_text` at `now`, replacing the repository's last
    /// preview — unless that one is still running and started at or after
    /// `running_since`: then nothing changes and the answer is false.
    async fn start_lifecycle_preview(
        &self,
        repository_id: i64,
        policy_text: &str,
        now: f64,
        running_since: f64,
    ) -> Result<bool>;
    /// Ends the preview that started at `started_at` in `state`, if it is still the
    /// repository's preview.
    async fn finish_lifecycle_preview(
        &self,
        repository_id: i64,
        started_at: f64,
        state: PreviewState,
    ) -> Result<()>;
    async fn lifecycle_preview(&self, repository_id: i64)
        -> Result<Option<LifecyclePreviewRecord>>;

    async fn create_upload(&self, id: &str, repository_id: i64, now: f64) -> Result<()>;
    /// The repository an upload session belongs to.
    async fn find_upload(&self, id: &str) -> Result<Option<i64>>;
    /// Forgets an upload session and its parts.
    async fn delete_upload(&self, id: &str) -> Result<bool>;
    /// The upload's parts in offset order; `None` when the upload does not exist.
    async fn upload_parts(&self, id: &str) -> Result<Option<Vec<UploadPart>>>;
    /// Records `part` if the upload's parts end exactly at `part.offset`; false when
    /// they do not (another process appended first) or the upload is gone.
    async fn add_upload_part(&self, id: &str, part: &UploadPart) -> Result<bool>;
    /// Upload sessions started before `before`.
    async fn uploads_started_before(&self, before: f64) -> Result<Vec<UploadRecord>>;

    /// Up to `limit` blobs, in digest order after `after`, that no repository links,
    /// no manifest references, and that were recorded before `before`; with their sizes.
    /// A snapshot: [`Metadata::sweep_blobs`] checks again under its lock.
    async fn unreferenced_blobs(
        &self,
        before: f64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Digest, u64)>>;
    /// Which of `digests` have no blob record.
    async fn unrecorded_blobs(&self, digests: &[Digest]) -> Result<Vec<Digest>>;
    /// Deletes each of `digests` that is, under the publication lock, either
    /// unrecorded (bytes a crash left behind) or recorded before `before` and neither
    /// linked nor referenced: `remove_bytes` first, then its record.
    async fn sweep_blobs(
        &self,
        digests: &[Digest],
        before: f64,
        remove_bytes: RemoveBytes,
    ) -> Result<SweepOutcome>;

    /// Takes `job` for this process: `None` when another holds it and `wait` is false.
    async fn lock_job(&self, job: Job, wait: bool) -> Result<Option<JobLease>>;
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("upload offset mismatch: the upload has {size} bytes, the chunk starts at {start}")]
    RangeMismatch { size: u64, start: u64 },
    #[error("the content's digest is {actual}, not {expected}")]
    DigestMismatch { expected: String, actual: String },
    #[error("upload {0} does not exist")]
    UnknownUpload(String),
    #[error("blob {0} is not stored")]
    NotFound(String),
    #[error("the request body could not be read: {0}")]
    Body(String),
    #[error("storage error: {0}")]
    Io(#[from] io::Error),
}

/// What re-reading a stored blob found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobCheck {
    /// Its bytes hash to its digest; their count.
    Intact(u64),
    Missing,
    /// Its bytes hash to `actual`; where they were moved, when asked to.
    Corrupt {
        actual: String,
        size: u64,
        quarantined: Option<String>,
    },
}

/// A blob's bytes on their way out.
pub struct BlobRead {
    /// The blob's whole size.
    pub size: u64,
    pub stream: ByteStream,
    /// The blob's file, when this process hashed this very file and found it matching
    /// its digest (and it has not changed since): it may go to the socket as it is
    /// (`sendfile`), without the checks `stream` makes. `stream` then starts reading
    /// only when polled. Always `None` for stores without local files.
    pub verified_file: Option<std::fs::File>,
}

/// Bytes stored under a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBlob {
    pub digest: Digest,
    pub size: u64,
}

/// An upload session's bytes so far.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUpload {
    pub id: String,
    pub size: u64,
    /// When bytes last arrived, in epoch seconds.
    pub modified: f64,
}

/// Blob bytes: written once under their digest, after verification.
#[async_trait]
pub trait Blobs: Send + Sync + 'static {
    async fn start_upload(&self, id: &str) -> Result<(), BlobError>;
    /// Appends a body, hashing as it streams. `start` is the chunk's declared
    /// offset, which must be where the upload stands. A body that fails midway
    /// leaves the upload as it was. Returns the upload's new size.
    async fn append(
        &self,
        id: &str,
        start: Option<u64>,
        body: ByteStream,
    ) -> Result<u64, BlobError>;
    /// Bytes received so far.
    async fn upload_size(&self, id: &str) -> Result<u64, BlobError>;
    /// Verifies the upload against `expected` and makes its bytes durable, without
    /// publishing them; on a mismatch the upload is discarded. Returns the blob's size.
    async fn verify_upload(&self, id: &str, expected: &Digest) -> Result<u64, BlobError>;
    /// Moves a verified upload's bytes into place under `digest` (replacing identical
    /// bytes already there). Only [`Metadata::publish_blob`] calls it, under its lock.
    async fn publish_upload(&self, id: &str, digest: &Digest) -> Result<(), BlobError>;
    async fn cancel_upload(&self, id: &str);
    /// Upload sessions that have bytes stored, in no particular order.
    async fn list_uploads(&self) -> Result<Vec<StoredUpload>, BlobError>;
    /// The stored blob's size, or `None` when its bytes are missing or known to be
    /// damaged.
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>, BlobError>;
    /// The blob's `size` bytes (the size recorded when it was stored), verified
    /// against its digest as they stream: bytes that do not match end the stream with
    /// an error before its last chunk, so a damaged blob is never served whole. A
    /// blob already damaged before the first byte is `NotFound`.
    async fn read(&self, digest: &Digest, size: u64) -> Result<BlobRead, BlobError>;
    /// Up to `limit` stored blobs in digest order after `after`.
    async fn list_blobs(
        &self,
        after: Option<&Digest>,
        limit: usize,
    ) -> Result<Vec<StoredBlob>, BlobError>;
    /// Removes a blob's bytes; bytes already gone are not an error. Only
    /// [`Metadata::sweep_blobs`] calls it, under its lock.
    async fn delete_blob(&self, digest: &Digest) -> Result<(), BlobError>;
    /// Bytes `start..=end` of the blob (a `Range` request); `end` is within the blob.
    /// A part cannot be checked against the digest, so the whole blob is verified
    /// first unless it already was: a damaged blob is `NotFound`.
    async fn read_range(
        &self,
        digest: &Digest,
        start: u64,
        end: u64,
    ) -> Result<BlobRead, BlobError>;
    /// Re-reads and hashes a stored blob; with `quarantine`, moves damaged bytes
    /// aside (kept for inspection) so the blob counts as missing and the next push
    /// stores it anew.
    async fn verify(&self, digest: &Digest, quarantine: bool) -> Result<BlobCheck, BlobError>;
    /// A URL that serves the blob's bytes to anyone holding it until `lifetime` has
    /// passed (an object store's presigned GET), or `None` when the store has no such
    /// URLs (files).
    async fn presigned_url(
        &self,
        digest: &Digest,
        lifetime: std::time::Duration,
    ) -> Result<Option<String>, BlobError>;
}
