"""ECR behaviour where Berth used to differ from AWS: registry ids, PutImage without a
media type, AWS's own error wording, and every value AWS's enums accept."""

import json

import pytest
from botocore.exceptions import ClientError

from oci import OCI_CONFIG, OciClient


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


@pytest.fixture
def ecr(registry):
    client = registry.ecr()
    client.create_repository(repositoryName="app")
    return client


def test_registry_ids_of_other_accounts_and_malformed_ones(registry, ecr):
    other = "210987654321"
    digest = "sha256:" + "a" * 64
    calls = [
        ("DescribeRepositories", ecr.describe_repositories, {}, "*"),
        ("DescribeImages", ecr.describe_images, {"repositoryName": "app"}, "app"),
        ("ListImages", ecr.list_images, {"repositoryName": "app"}, "app"),
        ("BatchGetImage", ecr.batch_get_image, {"repositoryName": "app", "imageIds": [{"imageTag": "v1"}]}, "app"),
        ("BatchDeleteImage", ecr.batch_delete_image, {"repositoryName": "app", "imageIds": [{"imageTag": "v1"}]}, "app"),
        ("BatchCheckLayerAvailability", ecr.batch_check_layer_availability, {"repositoryName": "app", "layerDigests": [digest]}, "app"),
        ("GetDownloadUrlForLayer", ecr.get_download_url_for_layer, {"repositoryName": "app", "layerDigest": digest}, "app"),
        ("CreateRepository", ecr.create_repository, {"repositoryName": "elsewhere"}, "elsewhere"),
    ]
    for action, call, args, resource in calls:
        code, message = error_of(call, registryId=other, **args)
        assert code == "AccessDeniedException", (action, code, message)
        assert message.startswith(
            f"User: arn:aws:iam::123456789012:root is not authorized to perform: ecr:{action} on resource: "
            f"arn:aws:ecr:us-east-1:{other}:repository/{resource} because no resource-based policy allows the ecr:{action} action"
        ), message
        code, message = error_of(call, registryId="12345", **args)
        assert code == "InvalidParameterException", (action, code)
        assert "Invalid parameter at 'registryId' failed to satisfy constraint" in message and "[0-9]{12}" in message
    code, _ = error_of(ecr.get_authorization_token, registryIds=[other])
    assert code == "AccessDeniedException"
    code, message = error_of(ecr.get_authorization_token, registryIds=["nope"])
    assert code == "InvalidParameterException" and "'registryId'" in message
    # The registry's own id works everywhere.
    assert ecr.describe_repositories(registryId="123456789012")["repositories"]
    assert ecr.get_authorization_token(registryIds=["123456789012"])["authorizationData"]


def test_put_image_needs_a_media_type_somewhere(registry, ecr):
    client = OciClient.for_registry(registry)
    config = client.push_blob("app", b"{}")
    manifest = {"schemaVersion": 2, "config": {"mediaType": OCI_CONFIG, "digest": config, "size": 2}, "layers": []}
    code, message = error_of(ecr.put_image, repositoryName="app", imageManifest=json.dumps(manifest), imageTag="bare")
    assert code == "InvalidParameterException"
    assert "'imageManifestMediaType'" in message and "mediaType" in message
    # Either one of them is enough.
    ecr.put_image(repositoryName="app", imageManifest=json.dumps(manifest), imageTag="declared",
                  imageManifestMediaType="application/vnd.oci.image.manifest.v1+json")
    manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    ecr.put_image(repositoryName="app", imageManifest=json.dumps(manifest), imageTag="inline")
    # /v2 keeps inferring, as the OCI spec allows (the Content-Type header carries it).
    del manifest["mediaType"]
    raw = json.dumps(manifest, indent=1).encode()
    assert client.push_manifest("app", "via-v2", raw).status == 201


def test_error_messages_are_aws_words_first(registry, ecr):
    code, message = error_of(ecr.describe_images, repositoryName="app", imageIds=[{"imageTag": "latest"}])
    assert code == "ImageNotFoundException"
    assert message == ("The image with imageId {imageDigest:'null', imageTag:'latest'} does not exist within the "
                       "repository with name 'app' in the registry with id '123456789012'")
    client = OciClient.for_registry(registry)
    client.push_image("app", "v1", [b"layer"])
    code, message = error_of(ecr.delete_repository, repositoryName="app")
    assert code == "RepositoryNotEmptyException"
    assert message.startswith("The repository with name 'app' in registry with id '123456789012' cannot be deleted "
                              "because it still contains images")
    code, message = error_of(ecr.describe_images, repositoryName="app", filter={"tagStatus": "SOME"})
    assert "TAGGED, UNTAGGED, ANY" in message
    code, message = error_of(ecr.put_image_tag_mutability, repositoryName="app", imageTagMutability="SOMETIMES")
    assert "MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION" in message
    code, message = error_of(ecr.create_repository, repositoryName="crypt",
                             encryptionConfiguration={"encryptionType": "ROT13"})
    assert "AES256, KMS, KMS_DSSE" in message


def test_every_encryption_type_aws_accepts_and_kms_key_arns(registry, ecr):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    for kind in ["KMS", "KMS_DSSE"]:
        repo = ecr.create_repository(repositoryName=f"crypt-{kind.lower().replace('_', '-')}",
                                     encryptionConfiguration={"encryptionType": kind, "kmsKey": key})["repository"]
        assert repo["encryptionConfiguration"] == {"encryptionType": kind, "kmsKey": key}
    code, message = error_of(ecr.create_repository, repositoryName="crypt-bad",
                             encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "my-made-up-key"})
    assert code == "InvalidParameterException" and "'encryptionConfiguration.kmsKey'" in message
