//! `berth-registry migrate`: copies an embedded registry (a data dir: SQLite and
//! blob files) into a scale-out deployment (PostgreSQL and S3): settings, users and
//! keys, repositories with their settings, repository and lifecycle policies and
//! resource tags, blobs, images and tags.
//!
//! Every blob is streamed from its file into the bucket and verified against its
//! digest on the way; every manifest's content is checked against its digest before
//! it is written. Each step keeps what the target already holds, so a migration
//! that was interrupted (or run again after more pushes) picks up where it stopped.
//! The embedded registry's own schema is brought up to date first, as `serve` would.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use berth_model::oci::Digest;
use futures_util::StreamExt;

use crate::clock::now_epoch_seconds;
use crate::config::BlobStore;
use crate::storage::files::BlobFiles;
use crate::storage::postgres::PostgresMetadata;
use crate::storage::s3::S3Blobs;
use crate::storage::sqlite::SqliteMetadata;
use crate::storage::{
    BlobError, BlobStep, Blobs, Job, Metadata, NewManifest, RepositoryChange, StorageError,
};

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Setup(String),
    #[error("blob {digest}: {message}")]
    Blob { digest: String, message: String },
    #[error("repository {repository}: manifest {digest} does not match its content (sha256 of the content is {actual})")]
    Manifest {
        repository: String,
        digest: String,
        actual: String,
    },
    #[error("repository {repository}: {message}")]
    Repository { repository: String, message: String },
}

/// What a run copied, and what it found already there.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub blobs_copied: u64,
    pub blobs_present: u64,
    pub bytes_copied: u64,
    pub repositories: u64,
    pub manifests: u64,
    pub tags: u64,
    pub users: u64,
    pub access_keys: u64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "migrated: {} repositories, {} images, {} tags, {} users, {} access keys; \
             blobs: {} copied ({} bytes, each verified), {} already there",
            self.repositories,
            self.manifests,
            self.tags,
            self.users,
            self.access_keys,
            self.blobs_copied,
            self.bytes_copied,
            self.blobs_present
        )
    }
}

/// Repositories are read a page at a time.
const PAGE: usize = 500;

pub async fn run(
    data: &Path,
    database: &str,
    blob_store: &BlobStore,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<Report, MigrateError> {
    let BlobStore::S3 {
        location,
        credentials,
    } = blob_store
    else {
        return Err(MigrateError::Setup(
            "migrate copies into S3: give --blob-store s3://…".into(),
        ));
    };
    let source = SqliteMetadata::open(data)?;
    let files = BlobFiles::open(data).map_err(|e| MigrateError::Setup(e.to_string()))?;
    let target = Arc::new(PostgresMetadata::connect(database, 4).await?);
    let blobs = Arc::new(
        S3Blobs::open(location, credentials, target.clone())
            .await
            .map_err(MigrateError::Setup)?,
    );
    // One migration at a time per target; serving processes may run meanwhile.
    let _lock = target.lock_job(Job::Migrate, true).await?;
    let mut report = Report::default();

    for (key, value) in source.export_settings().await? {
        target.put_setting(&key, &value).await?;
    }
    for (user_name, created_at) in source.export_users().await? {
        target.import_user(&user_name, created_at).await?;
        report.users += 1;
    }
    for (key, created_at) in source.export_access_keys().await? {
        if key.user_name.is_none() {
            target.replace_root_access_key(&key).await?;
        } else {
            target.import_access_key(&key, created_at).await?;
        }
        report.access_keys += 1;
    }
    for (hash, record) in source.export_tokens(now_epoch_seconds()).await? {
        target.import_token(&hash, &record).await?;
    }
    progress(format!(
        "settings, {} users and {} access keys copied",
        report.users, report.access_keys
    ));

    let copier = BlobCopier {
        files,
        blobs,
        target: target.clone(),
        recorded: source
            .export_blobs()
            .await?
            .into_iter()
            .map(|(digest, size, created_at)| (digest, (size, created_at)))
            .collect(),
        done: HashSet::new(),
    };
    let mut copier = copier;
    let mut after: Option<String> = None;
    loop {
        let page = source.list_repositories(after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.name.clone());
        for repository in page {
            copy_repository(
                &source,
                target.as_ref(),
                &mut copier,
                &repository,
                &mut report,
            )
            .await?;
            progress(format!("repository {} copied", repository.name));
        }
    }
    Ok(report)
}

/// Copies blobs into the bucket and publishes them to repositories, each blob's
/// bytes once however many repositories hold it.
struct BlobCopier {
    files: BlobFiles,
    blobs: Arc<S3Blobs>,
    target: Arc<PostgresMetadata>,
    /// The embedded registry's blob records: size and when each was first stored.
    recorded: HashMap<String, (u64, f64)>,
    /// Digests this run has counted already.
    done: HashSet<String>,
}

impl BlobCopier {
    /// Publishes `digest` to `repository_id`: its bytes are copied (and verified)
    /// unless the bucket has them, then recorded and linked under the lock that
    /// orders publication against garbage collection.
    async fn publish(
        &mut self,
        repository_id: i64,
        digest: &str,
        report: &mut Report,
    ) -> Result<(), MigrateError> {
        let failed = |message: String| MigrateError::Blob {
            digest: digest.to_string(),
            message,
        };
        let parsed = Digest::parse(digest).map_err(|e| failed(e.to_string()))?;
        let &(size, created_at) = self
            .recorded
            .get(digest)
            .ok_or_else(|| failed("the registry has no record of it".into()))?;
        let first = self.done.insert(digest.to_string());
        let stored = self
            .blobs
            .stat(&parsed)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let put_bytes: BlobStep = match stored {
            Some(stored) if stored == size => {
                if first {
                    report.blobs_present += 1;
                }
                // Still there under the lock, or the publication fails (run again).
                let (blobs, parsed) = (self.blobs.clone(), parsed.clone());
                Box::pin(async move {
                    match blobs.stat(&parsed).await? {
                        Some(_) => Ok(()),
                        None => Err(BlobError::NotFound(parsed.to_string())),
                    }
                })
            }
            Some(stored) => {
                return Err(failed(format!(
                    "the bucket holds {stored} bytes under this digest, the registry {size}"
                )))
            }
            None => {
                let read = self
                    .files
                    .read(&parsed, size)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                if read.size != size {
                    return Err(failed(format!(
                        "the file has {} bytes, the registry recorded {size}",
                        read.size
                    )));
                }
                let (staged, copied) = self
                    .blobs
                    .stage_blob(&parsed, read.stream.boxed())
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                report.blobs_copied += 1;
                report.bytes_copied += copied;
                let (blobs, parsed) = (self.blobs.clone(), parsed.clone());
                Box::pin(async move { blobs.publish_upload(&staged, &parsed).await })
            }
        };
        self.target
            .publish_blob(repository_id, &parsed, size, created_at, put_bytes)
            .await
            .map_err(|e| failed(e.to_string()))
    }
}

async fn copy_repository(
    source: &SqliteMetadata,
    target: &PostgresMetadata,
    copier: &mut BlobCopier,
    repository: &crate::storage::RepositoryRecord,
    report: &mut Report,
) -> Result<(), MigrateError> {
    let name = &repository.name;
    let resource_tags = source.resource_tags(repository.id).await?;
    let id = match target.insert_repository(repository, &resource_tags).await? {
        Some(id) => id,
        None => {
            // There already (an earlier run): bring its settings in line.
            let existing =
                target
                    .find_repository(name)
                    .await?
                    .ok_or_else(|| MigrateError::Repository {
                        repository: name.clone(),
                        message: "vanished while being copied".into(),
                    })?;
            for change in [
                RepositoryChange::TagMutability {
                    mutability: repository.image_tag_mutability.clone(),
                    exclusion_filters: repository.image_tag_mutability_exclusion_filters.clone(),
                },
                RepositoryChange::ScanOnPush(repository.scan_on_push),
            ] {
                target.update_repository(existing.id, change).await?;
            }
            target
                .put_resource_tags(existing.id, &resource_tags)
                .await?;
            existing.id
        }
    };
    target
        .update_repository(id, RepositoryChange::Policy(repository.policy.clone()))
        .await?;
    match source.lifecycle_policy(repository.id).await? {
        Some(lifecycle) => {
            target.put_lifecycle_policy(id, &lifecycle.text).await?;
            if let Some(at) = lifecycle.last_evaluated_at {
                target
                    .record_lifecycle_evaluation(id, &lifecycle.text, at)
                    .await?;
            }
        }
        None => {
            target.delete_lifecycle_policy(id).await?;
        }
    }
    // What its manifests reference is linked too (a blob unlinked after its image
    // was pushed is linked again), so that every image pulls whole and garbage
    // collection in the target knows every reference.
    let mut references: HashMap<String, Vec<String>> = HashMap::new();
    for (manifest, blob) in source.export_manifest_blobs(repository.id).await? {
        references.entry(manifest).or_default().push(blob);
    }
    let mut linked: BTreeSet<String> = source
        .export_repository_blobs(repository.id)
        .await?
        .into_iter()
        .collect();
    linked.extend(references.values().flatten().cloned());
    for digest in &linked {
        copier.publish(id, digest, report).await?;
    }
    for (record, tags) in source.export_manifests(repository.id).await? {
        let actual = Digest::from_sha256(&<sha2::Sha256 as sha2::Digest>::digest(&record.content));
        if actual.as_str() != record.digest {
            return Err(MigrateError::Manifest {
                repository: name.clone(),
                digest: record.digest.clone(),
                actual: actual.to_string(),
            });
        }
        let last_pulled_at = record.last_pulled_at;
        let digest = record.digest.clone();
        // Child manifests are not checked: an index is copied whatever order its
        // children arrive in (they were checked when it was pushed).
        let mut manifest = NewManifest {
            blobs: references.remove(&digest).unwrap_or_default(),
            record,
            children: Vec::new(),
            tag: None,
            tag_immutable: false,
        };
        for tag in tags.iter().map(Some).chain(tags.is_empty().then_some(None)) {
            manifest.tag = tag.cloned();
            target
                .put_manifest(id, manifest.clone())
                .await
                .map_err(|e| MigrateError::Repository {
                    repository: name.clone(),
                    message: format!("manifest {digest}: {e}"),
                })?;
        }
        if let Some(at) = last_pulled_at {
            target.record_pull(id, &digest, at).await?;
        }
        report.manifests += 1;
        report.tags += tags.len() as u64;
    }
    report.repositories += 1;
    Ok(())
}
