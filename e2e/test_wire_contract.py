"""The wire-contract checker (shapes.py) itself: it must catch drift from AWS's
model, or every other test's wire check would pass vacuously."""

import shapes
from conftest import Registry

TARGET = shapes.TARGET_PREFIX


def exchange(action, status, response, request=None, origin=None):
    return {"target": TARGET + action, "status": status, "response": response, "request": request or {}, "origin": origin}


REPOSITORY = {
    "repositoryArn": "arn:aws:ecr:us-east-1:123456789012:repository/app",
    "registryId": "123456789012",
    "repositoryName": "app",
    "repositoryUri": "127.0.0.1:5000/app",
    "createdAt": 1700000000.5,
    "imageTagMutability": "MUTABLE",
    "imageScanningConfiguration": {"scanOnPush": False},
    "encryptionConfiguration": {"encryptionType": "AES256"},
}


def test_a_response_as_aws_shapes_it_passes():
    assert shapes.check_exchange(exchange("DescribeRepositories", 200, {"repositories": [REPOSITORY]})) == []


def test_drift_in_a_response_is_caught():
    cases = [
        ({**REPOSITORY, "createdAt": "2024-01-01T00:00:00Z"}, "epoch seconds"),
        ({**REPOSITORY, "imageTagMutability": "SOMETIMES"}, "is not one of"),
        ({**REPOSITORY, "repositoryNameTypo": "x"}, "is not a member"),
        ({key: value for key, value in REPOSITORY.items() if key != "registryId"} | {"registryId": "12"}, "pattern"),
        ({**REPOSITORY, "imageScanningConfiguration": {"scanOnPush": "yes"}}, "expected a boolean"),
    ]
    for repository, expected in cases:
        found = shapes.check_exchange(exchange("DescribeRepositories", 200, {"repositories": [repository]}))
        assert any(expected in p for p in found), (expected, found)


def test_undeclared_errors_and_console_requests_are_caught():
    found = shapes.check_exchange(exchange("DescribeImages", 400, {"__type": "RepositoryPolicyNotFoundException", "message": "x"}))
    assert found and "does not declare" in found[0]
    assert shapes.check_exchange(exchange("DescribeImages", 400, {"__type": "RepositoryNotFoundException", "message": "x"})) == []
    bad_request = {"repositoryName": "app", "maxResults": "10"}
    found = shapes.check_exchange(exchange("DescribeImages", 200, {"imageDetails": []}, bad_request, origin="http://127.0.0.1:8080"))
    assert any("expected an integer" in p for p in found), found
    # Requests from tests themselves are not input-checked: some are malformed on purpose.
    assert shapes.check_exchange(exchange("DescribeImages", 200, {"imageDetails": []}, bad_request)) == []


def test_the_registry_records_every_exchange(registry):
    registry.ecr().create_repository(repositoryName="recorded")
    registry.ecr().describe_repositories()
    lines = registry.api_record.read_text().splitlines()
    targets = [line.split('"target":"')[1].split('"')[0].rsplit(".", 1)[1] for line in lines]
    assert targets == ["CreateRepository", "DescribeRepositories"]
    assert shapes.check_exchanges(registry.api_record) == []
