"""Order making endpoints for the clerks of a store that prepares orders."""

from __future__ import annotations

from flask_smorest import Blueprint

from shop.auth import Role, current_principal, roles_required
from shop.database import utcnow
from shop.errors import AppError, raises
from shop.extensions import db
from shop.orders.errors import OrderError
from shop.orders.making import service
from shop.orders.making.schemas import CounterOrderSchema, QueueArgs
from shop.orders.models import OrderStatus
from shop.pagination import PageArgs, page_of, paginate

blp = Blueprint("order_making", __name__, url_prefix="/api/v1", description=(
    "Order making at the counter. A store with `prepares_orders` (admin store API) takes its paid pickup "
    "orders through paid -> preparing -> ready_for_pickup: its clerks see the queue in payment order, "
    "mark an order as being made, then ready (which tells the shopper). Other stores' pickup orders are "
    "ready as soon as they are paid."))

_MOVES = (OrderError.ORDER_NOT_FOUND, OrderError.NOT_AT_YOUR_STORE, OrderError.NOT_SHIPPABLE)
_MOVE_NOTES = {OrderError.NOT_SHIPPABLE: "the order is not paid (pending, cancelled, refunded)",
               OrderError.NOT_AT_YOUR_STORE: "not a pickup order of one of your stores"}


@blp.route("/staff/orders", methods=["GET"])
@roles_required(Role.STAFF)
@raises(OrderError.NOT_AT_YOUR_STORE)
@blp.arguments(QueueArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(CounterOrderSchema))
def making_queue(filters, page):
    """Your store's pickup orders to make and hand over, first paid first

    `status` narrows it to paid (not started), preparing or ready_for_pickup; omitted, all three.
    Role: staff (their own stores).
    """
    staff = current_principal()
    store_ids = staff.store_ids
    if filters["store_id"] is not None:
        if filters["store_id"] not in store_ids:
            raise AppError(OrderError.NOT_AT_YOUR_STORE, "This is not one of your stores.")
        store_ids = (filters["store_id"],)
    statuses = [OrderStatus(filters["status"])] if filters["status"] else service.QUEUE_STATUSES
    return paginate(service.queue(store_ids, statuses), **page)


@blp.route("/staff/orders/<id:order_id>/prepare", methods=["POST"])
@roles_required(Role.STAFF)
@raises(*_MOVES, notes=_MOVE_NOTES)
@blp.response(200, CounterOrderSchema)
def prepare(order_id):
    """Start making a paid order

    Asked again (or once the order is ready or collected), it answers the order as it stands.
    Role: staff of the order's store.
    """
    order, _moved = service.start_preparing(current_principal(), order_id, utcnow())
    db.session.commit()
    return order


@blp.route("/staff/orders/<id:order_id>/ready", methods=["POST"])
@roles_required(Role.STAFF)
@raises(*_MOVES, notes=_MOVE_NOTES)
@blp.response(200, CounterOrderSchema)
def ready(order_id):
    """The order is made: ready for pickup, and the shopper is told (once)

    From preparing, or straight from paid. Asked again (or once collected), it answers the order as
    it stands. Role: staff of the order's store.
    """
    order, _moved = service.mark_ready(current_principal(), order_id, utcnow())
    db.session.commit()
    return order
