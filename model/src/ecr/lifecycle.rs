//! Lifecycle policies and their previews on the wire. The policy grammar and
//! evaluation live in `crate::lifecycle`.

use serde::{Deserialize, Serialize};

use super::{ImageFilter, ImageIdentifier};

/// botocore's LifecyclePolicyText bounds, in characters.
pub const MIN_LIFECYCLE_POLICY_TEXT: usize = 100;
pub const MAX_LIFECYCLE_POLICY_TEXT: usize = 30_720;
/// GetLifecyclePolicyPreview's `maxResults` bounds and default.
pub const MAX_PREVIEW_RESULTS: i64 = 100;
pub const PREVIEW_STATUS_IN_PROGRESS: &str = "IN_PROGRESS";
pub const PREVIEW_STATUS_COMPLETE: &str = "COMPLETE";
pub const PREVIEW_STATUS_EXPIRED: &str = "EXPIRED";
pub const PREVIEW_STATUS_FAILED: &str = "FAILED";
/// `action.type` in preview results (the policy text spells them in lower case).
pub const IMAGE_ACTION_EXPIRE: &str = "EXPIRE";
pub const IMAGE_ACTION_TRANSITION: &str = "TRANSITION";
/// Storage classes as API responses spell them.
pub const STORAGE_CLASS_STANDARD: &str = "STANDARD";
pub const STORAGE_CLASS_ARCHIVE: &str = "ARCHIVE";

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLifecyclePolicyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub lifecycle_policy_text: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLifecyclePolicyResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub lifecycle_policy_text: String,
}

/// The response of GetLifecyclePolicy and DeleteLifecyclePolicy (whose request
/// is a `RepositoryRequest`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecyclePolicyResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub lifecycle_policy_text: String,
    /// When the policy last ran (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_evaluated_at: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartLifecyclePolicyPreviewRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    /// The policy to preview; the repository's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_policy_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartLifecyclePolicyPreviewResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub lifecycle_policy_text: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLifecyclePolicyPreviewRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_ids: Option<Vec<ImageIdentifier>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    /// Only `tagStatus` applies here (botocore's LifecyclePolicyPreviewFilter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<ImageFilter>,
}

/// What a rule does to an image in a preview.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecyclePolicyRuleAction {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub action_type: Option<String>,
    /// Only for `TRANSITION`: `ARCHIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecyclePolicyPreviewResult {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pushed_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<LifecyclePolicyRuleAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_rule_priority: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitioningImageTotalCount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_storage_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_total_count: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecyclePolicyPreviewSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiring_image_total_count: Option<u64>,
    /// Present only when some image would be transitioned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitioning_image_total_counts: Vec<TransitioningImageTotalCount>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLifecyclePolicyPreviewResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub lifecycle_policy_text: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default)]
    pub preview_results: Vec<LifecyclePolicyPreviewResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<LifecyclePolicyPreviewSummary>,
}

#[cfg(test)]
mod tests {
    use super::super::tests::round_trip;
    use super::*;
    use serde_json::json;

    // Every member of botocore's lifecycle shapes.
    #[test]
    fn lifecycle_policies_round_trip() {
        let text = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
        round_trip::<PutLifecyclePolicyRequest>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "lifecyclePolicyText": text}));
        round_trip::<PutLifecyclePolicyResponse>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "lifecyclePolicyText": text}));
        round_trip::<LifecyclePolicyResponse>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "lifecyclePolicyText": text, "lastEvaluatedAt": 1700000000.5}));
        round_trip::<StartLifecyclePolicyPreviewRequest>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "lifecyclePolicyText": text}));
        round_trip::<StartLifecyclePolicyPreviewResponse>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "lifecyclePolicyText": text, "status": "IN_PROGRESS"}));
    }

    #[test]
    fn previews_round_trip() {
        round_trip::<GetLifecyclePolicyPreviewRequest>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "imageIds": [{"imageTag": "v1"}], "nextToken": "t",
            "maxResults": 100, "filter": {"tagStatus": "TAGGED"}}));
        let digest = format!("sha256:{}", "ab".repeat(32));
        let response: GetLifecyclePolicyPreviewResponse = round_trip(
            json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "lifecyclePolicyText": "{}", "status": "COMPLETE",
            "nextToken": "t", "previewResults": [
                {"imageTags": ["v1"], "imageDigest": digest, "imagePushedAt": 1700000000.5,
                 "action": {"type": "EXPIRE"}, "appliedRulePriority": 1, "storageClass": "STANDARD"},
                {"imageDigest": digest, "imagePushedAt": 1700000000.5,
                 "action": {"type": "TRANSITION", "targetStorageClass": "ARCHIVE"},
                 "appliedRulePriority": 2, "storageClass": "STANDARD"}],
            "summary": {"expiringImageTotalCount": 1,
                "transitioningImageTotalCounts": [{"targetStorageClass": "ARCHIVE", "imageTotalCount": 1}]}}),
        );
        assert_eq!(
            response.summary.unwrap().expiring_image_total_count,
            Some(1)
        );
        assert_eq!(
            response.preview_results[1]
                .action
                .as_ref()
                .unwrap()
                .action_type
                .as_deref(),
            Some(IMAGE_ACTION_TRANSITION)
        );
    }
}
