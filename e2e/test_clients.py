"""Real clients against a real `berth-registry`: the docker engine, podman and skopeo."""

import base64
import json
import re
import shutil
import subprocess
import sys

import pytest

from layout import write_layout

AWS = shutil.which("aws") or f"{sys.executable} -m awscli"


def run(args, env=None, check=True, input=None, cwd=None, timeout=600):
    result = subprocess.run(args, capture_output=True, text=True, env=env, input=input, cwd=cwd, timeout=timeout,
                            shell=isinstance(args, str))
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def docker_env(registry, tmp_path):
    """The AWS CLI environment plus a private docker config (logins stay in the test)."""
    env = registry.aws_env()
    env["DOCKER_CONFIG"] = str(tmp_path / "docker-config")
    return env


def build_seed_image(tmp_path, name, text):
    """The seed's image, FROM scratch since no base image can be downloaded."""
    context = tmp_path / f"context-{name}"
    context.mkdir()
    (context / "index.html").write_text(f"<!doctype html><html><body><h2>{text}</h2></body></html>\n")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY ./index.html /usr/share/nginx/html/index.html\n")
    return context


def docker_login(registry, env):
    command = (f"{AWS} ecr get-login-password --region {registry.region} --endpoint-url {registry.url} "
               f"| docker login --username AWS --password-stdin {registry.host}")
    return run(command, env=env, check=False)


def test_docker_push_and_pull_with_ecr_login(registry, docker_env, tmp_path):
    run(f"{AWS} ecr create-repository --repository-name my-nginx-repository --endpoint-url {registry.url} "
        f"--region {registry.region}", env=docker_env)
    login = docker_login(registry, docker_env)
    assert login.returncode == 0 and "Login Succeeded" in login.stdout, login.stderr

    image = f"my-nginx-image-{registry.port}"
    uri = f"{registry.host}/my-nginx-repository"
    context = build_seed_image(tmp_path, "seed", "Hello from Nginx container")
    run(["docker", "build", "-t", image, "."], env=docker_env, cwd=context)
    run(["docker", "tag", f"{image}:latest", f"{uri}:latest"], env=docker_env)
    digest = None
    try:
        pushed = run(["docker", "push", f"{uri}:latest"], env=docker_env).stdout
        digest = re.search(r"digest: (sha256:[0-9a-f]{64})", pushed).group(1)

        described = json.loads(run(f"{AWS} ecr describe-images --repository-name my-nginx-repository "
                                   f"--endpoint-url {registry.url} --region {registry.region} --output json",
                                   env=docker_env).stdout)["imageDetails"]
        assert [d["imageDigest"] for d in described] == [digest]
        assert described[0]["imageTags"] == ["latest"]
        manifest = json.loads(run(["docker", "manifest", "inspect", "--insecure", f"{uri}:latest"], env=docker_env).stdout)
        assert described[0]["imageSizeInBytes"] == sum(layer["size"] for layer in manifest["layers"])
        assert described[0]["imageManifestMediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
        assert described[0]["artifactMediaType"] == "application/vnd.docker.container.image.v1+json"

        run(["docker", "rmi", f"{uri}:latest", f"{image}:latest"], env=docker_env)
        run(["docker", "pull", f"{uri}:latest"], env=docker_env)
        repo_digests = json.loads(run(["docker", "inspect", f"{uri}:latest"], env=docker_env).stdout)[0]["RepoDigests"]
        assert f"{uri}@{digest}" in repo_digests
        run(["docker", "rmi", f"{uri}:latest"], env=docker_env)
        run(["docker", "pull", f"{uri}@{digest}"], env=docker_env)

        pulled = registry.ecr().describe_images(repositoryName="my-nginx-repository")["imageDetails"][0]
        assert "lastRecordedPullTime" in pulled
    finally:
        leftovers = [f"{uri}:latest", image] + ([f"{uri}@{digest}"] if digest else [])
        run(["docker", "rmi", "-f", *leftovers], env=docker_env, check=False)


def test_docker_push_refusals_say_why(registry, docker_env, tmp_path):
    registry.ecr().create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    wrong = run(["docker", "login", "--username", "AWS", "--password-stdin", registry.host], env=docker_env,
                input="not-a-token", check=False)
    assert wrong.returncode != 0
    assert "unauthorized" in (wrong.stderr + wrong.stdout).lower()
    assert docker_login(registry, docker_env).returncode == 0

    first = build_seed_image(tmp_path, "one", "first")
    second = build_seed_image(tmp_path, "two", "second")
    names = []
    try:
        for context, name in [(first, "one"), (second, "two")]:
            tag = f"berth-test-{name}-{registry.port}"
            run(["docker", "build", "-t", tag, "."], env=docker_env, cwd=context)
            names.append(tag)
        missing = f"{registry.host}/never-created:latest"
        run(["docker", "tag", names[0], missing], env=docker_env)
        names.append(missing)
        refused = run(["docker", "push", missing], env=docker_env, check=False)
        assert refused.returncode != 0
        assert "create it first" in refused.stdout + refused.stderr

        locked = f"{registry.host}/locked:v1"
        run(["docker", "tag", names[0], locked], env=docker_env)
        names.append(locked)
        run(["docker", "push", locked], env=docker_env)
        run(["docker", "tag", names[1], locked], env=docker_env)
        moved = run(["docker", "push", locked], env=docker_env, check=False)
        assert moved.returncode != 0
        assert "cannot be overwritten because the repository is immutable" in moved.stdout + moved.stderr
    finally:
        run(["docker", "rmi", "-f", *names], env=docker_env, check=False)


def registry_token(registry):
    data = registry.ecr().get_authorization_token()["authorizationData"][0]
    return base64.b64decode(data["authorizationToken"]).decode().split(":", 1)[1]


def test_podman_push_and_pull(registry, tmp_path):
    registry.ecr().create_repository(repositoryName="podman/app")
    env = registry.aws_env()
    env["REGISTRY_AUTH_FILE"] = str(tmp_path / "podman-auth.json")
    run(f"{AWS} ecr get-login-password --region {registry.region} --endpoint-url {registry.url} "
        f"| podman login --tls-verify=false --username AWS --password-stdin {registry.host}", env=env)
    context = build_seed_image(tmp_path, "podman", "from podman")
    uri = f"{registry.host}/podman/app:v1"
    try:
        run(["podman", "build", "-t", uri, "."], env=env, cwd=context)
        run(["podman", "push", "--tls-verify=false", uri], env=env)
        run(["podman", "rmi", uri], env=env)
        run(["podman", "pull", "--tls-verify=false", uri], env=env)
        tags = registry.ecr().list_images(repositoryName="podman/app")["imageIds"]
        assert [t["imageTag"] for t in tags] == ["v1"]
    finally:
        run(["podman", "rmi", "-f", uri], env=env, check=False)


@pytest.mark.parametrize("fmt, media_type", [
    ("v2s2", "application/vnd.docker.distribution.manifest.v2+json"),
    ("oci", "application/vnd.oci.image.manifest.v1+json"),
])
def test_skopeo_copies_in_docker_and_oci_formats(registry, tmp_path, fmt, media_type):
    registry.ecr().create_repository(repositoryName="skopeo")
    creds = f"AWS:{registry_token(registry)}"
    layout = tmp_path / "layout"
    write_layout(str(layout), "single", [("amd64", None)])
    target = f"docker://{registry.host}/skopeo:{fmt}"
    run(["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", creds, "--format", fmt,
         "--override-arch", "amd64", "--override-os", "linux", f"oci:{layout}:single", target])
    raw = run(["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", creds, target]).stdout
    assert json.loads(raw)["mediaType"] == media_type
    run(["skopeo", "copy", "--src-tls-verify=false", "--src-creds", creds, target, f"oci:{tmp_path / 'back'}:copy"])
    detail = registry.ecr().describe_images(repositoryName="skopeo", imageIds=[{"imageTag": fmt}])["imageDetails"][0]
    assert detail["imageManifestMediaType"] == media_type


def test_skopeo_multi_platform_index_round_trips_byte_for_byte(registry, tmp_path):
    registry.ecr().create_repository(repositoryName="multi/app")
    creds = f"AWS:{registry_token(registry)}"
    layout = tmp_path / "layout"
    index, index_digest = write_layout(str(layout), "multi", [("amd64", None), ("arm64", "v8")])
    target = f"docker://{registry.host}/multi/app:multi"
    run(["skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", creds,
         f"oci:{layout}:multi", target])
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", creds, target],
                         capture_output=True, timeout=120, check=True).stdout
    assert raw == index
    detail = registry.ecr().describe_images(repositoryName="multi/app", imageIds=[{"imageTag": "multi"}])["imageDetails"][0]
    assert detail["imageDigest"] == index_digest
    assert detail["imageManifestMediaType"] == "application/vnd.oci.image.index.v1+json"
    # Each platform is pullable on its own.
    for arch in ["amd64", "arm64"]:
        run(["skopeo", "copy", "--src-tls-verify=false", "--src-creds", creds, "--override-arch", arch,
             target, f"oci:{tmp_path / ('pulled-' + arch)}:x"])
