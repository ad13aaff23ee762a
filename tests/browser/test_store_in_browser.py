"""A clerk watches the store's pickup queue in a real browser: a new paid order appears without a reload
and is announced; the clerk starts making it and marks it ready, which is announced too."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from shop.auth import Role
from tests.browser.test_counter_in_browser import log_in
from tests.console.conftest import account, alice, shop  # noqa: F401
from tests.orders.test_making import croissant_order, making_store  # noqa: F401

POLL_WAIT_SECONDS = 15  # the page polls every 5 s


def test_a_new_order_appears_in_the_queue_by_itself_and_is_announced_when_ready(
        chrome, screenshot, live_server, client, stub, shop, alice, account, making_store):  # noqa: F811
    log_in(chrome, live_server, account(Role.STAFF, [shop.store_id]))
    chrome.find_element(By.LINK_TEXT, "Pickups").click()
    wait = WebDriverWait(chrome, POLL_WAIT_SECONDS)
    wait.until(seen.url_contains("/console/store/pickups"))
    assert "No order waits" in chrome.find_element(By.ID, "queue").text
    screenshot(chrome, "1-empty-queue")

    order = croissant_order(client, stub, shop, alice)
    row = wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, f"[data-order='{order['id']}']")))
    assert "1 × Croissant" in row.text and "Paid, not started" in row.text
    announce = chrome.find_element(By.ID, "announce")
    assert announce.get_attribute("aria-live") == "polite"
    wait.until(seen.text_to_be_present_in_element((By.ID, "announce"), f"New order {order['number']}."))
    screenshot(chrome, "2-new-order")

    row.find_element(By.XPATH, ".//button[normalize-space()='Start making']").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, f"[data-order='{order['id']}'] .badge"),
                                                  "Being made"))
    assert chrome.switch_to.active_element.text == "Mark ready"  # focus stays with the order, on its next step
    chrome.find_element(By.CSS_SELECTOR, f"[data-order='{order['id']}'] button.primary").click()
    wait.until(seen.text_to_be_present_in_element((By.ID, "announce"), f"Order {order['number']} is ready."))
    screenshot(chrome, "3-ready-announced")

    chrome.set_window_size(390, 844)  # a phone
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= 390
    screenshot(chrome, "4-phone")
    chrome.get(f"{live_server}/console/store/pickups?lang=zh_CN")
    assert chrome.find_element(By.TAG_NAME, "h1").text == "取货队列"
    screenshot(chrome, "5-phone-chinese")

    chrome.set_window_size(1280, 900)  # the rest of the store's day, through the clerk's navigation
    chrome.get(f"{live_server}/console/counter?lang=en")
    chrome.find_element(By.ID, "code").send_keys(order["pickup_code"], Keys.ENTER)
    wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, "#result button[data-focus]"))).click()
    wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "#result .state.done")))
    chrome.find_element(By.LINK_TEXT, "Redemptions").click()
    wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "main"), order["number"]))
    screenshot(chrome, "6-today")
    chrome.find_element(By.LINK_TEXT, "Hours").click()
    wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Opening hours"))
    screenshot(chrome, "7-hours")
