"""An admin in a real browser: create a clerk's account (its stores found by typing), read its password once, lock
and unlock, on a desktop and a phone."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen

from shop.auth import Role
from tests.browser.test_counter_in_browser import AA_CONTRAST, contrast, log_in
from tests.console.conftest import account, alice, shop  # noqa: F401


def test_an_admin_creates_a_clerk_sees_the_password_once_and_the_page_reads_on_a_phone(
        chrome, screenshot, live_server, shop, account):  # noqa: F811
    account(Role.STAFF, [shop.store_id])
    wait = log_in(chrome, live_server, account(Role.ADMIN), lands="/console/")
    chrome.find_element(By.LINK_TEXT, "Staff").click()
    wait.until(seen.url_contains("/console/staff"))
    for field in ("username", "display_name", "role", "password"):  # every input has its label
        assert chrome.find_element(By.CSS_SELECTOR, f"label[for={field}]").text
    screenshot(chrome, "1-list")

    chrome.find_element(By.ID, "username").send_keys("wang.li")
    chrome.find_element(By.ID, "display_name").send_keys("Wang Li")
    # the stores: typed, suggested while typing (htmx), added; one added by mistake removed again
    chrome.find_element(By.ID, "store").send_keys("Xintiandi")
    wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, f"#store-matches button[value='{shop.other_store_id}']")))
    chrome.find_element(By.CSS_SELECTOR, f"#store-matches button[value='{shop.other_store_id}']").click()
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, f"button[name=remove_store][value='{shop.other_store_id}']")))
    chrome.find_element(By.ID, "store").send_keys("People")
    wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, f"#store-matches button[value='{shop.store_id}']")))
    chrome.find_element(By.CSS_SELECTOR, f"#store-matches button[value='{shop.store_id}']").click()
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, f"button[name=remove_store][value='{shop.store_id}']")))
    screenshot(chrome, "2-stores-chosen")
    chrome.find_element(By.CSS_SELECTOR, f"button[name=remove_store][value='{shop.other_store_id}']").click()
    wait.until(seen.invisibility_of_element_located(
        (By.CSS_SELECTOR, f"button[name=remove_store][value='{shop.other_store_id}']")))
    chosen = [field.get_attribute("value") for field in chrome.find_elements(By.CSS_SELECTOR, "input[name=store_ids]")]
    assert chosen == [str(shop.store_id)]
    assert chrome.find_element(By.ID, "username").get_attribute("value") == "wang.li"  # only the stores swapped
    chrome.find_element(By.CSS_SELECTOR, "#new button.primary").click()
    secret = wait.until(seen.visibility_of_element_located((By.ID, "new-password")))
    assert len(secret.text) >= 12
    done = chrome.find_element(By.CSS_SELECTOR, ".state.done")
    assert "wang.li created" in done.text and contrast(chrome, done) >= AA_CONTRAST
    assert "People's Square" in chrome.find_element(By.CSS_SELECTOR, ".store-choice").text
    screenshot(chrome, "3-created")

    chrome.find_element(By.XPATH, "//button[normalize-space()='Disable']").click()
    wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".state.done"), "disabled"))
    assert not chrome.find_elements(By.ID, "new-password")  # the password was shown once
    screenshot(chrome, "4-disabled")

    chrome.set_window_size(390, 844)  # a phone
    chrome.get(f"{live_server}/console/staff?lang=zh_CN")
    assert chrome.find_element(By.TAG_NAME, "h1").text == "员工账号"
    width = chrome.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, "the staff page must not scroll sideways on a phone"
    screenshot(chrome, "5-phone-chinese")
    chrome.find_element(By.ID, "store").send_keys("SH")  # both stores' codes start so: two suggestions
    wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "#store-matches li + li")))
    chrome.execute_script("document.querySelector('.store-choice').scrollIntoView()")
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= 390
    screenshot(chrome, "6-phone-store-search")
