"""A locked coupon follows its order: paid consumes it, cancelled releases it, a full refund returns it.

- ``order_paid``: locked -> used (``used_in`` online, ``used_at`` the payment time; the discount
  it gave was recorded when it was locked). A coupon that expired while its order waited for
  payment is still consumed: it was valid when the order was placed, and the price was agreed then.
- ``order_cancelled`` (the shopper's cancel, or the payment timeout): locked -> available, or
  expired if it is past its expiry by then.
- ``order_refunded``: a full refund before the goods were handed over (the order never reached
  shipped or completed, i.e. not shipped and not picked up) returns the coupon if it is still
  valid (used -> available; past its expiry -> expired). A partial refund, or one after the goods
  were handed over, keeps the coupon used.

Each is one conditional UPDATE keyed on the order and the state it moves from, inside the order's
transaction, so a signal delivered twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, update

from coupons.errors import CouponError
from coupons.models import BatchUsage, Coupon, CouponStatus
from shop import events
from shop.database import utcnow
from shop.extensions import db

ONLINE = BatchUsage.ONLINE.value  # what Coupon.used_in says of a coupon spent at checkout


def consume_for_order(order_id: int, *, at: datetime) -> int:
    """The order was paid: its coupon is used; how many coupons changed (0 or 1)."""
    return _move(order_id, CouponStatus.LOCKED, {"status": CouponStatus.USED.value, "used_at": at,
                                                 "used_in": ONLINE})


def release_for_order(order_id: int, *, at: datetime) -> int:
    """The unpaid order was cancelled: its coupon is free again (or expired by now)."""
    return _move(order_id, CouponStatus.LOCKED, {"status": _available_unless_expired(at), "order_id": None,
                                                 "locked_at": None, "discount_amount": None})


def return_for_refund(order_id: int, *, at: datetime) -> int:
    """The order was refunded in full before its goods were handed over: its coupon comes back."""
    return _move(order_id, CouponStatus.USED, {"status": _available_unless_expired(at), "order_id": None,
                                               "locked_at": None, "used_at": None, "used_in": None,
                                               "discount_amount": None})


def unusable_because(status: str, expires_at: datetime, valid_from: datetime, now: datetime) -> CouponError | None:
    """The first reason a held coupon cannot be used now (online or in a store), or None."""
    if status == CouponStatus.USED:
        return CouponError.COUPON_USED
    if status == CouponStatus.LOCKED:
        return CouponError.COUPON_LOCKED
    if status == CouponStatus.EXPIRED or expires_at <= now:
        return CouponError.COUPON_EXPIRED
    if valid_from > now:
        return CouponError.COUPON_NOT_YET_VALID
    return None


def on_order_paid(sender: Any, **kw: Any) -> None:
    consume_for_order(kw["order_id"], at=kw.get("paid_at") or utcnow())


def on_order_cancelled(sender: Any, **kw: Any) -> None:
    release_for_order(kw["order_id"], at=utcnow())


def on_order_refunded(sender: Any, **kw: Any) -> None:
    if kw.get("full") and not kw.get("goods_handed_over"):
        return_for_refund(kw["order_id"], at=utcnow())


def wire_checkout_coupons() -> None:
    """Connect the receivers (idempotent: connecting again changes nothing)."""
    events.order_paid.connect(on_order_paid)
    events.order_cancelled.connect(on_order_cancelled)
    events.order_refunded.connect(on_order_refunded)


def _available_unless_expired(at: datetime):
    return case((Coupon.expires_at <= at, CouponStatus.EXPIRED.value), else_=CouponStatus.AVAILABLE.value)


def _move(order_id: int, from_status: CouponStatus, values: dict[str, Any]) -> int:
    return db.session.execute(
        update(Coupon).where(Coupon.order_id == order_id, Coupon.status == from_status.value)
        .values(**values).execution_options(synchronize_session=False)).rowcount
