//! Blob upload sessions: started (or answered by a cross-repository mount), fed in
//! chunks, verified against their digest once complete, then linked to the
//! repository.

use berth_model::oci::Digest;

use super::error::{Error, Result};
use super::layers::parse_digest;
use crate::auth::{access, Principal};
use crate::clock::now_epoch_seconds;
use crate::storage::{BlobError, BlobStep, ByteStream, PublishError, RepositoryRecord};
use crate::AppState;

/// How a started upload stands.
pub enum Started {
    /// The blob was mounted from another repository: nothing to upload.
    Mounted(Digest),
    /// A session to send chunks to.
    Session { id: String },
    /// A monolithic upload, stored whole.
    Stored(Digest),
}

/// Where to mount a blob from: `?mount=<digest>&from=<repository>`.
pub struct Mount<'a> {
    pub digest: &'a str,
    pub from: &'a str,
}

/// Starts an upload into `repository`. A mount is done at once when the caller may
/// pull the blob from its source (everything a pull takes: [`access::BLOB_PULL`]);
/// otherwise, as the spec allows, a normal session starts, so a mount reveals
/// nothing a pull would not. With `whole`, the body is the entire blob and is stored
/// at once.
pub async fn start(
    state: &AppState,
    principal: &Principal,
    repository: &RepositoryRecord,
    mount: Option<Mount<'_>>,
    whole: Option<(&str, ByteStream)>,
) -> Result<Started> {
    if let Some(mount) = mount {
        let digest = parse_digest(mount.digest)?;
        if let Some(from) = state.metadata.find_repository(mount.from).await? {
            if access::authorize_all(&state.config, principal, access::BLOB_PULL, Some(&from))
                .is_ok()
                && state
                    .metadata
                    .mount_blob(repository.id, from.id, digest.as_str())
                    .await?
                    .is_some()
            {
                return Ok(Started::Mounted(digest));
            }
        }
    }
    let whole = match whole {
        Some((digest, body)) => Some((parse_digest(digest)?, body)),
        None => None,
    };
    let id = uuid::Uuid::new_v4().to_string();
    state
        .metadata
        .create_upload(&id, repository.id, now_epoch_seconds())
        .await?;
    state.blobs.start_upload(&id).await?;
    let Some((digest, body)) = whole else {
        return Ok(Started::Session { id });
    };
    if let Err(e) = state.blobs.append(&id, None, body).await {
        discard(state, &id).await;
        return Err(e.into());
    }
    commit(state, repository, &id, &digest).await?;
    Ok(Started::Stored(digest))
}

/// Fails unless `id` is an upload in progress in `repository`.
async fn require(state: &AppState, repository: &RepositoryRecord, id: &str) -> Result<()> {
    match state.metadata.find_upload(id).await? {
        Some(owner) if owner == repository.id => Ok(()),
        _ => Err(not_found(repository, id)),
    }
}

fn not_found(repository: &RepositoryRecord, id: &str) -> Error {
    Error::UploadNotFound {
        repository: repository.name.clone(),
        id: id.to_string(),
    }
}

fn blob_error(repository: &RepositoryRecord, id: &str, error: BlobError) -> Error {
    match error {
        BlobError::UnknownUpload(_) => not_found(repository, id),
        other => other.into(),
    }
}

/// Appends a chunk that starts at `start` (when the client said); the new size.
pub async fn append(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
    start: Option<u64>,
    body: ByteStream,
) -> Result<u64> {
    require(state, repository, id).await?;
    state
        .blobs
        .append(id, start, body)
        .await
        .map_err(|e| blob_error(repository, id, e))
}

/// Appends the last chunk, if any, then verifies and stores the blob.
pub async fn finish(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
    digest: Option<&str>,
    last: Option<(Option<u64>, ByteStream)>,
) -> Result<Digest> {
    require(state, repository, id).await?;
    let digest = digest.ok_or_else(|| {
        Error::InvalidDigest("completing an upload needs ?digest=<digest>".into())
    })?;
    let digest = parse_digest(digest)?;
    if let Some((start, body)) = last {
        state
            .blobs
            .append(id, start, body)
            .await
            .map_err(|e| blob_error(repository, id, e))?;
    }
    commit(state, repository, id, &digest).await?;
    Ok(digest)
}

/// Stores the verified upload `id` as blob `digest` in the repository. Verifying
/// (the slow part) happens first; moving the bytes into place and recording them
/// happen together under the metadata store's lock, so garbage collection can never
/// see the bytes without their record (README, "Architecture notes: garbage
/// collection"). A session that fails to complete ends, as with a digest mismatch.
async fn commit(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
    digest: &Digest,
) -> Result<()> {
    let published = async {
        let size = state.blobs.verify_upload(id, digest).await?;
        let blobs = state.blobs.clone();
        let (upload, target) = (id.to_string(), digest.clone());
        let put_bytes: BlobStep =
            Box::pin(async move { blobs.publish_upload(&upload, &target).await });
        state
            .metadata
            .publish_blob(repository.id, digest, size, now_epoch_seconds(), put_bytes)
            .await
    }
    .await;
    if published.is_err() {
        state.blobs.cancel_upload(id).await;
    }
    state.metadata.delete_upload(id).await?;
    match published {
        Ok(()) => Ok(()),
        Err(PublishError::Blob(e)) => Err(blob_error(repository, id, e)),
        Err(PublishError::Storage(e)) => Err(e.into()),
    }
}

/// Bytes received so far.
pub async fn status(state: &AppState, repository: &RepositoryRecord, id: &str) -> Result<u64> {
    require(state, repository, id).await?;
    state
        .blobs
        .upload_size(id)
        .await
        .map_err(|e| blob_error(repository, id, e))
}

pub async fn cancel(state: &AppState, repository: &RepositoryRecord, id: &str) -> Result<()> {
    require(state, repository, id).await?;
    discard(state, id).await;
    Ok(())
}

async fn discard(state: &AppState, id: &str) {
    state.blobs.cancel_upload(id).await;
    let _ = state.metadata.delete_upload(id).await;
}
