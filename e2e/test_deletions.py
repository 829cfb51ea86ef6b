"""Deletions that must not leave anything dangling, against a real `berth-registry`:
an index keeps its children, a manifest keeps its blobs, the last tag takes its
image along (ECR's BatchDeleteImage), and a deleted image releases the blobs only it
needed — but not ones a push in flight relies on."""

import json
import sqlite3

from oci import OCI_INDEX, OCI_MANIFEST, OciClient, digest_of


def index_of(*children):
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(raw),
         "platform": {"architecture": arch, "os": "linux"}} for raw, digest, arch in children]}


def setup(registry, name="app"):
    registry.ecr().create_repository(repositoryName=name)
    return OciClient.for_registry(registry)


def test_an_index_keeps_its_children(registry):
    client = setup(registry)
    ecr = registry.ecr()
    amd, amd_digest = client.push_image("app", "amd64", [b"amd64 layer"])
    arm, arm_digest = client.push_image("app", "arm64", [b"arm64 layer"])
    raw_index = json.dumps(index_of((amd, amd_digest, "amd64"), (arm, arm_digest, "arm64"))).encode()
    assert client.push_manifest("app", "multi", raw_index, OCI_INDEX).status == 201
    index_digest = digest_of(raw_index)

    by_digest = ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": amd_digest}])
    assert by_digest["imageIds"] == []
    failure = by_digest["failures"][0]
    assert failure["failureCode"] == "ImageReferencedByManifestList"
    assert failure["failureReason"] == f"Requested image referenced by manifest list: [{index_digest}]"
    by_tag = ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "arm64"}])
    assert by_tag["failures"][0]["failureCode"] == "ImageReferencedByManifestList", "the last tag would take the image"
    r = client.request("DELETE", f"/v2/app/manifests/{amd_digest}")
    assert r.status == 405 and r.error_code() == "UNSUPPORTED"
    assert "Requested image referenced by manifest list" in r.json()["errors"][0]["message"]
    for reference in ["multi", amd_digest, arm_digest, "arm64"]:
        assert client.request("GET", f"/v2/app/manifests/{reference}").status == 200, reference

    assert client.request("DELETE", f"/v2/app/manifests/{index_digest}").status == 202
    assert ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": amd_digest}])["failures"] == []
    assert client.request("GET", f"/v2/app/manifests/{amd_digest}").status == 404


def test_removing_the_last_tag_deletes_the_image(registry):
    client = setup(registry)
    ecr = registry.ecr()
    raw, digest = client.push_image("app", "v1", [b"layer"])
    assert client.push_manifest("app", "v2", raw).status == 201

    first = ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    assert first["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    assert ecr.describe_images(repositoryName="app")["imageDetails"][0]["imageTags"] == ["v2"]
    last = ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v2"}])
    assert last["imageIds"] == [{"imageDigest": digest, "imageTag": "v2"}] and last["failures"] == []
    assert ecr.describe_images(repositoryName="app")["imageDetails"] == []
    assert client.request("GET", f"/v2/app/manifests/{digest}").status == 404

    # /v2 follows the distribution spec instead: a tag DELETE removes the tag only.
    raw, digest = client.push_image("app", "only", [b"layer"])
    assert client.request("DELETE", "/v2/app/manifests/only").status == 202
    assert client.request("GET", f"/v2/app/manifests/{digest}").status == 200
    untagged = ecr.describe_images(repositoryName="app", filter={"tagStatus": "UNTAGGED"})["imageDetails"]
    assert [d["imageDigest"] for d in untagged] == [digest]


def test_blobs_a_manifest_needs_stay_and_deleted_images_release_theirs(registry):
    client = setup(registry)
    shared, only_one, only_two = b"shared layer", b"layer of one", b"layer of two"
    _, one = client.push_image("app", "one", [shared, only_one])
    _, two = client.push_image("app", "two", [shared, only_two])

    r = client.request("DELETE", f"/v2/app/blobs/{digest_of(shared)}")
    assert r.status == 405 and r.error_code() == "UNSUPPORTED"
    assert one in r.json()["errors"][0]["message"] and two in r.json()["errors"][0]["message"]
    assert client.request("GET", f"/v2/app/blobs/{digest_of(shared)}").body == shared
    loose = client.push_blob("app", b"referenced by nothing")
    assert client.request("DELETE", f"/v2/app/blobs/{loose}").status == 202
    assert client.request("HEAD", f"/v2/app/blobs/{loose}").status == 404

    registry.ecr().batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": one}])
    assert client.request("GET", f"/v2/app/blobs/{digest_of(only_one)}").status == 404, "only image one needed it"
    assert client.request("GET", f"/v2/app/blobs/{digest_of(shared)}").body == shared, "image two still needs it"
    assert client.request("DELETE", f"/v2/app/manifests/{two}").status == 202
    for blob in [shared, only_two]:
        assert client.request("HEAD", f"/v2/app/blobs/{digest_of(blob)}").status == 404


def test_a_deleted_image_leaves_the_links_a_push_in_flight_relies_on(registry):
    client = setup(registry)
    setup(registry, "other")
    layer, mounted = b"layer a new push finds present", b"layer a new push mounts"
    _, old = client.push_image("app", "old", [layer, mounted])
    client.push_blob("other", mounted)
    # A new push checks one layer is there and mounts another; then the old image goes.
    assert client.request("HEAD", f"/v2/app/blobs/{digest_of(layer)}").status == 200
    assert client.request("POST", f"/v2/app/blobs/uploads/?mount={digest_of(mounted)}&from=other").status == 201
    assert client.request("DELETE", f"/v2/app/manifests/{old}").status == 202
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": client.push_blob("app", b"{}"), "size": 2},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest_of(b), "size": len(b)}
                           for b in [layer, mounted]]}
    assert client.push_manifest("app", "new", manifest).status == 201


def test_references_of_manifests_stored_by_an_older_version_are_recorded_at_start(registry):
    client = setup(registry)
    amd, amd_digest = client.push_image("app", "amd64", [b"amd64 layer"])
    raw_index = json.dumps(index_of((amd, amd_digest, "amd64"))).encode()
    assert client.push_manifest("app", "multi", raw_index, OCI_INDEX).status == 201
    registry.stop()
    db = sqlite3.connect(registry.data / "berth.db")
    # As a data dir from before those tables: schema version 2 (see registry/migrations/sqlite/).
    db.executescript("DROP TABLE manifest_blobs; DROP TABLE manifest_children; PRAGMA user_version = 2;")
    db.commit()
    db.close()
    registry.start()
    assert client.request("DELETE", f"/v2/app/manifests/{amd_digest}").error_code() == "UNSUPPORTED"
    assert client.request("DELETE", f"/v2/app/blobs/{digest_of(b'amd64 layer')}").error_code() == "UNSUPPORTED"
