//! The typed ECR client: every request the console makes goes through here,
//! signed with SigV4 in the browser.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_model::ecr::{Action, ErrorBody};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::session::Connection;

/// Why a call failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("Cannot reach {endpoint}. Check that the registry is running and that it allows this console's origin (CORS).")]
    Unreachable { endpoint: String },
    #[error("The access key id is not known to this registry. Check the key, or ask an administrator for one.")]
    UnknownAccessKey,
    #[error("The secret access key does not match the access key id.")]
    WrongSecret,
    #[error("Your computer's clock is more than 15 minutes off the registry's. Correct the clock and try again.")]
    ClockSkew,
    #[error("You are not allowed to do this: {message}")]
    AccessDenied { message: String },
    #[error("{message}")]
    Service { error_type: String, message: String },
    #[error("The registry sent an answer the console does not understand: {0}")]
    Decode(String),
    #[error("The request could not be signed: {0}")]
    Signing(String),
}

impl ApiError {
    /// Reads an error answer: AWS's `{"__type","message"}`, or whatever else came back.
    pub fn from_response(status: u16, body: &str) -> ApiError {
        let Ok(error) = serde_json::from_str::<ErrorBody>(body) else {
            return ApiError::Decode(format!(
                "HTTP {status}: {}",
                body.chars().take(200).collect::<String>()
            ));
        };
        let message = error.message.clone();
        match error.type_name() {
            "UnrecognizedClientException" | "InvalidClientTokenId" => ApiError::UnknownAccessKey,
            "InvalidSignatureException" | "SignatureDoesNotMatch"
                if message.contains("Signature expired") =>
            {
                ApiError::ClockSkew
            }
            "InvalidSignatureException" | "SignatureDoesNotMatch" => ApiError::WrongSecret,
            "AccessDeniedException" => ApiError::AccessDenied { message },
            other => ApiError::Service {
                error_type: other.to_string(),
                message,
            },
        }
    }

    /// The AWS error type, where the registry gave one.
    pub fn error_type(&self) -> Option<&str> {
        match self {
            ApiError::Service { error_type, .. } => Some(error_type),
            _ => None,
        }
    }
}

pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(js_sys::Date::now() as u64)
}

/// The headers that sign one ECR API call.
pub fn signed_headers(
    connection: &Connection,
    target: &str,
    body: &str,
    at: SystemTime,
) -> Result<Vec<(String, String)>, ApiError> {
    let epoch = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| ApiError::Signing("the clock is before 1970".into()))?
        .as_secs();
    let credentials = crate::sigv4::Credentials {
        access_key_id: &connection.access_key_id,
        secret_access_key: &connection.secret_access_key,
        session_token: connection
            .session_token
            .as_deref()
            .filter(|t| !t.is_empty()),
    };
    Ok(crate::sigv4::sign_post(
        &connection.endpoint,
        &connection.region,
        berth_model::ECR_SIGNING_NAME,
        &credentials,
        &[
            ("content-type", berth_model::AWS_JSON_1_1),
            ("x-amz-target", target),
        ],
        body,
        epoch,
    ))
}

/// Calls one ECR action and decodes its answer.
pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
    connection: &Connection,
    action: Action,
    request: &Req,
) -> Result<Resp, ApiError> {
    let body = serde_json::to_string(request).map_err(|e| ApiError::Decode(e.to_string()))?;
    let headers = signed_headers(connection, &action.target(), &body, now())?;
    let mut builder = gloo_net::http::Request::post(&format!("{}/", connection.endpoint));
    for (name, value) in &headers {
        builder = builder.header(name, value);
    }
    let unreachable = || ApiError::Unreachable {
        endpoint: connection.endpoint.clone(),
    };
    let response = builder
        .body(body)
        .map_err(|_| unreachable())?
        .send()
        .await
        .map_err(|_| unreachable())?;
    let status = response.status();
    let text = response.text().await.map_err(|_| unreachable())?;
    if !(200..300).contains(&status) {
        return Err(ApiError::from_response(status, &text));
    }
    serde_json::from_str(&text).map_err(|e| ApiError::Decode(e.to_string()))
}

/// How many images a repository holds (every page of ListImages).
pub async fn count_images(connection: &Connection, repository: &str) -> Result<usize, ApiError> {
    use berth_model::ecr::{ListImagesRequest, ListImagesResponse};
    let mut digests = std::collections::BTreeSet::new();
    let mut next_token = None;
    loop {
        let request = ListImagesRequest {
            repository_name: repository.to_string(),
            next_token,
            max_results: Some(1000),
            ..Default::default()
        };
        let page: ListImagesResponse = call(connection, Action::ListImages, &request).await?;
        digests.extend(page.image_ids.into_iter().filter_map(|id| id.image_digest));
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => return Ok(digests.len()),
        }
    }
}

/// The repository policy text, or `None` when the repository has none.
pub async fn repository_policy(
    connection: &Connection,
    repository: &str,
) -> Result<Option<String>, ApiError> {
    use berth_model::ecr::{RepositoryPolicyResponse, RepositoryRequest};
    let request = RepositoryRequest {
        repository_name: repository.to_string(),
        ..Default::default()
    };
    match call::<_, RepositoryPolicyResponse>(connection, Action::GetRepositoryPolicy, &request)
        .await
    {
        Ok(response) => Ok(Some(response.policy_text)),
        Err(error) if error.error_type() == Some("RepositoryPolicyNotFoundException") => Ok(None),
        Err(error) => Err(error),
    }
}

/// A blob's bytes, through the URL GetDownloadUrlForLayer hands out.
pub async fn download_blob(
    connection: &Connection,
    repository: &str,
    digest: &str,
) -> Result<Vec<u8>, ApiError> {
    use berth_model::ecr::{GetDownloadUrlForLayerRequest, GetDownloadUrlForLayerResponse};
    let request = GetDownloadUrlForLayerRequest {
        repository_name: repository.to_string(),
        layer_digest: digest.to_string(),
        ..Default::default()
    };
    let url: GetDownloadUrlForLayerResponse =
        call(connection, Action::GetDownloadUrlForLayer, &request).await?;
    let unreachable = || ApiError::Unreachable {
        endpoint: url.download_url.clone(),
    };
    let response = gloo_net::http::Request::get(&url.download_url)
        .send()
        .await
        .map_err(|_| unreachable())?;
    if !response.ok() {
        return Err(ApiError::Decode(format!(
            "downloading {digest}: HTTP {}",
            response.status()
        )));
    }
    response.binary().await.map_err(|_| unreachable())
}

/// Where this repository's images live, for push commands.
pub fn registry_target(
    connection: &Connection,
    repository: &berth_model::ecr::Repository,
) -> berth_model::push::RegistryTarget {
    use berth_model::push::RegistryTarget;
    match connection.kind {
        crate::session::RegistryKind::Aws => RegistryTarget::Aws {
            account_id: repository.registry_id.clone(),
            region: connection.region.clone(),
        },
        _ => RegistryTarget::Endpoint {
            endpoint_url: connection.endpoint.clone(),
            region: connection.region.clone(),
            registry_host: repository
                .repository_uri
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string(),
        },
    }
}
