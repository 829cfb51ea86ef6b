//! Blob uploads: start (or mount), PATCH chunks, PUT to complete, status, cancel.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use super::{content_digest, header_value, location, respond, wire, OciCode, OciError, Request};
use crate::auth::Principal;
use crate::services::uploads::{self, Mount, Started};
use crate::storage::RepositoryRecord;
use crate::AppState;

fn session_headers(
    repository: &RepositoryRecord,
    id: &str,
    size: u64,
) -> Vec<(HeaderName, HeaderValue)> {
    vec![
        location(format!("/v2/{}/blobs/uploads/{id}", repository.name)),
        (
            header::RANGE,
            header_value(format!("0-{}", size.saturating_sub(1))),
        ),
        (
            HeaderName::from_static("docker-upload-uuid"),
            header_value(id),
        ),
        (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
    ]
}

fn stored(repository: &RepositoryRecord, digest: &str) -> Response {
    respond(
        StatusCode::CREATED,
        vec![
            location(format!("/v2/{}/blobs/{digest}", repository.name)),
            content_digest(digest),
            (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
        ],
        Body::empty(),
    )
}

pub(super) async fn start(
    state: &AppState,
    principal: &Principal,
    repository: &RepositoryRecord,
    request: Request,
) -> Result<Response, OciError> {
    let query = request.query.clone();
    let mount = match (query.get("mount"), query.get("from")) {
        (Some(digest), Some(from)) => Some(Mount { digest, from }),
        _ => None,
    };
    let whole = query
        .get("digest")
        .map(|digest| (digest.as_str(), request.into_stream()));
    match uploads::start(state, principal, repository, mount, whole)
        .await
        .map_err(wire)?
    {
        Started::Mounted(digest) | Started::Stored(digest) => {
            Ok(stored(repository, digest.as_str()))
        }
        Started::Session { id } => Ok(respond(
            StatusCode::ACCEPTED,
            session_headers(repository, &id, 0),
            Body::empty(),
        )),
    }
}

/// `Content-Range: <start>-<end>` of a chunk.
fn content_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, OciError> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("");
    let text = text
        .strip_prefix("bytes ")
        .or_else(|| text.strip_prefix("bytes="))
        .unwrap_or(text);
    let parsed = text
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)));
    match parsed {
        Some((start, end)) if end >= start => Ok(Some((start, end))),
        _ => Err(OciError::new(
            OciCode::RangeInvalid,
            format!("Content-Range '{text}' is not <start>-<end>"),
        )),
    }
}

pub(super) async fn patch(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
    request: Request,
) -> Result<Response, OciError> {
    let range = content_range(&request.headers)?;
    if let (Some((start, end)), Some(length)) = (range, request.headers.get(header::CONTENT_LENGTH))
    {
        let length: u64 = length
            .to_str()
            .ok()
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        if length != end - start + 1 {
            return Err(OciError::new(
                OciCode::RangeInvalid,
                format!(
                    "Content-Range {start}-{end} announces {} bytes but Content-Length is {length}",
                    end - start + 1
                ),
            ));
        }
    }
    let size = uploads::append(
        state,
        repository,
        id,
        range.map(|(start, _)| start),
        request.into_stream(),
    )
    .await
    .map_err(wire)?;
    Ok(respond(
        StatusCode::ACCEPTED,
        session_headers(repository, id, size),
        Body::empty(),
    ))
}

pub(super) async fn put(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
    request: Request,
) -> Result<Response, OciError> {
    let digest = request.query.get("digest").cloned();
    let range = content_range(&request.headers)?;
    let last = Some((range.map(|(start, _)| start), request.into_stream()));
    let digest = uploads::finish(state, repository, id, digest.as_deref(), last)
        .await
        .map_err(wire)?;
    Ok(stored(repository, digest.as_str()))
}

pub(super) async fn status(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
) -> Result<Response, OciError> {
    let size = uploads::status(state, repository, id).await.map_err(wire)?;
    Ok(respond(
        StatusCode::NO_CONTENT,
        session_headers(repository, id, size),
        Body::empty(),
    ))
}

pub(super) async fn cancel(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
) -> Result<Response, OciError> {
    uploads::cancel(state, repository, id).await.map_err(wire)?;
    Ok(respond(StatusCode::NO_CONTENT, vec![], Body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        let mut headers = HeaderMap::new();
        assert_eq!(content_range(&headers).unwrap(), None);
        headers.insert(header::CONTENT_RANGE, HeaderValue::from_static("0-99"));
        assert_eq!(content_range(&headers).unwrap(), Some((0, 99)));
        headers.insert(header::CONTENT_RANGE, HeaderValue::from_static("9-3"));
        assert!(content_range(&headers).is_err());
    }
}
