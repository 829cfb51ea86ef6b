"""Crashes, concurrency, restarts and large blobs: the store stays consistent and
memory stays flat."""

import hashlib
import http.client
import json
import os
import signal
import sqlite3
import threading
import time

from oci import OciClient, digest_of

MIB = 1024 * 1024


def pattern_chunks(total, seed):
    """`total` bytes of pseudo-random content in 1 MiB chunks, without holding it all."""
    block = hashlib.sha256(seed.encode()).digest() * (MIB // 32)
    for i in range(total // MIB):
        yield block[i % 32:] + block[: i % 32]


def pattern_digest(total, seed):
    h = hashlib.sha256()
    for chunk in pattern_chunks(total, seed):
        h.update(chunk)
    return "sha256:" + h.hexdigest()


def stream_upload(client, method, path, total, seed, stop_after=None):
    """Sends a streamed body; with `stop_after`, calls it once that many bytes are out."""
    conn = http.client.HTTPConnection(client.host, client.port, timeout=300)
    conn.putrequest(method, path)
    conn.putheader("Authorization", _auth(client))
    conn.putheader("Content-Length", str(total))
    conn.putheader("Content-Type", "application/octet-stream")
    conn.endheaders()
    sent = 0
    try:
        for chunk in pattern_chunks(total, seed):
            conn.send(chunk)
            sent += len(chunk)
            if stop_after and sent >= stop_after[0]:
                stop_after[1]()
                stop_after = None
        response = conn.getresponse()
        return response.status, dict((k.lower(), v) for k, v in response.getheaders()), response.read()
    except OSError as error:
        return None, {}, str(error).encode()
    finally:
        conn.close()


def _auth(client):
    import base64

    return "Basic " + base64.b64encode(f"AWS:{client.token}".encode()).decode()


def store_is_consistent(registry):
    db = sqlite3.connect(registry.data / "berth.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        blobs = [row[0] for row in db.execute("SELECT digest FROM blobs")]
        dangling_tags = db.execute(
            "SELECT COUNT(*) FROM tags t LEFT JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest "
            "WHERE m.digest IS NULL").fetchone()[0]
        assert dangling_tags == 0
    finally:
        db.close()
    # Every blob on disk is complete: its name is its content's hash.
    for root, _, files in os.walk(registry.data / "blobs"):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                assert hashlib.file_digest(f, "sha256").hexdigest() == name
    for digest in blobs:
        assert (registry.data / "blobs" / "sha256" / digest[7:9] / digest[7:]).is_file()


def test_sigkill_mid_upload_leaves_a_consistent_store_and_the_push_succeeds(registry):
    registry.ecr().create_repository(repositoryName="crash")
    client = OciClient.for_registry(registry)
    client.push_image("crash", "before", [b"committed before the crash"])
    total, seed = 200 * MIB, "crash"
    digest = pattern_digest(total, seed)

    start = client.request("POST", "/v2/crash/blobs/uploads/")
    status, _, _ = stream_upload(client, "PUT", f"{start.headers['location']}?digest={digest}", total, seed,
                                 stop_after=(80 * MIB, lambda: registry.stop(signal.SIGKILL)))
    assert status is None, "the registry was killed mid-upload"
    registry.start()

    store_is_consistent(registry)
    assert client.request("HEAD", f"/v2/crash/blobs/{digest}").status == 404
    assert client.request("GET", "/v2/crash/manifests/before").status == 200

    # The same push, from the start, now succeeds.
    status, headers, body = stream_upload(client, "POST", f"/v2/crash/blobs/uploads/?digest={digest}", total, seed)
    assert status == 201, body
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": client.push_blob("crash", b"{}"), "size": 2},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": total}]}
    assert client.push_manifest("crash", "after", manifest).status == 201
    detail = registry.ecr().describe_images(repositoryName="crash", imageIds=[{"imageTag": "after"}])["imageDetails"][0]
    assert detail["imageSizeInBytes"] == total
    store_is_consistent(registry)


def test_concurrent_pushes_sharing_layers_all_succeed_and_survive_restart(registry):
    for name in ["team/a", "team/b"]:
        registry.ecr().create_repository(repositoryName=name)
    client = OciClient.for_registry(registry)
    shared = os.urandom(4 * MIB)
    results, errors = {}, []

    def push(i):
        try:
            repo = "team/a" if i % 2 else "team/b"
            raw, digest = client.push_image(repo, f"v{i}", [shared, f"unique layer {i}".encode()])
            results[i] = (repo, raw, digest)
        except Exception as error:  # reported below with its index
            errors.append((i, repr(error)))

    threads = [threading.Thread(target=push, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and len(results) == 8

    def pull_all():
        for i, (repo, raw, digest) in results.items():
            got = client.request("GET", f"/v2/{repo}/manifests/v{i}")
            assert got.status == 200 and got.body == raw
            for layer in json.loads(raw)["layers"]:
                blob = client.request("GET", f"/v2/{repo}/blobs/{layer['digest']}")
                assert digest_of(blob.body) == layer["digest"]

    pull_all()
    registry.restart()
    pull_all()
    store_is_consistent(registry)


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_one_gib_blob_streams_with_flat_memory(registry):
    registry.ecr().create_repository(repositoryName="big")
    client = OciClient.for_registry(registry)
    total, seed = 1024 * MIB, "one gib"
    digest = pattern_digest(total, seed)
    status, _, body = stream_upload(client, "POST", f"/v2/big/blobs/uploads/?digest={digest}", total, seed)
    assert status == 201, body

    conn = http.client.HTTPConnection(client.host, client.port, timeout=300)
    conn.request("GET", f"/v2/big/blobs/{digest}", headers={"Authorization": _auth(client)})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Length") == str(total)
    h, received = hashlib.sha256(), 0
    while chunk := response.read(4 * MIB):
        h.update(chunk)
        received += len(chunk)
    conn.close()
    assert received == total and "sha256:" + h.hexdigest() == digest

    peak = peak_rss_kib(registry.proc.pid)
    assert peak < 100 * 1024, f"peak RSS {peak} KiB"
