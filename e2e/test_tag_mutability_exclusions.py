"""Tag immutability exclusion filters (ECR, July 2025): `IMMUTABLE_WITH_EXCLUSION` and
`MUTABLE_WITH_EXCLUSION` set through CreateRepository, PutImageTagMutability and the
AWS CLI, returned by DescribeRepositories, and enforced on every push: `/v2` manifest
PUTs and PutImage."""

import json

import botocore.exceptions
import pytest

from oci import OCI_CONFIG, OCI_MANIFEST, OciClient
from sigv4 import ecr_call


def wildcard(*filters):
    return [{"filterType": "WILDCARD", "filter": f} for f in filters]


def raises(error_code, call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(**kwargs)
    assert excinfo.value.response["Error"]["Code"] == error_code, excinfo.value.response
    return excinfo.value.response["Error"]["Message"]


def image(client, repository, note):
    """A distinct image's manifest (its blobs pushed); the same bytes each time for one note."""
    config = client.push_blob(repository, json.dumps({"note": note}).encode())
    return json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config, "size": len(json.dumps({"note": note}))},
        "layers": [],
    }).encode()


def moves(client, repository, tag, notes):
    """Pushes `tag` over /v2 at each image in turn; the status of each push."""
    return [client.push_manifest(repository, tag, image(client, repository, n)) for n in notes]


def test_immutable_with_exclusions_keeps_every_tag_but_the_excluded_ones(registry):
    ecr = registry.ecr()
    created = ecr.create_repository(repositoryName="team/api", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                                    imageTagMutabilityExclusionFilters=wildcard("latest", "dev-*"))["repository"]
    assert created["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert created["imageTagMutabilityExclusionFilters"] == wildcard("latest", "dev-*")
    described = ecr.describe_repositories(repositoryNames=["team/api"])["repositories"][0]
    assert described["imageTagMutabilityExclusionFilters"] == wildcard("latest", "dev-*")
    listed = ecr.describe_repositories()["repositories"][0]
    assert listed["imageTagMutabilityExclusionFilters"] == wildcard("latest", "dev-*")

    client = OciClient.for_registry(registry)
    first, second = moves(client, "team/api", "v1.0.0", ["a", "b"])
    assert first.status == 201, first
    assert (second.status, second.error_code()) == (400, "TAG_INVALID"), second
    assert "cannot be overwritten because the repository is immutable" in second.json()["errors"][0]["message"]
    # A tag that merely starts like an excluded one is still immutable.
    assert [r.status for r in moves(client, "team/api", "latest-1", ["a", "b"])] == [201, 400]
    for tag in ["latest", "dev-42"]:
        assert [r.status for r in moves(client, "team/api", tag, ["a", "b", "a"])] == [201, 201, 201]
    # Pushing the image a tag already names is no move.
    assert moves(client, "team/api", "v1.0.0", ["a"])[0].status == 201

    # PutImage refuses the same moves with ImageTagAlreadyExistsException.
    message = raises("ImageTagAlreadyExistsException", ecr.put_image, repositoryName="team/api",
                     imageManifest=image(client, "team/api", "c").decode(), imageTag="v1.0.0")
    assert "v1.0.0" in message
    ecr.put_image(repositoryName="team/api", imageManifest=image(client, "team/api", "c").decode(), imageTag="dev-42")
    by_tag = {i["imageTag"]: i["imageDigest"] for i in ecr.list_images(repositoryName="team/api")["imageIds"]
              if "imageTag" in i}
    assert by_tag["v1.0.0"] != by_tag["dev-42"]


def test_mutable_with_exclusions_protects_only_the_matching_tags(registry):
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="team/web")
    client = OciClient.for_registry(registry)
    assert [r.status for r in moves(client, "team/web", "release-1", ["a", "b"])] == [201, 201]

    response = ecr.put_image_tag_mutability(repositoryName="team/web", imageTagMutability="MUTABLE_WITH_EXCLUSION",
                                            imageTagMutabilityExclusionFilters=wildcard("release-*"))
    assert response["imageTagMutability"] == "MUTABLE_WITH_EXCLUSION"
    assert response["imageTagMutabilityExclusionFilters"] == wildcard("release-*")
    assert ecr.describe_repositories()["repositories"][0]["imageTagMutabilityExclusionFilters"] == wildcard("release-*")

    refused = moves(client, "team/web", "release-1", ["a"])[0]
    assert (refused.status, refused.error_code()) == (400, "TAG_INVALID"), refused
    assert [r.status for r in moves(client, "team/web", "main", ["a", "b"])] == [201, 201]
    raises("ImageTagAlreadyExistsException", ecr.put_image, repositoryName="team/web",
           imageManifest=image(client, "team/web", "c").decode(), imageTag="release-1")

    # Back to MUTABLE: the filters go, and every tag moves again.
    plain = ecr.put_image_tag_mutability(repositoryName="team/web", imageTagMutability="MUTABLE")
    assert "imageTagMutabilityExclusionFilters" not in plain
    assert "imageTagMutabilityExclusionFilters" not in ecr.describe_repositories()["repositories"][0]
    assert moves(client, "team/web", "release-1", ["c"])[0].status == 201


def test_the_aws_cli_sets_and_shows_exclusion_filters(registry):
    registry.aws("ecr", "create-repository", "--repository-name", "cli/app",
                 "--image-tag-mutability", "IMMUTABLE_WITH_EXCLUSION",
                 "--image-tag-mutability-exclusion-filters", "filterType=WILDCARD,filter=latest")
    out = json.loads(registry.aws("ecr", "put-image-tag-mutability", "--repository-name", "cli/app",
                                  "--image-tag-mutability", "IMMUTABLE_WITH_EXCLUSION",
                                  "--image-tag-mutability-exclusion-filters",
                                  "filterType=WILDCARD,filter=latest", "filterType=WILDCARD,filter=nightly-*").stdout)
    assert out["imageTagMutabilityExclusionFilters"] == wildcard("latest", "nightly-*")
    described = json.loads(registry.aws("ecr", "describe-repositories", "--repository-names", "cli/app").stdout)
    assert described["repositories"][0]["imageTagMutabilityExclusionFilters"] == wildcard("latest", "nightly-*")


def test_invalid_exclusion_settings_are_refused_and_change_nothing(registry):
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="team/db", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                          imageTagMutabilityExclusionFilters=wildcard("latest"))
    message = raises("InvalidParameterException", ecr.put_image_tag_mutability, repositoryName="team/db",
                     imageTagMutability="MUTABLE", imageTagMutabilityExclusionFilters=wildcard("v*"))
    assert "imageTagMutabilityExclusionFilters" in message
    raises("InvalidParameterException", ecr.put_image_tag_mutability, repositoryName="team/db",
           imageTagMutability="MUTABLE_WITH_EXCLUSION")
    raises("InvalidParameterException", ecr.create_repository, repositoryName="team/none",
           imageTagMutability="IMMUTABLE_WITH_EXCLUSION")
    # What botocore would stop before sending, sent raw.
    key, secret = registry.access_key_id, registry.secret_access_key
    for filters, field in [(wildcard(*[f"t{i}" for i in range(6)]), "imageTagMutabilityExclusionFilters"),
                           (wildcard("ok", "no/slash"), "imageTagMutabilityExclusionFilters.2.member.filter"),
                           ([{"filterType": "REGEX", "filter": "v.*"}], "filterType")]:
        status, body = ecr_call(registry.url, "PutImageTagMutability",
                                {"repositoryName": "team/db", "imageTagMutability": "MUTABLE_WITH_EXCLUSION",
                                 "imageTagMutabilityExclusionFilters": filters}, key, secret)
        assert (status, body["__type"]) == (400, "InvalidParameterException"), body
        assert field in body["message"], body
    repository = ecr.describe_repositories(repositoryNames=["team/db"])["repositories"][0]
    assert repository["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repository["imageTagMutabilityExclusionFilters"] == wildcard("latest")
    assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["team/db"]
