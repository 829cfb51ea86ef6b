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

    fn selection(&mut self, rule_path: &str, rule: &Node, who: &str) -> Option<Selection> {
        let path = join(rule_path, "selection");
        let Some(node) = rule.get("selection") else {
            self.problem(
                path,
                rule.position,
                format!("{who}selection is missing: it says which images the rule applies to"),
            );
            return None;
        };
        if node.members().is_none() {
            self.problem(
                path,
                node.position,
                format!("{who}selection must be an object, not {}", node.kind()),
            );
            return None;
        }
        self.check_keys(
            &path,
            node,
            SELECTION_KEYS,
            who,
            "a selection has tagStatus, tagPatternList or tagPrefixList, storageClass, \
             countType, countUnit and countNumber",
        );
        let field = |name: &str| join(&path, name);
        let required = |checker: &mut Self, name: &str, what: &str| {
            let found = node.get(name);
            if found.is_none() {
                checker.problem(
                    field(name),
                    node.position,
                    format!("{who}{name} is missing: {what}"),
                );
            }
            found
        };

        let tag_status = required(self, "tagStatus", "\"tagged\", \"untagged\" or \"any\"")
            .and_then(|v| {
                self.choice(
                    &field("tagStatus"),
                    v,
                    who,
                    "tagStatus",
                    &TagStatus::ALL.map(TagStatus::as_str),
                    TagStatus::parse,
                )
            });

        let lists = [
            ("tagPatternList", node.get("tagPatternList")),
            ("tagPrefixList", node.get("tagPrefixList")),
        ];
        let mut tag_filter = None;
        match tag_status {
            Some(TagStatus::Tagged) => match lists {
                [(_, Some(_)), (_, Some(prefixes))] => self.problem(
                    field("tagPrefixList"),
                    prefixes.position,
                    format!("{who}a rule takes tagPatternList or tagPrefixList, not both"),
                ),
                [(_, None), (_, None)] => self.problem(
                    field("tagPatternList"),
                    node.position,
                    format!(
                        "{who}tagStatus \"tagged\" needs tagPatternList (wildcards *) or \
                         tagPrefixList to say which tags"
                    ),
                ),
                [(_, Some(patterns)), (_, None)] => {
                    tag_filter = self
                        .tag_list(&field("tagPatternList"), patterns, who, "tagPatternList")
                        .map(TagFilter::Patterns);
                }
                [(_, None), (_, Some(prefixes))] => {
                    tag_filter = self
                        .tag_list(&field("tagPrefixList"), prefixes, who, "tagPrefixList")
                        .map(TagFilter::Prefixes);
                }
            },
            Some(status) => {
                for (name, list) in lists {
                    if let Some(list) = list {
                        self.problem(
                            field(name),
                            list.position,
                            format!(
                                "{who}{name} is only used with tagStatus \"tagged\"; remove it \
                                 for tagStatus \"{}\"",
                                status.as_str()
                            ),
                        );
                    }
                }
            }
            None => {}
        }

        let storage_class = node.get("storageClass").and_then(|v| {
            self.choice(
                &field("storageClass"),
                v,
                who,
                "storageClass",
                &StorageClass::ALL.map(StorageClass::as_str),
                StorageClass::parse,
            )
        });
        let storage_ok = node.get("storageClass").is_none() || storage_class.is_some();

        let count_type = required(
            self,
            "countType",
            "\"imageCountMoreThan\", \"sinceImagePushed\", \"sinceImagePulled\" or \
             \"sinceImageTransitioned\"",
        )
        .and_then(|v| {
            self.choice(
                &field("countType"),
                v,
                who,
                "countType",
                &CountType::ALL.map(CountType::as_str),
                CountType::parse,
            )
        });

        match (count_type, node.get("countUnit")) {
            (Some(kind), None) if kind.counts_days() => self.problem(
                field("countUnit"),
                node.position,
                format!(
                    "{who}countUnit is missing: countType \"{}\" counts days, so add \
                     \"countUnit\": \"days\"",
                    kind.as_str()
                ),
            ),
            (Some(kind), Some(unit)) if !kind.counts_days() => self.problem(
                field("countUnit"),
                unit.position,
                format!(
                    "{who}countUnit is only used with sinceImagePushed, sinceImagePulled or \
                     sinceImageTransitioned; remove it for countType \"{}\"",
                    kind.as_str()
                ),
            ),
            (_, Some(unit)) if unit.as_str() != Some(super::COUNT_UNIT_DAYS) => self.problem(
                field("countUnit"),
                unit.position,
                format!("{who}countUnit must be \"days\", not {}", unit.brief()),
            ),
            _ => {}
        }

        let count_number = required(self, "countNumber", "a positive integer")
            .and_then(|v| self.positive(&field("countNumber"), v, who, "countNumber"));

        if let (Some(kind), true) = (count_type, storage_ok) {
            let class = storage_class.unwrap_or_default();
            match (kind, class) {
                (CountType::SinceImageTransitioned, StorageClass::Standard) => self.problem(
                    field("storageClass"),
                    node.get("storageClass")
                        .map_or(node.position, |n| n.position),
                    format!(
                        "{who}countType \"sinceImageTransitioned\" selects archived images: add \
                         \"storageClass\": \"archive\""
                    ),
                ),
                (CountType::SinceImageTransitioned, StorageClass::Archive)
                | (_, StorageClass::Standard) => {}
                (_, StorageClass::Archive) => self.problem(
                    field("storageClass"),
                    node.get("storageClass")
                        .map_or(node.position, |n| n.position),
                    format!(
                        "{who}storageClass \"archive\" is only used with countType \
                         \"sinceImageTransitioned\"; countType \"{}\" selects standard images",
                        kind.as_str()
                    ),
                ),
            }
        }

        Some(Selection {
            tag_status: tag_status?,
            tag_filter: match tag_status? {
                TagStatus::Tagged => Some(tag_filter?),
                _ => None,
            },
            storage_class,
            count_type: count_type?,
            count_number: count_number?,
        })
    }

    fn tag_list(&mut self, path: &str, node: &Node, who: &str, name: &str) -> Option<Vec<String>> {
        let Some(items) = node.items().filter(|items| !items.is_empty()) else {
            self.problem(
                path,
                node.position,
                format!("{who}{name} must be a non-empty list of strings"),
            );
            return None;
        };
        let mut values = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match item.as_str() {
                Some("") => self.problem(
                    item_path,
                    item.position,
                    format!("{who}{name} entries must not be empty"),
                ),
                Some(text) => {
                    let stars = text.matches('*').count();
                    if name == "tagPatternList" && stars > MAX_PATTERN_WILDCARDS {
                        self.problem(
                            item_path,
                            item.position,
                            format!(
                                "{who}'{text}' has {stars} wildcards; a tag pattern may have at \
                                 most {MAX_PATTERN_WILDCARDS}"
                            ),
                        );
                    } else {
                        values.push(text.to_string());
                    }
                }
                None => self.problem(
                    item_path,
                    item.position,
                    format!("{who}{name} entries must be strings, not {}", item.kind()),
                ),
            }
        }
        (values.len() == items.len()).then_some(values)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(priority: &str, selection: &str, action: &str) -> String {
        format!(r#"{{"rulePriority": {priority}, "selection": {selection}, "action": {action}}}"#)
    }

    fn policy(rules: &[String]) -> String {
        format!(r#"{{"rules": [{}]}}"#, rules.join(","))
    }

    const EXPIRE: &str = r#"{"type": "expire"}"#;
    const ANY_COUNT: &str =
        r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}"#;

    fn problems(text: &str) -> Vec<String> {
        parse_lifecycle_policy(text)
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    /// The single problem of a one-rule policy with this selection and action.
    fn problem(selection: &str, action: &str) -> String {
        let found = problems(&policy(&[rule("7", selection, action)]));
        assert_eq!(found.len(), 1, "{found:#?}");
        found[0].clone()
    }

    #[test]
    fn each_field_is_checked_and_named() {
        let cases = [
            (r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countUnit": "days", "countNumber": 1}"#, EXPIRE,
             "rules[0].selection.countUnit: rulePriority 7: countUnit is only used with sinceImagePushed, sinceImagePulled or sinceImageTransitioned; remove it for countType \"imageCountMoreThan\""),
            (r#"{"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 14}"#, EXPIRE,
             "rules[0].selection.countUnit: rulePriority 7: countUnit is missing: countType \"sinceImagePushed\" counts days, so add \"countUnit\": \"days\""),
            (r#"{"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "hours", "countNumber": 14}"#, EXPIRE,
             "rules[0].selection.countUnit: rulePriority 7: countUnit must be \"days\", not \"hours\""),
            (r#"{"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1}"#, EXPIRE,
             "rules[0].selection.tagPatternList: rulePriority 7: tagStatus \"tagged\" needs tagPatternList"),
            (r#"{"tagStatus": "tagged", "tagPatternList": ["a*"], "tagPrefixList": ["a"], "countType": "imageCountMoreThan", "countNumber": 1}"#, EXPIRE,
             "rules[0].selection.tagPrefixList: rulePriority 7: a rule takes tagPatternList or tagPrefixList, not both"),
            (r#"{"tagStatus": "any", "tagPrefixList": ["a"], "countType": "imageCountMoreThan", "countNumber": 1}"#, EXPIRE,
             "rules[0].selection.tagPrefixList: rulePriority 7: tagPrefixList is only used with tagStatus \"tagged\"; remove it for tagStatus \"any\""),
            (r#"{"tagStatus": "tagged", "tagPatternList": ["test*1*2*3*4*5*6"], "countType": "imageCountMoreThan", "countNumber": 1}"#, EXPIRE,
             "rules[0].selection.tagPatternList[0]: rulePriority 7: 'test*1*2*3*4*5*6' has 6 wildcards; a tag pattern may have at most 4"),
            (r#"{"tagStatus": "tagged", "tagPatternList": [], "countType": "imageCountMoreThan", "countNumber": 1}"#, EXPIRE,
             "rules[0].selection.tagPatternList: rulePriority 7: tagPatternList must be a non-empty list of strings"),
            (r#"{"tagStatus": "TAGGED", "countType": "imageCountMoreThan", "countNumber": 1}"#, EXPIRE,
             "rules[0].selection.tagStatus: rulePriority 7: tagStatus must be \"tagged\", \"untagged\" or \"any\", not \"TAGGED\"; did you mean 'tagged'?"),
            (r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 0}"#, EXPIRE,
             "rules[0].selection.countNumber: rulePriority 7: countNumber must be a positive integer (0 is not accepted), not 0"),
            (r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": "5"}"#, EXPIRE,
             "countNumber must be a positive integer (0 is not accepted), not \"5\""),
            (r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 2.5}"#, EXPIRE,
             "countNumber must be a positive integer (0 is not accepted), not 2.5"),
            (r#"{"tagStatus": "any", "countType": "imageCountMoreThan"}"#, EXPIRE,
             "rules[0].selection.countNumber: rulePriority 7: countNumber is missing: a positive integer"),
            (r#"{"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 90}"#, EXPIRE,
             "rules[0].action.type: rulePriority 7: countType \"sinceImagePulled\" is used with the \"transition\" action"),
            (r#"{"tagStatus": "any", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 365}"#, EXPIRE,
             "rules[0].selection.storageClass: rulePriority 7: countType \"sinceImageTransitioned\" selects archived images: add \"storageClass\": \"archive\""),
            (r#"{"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 30}"#, EXPIRE,
             "rules[0].selection.countNumber: rulePriority 7: archived images stay at least 90 days, so countNumber must be 90 or more, not 30"),
            (r#"{"tagStatus": "any", "storageClass": "archive", "countType": "imageCountMoreThan", "countNumber": 3}"#, EXPIRE,
             "rules[0].selection.storageClass: rulePriority 7: storageClass \"archive\" is only used with countType \"sinceImageTransitioned\""),
            (r#"{"tagStatus": "any", "storageClass": "glacier", "countType": "imageCountMoreThan", "countNumber": 3}"#, EXPIRE,
             "rules[0].selection.storageClass: rulePriority 7: storageClass must be \"standard\" or \"archive\", not \"glacier\""),
            (r#"{"tagStatus": "any", "countType": "imageCountMoreThen", "countNumber": 3}"#, EXPIRE,
             "did you mean 'imageCountMoreThan'?"),
            (ANY_COUNT, r#"{"type": "transition"}"#,
             "rules[0].action.targetStorageClass: rulePriority 7: targetStorageClass is missing"),
            // What Terraform module v1.0.1 sent, and AWS refused.
            (ANY_COUNT, r#"{"type": "expire", "targetStorageClass": null}"#,
             "rules[0].action.targetStorageClass: rulePriority 7: targetStorageClass is only used with type \"transition\"; remove it"),
            (ANY_COUNT, r#"{"type": "delete"}"#,
             "rules[0].action.type: rulePriority 7: type must be \"expire\" or \"transition\", not \"delete\""),
            (r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1, "tagPrefix": ["a"]}"#, EXPIRE,
             "rules[0].selection.tagPrefix: rulePriority 7: unknown field 'tagPrefix'; did you mean 'tagPrefixList'?"),
        ];
        for (selection, action, expected) in cases {
            let found = problem(selection, action);
            assert!(
                found.contains(expected),
                "expected {expected:?}\n   found {found:?}"
            );
        }
    }

    #[test]
    fn rules_are_checked_against_each_other() {
        let untagged =
            r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}"#;
        let prod = r#"{"tagStatus": "tagged", "tagPatternList": ["prod*", "x"], "countType": "imageCountMoreThan", "countNumber": 1}"#;
        let prod_again = r#"{"tagStatus": "tagged", "tagPatternList": ["x", "prod*"], "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 9}"#;
        let cases = [
            (vec![rule("1", ANY_COUNT, EXPIRE), rule("2", untagged, EXPIRE)],
             "rules[0].selection.tagStatus: rulePriority 1: a rule with tagStatus \"any\" must have the highest rulePriority of the rules selecting standard images, and rulePriority 2 is higher"),
            (vec![rule("1", untagged, EXPIRE), rule("1", prod, EXPIRE)],
             "rules[1].rulePriority: rulePriority 1: rules[0] has rulePriority 1 too; each rule needs a unique rulePriority"),
            (vec![rule("1", untagged, EXPIRE), rule("2", untagged, EXPIRE)],
             "rules[1].selection.tagStatus: rulePriority 2: only one rule may select untagged standard images, and rulePriority 1 already does"),
            (vec![rule("1", prod, EXPIRE), rule("2", prod_again, EXPIRE)],
             "rules[1].selection.tagPatternList: rulePriority 2: rulePriority 1 selects the same tags"),
        ];
        for (rules, expected) in cases {
            let found = problems(&policy(&rules));
            assert_eq!(found.len(), 1, "{found:#?}");
            assert!(
                found[0].contains(expected),
                "expected {expected:?}\n   found {:?}",
                found[0]
            );
        }
    }

    #[test]
    fn the_document_shape_is_checked() {
        let cases = [
            (
                "[]",
                "a lifecycle policy is a JSON object with a list of rules, not a list",
            ),
            ("{}", "rules: rules is missing"),
            (
                r#"{"rules": []}"#,
                "rules: rules must be a list of at least one rule",
            ),
            (
                r#"{"rule": []}"#,
                "rule: unknown field 'rule'; did you mean 'rules'?",
            ),
            (
                r#"{"rules": [{"rulePriority": 0, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]}"#,
                "rules[0].rulePriority: rulePriority must be a positive integer",
            ),
            (
                r#"{"rules": [{"selection": {}, "action": {}}]}"#,
                "rules[0].rulePriority: rulePriority is missing",
            ),
            (
                r#"{"rules": [{"rulePriority": 3, "description": 5, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]}"#,
                "rules[0].description: rulePriority 3: description must be a string",
            ),
        ];
        for (text, expected) in cases {
            let found = problems(text);
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "expected {expected:?}\n   found {found:#?}"
            );
        }
    }

    #[test]
    fn problems_point_at_their_values() {
        let text = "{\n  \"rules\": [\n    {\n      \"rulePriority\": 2,\n      \"selection\": {\n        \"tagStatus\": \"any\",\n        \"countType\": \"imageCountMoreThan\",\n        \"countNumber\": -1\n      },\n      \"action\": {\"type\": \"expire\"}\n    }\n  ]\n}";
        let problems = parse_lifecycle_policy(text).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].position,
            Position {
                line: 8,
                column: 24
            }
        );
        let broken = parse_lifecycle_policy("{\n  \"rules\": [\n    {\"rulePriority\" 1}\n  ]\n}")
            .unwrap_err();
        assert_eq!(broken[0].position.line, 3);
        assert!(broken[0].message.starts_with("not valid JSON at line 3"));
    }
}
