"""The ECR API in full through boto3 (and the AWS CLI for policies): every action's
happy path, every error type, and paging."""

import json
import sqlite3
import threading
import time
import urllib.request

import botocore.exceptions
import pytest

from oci import OCI_MANIFEST, OciClient, digest_of
from sigv4 import ecr_call


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def raises(error_code, call, *args, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(*args, **kwargs)
    assert code(excinfo) == error_code, excinfo.value.response
    return excinfo.value.response["Error"]["Message"]


def manifest_json(config_digest, layer_digests=(), note="x"):
    return json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": 5} for d in layer_digests],
        "annotations": {"note": note},
    })


@pytest.fixture
def ecr(registry):
    return registry.ecr()


@pytest.fixture
def repo(registry, ecr):
    """A repository with one config blob and one 5-byte layer pushed."""
    ecr.create_repository(repositoryName="svc/api")
    client = OciClient.for_registry(registry)
    config = client.push_blob("svc/api", b"{}")
    layer = client.push_blob("svc/api", b"layer")
    return {"name": "svc/api", "config": config, "layer": layer, "client": client}


def test_repository_lifecycle(registry, ecr):
    created = ecr.create_repository(
        repositoryName="team/web", imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:123456789012:key/abc"},
        tags=[{"Key": "team", "Value": "web"}],
    )["repository"]
    assert created["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:123456789012:key/abc"}
    arn = created["repositoryArn"]
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "web"}]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "platform"}])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "platform"}]
    ecr.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "platform"}]

    r = ecr.put_image_tag_mutability(repositoryName="team/web", imageTagMutability="MUTABLE")
    assert r["imageTagMutability"] == "MUTABLE" and r["repositoryName"] == "team/web" and r["registryId"] == "123456789012"
    r = ecr.put_image_scanning_configuration(repositoryName="team/web", imageScanningConfiguration={"scanOnPush": False})
    assert r["imageScanningConfiguration"] == {"scanOnPush": False}
    described = ecr.describe_repositories(repositoryNames=["team/web"])["repositories"][0]
    assert described["imageTagMutability"] == "MUTABLE"
    assert described["imageScanningConfiguration"] == {"scanOnPush": False}

    registry_info = ecr.describe_registry()
    assert registry_info["registryId"] == "123456789012"
    assert registry_info["replicationConfiguration"] == {"rules": []}

    deleted = ecr.delete_repository(repositoryName="team/web")["repository"]
    assert deleted["repositoryName"] == "team/web"
    raises("RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=["team/web"])
    raises("RepositoryNotFoundException", ecr.list_tags_for_resource, resourceArn=arn)
    raises("InvalidParameterException", ecr.list_tags_for_resource, resourceArn="arn:aws:s3:::bucket")


def test_images_put_get_check_delete(registry, ecr, repo):
    name = repo["name"]
    manifest = manifest_json(repo["config"], [repo["layer"]])
    put = ecr.put_image(repositoryName=name, imageManifest=manifest, imageTag="v1")["image"]
    digest = digest_of(manifest.encode())
    assert put["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    assert put["imageManifestMediaType"] == OCI_MANIFEST and put["imageManifest"] == manifest
    raises("ImageAlreadyExistsException", ecr.put_image, repositoryName=name, imageManifest=manifest, imageTag="v1")
    ecr.put_image(repositoryName=name, imageManifest=manifest, imageTag="v1-copy", imageDigest=digest)
    raises("ImageDigestDoesNotMatchException", ecr.put_image, repositoryName=name, imageManifest=manifest,
           imageTag="v2", imageDigest=digest_of(b"other"))

    got = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "v1"}, {"imageTag": "nope"},
                                                             {"imageDigest": "sha256:bad"}])
    assert [i["imageManifest"] for i in got["images"]] == [manifest]
    assert sorted(f["failureCode"] for f in got["failures"]) == ["ImageNotFound", "InvalidImageDigest"]
    refused = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageTag": "v1"}],
                                  acceptedMediaTypes=["application/vnd.docker.distribution.manifest.v2+json"])
    assert refused["images"] == [] and refused["failures"][0]["failureCode"] == "ImageNotFound"

    layers = ecr.batch_check_layer_availability(repositoryName=name, layerDigests=[repo["layer"], digest_of(b"absent")])
    assert layers["layers"] == [{"layerDigest": repo["layer"], "layerAvailability": "AVAILABLE", "layerSize": 5}]
    assert layers["failures"][0]["failureCode"] == "MissingLayerDigest"

    url = ecr.get_download_url_for_layer(repositoryName=name, layerDigest=repo["layer"])
    assert url["layerDigest"] == repo["layer"]
    with urllib.request.urlopen(url["downloadUrl"]) as response:  # no credentials needed
        assert response.read() == b"layer"
    forged = url["downloadUrl"].replace("X-Berth-Signature=", "X-Berth-Signature=00")
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(forged)
    assert denied.value.code == 403
    raises("LayersNotFoundException", ecr.get_download_url_for_layer, repositoryName=name, layerDigest=digest_of(b"absent"))

    # Delete by tag removes the tag only; by digest removes the image.
    untagged = ecr.batch_delete_image(repositoryName=name, imageIds=[{"imageTag": "v1"}])
    assert untagged["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}] and untagged["failures"] == []
    assert ecr.describe_images(repositoryName=name)["imageDetails"][0]["imageTags"] == ["v1-copy"]
    deleted = ecr.batch_delete_image(repositoryName=name, imageIds=[{"imageDigest": digest}, {"imageTag": "gone"}])
    assert deleted["imageIds"] == [{"imageDigest": digest}]
    assert deleted["failures"][0]["failureCode"] == "ImageNotFound"
    assert ecr.describe_images(repositoryName=name)["imageDetails"] == []
    raises("ImageNotFoundException", ecr.describe_images, repositoryName=name, imageIds=[{"imageTag": "v1"}])


def test_every_error_type(registry, ecr, repo):
    name = repo["name"]
    raises("InvalidParameterException", ecr.create_repository, repositoryName="UPPER")
    raises("RepositoryAlreadyExistsException", ecr.create_repository, repositoryName=name)
    raises("RepositoryNotFoundException", ecr.describe_images, repositoryName="missing")
    ecr.put_image(repositoryName=name, imageManifest=manifest_json(repo["config"]), imageTag="keep")
    message = raises("RepositoryNotEmptyException", ecr.delete_repository, repositoryName=name)
    assert "1 image" in message
    raises("RepositoryPolicyNotFoundException", ecr.get_repository_policy, repositoryName=name)
    raises("RepositoryPolicyNotFoundException", ecr.delete_repository_policy, repositoryName=name)
    raises("ImageNotFoundException", ecr.describe_images, repositoryName=name, imageIds=[{"imageTag": "absent"}])
    raises("LayersNotFoundException", ecr.put_image, repositoryName=name,
           imageManifest=manifest_json(repo["config"], [digest_of(b"never")]), imageTag="broken")
    ecr.create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    client = repo["client"]
    config = client.push_blob("locked", b"{}")
    ecr.put_image(repositoryName="locked", imageManifest=manifest_json(config, note="a"), imageTag="v1")
    raises("ImageTagAlreadyExistsException", ecr.put_image, repositoryName="locked",
           imageManifest=manifest_json(config, note="b"), imageTag="v1")
    raises("InvalidSignatureException", registry.ecr(secret="w" * 40).describe_registry)
    raises("UnrecognizedClientException", registry.ecr(key="AKIAUNKNOWN000000000").describe_registry)
    user = registry.add_user("nobody")
    raises("AccessDeniedException", registry.ecr(key=user["accessKeyId"], secret=user["secretAccessKey"]).describe_images,
           repositoryName=name)
    message = raises("InvalidParameterException", ecr.set_repository_policy, repositoryName=name,
                     policyText='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:PullImage"}]}')
    assert "Statement[0].Action" in message and "did you mean 'ecr:BatchGetImage'" in message

    # ServerException: the metadata store fails underneath the registry (held locked past its timeout).
    lock = sqlite3.connect(registry.data / "berth.db", timeout=1)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        status, body = ecr_call(registry.url, "CreateRepository", {"repositoryName": "during-outage"},
                                registry.access_key_id, registry.secret_access_key)
    finally:
        lock.rollback()
        lock.close()
    assert (status, body["__type"]) == (500, "ServerException")
    names = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert "during-outage" not in names


def test_paging_250_repositories_and_250_images(registry, ecr):
    names = sorted(f"r{i:03d}" for i in range(250))
    for name in names:
        ecr.create_repository(repositoryName=name)
    seen = [r["repositoryName"] for page in ecr.get_paginator("describe_repositories")
            .paginate(PaginationConfig={"PageSize": 40}) for r in page["repositories"]]
    assert seen == names

    client = OciClient.for_registry(registry)
    config = client.push_blob("r000", b"{}")
    digests = set()
    for i in range(250):
        manifest = manifest_json(config, note=str(i))
        ecr.put_image(repositoryName="r000", imageManifest=manifest, imageTag=f"t{i}")
        digests.add(digest_of(manifest.encode()))
    pages = list(ecr.get_paginator("describe_images").paginate(repositoryName="r000", PaginationConfig={"PageSize": 40}))
    described = [d["imageDigest"] for page in pages for d in page["imageDetails"]]
    assert len(pages) == 7 and len(described) == 250 and set(described) == digests
    listed = [i["imageDigest"] for page in ecr.get_paginator("list_images")
              .paginate(repositoryName="r000", PaginationConfig={"PageSize": 40}) for i in page["imageIds"]]
    assert len(listed) == 250 and set(listed) == digests

    # A token stays valid while images are deleted behind and ahead of it.
    first = ecr.describe_images(repositoryName="r000", maxResults=40)
    ahead = sorted(digests)[100]
    ecr.batch_delete_image(repositoryName="r000", imageIds=[{"imageDigest": first["imageDetails"][0]["imageDigest"]},
                                                           {"imageDigest": ahead}])
    rest = []
    token = first["nextToken"]
    while token:
        page = ecr.describe_images(repositoryName="r000", maxResults=40, nextToken=token)
        rest += [d["imageDigest"] for d in page["imageDetails"]]
        token = page.get("nextToken")
    assert len(rest) == 250 - 40 - 1 and ahead not in rest

    untagged = ecr.describe_images(repositoryName="r000", filter={"tagStatus": "UNTAGGED"})["imageDetails"]
    assert untagged == []
    raises("InvalidParameterException", ecr.describe_images, repositoryName="r000", filter={"tagStatus": "SOME"})


def test_aws_cli_policy_file_round_trip(registry, tmp_path):
    registry.ecr().create_repository(repositoryName="policy-demo")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AllowPull", "Effect": "Allow",
                       "Principal": {"AWS": "arn:aws:iam::123456789012:user/viewer"},
                       "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}],
    }
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy, indent=2))
    set_result = json.loads(registry.aws("ecr", "set-repository-policy", "--repository-name", "policy-demo",
                                         "--policy-text", f"file://{path}").stdout)
    assert json.loads(set_result["policyText"]) == policy
    got = json.loads(registry.aws("ecr", "get-repository-policy", "--repository-name", "policy-demo").stdout)
    assert got["policyText"] == path.read_text() and got["repositoryName"] == "policy-demo"
    deleted = json.loads(registry.aws("ecr", "delete-repository-policy", "--repository-name", "policy-demo").stdout)
    assert deleted["policyText"] == path.read_text()
    missing = registry.aws("ecr", "get-repository-policy", "--repository-name", "policy-demo", check=False)
    assert missing.returncode != 0 and "RepositoryPolicyNotFoundException" in missing.stderr
