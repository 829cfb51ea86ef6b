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

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Why an `AWS` principal entry is not one IAM accepts, if it is not.
fn aws_principal_problem(entry: &str) -> Option<String> {
    if entry == "*" || is_account_id(entry) {
        return None;
    }
    let general = format!(
        "'{entry}' is not a principal: use an account id (123456789012), an IAM ARN \
         (arn:aws:iam::123456789012:user/name) or \"*\""
    );
    let parts: Vec<&str> = entry.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return Some(general);
    };
    let partition_ok = partition == "aws" || partition.starts_with("aws-");
    if arn != "arn" || !partition_ok || !region.is_empty() || !is_account_id(account) {
        return Some(general);
    }
    if resource.contains(['*', '?']) {
        return Some(format!(
            "'{entry}' is not a principal: IAM takes no wildcards inside a principal; use \"*\" \
             with a Condition such as {{\"StringLike\": {{\"aws:PrincipalArn\": \"{entry}\"}}}}"
        ));
    }
    let named = |prefix: &str| {
        resource
            .strip_prefix(prefix)
            .is_some_and(|name| !name.is_empty() && !name.contains(char::is_whitespace))
    };
    let valid = match service {
        "iam" => resource == "root" || named("user/") || named("role/"),
        "sts" => named("assumed-role/") || named("federated-user/"),
        _ => false,
    };
    (!valid).then_some(general)
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

    fn principal(&mut self, path: &str, node: &Node) -> Vec<Principal> {
        match &node.value {
            Value::String(s) if s == "*" => vec![Principal::Everyone],
            Value::Object(members) if !members.is_empty() => {
                self.check_keys(
                    path,
                    node,
                    PRINCIPAL_TYPES,
                    "a principal is given by type: AWS, Service, Federated or CanonicalUser",
                );
                let mut entries = Vec::new();
                for kind in PRINCIPAL_TYPES {
                    let Some(value) = node.get(kind) else {
                        continue;
                    };
                    let kind_path = join(path, kind);
                    for entry in self.strings(&kind_path, value, "principal") {
                        let text = entry.text.to_string();
                        entries.push(match *kind {
                            "AWS" => {
                                if let Some(message) = aws_principal_problem(&text) {
                                    self.problem(entry.path, entry.position, message);
                                    continue;
                                }
                                if text == "*" {
                                    Principal::Everyone
                                } else {
                                    Principal::Aws(text)
                                }
                            }
                            "Service" => Principal::Service(text),
                            "Federated" => Principal::Federated(text),
                            _ => Principal::CanonicalUser(text),
                        });
                    }
                }
                entries
            }
            _ => {
                self.problem(
                    path,
                    node.position,
                    "Principal must be \"*\" or an object such as {\"AWS\": \
                     \"arn:aws:iam::123456789012:root\"}",
                );
                Vec::new()
            }
        }
    }

    /// Checks one `Resource` entry of a registry policy; false when refused.
    fn resource(&mut self, entry: &Entry<'_>) -> bool {
        let text = entry.text;
        if text == "*" {
            return true;
        }
        let example = "arn:aws:ecr:us-east-1:123456789012:repository/team-a/*";
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        if parts.len() < 6 || parts[0] != "arn" {
            self.problem(
                entry.path.clone(),
                entry.position,
                format!("'{text}' is not \"*\" or an ARN: write e.g. {example}"),
            );
            return false;
        }
        if !wildcard_match(parts[2], "ecr", true) {
            self.warn(
                entry.path.clone(),
                entry.position,
                format!("'{text}' is not an ECR resource, so it covers no repository"),
            );
        } else if !parts[5].starts_with("repository/")
            && !wildcard_match(parts[5], "repository/x", false)
        {
            let hint = parts[5]
                .split_once('/')
                .map(|(kind, _)| suggest::hint(kind, ["repository"]))
                .unwrap_or_default();
            self.warn(
                entry.path.clone(),
                entry.position,
                format!(
                    "'{text}' names no repository: repository ARNs end in repository/NAME{hint}"
                ),
            );
        }
        true
    }

    fn conditions(&mut self, path: &str, node: &Node) -> Vec<Condition> {
        let Some(members) = node.members() else {
            self.problem(
                path,
                node.position,
                "Condition must be an object of operators, e.g. {\"StringLike\": \
                 {\"aws:PrincipalArn\": \"arn:aws:iam::123456789012:user/ci-*\"}}",
            );
            return Vec::new();
        };
        let mut conditions = Vec::new();
        for member in members {
            let operator_path = join(path, &member.key);
            let Some(operator) = parse_operator(&member.key) else {
                let hint = suggest::hint(&member.key, operator_names());
                self.problem(
                    operator_path,
                    member.key_position,
                    format!(
                        "'{}' is not a condition operator{hint}: IAM's operators are String*, \
                         Numeric*, Date*, Bool, BinaryEquals, IpAddress, NotIpAddress, Arn* and \
                         Null, optionally with IfExists, ForAllValues: or ForAnyValue:",
                        member.key
                    ),
                );
                continue;
            };
            let Some(keys) = member.value.members() else {
                self.problem(
                    operator_path,
                    member.value.position,
                    "a condition operator takes an object of keys and values, e.g. \
                     {\"aws:PrincipalArn\": \"arn:aws:iam::123456789012:user/ci\"}",
                );
                continue;
            };
            for key in keys {
                let key_path = join(&operator_path, &key.key);
                if key.key.is_empty() {
                    self.problem(key_path, key.key_position, "a condition key is empty");
                    continue;
                }
                if !key.key.contains(':') {
                    self.warn(
                        key_path.clone(),
                        key.key_position,
                        format!(
                            "condition key '{}' has no prefix such as aws: or ecr:, so no request \
                             carries it",
                            key.key
                        ),
                    );
                }
                let Some(values) = self.condition_values(&key_path, &key.value) else {
                    continue;
                };
                conditions.push(Condition {
                    operator_name: member.key.clone(),
                    operator: operator.clone(),
                    key: key.key.clone(),
                    values,
                    position: key.key_position,
                });
            }
        }
        conditions
    }

    /// A condition value: a string, number or boolean, or a non-empty list of them.
    fn condition_values(&mut self, path: &str, node: &Node) -> Option<Vec<String>> {
        fn scalar(node: &Node) -> Option<String> {
            match &node.value {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.clone()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        }
        if let Some(value) = scalar(node) {
            return Some(vec![value]);
        }
        let values = node
            .items()
            .filter(|items| !items.is_empty())
            .and_then(|items| items.iter().map(scalar).collect::<Option<Vec<_>>>());
        if values.is_none() {
            self.problem(
                path,
                node.position,
                "a condition value must be a string, number or boolean, or a non-empty list of them",
            );
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        parse_policy(text).unwrap_err()
    }

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn problems_say_what_and_where() {
        let problems = problems(
            r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"A","Effect":"Allow","Principal":{"AWS":"bob"},"Action":["ecr:BatchGetImage","ecr:BatchGetImages"]},
                {"Sid":"A","Effect":"Permit","Principal":{"Robot":"x"},"Action":"s3:GetObject","NotResource":"*"}]}"#,
        );
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(
            has("Statement[0].Principal.AWS: 'bob' is not a principal"),
            "{text:?}"
        );
        assert!(has("Statement[0].Action[1]: 'ecr:BatchGetImages' matches no ECR action; did you mean 'ecr:BatchGetImage'?"), "{text:?}");
        assert!(
            has("Statement[1].Effect: Effect must be \"Allow\" or \"Deny\""),
            "{text:?}"
        );
        assert!(
            has("Statement[1].Principal.Robot: unsupported key 'Robot'"),
            "{text:?}"
        );
        assert!(
            has("Statement[1].Action: 's3:GetObject' is not an ECR action"),
            "{text:?}"
        );
        assert!(
            has("Statement[1].NotResource: a repository policy covers the repository it is set on"),
            "{text:?}"
        );
        let json = problems_of("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [,]\n}");
        assert!(
            json[0]
                .message
                .starts_with("not valid JSON at line 3, column 17"),
            "{json:?}"
        );
        assert_eq!(json[0].position, at(3, 17));
        assert_eq!(problems_of(r#"{"Statement":[]}"#).len(), 1);
    }

    fn problems_of(text: &str) -> Vec<Problem> {
        parse_policy(text).unwrap_err()
    }

    #[test]
    fn problems_carry_the_position_of_their_value() {
        let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"allow\",\n      \"Principal\": \"*\",\n      \"Action\": [\"ecr:ListImages\",\n        \"ecr:Nope\"],\n      \"Condition\": {\"StringEqual\": {\"aws:username\": \"x\"}}\n    },\n    {\"Effect\": \"Deny\", \"Principal\": \"*\"}\n  ]\n}";
        let problems = problems(text);
        let find = |path: &str| {
            problems
                .iter()
                .find(|p| p.path == path)
                .unwrap_or_else(|| panic!("no problem at {path}: {problems:?}"))
        };
        let effect = find("Statement[0].Effect");
        assert_eq!(effect.position, at(5, 17));
        assert!(
            effect.message.ends_with("did you mean 'Allow'?"),
            "{effect}"
        );
        assert_eq!(find("Statement[0].Action[1]").position, at(8, 9));
        let operator = find("Statement[0].Condition.StringEqual");
        assert_eq!(operator.position, at(9, 21));
        assert!(
            operator.message.contains("did you mean 'StringEquals'?"),
            "{operator}"
        );
        // A missing element is pinned to the statement that lacks it.
        assert_eq!(find("Statement[1].Action").position, at(11, 5));
    }

    #[test]
    fn any_sid_ecr_accepts_and_duplicates_only_warn() {
        let text = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"ci-push","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"},
            {"Sid":"new policy","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"},
            {"Sid":"ci-push","Effect":"Allow","Principal":"*","Action":"ecr:DescribeImages"},
            {"Sid":"","Effect":"Allow","Principal":"*","Action":"ecr:DescribeImages"}]}"#;
        let policy = parse_policy(text).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(policy.statements[0].sid.as_deref(), Some("ci-push"));
        assert_eq!(policy.statements[1].label(1), "statement 'new policy'");
        assert_eq!(policy.statements[3].label(3), "statement 4");
        assert_eq!(policy.warnings.len(), 1, "{:?}", policy.warnings);
        assert_eq!(
            policy.warnings[0].to_string(),
            "Statement[2].Sid: Sid 'ci-push' is also used by Statement[0]: ECR accepts duplicate \
             Sids, but unique ones tell statements apart in messages"
        );
        assert_eq!(policy.warnings[0].position, at(4, 20));
        let numeric = problems(
            r#"{"Version":"2012-10-17","Statement":{"Sid":7,"Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}}"#,
        );
        assert_eq!(
            numeric[0].to_string(),
            "Statement.Sid: Sid must be a string"
        );
    }

    #[test]
    fn what_ecr_accepts_parses() {
        // Policies as the ECR console, the AWS docs and CodeBuild's guide write them.
        let accepted = [
            r#"{"Version":"2008-10-17","Statement":[{"Sid":"CodeBuildAccess","Effect":"Allow",
               "Principal":{"Service":"codebuild.amazonaws.com"},
               "Action":["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","ecr:BatchCheckLayerAvailability"],
               "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:codebuild:us-east-1:123456789012:project/p"},
                            "StringEquals":{"aws:SourceAccount":"123456789012"}}}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllowPullFromOffice","Effect":"Deny",
               "Principal":"*","Action":"ecr:*",
               "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}]}"#,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:root","arn:aws:sts::123456789012:assumed-role/admin/jo"]},
               "NotAction":["ecr:Describe*","ecr:List*"],
               "Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"ecr:ImageCount":5},
                            "ForAnyValue:StringLikeIfExists":{"aws:PrincipalTag/team":["a*"]},
                            "Null":{"aws:PrincipalOrgID":"true"}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*"}]}"#,
            r#"{"Version":"2012-10-17","Id":"p1","Statement":{"Effect":"Allow",
               "Principal":{"AWS":"arn:aws-cn:iam::123456789012:user/path/to/ci","CanonicalUser":"79a59df9"},
               "Action":"ecr:BatchImportUpstreamImage"}}"#,
        ];
        for text in accepted {
            parse_policy(text).unwrap_or_else(|p| panic!("{text}\n{p:#?}"));
        }
        let no_version = parse_policy(accepted[3]).unwrap();
        assert_eq!(no_version.version, None);
        assert!(no_version.warnings[0]
            .message
            .starts_with("Version is missing"));
    }

    #[test]
    fn what_iam_refuses_is_refused() {
        let refused = [
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/*"},"Action":"ecr:*"}]}"#,
                "IAM takes no wildcards inside a principal",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"}]}"#,
                "remove it (ECR refuses it as 'Invalid repository policy provided')",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"ecr:*"}]}"#,
                "Principal or NotPrincipal, not both",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":{"StringLike":{"aws:username":{"a":1}}}}]}"#,
                "a condition value must be",
            ),
            (
                r#"{"Version":"2012-10-17","Statment":[]}"#,
                "did you mean 'Statement'?",
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[]},"Action":"ecr:*"}]}"#,
                "principal must be a string or a non-empty list of strings",
            ),
            (
                r#"{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"}]}"#,
                "\"2012-10-18\" is not a policy version",
            ),
            (r#"[]"#, "a repository policy is a JSON object"),
        ];
        for (text, needle) in refused {
            let problems = problems(text);
            assert!(
                problems.iter().any(|p| p.message.contains(needle)),
                "{text}: {problems:#?}"
            );
        }
    }

    #[test]
    fn registry_policies_name_their_resources() {
        let ok = parse_registry_policy(
            r#"{"Version":"2012-10-17","Statement":[
              {"Sid":"ReplicationAccessCrossAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
               "Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":["arn:aws:ecr:us-west-2:123456789012:repository/prod-*"]},
              {"Sid":"ReplicationAccessCrossAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
               "Action":"ecr:*","Resource":"arn:aws:ecr:us-west-2:123456789012:repositry/x"},
              {"Effect":"Deny","Principal":"*","Action":"ecr:*","NotResource":"arn:aws:s3:::bucket"}]}"#,
        )
        .unwrap_or_else(|p| panic!("{p:#?}"));
        let warnings: Vec<String> = ok.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(warnings[0].contains("Sid 'ReplicationAccessCrossAccount' is also used"));
        assert!(warnings[1].starts_with("Statement[1].Resource: 'arn:aws:ecr:us-west-2:123456789012:repositry/x' names no repository"));
        assert!(
            warnings[1].ends_with("did you mean 'repository'?"),
            "{warnings:?}"
        );
        assert!(warnings[2].contains("is not an ECR resource"));

        let missing = parse_registry_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"},
               {"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"team-a/*"}]}"#,
        )
        .unwrap_err();
        assert_eq!(missing.len(), 2, "{missing:#?}");
        assert!(missing[0]
            .to_string()
            .starts_with("Statement[0].Resource: Resource is missing"));
        assert!(missing[1]
            .to_string()
            .starts_with("Statement[1].Resource: 'team-a/*' is not \"*\" or an ARN"));
    }

    #[test]
    fn problems_are_bounded() {
        let statements =
            vec![r#"{"Effect":"Maybe","Principal":"*","Action":"ecr:*"}"#; 200].join(",");
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
        assert_eq!(problems(&text).len(), MAX_PROBLEMS);
    }
}
