//! `/v2/token`: the distribution token endpoint that a `Bearer` challenge points at.
//! It takes Basic credentials — `AWS:<authorization token>`, as `docker login` was
//! given, or an access key pair — and answers a token scoped to what the caller's
//! policies allow (GET as docker does; POST with an OAuth2 password grant too).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::{api_version, challenge, OciCode, OciError};
use crate::auth::access::{Access, On};
use crate::auth::bearer::{self, Grant};
use crate::auth::{tokens, Principal};
use crate::clock::now_epoch_seconds;
use crate::AppState;

/// Bounds the form body of a POST: a few short fields.
const MAX_FORM_BYTES: usize = 64 * 1024;

pub(super) async fn token(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    api_version(match answer(&state, method, &uri, &headers, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    })
}

async fn answer(
    state: &AppState,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OciError> {
    let mut params: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if method == Method::POST {
        let form = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                OciError::new(
                    OciCode::ParameterInvalid,
                    "the token request body is not a form of at most 64 KiB",
                )
            })?;
        params.extend(form_urlencoded::parse(&form).into_owned());
    } else if method != Method::GET {
        return Err(OciError::new(
            OciCode::Unsupported,
            format!("{method} is not supported on /v2/token: use GET or POST"),
        ));
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let refuse = |message: String| OciError {
        code: OciCode::Unauthorized,
        message,
        detail: None,
        challenge: challenge(state, None),
    };
    let (user, password) = match (param("username"), param("password")) {
        (Some(user), Some(password)) if param("grant_type").as_deref() == Some("password") => {
            (user, password)
        }
        _ => tokens::basic_credentials(headers)
            .map_err(|tokens::BasicAuthError(message)| refuse(message))?,
    };
    let now = now_epoch_seconds();
    let (principal, login_expires) = if user == "AWS" {
        tokens::principal_for_token(&state.config, state.metadata.as_ref(), &password)
            .await
            .map_err(|tokens::BasicAuthError(message)| refuse(message))?
    } else {
        let principal =
            tokens::principal_for_key(&state.config, state.metadata.as_ref(), &user, &password)
                .await
                .map_err(|tokens::BasicAuthError(message)| refuse(message))?;
        (principal, f64::INFINITY)
    };
    let access = crate::services::policies::access(state)
        .await
        .map_err(OciError::internal)?;
    // This is a login, as GetAuthorizationToken is: a Deny of that action refuses it
    // here too, whichever credentials came.
    access
        .authorize(&principal, "ecr:GetAuthorizationToken", On::Registry)
        .map_err(|denied| OciError::new(OciCode::Denied, denied.message))?;
    let mut granted = Vec::new();
    for (_, scopes) in params.iter().filter(|(k, _)| k == "scope") {
        for scope in scopes.split_whitespace() {
            if let Some(grant) = Grant::parse(scope) {
                granted.push(allowed(state, &access, &principal, grant).await?);
            }
        }
    }
    // A token never outlives the login it came from.
    let expires_at = (now + bearer::LIFETIME_SECONDS).min(login_expires);
    let token = bearer::issue(&state.url_signing_key, &principal, granted, expires_at);
    let issued_at = time::OffsetDateTime::from_unix_timestamp(now as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": (expires_at - now).max(0.0) as u64,
        "issued_at": issued_at,
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

/// The part of a requested scope the caller's policies allow: `pull`, `push` and
/// `delete` on a repository, each decided as the requests it stands for will be. For
/// a name no repository has, the registry policy alone decides, so a caller it
/// allows there reaches the repository's `NAME_UNKNOWN` ("create it first") rather
/// than an unexplained refusal.
async fn allowed(
    state: &AppState,
    access: &Access<'_>,
    principal: &Principal,
    mut grant: Grant,
) -> Result<Grant, OciError> {
    match grant.kind.as_str() {
        "registry" if grant.name == "catalog" => {
            // _catalog lists only what the caller may describe, so it may always ask.
            grant.actions.retain(|a| a == "*");
        }
        "repository" => {
            let repository = state
                .metadata
                .find_repository(&grant.name)
                .await
                .map_err(OciError::internal)?;
            let on = match &repository {
                Some(r) => On::Repository(r),
                None => On::Name(&grant.name),
            };
            let may = |action: &str| access.authorize(principal, action, on).is_ok();
            let mut actions = Vec::new();
            for wanted in &grant.actions {
                let one = [wanted.as_str()];
                let candidates: &[&str] = if wanted == "*" {
                    &["pull", "push", "delete"]
                } else {
                    &one
                };
                for candidate in candidates {
                    let ecr_action = match *candidate {
                        "pull" => "ecr:BatchGetImage",
                        "push" => "ecr:PutImage",
                        "delete" => "ecr:BatchDeleteImage",
                        _ => continue,
                    };
                    if may(ecr_action) && !actions.iter().any(|a| a == candidate) {
                        actions.push(candidate.to_string());
                    }
                }
            }
            grant.actions = actions;
        }
        _ => grant.actions.clear(),
    }
    Ok(grant)
}
