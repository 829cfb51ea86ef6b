//! "View push commands": the exact lines a newcomer pastes to set their key, log in,
//! build, tag, push and pull. For Amazon ECR the wording is the AWS console's; for
//! any other endpoint it names "this registry", and it follows the chosen client.
//! Every line uses the one chosen tag, so the lines run unchanged in order.

use crate::oci;

/// Where the repository lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryTarget {
    /// Amazon ECR: `ACCOUNT.dkr.ecr.REGION.amazonaws.com`.
    Aws { account_id: String, region: String },
    /// A Berth registry or another ECR-compatible endpoint: the API at `endpoint_url`,
    /// images at `registry_host`.
    Endpoint {
        endpoint_url: String,
        region: String,
        registry_host: String,
    },
}

impl RegistryTarget {
    pub fn registry_host(&self) -> String {
        match self {
            RegistryTarget::Aws { account_id, region } => {
                format!("{account_id}.dkr.ecr.{region}.amazonaws.com")
            }
            RegistryTarget::Endpoint { registry_host, .. } => registry_host.clone(),
        }
    }

    fn region(&self) -> &str {
        match self {
            RegistryTarget::Aws { region, .. } | RegistryTarget::Endpoint { region, .. } => region,
        }
    }

    /// Plain HTTP registries need podman's `--tls-verify=false`.
    fn plain_http(&self) -> bool {
        matches!(self, RegistryTarget::Endpoint { endpoint_url, .. } if endpoint_url.starts_with("http://"))
    }

    /// Podman's flag for this registry, with its leading space, or nothing.
    fn tls_flag(&self, engine: Engine) -> &'static str {
        if engine == Engine::Podman && self.plain_http() {
            " --tls-verify=false"
        } else {
            ""
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// macOS / Linux (a POSIX shell).
    Unix,
    /// Windows PowerShell.
    Windows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Docker, Engine::Podman];

    pub fn command(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }

    /// The client's name in prose.
    pub fn label(self) -> &'static str {
        match self {
            Engine::Docker => "Docker",
            Engine::Podman => "Podman",
        }
    }

    pub fn from_command(command: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.command() == command)
    }
}

/// What the person signed in with, so step 0 can name their access key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    /// Temporary credentials also need `AWS_SESSION_TOKEN`.
    pub has_session_token: bool,
}

/// Stands in for the secret in step 0: the console never prints a secret.
pub const SECRET_PLACEHOLDER: &str = "<your secret access key>";
/// Stands in for a session token in step 0.
pub const SESSION_TOKEN_PLACEHOLDER: &str = "<your session token>";

/// One numbered step: what it does, and the line(s) to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushStep {
    pub explanation: String,
    pub command: String,
}

/// What to have installed before step 0.
pub fn prerequisite(target: &RegistryTarget, engine: Engine) -> String {
    let client = engine.label();
    match target {
        RegistryTarget::Aws { .. } => format!(
            "Make sure that you have the latest version of the AWS CLI and {client} installed."
        ),
        RegistryTarget::Endpoint { .. } => format!(
            "Install the AWS CLI and {client}. The AWS CLI asks this registry for a login token with the access key of step 0."
        ),
    }
}

/// Why a tag cannot be pushed, in the words of the OCI tag rule
/// (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`, which ECR applies too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagProblem {
    #[error("Enter a tag, for example latest or v1.")]
    Empty,
    #[error("A tag has at most 128 characters; this one has {len}.")]
    TooLong { len: usize },
    #[error("A tag starts with a letter, a digit or '_', not '{found}'.")]
    BadStart { found: char },
    #[error("Character {position} ('{found}') is not allowed in a tag: use letters, digits, '_', '.' and '-'.")]
    BadCharacter { position: usize, found: char },
}

/// Checks `tag` against the tag rule, saying what is wrong and where.
pub fn check_tag(tag: &str) -> Result<(), TagProblem> {
    let mut chars = tag.chars();
    let Some(first) = chars.next() else {
        return Err(TagProblem::Empty);
    };
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return Err(TagProblem::BadStart { found: first });
    }
    if let Some((i, found)) = tag
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(TagProblem::BadCharacter {
            position: i + 1,
            found,
        });
    }
    let len = tag.chars().count();
    if len > 128 {
        return Err(TagProblem::TooLong { len });
    }
    debug_assert!(oci::is_valid_tag(tag));
    Ok(())
}

/// The line that sets one environment variable in `shell`. Values that are not
/// plain words are quoted, so a pasted placeholder is a wrong value, not a syntax error.
fn set_variable(shell: Shell, name: &str, value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':'));
    match shell {
        Shell::Unix if plain => format!("export {name}={value}"),
        Shell::Unix => format!("export {name}='{}'", value.replace('\'', r"'\''")),
        Shell::Windows => format!("$env:{name} = '{}'", value.replace('\'', "''")),
    }
}

/// The lines for `repository` at `tag`: step 0 (the access key), login, build, tag,
/// push, pull. The tag must have passed [`check_tag`].
pub fn push_steps(
    target: &RegistryTarget,
    repository: &str,
    tag: &str,
    shell: Shell,
    engine: Engine,
    credentials: &Credentials,
) -> Vec<PushStep> {
    let host = target.registry_host();
    let remote = format!("{host}/{repository}:{tag}");
    let local = format!("{repository}:{tag}");
    let region = target.region();
    let cli = engine.command();
    let client = engine.label();
    let tls = target.tls_flag(engine);
    let login_client = format!("{cli} login{tls} --username AWS --password-stdin {host}");

    let mut variables = vec![
        set_variable(shell, "AWS_ACCESS_KEY_ID", &credentials.access_key_id),
        set_variable(shell, "AWS_SECRET_ACCESS_KEY", SECRET_PLACEHOLDER),
    ];
    if credentials.has_session_token {
        variables.push(set_variable(
            shell,
            "AWS_SESSION_TOKEN",
            SESSION_TOKEN_PLACEHOLDER,
        ));
    }
    let key_step = PushStep {
        explanation: format!(
            "Use the access key this console is signed in with ({}); replace the placeholder with its secret:",
            credentials.access_key_id
        ),
        command: variables.join("\n"),
    };

    let (login_explanation, login) = match (target, shell) {
        (RegistryTarget::Aws { .. }, Shell::Windows) => (
            format!("Retrieve an authentication token and authenticate your {client} client to your registry. Use AWS Tools for PowerShell:"),
            format!("(Get-ECRLoginCommand -Region {region}).Password | {login_client}"),
        ),
        (RegistryTarget::Aws { .. }, Shell::Unix) => (
            format!("Retrieve an authentication token and authenticate your {client} client to your registry. Use the AWS CLI:"),
            format!("aws ecr get-login-password --region {region} | {login_client}"),
        ),
        (RegistryTarget::Endpoint { endpoint_url, .. }, _) => (
            format!("Retrieve an authentication token and authenticate your {client} client to this registry. Use the AWS CLI:"),
            format!("aws ecr get-login-password --region {region} --endpoint-url {endpoint_url} | {login_client}"),
        ),
    };
    let destination = match target {
        RegistryTarget::Aws { .. } => "your newly created AWS repository",
        RegistryTarget::Endpoint { .. } => "this repository",
    };
    vec![
        key_step,
        PushStep {
            explanation: login_explanation,
            command: login,
        },
        PushStep {
            explanation: format!("Build your {client} image using the following command. You can skip this step if your image is already built:"),
            command: format!("{cli} build -t {local} ."),
        },
        PushStep {
            explanation: "After the build completes, tag your image so you can push the image to this repository:".into(),
            command: format!("{cli} tag {local} {remote}"),
        },
        PushStep {
            explanation: format!("Run the following command to push this image to {destination}:"),
            command: format!("{cli} push{tls} {remote}"),
        },
        PushStep {
            explanation: "Later, pull the image anywhere you are logged in:".into(),
            command: pull_command(target, engine, &remote),
        },
    ]
}

/// `docker pull REFERENCE` (or podman's, with its flag for plain HTTP), where
/// `reference` is `HOST/REPOSITORY:TAG` or `HOST/REPOSITORY@DIGEST`.
pub fn pull_command(target: &RegistryTarget, engine: Engine, reference: &str) -> String {
    format!(
        "{} pull{} {reference}",
        engine.command(),
        target.tls_flag(engine)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws() -> RegistryTarget {
        RegistryTarget::Aws {
            account_id: "123456789012".into(),
            region: "eu-west-1".into(),
        }
    }

    fn berth() -> RegistryTarget {
        RegistryTarget::Endpoint {
            endpoint_url: "http://127.0.0.1:5000".into(),
            region: "us-east-1".into(),
            registry_host: "127.0.0.1:5000".into(),
        }
    }

    fn key() -> Credentials {
        Credentials {
            access_key_id: "AKIAEXAMPLE".into(),
            has_session_token: false,
        }
    }

    fn commands(target: &RegistryTarget, shell: Shell, engine: Engine) -> Vec<String> {
        push_steps(target, "team/web", "v1.2", shell, engine, &key())
            .into_iter()
            .map(|s| s.command)
            .collect()
    }

    #[test]
    fn aws_lines_follow_the_aws_console_with_the_chosen_tag_everywhere() {
        assert_eq!(
            commands(&aws(), Shell::Unix, Engine::Docker),
            [
                "export AWS_ACCESS_KEY_ID=AKIAEXAMPLE\nexport AWS_SECRET_ACCESS_KEY='<your secret access key>'",
                "aws ecr get-login-password --region eu-west-1 | docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                "docker build -t team/web:v1.2 .",
                "docker tag team/web:v1.2 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1.2",
                "docker push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1.2",
                "docker pull 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1.2",
            ]
        );
        let steps = push_steps(
            &aws(),
            "team/web",
            "latest",
            Shell::Unix,
            Engine::Docker,
            &key(),
        );
        assert_eq!(
            steps[1].explanation,
            "Retrieve an authentication token and authenticate your Docker client to your registry. Use the AWS CLI:"
        );
        assert_eq!(
            steps[4].explanation,
            "Run the following command to push this image to your newly created AWS repository:"
        );
    }

    #[test]
    fn windows_lines_are_powershell() {
        let aws_lines = commands(&aws(), Shell::Windows, Engine::Docker);
        assert_eq!(
            aws_lines[0],
            "$env:AWS_ACCESS_KEY_ID = 'AKIAEXAMPLE'\n$env:AWS_SECRET_ACCESS_KEY = '<your secret access key>'"
        );
        assert_eq!(
            aws_lines[1],
            "(Get-ECRLoginCommand -Region eu-west-1).Password | docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        let berth_lines = commands(&berth(), Shell::Windows, Engine::Docker);
        assert!(berth_lines[0].starts_with("$env:AWS_ACCESS_KEY_ID = 'AKIAEXAMPLE'"));
        assert_eq!(
            berth_lines[1],
            "aws ecr get-login-password --region us-east-1 --endpoint-url http://127.0.0.1:5000 | docker login --username AWS --password-stdin 127.0.0.1:5000"
        );
        assert_ne!(
            commands(&berth(), Shell::Unix, Engine::Docker)[0],
            berth_lines[0]
        );
    }

    #[test]
    fn berth_lines_name_the_endpoint_and_podman_skips_tls_on_plain_http() {
        assert_eq!(
            commands(&berth(), Shell::Unix, Engine::Podman)[1..],
            [
                "aws ecr get-login-password --region us-east-1 --endpoint-url http://127.0.0.1:5000 | podman login --tls-verify=false --username AWS --password-stdin 127.0.0.1:5000",
                "podman build -t team/web:v1.2 .",
                "podman tag team/web:v1.2 127.0.0.1:5000/team/web:v1.2",
                "podman push --tls-verify=false 127.0.0.1:5000/team/web:v1.2",
                "podman pull --tls-verify=false 127.0.0.1:5000/team/web:v1.2",
            ]
        );
        assert_eq!(
            commands(&aws(), Shell::Unix, Engine::Podman)[4],
            "podman push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1.2"
        );
        assert_eq!(
            commands(&berth(), Shell::Unix, Engine::Docker)[4],
            "docker push 127.0.0.1:5000/team/web:v1.2"
        );
    }

    #[test]
    fn wording_follows_client_and_target() {
        let steps = push_steps(&berth(), "app", "v1", Shell::Unix, Engine::Podman, &key());
        let prose: String = steps.iter().map(|s| s.explanation.as_str()).collect();
        assert!(
            prose.contains("your Podman client to this registry"),
            "{prose}"
        );
        assert!(prose.contains("Build your Podman image"), "{prose}");
        assert!(prose.contains("to this repository"), "{prose}");
        assert!(
            !prose.contains("Docker") && !prose.contains("AWS repository"),
            "{prose}"
        );
        assert!(prerequisite(&berth(), Engine::Podman).contains("Podman"));
    }

    #[test]
    fn session_tokens_get_their_own_placeholder() {
        let with_token = Credentials {
            has_session_token: true,
            ..key()
        };
        let steps = push_steps(
            &aws(),
            "app",
            "v1",
            Shell::Unix,
            Engine::Docker,
            &with_token,
        );
        assert!(steps[0]
            .command
            .ends_with("export AWS_SESSION_TOKEN='<your session token>'"));
    }

    #[test]
    fn tags_are_checked_with_the_reason() {
        for good in ["latest", "v1", "_x", "1.2.3-rc_1", &"a".repeat(128)] {
            assert_eq!(check_tag(good), Ok(()), "{good}");
        }
        assert_eq!(check_tag(""), Err(TagProblem::Empty));
        assert_eq!(
            check_tag("My Tag!"),
            Err(TagProblem::BadCharacter {
                position: 3,
                found: ' '
            })
        );
        assert_eq!(check_tag(".v1"), Err(TagProblem::BadStart { found: '.' }));
        assert_eq!(
            check_tag(&"a".repeat(129)),
            Err(TagProblem::TooLong { len: 129 })
        );
        for bad in ["My Tag!", ".v1", "a:b", "ü"] {
            assert!(check_tag(bad).is_err() && !oci::is_valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn pull_follows_the_engine() {
        assert_eq!(
            pull_command(&berth(), Engine::Podman, "127.0.0.1:5000/app@sha256:ab"),
            "podman pull --tls-verify=false 127.0.0.1:5000/app@sha256:ab"
        );
        assert_eq!(
            pull_command(&berth(), Engine::Docker, "127.0.0.1:5000/app:v1"),
            "docker pull 127.0.0.1:5000/app:v1"
        );
    }
}
