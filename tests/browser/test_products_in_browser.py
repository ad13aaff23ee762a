"""An admin in a real browser: a product with its SKU made from the form, on a desktop and a phone."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from shop.auth import Role
from tests.browser.test_counter_in_browser import WAIT_SECONDS
from tests.console.conftest import account, shop  # noqa: F401


def test_an_admin_creates_a_product_in_yuan_and_the_form_reads_on_a_phone(
        chrome, screenshot, live_server, shop, account):  # noqa: F811
    wait = WebDriverWait(chrome, WAIT_SECONDS)
    chrome.get(f"{live_server}/console/login?lang=en")
    chrome.find_element(By.ID, "username").send_keys(account(Role.ADMIN))
    chrome.find_element(By.ID, "password").send_keys("counter-password-1", Keys.ENTER)
    wait.until(seen.url_contains("/console/"))
    chrome.get(f"{live_server}/console/products/new?lang=en")
    for field in ("title", "category_id", "sku-0-spec", "sku-0-price", "sku-0-stock"):  # every input has its label
        assert chrome.find_element(By.CSS_SELECTOR, f"label[for={field}]").text
    chrome.find_element(By.ID, "title").send_keys("Mocha")
    chrome.find_element(By.CSS_SELECTOR, "#category_id option:nth-child(2)").click()
    chrome.find_element(By.ID, "sku-0-price").send_keys("32.5")
    chrome.find_element(By.ID, "sku-1-price").send_keys("oops")
    chrome.find_element(By.CSS_SELECTOR, "form button[type=submit].primary").click()
    wait.until(seen.visibility_of_element_located((By.ID, "sku-1-price-error")))
    assert "Check the fields marked below." in chrome.find_element(By.CSS_SELECTOR, ".state.refused").text
    screenshot(chrome, "1-refused-in-place")
    chrome.find_element(By.ID, "sku-1-price").clear()
    chrome.find_element(By.CSS_SELECTOR, "form button[type=submit].primary").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".state.done"), "Product created."))
    assert "¥32.50" in chrome.find_element(By.TAG_NAME, "main").text
    screenshot(chrome, "2-created")

    chrome.set_window_size(390, 844)  # a phone
    chrome.get(f"{live_server}/console/products/new?lang=zh_CN")
    assert chrome.find_element(By.TAG_NAME, "h1").text == "新建商品"
    width = chrome.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, "the product form must not scroll sideways on a phone"
    screenshot(chrome, "3-phone-chinese")
