"""Lists that cover everything: search, sort and counts over all 1,004 repositories
(and every image of a repository), with the list's state in the URL so Back
restores it."""

import json
from concurrent.futures import ThreadPoolExecutor

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from journeys import (button, by_testid, check_accessibility, field, path_of, screenshot, shown, signed_in,
                      text_of, type_into, wait_for)
from oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, OciClient, digest_of

TOTAL = 1004


def push_untagged(client, name, layer, platform=("amd64", None)):
    """Pushes a one-layer image by digest only, so it has no tag; returns (raw manifest, digest)."""
    architecture, variant = platform
    config = json.dumps({"architecture": architecture, "os": "linux", **({"variant": variant} if variant else {}),
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": client.push_blob(name, config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": client.push_blob(name, layer), "size": len(layer)}],
    }).encode()
    digest = digest_of(manifest)
    assert client.push_manifest(name, digest, manifest).status == 201
    return manifest, digest


def names_shown(browser):
    return [e.text for e in browser.find_elements(*by_testid("repository-name"))]


def test_a_thousand_repositories_are_searched_sorted_and_counted_in_full(console_registry, browser):
    registry = console_registry
    ecr = registry.ecr()
    names = [f"app-{i:04}" for i in range(TOTAL - 1)] + ["zeta/api"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: ecr.create_repository(repositoryName=n), names))

    signed_in(browser, registry)
    wait_for(browser, lambda b: text_of(b, "repository-count") == "1–50 of 1,004 repositories")
    assert len(names_shown(browser)) == 50
    check_accessibility(browser, "repository list")

    # zeta/api sorts last: it is on page 21 of 21, and the filter finds it from page 1.
    type_into(field(browser, "Filter repositories"), "zeta")
    wait_for(browser, lambda b: names_shown(b) == ["zeta/api"])
    assert text_of(browser, "repository-count") == "1–1 of 1 repository matching “zeta” (1,004 in all)"
    assert path_of(browser) == "/repositories?q=zeta"
    type_into(field(browser, "Filter repositories"), "app-09")
    wait_for(browser, lambda b: text_of(b, "repository-count") == "1–50 of 100 repositories matching “app-09” (1,004 in all)")

    # Sort, page and filter live in the URL: opening a repository and going Back restores them.
    button(browser, "Repository name").click()
    wait_for(browser, lambda b: names_shown(b)[:1] == ["app-0999"])
    button(browser, "Next page").click()
    wait_for(browser, lambda b: shown(b, "page-number").text == "Page 2 of 2")
    assert names_shown(browser)[0] == "app-0949"
    listed = path_of(browser)
    assert listed == "/repositories?q=app-09&sort=name&dir=desc&page=2", listed
    browser.find_element(By.LINK_TEXT, "app-0949").click()
    wait_for(browser, lambda b: text_of(b, "repository-title") == "app-0949")
    browser.back()
    wait_for(browser, lambda b: names_shown(b)[:1] == ["app-0949"])
    assert path_of(browser) == listed
    assert field(browser, "Filter repositories").get_attribute("value") == "app-09"
    assert shown(browser, "page-number").text == "Page 2 of 2"

    # The same link in a fresh load shows the same rows.
    browser.get(registry.url + "/repositories?sort=created&dir=desc&size=100&page=11")
    wait_for(browser, lambda b: text_of(b, "repository-count") == "1,001–1,004 of 1,004 repositories")
    assert len(names_shown(browser)) == 4
    screenshot(browser, "console-repositories-1004.png")


def test_the_images_tab_filters_every_image_by_tag(console_registry, browser):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="busy/app")
    client = OciClient.for_registry(registry)
    for i in range(55):
        client.push_image("busy/app", f"build-{i:03}", [f"layer {i}".encode()])
    _, untagged = push_untagged(client, "busy/app", b"untagged layer")

    signed_in(browser, registry, "/repositories/busy/app")
    wait_for(browser, lambda b: text_of(b, "image-count") == "1–50 of 56 images")
    # The oldest build is on the second page; the filter searches every image.
    type_into(field(browser, "Filter by tag"), "build-000")
    wait_for(browser, lambda b: text_of(b, "image-count") == "1–1 of 1 image matching “build-000” (56 in all)")
    assert [c.text.replace("×", "").strip() for c in browser.find_elements(*by_testid("tag-chip"))] == ["build-000"]
    assert "tag=build-000" in path_of(browser)

    type_into(field(browser, "Filter by tag"), "")
    Select(shown(browser, "tag-status")).select_by_visible_text("Untagged")
    wait_for(browser, lambda b: text_of(b, "image-count") == "1–1 of 1 image")
    assert browser.find_element(*by_testid("image-digest")).get_attribute("title") == untagged
    assert "status=UNTAGGED" in path_of(browser)
    browser.refresh()
    wait_for(browser, lambda b: text_of(b, "image-count") == "1–1 of 1 image")
    assert Select(shown(browser, "tag-status")).first_selected_option.text == "Untagged"
    check_accessibility(browser, "images tab, untagged filter")
