"""Every path a Deny must hold on, and what a caller without a grant can learn:
cross-repository mounts, page tokens, missing versus forbidden repositories, and
download URLs — against a real `berth-registry`."""

import base64
import json
import urllib.error
import urllib.request

import botocore.exceptions
import pytest

from oci import OciClient, digest_of


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def statement(effect, arn, actions, sid=None):
    s = {"Effect": effect, "Principal": {"AWS": arn}, "Action": actions}
    if sid:
        s["Sid"] = sid
    return s


def error(call, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call(**kwargs)
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def user_clients(registry, name):
    user = registry.add_user(name)
    return (user, registry.ecr(key=user["accessKeyId"], secret=user["secretAccessKey"]),
            OciClient.for_registry(registry, key=user["accessKeyId"], secret=user["secretAccessKey"]))


def test_a_mount_needs_everything_a_pull_needs(registry):
    admin = registry.ecr()
    for name in ["source", "target"]:
        admin.create_repository(repositoryName=name)
    layer = OciClient.for_registry(registry).push_blob("source", b"the source's layer")
    d, _, d_oci = user_clients(registry, "d")
    admin.set_repository_policy(repositoryName="target", policyText=policy(statement("Allow", d["arn"], "ecr:*")))
    admin.set_repository_policy(repositoryName="source", policyText=policy(
        statement("Allow", d["arn"], "ecr:BatchGetImage"),
        statement("Deny", d["arn"], "ecr:GetDownloadUrlForLayer", sid="NoLayers"),
    ))

    r = d_oci.request("POST", f"/v2/target/blobs/uploads/?mount={layer}&from=source")
    assert r.status == 202 and "/blobs/uploads/" in r.headers["location"], "an ordinary upload, not a mount"
    assert d_oci.request("GET", f"/v2/target/blobs/{layer}").status == 404
    assert d_oci.request("GET", f"/v2/source/blobs/{layer}").error_code() == "DENIED"

    admin.set_repository_policy(repositoryName="source", policyText=policy(
        statement("Allow", d["arn"], ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"])))
    r = d_oci.request("POST", f"/v2/target/blobs/uploads/?mount={layer}&from=source")
    assert r.status == 201 and r.headers["location"] == f"/v2/target/blobs/{layer}"
    assert d_oci.request("GET", f"/v2/target/blobs/{layer}").body == b"the source's layer"
    r = d_oci.request("POST", f"/v2/target/blobs/uploads/?mount={layer}&from=no-such-repository")
    assert r.status == 202


def token_bytes(token):
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_page_tokens_are_opaque_and_pages_are_cut_after_filtering(registry):
    admin = registry.ecr()
    for name in ["alpha", "beta-secret", "delta-secret", "gamma"]:
        admin.create_repository(repositoryName=name)
    _, nobody, nobody_oci = user_clients(registry, "nobody")
    viewer, viewer_ecr, viewer_oci = user_clients(registry, "viewer")
    for name in ["alpha", "gamma"]:
        admin.set_repository_policy(repositoryName=name, policyText=policy(
            statement("Allow", viewer["arn"], ["ecr:DescribeRepositories", "ecr:ListImages"])))

    page = nobody.describe_repositories(maxResults=1)
    assert page["repositories"] == [] and "nextToken" not in page, "nothing visible: no page after"

    first = viewer_ecr.describe_repositories(maxResults=1)
    assert [r["repositoryName"] for r in first["repositories"]] == ["alpha"]
    raw = token_bytes(first["nextToken"])
    assert not any(name.encode() in raw for name in ["alpha", "beta", "gamma", "delta"])
    second = viewer_ecr.describe_repositories(maxResults=1, nextToken=first["nextToken"])
    assert [r["repositoryName"] for r in second["repositories"]] == ["gamma"] and "nextToken" not in second
    seen = [r["repositoryName"] for p in viewer_ecr.get_paginator("describe_repositories")
            .paginate(PaginationConfig={"PageSize": 1}) for r in p["repositories"]]
    assert seen == ["alpha", "gamma"]

    tampered = bytearray(raw)
    tampered[-1] ^= 1
    forged = base64.urlsafe_b64encode(bytes(tampered)).decode().rstrip("=")
    assert error(viewer_ecr.describe_repositories, nextToken=forged)[0] == "InvalidParameterException"
    legacy = base64.urlsafe_b64encode(b"after:alpha").decode().rstrip("=")
    assert error(admin.describe_repositories, nextToken=legacy)[0] == "InvalidParameterException"

    # Image tokens name no digest, and belong to their repository.
    config = OciClient.for_registry(registry).push_blob("alpha", b"{}")
    for note in "abc":
        admin.put_image(repositoryName="alpha", imageTag=note, imageManifest=json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
            "layers": [], "annotations": {"n": note}}))
    images = admin.describe_images(repositoryName="alpha", maxResults=1)
    assert b"sha256" not in token_bytes(images["nextToken"])
    assert images["imageDetails"][0]["imageDigest"][7:].encode() not in token_bytes(images["nextToken"])
    assert len(admin.list_images(repositoryName="alpha", maxResults=1, nextToken=images["nextToken"])["imageIds"]) == 1
    code, _ = error(admin.describe_images, repositoryName="gamma", nextToken=images["nextToken"])
    assert code == "InvalidParameterException"

    # /v2 paging: `last` stays a plain name (the spec's), and a Link names only what the page showed.
    assert nobody_oci.request("GET", "/v2/_catalog?n=1").json() == {"repositories": []}
    r = viewer_oci.request("GET", "/v2/_catalog?n=1")
    assert r.json() == {"repositories": ["alpha"]} and r.headers["link"] == '</v2/_catalog?n=1&last=alpha>; rel="next"'
    r = viewer_oci.request("GET", "/v2/_catalog?n=1&last=alpha")
    assert r.json() == {"repositories": ["gamma"]} and "link" not in r.headers
    assert viewer_oci.request("GET", "/v2/_catalog?n=5&last=beta-secret").json() == {"repositories": ["gamma"]}


def test_missing_and_forbidden_repositories_look_alike_without_a_grant(registry):
    admin = registry.ecr()
    admin.create_repository(repositoryName="secret")
    _, nobody, nobody_oci = user_clients(registry, "nobody")
    arn = "arn:aws:ecr:us-east-1:123456789012:repository/"
    calls = [
        ("describe_images", lambda name: {"repositoryName": name}),
        ("list_images", lambda name: {"repositoryName": name}),
        ("batch_get_image", lambda name: {"repositoryName": name, "imageIds": [{"imageTag": "v1"}]}),
        ("get_repository_policy", lambda name: {"repositoryName": name}),
        ("delete_repository", lambda name: {"repositoryName": name}),
        ("describe_repositories", lambda name: {"repositoryNames": [name]}),
        ("list_tags_for_resource", lambda name: {"resourceArn": arn + name}),
    ]
    for method, args in calls:
        existing = error(getattr(nobody, method), **args("secret"))
        missing = error(getattr(nobody, method), **args("ghost"))
        assert existing[0] == missing[0] == "AccessDeniedException", method
        assert existing[1].replace("secret", "NAME") == missing[1].replace("ghost", "NAME"), method
        assert error(getattr(admin, method), **args("ghost"))[0] == "RepositoryNotFoundException", method

    for method, suffix in [("GET", "/tags/list"), ("HEAD", "/manifests/v1"), ("GET", "/manifests/v1"),
                           ("GET", f"/blobs/{digest_of(b'x')}"), ("POST", "/blobs/uploads/"),
                           ("DELETE", "/manifests/v1")]:
        existing = nobody_oci.request(method, f"/v2/secret{suffix}")
        missing = nobody_oci.request(method, f"/v2/ghost{suffix}")
        assert existing.status == missing.status == 403, (method, suffix, existing, missing)
        if method != "HEAD":
            assert existing.error_code() == missing.error_code() == "DENIED"
            assert existing.json()["errors"][0]["message"].replace("secret", "NAME") == \
                missing.json()["errors"][0]["message"].replace("ghost", "NAME")
    admin_oci = OciClient.for_registry(registry)
    assert admin_oci.request("GET", "/v2/ghost/tags/list").error_code() == "NAME_UNKNOWN"


def test_download_urls_stop_with_their_key_or_a_new_deny(registry):
    admin = registry.ecr()
    admin.create_repository(repositoryName="app")
    layer = OciClient.for_registry(registry).push_blob("app", b"layer bytes")
    viewer, viewer_ecr, _ = user_clients(registry, "viewer")
    pull = statement("Allow", viewer["arn"], ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"])
    admin.set_repository_policy(repositoryName="app", policyText=policy(pull))
    url = viewer_ecr.get_download_url_for_layer(repositoryName="app", layerDigest=layer)["downloadUrl"]

    def fetch():
        try:
            with urllib.request.urlopen(url) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())["errors"][0]["message"]

    assert fetch() == (200, b"layer bytes")
    admin.set_repository_policy(repositoryName="app", policyText=policy(
        pull, statement("Deny", viewer["arn"], "ecr:GetDownloadUrlForLayer", sid="NoMore")))
    status, message = fetch()
    assert status == 403 and "NoMore" in message
    admin.set_repository_policy(repositoryName="app", policyText=policy(pull))
    assert fetch() == (200, b"layer bytes")
    registry.cli("user", "remove", "viewer")
    status, message = fetch()
    assert status == 403 and "no longer exists" in message
    tampered = url.replace("X-Berth-Key=", "X-Berth-Key=AKIA")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered)
    assert refused.value.code == 403
