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
    let broken =
        parse_lifecycle_policy("{\n  \"rules\": [\n    {\"rulePriority\" 1}\n  ]\n}").unwrap_err();
    assert_eq!(broken[0].position.line, 3);
    assert!(broken[0].message.starts_with("not valid JSON at line 3"));
}
