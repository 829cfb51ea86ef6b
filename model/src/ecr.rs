//! ECR API wire types (AWS JSON 1.1), named exactly as in AWS's published model
//! (botocore `data/ecr/2015-09-21/service-2.json`). Timestamps are epoch seconds.

use serde::{Deserialize, Serialize};

/// An ECR action, as named after the `X-Amz-Target` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateRepository,
    DescribeRepositories,
    DeleteRepository,
    DescribeImages,
    ListImages,
    BatchGetImage,
    BatchDeleteImage,
    PutImage,
    BatchCheckLayerAvailability,
    GetDownloadUrlForLayer,
    GetRepositoryPolicy,
    SetRepositoryPolicy,
    DeleteRepositoryPolicy,
    GetAuthorizationToken,
    PutImageTagMutability,
    PutImageScanningConfiguration,
    TagResource,
    UntagResource,
    ListTagsForResource,
    DescribeRegistry,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::CreateRepository,
        Action::DescribeRepositories,
        Action::DeleteRepository,
        Action::DescribeImages,
        Action::ListImages,
        Action::BatchGetImage,
        Action::BatchDeleteImage,
        Action::PutImage,
        Action::BatchCheckLayerAvailability,
        Action::GetDownloadUrlForLayer,
        Action::GetRepositoryPolicy,
        Action::SetRepositoryPolicy,
        Action::DeleteRepositoryPolicy,
        Action::GetAuthorizationToken,
        Action::PutImageTagMutability,
        Action::PutImageScanningConfiguration,
        Action::TagResource,
        Action::UntagResource,
        Action::ListTagsForResource,
        Action::DescribeRegistry,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::CreateRepository => "CreateRepository",
            Action::DescribeRepositories => "DescribeRepositories",
            Action::DeleteRepository => "DeleteRepository",
            Action::DescribeImages => "DescribeImages",
            Action::ListImages => "ListImages",
            Action::BatchGetImage => "BatchGetImage",
            Action::BatchDeleteImage => "BatchDeleteImage",
            Action::PutImage => "PutImage",
            Action::BatchCheckLayerAvailability => "BatchCheckLayerAvailability",
            Action::GetDownloadUrlForLayer => "GetDownloadUrlForLayer",
            Action::GetRepositoryPolicy => "GetRepositoryPolicy",
            Action::SetRepositoryPolicy => "SetRepositoryPolicy",
            Action::DeleteRepositoryPolicy => "DeleteRepositoryPolicy",
            Action::GetAuthorizationToken => "GetAuthorizationToken",
            Action::PutImageTagMutability => "PutImageTagMutability",
            Action::PutImageScanningConfiguration => "PutImageScanningConfiguration",
            Action::TagResource => "TagResource",
            Action::UntagResource => "UntagResource",
            Action::ListTagsForResource => "ListTagsForResource",
            Action::DescribeRegistry => "DescribeRegistry",
        }
    }

    /// Parses the full `X-Amz-Target` header value.
    pub fn from_target(target: &str) -> Option<Action> {
        let name = target.strip_prefix(crate::ECR_TARGET_PREFIX)?;
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }

    pub fn target(self) -> String {
        format!("{}{}", crate::ECR_TARGET_PREFIX, self.name())
    }
}

/// The error types Berth answers with, as AWS spells them in `__type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    InvalidParameter,
    InvalidTagParameter,
    TooManyTags,
    LimitExceeded,
    ImageNotFound,
    ImageAlreadyExists,
    ImageTagAlreadyExists,
    ImageDigestDoesNotMatch,
    LayersNotFound,
    ReferencedImagesNotFound,
    RepositoryNotEmpty,
    RepositoryPolicyNotFound,
    RepositoryAlreadyExists,
    RepositoryNotFound,
    InvalidSignature,
    UnrecognizedClient,
    MissingAuthenticationToken,
    IncompleteSignature,
    AccessDenied,
    UnknownOperation,
    Serialization,
    Server,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidParameter => "InvalidParameterException",
            ErrorType::InvalidTagParameter => "InvalidTagParameterException",
            ErrorType::TooManyTags => "TooManyTagsException",
            ErrorType::LimitExceeded => "LimitExceededException",
            ErrorType::ImageNotFound => "ImageNotFoundException",
            ErrorType::ImageAlreadyExists => "ImageAlreadyExistsException",
            ErrorType::ImageTagAlreadyExists => "ImageTagAlreadyExistsException",
            ErrorType::ImageDigestDoesNotMatch => "ImageDigestDoesNotMatchException",
            ErrorType::LayersNotFound => "LayersNotFoundException",
            ErrorType::ReferencedImagesNotFound => "ReferencedImagesNotFoundException",
            ErrorType::RepositoryNotEmpty => "RepositoryNotEmptyException",
            ErrorType::RepositoryPolicyNotFound => "RepositoryPolicyNotFoundException",
            ErrorType::RepositoryAlreadyExists => "RepositoryAlreadyExistsException",
            ErrorType::RepositoryNotFound => "RepositoryNotFoundException",
            ErrorType::InvalidSignature => "InvalidSignatureException",
            ErrorType::UnrecognizedClient => "UnrecognizedClientException",
            ErrorType::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorType::IncompleteSignature => "IncompleteSignatureException",
            ErrorType::AccessDenied => "AccessDeniedException",
            ErrorType::UnknownOperation => "UnknownOperationException",
            ErrorType::Serialization => "SerializationException",
            ErrorType::Server => "ServerException",
        }
    }
}

/// The body of every ECR error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "__type")]
    pub error_type: String,
    #[serde(default)]
    pub message: String,
}

impl ErrorBody {
    /// The bare type name: AWS sometimes sends `namespace#Type`.
    pub fn type_name(&self) -> &str {
        self.error_type
            .rsplit('#')
            .next()
            .unwrap_or(&self.error_type)
    }
}

pub const TAG_MUTABLE: &str = "MUTABLE";
pub const TAG_IMMUTABLE: &str = "IMMUTABLE";
pub const ENCRYPTION_AES256: &str = "AES256";
pub const ENCRYPTION_KMS: &str = "KMS";

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageScanningConfiguration {
    #[serde(default)]
    pub scan_on_push: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionConfiguration {
    pub encryption_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

impl Default for EncryptionConfiguration {
    fn default() -> Self {
        EncryptionConfiguration {
            encryption_type: ENCRYPTION_AES256.into(),
            kms_key: None,
        }
    }
}

/// A resource tag. ECR capitalises these two fields, unlike the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    pub repository_arn: String,
    pub registry_id: String,
    pub repository_name: String,
    pub repository_uri: String,
    /// Epoch seconds.
    pub created_at: f64,
    pub image_tag_mutability: String,
    pub image_scanning_configuration: ImageScanningConfiguration,
    pub encryption_configuration: EncryptionConfiguration,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRepositoryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag_mutability: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_scanning_configuration: Option<ImageScanningConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<EncryptionConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRepositoryResponse {
    pub repository: Repository,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeRepositoriesRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeRepositoriesResponse {
    #[serde(default)]
    pub repositories: Vec<Repository>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Names an image by digest, tag, or both.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIdentifier {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
}

pub const TAG_STATUS_TAGGED: &str = "TAGGED";
pub const TAG_STATUS_UNTAGGED: &str = "UNTAGGED";
pub const TAG_STATUS_ANY: &str = "ANY";

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDetail {
    pub registry_id: String,
    pub repository_name: String,
    pub image_digest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_tags: Vec<String>,
    pub image_size_in_bytes: u64,
    /// Epoch seconds.
    pub image_pushed_at: f64,
    pub image_manifest_media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_recorded_pull_time: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeImagesRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_ids: Option<Vec<ImageIdentifier>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<ImageFilter>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeImagesResponse {
    #[serde(default)]
    pub image_details: Vec<ImageDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListImagesRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<ImageFilter>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListImagesResponse {
    #[serde(default)]
    pub image_ids: Vec<ImageIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetAuthorizationTokenRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationData {
    /// base64 of `AWS:<token>`.
    pub authorization_token: String,
    /// Epoch seconds.
    pub expires_at: f64,
    pub proxy_endpoint: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetAuthorizationTokenResponse {
    #[serde(default)]
    pub authorization_data: Vec<AuthorizationData>,
}

/// The request shape shared by actions that name just a repository.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRepositoryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryResponse {
    pub repository: Repository,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchImagesRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub image_ids: Vec<ImageIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_media_types: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub registry_id: String,
    pub repository_name: String,
    pub image_id: ImageIdentifier,
    pub image_manifest: String,
    pub image_manifest_media_type: String,
}

pub const FAILURE_INVALID_IMAGE_DIGEST: &str = "InvalidImageDigest";
pub const FAILURE_INVALID_IMAGE_TAG: &str = "InvalidImageTag";
pub const FAILURE_TAG_DOES_NOT_MATCH_DIGEST: &str = "ImageTagDoesNotMatchDigest";
pub const FAILURE_IMAGE_NOT_FOUND: &str = "ImageNotFound";
pub const FAILURE_MISSING_DIGEST_AND_TAG: &str = "MissingDigestAndTag";
pub const FAILURE_REFERENCED_BY_MANIFEST_LIST: &str = "ImageReferencedByManifestList";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFailure {
    pub image_id: ImageIdentifier,
    pub failure_code: String,
    pub failure_reason: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchGetImageResponse {
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub failures: Vec<ImageFailure>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchDeleteImageResponse {
    #[serde(default)]
    pub image_ids: Vec<ImageIdentifier>,
    #[serde(default)]
    pub failures: Vec<ImageFailure>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutImageRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub image_manifest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_manifest_media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutImageResponse {
    pub image: Image,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCheckLayerAvailabilityRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub layer_digests: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    pub layer_digest: String,
    pub layer_availability: String,
    pub layer_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerFailure {
    pub layer_digest: String,
    pub failure_code: String,
    pub failure_reason: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCheckLayerAvailabilityResponse {
    #[serde(default)]
    pub layers: Vec<Layer>,
    #[serde(default)]
    pub failures: Vec<LayerFailure>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDownloadUrlForLayerRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub layer_digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDownloadUrlForLayerResponse {
    pub download_url: String,
    pub layer_digest: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetRepositoryPolicyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub policy_text: String,
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryPolicyResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub policy_text: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutImageTagMutabilityRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub image_tag_mutability: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutImageTagMutabilityResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub image_tag_mutability: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutImageScanningConfigurationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub image_scanning_configuration: ImageScanningConfiguration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutImageScanningConfigurationResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub image_scanning_configuration: ImageScanningConfiguration,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceRequest {
    pub resource_arn: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceRequest {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceRequest {
    pub resource_arn: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceResponse {
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationConfiguration {
    pub rules: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeRegistryResponse {
    pub registry_id: String,
    pub replication_configuration: ReplicationConfiguration,
}

/// The repository name in `arn:aws:ecr:<region>:<account>:repository/<name>`.
pub fn repository_name_from_arn<'a>(
    arn: &'a str,
    region: &str,
    account_id: &str,
) -> Option<&'a str> {
    let prefix = format!("arn:aws:ecr:{region}:{account_id}:repository/");
    arn.strip_prefix(prefix.as_str())
        .filter(|name| !name.is_empty())
}

/// Paging limits shared by every list action.
pub const DEFAULT_MAX_RESULTS: i64 = 100;
pub const MAX_MAX_RESULTS: i64 = 1000;

/// `<host>/<name>`: what `docker tag` and `docker push` take.
pub fn repository_uri(registry_host: &str, repository_name: &str) -> String {
    format!("{registry_host}/{repository_name}")
}

pub fn repository_arn(region: &str, account_id: &str, repository_name: &str) -> String {
    format!("arn:aws:ecr:{region}:{account_id}:repository/{repository_name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_targets() {
        for action in Action::ALL {
            assert_eq!(Action::from_target(&action.target()), Some(*action));
        }
        assert_eq!(
            Action::from_target("AmazonEC2ContainerRegistry_V20150921.Nope"),
            None
        );
        assert_eq!(Action::from_target("DescribeRepositories"), None);
    }

    #[test]
    fn wire_names_match_aws() {
        let request: CreateRepositoryRequest = serde_json::from_str(
            r#"{"repositoryName":"a/b","imageScanningConfiguration":{"scanOnPush":true},
                "tags":[{"Key":"team","Value":"web"}],"imageTagMutability":"IMMUTABLE"}"#,
        )
        .unwrap();
        assert_eq!(request.repository_name, "a/b");
        assert!(request.image_scanning_configuration.unwrap().scan_on_push);
        assert_eq!(request.tags[0].key, "team");
        let error: ErrorBody = serde_json::from_str(
            r#"{"__type":"com.amazonaws.ecr#RepositoryNotFoundException","message":"x"}"#,
        )
        .unwrap();
        assert_eq!(error.type_name(), "RepositoryNotFoundException");
    }
}
