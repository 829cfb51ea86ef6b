//! The ECR API: AWS JSON 1.1 on `POST /`, the action named by `X-Amz-Target`.
//!
//! A request is checked in the order that costs least: its headers (key, scope,
//! signed headers, clock), then its body within the limits of `body.rs`, then its
//! signature, then the action.

pub mod body;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use berth_model::ecr::{
    Action, CompleteLayerUploadRequest, CompleteLayerUploadResponse, CreateRepositoryRequest,
    DescribeRegistryResponse, ErrorType, InitiateLayerUploadResponse, ReplicationConfiguration,
    RepositoryRequest, TagResourceRequest, UntagResourceRequest, UploadLayerPartRequest,
    UploadLayerPartResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{self, EcrError};
use crate::auth::access::On;
use crate::auth::{sigv4, Principal};
use crate::services::{
    self, images, layers, lifecycle, policies, repositories, scanning, tokens, uploads,
};
use crate::storage::RepositoryRecord;
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

async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let mut response = match authenticate_and_dispatch(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id()) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    response
}

async fn authenticate_and_dispatch(
    state: &AppState,
    request: Request,
) -> Result<Response, EcrError> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let checked = sigv4::check_headers(&state.config, state.metadata.as_ref(), headers).await?;
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let action = Action::from_target(target);
    let name = action.map_or("ECR", Action::name);
    let body = body::read(state, headers, body, body::limit(action), name).await?;
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let principal = sigv4::verify_body(
        &state.config,
        checked,
        parts.method.as_str(),
        path_and_query,
        headers,
        &body.bytes,
    )?;
    let body = body.verified();
    let action = action.ok_or_else(|| {
        EcrError::new(
            ErrorType::UnknownOperation,
            format!("Unknown operation: '{target}' is not an ECR action this registry supports."),
        )
    })?;
    check_registry(state, &principal, action, &body).map_err(|e| error::ecr(e, &state.config))?;
    dispatch(state, &principal, action, &body).await
}

async fn dispatch(
    state: &AppState,
    principal: &Principal,
    action: Action,
    body: &[u8],
) -> Result<Response, EcrError> {
    let wire = |e: services::Error| error::ecr(e, &state.config);
    let action_name = format!("ecr:{}", action.name());
    // Registry-level actions are decided against the registry policy alone, on the
    // resource `*` (their IAM resource on AWS).
    let registry_level = async || -> Result<(), EcrError> {
        policies::access(state)
            .await
            .map_err(wire)?
            .authorize(principal, &action_name, On::Registry)
            .map_err(|denied| EcrError::new(ErrorType::AccessDenied, denied.message))
    };
    // Every repository-level action names its repository (by name, or by ARN for the
    // tagging actions), which is authorized before the action runs: whether it
    // exists is told only to callers who could be allowed there.
    let named = async || -> Result<RepositoryRecord, EcrError> {
        let named: RepositoryRequest = parse(body)?;
        repositories::authorized(state, principal, &action_name, &named.repository_name)
            .await
            .map_err(wire)
    };
    let by_arn = async || -> Result<RepositoryRecord, EcrError> {
        let arn: ResourceArn = parse(body)?;
        repositories::authorized_by_arn(state, principal, &action_name, &arn.resource_arn)
            .await
            .map_err(wire)
    };
    let empty = || json_body(&serde_json::json!({}));
    Ok(match action {
        Action::CreateRepository => {
            let request: CreateRepositoryRequest = parse(body)?;
            json_body(
                &repositories::create(state, principal, request)
                    .await
                    .map_err(wire)?,
            )
        }
        // Filtered per repository by the caller's policies, so no blanket check here.
        Action::DescribeRepositories => {
            let request = parse(body)?;
            json_body(
                &repositories::describe(state, principal, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::GetAuthorizationToken => {
            let request = parse(body)?;
            registry_level().await?;
            json_body(
                &tokens::get_authorization_token(state, principal, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::DescribeRegistry => {
            registry_level().await?;
            json_body(&DescribeRegistryResponse {
                registry_id: state.config.account_id.clone(),
                replication_configuration: ReplicationConfiguration { rules: Vec::new() },
            })
        }
        Action::TagResource => {
            let request: TagResourceRequest = parse(body)?;
            let repository = by_arn().await?;
            repositories::tag_resource(state, &repository, request.tags)
                .await
                .map_err(wire)?;
            empty()
        }
        Action::UntagResource => {
            let request: UntagResourceRequest = parse(body)?;
            let repository = by_arn().await?;
            repositories::untag_resource(state, &repository, request.tag_keys)
                .await
                .map_err(wire)?;
            empty()
        }
        Action::ListTagsForResource => {
            let repository = by_arn().await?;
            json_body(
                &repositories::list_tags(state, &repository)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::DeleteRepository => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &repositories::delete(state, repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::DescribeImages => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &images::describe(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::ListImages => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &images::list(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::BatchGetImage => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &images::batch_get(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::BatchDeleteImage => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &images::batch_delete(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::PutImage => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &images::put_image(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::BatchCheckLayerAvailability => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &layers::batch_check(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::GetDownloadUrlForLayer => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &layers::download_url(state, principal, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::GetRepositoryPolicy => {
            let repository = named().await?;
            json_body(&repositories::get_policy(state, &repository).map_err(wire)?)
        }
        Action::SetRepositoryPolicy => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &repositories::set_policy(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::DeleteRepositoryPolicy => {
            let repository = named().await?;
            json_body(
                &repositories::delete_policy(state, &repository)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::PutImageTagMutability => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &repositories::put_tag_mutability(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::PutLifecyclePolicy => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &lifecycle::put_policy(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::GetLifecyclePolicy => {
            let repository = named().await?;
            json_body(
                &lifecycle::get_policy(state, &repository)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::DeleteLifecyclePolicy => {
            let repository = named().await?;
            json_body(
                &lifecycle::delete_policy(state, &repository)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::StartLifecyclePolicyPreview => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &lifecycle::preview::start(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::GetLifecyclePolicyPreview => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &lifecycle::preview::get(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::PutImageScanningConfiguration => {
            let repository = named().await?;
            let request = parse(body)?;
            json_body(
                &repositories::put_scanning(state, &repository, request)
                    .await
                    .map_err(wire)?,
            )
        }
        Action::InitiateLayerUpload => {
            let repository = named().await?;
            json_body(&InitiateLayerUploadResponse {
                upload_id: uploads::initiate(state, &repository).await.map_err(wire)?,
                part_size: uploads::LAYER_PART_SIZE,
            })
        }
        Action::UploadLayerPart => {
            let repository = named().await?;
            let request: UploadLayerPartRequest = parse(body)?;
            let last_byte_received = uploads::upload_part(
                state,
                &repository,
                &request.upload_id,
                request.part_first_byte,
                request.part_last_byte,
                request.layer_part_blob.0,
            )
            .await
            .map_err(wire)?;
            json_body(&UploadLayerPartResponse {
                registry_id: state.config.account_id.clone(),
                repository_name: repository.name,
                upload_id: request.upload_id,
                last_byte_received,
            })
        }
        Action::CompleteLayerUpload => {
            let repository = named().await?;
            let request: CompleteLayerUploadRequest = parse(body)?;
            let digest = uploads::complete_layer(
                state,
                &repository,
                &request.upload_id,
                &request.layer_digests,
            )
            .await
            .map_err(wire)?;
            json_body(&CompleteLayerUploadResponse {
                registry_id: state.config.account_id.clone(),
                repository_name: repository.name,
                upload_id: request.upload_id,
                layer_digest: digest.to_string(),
            })
        }
        Action::PutRegistryPolicy => {
            let request = parse(body)?;
            registry_level().await?;
            json_body(&policies::put(state, request).await.map_err(wire)?)
        }
        Action::GetRegistryPolicy => {
            registry_level().await?;
            json_body(&policies::get(state).await.map_err(wire)?)
        }
        Action::DeleteRegistryPolicy => {
            registry_level().await?;
            json_body(&policies::delete(state).await.map_err(wire)?)
        }
        Action::PutRegistryScanningConfiguration => {
            let request = parse(body)?;
            registry_level().await?;
            json_body(&scanning::put_registry(state, request).await.map_err(wire)?)
        }
        Action::GetRegistryScanningConfiguration => {
            registry_level().await?;
            json_body(&scanning::get_registry(state).await.map_err(wire)?)
        }
        Action::BatchGetRepositoryScanningConfiguration => {
            let request = parse(body)?;
            json_body(
                &scanning::batch_get_repositories(state, principal, request)
                    .await
                    .map_err(wire)?,
            )
        }
        // Berth has no scanner: once the checks AWS makes pass, these always refuse.
        Action::StartImageScan => {
            let repository = named().await?;
            let request = parse(body)?;
            return Err(wire(
                scanning::start_image_scan(state, &repository, request).await,
            ));
        }
        Action::DescribeImageScanFindings => {
            let repository = named().await?;
            let request = parse(body)?;
            return Err(wire(
                scanning::describe_findings(state, &repository, request).await,
            ));
        }
    })
}

/// Every action's `registryId` (and GetAuthorizationToken's `registryIds`), checked
/// once before the action: see [`repositories::check_registry_id`].
fn check_registry(
    state: &AppState,
    principal: &crate::auth::Principal,
    action: Action,
    body: &[u8],
) -> services::Result<()> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) else {
        // Not an object: the action's own parse says what is wrong with it.
        return Ok(());
    };
    let repository = fields.get("repositoryName").and_then(|v| v.as_str());
    let action_name = format!("ecr:{}", action.name());
    let ids: Vec<&str> = match (fields.get("registryId"), fields.get("registryIds")) {
        (Some(serde_json::Value::String(id)), _) => vec![id],
        (_, Some(serde_json::Value::Array(ids))) => ids.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    };
    for id in ids {
        repositories::check_registry_id(state, principal, &action_name, Some(id), repository)?;
    }
    Ok(())
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
