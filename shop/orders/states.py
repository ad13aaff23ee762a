"""Order state changes: each applies only from the expected state, so concurrent changes (two
notifies, two clerks, a cancel racing a payment) move an order once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from shop.extensions import db
from shop.metrics import ORDERS, count_after_commit
from shop.orders.models import Order, OrderStatus

_orders = Order.__table__
_COLUMNS = {attribute.key: attribute.columns[0] for attribute in inspect(Order).column_attrs}


def move(order: Order, *, from_status: OrderStatus | Iterable[OrderStatus], to: OrderStatus, **values: Any) -> bool:
    """Set ``to`` (and ``values``) if the order is still in ``from_status``; whether it moved.

    The order object is refreshed either way, so callers see what the database holds now.
    """
    allowed = [from_status] if isinstance(from_status, OrderStatus) else list(from_status)
    db.session.flush()  # changes still pending on the order reach its row before RETURNING reloads it
    # A Core UPDATE whose RETURNING refreshes the loaded order in the same round trip: this runs on
    # every payment, and the ORM's own UPDATE ... RETURNING costs several times the CPU.
    row = db.session.execute(
        update(_orders).where(_orders.c.id == order.id, _orders.c.status.in_([s.value for s in allowed]))
        .values(status=to.value, **values).returning(*_COLUMNS.values())).first()
    if row is None:
        db.session.refresh(order)
        return False
    for key, column in _COLUMNS.items():
        set_committed_value(order, key, row._mapping[column])
    count_after_commit(ORDERS.labels(state=to.value))
    return True


def lock(order: Order) -> None:
    """Hold the order's row until the transaction ends, and reload it, its lines and refunds as committed now.

    For a check that must still hold when the change it allows commits (no refund in progress before
    a hand-over, nothing in progress before a refund): whoever locks second waits, then sees what the
    first did. PostgreSQL locks the row (FOR UPDATE); SQLite has no row locks, but the savepoint
    begins its transaction IMMEDIATE (shop.database.use_real_sqlite_transactions), taking the
    database's write lock.
    """
    with db.session.begin_nested():
        db.session.scalars(select(Order).where(Order.id == order.id).with_for_update()
                           .options(selectinload(Order.lines), selectinload(Order.refunds))
                           .execution_options(populate_existing=True)).one()
