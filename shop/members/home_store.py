"""A member's home store: the first store share they arrived through, else the store of their first
store purchase (a pickup order paid, a till sale). Set once, by whichever comes first; never moved.

Referral sets it for store shares through ``set_home_store``; purchases set it here, on the order
signals (inside the payment's transaction, so the first paid order wins even under a race).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import update

from shop import events
from shop.database import utcnow
from shop.extensions import db
from shop.members.models import Member


class HomeStoreSource(StrEnum):
    STORE_SHARE = "store_share"  # arrived through a share a clerk made for the store
    PURCHASE = "purchase"  # first bought at the store (pickup order paid, till sale)


def set_home_store(member_id: int, store_id: int, *, source: HomeStoreSource, at: datetime) -> bool:
    """Make the store the member's home store unless they have one; whether this call set it.

    One conditional UPDATE: two first purchases (or a share and a purchase) at the same moment set it once.
    """
    changed = db.session.execute(
        update(Member).where(Member.id == member_id, Member.home_store_id.is_(None))
        .values(home_store_id=store_id, home_store_source=source.value, home_store_set_at=at)
        .execution_options(synchronize_session=False)).rowcount
    if changed:
        member = db.session.identity_map.get(db.session.identity_key(Member, member_id))
        if member is not None:  # loaded in this session: show what the row holds now
            db.session.refresh(member, ["home_store_id", "home_store_source", "home_store_set_at"])
    return bool(changed)


def on_store_purchase(sender: Any, **kw: Any) -> None:
    """An order paid at a store (a delivery order has none): the first makes it home."""
    store_id = kw.get("store_id")
    if store_id is not None:
        set_home_store(kw["member_id"], store_id, source=HomeStoreSource.PURCHASE, at=kw.get("paid_at") or utcnow())


def wire_home_store() -> None:
    """Connect the receivers (idempotent: connecting again changes nothing)."""
    # Payment only: an order is completed at its store after it was paid there, so a second receiver on
    # order_completed found the home store set and cost every till sale an UPDATE that changed nothing.
    events.order_paid.connect(on_store_purchase)
