"""The campaign figures of a span of time as one SQL select over the raw rows, grouped by campaign.

The rollup inserts it for one business day; the raw reference runs it over a whole range. Every figure is a
sum of counts over rows that fall in the span, so the days' rows add up to the range's figures:

- from ``journey_events`` carrying the campaign (index campaign + time): ``share_created`` (shares),
  ``share_opened``/``store_share_opened`` (opens; new members are the opens of members new by that open),
  ``bound`` (friends bound under a sharer, rebinds included) and ``order_placed`` (orders attributed);
- the attributed orders (joined by the event's ``order_id``) that were paid: their count and GMV, the amount
  paid net of what was refunded by the time the span is computed, and their referral rewards (commission
  in fen, net of reversals; points rewards apart as points);
- coupons of the campaign's batches used in the span (by ``used_at``): their count and discount.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, case, func, literal, select, union_all

from coupons.models import Coupon, CouponBatch, CouponStatus
from referral.rewards.models import Reward
from shop.members.journey import JourneyKind
from shop.members.models import JourneyEvent
from shop.orders.models import Order

FIGURES = ("shares", "opens", "new_members", "bound_friends", "orders", "paid_orders", "gmv", "coupons_used",
           "coupon_cost", "reward_cost", "reward_points")
OPENS = (JourneyKind.SHARE_OPENED.value, JourneyKind.STORE_SHARE_OPENED.value)
_EVENT_KINDS = (JourneyKind.SHARE_CREATED.value, *OPENS, JourneyKind.BOUND.value, JourneyKind.ORDER_PLACED.value)


def _count(condition) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _row(campaign, **figures) -> list:
    """The select list of one part: the campaign, then every figure (0 when this part does not count it)."""
    return [campaign.label("campaign"),
            *(func.coalesce(figures[name], 0).label(name) if name in figures else literal(0).label(name)
              for name in FIGURES)]


def _events(start: datetime, end: datetime, campaign: str | None) -> Select:
    event = JourneyEvent
    is_open = event.kind.in_(OPENS)
    return (select(*_row(event.campaign,
                         shares=_count(event.kind == JourneyKind.SHARE_CREATED.value),
                         opens=_count(is_open),
                         new_members=_count(is_open & (event.attributes["new_member"].as_boolean().is_(True))),
                         bound_friends=_count(event.kind == JourneyKind.BOUND.value),
                         orders=_count(event.kind == JourneyKind.ORDER_PLACED.value)))
            .where(_of(event.campaign, campaign), event.kind.in_(_EVENT_KINDS),
                   event.occurred_at >= start, event.occurred_at < end)
            .group_by(event.campaign))


def _of(column, campaign: str | None):
    return column == campaign if campaign is not None else column.is_not(None)


def _placed(start: datetime, end: datetime, campaign: str | None):
    """The attributed orders placed in the span: (campaign, order id)."""
    event = JourneyEvent
    return (select(event.campaign.label("campaign"), event.attributes["order_id"].as_integer().label("order_id"))
            .where(_of(event.campaign, campaign), event.kind == JourneyKind.ORDER_PLACED.value,
                   event.occurred_at >= start, event.occurred_at < end)
            .subquery())


def _paid_orders(start: datetime, end: datetime, campaign: str | None) -> Select:
    placed = _placed(start, end, campaign)
    return (select(*_row(placed.c.campaign, paid_orders=func.count(Order.id),
                         gmv=func.sum(Order.amount_paid - Order.refunded_total)))
            .select_from(placed.join(Order, Order.id == placed.c.order_id))
            .where(Order.paid_at.is_not(None))
            .group_by(placed.c.campaign))


def _rewards(start: datetime, end: datetime, campaign: str | None) -> Select:
    placed = _placed(start, end, campaign)
    net = Reward.amount - Reward.reversed_amount
    return (select(*_row(placed.c.campaign,
                         reward_cost=func.sum(case((Reward.kind == "commission", net), else_=0)),
                         reward_points=func.sum(case((Reward.kind == "points", net), else_=0))))
            .select_from(placed.join(Reward, Reward.order_id == placed.c.order_id))
            .group_by(placed.c.campaign))


def _coupons(start: datetime, end: datetime, campaign: str | None) -> Select:
    return (select(*_row(CouponBatch.campaign, coupons_used=func.count(Coupon.id),
                         coupon_cost=func.sum(func.coalesce(Coupon.discount_amount, 0))))
            .select_from(Coupon).join(CouponBatch, CouponBatch.id == Coupon.batch_id)
            .where(_of(CouponBatch.campaign, campaign), Coupon.status == CouponStatus.USED.value,
                   Coupon.used_at >= start, Coupon.used_at < end)
            .group_by(CouponBatch.campaign))


def figures_by_campaign(start: datetime, end: datetime, campaign: str | None = None) -> Select:
    """(campaign, *FIGURES) of every campaign with something in [start, end), or of ``campaign`` only."""
    parts = union_all(_events(start, end, campaign), _paid_orders(start, end, campaign),
                      _rewards(start, end, campaign), _coupons(start, end, campaign)).subquery()
    return select(parts.c.campaign, *(func.sum(parts.c[name]).label(name) for name in FIGURES)) \
        .group_by(parts.c.campaign)
