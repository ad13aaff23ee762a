"""Refunds, whole or by lines: requested here, paid back by WeChat Pay, applied when it confirms.

A refund is ``processing`` until WeChat Pay confirms it (the refund notify, or the reconcile
query, which also sends again a refund WeChat Pay never received); only then does the order's refunded total move, stock return (for goods not yet handed
over) and ``order_refunded`` fire, so points and rewards are reversed for money really returned.
One refund is processed at a time per order: a request locks the order's row before it looks, and
a unique index refuses a second ``processing`` refund of the order's own money.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from datetime import datetime
from fractions import Fraction

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from shop import events
from shop.catalog.stock import return_stock
from shop.errors import AppError
from shop.extensions import db
from shop.jobs import PermanentJobError, enqueue, enqueue_again
from shop.members.journey import JourneyKind, record_event
from shop.orders.errors import OrderError
from shop.orders.models import Fulfilment, Order, OrderLine, OrderStatus, Refund, RefundStatus
from shop.orders.states import lock
from shop.wechat.errors import WeChatPayError
from shop.wechat.pay import WeChatPayAPIError, wechat_pay

log = logging.getLogger(__name__)
SHOPPER_REFUNDABLE = {OrderStatus.PAID, OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP}
HANDED_OVER = {OrderStatus.SHIPPED, OrderStatus.COMPLETED}  # the goods left us: shipped, or picked up
STAFF_REFUNDABLE = SHOPPER_REFUNDABLE | HANDED_OVER


def request_refund(order: Order, *, reason: str, lines: list[dict[str, int]] | None, requested_by: str,
                   allowed: set[OrderStatus], at: datetime, goods_returned: bool = False) -> Refund:
    """Ask for a refund of the given lines (``[{line_id, quantity}]``, each line once) or of all that is left.

    Money that never went through WeChat Pay (a zero-amount order, a till sale) is not sent back through
    it: the refund succeeds at once (the till hands a till sale's money back). ``goods_returned``: the
    goods came back with the money (a till sale voided at the counter), so nothing counts as handed over.
    """
    lock(order)
    if order.status not in allowed:
        raise AppError(OrderError.NOT_REFUNDABLE, f"A {order.status} order cannot be refunded here.")
    if order.refund_in_progress:
        raise _in_progress()
    portions = _line_portions(order, lines) if lines else _rest_of_order(order)
    whole_rest = not lines or _covers_rest(order, portions)
    # The last refund takes whatever is left, shipping included; a partial one, its lines' share.
    amount = order.amount_paid - order.refunded_total if whole_rest else sum(p["amount"] for p in portions)
    if amount <= 0 and order.amount_paid > 0:
        raise AppError(OrderError.REFUND_TOO_LARGE, "Nothing is left to refund.")
    refund = Refund(order_id=order.id, number=_refund_number(order), amount=amount, reason=reason, lines=portions,
                    status=RefundStatus.PROCESSING.value, requested_by=requested_by, created_at=at)
    try:
        with db.session.begin_nested():
            db.session.add(refund)
    except IntegrityError:
        # uq_refunds_order_id_processing: a refund written without this order's lock got there first.
        raise _in_progress() from None
    if order.transaction_id is None:
        refund_succeeded(refund.number, at=at, goods_returned=goods_returned)  # nothing went through WeChat Pay
    else:
        enqueue(send_refund, refund.number, key=refund.number)
    return refund


def _refund_number(order: Order) -> str:
    """WeChat Pay's out_refund_no: the order's number and a random part (at most 64 of [0-9A-Za-z_-|*@]).

    Random rather than counted: two requests counting the same refunds would take the same number.
    """
    return f"{order.number}-R{secrets.token_hex(8).upper()}"


def _in_progress() -> AppError:
    return AppError(OrderError.REFUND_IN_PROGRESS, "A refund of this order is already being processed.")


def refund_late_payment(order: Order, *, transaction_id: str, amount: int, at: datetime) -> None:
    """A payment for an order that was already cancelled (or paid): returned in full, automatically."""
    number = f"{order.number}-L{transaction_id[-8:]}"
    if db.session.scalar(select(Refund.id).where(Refund.number == number)) is None:
        db.session.add(Refund(order_id=order.id, number=number, amount=amount, reason="paid_after_cancel",
                              lines=[], status=RefundStatus.PROCESSING.value, requested_by="system",
                              created_at=at))
        enqueue(send_refund, number, key=number)


def send_refund(number: str) -> None:
    """Ask WeChat Pay to pay the refund back (an outbox job; WeChat confirms it by notify).

    Sent again under the same out_refund_no, WeChat Pay answers the refund it already has, so a
    retry never refunds twice. WeChat Pay busy or unreachable: the outbox tries again later; a
    refusal is final (the outbox shows it failed, the refund stays processing for an admin).
    """
    refund = db.session.scalar(select(Refund).where(Refund.number == number))
    if refund is None or refund.status != RefundStatus.PROCESSING:
        return
    order = refund.order
    try:
        wechat_pay().refund(order.number, refund.number, refund.amount, order.amount_payable, refund.reason)
    except WeChatPayAPIError as refused:
        if refused.code == WeChatPayError.FAILED and refused.http_status is not None and refused.http_status < 500:
            raise PermanentJobError(f"WeChat Pay refused refund {number}: {refused.message}") from refused
        raise


def refund_succeeded(number: str, *, at: datetime, goods_returned: bool = False) -> bool:
    """WeChat Pay paid the refund back: apply it once. False if it was already applied."""
    refund = db.session.scalar(select(Refund).where(Refund.number == number))
    if refund is None:
        raise AppError(OrderError.NOTIFY_MISMATCH, "No such refund.", errors={"out_refund_no": ["Unknown."]})
    changed = db.session.execute(
        update(Refund).where(Refund.id == refund.id, Refund.status == RefundStatus.PROCESSING)
        .values(status=RefundStatus.SUCCEEDED.value, succeeded_at=at)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(refund)
    if not changed:
        return False
    order = refund.order
    if refund.requested_by == "system" and refund.reason == "paid_after_cancel":
        return True  # money for a cancelled order: nothing of the order changes
    handed_over = order.status in HANDED_OVER and not goods_returned  # before the refund moves it
    _apply_to_order(order, refund, handed_over=handed_over)
    record_event(order.member_id, JourneyKind.ORDER_REFUNDED, store_id=order.store_id, occurred_at=at,
                 order_id=order.id, amount=refund.amount)
    full = order.status == OrderStatus.REFUNDED
    events.order_refunded.send(order_id=order.id, member_id=order.member_id, refund_id=refund.id,
                               amount=refund.amount, refunded_total=order.refunded_total,
                               amount_paid=order.amount_paid, full=full,
                               refunded_share=refunded_share(order.refunded_total, order.amount_paid, full=full),
                               line_shares=line_shares(order), goods_handed_over=handed_over)
    return True


def refunded_share(refunded_total: int, amount_paid: int, *, full: bool) -> Fraction:
    """The part of what the order paid that its refunds so far returned; exactly 1 once it is refunded in full.

    A Fraction, so what is taken back in proportion (points, rewards) rounds once, where it is taken.
    """
    if full or (amount_paid > 0 and refunded_total >= amount_paid):
        return Fraction(1)
    return Fraction(refunded_total, amount_paid) if amount_paid > 0 else Fraction(0)


def line_shares(order: Order) -> dict[int, Fraction]:
    """The part of each line (by line id) the order's refunds so far returned: by its amount, a free line by units."""
    return {line.id: _line_share(line) for line in order.lines}


def _line_share(line: OrderLine) -> Fraction:
    if line.amount_payable > 0:
        return min(Fraction(line.refunded_amount, line.amount_payable), Fraction(1))
    return min(Fraction(line.refunded_quantity, max(line.quantity, 1)), Fraction(1))


def refund_failed(number: str) -> None:
    db.session.execute(update(Refund).where(Refund.number == number, Refund.status == RefundStatus.PROCESSING)
                       .values(status=RefundStatus.FAILED.value))


REFUND_CHECKED = ("succeeded", "failed", "resent", "processing")  # what check_refund says happened


def check_refund(refund_id: int, at: datetime) -> str:
    """Ask WeChat Pay what became of a processing refund (its notify may be lost) and apply the answer.

    A refund WeChat Pay does not know was never sent: it is sent again, by the same job.
    """
    refund = db.session.get(Refund, refund_id)
    if refund.status != RefundStatus.PROCESSING:
        return refund.status  # its notify came meanwhile
    answer = wechat_pay().query_refund(refund.number)
    if answer is None:
        enqueue_again(send_refund, refund.number, key=refund.number)
        return "resent"
    status = answer.get("status")
    if status == "SUCCESS":
        refund_succeeded(refund.number, at=at)
        return "succeeded"
    if status in ("CLOSED", "ABNORMAL"):
        log.warning("refund %s ended %s at WeChat Pay: failed, for an admin to settle", refund.number, status)
        refund_failed(refund.number)
        return "failed"
    return "processing"


def _apply_to_order(order: Order, refund: Refund, *, handed_over: bool) -> None:
    by_id = {line.id: line for line in order.lines}
    for portion in refund.lines:
        line = by_id[portion["line_id"]]
        line.refunded_quantity += portion["quantity"]
        line.refunded_amount += portion["amount"]
        if not handed_over and order.fulfilment != Fulfilment.IN_STORE:  # a till sale took none of our stock
            return_stock(line.sku_id, portion["quantity"], order.store_id,
                         reference=f"refund:{refund.number}:{line.id}")
    order.refunded_total += refund.amount
    if order.refunded_total >= order.amount_paid:
        order.status = OrderStatus.REFUNDED.value
        order.pickup_code = None


def _line_portions(order: Order, wanted: list[dict[str, int]]) -> list[dict[str, int]]:
    _refuse_repeated_lines(wanted)
    by_id = {line.id: line for line in order.lines}
    portions, errors = [], {}
    for item in wanted:
        line = by_id.get(item["line_id"])
        if line is None:
            errors[f"lines.{item['line_id']}"] = ["Not a line of this order."]
            continue
        left = line.quantity - line.refunded_quantity
        if item["quantity"] > left:
            errors[f"lines.{line.id}"] = [f"Only {left} left to refund."]
            continue
        portions.append({"line_id": line.id, "quantity": item["quantity"], "amount": _line_amount(line, item["quantity"])})
    if errors:
        raise AppError(OrderError.REFUND_TOO_LARGE, "Some lines cannot be refunded as asked.", errors=errors)
    return portions


def _refuse_repeated_lines(wanted: list[dict[str, int]]) -> None:
    """Each entry is checked against what is left of its line: a line named twice would pass twice."""
    named = Counter(item["line_id"] for item in wanted)
    repeated = [line_id for line_id, times in named.items() if times > 1]
    if repeated:
        raise AppError(OrderError.REFUND_LINE_REPEATED, "Name each line once, with the quantity to refund.",
                       errors={f"lines.{line_id}": ["Named more than once."] for line_id in repeated})


def _rest_of_order(order: Order) -> list[dict[str, int]]:
    return [{"line_id": line.id, "quantity": line.quantity - line.refunded_quantity,
             "amount": line.amount_payable - line.refunded_amount}
            for line in order.lines if line.quantity > line.refunded_quantity]


def _line_amount(line: OrderLine, quantity: int) -> int:
    """What ``quantity`` units of the line cost the shopper; the last units take the rounding."""
    if quantity == line.quantity - line.refunded_quantity:
        return line.amount_payable - line.refunded_amount
    return line.amount_payable * quantity // line.quantity


def _covers_rest(order: Order, portions: list[dict[str, int]]) -> bool:
    asked = {p["line_id"]: p["quantity"] for p in portions}
    return all(asked.get(line.id, 0) == line.quantity - line.refunded_quantity for line in order.lines)
