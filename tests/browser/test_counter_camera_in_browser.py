"""The counter's camera in a real browser: chromium's camera shows a member's QR code, the vendored decoder reads
it (headless chromium on Linux has no BarcodeDetector) and hands it to the scan, and the clerk records a till sale
with its items."""

from __future__ import annotations

import segno
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select

from shop.auth import Role
from shop.database import utcnow
from shop.till import member_code
from tests.browser.test_counter_in_browser import log_in
from tests.console.conftest import account, alice, alice_id, shop  # noqa: F401

WAIT_SECONDS = 15
WIDTH, HEIGHT, MODULE = 640, 480, 6


def qr_frame(text: str) -> list[bytes]:
    """A camera frame: the text's QR code, black on white, in the middle."""
    matrix = segno.make(text, error="m").matrix
    side = len(matrix) * MODULE
    top, left = (HEIGHT - side) // 2, (WIDTH - side) // 2
    rows = []
    for y in range(HEIGHT):
        row = bytearray(b"\xff" * WIDTH)
        if top <= y < top + side:
            for x, dark in enumerate(matrix[(y - top) // MODULE]):
                if dark:
                    row[left + x * MODULE:left + (x + 1) * MODULE] = b"\x00" * MODULE
        rows.append(bytes(row))
    return rows


def test_a_clerk_reads_a_members_qr_code_with_the_camera_and_records_a_till_sale_with_its_items(
        chrome_with_camera, screenshot, live_server, app, shop, alice_id, account):  # noqa: F811
    with app.app_context():
        payload = member_code.shown_code(alice_id, utcnow()).qr_payload
    chrome = chrome_with_camera(qr_frame(payload))
    wait = log_in(chrome, live_server, account(Role.STAFF, [shop.store_id]))

    camera = wait.until(seen.element_to_be_clickable((By.ID, "camera-button")))
    assert camera.text == "Camera"
    camera.click()
    receipt = wait.until(seen.visibility_of_element_located((By.ID, "receipt_no")))  # read, scanned, found
    assert chrome.find_element(By.ID, "camera").get_attribute("hidden") is not None  # closed after reading
    assert chrome.switch_to.active_element == receipt
    receipt.send_keys("R-7001")
    chrome.find_element(By.ID, "amount").send_keys("71")
    Select(chrome.find_element(By.ID, "line-0-sku")).select_by_visible_text("Latte M")
    chrome.find_element(By.ID, "line-0-quantity").send_keys("2")
    Select(chrome.find_element(By.ID, "line-1-sku")).select_by_visible_text("Croissant")
    chrome.find_element(By.ID, "line-1-price").send_keys("15")
    for field in chrome.find_elements(By.CSS_SELECTOR, "#result input:not([type=hidden]), #result select"):
        assert chrome.find_element(By.CSS_SELECTOR, f"label[for='{field.get_attribute('id')}']").text
    chrome.execute_script("document.getElementById('result').scrollIntoView({block: 'start'})")
    screenshot(chrome, "1-sale-with-items")

    chrome.find_element(By.CSS_SELECTOR, "#result button[type=submit]").click()
    done = wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "#result .state.done")))
    assert "R-7001" in done.text and "¥71.00" in done.text
    assert chrome.switch_to.active_element == chrome.find_element(By.ID, "code")  # ready for the next scan
    screenshot(chrome, "2-sale-recorded")
