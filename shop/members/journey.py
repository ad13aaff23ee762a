"""The journey-event recorder that every domain calls."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from shop.database import utcnow
from shop.extensions import db
from shop.members.models import JourneyEvent


class JourneyKind(StrEnum):
    REGISTERED = "registered"
    LOGGED_IN = "logged_in"
    FOLLOWED = "followed"
    UNFOLLOWED = "unfollowed"
    SCANNED_QR = "scanned_qr"
    PHONE_BOUND = "phone_bound"
    ORDER_PLACED = "order_placed"
    ORDER_PAID = "order_paid"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_REFUNDED = "order_refunded"
    PICKED_UP = "picked_up"
    COUPON_REDEEMED = "coupon_redeemed"  # by a clerk at a store's counter
    COUPON_REDEMPTION_REVERTED = "coupon_redemption_reverted"  # the clerk took the redemption back


def record_event(member_id: int, kind: str, *, store_id: int | None = None, share_id: int | None = None,
                 campaign: str | None = None, occurred_at: datetime | None = None,
                 **attributes: Any) -> JourneyEvent:
    """Add a journey event to the current transaction (it commits with the change it describes)."""
    event = JourneyEvent(member_id=member_id, kind=str(kind), store_id=store_id, share_id=share_id,
                         campaign=campaign, occurred_at=occurred_at or utcnow(), attributes=attributes)
    db.session.add(event)
    return event
