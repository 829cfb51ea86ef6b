"""Pull tracking: lastRecordedPullTime is written at most once per image per interval,
off the pull's path."""

import sqlite3
import time

from conftest import Registry
from oci import OCI_MANIFEST, OciClient


def wait_until(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def last_pull(registry, repository, tag):
    detail = registry.ecr().describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"][0]
    return detail.get("lastRecordedPullTime")


def pull(client, repository, tag):
    r = client.request("GET", f"/v2/{repository}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
    assert r.status == 200, r
    return r


def test_pulls_of_one_image_write_its_pull_time_once_per_interval(tmp_path):
    registry = Registry(tmp_path, extra_args=["--pull-record-interval", "3s"])
    try:
        registry.ecr().create_repository(repositoryName="pulls")
        client = OciClient.for_registry(registry)
        client.push_image("pulls", "a", [b"layer of a"])
        client.push_image("pulls", "b", [b"layer of b"])

        pull(client, "pulls", "a")
        first = wait_until(lambda: last_pull(registry, "pulls", "a"), what="a's first pull to be recorded")
        for _ in range(5):
            pull(client, "pulls", "a")
        # Writes leave in pull order: once b's is in, any write for a's later pulls is too.
        pull(client, "pulls", "b")
        wait_until(lambda: last_pull(registry, "pulls", "b"), what="b's pull to be recorded")
        assert last_pull(registry, "pulls", "a") == first

        wait_until(lambda: time.time() > first.timestamp() + 3, what="the interval to pass")
        pull(client, "pulls", "a")
        later = wait_until(lambda: (t := last_pull(registry, "pulls", "a")) != first and t,
                           what="a's pull after the interval to be recorded")
        assert later > first
    finally:
        registry.stop()


def test_a_pull_does_not_wait_for_the_database(registry):
    registry.ecr().create_repository(repositoryName="busy")
    client = OciClient.for_registry(registry)
    raw, _ = client.push_image("busy", "v1", [b"a layer"])

    # Another process holds the database's write lock (as a long write would).
    holder = sqlite3.connect(registry.data / "berth.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert pull(client, "busy", "v1").body == raw
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    wait_until(lambda: last_pull(registry, "busy", "v1"), what="the pull to be recorded once the lock is free")
