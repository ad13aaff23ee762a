"""shop's events that message the shopper: an order ready for pickup, shipped, a refund paid back.

They run in the transaction of the change (see shop.events) and queue once per subject.
"""

from __future__ import annotations

from typing import Any

from shop import events
from shop.messages import notices


def on_order_ready_for_pickup(sender: Any, **kw: Any) -> None:
    notices.order_ready_for_pickup(order_id=kw["order_id"], member_id=kw["member_id"], store_id=kw["store_id"],
                                   pickup_code=kw["pickup_code"])


def on_order_shipped(sender: Any, **kw: Any) -> None:
    notices.order_shipped(order_id=kw["order_id"], member_id=kw["member_id"], carrier=kw.get("carrier"),
                          tracking_no=kw.get("tracking_no"))


def on_order_refunded(sender: Any, **kw: Any) -> None:
    notices.refund_completed(order_id=kw["order_id"], member_id=kw["member_id"], refund_id=kw["refund_id"],
                             amount=kw["amount"])


def wire_messages() -> None:
    """Connect the receivers (idempotent: connecting again changes nothing)."""
    events.order_ready_for_pickup.connect(on_order_ready_for_pickup)
    events.order_shipped.connect(on_order_shipped)
    events.order_refunded.connect(on_order_refunded)
