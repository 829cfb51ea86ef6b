//! The ECR API: AWS JSON 1.1 on `POST /`, the action named by `X-Amz-Target`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use berth_model::ecr::{
    Action, CreateRepositoryRequest, DescribeImagesRequest, DescribeRepositoriesRequest, ErrorType,
    GetAuthorizationTokenRequest, ListImagesRequest,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::access;
use crate::auth;
use crate::error::EcrError;
use crate::services::{images, repositories, tokens};
use crate::AppState;

pub fn route(
    app: Router<AppState>,
    serve_console_at_root: Option<axum::routing::MethodRouter<AppState>>,
) -> Router<AppState> {
    let post = axum::routing::post(handle);
    let method_router = match serve_console_at_root {
        Some(get) => get.merge(post),
        None => post,
    };
    app.route("/", method_router)
}

/// A JSON body with AWS JSON 1.1's content type.
pub fn json_body<T: Serialize>(value: &T) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(berth_model::AWS_JSON_1_1),
        )],
        body,
    )
        .into_response()
}

fn request_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut response = match dispatch(&state, &method, &uri, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id()) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    response
}

async fn dispatch(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, EcrError> {
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let principal = auth::verify_request(
        &state.config,
        &state.store,
        method.as_str(),
        path_and_query,
        headers,
        body,
    )
    .await?;
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let action = Action::from_target(target).ok_or_else(|| {
        EcrError::new(
            ErrorType::UnknownOperation,
            format!("Unknown operation: '{target}' is not an ECR action this registry supports."),
        )
    })?;
    let allow = |repository: Option<&str>| {
        access::authorize(
            &state.config,
            &principal,
            &format!("ecr:{}", action.name()),
            repository,
        )
        .map_err(|denied| EcrError::new(ErrorType::AccessDenied, denied.message))
    };
    match action {
        Action::CreateRepository => {
            let request: CreateRepositoryRequest = parse(body)?;
            allow(Some(&request.repository_name))?;
            Ok(json_body(&repositories::create(state, request).await?))
        }
        Action::DescribeRepositories => {
            let request: DescribeRepositoriesRequest = parse(body)?;
            allow(None)?;
            Ok(json_body(&repositories::describe(state, request).await?))
        }
        Action::DescribeImages => {
            let request: DescribeImagesRequest = parse(body)?;
            allow(Some(&request.repository_name))?;
            Ok(json_body(&images::describe(state, request).await?))
        }
        Action::ListImages => {
            let request: ListImagesRequest = parse(body)?;
            allow(Some(&request.repository_name))?;
            Ok(json_body(&images::list(state, request).await?))
        }
        Action::GetAuthorizationToken => {
            let request: GetAuthorizationTokenRequest = parse(body)?;
            allow(None)?;
            Ok(json_body(
                &tokens::get_authorization_token(state, &principal, request).await?,
            ))
        }
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, EcrError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        EcrError::new(
            ErrorType::Serialization,
            format!(
                "The request body is not a valid {} request: {e}",
                std::any::type_name::<T>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("ECR")
            ),
        )
    })
}
