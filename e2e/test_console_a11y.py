"""Every screen of the console through axe-core, in light and dark mode: a serious or
critical violation anywhere fails. (The other journeys check the screens they pass
through; this one visits the ones they do not.)"""

import json

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from journeys import button, by_testid, check_accessibility, shown, signed_in, text_appears, wait_for
from oci import OCI_INDEX, OCI_MANIFEST, OciClient


def test_every_screen_passes_axe_in_light_and_dark_mode(console_registry, browser):
    registry = console_registry
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="a11y/app")
    client = OciClient.for_registry(registry)
    _, image = client.push_image("a11y/app", "v1", [b"one layer"])
    raw, child = client.push_image("a11y/app", "amd64", [b"platform layer"])
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": child, "size": len(raw),
         "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
    assert client.push_manifest("a11y/app", "multi", index, OCI_INDEX).status == 201
    viewer = registry.add_user("viewer")
    ecr.set_repository_policy(repositoryName="a11y/app", policyText=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Sid": "Pull", "Effect": "Allow",
                                                "Principal": {"AWS": viewer["arn"]}, "Action": ["ecr:BatchGetImage"]}]}))

    browser.get(registry.url + "/sign-in")
    shown(browser, "sign-in-form")
    check_accessibility(browser, "sign-in")
    browser.get(registry.url + "/no/such/page")
    text_appears(browser, "Page not found")
    check_accessibility(browser, "page not found")

    signed_in(browser, registry)
    shown(browser, "repository-table")
    check_accessibility(browser, "repository list")
    button(browser, "View push commands").click()
    button(browser, "Windows (PowerShell)").click()
    check_accessibility(browser, "push commands, Windows")
    button(browser, "Close").click()

    browser.get(registry.url + "/repositories/a11y/app")
    button(browser, "Show platforms").click()
    shown(browser, "platform-row")
    check_accessibility(browser, "images tab with an index")
    button(browser, "Remove tag v1").click()
    text_appears(browser, "is the last tag of image")
    check_accessibility(browser, "last tag confirmation")
    button(browser, "Cancel").click()

    browser.get(registry.url + "/repositories/a11y/app?tab=permissions")
    shown(browser, "saved-policy")
    check_accessibility(browser, "saved policy")
    button(browser, "Edit policy").click()
    shown(browser, "simulator")
    check_accessibility(browser, "policy editor with a saved policy")

    browser.get(f"{registry.url}/images/a11y/app?digest={image}")
    wait_for(browser, EC.presence_of_element_located(by_testid("layer-table")))
    check_accessibility(browser, "image detail")
    browser.get(f"{registry.url}/images/a11y/app?digest={child}")
    shown(browser, "part-of")
    check_accessibility(browser, "platform image detail")
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=load-error]") == []
