"""Finding things in the console the way a person does: by visible labels and names."""

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


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


def text_appears(browser, text, timeout=30):
    wait_for(browser, lambda b: text in b.find_element(By.TAG_NAME, "body").text, timeout)


def type_into(element, text):
    element.clear()
    element.send_keys(text)


def sign_in(browser, url, key, secret, endpoint=None, kind=None):
    browser.get(url + "/sign-in")
    if kind:
        from selenium.webdriver.support.ui import Select

        Select(field(browser, "Registry")).select_by_visible_text(kind)
    if endpoint:
        type_into(field(browser, "Endpoint URL"), endpoint)
    type_into(field(browser, "Access key ID"), key)
    type_into(field(browser, "Secret access key"), secret)
    button(browser, "Sign in").click()
