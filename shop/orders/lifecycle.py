"""Cancelling unpaid orders (by the shopper, or when the payment window passes) and what returns.

An order with a prepay id may have been paid even if no notify came: before it is cancelled WeChat
Pay is asked (a paid one is applied instead) and its transaction closed, so it cannot be paid once
cancelled. When WeChat Pay cannot tell, the order stays pending: the sweep asks again later.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from shop import events
from shop.catalog.stock import return_stock
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.members.journey import JourneyKind, record_event
from shop.orders.errors import OrderError
from shop.orders.models import Order, OrderStatus
from shop.orders.payment import (
    apply_if_paid,
    apply_wechat_payment,
    paid_transaction,
    payment_recorded,
)
from shop.orders.states import lock, move
from shop.orders.sweeps import sweep
from shop.shipping import service as shipping
from shop.shipping.models import LogisticsType
from shop.wechat.errors import WeChatPayError
from shop.wechat.pay import WeChatPayAPIError, wechat_pay

log = logging.getLogger(__name__)
SETTLED = ("paid", "cancelled", "unchanged")  # what settle() says happened


def cancel_order(order: Order, *, reason: str, at: datetime) -> bool:
    """Cancel a pending order: stock and discounts return. False if it was no longer pending.

    An order with a prepay id is cancelled only once WeChat Pay says its transaction was not paid
    and has closed it: one that was paid is applied instead (False, the order is paid now); one
    paid in the instant before the close is cancelled and its money refunded as a late payment.
    Raises an AppError (nothing changed) when WeChat Pay cannot tell.
    """
    if order.status != OrderStatus.PENDING_PAYMENT:
        return False
    paid_before_close = None
    if order.prepay_id:
        paid = paid_transaction(order.number)
        if paid is not None:
            apply_wechat_payment(paid, source="query", at=at)
            return False
        paid_before_close = _close(order.number)
    cancelled = _cancel(order, reason=reason, at=at)
    if paid_before_close is not None:  # as a notify after the cancel: recorded and refunded
        apply_wechat_payment(paid_before_close, source="close", at=at)
    return cancelled


def _cancel(order: Order, *, reason: str, at: datetime) -> bool:
    if not move(order, from_status=OrderStatus.PENDING_PAYMENT, to=OrderStatus.CANCELLED, cancelled_at=at,
                cancel_reason=reason):
        return False
    for line in order.lines:
        return_stock(line.sku_id, line.quantity, order.store_id, reference=f"order:{order.id}")
    record_event(order.member_id, JourneyKind.ORDER_CANCELLED, store_id=order.store_id, occurred_at=at,
                 order_id=order.id, reason=reason)
    events.order_cancelled.send(order_id=order.id, member_id=order.member_id, reason=reason)
    return True


def _close(number: str) -> dict[str, Any] | None:
    """Close the transaction so it can no longer be paid; the transaction if the shopper paid it first."""
    try:
        wechat_pay().close(number)
        return None
    except WeChatPayAPIError as error:
        if error.code != WeChatPayError.ORDER_PAID:
            raise
    transaction = wechat_pay().query_by_out_trade_no(number) or {}
    if transaction.get("trade_state") == "SUCCESS":
        return transaction
    if payment_recorded(transaction.get("transaction_id")):
        return None  # applied before; a refund of it may be under way (trade_state REFUND)
    raise AppError(OrderError.PAYMENT_UNSETTLED, f"WeChat Pay says order {number} was paid but answers "
                   f"{transaction.get('trade_state')}; ask again shortly.")


def settle(order: Order, at: datetime) -> str:
    """Settle a pending order with WeChat Pay: paid if it says so, cancelled past the payment window.

    What happened: paid, cancelled or unchanged. Raises an AppError (nothing changed) when WeChat Pay
    cannot tell.
    """
    if order.status != OrderStatus.PENDING_PAYMENT:
        return "unchanged"
    if order.expires_at <= at:
        if cancel_order(order, reason="payment_timeout", at=at):
            return "cancelled"
        return "paid" if order.paid_at else "unchanged"
    if order.prepay_id and apply_if_paid(order, source="query", at=at):
        return "paid"
    return "unchanged"


def cancel_by_shopper(order: Order, *, at: datetime) -> Order:
    """The shopper cancels an unpaid order (again: the same answer); a paid one is refused."""
    cancel_order(order, reason="shopper", at=at)
    if order.status != OrderStatus.CANCELLED:
        db.session.commit()  # a payment WeChat Pay reported on the way stands: the order reads paid
        raise AppError(OrderError.NOT_CANCELLABLE, f"A {order.status} order cannot be cancelled; ask for a refund.")
    return order


def expire_if_due(order: Order, at: datetime) -> Order:
    """The check on read: a pending order past its window is cancelled now (the sweep may be late).

    When WeChat Pay cannot tell whether it was paid, the order is shown as it is: the sweep settles it.
    """
    if order.status != OrderStatus.PENDING_PAYMENT or order.expires_at > at:
        return order
    try:
        cancel_order(order, reason="payment_timeout", at=at)
    except AppError as error:
        db.session.rollback()  # nothing half-done stands; the order reads as the database holds it
        log.info("order %s not cancelled on read: %s", order.number, error.code)
    return order


def cancel_expired_orders(at: datetime) -> dict[str, Any]:
    """The sweep: settle every unpaid order past its payment window (each on its own); what happened."""
    due = select(Order.id).where(Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= at)
    return sweep("order", due, lambda order_id: settle(db.session.get(Order, order_id), at), SETTLED, at)


def close_wechat_transaction(number: str) -> None:
    """Close an order's WeChat Pay transaction (a job): money paid before the close is applied, and
    refunded as a late payment when the order was cancelled."""
    paid_before_close = _close(number)
    if paid_before_close is not None:
        apply_wechat_payment(paid_before_close, source="close", at=utcnow())


def _advance(order: Order, *, from_status: OrderStatus, to_status: OrderStatus, **values) -> None:
    if not move(order, from_status=from_status, to=to_status, **values):
        raise AppError(OrderError.NOT_SHIPPABLE, f"A {order.status} order cannot become {to_status.value}.")


def ship(order: Order, *, at: datetime, logistics_type: int = LogisticsType.EXPRESS, carrier: str | None = None,
         tracking_no: str | None = None) -> Order:
    """A paid delivery order leaves the warehouse: by express (with its carrier and tracking number)
    or same-city delivery; WeChat is told (the upload goes through the outbox with this change)."""
    shipping.check_shipment(logistics_type, carrier, tracking_no)
    if logistics_type != LogisticsType.EXPRESS:
        carrier = tracking_no = None
    lock(order)  # a refund asked at this moment waits for the shipment, or the shipment sees it
    if order.refund_in_progress:
        raise AppError(OrderError.REFUND_IN_PROGRESS, "A refund of this order is being processed; do not ship it.")
    _advance(order, from_status=OrderStatus.PAID, to_status=OrderStatus.SHIPPED)
    shipping.record(order, logistics_type=logistics_type, carrier=carrier, tracking_no=tracking_no, at=at)
    events.order_shipped.send(order_id=order.id, member_id=order.member_id, carrier=carrier, tracking_no=tracking_no)
    return order


def complete_delivery(order: Order, *, at: datetime) -> Order:
    """A shipped order was delivered."""
    _advance(order, from_status=OrderStatus.SHIPPED, to_status=OrderStatus.COMPLETED, completed_at=at)
    events.order_completed.send(order_id=order.id, member_id=order.member_id, store_id=order.store_id)
    return order
