"""The journey-event recorder that every domain calls.

Each step is added to the session of the change it describes, so it commits with it or not at all.
An order placed is attributed to the member's latest touch within ``JOURNEY_ATTRIBUTION_DAYS``: a
share opened (its share and campaign) or a coupon claimed from a batch with a campaign (docs/crm.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import Connection, and_, insert, or_, select

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
    SHARE_CREATED = "share_created"
    SHARE_OPENED = "share_opened"
    STORE_SHARE_OPENED = "store_share_opened"
    BOUND = "bound"  # placed under a sharer in the referral tree (first bind or re-bind)
    COUPON_CLAIMED = "coupon_claimed"  # by any channel (attribute ``channel``)
    ORDER_PLACED = "order_placed"
    ORDER_PAID = "order_paid"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_REFUNDED = "order_refunded"
    PICKED_UP = "picked_up"
    TILL_SALE = "till_sale"  # a clerk recorded a sale at the till with the member's code
    COUPON_REDEEMED = "coupon_redeemed"  # by a clerk at a store's counter
    COUPON_REDEMPTION_REVERTED = "coupon_redemption_reverted"  # the clerk took the redemption back
    REWARD_RELEASED = "reward_released"  # a referral reward left its refund window and became available


class ClientKind(StrEnum):
    """Steps the mini-program reports itself (``POST /api/v1/events``); raw, kept for a retention period."""

    VIEW_STORE = "view_store"
    VIEW_PRODUCT = "view_product"
    ADD_TO_CART = "add_to_cart"
    OPEN_POSTER = "open_poster"
    SEARCH = "search"


CLIENT_KINDS = frozenset(kind.value for kind in ClientKind)
_SHARE_TOUCHES = (JourneyKind.SHARE_OPENED.value, JourneyKind.STORE_SHARE_OPENED.value)


def record_event(member_id: int, kind: str, *, store_id: int | None = None, share_id: int | None = None,
                 campaign: str | None = None, occurred_at: datetime | None = None,
                 **attributes: Any) -> JourneyEvent:
    """Add a journey event to the current transaction (it commits with the change it describes)."""
    event = JourneyEvent(member_id=member_id, kind=str(kind), store_id=store_id, share_id=share_id,
                         campaign=campaign, occurred_at=occurred_at or utcnow(), attributes=attributes)
    db.session.add(event)
    return event


def record_event_on(connection: Connection, member_id: int, kind: str, *, occurred_at: datetime,
                    store_id: int | None = None, share_id: int | None = None, campaign: str | None = None,
                    **attributes: Any) -> None:
    """The same, over a Core connection: for a change written outside the session (a flash claim's INSERT)."""
    connection.execute(insert(JourneyEvent.__table__).values(
        member_id=member_id, kind=str(kind), store_id=store_id, share_id=share_id, campaign=campaign,
        occurred_at=occurred_at, attributes=attributes))


@dataclass(frozen=True)
class Touch:
    """What an order is attributed to: the latest share opened or campaign coupon claimed in the window."""

    kind: str
    share_id: int | None
    campaign: str | None
    at: datetime


def attributed_touch(member_id: int, at: datetime) -> Touch | None:
    """The member's latest share open or campaign coupon claim within the attribution window before ``at``."""
    days = current_app.config["JOURNEY_ATTRIBUTION_DAYS"]
    if days <= 0:
        return None
    event = JourneyEvent
    row = db.session.execute(
        select(event.kind, event.share_id, event.campaign, event.occurred_at)
        .where(event.member_id == member_id, event.occurred_at >= at - timedelta(days=days), event.occurred_at <= at,
               or_(event.kind.in_(_SHARE_TOUCHES),
                   and_(event.kind == JourneyKind.COUPON_CLAIMED.value, event.campaign.is_not(None))))
        .order_by(event.occurred_at.desc(), event.id.desc()).limit(1)).first()
    return Touch(row.kind, row.share_id, row.campaign, row.occurred_at) if row is not None else None


def record_order_placed(member_id: int, *, order_id: int, store_id: int | None, occurred_at: datetime,
                        **attributes: Any) -> JourneyEvent:
    """``order_placed``, carrying the share and campaign of the touch it is attributed to (if any)."""
    touch = attributed_touch(member_id, occurred_at)
    if touch is None:
        return record_event(member_id, JourneyKind.ORDER_PLACED, store_id=store_id, occurred_at=occurred_at,
                            order_id=order_id, **attributes)
    return record_event(member_id, JourneyKind.ORDER_PLACED, store_id=store_id, share_id=touch.share_id,
                        campaign=touch.campaign, occurred_at=occurred_at, order_id=order_id,
                        attributed_to=touch.kind, touched_at=touch.at.isoformat(), **attributes)
