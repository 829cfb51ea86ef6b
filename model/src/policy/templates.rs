//! Ready-made policies for the editors, written in the order people write
//! policies in (Sid, Effect, Principal, Action, Resource).

use serde_json::{json, Map, Value};

use super::actions::{PULL_ACTIONS, PUSH_ACTIONS};

/// Pull actions, then the push actions pull does not already list.
fn push_and_pull() -> Vec<&'static str> {
    PULL_ACTIONS
        .iter()
        .chain(PUSH_ACTIONS.iter().filter(|a| !PULL_ACTIONS.contains(a)))
        .copied()
        .collect()
}

fn statement(
    sid: &str,
    effect: &str,
    principal: Value,
    actions: &[&str],
    resource: Option<&str>,
) -> Value {
    let mut statement = Map::new();
    statement.insert("Sid".into(), sid.into());
    statement.insert("Effect".into(), effect.into());
    statement.insert("Principal".into(), principal);
    statement.insert("Action".into(), actions.to_vec().into());
    if let Some(resource) = resource {
        statement.insert("Resource".into(), resource.into());
    }
    Value::Object(statement)
}

fn document(statements: Vec<Value>) -> String {
    let mut document = Map::new();
    document.insert("Version".into(), "2012-10-17".into());
    document.insert("Statement".into(), Value::Array(statements));
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

/// Repository policy templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// Pull only, for the given principals.
    PullOnly,
    /// Push and pull, for a CI user.
    PushAndPull,
    /// Read access for another AWS account.
    CrossAccountRead,
    /// Nobody may delete images or the repository.
    DenyDelete,
}

impl Template {
    pub const ALL: [Template; 4] = [
        Template::PullOnly,
        Template::PushAndPull,
        Template::CrossAccountRead,
        Template::DenyDelete,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Template::PullOnly => "Pull only",
            Template::PushAndPull => "Push and pull (CI user)",
            Template::CrossAccountRead => "Read for another account",
            Template::DenyDelete => "Deny delete",
        }
    }

    pub fn needs_principal(self) -> bool {
        self != Template::DenyDelete
    }

    /// The policy document, pretty-printed; `principal` is an ARN or account id.
    pub fn render(self, principal: &str) -> String {
        let aws = json!({ "AWS": principal });
        let single = match self {
            Template::PullOnly => statement("AllowPull", "Allow", aws, PULL_ACTIONS, None),
            Template::PushAndPull => {
                statement("AllowPushPull", "Allow", aws, &push_and_pull(), None)
            }
            Template::CrossAccountRead => {
                let actions: Vec<&str> = PULL_ACTIONS
                    .iter()
                    .copied()
                    .chain([
                        "ecr:DescribeImages",
                        "ecr:ListImages",
                        "ecr:DescribeRepositories",
                    ])
                    .collect();
                statement("AllowAccountRead", "Allow", aws, &actions, None)
            }
            Template::DenyDelete => statement(
                "DenyDelete",
                "Deny",
                "*".into(),
                &["ecr:BatchDeleteImage", "ecr:DeleteRepository"],
                None,
            ),
        };
        document(vec![single])
    }
}

/// What the console needs to read repositories and pull from them: AWS's
/// read-only managed policy for ECR, without GetAuthorizationToken (which every
/// Berth user has).
pub const CONSOLE_READ_ACTIONS: &[&str] = &[
    "ecr:DescribeRepositories",
    "ecr:DescribeImages",
    "ecr:ListImages",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetRepositoryPolicy",
    "ecr:GetLifecyclePolicy",
    "ecr:GetLifecyclePolicyPreview",
    "ecr:ListTagsForResource",
    "ecr:DescribeImageScanFindings",
];

/// Registry policy templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryTemplate {
    /// A team creates, pushes to and pulls from repositories under its prefix.
    TeamPrefix,
    /// Browse every repository in the console and pull any image.
    ConsoleReadPull,
}

impl RegistryTemplate {
    pub const ALL: [RegistryTemplate; 2] = [
        RegistryTemplate::TeamPrefix,
        RegistryTemplate::ConsoleReadPull,
    ];

    pub fn label(self) -> &'static str {
        match self {
            RegistryTemplate::TeamPrefix => "Team prefix: create + push + pull under team/",
            RegistryTemplate::ConsoleReadPull => "Console read + pull",
        }
    }

    pub fn needs_prefix(self) -> bool {
        self == RegistryTemplate::TeamPrefix
    }

    /// The actions a statement of this template grants.
    pub fn actions(self) -> Vec<&'static str> {
        match self {
            RegistryTemplate::TeamPrefix => {
                let mut actions = vec![
                    "ecr:CreateRepository",
                    "ecr:DescribeRepositories",
                    "ecr:DescribeImages",
                    "ecr:ListImages",
                ];
                actions.extend(push_and_pull());
                actions
            }
            RegistryTemplate::ConsoleReadPull => CONSOLE_READ_ACTIONS.to_vec(),
        }
    }

    /// The policy document for `principal` (an ARN or account id) in the registry
    /// of `account_id` in `region`; `prefix` (e.g. `team-a`, trailing `/` or `/*`
    /// optional) is used by [`RegistryTemplate::TeamPrefix`] only.
    pub fn render(self, principal: &str, region: &str, account_id: &str, prefix: &str) -> String {
        let repositories =
            |names: &str| format!("arn:aws:ecr:{region}:{account_id}:repository/{names}");
        let aws = json!({ "AWS": principal });
        let single = match self {
            RegistryTemplate::TeamPrefix => {
                let prefix = prefix.trim().trim_end_matches('*').trim_end_matches('/');
                statement(
                    "TeamCreatePushPull",
                    "Allow",
                    aws,
                    &self.actions(),
                    Some(&repositories(&format!("{prefix}/*"))),
                )
            }
            RegistryTemplate::ConsoleReadPull => statement(
                "ConsoleReadPull",
                "Allow",
                aws,
                &self.actions(),
                Some(&repositories("*")),
            ),
        };
        document(vec![single])
    }
}

#[cfg(test)]
mod tests {
    use super::super::eval::{decide, Request, Resource};
    use super::super::{describe_actions, describe_principals, describe_resources};
    use super::super::{parse_policy, parse_registry_policy, AccessRequest, Decision};
    use super::*;

    const CI: &str = "arn:aws:iam::123456789012:user/ci";

    #[test]
    fn templates_read_in_the_usual_order() {
        let text = Template::PullOnly.render("123456789012");
        let at = |key: &str| text.find(key).unwrap();
        assert!(
            at("Version") < at("Statement")
                && at("Sid") < at("Effect")
                && at("Effect") < at("Principal")
                && at("Principal") < at("Action"),
            "{text}"
        );
    }

    #[test]
    fn templates_are_valid_and_say_what_they_do() {
        for template in Template::ALL {
            let text = template.render(CI);
            let policy = parse_policy(&text).unwrap_or_else(|p| panic!("{template:?}: {p:?}"));
            assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
            let statement = &policy.statements[0];
            let words = describe_actions(&statement.actions);
            match template {
                Template::PullOnly => assert_eq!(words, "pull"),
                Template::PushAndPull => assert_eq!(words, "push and pull"),
                Template::CrossAccountRead => assert_eq!(
                    words,
                    "pull; DescribeImages, ListImages, DescribeRepositories"
                ),
                Template::DenyDelete => {
                    assert_eq!(describe_principals(&statement.principals), "everyone")
                }
            }
        }
        let p = parse_policy(&Template::PullOnly.render(CI)).unwrap();
        assert_eq!(
            describe_principals(&p.statements[0].principals),
            "user ci (account 123456789012)"
        );
        let ask = |action| {
            p.evaluate(&AccessRequest {
                principal_arn: CI,
                action,
            })
        };
        assert!(matches!(ask("ecr:BatchGetImage"), Decision::Allowed { .. }));
        assert_eq!(ask("ecr:PutImage"), Decision::NotAllowed);
    }

    #[test]
    fn team_prefix_template_covers_the_team_only() {
        for prefix in ["team-a", "team-a/", "team-a/*"] {
            let text = RegistryTemplate::TeamPrefix.render(CI, "us-east-1", "123456789012", prefix);
            let policy = parse_registry_policy(&text).unwrap_or_else(|p| panic!("{p:?}"));
            assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
            let statement = &policy.statements[0];
            assert_eq!(
                describe_resources(statement.resources.as_ref().unwrap()),
                "repositories whose names start with team-a/"
            );
            let ask = |action, name: &str| {
                let arn = crate::ecr::repository_arn("us-east-1", "123456789012", name);
                decide(
                    &Request {
                        principal_arn: CI,
                        action,
                        resource: Resource::Repository(&arn),
                    },
                    Some(&policy),
                    None,
                )
                .is_allowed()
            };
            for action in [
                "ecr:CreateRepository",
                "ecr:PutImage",
                "ecr:BatchGetImage",
                "ecr:UploadLayerPart",
            ] {
                assert!(ask(action, "team-a/api"), "{action}");
                assert!(!ask(action, "team-b/api"), "{action}");
                assert!(!ask(action, "team-a"), "{action}");
            }
            assert!(!ask("ecr:DeleteRepository", "team-a/api"));
        }
    }

    #[test]
    fn console_read_template_reads_and_pulls_everywhere_but_writes_nothing() {
        let text = RegistryTemplate::ConsoleReadPull.render(CI, "eu-west-1", "123456789012", "");
        let policy = parse_registry_policy(&text).unwrap_or_else(|p| panic!("{p:?}"));
        let ask = |action, name: &str| {
            let arn = crate::ecr::repository_arn("eu-west-1", "123456789012", name);
            decide(
                &Request {
                    principal_arn: CI,
                    action,
                    resource: Resource::Repository(&arn),
                },
                Some(&policy),
                None,
            )
            .is_allowed()
        };
        for action in CONSOLE_READ_ACTIONS {
            assert!(ask(action, "any/repo"), "{action}");
            assert!(ask(action, "*"), "{action} over every repository");
        }
        for action in [
            "ecr:PutImage",
            "ecr:BatchDeleteImage",
            "ecr:SetRepositoryPolicy",
        ] {
            assert!(!ask(action, "any/repo"), "{action}");
        }
        assert_eq!(
            describe_actions(&policy.statements[0].actions),
            "pull; DescribeRepositories, DescribeImages, ListImages, GetRepositoryPolicy, \
             GetLifecyclePolicy, GetLifecyclePolicyPreview, ListTagsForResource, \
             DescribeImageScanFindings"
        );
    }
}
