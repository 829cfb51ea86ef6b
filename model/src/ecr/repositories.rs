//! Repositories: create, describe, delete, and their settings (tag mutability
//! with exclusion filters, encryption).

use serde::{Deserialize, Serialize};

use super::{ImageScanningConfiguration, Tag};

pub const TAG_MUTABLE: &str = "MUTABLE";
pub const TAG_IMMUTABLE: &str = "IMMUTABLE";
/// Every tag is immutable except those an exclusion filter matches.
pub const TAG_IMMUTABLE_WITH_EXCLUSION: &str = "IMMUTABLE_WITH_EXCLUSION";
/// Every tag is mutable except those an exclusion filter matches.
pub const TAG_MUTABLE_WITH_EXCLUSION: &str = "MUTABLE_WITH_EXCLUSION";
/// The only `filterType` of a tag mutability exclusion filter.
pub const FILTER_TYPE_WILDCARD: &str = "WILDCARD";
pub const ENCRYPTION_AES256: &str = "AES256";
pub const ENCRYPTION_KMS: &str = "KMS";
pub const ENCRYPTION_KMS_DSSE: &str = "KMS_DSSE";

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

/// Tags matching `filter` (`*` wildcards) get the opposite of the repository's
/// mutability (see `crate::mutability`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageTagMutabilityExclusionFilter {
    pub filter_type: String,
    pub filter: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    pub repository_arn: String,
    pub registry_id: String,
    pub repository_name: String,
    pub repository_uri: String,
    /// Epoch seconds.
    pub created_at: f64,
    pub image_tag_mutability: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_tag_mutability_exclusion_filters: Vec<ImageTagMutabilityExclusionFilter>,
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
    /// `None` when absent: AWS refuses an empty list, so absent and empty differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag_mutability_exclusion_filters: Option<Vec<ImageTagMutabilityExclusionFilter>>,
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
pub struct PutImageTagMutabilityRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub image_tag_mutability: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag_mutability_exclusion_filters: Option<Vec<ImageTagMutabilityExclusionFilter>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutImageTagMutabilityResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub image_tag_mutability: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_tag_mutability_exclusion_filters: Vec<ImageTagMutabilityExclusionFilter>,
}

#[cfg(test)]
mod tests {
    use super::super::tests::round_trip;
    use super::*;
    use serde_json::json;

    fn filters() -> serde_json::Value {
        json!([{"filterType": "WILDCARD", "filter": "latest"}, {"filterType": "WILDCARD", "filter": "dev-*"}])
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
    }

    // Every member of botocore's CreateRepositoryRequest, Repository,
    // PutImageTagMutabilityRequest and PutImageTagMutabilityResponse shapes.
    #[test]
    fn exclusion_filters_round_trip() {
        let create: CreateRepositoryRequest = round_trip(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "tags": [{"Key": "Key-value", "Value": "Value-value"}],
            "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION", "imageTagMutabilityExclusionFilters": filters(),
            "imageScanningConfiguration": {"scanOnPush": true},
            "encryptionConfiguration": {"encryptionType": "KMS_DSSE", "kmsKey": "kmsKey-value"}}));
        assert_eq!(
            create.image_tag_mutability_exclusion_filters.unwrap()[1].filter,
            "dev-*"
        );
        let repository: Repository = round_trip(
            json!({"repositoryArn": "arn:aws:ecr:us-east-1:123456789012:repository/team-a/api",
            "registryId": "123456789012", "repositoryName": "team-a/api", "repositoryUri": "host/team-a/api",
            "createdAt": 1700000000.5, "imageTagMutability": "MUTABLE_WITH_EXCLUSION",
            "imageTagMutabilityExclusionFilters": filters(), "imageScanningConfiguration": {"scanOnPush": true},
            "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": "kmsKey-value"}}),
        );
        assert_eq!(repository.image_tag_mutability, TAG_MUTABLE_WITH_EXCLUSION);
        let put: PutImageTagMutabilityRequest = round_trip(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "imageTagMutability": "MUTABLE_WITH_EXCLUSION",
            "imageTagMutabilityExclusionFilters": filters()}));
        assert_eq!(put.image_tag_mutability_exclusion_filters.unwrap().len(), 2);
        round_trip::<PutImageTagMutabilityResponse>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "imageTagMutabilityExclusionFilters": filters()}));
        // Without exclusions the members are absent, as before.
        let plain: PutImageTagMutabilityRequest =
            serde_json::from_str(r#"{"repositoryName":"r","imageTagMutability":"MUTABLE"}"#)
                .unwrap();
        assert_eq!(plain.image_tag_mutability_exclusion_filters, None);
        assert!(!serde_json::to_string(&Repository::default())
            .unwrap()
            .contains("Exclusion"));
    }
}
