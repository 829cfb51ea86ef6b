//! The typed ECR client: every request the console makes goes through here,
//! signed with SigV4 in the browser.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_model::ecr::{Action, ErrorBody, Repository, MAX_MAX_RESULTS};
use berth_model::oci::ParsedManifest;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::access;
use crate::session::Connection;
use crate::table::RepositoryImages;

/// Why a call failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("Cannot reach {endpoint}. Check that the registry is running and that it allows this console's origin (CORS).")]
    Unreachable { endpoint: String },
    #[error("This address answered, but not as an ECR API endpoint (HTTP {status}). Is it the registry's URL?")]
    NotEcrEndpoint { status: u16 },
    #[error("The access key id is not known to this registry. Check the key, or ask an administrator for one.")]
    UnknownAccessKey,
    #[error("The secret access key does not match the access key id.")]
    WrongSecret,
    #[error("Your computer's clock is more than 15 minutes off the registry's. Correct the clock and try again.")]
    ClockSkew,
    #[error("{}", denied_words(*action, repository.as_deref()))]
    AccessDenied {
        action: Action,
        repository: Option<String>,
        /// The registry's own text, for those who want it.
        message: String,
    },
    #[error("{message}")]
    Service { error_type: String, message: String },
    #[error("The registry sent an answer the console does not understand: {0}")]
    Decode(String),
}

/// AccessDenied in plain words: what was refused and which permission to ask for.
fn denied_words(action: Action, repository: Option<&str>) -> String {
    let repository = repository.filter(|_| !access::registry_wide(action));
    let grant = if repository.is_some() {
        "in the repository's policy"
    } else {
        "in a policy"
    };
    format!(
        "This key may not {}. Ask the registry's administrator to allow {} for it {grant}.",
        access::what(action, repository),
        access::permission(action)
    )
}

impl ApiError {
    /// Reads an error answer: AWS's `{"__type","message"}`, or whatever else came back.
    pub fn from_response(
        status: u16,
        body: &str,
        action: Action,
        repository: Option<&str>,
    ) -> ApiError {
        let Ok(error) = serde_json::from_str::<ErrorBody>(body) else {
            return if looks_like_a_web_page(body) || matches!(status, 404 | 405 | 501) {
                ApiError::NotEcrEndpoint { status }
            } else {
                ApiError::Decode(format!(
                    "HTTP {status}: {}",
                    body.chars().take(200).collect::<String>()
                ))
            };
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
            "AccessDeniedException" => ApiError::AccessDenied {
                action,
                repository: repository.map(str::to_string),
                message,
            },
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

    pub fn is_access_denied(&self) -> bool {
        matches!(self, ApiError::AccessDenied { .. })
    }
}

fn looks_like_a_web_page(body: &str) -> bool {
    body.trim_start().starts_with('<')
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
) -> Vec<(String, String)> {
    // A clock before 1970 signs as 1970: the registry then says the clock is off.
    let epoch = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let credentials = crate::sigv4::Credentials {
        access_key_id: &connection.access_key_id,
        secret_access_key: &connection.secret_access_key,
        session_token: connection
            .session_token
            .as_deref()
            .filter(|t| !t.is_empty()),
    };
    crate::sigv4::sign_post(
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
    )
}

/// Calls one ECR action and decodes its answer. An AccessDenied answer (or a
/// success) is remembered against the action and repository, see [`access`].
///
/// Generic only at its edges: the request is turned into JSON and the answer read
/// from it here, while signing and sending ([`exchange`]) are one function for every
/// action, not a copy per request and answer type in the wasm.
pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
    connection: &Connection,
    action: Action,
    request: &Req,
) -> Result<Resp, ApiError> {
    let value = serde_json::to_value(request).map_err(|e| ApiError::Decode(e.to_string()))?;
    let (repository, answer) = exchange(connection, action, value).await;
    let result = answer
        .and_then(|answer| serde_json::from_str(&answer.text).map_err(|e| answer.undecodable(e)));
    remember(action, repository.as_deref(), result.as_ref().err());
    result
}

/// A successful answer, before it is decoded.
struct Answer {
    status: u16,
    text: String,
}

impl Answer {
    fn undecodable(&self, error: serde_json::Error) -> ApiError {
        if looks_like_a_web_page(&self.text) {
            ApiError::NotEcrEndpoint {
                status: self.status,
            }
        } else {
            ApiError::Decode(error.to_string())
        }
    }
}

/// Remembers whether `action` on `repository` was allowed (see [`access`]).
fn remember(action: Action, repository: Option<&str>, error: Option<&ApiError>) {
    match error {
        None => access::record(action, repository, false),
        Some(e) if e.is_access_denied() => access::record(action, repository, true),
        Some(_) => {}
    }
}

/// Signs and sends one call: the repository it is about, and the successful
/// answer's text or the error the answer is.
async fn exchange(
    connection: &Connection,
    action: Action,
    value: serde_json::Value,
) -> (Option<String>, Result<Answer, ApiError>) {
    // The repository it is about: by name, one of `repositoryNames`, or by ARN for
    // the resource-tag actions.
    let repository = value
        .get("repositoryName")
        .and_then(|v| v.as_str())
        .or_else(
            || match value.get("repositoryNames").and_then(|v| v.as_array()) {
                Some(names) if names.len() == 1 => names[0].as_str(),
                _ => None,
            },
        )
        .or_else(|| {
            value
                .get("resourceArn")
                .and_then(|v| v.as_str())
                .and_then(|arn| arn.split_once(":repository/").map(|(_, name)| name))
        })
        .map(str::to_string);
    let body = value.to_string();
    let answer = send(connection, action, body, repository.as_deref()).await;
    (repository, answer)
}

async fn send(
    connection: &Connection,
    action: Action,
    body: String,
    repository: Option<&str>,
) -> Result<Answer, ApiError> {
    let headers = signed_headers(connection, &action.target(), &body, now());
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
    if (200..300).contains(&status) {
        Ok(Answer { status, text })
    } else {
        Err(ApiError::from_response(status, &text, action, repository))
    }
}

/// Every repository the key may see: DescribeRepositories page after page (1,000
/// at a time; a thousand repositories are one quick call), so search, sort and
/// counts cover them all.
pub async fn all_repositories(connection: &Connection) -> Result<Vec<Repository>, ApiError> {
    use berth_model::ecr::{DescribeRepositoriesRequest, DescribeRepositoriesResponse};
    let mut repositories = Vec::new();
    let mut next_token = None;
    loop {
        let request = DescribeRepositoriesRequest {
            next_token,
            max_results: Some(MAX_MAX_RESULTS),
            ..Default::default()
        };
        let page: DescribeRepositoriesResponse =
            call(connection, Action::DescribeRepositories, &request).await?;
        repositories.extend(page.repositories);
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => return Ok(repositories),
        }
    }
}

/// One repository, by name.
pub async fn repository(connection: &Connection, name: &str) -> Result<Repository, ApiError> {
    use berth_model::ecr::{DescribeRepositoriesRequest, DescribeRepositoriesResponse};
    let request = DescribeRepositoriesRequest {
        repository_names: Some(vec![name.to_string()]),
        ..Default::default()
    };
    let response: DescribeRepositoriesResponse =
        call(connection, Action::DescribeRepositories, &request).await?;
    response
        .repositories
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Decode("no repository in the answer".into()))
}

/// Every image of a repository, with what each multi-platform index holds.
pub async fn all_images(
    connection: &Connection,
    repository: &str,
) -> Result<RepositoryImages, ApiError> {
    use berth_model::ecr::{DescribeImagesRequest, DescribeImagesResponse};
    let mut images = Vec::new();
    let mut next_token = None;
    loop {
        let request = DescribeImagesRequest {
            repository_name: repository.to_string(),
            next_token,
            max_results: Some(MAX_MAX_RESULTS),
            ..Default::default()
        };
        let page: DescribeImagesResponse =
            call(connection, Action::DescribeImages, &request).await?;
        images.extend(page.image_details);
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => break,
        }
    }
    let indexes: Vec<String> = images
        .iter()
        .filter(|i| berth_model::oci::is_index_media_type(&i.image_manifest_media_type))
        .map(|i| i.image_digest.clone())
        .collect();
    let mut manifests = Vec::new();
    // BatchGetImage takes at most 100 ids.
    for chunk in indexes.chunks(100) {
        manifests.extend(index_manifests(connection, repository, chunk).await?);
    }
    Ok(RepositoryImages::new(images, &manifests))
}

/// The manifests of `digests`, parsed, paired with their digest.
async fn index_manifests(
    connection: &Connection,
    repository: &str,
    digests: &[String],
) -> Result<Vec<(String, ParsedManifest)>, ApiError> {
    use berth_model::ecr::{BatchGetImageResponse, BatchImagesRequest, ImageIdentifier};
    let request = BatchImagesRequest {
        repository_name: repository.to_string(),
        image_ids: digests
            .iter()
            .map(|d| ImageIdentifier {
                image_digest: Some(d.clone()),
                image_tag: None,
            })
            .collect(),
        ..Default::default()
    };
    let response: BatchGetImageResponse = call(connection, Action::BatchGetImage, &request).await?;
    Ok(response
        .images
        .into_iter()
        .filter_map(|image| {
            let digest = image.image_id.image_digest?;
            let parsed = ParsedManifest::parse(
                image.image_manifest.as_bytes(),
                Some(image.image_manifest_media_type.as_str()),
            )
            .ok()?;
            Some((digest, parsed))
        })
        .collect())
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
