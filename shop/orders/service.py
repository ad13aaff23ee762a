"""Orders as the shopper and staff see them (payment, notifies and reconciliation: shop.orders.payment)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from shop.errors import AppError
from shop.extensions import db, redis_client
from shop.orders.errors import OrderError
from shop.orders.lifecycle import expire_if_due, settle
from shop.orders.models import Order, OrderStatus
from shop.redis_connections import REDIS_ERRORS

log = logging.getLogger(__name__)
ASK_ON_READ_EVERY_SECONDS = 3  # a shopper's reads of a payable order ask WeChat Pay at most this often


def own_order(member_id: int, order_id: int, at: datetime) -> Order:
    """The shopper's own order (another member's is 404 too), settled now if it is pending.

    A pending order past its window is cancelled; one with a prepay id is paid at once if WeChat
    Pay says so (the shopper reads it right after wx.requestPayment succeeded, and the notify may be
    late or lost). WeChat Pay is asked at most once per order every few seconds; when it, or Redis,
    is in trouble the order is shown as it is and the sweep settles it.
    """
    order = any_order(order_id)
    if order.member_id != member_id:
        raise AppError(OrderError.ORDER_NOT_FOUND, "No such order.")
    if order.status != OrderStatus.PENDING_PAYMENT:
        return order  # the hot path: a paid or closed order asks no one
    if order.prepay_id is None:
        return expire_if_due(order, at)  # never payable: nothing to ask WeChat Pay
    if _may_ask_wechat_pay(order.id):
        try:
            settle(order, at)
        except AppError as error:
            db.session.rollback()  # nothing half-done stands; the order reads as the database holds it
            log.info("order %s not settled on read: %s", order.number, error.code)
    return order


def order_snapshot(order_id: int) -> Order:
    """The order with its lines and refunds read in one statement, so all of it is of one moment.

    Loaded separately, each part may see another commit: a refund confirmed between the reads showed
    as succeeded next to totals it had not moved yet.
    """
    return db.session.scalars(select(Order).where(Order.id == order_id)
                              .options(joinedload(Order.lines), joinedload(Order.refunds))
                              .execution_options(populate_existing=True)).unique().one()


def _may_ask_wechat_pay(order_id: int) -> bool:
    """Whether this read may ask WeChat Pay about the order (once per order per few seconds)."""
    try:
        return bool(redis_client().set(f"orders:ask-wechat-pay:{order_id}", 1, nx=True,
                                       ex=ASK_ON_READ_EVERY_SECONDS))
    except REDIS_ERRORS as error:
        log.debug("order %s read without asking WeChat Pay: Redis %s", order_id, error)  # readiness reports it
        return False


def any_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise AppError(OrderError.ORDER_NOT_FOUND, "No such order.")
    return order


def own_orders(member_id: int, *, status: str | None) -> Select:
    statement = select(Order).where(Order.member_id == member_id).order_by(Order.id.desc())
    return statement.where(Order.status == status) if status else statement


def all_orders(*, status: str | None, store_id: int | None = None, fulfilment: str | None = None,
               number: str | None = None) -> Select:
    """Every order, newest first, narrowed by whichever filters are given (an order number: its start)."""
    statement = select(Order).order_by(Order.id.desc())
    if status:
        statement = statement.where(Order.status == status)
    if store_id:
        statement = statement.where(Order.store_id == store_id)
    if fulfilment:
        statement = statement.where(Order.fulfilment == fulfilment)
    if number:
        statement = statement.where(Order.number.startswith(number, autoescape=True))
    return statement
