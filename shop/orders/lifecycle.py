"""Cancelling unpaid orders (by the shopper, or when the payment window passes) and what returns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from shop import events
from shop.catalog.stock import return_stock
from shop.errors import AppError
from shop.extensions import db
from shop.jobs import enqueue
from shop.members.journey import JourneyKind, record_event
from shop.orders.errors import OrderError
from shop.orders.models import Order, OrderStatus
from shop.orders.states import move
from shop.wechat.pay import wechat_pay

SWEEP_BATCH = 500


def cancel_order(order: Order, *, reason: str, at: datetime) -> bool:
    """Cancel a pending order: stock and discounts return, the WeChat Pay transaction is closed.

    False if the order was no longer pending (paid in the meantime, or already cancelled).
    """
    if not move(order, from_status=OrderStatus.PENDING_PAYMENT, to=OrderStatus.CANCELLED, cancelled_at=at,
                cancel_reason=reason):
        return False
    for line in order.lines:
        return_stock(line.sku_id, line.quantity, order.store_id, reference=f"order:{order.id}")
    record_event(order.member_id, JourneyKind.ORDER_CANCELLED, store_id=order.store_id, occurred_at=at,
                 order_id=order.id, reason=reason)
    events.order_cancelled.send(order_id=order.id, member_id=order.member_id, reason=reason)
    if order.prepay_id:
        enqueue(close_wechat_transaction, order.number, key=order.number)
    return True


def cancel_by_shopper(order: Order, *, at: datetime) -> Order:
    if not cancel_order(order, reason="shopper", at=at) and order.status != OrderStatus.CANCELLED:
        raise AppError(OrderError.NOT_CANCELLABLE, f"A {order.status} order cannot be cancelled; ask for a refund.")
    return order


def expire_if_due(order: Order, at: datetime) -> Order:
    """The check on read: an unpaid order past its window is cancelled now (the sweep may be late)."""
    if order.status == OrderStatus.PENDING_PAYMENT and order.expires_at <= at:
        cancel_order(order, reason="payment_timeout", at=at)
    return order


def cancel_expired_orders(at: datetime) -> int:
    """The sweep: cancel every unpaid order past its payment window; how many."""
    count = 0
    while True:
        due = db.session.scalars(select(Order).where(Order.status == OrderStatus.PENDING_PAYMENT,
                                                     Order.expires_at <= at).limit(SWEEP_BATCH)).all()
        if not due:
            return count
        count += sum(cancel_order(order, reason="payment_timeout", at=at) for order in due)
        db.session.commit()


def close_wechat_transaction(number: str) -> None:
    """Close the order's WeChat Pay transaction, so it can no longer be paid (best effort)."""
    wechat_pay().close(number)


def _advance(order: Order, *, from_status: OrderStatus, to_status: OrderStatus, **values) -> None:
    if not move(order, from_status=from_status, to=to_status, **values):
        raise AppError(OrderError.NOT_SHIPPABLE, f"A {order.status} order cannot become {to_status.value}.")


def ship(order: Order, *, at: datetime) -> Order:
    """A paid delivery order leaves the warehouse."""
    if order.refund_in_progress:
        raise AppError(OrderError.REFUND_IN_PROGRESS, "A refund of this order is being processed; do not ship it.")
    _advance(order, from_status=OrderStatus.PAID, to_status=OrderStatus.SHIPPED)
    return order


def complete_delivery(order: Order, *, at: datetime) -> Order:
    """A shipped order was delivered."""
    _advance(order, from_status=OrderStatus.SHIPPED, to_status=OrderStatus.COMPLETED, completed_at=at)
    events.order_completed.send(order_id=order.id, member_id=order.member_id, store_id=order.store_id)
    return order
