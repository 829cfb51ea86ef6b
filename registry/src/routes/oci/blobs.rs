//! Blobs: GET/HEAD (and presigned GETs from GetDownloadUrlForLayer), DELETE.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;

use super::{
    content_digest, header_value, parse_endpoint, respond, wire, Endpoint, OciError, Target,
};
use crate::services::layers;
use crate::storage::RepositoryRecord;
use crate::AppState;

/// A blob GET carrying a GetDownloadUrlForLayer signature needs no other credentials;
/// the URL holds only while the key that asked for it may still download.
pub(super) async fn presigned(
    state: &AppState,
    rest: &str,
    method: &Method,
    query: &HashMap<String, String>,
) -> Option<Result<Response, OciError>> {
    let url = layers::DownloadUrl {
        expires: query.get("X-Berth-Expires")?,
        access_key_id: query.get("X-Berth-Key").map_or("", String::as_str),
        signature: query.get("X-Berth-Signature")?,
    };
    let Some(Endpoint::Repository {
        name,
        target: Target::Blob(digest),
    }) = parse_endpoint(rest)
    else {
        return None;
    };
    if method != Method::GET {
        return None;
    }
    Some(
        match layers::check_download(state, name, digest, url).await {
            Ok(repository) => get(state, &repository, digest, true).await,
            Err(e) => Err(wire(e)),
        },
    )
}

pub(super) async fn get(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
    with_body: bool,
) -> Result<Response, OciError> {
    let headers = |size: u64| {
        vec![
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CONTENT_LENGTH, header_value(size.to_string())),
            content_digest(digest),
        ]
    };
    if !with_body {
        let size = layers::size(state, repository, digest)
            .await
            .map_err(wire)?;
        return Ok(respond(StatusCode::OK, headers(size), Body::empty()));
    }
    let blob = layers::read(state, repository, digest)
        .await
        .map_err(wire)?;
    Ok(respond(
        StatusCode::OK,
        headers(blob.size),
        Body::from_stream(blob.stream),
    ))
}

pub(super) async fn delete(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
) -> Result<Response, OciError> {
    layers::unlink(state, repository, digest)
        .await
        .map_err(wire)?;
    Ok(respond(StatusCode::ACCEPTED, vec![], Body::empty()))
}
