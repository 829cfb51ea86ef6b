"""A lifecycle policy from push to freed disk, with the real docker engine: five tags of
distinct images, "keep the last 2 tagged v*", its preview, a run, garbage collection,
and pulls of what is kept."""

import json
import os
import subprocess
import time

from conftest import REGISTRY_BIN
from test_clients import docker_env, docker_login, run  # noqa: F401 (docker_env is a fixture)

KEEP_TWO = json.dumps({"rules": [{
    "rulePriority": 1,
    "description": "Keep the last 2 images tagged v*",
    "selection": {"tagStatus": "tagged", "tagPatternList": ["v*"], "countType": "imageCountMoreThan", "countNumber": 2},
    "action": {"type": "expire"},
}]})


def blob_files(registry):
    """Every blob file on disk: {digest: size}."""
    found = {}
    for root, _, files in os.walk(registry.data / "blobs" / "sha256"):
        for name in files:
            found["sha256:" + name] = os.path.getsize(os.path.join(root, name))
    return found


def registry_command(*args):
    result = subprocess.run([REGISTRY_BIN, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_keep_the_last_two_tags_then_gc_frees_the_expired_images_layers(registry, docker_env, tmp_path):
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="lifecycle/app")
    assert docker_login(registry, docker_env).returncode == 0
    uri = f"{registry.host}/lifecycle/app"
    local = [f"berth-lifecycle-{registry.port}-v{i}" for i in range(1, 6)]
    contents = {}
    try:
        digests = {}
        for i, name in enumerate(local, start=1):
            context = tmp_path / f"v{i}"
            context.mkdir()
            # Random bytes: each image's layer is its own, and compresses to about its size.
            contents[i] = os.urandom(192 * 1024 + i)
            (context / "data.bin").write_bytes(contents[i])
            (context / "Dockerfile").write_text("FROM scratch\nCOPY data.bin /data.bin\n")
            run(["docker", "build", "-t", name, "."], env=docker_env, cwd=context)
            run(["docker", "tag", name, f"{uri}:v{i}"], env=docker_env)
            pushed = run(["docker", "push", f"{uri}:v{i}"], env=docker_env).stdout
            digests[i] = next(w for w in pushed.split() if w.startswith("sha256:"))
            # Each push strictly after the last: "last 2" is by push time.
            time.sleep(0.01)

        manifests = {i: json.loads(ecr.batch_get_image(repositoryName="lifecycle/app",
                                                       imageIds=[{"imageTag": f"v{i}"}])["images"][0]["imageManifest"])
                     for i in digests}
        blobs_of = {i: {m["config"]["digest"]: m["config"]["size"], **{l["digest"]: l["size"] for l in m["layers"]}}
                    for i, m in manifests.items()}
        expiring = {d: s for i in (1, 2, 3) for d, s in blobs_of[i].items()}
        kept = {d: s for i in (4, 5) for d, s in blobs_of[i].items()}
        assert not set(expiring) & set(kept), "each image's config and layer are its own"

        ecr.put_lifecycle_policy(repositoryName="lifecycle/app", lifecyclePolicyText=KEEP_TWO)
        ecr.start_lifecycle_policy_preview(repositoryName="lifecycle/app")
        deadline = time.monotonic() + 60
        while (preview := ecr.get_lifecycle_policy_preview(repositoryName="lifecycle/app"))["status"] == "IN_PROGRESS":
            assert time.monotonic() < deadline, "the preview did not complete"
            time.sleep(0.05)
        assert preview["status"] == "COMPLETE"
        assert [(r["imageDigest"], r["imageTags"]) for r in preview["previewResults"]] == \
            [(digests[i], [f"v{i}"]) for i in (1, 2, 3)]
        assert preview["summary"]["expiringImageTotalCount"] == 3

        report = registry_command("lifecycle", "run", "--data", str(registry.data), "--json")
        assert [e["imageDigest"] for e in report["expired"]] == [digests[i] for i in (1, 2, 3)]
        described = ecr.describe_images(repositoryName="lifecycle/app")["imageDetails"]
        assert sorted((d["imageDigest"], d["imageTags"]) for d in described) == \
            sorted((digests[i], [f"v{i}"]) for i in (4, 5))

        on_disk = blob_files(registry)
        assert set(expiring) | set(kept) <= set(on_disk)
        collected = registry_command("gc", "--data", str(registry.data), "--json")
        after = blob_files(registry)
        assert collected["blobBytesFreed"] == sum(expiring.values())
        assert sum(on_disk.values()) - sum(after.values()) == sum(expiring.values())
        assert not set(expiring) & set(after)
        assert {d: after.get(d) for d in kept} == kept

        for i in (4, 5):
            run(["docker", "rmi", "-f", f"{uri}:v{i}", local[i - 1]], env=docker_env)
            run(["docker", "pull", f"{uri}:v{i}"], env=docker_env)
            inspected = json.loads(run(["docker", "inspect", f"{uri}:v{i}"], env=docker_env).stdout)[0]
            assert f"{uri}@{digests[i]}" in inspected["RepoDigests"]
            container = run(["docker", "create", f"{uri}:v{i}", "/none"], env=docker_env).stdout.strip()
            try:
                run(["docker", "cp", f"{container}:/data.bin", str(tmp_path / f"pulled-{i}.bin")], env=docker_env)
            finally:
                run(["docker", "rm", "-f", container], env=docker_env, check=False)
            assert (tmp_path / f"pulled-{i}.bin").read_bytes() == contents[i]
        gone = run(["docker", "pull", f"{uri}:v1"], env=docker_env, check=False)
        assert gone.returncode != 0
    finally:
        run(["docker", "rmi", "-f", *local, *[f"{uri}:v{i}" for i in range(1, 6)]], env=docker_env, check=False)
