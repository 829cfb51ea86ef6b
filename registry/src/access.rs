//! Who may do what. One decision point for the ECR API and `/v2`, so the two can
//! never disagree. Repository policies plug in here.

use crate::auth::Principal;
use crate::config::Config;

/// A refusal, phrased as AWS phrases it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub message: String,
}

/// Actions every authenticated principal may take, whatever the policies say.
const ALWAYS_ALLOWED: &[&str] = &["ecr:GetAuthorizationToken"];

/// Decides whether `principal` may perform `action` (e.g. `ecr:BatchGetImage`) on
/// `repository` (`None` for registry-level actions).
pub fn authorize(
    config: &Config,
    principal: &Principal,
    action: &str,
    repository: Option<&str>,
) -> Result<(), Denied> {
    // The account root is allowed by identity.
    if principal.is_root() || ALWAYS_ALLOWED.contains(&action) {
        return Ok(());
    }
    let resource = match repository {
        Some(name) => berth_model::ecr::repository_arn(&config.region, &config.account_id, name),
        None => format!(
            "arn:aws:ecr:{}:{}:repository/*",
            config.region, config.account_id
        ),
    };
    Err(Denied {
        message: format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action",
            principal.arn
        ),
    })
}
