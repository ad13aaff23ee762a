"""The rules of order making: which orders a clerk may move, the moves (each once, a repeat answers
the order as it stands), the store's queue and how many orders are ahead of a shopper's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, func, or_, select

from shop import events
from shop.auth import Principal
from shop.errors import AppError
from shop.extensions import db
from shop.orders.errors import OrderError
from shop.orders.models import Fulfilment, Order, OrderStatus
from shop.orders.states import move
from shop.stores.models import Store

IN_MAKING = (OrderStatus.PAID, OrderStatus.PREPARING)  # paid and not ready yet: what the counter makes
QUEUE_STATUSES = (*IN_MAKING, OrderStatus.READY_FOR_PICKUP)  # what the store's queue lists
# A move asked again once the order has reached (or passed) its target is a repeat: answered, not refused.
_REACHED = {OrderStatus.PREPARING: {OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP, OrderStatus.COMPLETED},
            OrderStatus.READY_FOR_PICKUP: {OrderStatus.READY_FOR_PICKUP, OrderStatus.COMPLETED}}
_PREPARES = select(Store.prepares_orders).where(Store.id == bindparam("store"))


def prepares_orders(store_id: int | None) -> bool:
    """Whether the store makes its pickup orders before they are ready (else they are ready when paid)."""
    return store_id is not None and bool(db.session.scalar(_PREPARES, {"store": store_id}))


def store_order(staff: Principal, order_id: int) -> Order:
    """An order of one of the clerk's stores: 404 ``order_not_found``, 403 ``order_not_at_your_store``."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise AppError(OrderError.ORDER_NOT_FOUND, "No such order.")
    if order.fulfilment != Fulfilment.PICKUP or order.store_id not in staff.store_ids:
        raise AppError(OrderError.NOT_AT_YOUR_STORE, "This order is not a pickup order of one of your stores.")
    return order


def start_preparing(staff: Principal, order_id: int, at: datetime) -> tuple[Order, bool]:
    """(order, moved now): a paid pickup order of the clerk's store is being made."""
    order = store_order(staff, order_id)
    moved = move(order, from_status=OrderStatus.PAID, to=OrderStatus.PREPARING, preparing_at=at)
    return _moved_or_repeat(order, moved, OrderStatus.PREPARING)


def mark_ready(staff: Principal, order_id: int, at: datetime) -> tuple[Order, bool]:
    """(order, moved now): the order can be collected (from preparing, or straight from paid); the
    shopper is told through ``order_ready_for_pickup``, once."""
    order = store_order(staff, order_id)
    moved = move(order, from_status=IN_MAKING, to=OrderStatus.READY_FOR_PICKUP, ready_at=at)
    if moved:
        events.order_ready_for_pickup.send(order_id=order.id, member_id=order.member_id, store_id=order.store_id,
                                           pickup_code=order.pickup_code)
    return _moved_or_repeat(order, moved, OrderStatus.READY_FOR_PICKUP)


def _moved_or_repeat(order: Order, moved: bool, target: OrderStatus) -> tuple[Order, bool]:
    if moved or order.status in _REACHED[target]:
        return order, moved
    raise AppError(OrderError.NOT_SHIPPABLE, f"A {order.status} order cannot become {target.value}.")


def queue(store_ids: Iterable[int], statuses: Iterable[OrderStatus] = QUEUE_STATUSES) -> Select:
    """The stores' pickup orders in these statuses, in payment order (a statement, for paginate)."""
    return (select(Order).where(Order.store_id.in_(list(store_ids)), Order.fulfilment == Fulfilment.PICKUP.value,
                                Order.status.in_([s.value for s in statuses]))
            .order_by(Order.paid_at, Order.id))


def orders_ahead(order: Order) -> int | None:
    """How many of its store's orders were paid before this one and are still being made; None once it is
    not waiting to be made (ready, collected, refunded, or never paid)."""
    if order.fulfilment != Fulfilment.PICKUP or order.status not in IN_MAKING or order.paid_at is None:
        return None
    earlier = or_(Order.paid_at < order.paid_at, and_(Order.paid_at == order.paid_at, Order.id < order.id))
    return db.session.scalar(select(func.count()).select_from(Order).where(
        Order.store_id == order.store_id, Order.status.in_([s.value for s in IN_MAKING]), earlier))
