//! A rule's `selection`: which images it counts, and how.

use super::*;

impl Checker {
    pub(super) fn selection(
        &mut self,
        rule_path: &str,
        rule: &Node,
        who: &str,
    ) -> Option<Selection> {
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
            (_, Some(unit)) if unit.as_str() != Some(super::super::COUNT_UNIT_DAYS) => self
                .problem(
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
}
