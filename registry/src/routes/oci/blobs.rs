//! Blobs: GET/HEAD (and presigned GETs from GetDownloadUrlForLayer), DELETE. With
//! `--blob-redirect`, a GET is answered with a redirect to the blob store.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;

use super::{
    content_digest, header_value, parse_endpoint, respond, wire, Endpoint, OciError, Target,
};
use crate::server::zero_copy::ZeroCopy;
use crate::services::layers;
use crate::storage::{BlobRead, RepositoryRecord};
use crate::AppState;

/// A blob GET carrying a GetDownloadUrlForLayer signature needs no other credentials;
/// the URL holds only while the key that asked for it may still download.
pub(super) async fn presigned(
    state: &AppState,
    rest: &str,
    method: &Method,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    zero_copy: Option<&ZeroCopy>,
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
            Ok(repository) => get(state, &repository, digest, true, headers, zero_copy).await,
            Err(e) => Err(wire(e)),
        },
    )
}

/// What a `Range` header asks of a blob of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    /// Bytes `start..=end`.
    Part(u64, u64),
    Unsatisfiable,
}

/// Reads one `bytes=` range (`a-b`, `a-`, `-n`). Several ranges, other units or
/// malformed headers are ignored and the whole blob is served, as RFC 9110 allows.
fn wanted(headers: &HeaderMap, size: u64) -> Wanted {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Wanted::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        // The last n bytes.
        (true, false) => match number(last) {
            Some(0) => Wanted::Unsatisfiable,
            Some(n) if size > 0 => Wanted::Part(size.saturating_sub(n), size - 1),
            Some(_) => Wanted::Unsatisfiable,
            None => Wanted::Whole,
        },
        (false, _) => {
            let Some(start) = number(first) else {
                return Wanted::Whole;
            };
            let end = if last.is_empty() {
                Some(u64::MAX)
            } else {
                number(last)
            };
            match end {
                None => Wanted::Whole,
                Some(end) if end < start => Wanted::Whole,
                Some(_) if start >= size => Wanted::Unsatisfiable,
                Some(end) => Wanted::Part(start, end.min(size - 1)),
            }
        }
        (true, true) => Wanted::Whole,
    }
}

pub(super) async fn get(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
    with_body: bool,
    request_headers: &HeaderMap,
    zero_copy: Option<&ZeroCopy>,
) -> Result<Response, OciError> {
    let headers = |length: u64| {
        vec![
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CONTENT_LENGTH, header_value(length.to_string())),
            (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
            content_digest(digest),
        ]
    };
    // A HEAD is how a push asks what it need not upload; a GET is a pull.
    let size = if with_body {
        layers::stored_size(state, repository, digest).await
    } else {
        layers::size(state, repository, digest).await
    }
    .map_err(wire)?;
    if !with_body {
        return Ok(respond(StatusCode::OK, headers(size), Body::empty()));
    }
    if let Some(url) = layers::redirect(state, repository, digest)
        .await
        .map_err(wire)?
    {
        // As ECR (and the spec's "307 Temporary Redirect") do: the client fetches
        // the bytes (and any Range of them) from the blob store, authorized here
        // exactly as a stream would be.
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
    match wanted(request_headers, size) {
        Wanted::Whole => {
            let blob = layers::read(state, repository, digest)
                .await
                .map_err(wire)?;
            let length = blob.size;
            Ok(respond(
                StatusCode::OK,
                headers(length),
                body(blob, zero_copy, 0, length),
            ))
        }
        Wanted::Part(start, end) => {
            let blob = layers::read_range(state, repository, digest, start, end)
                .await
                .map_err(wire)?;
            let mut headers = headers(end - start + 1);
            headers.push((
                header::CONTENT_RANGE,
                header_value(format!("bytes {start}-{end}/{}", blob.size)),
            ));
            Ok(respond(
                StatusCode::PARTIAL_CONTENT,
                headers,
                body(blob, zero_copy, start, end - start + 1),
            ))
        }
        Wanted::Unsatisfiable => Ok(respond(
            StatusCode::RANGE_NOT_SATISFIABLE,
            vec![
                (
                    header::CONTENT_RANGE,
                    header_value(format!("bytes */{size}")),
                ),
                (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
                content_digest(digest),
            ],
            Body::empty(),
        )),
    }
}

/// `length` bytes of the blob from `offset`: its verified file handed to the socket
/// whole when the connection can take it (sendfile), else its checked stream.
fn body(blob: BlobRead, zero_copy: Option<&ZeroCopy>, offset: u64, length: u64) -> Body {
    match (blob.verified_file, zero_copy) {
        (Some(file), Some(zero_copy)) => Body::new(zero_copy.body(file, offset, length)),
        _ => Body::from_stream(blob.stream),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, size: u64) -> Wanted {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        wanted(&headers, size)
    }

    #[test]
    fn ranges_as_rfc_9110_reads_them() {
        assert_eq!(wanted(&HeaderMap::new(), 10), Wanted::Whole);
        assert_eq!(range("bytes=0-3", 10), Wanted::Part(0, 3));
        assert_eq!(range("bytes=4-", 10), Wanted::Part(4, 9));
        assert_eq!(range("bytes=4-100", 10), Wanted::Part(4, 9));
        assert_eq!(range("bytes=-3", 10), Wanted::Part(7, 9));
        assert_eq!(range("bytes=-30", 10), Wanted::Part(0, 9));
        assert_eq!(range("bytes=10-", 10), Wanted::Unsatisfiable);
        assert_eq!(range("bytes=-0", 10), Wanted::Unsatisfiable);
        assert_eq!(range("bytes=0-1,4-5", 10), Wanted::Whole);
        assert_eq!(range("items=0-1", 10), Wanted::Whole);
        assert_eq!(range("bytes=5-2", 10), Wanted::Whole);
    }
}
