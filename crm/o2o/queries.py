"""The o2o figures of a period of business days, per store, in SQL over the raw rows: what the daily
builder inserts for one day and what ``o2o_raw`` answers for a whole period. One home for each figure's
rule, so a rebuilt day and the raw computation cannot drift apart."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, case, func, literal, select, union_all

from coupons.models import BatchUsage, Coupon, CouponBatch, CouponRedemption
from crm.rollups.service import day_bounds
from crm.tags.models import MemberProfile
from shop.members.home_store import HomeStoreSource
from shop.members.models import Member
from shop.orders.models import Fulfilment, Order
from shop.till.models import TillSale

FIGURES = ("coupons_claimed", "coupons_redeemed", "pickup_placed", "pickup_picked_up", "till_sales",
           "till_sales_fen", "new_members", "new_members_via_share")
IN_STORE_USAGES = (BatchUsage.IN_STORE.value, BatchUsage.BOTH.value)


def _part(store: ColumnElement, store_id: int | None, **values: ColumnElement) -> Select:
    """One source's figures per store, the other figures zero (a part of the union below)."""
    columns = [values.get(name, literal(0)).label(name) for name in FIGURES]
    statement = select(store.label("store_id"), *columns).where(store.is_not(None)).group_by(store)
    return statement if store_id is None else statement.where(store == store_id)


def _coupons_claimed(first: date, last: date, store_id: int | None) -> Select:
    """Coupons usable in stores claimed in the period, counted at the claimant's home store."""
    return (_part(Member.home_store_id, store_id, coupons_claimed=func.count(Coupon.id))
            .select_from(Coupon).join(CouponBatch, CouponBatch.id == Coupon.batch_id)
            .join(Member, Member.id == Coupon.member_id)
            .where(CouponBatch.usage.in_(IN_STORE_USAGES), Coupon.claim_day.between(first, last)))


def _coupons_redeemed(start: datetime, end: datetime, store_id: int | None) -> Select:
    """Coupons a clerk redeemed at the store (a reverted redemption does not count)."""
    return (_part(CouponRedemption.store_id, store_id, coupons_redeemed=func.count(CouponRedemption.id))
            .where(CouponRedemption.redeemed_at >= start, CouponRedemption.redeemed_at < end,
                   CouponRedemption.reverted_at.is_(None)))


def _pickups(moment: ColumnElement, figure: str, start: datetime, end: datetime, store_id: int | None) -> Select:
    return (_part(Order.store_id, store_id, **{figure: func.count(Order.id)})
            .where(Order.fulfilment == Fulfilment.PICKUP.value, moment >= start, moment < end))


def _till_sales(start: datetime, end: datetime, store_id: int | None) -> Select:
    """Till sales (every one carries a member's code) not voided: count and fen paid less refunded."""
    return (_part(TillSale.store_id, store_id, till_sales=func.count(TillSale.id),
                  till_sales_fen=func.coalesce(func.sum(Order.amount_paid - Order.refunded_total), 0))
            .select_from(TillSale).join(Order, Order.id == TillSale.order_id)
            .where(TillSale.created_at >= start, TillSale.created_at < end, TillSale.voided_at.is_(None)))


def _new_members(start: datetime, end: datetime, store_id: int | None) -> Select:
    """Members the store won: their home store was set here (first store share opened, else first store
    purchase: shop.members.home_store)."""
    via_share = case((Member.home_store_source == HomeStoreSource.STORE_SHARE.value, 1), else_=0)
    return (_part(Member.home_store_id, store_id, new_members=func.count(Member.id),
                  new_members_via_share=func.coalesce(func.sum(via_share), 0))
            .where(Member.home_store_set_at >= start, Member.home_store_set_at < end))


def store_figures(first: date, last: date, store_id: int | None = None) -> Select:
    """(store_id, *FIGURES) of the business days ``first`` to ``last``; stores with nothing have no row."""
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    parts = union_all(_coupons_claimed(first, last, store_id), _coupons_redeemed(start, end, store_id),
                      _pickups(Order.paid_at, "pickup_placed", start, end, store_id),
                      _pickups(Order.completed_at, "pickup_picked_up", start, end, store_id),
                      _till_sales(start, end, store_id), _new_members(start, end, store_id)).subquery()
    return (select(parts.c.store_id, *[func.sum(parts.c[name]).label(name) for name in FIGURES])
            .group_by(parts.c.store_id))


def regulars(store_id: int | None = None) -> Select:
    """(store_id, regulars): members whose regular store it is, as of the last computed-tag refresh."""
    statement = (select(MemberProfile.regular_store_id.label("store_id"), func.count().label("regulars"))
                 .where(MemberProfile.regular_store_id.is_not(None)).group_by(MemberProfile.regular_store_id))
    return statement if store_id is None else statement.where(MemberProfile.regular_store_id == store_id)
