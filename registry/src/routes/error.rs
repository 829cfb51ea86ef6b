//! The wire errors — ECR's `{"__type","message"}` and OCI's `{"errors":[…]}` — and
//! the one place each service error becomes one of them.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_model::ecr::{ErrorBody, ErrorType};

use crate::auth::{AuthError, AuthErrorKind};
use crate::config::Config;
use crate::services::Error;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EcrError {
    pub error_type: ErrorType,
    pub message: String,
    /// The members InvalidLayerPartException carries besides its message, so a
    /// client can resume the upload.
    pub upload: Option<Box<UploadMembers>>,
}

/// Which upload an error is about, and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadMembers {
    pub registry_id: String,
    pub repository_name: String,
    pub upload_id: String,
    /// Absent while the upload holds no byte.
    pub last_valid_byte_received: Option<u64>,
}

impl EcrError {
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        EcrError {
            error_type,
            message: message.into(),
            upload: None,
        }
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorType::InvalidParameter, message)
    }

    pub fn server(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Server, message)
    }

    pub fn status(&self) -> StatusCode {
        match self.error_type {
            ErrorType::Server => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::MissingAuthenticationToken
            | ErrorType::InvalidSignature
            | ErrorType::AccessDenied => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for EcrError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = ErrorBody::new(self.error_type, self.message);
        if let Some(upload) = self.upload {
            body.registry_id = Some(upload.registry_id);
            body.repository_name = Some(upload.repository_name);
            body.upload_id = Some(upload.upload_id);
            body.last_valid_byte_received = upload.last_valid_byte_received;
        }
        let mut response = (status, super::ecr::json_body(&body)).into_response();
        response.headers_mut().insert(
            "x-amzn-ErrorType",
            HeaderValue::from_static(self.error_type.as_str()),
        );
        response
    }
}

/// OCI Distribution error codes, with the status each is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OciCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    TagInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    RangeInvalid,
    /// A query parameter is out of range: the spec has no code of its own for
    /// this, so UNSUPPORTED ("invalid set of parameters"), answered 400.
    ParameterInvalid,
    Internal,
}

impl OciCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OciCode::BlobUnknown => "BLOB_UNKNOWN",
            OciCode::BlobUploadInvalid | OciCode::RangeInvalid => "BLOB_UPLOAD_INVALID",
            OciCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            OciCode::DigestInvalid => "DIGEST_INVALID",
            OciCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            OciCode::ManifestInvalid => "MANIFEST_INVALID",
            OciCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            OciCode::NameInvalid => "NAME_INVALID",
            OciCode::NameUnknown => "NAME_UNKNOWN",
            OciCode::SizeInvalid => "SIZE_INVALID",
            OciCode::TagInvalid => "TAG_INVALID",
            OciCode::Unauthorized => "UNAUTHORIZED",
            OciCode::Denied => "DENIED",
            OciCode::Unsupported => "UNSUPPORTED",
            OciCode::ParameterInvalid => "UNSUPPORTED",
            OciCode::Internal => "UNKNOWN",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            OciCode::BlobUnknown
            | OciCode::BlobUploadUnknown
            | OciCode::ManifestUnknown
            | OciCode::NameUnknown => StatusCode::NOT_FOUND,
            OciCode::Unauthorized => StatusCode::UNAUTHORIZED,
            OciCode::Denied => StatusCode::FORBIDDEN,
            OciCode::Unsupported => StatusCode::METHOD_NOT_ALLOWED,
            OciCode::RangeInvalid => StatusCode::RANGE_NOT_SATISFIABLE,
            OciCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// The `/v2` challenges: ECR's Basic (`AWS:<token>`), and the distribution token
/// flow's Bearer, pointing at `/v2/token` with the scope the request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The registry's public URL.
    pub realm: String,
    /// The registry's host, as the token spec's `service`.
    pub service: String,
    /// e.g. `repository:team/app:pull,push`.
    pub scope: Option<String>,
    /// A bearer token was presented but does not cover the request (RFC 6750's
    /// `insufficient_scope`, answered 403): only the Bearer challenge is sent, so
    /// the client asks the token endpoint again for `scope`.
    pub insufficient_scope: bool,
}

impl Challenge {
    pub fn header_values(&self) -> Vec<String> {
        let scope = self
            .scope
            .as_ref()
            .map(|s| format!(",scope=\"{s}\""))
            .unwrap_or_default();
        let bearer = format!(
            "Bearer realm=\"{}/v2/token\",service=\"{}\"{scope}",
            self.realm, self.service
        );
        if self.insufficient_scope {
            return vec![format!("{bearer},error=\"insufficient_scope\"")];
        }
        vec![format!("Basic realm=\"{}\"", self.realm), bearer]
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct OciError {
    pub code: OciCode,
    pub message: String,
    pub detail: Option<Box<serde_json::Value>>,
    /// For 401: how to authenticate.
    pub challenge: Option<Box<Challenge>>,
}

impl OciError {
    pub fn new(code: OciCode, message: impl Into<String>) -> Self {
        OciError {
            code,
            message: message.into(),
            detail: None,
            challenge: None,
        }
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(Box::new(detail));
        self
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        OciError::new(OciCode::Internal, format!("internal error: {message}"))
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({"code": self.code.as_str(), "message": self.message});
        if let Some(detail) = self.detail {
            error["detail"] = *detail;
        }
        let body =
            serde_json::to_vec(&serde_json::json!({ "errors": [error] })).unwrap_or_default();
        let mut response = (
            self.code.status(),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if let Some(challenge) = self.challenge {
            // Basic first: clients that read only one challenge's parameters (oras-py
            // merges the header lines) then take the Bearer realm, the last one.
            let headers = response.headers_mut();
            for value in challenge.header_values() {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.append(axum::http::header::WWW_AUTHENTICATE, value);
                }
            }
        }
        response
    }
}

impl From<AuthError> for EcrError {
    fn from(error: AuthError) -> Self {
        let error_type = match error.kind {
            AuthErrorKind::MissingAuthenticationToken => ErrorType::MissingAuthenticationToken,
            AuthErrorKind::IncompleteSignature => ErrorType::IncompleteSignature,
            AuthErrorKind::InvalidSignature => ErrorType::InvalidSignature,
            AuthErrorKind::UnrecognizedClient => ErrorType::UnrecognizedClient,
            AuthErrorKind::Internal => ErrorType::Server,
        };
        EcrError::new(error_type, error.message)
    }
}

/// A service error as the ECR API answers it, in AWS's words where AWS has them.
pub fn ecr(error: Error, config: &Config) -> EcrError {
    let registry = &config.account_id;
    let (error_type, message) = match error {
        Error::InvalidParameter(message) => (ErrorType::InvalidParameter, message),
        Error::InvalidTagParameter(message) => (ErrorType::InvalidTagParameter, message),
        Error::TooManyTags(message) => (ErrorType::TooManyTags, message),
        Error::RepositoryNotFound { name } => (
            ErrorType::RepositoryNotFound,
            format!("The repository with name '{name}' does not exist in the registry with id '{registry}'"),
        ),
        Error::RepositoryAlreadyExists { name } => (
            ErrorType::RepositoryAlreadyExists,
            format!("The repository with name '{name}' already exists in the registry with id '{registry}'"),
        ),
        Error::RepositoryNotEmpty { name, images } => (
            ErrorType::RepositoryNotEmpty,
            format!(
                "The repository with name '{name}' in registry with id '{registry}' cannot be deleted because it still contains images. It holds {images} image{}: delete them first, or delete with force",
                if images == 1 { "" } else { "s" }
            ),
        ),
        Error::RepositoryPolicyNotFound { name } => (
            ErrorType::RepositoryPolicyNotFound,
            format!("Repository policy does not exist for the repository with name '{name}' in the registry with id '{registry}'"),
        ),
        Error::LifecyclePolicyNotFound { name } => (
            ErrorType::LifecyclePolicyNotFound,
            format!("Lifecycle policy does not exist for the repository with name '{name}' in the registry with id '{registry}'"),
        ),
        Error::LifecyclePolicyPreviewNotFound { name } => (
            ErrorType::LifecyclePolicyPreviewNotFound,
            format!("There is no dry run for the repository with name '{name}' in the registry with id '{registry}': start one with StartLifecyclePolicyPreview"),
        ),
        Error::LifecyclePolicyPreviewInProgress { name } => (
            ErrorType::LifecyclePolicyPreviewInProgress,
            format!("The previous lifecycle policy preview request for the repository with name '{name}' in the registry with id '{registry}' has not completed. Wait and try again."),
        ),
        Error::ImageNotFound { repository, image } => (
            ErrorType::ImageNotFound,
            format!("The image with imageId {{{image}}} does not exist within the repository with name '{repository}' in the registry with id '{registry}'"),
        ),
        Error::ImageAlreadyExists { repository, digest, tag } => (
            ErrorType::ImageAlreadyExists,
            format!(
                "Image with digest '{digest}'{} already exists in the repository with name '{repository}' in registry with id '{registry}'",
                tag.map(|t| format!(" and tag '{t}'")).unwrap_or_default()
            ),
        ),
        Error::TagImmutable { repository, tag } => (
            ErrorType::ImageTagAlreadyExists,
            format!("The image tag '{tag}' already exists in the '{repository}' repository and cannot be overwritten because the repository is immutable."),
        ),
        Error::InvalidTag(tag) => (
            ErrorType::InvalidParameter,
            format!("Invalid parameter at 'imageTag': '{tag}' is not a valid tag"),
        ),
        Error::InvalidManifest(message) => (
            ErrorType::InvalidParameter,
            format!("Invalid parameter at 'imageManifest': {message}"),
        ),
        Error::ManifestDigestMismatch { given, actual } => (
            ErrorType::ImageDigestDoesNotMatch,
            format!("The digest of the manifest is '{actual}', not the imageDigest '{given}' given"),
        ),
        Error::MissingBlobs { repository, digests } => (
            ErrorType::LayersNotFound,
            format!(
                "Layers with digests '[{}]' required for pushing image into repository with name '{repository}' in the registry with id '{registry}' do not exist",
                digests.join(", ")
            ),
        ),
        Error::MissingManifest { repository, digest } => (
            ErrorType::ReferencedImagesNotFound,
            format!("The image index references '{digest}', which is not in repository '{repository}'"),
        ),
        Error::BlobNotFound { repository, digest } => (
            ErrorType::LayersNotFound,
            format!("The layer '{digest}' does not exist in the repository with name '{repository}'"),
        ),
        Error::InvalidDigest(message) => (ErrorType::InvalidParameter, message),
        Error::AccessDenied(message) => (ErrorType::AccessDenied, message),
        Error::UploadNotFound { repository, id } => (
            ErrorType::UploadNotFound,
            format!("The upload with id '{id}' could not be found in the repository with name '{repository}' in the registry with id '{registry}': it was completed, expired, or started in another repository. Start a new one with InitiateLayerUpload"),
        ),
        Error::InvalidLayerPart { repository, id, last_valid_byte, reason } => {
            let mut error = EcrError::new(ErrorType::InvalidLayerPart, reason);
            error.upload = Some(Box::new(UploadMembers {
                registry_id: registry.clone(),
                repository_name: repository,
                upload_id: id,
                last_valid_byte_received: last_valid_byte,
            }));
            return error;
        }
        Error::EmptyUpload { repository, id } => (
            ErrorType::EmptyUpload,
            format!("The upload with id '{id}' in the repository with name '{repository}' in the registry with id '{registry}' does not contain any layer parts: send them with UploadLayerPart first"),
        ),
        Error::LayerAlreadyExists { repository, digest } => (
            ErrorType::LayerAlreadyExists,
            format!("The layer with digest '{digest}' already exists in the repository with name '{repository}' in the registry with id '{registry}'"),
        ),
        Error::BlobDigestMismatch { expected, actual } => (
            ErrorType::InvalidLayer,
            format!("The layer digest calculated upon receipt of the image layer, '{actual}', does not match the digest specified, '{expected}'. The upload has ended: start a new one with InitiateLayerUpload"),
        ),
        Error::RegistryPolicyNotFound => (
            ErrorType::RegistryPolicyNotFound,
            format!("Registry policy does not exist in the registry with id '{registry}'"),
        ),
        Error::ScanUnsupported { repository, image } => (
            ErrorType::UnsupportedImageType,
            format!("The image with imageId {{{image}}} in the repository with name '{repository}' cannot be scanned: Berth has no image scanner, so it starts no scans (README, \"Image scanning\")"),
        ),
        Error::ScanNotFound { repository, image } => (
            ErrorType::ScanNotFound,
            format!("Image scan does not exist for the image with imageId {{{image}}} in the repository with name '{repository}' in the registry with id '{registry}': Berth has no image scanner, so no image has scan findings (README, \"Image scanning\")"),
        ),
        other @ (Error::ManifestNotFound { .. }
        | Error::UploadOutOfOrder { .. }
        | Error::Body(_)
        | Error::ImageReferencedByManifestList { .. }
        | Error::BlobReferenced { .. }
        | Error::UserNotFound { .. }
        | Error::UserAlreadyExists { .. }
        | Error::Storage(_)) => (ErrorType::Server, other.to_string()),
    };
    EcrError::new(error_type, message)
}

/// A service error as `/v2` answers it.
pub fn oci(error: Error) -> OciError {
    match error {
        Error::RepositoryNotFound { name } => OciError::new(
            OciCode::NameUnknown,
            format!("repository '{name}' does not exist in this registry: create it first (aws ecr create-repository --repository-name {name})"),
        ),
        Error::InvalidTag(tag) => OciError::new(
            OciCode::TagInvalid,
            format!("'{tag}' is not a valid tag: use up to 128 letters, digits, '_', '.', '-', not starting with '.' or '-'"),
        ),
        Error::InvalidManifest(message) => OciError::new(OciCode::ManifestInvalid, message),
        Error::ManifestDigestMismatch { given, actual } => OciError::new(
            OciCode::DigestInvalid,
            format!("the manifest's digest is {actual}, not {given}"),
        ),
        Error::MissingBlobs { repository, digests } => {
            let digest = digests.first().cloned().unwrap_or_default();
            OciError::new(
                OciCode::ManifestBlobUnknown,
                format!("the manifest references {digest}, which is not in repository '{repository}': push it first"),
            )
            .with_detail(serde_json::json!({ "digest": digest }))
        }
        Error::MissingManifest { repository, digest } => OciError::new(
            OciCode::ManifestBlobUnknown,
            format!("the manifest references {digest}, which is not in repository '{repository}': push it first"),
        )
        .with_detail(serde_json::json!({ "digest": digest })),
        Error::TagImmutable { repository, tag } => OciError::new(
            OciCode::TagInvalid,
            format!("The image tag '{tag}' already exists in the '{repository}' repository and cannot be overwritten because the repository is immutable."),
        ),
        Error::ManifestNotFound { repository, reference } => OciError::new(
            OciCode::ManifestUnknown,
            format!("manifest '{reference}' is not in repository '{repository}'"),
        ),
        Error::ImageNotFound { repository, image } => OciError::new(
            OciCode::ManifestUnknown,
            format!("manifest {image} is not in repository '{repository}'"),
        ),
        Error::BlobNotFound { repository, digest } => OciError::new(
            OciCode::BlobUnknown,
            format!("blob {digest} is not in repository '{repository}'"),
        ),
        Error::UploadNotFound { .. } => OciError::new(OciCode::BlobUploadUnknown, error.to_string()),
        Error::InvalidLayerPart { .. } => OciError::new(OciCode::RangeInvalid, error.to_string()),
        Error::EmptyUpload { .. } => OciError::new(OciCode::BlobUploadInvalid, error.to_string()),
        // ECR's own /v2 answers this with UNSUPPORTED and the same wording.
        Error::ImageReferencedByManifestList { ref indexes, .. } => {
            let detail = serde_json::json!({ "manifests": indexes });
            OciError::new(OciCode::Unsupported, error.to_string()).with_detail(detail)
        }
        Error::BlobReferenced { ref manifests, .. } => {
            let detail = serde_json::json!({ "manifests": manifests });
            OciError::new(OciCode::Unsupported, error.to_string()).with_detail(detail)
        }
        Error::InvalidDigest(message) => OciError::new(OciCode::DigestInvalid, message),
        Error::UploadOutOfOrder { .. } => OciError::new(OciCode::RangeInvalid, error.to_string()),
        Error::BlobDigestMismatch { .. } => OciError::new(OciCode::DigestInvalid, error.to_string()),
        Error::Body(_) => OciError::new(OciCode::BlobUploadInvalid, error.to_string()),
        Error::AccessDenied(message) => OciError::new(OciCode::Denied, message),
        Error::InvalidParameter(message) => OciError::new(OciCode::Unsupported, message),
        other @ (Error::RepositoryAlreadyExists { .. }
        | Error::RepositoryNotEmpty { .. }
        | Error::RepositoryPolicyNotFound { .. }
        | Error::LifecyclePolicyNotFound { .. }
        | Error::LifecyclePolicyPreviewNotFound { .. }
        | Error::LifecyclePolicyPreviewInProgress { .. }
        | Error::ImageAlreadyExists { .. }
        | Error::InvalidTagParameter(_)
        | Error::TooManyTags(_)
        | Error::UserNotFound { .. }
        | Error::UserAlreadyExists { .. }
        | Error::LayerAlreadyExists { .. }
        | Error::RegistryPolicyNotFound
        | Error::ScanUnsupported { .. }
        | Error::ScanNotFound { .. }
        | Error::Storage(_)) => OciError::internal(other),
    }
}
