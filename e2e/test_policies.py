"""Repository policies decide who may push and pull: the real docker engine and the
equivalent ECR API calls, against a real `berth-registry`."""

import json

import botocore.exceptions
import pytest

from test_clients import AWS, build_seed_image, run

PUSH = ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


class Person:
    """One principal with its own AWS credentials and docker config."""

    def __init__(self, registry, tmp_path, name, key, secret):
        self.registry, self.name, self.key, self.secret = registry, name, key, secret
        self.env = registry.aws_env(key, secret)
        self.env["DOCKER_CONFIG"] = str(tmp_path / f"docker-{name}")

    def login(self):
        return run(f"{AWS} ecr get-login-password --region {self.registry.region} --endpoint-url {self.registry.url} "
                   f"| docker login --username AWS --password-stdin {self.registry.host}", env=self.env, check=False)

    def docker(self, *args):
        return run(["docker", *args], env=self.env, check=False)

    def ecr(self):
        return self.registry.ecr(key=self.key, secret=self.secret)


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(sid, arn, actions):
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": arn}, "Action": actions}


def test_policies_decide_who_pushes_and_pulls(registry, tmp_path):
    registry.ecr().create_repository(repositoryName="team/app")
    users = {name: registry.add_user(name) for name in ["ci", "viewer"]}
    admin = Person(registry, tmp_path, "admin", registry.access_key_id, registry.secret_access_key)
    ci = Person(registry, tmp_path, "ci", users["ci"]["accessKeyId"], users["ci"]["secretAccessKey"])
    viewer = Person(registry, tmp_path, "viewer", users["viewer"]["accessKeyId"], users["viewer"]["secretAccessKey"])
    uri = f"{registry.host}/team/app"
    local = f"berth-policy-{registry.port}"
    run(["docker", "build", "-t", local, "."], cwd=build_seed_image(tmp_path, "policy", "policies"))
    try:
        # No policy: everyone may log in; only the admin may push.
        for person in [admin, ci, viewer]:
            assert person.login().returncode == 0, person.name
        assert admin.docker("tag", local, f"{uri}:admin").returncode == 0
        assert admin.docker("push", f"{uri}:admin").returncode == 0, "the admin needs no policy"
        run(["docker", "tag", local, f"{uri}:ci"])
        refused = ci.docker("push", f"{uri}:ci")
        assert refused.returncode != 0 and "denied" in (refused.stdout + refused.stderr).lower()

        registry.ecr().set_repository_policy(repositoryName="team/app", policyText=policy(
            allow("CiPushPull", users["ci"]["arn"], PUSH),
            allow("ViewerPull", users["viewer"]["arn"], PULL),
        ))
        assert ci.docker("push", f"{uri}:ci").returncode == 0
        run(["docker", "rmi", f"{uri}:ci", f"{uri}:admin"], check=False)
        assert viewer.docker("pull", f"{uri}:ci").returncode == 0
        run(["docker", "tag", local, f"{uri}:viewer"])
        refused = viewer.docker("push", f"{uri}:viewer")
        assert refused.returncode != 0 and "denied" in (refused.stdout + refused.stderr).lower()

        registry.ecr().set_repository_policy(repositoryName="team/app", policyText=policy(
            allow("CiPushPull", users["ci"]["arn"], PUSH),
            allow("ViewerPull", users["viewer"]["arn"], PULL),
            {"Sid": "NoViewer", "Effect": "Deny", "Principal": {"AWS": users["viewer"]["arn"]}, "Action": "ecr:*"},
        ))
        run(["docker", "rmi", f"{uri}:ci"], check=False)
        refused = viewer.docker("pull", f"{uri}:ci")
        assert refused.returncode != 0
        assert admin.docker("pull", f"{uri}:ci").returncode == 0, "a Deny for others never blocks the admin"
    finally:
        run(["docker", "rmi", "-f", local, f"{uri}:admin", f"{uri}:ci", f"{uri}:viewer"], check=False)


def test_the_same_decisions_hold_for_the_ecr_api(registry, tmp_path):
    admin_ecr = registry.ecr()
    admin_ecr.create_repository(repositoryName="api/app")
    users = {name: registry.add_user(name) for name in ["ci", "viewer"]}
    ci = registry.ecr(key=users["ci"]["accessKeyId"], secret=users["ci"]["secretAccessKey"])
    viewer = registry.ecr(key=users["viewer"]["accessKeyId"], secret=users["viewer"]["secretAccessKey"])
    from oci import OciClient

    config = OciClient.for_registry(registry).push_blob("api/app", b"{}")

    def manifest(note):
        return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
                           "layers": [], "annotations": {"n": note}})

    def denied(call, **kwargs):
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            call(**kwargs)
        assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
        return excinfo.value.response["Error"]["Message"]

    admin_ecr.put_image(repositoryName="api/app", imageManifest=manifest("admin"), imageTag="admin")
    denied(ci.put_image, repositoryName="api/app", imageManifest=manifest("ci"), imageTag="ci")
    denied(viewer.batch_get_image, repositoryName="api/app", imageIds=[{"imageTag": "admin"}])
    # Unlisted repositories are invisible to users without an Allow.
    assert viewer.describe_repositories()["repositories"] == []

    admin_ecr.set_repository_policy(repositoryName="api/app", policyText=policy(
        allow("CiPushPull", users["ci"]["arn"], PUSH),
        allow("ViewerPull", users["viewer"]["arn"], PULL + ["ecr:DescribeRepositories"]),
    ))
    ci.put_image(repositoryName="api/app", imageManifest=manifest("ci"), imageTag="ci")
    assert viewer.batch_get_image(repositoryName="api/app", imageIds=[{"imageTag": "ci"}])["images"]
    assert [r["repositoryName"] for r in viewer.describe_repositories()["repositories"]] == ["api/app"]
    denied(viewer.put_image, repositoryName="api/app", imageManifest=manifest("viewer"), imageTag="viewer")
    denied(ci.set_repository_policy, repositoryName="api/app", policyText=policy(allow("Me", users["ci"]["arn"], ["ecr:*"])))

    admin_ecr.set_repository_policy(repositoryName="api/app", policyText=policy(
        allow("ViewerPull", users["viewer"]["arn"], PULL),
        {"Sid": "NoViewerPull", "Effect": "Deny", "Principal": {"AWS": users["viewer"]["arn"]}, "Action": "ecr:BatchGetImage"},
        {"Sid": "NobodyDeletes", "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchDeleteImage"},
    ))
    message = denied(viewer.batch_get_image, repositoryName="api/app", imageIds=[{"imageTag": "ci"}])
    assert "explicit deny" in message and "NoViewerPull" in message
    message = denied(admin_ecr.batch_delete_image, repositoryName="api/app", imageIds=[{"imageTag": "ci"}])
    assert "NobodyDeletes" in message
    # ...but the admin can always fix the policy.
    admin_ecr.delete_repository_policy(repositoryName="api/app")
    assert admin_ecr.batch_delete_image(repositoryName="api/app", imageIds=[{"imageTag": "ci"}])["imageIds"]
