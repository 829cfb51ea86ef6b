//! Manifests: GET/HEAD by tag or digest, PUT, DELETE.

use axum::body::Body;
use axum::http::{header, HeaderName, StatusCode};
use axum::response::Response;

use super::{content_digest, header_value, location, respond, wire, OciCode, OciError, Request};
use crate::services::images;
use crate::services::manifests::{self, Reference};
use crate::storage::RepositoryRecord;
use crate::AppState;

/// ECR's limit on a manifest's size.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

pub(super) async fn get(
    state: &AppState,
    repository: &RepositoryRecord,
    reference: &str,
    with_body: bool,
) -> Result<Response, OciError> {
    let record = if with_body {
        manifests::pull(state, repository, reference).await
    } else {
        manifests::find(state, repository, reference).await
    }
    .map_err(wire)?;
    let headers = vec![
        (header::CONTENT_TYPE, header_value(&record.media_type)),
        (
            header::CONTENT_LENGTH,
            header_value(record.content.len().to_string()),
        ),
        content_digest(&record.digest),
    ];
    let body = if with_body {
        Body::from(record.content)
    } else {
        Body::empty()
    };
    Ok(respond(StatusCode::OK, headers, body))
}

pub(super) async fn put(
    state: &AppState,
    repository: &RepositoryRecord,
    reference: &str,
    request: Request,
) -> Result<Response, OciError> {
    let content_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let content = axum::body::to_bytes(request.body, MAX_MANIFEST_BYTES)
        .await
        .map_err(|_| {
            OciError::new(
                OciCode::SizeInvalid,
                format!("a manifest may be at most {MAX_MANIFEST_BYTES} bytes"),
            )
        })?;
    let (tag, expected) = match Reference::parse(reference).map_err(wire)? {
        Reference::Tag(tag) => (Some(tag), None),
        Reference::Digest(digest) => (None, Some(super::digest_param(&digest)?)),
    };
    let pushed = images::push_manifest(
        state,
        repository,
        content.to_vec(),
        content_type.as_deref(),
        tag,
        expected,
    )
    .await
    .map_err(wire)?;
    let digest = pushed.digest;
    let mut headers = vec![
        location(format!("/v2/{}/manifests/{digest}", repository.name)),
        content_digest(digest.as_str()),
    ];
    if let Some(subject) = pushed.subject {
        headers.push((
            HeaderName::from_static("oci-subject"),
            header_value(subject),
        ));
    }
    Ok(respond(StatusCode::CREATED, headers, Body::empty()))
}

pub(super) async fn delete(
    state: &AppState,
    repository: &RepositoryRecord,
    reference: &str,
) -> Result<Response, OciError> {
    manifests::delete(state, repository, reference)
        .await
        .map_err(wire)?;
    Ok(respond(StatusCode::ACCEPTED, vec![], Body::empty()))
}
