"""A store's till: the orders tests' shop and clerk, a shopper with a member code, and sales recorded with it."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from shop.database import utcnow
from shop.till import member_code
from tests.coupons import checkout_fixtures
from tests.orders import conftest as orders_fixtures

shop, alice, alice_id, clerk = (orders_fixtures.shop, orders_fixtures.alice, checkout_fixtures.alice_id,
                                orders_fixtures.clerk)


def code_of(app, member_id: int, at: datetime | None = None) -> str:
    """The member code the member's screen shows at ``at`` (now by default)."""
    with app.app_context():
        return member_code.shown_code(member_id, at or utcnow()).code


def sell(client, clerk_headers: dict, member_code_: str, amount: int = 5000, **extra):
    """POST /staff/sales with a new receipt number unless one is given; the response."""
    body = {"member_code": member_code_, "receipt_no": extra.pop("receipt_no", f"R-{uuid.uuid4().hex[:12]}"),
            "amount": amount, **extra}
    return client.post("/api/v1/staff/sales", json=body, headers=clerk_headers)


def points_of(client, shopper: dict) -> int:
    return client.get("/api/v1/me/points", headers=shopper).get_json()["balance"]


@pytest.fixture
def shown(app, alice_id):
    """Alice's member code now."""
    return lambda: code_of(app, alice_id)
