"""Orders as the shopper and staff see them; payment with WeChat Pay; notifies and reconciliation."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from shop.errors import AppError
from shop.extensions import db, redis_client
from shop.members.models import Member
from shop.orders.errors import OrderError
from shop.orders.lifecycle import SETTLED, expire_if_due, settle
from shop.orders.models import Order, OrderStatus, Refund, RefundStatus
from shop.orders.payment import apply_wechat_payment
from shop.orders.refunds import REFUND_CHECKED, check_refund, refund_failed, refund_succeeded
from shop.orders.sweeps import sweep
from shop.wechat.pay import wechat_pay

log = logging.getLogger(__name__)
RECONCILE_AFTER = timedelta(minutes=3)  # a notify normally comes within seconds: after this, ask
ASK_ON_READ_EVERY_SECONDS = 3  # a shopper's reads of a payable order ask WeChat Pay at most this often
_members = Member.__table__
_OPENID = select(_members.c.openid).where(_members.c.id == bindparam("member"))  # every order: built once
_orders = Order.__table__
_SET_PREPAY = update(_orders).where(_orders.c.id == bindparam("order")).values(prepay_id=bindparam("prepay_id"))


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
    except redis.RedisError as error:
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


def all_orders(*, status: str | None) -> Select:
    statement = select(Order).order_by(Order.id.desc())
    return statement.where(Order.status == status) if status else statement


def payment_params(order: Order) -> dict[str, Any] | None:
    """What wx.requestPayment needs, asking WeChat Pay for a prepay id the first time."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        return None
    if order.prepay_id is None:
        openid = db.session.scalar(_OPENID, {"member": order.member_id})
        prepay_id = wechat_pay().prepay_jsapi(
            out_trade_no=order.number, description=_description(order), amount_fen=order.amount_payable,
            payer_openid=openid, time_expire=order.expires_at)
        # Written at once and set as loaded: no unit-of-work flush for one column on every order.
        db.session.execute(_SET_PREPAY, {"order": order.id, "prepay_id": prepay_id})
        set_committed_value(order, "prepay_id", prepay_id)
    return wechat_pay().request_payment_params(order.prepay_id)


def handle_pay_notify(headers: dict[str, str], body: bytes, at: datetime) -> str:
    """A WeChat Pay notify: verified and decrypted by the gateway, then applied once."""
    notify = wechat_pay().parse_notify(headers, body)
    resource = notify["resource"]
    if notify["event_type"] == "TRANSACTION.SUCCESS":
        return apply_wechat_payment(resource, source="notify", at=at)
    if notify["event_type"] == "REFUND.SUCCESS":
        return "applied" if refund_succeeded(resource["out_refund_no"], at=at) else "duplicate"
    if notify["event_type"] in ("REFUND.ABNORMAL", "REFUND.CLOSED"):
        refund_failed(resource["out_refund_no"])
        return "refund_failed"
    return "ignored"


def reconcile(at: datetime) -> dict[str, dict[str, Any]]:
    """Ask WeChat Pay about orders pending for a while and refunds it has not confirmed, each on its own.

    Lost payments are applied, orders past their window cancelled (see ``settle``), refunds settled
    from WeChat Pay's answer or sent again; what WeChat Pay cannot answer is asked again later.
    """
    orders = select(Order.id).where(Order.status == OrderStatus.PENDING_PAYMENT, Order.prepay_id.is_not(None),
                                    Order.created_at <= at - RECONCILE_AFTER)
    refunds = select(Refund.id).where(Refund.status == RefundStatus.PROCESSING,
                                      Refund.created_at <= at - RECONCILE_AFTER)
    return {"orders": sweep("order", orders, lambda order_id: settle(db.session.get(Order, order_id), at),
                            SETTLED, at),
            "refunds": sweep("refund", refunds, lambda refund_id: check_refund(refund_id, at), REFUND_CHECKED, at)}


def _description(order: Order) -> str:
    """WeChat Pay shows this to the payer (at most 127 characters)."""
    first = order.lines[0].title
    more = f" and {len(order.lines) - 1} more" if len(order.lines) > 1 else ""
    return f"Ripple {first}{more}"[:127]
