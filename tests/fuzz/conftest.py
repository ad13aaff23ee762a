"""The hostile-input fuzz (``make fuzz``): schemathesis over every operation of the app's own spec.

Marked ``fuzz`` and left out of ``make test``. It runs in-process (WSGI, no server) on an app of its
own: SQLite and an embedded Redis in a folder of its own, seeded once with the demo brand (stores,
catalog, staff, coupon batches, the referral tree), so that generated path ids can name rows that
exist. The suite's ``app`` fixture is not used: its tables are emptied after every test, and this
world must outlive the tests that fuzz it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

import coupons
import referral
from app import ROOT, create_app
from shop.demo import seed_demo
from shop.extensions import db
from shop.members.models import Member
from tests.conftest import test_config

HERE = Path(__file__).resolve().parent

# Path parameter -> the table whose ids it names; the fuzz draws some ids from these rows.
ID_TABLES = {
    "batch_id": "coupon_batches", "order_id": "orders", "member_id": "members", "store_id": "stores",
    "staff_id": "staff_accounts", "product_id": "products", "tag_id": "crm_tags", "sku_id": "skus",
    "coupon_id": "coupons", "job_id": "coupon_issue_jobs", "share_id": "referral_shares",
    "withdrawal_id": "referral_withdrawals", "segment_id": "crm_segments", "category_id": "categories",
    "entry_id": "outbox", "review_id": "content_reviews", "sale_id": "till_sales",
    "redemption_id": "coupon_redemptions",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.fuzz)


@dataclass
class World:
    """The fuzzed app, the demo shopper the shopper's token belongs to, and ids that exist per path parameter."""

    app: object
    shopper_id: int
    ids: dict[str, list[int]]


@pytest.fixture(scope="session")
def fuzz_world(tmp_path_factory, stub) -> World:
    config = test_config(tmp_path_factory, stub.url)
    # Always SQLite and the embedded Redis: the fuzz owns its data, whatever TEST_DATABASE_URL names.
    config |= {"DATABASE_URL": f"sqlite:///{config['RIPPLE_INSTANCE_PATH']}/fuzz.db", "REDIS_URL": None}
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        seed_demo("fuzz-demo-password")
        coupons.seed_coupon_demo()
        referral.seed_referral_demo()
        db.session.commit()
        # The referral demo's root member: orders, shares, a downline and rewards of their own.
        shopper_id = db.session.scalar(select(Member.id).where(Member.openid == "demo-referral-dora"))
        ids = {name: list(db.session.scalars(text(f"SELECT id FROM {table} ORDER BY id LIMIT 50")))
               for name, table in ID_TABLES.items()}
    yield World(app=app, shopper_id=shopper_id, ids=ids)
    with app.app_context():
        db.engine.dispose()
