"""Points react to orders: paid earns, cancelled returns what was spent, refunded reverses.

They run inside the order's transaction (see shop.events) and are idempotent on the ledger's key,
so a signal sent twice writes once.
"""

from __future__ import annotations

from typing import Any

from shop import events
from shop.database import utcnow
from shop.points.service import earn_for_order, return_for_order, reverse_for_refund


def on_order_paid(sender: Any, **kw: Any) -> None:
    """Earn at the member's tier (``paid_at``, if the sender gives it, else now)."""
    earn_for_order(member_id=kw["member_id"], order_id=kw["order_id"], amount_paid_fen=kw["amount_paid"],
                   at=kw.get("paid_at") or utcnow())


def on_order_cancelled(sender: Any, **kw: Any) -> None:
    return_for_order(order_id=kw["order_id"])


def on_order_refunded(sender: Any, **kw: Any) -> None:
    reverse_for_refund(order_id=kw["order_id"], refund_id=kw["refund_id"], refunded_share=kw["refunded_share"])


def wire_points() -> None:
    """Connect the receivers (idempotent: connecting again changes nothing)."""
    events.order_paid.connect(on_order_paid)
    events.order_cancelled.connect(on_order_cancelled)
    events.order_refunded.connect(on_order_refunded)
