"""Staff log in to the console with the API's account check, lockout and limit; sessions end when they should."""

from __future__ import annotations

from shop.auth import Role
from shop.config import load_config
from shop.extensions import db
from tests.console.conftest import ConsoleUser, text_of
from tests.test_config_and_health import PRODUCTION_ENV


def test_a_clerk_logs_in_and_lands_at_the_counter_with_a_guarded_cookie(browser, account, shop):
    user = browser()
    response = user.login(account(Role.STAFF, [shop.store_id]))
    assert response.status_code == 302 and response.location.endswith("/console/counter")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert user.get("/console/counter").status_code == 200


def test_the_session_cookie_is_https_only_in_production_and_where_set():
    assert load_config(environ=PRODUCTION_ENV)["SESSION_COOKIE_SECURE"] is True
    assert load_config(environ={})["SESSION_COOKIE_SECURE"] is False
    assert load_config(environ={"CONSOLE_COOKIE_SECURE": "true"})["SESSION_COOKIE_SECURE"] is True


def test_marketing_and_admins_land_on_the_start_page(browser, account):
    for role in (Role.MARKETING, Role.ADMIN):
        user = browser()
        response = user.login(account(role))
        assert response.status_code == 302 and response.location.endswith("/console/")
        assert user.get("/console/").status_code == 200


def test_a_wrong_password_is_refused_and_the_account_locks_as_in_the_api(client, browser, account):
    username, user = account(Role.STAFF), browser()
    user.get("/console/login?lang=en")
    refusals = [user.login(username, "not-the-password") for _ in range(5)]
    assert [r.status_code for r in refusals] == [401, 401, 401, 401, 429]  # the fifth locks the account
    assert "Wrong username or password" in text_of(refusals[0])
    locked = user.login(username)  # the right password, too late
    assert locked.status_code == 429 and "locked" in text_of(locked)
    assert user.get("/console/counter").status_code == 302
    api = client.post("/api/v1/auth/staff-login", json={"username": username, "password": "counter-password-1"})
    assert api.status_code == 429 and api.get_json()["code"] == "staff_login_locked"


def test_logins_are_limited_per_address_together_with_the_apis(make_app, account):
    username = account(Role.STAFF)
    limited = make_app(RATE_LIMIT_STAFF_LOGIN_PER_ADDRESS="3 per minute")
    user = ConsoleUser(limited.test_client())
    assert [user.login(username, "wrong-password").status_code for _ in range(2)] == [401, 401]
    api = limited.test_client()
    assert api.post("/api/v1/auth/staff-login", json={"username": username, "password": "x"}).status_code == 401
    assert user.login(username, "wrong-password").status_code == 429  # the API's attempt counted too
    assert api.post("/api/v1/auth/staff-login", json={"username": username, "password": "x"}).status_code == 429


def test_a_login_form_without_its_csrf_token_is_refused(browser, account, client):
    username, user = account(Role.STAFF), browser()
    user.get("/console/login")
    refused = user.post("/console/login", {"username": username, "password": "counter-password-1"}, csrf=False)
    assert refused.status_code == 400
    assert user.get("/console/counter").status_code == 302  # still not logged in
    # The JSON API takes no CSRF token: bearer tokens, no cookies.
    api = client.post("/api/v1/auth/staff-login", json={"username": username, "password": "counter-password-1"})
    assert api.status_code == 200


def test_logout_is_a_post_with_the_token(clerk_at_counter):
    user = clerk_at_counter
    assert user.client.get("/console/logout").status_code == 405
    user.post("/console/logout", csrf=False)
    assert user.get("/console/counter").status_code == 200  # another site's post logs nobody out
    assert user.post("/console/logout").status_code == 302
    assert user.get("/console/counter").status_code == 302


def test_a_session_left_idle_ends(clerk_at_counter, app):
    user = clerk_at_counter
    with user.client.session_transaction() as session:
        session["seen"] -= app.config["CONSOLE_IDLE_MINUTES"] * 60 + 1
    response = user.get("/console/counter")
    assert response.status_code == 302 and "/console/login" in response.location
    assert "away for a while" in text_of(user.get(response.location + "&lang=en"))


def test_a_disabled_account_is_logged_out_at_its_next_page(clerk_at_counter, app, staff_token, client):
    from shop.extensions import db
    from shop.staff.models import StaffAccount

    with app.app_context():
        for account in db.session.scalars(db.select(StaffAccount).where(StaffAccount.username.like("console-%"))):
            account.active = False
            account.token_version += 1
        db.session.commit()
    assert clerk_at_counter.get("/console/counter").status_code == 302


def test_chinese_first_english_on_request_and_remembered(browser):
    user = browser()
    assert "<h1>登录</h1>" in text_of(user.get("/console/login"))
    assert "<h1>Log in</h1>" in text_of(user.get("/console/login", headers={"Accept-Language": "en-US,en;q=0.9"}))
    switched = user.get("/console/login?lang=en")
    assert "console_lang=en" in switched.headers["Set-Cookie"]
    assert "<h1>Log in</h1>" in text_of(user.get("/console/login"))
    assert "<h1>登录</h1>" in text_of(user.get("/console/login?lang=zh_CN"))


def test_an_account_whose_password_an_admin_set_chooses_its_own_first(app, browser, account, shop):
    from shop.staff import service as staff
    from shop.staff.models import StaffAccount

    username = account(Role.STAFF, [shop.store_id])
    with app.app_context():
        staff_id = db.session.scalar(db.select(StaffAccount.id).where(StaffAccount.username == username))
        staff.reset_password(staff_id, "Admin-Set-Password-9", staff.SYSTEM)
        db.session.commit()
    user = browser()
    assert user.login(username, "Admin-Set-Password-9").status_code == 302
    redirected = user.get("/console/counter")
    assert redirected.status_code == 302 and redirected.location.endswith("/console/password")
    user.get("/console/password?lang=en")
    weak = user.post("/console/password", {"current_password": "Admin-Set-Password-9", "new_password": "short"})
    assert weak.status_code == 422
    changed = user.post("/console/password", {"current_password": "Admin-Set-Password-9",
                                              "new_password": "Brand-New-Counter-Pass-7"})
    assert changed.status_code == 302 and changed.location.endswith("/console/counter")
    assert user.get("/console/counter").status_code == 200
    assert browser().login(username, "Brand-New-Counter-Pass-7").status_code == 302
