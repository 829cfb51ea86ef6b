//! Which images a lifecycle policy expires or archives, and by which rule —
//! AWS's "Lifecycle policy evaluation rules", followed literally:
//!
//! - All rules are evaluated at the same time; each finds the images its
//!   selection matches and, among them, the ones its count criterion marks.
//! - Rules are then applied in priority order (lowest number first), and an
//!   image is acted on by at most one rule: the first rule, in priority order,
//!   whose selection matches it (tag status, tags and storage class). A
//!   lower-priority rule still counts that image ("identifies them as if they
//!   haven't been expired") but never acts on it, even when the rule that
//!   matched it leaves it alone.
//! - `imageCountMoreThan` keeps the N most recently pushed matching images;
//!   `sinceImagePushed` takes images pushed more than N days ago;
//!   `sinceImagePulled` images last pulled more than N days ago (never pulled:
//!   counted from the push); `sinceImageTransitioned` archived images archived
//!   more than N days ago. An image restored from the archive counts from its
//!   restore (`last_activated_at`) instead of its push.
//! - An image a manifest list in the repository refers to is never acted on
//!   (AWS: it "cannot be expired or archived without the manifest list being
//!   deleted or archived first"); it is acted on in a later run, once the list is gone.

use super::{
    CountType, LifecyclePolicy, RuleAction, Selection, StorageClass, TagFilter, TagStatus,
};
use crate::ecr::{
    ImageDetail, LifecyclePolicyPreviewResult, LifecyclePolicyPreviewSummary,
    LifecyclePolicyRuleAction, TransitioningImageTotalCount, IMAGE_STATUS_ARCHIVED,
};
use crate::glob::star_match;

const DAY: f64 = 86_400.0;

/// An image as the evaluator sees it. Times are epoch seconds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Image {
    pub digest: String,
    pub tags: Vec<String>,
    pub pushed_at: f64,
    pub last_pulled_at: Option<f64>,
    pub size: u64,
    pub storage_class: StorageClass,
    /// When it last moved to the archive.
    pub last_archived_at: Option<f64>,
    /// When it was last restored from the archive.
    pub last_activated_at: Option<f64>,
    /// Whether a manifest list (index) in the repository refers to it.
    pub referenced_by_manifest_list: bool,
}

/// One image the policy acts on: `image` indexes the slice given to [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub image: usize,
    pub rule_priority: u32,
    pub action: RuleAction,
}

impl TagFilter {
    /// Every entry must match at least one of the image's tags.
    pub fn matches(&self, tags: &[String]) -> bool {
        match self {
            TagFilter::Prefixes(prefixes) => prefixes
                .iter()
                .all(|p| tags.iter().any(|t| t.starts_with(p.as_str()))),
            TagFilter::Patterns(patterns) => patterns
                .iter()
                .all(|p| tags.iter().any(|t| star_match(p, t))),
        }
    }
}

impl Selection {
    /// Whether the rule's tagging requirements and storage class match the image
    /// (its count criterion aside).
    pub fn matches(&self, image: &Image) -> bool {
        if image.storage_class != self.storage_class() {
            return false;
        }
        match self.tag_status {
            TagStatus::Any => true,
            TagStatus::Untagged => image.tags.is_empty(),
            TagStatus::Tagged => {
                !image.tags.is_empty()
                    && self
                        .tag_filter
                        .as_ref()
                        .is_some_and(|filter| filter.matches(&image.tags))
            }
        }
    }
}

impl Image {
    /// An image as DescribeImages reports it (what the console previews with);
    /// `referenced_by_manifest_list` when an index in the repository refers to it,
    /// which DescribeImages does not say.
    pub fn from_detail(detail: &ImageDetail, referenced_by_manifest_list: bool) -> Image {
        Image {
            digest: detail.image_digest.clone(),
            tags: detail.image_tags.clone(),
            pushed_at: detail.image_pushed_at,
            last_pulled_at: detail.last_recorded_pull_time,
            size: detail.image_size_in_bytes,
            storage_class: if detail.image_status.as_deref() == Some(IMAGE_STATUS_ARCHIVED) {
                StorageClass::Archive
            } else {
                StorageClass::Standard
            },
            last_archived_at: detail.last_archived_at,
            last_activated_at: detail.last_activated_at,
            referenced_by_manifest_list,
        }
    }

    /// The time expiration is ordered by: the push, or the last restore from the archive.
    fn active_since(&self) -> f64 {
        self.last_activated_at.unwrap_or(self.pushed_at)
    }

    /// The time `sinceImagePulled` counts from.
    fn last_used(&self) -> f64 {
        [self.last_pulled_at, self.last_activated_at]
            .into_iter()
            .flatten()
            .fold(self.pushed_at, f64::max)
    }
}

/// The images of `selected` (indexes into `images`) the count criterion marks.
fn marked(
    selection: &Selection,
    images: &[Image],
    mut selected: Vec<usize>,
    now: f64,
) -> Vec<usize> {
    let days = f64::from(selection.count_number) * DAY;
    let older = |time: f64| now - time > days;
    match selection.count_type {
        CountType::ImageCountMoreThan => {
            // Youngest first; the digest settles equal times the same way on every run.
            selected.sort_by(|&a, &b| {
                let (a, b) = (&images[a], &images[b]);
                b.active_since()
                    .total_cmp(&a.active_since())
                    .then_with(|| b.digest.cmp(&a.digest))
            });
            selected.split_off((selection.count_number as usize).min(selected.len()))
        }
        CountType::SinceImagePushed => {
            selected.retain(|&i| older(images[i].active_since()));
            selected
        }
        CountType::SinceImagePulled => {
            selected.retain(|&i| older(images[i].last_used()));
            selected
        }
        CountType::SinceImageTransitioned => {
            selected.retain(|&i| images[i].last_archived_at.is_some_and(older));
            selected
        }
    }
}

/// Evaluates `policy` over a repository's `images` at `now` (epoch seconds):
/// the images it acts on, each with the rule that does, oldest image first.
pub fn evaluate(policy: &LifecyclePolicy, images: &[Image], now: f64) -> Vec<Outcome> {
    let mut rules: Vec<&super::Rule> = policy.rules.iter().collect();
    rules.sort_by_key(|r| r.rule_priority);
    // The first rule (in priority order) whose selection matches an image is the
    // only one that may act on it.
    let owner: Vec<Option<usize>> = images
        .iter()
        .map(|image| rules.iter().position(|r| r.selection.matches(image)))
        .collect();
    let mut outcomes = Vec::new();
    for (k, rule) in rules.iter().enumerate() {
        let selected: Vec<usize> = (0..images.len())
            .filter(|&i| rule.selection.matches(&images[i]))
            .collect();
        for i in marked(&rule.selection, images, selected, now) {
            if owner[i] == Some(k) && !images[i].referenced_by_manifest_list {
                outcomes.push(Outcome {
                    image: i,
                    rule_priority: rule.rule_priority,
                    action: rule.action,
                });
            }
        }
    }
    outcomes.sort_by(|a, b| {
        images[a.image]
            .pushed_at
            .total_cmp(&images[b.image].pushed_at)
            .then(a.image.cmp(&b.image))
    });
    outcomes
}

/// An outcome as GetLifecyclePolicyPreview reports it.
pub fn preview_result(image: &Image, outcome: &Outcome) -> LifecyclePolicyPreviewResult {
    LifecyclePolicyPreviewResult {
        image_tags: image.tags.clone(),
        image_digest: Some(image.digest.clone()),
        image_pushed_at: Some(image.pushed_at),
        action: Some(LifecyclePolicyRuleAction {
            action_type: Some(outcome.action.wire().to_string()),
            target_storage_class: (outcome.action == RuleAction::Transition)
                .then(|| crate::ecr::STORAGE_CLASS_ARCHIVE.to_string()),
        }),
        applied_rule_priority: Some(outcome.rule_priority),
        storage_class: Some(image.storage_class.wire().to_string()),
    }
}

/// GetLifecyclePolicyPreview's summary of a whole evaluation (not of one page).
pub fn preview_summary(outcomes: &[Outcome]) -> LifecyclePolicyPreviewSummary {
    let count = |action| outcomes.iter().filter(|o| o.action == action).count() as u64;
    let transitioning = count(RuleAction::Transition);
    LifecyclePolicyPreviewSummary {
        expiring_image_total_count: Some(count(RuleAction::Expire)),
        transitioning_image_total_counts: if transitioning == 0 {
            Vec::new()
        } else {
            vec![TransitioningImageTotalCount {
                target_storage_class: Some(crate::ecr::STORAGE_CLASS_ARCHIVE.to_string()),
                image_total_count: Some(transitioning),
            }]
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_images_details_become_what_the_evaluator_reads() {
        let detail = ImageDetail {
            image_digest: "sha256:aa".into(),
            image_tags: vec!["v1".into()],
            image_size_in_bytes: 42,
            image_pushed_at: 100.0,
            last_recorded_pull_time: Some(200.0),
            ..Default::default()
        };
        let image = Image::from_detail(&detail, true);
        assert_eq!(
            image,
            Image {
                digest: "sha256:aa".into(),
                tags: vec!["v1".into()],
                pushed_at: 100.0,
                last_pulled_at: Some(200.0),
                size: 42,
                referenced_by_manifest_list: true,
                ..Default::default()
            }
        );
        let archived = ImageDetail {
            image_status: Some(IMAGE_STATUS_ARCHIVED.into()),
            last_archived_at: Some(300.0),
            ..detail
        };
        let image = Image::from_detail(&archived, false);
        assert_eq!(image.storage_class, StorageClass::Archive);
        assert_eq!(image.last_archived_at, Some(300.0));
    }
}
