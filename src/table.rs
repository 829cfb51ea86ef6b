//! Pure table logic — filtering, sorting, paging state — kept apart from the
//! views so it can be tested on its own.

use berth_model::ecr::{ImageDetail, Repository};

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

/// Images with a tag containing `filter` (untagged ones only when the filter is empty), sorted.
pub fn images_view(
    list: &[ImageDetail],
    filter: &str,
    column: ImageColumn,
    direction: Direction,
) -> Vec<ImageDetail> {
    let needle = filter.trim().to_lowercase();
    let mut out: Vec<ImageDetail> = list
        .iter()
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

/// Server paging with `nextToken`: the tokens of the pages seen, so Previous works.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pager {
    /// `tokens[i]` fetches page `i` (page 0 has none).
    tokens: Vec<Option<String>>,
    page: usize,
    /// The token of the page after the current one, if any.
    next: Option<String>,
}

impl Pager {
    pub fn new() -> Pager {
        Pager {
            tokens: vec![None],
            page: 0,
            next: None,
        }
    }

    /// The token to fetch the current page with.
    pub fn current_token(&self) -> Option<String> {
        self.tokens.get(self.page).cloned().flatten()
    }

    pub fn page_number(&self) -> usize {
        self.page + 1
    }

    /// Records what the current page's answer said about the next one.
    pub fn loaded(&mut self, next: Option<String>) {
        self.next = next;
    }

    pub fn has_next(&self) -> bool {
        self.next.is_some()
    }

    pub fn has_previous(&self) -> bool {
        self.page > 0
    }

    pub fn go_next(&mut self) {
        if let Some(token) = self.next.take() {
            self.tokens.truncate(self.page + 1);
            self.tokens.push(Some(token));
            self.page += 1;
        }
    }

    pub fn go_previous(&mut self) {
        if self.page > 0 {
            self.page -= 1;
            self.next = None;
        }
    }
}
