"""What a repository holds and keeps, in the console: the storage line over the tabs,
the images tab's "Last pulled" column, and the Settings tab's tag-mutability
exclusion filters — each checked against what the registry answers through boto3."""

from selenium.webdriver.common.by import By

from journeys import (button, by_testid, check_accessibility, field, shown, signed_in, text_of, type_into,
                      wait_for)
from oci import OCI_MANIFEST, OciClient
from test_console_registry import iso, size_words, toast_says


def last_pulled_cell(browser, digest):
    return browser.find_element(
        By.XPATH, f"//tr[.//a[@data-testid='image-digest' and @title='{digest}']]//td[@data-testid='last-pulled']")


def test_storage_line_and_last_pulled(console_registry, browser):
    registry = console_registry
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="store/app")
    client = OciClient.for_registry(registry)
    _, pulled = client.push_image("store/app", "v1", [b"first layer" * 700, b"shared" * 300])
    _, never = client.push_image("store/app", "v2", [b"second layer" * 1100, b"shared" * 300])
    r = client.request("GET", "/v2/store/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert r.status == 200, r

    def pull_time():
        detail = ecr.describe_images(repositoryName="store/app", imageIds=[{"imageDigest": pulled}])["imageDetails"]
        return detail[0].get("lastRecordedPullTime")
    wait_for(browser, lambda _: pull_time())
    details = ecr.describe_images(repositoryName="store/app")["imageDetails"]
    total = sum(d["imageSizeInBytes"] for d in details)

    signed_in(browser, registry, "/repositories/store/app")
    wait_for(browser, lambda b: text_of(b, "storage-line") is not None)
    line = text_of(browser, "storage-line")
    assert line.startswith(f"2 images · {size_words(total)} — "), line
    assert "a layer shared by several images counts once for each" in line

    pulled_at = pull_time().timestamp()
    wait_for(browser, lambda b: last_pulled_cell(b, pulled).get_attribute("title") == iso(pulled_at))
    assert last_pulled_cell(browser, pulled).text not in ("", "never")
    assert last_pulled_cell(browser, never).text == "never"
    assert not browser.execute_script("return arguments[0].hasAttribute('title')", last_pulled_cell(browser, never))
    check_accessibility(browser, "images tab with the storage line")

    # Deleting an image from the registry shows in the line after a reload.
    ecr.batch_delete_image(repositoryName="store/app", imageIds=[{"imageDigest": never}])
    left = ecr.describe_images(repositoryName="store/app")["imageDetails"]
    browser.refresh()
    wait_for(browser, lambda b: (text_of(b, "storage-line") or "").startswith(
        f"1 image · {size_words(left[0]['imageSizeInBytes'])} — "))


def test_settings_edit_tag_mutability_exclusion_filters(console_registry, browser):
    registry = console_registry
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="store/web", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                          imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}])

    def stored():
        repository = ecr.describe_repositories(repositoryNames=["store/web"])["repositories"][0]
        return repository["imageTagMutability"], repository.get("imageTagMutabilityExclusionFilters", [])

    signed_in(browser, registry, "/repositories/store/web?tab=settings")
    shown(browser, "exclusion-filters")
    assert shown(browser, "setting-immutable").is_selected()
    assert [f.get_attribute("value") for f in browser.find_elements(*by_testid("exclusion-filter"))] == ["latest"]
    assert "tags that can still be moved" in text_of(browser, "exclusion-filters")

    # A filter AWS would refuse is refused here, in PutImageTagMutability's words, before sending.
    button(browser, "Add exclusion filter").click()
    type_into(field(browser, "Exclusion filter 2"), "dev/*")
    wait_for(browser, lambda b: (text_of(b, "mutability-error") or "").startswith(
        "Invalid parameter at 'imageTagMutabilityExclusionFilters.2.member.filter' failed to satisfy constraint"))
    assert not browser.find_element(By.XPATH, "//button[normalize-space(.)='Save settings']").is_enabled()
    check_accessibility(browser, "settings tab with a refused exclusion filter")
    type_into(field(browser, "Exclusion filter 2"), "dev-*")
    wait_for(browser, lambda b: text_of(b, "mutability-error") is None)
    button(browser, "Save settings").click()
    wait_for(browser, toast_says("Settings saved"))
    assert stored() == ("IMMUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "latest"},
                                                     {"filterType": "WILDCARD", "filter": "dev-*"}])

    # Mutable by default, with one exception: the registry enforces what was saved.
    shown(browser, "setting-immutable").click()
    wait_for(browser, lambda b: "tags that cannot be moved" in text_of(b, "exclusion-filters"))
    button(browser, "Remove exclusion filter 1").click()
    wait_for(browser, lambda b: len(b.find_elements(*by_testid("exclusion-filter"))) == 1)
    button(browser, "Save settings").click()
    wait_for(browser, lambda _: stored() == ("MUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "dev-*"}]))
    client = OciClient.for_registry(registry)
    client.push_image("store/web", "dev-1", [b"one"])
    client.push_image("store/web", "latest", [b"one"])
    client.push_image("store/web", "latest", [b"two"])
    moved = client.push_manifest("store/web", "dev-1", client.push_image("store/web", "other", [b"two"])[0])
    assert moved.status == 400 and moved.error_code() == "TAG_INVALID", moved
    check_accessibility(browser, "settings tab with exclusion filters")

    # No exception at all: the plain setting.
    button(browser, "Remove exclusion filter 1").click()
    wait_for(browser, lambda b: not b.find_elements(*by_testid("exclusion-filter")))
    button(browser, "Save settings").click()
    wait_for(browser, lambda _: stored() == ("MUTABLE", []))
