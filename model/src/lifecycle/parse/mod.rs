//! The lifecycle policy grammar of "Lifecycle policy properties", checked the way
//! ECR's validator does: unknown fields refused, each field's values and the
//! combinations AWS documents. Messages name the rule by its `rulePriority` and
//! the field, so InvalidParameterException says exactly what to fix.

use std::collections::HashMap;

use super::{
    CountType, LifecyclePolicy, Rule, RuleAction, Selection, StorageClass, TagFilter, TagStatus,
    ARCHIVE_MINIMUM_DAYS, MAX_NUMBER, MAX_PATTERN_WILDCARDS, STORAGE_CLASS_ARCHIVE,
};
use crate::json::{self, Node, Position};
use crate::problem::{join, Problem};
use crate::suggest;

const RULE_KEYS: &[&str] = &["rulePriority", "description", "selection", "action"];
const SELECTION_KEYS: &[&str] = &[
    "tagStatus",
    "tagPatternList",
    "tagPrefixList",
    "storageClass",
    "countType",
    "countUnit",
    "countNumber",
];
const ACTION_KEYS: &[&str] = &["type", "targetStorageClass"];

/// Parses and validates a lifecycle policy: the policy, or every problem found.
pub fn parse_lifecycle_policy(text: &str) -> Result<LifecyclePolicy, Vec<Problem>> {
    let root = json::parse(text).map_err(|e| vec![Problem::from(e)])?;
    let mut checker = Checker::default();
    let policy = checker.document(&root);
    if checker.problems.is_empty() {
        Ok(policy)
    } else {
        checker.problems.truncate(crate::policy::MAX_PROBLEMS);
        Err(checker.problems)
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

/// The words a rule's messages start with: "rulePriority 2: ".
fn rule_name(priority: Option<u32>, index: usize) -> String {
    match priority {
        Some(p) => format!("rulePriority {p}: "),
        None => format!("rule {} (no valid rulePriority): ", index + 1),
    }
}

fn quoted(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl Checker {
    fn problem(&mut self, path: impl Into<String>, position: Position, message: impl Into<String>) {
        self.problems.push(Problem::new(path, position, message));
    }

    fn check_keys(&mut self, path: &str, node: &Node, allowed: &[&str], who: &str, shape: &str) {
        for member in node.members().unwrap_or_default() {
            if allowed.contains(&member.key.as_str()) {
                continue;
            }
            let hint = suggest::hint(&member.key, allowed.iter().copied());
            self.problem(
                join(path, &member.key),
                member.key_position,
                format!("{who}unknown field '{}'{hint}: {shape}", member.key),
            );
        }
    }

    /// A string field from a fixed set of values.
    fn choice<T>(
        &mut self,
        path: &str,
        node: &Node,
        who: &str,
        field: &str,
        values: &[&str],
        parse: fn(&str) -> Option<T>,
    ) -> Option<T> {
        if let Some(value) = node.as_str().and_then(parse) {
            return Some(value);
        }
        let hint = node
            .as_str()
            .map(|s| suggest::hint(s, values.iter().copied()))
            .unwrap_or_default();
        self.problem(
            path,
            node.position,
            format!(
                "{who}{field} must be {}, not {}{hint}",
                quoted(values),
                node.brief()
            ),
        );
        None
    }

    /// A positive integer up to [`MAX_NUMBER`].
    fn positive(&mut self, path: &str, node: &Node, who: &str, field: &str) -> Option<u32> {
        match node.as_integer() {
            Some(n) if (1..=MAX_NUMBER).contains(&n) => u32::try_from(n).ok(),
            _ => {
                self.problem(
                    path,
                    node.position,
                    format!(
                        "{who}{field} must be a positive integer (0 is not accepted), not {}",
                        node.brief()
                    ),
                );
                None
            }
        }
    }

    fn document(&mut self, root: &Node) -> LifecyclePolicy {
        let mut policy = LifecyclePolicy { rules: Vec::new() };
        if root.members().is_none() {
            self.problem(
                "",
                root.position,
                format!(
                    "a lifecycle policy is a JSON object with a list of rules, not {}",
                    root.kind()
                ),
            );
            return policy;
        }
        self.check_keys("", root, &["rules"], "", "a lifecycle policy has rules");
        let Some(rules) = root.get("rules") else {
            self.problem(
                "rules",
                root.position,
                "rules is missing: add a list of rules",
            );
            return policy;
        };
        let items = match rules.items() {
            Some(items) if !items.is_empty() => items,
            _ => {
                self.problem(
                    "rules",
                    rules.position,
                    "rules must be a list of at least one rule",
                );
                return policy;
            }
        };
        let mut priorities: HashMap<u32, usize> = HashMap::new();
        let mut complete = true;
        for (index, node) in items.iter().enumerate() {
            let path = format!("rules[{index}]");
            match self.rule(&path, index, node) {
                Some(rule) => {
                    if let Some(first) = priorities.get(&rule.rule_priority) {
                        let position = node
                            .get("rulePriority")
                            .map_or(node.position, |n| n.position);
                        self.problem(
                            join(&path, "rulePriority"),
                            position,
                            format!(
                                "rulePriority {p}: rules[{first}] has rulePriority {p} too; each \
                                 rule needs a unique rulePriority",
                                p = rule.rule_priority
                            ),
                        );
                    } else {
                        priorities.insert(rule.rule_priority, index);
                    }
                    policy.rules.push(rule);
                }
                None => complete = false,
            }
        }
        if complete {
            self.across_rules(&policy);
        }
        policy
    }

    fn rule(&mut self, path: &str, index: usize, node: &Node) -> Option<Rule> {
        if node.members().is_none() {
            self.problem(
                path,
                node.position,
                format!("a rule must be an object, not {}", node.kind()),
            );
            return None;
        }
        let before = self.problems.len();
        let priority = match node.get("rulePriority") {
            Some(value) => self.positive(&join(path, "rulePriority"), value, "", "rulePriority"),
            None => {
                self.problem(
                    join(path, "rulePriority"),
                    node.position,
                    "rulePriority is missing: each rule needs a unique positive integer",
                );
                None
            }
        };
        let who = rule_name(priority, index);
        self.check_keys(
            path,
            node,
            RULE_KEYS,
            &who,
            "a rule has rulePriority, description, selection and action",
        );
        let description = match node.get("description") {
            None => None,
            Some(value) => match value.as_str() {
                Some(text) => Some(text.to_string()),
                None => {
                    self.problem(
                        join(path, "description"),
                        value.position,
                        format!("{who}description must be a string"),
                    );
                    None
                }
            },
        };
        let selection = self.selection(path, node, &who);
        let action = self.action(path, node, &who);
        if let (Some(selection), Some(action)) = (&selection, action) {
            self.combination(path, node, &who, selection, action);
        }
        if self.problems.len() > before {
            return None;
        }
        Some(Rule {
            rule_priority: priority?,
            description,
            selection: selection?,
            action: action?,
            position: node.position,
        })
    }

    fn action(&mut self, rule_path: &str, rule: &Node, who: &str) -> Option<RuleAction> {
        let path = join(rule_path, "action");
        let Some(node) = rule.get("action") else {
            self.problem(
                path,
                rule.position,
                format!("{who}action is missing: {{\"type\": \"expire\"}}"),
            );
            return None;
        };
        if node.members().is_none() {
            self.problem(
                path,
                node.position,
                format!("{who}action must be an object, not {}", node.kind()),
            );
            return None;
        }
        self.check_keys(
            &path,
            node,
            ACTION_KEYS,
            who,
            "an action has type and targetStorageClass",
        );
        let Some(kind) = node.get("type") else {
            self.problem(
                join(&path, "type"),
                node.position,
                format!("{who}type is missing: \"expire\" or \"transition\""),
            );
            return None;
        };
        let action = self.choice(
            &join(&path, "type"),
            kind,
            who,
            "type",
            &RuleAction::ALL.map(RuleAction::as_str),
            RuleAction::parse,
        )?;
        let target_path = join(&path, "targetStorageClass");
        match (action, node.get("targetStorageClass")) {
            (RuleAction::Transition, None) => self.problem(
                target_path,
                node.position,
                format!(
                    "{who}targetStorageClass is missing: a transition moves images to \"archive\""
                ),
            ),
            (RuleAction::Transition, Some(target))
                if target.as_str() != Some(STORAGE_CLASS_ARCHIVE) =>
            {
                self.problem(
                    target_path,
                    target.position,
                    format!(
                        "{who}targetStorageClass must be \"archive\", not {}",
                        target.brief()
                    ),
                )
            }
            (RuleAction::Expire, Some(target)) => self.problem(
                target_path,
                target.position,
                format!("{who}targetStorageClass is only used with type \"transition\"; remove it"),
            ),
            _ => {}
        }
        Some(action)
    }

    /// What AWS documents about count types and actions together.
    fn combination(
        &mut self,
        path: &str,
        rule: &Node,
        who: &str,
        selection: &Selection,
        action: RuleAction,
    ) {
        let at = |name: &str| {
            rule.get("selection")
                .and_then(|s| s.get(name))
                .map_or(rule.position, |n| n.position)
        };
        match (selection.count_type, action) {
            (CountType::SinceImagePulled, RuleAction::Expire) => self.problem(
                join(path, "action.type"),
                rule.get("action")
                    .and_then(|a| a.get("type"))
                    .map_or(rule.position, |n| n.position),
                format!(
                    "{who}countType \"sinceImagePulled\" is used with the \"transition\" action, \
                     not \"expire\": archive unpulled images first, then expire them with \
                     sinceImageTransitioned"
                ),
            ),
            (CountType::SinceImageTransitioned, RuleAction::Transition) => self.problem(
                join(path, "action.type"),
                rule.get("action")
                    .and_then(|a| a.get("type"))
                    .map_or(rule.position, |n| n.position),
                format!(
                    "{who}countType \"sinceImageTransitioned\" is used with the \"expire\" action"
                ),
            ),
            (CountType::SinceImageTransitioned, RuleAction::Expire)
                if selection.count_number < ARCHIVE_MINIMUM_DAYS =>
            {
                self.problem(
                    join(path, "selection.countNumber"),
                    at("countNumber"),
                    format!(
                        "{who}archived images stay at least {ARCHIVE_MINIMUM_DAYS} days, so \
                         countNumber must be {ARCHIVE_MINIMUM_DAYS} or more, not {}",
                        selection.count_number
                    ),
                )
            }
            _ => {}
        }
    }

    /// Rules among the rules selecting the same storage class: `any` last, one
    /// `untagged`, distinct tag lists.
    fn across_rules(&mut self, policy: &LifecyclePolicy) {
        for class in StorageClass::ALL {
            let rules: Vec<(usize, &Rule)> = policy
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.selection.storage_class() == class)
                .collect();
            let Some(highest) = rules.iter().map(|(_, r)| r.rule_priority).max() else {
                continue;
            };
            let mut untagged: Option<u32> = None;
            for (i, (index, rule)) in rules.iter().enumerate() {
                let who = rule_name(Some(rule.rule_priority), *index);
                let status_path = format!("rules[{index}].selection.tagStatus");
                match rule.selection.tag_status {
                    TagStatus::Any if rule.rule_priority != highest => self.problem(
                        status_path,
                        rule.position,
                        format!(
                            "{who}a rule with tagStatus \"any\" must have the highest \
                             rulePriority of the rules selecting {} images, and rulePriority \
                             {highest} is higher",
                            class.as_str()
                        ),
                    ),
                    TagStatus::Untagged => match untagged {
                        Some(first) => self.problem(
                            status_path,
                            rule.position,
                            format!(
                                "{who}only one rule may select untagged {} images, and \
                                 rulePriority {first} already does",
                                class.as_str()
                            ),
                        ),
                        None => untagged = Some(rule.rule_priority),
                    },
                    _ => {}
                }
                let Some(filter) = &rule.selection.tag_filter else {
                    continue;
                };
                let same = rules[..i].iter().find(|(_, earlier)| {
                    earlier
                        .selection
                        .tag_filter
                        .as_ref()
                        .is_some_and(|f| same_tags(f, filter))
                });
                if let Some((_, earlier)) = same {
                    let name = match filter {
                        TagFilter::Patterns(_) => "tagPatternList",
                        TagFilter::Prefixes(_) => "tagPrefixList",
                    };
                    self.problem(
                        format!("rules[{index}].selection.{name}"),
                        rule.position,
                        format!(
                            "{who}rulePriority {} selects the same tags; the rules selecting {} \
                             images must each have their own {name}",
                            earlier.rule_priority,
                            class.as_str()
                        ),
                    );
                }
            }
        }
    }
}

fn same_tags(a: &TagFilter, b: &TagFilter) -> bool {
    let set = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    };
    match (a, b) {
        (TagFilter::Patterns(x), TagFilter::Patterns(y))
        | (TagFilter::Prefixes(x), TagFilter::Prefixes(y)) => set(x) == set(y),
        _ => false,
    }
}

mod selection;
#[cfg(test)]
mod tests;
