//! Blob upload sessions: started (or answered by a cross-repository mount), fed in
//! chunks, verified against their digest once complete, then linked to the
//! repository. `/v2` uploads and the ECR API's (InitiateLayerUpload,
//! UploadLayerPart, CompleteLayerUpload) are the same sessions: a session started
//! one way can be fed and completed the other, and both end in the same verified,
//! durable publication.

use berth_model::ecr::MAX_LAYER_PART_BYTES;
use berth_model::oci::Digest;
use bytes::Bytes;

use super::error::{Error, Result};
use super::layers::{self, parse_digest};
use super::policies;
use crate::auth::access::{self, On};
use crate::auth::Principal;
use crate::clock::now_epoch_seconds;
use crate::storage::{BlobError, BlobStep, ByteStream, PublishError, RepositoryRecord};
use crate::AppState;

/// The part size InitiateLayerUpload asks for: what ECR answers (10 MiB, its
/// quota's largest part). Berth takes parts of any size up to
/// [`MAX_LAYER_PART_BYTES`], the largest the API reference allows.
pub const LAYER_PART_SIZE: u64 = 10 << 20;

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
            let access = policies::access(state).await?;
            if access
                .authorize_all(principal, access::BLOB_PULL, On::Repository(&from))
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
    let id = new_session(state, repository).await?;
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

/// A new, empty session: its record first, then its bytes (the collector lists
/// files before records, so a file without a record belongs to no session).
async fn new_session(state: &AppState, repository: &RepositoryRecord) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    state
        .metadata
        .create_upload(&id, repository.id, now_epoch_seconds())
        .await?;
    state.blobs.start_upload(&id).await?;
    Ok(id)
}

/// InitiateLayerUpload: a session for the layer's parts.
pub async fn initiate(state: &AppState, repository: &RepositoryRecord) -> Result<String> {
    new_session(state, repository).await
}

/// AWS's model constrains upload ids to this form (a UUID); anything else is a
/// malformed request, not an unknown upload.
fn check_upload_id(id: &str) -> Result<()> {
    let well_formed = id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if well_formed {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid parameter at 'uploadId' failed to satisfy constraint: 'must satisfy regular expression pattern: [0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}' (got '{id}')"
        )))
    }
}

/// UploadLayerPart: appends bytes `first..=last` of the layer, which must continue
/// the upload exactly where it stands and hold exactly that many bytes. A part that
/// does not is refused whole (InvalidLayerPart, saying the last byte the upload
/// holds, so the client can resume); the upload stays as it was. Returns the offset
/// of the last byte received.
pub async fn upload_part(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
    first: u64,
    last: u64,
    part: Vec<u8>,
) -> Result<u64> {
    check_upload_id(id)?;
    require(state, repository, id).await?;
    let invalid = async |reason: String| -> Result<u64> {
        let held = status(state, repository, id).await?;
        Err(Error::InvalidLayerPart {
            repository: repository.name.clone(),
            id: id.to_string(),
            last_valid_byte: held.checked_sub(1),
            reason,
        })
    };
    let length = part.len() as u64;
    if part.is_empty() {
        return invalid("The layer part is empty: layerPartBlob holds no bytes.".into()).await;
    }
    if part.len() > MAX_LAYER_PART_BYTES {
        return invalid(format!(
            "The layer part size is not valid: {length} bytes, more than the {MAX_LAYER_PART_BYTES} a part may hold."
        ))
        .await;
    }
    // `length` is at least 1 here, so this cannot overflow as `last - first + 1` could.
    if last < first || last - first != length - 1 {
        return invalid(format!(
            "The layer part size is not valid: partFirstByte {first} to partLastByte {last} is not the {length} bytes layerPartBlob holds."
        ))
        .await;
    }
    let body: ByteStream = Box::pin(futures_util::stream::once(async move {
        Ok::<_, std::io::Error>(Bytes::from(part))
    }));
    match append(state, repository, id, Some(first), body).await {
        Ok(size) => Ok(size - 1),
        Err(Error::UploadOutOfOrder { size, start }) => Err(Error::InvalidLayerPart {
            repository: repository.name.clone(),
            id: id.to_string(),
            last_valid_byte: size.checked_sub(1),
            reason: format!(
                "The first byte specified is not consecutive to the last byte of a previous layer part upload: the part starts at byte {start}, but the upload holds {size} bytes, so the next part starts at byte {size}."
            ),
        }),
        Err(other) => Err(other),
    }
}

/// CompleteLayerUpload: verifies the upload against the layer's digest and stores it
/// as `/v2` uploads are stored. An upload without bytes is refused and kept
/// (EmptyUpload); a layer the repository already has ends the upload
/// (LayerAlreadyExists), its link renewed for the push under way; a digest mismatch
/// ends it too (the bytes are not the layer asked for).
pub async fn complete_layer(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
    digests: &[String],
) -> Result<Digest> {
    check_upload_id(id)?;
    if digests.is_empty() || digests.len() > 100 {
        return Err(Error::invalid(
            "Invalid parameter at 'layerDigests': give between 1 and 100 digests.",
        ));
    }
    let mut parsed = Vec::with_capacity(digests.len());
    for digest in digests {
        parsed.push(Digest::parse(digest).map_err(|e| {
            Error::invalid(format!(
                "Invalid parameter at 'layerDigests': '{digest}': {e}"
            ))
        })?);
    }
    let digest = parsed[0].clone();
    if let Some(other) = parsed.iter().find(|d| **d != digest) {
        return Err(Error::invalid(format!(
            "Invalid parameter at 'layerDigests': a layer has one digest, but both '{digest}' and '{other}' were given."
        )));
    }
    require(state, repository, id).await?;
    if status(state, repository, id).await? == 0 {
        return Err(Error::EmptyUpload {
            repository: repository.name.clone(),
            id: id.to_string(),
        });
    }
    if layers::claim(state, repository, digest.as_str())
        .await?
        .is_some()
    {
        discard(state, id).await;
        return Err(Error::LayerAlreadyExists {
            repository: repository.name.clone(),
            digest: digest.to_string(),
        });
    }
    commit(state, repository, id, &digest).await?;
    Ok(digest)
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
