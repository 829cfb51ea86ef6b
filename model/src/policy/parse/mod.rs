//! The policy grammar: a JSON document read into a [`Policy`], with every
//! problem found reported at once, each with its path, line and column.
//!
//! What is refused is what ECR refuses (unknown elements, effects, operators or
//! actions, malformed principals, `Resource` in a repository policy, a registry
//! statement without one); what ECR accepts but is probably a slip (duplicate
//! Sids, a missing Version, a condition Berth cannot evaluate) is a warning.

use super::actions::check_action;
use super::conditions::{operator_names, parse_operator, Condition};
use super::{
    ActionList, Effect, Policy, PolicyKind, Principal, Principals, ResourceList, Statement,
    MAX_PROBLEMS,
};
use crate::glob::wildcard_match;
use crate::json::{self, Node, Position, Value};
use crate::problem::{join, Problem};
use crate::suggest;

/// The policy language versions IAM knows.
pub const VERSIONS: &[&str] = &["2012-10-17", "2008-10-17"];
const DOCUMENT_KEYS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
const PRINCIPAL_TYPES: &[&str] = &["AWS", "Service", "Federated", "CanonicalUser"];

/// Parses and validates a repository policy (SetRepositoryPolicy).
pub fn parse_policy(text: &str) -> Result<Policy, Vec<Problem>> {
    parse(text, PolicyKind::Repository)
}

/// Parses and validates a registry policy (PutRegistryPolicy).
pub fn parse_registry_policy(text: &str) -> Result<Policy, Vec<Problem>> {
    parse(text, PolicyKind::Registry)
}

/// Parses and validates a policy document of either kind: the policy with its
/// warnings, or every problem found (at most [`MAX_PROBLEMS`]).
pub fn parse(text: &str, kind: PolicyKind) -> Result<Policy, Vec<Problem>> {
    let root = json::parse(text).map_err(|e| vec![Problem::from(e)])?;
    let mut checker = Checker {
        kind,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let policy = checker.document(&root);
    if checker.problems.is_empty() {
        Ok(Policy {
            warnings: checker.warnings,
            ..policy
        })
    } else {
        checker.problems.truncate(MAX_PROBLEMS);
        Err(checker.problems)
    }
}

struct Checker {
    kind: PolicyKind,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

/// One string of an element that takes a string or a list of strings.
struct Entry<'n> {
    path: String,
    position: Position,
    text: &'n str,
}

impl Checker {
    fn problem(&mut self, path: impl Into<String>, position: Position, message: impl Into<String>) {
        self.problems.push(Problem::new(path, position, message));
    }

    fn warn(&mut self, path: impl Into<String>, position: Position, message: impl Into<String>) {
        self.warnings.push(Problem::new(path, position, message));
    }

    /// Reports keys outside `allowed` (with "did you mean") and keys given twice.
    fn check_keys(&mut self, path: &str, node: &Node, allowed: &[&str], shape: &str) {
        let Some(members) = node.members() else {
            return;
        };
        for (i, member) in members.iter().enumerate() {
            let key = member.key.as_str();
            let member_path = join(path, key);
            if members[..i].iter().any(|m| m.key == key) {
                self.warn(
                    member_path.clone(),
                    member.key_position,
                    format!("'{key}' appears more than once here; the last one counts"),
                );
            }
            if allowed.contains(&key) {
                continue;
            }
            let hint = suggest::hint(key, allowed.iter().copied());
            self.problem(
                member_path,
                member.key_position,
                format!("unsupported key '{key}'{hint}: {shape}"),
            );
        }
    }

    /// A string, or a non-empty list of strings.
    fn strings<'n>(&mut self, path: &str, node: &'n Node, what: &str) -> Vec<Entry<'n>> {
        match &node.value {
            Value::String(s) => vec![Entry {
                path: path.to_string(),
                position: node.position,
                text: s,
            }],
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match &item.value {
                    Value::String(s) => Some(Entry {
                        path: format!("{path}[{i}]"),
                        position: item.position,
                        text: s,
                    }),
                    _ => {
                        self.problem(
                            format!("{path}[{i}]"),
                            item.position,
                            format!("each {what} must be a string, not {}", item.kind()),
                        );
                        None
                    }
                })
                .collect(),
            _ => {
                self.problem(
                    path,
                    node.position,
                    format!("{what} must be a string or a non-empty list of strings"),
                );
                Vec::new()
            }
        }
    }

    fn document(&mut self, root: &Node) -> Policy {
        let mut policy = Policy {
            kind: self.kind,
            version: None,
            id: None,
            statements: Vec::new(),
            warnings: Vec::new(),
        };
        if root.members().is_none() {
            self.problem(
                "",
                root.position,
                format!(
                    "a {} is a JSON object with Version and Statement, not {}",
                    self.kind.noun(),
                    root.kind()
                ),
            );
            return policy;
        }
        self.check_keys(
            "",
            root,
            DOCUMENT_KEYS,
            "a policy has Version, Id and Statement",
        );
        match root.get("Version") {
            Some(node) => match node.as_str() {
                Some(v) if VERSIONS.contains(&v) => policy.version = Some(v.to_string()),
                _ => self.problem(
                    "Version",
                    node.position,
                    format!(
                        "{} is not a policy version: use \"2012-10-17\"",
                        node.brief()
                    ),
                ),
            },
            None => self.warn(
                "Version",
                root.position,
                "Version is missing: AWS reads such a policy as version 2008-10-17; add \
                 \"Version\": \"2012-10-17\"",
            ),
        }
        if let Some(node) = root.get("Id") {
            match node.as_str() {
                Some(id) => policy.id = Some(id.to_string()),
                None => self.problem("Id", node.position, "Id must be a string"),
            }
        }
        let raw: Vec<(String, &Node)> = match root.get("Statement") {
            None => {
                self.problem(
                    "Statement",
                    root.position,
                    "Statement is missing: add a list of statements",
                );
                Vec::new()
            }
            Some(node) => match &node.value {
                Value::Array(items) if items.is_empty() => {
                    self.problem(
                        "Statement",
                        node.position,
                        "Statement is empty: add at least one statement",
                    );
                    Vec::new()
                }
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (format!("Statement[{i}]"), item))
                    .collect(),
                Value::Object(_) => vec![("Statement".to_string(), node)],
                _ => {
                    self.problem(
                        "Statement",
                        node.position,
                        "Statement must be an object or a list of objects",
                    );
                    Vec::new()
                }
            },
        };
        let mut sids: Vec<(String, String)> = Vec::new();
        for (path, node) in raw {
            if let Some(sid) = node.get("Sid").and_then(Node::as_str) {
                if let Some((first, _)) = sids.iter().find(|(_, s)| s == sid) {
                    let position = node.get("Sid").map_or(node.position, |n| n.position);
                    self.warn(
                        join(&path, "Sid"),
                        position,
                        format!(
                            "Sid '{sid}' is also used by {first}: ECR accepts duplicate Sids, \
                             but unique ones tell statements apart in messages"
                        ),
                    );
                }
                sids.push((path.clone(), sid.to_string()));
            }
            if let Some(statement) = self.statement(&path, node) {
                policy.statements.push(statement);
            }
        }
        policy
    }

    /// `name` or `not_name`: `Ok(None)` when neither is there, `Err` (reported)
    /// when both are.
    fn either<'n>(
        &mut self,
        path: &str,
        node: &'n Node,
        name: &str,
        not_name: &str,
    ) -> Result<Option<(bool, String, &'n Node)>, ()> {
        match (node.get(name), node.get(not_name)) {
            (Some(_), Some(not)) => {
                self.problem(
                    join(path, not_name),
                    not.position,
                    format!("a statement has {name} or {not_name}, not both"),
                );
                Err(())
            }
            (Some(value), None) => Ok(Some((false, join(path, name), value))),
            (None, Some(value)) => Ok(Some((true, join(path, not_name), value))),
            (None, None) => Ok(None),
        }
    }

    fn statement(&mut self, path: &str, node: &Node) -> Option<Statement> {
        let Some(members) = node.members() else {
            self.problem(
                path,
                node.position,
                format!("a statement must be an object, not {}", node.kind()),
            );
            return None;
        };
        let before = self.problems.len();
        if self.kind == PolicyKind::Repository {
            for member in members {
                if member.key == "Resource" || member.key == "NotResource" {
                    self.problem(
                        join(path, &member.key),
                        member.key_position,
                        format!(
                            "a repository policy covers the repository it is set on, so its \
                             statements name no {}: remove it (ECR refuses it as 'Invalid \
                             repository policy provided'); to cover many repositories, use the \
                             registry policy",
                            member.key
                        ),
                    );
                }
            }
            self.check_keys(
                path,
                node,
                STATEMENT_KEYS,
                "a repository policy statement has Sid, Effect, Principal or NotPrincipal, \
                 Action or NotAction, and Condition",
            );
        } else {
            self.check_keys(
                path,
                node,
                STATEMENT_KEYS,
                "a registry policy statement has Sid, Effect, Principal or NotPrincipal, Action \
                 or NotAction, Resource or NotResource, and Condition",
            );
        }

        let sid = match node.get("Sid") {
            None => None,
            Some(value) => match value.as_str() {
                Some(s) => Some(s.to_string()),
                None => {
                    self.problem(join(path, "Sid"), value.position, "Sid must be a string");
                    None
                }
            },
        };

        let effect = match node.get("Effect") {
            None => {
                self.problem(
                    join(path, "Effect"),
                    node.position,
                    "Effect is missing: \"Allow\" or \"Deny\"",
                );
                None
            }
            Some(value) => match value.as_str() {
                Some("Allow") => Some(Effect::Allow),
                Some("Deny") => Some(Effect::Deny),
                other => {
                    let hint = other
                        .map(|e| suggest::hint(e, ["Allow", "Deny"]))
                        .unwrap_or_default();
                    self.problem(
                        join(path, "Effect"),
                        value.position,
                        format!(
                            "Effect must be \"Allow\" or \"Deny\", not {}{hint}",
                            value.brief()
                        ),
                    );
                    None
                }
            },
        };

        let principals = match self.either(path, node, "Principal", "NotPrincipal") {
            Err(()) => None,
            Ok(None) => {
                self.problem(
                    join(path, "Principal"),
                    node.position,
                    format!(
                        "Principal is missing: a {} says whom each statement applies to",
                        self.kind.noun()
                    ),
                );
                None
            }
            Ok(Some((negated, p, value))) => {
                let entries = self.principal(&p, value);
                if negated && effect == Some(Effect::Allow) {
                    self.warn(
                        p.clone(),
                        value.position,
                        "NotPrincipal with Allow grants everyone not listed, anonymous callers \
                         included; AWS advises Deny with NotPrincipal",
                    );
                }
                Some(Principals { negated, entries })
            }
        };

        let actions = match self.either(path, node, "Action", "NotAction") {
            Err(()) => None,
            Ok(None) => {
                self.problem(join(path, "Action"), node.position, "Action is missing");
                None
            }
            Ok(Some((negated, p, value))) => {
                let mut patterns = Vec::new();
                for entry in self.strings(&p, value, "action") {
                    match check_action(&entry.path, entry.position, entry.text) {
                        Ok(()) => patterns.push(entry.text.to_string()),
                        Err(problem) => self.problems.push(problem),
                    }
                }
                Some(ActionList { negated, patterns })
            }
        };

        let resources = match self.kind {
            PolicyKind::Repository => None,
            PolicyKind::Registry => match self.either(path, node, "Resource", "NotResource") {
                Err(()) => None,
                Ok(None) => {
                    self.problem(
                        join(path, "Resource"),
                        node.position,
                        "Resource is missing: a registry policy statement names the repositories \
                         it covers, e.g. arn:aws:ecr:us-east-1:123456789012:repository/team-a/* \
                         (or \"*\")",
                    );
                    None
                }
                Ok(Some((negated, p, value))) => {
                    let mut patterns = Vec::new();
                    for entry in self.strings(&p, value, "resource") {
                        if self.resource(&entry) {
                            patterns.push(entry.text.to_string());
                        }
                    }
                    Some(ResourceList { negated, patterns })
                }
            },
        };

        let conditions = match node.get("Condition") {
            None => Vec::new(),
            Some(value) => self.conditions(&join(path, "Condition"), value),
        };
        if let Some(effect) = effect {
            for condition in conditions.iter().filter(|c| !c.is_evaluated()) {
                let consequence = match effect {
                    Effect::Allow => "this Allow never grants on Berth",
                    Effect::Deny => "this Deny applies on Berth as if it held",
                };
                self.warn(
                    join(&join(path, "Condition"), &condition.operator_name),
                    condition.position,
                    format!(
                        "Berth cannot evaluate {} on '{}' (AWS decides it from the request), so \
                         {consequence}",
                        condition.operator_name, condition.key
                    ),
                );
            }
        }

        if self.problems.len() > before {
            return None;
        }
        Some(Statement {
            sid,
            effect: effect?,
            principals: principals?,
            actions: actions?,
            resources,
            conditions,
            position: node.position,
        })
    }
}

mod condition;
mod principal;
#[cfg(test)]
mod tests;
