//! Images: what the ECR API and `/v2` both do with manifests, and the ECR image actions.

use berth_model::ecr::{
    self, BatchDeleteImageResponse, BatchGetImageResponse, BatchImagesRequest,
    DescribeImagesRequest, DescribeImagesResponse, Image, ImageDetail, ImageFailure,
    ImageIdentifier, ListImagesRequest, ListImagesResponse, PutImageRequest, PutImageResponse,
};
use berth_model::mutability;
use berth_model::oci::{self, Digest, ParsedManifest};
use sha2::{Digest as _, Sha256};

use super::error::{Error, Result};
use super::paging::{self, check_max_results};
use crate::clock::now_epoch_seconds;
use crate::storage::{
    ImageDeletion, ManifestRecord, NewManifest, PutManifestError, RepositoryRecord, TagStatus,
    Untag,
};
use crate::AppState;

pub(crate) fn tag_status(filter: Option<&ecr::ImageFilter>) -> Result<TagStatus> {
    match filter.and_then(|f| f.tag_status.as_deref()) {
        None | Some(ecr::TAG_STATUS_ANY) => Ok(TagStatus::Any),
        Some(ecr::TAG_STATUS_TAGGED) => Ok(TagStatus::Tagged),
        Some(ecr::TAG_STATUS_UNTAGGED) => Ok(TagStatus::Untagged),
        Some(other) => Err(Error::invalid(format!(
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
) -> Result<(Vec<(ManifestRecord, Vec<String>)>, Option<String>)> {
    let listing = paging::images(repository_id);
    let after = next_token
        .map(|t| state.page_tokens.open(&listing, t))
        .transpose()?;
    let rows = state
        .metadata
        .list_images(repository_id, after.as_deref(), limit + 1, status)
        .await?;
    Ok(state
        .page_tokens
        .cut(rows, limit, &listing, |(r, _)| r.digest.as_str()))
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

fn image_not_found(repository: &str, id: &ImageIdentifier) -> Error {
    // AWS's own rendering of an image id, `null` for the part not given.
    let part = |p: &Option<String>| p.as_deref().unwrap_or("null").to_string();
    let image = format!(
        "imageDigest:'{}', imageTag:'{}'",
        part(&id.image_digest),
        part(&id.image_tag)
    );
    Error::ImageNotFound {
        repository: repository.to_string(),
        image,
    }
}

pub async fn describe(
    state: &AppState,
    repository: &RepositoryRecord,
    request: DescribeImagesRequest,
) -> Result<DescribeImagesResponse> {
    let limit = check_max_results(request.max_results)?;
    let status = tag_status(request.filter.as_ref())?;
    let name = repository.name.clone();
    let repository_id = repository.id;

    if let Some(ids) = request.image_ids {
        if ids.is_empty() || ids.len() > 100 {
            return Err(Error::invalid(
                "Invalid parameter at 'imageIds': give between 1 and 100 image ids.",
            ));
        }
        let metadata = &state.metadata;
        let mut details: Vec<ImageDetail> = Vec::new();
        for id in ids {
            let digest = match (&id.image_digest, &id.image_tag) {
                (Some(d), _) => Some(d.clone()),
                (None, Some(t)) => metadata.resolve_tag(repository_id, t).await?,
                (None, None) => None,
            };
            let record = match &digest {
                Some(d) => metadata.find_manifest(repository_id, d).await?,
                None => None,
            };
            // A digest and tag given together must name the same image.
            let record = match (record, &id.image_tag) {
                (Some(r), Some(tag))
                    if metadata.resolve_tag(repository_id, tag).await?.as_deref()
                        != Some(&r.digest) =>
                {
                    None
                }
                (r, _) => r,
            };
            let Some(mut record) = record else {
                return Err(image_not_found(&name, &id));
            };
            if !details.iter().any(|d| d.image_digest == record.digest) {
                record.content = Vec::new();
                let tags = metadata.tags_of(repository_id, &record.digest).await?;
                details.push(detail(state, &name, record, tags));
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
) -> Result<ListImagesResponse> {
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

/// The blobs and the child manifests a manifest references.
fn references(parsed: &ParsedManifest) -> (Vec<String>, Vec<String>) {
    let blobs = parsed
        .blob_references()
        .map(|d| d.digest.to_string())
        .collect();
    let children = parsed
        .manifest_references()
        .map(|d| d.digest.to_string())
        .collect();
    (blobs, children)
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
) -> Result<Pushed> {
    let digest = Digest::from_sha256(&Sha256::digest(&content));
    if let Some(given) = expected_digest {
        if given != digest {
            return Err(Error::ManifestDigestMismatch {
                given: given.to_string(),
                actual: digest.to_string(),
            });
        }
    }
    if let Some(tag) = &tag {
        if !oci::is_valid_tag(tag) {
            return Err(Error::InvalidTag(tag.clone()));
        }
    }
    let parsed = ParsedManifest::parse(&content, content_type)
        .map_err(|e| Error::InvalidManifest(e.to_string()))?;
    let (blobs, children) = references(&parsed);
    let subject = parsed
        .manifest
        .subject
        .as_ref()
        .map(|s| s.digest.to_string());
    let id = repository.id;
    let immutable = tag.as_deref().is_some_and(|tag| {
        mutability::is_tag_immutable_str(
            &repository.image_tag_mutability,
            &repository.image_tag_mutability_exclusion_filters,
            tag,
        )
    });
    let mut record = ManifestRecord {
        digest: digest.to_string(),
        media_type: parsed.media_type.clone(),
        artifact_type: parsed.artifact_type(),
        content,
        image_size: parsed.layers_size(),
        pushed_at: now_epoch_seconds(),
        last_pulled_at: None,
        subject: subject.clone(),
    };
    if !children.is_empty() {
        record.image_size = state.metadata.manifests_size(id, &children).await?;
    }
    let repository_name = || repository.name.clone();
    state
        .metadata
        .put_manifest(
            id,
            NewManifest {
                record,
                blobs,
                children,
                tag,
                tag_immutable: immutable,
            },
        )
        .await
        .map_err(|e| match e {
            PutManifestError::MissingBlob(d) => Error::MissingBlobs {
                repository: repository_name(),
                digests: vec![d],
            },
            PutManifestError::MissingManifest(digest) => Error::MissingManifest {
                repository: repository_name(),
                digest,
            },
            PutManifestError::TagImmutable(tag) => Error::TagImmutable {
                repository: repository_name(),
                tag,
            },
            PutManifestError::Storage(e) => Error::Storage(e),
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
) -> Result<PutImageResponse> {
    let expected = request
        .image_digest
        .as_deref()
        .map(check_image_digest)
        .transpose()?;
    let content = request.image_manifest.into_bytes();
    // `/v2` infers an OCI manifest's omitted mediaType (OCI allows that, and the
    // Content-Type header carries it); PutImage has no header, and AWS refuses it.
    let declared = serde_json::from_slice::<serde_json::Value>(&content)
        .ok()
        .is_some_and(|m| m.get("mediaType").is_some_and(|t| t.is_string()));
    if request.image_manifest_media_type.is_none() && !declared {
        return Err(Error::invalid(
            "Invalid parameter at 'imageManifestMediaType': the manifest has no 'mediaType' and the request no 'imageManifestMediaType'; give one of them",
        ));
    }
    let digest = Digest::from_sha256(&Sha256::digest(&content));
    // AWS refuses a push that changes nothing.
    let id = repository.id;
    let exists = state
        .metadata
        .find_manifest(id, digest.as_str())
        .await?
        .is_some();
    let tag_points_here = match &request.image_tag {
        Some(t) => state.metadata.resolve_tag(id, t).await?.as_deref() == Some(digest.as_str()),
        None => true,
    };
    if exists && tag_points_here {
        return Err(Error::ImageAlreadyExists {
            repository: repository.name.clone(),
            digest: digest.to_string(),
            tag: request.image_tag.clone(),
        });
    }
    let pushed = push_manifest(
        state,
        repository,
        content.clone(),
        request.image_manifest_media_type.as_deref(),
        request.image_tag.clone(),
        expected,
    )
    .await?;
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

fn image_not_found_failure(id: &ImageIdentifier) -> ImageFailure {
    failure(
        id,
        ecr::FAILURE_IMAGE_NOT_FOUND,
        "Requested image not found",
    )
}

fn failure(id: &ImageIdentifier, code: &str, reason: impl Into<String>) -> ImageFailure {
    ImageFailure {
        image_id: id.clone(),
        failure_code: code.to_string(),
        failure_reason: reason.into(),
    }
}

/// Resolves image ids to manifests, as BatchGetImage and BatchDeleteImage need.
async fn resolve_ids(
    state: &AppState,
    repository_id: i64,
    ids: &[ImageIdentifier],
) -> Result<Vec<std::result::Result<ManifestRecord, ImageFailure>>> {
    let metadata = &state.metadata;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let not_found = || image_not_found_failure(id);
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
                    Some(t) => metadata.resolve_tag(repository_id, t).await?,
                    None => None,
                };
                match (digest, by_tag) {
                    (Some(d), Some(t)) if &t != d => Err(failure(
                        id,
                        ecr::FAILURE_TAG_DOES_NOT_MATCH_DIGEST,
                        "Tag does not match digest",
                    )),
                    (None, None) => Err(not_found()),
                    (Some(d), _) => metadata
                        .find_manifest(repository_id, d)
                        .await?
                        .ok_or_else(not_found),
                    (None, Some(d)) => metadata
                        .find_manifest(repository_id, &d)
                        .await?
                        .ok_or_else(not_found),
                }
            }
        };
        out.push(resolved);
    }
    Ok(out)
}

/// The one image `id` names (by digest, tag, or both, which must agree): what an
/// action about a single image (StartImageScan, DescribeImageScanFindings) needs.
pub async fn find(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &ImageIdentifier,
) -> Result<ManifestRecord> {
    let resolved = resolve_ids(state, repository.id, std::slice::from_ref(id)).await?;
    match resolved.into_iter().next() {
        Some(Ok(record)) => Ok(record),
        Some(Err(failure))
            if failure.failure_code != ecr::FAILURE_IMAGE_NOT_FOUND
                && failure.failure_code != ecr::FAILURE_TAG_DOES_NOT_MATCH_DIGEST =>
        {
            Err(Error::invalid(format!(
                "Invalid parameter at 'imageId': {}",
                failure.failure_reason
            )))
        }
        _ => Err(image_not_found(&repository.name, id)),
    }
}

fn check_batch(ids: &[ImageIdentifier]) -> Result<()> {
    if ids.is_empty() || ids.len() > 100 {
        return Err(Error::invalid(
            "Invalid parameter at 'imageIds': give between 1 and 100 image ids.",
        ));
    }
    Ok(())
}

pub async fn batch_get(
    state: &AppState,
    repository: &RepositoryRecord,
    request: BatchImagesRequest,
) -> Result<BatchGetImageResponse> {
    check_batch(&request.image_ids)?;
    let resolved = resolve_ids(state, repository.id, &request.image_ids).await?;
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

fn referenced(image_id: &ImageIdentifier, indexes: &[String]) -> ImageFailure {
    failure(
        image_id,
        ecr::FAILURE_REFERENCED_BY_MANIFEST_LIST,
        format!(
            "Requested image referenced by manifest list: [{}]",
            indexes.join(", ")
        ),
    )
}

/// By digest: deletes the image and its tags. By tag: removes the tag, and with the
/// image's last tag the image too ("When you remove the last tag from an image, the
/// image is deleted from your repository", AWS's API reference). An image an index
/// references is never deleted: that id fails with ImageReferencedByManifestList.
pub async fn batch_delete(
    state: &AppState,
    repository: &RepositoryRecord,
    request: BatchImagesRequest,
) -> Result<BatchDeleteImageResponse> {
    check_batch(&request.image_ids)?;
    let id = repository.id;
    let resolved = resolve_ids(state, id, &request.image_ids).await?;
    let mut response = BatchDeleteImageResponse::default();
    for (image_id, result) in request.image_ids.iter().zip(resolved) {
        match result {
            Ok(record) => {
                let refused = match (&image_id.image_digest, &image_id.image_tag) {
                    (None, Some(tag)) => match state.metadata.untag(id, tag, true).await? {
                        Untag::ReferencedBy(indexes) => Some(referenced(image_id, &indexes)),
                        Untag::NotFound => Some(image_not_found_failure(image_id)),
                        Untag::Removed(_) | Untag::ImageDeleted(_) => None,
                    },
                    _ => match state.metadata.delete_image(id, &record.digest).await? {
                        ImageDeletion::ReferencedBy(indexes) => {
                            Some(referenced(image_id, &indexes))
                        }
                        ImageDeletion::NotFound => Some(image_not_found_failure(image_id)),
                        ImageDeletion::Deleted => None,
                    },
                };
                match refused {
                    Some(f) => response.failures.push(f),
                    None => response.image_ids.push(ImageIdentifier {
                        image_digest: Some(record.digest),
                        image_tag: image_id.image_tag.clone(),
                    }),
                }
            }
            Err(f) => response.failures.push(f),
        }
    }
    Ok(response)
}

/// Checks an image id's digest, when given, is a digest.
pub fn check_image_digest(digest: &str) -> Result<Digest> {
    Digest::parse(digest)
        .map_err(|e| Error::invalid(format!("Invalid parameter at 'imageDigest': {e}")))
}
