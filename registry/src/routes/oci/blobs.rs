//! Blobs: GET/HEAD (and presigned GETs from GetDownloadUrlForLayer), DELETE. With
//! `--blob-redirect`, a GET is answered with a redirect to the blob store.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;

use super::{
    content_digest, header_value, parse_endpoint, respond, wire, Endpoint, OciCode, OciError,
    Target,
};
use crate::services::{layers, repositories};
use crate::storage::RepositoryRecord;
use crate::AppState;

/// A blob GET carrying a GetDownloadUrlForLayer signature needs no other credentials.
pub(super) async fn presigned(
    state: &AppState,
    rest: &str,
    method: &Method,
    query: &HashMap<String, String>,
) -> Option<Result<Response, OciError>> {
    let (expires, signature) = (
        query.get("X-Berth-Expires")?,
        query.get("X-Berth-Signature")?,
    );
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
    if !layers::verify_download(&state.url_signing_key, name, digest, expires, signature) {
        return Some(Err(OciError::new(
            OciCode::Denied,
            "the download URL is invalid or has expired: ask for a new one",
        )));
    }
    Some(match repositories::find(state, name).await {
        Ok(repository) => get(state, &repository, digest, true).await,
        Err(e) => Err(wire(e)),
    })
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
    if let Some(url) = layers::redirect(state, repository, digest)
        .await
        .map_err(wire)?
    {
        // As ECR (and the spec's "307 Temporary Redirect") do: the client fetches
        // the bytes from the blob store, authorized here exactly as a stream would be.
        return Ok(respond(
            StatusCode::TEMPORARY_REDIRECT,
            vec![
                (header::LOCATION, header_value(url)),
                content_digest(digest),
                (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
            ],
            Body::empty(),
        ));
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
