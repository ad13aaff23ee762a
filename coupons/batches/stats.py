"""A batch's results for marketing: what was issued, how, and what it brought in and cost.

Three aggregate queries whatever the batch's size: the coupons (with the orders that used them
online), the coupons by channel, and the in-store redemptions by store. They read the reports' replica
when there is one (shop/replica.py); the batch itself is looked up on the primary, so a batch created a
moment ago, not yet on the replica, has its figures (zeros) rather than a 404.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from coupons.batches.service import get_batch
from coupons.checkout.lifecycle import ONLINE
from coupons.models import BatchChannel, BatchUsage, Coupon, CouponRedemption, CouponStatus
from shop.config import BUSINESS_ZONE
from shop.extensions import db
from shop.orders.models import Order
from shop.replica import reading_replica

IN_STORE = BatchUsage.IN_STORE.value  # as coupons.redemption.service says of a coupon redeemed at a counter
DAYS_SHOWN = 30  # a batch's figures by day: the last month of business days


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows meet ``condition`` (0, never NULL, on every backend)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def _coupon_figures(batch_id: int, now: datetime) -> dict[str, int]:
    used = Coupon.status == CouponStatus.USED.value
    used_online = used & (Coupon.used_in == ONLINE)
    # Stored as expired, or still available past its expiry (no sweep has run yet): expired either way.
    expired = (Coupon.status == CouponStatus.EXPIRED.value) | (
        (Coupon.status == CouponStatus.AVAILABLE.value) & (Coupon.expires_at <= now))
    row = db.session.execute(
        select(func.count(Coupon.id).label("issued"),
               _count((Coupon.status == CouponStatus.AVAILABLE.value) & (Coupon.expires_at > now)).label("available"),
               _count(Coupon.status == CouponStatus.LOCKED.value).label("locked"),
               _count(used).label("used"),
               _count(used_online).label("used_online"),
               _count(expired).label("expired"),
               func.coalesce(func.sum(case((used_online, Order.amount_paid), else_=0)), 0).label("gmv"),
               func.coalesce(func.sum(case((used, Coupon.discount_amount), else_=0)), 0).label("discount_cost"))
        .select_from(Coupon).outerjoin(Order, Order.id == Coupon.order_id)
        .where(Coupon.batch_id == batch_id)).one()
    return {key: int(value) for key, value in row._mapping.items()}


def _by_channel(batch_id: int) -> dict[str, int]:
    rows = db.session.execute(select(Coupon.source, func.count()).where(Coupon.batch_id == batch_id)
                              .group_by(Coupon.source)).tuples().all()
    return {source: int(count) for source, count in rows}


def _redemptions_by_store(batch_id: int) -> tuple[list[dict[str, int]], int]:
    """([{store_id, redeemed}] for redemptions that stand, by store), reverted redemptions."""
    standing = CouponRedemption.reverted_at.is_(None)
    rows = db.session.execute(
        select(CouponRedemption.store_id, _count(standing), _count(~standing))
        .join(Coupon, Coupon.id == CouponRedemption.coupon_id).where(Coupon.batch_id == batch_id)
        .group_by(CouponRedemption.store_id).order_by(CouponRedemption.store_id)).tuples().all()
    stores = [{"store_id": store_id, "redeemed": int(kept)} for store_id, kept, _ in rows if kept]
    return stores, sum(int(reverted) for *_, reverted in rows)


def batch_stats(batch_id: int, *, now: datetime) -> dict[str, Any]:
    """Issued (claimed in the claim center vs other channels), locked, used online, redeemed in store
    (per store), expired, reverted, GMV of the orders that used a coupon, and the discount given."""
    get_batch(batch_id)  # 404 for an unknown batch
    return _batch_stats(batch_id, now)


@reading_replica()
def _batch_stats(batch_id: int, now: datetime) -> dict[str, Any]:
    figures = _coupon_figures(batch_id, now)
    channels = _by_channel(batch_id)
    stores, reverted = _redemptions_by_store(batch_id)
    claimed = channels.pop(BatchChannel.PUBLIC.value, 0)
    return {**figures, "claimed": claimed, "issued_by_other_channels": channels,
            "redeemed_in_store": sum(store["redeemed"] for store in stores),
            "redeemed_in_store_by_store": stores, "reverted": reverted}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), BUSINESS_ZONE).astimezone(UTC)


def batch_days(batch_id: int, *, now: datetime, days: int = DAYS_SHOWN) -> list[dict[str, Any]]:
    """Coupons claimed and used (online, in store) per business day (Asia/Shanghai), the last ``days`` days
    up to today, oldest first; two aggregate queries whatever the batch's size."""
    get_batch(batch_id)  # 404 for an unknown batch
    return _batch_days(batch_id, now, days)


@reading_replica()
def _batch_days(batch_id: int, now: datetime, days: int) -> list[dict[str, Any]]:
    last = now.astimezone(BUSINESS_ZONE).date()
    shown = [last - timedelta(days=back) for back in range(days - 1, -1, -1)]
    claims = dict(db.session.execute(
        select(Coupon.claim_day, func.count()).where(Coupon.batch_id == batch_id, Coupon.claim_day >= shown[0],
                                                     Coupon.claim_day <= last)
        .group_by(Coupon.claim_day)).tuples().all())
    # The day a coupon was used, as an index into ``shown`` (the zone's midnights, computed here: portable SQL).
    which_day = case(*((Coupon.used_at < _day_start(day + timedelta(days=1)), index)
                       for index, day in enumerate(shown)), else_=len(shown))
    used_rows = (select(which_day.label("day_index"), Coupon.used_in)
                 .where(Coupon.batch_id == batch_id, Coupon.status == CouponStatus.USED.value,
                        Coupon.used_at >= _day_start(shown[0])).subquery())
    # Grouped outside: PostgreSQL would not see a CASE with bound parameters in SELECT and GROUP BY as one.
    uses = db.session.execute(select(used_rows.c.day_index, used_rows.c.used_in, func.count())
                              .group_by(used_rows.c.day_index, used_rows.c.used_in)).tuples().all()
    used = {(index, used_in): int(count) for index, used_in, count in uses}
    return [{"day": day, "claimed": int(claims.get(day, 0)), "used_online": used.get((index, ONLINE), 0),
             "used_in_store": used.get((index, IN_STORE), 0)} for index, day in enumerate(shown)]
