//! The OCI Distribution API (`/v2/…`), as docker, podman and skopeo speak it.
//!
//! Repository names contain `/`, so everything under `/v2/` arrives here and the
//! path is split from its end (`/manifests/<ref>`, `/blobs/<digest>`, …).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use berth_model::oci::{self, Digest};

use crate::access;
use crate::auth::{self, Principal};
use crate::error::{OciCode, OciError};
use crate::services::images::{self, PushError};
use crate::store::images::{self as image_store, ManifestRecord};
use crate::store::{self, RepositoryRecord};
use crate::AppState;

/// ECR's limit on a manifest's size.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
const DEFAULT_PAGE: usize = 1000;

pub fn route(app: Router<AppState>) -> Router<AppState> {
    app.route("/v2", any(base))
        .route("/v2/", any(base))
        .route("/v2/{*rest}", any(handle))
}

fn api_version(mut response: Response) -> Response {
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, OciError> {
    auth::verify_basic(&state.config, &state.store, headers)
        .await
        .map_err(|auth::BasicAuthError(message)| OciError {
            code: OciCode::Unauthorized,
            message,
            detail: None,
            realm: Some(state.config.public_url.clone()),
        })
}

async fn base(State(state): State<AppState>, headers: HeaderMap) -> Response {
    api_version(match authenticate(&state, &headers).await {
        Ok(_) => ([(header::CONTENT_TYPE, "application/json")], "{}").into_response(),
        Err(error) => error.into_response(),
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Endpoint<'a> {
    Catalog,
    Repository { name: &'a str, target: Target<'a> },
}

/// What inside a repository a path names.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    Tags,
    Manifest(&'a str),
    Blob(&'a str),
    UploadStart,
    Upload(&'a str),
    Referrers(&'a str),
}

fn parse_endpoint(rest: &str) -> Option<Endpoint<'_>> {
    if rest == "_catalog" {
        return Some(Endpoint::Catalog);
    }
    let (name, target) = if let Some(name) = rest.strip_suffix("/tags/list") {
        (name, Target::Tags)
    } else if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        (name, Target::Manifest(reference))
    } else if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        (name, Target::UploadStart)
    } else if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
        (name, Target::Upload(id))
    } else if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        (name, Target::Blob(digest))
    } else if let Some((name, digest)) = rest.rsplit_once("/referrers/") {
        (name, Target::Referrers(digest))
    } else {
        return None;
    };
    Some(Endpoint::Repository { name, target })
}

/// The ECR action a `/v2` request amounts to, for policy decisions.
fn ecr_action(endpoint: &Endpoint<'_>, method: &Method) -> Option<&'static str> {
    let target = match endpoint {
        Endpoint::Catalog => return (method == Method::GET).then_some("ecr:DescribeRepositories"),
        Endpoint::Repository { target, .. } => target,
    };
    Some(match (target, method.as_str()) {
        (Target::Tags | Target::Referrers(_), "GET") => "ecr:ListImages",
        (Target::Manifest(_), "GET" | "HEAD") => "ecr:BatchGetImage",
        (Target::Manifest(_), "PUT") => "ecr:PutImage",
        (Target::Manifest(_) | Target::Blob(_), "DELETE") => "ecr:BatchDeleteImage",
        (Target::Blob(_), "GET") => "ecr:GetDownloadUrlForLayer",
        (Target::Blob(_), "HEAD") => "ecr:BatchCheckLayerAvailability",
        (Target::UploadStart, "POST") => "ecr:InitiateLayerUpload",
        (Target::Upload(_), "PATCH" | "GET") => "ecr:UploadLayerPart",
        (Target::Upload(_), "PUT") => "ecr:CompleteLayerUpload",
        (Target::Upload(_), "DELETE") => "ecr:InitiateLayerUpload",
        _ => return None,
    })
}

struct Request {
    method: Method,
    headers: HeaderMap,
    query: HashMap<String, String>,
    body: Body,
}

async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let rest = uri.path().strip_prefix("/v2/").unwrap_or("").to_string();
    let query = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let request = Request {
        method,
        headers,
        query,
        body,
    };
    api_version(match serve(&state, &rest, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    })
}

fn deny(denied: access::Denied) -> OciError {
    OciError::new(OciCode::Denied, denied.message)
}

async fn serve(state: &AppState, rest: &str, request: Request) -> Result<Response, OciError> {
    if let Some(response) = presigned_download(state, rest, &request.method, &request.query).await {
        return response;
    }
    let principal = authenticate(state, &request.headers).await?;
    let endpoint = parse_endpoint(rest).ok_or_else(|| {
        OciError::new(
            OciCode::Unsupported,
            format!("no such endpoint: /v2/{rest}"),
        )
    })?;
    let action = ecr_action(&endpoint, &request.method).ok_or_else(|| {
        OciError::new(
            OciCode::Unsupported,
            format!("{} is not supported on /v2/{rest}", request.method),
        )
    })?;
    let (name, target) = match endpoint {
        Endpoint::Catalog => return catalog(state, &principal, &request.query).await,
        Endpoint::Repository { name, target } => (name, target),
    };
    berth_model::names::validate_repository_name(name).map_err(|e| {
        OciError::new(
            OciCode::NameInvalid,
            format!("invalid repository name '{name}': {e}"),
        )
    })?;
    let repository = find_repository(state, name).await?;
    access::authorize(&state.config, &principal, action, Some(&repository)).map_err(deny)?;
    let method = request.method.clone();
    match (target, method.as_str()) {
        (Target::Tags, _) => tags_list(state, &repository, &request.query).await,
        (Target::Referrers(digest), _) => {
            referrers(state, &repository, digest, &request.query).await
        }
        (Target::Manifest(reference), "GET") => {
            get_manifest(state, &repository, reference, true).await
        }
        (Target::Manifest(reference), "HEAD") => {
            get_manifest(state, &repository, reference, false).await
        }
        (Target::Manifest(reference), "PUT") => {
            put_manifest(state, &repository, reference, request).await
        }
        (Target::Manifest(reference), _) => delete_manifest(state, &repository, reference).await,
        (Target::Blob(digest), "DELETE") => delete_blob(state, &repository, digest).await,
        (Target::Blob(digest), m) => get_blob(state, &repository, digest, m == "GET").await,
        (Target::UploadStart, _) => start_upload(state, &principal, &repository, request).await,
        (Target::Upload(id), "PATCH") => patch_upload(state, &repository, id, request).await,
        (Target::Upload(id), "PUT") => put_upload(state, &repository, id, request).await,
        (Target::Upload(id), "GET") => upload_status(state, &repository, id).await,
        (Target::Upload(id), _) => cancel_upload(state, &repository, id).await,
    }
}

/// A blob GET carrying a GetDownloadUrlForLayer signature needs no other credentials.
async fn presigned_download(
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
    if !images::verify_download(&state.url_signing_key, name, digest, expires, signature) {
        return Some(Err(OciError::new(
            OciCode::Denied,
            "the download URL is invalid or has expired: ask for a new one",
        )));
    }
    Some(match find_repository(state, name).await {
        Ok(repository) => get_blob(state, &repository, digest, true).await,
        Err(e) => Err(e),
    })
}

async fn find_repository(state: &AppState, name: &str) -> Result<RepositoryRecord, OciError> {
    let lookup = name.to_string();
    state.store.call(move |conn| store::find_repository(conn, &lookup)).await?.ok_or_else(|| {
        OciError::new(
            OciCode::NameUnknown,
            format!(
                "repository '{name}' does not exist in this registry: create it first (aws ecr create-repository --repository-name {name})"
            ),
        )
    })
}

fn parse_digest(digest: &str, code: OciCode) -> Result<Digest, OciError> {
    Digest::parse(digest).map_err(|e| OciError::new(code, e.to_string()))
}

fn header_value(value: impl AsRef<str>) -> HeaderValue {
    HeaderValue::from_str(value.as_ref()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn respond(status: StatusCode, headers: Vec<(HeaderName, HeaderValue)>, body: Body) -> Response {
    let mut response = (status, body).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    response
}

fn location(path: String) -> (HeaderName, HeaderValue) {
    (header::LOCATION, header_value(path))
}

fn content_digest(digest: &str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static("docker-content-digest"),
        header_value(digest),
    )
}

fn page_size(query: &HashMap<String, String>) -> Result<usize, OciError> {
    match query.get("n") {
        None => Ok(DEFAULT_PAGE),
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= 10_000)
            .ok_or_else(|| {
                OciError::new(
                    OciCode::PaginationNumberInvalid,
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

async fn catalog(
    state: &AppState,
    principal: &Principal,
    query: &HashMap<String, String>,
) -> Result<Response, OciError> {
    let n = page_size(query)?;
    let mut after = query.get("last").cloned();
    let mut names = Vec::new();
    let mut more = false;
    // Only repositories the caller may see are listed; keep reading until a page is full.
    while names.len() < n {
        let from = after.clone();
        let batch = state
            .store
            .call(move |conn| store::list_repositories(conn, from.as_deref(), 500))
            .await?;
        let exhausted = batch.len() < 500;
        for record in batch {
            after = Some(record.name.clone());
            if access::authorize(
                &state.config,
                principal,
                "ecr:DescribeRepositories",
                Some(&record),
            )
            .is_ok()
            {
                if names.len() == n {
                    more = true;
                    break;
                }
                names.push(record.name);
            }
        }
        if exhausted || more {
            break;
        }
    }
    if n == 0 {
        names.clear();
    }
    let mut headers = vec![(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    if more {
        if let Some(last) = names.last() {
            headers.push(next_link("/v2/_catalog", n, last));
        }
    }
    let body = serde_json::to_vec(&serde_json::json!({ "repositories": names }))
        .map_err(OciError::internal)?;
    Ok(respond(StatusCode::OK, headers, Body::from(body)))
}

async fn tags_list(
    state: &AppState,
    repository: &RepositoryRecord,
    query: &HashMap<String, String>,
) -> Result<Response, OciError> {
    let n = page_size(query)?;
    let last = query.get("last").cloned();
    let id = repository.id;
    let mut tags = state
        .store
        .call(move |conn| image_store::list_tags(conn, id, last.as_deref(), n + 1))
        .await?;
    let mut headers = vec![(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    if tags.len() > n {
        tags.truncate(n);
        if let Some(last) = tags.last() {
            headers.push(next_link(
                &format!("/v2/{}/tags/list", repository.name),
                n,
                last,
            ));
        }
    }
    let body = serde_json::to_vec(&serde_json::json!({ "name": repository.name, "tags": tags }))
        .map_err(OciError::internal)?;
    Ok(respond(StatusCode::OK, headers, Body::from(body)))
}

/// Resolves a tag or digest to the stored manifest.
/// Checks a manifest reference; true when it is a digest, false for a tag.
fn check_reference(reference: &str) -> Result<bool, OciError> {
    if reference.contains(':') {
        parse_digest(reference, OciCode::DigestInvalid)?;
        Ok(true)
    } else if oci::is_valid_tag(reference) {
        Ok(false)
    } else {
        Err(OciError::new(
            OciCode::TagInvalid,
            format!("'{reference}' is not a valid tag"),
        ))
    }
}

fn manifest_unknown(repository: &RepositoryRecord, reference: &str) -> OciError {
    OciError::new(
        OciCode::ManifestUnknown,
        format!(
            "manifest '{reference}' is not in repository '{}'",
            repository.name
        ),
    )
}

async fn lookup_manifest(
    state: &AppState,
    repository: &RepositoryRecord,
    reference: &str,
) -> Result<ManifestRecord, OciError> {
    let id = repository.id;
    let by_digest = check_reference(reference)?;
    let reference_owned = reference.to_string();
    let found = state
        .store
        .call(move |conn| {
            let digest = if by_digest {
                Some(reference_owned)
            } else {
                image_store::resolve_tag(conn, id, &reference_owned)?
            };
            match digest {
                Some(d) => image_store::find_manifest(conn, id, &d),
                None => Ok(None),
            }
        })
        .await?;
    found.ok_or_else(|| manifest_unknown(repository, reference))
}

async fn get_manifest(
    state: &AppState,
    repository: &RepositoryRecord,
    reference: &str,
    with_body: bool,
) -> Result<Response, OciError> {
    let record = lookup_manifest(state, repository, reference).await?;
    if with_body {
        let (id, digest) = (repository.id, record.digest.clone());
        state
            .store
            .call(move |conn| {
                image_store::record_pull(conn, id, &digest, store::now_epoch_seconds())
            })
            .await?;
    }
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

async fn put_manifest(
    state: &AppState,
    repository: &RepositoryRecord,
    reference: &str,
    request: Request,
) -> Result<Response, OciError> {
    let content = axum::body::to_bytes(request.body, MAX_MANIFEST_BYTES)
        .await
        .map_err(|_| {
            OciError::new(
                OciCode::SizeInvalid,
                format!("a manifest may be at most {MAX_MANIFEST_BYTES} bytes"),
            )
        })?;
    let (tag, expected) = if reference.contains(':') {
        (None, Some(parse_digest(reference, OciCode::DigestInvalid)?))
    } else {
        (Some(reference.to_string()), None)
    };
    let content_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let pushed = images::push_manifest(state, repository, content.to_vec(), content_type, tag, expected)
        .await
        .map_err(|e| match e {
            PushError::Invalid(m) => OciError::new(OciCode::ManifestInvalid, m),
            PushError::DigestMismatch { given, actual } => {
                OciError::new(OciCode::DigestInvalid, format!("the manifest's digest is {actual}, not {given}"))
            }
            PushError::InvalidTag(t) => OciError::new(
                OciCode::TagInvalid,
                format!("'{t}' is not a valid tag: use up to 128 letters, digits, '_', '.', '-', not starting with '.' or '-'"),
            ),
            PushError::MissingBlob(d) | PushError::MissingManifest(d) => OciError::new(
                OciCode::ManifestBlobUnknown,
                format!("the manifest references {d}, which is not in repository '{}': push it first", repository.name),
            )
            .with_detail(serde_json::json!({ "digest": d })),
            PushError::TagImmutable(t) => OciError::new(
                OciCode::TagInvalid,
                format!(
                    "The image tag '{t}' already exists in the '{}' repository and cannot be overwritten because the repository is immutable.",
                    repository.name
                ),
            ),
            PushError::Store(m) => OciError::internal(m),
        })?;
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

async fn delete_manifest(
    state: &AppState,
    repository: &RepositoryRecord,
    reference: &str,
) -> Result<Response, OciError> {
    let id = repository.id;
    let by_digest = check_reference(reference)?;
    let reference_owned = reference.to_string();
    let deleted = state
        .store
        .call(move |conn| {
            if by_digest {
                image_store::delete_manifest(conn, id, &reference_owned)
            } else {
                image_store::delete_tag(conn, id, &reference_owned)
            }
        })
        .await?;
    if !deleted {
        return Err(manifest_unknown(repository, reference));
    }
    Ok(respond(StatusCode::ACCEPTED, vec![], Body::empty()))
}

async fn referrers(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
    query: &HashMap<String, String>,
) -> Result<Response, OciError> {
    parse_digest(digest, OciCode::DigestInvalid)?;
    let (id, subject) = (repository.id, digest.to_string());
    let records = state
        .store
        .call(move |conn| image_store::referrers(conn, id, &subject))
        .await?;
    let filter = query.get("artifactType");
    let mut manifests = Vec::new();
    for record in records {
        if filter.is_some_and(|f| record.artifact_type.as_ref() != Some(f)) {
            continue;
        }
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
        manifests.push(descriptor);
    }
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

async fn get_blob(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
    with_body: bool,
) -> Result<Response, OciError> {
    let parsed = parse_digest(digest, OciCode::DigestInvalid)?;
    let (id, lookup) = (repository.id, digest.to_string());
    let size = state
        .store
        .call(move |conn| image_store::repository_blob(conn, id, &lookup))
        .await?;
    let Some(size) = size else {
        return Err(OciError::new(
            OciCode::BlobUnknown,
            format!("blob {digest} is not in repository '{}'", repository.name),
        ));
    };
    let headers = vec![
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        ),
        (header::CONTENT_LENGTH, header_value(size.to_string())),
        content_digest(digest),
    ];
    if !with_body {
        return Ok(respond(StatusCode::OK, headers, Body::empty()));
    }
    let stream = state
        .blobs
        .stream_blob(&parsed)
        .map_err(|e| OciError::internal(format!("blob {digest}: {e}")))?;
    Ok(respond(StatusCode::OK, headers, Body::from_stream(stream)))
}

async fn delete_blob(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
) -> Result<Response, OciError> {
    parse_digest(digest, OciCode::DigestInvalid)?;
    let (id, lookup) = (repository.id, digest.to_string());
    if !state
        .store
        .call(move |conn| image_store::unlink_blob(conn, id, &lookup))
        .await?
    {
        return Err(OciError::new(
            OciCode::BlobUnknown,
            format!("blob {digest} is not in repository '{}'", repository.name),
        ));
    }
    Ok(respond(StatusCode::ACCEPTED, vec![], Body::empty()))
}

fn upload_headers(
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

fn blob_error(error: crate::blobs::BlobError) -> OciError {
    use crate::blobs::BlobError;
    match error {
        BlobError::RangeMismatch { .. } => OciError::new(OciCode::RangeInvalid, error.to_string()),
        BlobError::DigestMismatch { .. } => {
            OciError::new(OciCode::DigestInvalid, error.to_string())
        }
        BlobError::UnknownUpload(_) => OciError::new(OciCode::BlobUploadUnknown, error.to_string()),
        BlobError::Body(_) => OciError::new(OciCode::BlobUploadInvalid, error.to_string()),
        BlobError::Io(_) => OciError::internal(error),
    }
}

/// Stores the verified upload `id` as blob `digest` in the repository.
async fn commit(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
    digest: &Digest,
) -> Result<Response, OciError> {
    let result = state.blobs.finish(id, digest).await;
    let upload_id = id.to_string();
    state
        .store
        .call(move |conn| image_store::delete_upload(conn, &upload_id))
        .await?;
    let size = result.map_err(blob_error)?;
    let (repository_id, digest_text) = (repository.id, digest.to_string());
    state
        .store
        .call(move |conn| {
            image_store::commit_blob(
                conn,
                repository_id,
                &digest_text,
                size,
                store::now_epoch_seconds(),
            )
        })
        .await?;
    Ok(respond(
        StatusCode::CREATED,
        vec![
            location(format!("/v2/{}/blobs/{digest}", repository.name)),
            content_digest(digest.as_str()),
            (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
        ],
        Body::empty(),
    ))
}

async fn start_upload(
    state: &AppState,
    principal: &Principal,
    repository: &RepositoryRecord,
    request: Request,
) -> Result<Response, OciError> {
    if let (Some(mount), Some(from)) = (request.query.get("mount"), request.query.get("from")) {
        let digest = parse_digest(mount, OciCode::DigestInvalid)?;
        // Mount only from a repository the caller may read; otherwise fall back to an upload.
        let from_record = find_repository(state, from).await.ok();
        if let Some(from_record) = from_record {
            if access::authorize(
                &state.config,
                principal,
                "ecr:BatchGetImage",
                Some(&from_record),
            )
            .is_ok()
            {
                let (to_id, from_id, d) = (repository.id, from_record.id, digest.to_string());
                if state
                    .store
                    .call(move |conn| image_store::mount_blob(conn, to_id, from_id, &d))
                    .await?
                    .is_some()
                {
                    return Ok(respond(
                        StatusCode::CREATED,
                        vec![
                            location(format!("/v2/{}/blobs/{digest}", repository.name)),
                            content_digest(digest.as_str()),
                        ],
                        Body::empty(),
                    ));
                }
            }
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let (upload_id, repository_id) = (id.clone(), repository.id);
    state
        .store
        .call(move |conn| {
            image_store::create_upload(conn, &upload_id, repository_id, store::now_epoch_seconds())
        })
        .await?;
    state.blobs.start(&id).await.map_err(blob_error)?;
    if let Some(digest) = request.query.get("digest") {
        // Monolithic upload: the whole blob in this request.
        let digest = match parse_digest(digest, OciCode::DigestInvalid) {
            Ok(d) => d,
            Err(e) => {
                discard(state, &id).await;
                return Err(e);
            }
        };
        if let Err(e) = state.blobs.append(&id, request.body, None).await {
            discard(state, &id).await;
            return Err(blob_error(e));
        }
        return commit(state, repository, &id, &digest).await;
    }
    Ok(respond(
        StatusCode::ACCEPTED,
        upload_headers(repository, &id, 0),
        Body::empty(),
    ))
}

async fn discard(state: &AppState, id: &str) {
    state.blobs.cancel(id).await;
    let upload_id = id.to_string();
    let _ = state
        .store
        .call(move |conn| image_store::delete_upload(conn, &upload_id))
        .await;
}

async fn require_upload(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
) -> Result<(), OciError> {
    let lookup = id.to_string();
    match state
        .store
        .call(move |conn| image_store::find_upload(conn, &lookup))
        .await?
    {
        Some(owner) if owner == repository.id => Ok(()),
        _ => Err(OciError::new(
            OciCode::BlobUploadUnknown,
            format!(
                "upload {id} is not in progress in repository '{}'",
                repository.name
            ),
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

async fn patch_upload(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
    request: Request,
) -> Result<Response, OciError> {
    require_upload(state, repository, id).await?;
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
    let size = state
        .blobs
        .append(id, request.body, range.map(|(start, _)| start))
        .await
        .map_err(blob_error)?;
    Ok(respond(
        StatusCode::ACCEPTED,
        upload_headers(repository, id, size),
        Body::empty(),
    ))
}

async fn put_upload(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
    request: Request,
) -> Result<Response, OciError> {
    require_upload(state, repository, id).await?;
    let digest = request.query.get("digest").ok_or_else(|| {
        OciError::new(
            OciCode::DigestInvalid,
            "completing an upload needs ?digest=<digest>",
        )
    })?;
    let digest = parse_digest(digest, OciCode::DigestInvalid)?;
    let range = content_range(&request.headers)?;
    state
        .blobs
        .append(id, request.body, range.map(|(start, _)| start))
        .await
        .map_err(blob_error)?;
    commit(state, repository, id, &digest).await
}

async fn upload_status(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
) -> Result<Response, OciError> {
    require_upload(state, repository, id).await?;
    let size = state.blobs.size(id).await.map_err(blob_error)?;
    Ok(respond(
        StatusCode::NO_CONTENT,
        upload_headers(repository, id, size),
        Body::empty(),
    ))
}

async fn cancel_upload(
    state: &AppState,
    repository: &RepositoryRecord,
    id: &str,
) -> Result<Response, OciError> {
    require_upload(state, repository, id).await?;
    discard(state, id).await;
    Ok(respond(StatusCode::NO_CONTENT, vec![], Body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_split_from_the_end_of_nested_names() {
        assert_eq!(parse_endpoint("_catalog"), Some(Endpoint::Catalog));
        let at = |name, target| Some(Endpoint::Repository { name, target });
        assert_eq!(parse_endpoint("a/b/tags/list"), at("a/b", Target::Tags));
        assert_eq!(
            parse_endpoint("team/manifests/app/manifests/v1"),
            at("team/manifests/app", Target::Manifest("v1"))
        );
        assert_eq!(
            parse_endpoint("a/blobs/uploads/"),
            at("a", Target::UploadStart)
        );
        assert_eq!(
            parse_endpoint("a/b/blobs/uploads/123"),
            at("a/b", Target::Upload("123"))
        );
        assert_eq!(
            parse_endpoint("a/blobs/sha256:x"),
            at("a", Target::Blob("sha256:x"))
        );
        assert_eq!(
            parse_endpoint("a/referrers/sha256:x"),
            at("a", Target::Referrers("sha256:x"))
        );
        assert_eq!(parse_endpoint("nothing-here"), None);
    }

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
