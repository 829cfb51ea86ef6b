//! ECR API wire types (AWS JSON 1.1), named exactly as in AWS's published model
//! (botocore `data/ecr/2015-09-21/service-2.json`), one file per area and all
//! re-exported here. Timestamps are epoch seconds; every enum string the wire
//! carries has a constant, so nobody writes the literal.

mod errors;
mod images;
mod layers;
mod lifecycle;
mod policies;
mod registry;
mod repositories;
mod scanning;
mod tags;

pub use errors::*;
pub use images::*;
pub use layers::*;
pub use lifecycle::*;
pub use policies::*;
pub use registry::*;
pub use repositories::*;
pub use scanning::*;
pub use tags::*;

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
    PutLifecyclePolicy,
    GetLifecyclePolicy,
    DeleteLifecyclePolicy,
    StartLifecyclePolicyPreview,
    GetLifecyclePolicyPreview,
    InitiateLayerUpload,
    UploadLayerPart,
    CompleteLayerUpload,
    PutRegistryPolicy,
    GetRegistryPolicy,
    DeleteRegistryPolicy,
    PutRegistryScanningConfiguration,
    GetRegistryScanningConfiguration,
    BatchGetRepositoryScanningConfiguration,
    StartImageScan,
    DescribeImageScanFindings,
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
        Action::PutLifecyclePolicy,
        Action::GetLifecyclePolicy,
        Action::DeleteLifecyclePolicy,
        Action::StartLifecyclePolicyPreview,
        Action::GetLifecyclePolicyPreview,
        Action::InitiateLayerUpload,
        Action::UploadLayerPart,
        Action::CompleteLayerUpload,
        Action::PutRegistryPolicy,
        Action::GetRegistryPolicy,
        Action::DeleteRegistryPolicy,
        Action::PutRegistryScanningConfiguration,
        Action::GetRegistryScanningConfiguration,
        Action::BatchGetRepositoryScanningConfiguration,
        Action::StartImageScan,
        Action::DescribeImageScanFindings,
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
            Action::PutLifecyclePolicy => "PutLifecyclePolicy",
            Action::GetLifecyclePolicy => "GetLifecyclePolicy",
            Action::DeleteLifecyclePolicy => "DeleteLifecyclePolicy",
            Action::StartLifecyclePolicyPreview => "StartLifecyclePolicyPreview",
            Action::GetLifecyclePolicyPreview => "GetLifecyclePolicyPreview",
            Action::InitiateLayerUpload => "InitiateLayerUpload",
            Action::UploadLayerPart => "UploadLayerPart",
            Action::CompleteLayerUpload => "CompleteLayerUpload",
            Action::PutRegistryPolicy => "PutRegistryPolicy",
            Action::GetRegistryPolicy => "GetRegistryPolicy",
            Action::DeleteRegistryPolicy => "DeleteRegistryPolicy",
            Action::PutRegistryScanningConfiguration => "PutRegistryScanningConfiguration",
            Action::GetRegistryScanningConfiguration => "GetRegistryScanningConfiguration",
            Action::BatchGetRepositoryScanningConfiguration => {
                "BatchGetRepositoryScanningConfiguration"
            }
            Action::StartImageScan => "StartImageScan",
            Action::DescribeImageScanFindings => "DescribeImageScanFindings",
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

/// The request of actions that take no parameters (GetRegistryPolicy,
/// DeleteRegistryPolicy, GetRegistryScanningConfiguration, DescribeRegistry).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmptyRequest {}

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
pub(crate) mod tests {
    use super::*;

    /// Deserializes `sample` (JSON with every member of a botocore shape) and
    /// serializes it back: equal only if every member name and type is AWS's.
    pub(crate) fn round_trip<T: serde::de::DeserializeOwned + Serialize>(
        sample: serde_json::Value,
    ) -> T {
        let value: T =
            serde_json::from_value(sample.clone()).unwrap_or_else(|e| panic!("{e}: {sample}"));
        assert_eq!(serde_json::to_value(&value).unwrap(), sample);
        value
    }

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
    fn empty_requests_take_an_empty_object() {
        let _: EmptyRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(
            serde_json::to_string(&EmptyRequest::default()).unwrap(),
            "{}"
        );
    }
}
