"""An admin in a real browser: a product with its SKU made from the form, on a desktop and a phone."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen

from shop.auth import Role
from tests.browser.test_counter_in_browser import log_in
from tests.console.conftest import account, shop  # noqa: F401


def test_an_admin_creates_a_product_in_yuan_and_the_form_reads_on_a_phone(
        chrome, screenshot, live_server, shop, account):  # noqa: F811
    wait = log_in(chrome, live_server, account(Role.ADMIN), lands="/console/")
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


def test_an_admin_arranges_a_products_images_enter_saves_and_the_pages_read_on_a_phone(
        chrome, screenshot, live_server, shop, account):  # noqa: F811
    wait = log_in(chrome, live_server, account(Role.ADMIN), lands="/console/")
    chrome.get(f"{live_server}/console/products?lang=en")
    chrome.find_element(By.LINK_TEXT, "Latte").click()
    chrome.find_element(By.PARTIAL_LINK_TEXT, "Edit the product").click()
    for url in ("https://img.example.cn/a.png", "https://img.example.cn/b.png"):
        chrome.find_element(By.ID, "image-new").send_keys(url)
        chrome.find_element(By.CSS_SELECTOR, "button[name=image_action][value=add]").click()
        wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".state.waiting"), "not saved yet"))
    before = chrome.find_element(By.ID, "image-1")
    chrome.find_element(By.CSS_SELECTOR, "button[name=image_action][value='up-2']").click()
    wait.until(seen.staleness_of(before))
    assert [chrome.find_element(By.ID, f"image-{row}").get_attribute("value").rsplit("/", 1)[1]
            for row in range(3)] == ["p.png", "b.png", "a.png"]
    assert chrome.execute_script("return window.scrollY") > 0  # back at the images, not the top of the page
    screenshot(chrome, "4-images-arranged")
    chrome.find_element(By.ID, "title").send_keys(" grande", Keys.ENTER)  # Enter saves, moving no image
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".state.done"), "Product saved."))
    assert chrome.find_element(By.TAG_NAME, "h1").text.startswith("Latte grande")
    cover = chrome.find_element(By.CSS_SELECTOR, "img.cover").get_attribute("src")
    assert cover == "https://img.example.cn/p.png"  # the factory's first image stays the cover
    product_page = chrome.current_url.split("#")[0]

    chrome.set_window_size(390, 844)  # a phone
    edit_page = product_page.split("?")[0] + "/edit?lang=zh_CN"
    ledger_link = chrome.find_element(By.PARTIAL_LINK_TEXT, "whole stock ledger").get_attribute("href")
    for page in (edit_page, ledger_link, f"{live_server}/console/categories", f"{live_server}/console/products"):
        chrome.get(page)
        width = chrome.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"{page} must not scroll sideways on a phone"
    chrome.get(edit_page)
    chrome.execute_script("document.getElementById('images').scrollIntoView()")
    screenshot(chrome, "5-images-on-a-phone")
