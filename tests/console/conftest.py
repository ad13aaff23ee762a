"""The console through Flask's test client: accounts of each role, a browser-like session with CSRF tokens."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pytest

from shop.auth import Role
from shop.extensions import db
from shop.staff.service import create_staff
from tests.conftest import STAFF_PASSWORD
from tests.coupons import checkout_fixtures
from tests.coupons import conftest as coupon_fixtures
from tests.orders import conftest as orders_fixtures

shop, alice, alice_id = orders_fixtures.shop, orders_fixtures.alice, checkout_fixtures.alice_id
marketing, active_batch, in_store_coupon = (coupon_fixtures.marketing, coupon_fixtures.active_batch,
                                            coupon_fixtures.in_store_coupon)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class ConsoleUser:
    """A browser on the console: a test client keeping its cookies, and the CSRF token of the last page."""

    client: object
    token: str = ""
    pages: list = field(default_factory=list)

    def get(self, path: str, **kwargs):
        response = self.client.get(path, **kwargs)
        self._keep_token(response)
        return response

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, htmx: bool = False, **kwargs):
        """Post a form as the page would (with its CSRF token unless ``csrf=False``; as htmx if ``htmx``)."""
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf_token", self.token)
        headers = {"HX-Request": "true"} if htmx else {}
        response = self.client.post(path, data=body, headers=headers, **kwargs)
        self._keep_token(response)
        return response

    def login(self, username: str, password: str = STAFF_PASSWORD):
        self.get("/console/login")
        return self.post("/console/login", {"username": username, "password": password})

    def _keep_token(self, response) -> None:
        found = CSRF.search(response.get_data(as_text=True))
        if found:
            self.token = found.group(1)


@pytest.fixture
def account(app):
    """Create a console account of a role (stores for a clerk); returns its username."""
    numbers = iter(range(1, 1000))

    def make(role: Role, store_ids: list[int] | None = None) -> str:
        username = f"console-{role.value}-{next(numbers)}"
        with app.app_context():
            create_staff(username=username, password=STAFF_PASSWORD, role=role, store_ids=store_ids)
            db.session.commit()
        return username

    return make


@pytest.fixture
def browser(app):
    """A fresh console browser (its own cookies)."""
    return lambda: ConsoleUser(app.test_client())


@pytest.fixture
def admin(browser, account):
    """An admin logged in to the console, reading it in English (remembered from ``?lang=en``)."""
    user = browser()
    assert user.login(account(Role.ADMIN)).status_code == 302
    assert user.get("/console/staff?lang=en").status_code == 200
    return user


@pytest.fixture
def clerk_at_counter(browser, account, shop):
    """A clerk of the shop's store, logged in to the console."""
    user = browser()
    assert user.login(account(Role.STAFF, [shop.store_id])).status_code == 302
    user.get("/console/counter")
    return user


def text_of(response) -> str:
    """The page's text with HTML entities read (``&#39;`` as ``'``)."""
    return html.unescape(response.get_data(as_text=True))
