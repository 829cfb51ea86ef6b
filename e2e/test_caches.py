"""The registry caches what every pull reads (tokens, keys, repositories with their
policies, tags, manifests). Whatever changes them — this process, a second `serve`
on the same data dir, or the CLI — is what the very next request sees. Each test
first reads the thing (so it is cached), changes it from another process, then reads
again at once: no waiting, no retries."""

import json

import botocore.exceptions
import pytest

from conftest import Registry
from oci import OCI_MANIFEST, OciClient


def pull(client, name, reference):
    return client.request("GET", f"/v2/{name}/manifests/{reference}", headers={"Accept": OCI_MANIFEST})


def read_many(client, name, reference, times=5):
    """Reads the same manifest a few times: from the second on, it comes from the cache."""
    answers = {pull(client, name, reference).headers.get("docker-content-digest") for _ in range(times)}
    assert len(answers) == 1, answers
    return answers.pop()


@pytest.fixture
def second(registry, tmp_path):
    """A second `serve` process on the first one's data dir."""
    (tmp_path / "second").mkdir()
    other = Registry(tmp_path / "second", beside=registry)
    yield other
    other.stop()


def test_a_tag_moved_or_deleted_by_another_process_is_served_at_once(registry, second):
    registry.ecr().create_repository(repositoryName="app")
    here, there = OciClient.for_registry(registry), OciClient.for_registry(second)
    _, first = here.push_image("app", "latest", [b"first layer"])
    assert read_many(there, "app", "latest") == first
    assert read_many(there, "app", first) == first

    _, moved = here.push_image("app", "latest", [b"second layer"])
    assert pull(there, "app", "latest").headers["docker-content-digest"] == moved

    assert here.request("DELETE", f"/v2/app/manifests/{first}").status == 202
    assert pull(there, "app", first).status == 404
    assert here.request("DELETE", "/v2/app/manifests/latest").status == 202
    assert pull(there, "app", "latest").status == 404


def test_policies_changed_by_another_process_decide_the_next_request(registry, second):
    admin = registry.ecr()
    admin.create_repository(repositoryName="app")
    OciClient.for_registry(registry).push_image("app", "v1", [b"layer"])
    viewer = registry.add_user("viewer")
    allow = {"Sid": "Pull", "Effect": "Allow", "Principal": {"AWS": viewer["arn"]}, "Action": "ecr:BatchGetImage"}
    deny = {"Sid": "NoMore", "Effect": "Deny", "Principal": {"AWS": viewer["arn"]}, "Action": "ecr:BatchGetImage"}
    document = lambda *s: json.dumps({"Version": "2012-10-17", "Statement": list(s)})
    admin.set_repository_policy(repositoryName="app", policyText=document(allow))
    there = OciClient.for_registry(second, key=viewer["accessKeyId"], secret=viewer["secretAccessKey"])
    read_many(there, "app", "v1")

    admin.set_repository_policy(repositoryName="app", policyText=document(allow, deny))
    refused = pull(there, "app", "v1")
    assert refused.status == 403 and "NoMore" in refused.json()["errors"][0]["message"]

    admin.set_repository_policy(repositoryName="app", policyText=document(allow))
    assert pull(there, "app", "v1").status == 200
    admin.delete_repository_policy(repositoryName="app")
    assert pull(there, "app", "v1").status == 403

    # The registry policy (read by every request) likewise, both ways.
    arn = f"arn:aws:ecr:{registry.region}:123456789012:repository/app"
    admin.put_registry_policy(policyText=document(dict(allow, Resource=arn)))
    assert pull(there, "app", "v1").status == 200
    admin.put_registry_policy(policyText=document(dict(allow, Resource=arn), dict(deny, Resource=arn)))
    refused = pull(there, "app", "v1")
    assert refused.status == 403 and "NoMore" in refused.json()["errors"][0]["message"]
    admin.delete_registry_policy()
    assert pull(there, "app", "v1").status == 403


def test_keys_removed_or_rotated_by_the_cli_stop_working_at_once(registry):
    registry.ecr().create_repository(repositoryName="app")
    OciClient.for_registry(registry).push_image("app", "v1", [b"layer"])
    clients = {}
    for name in ["viewer", "ci"]:
        user = registry.add_user(name)
        ecr = registry.ecr(key=user["accessKeyId"], secret=user["secretAccessKey"])
        token = OciClient.for_registry(registry, key=user["accessKeyId"], secret=user["secretAccessKey"])
        for _ in range(3):
            assert token.request("GET", "/v2/").status == 200
            ecr.get_authorization_token()
        clients[name] = (ecr, token)

    registry.cli("user", "remove", "viewer")
    ecr, token = clients["viewer"]
    assert token.request("GET", "/v2/").status == 401
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ecr.get_authorization_token()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"

    registry.cli("user", "rotate-key", "ci")
    ecr, token = clients["ci"]
    assert token.request("GET", "/v2/").status == 401
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ecr.get_authorization_token()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
