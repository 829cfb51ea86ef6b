//! Every example policy on AWS's "Examples of lifecycle policies in Amazon ECR"
//! page, evaluated on a synthetic repository; the expected images are the ones
//! the page's explanation expires (or, where the page gives no repository, the
//! ones its description says the rule selects).

use super::*;

const NOW: f64 = 1_750_000_000.0;
const DAY: f64 = 86_400.0;

fn image(name: &str, tags: &[&str], days_ago: f64) -> Image {
    Image {
        digest: format!("sha256:{name}"),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        pushed_at: NOW - days_ago * DAY,
        size: 1000,
        ..Default::default()
    }
}

fn pulled(mut image: Image, days_ago: f64) -> Image {
    image.last_pulled_at = Some(NOW - days_ago * DAY);
    image
}

fn archived(mut image: Image, days_ago: f64) -> Image {
    image.storage_class = StorageClass::Archive;
    image.last_archived_at = Some(NOW - days_ago * DAY);
    image
}

/// `(image name, rulePriority, action)` for each image the policy acts on.
fn acted_on(policy: &str, images: &[Image]) -> Vec<(String, u32, RuleAction)> {
    let policy = parse_lifecycle_policy(policy).unwrap_or_else(|p| panic!("{p:#?}"));
    evaluate(&policy, images, NOW)
        .into_iter()
        .map(|o| {
            let name = images[o.image]
                .digest
                .trim_start_matches("sha256:")
                .to_string();
            (name, o.rule_priority, o.action)
        })
        .collect()
}

fn expired(names: &[(&str, u32)]) -> Vec<(String, u32, RuleAction)> {
    names
        .iter()
        .map(|(n, p)| (n.to_string(), *p, RuleAction::Expire))
        .collect()
}

fn transitioned(names: &[(&str, u32)]) -> Vec<(String, u32, RuleAction)> {
    names
        .iter()
        .map(|(n, p)| (n.to_string(), *p, RuleAction::Transition))
        .collect()
}

fn rule(priority: u32, selection: &str, action: &str) -> String {
    format!(
        r#"{{"rulePriority": {priority}, "description": "Rule {priority}", "selection": {selection}, "action": {action}}}"#
    )
}

fn policy(rules: &[String]) -> String {
    format!(r#"{{"rules": [{}]}}"#, rules.join(","))
}

const EXPIRE: &str = r#"{"type": "expire"}"#;
const TRANSITION: &str = r#"{"type": "transition", "targetStorageClass": "archive"}"#;

#[test]
fn filtering_on_image_age() {
    let text = r#"{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Expire images older than 14 days",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["prod*"],
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}"#;
    let images = [
        image("A", &["prod-1"], 20.0),
        image("B", &["prod2"], 10.0),
        image("C", &["dev-1"], 30.0),
        image("D", &[], 30.0),
        image("E", &["production-team1"], 15.0),
    ];
    assert_eq!(acted_on(text, &images), expired(&[("A", 1), ("E", 1)]));
}

#[test]
fn filtering_on_last_pulled_time() {
    let text = r#"{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Archive images not pulled in 90 days",
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePulled",
                "countUnit": "days",
                "countNumber": 90
            },
            "action": {
                "type": "transition",
                "targetStorageClass": "archive"
            }
        }
    ]
}"#;
    let mut restored = pulled(image("F", &["old"], 300.0), 200.0);
    restored.last_activated_at = Some(NOW - 30.0 * DAY);
    let images = [
        pulled(image("A", &["v1"], 200.0), 100.0),
        // Never pulled: counted from the push.
        image("B", &[], 100.0),
        pulled(image("C", &["v2"], 200.0), 10.0),
        image("D", &["v3"], 10.0),
        // Already archived: the rule selects standard images only.
        archived(image("E", &["v0"], 300.0), 200.0),
        // Restored from the archive 30 days ago and not pulled since.
        restored,
    ];
    assert_eq!(acted_on(text, &images), transitioned(&[("A", 1), ("B", 1)]));
}

#[test]
fn filtering_on_archive_transition_time() {
    let text = r#"{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Expire images archived for more than 365 days",
            "selection": {
                "tagStatus": "any",
                "storageClass": "archive",
                "countType": "sinceImageTransitioned",
                "countUnit": "days",
                "countNumber": 365
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}"#;
    let images = [
        archived(image("A", &["v1"], 800.0), 400.0),
        archived(image("B", &["v2"], 800.0), 100.0),
        image("C", &["v3"], 1000.0),
    ];
    assert_eq!(acted_on(text, &images), expired(&[("A", 1)]));
}

#[test]
fn filtering_on_image_count() {
    let text = r#"{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Keep only one untagged image, expire all others",
            "selection": {
                "tagStatus": "untagged",
                "countType": "imageCountMoreThan",
                "countNumber": 1
            },
            "action": {
                "type": "expire"
            }
        }
    ]
}"#;
    let images = [
        image("A", &[], 3.0),
        image("B", &[], 2.0),
        image("C", &[], 1.0),
        image("D", &["v1"], 10.0),
    ];
    assert_eq!(acted_on(text, &images), expired(&[("A", 1), ("B", 1)]));
}

fn multiple_rules_repository() -> Vec<Image> {
    vec![
        image("A", &["beta-1", "prod-1"], 10.0),
        image("B", &["beta-2", "prod-2"], 9.0),
        image("C", &["beta-3"], 8.0),
    ]
}

fn count_rule(priority: u32, patterns: &str, count: u32) -> String {
    rule(
        priority,
        &format!(
            r#"{{"tagStatus": "tagged", "tagPatternList": {patterns}, "countType": "imageCountMoreThan", "countNumber": {count}}}"#
        ),
        EXPIRE,
    )
}

#[test]
fn multiple_rules_example_a() {
    // Rule 1 marks A. Rule 2 would mark A and B, but A is Rule 1's, and
    // expiring B would violate Rule 1, so B is skipped.
    let text = policy(&[
        count_rule(1, r#"["prod*"]"#, 1),
        count_rule(2, r#"["beta*"]"#, 1),
    ]);
    assert_eq!(
        acted_on(&text, &multiple_rules_repository()),
        expired(&[("A", 1)])
    );
}

#[test]
fn multiple_rules_example_b() {
    // Rule 1 sees all three and marks A and B; Rule 2 sees none left.
    let text = policy(&[
        count_rule(1, r#"["beta*"]"#, 1),
        count_rule(2, r#"["prod*"]"#, 1),
    ]);
    assert_eq!(
        acted_on(&text, &multiple_rules_repository()),
        expired(&[("A", 1), ("B", 1)])
    );
}

#[test]
fn multiple_tags_in_a_single_rule_example_a() {
    // Images must match all listed patterns: C and F; only C is older than five days.
    let text = policy(&[rule(
        1,
        r#"{"tagStatus": "tagged", "tagPatternList": ["alpha*", "beta*"], "countType": "sinceImagePushed", "countNumber": 5, "countUnit": "days"}"#,
        EXPIRE,
    )]);
    let images = [
        image("A", &["alpha-1"], 12.0),
        image("B", &["beta-1"], 11.0),
        image("C", &["alpha-2", "beta-2"], 10.0),
        image("D", &["alpha-3"], 4.0),
        image("E", &["beta-3"], 3.0),
        image("F", &["alpha-4", "beta-4"], 2.0),
    ];
    assert_eq!(acted_on(&text, &images), expired(&[("C", 1)]));
}

#[test]
fn multiple_tags_in_a_single_rule_example_b() {
    // Tags are not exclusive: all three match, the newest one stays.
    let text = policy(&[count_rule(1, r#"["alpha*", "beta*"]"#, 1)]);
    let images = [
        image("A", &["alpha-1", "beta-1", "gamma-1"], 10.0),
        image("B", &["alpha-2", "beta-2"], 9.0),
        image("C", &["alpha-3", "beta-3", "gamma-2"], 8.0),
    ];
    assert_eq!(acted_on(&text, &images), expired(&[("A", 1), ("B", 1)]));
}

#[test]
fn all_images_example_a() {
    let text = policy(&[rule(
        1,
        r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}"#,
        EXPIRE,
    )]);
    let images = [
        image("A", &["alpha-1"], 4.0),
        image("B", &["beta-1"], 3.0),
        image("C", &[], 2.0),
        image("D", &["alpha-2"], 1.0),
    ];
    assert_eq!(
        acted_on(&text, &images),
        expired(&[("A", 1), ("B", 1), ("C", 1)])
    );
}

#[test]
fn all_images_example_b() {
    // Rule 1 marks A; rule 2 marks B (E is only a day old); rule 3 keeps the
    // newest (E) and cannot mark A, B, C or E, which higher rules identified: D.
    let text = policy(&[
        count_rule(1, r#"["alpha*"]"#, 1),
        rule(
            2,
            r#"{"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}"#,
            EXPIRE,
        ),
        rule(
            3,
            r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}"#,
            EXPIRE,
        ),
    ]);
    let images = [
        image("A", &["alpha-1", "beta-1"], 4.0),
        image("B", &[], 3.0),
        image("C", &["alpha-2"], 2.0),
        // "Pushed: 1 day ago", both; E after D, so E is the newest.
        image("D", &["git hash"], 1.0 + 1.0 / 24.0),
        image("E", &[], 1.0),
    ];
    assert_eq!(
        acted_on(&text, &images),
        expired(&[("A", 1), ("B", 2), ("D", 3)])
    );
}

#[test]
fn archiving_images_older_than_a_number_of_days() {
    let text = r#"{
    "rules": [
        {
            "rulePriority": 1,
            "description": "Archive production images older than 30 days",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["prod*"],
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 30
            },
            "action": {
                "type": "transition",
                "targetStorageClass": "archive"
            }
        }
    ]
}"#;
    let images = [
        image("A", &["prod-1"], 40.0),
        image("B", &["prod-2"], 20.0),
        image("C", &["dev"], 40.0),
    ];
    assert_eq!(acted_on(text, &images), transitioned(&[("A", 1)]));
}

#[test]
fn combining_archive_and_expire_rules() {
    // Two "any" rules, each the last of the rules selecting its storage class.
    let text = policy(&[
        rule(
            1,
            r#"{"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 30}"#,
            TRANSITION,
        ),
        rule(
            2,
            r#"{"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 365}"#,
            EXPIRE,
        ),
    ]);
    let images = [
        image("A", &["v1"], 40.0),
        image("B", &["v2"], 10.0),
        archived(image("C", &["v0"], 900.0), 400.0),
        archived(image("D", &[], 500.0), 100.0),
    ];
    let mut expected = expired(&[("C", 2)]);
    expected.extend(transitioned(&[("A", 1)]));
    assert_eq!(acted_on(&text, &images), expected);
}

#[test]
fn prefixes_match_the_start_of_any_tag() {
    // Example A of "Filtering on multiple rules" as the older page wrote it, with tagPrefixList.
    let prefixes = |priority, prefix: &str| {
        rule(
            priority,
            &format!(
                r#"{{"tagStatus": "tagged", "tagPrefixList": ["{prefix}"], "countType": "imageCountMoreThan", "countNumber": 1}}"#
            ),
            EXPIRE,
        )
    };
    let text = policy(&[prefixes(1, "prod"), prefixes(2, "beta")]);
    assert_eq!(
        acted_on(&text, &multiple_rules_repository()),
        expired(&[("A", 1)])
    );
}

#[test]
fn images_a_manifest_list_refers_to_wait_for_the_list() {
    let text = policy(&[rule(
        1,
        r#"{"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}"#,
        EXPIRE,
    )]);
    let mut child = image("child", &[], 5.0);
    child.referenced_by_manifest_list = true;
    let images = [child, image("loose", &[], 5.0)];
    assert_eq!(acted_on(&text, &images), expired(&[("loose", 1)]));
}

#[test]
fn preview_results_speak_the_wire_enums() {
    let text = policy(&[rule(
        1,
        r#"{"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 30}"#,
        TRANSITION,
    )]);
    let policy = parse_lifecycle_policy(&text).unwrap();
    let images = [image("A", &["v1"], 40.0)];
    let outcomes = evaluate(&policy, &images, NOW);
    let result = preview_result(&images[0], &outcomes[0]);
    assert_eq!(
        serde_json::to_value(&result).unwrap(),
        serde_json::json!({"imageTags": ["v1"], "imageDigest": "sha256:A",
            "imagePushedAt": NOW - 40.0 * DAY,
            "action": {"type": "TRANSITION", "targetStorageClass": "ARCHIVE"},
            "appliedRulePriority": 1, "storageClass": "STANDARD"})
    );
    assert_eq!(
        serde_json::to_value(preview_summary(&outcomes)).unwrap(),
        serde_json::json!({"expiringImageTotalCount": 0,
            "transitioningImageTotalCounts": [{"targetStorageClass": "ARCHIVE", "imageTotalCount": 1}]})
    );
    assert_eq!(
        serde_json::to_value(preview_summary(&[])).unwrap(),
        serde_json::json!({"expiringImageTotalCount": 0})
    );
}

#[test]
fn policies_written_back_parse_to_the_same_rules() {
    let text = policy(&[
        count_rule(1, r#"["alpha*"]"#, 1),
        rule(
            2,
            r#"{"tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 9}"#,
            TRANSITION,
        ),
        rule(
            3,
            r#"{"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 365}"#,
            EXPIRE,
        ),
    ]);
    let strip = |p: LifecyclePolicy| -> Vec<Rule> {
        p.rules
            .into_iter()
            .map(|r| Rule {
                position: crate::json::Position::START,
                ..r
            })
            .collect()
    };
    let first = parse_lifecycle_policy(&text).unwrap();
    let written = first.to_json();
    let again = parse_lifecycle_policy(&written).unwrap_or_else(|p| panic!("{written}\n{p:#?}"));
    assert_eq!(strip(first), strip(again));
    assert!(written.find("rulePriority").unwrap() < written.find("selection").unwrap());
}
