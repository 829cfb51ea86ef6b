//! The `Principal` and `Resource` elements: who a statement is about and, in a
//! registry policy, which repositories.

use super::*;

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
    pub(super) fn principal(&mut self, path: &str, node: &Node) -> Vec<Principal> {
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
    pub(super) fn resource(&mut self, entry: &Entry<'_>) -> bool {
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
}
