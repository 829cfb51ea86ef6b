//! The ECR action catalogue: what `Action` entries may name, what pull and push
//! need, and the names people reach for instead.

use crate::glob::wildcard_match;
use crate::json::Position;
use crate::problem::Problem;

/// Every ECR action IAM knows: the API operations of botocore's ECR model, plus
/// `BatchImportUpstreamImage`, which IAM checks for pull through cache but no API
/// operation is named after.
pub const ECR_ACTIONS: &[&str] = &[
    "BatchCheckLayerAvailability",
    "BatchDeleteImage",
    "BatchGetImage",
    "BatchGetRepositoryScanningConfiguration",
    "BatchImportUpstreamImage",
    "CompleteLayerUpload",
    "CreatePullThroughCacheRule",
    "CreateRepository",
    "CreateRepositoryCreationTemplate",
    "DeleteLifecyclePolicy",
    "DeletePullThroughCacheRule",
    "DeleteRegistryPolicy",
    "DeleteRepository",
    "DeleteRepositoryCreationTemplate",
    "DeleteRepositoryPolicy",
    "DeleteSigningConfiguration",
    "DeregisterPullTimeUpdateExclusion",
    "DescribeImageReplicationStatus",
    "DescribeImageScanFindings",
    "DescribeImageSigningStatus",
    "DescribeImages",
    "DescribePullThroughCacheRules",
    "DescribeRegistry",
    "DescribeRepositories",
    "DescribeRepositoryCreationTemplates",
    "GetAccountSetting",
    "GetAuthorizationToken",
    "GetDownloadUrlForLayer",
    "GetLifecyclePolicy",
    "GetLifecyclePolicyPreview",
    "GetRegistryPolicy",
    "GetRegistryScanningConfiguration",
    "GetRepositoryPolicy",
    "GetSigningConfiguration",
    "InitiateLayerUpload",
    "ListImageReferrers",
    "ListImages",
    "ListPullTimeUpdateExclusions",
    "ListTagsForResource",
    "PutAccountSetting",
    "PutImage",
    "PutImageScanningConfiguration",
    "PutImageTagMutability",
    "PutLifecyclePolicy",
    "PutRegistryPolicy",
    "PutRegistryScanningConfiguration",
    "PutReplicationConfiguration",
    "PutSigningConfiguration",
    "RegisterPullTimeUpdateExclusion",
    "ReplicateImage",
    "SetRepositoryPolicy",
    "StartImageScan",
    "StartLifecyclePolicyPreview",
    "TagResource",
    "UntagResource",
    "UpdateImageStorageClass",
    "UpdatePullThroughCacheRule",
    "UpdateRepositoryCreationTemplate",
    "UploadLayerPart",
    "ValidatePullThroughCacheRule",
];

/// What a pull needs, and what a push needs (docker also checks layers and manifests).
pub const PULL_ACTIONS: &[&str] = &[
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
];
pub const PUSH_ACTIONS: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

/// Actions about the registry rather than a repository, decided on the resource
/// `*` (`Resource::Registry`) against the registry policy alone, as the registry's
/// ECR dispatch decides them.
pub const REGISTRY_ACTIONS: &[&str] = &[
    "ecr:GetAuthorizationToken",
    "ecr:DescribeRegistry",
    "ecr:GetRegistryPolicy",
    "ecr:PutRegistryPolicy",
    "ecr:DeleteRegistryPolicy",
    "ecr:GetRegistryScanningConfiguration",
    "ecr:PutRegistryScanningConfiguration",
];

/// Names people reach for that ECR spells otherwise.
const ACTION_ALIASES: &[(&str, &str)] = &[
    ("PullImage", "BatchGetImage"),
    ("GetImage", "BatchGetImage"),
    ("PushImage", "PutImage"),
    ("DeleteImage", "BatchDeleteImage"),
    ("UploadLayer", "UploadLayerPart"),
];

/// The known action closest to a misspelt one.
pub fn suggest_action(name: &str) -> Option<&'static str> {
    if let Some((_, known)) = ACTION_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
    {
        return Some(known);
    }
    crate::suggest::closest(name, ECR_ACTIONS.iter().copied())
}

/// Whether an `Action` entry names at least one ECR action; if not, the problem.
/// IAM refuses actions of no service it knows, and ECR refuses policies whose
/// actions are not ECR's.
pub(crate) fn check_action(path: &str, position: Position, action: &str) -> Result<(), Problem> {
    if action == "*" {
        return Ok(());
    }
    let Some((service, name)) = action.split_once(':') else {
        return Err(Problem::new(
            path,
            position,
            format!("'{action}' is not an action: write ecr:<Action>, e.g. ecr:BatchGetImage"),
        ));
    };
    if !wildcard_match(service, "ecr", true) {
        return Err(Problem::new(
            path,
            position,
            format!("'{action}' is not an ECR action: ECR policies take ecr:<Action>"),
        ));
    }
    if ECR_ACTIONS
        .iter()
        .any(|known| wildcard_match(name, known, true))
    {
        return Ok(());
    }
    let hint = suggest_action(name)
        .map(|s| format!("; did you mean 'ecr:{s}'?"))
        .unwrap_or_default();
    Err(Problem::new(
        path,
        position,
        format!("'{action}' matches no ECR action{hint}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(suggest_action("PullImage"), Some("BatchGetImage"));
        assert_eq!(suggest_action("Frobnicate"), None);
        assert_eq!(suggest_action("PutImag"), Some("PutImage"));
    }

    #[test]
    fn actions_are_checked() {
        let at = Position::START;
        assert!(check_action("A", at, "*").is_ok());
        assert!(check_action("A", at, "ecr:*").is_ok());
        assert!(check_action("A", at, "ECR:putimage").is_ok());
        assert!(check_action("A", at, "ecr:Get*").is_ok());
        assert!(check_action("A", at, "ecr:BatchImportUpstreamImage").is_ok());
        assert!(check_action("A", at, "s3:GetObject")
            .unwrap_err()
            .message
            .contains("not an ECR action"));
        assert_eq!(
            check_action("A", at, "ecr:PullImage").unwrap_err().message,
            "'ecr:PullImage' matches no ECR action; did you mean 'ecr:BatchGetImage'?"
        );
        assert!(check_action("A", at, "PutImage")
            .unwrap_err()
            .message
            .contains("write ecr:<Action>"));
    }
}
