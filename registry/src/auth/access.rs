//! Who may do what. One decision point for the ECR API, `/v2` (and the grants the
//! token endpoint hands out), cross-repository mounts, download URLs and listings,
//! so they can never disagree.
//!
//! A decision reads two policies through `berth_model::policy::authorize`, the code
//! the console's simulator runs too: the registry policy (statements whose
//! `Resource` patterns match repository ARNs), read once per request into an
//! [`Access`], and the policy of the repository the request is about. An explicit
//! Deny in either wins; an Allow in either allows; otherwise only the account root
//! is allowed, by identity (with the root's exceptions, `ROOT_KEEPS` and
//! `NEEDS_NO_ALLOW`, applied there too). The same decision says what a caller may
//! learn about a name no repository has ([`Access::missing_repository`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use berth_model::policy::{
    authorize, parse_policy, parse_registry_policy, Answer, Policy, Problem, Request, Resource,
};

use crate::auth::Principal;
use crate::config::Config;
use crate::storage::RepositoryRecord;

/// A refusal, phrased as AWS phrases it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub message: String,
}

/// What pulling a blob takes (`docker pull` asks for the manifest, then the blob),
/// and so what a cross-repository mount takes on the repository it mounts from.
pub const BLOB_PULL: &[&str] = &["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/// What a request is about.
#[derive(Debug, Clone, Copy)]
pub enum On<'a> {
    /// An existing repository: its policy takes part.
    Repository(&'a RepositoryRecord),
    /// A repository name no repository has: CreateRepository, or a lookup that
    /// found nothing. Only the registry policy speaks about it.
    Name(&'a str),
    /// The registry itself (GetAuthorizationToken, DescribeRegistry, the registry
    /// policy and scanning configuration), whose IAM resource is `*`.
    Registry,
}

/// A stored policy as a decision reads it: absent, parsed, or no longer parsing
/// (the grammar may have changed since it was set), with the reason.
type Stored = Result<Option<Arc<Policy>>, String>;

/// Which grammar a text was parsed with: the same text may be a valid registry
/// policy and an invalid repository policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Grammar {
    Repository,
    Registry,
}

impl Grammar {
    fn parse(self, text: &str) -> Result<Policy, Vec<Problem>> {
        match self {
            Grammar::Repository => parse_policy(text),
            Grammar::Registry => parse_registry_policy(text),
        }
    }
}

type Parsed = Result<Arc<Policy>, String>;

/// Policies parsed so far, by grammar and text: parsing is a pure function of the
/// text, so an entry never goes stale, and a changed policy is a new entry. Every
/// request is decided by the registry policy and its repository's policy; parsing
/// them each time cost more than the rest of a manifest GET.
static PARSED: OnceLock<Mutex<HashMap<(Grammar, String), Parsed>>> = OnceLock::new();

/// Entries kept before the cache starts over.
const MAX_PARSED: usize = 1024;

fn parsed(grammar: Grammar, text: &str) -> Parsed {
    let cache = PARSED.get_or_init(Mutex::default);
    let key = (grammar, text.to_string());
    if let Some(hit) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return hit.clone();
    }
    let policy = grammar.parse(text).map(Arc::new).map_err(|problems| {
        problems
            .first()
            .map(ToString::to_string)
            .unwrap_or_default()
    });
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= MAX_PARSED {
        cache.clear();
    }
    cache.insert(key, policy.clone());
    policy
}

fn read(text: Option<&str>, grammar: Grammar) -> Stored {
    text.map(|text| parsed(grammar, text)).transpose()
}

/// The decisions of one request: the account, and the registry policy as it stood
/// when the request arrived.
pub struct Access<'a> {
    config: &'a Config,
    registry_policy: Stored,
}

impl<'a> Access<'a> {
    /// `registry_policy` is the stored document, if there is one.
    pub fn new(config: &'a Config, registry_policy: Option<&str>) -> Access<'a> {
        Access {
            config,
            registry_policy: read(registry_policy, Grammar::Registry),
        }
    }

    fn resource(&self, on: On<'_>) -> String {
        let arn = |name: &str| {
            berth_model::ecr::repository_arn(&self.config.region, &self.config.account_id, name)
        };
        match on {
            On::Repository(repository) => arn(&repository.name),
            On::Name(name) => arn(name),
            On::Registry => "*".to_string(),
        }
    }

    /// Decides whether `principal` may perform `action` (e.g. `ecr:BatchGetImage`)
    /// on `on`. A stored policy that no longer parses refuses everyone but the
    /// root, who can replace it: a Deny in it must not silently stop counting.
    pub fn authorize(&self, principal: &Principal, action: &str, on: On<'_>) -> Result<(), Denied> {
        let resource = self.resource(on);
        let repository_policy = match on {
            On::Repository(repository) => read(repository.policy.as_deref(), Grammar::Repository),
            On::Name(_) | On::Registry => Ok(None),
        };
        let (registry_policy, repository_policy) = match (&self.registry_policy, &repository_policy)
        {
            (Ok(registry), Ok(repository)) => (registry.as_deref(), repository.as_deref()),
            (Err(problem), _) | (_, Err(problem)) if !principal.is_root() => {
                let which = if self.registry_policy.is_err() {
                    "registry policy"
                } else {
                    "repository policy"
                };
                return Err(Denied {
                        message: format!(
                            "User: {} is not authorized to perform: {action} on resource: {resource} because the {which} stored in this registry no longer parses ({problem}); the account root must set a new one",
                            principal.arn
                        ),
                    });
            }
            (registry, repository) => (
                registry.as_ref().ok().and_then(Option::as_deref),
                repository.as_ref().ok().and_then(Option::as_deref),
            ),
        };
        let request = Request {
            principal_arn: &principal.arn,
            action,
            resource: match on {
                On::Registry => Resource::Registry,
                On::Repository(_) | On::Name(_) => Resource::Repository(&resource),
            },
        };
        match authorize(&request, principal.is_root(), registry_policy, repository_policy) {
            Answer::Denied { by } => Err(Denied {
                message: format!(
                    "User: {} is not authorized to perform: {action} on resource: {resource} with an explicit deny in a resource-based policy ({})",
                    principal.arn,
                    by.describe()
                ),
            }),
            Answer::NotAllowed => Err(Denied {
                message: format!(
                    "User: {} is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action",
                    principal.arn
                ),
            }),
            Answer::Allowed { .. } | Answer::Root | Answer::RootKeeps { .. } | Answer::NeedsNoAllow => {
                Ok(())
            }
        }
    }

    /// [`Access::authorize`] for every one of `actions`; the first refusal.
    pub fn authorize_all(
        &self,
        principal: &Principal,
        actions: &[&str],
        on: On<'_>,
    ) -> Result<(), Denied> {
        actions
            .iter()
            .try_for_each(|action| self.authorize(principal, action, on))
    }

    /// What a caller may learn about a repository name that no repository has. AWS
    /// authorizes before it looks up: a caller whom nothing could allow `action` on
    /// that name is refused exactly as for an existing repository whose policy does
    /// not allow it, so denials cannot be used to probe which names exist. Only a
    /// caller who could be allowed there — the root, or a principal a registry
    /// policy statement allows on a matching resource — learns it is missing.
    pub fn missing_repository(
        &self,
        principal: &Principal,
        action: &str,
        name: &str,
    ) -> Result<(), Denied> {
        self.authorize(principal, action, On::Name(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_model::policy::ROOT_KEEPS;

    fn config() -> Config {
        Config {
            listen: crate::config::DEFAULT_LISTEN.parse().unwrap(),
            data_dir: Some("data".into()),
            database: crate::config::Database::Embedded,
            blob_store: crate::config::BlobStore::Files,
            blob_redirect: false,
            public_url: "http://127.0.0.1:5000".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            cors_origins: vec![],
            console_dir: None,
            gc_interval: None,
            upload_expiry: std::time::Duration::from_secs(1),
            pull_record_interval: std::time::Duration::from_secs(1),
            lifecycle_interval: None,
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

    fn root() -> Principal {
        Principal {
            arn: "arn:aws:iam::123456789012:root".into(),
            access_key_id: "AKIA".into(),
            user_name: None,
        }
    }

    fn repository(name: &str, policy: Option<&str>) -> RepositoryRecord {
        RepositoryRecord {
            id: 1,
            policy: policy.map(str::to_string),
            name: name.into(),
            created_at: 0.0,
            image_tag_mutability: "MUTABLE".into(),
            image_tag_mutability_exclusion_filters: Vec::new(),
            scan_on_push: false,
            encryption_type: "AES256".into(),
            kms_key: None,
        }
    }

    const TEAM_A: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"TeamA","Effect":"Allow",
        "Principal":{"AWS":"arn:aws:iam::123456789012:user/dev"},"Action":["ecr:CreateRepository","ecr:DescribeImages"],
        "Resource":"arn:aws:ecr:us-east-1:123456789012:repository/team-a/*"}]}"#;

    #[test]
    fn a_missing_repository_looks_like_a_forbidden_one_to_those_without_a_grant() {
        let config = config();
        let access = Access::new(&config, Some(TEAM_A));
        let viewer = user("viewer");
        let existing = access
            .authorize(
                &viewer,
                "ecr:DescribeImages",
                On::Repository(&repository("secret", None)),
            )
            .unwrap_err();
        let missing = access
            .missing_repository(&viewer, "ecr:DescribeImages", "secret")
            .unwrap_err();
        assert_eq!(existing, missing);
        assert!(access
            .missing_repository(&root(), "ecr:DescribeImages", "secret")
            .is_ok());
        // A registry policy grant that reaches the name tells its holder it is missing.
        let dev = user("dev");
        assert!(access
            .missing_repository(&dev, "ecr:DescribeImages", "team-a/ghost")
            .is_ok());
        assert!(access
            .missing_repository(&dev, "ecr:DescribeImages", "team-b/ghost")
            .is_err());
    }

    #[test]
    fn a_pull_needs_both_actions() {
        let config = config();
        let access = Access::new(&config, None);
        let policy = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/d"},"Action":"ecr:BatchGetImage"},
            {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/d"},"Action":"ecr:GetDownloadUrlForLayer"}]}"#;
        let source = repository("a", Some(policy));
        let denied = access
            .authorize_all(&user("d"), BLOB_PULL, On::Repository(&source))
            .unwrap_err();
        assert!(denied.message.contains("ecr:GetDownloadUrlForLayer"));
        assert!(access
            .authorize(&user("d"), "ecr:BatchGetImage", On::Repository(&source))
            .is_ok());
    }

    #[test]
    fn registry_level_actions_are_decided_against_star() {
        let config = config();
        let deny_tokens = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoLogin","Effect":"Deny",
            "Principal":{"AWS":"arn:aws:iam::123456789012:user/gone"},"Action":"ecr:*","Resource":"*"}]}"#;
        let access = Access::new(&config, Some(deny_tokens));
        assert!(access
            .authorize(&user("dev"), "ecr:GetAuthorizationToken", On::Registry)
            .is_ok());
        let refused = access
            .authorize(&user("gone"), "ecr:GetAuthorizationToken", On::Registry)
            .unwrap_err();
        assert!(refused
            .message
            .contains("on resource: * with an explicit deny"));
        assert!(refused
            .message
            .contains("statement 'NoLogin' of the registry policy"));
        assert!(access
            .authorize(&user("dev"), "ecr:DescribeRegistry", On::Registry)
            .is_err());
    }

    #[test]
    fn the_root_keeps_the_policy_actions_whatever_a_deny_says() {
        let config = config();
        let deny_all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:*","Resource":"*"}]}"#;
        let access = Access::new(&config, Some(deny_all));
        let app = repository("app", None);
        assert!(access
            .authorize(&root(), "ecr:PutImage", On::Repository(&app))
            .is_err());
        for action in ROOT_KEEPS {
            let on = if action.contains("Registry") {
                On::Registry
            } else {
                On::Repository(&app)
            };
            assert!(access.authorize(&root(), action, on).is_ok(), "{action}");
        }
    }

    #[test]
    fn a_stored_policy_that_no_longer_parses_refuses_all_but_the_root() {
        let config = config();
        let access = Access::new(&config, Some(r#"{"Statement": "nope"}"#));
        let refused = access
            .authorize(&user("dev"), "ecr:GetAuthorizationToken", On::Registry)
            .unwrap_err();
        assert!(refused
            .message
            .contains("registry policy stored in this registry no longer parses"));
        assert!(access
            .authorize(&root(), "ecr:CreateRepository", On::Name("x"))
            .is_ok());
        let access = Access::new(&config, None);
        let broken = repository("app", Some("[]"));
        let refused = access
            .authorize(&user("dev"), "ecr:BatchGetImage", On::Repository(&broken))
            .unwrap_err();
        assert!(refused.message.contains("repository policy stored"));
    }
}
