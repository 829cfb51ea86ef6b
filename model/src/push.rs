//! "View push commands": the exact lines a newcomer pastes to log in, build, tag,
//! push and pull. For AWS ECR they are the AWS console's own lines, word for word.

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// macOS / Linux.
    Unix,
    Windows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    pub fn command(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }
}

/// One numbered step: what it does, and the line to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushStep {
    pub explanation: String,
    pub command: String,
}

/// What to do before step 1.
pub fn prerequisite(target: &RegistryTarget) -> String {
    match target {
        RegistryTarget::Aws { .. } => "Make sure that you have the latest version of the AWS CLI and Docker installed, and AWS credentials configured (aws configure).".into(),
        RegistryTarget::Endpoint { .. } => "Install the AWS CLI and Docker (or Podman), and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an access key of this registry.".into(),
    }
}

/// The login, build, tag, push and pull lines for `repository` at `tag`.
pub fn push_steps(
    target: &RegistryTarget,
    repository: &str,
    tag: &str,
    shell: Shell,
    engine: Engine,
) -> Vec<PushStep> {
    let host = target.registry_host();
    let uri = format!("{host}/{repository}");
    let region = target.region();
    let cli = engine.command();
    let insecure = engine == Engine::Podman && target.plain_http();
    let tls = if insecure { " --tls-verify=false" } else { "" };
    let login_client = format!("{cli} login{tls} --username AWS --password-stdin {host}");
    let (login_explanation, login) = match (target, shell) {
        (RegistryTarget::Aws { .. }, Shell::Windows) => (
            "Retrieve an authentication token and authenticate your Docker client to your registry. Use AWS Tools for PowerShell:",
            format!("(Get-ECRLoginCommand).Password | {login_client}"),
        ),
        (RegistryTarget::Aws { .. }, Shell::Unix) => (
            "Retrieve an authentication token and authenticate your Docker client to your registry. Use the AWS CLI:",
            format!("aws ecr get-login-password --region {region} | {login_client}"),
        ),
        (RegistryTarget::Endpoint { endpoint_url, .. }, _) => (
            "Retrieve an authentication token and authenticate your client to this registry with the AWS CLI:",
            format!("aws ecr get-login-password --region {region} --endpoint-url {endpoint_url} | {login_client}"),
        ),
    };
    vec![
        PushStep { explanation: login_explanation.into(), command: login },
        PushStep {
            explanation: "Build your Docker image using the following command. You can skip this step if your image is already built:".into(),
            command: format!("{cli} build -t {repository} ."),
        },
        PushStep {
            explanation: "After the build completes, tag your image so you can push the image to this repository:".into(),
            command: format!("{cli} tag {repository}:{tag} {uri}:{tag}"),
        },
        PushStep {
            explanation: "Run the following command to push this image to your newly created AWS repository:".into(),
            command: format!("{cli} push{tls} {uri}:{tag}"),
        },
        PushStep {
            explanation: "Later, pull the image anywhere you are logged in:".into(),
            command: format!("{cli} pull{tls} {uri}:{tag}"),
        },
    ]
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

    fn commands(target: &RegistryTarget, shell: Shell, engine: Engine) -> Vec<String> {
        push_steps(target, "team/web", "v1.2", shell, engine)
            .into_iter()
            .map(|s| s.command)
            .collect()
    }

    #[test]
    fn aws_lines_are_the_aws_consoles() {
        assert_eq!(
            commands(&aws(), Shell::Unix, Engine::Docker),
            [
                "aws ecr get-login-password --region eu-west-1 | docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                "docker build -t team/web .",
                "docker tag team/web:v1.2 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1.2",
                "docker push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1.2",
                "docker pull 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1.2",
            ]
        );
        let steps = push_steps(&aws(), "team/web", "latest", Shell::Unix, Engine::Docker);
        assert_eq!(
            steps[0].explanation,
            "Retrieve an authentication token and authenticate your Docker client to your registry. Use the AWS CLI:"
        );
    }

    #[test]
    fn windows_uses_aws_tools_for_powershell_on_aws_only() {
        assert_eq!(
            commands(&aws(), Shell::Windows, Engine::Docker)[0],
            "(Get-ECRLoginCommand).Password | docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            commands(&berth(), Shell::Windows, Engine::Docker)[0],
            "aws ecr get-login-password --region us-east-1 --endpoint-url http://127.0.0.1:5000 | docker login --username AWS --password-stdin 127.0.0.1:5000"
        );
    }

    #[test]
    fn berth_lines_name_the_endpoint_and_podman_skips_tls_on_plain_http() {
        assert_eq!(
            commands(&berth(), Shell::Unix, Engine::Podman),
            [
                "aws ecr get-login-password --region us-east-1 --endpoint-url http://127.0.0.1:5000 | podman login --tls-verify=false --username AWS --password-stdin 127.0.0.1:5000",
                "podman build -t team/web .",
                "podman tag team/web:v1.2 127.0.0.1:5000/team/web:v1.2",
                "podman push --tls-verify=false 127.0.0.1:5000/team/web:v1.2",
                "podman pull --tls-verify=false 127.0.0.1:5000/team/web:v1.2",
            ]
        );
        assert_eq!(
            commands(&aws(), Shell::Unix, Engine::Podman)[3],
            "podman push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1.2"
        );
        assert_eq!(
            commands(&berth(), Shell::Unix, Engine::Docker)[3],
            "docker push 127.0.0.1:5000/team/web:v1.2"
        );
    }
}
