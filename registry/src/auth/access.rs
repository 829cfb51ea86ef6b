//! Who may do what. One decision point for the ECR API and `/v2`, so the two can
//! never disagree. Repository policies plug in here.

use berth_model::policy::{parse_policy, AccessRequest, Decision};

use crate::auth::Principal;
use crate::config::Config;
use crate::storage::RepositoryRecord;

/// A refusal, phrased as AWS phrases it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub message: String,
}

/// Actions every authenticated principal may take, whatever the policies say.
const ALWAYS_ALLOWED: &[&str] = &["ecr:GetAuthorizationToken"];

/// Actions a policy's Deny never takes from the account root, so that a policy
/// cannot lock the administrator out of fixing it.
const ROOT_KEEPS: &[&str] = &[
    "ecr:GetRepositoryPolicy",
    "ecr:SetRepositoryPolicy",
    "ecr:DeleteRepositoryPolicy",
];

/// Decides whether `principal` may perform `action` (e.g. `ecr:BatchGetImage`) on
/// `repository` (`None` for registry-level actions): an explicit Deny in the
/// repository's policy wins; the root is allowed by identity; anyone else needs
/// an Allow from the policy.
pub fn authorize(
    config: &Config,
    principal: &Principal,
    action: &str,
    repository: Option<&RepositoryRecord>,
) -> Result<(), Denied> {
    if ALWAYS_ALLOWED.contains(&action) {
        return Ok(());
    }
    let policy = repository
        .and_then(|r| r.policy.as_deref())
        .and_then(|text| parse_policy(text).ok());
    let decision = policy
        .as_ref()
        .map(|p| {
            p.evaluate(&AccessRequest {
                principal_arn: &principal.arn,
                action,
            })
        })
        .unwrap_or(Decision::NotAllowed);
    let resource = match repository {
        Some(r) => berth_model::ecr::repository_arn(&config.region, &config.account_id, &r.name),
        None => format!(
            "arn:aws:ecr:{}:{}:repository/*",
            config.region, config.account_id
        ),
    };
    match decision {
        Decision::ExplicitlyDenied { statement } if !(principal.is_root() && ROOT_KEEPS.contains(&action)) => {
            let label = policy.as_ref().map(|p| p.statements[statement].label(statement)).unwrap_or_default();
            Err(Denied {
                message: format!(
                    "User: {} is not authorized to perform: {action} on resource: {resource} with an explicit deny in the repository policy ({label})",
                    principal.arn
                ),
            })
        }
        _ if principal.is_root() => Ok(()),
        Decision::Allowed { .. } => Ok(()),
        _ => Err(Denied {
            message: format!(
                "User: {} is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action",
                principal.arn
            ),
        }),
    }
}
