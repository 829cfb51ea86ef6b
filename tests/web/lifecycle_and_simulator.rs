//! The lifecycle rule form and preview, and the policy simulator.

use berth_console::components::simulator::{simulate, Scene};
use berth_console::pages::lifecycle::draft::{
    disagreement, put_rule, remove_rule, rules_of, Acted, BrowserPreview, ImageChoice, RuleFields,
};
use berth_model::ecr::{LifecyclePolicyPreviewResult, LifecyclePolicyRuleAction};
use berth_model::lifecycle::{CountType, RuleAction};
use berth_model::policy::{parse_policy, parse_registry_policy};
use serde_json::{json, Value};
use wasm_bindgen_test::*;

fn fields(priority: &str, images: ImageChoice, tags: &str, count: &str) -> RuleFields {
    RuleFields {
        priority: priority.into(),
        description: String::new(),
        images,
        tags: tags.into(),
        count_type: CountType::ImageCountMoreThan,
        count_number: count.into(),
        action: RuleAction::Expire,
        storage_class: None,
    }
}

fn said(problems: &[berth_model::problem::Problem], words: &str) -> bool {
    problems.iter().any(|p| p.message.contains(words))
}

#[wasm_bindgen_test]
fn the_rule_form_makes_only_what_put_lifecycle_policy_takes() {
    let first = fields("1", ImageChoice::TaggedPrefix, "v, release-", "2");
    let text = put_rule(&[], None, &first).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"rules": [{
            "rulePriority": 1,
            "selection": {"tagStatus": "tagged", "tagPrefixList": ["v", "release-"],
                          "countType": "imageCountMoreThan", "countNumber": 2},
            "action": {"type": "expire"},
        }]})
    );
    let rules = rules_of(&text).unwrap();

    let twice = put_rule(&rules, None, &fields("1", ImageChoice::Untagged, "", "5"));
    assert!(said(&twice.unwrap_err(), "unique rulePriority"));
    let no_tags = put_rule(
        &rules,
        None,
        &fields("2", ImageChoice::TaggedPattern, "", "5"),
    );
    assert!(said(&no_tags.unwrap_err(), "tagPatternList"));
    let typo = put_rule(
        &rules,
        Some(0),
        &fields("1", ImageChoice::TaggedPrefix, "v", "two"),
    );
    assert!(said(&typo.unwrap_err(), "countNumber"));

    let edited = put_rule(
        &rules,
        Some(0),
        &fields("1", ImageChoice::TaggedPrefix, "v", "3"),
    );
    let edited: Value = serde_json::from_str(&edited.unwrap()).unwrap();
    assert_eq!(
        edited["rules"].as_array().unwrap().len(),
        1,
        "edited in place"
    );
    assert_eq!(edited["rules"][0]["selection"]["countNumber"], 3);
    assert_eq!(rules_of(&remove_rule(&rules, 0)).unwrap(), Vec::new());
}

#[wasm_bindgen_test]
fn previews_that_differ_say_which_images_and_rules() {
    let (a, b, c) = (
        format!("sha256:{}", "a".repeat(64)),
        format!("sha256:{}", "b".repeat(64)),
        format!("sha256:{}", "c".repeat(64)),
    );
    let acted = |digest: &str, rule| Acted {
        digest: digest.into(),
        tags: Vec::new(),
        pushed_at: 0.0,
        last_pulled_at: None,
        rule_priority: rule,
        action: RuleAction::Expire,
    };
    let result = |digest: &str, rule| LifecyclePolicyPreviewResult {
        image_digest: Some(digest.into()),
        applied_rule_priority: Some(rule),
        action: Some(LifecyclePolicyRuleAction {
            action_type: Some(RuleAction::Expire.wire().into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let ours = BrowserPreview {
        images: 3,
        acted: vec![acted(&a, 1), acted(&b, 1)],
    };
    assert_eq!(disagreement(&ours, &[result(&b, 1), result(&a, 1)]), None);
    let words = disagreement(&ours, &[result(&a, 1), result(&c, 2)]).unwrap();
    assert!(
        words.contains("only the registry acts on sha256:cccccccccccc (expire by rule 2)"),
        "{words}"
    );
    assert!(
        words.contains("only the browser acts on sha256:bbbbbbbbbbbb (expire by rule 1)"),
        "{words}"
    );
    let other_rule = disagreement(&ours, &[result(&a, 2), result(&b, 1)]).unwrap();
    assert!(other_rule.contains("(expire by rule 2)"), "{other_rule}");
}

const CI: &str = "arn:aws:iam::123456789012:user/ci";

fn statement(sid: &str, effect: &str, actions: &[&str], resource: Option<&str>) -> Value {
    let mut s = json!({"Sid": sid, "Effect": effect, "Principal": {"AWS": CI}, "Action": actions});
    if let Some(resource) = resource {
        s["Resource"] = resource.into();
    }
    s
}

fn policy(statements: Vec<Value>) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

#[wasm_bindgen_test]
fn the_simulator_lets_a_deny_in_either_policy_win_and_an_allow_in_either_allow() {
    let team = "arn:aws:ecr:us-east-1:123456789012:repository/team-a/*";
    let registry_allows = parse_registry_policy(&policy(vec![statement(
        "TeamPushPull",
        "Allow",
        &["ecr:*"],
        Some(team),
    )]))
    .unwrap();
    let registry_denies = parse_registry_policy(&policy(vec![statement(
        "NoPush",
        "Deny",
        &["ecr:PutImage"],
        Some("*"),
    )]))
    .unwrap();
    let repository_allows = parse_policy(&policy(vec![statement(
        "ci-all",
        "Allow",
        &["ecr:*"],
        None,
    )]))
    .unwrap();
    let repository_denies = parse_policy(&policy(vec![statement(
        "no pulls",
        "Deny",
        &["ecr:BatchGetImage"],
        None,
    )]))
    .unwrap();
    let ask = |registry, repository, name: &str, choice: &str| {
        simulate(
            &Scene {
                account_id: "123456789012",
                region: "us-east-1",
                repository: name,
                registry_policy: registry,
                repository_policy: repository,
            },
            CI,
            choice,
        )
    };

    let (allowed, words) = ask(Some(&registry_allows), None, "team-a/api", "push");
    assert!(allowed, "{words}");
    assert_eq!(
        words,
        "Allowed by statement 'TeamPushPull' of the registry policy."
    );
    let (allowed, words) = ask(Some(&registry_allows), None, "team-b/api", "push");
    assert!(!allowed, "another team's repository: {words}");
    let (allowed, words) = ask(None, Some(&repository_allows), "team-b/api", "pull");
    assert!(allowed, "an Allow in the repository policy allows: {words}");

    let (allowed, words) = ask(
        Some(&registry_allows),
        Some(&repository_denies),
        "team-a/api",
        "pull",
    );
    assert!(!allowed);
    assert_eq!(
        words,
        "Denied: statement 'no pulls' of the repository policy denies ecr:BatchGetImage."
    );
    let (allowed, words) = ask(
        Some(&registry_denies),
        Some(&repository_allows),
        "team-a/api",
        "push",
    );
    assert!(!allowed);
    assert_eq!(
        words,
        "Denied: statement 'NoPush' of the registry policy denies ecr:PutImage."
    );
}
