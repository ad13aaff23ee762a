"""Redis comes back empty: the unpaid-order limit and a used coupon code still hold, as the database keeps both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import update

from coupons.models import CouponRedemption
from shop.auth import Role
from shop.extensions import db
from tests.coupons.conftest import active_batch, in_store_coupon, marketing, stores  # noqa: F401 - fixtures
from tests.orders.conftest import alice, shop  # noqa: F401 - fixtures


def test_a_redis_restarted_empty_forgets_no_unpaid_order_and_no_used_code(
        target, shop, alice, in_store_coupon, stores, staff_token, client):  # noqa: F811
    def place() -> requests.Response:
        return requests.post(f"{target.base_url}/api/v1/orders", timeout=30, headers={
            **alice, "Idempotency-Key": uuid.uuid4().hex}, json={
            "items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "pickup", "store_id": shop.store_id})

    assert [place().status_code for _ in range(3)] == [201] * 3
    coupon = in_store_coupon(shopper="bob:1")
    clerk = staff_token(Role.STAFF, store_ids=[stores[0]])
    shown = client.get(f"/api/v1/me/coupons/{coupon.id}/code", headers=coupon.shopper).get_json()["code"]
    redeemed = requests.post(f"{target.base_url}/api/v1/staff/redemptions", json={"code": shown}, headers=clerk,
                             timeout=30)
    assert redeemed.status_code == 201, redeemed.json()

    target.redis.restart_empty()
    with target.app.app_context():  # the clerk scans it again a minute later
        db.session.execute(update(CouponRedemption).values(redeemed_at=datetime.now(UTC) - timedelta(minutes=1)))
        db.session.commit()

    fourth = place()
    assert fourth.status_code == 409 and fourth.json()["code"] == "too_many_unpaid_orders"
    again = requests.post(f"{target.base_url}/api/v1/staff/redemptions", json={"code": shown}, headers=clerk,
                          timeout=30)
    assert again.status_code == 409 and again.json()["code"] == "coupon_used"
    assert again.json()["details"]["redemption_id"] == redeemed.json()["id"]
