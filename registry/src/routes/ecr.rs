//! The ECR API: AWS JSON 1.1 on `POST /`, the action named by `X-Amz-Target`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use berth_model::ecr::{
    Action, CreateRepositoryRequest, DescribeRegistryResponse, ErrorType, ReplicationConfiguration,
    RepositoryRequest, TagResourceRequest, UntagResourceRequest,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::access;
use crate::auth;
use crate::error::EcrError;
use crate::services::{images, repositories, tokens};
use crate::store::RepositoryRecord;
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
    let allow = |repository: Option<&RepositoryRecord>| {
        access::authorize(
            &state.config,
            &principal,
            &format!("ecr:{}", action.name()),
            repository,
        )
        .map_err(|denied| EcrError::new(ErrorType::AccessDenied, denied.message))
    };
    // Every repository-level action names its repository (by name, or by ARN for the
    // tagging actions), which is looked up and authorized before the action runs.
    let named = async || -> Result<RepositoryRecord, EcrError> {
        let named: RepositoryRequest = parse(body)?;
        let repository = repositories::require_repository(
            state,
            named.registry_id.as_deref(),
            &named.repository_name,
        )
        .await?;
        allow(Some(&repository))?;
        Ok(repository)
    };
    let by_arn = async || -> Result<RepositoryRecord, EcrError> {
        let arn: ResourceArn = parse(body)?;
        let repository = repositories::repository_for_arn(state, &arn.resource_arn).await?;
        allow(Some(&repository))?;
        Ok(repository)
    };
    let empty = || json_body(&serde_json::json!({}));
    Ok(match action {
        Action::CreateRepository => {
            let request: CreateRepositoryRequest = parse(body)?;
            allow(None)?;
            json_body(&repositories::create(state, request).await?)
        }
        // Filtered per repository by the caller's policies, so no blanket check here.
        Action::DescribeRepositories => {
            json_body(&repositories::describe(state, &principal, parse(body)?).await?)
        }
        Action::GetAuthorizationToken => {
            let request = parse(body)?;
            allow(None)?;
            json_body(&tokens::get_authorization_token(state, &principal, request).await?)
        }
        Action::DescribeRegistry => {
            allow(None)?;
            json_body(&DescribeRegistryResponse {
                registry_id: state.config.account_id.clone(),
                replication_configuration: ReplicationConfiguration { rules: Vec::new() },
            })
        }
        Action::TagResource => {
            let request: TagResourceRequest = parse(body)?;
            repositories::tag_resource(state, &by_arn().await?, request.tags).await?;
            empty()
        }
        Action::UntagResource => {
            let request: UntagResourceRequest = parse(body)?;
            repositories::untag_resource(state, &by_arn().await?, request.tag_keys).await?;
            empty()
        }
        Action::ListTagsForResource => {
            json_body(&repositories::list_tags(state, &by_arn().await?).await?)
        }
        Action::DeleteRepository => {
            json_body(&repositories::delete(state, named().await?, parse(body)?).await?)
        }
        Action::DescribeImages => {
            json_body(&images::describe(state, &named().await?, parse(body)?).await?)
        }
        Action::ListImages => json_body(&images::list(state, &named().await?, parse(body)?).await?),
        Action::BatchGetImage => {
            json_body(&images::batch_get(state, &named().await?, parse(body)?).await?)
        }
        Action::BatchDeleteImage => {
            json_body(&images::batch_delete(state, &named().await?, parse(body)?).await?)
        }
        Action::PutImage => {
            json_body(&images::put_image(state, &named().await?, parse(body)?).await?)
        }
        Action::BatchCheckLayerAvailability => {
            json_body(&images::batch_check_layers(state, &named().await?, parse(body)?).await?)
        }
        Action::GetDownloadUrlForLayer => {
            json_body(&images::download_url(state, &named().await?, parse(body)?).await?)
        }
        Action::GetRepositoryPolicy => {
            json_body(&repositories::get_policy(state, &named().await?)?)
        }
        Action::SetRepositoryPolicy => {
            json_body(&repositories::set_policy(state, &named().await?, parse(body)?).await?)
        }
        Action::DeleteRepositoryPolicy => {
            json_body(&repositories::delete_policy(state, &named().await?).await?)
        }
        Action::PutImageTagMutability => json_body(
            &repositories::put_tag_mutability(state, &named().await?, parse(body)?).await?,
        ),
        Action::PutImageScanningConfiguration => {
            json_body(&repositories::put_scanning(state, &named().await?, parse(body)?).await?)
        }
    })
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceArn {
    resource_arn: String,
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
