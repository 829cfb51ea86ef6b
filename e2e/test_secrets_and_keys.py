"""Secrets at rest and the keys that open the registry: a private data dir whatever
the umask, exactly one admin key, and users whose keys can be listed, rotated and
removed while the registry serves — each change holding at once, tokens included."""

import json
import os
import stat

import botocore.exceptions
import pytest

from conftest import Registry, random_key
from oci import OciClient


def modes(root):
    """{relative path: mode} of everything under `root`, the root itself as '.'."""
    found = {".": stat.S_IMODE(os.stat(root).st_mode)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, root)] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def assert_private(root):
    leaks = {path: oct(mode) for path, mode in modes(root).items() if mode & 0o077}
    assert leaks == {}, f"group or others can reach: {leaks}"


def code(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(**kwargs)
    return excinfo.value.response["Error"]["Code"]


def test_data_dir_is_private_whatever_the_umask(tmp_path):
    old_umask = os.umask(0o022)
    try:
        registry = Registry(tmp_path)
        try:
            registry.ecr().create_repository(repositoryName="app")
            client = OciClient.for_registry(registry)
            client.push_blob("app", b"a layer")
            assert client.request("POST", "/v2/app/blobs/uploads/").status == 202
            registry.add_user("ci")
            names = set(modes(registry.data))
            assert {"berth.db", "berth.db-wal", "admin-credentials.json", "uploads", "blobs/sha256"} <= names
            assert_private(registry.data)
        finally:
            registry.stop()

        # An install made before this rule, or copied in with a loose umask: start fixes it, and says so.
        for path in modes(registry.data):
            full = registry.data / path
            os.chmod(full, 0o755 if full.is_dir() else 0o644)
        registry.start()
        try:
            assert_private(registry.data)
            assert "made private" in registry.output() and "berth.db" in registry.output()
            client = OciClient.for_registry(registry)
            client.push_blob("app", b"another layer")
            assert client.request("POST", "/v2/app/blobs/uploads/").status == 202
            registry.add_user("later")
            assert_private(registry.data)
        finally:
            registry.stop()
    finally:
        os.umask(old_umask)


def test_a_preset_admin_key_replaces_the_generated_one_across_a_restart(tmp_path):
    registry = Registry(tmp_path, preset_admin=False)
    try:
        old_key, old_secret = registry.access_key_id, registry.secret_access_key
        registry.ecr().create_repository(repositoryName="kept")
        old_token = OciClient.for_registry(registry)
        assert old_token.request("GET", "/v2/").status == 200

        registry.stop()
        registry.preset_admin = True
        registry.access_key_id, registry.secret_access_key = random_key()
        registry.start()
        assert code(registry.ecr(key=old_key, secret=old_secret).describe_repositories) == "UnrecognizedClientException"
        assert old_token.request("GET", "/v2/").status == 401, "tokens of the replaced key die with it"
        assert [r["repositoryName"] for r in registry.ecr().describe_repositories()["repositories"]] == ["kept"]
        written = json.loads((registry.data / "admin-credentials.json").read_text())
        assert written["accessKeyId"] == registry.access_key_id
    finally:
        registry.stop()


def test_user_keys_are_listed_rotated_and_removed_while_serving(registry):
    registry.ecr().create_repository(repositoryName="app")
    ci, viewer = registry.add_user("ci"), registry.add_user("viewer")
    listed = json.loads(registry.cli("user", "list").stdout)
    assert [(u["userName"], u["accessKeyIds"], u["arn"]) for u in listed] == [
        ("ci", [ci["accessKeyId"]], ci["arn"]),
        ("viewer", [viewer["accessKeyId"]], viewer["arn"]),
    ]
    assert "secretAccessKey" not in registry.cli("user", "list").stdout
    ci_token = OciClient.for_registry(registry, key=ci["accessKeyId"], secret=ci["secretAccessKey"])
    viewer_token = OciClient.for_registry(registry, key=viewer["accessKeyId"], secret=viewer["secretAccessKey"])

    rotated = json.loads(registry.cli("user", "rotate-key", "ci").stdout)
    assert rotated["userName"] == "ci" and rotated["accessKeyId"] != ci["accessKeyId"]
    old = registry.ecr(key=ci["accessKeyId"], secret=ci["secretAccessKey"])
    assert code(old.get_authorization_token) == "UnrecognizedClientException"
    assert ci_token.request("GET", "/v2/").status == 401
    new = registry.ecr(key=rotated["accessKeyId"], secret=rotated["secretAccessKey"])
    assert new.get_authorization_token()["authorizationData"]

    registry.cli("user", "remove", "viewer")
    removed = registry.ecr(key=viewer["accessKeyId"], secret=viewer["secretAccessKey"])
    assert code(removed.get_authorization_token) == "UnrecognizedClientException"
    assert viewer_token.request("GET", "/v2/").status == 401
    assert [u["userName"] for u in json.loads(registry.cli("user", "list").stdout)] == ["ci"]
    missing = registry.cli("user", "remove", "viewer", check=False)
    assert missing.returncode != 0 and "no user named 'viewer'" in missing.stderr
    missing = registry.cli("user", "rotate-key", "nobody", check=False)
    assert missing.returncode != 0 and "no user named 'nobody'" in missing.stderr


def test_admin_key_rotation_while_serving_and_after_restart(tmp_path):
    registry = Registry(tmp_path, preset_admin=False)
    try:
        old = registry.ecr()
        old.create_repository(repositoryName="app")
        old_token = OciClient.for_registry(registry)
        rotated = json.loads(registry.cli("admin", "rotate-key").stdout)
        assert rotated["arn"] == "arn:aws:iam::123456789012:root"
        assert code(old.describe_repositories) == "UnrecognizedClientException"
        assert old_token.request("GET", "/v2/").status == 401
        credentials = registry.data / "admin-credentials.json"
        assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600
        written = json.loads(credentials.read_text())
        assert (written["accessKeyId"], written["secretAccessKey"]) == (rotated["accessKeyId"], rotated["secretAccessKey"])
        assert written["endpointUrl"] == registry.url and written["region"] == registry.region
        new = registry.ecr(key=rotated["accessKeyId"], secret=rotated["secretAccessKey"])
        assert [r["repositoryName"] for r in new.describe_repositories()["repositories"]] == ["app"]

        registry.restart()
        assert registry.access_key_id == rotated["accessKeyId"], "the rotated key is the one kept"
        assert registry.ecr().describe_repositories()["repositories"]
        assert rotated["secretAccessKey"] not in registry.output(), "the secret is printed only by the command"
    finally:
        registry.stop()


def test_key_commands_need_an_existing_data_dir(tmp_path):
    from conftest import REGISTRY_BIN
    import subprocess

    result = subprocess.run([REGISTRY_BIN, "user", "list", "--data", str(tmp_path / "nothing")], capture_output=True, text=True)
    assert result.returncode != 0 and "no registry data" in result.stderr
    assert not (tmp_path / "nothing").exists()
