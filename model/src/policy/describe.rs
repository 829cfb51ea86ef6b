//! Statements in plain words — who, what, where — for summaries and the simulator.

use super::actions::{PULL_ACTIONS, PUSH_ACTIONS};
use super::{ActionList, Principal, Principals, ResourceList};
use crate::glob::wildcard_match;

fn describe_principal(principal: &Principal) -> String {
    match principal {
        Principal::Everyone => "everyone".into(),
        Principal::Service(s) => format!("service {s}"),
        Principal::Federated(s) => format!("users federated by {s}"),
        Principal::CanonicalUser(s) => format!("canonical user {s}"),
        Principal::Aws(e) if e.len() == 12 && e.bytes().all(|b| b.is_ascii_digit()) => {
            format!("account {e}")
        }
        Principal::Aws(e) => {
            let parts: Vec<&str> = e.splitn(6, ':').collect();
            let (account, resource) = match parts[..] {
                [_, _, _, _, account, resource] => (account, resource),
                _ => return e.clone(),
            };
            let name = |prefix: &str| {
                resource
                    .strip_prefix(prefix)
                    .map(|path| path.rsplit('/').next().unwrap_or(path).to_string())
            };
            if resource == "root" {
                format!("account {account}")
            } else if let Some(user) = name("user/") {
                format!("user {user} (account {account})")
            } else if let Some(role) = name("role/") {
                format!("role {role} (account {account})")
            } else if let Some(session) = resource.strip_prefix("assumed-role/") {
                format!("role session {session} (account {account})")
            } else {
                e.clone()
            }
        }
    }
}

/// Whom a statement is about: "user ci (account 123456789012)", "everyone",
/// "everyone except account 111122223333".
pub fn describe_principals(principals: &Principals) -> String {
    let listed = principals
        .entries
        .iter()
        .map(describe_principal)
        .collect::<Vec<_>>()
        .join(", ");
    if principals.negated {
        format!("everyone except {listed}")
    } else {
        listed
    }
}

/// What a statement is about: "push and pull", "pull; DescribeImages", "every ECR action".
pub fn describe_actions(actions: &ActionList) -> String {
    let words = describe_patterns(&actions.patterns);
    if actions.negated {
        format!("every ECR action except {words}")
    } else {
        words
    }
}

fn describe_patterns(actions: &[String]) -> String {
    let covers = |set: &[&str]| {
        set.iter()
            .all(|needed| actions.iter().any(|a| wildcard_match(a, needed, true)))
    };
    if actions
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case("ecr:*"))
    {
        return "every ECR action".into();
    }
    let mut words = Vec::new();
    match (covers(PULL_ACTIONS), covers(PUSH_ACTIONS)) {
        (true, true) => words.push("push and pull".to_string()),
        (true, false) => words.push("pull".to_string()),
        (false, true) => words.push("push".to_string()),
        _ => {}
    }
    let named: Vec<String> = actions
        .iter()
        .filter(|a| {
            !PULL_ACTIONS
                .iter()
                .chain(PUSH_ACTIONS)
                .any(|p| p.eq_ignore_ascii_case(a))
        })
        .map(|a| a.trim_start_matches("ecr:").to_string())
        .collect();
    if !named.is_empty() {
        words.push(named.join(", "));
    }
    if words.is_empty() {
        actions.join(", ")
    } else {
        words.join("; ")
    }
}

fn describe_resource(pattern: &str) -> String {
    if pattern == "*" {
        return "everything in the registry".into();
    }
    let Some(name) = pattern
        .splitn(6, ':')
        .nth(5)
        .and_then(|r| r.strip_prefix("repository/"))
    else {
        return pattern.to_string();
    };
    if name == "*" {
        "every repository".into()
    } else if let Some(prefix) = name.strip_suffix('*').filter(|p| !p.contains(['*', '?'])) {
        format!("repositories whose names start with {prefix}")
    } else if name.contains(['*', '?']) {
        format!("repositories matching {name}")
    } else {
        format!("repository {name}")
    }
}

/// Where a registry policy statement applies: "repositories whose names start
/// with team-a/", "every repository", "everything in the registry".
pub fn describe_resources(resources: &ResourceList) -> String {
    let listed = resources
        .patterns
        .iter()
        .map(|p| describe_resource(p))
        .collect::<Vec<_>>()
        .join(", ");
    if resources.negated {
        format!("everything except {listed}")
    } else {
        listed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principals(negated: bool, entries: Vec<Principal>) -> Principals {
        Principals { negated, entries }
    }

    #[test]
    fn principals_in_words() {
        let aws = |s: &str| Principal::Aws(s.into());
        assert_eq!(
            describe_principals(&principals(
                false,
                vec![
                    aws("arn:aws:iam::123456789012:user/ci"),
                    aws("111122223333"),
                    aws("arn:aws:iam::444455556666:root"),
                    aws("arn:aws:iam::123456789012:role/deploy/builder"),
                    Principal::Service("codebuild.amazonaws.com".into()),
                ]
            )),
            "user ci (account 123456789012), account 111122223333, account 444455556666, \
             role builder (account 123456789012), service codebuild.amazonaws.com"
        );
        assert_eq!(
            describe_principals(&principals(true, vec![aws("111122223333")])),
            "everyone except account 111122223333"
        );
        assert_eq!(
            describe_principals(&principals(false, vec![Principal::Everyone])),
            "everyone"
        );
    }

    #[test]
    fn actions_and_resources_in_words() {
        let list = |negated, patterns: &[&str]| ActionList {
            negated,
            patterns: patterns.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(
            describe_actions(&list(false, &["ecr:*"])),
            "every ECR action"
        );
        assert_eq!(
            describe_actions(&list(true, &["ecr:DeleteRepository"])),
            "every ECR action except DeleteRepository"
        );
        let resources = ResourceList {
            negated: false,
            patterns: vec![
                "arn:aws:ecr:us-east-1:123456789012:repository/team-a/*".into(),
                "arn:aws:ecr:us-east-1:123456789012:repository/*".into(),
                "arn:aws:ecr:us-east-1:123456789012:repository/web".into(),
                "arn:aws:ecr:us-east-1:123456789012:repository/*-prod".into(),
                "*".into(),
            ],
        };
        assert_eq!(
            describe_resources(&resources),
            "repositories whose names start with team-a/, every repository, repository web, \
             repositories matching *-prod, everything in the registry"
        );
    }
}
