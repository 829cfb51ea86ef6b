"""The release build of the console in headless Chromium, against a real registry."""

import json

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import SCREENSHOTS


def by_testid(testid):
    return (By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def wait(browser, condition, timeout=30):
    return WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def app_errors(browser):
    """Severe console messages (panics, failed loads) the app logged."""
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]


def sign_in(browser, registry, secret=None, key=None, endpoint=None):
    browser.get(registry.url + "/")
    wait(browser, EC.url_contains("/sign-in"))
    field = wait(browser, EC.element_to_be_clickable(by_testid("access-key-id")))
    if endpoint is not None:
        endpoint_field = browser.find_element(*by_testid("endpoint"))
        endpoint_field.clear()
        endpoint_field.send_keys(endpoint)
    field.send_keys(key or registry.access_key_id)
    browser.find_element(*by_testid("secret-access-key")).send_keys(secret or registry.secret_access_key)
    browser.find_element(*by_testid("sign-in")).click()


def test_a_repository_created_through_the_api_appears_in_the_list(console_registry, browser):
    registry = console_registry
    registry.aws("ecr", "create-repository", "--repository-name", "my-nginx-repository",
                 "--image-scanning-configuration", "scanOnPush=true")
    registry.ecr().create_repository(repositoryName="team/api", imageTagMutability="IMMUTABLE")

    browser.get(registry.url + "/")
    wait(browser, EC.url_contains("/sign-in"))
    # Served by the registry itself, the console proposes the registry's own address.
    endpoint = wait(browser, EC.presence_of_element_located(by_testid("endpoint")))
    assert endpoint.get_attribute("value") == registry.url
    sign_in(browser, registry)

    wait(browser, EC.url_contains("/repositories"))
    wait(browser, EC.presence_of_element_located(by_testid("repository-table")))
    rows = browser.find_elements(*by_testid("repository-row"))
    names = [r.find_element(*by_testid("repository-name")).text for r in rows]
    assert names == ["my-nginx-repository", "team/api"]
    first = rows[0].text
    assert f"{registry.host}/my-nginx-repository" in first
    assert "Enabled" in first and "Mutable" in first and "AES256" in first
    assert "Immutable" in rows[1].text
    assert browser.find_element(*by_testid("repository-count")).text == "1–2 of 2 repositories"

    # A repository created later shows up on refresh, without signing in again.
    registry.ecr().create_repository(repositoryName="zz-late")
    browser.find_element(*by_testid("refresh")).click()
    wait(browser, lambda b: "zz-late" in b.find_element(*by_testid("repository-table")).text)
    assert app_errors(browser) == []

    # Credentials live in sessionStorage only, never in the URL or localStorage.
    stored = json.loads(browser.execute_script("return sessionStorage.getItem('berth.connection')"))
    assert stored["access_key_id"] == registry.access_key_id
    assert browser.execute_script("return localStorage.length") == 0
    assert registry.secret_access_key not in browser.current_url

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "console-repositories.png"))

    browser.find_element(*by_testid("sign-out")).click()
    wait(browser, EC.url_contains("/sign-in"))
    assert browser.execute_script("return sessionStorage.getItem('berth.connection')") is None


def test_empty_registry_shows_first_steps(console_registry, browser):
    sign_in(browser, console_registry)
    empty = wait(browser, EC.visibility_of_element_located(by_testid("empty")))
    # True for the admin of an empty registry and for a key that may see nothing.
    assert "No repositories are visible to this key" in empty.text
    assert "create-repository" in empty.text


@pytest.mark.parametrize(
    "bad, expected",
    [
        ("secret", "secret access key does not match"),
        ("key", "access key id is not known"),
    ],
)
def test_sign_in_explains_bad_credentials(console_registry, browser, bad, expected):
    if bad == "secret":
        sign_in(browser, console_registry, secret="w" * 40)
    else:
        sign_in(browser, console_registry, key="AKIANOSUCHKEY0000000")
    error = wait(browser, EC.visibility_of_element_located(by_testid("sign-in-error")))
    assert expected in error.text
    assert "/sign-in" in browser.current_url
    assert browser.execute_script("return sessionStorage.getItem('berth.connection')") is None


def test_sign_in_validates_before_calling(console_registry, browser):
    browser.get(console_registry.url + "/sign-in")
    wait(browser, EC.element_to_be_clickable(by_testid("access-key-id"))).send_keys("AKIAX")
    browser.find_element(*by_testid("sign-in")).click()
    error = wait(browser, EC.visibility_of_element_located(by_testid("sign-in-error")))
    assert error.text == "Enter the secret access key."


def test_unreachable_registry_shows_an_error_state(console_registry, browser):
    sign_in(browser, console_registry)
    wait(browser, EC.presence_of_element_located(by_testid("empty")))
    # The registry serves the console; once the page is loaded, stop it and refresh the list.
    console_registry.stop()
    browser.find_element(*by_testid("refresh")).click()
    error = wait(browser, EC.visibility_of_element_located(by_testid("load-error")))
    assert "Cannot reach" in error.text and console_registry.url in error.text


def test_unknown_pages_say_so(console_registry, browser):
    browser.get(console_registry.url + "/no/such/page")
    wait(browser, lambda b: "Page not found" in b.find_element(By.TAG_NAME, "main").text)
