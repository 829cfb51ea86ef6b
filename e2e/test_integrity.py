"""Blob files damaged on disk, against a real `berth-registry`: a damaged blob is
never served whole (the download is cut off), a missing or damaged one counts as
missing so a push stores it again, and `fsck` finds and quarantines damage while
the registry serves."""

import http.client
import json
import os
import sqlite3

import botocore.exceptions
import pytest

from oci import OciClient, digest_of

MIB = 1024 * 1024


def blob_file(registry, digest):
    return registry.data / "blobs" / "sha256" / digest[7:9] / digest[7:]


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def download(client, name, digest):
    """(status, body) of a blob GET; body is None when the response was cut off (and
    status None when it was cut off before its head)."""
    conn = http.client.HTTPConnection(client.host, client.port, timeout=60)
    try:
        import base64
        auth = "Basic " + base64.b64encode(f"AWS:{client.token}".encode()).decode()
        conn.request("GET", f"/v2/{name}/blobs/{digest}", headers={"Authorization": auth})
        try:
            response = conn.getresponse()
        except http.client.RemoteDisconnected:
            return None, None
        try:
            return response.status, response.read()
        except (http.client.IncompleteRead, ConnectionError):
            return response.status, None
    finally:
        conn.close()


@pytest.fixture
def stored(registry):
    registry.ecr().create_repository(repositoryName="app")
    client = OciClient.for_registry(registry)
    blobs = {
        "large": os.urandom(5 * MIB),  # several chunks
        "small": os.urandom(1000),  # one chunk
        "truncated": os.urandom(3 * MIB),
        "deleted": os.urandom(2000),
    }
    digests = {name: client.push_blob("app", data) for name, data in blobs.items()}
    return client, blobs, digests


def test_damaged_blobs_are_never_served_whole(registry, stored):
    client, blobs, digests = stored
    assert download(client, "app", digests["large"]) == (200, blobs["large"])

    flip_byte(blob_file(registry, digests["large"]), 4 * MIB + 7)
    flip_byte(blob_file(registry, digests["small"]), 10)
    for name in ["large", "small"]:
        status, body = download(client, "app", digests[name])
        assert status in (200, None) and body is None, f"the {name} damaged blob must be cut off, not completed"
        assert client.request("HEAD", f"/v2/app/blobs/{digests[name]}").status == 404, "damage found: missing now"

    with open(blob_file(registry, digests["truncated"]), "r+b") as f:
        f.truncate(MIB)
    os.remove(blob_file(registry, digests["deleted"]))
    ecr = registry.ecr()
    for name in ["truncated", "deleted"]:
        assert client.request("HEAD", f"/v2/app/blobs/{digests[name]}").status == 404, name
        r = client.request("GET", f"/v2/app/blobs/{digests[name]}")
        assert r.status == 404 and r.error_code() == "BLOB_UNKNOWN", name
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            ecr.get_download_url_for_layer(repositoryName="app", layerDigest=digests[name])
        assert excinfo.value.response["Error"]["Code"] == "LayersNotFoundException"
    checked = ecr.batch_check_layer_availability(repositoryName="app", layerDigests=list(digests.values()))
    assert {f["layerDigest"] for f in checked["failures"]} == set(digests.values())
    assert all(f["failureCode"] == "MissingLayerDigest" for f in checked["failures"])

    # Reported missing, so a push stores them again; then they serve whole.
    for name in blobs:
        assert client.push_blob("app", blobs[name]) == digests[name]
        assert download(client, "app", digests[name]) == (200, blobs[name])


def fsck(registry, *args):
    result = registry.cli("fsck", *args, check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_fsck_finds_and_quarantines_damage_while_serving(registry, stored):
    client, blobs, digests = stored
    client.push_image("app", "v1", [blobs["large"]])
    assert fsck(registry) == (0, {"blobsChecked": 5, "damaged": [], "missing": [], "orphans": [], "danglingReferences": []})

    flip_byte(blob_file(registry, digests["large"]), 123)
    os.remove(blob_file(registry, digests["deleted"]))
    orphan = digest_of(b"a file nothing records")
    blob_file(registry, orphan).parent.mkdir(parents=True, exist_ok=True)
    blob_file(registry, orphan).write_bytes(b"a file nothing records")
    db = sqlite3.connect(registry.data / "berth.db")
    db.execute("DELETE FROM repository_blobs WHERE digest = ?", (digests["small"],))
    db.execute("INSERT INTO manifest_blobs (repository_id, manifest_digest, blob_digest) SELECT repository_id, digest, ? FROM manifests",
               (digests["small"],))
    db.commit()
    db.close()

    status, report = fsck(registry)
    assert status == 1
    [damaged] = report["damaged"]
    assert damaged["digest"] == digests["large"] and damaged["quarantinedTo"] is None
    assert damaged["actualDigest"] != digests["large"] and damaged["size"] == len(blobs["large"])
    assert report["missing"] == [digests["deleted"]]
    assert report["orphans"] == [orphan]
    assert [(d["repositoryName"], d["layerDigest"]) for d in report["danglingReferences"]] == [("app", digests["small"])]
    assert blob_file(registry, digests["large"]).exists(), "without --repair nothing moves"

    status, report = fsck(registry, "--repair")
    moved = report["damaged"][0]["quarantinedTo"]
    assert moved.startswith(str(registry.data / "quarantine")) and os.path.exists(moved)
    assert not blob_file(registry, digests["large"]).exists()
    assert client.request("HEAD", f"/v2/app/blobs/{digests['large']}").status == 404
    assert client.push_blob("app", blobs["large"]) == digests["large"]
    assert download(client, "app", digests["large"]) == (200, blobs["large"])
    assert fsck(registry)[1]["damaged"] == []
