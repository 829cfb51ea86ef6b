"""Finding things in the console the way a person does: by visible labels and names;
waiting for what a request changes on screen; checking each screen with axe-core."""

import json

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import CHROMEDRIVER, CHROMIUM, ROOT, SCREENSHOTS

AXE = ROOT / "target" / "tools" / "node_modules" / "axe-core" / "axe.min.js"
# What fails a screen: axe-core's two worst impact levels.
BLOCKING_IMPACTS = ("serious", "critical")


def literal(text):
    if "'" not in text:
        return f"'{text}'"
    return "concat('" + text.replace("'", "', \"'\", '") + "')"


def wait_for(browser, condition, timeout=30):
    return WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def field(browser, label, timeout=30):
    """The input, select or textarea labelled `label` (by <label> text or aria-label)."""
    lit = literal(label)
    xpath = (f"//label[starts-with(normalize-space(.), {lit})]//*[self::input or self::select or self::textarea]"
             f" | //*[self::input or self::textarea or self::select][@aria-label={lit}]")
    return wait_for(browser, EC.presence_of_element_located((By.XPATH, xpath)), timeout)


def button(browser, name, timeout=30):
    """A clickable button or link whose visible text or accessible name is `name`."""
    lit = literal(name)
    xpath = (f"//button[normalize-space(.)={lit} or @aria-label={lit}]"
             f" | //a[normalize-space(.)={lit} or @aria-label={lit}]")
    return wait_for(browser, EC.element_to_be_clickable((By.XPATH, xpath)), timeout)


def by_testid(testid):
    return (By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def shown(browser, name, timeout=30):
    """The visible element with data-testid `name`."""
    return wait_for(browser, EC.visibility_of_element_located(by_testid(name)), timeout)


def text_appears(browser, text, timeout=30):
    wait_for(browser, lambda b: text in b.find_element(By.TAG_NAME, "body").text, timeout)


def text_of(browser, name):
    """The text of the element with data-testid `name`, or None while it is absent."""
    found = browser.find_elements(*by_testid(name))
    return found[0].text if found else None


def type_into(element, text):
    element.clear()
    if text:
        element.send_keys(text)
    else:
        # clear() fires no input event: type and erase a character so the app hears it.
        element.send_keys(" ", Keys.BACKSPACE)


def sign_in(browser, url, key, secret, endpoint=None, kind=None, path="/sign-in", remember=False):
    browser.get(url + path)
    if kind:
        from selenium.webdriver.support.ui import Select

        Select(field(browser, "Registry")).select_by_visible_text(kind)
    if endpoint:
        type_into(field(browser, "Endpoint URL"), endpoint)
    type_into(field(browser, "Access key ID"), key)
    type_into(field(browser, "Secret access key"), secret)
    if remember:
        field(browser, "Remember on this device").click()
    button(browser, "Sign in").click()


def signed_in(browser, registry, path="/repositories"):
    """Signs in as the admin and waits for the repository list."""
    sign_in(browser, registry.url, registry.access_key_id, registry.secret_access_key)
    wait_for(browser, EC.presence_of_element_located((By.XPATH, "//h1[normalize-space(.)='Private repositories']")))
    if path != "/repositories":
        browser.get(registry.url + path)


def path_of(browser):
    """The current URL without its origin."""
    return browser.execute_script("return location.pathname + location.search + location.hash")


def focused(browser):
    return browser.switch_to.active_element


def screenshot(browser, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def _color_scheme(browser, scheme):
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})


def _axe_violations(browser):
    if not browser.execute_script("return typeof window.axe === 'object'"):
        assert AXE.is_file(), f"no {AXE}: `cargo xtask test` installs axe-core from npm"
        browser.execute_script(AXE.read_text())
    browser.set_script_timeout(60)
    return browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']})
          .then(r => done(r.violations
            .filter(v => arguments[0].includes(v.impact))
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)}))))
          .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));
    """, list(BLOCKING_IMPACTS))


def check_accessibility(browser, screen):
    """axe-core on the screen as it is, in light and in dark mode: any serious or
    critical violation fails, with what and where."""
    found = {}
    try:
        for scheme in ("light", "dark"):
            _color_scheme(browser, scheme)
            violations = _axe_violations(browser)
            if violations:
                found[scheme] = violations
    finally:
        _color_scheme(browser, "light")
    assert not found, f"accessibility of {screen}:\n{json.dumps(found, indent=1)}"


def browser_with(tmp_path, *extra_args):
    """Headless Chromium as conftest's `browser` fixture starts it, plus `extra_args`
    (e.g. host resolver rules for a plain-HTTP origin that is not localhost)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,900", f"--user-data-dir={tmp_path / 'chromium-extra'}",
                *extra_args]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver
