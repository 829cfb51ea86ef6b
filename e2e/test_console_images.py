"""The images tab with multi-platform images and deletions: platform images belong
under their index and cannot be deleted from under it; deleting says what goes; an
image's last tag is not removed without asking."""

import json

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from journeys import (button, by_testid, check_accessibility, field, screenshot, shown, signed_in, text_appears,
                      text_of, type_into, wait_for)
from layout import write_layout
from oci import OCI_INDEX, OCI_MANIFEST, OciClient
from test_clients import AWS, run
from test_console_lists import push_untagged


def short(digest):
    return digest[:len("sha256:") + 12]


def row_digests(browser):
    return [a.get_attribute("title") for a in browser.find_elements(*by_testid("image-digest"))]


def podman_env(registry, tmp_path):
    env = registry.aws_env()
    env["REGISTRY_AUTH_FILE"] = str(tmp_path / "podman-auth.json")
    run(f"{AWS} ecr get-login-password --region {registry.region} --endpoint-url {registry.url} "
        f"| podman login --tls-verify=false --username AWS --password-stdin {registry.host}", env=env)
    return env


def test_platform_images_show_under_their_index_and_cannot_be_deleted_apart(console_registry, browser, tmp_path):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="multi/app")
    env = podman_env(registry, tmp_path)
    layout = tmp_path / "layout"
    write_layout(str(layout), "v1", [("amd64", None), ("arm64", "v8")])
    run(["skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "--authfile",
         env["REGISTRY_AUTH_FILE"], f"oci:{layout}:v1", f"docker://{registry.host}/multi/app:v1"], env=env)
    index = json.loads(OciClient.for_registry(registry).request(
        "GET", "/v2/multi/app/manifests/v1", headers={"Accept": OCI_INDEX}).body)
    amd64, arm64 = [m["digest"] for m in index["manifests"]]
    _, loose = push_untagged(OciClient.for_registry(registry), "multi/app", b"a loose layer")
    ecr = registry.ecr()
    index_digest = ecr.describe_images(repositoryName="multi/app", imageIds=[{"imageTag": "v1"}])["imageDetails"][0]["imageDigest"]
    assert {d["imageDigest"] for d in ecr.describe_images(repositoryName="multi/app")["imageDetails"]} == {
        amd64, arm64, loose, index_digest}

    signed_in(browser, registry, "/repositories/multi/app")
    wait_for(browser, lambda b: text_of(b, "image-count") == "1–2 of 2 images")
    assert sorted(row_digests(browser)) == sorted([index_digest, loose])
    assert browser.find_elements(By.XPATH, f"//input[@aria-label='Select image {short(arm64)}']") == []

    button(browser, "Show platforms").click()
    rows = wait_for(browser, lambda b: b.find_elements(*by_testid("platform-row")))
    assert [r.find_element(By.CSS_SELECTOR, ".chip").text for r in rows] == [
        "part of v1 · linux/amd64", "part of v1 · linux/arm64/v8"]
    screenshot(browser, "console-multi-platform.png")
    check_accessibility(browser, "images tab with platforms shown")

    # Untagged means loose images only: the index's platform images are not "untagged" leftovers.
    Select(shown(browser, "tag-status")).select_by_visible_text("Untagged")
    wait_for(browser, lambda b: row_digests(b) == [loose])
    assert text_of(browser, "image-count") == "1–1 of 1 image"

    # A platform image's own page says where it belongs.
    browser.get(f"{registry.url}/images/multi/app?digest={arm64}")
    wait_for(browser, lambda b: text_of(b, "part-of") == "part of v1 · linux/arm64/v8")

    # The index is whole: each platform still pulls.
    remote = f"{registry.host}/multi/app:v1"
    try:
        run(["podman", "pull", "--tls-verify=false", "--platform", "linux/arm64", remote], env=env)
        run(["podman", "pull", "--tls-verify=false", "--platform", "linux/amd64", remote], env=env)
    finally:
        run(["podman", "rmi", "-f", remote], env=env, check=False)


def test_a_tagged_platform_image_and_the_phone_layout(console_registry, browser):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="multi/app")
    client = OciClient.for_registry(registry)
    entries = []
    for arch, variant, layer in [("amd64", None, b"amd64 layer"), ("arm64", "v8", b"arm64 layer, larger")]:
        raw, digest = client.push_image("multi/app", f"only-{arch}", [layer])
        platform = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
        entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(raw), "platform": platform})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    assert client.push_manifest("multi/app", "latest", index, OCI_INDEX).status == 201

    signed_in(browser, registry, "/repositories/multi/app")
    wait_for(browser, lambda b: text_of(b, "image-count") == "1–3 of 3 images")
    # Tagged platform images keep their rows, marked, and cannot be selected for deletion.
    marks = sorted(e.text for e in browser.find_elements(*by_testid("part-of")))
    assert marks == ["part of latest · linux/amd64", "part of latest · linux/arm64/v8"]
    locked = browser.find_element(By.XPATH, f"//input[@aria-label='Image {short(entries[1]['digest'])} "
                                            "is part of a multi-platform image and cannot be selected']")
    assert not locked.is_enabled()
    button(browser, "Show platforms").click()
    rows = wait_for(browser, lambda b: b.find_elements(*by_testid("platform-row")))
    texts = [r.text for r in rows]
    assert any("linux/amd64" in t and "11 B" in t for t in texts), texts
    assert any("linux/arm64/v8" in t and "19 B" in t for t in texts), texts

    # At 360 px (device emulation: headless Chromium stops at 500 px) the page scrolls
    # vertically only; wide tables scroll inside their own box.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 360, "height": 800, "deviceScaleFactor": 2, "mobile": True})
    try:
        text_appears(browser, "multi/app")
        overflow = browser.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the screen"
        screenshot(browser, "console-images-360px.png")
        check_accessibility(browser, "images tab at 360 px")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_deleting_says_what_goes_and_the_last_tag_asks_first(console_registry, browser):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="team/app")
    client = OciClient.for_registry(registry)
    _, kept = client.push_image("team/app", "v1", [b"kept"])
    assert client.push_manifest("team/app", "stable", client.request("GET", "/v2/team/app/manifests/v1",
                                headers={"Accept": OCI_MANIFEST}).body).status == 201
    _, old = client.push_image("team/app", "old", [b"old"])

    signed_in(browser, registry, "/repositories/team/app")
    wait_for(browser, lambda b: text_of(b, "image-count") == "1–2 of 2 images")
    field(browser, f"Select image {short(kept)}").click()
    field(browser, f"Select image {short(old)}").click()
    button(browser, "Delete images").click()
    listed = {digest: sorted(tags.split(", ")) for digest, tags in
              (line.split(" — ") for line in shown(browser, "delete-list").text.splitlines())}
    assert listed == {kept: ["stable", "v1"], old: ["old"]}
    check_accessibility(browser, "delete images dialog")
    button(browser, "Cancel").click()
    wait_for(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, "dialog"))

    # "old" is that image's only tag: removing it deletes the image, so the console asks.
    button(browser, "Remove tag old").click()
    text_appears(browser, f"old is the last tag of image {old}")
    assert {d["imageDigest"] for d in registry.ecr().describe_images(repositoryName="team/app")["imageDetails"]} == {kept, old}
    type_into(field(browser, 'To confirm, type "old"'), "old")
    button(browser, "Delete image").click()
    wait_for(browser, lambda b: row_digests(b) == [kept])
    assert [d["imageDigest"] for d in registry.ecr().describe_images(repositoryName="team/app")["imageDetails"]] == [kept]


def test_an_image_an_index_took_meanwhile_is_refused_in_plain_words(console_registry, browser):
    """The list was loaded before an index took the image: the registry refuses
    (ECR's ImageReferencedByManifestList) and the console says why in words."""
    registry = console_registry
    registry.ecr().create_repository(repositoryName="race/app")
    client = OciClient.for_registry(registry)
    raw, child = push_untagged(client, "race/app", b"soon a platform image")

    signed_in(browser, registry, "/repositories/race/app")
    wait_for(browser, lambda b: row_digests(b) == [child])
    # Meanwhile, someone pushes an index that uses it.
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": child, "size": len(raw),
         "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
    assert client.push_manifest("race/app", "v2", index, OCI_INDEX).status == 201

    field(browser, f"Select image {short(child)}").click()
    button(browser, "Delete images").click()
    type_into(field(browser, 'To confirm, type "delete"'), "delete")
    button(browser, "Delete").click()
    error = shown(browser, "delete-error")
    assert f"Image {short(child)} was not deleted" in error.text and "multi-platform image" in error.text
    assert child in {d["imageDigest"] for d in registry.ecr().describe_images(repositoryName="race/app")["imageDetails"]}
    # After the refresh the image sits under its index.
    wait_for(browser, lambda b: child not in row_digests(b))
