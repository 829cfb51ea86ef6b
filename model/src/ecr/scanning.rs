//! Scanning configuration (per repository and per registry) and scans.
//! Berth stores and returns configurations exactly; it has no scanner, so
//! StartImageScan and DescribeImageScanFindings answer with an error.

use serde::{Deserialize, Serialize};

use super::{ImageIdentifier, ImageScanStatus};

pub const SCAN_TYPE_BASIC: &str = "BASIC";
pub const SCAN_TYPE_ENHANCED: &str = "ENHANCED";
pub const SCAN_FREQUENCY_SCAN_ON_PUSH: &str = "SCAN_ON_PUSH";
pub const SCAN_FREQUENCY_CONTINUOUS_SCAN: &str = "CONTINUOUS_SCAN";
pub const SCAN_FREQUENCY_MANUAL: &str = "MANUAL";
/// The only `filterType` of a scanning repository filter.
pub const SCANNING_FILTER_TYPE_WILDCARD: &str = "WILDCARD";
pub const SCANNING_FAILURE_REPOSITORY_NOT_FOUND: &str = "REPOSITORY_NOT_FOUND";
/// At most this many rules in a registry scanning configuration.
pub const MAX_REGISTRY_SCANNING_RULES: usize = 2;
/// At most this many repository filters in one scanning rule.
pub const MAX_SCANNING_REPOSITORY_FILTERS: usize = 100;
/// At most this many repositories in one BatchGetRepositoryScanningConfiguration.
pub const MAX_SCANNING_CONFIGURATION_REPOSITORIES: usize = 25;

pub const SCAN_STATUS_IN_PROGRESS: &str = "IN_PROGRESS";
pub const SCAN_STATUS_COMPLETE: &str = "COMPLETE";
pub const SCAN_STATUS_FAILED: &str = "FAILED";
pub const SCAN_STATUS_UNSUPPORTED_IMAGE: &str = "UNSUPPORTED_IMAGE";
pub const SCAN_STATUS_ACTIVE: &str = "ACTIVE";
pub const SCAN_STATUS_PENDING: &str = "PENDING";
pub const SCAN_STATUS_SCAN_ELIGIBILITY_EXPIRED: &str = "SCAN_ELIGIBILITY_EXPIRED";
pub const SCAN_STATUS_FINDINGS_UNAVAILABLE: &str = "FINDINGS_UNAVAILABLE";
pub const SCAN_STATUS_LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";
pub const SCAN_STATUS_IMAGE_ARCHIVED: &str = "IMAGE_ARCHIVED";

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageScanningConfiguration {
    #[serde(default)]
    pub scan_on_push: bool,
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

/// Which repositories a scanning rule covers (`filter` with `*` wildcards).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanningRepositoryFilter {
    pub filter: String,
    pub filter_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryScanningRule {
    pub scan_frequency: String,
    pub repository_filters: Vec<ScanningRepositoryFilter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryScanningConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_type: Option<String>,
    #[serde(default)]
    pub rules: Vec<RegistryScanningRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRegistryScanningConfigurationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<RegistryScanningRule>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRegistryScanningConfigurationResponse {
    pub registry_scanning_configuration: RegistryScanningConfiguration,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetRegistryScanningConfigurationResponse {
    pub registry_id: String,
    pub scanning_configuration: RegistryScanningConfiguration,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchGetRepositoryScanningConfigurationRequest {
    pub repository_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryScanningConfiguration {
    pub repository_arn: String,
    pub repository_name: String,
    pub scan_on_push: bool,
    pub scan_frequency: String,
    #[serde(default)]
    pub applied_scan_filters: Vec<ScanningRepositoryFilter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryScanningConfigurationFailure {
    pub repository_name: String,
    pub failure_code: String,
    pub failure_reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchGetRepositoryScanningConfigurationResponse {
    #[serde(default)]
    pub scanning_configurations: Vec<RepositoryScanningConfiguration>,
    #[serde(default)]
    pub failures: Vec<RepositoryScanningConfigurationFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartImageScanRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub image_id: ImageIdentifier,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartImageScanResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub image_id: ImageIdentifier,
    pub image_scan_status: ImageScanStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeImageScanFindingsRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub image_id: ImageIdentifier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::super::tests::round_trip;
    use super::*;
    use serde_json::json;

    // Every member of botocore's scanning shapes.
    #[test]
    fn scanning_configurations_round_trip() {
        let rules = json!([{"scanFrequency": "SCAN_ON_PUSH",
            "repositoryFilters": [{"filter": "team-a/*", "filterType": "WILDCARD"}]}]);
        let put: PutRegistryScanningConfigurationRequest =
            round_trip(json!({"scanType": "BASIC", "rules": rules}));
        assert_eq!(
            put.rules.unwrap()[0].repository_filters[0].filter,
            "team-a/*"
        );
        round_trip::<PutRegistryScanningConfigurationResponse>(
            json!({"registryScanningConfiguration": {"scanType": "ENHANCED", "rules": rules}}),
        );
        round_trip::<GetRegistryScanningConfigurationResponse>(
            json!({"registryId": "123456789012",
            "scanningConfiguration": {"scanType": "BASIC", "rules": []}}),
        );
        round_trip::<BatchGetRepositoryScanningConfigurationRequest>(
            json!({"repositoryNames": ["team-a/api"]}),
        );
        round_trip::<BatchGetRepositoryScanningConfigurationResponse>(
            json!({"scanningConfigurations": [{
            "repositoryArn": "arn:aws:ecr:us-east-1:123456789012:repository/team-a/api",
            "repositoryName": "team-a/api", "scanOnPush": true, "scanFrequency": "MANUAL",
            "appliedScanFilters": [{"filter": "filter-value", "filterType": "WILDCARD"}]}],
            "failures": [{"repositoryName": "team-a/web", "failureCode": "REPOSITORY_NOT_FOUND",
            "failureReason": "failureReason-value"}]}),
        );
    }

    #[test]
    fn scans_round_trip() {
        let image = json!({"imageDigest": format!("sha256:{}", "ab".repeat(32)), "imageTag": "v1"});
        round_trip::<StartImageScanRequest>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "imageId": image}));
        round_trip::<StartImageScanResponse>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "imageId": image,
            "imageScanStatus": {"status": "FAILED", "description": "Berth has no scanner"}}));
        round_trip::<DescribeImageScanFindingsRequest>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "imageId": image, "nextToken": "t", "maxResults": 1000}));
    }
}
