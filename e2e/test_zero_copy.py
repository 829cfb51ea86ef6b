"""Verified blob files go from the page cache to the socket with sendfile(2), and
arrive byte for byte; a file the registry has not verified streams through the
hashing path instead. strace watches the registry's system calls."""

import base64
import http.client
import os
import re
import subprocess

from oci import OciClient

MIB = 1024 * 1024


class SendfileCalls:
    """strace attached to a running process, counting the bytes its sendfile calls moved."""

    def __init__(self, pid, log):
        self.log = log
        self.proc = subprocess.Popen(["strace", "-f", "-e", "trace=sendfile", "-o", str(log), "-p", str(pid)],
                                     stderr=subprocess.PIPE, text=True)
        # strace says so on stderr once it is attached to every thread.
        line = self.proc.stderr.readline()
        assert "attached" in line, line

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        sent = [int(n) for n in re.findall(r"sendfile\(.*\) = (\d+)", self.log.read_text())]
        return sum(sent)


def get(conn, token, path, headers=None):
    auth = "Basic " + base64.b64encode(f"AWS:{token}".encode()).decode()
    conn.request("GET", path, headers={"Authorization": auth, **(headers or {})})
    response = conn.getresponse()
    return response.status, response.read()


def test_verified_blobs_are_sent_by_the_kernel_and_arrive_intact(registry, tmp_path):
    registry.ecr().create_repository(repositoryName="app")
    client = OciClient.for_registry(registry)
    blob = os.urandom(9 * MIB + 123)
    digest = client.push_blob("app", blob)  # hashed on its way in: verified
    path = f"/v2/app/blobs/{digest}"

    calls = SendfileCalls(registry.proc.pid, tmp_path / "strace-1.log")
    conn = http.client.HTTPConnection(client.host, client.port, timeout=60)
    try:
        for _ in range(2):
            assert get(conn, client.token, path) == (200, blob)
        assert get(conn, client.token, path, {"Range": "bytes=1000-5000000"}) == (206, blob[1000:5000001])
        # The connection carries on after a file body.
        assert get(conn, client.token, "/v2/")[0] == 200
    finally:
        conn.close()
        sent = calls.stop()
    assert sent == 2 * len(blob) + 5000001 - 1000, "every byte went by sendfile"


def test_a_file_not_yet_verified_is_hashed_as_it_streams_before_it_is_sent_whole(registry, tmp_path):
    registry.ecr().create_repository(repositoryName="app")
    client = OciClient.for_registry(registry)
    blob = os.urandom(3 * MIB)
    digest = client.push_blob("app", blob)
    registry.restart()  # forgets which files it verified
    client = OciClient.for_registry(registry)

    calls = SendfileCalls(registry.proc.pid, tmp_path / "strace-2.log")
    conn = http.client.HTTPConnection(client.host, client.port, timeout=60)
    try:
        assert get(conn, client.token, f"/v2/app/blobs/{digest}") == (200, blob)
        first = calls.stop()
        calls = SendfileCalls(registry.proc.pid, tmp_path / "strace-3.log")
        assert get(conn, client.token, f"/v2/app/blobs/{digest}") == (200, blob)
    finally:
        conn.close()
        second = calls.stop()
    assert first == 0, "the first download after a restart hashes the file as it streams"
    assert second == len(blob), "once verified, the file goes by sendfile"
