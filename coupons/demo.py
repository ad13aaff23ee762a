"""Demo coupon batches for `python app.py` (never in production); idempotent.

Five active batches, seeded once each (by name) when the demo brand is there (store SH001, People's
Square, Shanghai): a public one to claim in the claim center and spend at checkout, a new-member
welcome, an in-store one that the clerks of People's Square and four more Shanghai stores redeem,
and two coffee-chain kinds: second latte half price (online: it needs the items) and a free
Americano (online or at any counter).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from coupons.batches.service import change_status, create_batch
from coupons.models import BatchChannel, BatchUsage, CouponBatch
from shop.catalog.models import Product
from shop.database import utcnow
from shop.extensions import db
from shop.stores.models import Store

IN_STORE_CODES = ("SH001", "SH002", "SH003", "SH004", "SH005")  # SH001: People's Square, the demo clerk's
DEMO_BATCHES: tuple[dict[str, Any], ...] = (
    {"name": "5 yuan off from 20 yuan", "kind": "amount_off", "amount_off": 500, "min_spend": 2000,
     "valid_days": 7, "total": 1000, "per_member_limit": 2, "channel": BatchChannel.PUBLIC.value,
     "usage": BatchUsage.BOTH.value},
    {"name": "Welcome: 15% off, up to 10 yuan", "kind": "percent_off", "percent": 15, "max_off": 1000,
     "valid_days": 14, "total": 100_000, "per_member_limit": 1, "channel": BatchChannel.NEW_MEMBER.value,
     "usage": BatchUsage.BOTH.value},
    {"name": "In store: 8 yuan off a drink", "kind": "amount_off", "amount_off": 800, "min_spend": 0,
     "valid_days": 30, "total": 5000, "per_member_limit": 1, "channel": BatchChannel.PUBLIC.value,
     "usage": BatchUsage.IN_STORE.value, "in_store_codes": IN_STORE_CODES},
    {"name": "Second latte half price", "kind": "nth_item_percent", "nth": 2, "percent": 50, "min_spend": 0,
     "valid_days": 7, "total": 1000, "per_member_limit": 2, "channel": BatchChannel.PUBLIC.value,
     "usage": BatchUsage.ONLINE.value, "products": ("Latte",)},
    {"name": "A free Americano", "kind": "free_item", "max_off": 2200, "min_spend": 0, "valid_days": 14,
     "total": 500, "per_member_limit": 1, "channel": BatchChannel.PUBLIC.value, "usage": BatchUsage.BOTH.value,
     "products": ("Americano",)},
)
_NOT_BATCH_FIELDS = ("usage", "in_store_codes", "products")


def seed_coupon_demo() -> list[str]:
    """Create the demo batches that are missing (the demo brand only); what was created, to print."""
    stores = dict(db.session.execute(select(Store.code, Store.id).where(Store.code.in_(IN_STORE_CODES))).tuples().all())
    if "SH001" not in stores:
        return []  # not the demo brand: leave its batches alone
    existing = set(db.session.scalars(select(CouponBatch.name).where(
        CouponBatch.name.in_([batch["name"] for batch in DEMO_BATCHES]))))
    created = []
    now = utcnow()
    for spec in DEMO_BATCHES:
        if spec["name"] in existing:
            continue
        fields = {key: value for key, value in spec.items() if key not in _NOT_BATCH_FIELDS}
        if "products" in spec:
            fields["scope_product_ids"] = list(db.session.scalars(
                select(Product.id).where(Product.title.in_(spec["products"]))))
        batch = create_batch(fields, staff_id=None, now=now)
        batch.usage = spec["usage"]
        if "in_store_codes" in spec:
            batch.scope_store_ids = [stores[code] for code in spec["in_store_codes"] if code in stores]
        change_status(batch.id, "activate", now=now)
        created.append(f"coupon batch {batch.id} ({spec['channel']}, {spec['usage']}): {spec['name']}")
    db.session.flush()
    return created

