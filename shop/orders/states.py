"""Order state changes: each applies only from the expected state, so concurrent changes (two
notifies, two clerks, a cancel racing a payment) move an order once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import update

from shop.extensions import db
from shop.orders.models import Order, OrderStatus


def move(order: Order, *, from_status: OrderStatus | Iterable[OrderStatus], to: OrderStatus, **values: Any) -> bool:
    """Set ``to`` (and ``values``) if the order is still in ``from_status``; whether it moved.

    The order object is refreshed either way, so callers see what the database holds now.
    """
    allowed = [from_status] if isinstance(from_status, OrderStatus) else list(from_status)
    # RETURNING the row refreshes the loaded order in the same round trip (a change on a hot path).
    moved = db.session.execute(
        update(Order).where(Order.id == order.id, Order.status.in_([s.value for s in allowed]))
        .values(status=to.value, **values).returning(Order)
        .execution_options(synchronize_session=False, populate_existing=True)).scalar_one_or_none()
    if moved is None:
        db.session.refresh(order)
    return moved is not None
