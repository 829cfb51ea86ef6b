//! Images as the ECR API shows them: DescribeImages and ListImages.

use base64::Engine;
use berth_model::ecr::{
    self, DescribeImagesRequest, DescribeImagesResponse, ErrorType, ImageDetail, ImageIdentifier,
    ListImagesRequest, ListImagesResponse,
};
use berth_model::oci::Digest;

use crate::error::EcrError;
use crate::services::repositories::{check_max_results, require_repository};
use crate::store::images::{self as image_store, ManifestRecord, TagStatus};
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

const TOKEN_PREFIX: &str = "image:";

fn encode_token(last: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{last}"))
}

fn decode_token(token: &str) -> Result<String, EcrError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(TOKEN_PREFIX).map(str::to_string))
        .ok_or_else(|| {
            EcrError::invalid_parameter(
                "Invalid parameter at 'nextToken': the token was not issued by this registry.",
            )
        })
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
    request: DescribeImagesRequest,
) -> Result<DescribeImagesResponse, EcrError> {
    let repository = require_repository(
        state,
        request.registry_id.as_deref(),
        &request.repository_name,
    )
    .await?;
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

    let after = request
        .next_token
        .as_deref()
        .map(decode_token)
        .transpose()?;
    let mut page = state
        .store
        .call(move |conn| {
            image_store::list_images(conn, repository_id, after.as_deref(), limit + 1, status)
                .map_err(EcrError::from)
        })
        .await?;
    let next_token = if page.len() > limit {
        page.truncate(limit);
        page.last().map(|(r, _)| encode_token(&r.digest))
    } else {
        None
    };
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
    request: ListImagesRequest,
) -> Result<ListImagesResponse, EcrError> {
    let repository = require_repository(
        state,
        request.registry_id.as_deref(),
        &request.repository_name,
    )
    .await?;
    let limit = check_max_results(request.max_results)?;
    let status = tag_status(request.filter.as_ref())?;
    let repository_id = repository.id;
    let after = request
        .next_token
        .as_deref()
        .map(decode_token)
        .transpose()?;
    // Pages are cut at image boundaries; a page holds every tag of its images, so it may
    // hold slightly more than maxResults ids when an image has several tags.
    let mut page = state
        .store
        .call(move |conn| {
            image_store::list_images(conn, repository_id, after.as_deref(), limit + 1, status)
                .map_err(EcrError::from)
        })
        .await?;
    let next_token = if page.len() > limit {
        page.truncate(limit);
        page.last().map(|(r, _)| encode_token(&r.digest))
    } else {
        None
    };
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

/// Checks an image id's digest, when given, is a digest.
pub fn check_image_digest(digest: &str) -> Result<Digest, EcrError> {
    Digest::parse(digest).map_err(|e| {
        EcrError::invalid_parameter(format!("Invalid parameter at 'imageDigest': {e}"))
    })
}
