"""Rows of a campaign made directly: journey events, coupons of a campaign's batch, rewards of an order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from coupons.models import Coupon, CouponBatch
from referral.rewards.models import Reward
from shop.extensions import db
from shop.members.models import JourneyEvent
from shop.orders.models import OrderLine

_n = itertools.count(1)


def event(member_id: int, kind: str, at: datetime, *, campaign: str | None = None, **attributes) -> None:
    db.session.add(JourneyEvent(member_id=member_id, kind=kind, occurred_at=at, campaign=campaign,
                                attributes=attributes))
    db.session.flush()


def batch(campaign: str | None, *, channel: str = "targeted") -> int:
    row = CouponBatch(name=f"b{next(_n)}", kind="amount_off", amount_off=1000, min_spend=0, valid_days=30, total=1000,
                      per_member_limit=5, channel=channel, campaign=campaign, status="active")
    db.session.add(row)
    db.session.flush()
    return row.id


def coupon(batch_id: int, member_id: int, *, used_at: datetime | None = None, discount: int | None = None,
           order_id: int | None = None, claim_key: str | None = None) -> int:
    n = next(_n)
    claimed = (used_at or datetime(2026, 11, 1, tzinfo=UTC)) - timedelta(days=1)
    row = Coupon(batch_id=batch_id, member_id=member_id, sequence=n, issue_number=n, claim_day=claimed.date(),
                 claim_key=claim_key, status="used" if used_at else "available", valid_from=claimed,
                 expires_at=claimed + timedelta(days=30), claimed_at=claimed, used_at=used_at, order_id=order_id,
                 discount_amount=discount, used_in="online" if used_at else None)
    db.session.add(row)
    db.session.flush()
    return row.id


def reward(order_id: int, beneficiary_id: int, buyer_id: int, *, kind: str, amount: int, reversed_amount: int = 0,
           level: int = 1) -> None:
    line = OrderLine(order_id=order_id, sku_id=1, product_id=1, title="t", unit_price=1, quantity=1, subtotal=1,
                     amount_payable=1)
    db.session.add(line)
    db.session.flush()
    db.session.add(Reward(order_id=order_id, order_line_id=line.id, beneficiary_id=beneficiary_id, buyer_id=buyer_id,
                          level=level, kind=kind, amount=amount, reversed_amount=reversed_amount,
                          available_at=datetime(2027, 1, 1, tzinfo=UTC)))
    db.session.flush()
