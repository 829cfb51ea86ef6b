//! Lifecycle policies (PutLifecyclePolicy): the grammar exactly as AWS documents
//! it in "Lifecycle policy properties", validated with problems that name the
//! rule (by `rulePriority`) and the field, and evaluated over a repository's
//! images the way ECR's evaluator does ("Lifecycle policy evaluation rules").
//!
//! The registry acts and answers StartLifecyclePolicyPreview with [`evaluate`];
//! the console previews in the browser with the same function.

pub mod describe;
pub mod eval;
pub mod parse;

#[cfg(test)]
mod examples;

pub use describe::{describe_count, describe_images};
pub use eval::{evaluate, preview_result, preview_summary, Image, Outcome};
pub use parse::parse_lifecycle_policy;

use crate::json::Position;

pub const TAG_STATUS_TAGGED: &str = "tagged";
pub const TAG_STATUS_UNTAGGED: &str = "untagged";
pub const TAG_STATUS_ANY: &str = "any";
pub const COUNT_TYPE_IMAGE_COUNT_MORE_THAN: &str = "imageCountMoreThan";
pub const COUNT_TYPE_SINCE_IMAGE_PUSHED: &str = "sinceImagePushed";
pub const COUNT_TYPE_SINCE_IMAGE_PULLED: &str = "sinceImagePulled";
pub const COUNT_TYPE_SINCE_IMAGE_TRANSITIONED: &str = "sinceImageTransitioned";
pub const COUNT_UNIT_DAYS: &str = "days";
pub const STORAGE_CLASS_STANDARD: &str = "standard";
pub const STORAGE_CLASS_ARCHIVE: &str = "archive";
pub const ACTION_EXPIRE: &str = "expire";
pub const ACTION_TRANSITION: &str = "transition";

/// At most this many `*` in one `tagPatternList` entry (AWS's limit).
pub const MAX_PATTERN_WILDCARDS: usize = 4;
/// Archived images stay at least this long: no rule may expire them sooner.
pub const ARCHIVE_MINIMUM_DAYS: u32 = 90;
/// `rulePriority` and `countNumber` are Java integers on AWS's side.
pub const MAX_NUMBER: i64 = i32::MAX as i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StorageClass {
    #[default]
    Standard,
    Archive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CountType {
    /// Keep the `countNumber` most recent images; the rest go.
    ImageCountMoreThan,
    /// Images pushed more than `countNumber` days ago.
    SinceImagePushed,
    /// Images not pulled for `countNumber` days (never pulled: since their push).
    SinceImagePulled,
    /// Archived images archived more than `countNumber` days ago.
    SinceImageTransitioned,
}

/// What a rule does to the images it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// Delete the image.
    Expire,
    /// Move it to the archive storage class (`targetStorageClass` is always `archive`).
    Transition,
}

/// `tagPrefixList` or `tagPatternList`: an image matches when every entry matches
/// at least one of its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    Prefixes(Vec<String>),
    /// `*` wildcards, at most [`MAX_PATTERN_WILDCARDS`] per entry.
    Patterns(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub tag_status: TagStatus,
    /// Present exactly when `tag_status` is `Tagged`.
    pub tag_filter: Option<TagFilter>,
    /// As written: `None` means `standard`.
    pub storage_class: Option<StorageClass>,
    pub count_type: CountType,
    /// Days for the `since…` types (the only unit is days), images for
    /// `imageCountMoreThan`.
    pub count_number: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub rule_priority: u32,
    pub description: Option<String>,
    pub selection: Selection,
    pub action: RuleAction,
    /// Where the rule's object starts, for pinning it in an editor.
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecyclePolicy {
    /// In document order; evaluation applies them by `rule_priority`.
    pub rules: Vec<Rule>,
}

impl TagStatus {
    pub const ALL: [TagStatus; 3] = [TagStatus::Tagged, TagStatus::Untagged, TagStatus::Any];

    pub fn as_str(self) -> &'static str {
        match self {
            TagStatus::Tagged => TAG_STATUS_TAGGED,
            TagStatus::Untagged => TAG_STATUS_UNTAGGED,
            TagStatus::Any => TAG_STATUS_ANY,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl StorageClass {
    pub const ALL: [StorageClass; 2] = [StorageClass::Standard, StorageClass::Archive];

    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::Standard => STORAGE_CLASS_STANDARD,
            StorageClass::Archive => STORAGE_CLASS_ARCHIVE,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The wire form in API responses (`STANDARD`, `ARCHIVE`).
    pub fn wire(self) -> &'static str {
        match self {
            StorageClass::Standard => crate::ecr::STORAGE_CLASS_STANDARD,
            StorageClass::Archive => crate::ecr::STORAGE_CLASS_ARCHIVE,
        }
    }
}

impl CountType {
    pub const ALL: [CountType; 4] = [
        CountType::ImageCountMoreThan,
        CountType::SinceImagePushed,
        CountType::SinceImagePulled,
        CountType::SinceImageTransitioned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CountType::ImageCountMoreThan => COUNT_TYPE_IMAGE_COUNT_MORE_THAN,
            CountType::SinceImagePushed => COUNT_TYPE_SINCE_IMAGE_PUSHED,
            CountType::SinceImagePulled => COUNT_TYPE_SINCE_IMAGE_PULLED,
            CountType::SinceImageTransitioned => COUNT_TYPE_SINCE_IMAGE_TRANSITIONED,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether `countNumber` is a number of days (and `countUnit` is required).
    pub fn counts_days(self) -> bool {
        self != CountType::ImageCountMoreThan
    }
}

impl RuleAction {
    pub const ALL: [RuleAction; 2] = [RuleAction::Expire, RuleAction::Transition];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Expire => ACTION_EXPIRE,
            RuleAction::Transition => ACTION_TRANSITION,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The wire form in preview results (`EXPIRE`, `TRANSITION`).
    pub fn wire(self) -> &'static str {
        match self {
            RuleAction::Expire => crate::ecr::IMAGE_ACTION_EXPIRE,
            RuleAction::Transition => crate::ecr::IMAGE_ACTION_TRANSITION,
        }
    }
}

impl Selection {
    /// The storage class the rule selects (`standard` unless it says otherwise).
    pub fn storage_class(&self) -> StorageClass {
        self.storage_class.unwrap_or_default()
    }
}

impl LifecyclePolicy {
    /// The policy as JSON, pretty-printed, fields in the order AWS's documentation
    /// writes them; what the console's form shows in its JSON view.
    pub fn to_json(&self) -> String {
        use serde_json::{Map, Value};
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|rule| {
                let s = &rule.selection;
                let mut selection = Map::new();
                selection.insert("tagStatus".into(), s.tag_status.as_str().into());
                match &s.tag_filter {
                    Some(TagFilter::Patterns(p)) => {
                        selection.insert("tagPatternList".into(), p.clone().into());
                    }
                    Some(TagFilter::Prefixes(p)) => {
                        selection.insert("tagPrefixList".into(), p.clone().into());
                    }
                    None => {}
                }
                if let Some(class) = s.storage_class {
                    selection.insert("storageClass".into(), class.as_str().into());
                }
                selection.insert("countType".into(), s.count_type.as_str().into());
                if s.count_type.counts_days() {
                    selection.insert("countUnit".into(), COUNT_UNIT_DAYS.into());
                }
                selection.insert("countNumber".into(), s.count_number.into());
                let mut action = Map::new();
                action.insert("type".into(), rule.action.as_str().into());
                if rule.action == RuleAction::Transition {
                    action.insert("targetStorageClass".into(), STORAGE_CLASS_ARCHIVE.into());
                }
                let mut object = Map::new();
                object.insert("rulePriority".into(), rule.rule_priority.into());
                if let Some(description) = &rule.description {
                    object.insert("description".into(), description.clone().into());
                }
                object.insert("selection".into(), Value::Object(selection));
                object.insert("action".into(), Value::Object(action));
                Value::Object(object)
            })
            .collect();
        let mut document = Map::new();
        document.insert("rules".into(), Value::Array(rules));
        serde_json::to_string_pretty(&document).unwrap_or_default()
    }
}
