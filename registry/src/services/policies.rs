//! The registry policy (PutRegistryPolicy, GetRegistryPolicy, DeleteRegistryPolicy)
//! and the decisions it takes part in: every request reads it once, through
//! [`access`], so a change holds for the next request in every process.

use berth_model::ecr::{
    PutRegistryPolicyRequest, RegistryPolicyResponse, MAX_REGISTRY_POLICY_TEXT,
};

use super::error::{Error, Result};
use crate::auth::access::Access;
use crate::AppState;

/// Where the registry policy is kept: a registry setting, as ECR's own "private
/// registry settings" hold it.
pub const REGISTRY_POLICY_SETTING: &str = "registry_policy";

/// The decisions of one request, with the registry policy as it stands now.
pub async fn access(state: &AppState) -> Result<Access<'_>> {
    let text = state.metadata.get_setting(REGISTRY_POLICY_SETTING).await?;
    Ok(Access::new(&state.config, text.as_deref()))
}

fn response(state: &AppState, policy_text: String) -> RegistryPolicyResponse {
    RegistryPolicyResponse {
        registry_id: state.config.account_id.clone(),
        policy_text,
    }
}

pub async fn get(state: &AppState) -> Result<RegistryPolicyResponse> {
    let text = state
        .metadata
        .get_setting(REGISTRY_POLICY_SETTING)
        .await?
        .ok_or(Error::RegistryPolicyNotFound)?;
    Ok(response(state, text))
}

/// Stores the policy verbatim once the code that enforces it has read it: every
/// statement names its repositories in `Resource` (see `berth_model::policy`).
pub async fn put(
    state: &AppState,
    request: PutRegistryPolicyRequest,
) -> Result<RegistryPolicyResponse> {
    let characters = request.policy_text.chars().count();
    if characters > MAX_REGISTRY_POLICY_TEXT {
        return Err(Error::invalid(format!(
            "Invalid parameter at 'policyText': a registry policy may be at most {MAX_REGISTRY_POLICY_TEXT} characters, not {characters}."
        )));
    }
    if let Err(problems) = berth_model::policy::parse_registry_policy(&request.policy_text) {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(Error::invalid(format!(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided': {}",
            list.join("; ")
        )));
    }
    state
        .metadata
        .put_setting(REGISTRY_POLICY_SETTING, &request.policy_text)
        .await?;
    Ok(response(state, request.policy_text))
}

/// Deletes the policy; the answer carries the text it had.
pub async fn delete(state: &AppState) -> Result<RegistryPolicyResponse> {
    let text = state
        .metadata
        .delete_setting(REGISTRY_POLICY_SETTING)
        .await?
        .ok_or(Error::RegistryPolicyNotFound)?;
    Ok(response(state, text))
}
