"""Links that work: a deep link opened without a session comes back after sign-in,
a second tab picks the session up, "Remember on this device" is the only thing that
stores it, and sign-in says plainly what is wrong with an address."""

import http.server
import threading

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from conftest import free_port
from journeys import (button, by_testid, check_accessibility, field, path_of, shown, sign_in, signed_in,
                      text_appears, text_of, type_into, wait_for)

DEEP_LINK = "/repositories/team/web?tab=settings"


def session_storage(browser):
    return browser.execute_script("return sessionStorage.getItem('berth.connection')")


def local_storage_length(browser):
    return browser.execute_script("return localStorage.length")


def test_a_shared_link_opened_without_a_session_comes_back_after_sign_in(console_registry, browser):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="team/web")
    browser.get(registry.url + DEEP_LINK)
    wait_for(browser, EC.url_contains("/sign-in?next="))
    assert "could not be signed" not in browser.find_element(By.TAG_NAME, "body").text
    check_accessibility(browser, "sign-in")
    type_into(field(browser, "Access key ID"), registry.access_key_id)
    type_into(field(browser, "Secret access key"), registry.secret_access_key)
    button(browser, "Sign in").click()
    wait_for(browser, lambda b: path_of(b) == DEEP_LINK)
    text_appears(browser, "Image settings")
    assert shown(browser, "repository-title").text == "team/web"
    # Back does not return to the sign-in form: it was replaced in the history.
    browser.back()
    wait_for(browser, lambda b: "/sign-in" not in path_of(b))


def test_sign_in_follows_next_only_within_the_console(console_registry, browser):
    registry = console_registry
    sign_in(browser, registry.url, registry.access_key_id, registry.secret_access_key,
            path="/sign-in?next=%2Fcreate-repository")
    wait_for(browser, lambda b: path_of(b) == "/create-repository")
    browser.find_element(*by_testid("sign-out")).click()
    wait_for(browser, EC.url_contains("/sign-in"))
    for next_link in ["https://evil.example/", "//evil.example/", "/%5Cevil.example", "/%09/evil.example"]:
        sign_in(browser, registry.url, registry.access_key_id, registry.secret_access_key,
                path=f"/sign-in?next={next_link}")
        wait_for(browser, lambda b: path_of(b) == "/repositories")
        assert browser.current_url.startswith(registry.url), browser.current_url
        browser.find_element(*by_testid("sign-out")).click()
        wait_for(browser, EC.url_contains("/sign-in"))


def test_a_second_tab_picks_up_the_session_without_storing_it_anywhere_new(console_registry, browser):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="team/web")
    signed_in(browser, registry)
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.get(registry.url + DEEP_LINK)
    text_appears(browser, "Image settings")
    assert path_of(browser) == DEEP_LINK, "no detour through sign-in"
    assert shown(browser, "connection").text.endswith(registry.access_key_id)
    assert local_storage_length(browser) == 0
    assert registry.secret_access_key not in browser.current_url

    # Signing out in one tab signs out the other: no tab hands the session back.
    browser.find_element(*by_testid("sign-out")).click()
    wait_for(browser, EC.url_contains("/sign-in"))
    browser.switch_to.window(first)
    wait_for(browser, EC.url_contains("/sign-in?next="))
    assert session_storage(browser) is None


def test_a_new_tab_without_open_tabs_signs_in_unless_remembered(console_registry, browser):
    registry = console_registry
    registry.ecr().create_repository(repositoryName="team/web")

    def reopen_alone():
        """Closes every console tab and opens the deep link in a fresh one."""
        old = browser.current_window_handle
        browser.switch_to.new_window("tab")
        fresh = browser.current_window_handle
        browser.switch_to.window(old)
        browser.close()
        browser.switch_to.window(fresh)
        browser.get(registry.url + DEEP_LINK)

    signed_in(browser, registry)
    reopen_alone()
    wait_for(browser, EC.url_contains("/sign-in?next="))

    sign_in(browser, registry.url, registry.access_key_id, registry.secret_access_key, path="/sign-in", remember=True)
    wait_for(browser, lambda b: path_of(b) == "/repositories")
    assert local_storage_length(browser) == 1
    reopen_alone()
    text_appears(browser, "Image settings")
    assert path_of(browser) == DEEP_LINK

    browser.find_element(*by_testid("sign-out")).click()
    wait_for(browser, EC.url_contains("/sign-in"))
    assert local_storage_length(browser) == 0, "signing out forgets the device"


class HtmlSite(http.server.BaseHTTPRequestHandler):
    """A web server that is not an ECR endpoint, reachable from the console (CORS)."""

    def cors(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.end_headers()

    def do_POST(self):
        body = b"<!DOCTYPE HTML>\n<html><head><title>Error response</title></head><body>Unsupported method ('POST')</body></html>"
        self.send_response(501)
        self.cors()
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_sign_in_explains_addresses_that_are_not_an_ecr_endpoint(console_registry, browser):
    registry = console_registry
    port = free_port()
    site = http.server.ThreadingHTTPServer(("127.0.0.1", port), HtmlSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        sign_in(browser, registry.url, registry.access_key_id, registry.secret_access_key,
                endpoint=f"http://127.0.0.1:{port}")
        error = shown(browser, "sign-in-error")
        assert error.text == ("This address answered, but not as an ECR API endpoint (HTTP 501). "
                              "Is it the registry's URL?")
        assert "DOCTYPE" not in error.text
    finally:
        site.shutdown()

    # Without a scheme the form says so, instead of refusing silently.
    type_into(field(browser, "Endpoint URL"), registry.host)
    button(browser, "Sign in").click()
    wait_for(browser, lambda b: text_of(b, "sign-in-error") == (
        f"The endpoint URL must start with http:// or https:// (for example http://{registry.host})."))


def test_the_shell_paints_before_the_wasm_arrives(console_registry, browser):
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*.wasm"]})
    try:
        browser.get(console_registry.url + "/repositories")
        shell = shown(browser, "boot-shell")
        assert "Loading the console" in shell.text
        assert browser.find_element(By.CSS_SELECTOR, "header.topbar").text == "⚓ Berth"
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    browser.get(console_registry.url + "/repositories")
    wait_for(browser, EC.url_contains("/sign-in"))
    assert browser.find_elements(*by_testid("boot-shell")) == [], "the app replaces the shell"
    assert len(browser.find_elements(By.CSS_SELECTOR, "header.topbar")) == 1
