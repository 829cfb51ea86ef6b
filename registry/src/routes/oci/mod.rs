//! The OCI Distribution API (`/v2/…`), as docker, podman and skopeo speak it: one
//! file per resource (manifests, blobs, uploads, listings), this one for routing,
//! authentication and authorization.
//!
//! Repository names contain `/`, so everything under `/v2/` arrives here and the
//! path is split from its end (`/manifests/<ref>`, `/blobs/<digest>`, …).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use futures_util::TryStreamExt;

use super::error::{self, Challenge, OciCode, OciError};
use crate::auth::{bearer, tokens, Principal};
use crate::server::zero_copy::ZeroCopy;
use crate::services::{self, layers, repositories};
use crate::storage::ByteStream;
use crate::AppState;

mod blobs;
mod listings;
mod manifests;
mod token;
mod uploads;

pub fn route(app: Router<AppState>) -> Router<AppState> {
    app.route("/v2", any(base))
        .route("/v2/", any(base))
        .route("/v2/token", any(token::token))
        .route("/v2/{*rest}", any(handle))
}

fn api_version(mut response: Response) -> Response {
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

/// A `/v2` caller, and when it came with a bearer token, what the token grants.
struct Caller {
    principal: Principal,
    grants: Option<Vec<bearer::Grant>>,
}

impl Caller {
    /// Whether the caller's token (if any) covers `action` on the endpoint; the
    /// registry and repository policies decide on top of this.
    fn token_allows(&self, endpoint: &Endpoint<'_>, action: &str) -> bool {
        let Some(grants) = &self.grants else {
            return true;
        };
        let (kind, name, wanted) = scope_of(endpoint, action);
        grants.iter().any(|g| g.allows(kind, name, wanted))
    }
}

/// The token-spec scope an ECR action on an endpoint needs: (type, name, action).
fn scope_of<'a>(endpoint: &Endpoint<'a>, action: &str) -> (&'static str, &'a str, &'static str) {
    match endpoint {
        Endpoint::Catalog => ("registry", "catalog", "*"),
        Endpoint::Repository { name, .. } => (
            "repository",
            name,
            match action {
                "ecr:PutImage"
                | "ecr:InitiateLayerUpload"
                | "ecr:UploadLayerPart"
                | "ecr:CompleteLayerUpload" => "push",
                "ecr:BatchDeleteImage" => "delete",
                _ => "pull",
            },
        ),
    }
}

/// The scope a 401 asks a bearer token for: a push also reads (docker checks layers).
fn challenge_scope(endpoint: &Endpoint<'_>, action: &str) -> String {
    match scope_of(endpoint, action) {
        (kind, name, "push") => format!("{kind}:{name}:pull,push"),
        (kind, name, wanted) => format!("{kind}:{name}:{wanted}"),
    }
}

fn challenge(state: &AppState, scope: Option<String>) -> Option<Box<Challenge>> {
    Some(Box::new(Challenge {
        realm: state.config.public_url.clone(),
        service: state.config.registry_host().to_string(),
        scope,
        insufficient_scope: false,
    }))
}

fn unauthorized(state: &AppState, message: String, scope: Option<String>) -> OciError {
    OciError {
        code: OciCode::Unauthorized,
        message,
        detail: None,
        challenge: challenge(state, scope),
    }
}

/// Who is calling: ECR's Basic `AWS:<token>`, or a bearer token from `/v2/token`.
/// `scope` is what a refusal's challenge asks for, made only when one is needed.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    scope: impl FnOnce() -> Option<String>,
) -> Result<Caller, OciError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    if let Some(token) = bearer {
        let (principal, grants) = bearer::verify(
            &state.config,
            state.metadata.as_ref(),
            &state.url_signing_key,
            token.trim(),
        )
        .await
        .map_err(|message| unauthorized(state, message, scope()))?;
        return Ok(Caller {
            principal,
            grants: Some(grants),
        });
    }
    let principal = tokens::verify_basic(&state.config, state.metadata.as_ref(), headers)
        .await
        .map_err(|tokens::BasicAuthError(message)| unauthorized(state, message, scope()))?;
    Ok(Caller {
        principal,
        grants: None,
    })
}

async fn base(State(state): State<AppState>, headers: HeaderMap) -> Response {
    api_version(match authenticate(&state, &headers, || None).await {
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

/// One `/v2` request, parsed as far as routing needs.
struct Request {
    method: Method,
    headers: HeaderMap,
    query: HashMap<String, String>,
    body: Body,
    /// Present when the connection can take a file as a response body.
    zero_copy: Option<ZeroCopy>,
}

impl Request {
    /// The body as the storage layer reads bytes.
    fn into_stream(self) -> ByteStream {
        Box::pin(self.body.into_data_stream().map_err(std::io::Error::other))
    }
}

async fn handle(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let rest = parts
        .uri
        .path()
        .strip_prefix("/v2/")
        .unwrap_or("")
        .to_string();
    let query = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let request = Request {
        method: parts.method,
        headers: parts.headers,
        query,
        body,
        zero_copy: parts.extensions.remove::<ZeroCopy>(),
    };
    api_version(match serve(&state, &rest, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    })
}

async fn serve(state: &AppState, rest: &str, request: Request) -> Result<Response, OciError> {
    if let Some(response) = blobs::presigned(
        state,
        rest,
        &request.method,
        &request.headers,
        &request.query,
        request.zero_copy.as_ref(),
    )
    .await
    {
        return response;
    }
    let endpoint = parse_endpoint(rest);
    let action = endpoint
        .as_ref()
        .and_then(|endpoint| ecr_action(endpoint, &request.method));
    let scope = || match (&endpoint, action) {
        (Some(endpoint), Some(action)) => Some(challenge_scope(endpoint, action)),
        _ => None,
    };
    let caller = authenticate(state, &request.headers, scope).await?;
    let endpoint = endpoint.ok_or_else(|| {
        OciError::new(
            OciCode::Unsupported,
            format!("no such endpoint: /v2/{rest}"),
        )
    })?;
    let action = action.ok_or_else(|| {
        OciError::new(
            OciCode::Unsupported,
            format!("{} is not supported on /v2/{rest}", request.method),
        )
    })?;
    if !caller.token_allows(&endpoint, action) {
        let (kind, name, wanted) = scope_of(&endpoint, action);
        let mut denied = OciError::new(
            OciCode::Denied,
            format!("the bearer token does not grant {kind}:{name}:{wanted}: ask /v2/token for that scope"),
        );
        denied.challenge = challenge(state, Some(challenge_scope(&endpoint, action)));
        if let Some(challenge) = denied.challenge.as_mut() {
            challenge.insufficient_scope = true;
        }
        return Err(denied);
    }
    let principal = caller.principal;
    let (name, target) = match endpoint {
        Endpoint::Catalog => return listings::catalog(state, &principal, &request.query).await,
        Endpoint::Repository { name, target } => (name, target),
    };
    berth_model::names::validate_repository_name(name).map_err(|e| {
        OciError::new(
            OciCode::NameInvalid,
            format!("invalid repository name '{name}': {e}"),
        )
    })?;
    let repository = repositories::authorized(state, &principal, action, name)
        .await
        .map_err(error::oci)?;
    let method = request.method.clone();
    match (target, method.as_str()) {
        (Target::Tags, _) => listings::tags(state, &repository, &request.query).await,
        (Target::Referrers(digest), _) => {
            listings::referrers(state, &repository, digest, &request.query).await
        }
        (Target::Manifest(reference), "GET") => {
            manifests::get(state, &repository, reference, true).await
        }
        (Target::Manifest(reference), "HEAD") => {
            manifests::get(state, &repository, reference, false).await
        }
        (Target::Manifest(reference), "PUT") => {
            manifests::put(state, &repository, reference, request).await
        }
        (Target::Manifest(reference), _) => manifests::delete(state, &repository, reference).await,
        (Target::Blob(digest), "DELETE") => blobs::delete(state, &repository, digest).await,
        (Target::Blob(digest), m) => {
            let zero_copy = request.zero_copy.as_ref();
            blobs::get(
                state,
                &repository,
                digest,
                m == "GET",
                &request.headers,
                zero_copy,
            )
            .await
        }
        (Target::UploadStart, _) => uploads::start(state, &principal, &repository, request).await,
        (Target::Upload(id), "PATCH") => uploads::patch(state, &repository, id, request).await,
        (Target::Upload(id), "PUT") => uploads::put(state, &repository, id, request).await,
        (Target::Upload(id), "GET") => uploads::status(state, &repository, id).await,
        (Target::Upload(id), _) => uploads::cancel(state, &repository, id).await,
    }
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

fn json_content() -> (HeaderName, HeaderValue) {
    (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )
}

/// A service error, answered as `/v2` answers it.
fn wire(error: services::Error) -> OciError {
    error::oci(error)
}

/// A digest in a path, checked before anything is looked up.
fn digest_param(digest: &str) -> Result<berth_model::oci::Digest, OciError> {
    layers::parse_digest(digest).map_err(wire)
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
}
