"""Coupons for checkout tests: the orders tests' shop and shopper, and coupons made straight in the database."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from coupons.models import Coupon, CouponBatch
from shop.catalog.models import Product, Sku
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order
from tests.orders import conftest as orders_fixtures
from tests.orders.conftest import Shop

shop, alice = orders_fixtures.shop, orders_fixtures.alice  # fixtures, for the modules that import them
_sequence = itertools.count(1)
ADDRESS = {"name": "Alice", "phone": "13800000000", "region": "Shanghai Huangpu", "detail": "1 Nanjing Road"}


@pytest.fixture
def alice_id(client, alice) -> int:
    return client.get("/api/v1/me", headers=alice).get_json()["id"]


def give_coupon(app, member_id: int, *, status: str = "available", expires_in: timedelta = timedelta(days=7),
                starts_in: timedelta = -timedelta(hours=1), **batch) -> int:
    """A coupon of a new active batch (10 yuan off, online or in store, by default) held by the member."""
    fields = {"name": "10 yuan off", "kind": "amount_off", "amount_off": 1000, "min_spend": 0, "valid_days": 7,
              "total": 100, "per_member_limit": 10, "status": "active", "channel": "public", "usage": "both",
              **batch}
    with app.app_context():
        now = utcnow()
        batch_row = CouponBatch(**fields)
        db.session.add(batch_row)
        db.session.flush()
        coupon = Coupon(batch_id=batch_row.id, member_id=member_id, sequence=next(_sequence), issue_number=1,
                        claim_day=now.date(), status=status,
                        valid_from=now + starts_in, expires_at=now + expires_in, claimed_at=now)
        db.session.add(coupon)
        db.session.commit()
        return coupon.id


def coupon_state(app, coupon_id: int) -> dict:
    with app.app_context():
        coupon = db.session.get(Coupon, coupon_id)
        return {"status": coupon.status, "order_id": coupon.order_id, "used_in": coupon.used_in,
                "used_at": coupon.used_at, "discount_amount": coupon.discount_amount,
                "locked_at": coupon.locked_at}


def product_and_category(app, sku_id: int) -> tuple[int, int]:
    with app.app_context():
        product = db.session.scalar(select(Product).join(Sku, Sku.product_id == Product.id).where(Sku.id == sku_id))
        return product.id, product.category_id


def orders_and_stock(app, shop: Shop) -> tuple[int, int, int]:
    with app.app_context():
        stock = dict(db.session.execute(select(Sku.id, Sku.stock)).tuples().all())
        return db.session.scalar(select(func.count()).select_from(Order)), stock[shop.latte], stock[shop.croissant]




clerk = orders_fixtures.clerk


def expire_coupon(app, coupon_id: int) -> None:
    """Its validity ends now (while an order may hold it)."""
    with app.app_context():
        db.session.get(Coupon, coupon_id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
