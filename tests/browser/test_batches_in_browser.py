"""Marketing in a real browser: a draft with a wrong field shown in place, fixed with the coupon previewed, saved,
activated, issued to a list of members with the progress bar reaching the end; a batch's charts drawn; the pages
on a phone and in Chinese."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import update

from coupons.models import CouponIssueJob
from shop.auth import Role
from shop.extensions import db
from tests.browser.test_counter_in_browser import AA_CONTRAST, contrast
from tests.console.conftest import account, active_batch, alice, in_store_coupon, marketing, shop  # noqa: F401

WAIT_SECONDS = 10


def bar_now(chrome) -> list:
    """The progress bar's value, its end and the job's state, read in one go (htmx swaps the bar as it polls)."""
    return chrome.execute_script("const bar = document.getElementById('job-bar');"
                                 "return [bar.value, bar.max, document.getElementById('job-progress').dataset.status];")


def test_marketing_drafts_a_batch_sees_its_errors_and_preview_activates_it_issues_it_and_reads_the_charts(
        chrome, screenshot, live_server, shop, in_store_coupon, account, login, app):  # noqa: F811
    claimed = in_store_coupon(name="Autumn latte", scope_store_ids=[shop.store_id])
    members = [login(f"regular{n}:1")["member"]["id"] for n in range(3)]
    wait = WebDriverWait(chrome, WAIT_SECONDS)
    chrome.get(f"{live_server}/console/login?lang=en")
    chrome.find_element(By.ID, "username").send_keys(account(Role.MARKETING))
    chrome.find_element(By.ID, "password").send_keys("counter-password-1\n")
    wait.until(seen.url_matches(r"/console/$"))

    chrome.find_element(By.LINK_TEXT, "Coupon batches").click()
    assert "Autumn latte" in wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "table.batches"))).text
    screenshot(chrome, "1-list")

    chrome.find_element(By.LINK_TEXT, "New batch").click()
    chrome.find_element(By.ID, "name").send_keys("Spend 50 save 10")
    chrome.find_element(By.CSS_SELECTOR, "#kind option[value=threshold]").click()
    assert chrome.find_element(By.CSS_SELECTOR, "label[for=term_amount_off]").is_displayed()
    assert not chrome.find_element(By.CSS_SELECTOR, "label[for=term_percent]").is_displayed()  # another kind's
    chrome.find_element(By.ID, "term_amount_off").send_keys("10")
    chrome.find_element(By.ID, "min_spend").send_keys("5")  # below the amount off: the API refuses it
    chrome.find_element(By.ID, "valid_days").send_keys("7")
    chrome.find_element(By.ID, "total").send_keys("100")
    chrome.find_element(By.CSS_SELECTOR, "#channel option[value=targeted]").click()
    chrome.find_element(By.CSS_SELECTOR, "#batch-form button[type=submit]").click()
    error = wait.until(seen.visibility_of_element_located((By.ID, "amount_off-error")))
    assert "cannot save more than the spend" in error.text
    assert contrast(chrome, error) >= AA_CONTRAST
    assert chrome.find_element(By.ID, "term_amount_off").get_attribute("aria-invalid") == "true"
    chrome.execute_script("arguments[0].scrollIntoView({block: 'center'})", error)
    screenshot(chrome, "2-field-error")

    spend = chrome.find_element(By.ID, "min_spend")
    spend.clear()
    spend.send_keys("50")
    wait.until(seen.text_to_be_present_in_element((By.ID, "preview"), "Spend ¥50 save ¥10"))
    chrome.execute_script("document.getElementById('preview').scrollIntoView({block: 'center'})")
    screenshot(chrome, "3-preview")
    chrome.find_element(By.CSS_SELECTOR, "#batch-form button[type=submit]").click()
    wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, "button[data-action=activate]"))).click()
    done = wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, ".state.done")))
    assert "Activated" in done.text and chrome.find_element(By.CSS_SELECTOR, ".badge").text == "Active"
    screenshot(chrome, "4-activated")

    ids = chrome.find_element(By.ID, "member_ids")  # issued to a list: the bar reaches the end
    ids.send_keys(", ".join(map(str, members)))
    chrome.execute_script("document.getElementById('issue').scrollIntoView({block: 'start'})")
    screenshot(chrome, "5-issue")
    chrome.find_element(By.CSS_SELECTOR, "#to-members button[type=submit]").click()
    bar = wait.until(seen.visibility_of_element_located((By.ID, "job-bar")))
    wait.until(lambda _: bar.get_attribute("value") == bar.get_attribute("max") == "3")
    progress = chrome.find_element(By.ID, "job-progress")
    assert progress.get_attribute("data-status") == "finished" and "issued 3" in progress.text
    assert contrast(chrome, progress.find_element(By.CSS_SELECTOR, ".badge")) >= AA_CONTRAST
    screenshot(chrome, "5-issued-to-the-end")
    job_id = chrome.current_url.rsplit("/", 1)[-1]
    with app.app_context():  # as a worker on another machine reports a job halfway: the open page follows it
        db.session.execute(update(CouponIssueJob).where(CouponIssueJob.id == job_id)
                           .values(status="running", processed=1, requested=4))
        db.session.commit()
    chrome.refresh()
    wait.until(lambda _: bar_now(chrome) == [1, 4, "running"])
    with app.app_context():
        db.session.execute(update(CouponIssueJob).where(CouponIssueJob.id == job_id)
                           .values(status="finished", processed=4))
        db.session.commit()
    wait.until(lambda _: bar_now(chrome) == [4, 4, "finished"])  # moved without a reload

    chrome.get(f"{live_server}/console/batches/{claimed.batch_id}")
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "#chart-days svg")))
    assert "No coupon used yet." in chrome.find_element(By.ID, "where-title").find_element(By.XPATH, "..").text
    chrome.execute_script("document.getElementById('chart-days').scrollIntoView({block: 'start'})")
    screenshot(chrome, "6-charts")

    chrome.set_window_size(390, 844)  # a phone
    chrome.get(f"{live_server}/console/batches/{claimed.batch_id}?lang=zh_CN")
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "#chart-days svg")))
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= 390
    assert "每日领取和使用" in chrome.find_element(By.ID, "days-title").text
    chrome.execute_script("document.getElementById('chart-days').scrollIntoView({block: 'start'})")
    screenshot(chrome, "7-phone-chinese")
    chrome.get(f"{live_server}/console/batches")
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= 390
    screenshot(chrome, "8-phone-list")
