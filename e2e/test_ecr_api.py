"""The ECR API of a real `berth-registry`, through the AWS CLI, boto3 and raw HTTP."""

import datetime
import json
import os
import stat
import subprocess
import time

import botocore.exceptions
import pytest

from conftest import REGISTRY_BIN, Registry
from sigv4 import ecr_call, http


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_aws_cli_creates_and_describes_the_seed_repository(registry):
    before = time.time()
    created = json.loads(
        registry.aws(
            "ecr", "create-repository",
            "--repository-name", "my-nginx-repository",
            "--image-scanning-configuration", "scanOnPush=true",
        ).stdout
    )["repository"]
    described = json.loads(registry.aws("ecr", "describe-repositories").stdout)["repositories"]

    assert [r["repositoryName"] for r in described] == ["my-nginx-repository"]
    repo = described[0]
    assert repo == created
    assert repo["repositoryUri"] == f"{registry.host}/my-nginx-repository"
    assert repo["repositoryArn"] == "arn:aws:ecr:us-east-1:123456789012:repository/my-nginx-repository"
    assert repo["registryId"] == "123456789012"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    # The CLI renders timestamps itself; boto3 hands back the instant.
    created_at = registry.ecr().describe_repositories()["repositories"][0]["createdAt"]
    assert before - 1 <= created_at.timestamp() <= time.time() + 1


def test_wrong_secret_is_refused_with_invalid_signature(registry):
    result = registry.aws("ecr", "describe-repositories", secret="x" * 40, check=False)
    assert result.returncode != 0
    assert "InvalidSignatureException" in result.stderr
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        registry.ecr(secret="y" * 40).create_repository(repositoryName="never")
    assert error_code(excinfo) == "InvalidSignatureException"
    assert registry.ecr().describe_repositories()["repositories"] == []


def test_unknown_access_key_is_refused_as_unrecognized_client(registry):
    result = registry.aws("ecr", "describe-repositories", key="AKIAUNKNOWNUNKNOWN00", check=False)
    assert result.returncode != 0
    assert "UnrecognizedClientException" in result.stderr
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        registry.ecr(key="AKIAUNKNOWNUNKNOWN01").describe_repositories()
    assert error_code(excinfo) == "UnrecognizedClientException"


def test_unsigned_skewed_and_misscoped_requests_are_refused(registry):
    key, secret = registry.access_key_id, registry.secret_access_key
    status, body = ecr_call(registry.url, "DescribeRepositories", {}, key, secret, sign_it=False)
    assert (status, body["__type"]) == (403, "MissingAuthenticationTokenException")

    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
    status, body = ecr_call(registry.url, "DescribeRepositories", {}, key, secret, at=old)
    assert (status, body["__type"]) == (403, "InvalidSignatureException")
    assert "Signature expired" in body["message"]

    status, body = ecr_call(registry.url, "DescribeRepositories", {}, key, secret, region="eu-west-1")
    assert body["__type"] == "InvalidSignatureException"
    assert "us-east-1" in body["message"] and "eu-west-1" in body["message"]

    # Within the allowed skew, an independent signer's request is accepted.
    recent = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=14)
    status, body = ecr_call(registry.url, "DescribeRepositories", {}, key, secret, at=recent)
    assert status == 200 and body == {"repositories": []}


def test_bad_input_gets_aws_errors_and_loses_nothing(registry):
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="team/app", imageTagMutability="IMMUTABLE")

    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ecr.create_repository(repositoryName="team/app")
    assert error_code(excinfo) == "RepositoryAlreadyExistsException"

    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ecr.create_repository(repositoryName="Team/App")
    assert error_code(excinfo) == "InvalidParameterException"
    assert "Character 1" in excinfo.value.response["Error"]["Message"]

    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ecr.create_repository(repositoryName="ok-name", imageTagMutability="SOMETIMES")
    assert error_code(excinfo) == "InvalidParameterException"

    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        ecr.describe_repositories(repositoryNames=["team/app", "missing"])
    assert error_code(excinfo) == "RepositoryNotFoundException"
    assert "missing" in excinfo.value.response["Error"]["Message"]

    key, secret = registry.access_key_id, registry.secret_access_key
    status, body = ecr_call(registry.url, "DescribeRepositories", {"maxResults": 0}, key, secret)
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    status, body = ecr_call(registry.url, "DescribeRepositories", {"nextToken": "forged"}, key, secret)
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    status, body = ecr_call(registry.url, "NoSuchAction", {}, key, secret)
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = ecr_call(registry.url, "CreateRepository", {"repositoryName": 7}, key, secret)
    assert (status, body["__type"]) == (400, "SerializationException")

    names = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert names == ["team/app"]
    assert ecr.describe_repositories()["repositories"][0]["imageTagMutability"] == "IMMUTABLE"


def test_describe_repositories_pages_each_repository_exactly_once(registry):
    ecr = registry.ecr()
    expected = sorted(f"svc-{i:02d}" for i in range(23))
    for name in expected:
        ecr.create_repository(repositoryName=name)
    seen, pages = [], 0
    for page in ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 5}):
        pages += 1
        seen += [r["repositoryName"] for r in page["repositories"]]
        if pages == 2:
            # A repository created mid-walk, before the cursor, must not shift the pages.
            ecr.create_repository(repositoryName="aaa-late")
    assert pages == 5
    assert seen == expected


def test_user_add_while_serving_is_accepted_at_once(registry):
    user = registry.add_user("ci")
    assert set(user) == {"userName", "arn", "accessKeyId", "secretAccessKey"}
    assert user["userName"] == "ci"
    assert user["arn"] == "arn:aws:iam::123456789012:user/ci"
    assert user["accessKeyId"].startswith("AKIA") and len(user["secretAccessKey"]) == 40

    # Recognised at once (not UnrecognizedClient), but a new user has no permissions yet.
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        registry.ecr(key=user["accessKeyId"], secret=user["secretAccessKey"]).create_repository(repositoryName="x1")
    assert error_code(excinfo) == "AccessDeniedException"
    assert "arn:aws:iam::123456789012:user/ci" in excinfo.value.response["Error"]["Message"]

    again = subprocess.run([REGISTRY_BIN, "user", "add", "ci", "--data", str(registry.data)], capture_output=True, text=True)
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = subprocess.run([REGISTRY_BIN, "user", "add", "no spaces", "--data", str(registry.data)], capture_output=True, text=True)
    assert bad.returncode != 0 and "invalid user name" in bad.stderr


def test_admin_key_is_generated_once_kept_and_printed_once(tmp_path):
    registry = Registry(tmp_path, preset_admin=False)
    try:
        first_key = registry.access_key_id
        credentials = registry.data / "admin-credentials.json"
        assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600
        assert registry.secret_access_key in registry.output()
        registry.ecr().create_repository(repositoryName="kept")

        registry.restart()
        assert registry.access_key_id == first_key
        assert registry.output().count(registry.secret_access_key) == 1, "the secret is printed on first start only"
        names = [r["repositoryName"] for r in registry.ecr().describe_repositories()["repositories"]]
        assert names == ["kept"]
    finally:
        registry.stop()


def test_cors_preflight_allows_the_console_origin_only(tmp_path):
    registry = Registry(tmp_path, extra_args=["--cors-origin", "http://console.test:8080"])
    try:
        ask = {
            "Origin": "http://console.test:8080",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-amz-date,x-amz-target,x-amz-security-token",
        }
        status, headers, _ = http("OPTIONS", registry.url + "/", ask)
        headers = {k.lower(): v for k, v in headers.items()}
        assert status == 200
        assert headers["access-control-allow-origin"] == "http://console.test:8080"
        allowed = headers["access-control-allow-headers"].lower()
        for h in ["authorization", "x-amz-date", "x-amz-target", "x-amz-security-token", "content-type"]:
            assert h in allowed

        status, headers, _ = http("OPTIONS", registry.url + "/", dict(ask, Origin="http://evil.test"))
        assert "access-control-allow-origin" not in {k.lower() for k in headers}
    finally:
        registry.stop()
