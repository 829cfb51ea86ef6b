"""The console without a mouse: a skip link, focus on each new page's heading, arrow
keys between tabs, dialogs that hold focus and give it back, Enter to confirm; and
copy buttons that work on a plain-HTTP origin that is not localhost."""

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from journeys import (browser_with, button, by_testid, check_accessibility, field, focused, path_of, sign_in,
                      signed_in, wait_for)


def press(browser, *keys):
    ActionChains(browser).send_keys(*keys).perform()


def focus_is(browser, predicate):
    """Waits until the focused element satisfies `predicate`; returns it."""
    wait_for(browser, lambda b: predicate(focused(b)))
    return focused(browser)


def inside_open_dialog(browser):
    return browser.execute_script(
        "const d = document.querySelector('dialog[open]'); return !!d && d.contains(document.activeElement)")


def test_keyboard_only_journey(console_registry, browser):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="keyboard/app")
    registry.ecr().create_repository(repositoryName="keyboard/old")
    signed_in(browser, registry)
    wait_for(browser, lambda b: "keyboard/app" in b.find_element(*by_testid("repository-table")).text)

    # The first Tab stop is the skip link; Enter puts focus on the page itself.
    browser.get(registry.url + "/repositories")
    wait_for(browser, lambda b: "keyboard/app" in b.find_element(*by_testid("repository-table")).text)
    press(browser, Keys.TAB)
    skip = focus_is(browser, lambda e: e.text == "Skip to main content")
    assert skip.is_displayed(), "the skip link shows when focused"
    press(browser, Keys.ENTER)
    focus_is(browser, lambda e: e.get_attribute("id") == "main")
    press(browser, Keys.TAB)
    assert focused(browser).find_elements(By.XPATH, "ancestor::main"), "Tab continues inside the page"

    # Following a link moves focus to the new page's heading.
    link = browser.find_element(By.LINK_TEXT, "keyboard/app")
    link.send_keys(Keys.ENTER)
    heading = focus_is(browser, lambda e: e.tag_name == "h1")
    assert heading.text == "keyboard/app"

    # Tabs: one Tab stop, arrows move and select.
    images_tab = button(browser, "Images")
    assert images_tab.get_attribute("aria-selected") == "true" and images_tab.get_attribute("tabindex") == "0"
    assert button(browser, "Permissions").get_attribute("tabindex") == "-1"
    images_tab.click()
    press(browser, Keys.ARROW_RIGHT)
    focus_is(browser, lambda e: e.text == "Permissions" and e.get_attribute("aria-selected") == "true")
    wait_for(browser, lambda b: path_of(b).endswith("?tab=permissions"))
    press(browser, Keys.ARROW_RIGHT)
    focus_is(browser, lambda e: e.text == "Settings")
    press(browser, Keys.ARROW_RIGHT)
    focus_is(browser, lambda e: e.text == "Images")
    press(browser, Keys.END)
    focus_is(browser, lambda e: e.text == "Settings")
    wait_for(browser, lambda b: path_of(b).endswith("?tab=settings"))

    # The push dialog takes focus, keeps Tab inside, closes on Escape and gives focus back.
    opener = button(browser, "View push commands")
    opener.send_keys(Keys.ENTER)
    wait_for(browser, inside_open_dialog)
    for _ in range(25):
        press(browser, Keys.TAB)
        assert inside_open_dialog(browser), f"Tab left the dialog for {focused(browser).get_attribute('outerHTML')[:120]}"
    check_accessibility(browser, "push commands dialog")
    press(browser, Keys.ESCAPE)
    wait_for(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, "dialog"))
    focus_is(browser, lambda e: e.text == "View push commands")

    # A delete confirmation: Space selects, Enter opens, the field has focus, Enter confirms.
    browser.find_element(By.LINK_TEXT, "Repositories").send_keys(Keys.ENTER)
    focus_is(browser, lambda e: e.tag_name == "h1" and e.text == "Private repositories")
    checkbox = field(browser, "Select keyboard/old")
    checkbox.send_keys(Keys.SPACE)
    wait_for(browser, lambda b: checkbox.is_selected())
    delete = button(browser, "Delete")
    delete.send_keys(Keys.ENTER)
    focus_is(browser, lambda e: e.get_attribute("data-testid") == "confirm-input")
    press(browser, "keyboard/old", Keys.ENTER)
    wait_for(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, "dialog"))
    assert [r["repositoryName"] for r in registry.ecr().describe_repositories()["repositories"]] == ["keyboard/app"]
    wait_for(browser, lambda b: "keyboard/old" not in b.find_element(*by_testid("repository-table")).text)
    # Nothing is selected any more, so the disabled Delete button cannot hold focus: the heading does.
    focus_is(browser, lambda e: e.tag_name == "h1" and e.text == "Private repositories")


def test_copy_works_on_a_plain_http_origin_that_is_not_localhost(console_registry, tmp_path):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="team/web")
    host = f"berth.internal:{registry.port}"
    browser = browser_with(tmp_path, "--host-resolver-rules=MAP berth.internal 127.0.0.1")
    try:
        sign_in(browser, f"http://{host}", registry.access_key_id, registry.secret_access_key)
        wait_for(browser, lambda b: "team/web" in b.find_element(*by_testid("repository-table")).text)
        assert browser.execute_script("return window.isSecureContext") is False
        assert browser.execute_script("return navigator.clipboard === undefined")

        button(browser, "Copy URI of team/web").click()
        wait_for(browser, lambda b: [t.text for t in b.find_elements(*by_testid("toast"))] == ["Copied"])
        # The clipboard holds the URI: read it back from a secure origin (127.0.0.1) of the same browser.
        browser.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["clipboardReadWrite"], "origin": registry.url})
        browser.switch_to.new_window("tab")
        browser.get(registry.url + "/sign-in")
        field(browser, "Access key ID")
        browser.execute_cdp_cmd("Emulation.setFocusEmulationEnabled", {"enabled": True})
        browser.set_script_timeout(30)
        pasted = browser.execute_async_script(
            "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done('failed: ' + e))")
        assert pasted == f"{registry.host}/team/web"
    finally:
        browser.quit()
