"""Referral reacts to orders: a paid order snapshots the chain and creates the rewards, a refund reverses
them in proportion.

Receivers run inside the order's transaction (see shop.events) and are idempotent (see the service).
"""

from __future__ import annotations

from typing import Any

from referral.rewards.service import reverse_for_refund, reward_order
from shop import events
from shop.database import utcnow


def on_order_paid(sender: Any, **kw: Any) -> None:
    """Signal receiver: snapshot the chain, create the rewards, count the order, tell coupons."""
    reward_order(order_id=kw["order_id"], member_id=kw["member_id"], amount_paid=kw["amount_paid"],
                 first_paid_order=bool(kw.get("first_paid_order")), paid_at=kw.get("paid_at") or utcnow())


def on_order_refunded(sender: Any, **kw: Any) -> None:
    """Signal receiver: reverse the order's rewards in proportion and take the GMV back."""
    reverse_for_refund(order_id=kw["order_id"], refund_id=kw["refund_id"], refunded_total=kw["refunded_total"],
                       refunded_share=kw["refunded_share"], line_shares=kw["line_shares"])


def wire_rewards() -> None:
    """Connect the receivers (idempotent: connecting again changes nothing)."""
    events.order_paid.connect(on_order_paid)
    events.order_refunded.connect(on_order_refunded)
