//! A lifecycle rule in plain words, for the console's list of rules and its preview.

use super::{CountType, RuleAction, Selection, StorageClass, TagFilter, TagStatus};

fn listed(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("“{i}”")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Which images a rule selects: "Tagged images with tags starting with “v”",
/// "Untagged images", "Any image" (archived ones said so).
pub fn describe_images(selection: &Selection) -> String {
    let archived = if selection.storage_class() == StorageClass::Archive {
        "archived "
    } else {
        ""
    };
    match selection.tag_status {
        TagStatus::Any => format!("Any {archived}image"),
        TagStatus::Untagged => format!("Untagged {archived}images"),
        TagStatus::Tagged => {
            let which = match &selection.tag_filter {
                Some(TagFilter::Prefixes(p)) if p.len() == 1 => {
                    format!(" with a tag starting with {}", listed(p))
                }
                Some(TagFilter::Prefixes(p)) => {
                    format!(" with tags starting with each of {}", listed(p))
                }
                Some(TagFilter::Patterns(p)) if p.len() == 1 => {
                    format!(" with a tag matching {}", listed(p))
                }
                Some(TagFilter::Patterns(p)) => {
                    format!(" with tags matching each of {}", listed(p))
                }
                None => String::new(),
            };
            format!("Tagged {archived}images{which}")
        }
    }
}

/// Which of those images the rule acts on: "all but the 2 most recently pushed".
pub fn describe_count(selection: &Selection) -> String {
    let n = selection.count_number;
    match selection.count_type {
        CountType::ImageCountMoreThan if n == 1 => "all but the most recently pushed".into(),
        CountType::ImageCountMoreThan => format!("all but the {n} most recently pushed"),
        CountType::SinceImagePushed => {
            format!("pushed more than {} ago", plural(n, "day", "days"))
        }
        CountType::SinceImagePulled => format!(
            "not pulled for more than {} (never pulled: since pushed)",
            plural(n, "day", "days")
        ),
        CountType::SinceImageTransitioned => {
            format!("archived more than {} ago", plural(n, "day", "days"))
        }
    }
}

impl RuleAction {
    /// "Expire", "Archive".
    pub fn label(self) -> &'static str {
        match self {
            RuleAction::Expire => "Expire",
            RuleAction::Transition => "Archive",
        }
    }
}

impl CountType {
    /// The form's words for a count type.
    pub fn label(self) -> &'static str {
        match self {
            CountType::ImageCountMoreThan => "Image count more than",
            CountType::SinceImagePushed => "Since image pushed",
            CountType::SinceImagePulled => "Since image last pulled",
            CountType::SinceImageTransitioned => "Since image archived",
        }
    }
}

impl TagStatus {
    /// The form's words for a tag status.
    pub fn label(self) -> &'static str {
        match self {
            TagStatus::Tagged => "Tagged",
            TagStatus::Untagged => "Untagged",
            TagStatus::Any => "Any",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_lifecycle_policy;
    use super::*;

    fn selection(selection: &str) -> Selection {
        let action = if selection.contains("sinceImagePulled") {
            r#"{"type":"transition","targetStorageClass":"archive"}"#
        } else {
            r#"{"type":"expire"}"#
        };
        let text = format!(
            r#"{{"rules":[{{"rulePriority":1,"selection":{selection},"action":{action}}}]}}"#
        );
        parse_lifecycle_policy(&text)
            .unwrap_or_else(|p| panic!("{p:?}"))
            .rules
            .remove(0)
            .selection
    }

    #[test]
    fn rules_read_as_sentences() {
        let keep_two = selection(
            r#"{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2}"#,
        );
        assert_eq!(
            describe_images(&keep_two),
            "Tagged images with a tag starting with “v”"
        );
        assert_eq!(
            describe_count(&keep_two),
            "all but the 2 most recently pushed"
        );
        let patterns = selection(
            r#"{"tagStatus":"tagged","tagPatternList":["prod*","*-web"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1}"#,
        );
        assert_eq!(
            describe_images(&patterns),
            "Tagged images with tags matching each of “prod*” and “*-web”"
        );
        assert_eq!(describe_count(&patterns), "pushed more than 1 day ago");
        let untagged = selection(
            r#"{"tagStatus":"untagged","countType":"sinceImagePulled","countUnit":"days","countNumber":14}"#,
        );
        assert_eq!(describe_images(&untagged), "Untagged images");
        assert_eq!(
            describe_count(&untagged),
            "not pulled for more than 14 days (never pulled: since pushed)"
        );
        let any =
            selection(r#"{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}"#);
        assert_eq!(describe_images(&any), "Any image");
        assert_eq!(describe_count(&any), "all but the most recently pushed");
    }
}
