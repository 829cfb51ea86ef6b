"""Slow and hostile clients against a real `berth-registry`: requests refused from
their headers before any body is read, memory bounded while strangers send bodies,
slowloris and idle connections closed while others are served, a cap on
connections, signatures that must cover the action, and early refusals that leave
a client's connection pool usable."""

import base64
import datetime
import http.client
import json
import select
import socket
import threading
import time

import pytest
import requests

from conftest import Registry
from oci import OciClient
import sigv4
from sigv4 import TARGET_PREFIX, sign

MIB = 1024 * 1024


def ecr_headers(registry, action, body, key=None, secret=None, **kwargs):
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET_PREFIX + action}
    return sign("POST", registry.url + "/", headers, body, key or registry.access_key_id,
                secret or registry.secret_access_key, registry.region, **kwargs)


def raw_head(registry, request: bytes, timeout=10.0):
    """Sends `request` (a head, maybe part of a body) and returns (status line, headers, body so far)
    of the response, without sending anything more."""
    with socket.create_connection(("127.0.0.1", registry.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return lines[0], headers, rest


def post_head(registry, headers, content_length):
    lines = [f"POST / HTTP/1.1", f"Host: {registry.host}", f"Content-Length: {content_length}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_signatures_must_cover_host_date_and_action(registry):
    registry.ecr().create_repository(repositoryName="app")
    body = json.dumps({"repositoryName": "app"}).encode()
    # A request signed over host and date only: its action could be swapped in transit.
    headers = ecr_headers(registry, "ListImages", body, signed={"host", "x-amz-date"})
    status, _, raw = sigv4.http("POST", registry.url + "/", headers, body)
    assert (status, json.loads(raw)["__type"]) == (403, "InvalidSignatureException")
    assert "'X-Amz-Target' must be a 'SignedHeader'" in json.loads(raw)["message"]
    replayed = dict(headers, **{"x-amz-target": TARGET_PREFIX + "DescribeImages"})
    status, _, raw = sigv4.http("POST", registry.url + "/", replayed, body)
    assert json.loads(raw)["__type"] == "InvalidSignatureException"

    headers = ecr_headers(registry, "ListImages", body, signed={"x-amz-target", "x-amz-date"})
    status, _, raw = sigv4.http("POST", registry.url + "/", headers, body)
    assert "'Host' or ':authority' must be a 'SignedHeader'" in json.loads(raw)["message"]

    # Never stricter than AWS: its JavaScript SDK v2 leaves Content-Type unsigned.
    headers = ecr_headers(registry, "ListImages", body, signed={"host", "x-amz-date", "x-amz-target"})
    status, _, raw = sigv4.http("POST", registry.url + "/", headers, body)
    assert (status, json.loads(raw)) == (200, {"imageIds": []})


@pytest.fixture
def unrecorded(tmp_path):
    """A registry without the test recorder, which would read every body first."""
    registry = Registry(tmp_path, record_api=False)
    yield registry
    registry.stop()


def test_requests_are_refused_from_their_headers_before_any_body(unrecorded):
    registry = unrecorded
    body = b"{}"
    unknown = ecr_headers(registry, "DescribeRepositories", body, key="AKIAUNKNOWN000000000")
    skewed = ecr_headers(registry, "DescribeRepositories", body,
                         at=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20))
    elsewhere = ecr_headers(registry, "DescribeRepositories", body)
    elsewhere["authorization"] = elsewhere["authorization"].replace("/us-east-1/", "/eu-west-1/")
    unsigned_target = ecr_headers(registry, "DescribeRepositories", body, signed={"host", "x-amz-date"})
    too_big = ecr_headers(registry, "ListImages", body)
    cases = [(unknown, "UnrecognizedClientException"), (skewed, "InvalidSignatureException"),
             (elsewhere, "InvalidSignatureException"), (unsigned_target, "InvalidSignatureException"),
             (too_big, "InvalidParameterException")]
    for headers, expected in cases:
        # Two MiB announced, not a byte of it sent: the answer comes from the headers alone.
        status, response_headers, raw = raw_head(registry, post_head(registry, headers, 2 * MIB))
        assert json.loads(raw)["__type"] == expected, (status, raw)
        assert response_headers.get("connection") == "close", "the unread body rules out reuse"
    # PutImage may carry a 4 MiB manifest, escaped, and UploadLayerPart a 20 MiB part
    # as base64: far more than other actions, and each no more than its largest need.
    for action, largest in [("PutImage", 25_231_360), ("UploadLayerPart", 28_027_564)]:
        head = ecr_headers(registry, action, body)
        status, _, raw = raw_head(registry, post_head(registry, head, largest + 1))
        assert json.loads(raw)["__type"] == "InvalidParameterException" and action in json.loads(raw)["message"]
        assert f"larger than the {largest} bytes" in json.loads(raw)["message"]


def memory_kib(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = int(value.split()[0]) if value.strip().endswith("kB") else None
    return fields["VmRSS"], fields["VmHWM"]


def test_unauthenticated_bodies_keep_memory_bounded(unrecorded):
    registry = unrecorded
    size = 2_000_000
    payload = b"x" * size
    # PutImage: the one action whose legal bodies are this large.
    unknown = post_head(registry, ecr_headers(registry, "PutImage", payload, key="AKIAUNKNOWN000000000"), size)
    forged = post_head(registry, ecr_headers(registry, "PutImage", payload, secret="w" * 40), size)
    registry.ecr().describe_repositories()
    _, peak_before = memory_kib(registry.proc.pid)
    strangers = 150
    # All bodies but their last byte are out before any is finished: a registry that
    # buffers unverified bodies holds every one of them at once.
    almost_done = threading.Barrier(strangers, timeout=20)
    answers = []

    def stranger(head):
        try:
            with socket.create_connection(("127.0.0.1", registry.port), timeout=60) as sock:
                sock.sendall(head)
                try:
                    sock.sendall(payload[:-1])
                    try:
                        almost_done.wait()
                    except threading.BrokenBarrierError:
                        pass  # some were refused before sending it all: fine
                    sock.sendall(payload[-1:])
                except OSError:
                    pass  # refused from the headers: the registry stopped reading
                answers.append(sock.recv(4096))
        except OSError as error:
            answers.append(repr(error).encode())

    threads = [threading.Thread(target=stranger, args=(unknown if i % 2 else forged,)) for i in range(strangers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _, peak = memory_kib(registry.proc.pid)
    grew = (peak - peak_before) / 1024
    assert grew < 100, f"peak memory grew by {grew:.0f} MiB for {strangers} unauthenticated 2 MB bodies"
    # Refused by key, by signature, or (past the budget) told to retry later.
    kinds = [b"UnrecognizedClientException", b"InvalidSignatureException", b"ThrottlingException"]
    refused = [a for a in answers if any(kind in a for kind in kinds)]
    assert len(refused) >= strangers - 10, [a for a in answers if a not in refused][:3]
    assert registry.ecr().describe_repositories()["repositories"] == []


def test_slowloris_connections_are_closed_while_others_are_served(tmp_path):
    registry = Registry(tmp_path, extra_args=["--header-read-timeout", "2", "--keep-alive-timeout", "30"])
    try:
        slow = []
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", registry.port), timeout=10)
            sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(sock)
        started = time.monotonic()
        client = OciClient.for_registry(registry)
        open_ones, served = set(slow), 0
        while open_ones and time.monotonic() - started < 20:
            assert client.request("GET", "/v2/").status == 200, "a normal client is served meanwhile"
            served += 1
            for sock in list(open_ones):
                try:
                    sock.send(b"a")  # a slowloris keeps dribbling its head
                except OSError:
                    open_ones.discard(sock)
            readable, _, _ = select.select(list(open_ones), [], [], 0.2)
            for sock in readable:
                try:
                    if sock.recv(65536) == b"":
                        open_ones.discard(sock)
                except OSError:
                    open_ones.discard(sock)
        elapsed = time.monotonic() - started
        assert not open_ones, f"{len(open_ones)} slow connections still open after {elapsed:.0f}s"
        assert elapsed < 15 and served > 0
        for sock in slow:
            sock.close()
    finally:
        registry.stop()


def closed_within(sock, seconds):
    """Seconds until the peer closes `sock` (reading what it sends), or None."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            try:
                if sock.recv(65536) == b"":
                    return time.monotonic() - started
            except OSError:
                return time.monotonic() - started
    return None


def test_keep_alive_reuses_connections_and_idle_ones_close(tmp_path):
    registry = Registry(tmp_path, extra_args=["--header-read-timeout", "6", "--keep-alive-timeout", "2"])
    try:
        token = OciClient.for_registry(registry).token
        auth = {"Authorization": "Basic " + base64.b64encode(f"AWS:{token}".encode()).decode()}
        conn = http.client.HTTPConnection("127.0.0.1", registry.port, timeout=10)
        for _ in range(3):
            conn.request("GET", "/v2/", headers=auth)
            response = conn.getresponse()
            assert response.status == 200 and response.read() == b"{}"
            if _ == 0:
                sock = conn.sock
            assert conn.sock is sock, "HTTP/1.1 keep-alive: one connection for every request"
        idle_for = closed_within(sock, 10)
        assert idle_for is not None and idle_for < 5, "an idle connection closes after --keep-alive-timeout"
        conn.close()

        # A connection that never sends a head gets the header timeout, not the keep-alive one.
        silent = socket.create_connection(("127.0.0.1", registry.port), timeout=10)
        waited = closed_within(silent, 15)
        assert waited is not None and 4 < waited < 10
        silent.close()
    finally:
        registry.stop()


def test_a_response_nobody_reads_is_cut_off(tmp_path):
    registry = Registry(tmp_path, extra_args=["--stall-timeout", "2"])
    try:
        registry.ecr().create_repository(repositoryName="app")
        client = OciClient.for_registry(registry)
        big = b"0123456789abcdef" * (2 * MIB)
        digest = client.push_blob("app", big)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", registry.port))
        auth = base64.b64encode(f"AWS:{client.token}".encode()).decode()
        sock.sendall(f"GET /v2/app/blobs/{digest} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\r\n".encode())
        time.sleep(5)  # the client stops reading, as a slow-read attacker does
        received = 0
        sock.settimeout(10)
        while True:
            chunk = sock.recv(MIB)
            if not chunk:
                break
            received += len(chunk)
        assert received < len(big), "the stalled response was cut off, not completed"
        assert client.request("GET", f"/v2/app/blobs/{digest}").body == big
    finally:
        registry.stop()


def test_connections_over_the_cap_wait_for_a_free_one(tmp_path):
    registry = Registry(tmp_path, extra_args=["--max-connections", "3", "--header-read-timeout", "60"])
    try:
        held = []
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", registry.port), timeout=10)
            sock.sendall(b"GET /v2/ HTTP/1.1\r\n")
            held.append(sock)
        waiting = socket.create_connection(("127.0.0.1", registry.port), timeout=1.5)
        waiting.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(socket.timeout):
            waiting.recv(4096)
        held.pop().close()
        waiting.settimeout(10)
        assert waiting.recv(4096).startswith(b"HTTP/1.1 401")
        waiting.close()
        for sock in held:
            sock.close()
    finally:
        registry.stop()


def test_early_refusals_leave_a_reusable_connection_pool(unrecorded):
    registry = unrecorded
    registry.ecr().create_repository(repositoryName="app")
    token = OciClient.for_registry(registry).token
    auth = {"Authorization": "Basic " + base64.b64encode(f"AWS:{token}".encode()).decode()}
    unknown = ecr_headers(registry, "DescribeRepositories", b"x" * 200_000, key="AKIAUNKNOWN000000000")
    session = requests.Session()

    def late_body(size):
        time.sleep(0.2)  # headers first, the body after the registry has answered
        yield b"x" * size

    # Each refusal comes before the body is read; the next request on the same
    # pooled connection must still get its answer (a silent close loses it).
    for _ in range(30):
        assert session.put(registry.url + "/v2/app/manifests/v1", data=b"x" * (64 * 1024)).status_code == 401
        assert session.get(registry.url + "/v2/", headers=auth).status_code == 200
    for body in [b"x" * (3 * MIB), late_body(64 * 1024)]:
        assert session.patch(registry.url + "/v2/app/blobs/uploads/some-upload", data=body).status_code == 401
        assert session.get(registry.url + "/v2/", headers=auth).status_code == 200
    for _ in range(5):
        r = session.post(registry.url + "/", data=b"x" * 200_000, headers=unknown)
        assert r.status_code == 400 and r.json()["__type"] == "UnrecognizedClientException"
        assert session.get(registry.url + "/v2/", headers=auth).status_code == 200
