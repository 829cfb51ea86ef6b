//! The `Condition` element: operators, keys and their values.

use super::*;

impl Checker {
    pub(super) fn conditions(&mut self, path: &str, node: &Node) -> Vec<Condition> {
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
