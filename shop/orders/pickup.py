"""Store pickup: a clerk looks a pickup code up, sees what to hand over, then confirms.

Only staff of the order's store may; a wrong code counts against the clerk and the store, and
too many in a window lock further tries for a while (codes are 8 random digits, so guessing one
takes tens of millions of tries). Every lookup, confirmation, refusal and wrong code is logged.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import select

from shop import events
from shop.auth import Principal
from shop.errors import AppError
from shop.extensions import db, redis_client
from shop.members.journey import JourneyKind, record_event
from shop.orders.errors import OrderError
from shop.orders.models import Order, OrderStatus, PickupVerification
from shop.orders.states import lock, move

CODE = re.compile(r"^\d{8}$")
WINDOW_SECONDS = 600
MAX_WRONG_PER_STAFF = 10
MAX_WRONG_PER_STORE = 30
RETRY_WINDOW = timedelta(minutes=10)  # a confirmation sent again within this answers the first one


def look_up(staff: Principal, code: str, at: datetime) -> Order:
    """The open pickup order with this code at one of the clerk's stores (nothing changes)."""
    _refuse_if_guessing(staff)
    order = _find(staff, code, at)
    _log(order, staff, "looked_up", at)
    return order


def confirm(staff: Principal, code: str, at: datetime) -> Order:
    """Hand the order over: it becomes completed once, even if two clerks confirm together.

    The same clerk confirming again (a retry after a lost answer, a double tap) gets the first
    confirmation's order back; another clerk gets 409 ``pickup_already_completed``.
    """
    _refuse_if_guessing(staff)
    order = _find(staff, code, at, confirming=True)
    if order.status == OrderStatus.COMPLETED:  # found through an earlier confirmation: a retry
        return order
    lock(order)  # a refund asked at this moment waits for the hand-over, or the hand-over sees it
    _refuse_if_refunding(order)
    if not move(order, from_status=OrderStatus.READY_FOR_PICKUP, to=OrderStatus.COMPLETED, completed_at=at,
                pickup_code=None):
        return _confirmed_before(staff, code, at) or _already_done()
    _log(order, staff, "confirmed", at, code=code)
    record_event(order.member_id, JourneyKind.PICKED_UP, store_id=order.store_id, occurred_at=at,
                 order_id=order.id, staff_id=staff.staff_id)
    events.order_completed.send(order_id=order.id, member_id=order.member_id, store_id=order.store_id)
    return order


def _confirmed_before(staff: Principal, code: str, at: datetime) -> Order | None:
    """The order this clerk confirmed with this code lately; 409 if another clerk did; None if nobody did.

    A completed order no longer holds its code (another order may take it), so the log says.
    """
    earlier = db.session.execute(
        select(PickupVerification.order_id, PickupVerification.staff_id).where(
            PickupVerification.code == code, PickupVerification.action == "confirmed",
            PickupVerification.store_id.in_(staff.store_ids), PickupVerification.at > at - RETRY_WINDOW)
        .order_by(PickupVerification.id.desc()).limit(1)).first()
    if earlier is None:
        return None
    if earlier.staff_id != staff.staff_id:
        _already_done()
    return db.session.get(Order, earlier.order_id)


def _already_done() -> NoReturn:
    raise AppError(OrderError.PICKUP_ALREADY_DONE, "This order has just been handed over.")


def _find(staff: Principal, code: str, at: datetime, *, confirming: bool = False) -> Order:
    candidates = [] if not CODE.match(code) else db.session.scalars(
        select(Order).where(Order.pickup_code == code, Order.status == OrderStatus.READY_FOR_PICKUP)).all()
    mine = [o for o in candidates if o.store_id in staff.store_ids and hmac.compare_digest(o.pickup_code, code)]
    if not mine and confirming and CODE.match(code) and (earlier := _confirmed_before(staff, code, at)):
        return earlier
    if not mine:
        # The failure is logged in its own commit: the error response rolls the request back.
        if candidates:
            _log(None, staff, "refused", at)
            db.session.commit()
            raise AppError(OrderError.PICKUP_WRONG_STORE, "This order is for another store.")
        _count_wrong_code(staff)
        _log(None, staff, "wrong_code", at)
        db.session.commit()
        raise AppError(OrderError.PICKUP_CODE_INVALID, "No order waits for pickup with this code here.")
    order = mine[0]
    _refuse_if_refunding(order)
    return order


def _refuse_if_refunding(order: Order) -> None:
    if order.refund_in_progress:
        raise AppError(OrderError.PICKUP_BLOCKED_BY_REFUND, "A refund of this order is in progress; do not hand it over.")


def _keys(staff: Principal) -> list[tuple[str, int]]:
    return [(f"pickup:wrong:staff:{staff.staff_id}", MAX_WRONG_PER_STAFF)] + [
        (f"pickup:wrong:store:{store_id}", MAX_WRONG_PER_STORE) for store_id in staff.store_ids]


def _refuse_if_guessing(staff: Principal) -> None:
    keys = _keys(staff)
    counts = redis_client().mget([key for key, _ in keys])
    if any(int(count or 0) >= limit for count, (_, limit) in zip(counts, keys, strict=True)):
        raise AppError(OrderError.PICKUP_GUESSING, "Too many wrong pickup codes; wait a few minutes.",
                       headers={"Retry-After": str(WINDOW_SECONDS)})


def _count_wrong_code(staff: Principal) -> None:
    pipe = redis_client().pipeline()
    for key, _ in _keys(staff):
        pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)  # the window starts at the first wrong code
        pipe.incr(key)
    pipe.execute()


def _log(order: Order | None, staff: Principal, action: str, at: datetime, *, code: str | None = None) -> None:
    db.session.add(PickupVerification(order_id=order.id if order else None,
                                      store_id=order.store_id if order else None,
                                      staff_id=staff.staff_id, action=action, at=at, code=code))
