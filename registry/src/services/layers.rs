//! Layers (blobs) of a repository: availability, download URLs, reads and unlinks.

use berth_model::ecr::{
    BatchCheckLayerAvailabilityRequest, BatchCheckLayerAvailabilityResponse,
    GetDownloadUrlForLayerRequest, GetDownloadUrlForLayerResponse, Layer, LayerFailure,
};
use berth_model::oci::Digest;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::{Error, Result};
use super::repositories;
use crate::auth::Principal;
use crate::clock::now_epoch_seconds;
use crate::storage::{BlobError, BlobRead, BlobUnlink, RepositoryRecord};
use crate::AppState;

pub async fn batch_check(
    state: &AppState,
    repository: &RepositoryRecord,
    request: BatchCheckLayerAvailabilityRequest,
) -> Result<BatchCheckLayerAvailabilityResponse> {
    if request.layer_digests.is_empty() || request.layer_digests.len() > 100 {
        return Err(Error::invalid(
            "Invalid parameter at 'layerDigests': give between 1 and 100 digests.",
        ));
    }
    let mut response = BatchCheckLayerAvailabilityResponse::default();
    for digest in request.layer_digests {
        if Digest::parse(&digest).is_err() {
            response.failures.push(LayerFailure {
                layer_digest: digest,
                failure_code: "InvalidLayerDigest".into(),
                failure_reason: "Invalid layer digest".into(),
            });
            continue;
        }
        match available(state, repository, &digest, true).await? {
            Some(size) => response.layers.push(Layer {
                layer_digest: digest,
                layer_availability: "AVAILABLE".into(),
                layer_size: size,
                media_type: None,
            }),
            None => response.failures.push(LayerFailure {
                layer_digest: digest,
                failure_code: "MissingLayerDigest".into(),
                failure_reason: "Could not find layer in this repository".into(),
            }),
        }
    }
    Ok(response)
}

/// How long a GetDownloadUrlForLayer URL works.
pub const DOWNLOAD_URL_LIFETIME_SECONDS: u64 = 15 * 60;
/// How long a blob GET's redirect to the blob store works: the client follows it at
/// once, and a download that has started is not cut off when it expires.
pub const REDIRECT_LIFETIME: Duration = Duration::from_secs(5 * 60);

fn download_mac(
    key: &[u8],
    repository: &str,
    digest: &str,
    expires: u64,
    access_key_id: &str,
) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(format!("GET\n{repository}\n{digest}\n{expires}\n{access_key_id}").as_bytes());
    mac
}

/// The query parameters of a download URL.
pub struct DownloadUrl<'a> {
    pub expires: &'a str,
    pub access_key_id: &'a str,
    pub signature: &'a str,
}

/// The repository a download URL reads from, when the URL is genuine and unexpired,
/// and the key that asked for it still exists and may still download from there: a
/// removed key, or a Deny added since, stops its URLs at once.
pub async fn check_download(
    state: &AppState,
    repository: &str,
    digest: &str,
    url: DownloadUrl<'_>,
) -> Result<RepositoryRecord> {
    let invalid = || {
        Error::AccessDenied("the download URL is invalid or has expired: ask for a new one".into())
    };
    let expires = url.expires.parse::<u64>().map_err(|_| invalid())?;
    let given = hex::decode(url.signature).map_err(|_| invalid())?;
    if expires < now_epoch_seconds() as u64
        || download_mac(
            &state.url_signing_key,
            repository,
            digest,
            expires,
            url.access_key_id,
        )
        .verify_slice(&given)
        .is_err()
    {
        return Err(invalid());
    }
    let key = state
        .metadata
        .find_access_key(url.access_key_id)
        .await?
        .ok_or_else(|| {
            Error::AccessDenied(
                "the access key that asked for this download URL no longer exists".into(),
            )
        })?;
    let principal = Principal::for_key(&state.config, key);
    repositories::authorized(state, &principal, "ecr:GetDownloadUrlForLayer", repository).await
}

/// A URL that downloads the layer without credentials for 15 minutes. Berth's own
/// URLs last only as long as `principal` keeps its key and its permission; with
/// `--blob-redirect` it is the object store's presigned URL, which (as on ECR) no
/// one can revoke before it expires.
pub async fn download_url(
    state: &AppState,
    principal: &Principal,
    repository: &RepositoryRecord,
    request: GetDownloadUrlForLayerRequest,
) -> Result<GetDownloadUrlForLayerResponse> {
    Digest::parse(&request.layer_digest).map_err(|_| {
        Error::InvalidParameter(format!(
            "Invalid parameter at 'layerDigest': '{}' is not a digest",
            request.layer_digest
        ))
    })?;
    if available(state, repository, &request.layer_digest, false)
        .await?
        .is_none()
    {
        return Err(blob_not_found(repository, &request.layer_digest));
    }
    let digest = parse_digest(&request.layer_digest)?;
    if state.config.blob_redirect {
        let lifetime = Duration::from_secs(DOWNLOAD_URL_LIFETIME_SECONDS);
        if let Some(url) = state.blobs.presigned_url(&digest, lifetime).await? {
            return Ok(GetDownloadUrlForLayerResponse {
                download_url: url,
                layer_digest: request.layer_digest,
            });
        }
    }
    let expires = now_epoch_seconds() as u64 + DOWNLOAD_URL_LIFETIME_SECONDS;
    let signature = hex::encode(
        download_mac(
            &state.url_signing_key,
            &repository.name,
            &request.layer_digest,
            expires,
            &principal.access_key_id,
        )
        .finalize()
        .into_bytes(),
    );
    Ok(GetDownloadUrlForLayerResponse {
        download_url: format!(
            "{}/v2/{}/blobs/{}?X-Berth-Expires={expires}&X-Berth-Key={}&X-Berth-Signature={signature}",
            state.config.public_url, repository.name, request.layer_digest, principal.access_key_id
        ),
        layer_digest: request.layer_digest,
    })
}

pub fn parse_digest(digest: &str) -> Result<Digest> {
    Digest::parse(digest).map_err(|e| Error::InvalidDigest(e.to_string()))
}

fn blob_not_found(repository: &RepositoryRecord, digest: &str) -> Error {
    Error::BlobNotFound {
        repository: repository.name.clone(),
        digest: digest.to_string(),
    }
}

/// A blob's size, if the repository has it and its bytes are stored whole (a
/// missing or damaged file counts as missing, so a push uploads it again). With
/// `claim`, the check is a push's: the link counts as renewed.
async fn available(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
    claim: bool,
) -> Result<Option<u64>> {
    let parsed = parse_digest(digest)?;
    let recorded = if claim {
        state
            .metadata
            .claim_blob(repository.id, digest, now_epoch_seconds())
            .await?
    } else {
        state
            .metadata
            .repository_blob(repository.id, digest)
            .await?
    };
    let Some(size) = recorded else {
        return Ok(None);
    };
    Ok(match state.blobs.stat(&parsed).await? {
        Some(stored) if stored == size => Some(size),
        _ => None,
    })
}

/// A blob's size, if the repository has it whole, for a push that then need not
/// upload it: the link counts as renewed, so an image deletion meanwhile keeps it.
pub async fn claim(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
) -> Result<Option<u64>> {
    available(state, repository, digest, true).await
}

/// A blob's size for `/v2` HEAD, which pushes ask before uploading.
pub async fn size(state: &AppState, repository: &RepositoryRecord, digest: &str) -> Result<u64> {
    available(state, repository, digest, true)
        .await?
        .ok_or_else(|| blob_not_found(repository, digest))
}

/// A blob's size for a pull: whether it is stored whole, without renewing its link.
pub async fn stored_size(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
) -> Result<u64> {
    available(state, repository, digest, false)
        .await?
        .ok_or_else(|| blob_not_found(repository, digest))
}

/// Where a client may fetch a blob the repository may serve without passing
/// through this process (a presigned URL of the blob store), when the registry
/// redirects blob downloads and its store has such URLs.
pub async fn redirect(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
) -> Result<Option<String>> {
    if !state.config.blob_redirect {
        return Ok(None);
    }
    let parsed = parse_digest(digest)?;
    stored_size(state, repository, digest).await?;
    Ok(state
        .blobs
        .presigned_url(&parsed, REDIRECT_LIFETIME)
        .await?)
}

/// A blob's bytes, if the repository may serve it, verified as they stream: a damaged
/// file ends the stream with an error instead of completing it.
pub async fn read(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
) -> Result<BlobRead> {
    let parsed = parse_digest(digest)?;
    let size = state
        .metadata
        .repository_blob(repository.id, digest)
        .await?
        .ok_or_else(|| blob_not_found(repository, digest))?;
    state.blobs.read(&parsed, size).await.map_err(|e| match e {
        BlobError::NotFound(_) => blob_not_found(repository, digest),
        other => other.into(),
    })
}

/// Removes the repository's link to a blob, unless a manifest there needs it.
pub async fn unlink(state: &AppState, repository: &RepositoryRecord, digest: &str) -> Result<()> {
    parse_digest(digest)?;
    match state.metadata.unlink_blob(repository.id, digest).await? {
        BlobUnlink::Unlinked => Ok(()),
        BlobUnlink::NotFound => Err(blob_not_found(repository, digest)),
        BlobUnlink::ReferencedBy(manifests) => Err(Error::BlobReferenced {
            repository: repository.name.clone(),
            digest: digest.to_string(),
            manifests,
        }),
    }
}

/// Bytes `start..=end` of a blob the repository may serve.
pub async fn read_range(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
    start: u64,
    end: u64,
) -> Result<BlobRead> {
    let parsed = parse_digest(digest)?;
    stored_size(state, repository, digest).await?;
    state
        .blobs
        .read_range(&parsed, start, end)
        .await
        .map_err(|e| match e {
            BlobError::NotFound(_) => blob_not_found(repository, digest),
            other => other.into(),
        })
}
