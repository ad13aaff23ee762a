"""The six messages Ripple sends, each from the facts of its event, queued in the caller's transaction.

shop's own events reach them through ``shop.messages.handlers``; coupons and referral call them
directly (they import shop; shop never imports them). Each returns what ``queue_message`` returned.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from shop.database import utcnow
from shop.extensions import db
from shop.messages.service import queue_message
from shop.messages.templates import Purpose
from shop.orders.models import Order
from shop.stores.models import Store

NO_TRACKING = "-"  # character_string cannot be empty: a delivery without a tracking number


def _order_number(order_id: int) -> str | None:
    """The order's number; None (no message) for an order that is not there, which a signal never names."""
    return db.session.scalar(select(Order.number).where(Order.id == order_id))


def order_ready_for_pickup(*, order_id: int, member_id: int, store_id: int, pickup_code: str,
                           at: datetime | None = None) -> str | None:
    """Your order is ready at the store: the pickup code to show."""
    at = at or utcnow()
    order_number = _order_number(order_id)
    if order_number is None:
        return None
    store = db.session.get(Store, store_id)
    return queue_message(Purpose.ORDER_READY, member_id=member_id, subject_id=order_id, now=at, values={
        "character_string1": order_number, "thing2": store.name if store else "门店",
        "character_string3": pickup_code, "phrase4": "待取餐", "time5": at})


def order_shipped(*, order_id: int, member_id: int, carrier: str | None, tracking_no: str | None,
                  at: datetime | None = None) -> str | None:
    """Your order left the warehouse: carrier and tracking number (``-`` when there is none)."""
    at = at or utcnow()
    order_number = _order_number(order_id)
    if order_number is None:
        return None
    return queue_message(Purpose.ORDER_SHIPPED, member_id=member_id, subject_id=order_id, now=at, values={
        "character_string1": order_number, "thing2": carrier or "商家配送",
        "character_string3": tracking_no or NO_TRACKING, "time4": at})


def refund_completed(*, order_id: int, member_id: int, refund_id: int, amount: int,
                     at: datetime | None = None) -> str | None:
    """WeChat Pay paid a refund back (``amount`` in fen)."""
    at = at or utcnow()
    order_number = _order_number(order_id)
    if order_number is None:
        return None
    return queue_message(Purpose.REFUND_COMPLETED, member_id=member_id, subject_id=refund_id, now=at, values={
        "character_string1": order_number, "amount2": amount, "time3": at, "thing4": "退款已原路退回，请注意查收"})


def coupon_expiring(*, coupon_id: int, member_id: int, coupon_name: str, expires_at: datetime,
                    at: datetime | None = None) -> str | None:
    """A coupon in the wallet expires soon (once per coupon)."""
    return queue_message(Purpose.COUPON_EXPIRING, member_id=member_id, subject_id=coupon_id, now=at, values={
        "thing1": coupon_name, "time2": expires_at, "thing3": "优惠券即将过期，记得使用"})


def reward_released(*, member_id: int, order_id: int, kind: str, amount: int,
                    at: datetime | None = None) -> str | None:
    """A referral reward for a friend's order became available: commission (fen) or points."""
    at = at or utcnow()
    what = f"佣金 {amount // 100}.{amount % 100:02d}元" if kind == "commission" else f"积分 {amount}"
    return queue_message(Purpose.REWARD_RELEASED, member_id=member_id, subject_id=order_id, now=at, values={
        "thing1": what, "time2": at, "thing3": "好友订单奖励已到账"})


def withdrawal_paid(*, member_id: int, withdrawal_id: int, amount: int, at: datetime | None = None) -> str | None:
    """A withdrawal reached the member's WeChat balance (``amount`` in fen)."""
    at = at or utcnow()
    return queue_message(Purpose.WITHDRAWAL_PAID, member_id=member_id, subject_id=withdrawal_id, now=at, values={
        "amount1": amount, "time2": at, "thing3": "提现已到账微信零钱"})
