//! Repository policies (SetRepositoryPolicy, …) and the registry policy
//! (PutRegistryPolicy, …). Their grammar lives in `crate::policy`.

use serde::{Deserialize, Serialize};

/// The longest repository policy ECR takes, in characters.
pub const MAX_REPOSITORY_POLICY_TEXT: usize = 10_240;
/// The longest registry policy ECR takes (botocore's RegistryPolicyText).
pub const MAX_REGISTRY_POLICY_TEXT: usize = 10_240;

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
pub struct PutRegistryPolicyRequest {
    pub policy_text: String,
}

/// The response of PutRegistryPolicy, GetRegistryPolicy and DeleteRegistryPolicy
/// (the deleted policy's text).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryPolicyResponse {
    pub registry_id: String,
    pub policy_text: String,
}

#[cfg(test)]
mod tests {
    use super::super::tests::round_trip;
    use super::*;
    use serde_json::json;

    #[test]
    fn registry_policies_round_trip() {
        round_trip::<PutRegistryPolicyRequest>(json!({"policyText": "{}"}));
        round_trip::<RegistryPolicyResponse>(
            json!({"registryId": "123456789012", "policyText": "{}"}),
        );
        // botocore's GetRepositoryPolicy example output.
        let output: RepositoryPolicyResponse = round_trip(
            json!({"policyText": "{\n  \"Version\" : \"2008-10-17\",\n  \"Statement\" : [ {\n    \"Sid\" : \"new statement\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n     \"AWS\" : \"arn:aws:iam::012345678901:role/CodeDeployDemo\"\n    },\n\"Action\" : [ \"ecr:GetDownloadUrlForLayer\", \"ecr:BatchGetImage\", \"ecr:BatchCheckLayerAvailability\" ]\n } ]\n}",
            "registryId": "012345678901", "repositoryName": "ubuntu"}),
        );
        let policy = crate::policy::parse_policy(&output.policy_text).unwrap();
        assert_eq!(policy.statements[0].sid.as_deref(), Some("new statement"));
    }
}
