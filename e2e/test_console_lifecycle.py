"""The Lifecycle policy tab end to end: a rule built with the form shows as JSON,
the JSON edited by hand moves the form, a bad rule is pinned to its line, the
preview computed in the browser matches the registry's own preview, and what is
saved is what `aws ecr get-lifecycle-policy` returns; then it is deleted."""

import json

import botocore.exceptions
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from journeys import (button, by_testid, check_accessibility, field, screenshot, shown, signed_in, text_appears,
                      text_of, type_into, wait_for)
from oci import OciClient

KEEP_TWO = {"rules": [{
    "rulePriority": 1,
    "description": "keep the last 2 releases",
    "selection": {"tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan", "countNumber": 2},
    "action": {"type": "expire"},
}]}


def set_text(browser, element, text):
    """Replaces a text area's content the way a paste does: one input event."""
    browser.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", element, text)


def draft(browser):
    return field(browser, "Lifecycle policy JSON").get_attribute("value")


def toast_says(text):
    return lambda b: text in [t.text for t in b.find_elements(*by_testid("toast"))]


def rows(browser, testid):
    return [r.text for r in browser.find_elements(*by_testid(testid))]


def dialog_button(browser, name):
    """A button of the open dialog (the page behind has buttons of the same name)."""
    return browser.find_element(By.CSS_SELECTOR, "dialog[open]").find_element(
        By.XPATH, f".//button[normalize-space(.)='{name}']")


def cells(browser, testid):
    return [[c.text for c in r.find_elements(By.TAG_NAME, "td")] for r in browser.find_elements(*by_testid(testid))]


def test_lifecycle_tab_journey(console_registry, browser, tmp_path):
    registry = console_registry
    ecr = registry.ecr()
    ecr.create_repository(repositoryName="life/app")
    client = OciClient.for_registry(registry)
    digests = {}
    for i in range(1, 6):
        digests[f"v{i}"] = client.push_image("life/app", f"v{i}", [f"release {i}".encode() * 100])[1]
    client.push_image("life/app", "latest", [b"not a release"])

    signed_in(browser, registry, "/repositories/life/app?tab=lifecycle")
    text_appears(browser, "No lifecycle policy")
    check_accessibility(browser, "lifecycle tab without a policy")
    button(browser, "Create a lifecycle policy").click()
    wait_for(browser, lambda b: text_of(b, "lifecycle-no-rules") is not None)

    # A rule built with the form.
    button(browser, "Add rule").click()
    assert field(browser, "Rule priority").get_attribute("value") == "1"
    type_into(field(browser, "Description"), "keep the last 2 releases")
    Select(field(browser, "Image status")).select_by_visible_text("Tagged (prefix matching)")
    type_into(field(browser, "Tags to match (comma-separated)"), "v")
    Select(field(browser, "Match criteria")).select_by_visible_text("Image count more than")
    type_into(field(browser, "Count number"), "2")
    check_accessibility(browser, "lifecycle rule form")
    button(browser, "Save rule").click()
    wait_for(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, "dialog[open]"))
    assert json.loads(draft(browser)) == KEEP_TWO
    assert cells(browser, "lifecycle-rule") == [[
        "1", "keep the last 2 releases", "Tagged images with a tag starting with “v”",
        "all but the 2 most recently pushed", "Expire", "EditDelete"]]

    # The form refuses what PutLifecyclePolicy would, in the model's words.
    button(browser, "Add rule").click()
    type_into(field(browser, "Rule priority"), "1")
    Select(field(browser, "Image status")).select_by_visible_text("Untagged")
    Select(field(browser, "Match criteria")).select_by_visible_text("Since image pushed")
    type_into(field(browser, "Count number"), "14")
    button(browser, "Save rule").click()
    wait_for(browser, lambda b: "each rule needs a unique rulePriority" in (text_of(b, "rule-problems") or ""))
    type_into(field(browser, "Rule priority"), "2")
    button(browser, "Save rule").click()
    wait_for(browser, lambda b: len(rows(b, "lifecycle-rule")) == 2)
    assert json.loads(draft(browser))["rules"][1]["selection"] == {
        "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14}
    button(browser, "Delete rule 2").click()
    wait_for(browser, lambda b: json.loads(draft(b)) == KEEP_TWO)
    check_accessibility(browser, "lifecycle editor")

    # The JSON edited by hand: the form follows.
    editor = field(browser, "Lifecycle policy JSON")
    set_text(browser, editor, draft(browser).replace('"countNumber": 2', '"countNumber": 3'))
    wait_for(browser, lambda b: "all but the 3 most recently pushed" in rows(b, "lifecycle-rule")[0])
    button(browser, "Edit rule 1").click()
    assert field(browser, "Count number").get_attribute("value") == "3"
    assert field(browser, "Tags to match (comma-separated)").get_attribute("value") == "v"
    dialog_button(browser, "Cancel").click()
    wait_for(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, "dialog[open]"))

    # A bad rule is pinned to its line, and blocks saving.
    bad = draft(browser).replace('"imageCountMoreThan"', '"imageCountMoreThen"')
    set_text(browser, editor, bad)
    line = next(n for n, text in enumerate(bad.splitlines(), 1) if "imageCountMoreThen" in text)
    wait_for(browser, lambda b: (text_of(b, "lifecycle-problems") or "").startswith(
        f"Line {line}: rules[0].selection.countType: rulePriority 1: countType must be"))
    assert "did you mean" in text_of(browser, "lifecycle-problems")
    gutter = browser.find_elements(By.CSS_SELECTOR, ".editor .gutter .bad")
    assert [g.text for g in gutter] == [str(line)]
    assert not browser.find_element(*by_testid("save-lifecycle-policy")).is_enabled()
    assert "fix them to edit the rules" in text_of(browser, "lifecycle-no-rules")
    check_accessibility(browser, "lifecycle editor with a problem")
    set_text(browser, editor, json.dumps(KEEP_TWO, indent=2))
    wait_for(browser, lambda b: text_of(b, "lifecycle-problems") == "" and len(rows(b, "lifecycle-rule")) == 1)

    # Preview: the 3 oldest releases expire, by rule 1, in the browser and in the registry.
    button(browser, "Preview").click()
    wait_for(browser, lambda b: text_of(b, "preview-summary") == "3 of 6 images would expire.")
    expiring = cells(browser, "preview-row")
    assert [r[0] for r in expiring] == [f"v{i} {digests[f'v{i}'][:19]}" for i in (1, 2, 3)], expiring
    assert [r[2:] for r in expiring] == [["never", "1", "Expire"]] * 3, expiring
    wait_for(browser, lambda b: text_of(b, "preview-cross-check")
             == "The registry's own preview agrees: the same 3 images, by the same rules.")
    screenshot(browser, "console-lifecycle.png")
    check_accessibility(browser, "lifecycle preview")

    # Saved: the registry returns the same policy to the AWS CLI.
    shown_json = draft(browser)
    button(browser, "Save policy").click()
    wait_for(browser, toast_says("Lifecycle policy saved"))
    saved = shown(browser, "saved-lifecycle-policy")
    assert json.loads(text_of(browser, "saved-lifecycle-json")) == KEEP_TWO
    cli = json.loads(registry.aws("ecr", "get-lifecycle-policy", "--repository-name", "life/app").stdout)
    assert json.loads(cli["lifecyclePolicyText"]) == json.loads(shown_json) == KEEP_TWO
    assert "Not applied yet" in text_of(browser, "lifecycle-last-applied")
    assert "keep the last 2 releases" in saved.text
    check_accessibility(browser, "saved lifecycle policy")

    # At 360 px the tab scrolls vertically only.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 360, "height": 800, "deviceScaleFactor": 2, "mobile": True})
    try:
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        wide = browser.execute_script("""
            const w = document.documentElement.clientWidth;
            return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1)
              .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));""")
        screenshot(browser, "console-lifecycle-360px.png")
        assert overflow <= 0, f"the page is {overflow}px wider than the screen: {wide}"
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    # Deleted: the registry has none, and the tab says so.
    button(browser, "Delete policy").click()
    type_into(field(browser, 'To confirm, type "delete"'), "delete")
    button(browser, "Delete").click()
    wait_for(browser, toast_says("Lifecycle policy deleted"))
    text_appears(browser, "No lifecycle policy")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ecr.get_lifecycle_policy(repositoryName="life/app")
    assert refused.value.response["Error"]["Code"] == "LifecyclePolicyNotFoundException"
