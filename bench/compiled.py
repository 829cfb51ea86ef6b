"""The compiled client (`xtask bench-client`, release build): blob transfers and ECR API
calls without Python's own cost in the figures. See xtask/src/bench_client.rs."""

import base64
import json
import os
import subprocess
from urllib.parse import urlsplit

CLIENT = os.environ.get("BERTH_BENCH_CLIENT", "target/release/xtask")


def run(*args):
    out = subprocess.run([CLIENT, "bench-client", *map(str, args)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def authorization(client):
    return "Basic " + base64.b64encode(f"AWS:{client.token}".encode()).decode() if client.token else "-"


def start_upload(client, name, digest):
    """POSTs to start an upload; the path to PUT the whole blob to."""
    import http.client

    conn = http.client.HTTPConnection(client.host, client.port, timeout=600)
    try:
        headers = {"Authorization": authorization(client)} if client.token else {}
        conn.request("POST", f"/v2/{name}/blobs/uploads/", headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 202, response.status
        parts = urlsplit(response.getheader("Location"))
    finally:
        conn.close()
    return parts.path + ("?" + parts.query + "&" if parts.query else "?") + f"digest={digest}"


def upload(client, name, path, digest):
    """Seconds to PUT the file at `path` as one blob (sent with sendfile)."""
    target = start_upload(client, name, digest)
    return run("upload", f"{client.host}:{client.port}", target, authorization(client), path)["seconds"]


def download(client, name, digest, size):
    """Seconds to GET a blob of `size` bytes."""
    return run("download", f"{client.host}:{client.port}", f"/v2/{name}/blobs/{digest}", authorization(client),
               size)["seconds"]


def ecr(registry, action, body, connections=4, seconds=8):
    """Requests/s, p50 and p99 (ms) of SigV4-signed calls on `connections` connections."""
    result = run("ecr", registry.host, registry.region, registry.access_key_id, registry.secret_access_key, action,
                 json.dumps(body), connections, seconds)
    assert result["errors"] == 0, result
    return result["requests"] / result["seconds"], result["p50_ms"], result["p99_ms"]
