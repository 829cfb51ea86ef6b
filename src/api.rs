//! The typed ECR client: every request the console makes goes through here,
//! signed with SigV4 in the browser.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_model::berth::BerthAction;
use berth_model::ecr::{Action, ErrorBody, Repository, MAX_MAX_RESULTS};
use berth_model::oci::ParsedManifest;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

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
    let credentials = berth_model::sigv4::Credentials {
        access_key_id: &connection.access_key_id,
        secret_access_key: &connection.secret_access_key,
        session_token: connection
            .session_token
            .as_deref()
            .filter(|t| !t.is_empty()),
    };
    berth_model::sigv4::sign_post(
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
pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
    connection: &Connection,
    action: Action,
    request: &Req,
) -> Result<Resp, ApiError> {
    let value = serde_json::to_value(request).map_err(|e| ApiError::Decode(e.to_string()))?;
    let text = post(connection, &action.target(), action, value).await?;
    serde_json::from_str(&text).map_err(|e| ApiError::Decode(e.to_string()))
}

/// Calls one of Berth's own actions (a Berth registry only). Refusals read as
/// refusals of the ECR permission that allows it.
pub async fn call_berth<Resp: DeserializeOwned>(
    connection: &Connection,
    action: BerthAction,
) -> Result<Resp, ApiError> {
    let request = serde_json::Value::Object(Default::default());
    let text = post(connection, &action.target(), action.permission(), request).await?;
    serde_json::from_str(&text).map_err(|e| ApiError::Decode(e.to_string()))
}

/// Signs and sends one call; the body of a successful answer. Not generic, so
/// each request and response type adds only its own (de)serialization to the wasm.
async fn post(
    connection: &Connection,
    target: &str,
    action: Action,
    request: serde_json::Value,
) -> Result<String, ApiError> {
    // The repository it is about: by name, one of `repositoryNames`, or by ARN for
    // the resource-tag actions.
    let repository = request
        .get("repositoryName")
        .and_then(|v| v.as_str())
        .or_else(
            || match request.get("repositoryNames").and_then(|v| v.as_array()) {
                Some(names) if names.len() == 1 => names[0].as_str(),
                _ => None,
            },
        )
        .or_else(|| {
            request
                .get("resourceArn")
                .and_then(|v| v.as_str())
                .and_then(|arn| arn.split_once(":repository/").map(|(_, name)| name))
        })
        .map(str::to_string);
    let body = request.to_string();
    let headers = signed_headers(connection, target, &body, now());
    let unreachable = || ApiError::Unreachable {
        endpoint: connection.endpoint.clone(),
    };
    let response = fetch(&format!("{}/", connection.endpoint), &headers, Some(&body))
        .await
        .map_err(|_| unreachable())?;
    let status = response.status();
    let text = text(&response).await.map_err(|_| unreachable())?;
    let result = if !(200..300).contains(&status) {
        Err(ApiError::from_response(
            status,
            &text,
            action,
            repository.as_deref(),
        ))
    } else if looks_like_a_web_page(&text) {
        Err(ApiError::NotEcrEndpoint { status })
    } else {
        Ok(text)
    };
    match &result {
        Ok(_) => access::record(action, repository.as_deref(), false),
        Err(e) if e.is_access_denied() => access::record(action, repository.as_deref(), true),
        Err(_) => {}
    }
    result
}

/// One request through the browser's `fetch`: a POST with `body`, else a GET.
/// web-sys directly rather than an HTTP crate: the console needs no more than
/// this, and every byte of wasm is downloaded on a first visit.
async fn fetch(
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> Result<web_sys::Response, JsValue> {
    let init = web_sys::RequestInit::new();
    let sent = web_sys::Headers::new()?;
    for (name, value) in headers {
        sent.set(name, value)?;
    }
    init.set_headers(&sent);
    if let Some(body) = body {
        init.set_method("POST");
        init.set_body(&JsValue::from_str(body));
    } else {
        init.set_method("GET");
    }
    let request = web_sys::Request::new_with_str_and_init(url, &init)?;
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    let response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request)).await?;
    response.dyn_into()
}

async fn text(response: &web_sys::Response) -> Result<String, JsValue> {
    let text = wasm_bindgen_futures::JsFuture::from(response.text()?).await?;
    Ok(String::from(&js_sys::JsString::from(text)))
}

/// Waits `duration` without blocking the page (between polls).
pub async fn sleep(duration: Duration) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                duration.as_millis().min(i32::MAX as u128) as i32,
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
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

/// The registry policy text, or `None` when the registry has none.
pub async fn registry_policy(connection: &Connection) -> Result<Option<String>, ApiError> {
    use berth_model::ecr::{EmptyRequest, RegistryPolicyResponse};
    match call::<_, RegistryPolicyResponse>(connection, Action::GetRegistryPolicy, &EmptyRequest {})
        .await
    {
        Ok(response) => Ok(Some(response.policy_text)),
        Err(error) if error.error_type() == Some("RegistryPolicyNotFoundException") => Ok(None),
        Err(error) => Err(error),
    }
}

/// The registry's account id (DescribeRegistry's `registryId`).
pub async fn registry_id(connection: &Connection) -> Result<String, ApiError> {
    use berth_model::ecr::{DescribeRegistryResponse, EmptyRequest};
    call::<_, DescribeRegistryResponse>(connection, Action::DescribeRegistry, &EmptyRequest {})
        .await
        .map(|r| r.registry_id)
}

/// The repository's lifecycle policy, or `None` when it has none.
pub async fn lifecycle_policy(
    connection: &Connection,
    repository: &str,
) -> Result<Option<berth_model::ecr::LifecyclePolicyResponse>, ApiError> {
    use berth_model::ecr::{LifecyclePolicyResponse, RepositoryRequest};
    let request = RepositoryRequest {
        repository_name: repository.to_string(),
        ..Default::default()
    };
    match call::<_, LifecyclePolicyResponse>(connection, Action::GetLifecyclePolicy, &request).await
    {
        Ok(response) => Ok(Some(response)),
        Err(error) if error.error_type() == Some("LifecyclePolicyNotFoundException") => Ok(None),
        Err(error) => Err(error),
    }
}

/// The registry's own preview of `policy_text` over `repository`
/// (StartLifecyclePolicyPreview, then GetLifecyclePolicyPreview until COMPLETE):
/// every image it would act on.
pub async fn lifecycle_preview(
    connection: &Connection,
    repository: &str,
    policy_text: &str,
) -> Result<Vec<berth_model::ecr::LifecyclePolicyPreviewResult>, ApiError> {
    use berth_model::ecr::{
        GetLifecyclePolicyPreviewRequest, GetLifecyclePolicyPreviewResponse,
        StartLifecyclePolicyPreviewRequest, StartLifecyclePolicyPreviewResponse,
        MAX_PREVIEW_RESULTS, PREVIEW_STATUS_COMPLETE, PREVIEW_STATUS_IN_PROGRESS,
    };
    // Waits grow from a quarter second to two: Berth answers at once, AWS in seconds
    // to minutes. About five minutes in all before giving up.
    let mut wait = Duration::from_millis(250);
    let mut waited = Duration::ZERO;
    let mut pause = async || {
        if waited > Duration::from_secs(300) {
            return Err(ApiError::Service {
                error_type: "Timeout".into(),
                message: "The registry's preview did not complete within five minutes.".into(),
            });
        }
        sleep(wait).await;
        waited += wait;
        wait = (wait * 2).min(Duration::from_secs(2));
        Ok(())
    };
    let start = StartLifecyclePolicyPreviewRequest {
        repository_name: repository.to_string(),
        lifecycle_policy_text: Some(policy_text.to_string()),
        ..Default::default()
    };
    // One preview runs at a time per repository: wait for another one to finish.
    loop {
        match call::<_, StartLifecyclePolicyPreviewResponse>(
            connection,
            Action::StartLifecyclePolicyPreview,
            &start,
        )
        .await
        {
            Ok(_) => break,
            Err(e) if e.error_type() == Some("LifecyclePolicyPreviewInProgressException") => {
                pause().await?
            }
            Err(e) => return Err(e),
        }
    }
    let mut results = Vec::new();
    let mut next_token = None;
    loop {
        let request = GetLifecyclePolicyPreviewRequest {
            repository_name: repository.to_string(),
            next_token: next_token.clone(),
            max_results: Some(MAX_PREVIEW_RESULTS),
            ..Default::default()
        };
        let page: GetLifecyclePolicyPreviewResponse =
            call(connection, Action::GetLifecyclePolicyPreview, &request).await?;
        match page.status.as_str() {
            PREVIEW_STATUS_IN_PROGRESS => {
                pause().await?;
                continue;
            }
            PREVIEW_STATUS_COMPLETE => {}
            other => {
                return Err(ApiError::Service {
                    error_type: other.to_string(),
                    message: format!("The registry's preview ended {other}."),
                })
            }
        }
        results.extend(page.preview_results);
        match page.next_token {
            Some(token) => next_token = Some(token),
            None => return Ok(results),
        }
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
    let response = fetch(&url.download_url, &[], None)
        .await
        .map_err(|_| unreachable())?;
    if !response.ok() {
        return Err(ApiError::Decode(format!(
            "downloading {digest}: HTTP {}",
            response.status()
        )));
    }
    let bytes = match response.array_buffer() {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await,
        Err(e) => Err(e),
    }
    .map_err(|_| unreachable())?;
    Ok(js_sys::Uint8Array::new(&bytes).to_vec())
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
