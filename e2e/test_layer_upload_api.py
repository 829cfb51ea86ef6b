"""Layer uploads through the ECR API — InitiateLayerUpload, UploadLayerPart,
CompleteLayerUpload — with the real AWS CLI and boto3, into the same upload
sessions and the same blobs as `/v2`, then pulled by the real docker engine."""

import gzip
import hashlib
import io
import json
import os
import platform
import tarfile

import botocore.exceptions
import pytest

from oci import OciClient, digest_of
from test_clients import AWS, docker_login, run

MIB = 1 << 20
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def layer_of(files):
    """A gzipped tar layer holding `files` ({path: bytes}), and its uncompressed digest."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), digest_of(raw.getvalue())


def architecture():
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def error(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(**kwargs)
    return excinfo.value.response


def test_a_layer_uploaded_in_three_parts_is_pulled_by_docker(registry, tmp_path):
    """The whole journey with `aws ecr …` as a person would type it."""
    name = "parts/app"
    registry.aws("ecr", "create-repository", "--repository-name", name)
    content = os.urandom(11 * MIB)
    layer, diff_id = layer_of({"data/payload.bin": content})
    digest = digest_of(layer)
    # Parts as AWS takes them: at least 5 MiB, except the last.
    bounds = [(0, 5 * MIB - 1), (5 * MIB, 10 * MIB - 1), (10 * MIB, len(layer) - 1)]
    assert bounds[2][1] > bounds[2][0]

    started = json.loads(registry.aws("ecr", "initiate-layer-upload", "--repository-name", name).stdout)
    upload_id = started["uploadId"]
    assert started["partSize"] == 10 * MIB
    for i, (first, last) in enumerate(bounds):
        part = tmp_path / f"part{i}"
        part.write_bytes(layer[first:last + 1])
        answer = json.loads(registry.aws(
            "ecr", "upload-layer-part", "--repository-name", name, "--upload-id", upload_id,
            "--part-first-byte", str(first), "--part-last-byte", str(last),
            "--layer-part-blob", f"fileb://{part}").stdout)
        assert answer == {"registryId": "123456789012", "repositoryName": name, "uploadId": upload_id,
                          "lastByteReceived": last}
    completed = json.loads(registry.aws(
        "ecr", "complete-layer-upload", "--repository-name", name, "--upload-id", upload_id,
        "--layer-digests", digest).stdout)
    assert completed == {"registryId": "123456789012", "repositoryName": name, "uploadId": upload_id,
                         "layerDigest": digest}

    # Visible the other way: /v2 serves it byte for byte, and a config pushed over /v2
    # is as available to the ECR API as the layer.
    oci = OciClient.for_registry(registry)
    assert oci.request("GET", f"/v2/{name}/blobs/{digest}").body == layer
    config = json.dumps({"architecture": architecture(), "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    config_digest = oci.push_blob(name, config)
    available = registry.ecr().batch_check_layer_availability(repositoryName=name, layerDigests=[digest, config_digest])
    assert {l["layerDigest"]: l["layerSize"] for l in available["layers"]} == {digest: len(layer), config_digest: len(config)}

    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": DOCKER_LAYER, "digest": digest, "size": len(layer)}],
    }))
    registry.aws("ecr", "put-image", "--repository-name", name, "--image-tag", "v1",
                 "--image-manifest", f"file://{manifest}")

    env = registry.aws_env()
    env["DOCKER_CONFIG"] = str(tmp_path / "docker-config")
    uri = f"{registry.host}/{name}:v1"
    container = f"berth-parts-{registry.port}"
    assert docker_login(registry, env).returncode == 0
    try:
        run(["docker", "pull", uri], env=env)
        run(["docker", "create", "--name", container, uri, "/nothing-to-run"], env=env)
        copied = tmp_path / "copied"
        copied.mkdir()
        run(["docker", "cp", f"{container}:/data/payload.bin", str(copied / "payload.bin")], env=env)
        assert hashlib.sha256((copied / "payload.bin").read_bytes()).digest() == hashlib.sha256(content).digest()
    finally:
        run(["docker", "rm", "-f", container], check=False)
        run(["docker", "rmi", "-f", uri], check=False)


def test_parts_must_continue_the_upload_exactly(registry):
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="parts/app")
    upload_id = ecr.initiate_layer_upload(repositoryName="parts/app")["uploadId"]

    def part(first, data, last=None):
        last = first + len(data) - 1 if last is None else last
        return dict(repositoryName="parts/app", uploadId=upload_id, partFirstByte=first, partLastByte=last,
                    layerPartBlob=data)

    # Nothing held yet: a part that does not start at 0 names no valid byte.
    refused = error(ecr.upload_layer_part, **part(5, b"hello"))
    assert refused["Error"]["Code"] == "InvalidLayerPartException"
    assert refused["uploadId"] == upload_id and refused["repositoryName"] == "parts/app"
    assert refused["registryId"] == "123456789012" and "lastValidByteReceived" not in refused

    assert ecr.upload_layer_part(**part(0, b"0123456789"))["lastByteReceived"] == 9
    for wrong, why in [(part(12, b"abc"), "gap"), (part(5, b"abcde"), "overlap"),
                       (part(0, b"0123456789"), "the same part again")]:
        refused = error(ecr.upload_layer_part, **wrong)
        assert refused["Error"]["Code"] == "InvalidLayerPartException", why
        assert refused["lastValidByteReceived"] == 9, why
        assert "next part starts at byte 10" in refused["Error"]["Message"], why
    for wrong in [part(10, b"abc", last=11), part(10, b"abc", last=13), part(10, b"abc", last=9),
                  part(0, b"abc", last=2**64 - 1)]:
        refused = error(ecr.upload_layer_part, **wrong)
        assert refused["Error"]["Code"] == "InvalidLayerPartException"
        assert refused["lastValidByteReceived"] == 9 and "is not the 3 bytes" in refused["Error"]["Message"], wrong
    assert error(ecr.upload_layer_part, **part(10, b""))["Error"]["Code"] == "InvalidLayerPartException"
    # Refused parts left nothing behind: the upload continues at byte 10.
    assert ecr.upload_layer_part(**part(10, b"abc"))["lastByteReceived"] == 12
    data = b"0123456789abc"
    done = ecr.complete_layer_upload(repositoryName="parts/app", uploadId=upload_id, layerDigests=[digest_of(data)])
    assert done["layerDigest"] == digest_of(data)
    assert OciClient.for_registry(registry).request("GET", f"/v2/parts/app/blobs/{digest_of(data)}").body == data


def test_the_largest_part_fits_and_a_larger_one_is_refused(registry):
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="parts/big")
    upload_id = ecr.initiate_layer_upload(repositoryName="parts/big")["uploadId"]
    largest = os.urandom(20 * MIB)
    assert ecr.upload_layer_part(repositoryName="parts/big", uploadId=upload_id, partFirstByte=0,
                                 partLastByte=len(largest) - 1, layerPartBlob=largest)["lastByteReceived"] == 20 * MIB - 1
    too_big = largest + b"!"
    refused = error(ecr.upload_layer_part, repositoryName="parts/big", uploadId=upload_id, partFirstByte=20 * MIB,
                    partLastByte=40 * MIB, layerPartBlob=too_big)
    assert refused["Error"]["Code"] == "InvalidLayerPartException"
    assert refused["lastValidByteReceived"] == 20 * MIB - 1 and "20971520" in refused["Error"]["Message"]
    assert ecr.complete_layer_upload(repositoryName="parts/big", uploadId=upload_id,
                                     layerDigests=[digest_of(largest)])["layerDigest"] == digest_of(largest)


def test_completion_verifies_and_says_why_not(registry):
    ecr = registry.ecr()
    for name in ["parts/app", "parts/other"]:
        ecr.create_repository(repositoryName=name)
    data = b"a layer's bytes"

    def start(name="parts/app"):
        return ecr.initiate_layer_upload(repositoryName=name)["uploadId"]

    def send(upload_id, payload=data, name="parts/app"):
        ecr.upload_layer_part(repositoryName=name, uploadId=upload_id, partFirstByte=0,
                              partLastByte=len(payload) - 1, layerPartBlob=payload)

    def complete(upload_id, digests, name="parts/app"):
        return ecr.complete_layer_upload(repositoryName=name, uploadId=upload_id, layerDigests=digests)

    def code(upload_id, digests, name="parts/app"):
        response = error(complete, upload_id=upload_id, digests=digests, name=name)
        return response["Error"]["Code"], response["Error"]["Message"]

    # Nothing sent: EmptyUpload, and the session stays for its parts.
    empty = start()
    assert code(empty, [digest_of(data)])[0] == "EmptyUploadException"
    send(empty)
    assert complete(empty, [digest_of(data)])["layerDigest"] == digest_of(data)
    # Completed once: the session is gone.
    assert code(empty, [digest_of(data)])[0] == "UploadNotFoundException"

    # The repository has the layer already: LayerAlreadyExists ends the upload.
    again = start()
    send(again)
    assert code(again, [digest_of(data)])[0] == "LayerAlreadyExistsException"
    assert error(send, upload_id=again)["Error"]["Code"] == "UploadNotFoundException"

    # Bytes that are not the layer named: InvalidLayer, and the upload ends.
    wrong = start()
    send(wrong, b"other bytes")
    kind, message = code(wrong, [digest_of(b"something else")])
    assert kind == "InvalidLayerException" and digest_of(b"other bytes") in message
    assert code(wrong, [digest_of(b"other bytes")])[0] == "UploadNotFoundException"
    assert ecr.batch_check_layer_availability(repositoryName="parts/app",
                                              layerDigests=[digest_of(b"other bytes")])["failures"]

    # An upload belongs to its repository; ids AWS's model would not take are refused as such.
    elsewhere = start()
    send(elsewhere, b"mine")
    assert code(elsewhere, [digest_of(b"mine")], name="parts/other")[0] == "UploadNotFoundException"
    assert error(send, upload_id=elsewhere, payload=b"more", name="parts/other")["Error"]["Code"] == "UploadNotFoundException"
    assert code("00000000-0000-4000-8000-000000000000", [digest_of(data)])[0] == "UploadNotFoundException"
    kind, message = code("not-an-upload", [digest_of(data)])
    assert kind == "InvalidParameterException" and "uploadId" in message
    assert code(elsewhere, ["sha256:nope"])[0] == "InvalidParameterException"
    kind, message = code(elsewhere, [digest_of(b"mine"), digest_of(b"yours")])
    assert kind == "InvalidParameterException" and "layerDigests" in message
    assert complete(elsewhere, [digest_of(b"mine"), digest_of(b"mine")])["layerDigest"] == digest_of(b"mine")

    # A repository that does not exist: the root learns it.
    response = error(ecr.initiate_layer_upload, repositoryName="parts/ghost")
    assert response["Error"]["Code"] == "RepositoryNotFoundException"


def test_one_session_two_apis(registry):
    """A session started through the ECR API takes `/v2` chunks, and the other way round."""
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="parts/app")
    oci = OciClient.for_registry(registry)

    upload_id = ecr.initiate_layer_upload(repositoryName="parts/app")["uploadId"]
    r = oci.request("PATCH", f"/v2/parts/app/blobs/uploads/{upload_id}", b"first half, ",
                    {"Content-Type": "application/octet-stream", "Content-Range": "0-11"})
    assert r.status == 202 and r.headers["range"] == "0-11"
    assert ecr.upload_layer_part(repositoryName="parts/app", uploadId=upload_id, partFirstByte=12, partLastByte=22,
                                 layerPartBlob=b"second half")["lastByteReceived"] == 22
    data = b"first half, second half"
    assert ecr.complete_layer_upload(repositoryName="parts/app", uploadId=upload_id,
                                     layerDigests=[digest_of(data)])["layerDigest"] == digest_of(data)

    r = oci.request("POST", "/v2/parts/app/blobs/uploads/")
    assert r.status == 202
    session = r.headers["docker-upload-uuid"]
    ecr.upload_layer_part(repositoryName="parts/app", uploadId=session, partFirstByte=0, partLastByte=3,
                          layerPartBlob=b"v2 !")
    r = oci.request("PUT", f"/v2/parts/app/blobs/uploads/{session}?digest={digest_of(b'v2 !')}")
    assert r.status == 201
    assert oci.request("GET", f"/v2/parts/app/blobs/{digest_of(b'v2 !')}").body == b"v2 !"


def test_layer_uploads_need_their_grants(registry):
    admin = registry.ecr()
    admin.create_repository(repositoryName="parts/app")
    ci_user = registry.add_user("ci")
    ci = registry.ecr(key=ci_user["accessKeyId"], secret=ci_user["secretAccessKey"])
    for call, kwargs in [(ci.initiate_layer_upload, {"repositoryName": "parts/app"}),
                         (ci.initiate_layer_upload, {"repositoryName": "parts/ghost"})]:
        assert error(call, **kwargs)["Error"]["Code"] == "AccessDeniedException"

    def policy(*statements):
        return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})

    upload = ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"]
    grant = {"Sid": "CiUploads", "Effect": "Allow", "Principal": {"AWS": ci_user["arn"]}, "Action": upload}
    admin.set_repository_policy(repositoryName="parts/app", policyText=policy(grant))
    upload_id = ci.initiate_layer_upload(repositoryName="parts/app")["uploadId"]
    admin.set_repository_policy(repositoryName="parts/app", policyText=policy(grant, {
        "Sid": "NoParts", "Effect": "Deny", "Principal": {"AWS": ci_user["arn"]}, "Action": "ecr:UploadLayerPart"}))
    refused = error(ci.upload_layer_part, repositoryName="parts/app", uploadId=upload_id, partFirstByte=0,
                    partLastByte=1, layerPartBlob=b"hi")
    assert refused["Error"]["Code"] == "AccessDeniedException" and "NoParts" in refused["Error"]["Message"]
    admin.set_repository_policy(repositoryName="parts/app", policyText=policy(grant))
    ci.upload_layer_part(repositoryName="parts/app", uploadId=upload_id, partFirstByte=0, partLastByte=1,
                         layerPartBlob=b"hi")
    assert ci.complete_layer_upload(repositoryName="parts/app", uploadId=upload_id,
                                    layerDigests=[digest_of(b"hi")])["layerDigest"] == digest_of(b"hi")
