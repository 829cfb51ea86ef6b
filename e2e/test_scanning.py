"""Scanning configuration, stored and returned exactly as AWS's shapes have it, each
repository's effective configuration, and scans, which Berth does not run and says
so — through the real AWS CLI and boto3."""

import json

import botocore.exceptions
import pytest

import sigv4
from oci import OciClient

ACCOUNT = "123456789012"
ARN = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/"


def error(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(**kwargs)
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def raw(registry, action, payload):
    """A request boto3 would refuse to send (it checks lengths and ranges first)."""
    body = json.dumps(payload).encode()
    headers = sigv4.sign("POST", registry.url + "/", {
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": sigv4.TARGET_PREFIX + action},
        body, registry.access_key_id, registry.secret_access_key, registry.region)
    status, _, answer = sigv4.http("POST", registry.url + "/", headers, body)
    return status, json.loads(answer)


def configurations(answer):
    return {c["repositoryName"]: (c["scanOnPush"], c["scanFrequency"], c["appliedScanFilters"])
            for c in answer["scanningConfigurations"]}


def wildcard(text):
    return {"filter": text, "filterType": "WILDCARD"}


def test_registry_and_repository_scanning_configurations(registry):
    aws = lambda *args: json.loads(registry.aws("ecr", *args).stdout)
    assert aws("get-registry-scanning-configuration") == {
        "registryId": ACCOUNT, "scanningConfiguration": {"scanType": "BASIC", "rules": []}}
    aws("create-repository", "--repository-name", "team-a/prod-api", "--image-scanning-configuration", "scanOnPush=true")
    aws("create-repository", "--repository-name", "dev")

    # Basic scanning without rules: each repository's own scanOnPush decides.
    answer = aws("batch-get-repository-scanning-configuration", "--repository-names", "team-a/prod-api", "dev", "ghost")
    assert configurations(answer) == {"team-a/prod-api": (True, "SCAN_ON_PUSH", []), "dev": (False, "MANUAL", [])}
    assert answer["scanningConfigurations"][0]["repositoryArn"] == ARN + "team-a/prod-api"
    assert answer["failures"] == [{"repositoryName": "ghost", "failureCode": "REPOSITORY_NOT_FOUND",
                                   "failureReason": f"The repository with name 'ghost' does not exist in the registry with id '{ACCOUNT}'"}]

    rules = [{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [wildcard("prod")]},
             {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [wildcard("team-*"), wildcard("d*")]}]
    put = aws("put-registry-scanning-configuration", "--scan-type", "ENHANCED", "--rules", json.dumps(rules))
    assert put == {"registryScanningConfiguration": {"scanType": "ENHANCED", "rules": rules}}
    assert aws("get-registry-scanning-configuration")["scanningConfiguration"] == {"scanType": "ENHANCED", "rules": rules}
    answer = aws("batch-get-repository-scanning-configuration", "--repository-names", "team-a/prod-api", "dev")
    assert configurations(answer) == {
        "team-a/prod-api": (True, "CONTINUOUS_SCAN", [wildcard("prod")]),
        "dev": (False, "SCAN_ON_PUSH", [wildcard("d*")]),
    }

    # Back to basic scanning with a scan-on-push filter; scanOnPush keeps its per-repository meaning.
    ecr = registry.ecr()
    ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[
        {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [wildcard("team-a/*")]}])
    ecr.put_image_scanning_configuration(repositoryName="dev", imageScanningConfiguration={"scanOnPush": True})
    ecr.put_image_scanning_configuration(repositoryName="team-a/prod-api", imageScanningConfiguration={"scanOnPush": False})
    answer = ecr.batch_get_repository_scanning_configuration(repositoryNames=["team-a/prod-api", "dev"])
    assert configurations(answer) == {
        "team-a/prod-api": (False, "SCAN_ON_PUSH", [wildcard("team-a/*")]),
        "dev": (True, "SCAN_ON_PUSH", []),
    }
    assert ecr.describe_repositories(repositoryNames=["dev"])["repositories"][0]["imageScanningConfiguration"] == {"scanOnPush": True}
    # No rules at all, as AWS's model allows.
    assert ecr.put_registry_scanning_configuration(scanType="BASIC")["registryScanningConfiguration"] == {
        "scanType": "BASIC", "rules": []}


def test_scanning_configurations_are_checked(registry):
    ecr = registry.ecr()
    refusals = [
        ({"scanType": "BASIC", "rules": [{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [wildcard("a")]}]},
         "needs scanType ENHANCED"),
        ({"scanType": "BASIC", "rules": [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [wildcard("a//b")]}]},
         "rules[0].repositoryFilters[0].filter"),
    ]
    for kwargs, needle in refusals:
        code, message = error(ecr.put_registry_scanning_configuration, **kwargs)
        assert code == "InvalidParameterException" and needle in message
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == {"scanType": "BASIC", "rules": []}
    status, answer = raw(registry, "BatchGetRepositoryScanningConfiguration", {"repositoryNames": ["app"] * 26})
    assert (status, answer["__type"]) == (400, "InvalidParameterException") and "between 1 and 25" in answer["message"]

    # A user without a grant learns nothing from failures: refused for every name alike.
    ecr.create_repository(repositoryName="secret")
    viewer = registry.add_user("viewer")
    theirs = registry.ecr(key=viewer["accessKeyId"], secret=viewer["secretAccessKey"])
    for name in ["secret", "ghost"]:
        assert error(theirs.batch_get_repository_scanning_configuration, repositoryNames=[name])[0] == "AccessDeniedException"


def test_scans_answer_that_berth_does_not_scan(registry):
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="app", imageScanningConfiguration={"scanOnPush": True})
    OciClient.for_registry(registry).push_image("app", "v1", [b"a layer"])
    image = {"imageTag": "v1"}

    refused = registry.aws("ecr", "start-image-scan", "--repository-name", "app", "--image-id", "imageTag=v1", check=False)
    assert refused.returncode != 0 and "UnsupportedImageTypeException" in refused.stderr
    assert "Berth has no image scanner" in refused.stderr
    code, message = error(ecr.describe_image_scan_findings, repositoryName="app", imageId=image)
    assert code == "ScanNotFoundException" and "Berth has no image scanner" in message
    refused = registry.aws("ecr", "describe-image-scan-findings", "--repository-name", "app", "--image-id", "imageTag=v1",
                           check=False)
    assert refused.returncode != 0 and "ScanNotFoundException" in refused.stderr

    # What AWS checks first still comes first.
    for call in [ecr.start_image_scan, ecr.describe_image_scan_findings]:
        assert error(call, repositoryName="app", imageId={"imageTag": "nope"})[0] == "ImageNotFoundException"
        assert error(call, repositoryName="ghost", imageId=image)[0] == "RepositoryNotFoundException"
        assert error(call, repositoryName="app", imageId={})[0] == "InvalidParameterException"
    status, answer = raw(registry, "DescribeImageScanFindings",
                         {"repositoryName": "app", "imageId": image, "maxResults": 1001})
    assert (status, answer["__type"]) == (400, "InvalidParameterException") and "maxResults" in answer["message"]
