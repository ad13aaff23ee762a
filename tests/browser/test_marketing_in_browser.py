"""Marketing's pages in a real browser, on a desktop and on a phone: a segment's count following the rule as it
is typed, a tag job's bar reaching its end, each report with its range and its chart, nothing wider than the
screen. Screenshots of every page at both sizes go to tests/browser/screens/."""

from __future__ import annotations

from datetime import timedelta

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from crm.rollups.service import business_day, rebuild
from crm.tags.models import Tag
from referral.tree.service import bind, ensure_node
from shop.auth import Role
from shop.extensions import db
from tests.console.conftest import account, alice, shop  # noqa: F401
from tests.crm.conftest import NOW, make_member, paid_order, share
from tests.crm.test_members import _people

WAIT_SECONDS = 10
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def _marketing_data() -> dict:
    found = _people()
    friend = make_member("Friend", joined=NOW - timedelta(days=1))
    for member in (found["alice"], friend):
        ensure_node(member)
    bind(friend, found["alice"], share_id=share(found["alice"]), now=NOW - timedelta(hours=3))
    paid_order(friend, 4200, paid_at=NOW - timedelta(hours=2))
    found["vip"] = db.session.query(Tag.id).filter_by(name="vip").scalar()
    return found


def test_marketing_pages_read_well_on_a_desktop_and_a_phone(chrome, screenshot, live_server, committed, app,
                                                            shop, account):  # noqa: F811
    found = committed(_marketing_data)
    today = business_day(NOW)
    with app.app_context():
        rebuild(today - timedelta(days=29), today, NOW)
    wait = WebDriverWait(chrome, WAIT_SECONDS)
    chrome.get(f"{live_server}/console/login?lang=en")
    chrome.find_element(By.ID, "username").send_keys(account(Role.MARKETING))
    chrome.find_element(By.ID, "password").send_keys("counter-password-1\n")
    wait.until(seen.url_matches(r"/console/$"))

    chrome.find_element(By.LINK_TEXT, "Segments").click()
    chrome.find_element(By.LINK_TEXT, "New segment").click()
    chrome.find_element(By.CSS_SELECTOR, "#field_0 option[value=spend_fen]").click()
    chrome.find_element(By.CSS_SELECTOR, "#op_0 option[value='>=']").click()
    chrome.find_element(By.ID, "value_0").send_keys("40")
    wait.until(seen.text_to_be_present_in_element((By.ID, "preview-count"), "1"))
    chrome.find_element(By.CSS_SELECTOR, "#op_0 option[value='<']").click()  # the count follows the rule
    wait.until(seen.text_to_be_present_in_element((By.ID, "preview-count"), "3"))
    chrome.find_element(By.ID, "name").send_keys("Spent under 40")
    chrome.execute_script("document.getElementById('preview').scrollIntoView({block: 'center'})")
    screenshot(chrome, "desktop-segment-builder")
    chrome.find_element(By.CSS_SELECTOR, "#segment-form button[type=submit]").click()
    assert "Segment saved." in wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, ".state.done"))).text

    chrome.get(f"{live_server}/console/tags/{found['vip']}")
    chrome.find_element(By.ID, "member_ids").send_keys(f"{found['parent']}, 987654")
    chrome.find_element(By.CSS_SELECTOR, "#tag-job button[type=submit]").click()
    assert "1 members changed" in wait.until(seen.visibility_of_element_located((By.ID, "job-finished"))).text
    assert chrome.find_element(By.ID, "job-bar").get_attribute("value") == "2"
    screenshot(chrome, "desktop-tag-job")

    pages = {"segments": "/console/segments", "tags": "/console/tags",
             "members": "/console/members?q=Alice", "member": f"/console/members/{found['alice']}",
             "funnel": "/console/funnel", "campaigns": "/console/campaigns", "o2o": "/console/o2o",
             "store": f"/console/o2o/stores/{shop.store_id}", "referral": "/console/referral",
             "subtree": f"/console/referral/members/{found['alice']}"}
    charted = {"funnel": "chart-funnel", "o2o": "chart-stores", "referral": "chart-ripple"}
    for size, (width, height) in SIZES.items():
        chrome.set_window_size(width, height)
        for name, path in pages.items():
            chrome.get(f"{live_server}{path}")
            if name in charted:
                wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, f"#{charted[name]} svg")))
                if size == "phone":  # the chart is what a phone shows below the range
                    chrome.execute_script(f"document.getElementById('{charted[name]}-title').scrollIntoView()")
            assert chrome.execute_script("return document.documentElement.scrollWidth") <= width, (size, name)
            screenshot(chrome, f"{size}-{name}")
    chrome.get(f"{live_server}/console/funnel?lang=zh_CN")
    assert "会员漏斗" in chrome.find_element(By.TAG_NAME, "h1").text
    screenshot(chrome, "phone-funnel-chinese")
