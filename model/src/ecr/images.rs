//! Images: listing, describing, getting, putting and deleting them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const TAG_STATUS_TAGGED: &str = "TAGGED";
pub const TAG_STATUS_UNTAGGED: &str = "UNTAGGED";
pub const TAG_STATUS_ANY: &str = "ANY";
pub const IMAGE_STATUS_ACTIVE: &str = "ACTIVE";
pub const IMAGE_STATUS_ARCHIVED: &str = "ARCHIVED";
pub const IMAGE_STATUS_ACTIVATING: &str = "ACTIVATING";
/// An `imageStatus` filter value only.
pub const IMAGE_STATUS_ANY: &str = "ANY";

/// Names an image by digest, tag, or both.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIdentifier {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
}

/// DescribeImages' and ListImages' `filter` (botocore's DescribeImagesFilter and
/// ListImagesFilter, which have the same members).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_status: Option<String>,
}

/// The state of an image's vulnerability scan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageScanStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageScanFindingsSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_scan_completed_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerability_source_updated_at: Option<f64>,
    /// Severity (`CRITICAL`, `HIGH`, …) to count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub finding_severity_counts: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_scan_status: Option<ImageScanStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_scan_findings_summary: Option<ImageScanFindingsSummary>,
    pub image_manifest_media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_media_type: Option<String>,
    /// Epoch seconds; ECR records pulls at most about once a day per image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_recorded_pull_time: Option<f64>,
    /// For a referrer (signature, SBOM): the digest of the image it refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_manifest_digest: Option<String>,
    /// `ACTIVE`, `ARCHIVED` or `ACTIVATING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_archived_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activated_at: Option<f64>,
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
pub const FAILURE_KMS_ERROR: &str = "KmsError";
pub const FAILURE_UPSTREAM_ACCESS_DENIED: &str = "UpstreamAccessDenied";
pub const FAILURE_UPSTREAM_TOO_MANY_REQUESTS: &str = "UpstreamTooManyRequests";
pub const FAILURE_UPSTREAM_UNAVAILABLE: &str = "UpstreamUnavailable";
pub const FAILURE_IMAGE_INACCESSIBLE: &str = "ImageInaccessible";

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

#[cfg(test)]
mod tests {
    use super::super::tests::round_trip;
    use super::*;
    use serde_json::json;

    // Every member of botocore's ImageDetail shape.
    #[test]
    fn image_details_round_trip() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let detail: ImageDetail = round_trip(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "imageDigest": digest, "imageTags": ["v1"],
            "imageSizeInBytes": 42, "imagePushedAt": 1700000000.5,
            "imageScanStatus": {"status": "COMPLETE", "description": "description-value"},
            "imageScanFindingsSummary": {"imageScanCompletedAt": 1700000000.5,
                "vulnerabilitySourceUpdatedAt": 1700000000.5, "findingSeverityCounts": {"CRITICAL": 42}},
            "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactMediaType": "application/vnd.oci.image.config.v1+json",
            "lastRecordedPullTime": 1700000000.5, "subjectManifestDigest": digest,
            "imageStatus": "ARCHIVED", "lastArchivedAt": 1700000000.5, "lastActivatedAt": 1700000000.5}));
        assert_eq!(detail.image_status.as_deref(), Some(IMAGE_STATUS_ARCHIVED));
        assert_eq!(
            detail
                .image_scan_findings_summary
                .unwrap()
                .finding_severity_counts["CRITICAL"],
            42
        );
        round_trip::<ImageFilter>(json!({"tagStatus": "ANY", "imageStatus": "ANY"}));
    }

    // botocore's BatchDeleteImage example output.
    #[test]
    fn botocore_examples_parse() {
        let output: BatchDeleteImageResponse = round_trip(json!({"failures": [], "imageIds": [{
            "imageDigest": "sha256:examplee6d1e504117a17000003d3753086354a38375961f2e665416ef4b1b2f",
            "imageTag": "precise"}]}));
        assert_eq!(output.image_ids[0].image_tag.as_deref(), Some("precise"));
    }
}
