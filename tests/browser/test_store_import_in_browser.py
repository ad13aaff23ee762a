"""An admin in a real browser imports a stores CSV with a wrong line and reads the line in the errors table, on a
desktop and on a phone; on a phone, closes a store for a day."""

from __future__ import annotations

from datetime import timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from console.display import local_date
from shop.auth import Role
from shop.database import utcnow
from tests.browser.test_counter_in_browser import AA_CONTRAST, WAIT_SECONDS, contrast, log_in
from tests.console.conftest import account, shop  # noqa: F401
from tests.console.test_admin_stores import WRONG_LINE_3


def test_an_admin_imports_a_csv_with_a_wrong_line_and_sees_the_line_in_the_table(
        chrome, screenshot, live_server, account, tmp_path):  # noqa: F811
    wait = log_in(chrome, live_server, account(Role.ADMIN), lands="/console/")
    chrome.find_element(By.LINK_TEXT, "Stores").click()
    chrome.find_element(By.LINK_TEXT, "Import a CSV").click()
    wait.until(seen.url_contains("/console/stores/import"))
    assert chrome.find_element(By.CSS_SELECTOR, "label[for=file]").text
    file = tmp_path / "stores.csv"
    file.write_text(WRONG_LINE_3, encoding="utf-8")
    chrome.find_element(By.ID, "file").send_keys(str(file))
    screenshot(chrome, "1-chosen")
    chrome.find_element(By.CSS_SELECTOR, "button[type=submit].primary").click()

    table = wait.until(seen.visibility_of_element_located((By.ID, "import-errors")))
    cells = [cell.text for cell in table.find_elements(By.CSS_SELECTOR, "tbody tr:first-child td")]
    assert cells[:2] == ["3", "lat"] and "91.5" in cells[2], cells
    refused = chrome.find_element(By.CSS_SELECTOR, ".state.refused")
    assert "nothing was imported" in refused.text and contrast(chrome, refused) >= AA_CONTRAST
    assert chrome.find_element(By.ID, "import-bar").get_attribute("value") == "3"
    screenshot(chrome, "2-refused-line")

    chrome.set_window_size(390, 844)  # a phone, in Chinese
    chrome.get(chrome.current_url.split("?")[0] + "?lang=zh_CN")
    wait.until(seen.visibility_of_element_located((By.ID, "import-errors")))
    width = chrome.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, "the import page must not scroll sideways on a phone"
    screenshot(chrome, "3-phone-chinese")


def test_an_admin_closes_a_store_for_a_day_on_a_phone(chrome, screenshot, live_server, shop, account):  # noqa: F811
    wait = WebDriverWait(chrome, WAIT_SECONDS)
    chrome.set_window_size(390, 844)
    wait = log_in(chrome, live_server, account(Role.ADMIN), lands="/console/")
    chrome.get(f"{live_server}/console/stores/{shop.store_id}?lang=en")
    for field in ("exception-day", "exception-note", "exception-hours"):
        assert chrome.find_element(By.CSS_SELECTOR, f"label[for={field}]").text
    day = (local_date(utcnow(), "Asia/Shanghai") + timedelta(days=30)).isoformat()
    # A date input is typed as the browser's locale writes dates: set its value as a picker would.
    chrome.execute_script("arguments[0].value = arguments[1]", chrome.find_element(By.ID, "exception-day"), day)
    chrome.find_element(By.ID, "exception-note").send_keys("Stocktake")
    chrome.find_element(By.CSS_SELECTOR, "#exception-form button[type=submit]").click()
    row = wait.until(seen.visibility_of_element_located((By.ID, f"day-{day}")))
    assert "Closed all day" in row.text and "Stocktake" in row.text
    width = chrome.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, "the store's page must not scroll sideways on a phone"
    screenshot(chrome, "4-day-closed-phone")
