"""Lifecycle policies against a real `berth-registry`: Put/Get/DeleteLifecyclePolicy,
Start/GetLifecyclePolicyPreview through boto3, the AWS CLI and raw calls, and the runs
that act on them — `berth-registry lifecycle run [--dry-run]` beside `serve`, and
serve's own schedule."""

import datetime
import json
import sqlite3
import subprocess
import time

import botocore.exceptions
import pytest

from conftest import REGISTRY_BIN, Registry
from oci import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, OciClient, digest_of
from sigv4 import ecr_call

DAY = 86_400
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def rule(priority, selection, description=None):
    body = {"rulePriority": priority}
    if description:
        body["description"] = description
    body.update(selection=selection, action={"type": "expire"})
    return body


def policy(*rules, indent=None):
    return json.dumps({"rules": list(rules)}, indent=indent)


def keep_tagged(count, pattern="v*", priority=1):
    return rule(priority, {"tagStatus": "tagged", "tagPatternList": [pattern], "countType": "imageCountMoreThan",
                           "countNumber": count}, f"Keep the last {count} images tagged {pattern}")


def keep_untagged(count, priority=2):
    return rule(priority, {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": count},
                f"Keep the last {count} untagged images")


def compact(text):
    return json.dumps(json.loads(text), separators=(",", ":"))


def raises(error_code, call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(**kwargs)
    assert excinfo.value.response["Error"]["Code"] == error_code, excinfo.value.response
    return excinfo.value.response["Error"]["Message"]


def push(client, repository, note, tag=None):
    """A distinct image (its config says `note`), tagged or not; its manifest and digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "note": note}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": client.push_blob(repository, config), "size": len(config)},
        "layers": [],
    }).encode()
    digest = digest_of(manifest)
    r = client.push_manifest(repository, tag or digest, manifest)
    assert r.status == 201, r
    return manifest, digest


def push_index(client, repository, tag, children):
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(raw),
         "platform": {"architecture": arch, "os": "linux"}}
        for (raw, digest), arch in zip(children, ["amd64", "arm64"])]}).encode()
    r = client.push_manifest(repository, tag, index, OCI_INDEX)
    assert r.status == 201, r
    return digest_of(index)


def wait_until(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def completed_preview(ecr, repository, **kwargs):
    """GetLifecyclePolicyPreview once the preview is no longer IN_PROGRESS."""
    def done():
        response = ecr.get_lifecycle_policy_preview(repositoryName=repository, **kwargs)
        return response if response["status"] != "IN_PROGRESS" else None
    response = wait_until(done, what="the preview to complete")
    assert response["status"] == "COMPLETE", response
    return response


def images(ecr, repository):
    """{digest: tags} of every image in the repository."""
    pages = ecr.get_paginator("describe_images").paginate(repositoryName=repository)
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for p in pages for d in p["imageDetails"]}


def lifecycle_run(registry, *args):
    result = subprocess.run([REGISTRY_BIN, "lifecycle", "run", "--data", str(registry.data), "--json", *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def ecr(registry):
    return registry.ecr()


@pytest.fixture
def client(registry):
    return OciClient.for_registry(registry)


@pytest.fixture
def team_api(ecr, client):
    """team/api: v1..v5 pushed oldest first, two untagged images, and an index `multi`
    over two more untagged images."""
    ecr.create_repository(repositoryName="team/api")
    pushed = {f"v{i}": push(client, "team/api", f"v{i}", f"v{i}")[1] for i in range(1, 6)}
    pushed["u1"] = push(client, "team/api", "u1")[1]
    pushed["u2"] = push(client, "team/api", "u2")[1]
    children = [push(client, "team/api", name) for name in ["c1", "c2"]]
    pushed["c1"], pushed["c2"] = children[0][1], children[1][1]
    pushed["multi"] = push_index(client, "team/api", "multi", children)
    return pushed


def test_policies_are_stored_returned_and_deleted_as_aws_does(registry, ecr):
    ecr.create_repository(repositoryName="team/api")
    raises("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName="team/api")
    raises("LifecyclePolicyNotFoundException", ecr.delete_lifecycle_policy, repositoryName="team/api")

    text = policy(keep_tagged(2), keep_untagged(1), indent=4)
    put = ecr.put_lifecycle_policy(repositoryName="team/api", lifecyclePolicyText=text)
    # Kept as AWS keeps it: the same document, compact.
    assert put["lifecyclePolicyText"] == compact(text)
    assert (put["registryId"], put["repositoryName"]) == ("123456789012", "team/api")
    got = ecr.get_lifecycle_policy(repositoryName="team/api")
    assert got["lifecyclePolicyText"] == compact(text)
    assert got["lastEvaluatedAt"] == EPOCH  # never run

    raises("RepositoryNotFoundException", ecr.put_lifecycle_policy, repositoryName="missing", lifecyclePolicyText=text)
    raises("RepositoryNotFoundException", ecr.get_lifecycle_policy, repositoryName="missing")

    # Each problem is named by its rule and field.
    no_unit = policy(rule(3, {"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 14}))
    message = raises("InvalidParameterException", ecr.put_lifecycle_policy, repositoryName="team/api",
                     lifecyclePolicyText=no_unit)
    assert "Lifecycle policy validation failure" in message
    assert "rules[0].selection.countUnit: rulePriority 3: countUnit is missing" in message
    twice = policy(keep_tagged(2, priority=1), keep_untagged(1, priority=1))
    message = raises("InvalidParameterException", ecr.put_lifecycle_policy, repositoryName="team/api",
                     lifecyclePolicyText=twice)
    assert "rules[1].rulePriority: rulePriority 1" in message and "unique rulePriority" in message
    no_list = policy(rule(1, {"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1},
                          "a tagged rule needs its tags listed"))
    message = raises("InvalidParameterException", ecr.put_lifecycle_policy, repositoryName="team/api",
                     lifecyclePolicyText=no_list)
    assert "rules[0].selection" in message and "tagPatternList" in message

    # AWS's length limits (botocore does not check them before sending: send raw).
    key, secret = registry.access_key_id, registry.secret_access_key
    too_short = '{"rules":[]}'
    long_rule = keep_untagged(1, priority=1)
    long_rule["description"] = "x" * 30_720
    for text_, size in [(too_short, len(too_short)), (policy(long_rule), len(policy(long_rule)))]:
        status, body = ecr_call(registry.url, "PutLifecyclePolicy",
                                {"repositoryName": "team/api", "lifecyclePolicyText": text_}, key, secret)
        assert (status, body["__type"]) == (400, "InvalidParameterException"), body
        assert "Member must have length between 100 and 30720" in body["message"]
        assert f"({size} characters given)" in body["message"]

    # None of the refused policies replaced the saved one.
    assert ecr.get_lifecycle_policy(repositoryName="team/api")["lifecyclePolicyText"] == compact(text)
    deleted = ecr.delete_lifecycle_policy(repositoryName="team/api")
    assert deleted["lifecyclePolicyText"] == compact(text)
    assert deleted["lastEvaluatedAt"] == EPOCH
    raises("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName="team/api")


def test_preview_of_a_draft_lists_what_a_run_would_expire(registry, ecr, team_api):
    raises("LifecyclePolicyPreviewNotFoundException", ecr.get_lifecycle_policy_preview, repositoryName="team/api")
    raises("LifecyclePolicyNotFoundException", ecr.start_lifecycle_policy_preview, repositoryName="team/api")
    raises("InvalidParameterException", ecr.start_lifecycle_policy_preview, repositoryName="team/api",
           lifecyclePolicyText=policy(rule(1, {"tagStatus": "sometimes", "countType": "imageCountMoreThan",
                                                "countNumber": 1}, "not a tag status AWS knows")))
    raises("LifecyclePolicyPreviewNotFoundException", ecr.get_lifecycle_policy_preview, repositoryName="team/api")

    draft = policy(keep_tagged(2), keep_untagged(1), indent=2)
    started = ecr.start_lifecycle_policy_preview(repositoryName="team/api", lifecyclePolicyText=draft)
    assert started["status"] == "IN_PROGRESS"
    assert started["lifecyclePolicyText"] == draft
    preview = completed_preview(ecr, "team/api")
    assert preview["lifecyclePolicyText"] == draft
    # v1..v3 beyond the last two v*; u1 and u2 beyond the youngest untagged image (c2).
    # c1 is older than c2 too, but the index `multi` refers to it: left alone.
    expected = [("v1", 1), ("v2", 1), ("v3", 1), ("u1", 2), ("u2", 2)]
    results = preview["previewResults"]
    assert [(r["imageDigest"], r["appliedRulePriority"]) for r in results] == \
        [(team_api[name], priority) for name, priority in expected]
    assert [r.get("imageTags", []) for r in results] == [["v1"], ["v2"], ["v3"], [], []]
    assert all(r["action"] == {"type": "EXPIRE"} for r in results)
    pushed_at = [r["imagePushedAt"] for r in results]
    assert pushed_at == sorted(pushed_at)
    assert preview["summary"] == {"expiringImageTotalCount": 5}

    # A preview acts on nothing, and saves nothing.
    assert len(images(ecr, "team/api")) == 10
    raises("LifecyclePolicyNotFoundException", ecr.get_lifecycle_policy, repositoryName="team/api")

    tagged = ecr.get_lifecycle_policy_preview(repositoryName="team/api", filter={"tagStatus": "TAGGED"})
    assert [r["imageDigest"] for r in tagged["previewResults"]] == [team_api[n] for n in ["v1", "v2", "v3"]]
    assert tagged["summary"] == {"expiringImageTotalCount": 5}
    untagged = ecr.get_lifecycle_policy_preview(repositoryName="team/api", filter={"tagStatus": "UNTAGGED"})
    assert [r["imageDigest"] for r in untagged["previewResults"]] == [team_api["u1"], team_api["u2"]]

    # Pages of two, in order, each result once.
    pages, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = ecr.get_lifecycle_policy_preview(repositoryName="team/api", maxResults=2, **kwargs)
        pages.append([r["imageDigest"] for r in page["previewResults"]])
        token = page.get("nextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sum(pages, []) == [r["imageDigest"] for r in results]
    paginated = ecr.get_paginator("get_lifecycle_policy_preview").paginate(
        repositoryName="team/api", PaginationConfig={"PageSize": 3}).build_full_result()
    assert [r["imageDigest"] for r in paginated["previewResults"]] == [r["imageDigest"] for r in results]

    by_id = ecr.get_lifecycle_policy_preview(repositoryName="team/api",
                                             imageIds=[{"imageTag": "v2"}, {"imageDigest": team_api["u1"]},
                                                       {"imageTag": "v5"}])
    assert [r["imageDigest"] for r in by_id["previewResults"]] == [team_api["v2"], team_api["u1"]]
    raises("InvalidParameterException", ecr.get_lifecycle_policy_preview, repositoryName="team/api",
           imageIds=[{"imageTag": "v2"}], maxResults=2)
    key, secret = registry.access_key_id, registry.secret_access_key
    for bad in [{"maxResults": 101}, {"maxResults": 0}, {"nextToken": "forged"}, {"filter": {"tagStatus": "SOME"}}]:
        status, body = ecr_call(registry.url, "GetLifecyclePolicyPreview", {"repositoryName": "team/api", **bad},
                                key, secret)
        assert (status, body["__type"]) == (400, "InvalidParameterException"), (bad, body)

    # Without a text, the saved policy is previewed.
    ecr.put_lifecycle_policy(repositoryName="team/api", lifecyclePolicyText=policy(keep_tagged(4)))
    saved = ecr.start_lifecycle_policy_preview(repositoryName="team/api")
    assert saved["lifecyclePolicyText"] == compact(policy(keep_tagged(4)))
    preview = completed_preview(ecr, "team/api")
    assert [r["imageDigest"] for r in preview["previewResults"]] == [team_api["v1"]]
    assert preview["summary"] == {"expiringImageTotalCount": 1}
    assert len(images(ecr, "team/api")) == 10


def test_the_aws_cli_puts_gets_previews_and_deletes_verbatim(registry, client, tmp_path):
    registry.aws("ecr", "create-repository", "--repository-name", "project-a/amazon-ecs-sample")
    digests = [push(client, "project-a/amazon-ecs-sample", f"v{i}", f"v{i}")[1] for i in range(1, 6)]
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(policy(keep_tagged(2), indent=4))
    name = ["--repository-name", "project-a/amazon-ecs-sample"]

    put = json.loads(registry.aws("ecr", "put-lifecycle-policy", *name,
                                  "--lifecycle-policy-text", f"file://{policy_file}").stdout)
    assert put["lifecyclePolicyText"] == compact(policy_file.read_text())
    got = json.loads(registry.aws("ecr", "get-lifecycle-policy", *name).stdout)
    assert got["lifecyclePolicyText"] == compact(policy_file.read_text())
    assert "lastEvaluatedAt" in got

    started = json.loads(registry.aws("ecr", "start-lifecycle-policy-preview", *name,
                                      "--lifecycle-policy-text", f"file://{policy_file}").stdout)
    assert started["status"] == "IN_PROGRESS"
    registry.aws("ecr", "wait", "lifecycle-policy-preview-complete", *name)
    # The CLI pages through every result itself.
    preview = json.loads(registry.aws("ecr", "get-lifecycle-policy-preview", *name, "--page-size", "1").stdout)
    assert preview["status"] == "COMPLETE"
    assert [r["imageDigest"] for r in preview["previewResults"]] == digests[:3]
    assert [r["imageTags"] for r in preview["previewResults"]] == [["v1"], ["v2"], ["v3"]]
    assert preview["summary"]["expiringImageTotalCount"] == 3
    tagged = json.loads(registry.aws("ecr", "get-lifecycle-policy-preview", *name,
                                     "--filter", "tagStatus=TAGGED", "--image-ids", "imageTag=v1").stdout)
    assert [r["imageDigest"] for r in tagged["previewResults"]] == digests[:1]

    deleted = json.loads(registry.aws("ecr", "delete-lifecycle-policy", *name).stdout)
    assert deleted["lifecyclePolicyText"] == compact(policy_file.read_text())
    missing = registry.aws("ecr", "get-lifecycle-policy", *name, check=False)
    assert missing.returncode != 0 and "LifecyclePolicyNotFoundException" in missing.stderr


def test_lifecycle_run_beside_serve_expires_what_the_preview_lists(registry, ecr, client, team_api):
    ecr.put_lifecycle_policy(repositoryName="team/api", lifecyclePolicyText=policy(keep_tagged(2), keep_untagged(1)))
    ecr.start_lifecycle_policy_preview(repositoryName="team/api")
    listed = [r["imageDigest"] for r in completed_preview(ecr, "team/api")["previewResults"]]

    dry = lifecycle_run(registry, "--dry-run")
    assert dry["dryRun"] is True and dry["repositoriesEvaluated"] == 1
    assert [e["imageDigest"] for e in dry["expired"]] == listed
    assert len(images(ecr, "team/api")) == 10
    assert ecr.get_lifecycle_policy(repositoryName="team/api")["lastEvaluatedAt"] == EPOCH

    before = time.time()
    report = lifecycle_run(registry)
    assert report["dryRun"] is False and report["failureCount"] == 0
    assert [e["imageDigest"] for e in report["expired"]] == listed
    assert [(e["repositoryName"], e["appliedRulePriority"]) for e in report["expired"]] == \
        [("team/api", 1)] * 3 + [("team/api", 2)] * 2
    left = images(ecr, "team/api")
    assert set(left) == {team_api[n] for n in ["v4", "v5", "c1", "c2", "multi"]}
    evaluated = ecr.get_lifecycle_policy(repositoryName="team/api")["lastEvaluatedAt"].timestamp()
    assert before - 1 <= evaluated <= time.time() + 1

    # c1 goes once the index that refers to it is gone.
    ecr.batch_delete_image(repositoryName="team/api", imageIds=[{"imageDigest": team_api["multi"]}])
    report = lifecycle_run(registry)
    assert [e["imageDigest"] for e in report["expired"]] == [team_api["c1"]]
    assert set(images(ecr, "team/api")) == {team_api[n] for n in ["v4", "v5", "c2"]}
    # A run with nothing left to expire changes nothing.
    assert lifecycle_run(registry)["imagesExpired"] == 0
    assert len(images(ecr, "team/api")) == 3


def test_serve_applies_policies_on_its_schedule(tmp_path):
    registry = Registry(tmp_path, extra_args=["--lifecycle-interval", "1s"])
    try:
        ecr = registry.ecr()
        client = OciClient.for_registry(registry)
        ecr.create_repository(repositoryName="nightly")
        ecr.put_lifecycle_policy(repositoryName="nightly", lifecyclePolicyText=policy(keep_tagged(1, "n-*")))
        kept = None
        for i in range(3):
            kept = push(client, "nightly", f"n-{i}", f"n-{i}")[1]
        wait_until(lambda: set(images(ecr, "nightly")) == {kept}, what="the scheduled run to expire n-0 and n-1")
        assert ecr.get_lifecycle_policy(repositoryName="nightly")["lastEvaluatedAt"] > EPOCH
        wait_until(lambda: "lifecycle run expired" in registry.output(), what="serve's report of the run")
    finally:
        registry.stop()


def test_since_image_pulled_counts_from_the_last_recorded_pull(registry, ecr, client):
    ecr.create_repository(repositoryName="team/pulls")
    pulled = push(client, "team/pulls", "pulled", "pulled")[1]
    idle = push(client, "team/pulls", "idle", "idle")[1]
    # Both pushed ten days ago (the store's clock moved back: days cannot pass in a test).
    with sqlite3.connect(registry.data / "berth.db", timeout=30) as db:
        db.execute("UPDATE manifests SET pushed_at = pushed_at - ?", (10 * DAY,))
    fresh = push(client, "team/pulls", "fresh", "fresh")[1]
    got = client.request("GET", "/v2/team/pulls/manifests/pulled", headers={"Accept": OCI_MANIFEST})
    assert got.status == 200

    def pull_recorded():
        details = ecr.describe_images(repositoryName="team/pulls", imageIds=[{"imageTag": "pulled"}])["imageDetails"]
        return "lastRecordedPullTime" in details[0]
    wait_until(pull_recorded, what="the pull to be recorded")

    # AWS pairs sinceImagePulled with the transition (archive) action only.
    unused = {"rulePriority": 1, "description": "Archive images not pulled for 5 days",
              "selection": {"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 5},
              "action": {"type": "transition", "targetStorageClass": "archive"}}
    ecr.put_lifecycle_policy(repositoryName="team/pulls", lifecyclePolicyText=policy(unused))
    ecr.start_lifecycle_policy_preview(repositoryName="team/pulls")
    preview = completed_preview(ecr, "team/pulls")
    # `pulled` was pulled just now; `fresh` was never pulled, so it counts from its push.
    assert [(r["imageDigest"], r["action"]) for r in preview["previewResults"]] == \
        [(idle, {"type": "TRANSITION", "targetStorageClass": "ARCHIVE"})]
    assert preview["summary"] == {"expiringImageTotalCount": 0, "transitioningImageTotalCounts": [
        {"targetStorageClass": "ARCHIVE", "imageTotalCount": 1}]}
    # Berth has no archive storage class: a run leaves the image as it is, and says so.
    report = lifecycle_run(registry)
    assert (report["imagesExpired"], report["transitionsSkipped"]) == (0, 1)
    assert set(images(ecr, "team/pulls")) == {pulled, idle, fresh}

    old = rule(1, {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 5},
               "Expire images pushed more than 5 days ago")
    ecr.start_lifecycle_policy_preview(repositoryName="team/pulls", lifecyclePolicyText=policy(old))
    assert [r["imageDigest"] for r in completed_preview(ecr, "team/pulls")["previewResults"]] == [pulled, idle]
