"""A clerk at the counter in a real browser: log in, scan a pickup code as a scanner types it, hand over, scan again."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from shop.auth import Role
from tests.console.conftest import account, active_batch, alice, in_store_coupon, marketing, shop  # noqa: F401
from tests.console.test_counter import coupon_shown
from tests.orders.test_pickup import paid_order

WAIT_SECONDS = 10
AA_CONTRAST = 4.5  # WCAG 2 AA for normal text


def contrast(driver, element) -> float:
    """The WCAG contrast ratio of an element's text colour on its background colour, as the browser computes them."""
    colours = driver.execute_script(
        "const s = getComputedStyle(arguments[0]); return [s.color, s.backgroundColor];", element)

    def luminance(css: str) -> float:
        channels = [int(part) / 255 for part in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(colours[0]), luminance(colours[1])), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_a_clerk_scans_a_pickup_code_hands_the_order_over_and_is_refused_the_second_time(
        chrome, screenshot, live_server, client, stub, shop, alice, account):  # noqa: F811
    order = paid_order(client, stub, shop, alice)
    username = account(Role.STAFF, [shop.store_id])
    wait = WebDriverWait(chrome, WAIT_SECONDS)

    chrome.get(f"{live_server}/console/login?lang=en")
    chrome.find_element(By.ID, "username").send_keys(username)
    chrome.find_element(By.ID, "password").send_keys("counter-password-1", Keys.ENTER)
    wait.until(seen.url_contains("/console/counter"))
    scan_input = chrome.find_element(By.ID, "code")
    assert chrome.switch_to.active_element == scan_input  # the input has focus: the scanner types into it
    assert chrome.find_element(By.CSS_SELECTOR, "label[for=code]").text  # every input has its label
    scan_input.send_keys(Keys.TAB)  # focus order: the input, then its button
    assert chrome.switch_to.active_element.text == "Look up"
    scan_input.click()
    screenshot(chrome, "1-counter")

    scan_input.send_keys(order["pickup_code"], Keys.ENTER)  # what a barcode scanner sends
    hand_over = wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, "#result button[data-focus]")))
    assert "Latte" in chrome.find_element(By.ID, "result").text
    assert chrome.switch_to.active_element == hand_over  # Enter (or a tap) confirms
    screenshot(chrome, "2-found")

    hand_over.click()
    done = wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "#result .state.done")))
    assert "Handed over" in done.text
    assert contrast(chrome, done) >= AA_CONTRAST
    assert chrome.switch_to.active_element == chrome.find_element(By.ID, "code")  # ready for the next scan
    screenshot(chrome, "3-handed-over")

    chrome.find_element(By.ID, "code").send_keys(order["pickup_code"], Keys.ENTER)
    refused = wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "#result .state.refused")))
    assert "Already used" in refused.text
    assert contrast(chrome, refused) >= AA_CONTRAST
    screenshot(chrome, "4-refused-again")

    chrome.set_window_size(390, 844)  # a phone
    screenshot(chrome, "5-phone")
    width = chrome.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, "the counter must not scroll sideways on a phone"

    chrome.get(f"{live_server}/console/counter?lang=zh_CN")  # Chinese first: the clerk's default
    assert chrome.find_element(By.TAG_NAME, "h1").text == "柜台"
    chrome.find_element(By.ID, "code").send_keys(order["pickup_code"], Keys.ENTER)
    wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "#result .state.refused")))
    screenshot(chrome, "6-phone-chinese")


def log_in(chrome, live_server: str, username: str, *, lands: str = "/console/counter") -> WebDriverWait:
    """Log in through the form (English) and wait for the page the account lands on: a clerk's counter, others'
    start page (``lands="/console/"``)."""
    wait = WebDriverWait(chrome, WAIT_SECONDS)
    chrome.get(f"{live_server}/console/login?lang=en")
    chrome.find_element(By.ID, "username").send_keys(username)
    chrome.find_element(By.ID, "password").send_keys("counter-password-1", Keys.ENTER)
    wait.until(seen.url_contains(lands))
    return wait


def test_a_clerk_scans_a_coupon_code_sees_its_value_redeems_it_and_is_refused_the_second_time(
        app, chrome, screenshot, live_server, shop, in_store_coupon, account):  # noqa: F811
    held = in_store_coupon(scope_store_ids=[shop.store_id])
    wait = log_in(chrome, live_server, account(Role.STAFF, [shop.store_id]))
    shown = coupon_shown(app, held.id)

    chrome.find_element(By.ID, "code").send_keys(shown, Keys.ENTER)
    redeem = wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, "#result button[data-focus]")))
    assert "¥10.00" in chrome.find_element(By.ID, "result").text
    screenshot(chrome, "coupon-1-found")
    redeem.send_keys(Keys.ENTER)  # the focused button: Enter confirms
    done = wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "#result .state.done")))
    assert "Coupon redeemed" in done.text
    screenshot(chrome, "coupon-2-redeemed")

    chrome.find_element(By.ID, "code").send_keys(shown, Keys.ENTER)
    refused = wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "#result .state.refused")))
    assert "Already used" in refused.text
    screenshot(chrome, "coupon-3-refused-again")
