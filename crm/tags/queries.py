"""Set-based SQL the tags and segments share: what counts as a paid order, a member's visits to stores,
and each computed tag as a select of (member_id, name) pairs. Nothing here loads members into Python."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, String, and_, case, func, literal, select, union_all

from coupons.models import Coupon, CouponRedemption
from referral.sharing.models import Share
from referral.tree.models import ReferralNode
from shop.members.models import Member, OfficialAccountFollower
from shop.orders.models import Order, OrderStatus
from shop.points.models import PointsEntry, PointsReason
from shop.points.rules import TIER_WINDOW, rules

MEMBER_ID, NAME = "member_id", "name"


def is_paid_order() -> ColumnElement[bool]:
    """An order that was paid and is not wholly refunded (till sales included: they are orders)."""
    return and_(Order.paid_at.is_not(None), Order.status != OrderStatus.REFUNDED.value)


def net_paid() -> ColumnElement[int]:
    """Fen an order brought in: paid less refunded."""
    return Order.amount_paid - Order.refunded_total


def _pairs(member_id: ColumnElement, name: ColumnElement | str) -> Select:
    name = literal(name, String) if isinstance(name, str) else name
    return select(member_id.label(MEMBER_ID), name.label(NAME))


def follower_pairs() -> Select:
    return _pairs(OfficialAccountFollower.member_id, "follower").where(
        OfficialAccountFollower.subscribed.is_(True), OfficialAccountFollower.member_id.is_not(None))


def new_member_pairs(now: datetime, days: int) -> Select:
    return _pairs(Member.id, "new_member").where(Member.created_at >= now - timedelta(days=days))


def sharer_pairs() -> Select:
    return _pairs(Share.sharer_id, "sharer").distinct()


def promoter_pairs() -> Select:
    """Members with a bound friend (a direct child in the tree) who has paid."""
    return _pairs(ReferralNode.parent_id, "promoter").where(
        ReferralNode.parent_id.is_not(None), ReferralNode.first_paid_at.is_not(None)).distinct()


def high_value_pairs(now: datetime, threshold_fen: int) -> Select:
    return (_pairs(Order.member_id, "high_value")
            .where(is_paid_order(), Order.paid_at >= now - timedelta(days=365))
            .group_by(Order.member_id).having(func.sum(net_paid()) >= threshold_fen))


def lapsed_pairs(now: datetime, days: int) -> Select:
    """Members who have paid before but not in the last ``days``."""
    return (_pairs(Order.member_id, "lapsed").where(is_paid_order())
            .group_by(Order.member_id).having(func.max(Order.paid_at) < now - timedelta(days=days)))


def store_visits() -> Select:
    """(member_id, store_id, visits): paid orders placed at or for a store, and in-store redemptions."""
    orders = select(Order.member_id.label("member_id"), Order.store_id.label("store_id")).where(
        is_paid_order(), Order.store_id.is_not(None))
    redemptions = (select(Coupon.member_id.label("member_id"), CouponRedemption.store_id.label("store_id"))
                   .join(Coupon, Coupon.id == CouponRedemption.coupon_id)
                   .where(CouponRedemption.reverted_at.is_(None)))
    both = union_all(orders, redemptions).subquery()
    return (select(both.c.member_id, both.c.store_id, func.count().label("visits"))
            .group_by(both.c.member_id, both.c.store_id))


def regular_stores(min_visits: int) -> Select:
    """(member_id, store_id): each member's most visited store (ties: the lower id), if visited enough."""
    visits = store_visits().subquery()
    ranked = select(visits.c.member_id, visits.c.store_id, visits.c.visits, func.row_number().over(
        partition_by=visits.c.member_id, order_by=(visits.c.visits.desc(), visits.c.store_id)).label("rank")
    ).subquery()
    return select(ranked.c.member_id, ranked.c.store_id).where(ranked.c.rank == 1, ranked.c.visits >= min_visits)


def member_tiers(now: datetime) -> Select:
    """(member_id, tier) for every member: points earned from orders in the trailing 12 months, net of
    what refunds of those orders took back (shop/points/tiers.py, set-based)."""
    reversed_ = (select(PointsEntry.order_id, func.sum(PointsEntry.points).label("points"))
                 .where(PointsEntry.reason == PointsReason.REFUND_REVERSE.value)
                 .group_by(PointsEntry.order_id).subquery())
    earned = (select(PointsEntry.member_id,
                     func.sum(PointsEntry.points - func.coalesce(reversed_.c.points, 0)).label("earned"))
              .outerjoin(reversed_, reversed_.c.order_id == PointsEntry.order_id)
              .where(PointsEntry.reason == PointsReason.EARN.value,
                     PointsEntry.created_at > now - TIER_WINDOW, PointsEntry.created_at <= now)
              .group_by(PointsEntry.member_id).subquery())
    tiers = rules().tiers
    points = func.coalesce(earned.c.earned, 0)
    tier = case(*((points >= t.threshold, literal(t.name, String)) for t in reversed(tiers[1:])),
                else_=literal(tiers[0].name, String)) if len(tiers) > 1 else literal(tiers[0].name, String)
    return (select(Member.id.label("member_id"), tier.label("tier"))
            .outerjoin(earned, earned.c.member_id == Member.id))
