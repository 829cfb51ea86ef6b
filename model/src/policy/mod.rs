//! Repository and registry policies: the IAM policy grammar as ECR accepts it,
//! validated with problems that say what is wrong and where (path, line and
//! column), and evaluated the way AWS does: an explicit Deny wins, otherwise an
//! Allow is needed.
//!
//! The registry enforces with this code and the console's editor and simulator
//! explain with it, so the two cannot disagree.
//!
//! - [`parse`]: the grammar (`parse_policy`, `parse_registry_policy`).
//! - [`actions`]: the ECR action catalogue and "did you mean".
//! - [`conditions`]: condition operators and the keys Berth can evaluate.
//! - [`eval`]: one policy's decision, and the decision over both policies.
//! - [`templates`], [`describe`]: ready-made policies and plain words.
//!
//! Never stricter than AWS: whatever ECR accepts parses here. Where Berth cannot
//! evaluate something ECR accepts (a condition key it has no value for, a
//! numeric or IP condition, a service principal), the statement is read
//! conservatively: such an Allow never grants, such a Deny still refuses.

pub mod actions;
pub mod conditions;
pub mod describe;
pub mod eval;
pub mod parse;
pub mod templates;

pub use crate::json::Position;
pub use crate::problem::Problem;
pub use actions::{suggest_action, ECR_ACTIONS, PULL_ACTIONS, PUSH_ACTIONS};
pub use conditions::{
    principal_account, Condition, ConditionOperator, Operator, SetQualifier, Truth,
};
pub use describe::{describe_actions, describe_principals, describe_resources};
pub use eval::{
    decide, AccessRequest, Decision, Request, Resource, StatementRef, Verdict, NEEDS_NO_ALLOW,
    ROOT_KEEPS,
};
pub use parse::{parse, parse_policy, parse_registry_policy};
pub use templates::{RegistryTemplate, Template};

/// A policy that failed validation was refused with this many problems at most;
/// more would only repeat the same mistake.
pub const MAX_PROBLEMS: usize = 50;

/// Which document a policy is: the grammar differs in `Resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// SetRepositoryPolicy: applies to the repository it is attached to, so
    /// statements name no `Resource` (ECR refuses one).
    Repository,
    /// PutRegistryPolicy: applies across the registry, so every statement names
    /// the repositories it covers in `Resource`.
    Registry,
}

impl PolicyKind {
    /// "repository policy" / "registry policy", for messages.
    pub fn noun(self) -> &'static str {
        match self {
            PolicyKind::Repository => "repository policy",
            PolicyKind::Registry => "registry policy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One entry of a `Principal` (or `NotPrincipal`) element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"` or `{"AWS": "*"}`.
    Everyone,
    /// An account id or an IAM/STS ARN.
    Aws(String),
    /// `{"Service": "codebuild.amazonaws.com"}`: never a Berth caller.
    Service(String),
    /// `{"Federated": …}`: never a Berth caller.
    Federated(String),
    /// `{"CanonicalUser": …}`: never a Berth caller.
    CanonicalUser(String),
}

/// Whom a statement is about: `Principal` lists who it applies to, `NotPrincipal`
/// (`negated`) who it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principals {
    pub negated: bool,
    pub entries: Vec<Principal>,
}

/// `Action` or `NotAction` (`negated`): `ecr:Name` patterns (wildcards `*` and
/// `?`), or `*`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionList {
    pub negated: bool,
    pub patterns: Vec<String>,
}

/// `Resource` or `NotResource` (`negated`) of a registry policy statement:
/// repository ARN patterns such as `arn:aws:ecr:us-east-1:123456789012:repository/team-a/*`, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceList {
    pub negated: bool,
    pub patterns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Any string: ECR takes hyphens, spaces and duplicates.
    pub sid: Option<String>,
    pub effect: Effect,
    pub principals: Principals,
    pub actions: ActionList,
    /// Always `None` in a repository policy; always `Some` in a registry policy.
    pub resources: Option<ResourceList>,
    pub conditions: Vec<Condition>,
    /// Where the statement's object starts, for pinning it in an editor.
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub kind: PolicyKind,
    /// `None` when the document has no `Version` (AWS then reads it as 2008-10-17).
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
    /// Things AWS accepts that are probably not what the author meant (a
    /// duplicate Sid, a missing Version, a resource that names no repository).
    /// Never a reason to refuse the policy.
    pub warnings: Vec<Problem>,
}

impl Statement {
    /// "statement 'Sid'", or "statement N" (1-based) without a Sid, for messages.
    pub fn label(&self, index: usize) -> String {
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("statement '{sid}'"),
            _ => format!("statement {}", index + 1),
        }
    }
}
