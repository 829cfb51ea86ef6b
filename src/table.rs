//! Pure list logic — filtering, sorting, paging, counts, and how the images of a
//! repository group under their multi-platform indexes — kept apart from the views
//! so it can be tested on its own.

use std::collections::BTreeMap;

use berth_model::ecr::{
    ImageDetail, Repository, TAG_IMMUTABLE, TAG_IMMUTABLE_WITH_EXCLUSION,
    TAG_MUTABLE_WITH_EXCLUSION, TAG_STATUS_ANY, TAG_STATUS_TAGGED, TAG_STATUS_UNTAGGED,
};
use berth_model::oci::{ParsedManifest, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

impl Direction {
    pub fn flip(self) -> Direction {
        match self {
            Direction::Ascending => Direction::Descending,
            Direction::Descending => Direction::Ascending,
        }
    }

    pub fn apply(self, ordering: std::cmp::Ordering) -> std::cmp::Ordering {
        match self {
            Direction::Ascending => ordering,
            Direction::Descending => ordering.reverse(),
        }
    }

    pub fn aria(self) -> &'static str {
        match self {
            Direction::Ascending => "ascending",
            Direction::Descending => "descending",
        }
    }

    /// As written in the URL.
    pub fn id(self) -> &'static str {
        match self {
            Direction::Ascending => "asc",
            Direction::Descending => "desc",
        }
    }

    pub fn from_id(id: &str) -> Option<Direction> {
        match id {
            "asc" => Some(Direction::Ascending),
            "desc" => Some(Direction::Descending),
            _ => None,
        }
    }
}

/// A sortable column, named in the URL by `id`.
pub trait Column: Copy + PartialEq + Send + Sync + 'static {
    const ALL: &'static [Self];
    fn id(self) -> &'static str;
    fn from_id(id: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.id() == id)
    }
}

/// Sortable repository columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoryColumn {
    Name,
    CreatedAt,
    TagImmutability,
    ScanOnPush,
    Encryption,
}

impl Column for RepositoryColumn {
    const ALL: &'static [RepositoryColumn] = &[
        RepositoryColumn::Name,
        RepositoryColumn::CreatedAt,
        RepositoryColumn::TagImmutability,
        RepositoryColumn::ScanOnPush,
        RepositoryColumn::Encryption,
    ];

    fn id(self) -> &'static str {
        match self {
            RepositoryColumn::Name => "name",
            RepositoryColumn::CreatedAt => "created",
            RepositoryColumn::TagImmutability => "immutability",
            RepositoryColumn::ScanOnPush => "scan",
            RepositoryColumn::Encryption => "encryption",
        }
    }
}

/// ECR's tag mutability in words.
pub fn mutability_label(image_tag_mutability: &str) -> &'static str {
    match image_tag_mutability {
        TAG_IMMUTABLE => "Immutable",
        TAG_IMMUTABLE_WITH_EXCLUSION => "Immutable, with exclusions",
        TAG_MUTABLE_WITH_EXCLUSION => "Mutable, with exclusions",
        _ => "Mutable",
    }
}

/// Whether tags are immutable (but for any exclusion filters).
pub fn is_immutable(image_tag_mutability: &str) -> bool {
    matches!(
        image_tag_mutability,
        TAG_IMMUTABLE | TAG_IMMUTABLE_WITH_EXCLUSION
    )
}

/// Repositories whose name contains `filter` (case-insensitive), sorted.
pub fn repositories_view(
    list: &[Repository],
    filter: &str,
    column: RepositoryColumn,
    direction: Direction,
) -> Vec<Repository> {
    let needle = filter.trim().to_lowercase();
    let mut out: Vec<Repository> = list
        .iter()
        .filter(|r| needle.is_empty() || r.repository_name.to_lowercase().contains(&needle))
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        let ordering = match column {
            RepositoryColumn::Name => a.repository_name.cmp(&b.repository_name),
            RepositoryColumn::CreatedAt => a.created_at.total_cmp(&b.created_at),
            RepositoryColumn::TagImmutability => {
                a.image_tag_mutability.cmp(&b.image_tag_mutability)
            }
            RepositoryColumn::ScanOnPush => a
                .image_scanning_configuration
                .scan_on_push
                .cmp(&b.image_scanning_configuration.scan_on_push),
            RepositoryColumn::Encryption => a
                .encryption_configuration
                .encryption_type
                .cmp(&b.encryption_configuration.encryption_type),
        };
        // The direction applies to the column; ties always read A to Z.
        direction
            .apply(ordering)
            .then_with(|| a.repository_name.cmp(&b.repository_name))
    });
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageColumn {
    PushedAt,
    Size,
    Tags,
    LastPulled,
}

impl Column for ImageColumn {
    const ALL: &'static [ImageColumn] = &[
        ImageColumn::PushedAt,
        ImageColumn::Size,
        ImageColumn::Tags,
        ImageColumn::LastPulled,
    ];

    fn id(self) -> &'static str {
        match self {
            ImageColumn::PushedAt => "pushed",
            ImageColumn::Size => "size",
            ImageColumn::Tags => "tags",
            ImageColumn::LastPulled => "pulled",
        }
    }
}

/// ECR's `tagStatus` filter, applied in the browser to every image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagStatus {
    Any,
    Tagged,
    Untagged,
}

impl TagStatus {
    pub const ALL: [TagStatus; 3] = [TagStatus::Any, TagStatus::Tagged, TagStatus::Untagged];

    /// ECR's own value, also the URL's.
    pub fn id(self) -> &'static str {
        match self {
            TagStatus::Any => TAG_STATUS_ANY,
            TagStatus::Tagged => TAG_STATUS_TAGGED,
            TagStatus::Untagged => TAG_STATUS_UNTAGGED,
        }
    }

    pub fn from_id(id: &str) -> Option<TagStatus> {
        TagStatus::ALL.into_iter().find(|s| s.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            TagStatus::Any => "All images",
            TagStatus::Tagged => "Tagged",
            TagStatus::Untagged => "Untagged",
        }
    }

    fn admits(self, image: &ImageDetail) -> bool {
        match self {
            TagStatus::Any => true,
            TagStatus::Tagged => !image.image_tags.is_empty(),
            TagStatus::Untagged => image.image_tags.is_empty(),
        }
    }
}

/// "linux/arm64/v8".
pub fn platform_label(platform: Option<&Platform>) -> String {
    match platform {
        Some(p) => match &p.variant {
            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        },
        None => "unknown platform".into(),
    }
}

/// One place an image holds inside a multi-platform index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub index_digest: String,
    pub index_tags: Vec<String>,
    pub platform: String,
}

impl Membership {
    /// "part of v1 · linux/arm64" (an untagged index is named by its digest).
    pub fn label(&self) -> String {
        let index = if self.index_tags.is_empty() {
            crate::format::short_digest(&self.index_digest)
        } else {
            self.index_tags.join(", ")
        };
        format!("part of {index} · {}", self.platform)
    }
}

/// One platform image of an index, for the rows under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformImage {
    pub platform: String,
    pub digest: String,
    pub size: Option<u64>,
}

/// Every image of a repository, and how they group: the platform images of a
/// multi-platform index belong under it, not beside it as "untagged" images a
/// person could delete and so break the index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RepositoryImages {
    pub images: Vec<ImageDetail>,
    /// Child digest → the indexes that hold it.
    memberships: BTreeMap<String, Vec<Membership>>,
    /// Index digest → its platform images, in the index's order.
    platforms: BTreeMap<String, Vec<PlatformImage>>,
}

impl RepositoryImages {
    /// `manifests` pairs each index digest with its parsed manifest.
    pub fn new(images: Vec<ImageDetail>, manifests: &[(String, ParsedManifest)]) -> Self {
        let mut memberships: BTreeMap<String, Vec<Membership>> = BTreeMap::new();
        let mut platforms = BTreeMap::new();
        for (index_digest, manifest) in manifests {
            let index_tags = images
                .iter()
                .find(|i| &i.image_digest == index_digest)
                .map(|i| i.image_tags.clone())
                .unwrap_or_default();
            let mut children = Vec::new();
            for child in manifest.manifest_references() {
                let digest = child.digest.to_string();
                let platform = platform_label(child.platform.as_ref());
                memberships
                    .entry(digest.clone())
                    .or_default()
                    .push(Membership {
                        index_digest: index_digest.clone(),
                        index_tags: index_tags.clone(),
                        platform: platform.clone(),
                    });
                let size = images
                    .iter()
                    .find(|i| i.image_digest == digest)
                    .map(|i| i.image_size_in_bytes);
                children.push(PlatformImage {
                    platform,
                    digest,
                    size,
                });
            }
            platforms.insert(index_digest.clone(), children);
        }
        RepositoryImages {
            images,
            memberships,
            platforms,
        }
    }

    /// The indexes that hold `digest` (empty for a stand-alone image).
    pub fn memberships(&self, digest: &str) -> &[Membership] {
        self.memberships
            .get(digest)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The platform images of index `digest`.
    pub fn platforms(&self, digest: &str) -> &[PlatformImage] {
        self.platforms
            .get(digest)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Whether a person may select `digest` for deletion: not while an index needs it.
    pub fn deletable(&self, digest: &str) -> bool {
        self.memberships(digest).is_empty()
    }

    /// The rows of the list: every image except the untagged platform images of an
    /// index (those show under it), filtered by tag status and tag text, sorted.
    pub fn rows(
        &self,
        filter: &str,
        status: TagStatus,
        column: ImageColumn,
        direction: Direction,
    ) -> Vec<ImageDetail> {
        let needle = filter.trim().to_lowercase();
        let mut out: Vec<ImageDetail> = self
            .images
            .iter()
            .filter(|i| !i.image_tags.is_empty() || self.deletable(&i.image_digest))
            .filter(|i| status.admits(i))
            .filter(|i| {
                needle.is_empty()
                    || i.image_tags
                        .iter()
                        .any(|t| t.to_lowercase().contains(&needle))
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            let ordering = match column {
                ImageColumn::PushedAt => a.image_pushed_at.total_cmp(&b.image_pushed_at),
                ImageColumn::Size => a.image_size_in_bytes.cmp(&b.image_size_in_bytes),
                ImageColumn::Tags => a.image_tags.first().cmp(&b.image_tags.first()),
                ImageColumn::LastPulled => a
                    .last_recorded_pull_time
                    .unwrap_or(0.0)
                    .total_cmp(&b.last_recorded_pull_time.unwrap_or(0.0)),
            };
            direction
                .apply(ordering)
                .then_with(|| a.image_digest.cmp(&b.image_digest))
        });
        out
    }
}

/// The items of page `page` (1-based) of `size`, and the page actually shown
/// (a page past the end shows the last one).
pub fn page_of<T: Clone>(items: &[T], page: usize, size: usize) -> (Vec<T>, usize) {
    let size = size.max(1);
    let pages = items.len().div_ceil(size).max(1);
    let page = page.clamp(1, pages);
    let start = (page - 1) * size;
    (items.iter().skip(start).take(size).cloned().collect(), page)
}

/// How many pages `total` items make at `size` a page.
pub fn page_count(total: usize, size: usize) -> usize {
    total.div_ceil(size.max(1)).max(1)
}

/// 1004 → "1,004".
pub fn group_digits(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What the list shows, e.g. "1–50 of 1,004 repositories", or with a filter
/// "1–1 of 1 repository matching “web” (1,004 in all)".
pub fn count_text(
    page: usize,
    size: usize,
    matching: usize,
    all: usize,
    filter: &str,
    noun: (&str, &str),
) -> String {
    let name = |n: usize| if n == 1 { noun.0 } else { noun.1 };
    let filter = filter.trim();
    let suffix = if filter.is_empty() {
        String::new()
    } else {
        format!(" matching “{filter}” ({} in all)", group_digits(all))
    };
    if matching == 0 {
        return format!("No {}{suffix}", noun.0);
    }
    let first = (page - 1) * size + 1;
    let last = (page * size).min(matching);
    format!(
        "{}–{} of {} {}{suffix}",
        group_digits(first),
        group_digits(last),
        group_digits(matching),
        name(matching)
    )
}
