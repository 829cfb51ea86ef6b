//! Who may do what. One decision point for the ECR API, `/v2`, cross-repository
//! mounts and download URLs, so they can never disagree. Repository policies plug in
//! here; a registry policy (statements whose `Resource` patterns match repository
//! ARNs) plugs in at the same two places: [`authorize`] and [`missing_repository`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use berth_model::policy::{parse_policy, AccessRequest, Decision, Policy};

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

/// What pulling a blob takes (`docker pull` asks for the manifest, then the blob),
/// and so what a cross-repository mount takes on the repository it mounts from.
pub const BLOB_PULL: &[&str] = &["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

fn repository_resource(config: &Config, name: &str) -> String {
    berth_model::ecr::repository_arn(&config.region, &config.account_id, name)
}

/// AWS's refusal when no policy allows an action.
fn not_allowed(principal: &Principal, action: &str, resource: &str) -> Denied {
    Denied {
        message: format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action",
            principal.arn
        ),
    }
}

/// Policies parsed so far, by their text: parsing is a pure function of the text, so
/// an entry never goes stale, and a changed policy is a new entry. Every request to a
/// repository with a policy is decided by it; parsing it each time cost more than the
/// rest of a manifest GET.
static PARSED: OnceLock<Mutex<HashMap<String, Option<Arc<Policy>>>>> = OnceLock::new();

/// Entries kept before the cache starts over.
const MAX_PARSED: usize = 1024;

/// The parsed policy (`None` for a text that does not parse, which allows nothing).
fn parsed(text: &str) -> Option<Arc<Policy>> {
    let cache = PARSED.get_or_init(Mutex::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(text) {
        return hit.clone();
    }
    let policy = parse_policy(text).ok().map(Arc::new);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= MAX_PARSED {
        cache.clear();
    }
    cache.insert(text.to_string(), policy.clone());
    policy
}

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
        .and_then(parsed);
    let decision = policy
        .as_ref()
        .map(|p| {
            p.evaluate(&AccessRequest {
                principal_arn: &principal.arn,
                action,
            })
        })
        .unwrap_or(Decision::NotAllowed);
    // Named only in refusals: not built for the requests that are allowed.
    let resource = || match repository {
        Some(r) => repository_resource(config, &r.name),
        None => format!(
            "arn:aws:ecr:{}:{}:repository/*",
            config.region, config.account_id
        ),
    };
    match decision {
        Decision::ExplicitlyDenied { statement }
            if !(principal.is_root() && ROOT_KEEPS.contains(&action)) =>
        {
            let label = policy
                .as_ref()
                .map(|p| p.statements[statement].label(statement))
                .unwrap_or_default();
            Err(Denied {
                message: format!(
                    "User: {} is not authorized to perform: {action} on resource: {} with an explicit deny in the repository policy ({label})",
                    principal.arn,
                    resource()
                ),
            })
        }
        _ if principal.is_root() => Ok(()),
        Decision::Allowed { .. } => Ok(()),
        _ => Err(not_allowed(principal, action, &resource())),
    }
}

/// [`authorize`] for every one of `actions`; the first refusal.
pub fn authorize_all(
    config: &Config,
    principal: &Principal,
    actions: &[&str],
    repository: Option<&RepositoryRecord>,
) -> Result<(), Denied> {
    actions
        .iter()
        .try_for_each(|action| authorize(config, principal, action, repository))
}

/// What a caller may learn about a repository name that no repository has. AWS
/// authorizes before it looks up: a caller whom nothing could allow `action` on that
/// name is refused exactly as for an existing repository whose policy does not
/// allow it, so denials cannot be used to probe which names exist. Only a caller
/// who could be allowed there (the root; with a registry policy, a principal one of
/// its statements allows on a matching resource) learns the repository is missing.
pub fn missing_repository(
    config: &Config,
    principal: &Principal,
    action: &str,
    name: &str,
) -> Result<(), Denied> {
    if principal.is_root() || ALWAYS_ALLOWED.contains(&action) {
        Ok(())
    } else {
        Err(not_allowed(
            principal,
            action,
            &repository_resource(config, name),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            listen: crate::config::DEFAULT_LISTEN.parse().unwrap(),
            data_dir: "data".into(),
            public_url: "http://127.0.0.1:5000".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            cors_origins: vec![],
            console_dir: None,
            gc_interval: None,
            upload_expiry: std::time::Duration::from_secs(1),
            pull_record_interval: std::time::Duration::from_secs(1),
            limits: Default::default(),
        }
    }

    fn user(name: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::123456789012:user/{name}"),
            access_key_id: "AKIA".into(),
            user_name: Some(name.into()),
        }
    }

    fn repository(name: &str, policy: Option<&str>) -> RepositoryRecord {
        RepositoryRecord {
            id: 1,
            policy: policy.map(str::to_string),
            name: name.into(),
            created_at: 0.0,
            image_tag_mutability: "MUTABLE".into(),
            scan_on_push: false,
            encryption_type: "AES256".into(),
            kms_key: None,
        }
    }

    #[test]
    fn a_missing_repository_looks_like_a_forbidden_one_to_those_without_a_grant() {
        let config = config();
        let viewer = user("viewer");
        let existing = authorize(
            &config,
            &viewer,
            "ecr:DescribeImages",
            Some(&repository("secret", None)),
        )
        .unwrap_err();
        let missing =
            missing_repository(&config, &viewer, "ecr:DescribeImages", "secret").unwrap_err();
        assert_eq!(existing, missing);
        let root = Principal {
            arn: "arn:aws:iam::123456789012:root".into(),
            access_key_id: "AKIA".into(),
            user_name: None,
        };
        assert!(missing_repository(&config, &root, "ecr:DescribeImages", "secret").is_ok());
    }

    #[test]
    fn a_pull_needs_both_actions() {
        let config = config();
        let policy = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/d"},"Action":"ecr:BatchGetImage"},
            {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/d"},"Action":"ecr:GetDownloadUrlForLayer"}]}"#;
        let source = repository("a", Some(policy));
        let denied = authorize_all(&config, &user("d"), BLOB_PULL, Some(&source)).unwrap_err();
        assert!(denied.message.contains("ecr:GetDownloadUrlForLayer"));
        assert!(authorize(&config, &user("d"), "ecr:BatchGetImage", Some(&source)).is_ok());
    }
}
