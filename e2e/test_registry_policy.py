"""The registry policy: how the admin lets a team create, push to and pull from the
repositories under its prefix, enforced with the repository policies on every path
(the ECR API, docker through `/v2` and the token endpoint, listings) — the real
AWS CLI, boto3 and docker engine against a real `berth-registry`."""

import base64
import json

import botocore.exceptions
import pytest
import requests

from oci import OciClient
from test_clients import build_seed_image, run
from test_policies import Person

ACCOUNT = "123456789012"
ARN = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/"
TEAM = ["ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:DescribeImages", "ecr:ListImages",
        "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]


def document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def statement(sid, effect, arn, actions, resource=None):
    s = {"Sid": sid, "Effect": effect, "Principal": {"AWS": arn}, "Action": actions}
    if resource is not None:
        s["Resource"] = resource
    return s


def error(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(**kwargs)
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def user(registry, name):
    u = registry.add_user(name)
    return u, registry.ecr(key=u["accessKeyId"], secret=u["secretAccessKey"])


def test_a_team_prefix_grant_creates_pushes_and_pulls_only_under_the_prefix(registry, tmp_path):
    admin = Person(registry, tmp_path, "admin", registry.access_key_id, registry.secret_access_key)
    dev_user = registry.add_user("dev")
    dev = Person(registry, tmp_path, "dev", dev_user["accessKeyId"], dev_user["secretAccessKey"])
    for name in ["team-b/api", "shared"]:
        registry.ecr().create_repository(repositoryName=name)

    # The admin's one statement, put with the AWS CLI exactly as the README shows it.
    text = document(statement("TeamCreatePushPull", "Allow", dev_user["arn"], TEAM, ARN + "team-a/*"))
    (tmp_path / "registry-policy.json").write_text(text)
    put = registry.aws("ecr", "put-registry-policy", "--policy-text", f"file://{tmp_path / 'registry-policy.json'}")
    assert json.loads(put.stdout) == {"registryId": ACCOUNT, "policyText": text}
    assert json.loads(registry.aws("ecr", "get-registry-policy").stdout)["policyText"] == text

    created = registry.aws("ecr", "create-repository", "--repository-name", "team-a/api",
                           key=dev.key, secret=dev.secret)
    assert json.loads(created.stdout)["repository"]["repositoryArn"] == ARN + "team-a/api"
    refused = registry.aws("ecr", "create-repository", "--repository-name", "team-b/web",
                           key=dev.key, secret=dev.secret, check=False)
    assert refused.returncode != 0 and "AccessDeniedException" in refused.stderr
    assert f"on resource: {ARN}team-b/web" in refused.stderr

    local = f"berth-team-{registry.port}"
    run(["docker", "build", "-t", local, "."], cwd=build_seed_image(tmp_path, "team", "team a"))
    tags = [f"{registry.host}/{name}:v1" for name in ["team-a/api", "team-b/api", "team-a/missing", "team-b/ghost"]]
    try:
        assert dev.login().returncode == 0
        for tag in tags:
            run(["docker", "tag", local, tag])
        assert dev.docker("push", tags[0]).returncode == 0, "the grant covers team-a/api"
        run(["docker", "rmi", tags[0]])
        assert dev.docker("pull", tags[0]).returncode == 0
        refused = dev.docker("push", tags[1])
        assert refused.returncode != 0 and "denied" in (refused.stdout + refused.stderr).lower()
        # Under the prefix, a missing repository is named as such; elsewhere it looks forbidden.
        missing = dev.docker("push", tags[2])
        assert missing.returncode != 0 and "does not exist" in (missing.stdout + missing.stderr)
        ghost = dev.docker("push", tags[3])
        assert ghost.returncode != 0 and "does not exist" not in (ghost.stdout + ghost.stderr)
        assert admin.login().returncode == 0
        assert admin.docker("pull", tags[0]).returncode == 0, "the root needs no grant"
    finally:
        run(["docker", "rmi", "-f", local, *tags], check=False)

    # Listings show exactly what the grant covers.
    listed = json.loads(registry.aws("ecr", "describe-repositories", key=dev.key, secret=dev.secret).stdout)
    assert [r["repositoryName"] for r in listed["repositories"]] == ["team-a/api"]
    catalog = OciClient.for_registry(registry, key=dev.key, secret=dev.secret).request("GET", "/v2/_catalog")
    assert catalog.json() == {"repositories": ["team-a/api"]}
    everything = json.loads(registry.aws("ecr", "describe-repositories").stdout)["repositories"]
    assert sorted(r["repositoryName"] for r in everything) == ["shared", "team-a/api", "team-b/api"]


def test_a_deny_in_either_policy_beats_an_allow_in_the_other(registry):
    admin = registry.ecr()
    admin.create_repository(repositoryName="team-a/api")
    config = OciClient.for_registry(registry).push_blob("team-a/api", b"{}")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
                           "layers": []})
    admin.put_image(repositoryName="team-a/api", imageManifest=manifest, imageTag="v1")
    dev_user, dev = user(registry, "dev")
    dev_oci = OciClient.for_registry(registry, key=dev_user["accessKeyId"], secret=dev_user["secretAccessKey"])

    # The registry policy allows, the repository policy denies: denied.
    admin.put_registry_policy(policyText=document(
        statement("TeamA", "Allow", dev_user["arn"], ["ecr:*"], ARN + "team-a/*")))
    assert dev.batch_get_image(repositoryName="team-a/api", imageIds=[{"imageTag": "v1"}])["images"]
    admin.set_repository_policy(repositoryName="team-a/api", policyText=document(
        statement("Frozen", "Deny", dev_user["arn"], ["ecr:PutImage", "ecr:BatchGetImage"])))
    code, message = error(dev.put_image, repositoryName="team-a/api", imageManifest=manifest, imageTag="v2")
    assert code == "AccessDeniedException"
    assert "explicit deny" in message and "statement 'Frozen' of the repository policy" in message
    assert dev_oci.request("GET", "/v2/team-a/api/manifests/v1").error_code() == "DENIED"

    # The repository policy allows, the registry policy denies: denied.
    admin.set_repository_policy(repositoryName="team-a/api", policyText=document(
        statement("Pull", "Allow", dev_user["arn"], ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"])))
    admin.put_registry_policy(policyText=document(
        statement("NoPullsAnywhere", "Deny", dev_user["arn"], ["ecr:BatchGetImage"], "*")))
    code, message = error(dev.batch_get_image, repositoryName="team-a/api", imageIds=[{"imageTag": "v1"}])
    assert code == "AccessDeniedException" and "statement 'NoPullsAnywhere' of the registry policy" in message
    assert dev_oci.request("GET", "/v2/team-a/api/manifests/v1").error_code() == "DENIED"
    # ...and once the registry policy goes, the repository policy's Allow holds again.
    deleted = admin.delete_registry_policy()
    assert json.loads(deleted["policyText"])["Statement"][0]["Sid"] == "NoPullsAnywhere"
    assert dev.batch_get_image(repositoryName="team-a/api", imageIds=[{"imageTag": "v1"}])["images"]
    assert dev_oci.request("GET", "/v2/team-a/api/manifests/v1").status == 200


def test_what_a_grant_reveals_about_missing_repositories(registry):
    admin = registry.ecr()
    dev_user, dev = user(registry, "dev")
    admin.put_registry_policy(policyText=document(
        statement("TeamA", "Allow", dev_user["arn"], ["ecr:DescribeImages", "ecr:BatchGetImage"], ARN + "team-a/*")))
    assert error(dev.describe_images, repositoryName="team-a/ghost")[0] == "RepositoryNotFoundException"
    code, message = error(dev.describe_images, repositoryName="team-b/ghost")
    assert code == "AccessDeniedException" and f"{ARN}team-b/ghost" in message
    dev_oci = OciClient.for_registry(registry, key=dev_user["accessKeyId"], secret=dev_user["secretAccessKey"])
    assert dev_oci.request("GET", "/v2/team-a/ghost/manifests/v1").error_code() == "NAME_UNKNOWN"
    assert dev_oci.request("GET", "/v2/team-b/ghost/manifests/v1").error_code() == "DENIED"

    # The token endpoint grants what the policies would allow, missing names included.
    login = base64.b64decode(dev.get_authorization_token()["authorizationData"][0]["authorizationToken"]).decode()
    r = requests.get(f"{registry.url}/v2/token", auth=tuple(login.split(":", 1)), timeout=30, params=[
        ("service", registry.host), ("scope", "repository:team-a/ghost:pull,push"),
        ("scope", "repository:team-b/ghost:pull")])
    payload = r.json()["token"].split(".")[0]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert {g["name"]: g["actions"] for g in claims["access"]} == {"team-a/ghost": ["pull"], "team-b/ghost": []}


def test_registry_policy_actions(registry):
    admin = registry.ecr()
    assert error(admin.get_registry_policy)[0] == "RegistryPolicyNotFoundException"
    code, message = error(admin.delete_registry_policy)
    assert code == "RegistryPolicyNotFoundException" and ACCOUNT in message

    # Validated with the grammar that enforces it: each problem named with its place.
    code, message = error(admin.put_registry_policy, policyText=document(
        {"Effect": "Allow", "Principal": "*", "Action": "ecr:CreateRepository"},
        {"Effect": "Allow", "Principal": "*", "Action": "ecr:PullImage", "Resource": "*"}))
    assert code == "InvalidParameterException" and "'Invalid registry policy provided'" in message
    assert "Statement[0].Resource: Resource is missing" in message
    assert "Statement[1].Action: 'ecr:PullImage' matches no ECR action; did you mean 'ecr:BatchGetImage'?" in message
    assert error(admin.put_registry_policy, policyText="x" * 10_241)[0] == "InvalidParameterException"

    # Stored and answered verbatim, whitespace and all.
    dev_user, dev = user(registry, "dev")
    text = document(statement("ReadPolicy", "Allow", dev_user["arn"], "ecr:GetRegistryPolicy", "*")) + "\n"
    put = admin.put_registry_policy(policyText=text)
    assert (put["registryId"], put["policyText"]) == (ACCOUNT, text)
    assert admin.get_registry_policy()["policyText"] == text
    # A user needs a grant on '*' for registry-level actions.
    assert dev.get_registry_policy()["policyText"] == text
    code, message = error(dev.put_registry_policy, policyText=text)
    assert code == "AccessDeniedException" and "on resource: * because" in message
    assert error(dev.delete_registry_policy)[0] == "AccessDeniedException"
    assert error(dev.get_registry_scanning_configuration)[0] == "AccessDeniedException"
    assert error(dev.describe_registry)[0] == "AccessDeniedException"

    # A Deny for everyone on everything: the root keeps the registry policy actions,
    # so it can always undo it; the user cannot even log in.
    admin.put_registry_policy(policyText=document(
        {"Sid": "Lockdown", "Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Resource": "*"}))
    code, message = error(admin.create_repository, repositoryName="anything")
    assert code == "AccessDeniedException" and "Lockdown" in message
    code, message = error(dev.get_authorization_token)
    assert code == "AccessDeniedException" and "Lockdown" in message
    # Nor through the token endpoint, with a key pair instead of a registry token.
    r = requests.get(f"{registry.url}/v2/token", auth=(dev_user["accessKeyId"], dev_user["secretAccessKey"]),
                     params={"service": registry.host, "scope": "repository:anything:pull"}, timeout=30)
    assert r.status_code == 403 and "Lockdown" in r.json()["errors"][0]["message"]
    assert "Lockdown" in admin.get_registry_policy()["policyText"]
    assert "Lockdown" in admin.delete_registry_policy()["policyText"]
    admin.create_repository(repositoryName="anything")
    assert dev.get_authorization_token()["authorizationData"]


def test_mounts_and_download_urls_follow_the_registry_policy(registry):
    admin = registry.ecr()
    for name in ["team-a/base", "team-a/app", "team-b/base"]:
        admin.create_repository(repositoryName=name)
    root_oci = OciClient.for_registry(registry)
    layer_a = root_oci.push_blob("team-a/base", b"team a's base layer")
    layer_b = root_oci.push_blob("team-b/base", b"team b's base layer")
    dev_user, dev = user(registry, "dev")
    admin.put_registry_policy(policyText=document(statement("TeamA", "Allow", dev_user["arn"], TEAM, ARN + "team-a/*")))
    dev_oci = OciClient.for_registry(registry, key=dev_user["accessKeyId"], secret=dev_user["secretAccessKey"])

    # A mount from a repository the grant covers is done; from another, it is an ordinary upload.
    r = dev_oci.request("POST", f"/v2/team-a/app/blobs/uploads/?mount={layer_a}&from=team-a/base")
    assert r.status == 201 and r.headers["location"] == f"/v2/team-a/app/blobs/{layer_a}"
    r = dev_oci.request("POST", f"/v2/team-a/app/blobs/uploads/?mount={layer_b}&from=team-b/base")
    assert r.status == 202
    assert dev_oci.request("HEAD", f"/v2/team-a/app/blobs/{layer_b}").status == 404

    # Download URLs are handed out under the grant and re-checked against the policy on every GET.
    url = dev.get_download_url_for_layer(repositoryName="team-a/base", layerDigest=layer_a)["downloadUrl"]
    assert requests.get(url, timeout=30).content == b"team a's base layer"
    assert error(dev.get_download_url_for_layer, repositoryName="team-b/base", layerDigest=layer_b)[0] == \
        "AccessDeniedException"
    admin.put_registry_policy(policyText=document(
        statement("TeamA", "Allow", dev_user["arn"], TEAM, ARN + "team-a/*"),
        statement("NoDownloads", "Deny", dev_user["arn"], ["ecr:GetDownloadUrlForLayer"], "*")))
    r = requests.get(url, timeout=30)
    assert r.status_code == 403 and "NoDownloads" in r.json()["errors"][0]["message"]
