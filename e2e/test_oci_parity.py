"""The last OCI conformance gaps: lookups of impossible tags, Range reads of blobs,
the distribution token flow (Bearer) beside ECR's Basic, and oras-py, a client that
speaks only Bearer."""

import base64
import json
import os
import sqlite3
import subprocess
import urllib.request

import pytest
import requests

from oci import OCI_MANIFEST, OciClient, digest_of


@pytest.fixture
def client(registry):
    for name in ["app", "other"]:
        registry.ecr().create_repository(repositoryName=name)
    return OciClient.for_registry(registry)


def login_token(registry, key=None, secret=None):
    data = registry.ecr(key=key, secret=secret).get_authorization_token()["authorizationData"][0]
    return base64.b64decode(data["authorizationToken"]).decode().split(":", 1)[1]


def test_a_tag_that_cannot_exist_is_not_found_on_lookup(registry, client):
    for method in ["GET", "HEAD"]:
        r = client.request(method, "/v2/app/manifests/.INVALID_MANIFEST_NAME")
        assert r.status == 404, (method, r)
        if method == "GET":
            assert r.error_code() == "MANIFEST_UNKNOWN"
    r = client.request("DELETE", "/v2/app/manifests/.INVALID_MANIFEST_NAME")
    assert r.status == 404 and r.error_code() == "MANIFEST_UNKNOWN"
    # A malformed digest is still a malformed request, and a push still checks the tag.
    assert client.request("GET", "/v2/app/manifests/sha256:nothex").error_code() == "DIGEST_INVALID"
    r = client.push_manifest("app", ".INVALID_MANIFEST_NAME", b"{}")
    assert r.status == 400 and r.error_code() == "TAG_INVALID"


def test_blob_ranges_over_raw_http_curl_and_presigned_urls(registry, client):
    data = os.urandom(300_000)
    digest = client.push_blob("app", data)
    path = f"/v2/app/blobs/{digest}"
    head = client.request("HEAD", path)
    assert head.status == 200 and head.headers["accept-ranges"] == "bytes"
    whole = client.request("GET", path)
    assert whole.status == 200 and whole.headers["accept-ranges"] == "bytes" and whole.body == data

    for spec, start, end in [("0-99", 0, 99), ("1000-", 1000, len(data) - 1), ("-500", len(data) - 500, len(data) - 1), ("299990-400000", 299990, len(data) - 1)]:
        r = client.request("GET", path, headers={"Range": f"bytes={spec}"})
        assert r.status == 206, (spec, r)
        assert r.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
        assert r.headers["content-length"] == str(end - start + 1)
        assert r.body == data[start:end + 1], spec
    r = client.request("GET", path, headers={"Range": f"bytes={len(data)}-"})
    assert r.status == 416 and r.headers["content-range"] == f"bytes */{len(data)}"
    # Several ranges at once: the whole blob, as RFC 9110 allows.
    r = client.request("GET", path, headers={"Range": "bytes=0-1,5-6"})
    assert r.status == 200 and r.body == data

    # curl resuming a download, as containerd does after a dropped connection.
    out = registry.tmp / "resumed"
    out.write_bytes(data[:123_456])
    auth = "AWS:" + client.token
    subprocess.run(["curl", "-sS", "-f", "-u", auth, "-C", "-", "-o", str(out), registry.url + path], check=True, timeout=60)
    assert out.read_bytes() == data

    # The same through a GetDownloadUrlForLayer URL, which carries its own signature.
    url = registry.ecr().get_download_url_for_layer(repositoryName="app", layerDigest=digest)["downloadUrl"]
    r = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=30)
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    request = urllib.request.Request(url, headers={"Range": "bytes=-10"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 206 and response.read() == data[-10:]


def token_from(registry, auth, *scopes):
    params = [("service", registry.host)] + [("scope", s) for s in scopes]
    return requests.get(f"{registry.url}/v2/token", params=params, auth=auth, timeout=30)


def claims(token):
    payload = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_the_token_flow_scopes_what_a_token_may_do(registry, client):
    client.push_image("app", "v1", [b"layer"])
    r = requests.get(f"{registry.url}/v2/app/manifests/v1", timeout=30)
    assert r.status_code == 401
    challenges = r.headers["WWW-Authenticate"]
    assert f'Bearer realm="{registry.url}/v2/token",service="{registry.host}",scope="repository:app:pull"' in challenges

    aws_login = ("AWS", login_token(registry))
    r = token_from(registry, aws_login, "repository:app:pull")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    assert body["token"] == body["access_token"] and 0 < body["expires_in"] <= 3600
    pull_only = body["token"]
    assert requests.get(f"{registry.url}/v2/app/manifests/v1", headers=bearer(pull_only), timeout=30).status_code == 200
    # The token is scoped: no push with a pull token, nothing in another repository.
    r = requests.post(f"{registry.url}/v2/app/blobs/uploads/", headers=bearer(pull_only), timeout=30)
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "DENIED"
    assert requests.get(f"{registry.url}/v2/other/tags/list", headers=bearer(pull_only), timeout=30).status_code == 403
    # A tampered token is no token.
    forged = pull_only[:-4] + ("AAAA" if not pull_only.endswith("AAAA") else "BBBB")
    assert requests.get(f"{registry.url}/v2/app/manifests/v1", headers=bearer(forged), timeout=30).status_code == 401

    # An access key pair logs in too (POST, OAuth2 password grant), and several scopes.
    r = requests.post(f"{registry.url}/v2/token", data={
        "grant_type": "password", "username": registry.access_key_id, "password": registry.secret_access_key,
        "service": registry.host, "scope": "repository:app:pull,push repository:other:pull",
    }, timeout=30)
    assert r.status_code == 200
    access = {g["name"]: g["actions"] for g in claims(r.json()["token"])["access"]}
    assert access == {"app": ["pull", "push"], "other": ["pull"]}
    # Wrong credentials get a challenge, not a token.
    r = token_from(registry, (registry.access_key_id, "wrong"), "repository:app:pull")
    assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"]
    assert token_from(registry, ("AWS", "not-a-token"), "repository:app:pull").status_code == 401


def test_a_token_grants_only_what_policies_allow_and_dies_with_its_key(registry, client):
    client.push_image("app", "v1", [b"layer"])
    user = registry.add_user("reader")
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "read", "Effect": "Allow",
              "Principal": {"AWS": user["arn"]}, "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]}
    registry.ecr().set_repository_policy(repositoryName="app", policyText=json.dumps(policy))
    login = ("AWS", login_token(registry, user["accessKeyId"], user["secretAccessKey"]))
    r = token_from(registry, login, "repository:app:pull,push,delete", "repository:other:pull", "repository:missing:pull")
    access = {g["name"]: g["actions"] for g in claims(r.json()["token"])["access"]}
    assert access == {"app": ["pull"], "other": [], "missing": []}
    token = r.json()["token"]
    assert requests.get(f"{registry.url}/v2/app/manifests/v1", headers=bearer(token), timeout=30).status_code == 200

    # Removing the key revokes every token issued to it.
    registry.stop()
    db = sqlite3.connect(registry.data / "berth.db")
    db.execute("DELETE FROM access_keys WHERE access_key_id = ?", (user["accessKeyId"],))
    db.commit()
    db.close()
    registry.start()
    assert requests.get(f"{registry.url}/v2/app/manifests/v1", headers=bearer(token), timeout=30).status_code == 401


def test_oras_py_logs_in_pushes_pulls_and_finds_referrers(registry, tmp_path, monkeypatch):
    import oras.client
    import oras.oci

    registry.ecr().create_repository(repositoryName="artifacts")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sbom.json").write_text('{"packages": []}')
    (tmp_path / "readme.txt").write_text("hello from oras")

    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    client.login(username="AWS", password=login_token(registry), hostname=registry.host, config_path=str(tmp_path / "config.json"))
    target = f"{registry.host}/artifacts:v1"
    assert client.push(target=target, files=["readme.txt"]).status_code == 201

    out = tmp_path / "out"
    files = client.pull(target=target, outdir=str(out))
    assert [open(f).read() for f in files] == ["hello from oras"]

    # An artifact that refers to v1, found again through the referrers API.
    raw = client.do_request(f"http://{registry.host}/v2/artifacts/manifests/v1", "GET", headers={"Accept": OCI_MANIFEST})
    subject = oras.oci.Subject(mediaType=OCI_MANIFEST, digest=digest_of(raw.content), size=len(raw.content))
    assert client.push(target=f"{registry.host}/artifacts:sbom", files=["sbom.json"], subject=subject).status_code == 201
    r = client.do_request(f"http://{registry.host}/v2/artifacts/referrers/{subject.digest}", "GET")
    assert r.status_code == 200
    assert len(r.json()["manifests"]) == 1
    assert r.json()["manifests"][0]["mediaType"] == OCI_MANIFEST
