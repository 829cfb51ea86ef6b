//! Deciding a request: one policy's answer ([`Policy::evaluate`]), and the answer
//! over the registry policy and a repository policy together ([`decide`]), which
//! the registry enforces and the console's simulator shows.
//!
//! As in IAM: an explicit Deny in either policy wins; otherwise an Allow in
//! either allows; otherwise the request is not allowed (the registry lets the
//! account root act by identity itself). A statement Berth cannot fully evaluate
//! (see [`super::conditions`]) denies but never allows.

use super::conditions::{principal_account, Truth};
use super::{
    ActionList, Effect, Policy, PolicyKind, Principal, Principals, ResourceList, Statement,
};
use crate::glob::wildcard_match;

/// Who is asking to do what, for a repository policy (whose resource is the
/// repository it is attached to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRequest<'a> {
    pub principal_arn: &'a str,
    /// `ecr:Name`.
    pub action: &'a str,
}

/// What a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A repository ARN (`crate::ecr::repository_arn`). Actions over every
    /// repository (DescribeRepositories without names) pass
    /// `repository_arn(region, account, "*")`, which only patterns covering every
    /// repository match.
    Repository(&'a str),
    /// Registry-level actions (GetAuthorizationToken, DescribeRegistry, the
    /// registry policy and scanning configuration): only `"Resource": "*"` covers them.
    Registry,
}

/// Who is asking to do what to which resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub principal_arn: &'a str,
    /// `ecr:Name`.
    pub action: &'a str,
    pub resource: Resource<'a>,
}

/// One policy's answer; indexes point into its `statements`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed { statement: usize },
    ExplicitlyDenied { statement: usize },
    NotAllowed,
}

/// The statement that decided, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    pub policy: PolicyKind,
    pub statement: usize,
    /// "statement 'Sid'" or "statement 2".
    pub label: String,
}

impl StatementRef {
    /// "statement 'PushPull' of the registry policy".
    pub fn describe(&self) -> String {
        format!("{} of the {}", self.label, self.policy.noun())
    }
}

/// The answer over both policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed {
        by: StatementRef,
    },
    Denied {
        by: StatementRef,
    },
    /// No statement allows it (and none denies it).
    NotAllowed,
}

impl Verdict {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed { .. })
    }
}

fn aws_entry_matches(entry: &str, arn: &str) -> bool {
    let account = principal_account(arn);
    if entry.len() == 12 && entry.bytes().all(|b| b.is_ascii_digit()) {
        return account == Some(entry);
    }
    if entry.ends_with(":root") && principal_account(entry).is_some() {
        return account == principal_account(entry);
    }
    entry == arn
}

impl Principals {
    /// Whether the statement is about this caller. Service, federated and
    /// canonical-user principals never are: Berth's callers are IAM principals.
    pub fn matches(&self, principal_arn: &str) -> bool {
        let listed = self.entries.iter().any(|entry| match entry {
            Principal::Everyone => true,
            Principal::Aws(e) => aws_entry_matches(e, principal_arn),
            Principal::Service(_) | Principal::Federated(_) | Principal::CanonicalUser(_) => false,
        });
        listed != self.negated
    }
}

impl ActionList {
    pub fn matches(&self, action: &str) -> bool {
        let listed = self
            .patterns
            .iter()
            .any(|p| wildcard_match(p, action, true));
        listed != self.negated
    }
}

impl ResourceList {
    pub fn matches(&self, resource: Resource<'_>) -> bool {
        let listed = self.patterns.iter().any(|p| match resource {
            Resource::Repository(arn) => wildcard_match(p, arn, false),
            Resource::Registry => p == "*",
        });
        listed != self.negated
    }
}

impl Statement {
    /// Whether the statement applies. `resource` is `None` for "the repository
    /// this policy is attached to"; a statement that names resources (only
    /// registry policies do) then applies [`Truth::Unknown`]ly.
    pub fn applies(
        &self,
        principal_arn: &str,
        action: &str,
        resource: Option<Resource<'_>>,
    ) -> Truth {
        if !self.principals.matches(principal_arn) || !self.actions.matches(action) {
            return Truth::False;
        }
        let resource_truth = match (&self.resources, resource) {
            (None, _) => Truth::True,
            (Some(list), Some(resource)) => {
                if list.matches(resource) {
                    Truth::True
                } else {
                    Truth::False
                }
            }
            (Some(_), None) => Truth::Unknown,
        };
        self.conditions.iter().fold(resource_truth, |truth, c| {
            truth.and(c.evaluate(principal_arn))
        })
    }
}

impl Policy {
    /// A repository policy's answer. An explicit Deny anywhere wins; otherwise the
    /// first Allow that surely applies decides.
    pub fn evaluate(&self, request: &AccessRequest<'_>) -> Decision {
        self.decision(request.principal_arn, request.action, None)
    }

    /// This policy's answer for a request about a given resource (what a registry
    /// policy needs).
    pub fn evaluate_request(&self, request: &Request<'_>) -> Decision {
        self.decision(
            request.principal_arn,
            request.action,
            Some(request.resource),
        )
    }

    fn decision(
        &self,
        principal_arn: &str,
        action: &str,
        resource: Option<Resource<'_>>,
    ) -> Decision {
        let mut allowed = None;
        for (index, statement) in self.statements.iter().enumerate() {
            let truth = statement.applies(principal_arn, action, resource);
            match (statement.effect, truth) {
                (_, Truth::False) => {}
                (Effect::Deny, _) => return Decision::ExplicitlyDenied { statement: index },
                (Effect::Allow, Truth::True) => {
                    allowed.get_or_insert(index);
                }
                (Effect::Allow, Truth::Unknown) => {}
            }
        }
        match allowed {
            Some(statement) => Decision::Allowed { statement },
            None => Decision::NotAllowed,
        }
    }
}

/// Actions every authenticated principal may take without an Allow (an explicit
/// Deny still refuses them): logging in.
pub const NEEDS_NO_ALLOW: &[&str] = &["ecr:GetAuthorizationToken"];

/// Actions a Deny never takes from the account root, so that no policy can lock the
/// registry's owner out of fixing it. Otherwise the root is allowed by identity and
/// refused only by an explicit Deny.
pub const ROOT_KEEPS: &[&str] = &[
    "ecr:GetRepositoryPolicy",
    "ecr:SetRepositoryPolicy",
    "ecr:DeleteRepositoryPolicy",
    "ecr:GetRegistryPolicy",
    "ecr:PutRegistryPolicy",
    "ecr:DeleteRegistryPolicy",
];

/// Decides `request` against the registry policy and the policy of the
/// repository the request is about (pass `None` for either that does not exist,
/// and no repository policy for registry-level requests). An explicit Deny in
/// either wins, the registry policy's first; else an Allow in either allows; else
/// [`Verdict::NotAllowed`] — the caller lets the account root through itself.
pub fn decide(
    request: &Request<'_>,
    registry_policy: Option<&Policy>,
    repository_policy: Option<&Policy>,
) -> Verdict {
    let answers: Vec<(&Policy, Decision)> = [registry_policy, repository_policy]
        .into_iter()
        .flatten()
        .map(|policy| (policy, policy.evaluate_request(request)))
        .collect();
    let reference = |policy: &Policy, statement: usize| StatementRef {
        policy: policy.kind,
        statement,
        label: policy.statements[statement].label(statement),
    };
    for (policy, decision) in &answers {
        if let Decision::ExplicitlyDenied { statement } = decision {
            return Verdict::Denied {
                by: reference(policy, *statement),
            };
        }
    }
    for (policy, decision) in &answers {
        if let Decision::Allowed { statement } = decision {
            return Verdict::Allowed {
                by: reference(policy, *statement),
            };
        }
    }
    Verdict::NotAllowed
}

#[cfg(test)]
mod tests {
    use super::super::{parse_policy, parse_registry_policy};
    use super::*;

    const CI: &str = "arn:aws:iam::123456789012:user/ci";
    const VIEWER: &str = "arn:aws:iam::123456789012:user/viewer";
    const TEAM_A_API: &str = "arn:aws:ecr:us-east-1:123456789012:repository/team-a/api";
    const TEAM_B_API: &str = "arn:aws:ecr:us-east-1:123456789012:repository/team-b/api";

    fn policy(text: &str) -> Policy {
        parse_policy(text).unwrap_or_else(|p| panic!("{p:?}"))
    }

    fn registry(text: &str) -> Policy {
        parse_registry_policy(text).unwrap_or_else(|p| panic!("{p:?}"))
    }

    fn evaluate(policy: &Policy, arn: &str, action: &str) -> Decision {
        policy.evaluate(&AccessRequest {
            principal_arn: arn,
            action,
        })
    }

    fn request<'a>(arn: &'a str, action: &'a str, repository: &'a str) -> Request<'a> {
        Request {
            principal_arn: arn,
            action,
            resource: Resource::Repository(repository),
        }
    }

    #[test]
    fn allow_needs_a_match_and_deny_wins() {
        let p = policy(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Sid":"Push","Effect":"Allow","Principal":{{"AWS":"{CI}"}},"Action":["ecr:*"]}},
                {{"Sid":"Pull","Effect":"Allow","Principal":{{"AWS":["{VIEWER}"]}},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}},
                {{"Sid":"NoViewer","Effect":"Deny","Principal":{{"AWS":"{VIEWER}"}},"Action":"ecr:GetDownload*"}}]}}"#
        ));
        assert_eq!(
            evaluate(&p, CI, "ecr:PutImage"),
            Decision::Allowed { statement: 0 }
        );
        assert_eq!(
            evaluate(&p, VIEWER, "ecr:BatchGetImage"),
            Decision::Allowed { statement: 1 }
        );
        assert_eq!(evaluate(&p, VIEWER, "ecr:PutImage"), Decision::NotAllowed);
        assert_eq!(
            evaluate(&p, VIEWER, "ecr:GetDownloadUrlForLayer"),
            Decision::ExplicitlyDenied { statement: 2 }
        );
        assert_eq!(
            evaluate(
                &p,
                "arn:aws:iam::123456789012:user/other",
                "ecr:BatchGetImage"
            ),
            Decision::NotAllowed
        );
    }

    #[test]
    fn principals_by_account_root_and_star() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:root"]},"Action":"ecr:BatchGetImage"}}"#,
        );
        assert!(matches!(
            evaluate(&p, "arn:aws:iam::111122223333:user/x", "ecr:BatchGetImage"),
            Decision::Allowed { .. }
        ));
        assert!(matches!(
            evaluate(&p, "arn:aws:iam::444455556666:user/y", "ecr:batchgetimage"),
            Decision::Allowed { .. }
        ));
        assert_eq!(evaluate(&p, CI, "ecr:BatchGetImage"), Decision::NotAllowed);
        let any = policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:List*"}]}"#,
        );
        assert!(matches!(
            evaluate(&any, CI, "ecr:ListImages"),
            Decision::Allowed { .. }
        ));
        assert_eq!(evaluate(&any, CI, "ecr:PutImage"), Decision::NotAllowed);
    }

    #[test]
    fn not_principal_and_not_action_invert() {
        let p = policy(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Effect":"Allow","Principal":"*","NotAction":"ecr:Delete*"}},
                {{"Effect":"Deny","NotPrincipal":{{"AWS":"{CI}"}},"Action":"ecr:PutImage"}}]}}"#
        ));
        assert!(matches!(
            evaluate(&p, VIEWER, "ecr:BatchGetImage"),
            Decision::Allowed { .. }
        ));
        assert_eq!(
            evaluate(&p, VIEWER, "ecr:DeleteRepository"),
            Decision::NotAllowed
        );
        assert_eq!(
            evaluate(&p, VIEWER, "ecr:PutImage"),
            Decision::ExplicitlyDenied { statement: 1 }
        );
        assert!(matches!(
            evaluate(&p, CI, "ecr:PutImage"),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn conditions_narrow_statements() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*",
            "Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/c*"}}}]}"#,
        );
        assert!(matches!(
            evaluate(&p, CI, "ecr:PutImage"),
            Decision::Allowed { .. }
        ));
        assert_eq!(evaluate(&p, VIEWER, "ecr:PutImage"), Decision::NotAllowed);
    }

    #[test]
    fn conditions_berth_cannot_see_deny_but_never_allow() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[
              {"Sid":"FromOffice","Effect":"Allow","Principal":"*","Action":"ecr:*",
               "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
              {"Sid":"OnlyOrg","Effect":"Deny","Principal":"*","Action":"ecr:PutImage",
               "Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abc"}}}]}"#,
        );
        assert_eq!(evaluate(&p, CI, "ecr:BatchGetImage"), Decision::NotAllowed);
        assert_eq!(
            evaluate(&p, CI, "ecr:PutImage"),
            Decision::ExplicitlyDenied { statement: 1 }
        );
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings[0]
            .message
            .contains("this Allow never grants on Berth"));
        assert!(p.warnings[1].message.contains("this Deny applies on Berth"));
    }

    #[test]
    fn service_principals_are_never_berth_callers() {
        let p = policy(
            r#"{"Version":"2008-10-17","Statement":[{"Sid":"CodeBuild access","Effect":"Allow",
              "Principal":{"Service":"codebuild.amazonaws.com"},"Action":["ecr:BatchGetImage"]}]}"#,
        );
        assert_eq!(evaluate(&p, CI, "ecr:BatchGetImage"), Decision::NotAllowed);
    }

    const TEAM_A: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"team-a",
        "Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/ci"},
        "Action":["ecr:CreateRepository","ecr:PutImage","ecr:BatchGetImage"],
        "Resource":"arn:aws:ecr:us-east-1:123456789012:repository/team-a/*"}]}"#;

    #[test]
    fn registry_policy_grants_by_resource() {
        let r = registry(TEAM_A);
        let allowed = decide(
            &request(CI, "ecr:CreateRepository", TEAM_A_API),
            Some(&r),
            None,
        );
        assert_eq!(
            allowed,
            Verdict::Allowed {
                by: StatementRef {
                    policy: PolicyKind::Registry,
                    statement: 0,
                    label: "statement 'team-a'".into()
                }
            }
        );
        assert_eq!(
            decide(
                &request(CI, "ecr:CreateRepository", TEAM_B_API),
                Some(&r),
                None
            ),
            Verdict::NotAllowed
        );
        assert_eq!(
            decide(&request(VIEWER, "ecr:PutImage", TEAM_A_API), Some(&r), None),
            Verdict::NotAllowed
        );
        let every = "arn:aws:ecr:us-east-1:123456789012:repository/*";
        assert_eq!(
            decide(&request(CI, "ecr:BatchGetImage", every), Some(&r), None),
            Verdict::NotAllowed,
            "a team grant does not cover listing every repository"
        );
        let registry_level = Request {
            principal_arn: CI,
            action: "ecr:PutImage",
            resource: Resource::Registry,
        };
        assert_eq!(decide(&registry_level, Some(&r), None), Verdict::NotAllowed);
    }

    #[test]
    fn deny_in_either_policy_wins_and_allow_in_either_allows() {
        let r = registry(TEAM_A);
        let deny_push = policy(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"frozen","Effect":"Deny","Principal":"*","Action":"ecr:PutImage"},
               {"Sid":"viewers","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/viewer"},"Action":"ecr:BatchGetImage"}]}"#,
        );
        let denied = decide(
            &request(CI, "ecr:PutImage", TEAM_A_API),
            Some(&r),
            Some(&deny_push),
        );
        assert_eq!(
            denied,
            Verdict::Denied {
                by: StatementRef {
                    policy: PolicyKind::Repository,
                    statement: 0,
                    label: "statement 'frozen'".into()
                }
            }
        );
        let Verdict::Denied { by } = denied else {
            unreachable!()
        };
        assert_eq!(by.describe(), "statement 'frozen' of the repository policy");
        let viewer = decide(
            &request(VIEWER, "ecr:BatchGetImage", TEAM_A_API),
            Some(&r),
            Some(&deny_push),
        );
        assert!(matches!(viewer, Verdict::Allowed { by } if by.policy == PolicyKind::Repository));
        assert!(decide(
            &request(CI, "ecr:BatchGetImage", TEAM_A_API),
            Some(&r),
            Some(&deny_push)
        )
        .is_allowed());
        let registry_deny = registry(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:BatchGetImage","Resource":"*"}]}"#,
        );
        assert!(matches!(
            decide(&request(VIEWER, "ecr:BatchGetImage", TEAM_A_API), Some(&registry_deny), Some(&deny_push)),
            Verdict::Denied { by } if by.policy == PolicyKind::Registry && by.label == "statement 1"
        ));
        assert_eq!(
            decide(
                &request(VIEWER, "ecr:BatchGetImage", TEAM_A_API),
                None,
                None
            ),
            Verdict::NotAllowed
        );
    }

    #[test]
    fn registry_level_actions_need_star() {
        let r = registry(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:DescribeRegistry","Resource":"*"},
               {"Effect":"Allow","Principal":"*","Action":"ecr:GetRegistryPolicy","Resource":"arn:aws:ecr:*:*:repository/*"}]}"#,
        );
        let ask = |action| Request {
            principal_arn: CI,
            action,
            resource: Resource::Registry,
        };
        assert!(decide(&ask("ecr:DescribeRegistry"), Some(&r), None).is_allowed());
        assert!(!decide(&ask("ecr:GetRegistryPolicy"), Some(&r), None).is_allowed());
    }

    #[test]
    fn registry_statements_read_without_a_resource_only_deny() {
        let r = registry(TEAM_A);
        assert_eq!(evaluate(&r, CI, "ecr:PutImage"), Decision::NotAllowed);
        let deny = registry(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:*","Resource":"arn:aws:ecr:*:*:repository/x"}]}"#,
        );
        assert_eq!(
            evaluate(&deny, CI, "ecr:PutImage"),
            Decision::ExplicitlyDenied { statement: 0 }
        );
    }
}
