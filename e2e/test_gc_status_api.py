"""Berth's own action GetGarbageCollectionStatus (`X-Amz-Target:
BerthRegistry_V1.GetGarbageCollectionStatus`), over raw signed HTTP: what the
console's registry page reads. Signed and authorized like every ECR call
(`ecr:DescribeRegistry` on `*`); unknown Berth actions are unknown operations."""

import json
import time

from conftest import Registry
from oci import OciClient
from sigv4 import http, sign
from test_gc import gc

BERTH_PREFIX = "BerthRegistry_V1."
SIX_HOURS = 6 * 3600


def berth_call(registry, action, payload=None, key=None, secret=None, signed=True):
    body = json.dumps({} if payload is None else payload).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": BERTH_PREFIX + action}
    if signed:
        headers = sign("POST", registry.url + "/", headers, body, key or registry.access_key_id,
                       secret or registry.secret_access_key, registry.region)
    status, _, raw = http("POST", registry.url + "/", headers, body)
    return status, json.loads(raw or b"{}")


def test_status_before_and_after_a_collection(registry):
    started = time.time()
    status, body = berth_call(registry, "GetGarbageCollectionStatus")
    assert status == 200, body
    # serve writes its schedule as it starts (default interval: 6 h); nothing has run yet.
    assert "lastRun" not in body
    assert body["schedule"]["intervalSeconds"] == SIX_HOURS
    assert started + SIX_HOURS - 60 <= body["schedule"]["nextRunAt"] <= time.time() + SIX_HOURS + 1

    # An image in a repository that is then deleted leaves its blobs to collect.
    registry.ecr().create_repository(repositoryName="gone/app")
    OciClient.for_registry(registry).push_image("gone/app", "v1", [b"x" * 5000, b"y" * 3000])
    registry.ecr().delete_repository(repositoryName="gone/app", force=True)
    report = gc(registry)
    assert report["bytesFreed"] >= 8000 and report["blobsDeleted"] == 3, report

    status, body = berth_call(registry, "GetGarbageCollectionStatus")
    assert status == 200, body
    assert body["lastRun"] == {
        "startedAt": report["startedAt"],
        "seconds": report["seconds"],
        "blobsDeleted": report["blobsDeleted"] + report["leftoverBlobsDeleted"],
        "uploadsDeleted": report["uploadsExpired"] + report["leftoverUploadsDeleted"],
        "bytesFreed": report["bytesFreed"],
        "failureCount": 0,
    }
    # serve's next run waits an interval after the last run of any process.
    assert body["schedule"]["nextRunAt"] >= report["startedAt"] + report["seconds"] + SIX_HOURS


def test_a_dry_run_is_not_reported_and_no_schedule_without_one(tmp_path):
    registry = Registry(tmp_path, extra_args=["--gc-interval", "0"])
    try:
        gc(registry, "--dry-run")
        status, body = berth_call(registry, "GetGarbageCollectionStatus")
        assert (status, body) == (200, {})
    finally:
        registry.stop()


def test_signed_and_authorized_like_every_ecr_call(registry):
    status, body = berth_call(registry, "GetGarbageCollectionStatus", signed=False)
    assert status == 403 and body["__type"] == "MissingAuthenticationTokenException", body
    status, body = berth_call(registry, "GetGarbageCollectionStatus", secret="wrong" * 8)
    assert status == 403 and body["__type"] == "InvalidSignatureException", body

    status, body = berth_call(registry, "CollectEverythingNow")
    assert status == 400 and body["__type"] == "UnknownOperationException", body
    assert "BerthRegistry_V1.CollectEverythingNow" in body["message"]
    status, body = berth_call(registry, "GetGarbageCollectionStatus", payload=[1, 2])
    assert status == 400 and body["__type"] == "SerializationException", body

    ops = registry.add_user("ops")
    as_ops = dict(key=ops["accessKeyId"], secret=ops["secretAccessKey"])
    status, body = berth_call(registry, "GetGarbageCollectionStatus", **as_ops)
    assert status == 403 and body["__type"] == "AccessDeniedException", body
    assert "ecr:DescribeRegistry" in body["message"]

    # The permission that reads the registry's state (DescribeRegistry) reads this too.
    registry.ecr().put_registry_policy(policyText=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Ops", "Effect": "Allow", "Principal": {"AWS": ops["arn"]},
        "Action": "ecr:DescribeRegistry", "Resource": "*"}]}))
    status, body = berth_call(registry, "GetGarbageCollectionStatus", **as_ops)
    assert status == 200 and "schedule" in body, body
    registry.ecr().put_registry_policy(policyText=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "NoOps", "Effect": "Deny", "Principal": "*", "Action": "ecr:Describe*", "Resource": "*"}]}))
    status, body = berth_call(registry, "GetGarbageCollectionStatus")
    assert status == 403 and body["__type"] == "AccessDeniedException", "a Deny refuses the root too"
