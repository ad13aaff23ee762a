"""Payment: an order becomes paid once, however often and in whatever order WeChat Pay tells us.

Also what wx.requestPayment needs, WeChat Pay's notifies, and the reconciliation that asks WeChat Pay
about payments and refunds it has not told us about.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from shop import events
from shop.errors import AppError
from shop.extensions import db
from shop.members.journey import JourneyKind, record_event
from shop.members.models import Member
from shop.metrics import NOTIFIES_REJECTED, PAYMENTS_APPLIED, count_after_commit
from shop.orders.errors import OrderError
from shop.orders.making.service import prepares_orders
from shop.orders.models import Fulfilment, Order, OrderStatus, Payment, Refund, RefundStatus
from shop.orders.refunds import (
    REFUND_CHECKED,
    check_refund,
    refund_failed,
    refund_late_payment,
    refund_succeeded,
)
from shop.orders.states import move
from shop.orders.sweeps import sweep
from shop.wechat.pay import wechat_pay

log = logging.getLogger(__name__)
PICKUP_CODE_DIGITS = 8
# WeChat Pay's trade_state of a transaction that holds no money of the shopper's: not paid (yet), or
# never to be. SUCCESS is paid; USERPAYING (still paying) and REFUND (paid, then refunded) are neither.
UNPAID_STATES = {"NOTPAY", "CLOSED", "REVOKED", "PAYERROR"}
RECONCILE_AFTER = timedelta(minutes=3)  # a notify normally comes within seconds: after this, ask

# Statements of every payment, built once (building one costs about as much CPU as running it).
_orders = Order.__table__
_BY_NUMBER = select(Order).where(Order.number == bindparam("number"))
_PAID_BEFORE = select(exists().where(_orders.c.member_id == bindparam("member"), _orders.c.id != bindparam("order"),
                                     _orders.c.paid_at.is_not(None)))
_CODE_TAKEN = select(_orders.c.id).where(_orders.c.store_id == bindparam("store"),
                                         _orders.c.pickup_code == bindparam("code"))
_members = Member.__table__
_OPENID = select(_members.c.openid).where(_members.c.id == bindparam("member"))
_SET_PREPAY = update(_orders).where(_orders.c.id == bindparam("order")).values(prepay_id=bindparam("prepay_id"))


def mark_paid(order: Order, *, amount: int, transaction_id: str | None, at: datetime, source: str) -> bool:
    """Move a pending order to paid; False if it was not pending.

    A pickup order gets its code, and is ready at once unless its store prepares orders (then its
    clerks make it ready: shop.orders.making).
    """
    pickup = order.fulfilment == Fulfilment.PICKUP
    ready = pickup and not prepares_orders(order.store_id)
    status = OrderStatus.READY_FOR_PICKUP if ready else OrderStatus.PAID
    if not move(order, from_status=OrderStatus.PENDING_PAYMENT, to=status, amount_paid=amount,
                transaction_id=transaction_id, paid_at=at, ready_at=at if ready else None,
                pickup_code=_new_pickup_code(order.store_id) if pickup else None):
        return False
    first = not db.session.scalar(_PAID_BEFORE, {"member": order.member_id, "order": order.id})
    log.info("order %s paid (%s fen, %s)", order.number, amount, source)
    record_event(order.member_id, JourneyKind.ORDER_PAID, store_id=order.store_id, occurred_at=at,
                 order_id=order.id, amount_paid=amount)
    events.order_paid.send(order_id=order.id, member_id=order.member_id, amount_paid=amount,
                           first_paid_order=first, store_id=order.store_id, paid_at=at)
    if ready:
        events.order_ready_for_pickup.send(order_id=order.id, member_id=order.member_id, store_id=order.store_id,
                                           pickup_code=order.pickup_code)
    return True


def apply_wechat_payment(resource: dict[str, Any], *, source: str, at: datetime) -> str:
    """Apply a successful transaction WeChat Pay reported; what happened: applied, duplicate, refunded_late."""
    order = _matching_order(resource)
    transaction_id = resource["transaction_id"]
    amount = int(resource["amount"]["total"])
    if mark_paid(order, amount=amount, transaction_id=transaction_id, at=at, source=source):
        # Moving the order locked its row until we commit: another delivery of this transaction (a
        # duplicate notify, the reconcile job) waits at its own move, then finds the order paid. So the
        # first delivery needs neither a look for an earlier payment nor a savepoint.
        db.session.execute(insert(Payment.__table__).values(
            order_id=order.id, transaction_id=transaction_id, amount=amount, outcome="applied", paid_at=at,
            received_at=at, source=source))
        count_after_commit(PAYMENTS_APPLIED.labels(source=source))
        return "applied"
    if payment_recorded(transaction_id):
        return "duplicate"
    try:
        with db.session.begin_nested():
            db.session.add(Payment(order_id=order.id, transaction_id=transaction_id, amount=amount,
                                   outcome="refunded_late", paid_at=at, received_at=at, source=source))
    except IntegrityError:
        return "duplicate"  # the same notify, recorded by a concurrent delivery
    # Paid after it was cancelled (or paid twice): keep the record and give the money back.
    refund_late_payment(order, transaction_id=transaction_id, amount=amount, at=at)
    return "refunded_late"


def payment_recorded(transaction_id: str | None) -> bool:
    """Whether this WeChat Pay transaction was applied already (or recorded as a late payment)."""
    return transaction_id is not None and db.session.scalar(
        select(Payment.id).where(Payment.transaction_id == transaction_id)) is not None


def paid_transaction(number: str) -> dict[str, Any] | None:
    """The order's WeChat Pay transaction if it was paid; None if it holds no money (not paid, closed, none).

    Raises a ``WeChatPayAPIError`` when WeChat Pay cannot tell, and ``order_payment_unsettled`` while
    the shopper is still paying (or for money WeChat Pay refunded without us): nothing can be decided then.
    """
    transaction = wechat_pay().query_by_out_trade_no(number)
    state = transaction.get("trade_state") if transaction else None
    if state == "SUCCESS":
        return transaction
    if state is None or state in UNPAID_STATES:
        return None
    raise AppError(OrderError.PAYMENT_UNSETTLED, f"WeChat Pay says the payment of order {number} is {state}; "
                   "ask again shortly.")


def apply_if_paid(order: Order, *, source: str, at: datetime) -> bool:
    """Ask WeChat Pay about the order's transaction and apply it if it was paid (a lost notify); whether it was."""
    transaction = paid_transaction(order.number)
    if transaction is None:
        return False
    apply_wechat_payment(transaction, source=source, at=at)
    return True


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
    try:
        return _apply_notify(wechat_pay().parse_notify(headers, body), at)
    except AppError as refused:  # forged, garbled, replayed or not ours: each reason is watched
        NOTIFIES_REJECTED.labels(reason=refused.code.value).inc()
        raise


def _apply_notify(notify: dict[str, Any], at: datetime) -> str:
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
    # Imported here: settling builds on this module (lifecycle applies payments), not the other way.
    from shop.orders.lifecycle import SETTLED, settle  # noqa: PLC0415
    orders = select(Order.id).where(Order.status == OrderStatus.PENDING_PAYMENT, Order.prepay_id.is_not(None),
                                    Order.created_at <= at - RECONCILE_AFTER)
    refunds = select(Refund.id).where(Refund.status == RefundStatus.PROCESSING,
                                      Refund.created_at <= at - RECONCILE_AFTER)
    return {"orders": sweep("order", orders, lambda order_id: settle(db.session.get(Order, order_id), at),
                            SETTLED, at),
            "refunds": sweep("refund", refunds, lambda refund_id: check_refund(refund_id, at), REFUND_CHECKED, at)}


def _matching_order(resource: dict[str, Any]) -> Order:
    """The order a transaction pays, after checking it is ours and for the right amount."""
    config = current_app.config
    problems = []
    if resource.get("mchid") != config["WECHATPAY_MCHID"]:
        problems.append("mchid")
    if resource.get("appid") != config["WECHAT_APPID"]:
        problems.append("appid")
    if resource.get("trade_state") != "SUCCESS":
        problems.append("trade_state")
    order = db.session.scalar(_BY_NUMBER, {"number": str(resource.get("out_trade_no", ""))})
    if order is None:
        problems.append("out_trade_no")
    elif int((resource.get("amount") or {}).get("total", -1)) != order.amount_payable:
        problems.append("amount")
    if problems:
        log.error("WeChat Pay transaction does not match our order: %s (%s)", problems, resource.get("out_trade_no"))
        raise AppError(OrderError.NOTIFY_MISMATCH, "The transaction does not match an order of ours.",
                       errors={field: ["Does not match."] for field in problems})
    return order


def _new_pickup_code(store_id: int | None) -> str:
    """Eight random digits, unique among the store's open orders (the database index enforces it)."""
    for _ in range(20):
        code = f"{secrets.randbelow(10**PICKUP_CODE_DIGITS):0{PICKUP_CODE_DIGITS}d}"
        taken = db.session.scalar(_CODE_TAKEN, {"store": store_id, "code": code})
        if taken is None:
            return code
    raise RuntimeError("no free pickup code after 20 tries")


def _description(order: Order) -> str:
    """WeChat Pay shows this to the payer (at most 127 characters)."""
    first = order.lines[0].title
    more = f" and {len(order.lines) - 1} more" if len(order.lines) > 1 else ""
    return f"Ripple {first}{more}"[:127]
