//! Tag mutability, with the exclusion filters ECR added in July 2025: in an
//! `IMMUTABLE_WITH_EXCLUSION` repository every tag is immutable except those a
//! filter matches (`latest` stays movable); in `MUTABLE_WITH_EXCLUSION` every tag
//! is mutable except those a filter matches (release tags stay put).
//!
//! One decision for the registry (refusing a push that would move a tag) and the
//! console (saying which tags are protected).

use crate::ecr::{
    ImageTagMutabilityExclusionFilter, FILTER_TYPE_WILDCARD, TAG_IMMUTABLE,
    TAG_IMMUTABLE_WITH_EXCLUSION, TAG_MUTABLE, TAG_MUTABLE_WITH_EXCLUSION,
};
use crate::glob::star_match;

/// botocore: 1 to 5 filters.
pub const MAX_EXCLUSION_FILTERS: usize = 5;
/// botocore: a filter is 1 to 128 characters of `[0-9a-zA-Z._*-]`.
pub const MAX_FILTER_LENGTH: usize = 128;
pub const FILTER_PATTERN: &str = "^[0-9a-zA-Z._*-]{1,128}$";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagMutability {
    Mutable,
    Immutable,
    ImmutableWithExclusion,
    MutableWithExclusion,
}

impl TagMutability {
    /// In the order botocore's enum lists them.
    pub const ALL: [TagMutability; 4] = [
        TagMutability::Mutable,
        TagMutability::Immutable,
        TagMutability::ImmutableWithExclusion,
        TagMutability::MutableWithExclusion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TagMutability::Mutable => TAG_MUTABLE,
            TagMutability::Immutable => TAG_IMMUTABLE,
            TagMutability::ImmutableWithExclusion => TAG_IMMUTABLE_WITH_EXCLUSION,
            TagMutability::MutableWithExclusion => TAG_MUTABLE_WITH_EXCLUSION,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// Whether this setting takes exclusion filters (and needs at least one).
    pub fn has_exclusions(self) -> bool {
        matches!(
            self,
            TagMutability::ImmutableWithExclusion | TagMutability::MutableWithExclusion
        )
    }

    /// Whether tags not matched by any filter are immutable.
    fn immutable_by_default(self) -> bool {
        matches!(
            self,
            TagMutability::Immutable | TagMutability::ImmutableWithExclusion
        )
    }
}

/// Whether `filter` (a WILDCARD exclusion filter) matches `tag`: `*` matches any
/// run of characters, everything else itself, and the whole tag must match.
pub fn filter_matches(filter: &ImageTagMutabilityExclusionFilter, tag: &str) -> bool {
    filter.filter_type == FILTER_TYPE_WILDCARD && star_match(&filter.filter, tag)
}

/// Whether `tag` may not be moved to another image. Filters apply only to the
/// `_WITH_EXCLUSION` settings, where a matching tag gets the opposite behaviour.
pub fn is_tag_immutable(
    mutability: TagMutability,
    filters: &[ImageTagMutabilityExclusionFilter],
    tag: &str,
) -> bool {
    let excluded = mutability.has_exclusions() && filters.iter().any(|f| filter_matches(f, tag));
    mutability.immutable_by_default() != excluded
}

/// [`is_tag_immutable`] for a setting as stored; an unknown setting protects the
/// tag (refusing a move loses nothing).
pub fn is_tag_immutable_str(
    mutability: &str,
    filters: &[ImageTagMutabilityExclusionFilter],
    tag: &str,
) -> bool {
    TagMutability::parse(mutability).is_none_or(|m| is_tag_immutable(m, filters, tag))
}

/// A setting that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMutabilitySetting {
    pub mutability: TagMutability,
    /// Empty unless `mutability` has exclusions.
    pub filters: Vec<ImageTagMutabilityExclusionFilter>,
}

fn enum_message(field: &str, value: &str, values: &[&str]) -> String {
    format!(
        "Invalid parameter at '{field}' failed to satisfy constraint: 'Member must satisfy enum \
         value set: [{}]' ('{value}' is not one of them)",
        values.join(", ")
    )
}

/// Validates `imageTagMutability` and `imageTagMutabilityExclusionFilters` as
/// CreateRepository and PutImageTagMutability receive them, with AWS's
/// constraints: the enum, 1 to 5 filters exactly when the setting has
/// exclusions, `filterType` WILDCARD, `filter` matching [`FILTER_PATTERN`].
/// The error is an InvalidParameterException message naming the field.
pub fn check(
    mutability: &str,
    filters: Option<&[ImageTagMutabilityExclusionFilter]>,
) -> Result<TagMutabilitySetting, String> {
    let setting = TagMutability::parse(mutability).ok_or_else(|| {
        enum_message(
            "imageTagMutability",
            mutability,
            &TagMutability::ALL.map(TagMutability::as_str),
        )
    })?;
    let filters = filters.unwrap_or_default();
    if !setting.has_exclusions() {
        if !filters.is_empty() {
            return Err(format!(
                "Invalid parameter at 'imageTagMutabilityExclusionFilters': exclusion filters \
                 apply only to imageTagMutability {TAG_IMMUTABLE_WITH_EXCLUSION} or \
                 {TAG_MUTABLE_WITH_EXCLUSION}, not {mutability}"
            ));
        }
        return Ok(TagMutabilitySetting {
            mutability: setting,
            filters: Vec::new(),
        });
    }
    if filters.is_empty() || filters.len() > MAX_EXCLUSION_FILTERS {
        return Err(format!(
            "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy \
             constraint: 'Member must have length between 1 and {MAX_EXCLUSION_FILTERS}' \
             (imageTagMutability {mutability} needs 1 to {MAX_EXCLUSION_FILTERS} filters; {} given)",
            filters.len()
        ));
    }
    for (i, filter) in filters.iter().enumerate() {
        let field = format!("imageTagMutabilityExclusionFilters.{}.member", i + 1);
        if filter.filter_type != FILTER_TYPE_WILDCARD {
            return Err(enum_message(
                &format!("{field}.filterType"),
                &filter.filter_type,
                &[FILTER_TYPE_WILDCARD],
            ));
        }
        let valid = (1..=MAX_FILTER_LENGTH).contains(&filter.filter.chars().count())
            && filter
                .filter
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._*-".contains(c));
        if !valid {
            return Err(format!(
                "Invalid parameter at '{field}.filter' failed to satisfy constraint: 'Member must \
                 satisfy regular expression pattern: {FILTER_PATTERN}' ('{}')",
                filter.filter
            ));
        }
    }
    Ok(TagMutabilitySetting {
        mutability: setting,
        filters: filters.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wildcard(filter: &str) -> ImageTagMutabilityExclusionFilter {
        ImageTagMutabilityExclusionFilter {
            filter_type: FILTER_TYPE_WILDCARD.into(),
            filter: filter.into(),
        }
    }

    #[test]
    fn exclusions_flip_the_default() {
        let filters = [wildcard("latest"), wildcard("dev-*")];
        use TagMutability::*;
        assert!(is_tag_immutable(Immutable, &filters, "latest"));
        assert!(!is_tag_immutable(Mutable, &filters, "v1"));
        assert!(!is_tag_immutable(
            ImmutableWithExclusion,
            &filters,
            "latest"
        ));
        assert!(!is_tag_immutable(
            ImmutableWithExclusion,
            &filters,
            "dev-42"
        ));
        assert!(is_tag_immutable(ImmutableWithExclusion, &filters, "v1.0.0"));
        assert!(is_tag_immutable(
            ImmutableWithExclusion,
            &filters,
            "latest-1"
        ));
        assert!(is_tag_immutable(MutableWithExclusion, &filters, "dev-1"));
        assert!(!is_tag_immutable(MutableWithExclusion, &filters, "v1"));
        assert!(is_tag_immutable_str(
            "IMMUTABLE_WITH_EXCLUSION",
            &filters,
            "v1"
        ));
        assert!(is_tag_immutable_str("SOMETHING_NEW", &filters, "v1"));
        assert!(!is_tag_immutable_str(TAG_MUTABLE, &[], "v1"));
    }

    #[test]
    fn settings_are_checked_as_aws_does() {
        let ok = check("IMMUTABLE_WITH_EXCLUSION", Some(&[wildcard("latest*")])).unwrap();
        assert_eq!(ok.mutability, TagMutability::ImmutableWithExclusion);
        assert_eq!(check("MUTABLE", None).unwrap().filters, vec![]);
        assert_eq!(
            check("IMMUTABLE", Some(&[])).unwrap().mutability,
            TagMutability::Immutable
        );
        let bad = |m: &str, f: &[ImageTagMutabilityExclusionFilter]| check(m, Some(f)).unwrap_err();
        assert!(bad("immutable", &[]).contains(
            "enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]"
        ));
        assert!(bad("MUTABLE", &[wildcard("v*")]).contains("apply only to imageTagMutability"));
        assert!(check("MUTABLE_WITH_EXCLUSION", None)
            .unwrap_err()
            .contains("needs 1 to 5 filters; 0 given"));
        let six: Vec<_> = (0..6).map(|i| wildcard(&format!("t{i}"))).collect();
        assert!(bad("MUTABLE_WITH_EXCLUSION", &six).contains("6 given"));
        let message = bad(
            "MUTABLE_WITH_EXCLUSION",
            &[wildcard("ok"), wildcard("no/slash")],
        );
        assert!(
            message.starts_with(
                "Invalid parameter at 'imageTagMutabilityExclusionFilters.2.member.filter'"
            ),
            "{message}"
        );
        assert!(bad("MUTABLE_WITH_EXCLUSION", &[wildcard(&"a".repeat(129))]).contains("pattern"));
        let regex = ImageTagMutabilityExclusionFilter {
            filter_type: "REGEX".into(),
            filter: "v.*".into(),
        };
        assert!(bad("MUTABLE_WITH_EXCLUSION", &[regex]).contains("filterType"));
    }
}
