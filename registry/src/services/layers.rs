//! Layers (blobs) of a repository: availability, download URLs, reads and unlinks.

use berth_model::ecr::{
    BatchCheckLayerAvailabilityRequest, BatchCheckLayerAvailabilityResponse,
    GetDownloadUrlForLayerRequest, GetDownloadUrlForLayerResponse, Layer, LayerFailure,
};
use berth_model::oci::Digest;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::{Error, Result};
use crate::clock::now_epoch_seconds;
use crate::storage::{BlobError, BlobRead, RepositoryRecord};
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
        match state
            .metadata
            .repository_blob(repository.id, &digest)
            .await?
        {
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

fn download_mac(key: &[u8], repository: &str, digest: &str, expires: u64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(format!("GET\n{repository}\n{digest}\n{expires}").as_bytes());
    mac
}

/// Whether a presigned download URL's parameters are genuine and unexpired.
pub fn verify_download(
    key: &[u8],
    repository: &str,
    digest: &str,
    expires: &str,
    signature: &str,
) -> bool {
    let Ok(expires) = expires.parse::<u64>() else {
        return false;
    };
    let Ok(given) = hex::decode(signature) else {
        return false;
    };
    expires >= now_epoch_seconds() as u64
        && download_mac(key, repository, digest, expires)
            .verify_slice(&given)
            .is_ok()
}

pub async fn download_url(
    state: &AppState,
    repository: &RepositoryRecord,
    request: GetDownloadUrlForLayerRequest,
) -> Result<GetDownloadUrlForLayerResponse> {
    Digest::parse(&request.layer_digest).map_err(|_| {
        Error::InvalidParameter(format!(
            "Invalid parameter at 'layerDigest': '{}' is not a digest",
            request.layer_digest
        ))
    })?;
    if state
        .metadata
        .repository_blob(repository.id, &request.layer_digest)
        .await?
        .is_none()
    {
        return Err(blob_not_found(repository, &request.layer_digest));
    }
    let expires = now_epoch_seconds() as u64 + DOWNLOAD_URL_LIFETIME_SECONDS;
    let signature = hex::encode(
        download_mac(
            &state.url_signing_key,
            &repository.name,
            &request.layer_digest,
            expires,
        )
        .finalize()
        .into_bytes(),
    );
    Ok(GetDownloadUrlForLayerResponse {
        download_url: format!(
            "{}/v2/{}/blobs/{}?X-Berth-Expires={expires}&X-Berth-Signature={signature}",
            state.config.public_url, repository.name, request.layer_digest
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

/// A blob's size, if the repository may serve it.
pub async fn size(state: &AppState, repository: &RepositoryRecord, digest: &str) -> Result<u64> {
    parse_digest(digest)?;
    state
        .metadata
        .repository_blob(repository.id, digest)
        .await?
        .ok_or_else(|| blob_not_found(repository, digest))
}

/// A blob's bytes, if the repository may serve it.
pub async fn read(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
) -> Result<BlobRead> {
    let parsed = parse_digest(digest)?;
    size(state, repository, digest).await?;
    state.blobs.read(&parsed).await.map_err(|e| match e {
        BlobError::NotFound(_) => blob_not_found(repository, digest),
        other => other.into(),
    })
}

/// Removes the repository's link to a blob.
pub async fn unlink(state: &AppState, repository: &RepositoryRecord, digest: &str) -> Result<()> {
    parse_digest(digest)?;
    if !state.metadata.unlink_blob(repository.id, digest).await? {
        return Err(blob_not_found(repository, digest));
    }
    Ok(())
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
    size(state, repository, digest).await?;
    state
        .blobs
        .read_range(&parsed, start, end)
        .await
        .map_err(|e| match e {
            BlobError::NotFound(_) => blob_not_found(repository, digest),
            other => other.into(),
        })
}
