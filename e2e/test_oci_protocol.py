"""The OCI Distribution API of a real `berth-registry`, endpoint by endpoint and
error code by error code, over raw HTTP."""

import json
import os
import sqlite3
import time

import pytest

from oci import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, OciClient, digest_of
from test_pull_tracking import wait_until


@pytest.fixture
def client(registry):
    for name in ["app", "other", "team/app"]:
        registry.ecr().create_repository(repositoryName=name)
    return OciClient.for_registry(registry)


def test_auth_is_basic_with_the_ecr_token(registry, client):
    anonymous = OciClient(registry.url)
    r = anonymous.request("GET", "/v2/")
    assert r.status == 401 and r.error_code() == "UNAUTHORIZED"
    # ECR's Basic challenge first, then the distribution token flow's Bearer.
    assert r.header_values("www-authenticate") == [
        f'Basic realm="{registry.url}"',
        f'Bearer realm="{registry.url}/v2/token",service="{registry.host}"',
    ]
    assert anonymous.request("GET", "/v2/app/tags/list").status == 401
    assert OciClient(registry.url, token="forged").request("GET", "/v2/").status == 401

    r = client.request("GET", "/v2/")
    assert r.status == 200 and r.headers["docker-distribution-api-version"] == "registry/2.0"

    data = registry.ecr().get_authorization_token()["authorizationData"][0]
    assert data["proxyEndpoint"] == registry.url
    lifetime = data["expiresAt"].timestamp() - time.time()
    assert 11.9 * 3600 < lifetime <= 12 * 3600

    # Tokens survive a restart...
    registry.restart()
    assert client.request("GET", "/v2/").status == 200
    # ...and expire: age this one past its expiry in the registry's own database.
    registry.stop()
    db = sqlite3.connect(registry.data / "berth.db")
    db.execute("UPDATE auth_tokens SET expires_at = ?", (time.time() - 1,))
    db.commit()
    db.close()
    registry.start()
    r = client.request("GET", "/v2/")
    assert r.status == 401 and "expired" in r.json()["errors"][0]["message"]


def test_blob_uploads_monolithic_post_put_and_chunked(registry, client):
    data = os.urandom(100_000)
    digest = client.push_blob("app", data)
    head = client.request("HEAD", f"/v2/app/blobs/{digest}")
    assert head.status == 200 and head.headers["content-length"] == str(len(data))
    assert head.headers["docker-content-digest"] == digest and head.body == b""
    get = client.request("GET", f"/v2/app/blobs/{digest}")
    assert get.body == data

    # POST, then PUT with the body.
    start = client.request("POST", "/v2/app/blobs/uploads/")
    assert start.status == 202 and start.headers["location"].startswith("/v2/app/blobs/uploads/")
    data2 = os.urandom(5000)
    done = client.request("PUT", f"{start.headers['location']}?digest={digest_of(data2)}", data2)
    assert done.status == 201 and done.headers["location"] == f"/v2/app/blobs/{digest_of(data2)}"

    # Chunked: PATCH with Content-Range, status, then PUT.
    data3 = os.urandom(30)
    start = client.request("POST", "/v2/team/app/blobs/uploads/")
    url = start.headers["location"]
    r = client.request("PATCH", url, data3[:10], {"Content-Range": "0-9", "Content-Type": "application/octet-stream"})
    assert r.status == 202 and r.headers["range"] == "0-9"
    r = client.request("PATCH", r.headers["location"], data3[10:20], {"Content-Range": "10-19"})
    assert r.status == 202 and r.headers["range"] == "0-19"
    status = client.request("GET", url)
    assert status.status == 204 and status.headers["range"] == "0-19" and status.headers["docker-upload-uuid"]
    r = client.request("PUT", f"{url}?digest={digest_of(data3)}", data3[20:], {"Content-Range": "20-29"})
    assert r.status == 201
    assert client.request("GET", f"/v2/team/app/blobs/{digest_of(data3)}").body == data3


def test_refused_uploads_store_nothing(registry, client):
    data = b"the real content"
    wrong = digest_of(b"something else")
    r = client.request("POST", f"/v2/app/blobs/uploads/?digest={wrong}", data)
    assert r.status == 400 and r.error_code() == "DIGEST_INVALID"
    assert client.request("HEAD", f"/v2/app/blobs/{wrong}").status == 404
    assert client.request("HEAD", f"/v2/app/blobs/{digest_of(data)}").status == 404
    blob_files = [f for _, _, files in os.walk(registry.data / "blobs") for f in files]
    assert blob_files == []
    assert os.listdir(registry.data / "uploads") == []

    # Out-of-order chunk: refused, and the upload carries on from where it was.
    start = client.request("POST", "/v2/app/blobs/uploads/")
    url = start.headers["location"]
    assert client.request("PATCH", url, b"0123456789", {"Content-Range": "0-9"}).status == 202
    r = client.request("PATCH", url, b"abcdefghij", {"Content-Range": "20-29"})
    assert r.status == 416 and r.error_code() == "BLOB_UPLOAD_INVALID"
    assert client.request("GET", url).headers["range"] == "0-9"
    r = client.request("PATCH", url, b"abc", {"Content-Range": "10-19"})
    assert r.status == 416, "Content-Length must match the range"
    assert client.request("PUT", f"{url}?digest={digest_of(b'0123456789ab')}", b"ab").status == 201

    # Malformed digests, unknown and cancelled uploads.
    r = client.request("POST", "/v2/app/blobs/uploads/?digest=sha256:nothex", b"x")
    assert r.status == 400 and r.error_code() == "DIGEST_INVALID"
    r = client.request("PATCH", "/v2/app/blobs/uploads/no-such-upload", b"x")
    assert r.status == 404 and r.error_code() == "BLOB_UPLOAD_UNKNOWN"
    start = client.request("POST", "/v2/app/blobs/uploads/")
    assert client.request("DELETE", start.headers["location"]).status == 204
    r = client.request("GET", start.headers["location"])
    assert r.status == 404 and r.error_code() == "BLOB_UPLOAD_UNKNOWN"
    # An upload belongs to its repository.
    start = client.request("POST", "/v2/app/blobs/uploads/")
    other = start.headers["location"].replace("/v2/app/", "/v2/other/")
    assert client.request("GET", other).error_code() == "BLOB_UPLOAD_UNKNOWN"
    r = client.request("GET", "/v2/app/blobs/" + digest_of(b"never"))
    assert r.status == 404 and r.error_code() == "BLOB_UNKNOWN"


def test_cross_repository_mount(registry, client):
    digest = client.push_blob("app", b"shared layer")
    r = client.request("POST", f"/v2/other/blobs/uploads/?mount={digest}&from=app")
    assert r.status == 201 and r.headers["location"] == f"/v2/other/blobs/{digest}"
    assert client.request("GET", f"/v2/other/blobs/{digest}").body == b"shared layer"
    # Nothing to mount: the registry starts an ordinary upload instead.
    r = client.request("POST", f"/v2/team/app/blobs/uploads/?mount={digest_of(b'absent')}&from=app")
    assert r.status == 202 and "/blobs/uploads/" in r.headers["location"]


def test_manifests_by_tag_and_digest(registry, client):
    raw, digest = client.push_image("app", "v1", [b"layer one", b"layer two!"])
    for reference in ["v1", digest]:
        r = client.request("GET", f"/v2/app/manifests/{reference}", headers={"Accept": OCI_MANIFEST})
        assert r.status == 200 and r.body == raw
        assert r.headers["content-type"] == OCI_MANIFEST and r.headers["docker-content-digest"] == digest
        head = client.request("HEAD", f"/v2/app/manifests/{reference}")
        assert head.status == 200 and head.headers["content-length"] == str(len(raw)) and head.body == b""

    # The pull time is written off the pull's path: it lands a moment after the GET.
    described = wait_until(lambda: [d for d in registry.ecr().describe_images(repositoryName="app")["imageDetails"]
                                    if "lastRecordedPullTime" in d], what="the pull's recorded time")
    assert [d["imageDigest"] for d in described] == [digest]
    assert described[0]["imageSizeInBytes"] == len(b"layer one") + len(b"layer two!")
    assert described[0]["imageManifestMediaType"] == OCI_MANIFEST
    assert described[0]["artifactMediaType"] == "application/vnd.oci.image.config.v1+json"

    docker_raw, docker_digest = client.push_image("app", "docker", [b"d"], media_type=DOCKER_MANIFEST)
    r = client.request("GET", "/v2/app/manifests/docker")
    assert r.headers["content-type"] == DOCKER_MANIFEST and r.body == docker_raw


def test_manifest_errors(registry, client):
    config = client.push_blob("app", b"{}")
    missing = digest_of(b"never pushed")
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": missing, "size": 12}]}
    r = client.push_manifest("app", "v1", manifest)
    assert r.status == 400 and r.error_code() == "MANIFEST_BLOB_UNKNOWN"
    assert r.json()["errors"][0]["detail"] == {"digest": missing}
    assert client.request("GET", "/v2/app/manifests/v1").error_code() == "MANIFEST_UNKNOWN"

    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [{"mediaType": OCI_MANIFEST, "digest": missing, "size": 10}]}
    r = client.push_manifest("app", "multi", index, OCI_INDEX)
    assert r.status == 400 and r.error_code() == "MANIFEST_BLOB_UNKNOWN"

    r = client.push_manifest("app", "v1", b"{not json")
    assert r.status == 400 and r.error_code() == "MANIFEST_INVALID"
    manifest["layers"] = []
    raw = json.dumps(manifest).encode()
    r = client.push_manifest("app", digest_of(b"other"), raw)
    assert r.status == 400 and r.error_code() == "DIGEST_INVALID"
    r = client.push_manifest("app", "-bad-tag", raw)
    assert r.status == 400 and r.error_code() == "TAG_INVALID"
    r = client.push_manifest("app", "big", b" " * (4 * 1024 * 1024 + 1))
    assert r.status == 400 and r.error_code() == "SIZE_INVALID"
    r = client.request("PATCH", "/v2/app/manifests/v1", b"")
    assert r.status == 405 and r.error_code() == "UNSUPPORTED"
    r = client.request("GET", "/v2/Bad_Name/tags/list")
    assert r.status == 400 and r.error_code() == "NAME_INVALID"
    r = client.request("GET", "/v2/never-created/tags/list")
    assert r.status == 404 and r.error_code() == "NAME_UNKNOWN"
    assert "create it first" in r.json()["errors"][0]["message"]


def test_index_of_two_platforms(registry, client):
    raw_a, digest_a = client.push_image("app", "amd64", [b"amd64 layer"])
    raw_b, digest_b = client.push_image("app", "arm64", [b"arm64 layer!"])
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": digest_a, "size": len(raw_a), "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": OCI_MANIFEST, "digest": digest_b, "size": len(raw_b), "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    ]}
    raw = json.dumps(index, indent=2).encode()
    r = client.push_manifest("app", "multi", raw, OCI_INDEX)
    assert r.status == 201
    got = client.request("GET", "/v2/app/manifests/multi")
    assert got.body == raw and got.headers["content-type"] == OCI_INDEX
    detail = registry.ecr().describe_images(repositoryName="app", imageIds=[{"imageTag": "multi"}])["imageDetails"][0]
    assert detail["imageManifestMediaType"] == OCI_INDEX
    assert detail["imageSizeInBytes"] == len(b"amd64 layer") + len(b"arm64 layer!")


def test_tags_and_catalog_paginate_with_links(registry, client):
    for tag in ["c", "a", "b", "e", "d"]:
        client.push_image("app", tag, [tag.encode()])
    r = client.request("GET", "/v2/app/tags/list?n=2")
    assert r.json() == {"name": "app", "tags": ["a", "b"]}
    assert r.headers["link"] == '</v2/app/tags/list?n=2&last=b>; rel="next"'
    r = client.request("GET", "/v2/app/tags/list?n=2&last=b")
    assert r.json()["tags"] == ["c", "d"]
    r = client.request("GET", "/v2/app/tags/list?n=2&last=d")
    assert r.json()["tags"] == ["e"] and "link" not in r.headers
    assert client.request("GET", "/v2/app/tags/list").json()["tags"] == ["a", "b", "c", "d", "e"]
    # The spec's codes have none for a bad page size: UNSUPPORTED, "invalid set of parameters".
    for bad in ["-1", "ten", "10001"]:
        r = client.request("GET", f"/v2/app/tags/list?n={bad}")
        assert r.status == 400 and r.error_code() == "UNSUPPORTED", bad
        r = client.request("GET", f"/v2/_catalog?n={bad}")
        assert r.status == 400 and r.error_code() == "UNSUPPORTED", bad

    r = client.request("GET", "/v2/_catalog?n=2")
    assert r.json() == {"repositories": ["app", "other"]}
    assert r.headers["link"] == '</v2/_catalog?n=2&last=other>; rel="next"'
    r = client.request("GET", "/v2/_catalog?n=2&last=other")
    assert r.json() == {"repositories": ["team/app"]} and "link" not in r.headers


def test_referrers_and_subject(registry, client):
    _, subject = client.push_image("app", "v1", [b"base"])
    empty = client.push_blob("app", b"{}")
    signature = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.signature",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1},
        "annotations": {"org.example.signed-by": "ci"},
    }
    raw = json.dumps(signature).encode()
    r = client.push_manifest("app", digest_of(raw), raw)
    assert r.status == 201 and r.headers["oci-subject"] == subject
    sbom = dict(signature, artifactType="application/spdx+json", annotations={})
    raw_sbom = json.dumps(sbom).encode()
    assert client.push_manifest("app", digest_of(raw_sbom), raw_sbom).status == 201

    r = client.request("GET", f"/v2/app/referrers/{subject}")
    assert r.status == 200 and r.headers["content-type"] == OCI_INDEX
    listed = {m["digest"]: m for m in r.json()["manifests"]}
    assert set(listed) == {digest_of(raw), digest_of(raw_sbom)}
    assert listed[digest_of(raw)]["artifactType"] == "application/vnd.example.signature"
    assert listed[digest_of(raw)]["annotations"] == {"org.example.signed-by": "ci"}
    assert listed[digest_of(raw)]["size"] == len(raw)

    r = client.request("GET", f"/v2/app/referrers/{subject}?artifactType=application/spdx%2Bjson")
    assert [m["digest"] for m in r.json()["manifests"]] == [digest_of(raw_sbom)]
    assert r.headers["oci-filters-applied"] == "artifactType"
    r = client.request("GET", f"/v2/app/referrers/{digest_of(b'nothing refers here')}")
    assert r.status == 200 and r.json()["manifests"] == []


def test_content_management_deletes(registry, client):
    raw, digest = client.push_image("app", "v1", [b"layer"])
    client.push_manifest("app", "v2", raw)
    assert client.request("DELETE", "/v2/app/manifests/v1").status == 202
    assert client.request("GET", "/v2/app/manifests/v1").error_code() == "MANIFEST_UNKNOWN"
    assert client.request("GET", "/v2/app/manifests/v2").status == 200, "deleting a tag keeps the image"
    assert client.request("DELETE", f"/v2/app/manifests/{digest}").status == 202
    assert client.request("GET", "/v2/app/manifests/v2").status == 404, "deleting the image drops its tags"
    assert client.request("DELETE", f"/v2/app/manifests/{digest}").error_code() == "MANIFEST_UNKNOWN"
    layer = digest_of(b"layer")
    assert client.request("HEAD", f"/v2/app/blobs/{layer}").status == 404, "the image's own blobs went with it"
    loose = client.push_blob("app", b"loose")
    assert client.request("DELETE", f"/v2/app/blobs/{loose}").status == 202
    assert client.request("HEAD", f"/v2/app/blobs/{loose}").status == 404
    assert client.request("DELETE", f"/v2/app/blobs/{loose}").error_code() == "BLOB_UNKNOWN"


def test_users_without_permission_are_denied(registry, client):
    user = registry.add_user("viewer")
    viewer = OciClient.for_registry(registry, key=user["accessKeyId"], secret=user["secretAccessKey"])
    assert viewer.request("GET", "/v2/").status == 200, "any user may log in"
    r = viewer.request("POST", "/v2/app/blobs/uploads/")
    assert r.status == 403 and r.error_code() == "DENIED"
    assert "ecr:InitiateLayerUpload" in r.json()["errors"][0]["message"]
    assert viewer.request("GET", "/v2/app/tags/list").error_code() == "DENIED"
    assert viewer.request("GET", "/v2/_catalog").json() == {"repositories": []}
