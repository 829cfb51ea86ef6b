//! Content discovery: `_catalog`, tags lists and referrers.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use berth_model::oci;

use super::{header_value, json_content, respond, wire, OciCode, OciError};
use crate::auth::Principal;
use crate::services::{manifests, repositories};
use crate::storage::RepositoryRecord;
use crate::AppState;

const DEFAULT_PAGE: usize = 1000;

fn page_size(query: &HashMap<String, String>) -> Result<usize, OciError> {
    match query.get("n") {
        None => Ok(DEFAULT_PAGE),
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= 10_000)
            .ok_or_else(|| {
                OciError::new(
                    OciCode::ParameterInvalid,
                    format!("n={n} is not a page size from 0 to 10000"),
                )
            }),
    }
}

fn next_link(path: &str, n: usize, last: &str) -> (HeaderName, HeaderValue) {
    let last: String = form_urlencoded::byte_serialize(last.as_bytes()).collect();
    (
        header::LINK,
        header_value(format!("<{path}?n={n}&last={last}>; rel=\"next\"")),
    )
}

fn json_page(
    body: serde_json::Value,
    more: bool,
    path: &str,
    n: usize,
    last: Option<&String>,
) -> Result<Response, OciError> {
    let mut headers = vec![json_content()];
    if let (true, Some(last)) = (more, last) {
        headers.push(next_link(path, n, last));
    }
    let body = serde_json::to_vec(&body).map_err(OciError::internal)?;
    Ok(respond(StatusCode::OK, headers, Body::from(body)))
}

pub(super) async fn catalog(
    state: &AppState,
    principal: &Principal,
    query: &HashMap<String, String>,
) -> Result<Response, OciError> {
    let n = page_size(query)?;
    let last = query.get("last").map(String::as_str);
    let (names, more) = repositories::catalog(state, principal, last, n)
        .await
        .map_err(wire)?;
    json_page(
        serde_json::json!({ "repositories": names }),
        more,
        "/v2/_catalog",
        n,
        names.last(),
    )
}

pub(super) async fn tags(
    state: &AppState,
    repository: &RepositoryRecord,
    query: &HashMap<String, String>,
) -> Result<Response, OciError> {
    let n = page_size(query)?;
    let last = query.get("last").map(String::as_str);
    let (tags, more) = manifests::tags(state, repository, last, n)
        .await
        .map_err(wire)?;
    json_page(
        serde_json::json!({ "name": repository.name, "tags": tags }),
        more,
        &format!("/v2/{}/tags/list", repository.name),
        n,
        tags.last(),
    )
}

pub(super) async fn referrers(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
    query: &HashMap<String, String>,
) -> Result<Response, OciError> {
    let filter = query.get("artifactType").map(String::as_str);
    let records = manifests::referrers(state, repository, digest, filter)
        .await
        .map_err(wire)?;
    let manifests: Vec<serde_json::Value> = records
        .into_iter()
        .map(|record| {
            let annotations = serde_json::from_slice::<serde_json::Value>(&record.content)
                .ok()
                .and_then(|v| v.get("annotations").cloned());
            let mut descriptor = serde_json::json!({
                "mediaType": record.media_type,
                "digest": record.digest,
                "size": record.content.len(),
            });
            if let Some(artifact_type) = &record.artifact_type {
                descriptor["artifactType"] = artifact_type.clone().into();
            }
            if let Some(annotations) = annotations {
                descriptor["annotations"] = annotations;
            }
            descriptor
        })
        .collect();
    let body = serde_json::json!({ "schemaVersion": 2, "mediaType": oci::OCI_INDEX, "manifests": manifests });
    let mut headers = vec![(
        header::CONTENT_TYPE,
        HeaderValue::from_static(oci::OCI_INDEX),
    )];
    if filter.is_some() {
        headers.push((
            HeaderName::from_static("oci-filters-applied"),
            HeaderValue::from_static("artifactType"),
        ));
    }
    Ok(respond(
        StatusCode::OK,
        headers,
        Body::from(serde_json::to_vec(&body).map_err(OciError::internal)?),
    ))
}
