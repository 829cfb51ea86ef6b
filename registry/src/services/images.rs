//! Images: what the ECR API and `/v2` both do with manifests, and the ECR image actions.

use berth_model::ecr::{
    self, BatchCheckLayerAvailabilityRequest, BatchCheckLayerAvailabilityResponse,
    BatchDeleteImageResponse, BatchGetImageResponse, BatchImagesRequest, DescribeImagesRequest,
    DescribeImagesResponse, ErrorType, GetDownloadUrlForLayerRequest,
    GetDownloadUrlForLayerResponse, Image, ImageDetail, ImageFailure, ImageIdentifier, Layer,
    LayerFailure, ListImagesRequest, ListImagesResponse, PutImageRequest, PutImageResponse,
};
use berth_model::oci::{self, Digest, ParsedManifest};
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

use crate::error::EcrError;
use crate::services::paging::{self, check_max_results};
use crate::store::images::{self as image_store, ManifestRecord, PutManifestError, TagStatus};
use crate::store::{self, RepositoryRecord};
use crate::AppState;

fn tag_status(filter: Option<&ecr::ImageFilter>) -> Result<TagStatus, EcrError> {
    match filter.and_then(|f| f.tag_status.as_deref()) {
        None | Some(ecr::TAG_STATUS_ANY) => Ok(TagStatus::Any),
        Some(ecr::TAG_STATUS_TAGGED) => Ok(TagStatus::Tagged),
        Some(ecr::TAG_STATUS_UNTAGGED) => Ok(TagStatus::Untagged),
        Some(other) => Err(EcrError::invalid_parameter(format!(
            "Invalid parameter at 'filter.tagStatus': '{other}' is not one of TAGGED, UNTAGGED, ANY."
        ))),
    }
}

/// One page of images (with their tags) in digest order, and the token for the next.
async fn image_page(
    state: &AppState,
    repository_id: i64,
    next_token: Option<&str>,
    limit: usize,
    status: TagStatus,
) -> Result<(Vec<(ManifestRecord, Vec<String>)>, Option<String>), EcrError> {
    let after = next_token
        .map(|t| paging::decode(paging::IMAGES, t))
        .transpose()?;
    let rows = state
        .store
        .call(move |conn| {
            image_store::list_images(conn, repository_id, after.as_deref(), limit + 1, status)
                .map_err(EcrError::from)
        })
        .await?;
    Ok(paging::cut(rows, limit, paging::IMAGES, |(r, _)| {
        r.digest.as_str()
    }))
}

fn detail(
    state: &AppState,
    repository: &str,
    record: ManifestRecord,
    tags: Vec<String>,
) -> ImageDetail {
    ImageDetail {
        registry_id: state.config.account_id.clone(),
        repository_name: repository.to_string(),
        image_digest: record.digest,
        image_tags: tags,
        image_size_in_bytes: record.image_size,
        image_pushed_at: record.pushed_at,
        image_manifest_media_type: record.media_type,
        artifact_media_type: record.artifact_type,
        last_recorded_pull_time: record.last_pulled_at,
        ..Default::default()
    }
}

fn image_not_found(state: &AppState, repository: &str, id: &ImageIdentifier) -> EcrError {
    let what = match (&id.image_digest, &id.image_tag) {
        (Some(d), Some(t)) => format!("imageDigest={d}, imageTag={t}"),
        (Some(d), None) => format!("imageDigest={d}"),
        (None, Some(t)) => format!("imageTag={t}"),
        (None, None) => "an empty image id".to_string(),
    };
    EcrError::new(
        ErrorType::ImageNotFound,
        format!(
            "The image with imageId {{{what}}} does not exist within the repository with name '{repository}' in the registry with id '{}'",
            state.config.account_id
        ),
    )
}

pub async fn describe(
    state: &AppState,
    repository: &RepositoryRecord,
    request: DescribeImagesRequest,
) -> Result<DescribeImagesResponse, EcrError> {
    let limit = check_max_results(request.max_results)?;
    let status = tag_status(request.filter.as_ref())?;
    let name = repository.name.clone();
    let repository_id = repository.id;

    if let Some(ids) = request.image_ids {
        if ids.is_empty() || ids.len() > 100 {
            return Err(EcrError::invalid_parameter(
                "Invalid parameter at 'imageIds': give between 1 and 100 image ids.",
            ));
        }
        let found = state
            .store
            .call(move |conn| {
                let mut found = Vec::new();
                for id in ids {
                    let digest = match (&id.image_digest, &id.image_tag) {
                        (Some(d), _) => Some(d.clone()),
                        (None, Some(t)) => image_store::resolve_tag(conn, repository_id, t)?,
                        (None, None) => None,
                    };
                    let record = match &digest {
                        Some(d) => image_store::find_manifest(conn, repository_id, d)?,
                        None => None,
                    };
                    // A digest and tag given together must name the same image.
                    let record = match (record, &id.image_tag) {
                        (Some(r), Some(tag))
                            if image_store::resolve_tag(conn, repository_id, tag)?.as_deref()
                                != Some(&r.digest) =>
                        {
                            None
                        }
                        (r, _) => r,
                    };
                    match record {
                        Some(mut r) => {
                            r.content = Vec::new();
                            let tags = image_store::tags_of(conn, repository_id, &r.digest)?;
                            found.push(Ok((r, tags)));
                        }
                        None => found.push(Err(id)),
                    }
                }
                Ok::<_, EcrError>(found)
            })
            .await?;
        let mut details: Vec<ImageDetail> = Vec::new();
        for entry in found {
            match entry {
                Ok((record, tags)) => {
                    if !details.iter().any(|d| d.image_digest == record.digest) {
                        details.push(detail(state, &name, record, tags));
                    }
                }
                Err(id) => return Err(image_not_found(state, &name, &id)),
            }
        }
        return Ok(DescribeImagesResponse {
            image_details: details,
            next_token: None,
        });
    }

    let (page, next_token) = image_page(
        state,
        repository_id,
        request.next_token.as_deref(),
        limit,
        status,
    )
    .await?;
    Ok(DescribeImagesResponse {
        image_details: page
            .into_iter()
            .map(|(r, tags)| detail(state, &name, r, tags))
            .collect(),
        next_token,
    })
}

pub async fn list(
    state: &AppState,
    repository: &RepositoryRecord,
    request: ListImagesRequest,
) -> Result<ListImagesResponse, EcrError> {
    let limit = check_max_results(request.max_results)?;
    let status = tag_status(request.filter.as_ref())?;
    let repository_id = repository.id;
    // Pages are cut at image boundaries; a page holds every tag of its images, so it may
    // hold slightly more than maxResults ids when an image has several tags.
    let (page, next_token) = image_page(
        state,
        repository_id,
        request.next_token.as_deref(),
        limit,
        status,
    )
    .await?;
    let mut image_ids = Vec::new();
    for (record, tags) in page {
        if tags.is_empty() {
            image_ids.push(ImageIdentifier {
                image_digest: Some(record.digest),
                image_tag: None,
            });
        } else {
            for tag in tags {
                image_ids.push(ImageIdentifier {
                    image_digest: Some(record.digest.clone()),
                    image_tag: Some(tag),
                });
            }
        }
    }
    Ok(ListImagesResponse {
        image_ids,
        next_token,
    })
}

/// Why a manifest push failed, whichever API carried it.
#[derive(Debug)]
pub enum PushError {
    Invalid(String),
    DigestMismatch { given: String, actual: String },
    InvalidTag(String),
    MissingBlob(String),
    MissingManifest(String),
    TagImmutable(String),
    Store(String),
}

impl From<crate::store::StoreError> for PushError {
    fn from(e: crate::store::StoreError) -> Self {
        PushError::Store(e.to_string())
    }
}

/// A stored manifest.
pub struct Pushed {
    pub digest: Digest,
    pub media_type: String,
    pub subject: Option<String>,
}

/// Validates and stores a manifest for `/v2` PUT and PutImage alike: digest and tag
/// checked, referenced blobs and child manifests required, tag immutability kept.
pub async fn push_manifest(
    state: &AppState,
    repository: &RepositoryRecord,
    content: Vec<u8>,
    content_type: Option<&str>,
    tag: Option<String>,
    expected_digest: Option<Digest>,
) -> Result<Pushed, PushError> {
    let digest = Digest::from_sha256(&Sha256::digest(&content));
    if let Some(given) = expected_digest {
        if given != digest {
            return Err(PushError::DigestMismatch {
                given: given.to_string(),
                actual: digest.to_string(),
            });
        }
    }
    if let Some(tag) = &tag {
        if !oci::is_valid_tag(tag) {
            return Err(PushError::InvalidTag(tag.clone()));
        }
    }
    let parsed = ParsedManifest::parse(&content, content_type)
        .map_err(|e| PushError::Invalid(e.to_string()))?;
    let blobs: Vec<String> = parsed
        .blob_references()
        .map(|d| d.digest.to_string())
        .collect();
    let children: Vec<String> = parsed
        .manifest_references()
        .map(|d| d.digest.to_string())
        .collect();
    let subject = parsed
        .manifest
        .subject
        .as_ref()
        .map(|s| s.digest.to_string());
    let id = repository.id;
    let immutable = repository.image_tag_mutability == ecr::TAG_IMMUTABLE;
    let record = ManifestRecord {
        digest: digest.to_string(),
        media_type: parsed.media_type.clone(),
        artifact_type: parsed.artifact_type(),
        content,
        image_size: parsed.layers_size(),
        pushed_at: store::now_epoch_seconds(),
        last_pulled_at: None,
        subject: subject.clone(),
    };
    state
        .store
        .call(move |conn| {
            let mut record = record;
            if !children.is_empty() {
                record.image_size = image_store::manifests_size(conn, id, &children)?;
            }
            image_store::put_manifest(
                conn,
                id,
                &record,
                &blobs,
                &children,
                tag.as_deref(),
                immutable,
            )
        })
        .await
        .map_err(|e| match e {
            PutManifestError::MissingBlob(d) => PushError::MissingBlob(d),
            PutManifestError::MissingManifest(d) => PushError::MissingManifest(d),
            PutManifestError::TagImmutable { tag } => PushError::TagImmutable(tag),
            PutManifestError::Store(m) => PushError::Store(m),
        })?;
    Ok(Pushed {
        digest,
        media_type: parsed.media_type,
        subject,
    })
}

pub async fn put_image(
    state: &AppState,
    repository: &RepositoryRecord,
    request: PutImageRequest,
) -> Result<PutImageResponse, EcrError> {
    let expected = request
        .image_digest
        .as_deref()
        .map(check_image_digest)
        .transpose()?;
    let content = request.image_manifest.into_bytes();
    let digest = Digest::from_sha256(&Sha256::digest(&content));
    // AWS refuses a push that changes nothing.
    let (id, tag, candidate) = (repository.id, request.image_tag.clone(), digest.to_string());
    let unchanged = state
        .store
        .call(move |conn| {
            let exists = image_store::find_manifest(conn, id, &candidate)?.is_some();
            let tag_points_here = match &tag {
                Some(t) => {
                    image_store::resolve_tag(conn, id, t)?.as_deref() == Some(candidate.as_str())
                }
                None => true,
            };
            Ok::<_, EcrError>(exists && tag_points_here)
        })
        .await?;
    if unchanged {
        return Err(EcrError::new(
            ErrorType::ImageAlreadyExists,
            format!(
                "Image with digest '{digest}'{} already exists in the repository with name '{}' in registry with id '{}'",
                request.image_tag.as_deref().map(|t| format!(" and tag '{t}'")).unwrap_or_default(),
                repository.name,
                state.config.account_id
            ),
        ));
    }
    let pushed = push_manifest(
        state,
        repository,
        content.clone(),
        request.image_manifest_media_type.as_deref(),
        request.image_tag.clone(),
        expected,
    )
    .await
    .map_err(|e| match e {
        PushError::Invalid(m) => EcrError::invalid_parameter(format!("Invalid parameter at 'imageManifest': {m}")),
        PushError::DigestMismatch { given, actual } => EcrError::new(
            ErrorType::ImageDigestDoesNotMatch,
            format!("The digest of the manifest is '{actual}', not the imageDigest '{given}' given"),
        ),
        PushError::InvalidTag(t) => EcrError::invalid_parameter(format!("Invalid parameter at 'imageTag': '{t}' is not a valid tag")),
        PushError::MissingBlob(d) => EcrError::new(
            ErrorType::LayersNotFound,
            format!("Layers with digests '[{d}]' required for pushing image into repository with name '{}' in the registry with id '{}' do not exist", repository.name, state.config.account_id),
        ),
        PushError::MissingManifest(d) => EcrError::new(
            ErrorType::ReferencedImagesNotFound,
            format!("The image index references '{d}', which is not in repository '{}'", repository.name),
        ),
        PushError::TagImmutable(t) => EcrError::new(
            ErrorType::ImageTagAlreadyExists,
            format!("The image tag '{t}' already exists in the '{}' repository and cannot be overwritten because the repository is immutable.", repository.name),
        ),
        PushError::Store(m) => EcrError::server(m),
    })?;
    Ok(PutImageResponse {
        image: Image {
            registry_id: state.config.account_id.clone(),
            repository_name: repository.name.clone(),
            image_id: ImageIdentifier {
                image_digest: Some(pushed.digest.to_string()),
                image_tag: request.image_tag,
            },
            image_manifest: String::from_utf8(content).unwrap_or_default(),
            image_manifest_media_type: pushed.media_type,
        },
    })
}

fn failure(id: &ImageIdentifier, code: &str, reason: impl Into<String>) -> ImageFailure {
    ImageFailure {
        image_id: id.clone(),
        failure_code: code.to_string(),
        failure_reason: reason.into(),
    }
}

/// Resolves image ids to manifests, as BatchGetImage and BatchDeleteImage need.
fn resolve_ids(
    conn: &rusqlite::Connection,
    repository_id: i64,
    ids: &[ImageIdentifier],
) -> Result<Vec<Result<ManifestRecord, ImageFailure>>, crate::store::StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let resolved = match (&id.image_digest, &id.image_tag) {
            (None, None) => Err(failure(
                id,
                ecr::FAILURE_MISSING_DIGEST_AND_TAG,
                "Missing image digest and image tag",
            )),
            (Some(d), _) if Digest::parse(d).is_err() => Err(failure(
                id,
                ecr::FAILURE_INVALID_IMAGE_DIGEST,
                "Invalid image digest",
            )),
            (_, Some(t)) if !oci::is_valid_tag(t) => Err(failure(
                id,
                ecr::FAILURE_INVALID_IMAGE_TAG,
                "Invalid image tag",
            )),
            (digest, tag) => {
                let by_tag = match tag {
                    Some(t) => image_store::resolve_tag(conn, repository_id, t)?,
                    None => None,
                };
                match (digest, tag, by_tag.clone()) {
                    (Some(d), Some(_), Some(t)) if &t != d => Err(failure(
                        id,
                        ecr::FAILURE_TAG_DOES_NOT_MATCH_DIGEST,
                        "Tag does not match digest",
                    )),
                    (_, Some(_), None) => Err(failure(
                        id,
                        ecr::FAILURE_IMAGE_NOT_FOUND,
                        "Requested image not found",
                    )),
                    (Some(_), _, _) | (None, _, Some(_)) => {
                        let d = digest.clone().or(by_tag).unwrap_or_default();
                        match image_store::find_manifest(conn, repository_id, &d)? {
                            Some(record) => Ok(record),
                            None => Err(failure(
                                id,
                                ecr::FAILURE_IMAGE_NOT_FOUND,
                                "Requested image not found",
                            )),
                        }
                    }
                    (None, None, None) => Err(failure(
                        id,
                        ecr::FAILURE_MISSING_DIGEST_AND_TAG,
                        "Missing image digest and image tag",
                    )),
                }
            }
        };
        out.push(resolved);
    }
    Ok(out)
}

fn check_batch(ids: &[ImageIdentifier]) -> Result<(), EcrError> {
    if ids.is_empty() || ids.len() > 100 {
        return Err(EcrError::invalid_parameter(
            "Invalid parameter at 'imageIds': give between 1 and 100 image ids.",
        ));
    }
    Ok(())
}

pub async fn batch_get(
    state: &AppState,
    repository: &RepositoryRecord,
    request: BatchImagesRequest,
) -> Result<BatchGetImageResponse, EcrError> {
    check_batch(&request.image_ids)?;
    let (id, ids) = (repository.id, request.image_ids.clone());
    let resolved = state
        .store
        .call(move |conn| resolve_ids(conn, id, &ids).map_err(EcrError::from))
        .await?;
    let mut response = BatchGetImageResponse::default();
    for (image_id, result) in request.image_ids.iter().zip(resolved) {
        match result {
            Ok(record) => {
                if let Some(accepted) = &request.accepted_media_types {
                    if !accepted.iter().any(|a| a == &record.media_type) {
                        response.failures.push(failure(
                            image_id,
                            ecr::FAILURE_IMAGE_NOT_FOUND,
                            format!("The image's manifest is {}, which is not among the acceptedMediaTypes", record.media_type),
                        ));
                        continue;
                    }
                }
                response.images.push(Image {
                    registry_id: state.config.account_id.clone(),
                    repository_name: repository.name.clone(),
                    image_id: ImageIdentifier {
                        image_digest: Some(record.digest.clone()),
                        image_tag: image_id.image_tag.clone(),
                    },
                    image_manifest: String::from_utf8_lossy(&record.content).into_owned(),
                    image_manifest_media_type: record.media_type,
                });
            }
            Err(f) => response.failures.push(f),
        }
    }
    Ok(response)
}

/// By tag: removes the tag only. By digest: deletes the image and its tags.
pub async fn batch_delete(
    state: &AppState,
    repository: &RepositoryRecord,
    request: BatchImagesRequest,
) -> Result<BatchDeleteImageResponse, EcrError> {
    check_batch(&request.image_ids)?;
    let (id, ids) = (repository.id, request.image_ids.clone());
    let outcome = state
        .store
        .call(move |conn| {
            let resolved = resolve_ids(conn, id, &ids)?;
            let mut response = BatchDeleteImageResponse::default();
            for (image_id, result) in ids.iter().zip(resolved) {
                match result {
                    Ok(record) => {
                        match (&image_id.image_digest, &image_id.image_tag) {
                            (None, Some(tag)) => {
                                image_store::delete_tag(conn, id, tag)?;
                            }
                            _ => {
                                image_store::delete_manifest(conn, id, &record.digest)?;
                            }
                        }
                        response.image_ids.push(ImageIdentifier {
                            image_digest: Some(record.digest),
                            image_tag: image_id.image_tag.clone(),
                        });
                    }
                    Err(f) => response.failures.push(f),
                }
            }
            Ok::<_, EcrError>(response)
        })
        .await?;
    Ok(outcome)
}

pub async fn batch_check_layers(
    state: &AppState,
    repository: &RepositoryRecord,
    request: BatchCheckLayerAvailabilityRequest,
) -> Result<BatchCheckLayerAvailabilityResponse, EcrError> {
    if request.layer_digests.is_empty() || request.layer_digests.len() > 100 {
        return Err(EcrError::invalid_parameter(
            "Invalid parameter at 'layerDigests': give between 1 and 100 digests.",
        ));
    }
    let (id, digests) = (repository.id, request.layer_digests);
    state
        .store
        .call(move |conn| {
            let mut response = BatchCheckLayerAvailabilityResponse::default();
            for digest in digests {
                if Digest::parse(&digest).is_err() {
                    response.failures.push(LayerFailure {
                        layer_digest: digest,
                        failure_code: "InvalidLayerDigest".into(),
                        failure_reason: "Invalid layer digest".into(),
                    });
                    continue;
                }
                match image_store::repository_blob(conn, id, &digest)? {
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
            Ok::<_, EcrError>(response)
        })
        .await
}

/// How long a GetDownloadUrlForLayer URL works.
pub const DOWNLOAD_URL_LIFETIME_SECONDS: u64 = 15 * 60;

fn download_signature(key: &[u8], repository: &str, digest: &str, expires: u64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(format!("GET\n{repository}\n{digest}\n{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
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
    let now = store::now_epoch_seconds() as u64;
    let Ok(given) = hex::decode(signature) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(format!("GET\n{repository}\n{digest}\n{expires}").as_bytes());
    expires >= now && mac.verify_slice(&given).is_ok()
}

pub async fn download_url(
    state: &AppState,
    repository: &RepositoryRecord,
    request: GetDownloadUrlForLayerRequest,
) -> Result<GetDownloadUrlForLayerResponse, EcrError> {
    check_image_digest(&request.layer_digest).map_err(|_| {
        EcrError::invalid_parameter(format!(
            "Invalid parameter at 'layerDigest': '{}' is not a digest",
            request.layer_digest
        ))
    })?;
    let (id, digest) = (repository.id, request.layer_digest.clone());
    let present = state
        .store
        .call(move |conn| image_store::repository_blob(conn, id, &digest).map_err(EcrError::from))
        .await?;
    if present.is_none() {
        return Err(EcrError::new(
            ErrorType::LayersNotFound,
            format!(
                "The layer '{}' does not exist in the repository with name '{}'",
                request.layer_digest, repository.name
            ),
        ));
    }
    let expires = store::now_epoch_seconds() as u64 + DOWNLOAD_URL_LIFETIME_SECONDS;
    let signature = download_signature(
        &state.url_signing_key,
        &repository.name,
        &request.layer_digest,
        expires,
    );
    Ok(GetDownloadUrlForLayerResponse {
        download_url: format!(
            "{}/v2/{}/blobs/{}?X-Berth-Expires={expires}&X-Berth-Signature={signature}",
            state.config.public_url, repository.name, request.layer_digest
        ),
        layer_digest: request.layer_digest,
    })
}

/// Checks an image id's digest, when given, is a digest.
pub fn check_image_digest(digest: &str) -> Result<Digest, EcrError> {
    Digest::parse(digest).map_err(|e| {
        EcrError::invalid_parameter(format!("Invalid parameter at 'imageDigest': {e}"))
    })
}
