"""Online garbage collection against real processes: `berth-registry gc` on the data dir
of a running `serve`, and serve's own schedule, while pushes and pulls go on."""

import hashlib
import json
import os
import random
import re
import sqlite3
import subprocess
import threading
import time
import uuid

from conftest import REGISTRY_BIN, Registry
from oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, OciClient, digest_of
from test_durability import store_is_consistent

KIB = 1024
# Pushes per pusher in the load test: half into kept repositories, half into
# short-lived ones.
ROUNDS = 12


def wait_until(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def gc(registry, *args):
    """One `berth-registry gc --json` run on the registry's data dir; its report."""
    result = subprocess.run([REGISTRY_BIN, "gc", "--data", str(registry.data), "--json", *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def counts(report):
    return {k: report[k] for k in ["blobsDeleted", "blobBytesFreed", "leftoverBlobsDeleted", "leftoverBlobBytesFreed",
                                   "uploadsExpired", "leftoverUploadsDeleted", "uploadBytesFreed", "bytesFreed",
                                   "failureCount"]}


def blob_files(registry):
    """Every blob file on disk: {digest: size}."""
    found = {}
    for root, _, files in os.walk(registry.data / "blobs" / "sha256"):
        for name in files:
            found["sha256:" + name] = os.path.getsize(os.path.join(root, name))
    return found


def upload_files(registry):
    return sorted(os.listdir(registry.data / "uploads"))


def push_layer(client, repository, data, mount_from=None):
    """A layer the way clients send it: a cross-repository mount when asked (uploading
    after all if the registry answers with a session), else one monolithic POST."""
    digest = digest_of(data)
    if mount_from:
        r = client.request("POST", f"/v2/{repository}/blobs/uploads/?mount={digest}&from={mount_from}")
        if r.status == 201:
            return digest
        assert r.status == 202, r
        r = client.request("PUT", f"{r.headers['location']}?digest={digest}", data,
                           {"Content-Type": "application/octet-stream"})
        assert r.status == 201, r
        return digest
    return client.push_blob(repository, data)


def push_image(client, repository, tag, layers, mount_from=None):
    config = json.dumps({"architecture": "amd64", "os": "linux", "tag": tag, "nonce": uuid.uuid4().hex}).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": push_layer(client, repository, config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": push_layer(client, repository, layer, mount_from), "size": len(layer)}
                   for layer in layers],
    }
    raw = json.dumps(manifest).encode()
    r = client.push_manifest(repository, tag, raw)
    assert r.status == 201, r
    return raw, {digest_of(config): len(config), **{digest_of(l): len(l) for l in layers}}


def pull_and_verify(client, repository, tag, raw):
    got = client.request("GET", f"/v2/{repository}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
    assert got.status == 200, (repository, tag, got)
    assert got.body == raw
    manifest = json.loads(raw)
    for descriptor in [manifest["config"], *manifest["layers"]]:
        blob = client.request("GET", f"/v2/{repository}/blobs/{descriptor['digest']}")
        assert blob.status == 200, (repository, tag, descriptor["digest"], blob)
        assert digest_of(blob.body) == descriptor["digest"]


def test_gc_in_a_loop_never_hurts_concurrent_pushes_and_leaves_exactly_the_referenced_blobs(tmp_path):
    # serve collects every second, and `berth-registry gc` runs back to back beside it.
    registry = Registry(tmp_path, extra_args=["--gc-interval", "1s"])
    try:
        ecr = registry.ecr()
        kept = ["team/a", "team/b"]
        for name in kept:
            ecr.create_repository(repositoryName=name)
        client = OciClient.for_registry(registry)
        rng = random.Random(11)
        # Layers the kept repositories share, and layers only short-lived repositories
        # use: deleting those repositories makes the latter garbage while other pushers
        # upload the very same layers again.
        shared = [rng.randbytes(rng.randrange(16, 128) * KIB) for _ in range(4)]
        scratch_shared = [rng.randbytes(rng.randrange(16, 128) * KIB) for _ in range(4)]
        pushed_blobs, images, errors = {}, {}, []
        lock = threading.Lock()
        stop = threading.Event()
        reports = []

        def collect():
            while not stop.is_set():
                try:
                    reports.append(gc(registry))
                except Exception as error:  # reported below
                    errors.append(("gc", repr(error)))
                    return

        def pusher(k):
            try:
                for i in range(ROUNDS):
                    unique = os.urandom(8 * KIB + k * 64 + i)
                    tag = f"p{k}-{i}"
                    if i % 2:
                        repository = f"scratch/{k}-{i}"
                        ecr.create_repository(repositoryName=repository)
                        layers = [scratch_shared[(k + i) % 4], scratch_shared[(k + i + 1) % 4], unique]
                        # Mount from another pusher's scratch repository, which may be gone.
                        mount_from = f"scratch/{(k + 1) % 8}-{i}"
                        raw, blobs = push_image(client, repository, tag, layers, mount_from)
                        pull_and_verify(client, repository, tag, raw)
                        ecr.delete_repository(repositoryName=repository, force=True)
                    else:
                        repository = kept[k % 2]
                        layers = [shared[(k + i) % 4], shared[(k + i + 2) % 4], unique]
                        raw, blobs = push_image(client, repository, tag, layers, mount_from=kept[(k + 1) % 2])
                        pull_and_verify(client, repository, tag, raw)
                        with lock:
                            images[(repository, tag)] = raw
                    with lock:
                        pushed_blobs.update(blobs)
                # Everything this pusher kept still pulls whole.
                with lock:
                    mine = [(key, raw) for key, raw in images.items() if key[1].startswith(f"p{k}-")]
                for (repository, tag), raw in mine:
                    pull_and_verify(client, repository, tag, raw)
            except Exception as error:  # reported below with the pusher's index
                errors.append((k, repr(error)))

        collector = threading.Thread(target=collect)
        collector.start()
        pushers = [threading.Thread(target=pusher, args=(k,)) for k in range(8)]
        for t in pushers:
            t.start()
        for t in pushers:
            t.join(timeout=600)
        stop.set()
        collector.join(timeout=300)
        assert errors == []
        assert len(images) == 8 * ROUNDS // 2
        assert reports and all(r["failureCount"] == 0 for r in reports)
        assert sum(r["blobsDeleted"] for r in reports) > 0, "the collector freed nothing while the pushers ran"
        for (repository, tag), raw in images.items():
            pull_and_verify(client, repository, tag, raw)

        # Delete some images, then collect once more with nothing else going on.
        for (repository, tag) in sorted(images)[::3]:
            digest = digest_of(images.pop((repository, tag)))
            ecr.batch_delete_image(repositoryName=repository, imageIds=[{"imageDigest": digest}])
        gc(registry)

        # What must remain: every blob a kept repository still serves, and every blob
        # a remaining manifest references.
        expected = {}
        for repository in kept:
            for digest, size in pushed_blobs.items():
                if client.request("HEAD", f"/v2/{repository}/blobs/{digest}").status == 200:
                    expected[digest] = size
        for raw in images.values():
            manifest = json.loads(raw)
            for descriptor in [manifest["config"], *manifest["layers"]]:
                expected[descriptor["digest"]] = descriptor["size"]
        on_disk = blob_files(registry)
        assert len(on_disk) == len(expected)
        assert sum(on_disk.values()) == sum(expected.values())
        assert on_disk == expected
        assert len(on_disk) < len(pushed_blobs)
        for (repository, tag), raw in images.items():
            pull_and_verify(client, repository, tag, raw)
        store_is_consistent(registry)
    finally:
        registry.stop()


def start_session(client, repository, data=b""):
    r = client.request("POST", f"/v2/{repository}/blobs/uploads/")
    assert r.status == 202, r
    location = r.headers["location"]
    if data:
        r = client.request("PATCH", location, data, {"Content-Type": "application/octet-stream"})
        assert r.status == 202, r
    return location, location.rsplit("/", 1)[1]


def test_abandoned_upload_sessions_expire_and_fresh_ones_stay(registry, tmp_path):
    registry.ecr().create_repository(repositoryName="uploads")
    client = OciClient.for_registry(registry)
    abandoned = [start_session(client, "uploads", b"x" * 5000), start_session(client, "uploads")]
    idle_since = time.time()
    # Sessions survive a restart; expiry is what ends them.
    registry.restart()
    wait_until(lambda: time.time() > idle_since + 3, what="the abandoned sessions to be 3 s old")
    fresh = [start_session(client, "uploads", b"y" * 700), start_session(client, "uploads")]
    assert len(upload_files(registry)) == 4

    report = gc(registry, "--upload-expiry", "3s")
    assert (report["uploadsExpired"], report["uploadBytesFreed"], report["leftoverUploadsDeleted"]) == (2, 5000, 0)
    assert upload_files(registry) == sorted(id for _, id in fresh)
    for location, _ in abandoned:
        r = client.request("GET", location)
        assert r.status == 404 and r.error_code() == "BLOB_UPLOAD_UNKNOWN", r
    # A fresh session carries on as if nothing happened.
    location, _ = fresh[0]
    data = b"y" * 700 + b"z" * 300
    r = client.request("PATCH", location, b"z" * 300, {"Content-Type": "application/octet-stream"})
    assert r.status == 202, r
    r = client.request("PUT", f"{location}?digest={digest_of(data)}")
    assert r.status == 201, r
    assert client.request("GET", f"/v2/uploads/blobs/{digest_of(data)}").body == data


def test_crash_leftovers_are_found_and_removed(registry):
    registry.ecr().create_repository(repositoryName="crash")
    client = OciClient.for_registry(registry)
    raw, _ = client.push_image("crash", "v1", [b"a layer that stays"])
    # What a crash leaves: a partial upload without its session, and blob bytes
    # renamed into place whose record never committed.
    partial = registry.data / "uploads" / str(uuid.uuid4())
    partial.write_bytes(b"p" * 1234)
    leftover = b"bytes nobody recorded"
    digest = digest_of(leftover)
    (registry.data / "blobs" / "sha256" / digest[7:9]).mkdir(exist_ok=True)
    (registry.data / "blobs" / "sha256" / digest[7:9] / digest[7:]).write_bytes(leftover)
    # Not an upload session's file: not the collector's to remove.
    stranger = registry.data / "uploads" / "notes.txt"
    stranger.write_text("kept")
    before = blob_files(registry)

    report = gc(registry)
    assert (report["leftoverUploadsDeleted"], report["leftoverBlobsDeleted"], report["leftoverBlobBytesFreed"]) \
        == (1, 1, len(leftover))
    assert report["uploadBytesFreed"] == 1234 and report["blobsDeleted"] == 0
    assert not partial.exists() and stranger.exists()
    assert blob_files(registry) == {d: s for d, s in before.items() if d != digest}
    pull_and_verify(client, "crash", "v1", raw)
    store_is_consistent(registry)


def snapshot(registry):
    db = sqlite3.connect(registry.data / "berth.db")
    try:
        rows = {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ["blobs", "repository_blobs", "uploads"]}
    finally:
        db.close()
    return blob_files(registry), upload_files(registry), rows


def test_dry_run_deletes_nothing_and_reports_what_a_run_then_frees(registry):
    ecr = registry.ecr()
    for name in ["keep", "drop"]:
        ecr.create_repository(repositoryName=name)
    client = OciClient.for_registry(registry)
    client.push_image("keep", "v1", [b"kept layer", b"layer in both"])
    dropped_bytes = os.urandom(10 * KIB)
    dropped = digest_of(dropped_bytes)
    client.push_image("drop", "v1", [b"dropped layer", b"layer in both", dropped_bytes])
    ecr.delete_repository(repositoryName="drop", force=True)
    start_session(client, "keep", b"q" * 4321)
    (registry.data / "uploads" / str(uuid.uuid4())).write_bytes(b"r" * 99)
    before = snapshot(registry)

    dry = gc(registry, "--dry-run", "--upload-expiry", "0s")
    assert dry["dryRun"] is True
    assert snapshot(registry) == before
    db = sqlite3.connect(registry.data / "berth.db")
    assert db.execute("SELECT value FROM settings WHERE key = 'gc_last_run'").fetchone() is None
    db.close()

    real = gc(registry, "--upload-expiry", "0s")
    assert real["dryRun"] is False
    assert counts(dry) == counts(real)
    # The two layers only the dropped repository had (both images share their config).
    assert (real["blobsDeleted"], real["uploadsExpired"], real["leftoverUploadsDeleted"]) == (2, 1, 1)
    assert real["uploadBytesFreed"] == 4321 + 99
    freed = {d: s for d, s in before[0].items() if d not in blob_files(registry)}
    assert set(freed) == {digest_of(b"dropped layer"), dropped}
    assert sum(freed.values()) == real["blobBytesFreed"]
    assert upload_files(registry) == []


def test_serve_collects_on_its_interval_and_records_the_result(tmp_path):
    registry = Registry(tmp_path, extra_args=["--gc-interval", "1s", "--upload-expiry", "1s"])
    try:
        ecr = registry.ecr()
        for name in ["gone", "idle"]:
            ecr.create_repository(repositoryName=name)
        client = OciClient.for_registry(registry)
        client.push_image("gone", "v1", [os.urandom(64 * KIB)])
        pushed = set(blob_files(registry))
        ecr.delete_repository(repositoryName="gone", force=True)
        start_session(client, "idle", b"s" * 10)

        wait_until(lambda: not (pushed & set(blob_files(registry))) and not upload_files(registry),
                   what="serve's collector to free the deleted repository's blobs and the idle session")
        # The summary is printed once the run has finished, a moment after the files went.
        def freed():
            return sum(int(n) for n in re.findall(r"garbage collection freed .*?: (\d+) unreferenced blobs",
                                                  registry.output()))
        wait_until(lambda: freed() >= len(pushed), what="the runs' summaries in serve's output")
        assert freed() == len(pushed)

        def recorded():
            db = sqlite3.connect(registry.data / "berth.db")
            try:
                rows = dict(db.execute("SELECT key, value FROM settings WHERE key LIKE 'gc_%'").fetchall())
            finally:
                db.close()
            if "gc_last_run" in rows and "gc_schedule" in rows:
                last, schedule = json.loads(rows["gc_last_run"]), json.loads(rows["gc_schedule"])
                # Runs go on every second: a run records itself, then the next one's
                # time, so between the two writes the schedule is still the old one.
                if schedule["nextRunAt"] >= last["startedAt"]:
                    return last, schedule
            return None

        last, schedule = wait_until(recorded, what="a run and the schedule after it to be recorded")
        assert last["dryRun"] is False and last["seconds"] >= 0
        assert schedule["intervalSeconds"] == 1 and schedule["nextRunAt"] >= last["startedAt"]
    finally:
        registry.stop()
