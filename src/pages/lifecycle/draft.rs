//! The lifecycle tab's logic, apart from its views: the rules a draft holds, a rule
//! as the form holds it, putting a rule into a draft (checked by the model's
//! grammar, so the form refuses exactly what PutLifecyclePolicy would), the
//! preview in the browser, and how it compares with the registry's own.

use std::collections::BTreeSet;

use berth_model::ecr::LifecyclePolicyPreviewResult;
use berth_model::lifecycle::{
    evaluate, parse_lifecycle_policy, CountType, Image, LifecyclePolicy, Rule, RuleAction,
    StorageClass, TagFilter, TagStatus, COUNT_UNIT_DAYS, STORAGE_CLASS_ARCHIVE,
};
use berth_model::problem::Problem;
use serde_json::{json, Map, Value};

use crate::format;
use crate::table::RepositoryImages;

/// The rules of a draft in priority order (none for an empty draft or
/// `{"rules": []}`, where a policy is being started), or the problems that keep
/// the form from reading it.
pub fn rules_of(text: &str) -> Result<Vec<Rule>, Vec<Problem>> {
    let starting = text.trim().is_empty()
        || serde_json::from_str::<Value>(text).ok() == Some(json!({ "rules": [] }));
    if starting {
        return Ok(Vec::new());
    }
    parse_lifecycle_policy(text).map(|policy| {
        let mut rules = policy.rules;
        rules.sort_by_key(|r| r.rule_priority);
        rules
    })
}

/// The draft for `rules`, in priority order, fields in the order AWS writes them.
pub fn text_of(mut rules: Vec<Rule>) -> String {
    rules.sort_by_key(|r| r.rule_priority);
    LifecyclePolicy { rules }.to_json()
}

/// Which images a rule selects, as the form offers it (AWS's console does the same:
/// tag status and the way tags match in one choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageChoice {
    TaggedPrefix,
    TaggedPattern,
    Untagged,
    Any,
}

impl ImageChoice {
    pub const ALL: [ImageChoice; 4] = [
        ImageChoice::TaggedPrefix,
        ImageChoice::TaggedPattern,
        ImageChoice::Untagged,
        ImageChoice::Any,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ImageChoice::TaggedPrefix => "Tagged (prefix matching)",
            ImageChoice::TaggedPattern => "Tagged (wildcard matching)",
            ImageChoice::Untagged => "Untagged",
            ImageChoice::Any => "Any",
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            ImageChoice::TaggedPrefix => "prefix",
            ImageChoice::TaggedPattern => "pattern",
            ImageChoice::Untagged => TagStatus::Untagged.as_str(),
            ImageChoice::Any => TagStatus::Any.as_str(),
        }
    }

    pub fn from_id(id: &str) -> Option<ImageChoice> {
        ImageChoice::ALL.into_iter().find(|c| c.id() == id)
    }

    pub fn tagged(self) -> bool {
        matches!(self, ImageChoice::TaggedPrefix | ImageChoice::TaggedPattern)
    }
}

/// A rule as the form holds it: numbers as typed, so the model's grammar (not the
/// form) says what is wrong with them.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFields {
    pub priority: String,
    pub description: String,
    pub images: ImageChoice,
    /// Prefixes or patterns, separated by commas.
    pub tags: String,
    pub count_type: CountType,
    pub count_number: String,
    pub action: RuleAction,
    /// The form does not offer it; an edited rule keeps its own.
    pub storage_class: Option<StorageClass>,
}

impl RuleFields {
    /// A new rule, after the existing ones in priority.
    pub fn new(rules: &[Rule]) -> RuleFields {
        let next = rules.iter().map(|r| r.rule_priority).max().unwrap_or(0) + 1;
        RuleFields {
            priority: next.to_string(),
            description: String::new(),
            images: ImageChoice::TaggedPrefix,
            tags: String::new(),
            count_type: CountType::ImageCountMoreThan,
            count_number: String::new(),
            action: RuleAction::Expire,
            storage_class: None,
        }
    }

    pub fn of(rule: &Rule) -> RuleFields {
        let s = &rule.selection;
        let (images, tags) = match (&s.tag_status, &s.tag_filter) {
            (TagStatus::Tagged, Some(TagFilter::Patterns(p))) => {
                (ImageChoice::TaggedPattern, p.join(", "))
            }
            (TagStatus::Tagged, Some(TagFilter::Prefixes(p))) => {
                (ImageChoice::TaggedPrefix, p.join(", "))
            }
            (TagStatus::Tagged, None) => (ImageChoice::TaggedPrefix, String::new()),
            (TagStatus::Untagged, _) => (ImageChoice::Untagged, String::new()),
            (TagStatus::Any, _) => (ImageChoice::Any, String::new()),
        };
        RuleFields {
            priority: rule.rule_priority.to_string(),
            description: rule.description.clone().unwrap_or_default(),
            images,
            tags,
            count_type: s.count_type,
            count_number: s.count_number.to_string(),
            action: rule.action,
            storage_class: s.storage_class,
        }
    }

    /// The rule's JSON. A number that does not parse goes in as typed, so the
    /// grammar names the field and what it got.
    fn to_json(&self) -> Value {
        let number = |text: &str| {
            let text = text.trim();
            text.parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| text.into())
        };
        let mut selection = Map::new();
        let status = match self.images {
            ImageChoice::TaggedPrefix | ImageChoice::TaggedPattern => TagStatus::Tagged,
            ImageChoice::Untagged => TagStatus::Untagged,
            ImageChoice::Any => TagStatus::Any,
        };
        selection.insert("tagStatus".into(), status.as_str().into());
        if self.images.tagged() {
            let tags: Vec<Value> = self
                .tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(Value::from)
                .collect();
            let list = if self.images == ImageChoice::TaggedPattern {
                "tagPatternList"
            } else {
                "tagPrefixList"
            };
            selection.insert(list.into(), Value::Array(tags));
        }
        if let Some(class) = self.storage_class {
            selection.insert("storageClass".into(), class.as_str().into());
        }
        selection.insert("countType".into(), self.count_type.as_str().into());
        if self.count_type.counts_days() {
            selection.insert("countUnit".into(), COUNT_UNIT_DAYS.into());
        }
        selection.insert("countNumber".into(), number(&self.count_number));
        let mut action = Map::new();
        action.insert("type".into(), self.action.as_str().into());
        if self.action == RuleAction::Transition {
            action.insert("targetStorageClass".into(), STORAGE_CLASS_ARCHIVE.into());
        }
        let mut rule = Map::new();
        rule.insert("rulePriority".into(), number(&self.priority));
        let description = self.description.trim();
        if !description.is_empty() {
            rule.insert("description".into(), description.into());
        }
        rule.insert("selection".into(), Value::Object(selection));
        rule.insert("action".into(), Value::Object(action));
        Value::Object(rule)
    }
}

/// The draft with the rule `fields` describe in place of `rules[replacing]`, or
/// added: the new draft, or every problem the model finds in the policy that would
/// make (the other rules are valid, so the edit caused them).
pub fn put_rule(
    rules: &[Rule],
    replacing: Option<usize>,
    fields: &RuleFields,
) -> Result<String, Vec<Problem>> {
    let others: Vec<Rule> = rules
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != replacing)
        .map(|(_, r)| r.clone())
        .collect();
    let mut document: Value = serde_json::from_str(&LifecyclePolicy { rules: others }.to_json())
        .unwrap_or_else(|_| json!({ "rules": [] }));
    if let Some(Value::Array(list)) = document.get_mut("rules") {
        list.push(fields.to_json());
    }
    let policy = parse_lifecycle_policy(&document.to_string())?;
    Ok(text_of(policy.rules))
}

/// The draft without `rules[index]`.
pub fn remove_rule(rules: &[Rule], index: usize) -> String {
    let mut rules = rules.to_vec();
    if index < rules.len() {
        rules.remove(index);
    }
    text_of(rules)
}

/// One image a policy acts on, as the preview lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    pub digest: String,
    pub tags: Vec<String>,
    pub pushed_at: f64,
    pub last_pulled_at: Option<f64>,
    pub rule_priority: u32,
    pub action: RuleAction,
}

/// What the browser's preview found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BrowserPreview {
    pub images: usize,
    pub acted: Vec<Acted>,
}

/// The preview computed in the browser: the model's evaluator, the one the
/// registry acts with, over every image of the repository at `now`.
pub fn preview_in_browser(
    policy: &LifecyclePolicy,
    images: &RepositoryImages,
    now: f64,
) -> BrowserPreview {
    let seen: Vec<Image> = images
        .images
        .iter()
        .map(|i| Image::from_detail(i, !images.deletable(&i.image_digest)))
        .collect();
    let acted = evaluate(policy, &seen, now)
        .into_iter()
        .map(|o| {
            let image = &seen[o.image];
            Acted {
                digest: image.digest.clone(),
                tags: image.tags.clone(),
                pushed_at: image.pushed_at,
                last_pulled_at: image.last_pulled_at,
                rule_priority: o.rule_priority,
                action: o.action,
            }
        })
        .collect();
    BrowserPreview {
        images: seen.len(),
        acted,
    }
}

/// `None` when the registry's preview acts on the same images, by the same rules,
/// in the same way as the browser's; otherwise what differs, in words.
pub fn disagreement(
    browser: &BrowserPreview,
    registry: &[LifecyclePolicyPreviewResult],
) -> Option<String> {
    let ours: BTreeSet<(String, u32, String)> = browser
        .acted
        .iter()
        .map(|a| {
            (
                a.digest.clone(),
                a.rule_priority,
                a.action.wire().to_string(),
            )
        })
        .collect();
    let theirs: BTreeSet<(String, u32, String)> = registry
        .iter()
        .map(|r| {
            (
                r.image_digest.clone().unwrap_or_default(),
                r.applied_rule_priority.unwrap_or_default(),
                r.action
                    .as_ref()
                    .and_then(|a| a.action_type.clone())
                    .unwrap_or_default(),
            )
        })
        .collect();
    if ours == theirs {
        return None;
    }
    let words = |set: Vec<&(String, u32, String)>| {
        set.iter()
            .map(|(digest, rule, action)| {
                format!(
                    "{} ({} by rule {rule})",
                    format::short_digest(digest),
                    action.to_lowercase()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let only_registry = words(theirs.difference(&ours).collect());
    let only_browser = words(ours.difference(&theirs).collect());
    let mut parts = Vec::new();
    if !only_registry.is_empty() {
        parts.push(format!("only the registry acts on {only_registry}"));
    }
    if !only_browser.is_empty() {
        parts.push(format!("only the browser acts on {only_browser}"));
    }
    Some(format!(
        "The registry's own preview differs from the browser's: {}. Images may have changed in between (preview again), or the registry evaluates differently from this console.",
        parts.join("; ")
    ))
}
