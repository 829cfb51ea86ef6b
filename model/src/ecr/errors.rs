//! ECR errors: every error type botocore's ECR model declares, plus the errors
//! any AWS JSON service answers with (signature, authentication, unknown
//! operation, malformed body), and the body they travel in.

use serde::{Deserialize, Serialize};

/// An error type as AWS spells it in `__type` (see [`ErrorType::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    // Declared by the ECR model.
    BlockedByOrganizationPolicy,
    EmptyUpload,
    ExclusionAlreadyExists,
    ExclusionNotFound,
    ImageAlreadyExists,
    ImageArchived,
    ImageDigestDoesNotMatch,
    ImageNotFound,
    ImageStorageClassUpdateNotSupported,
    ImageTagAlreadyExists,
    InvalidLayer,
    InvalidLayerPart,
    InvalidParameter,
    InvalidTagParameter,
    Kms,
    LayerAlreadyExists,
    LayerInaccessible,
    LayerPartTooSmall,
    LayersNotFound,
    LifecyclePolicyNotFound,
    LifecyclePolicyPreviewInProgress,
    LifecyclePolicyPreviewNotFound,
    LimitExceeded,
    PullThroughCacheRuleAlreadyExists,
    PullThroughCacheRuleNotFound,
    ReferencedImagesNotFound,
    RegistryPolicyNotFound,
    RepositoryAlreadyExists,
    RepositoryNotEmpty,
    RepositoryNotFound,
    RepositoryPolicyNotFound,
    ScanNotFound,
    SecretNotFound,
    Server,
    SigningConfigurationNotFound,
    TemplateAlreadyExists,
    TemplateNotFound,
    TooManyTags,
    UnableToAccessSecret,
    UnableToDecryptSecretValue,
    UnableToGetUpstreamImage,
    UnableToGetUpstreamLayer,
    UnableToListUpstreamImageReferrers,
    UnsupportedImageType,
    UnsupportedUpstreamRegistry,
    UploadNotFound,
    Validation,
    // Common to AWS JSON services.
    InvalidSignature,
    UnrecognizedClient,
    MissingAuthenticationToken,
    IncompleteSignature,
    AccessDenied,
    UnknownOperation,
    Serialization,
    Throttling,
}

impl ErrorType {
    pub const ALL: &'static [ErrorType] = &[
        ErrorType::BlockedByOrganizationPolicy,
        ErrorType::EmptyUpload,
        ErrorType::ExclusionAlreadyExists,
        ErrorType::ExclusionNotFound,
        ErrorType::ImageAlreadyExists,
        ErrorType::ImageArchived,
        ErrorType::ImageDigestDoesNotMatch,
        ErrorType::ImageNotFound,
        ErrorType::ImageStorageClassUpdateNotSupported,
        ErrorType::ImageTagAlreadyExists,
        ErrorType::InvalidLayer,
        ErrorType::InvalidLayerPart,
        ErrorType::InvalidParameter,
        ErrorType::InvalidTagParameter,
        ErrorType::Kms,
        ErrorType::LayerAlreadyExists,
        ErrorType::LayerInaccessible,
        ErrorType::LayerPartTooSmall,
        ErrorType::LayersNotFound,
        ErrorType::LifecyclePolicyNotFound,
        ErrorType::LifecyclePolicyPreviewInProgress,
        ErrorType::LifecyclePolicyPreviewNotFound,
        ErrorType::LimitExceeded,
        ErrorType::PullThroughCacheRuleAlreadyExists,
        ErrorType::PullThroughCacheRuleNotFound,
        ErrorType::ReferencedImagesNotFound,
        ErrorType::RegistryPolicyNotFound,
        ErrorType::RepositoryAlreadyExists,
        ErrorType::RepositoryNotEmpty,
        ErrorType::RepositoryNotFound,
        ErrorType::RepositoryPolicyNotFound,
        ErrorType::ScanNotFound,
        ErrorType::SecretNotFound,
        ErrorType::Server,
        ErrorType::SigningConfigurationNotFound,
        ErrorType::TemplateAlreadyExists,
        ErrorType::TemplateNotFound,
        ErrorType::TooManyTags,
        ErrorType::UnableToAccessSecret,
        ErrorType::UnableToDecryptSecretValue,
        ErrorType::UnableToGetUpstreamImage,
        ErrorType::UnableToGetUpstreamLayer,
        ErrorType::UnableToListUpstreamImageReferrers,
        ErrorType::UnsupportedImageType,
        ErrorType::UnsupportedUpstreamRegistry,
        ErrorType::UploadNotFound,
        ErrorType::Validation,
        ErrorType::InvalidSignature,
        ErrorType::UnrecognizedClient,
        ErrorType::MissingAuthenticationToken,
        ErrorType::IncompleteSignature,
        ErrorType::AccessDenied,
        ErrorType::UnknownOperation,
        ErrorType::Serialization,
        ErrorType::Throttling,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BlockedByOrganizationPolicy => "BlockedByOrganizationPolicyException",
            ErrorType::EmptyUpload => "EmptyUploadException",
            ErrorType::ExclusionAlreadyExists => "ExclusionAlreadyExistsException",
            ErrorType::ExclusionNotFound => "ExclusionNotFoundException",
            ErrorType::ImageAlreadyExists => "ImageAlreadyExistsException",
            ErrorType::ImageArchived => "ImageArchivedException",
            ErrorType::ImageDigestDoesNotMatch => "ImageDigestDoesNotMatchException",
            ErrorType::ImageNotFound => "ImageNotFoundException",
            ErrorType::ImageStorageClassUpdateNotSupported => {
                "ImageStorageClassUpdateNotSupportedException"
            }
            ErrorType::ImageTagAlreadyExists => "ImageTagAlreadyExistsException",
            ErrorType::InvalidLayer => "InvalidLayerException",
            ErrorType::InvalidLayerPart => "InvalidLayerPartException",
            ErrorType::InvalidParameter => "InvalidParameterException",
            ErrorType::InvalidTagParameter => "InvalidTagParameterException",
            ErrorType::Kms => "KmsException",
            ErrorType::LayerAlreadyExists => "LayerAlreadyExistsException",
            ErrorType::LayerInaccessible => "LayerInaccessibleException",
            ErrorType::LayerPartTooSmall => "LayerPartTooSmallException",
            ErrorType::LayersNotFound => "LayersNotFoundException",
            ErrorType::LifecyclePolicyNotFound => "LifecyclePolicyNotFoundException",
            ErrorType::LifecyclePolicyPreviewInProgress => {
                "LifecyclePolicyPreviewInProgressException"
            }
            ErrorType::LifecyclePolicyPreviewNotFound => "LifecyclePolicyPreviewNotFoundException",
            ErrorType::LimitExceeded => "LimitExceededException",
            ErrorType::PullThroughCacheRuleAlreadyExists => {
                "PullThroughCacheRuleAlreadyExistsException"
            }
            ErrorType::PullThroughCacheRuleNotFound => "PullThroughCacheRuleNotFoundException",
            ErrorType::ReferencedImagesNotFound => "ReferencedImagesNotFoundException",
            ErrorType::RegistryPolicyNotFound => "RegistryPolicyNotFoundException",
            ErrorType::RepositoryAlreadyExists => "RepositoryAlreadyExistsException",
            ErrorType::RepositoryNotEmpty => "RepositoryNotEmptyException",
            ErrorType::RepositoryNotFound => "RepositoryNotFoundException",
            ErrorType::RepositoryPolicyNotFound => "RepositoryPolicyNotFoundException",
            ErrorType::ScanNotFound => "ScanNotFoundException",
            ErrorType::SecretNotFound => "SecretNotFoundException",
            ErrorType::Server => "ServerException",
            ErrorType::SigningConfigurationNotFound => "SigningConfigurationNotFoundException",
            ErrorType::TemplateAlreadyExists => "TemplateAlreadyExistsException",
            ErrorType::TemplateNotFound => "TemplateNotFoundException",
            ErrorType::TooManyTags => "TooManyTagsException",
            ErrorType::UnableToAccessSecret => "UnableToAccessSecretException",
            ErrorType::UnableToDecryptSecretValue => "UnableToDecryptSecretValueException",
            ErrorType::UnableToGetUpstreamImage => "UnableToGetUpstreamImageException",
            ErrorType::UnableToGetUpstreamLayer => "UnableToGetUpstreamLayerException",
            ErrorType::UnableToListUpstreamImageReferrers => {
                "UnableToListUpstreamImageReferrersException"
            }
            ErrorType::UnsupportedImageType => "UnsupportedImageTypeException",
            ErrorType::UnsupportedUpstreamRegistry => "UnsupportedUpstreamRegistryException",
            ErrorType::UploadNotFound => "UploadNotFoundException",
            ErrorType::Validation => "ValidationException",
            ErrorType::InvalidSignature => "InvalidSignatureException",
            ErrorType::UnrecognizedClient => "UnrecognizedClientException",
            ErrorType::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorType::IncompleteSignature => "IncompleteSignatureException",
            ErrorType::AccessDenied => "AccessDeniedException",
            ErrorType::UnknownOperation => "UnknownOperationException",
            ErrorType::Serialization => "SerializationException",
            ErrorType::Throttling => "ThrottlingException",
        }
    }

    /// Reads a `__type` (bare, or `namespace#Type` as AWS sometimes sends it).
    pub fn from_name(name: &str) -> Option<ErrorType> {
        let bare = name.rsplit('#').next().unwrap_or(name);
        ErrorType::ALL.iter().copied().find(|t| t.as_str() == bare)
    }
}

/// The body of every ECR error response. Most errors carry only a message;
/// InvalidLayerPartException also names the upload and the last byte it kept
/// (so the client can resume), and KmsException the KMS error code.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(rename = "__type")]
    pub error_type: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_valid_byte_received: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_error: Option<String>,
}

impl ErrorBody {
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        ErrorBody {
            error_type: error_type.as_str().into(),
            message: message.into(),
            ..Default::default()
        }
    }

    /// The bare type name: AWS sometimes sends `namespace#Type`.
    pub fn type_name(&self) -> &str {
        self.error_type
            .rsplit('#')
            .next()
            .unwrap_or(&self.error_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(ErrorType::ALL.len(), 55);
        for error in ErrorType::ALL {
            assert!(error.as_str().ends_with("Exception"));
            assert_eq!(ErrorType::from_name(error.as_str()), Some(*error));
        }
        assert_eq!(
            ErrorType::from_name("com.amazonaws.ecr#LifecyclePolicyNotFoundException"),
            Some(ErrorType::LifecyclePolicyNotFound)
        );
        assert_eq!(ErrorType::from_name("NopeException"), None);
    }

    #[test]
    fn error_bodies_carry_extra_members() {
        // botocore's InvalidLayerPartException shape, every member.
        let sample = serde_json::json!({"__type": "InvalidLayerPartException",
            "registryId": "123456789012", "repositoryName": "team-a/api",
            "uploadId": "6bc05ba6-1a42-4ad6-a1f4-4e4d0c2cc6a4", "lastValidByteReceived": 42,
            "message": "message-value"});
        let body: ErrorBody = serde_json::from_value(sample.clone()).unwrap();
        assert_eq!(body.last_valid_byte_received, Some(42));
        assert_eq!(serde_json::to_value(&body).unwrap(), sample);
        let kms = serde_json::json!({"__type": "KmsException", "message": "m", "kmsError": "KMSInvalidStateException"});
        let body: ErrorBody = serde_json::from_value(kms.clone()).unwrap();
        assert_eq!(serde_json::to_value(&body).unwrap(), kms);
        let plain = ErrorBody::new(ErrorType::RegistryPolicyNotFound, "none");
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"__type":"RegistryPolicyNotFoundException","message":"none"}"#
        );
        let error: ErrorBody = serde_json::from_str(
            r#"{"__type":"com.amazonaws.ecr#RepositoryNotFoundException","message":"x"}"#,
        )
        .unwrap();
        assert_eq!(error.type_name(), "RepositoryNotFoundException");
    }
}
