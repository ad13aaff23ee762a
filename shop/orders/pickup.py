"""Store pickup: a clerk looks a pickup code up, sees what to hand over, then confirms.

Only staff of the order's store may. Wrong codes are rate limited per clerk and per store where the
endpoint is declared (``shop.orders.api``; codes are 8 random digits, so guessing one takes tens of
millions of tries). Every lookup, confirmation, refusal and wrong code is logged.
The same clerk confirming again within the counter's retry window (``shop.stores.counter``) gets the
first confirmation's order (200); any later scan of a handed-over order's code is 409 with when and where.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime

from sqlalchemy import select

from shop import events
from shop.auth import Principal
from shop.errors import AppError
from shop.extensions import db
from shop.members.journey import JourneyKind, record_event
from shop.orders.errors import OrderError
from shop.orders.models import Fulfilment, Order, OrderStatus, PickupVerification
from shop.orders.states import lock, move
from shop.shipping import service as shipping
from shop.shipping.models import LogisticsType
from shop.stores.counter import is_retry, when_and_where

CODE = re.compile(r"^\d{8}$")
QR_PREFIX = "ripple:pickup:"  # the order's QR payload: the prefix, then the code
# Orders whose code a clerk may be shown: ready, or still being made at a store that prepares orders.
_HOLDING_CODE = (OrderStatus.READY_FOR_PICKUP, OrderStatus.PAID, OrderStatus.PREPARING)


def look_up(staff: Principal, code: str, at: datetime) -> Order:
    """The open pickup order with this code at one of the clerk's stores (nothing changes)."""
    order = _find(staff, code, at)
    _log(order, staff, "looked_up", at)
    return order


def confirm(staff: Principal, code: str, at: datetime) -> tuple[Order, bool]:
    """(order, handed over now): hand the order over, once, even if two clerks confirm together.

    The same clerk confirming again within the retry window (a lost answer, a double tap) gets the
    first confirmation's order back, not handed over now; anyone else, or later, gets 409
    ``pickup_already_completed`` with when and where.
    """
    order = _find(staff, code, at, confirming=True)
    if order.status == OrderStatus.COMPLETED:  # found through this clerk's confirmation a moment ago
        return order, False
    lock(order)  # a refund asked at this moment waits for the hand-over, or the hand-over sees it
    _refuse_if_refunding(order)
    if not move(order, from_status=OrderStatus.READY_FOR_PICKUP, to=OrderStatus.COMPLETED, completed_at=at,
                pickup_code=None):  # another confirmation won the race: ours is its retry, or too late
        return _retry_of_hand_over(staff, at, _handed_over(staff, code)), False
    _log(order, staff, "confirmed", at, code=code)
    shipping.record(order, logistics_type=LogisticsType.SELF_PICKUP, at=at)  # WeChat is told the goods left
    record_event(order.member_id, JourneyKind.PICKED_UP, store_id=order.store_id, occurred_at=at,
                 order_id=order.id, staff_id=staff.staff_id)
    events.order_completed.send(order_id=order.id, member_id=order.member_id, store_id=order.store_id)
    return order, True


def handed_over_since(store_id: int, since: datetime) -> list[Order]:
    """The store's pickup orders handed over at or after ``since``, latest first."""
    return list(db.session.scalars(select(Order).where(
        Order.store_id == store_id, Order.fulfilment == Fulfilment.PICKUP.value,
        Order.status == OrderStatus.COMPLETED.value, Order.completed_at >= since)
        .order_by(Order.completed_at.desc(), Order.id.desc())))


def _handed_over(staff: Principal, code: str) -> PickupVerification | None:
    """The latest hand-over at the clerk's stores of an order with this code.

    A completed order no longer holds its code (another order may take it), so the log says.
    """
    return db.session.scalar(select(PickupVerification).where(
        PickupVerification.code == code, PickupVerification.action == "confirmed",
        PickupVerification.store_id.in_(staff.store_ids)).order_by(PickupVerification.id.desc()).limit(1))


def _retry_of_hand_over(staff: Principal, at: datetime, earlier: PickupVerification | None) -> Order:
    """The order a confirmation now repeats (this clerk's, within the retry window); else 409 with when and where."""
    if earlier is not None and earlier.staff_id == staff.staff_id and is_retry(earlier.at, at):
        return db.session.get(Order, earlier.order_id)
    raise _already_handed_over(earlier)


def _already_handed_over(earlier: PickupVerification | None) -> AppError:
    """409 ``pickup_already_completed``; ``details``: ``used_at``, ``store_id``, ``store_name``, ``order_id``."""
    if earlier is None:  # it left ready_for_pickup by another way than a hand-over (a refund, say)
        return AppError(OrderError.PICKUP_ALREADY_DONE, "This order is no longer waiting for pickup.")
    phrase, details = when_and_where(earlier.at, earlier.store_id)
    return AppError(OrderError.PICKUP_ALREADY_DONE, f"This order was already handed over {phrase}.",
                    details={**details, "order_id": earlier.order_id})


def _find(staff: Principal, code: str, at: datetime, *, confirming: bool = False) -> Order:
    candidates = [] if not CODE.match(code) else db.session.scalars(
        select(Order).where(Order.pickup_code == code, Order.status.in_(_HOLDING_CODE))).all()
    mine = [o for o in candidates if o.store_id in staff.store_ids and hmac.compare_digest(o.pickup_code, code)]
    if not mine and CODE.match(code) and (earlier := _handed_over(staff, code)) is not None:
        if confirming:
            return _retry_of_hand_over(staff, at, earlier)
        raise _already_handed_over(earlier)  # a look-up: nothing is left to hand over
    if not mine:
        # The failure is logged in its own commit: the error response rolls the request back.
        if candidates:
            _log(None, staff, "refused", at)
            db.session.commit()
            raise AppError(OrderError.PICKUP_WRONG_STORE, "This order is for another store.")
        _log(None, staff, "wrong_code", at)
        db.session.commit()
        raise AppError(OrderError.PICKUP_CODE_INVALID, "No order waits for pickup with this code here.")
    order = mine[0]
    if order.status != OrderStatus.READY_FOR_PICKUP:  # its store is still making it
        _log(order, staff, "not_ready", at)
        db.session.commit()
        raise AppError(OrderError.PICKUP_NOT_READY, "This order is still being made; mark it ready first.")
    _refuse_if_refunding(order)
    return order


def _refuse_if_refunding(order: Order) -> None:
    if order.refund_in_progress:
        raise AppError(OrderError.PICKUP_BLOCKED_BY_REFUND, "A refund of this order is in progress; do not hand it over.")


def _log(order: Order | None, staff: Principal, action: str, at: datetime, *, code: str | None = None) -> None:
    db.session.add(PickupVerification(order_id=order.id if order else None,
                                      store_id=order.store_id if order else None,
                                      staff_id=staff.staff_id, action=action, at=at, code=code))
