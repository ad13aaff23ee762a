"""An admin runs staff accounts at /console/staff: the same services as the API, audited as the console's."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.staff.models import StaffAccount, StaffAudit
from tests.conftest import STAFF_PASSWORD
from tests.console.conftest import text_of

NEW_PASSWORD = re.compile(r'<code id="new-password">([^<]+)</code>')


def account_of(app, username: str) -> StaffAccount:
    with app.app_context():
        found = db.session.scalar(select(StaffAccount).where(StaffAccount.username == username))
        found.store_ids  # noqa: B018 (loaded while the session is open)
        return found


def test_the_list_shows_each_accounts_role_stores_and_state(app, admin, account, shop):
    clerk = account(Role.STAFF, [shop.store_id])
    page = text_of(admin.get("/console/staff?lang=en"))
    row = page[page.index(clerk):page.index("</tr>", page.index(clerk))]
    assert "Clerk" in row and "People's Square" in row and "Active" in row


def test_an_admin_creates_a_clerk_and_sees_the_generated_password_once(app, admin, shop, browser):
    created = admin.post("/console/staff?lang=en", {"username": "new.clerk", "display_name": "Wang",
                                                    "role": "staff", "store_ids": [shop.store_id]})
    assert created.status_code == 201 and "Account new.clerk created" in text_of(created)
    assert created.headers["Cache-Control"] == "no-store"
    password = NEW_PASSWORD.search(created.get_data(as_text=True)).group(1)
    account = account_of(app, "new.clerk")
    assert account.role == "staff" and account.store_ids == [shop.store_id] and account.must_change_password
    shown_again = admin.get(f"/console/staff/{account.id}?lang=en")
    assert password not in shown_again.get_data(as_text=True)
    clerk = browser()
    assert clerk.login("new.clerk", password).status_code == 302
    assert clerk.get("/console/counter").location.endswith("/console/password")  # their own password first
    with app.app_context():
        audit = db.session.scalar(select(StaffAudit).where(StaffAudit.staff_id == account.id))
        assert audit.action == "created" and audit.via == "console" and audit.actor_id is not None


def test_a_taken_username_or_a_bad_one_is_refused_and_creates_nothing(app, admin, account):
    taken = account(Role.MARKETING)
    refused = admin.post("/console/staff?lang=en", {"username": taken, "role": "staff"})
    assert refused.status_code == 409 and "taken" in text_of(refused)
    refused = admin.post("/console/staff?lang=en", {"username": "has space", "role": "staff"})
    assert refused.status_code == 422 and "Check the fields" in text_of(refused)
    weak = admin.post("/console/staff?lang=en", {"username": "weak.one", "role": "staff", "password": "password"})
    assert weak.status_code == 422 and "stronger password" in text_of(weak)
    with app.app_context():
        assert db.session.scalar(select(StaffAccount).where(StaffAccount.username.in_(["weak.one"]))) is None


def test_an_admin_changes_a_role_and_stores_and_the_accounts_session_ends(app, admin, account, shop, browser):
    username = account(Role.STAFF, [shop.store_id])
    clerk = browser()
    clerk.login(username)
    assert clerk.get("/console/counter").status_code == 200
    staff_id = account_of(app, username).id
    changed = admin.post(f"/console/staff/{staff_id}/change?lang=en",
                         {"role": "marketing", "store_ids": [shop.other_store_id]})
    assert changed.status_code == 200 and "saved" in text_of(changed)
    after = account_of(app, username)
    assert after.role == "marketing" and after.store_ids == [shop.other_store_id]
    assert clerk.get("/console/counter").status_code == 302  # a role change ends its sessions


def test_an_admin_disables_and_enables_an_account(app, admin, account, browser):
    username = account(Role.MARKETING)
    other = browser()
    other.login(username)
    staff_id = account_of(app, username).id
    disabled = admin.post(f"/console/staff/{staff_id}/disable?lang=en")
    assert disabled.status_code == 200 and "Disabled" in text_of(disabled)
    assert account_of(app, username).active is False
    assert other.get("/console/").status_code == 302
    assert other.login(username).status_code == 401
    enabled = admin.post(f"/console/staff/{staff_id}/enable?lang=en")
    assert enabled.status_code == 200 and account_of(app, username).active is True


def test_the_last_admin_cannot_disable_themself(app, admin):
    with app.app_context():
        only_admin = db.session.scalar(select(StaffAccount.id).where(StaffAccount.role == "admin"))
    refused = admin.post(f"/console/staff/{only_admin}/disable?lang=en")
    assert refused.status_code == 409 and "last active admin" in text_of(refused)
    assert account_of(app, account_of_id(app, only_admin)).active is True


def account_of_id(app, staff_id: int) -> str:
    with app.app_context():
        return db.session.get(StaffAccount, staff_id).username


def test_a_password_reset_shows_a_new_password_once_and_lifts_the_lock(app, admin, account, browser):
    username = account(Role.STAFF)
    locked_out = browser()
    for _ in range(5):
        locked_out.login(username, "wrong-password")
    staff_id = account_of(app, username).id
    listing = text_of(admin.get("/console/staff?lang=en"))
    assert "Locked until" in listing
    reset = admin.post(f"/console/staff/{staff_id}/password-reset?lang=en")
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    password = NEW_PASSWORD.search(reset.get_data(as_text=True)).group(1)
    owner = browser()
    assert owner.login(username, password).status_code == 302
    assert owner.get("/console/counter").location.endswith("/console/password")
    assert browser().login(username, STAFF_PASSWORD).status_code == 401


def test_an_admin_unlocks_a_locked_account(app, admin, account, browser):
    username = account(Role.STAFF)
    for _ in range(5):
        browser().login(username, "wrong-password")
    staff_id = account_of(app, username).id
    assert account_of(app, username).locked_until > utcnow()
    unlocked = admin.post(f"/console/staff/{staff_id}/unlock?lang=en")
    assert unlocked.status_code == 200 and "unlocked" in text_of(unlocked)
    assert account_of(app, username).locked_until is None
    assert browser().login(username).status_code == 302


@pytest.mark.parametrize("role", [Role.STAFF, Role.MARKETING])
def test_clerks_and_marketing_may_neither_see_nor_change_staff_accounts(app, browser, account, shop, role):
    victim = account(Role.STAFF, [shop.store_id])
    staff_id = account_of(app, victim).id
    user = browser()
    user.login(account(role, [shop.store_id] if role is Role.STAFF else None))
    user.get("/console/", follow_redirects=True)  # their own page: its CSRF token, so only the role refuses
    assert user.get("/console/staff").status_code == 403
    assert user.get(f"/console/staff/{staff_id}").status_code == 403
    for action in ("disable", "password-reset", "unlock"):
        assert user.post(f"/console/staff/{staff_id}/{action}").status_code == 403
    assert user.post("/console/staff", {"username": "sneaky", "role": "admin"}).status_code == 403
    assert account_of(app, victim).active is True


def test_without_a_session_the_staff_page_asks_for_a_login(browser):
    response = browser().get("/console/staff")
    assert response.status_code == 302 and "/console/login" in response.location


def test_an_action_without_its_csrf_token_is_refused(app, admin, account):
    username = account(Role.STAFF)
    staff_id = account_of(app, username).id
    refused = admin.post(f"/console/staff/{staff_id}/disable?lang=en", csrf=False)
    assert refused.status_code == 400 and "expired" in text_of(refused)
    assert account_of(app, username).active is True
    assert admin.post("/console/staff", {"username": "x.y.z", "role": "staff"}, csrf=False).status_code == 400


def test_an_unknown_account_is_a_404(admin):
    assert admin.get("/console/staff/999999?lang=en").status_code == 404
    assert admin.post("/console/staff/999999/unlock?lang=en").status_code == 404


def test_the_staff_page_reads_in_chinese(admin):
    page = text_of(admin.get("/console/staff?lang=zh_CN"))
    assert "员工账号" in page and "新建账号" in page
