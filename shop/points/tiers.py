"""Tiers: by the points earned from paid orders in the trailing 12 months, less what refunds took back.

Adjustments, returns of spent points and expiry do not move a tier: only earning does. A refund
takes its reversal off the order it belongs to, so refunding an order earned 13 months ago never
lowers today's tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from shop.extensions import db
from shop.points.models import PointsEntry, PointsReason
from shop.points.rules import TIER_WINDOW, rules


@dataclass(frozen=True)
class TierStatus:
    name: str
    multiplier: Decimal
    earned_12m: int
    next_tier: str | None
    points_to_next: int | None


def earned_in_window(member_id: int, at: datetime) -> int:
    """Points earned in (at - 12 months, at], net of what refunds of those orders took back."""
    reversed_ = (select(PointsEntry.order_id, func.sum(PointsEntry.points).label("points"))
                 .where(PointsEntry.member_id == member_id, PointsEntry.reason == PointsReason.REFUND_REVERSE.value)
                 .group_by(PointsEntry.order_id).subquery())
    earned = db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points - func.coalesce(reversed_.c.points, 0)), 0))
        .select_from(PointsEntry).outerjoin(reversed_, reversed_.c.order_id == PointsEntry.order_id)
        .where(PointsEntry.member_id == member_id, PointsEntry.reason == PointsReason.EARN.value,
               PointsEntry.created_at > at - TIER_WINDOW, PointsEntry.created_at <= at))
    return max(int(earned), 0)


def tier_status(member_id: int, at: datetime) -> TierStatus:
    earned = earned_in_window(member_id, at)
    tier, next_tier = rules().tier_for(earned)
    return TierStatus(name=tier.name, multiplier=tier.multiplier, earned_12m=earned,
                      next_tier=next_tier.name if next_tier else None,
                      points_to_next=next_tier.threshold - earned if next_tier else None)


def earning_multiplier(member_id: int, at: datetime, *, earned_ever: int) -> Decimal:
    """The multiplier of the member's tier at ``at``, given ``earned_ever`` (their account's ``earned``).

    The trailing 12 months never hold more than everything ever earned, so when that reaches no
    tier above the first, the member is in the first: no sum over their ledger (the common case,
    and the one on every order's payment).
    """
    the_rules = rules()
    if the_rules.tier_for(earned_ever)[0] == the_rules.tiers[0]:
        return the_rules.tiers[0].multiplier
    return tier_status(member_id, at).multiplier
