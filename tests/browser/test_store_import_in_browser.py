"""An admin in a real browser imports a stores CSV with a wrong line and reads the line in the errors table, on a
desktop and on a phone."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from shop.auth import Role
from tests.browser.test_counter_in_browser import AA_CONTRAST, WAIT_SECONDS, contrast
from tests.console.conftest import account  # noqa: F401
from tests.console.test_admin_stores import WRONG_LINE_3


def test_an_admin_imports_a_csv_with_a_wrong_line_and_sees_the_line_in_the_table(
        chrome, screenshot, live_server, account, tmp_path):  # noqa: F811
    wait = WebDriverWait(chrome, WAIT_SECONDS)
    chrome.get(f"{live_server}/console/login?lang=en")
    chrome.find_element(By.ID, "username").send_keys(account(Role.ADMIN))
    chrome.find_element(By.ID, "password").send_keys("counter-password-1", Keys.ENTER)
    wait.until(seen.url_contains("/console/"))
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
