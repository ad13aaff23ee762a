"""Reconciliation: each day's WeChat Pay bills against our payments and refunds.

Every row of the trade bill is matched with what we hold, and every payment and refund we hold for
that day with the bill. What the rule settles is applied and reported ``resolved``: a payment WeChat
Pay took whose notify we lost (applied through the notify path, so once), a refund WeChat Pay shows
done that we still hold processing (settled by asking WeChat Pay). Anything else is ``flagged`` for
a person: a transaction or refund we do not know, one the bill lacks, an amount that differs.

A day can be reconciled again (the CLI): flagged differences are found afresh, resolved ones stay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from shop.bills.format import (
    BillFormatError,
    FundBill,
    TradeBill,
    TradeRow,
    parse_fund_bill,
    parse_trade_bill,
)
from shop.bills.models import BillDifference, BillRun, DifferenceKind, Resolution, RunStatus
from shop.config import WECHAT_PAY_ZONE
from shop.errors import AppError
from shop.extensions import db
from shop.metrics import BILL_DIFFERENCES, BILL_RECONCILIATIONS, count_after_commit
from shop.orders.models import Order, Payment, Refund, RefundStatus
from shop.orders.payment import apply_wechat_payment, paid_transaction
from shop.orders.refunds import check_refund
from shop.wechat.bills import BillKind, download_bill
from shop.wechat.errors import WeChatPayError
from shop.wechat.pay import WeChatPayAPIError, wechat_pay

log = logging.getLogger(__name__)
SOURCE = "bill"  # Payment.source of a payment applied from a bill
# Days before the latest that the job goes back to: WeChat Pay keeps bills for three months; a week covers
# a scheduler that was down for days without a new install asking for a week of bills it never had.
CATCH_UP_DAYS = 7


class BillNotReady(Exception):
    """WeChat Pay has not made the day's trade bill yet (and it is too early to take that as 'no trades')."""


@dataclass
class Found:
    """The differences of one comparison, before they are stored."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: DifferenceKind, resolution: Resolution, *, reference: str, note: str, **values: Any) -> None:
        details = {"note": note, **values.pop("details", {})}
        self.items.append({"kind": kind.value, "resolution": resolution.value, "reference": reference,
                           "details": details, **values})


# -- the day ------------------------------------------------------------------------------------


def day_bounds(bill_date: date) -> tuple[datetime, datetime]:
    """The Beijing-time day a bill covers, as aware datetimes."""
    start = datetime.combine(bill_date, time(0), tzinfo=WECHAT_PAY_ZONE)
    return start, start + timedelta(days=1)


def due_bill_date(now: datetime) -> date:
    """The latest day whose bill WeChat Pay has made by now (from WECHATPAY_BILL_HOUR the next day)."""
    hour = current_app.config["WECHATPAY_BILL_HOUR"]
    return (now.astimezone(WECHAT_PAY_ZONE) - timedelta(hours=hour)).date() - timedelta(days=1)


def gives_up_waiting_at(bill_date: date) -> datetime:
    """When a bill WeChat Pay still has not made means there was no trade that day."""
    config = current_app.config
    _, end = day_bounds(bill_date)
    return end + timedelta(hours=config["WECHATPAY_BILL_HOUR"] + config["WECHATPAY_BILL_WAIT_HOURS"])


# -- running ------------------------------------------------------------------------------------


def reconcile_bill(bill_date: date, now: datetime) -> BillRun:
    """Download the day's bills and compare them with us; the run, done (or waiting for the bill).

    Raises ``WeChatPayAPIError`` when WeChat Pay cannot be asked or its file is refused; the run
    then records the failure and when to try again.
    """
    run_id = _run_of(bill_date).id
    # Counting the try locks the run's row (SQLite: the database) until the caller commits, so the job
    # and the CLI running one day at once take turns.
    db.session.execute(update(BillRun).where(BillRun.id == run_id).values(attempts=BillRun.attempts + 1))
    run = db.session.scalar(select(BillRun).where(BillRun.id == run_id).execution_options(populate_existing=True))
    try:
        trade, fund = _bills(bill_date, now)
        found = compare(bill_date, trade, now)
    except BillNotReady:
        _wait(run, now, "WeChat Pay has not made the bill yet", RunStatus.WAITING)
        return run
    except WeChatPayAPIError as error:
        _wait(run, now, error.message, RunStatus.FAILED)
        raise
    _store(run, found)
    for item in found.items:
        count_after_commit(BILL_DIFFERENCES.labels(resolution=str(item["resolution"])))
    run.bill_found = trade is not None
    run.trade_rows = len(trade.rows) if trade else 0
    run.paid_fen, run.refunded_fen = (trade.settlement_fen, trade.refund_fen) if trade else (0, 0)
    run.fund_rows = len(fund.rows) if fund else 0
    run.fund_income_fen, run.fund_expense_fen = (fund.income_fen, fund.expense_fen) if fund else (0, 0)
    run.status, run.finished_at, run.next_attempt_at, run.last_error = RunStatus.DONE.value, now, None, None
    count_after_commit(BILL_RECONCILIATIONS.labels(outcome=RunStatus.DONE.value))
    log.info("reconciled the WeChat Pay bill of %s: %s differences", bill_date, len(found.items))
    return run


def reconcile_due_bills(now: datetime) -> dict[str, Any]:
    """The periodic job: the latest day's bill once WeChat Pay has made it (asking again until then), and
    any day of the week before left unreconciled, oldest first (a scheduler that was down, a late bill)."""
    latest = due_bill_date(now)
    earlier = [_reconcile_day(day, now) for day in _unfinished_days_before(latest)]
    summary = _reconcile_day(latest, now)
    return {**summary, "earlier": earlier} if earlier else summary


def _unfinished_days_before(latest: date) -> list[date]:
    """Days of the catch-up window before ``latest``, since the first day ever reconciled, not yet done."""
    first = db.session.scalar(select(func.min(BillRun.bill_date)))
    if first is None:
        return []  # a new install starts from the latest day, not from a week of days before it
    start = max(first, latest - timedelta(days=CATCH_UP_DAYS))
    done = set(db.session.scalars(select(BillRun.bill_date).where(
        BillRun.bill_date >= start, BillRun.bill_date < latest, BillRun.status == RunStatus.DONE.value)))
    days = (start + timedelta(days=n) for n in range((latest - start).days))
    return [day for day in days if day not in done]


def _reconcile_day(bill_date: date, now: datetime) -> dict[str, Any]:
    run = db.session.scalar(select(BillRun).where(BillRun.bill_date == bill_date))
    if run is not None and (run.status == RunStatus.DONE or (run.next_attempt_at and run.next_attempt_at > now)):
        return {"date": bill_date.isoformat(), "status": run.status}
    try:
        run = reconcile_bill(bill_date, now)
    except WeChatPayAPIError as error:
        db.session.commit()  # the failure and when to try again
        return {"date": bill_date.isoformat(), "status": RunStatus.FAILED.value, "error": error.code.value}
    summary = {"date": bill_date.isoformat(), "status": run.status}
    return {**summary, "differences": len(run.differences)} if run.status == RunStatus.DONE else summary


def report(bill_date: date) -> BillRun | None:
    return db.session.scalar(select(BillRun).where(BillRun.bill_date == bill_date))


def _run_of(bill_date: date) -> BillRun:
    run = report(bill_date)
    if run is not None:
        return run
    try:
        with db.session.begin_nested():
            run = BillRun(bill_date=bill_date, attempts=0)
            db.session.add(run)
    except IntegrityError:  # another scheduler or the CLI started the day at the same moment
        run = report(bill_date)
    return run


def _bills(bill_date: date, now: datetime) -> tuple[TradeBill | None, FundBill | None]:
    """The day's parsed bills; (None, None) when WeChat Pay made none and waiting longer is pointless."""
    gateway = wechat_pay()
    trade_text = download_bill(gateway, BillKind.TRADE, bill_date)
    if trade_text is None:
        if now < gives_up_waiting_at(bill_date):
            raise BillNotReady
        return None, None
    fund_text = download_bill(gateway, BillKind.FUNDFLOW, bill_date)
    try:
        return parse_trade_bill(trade_text), parse_fund_bill(fund_text) if fund_text else None
    except BillFormatError as error:
        log.error("WeChat Pay's bill of %s does not read: %s", bill_date, error)
        raise WeChatPayAPIError(WeChatPayError.BILL_CORRUPT,
                                f"WeChat Pay's bill of {bill_date} does not read: {error}") from None


def _wait(run: BillRun, now: datetime, reason: str, status: RunStatus) -> None:
    count_after_commit(BILL_RECONCILIATIONS.labels(outcome=status.value))
    run.status = status.value
    run.last_error = reason[:300]
    run.next_attempt_at = now + timedelta(minutes=current_app.config["WECHATPAY_BILL_RETRY_MINUTES"])


def _store(run: BillRun, found: Found) -> None:
    """Replace the run's flagged differences with what this comparison found; resolved ones stay."""
    db.session.flush()
    db.session.execute(delete(BillDifference).where(BillDifference.run_id == run.id,
                                                    BillDifference.resolution == Resolution.FLAGGED.value))
    kept = set(db.session.execute(select(BillDifference.kind, BillDifference.reference)
                                  .where(BillDifference.run_id == run.id)).tuples())
    for item in found.items:
        if (item["kind"], item["reference"]) not in kept:
            db.session.add(BillDifference(run_id=run.id, **item))
            kept.add((item["kind"], item["reference"]))
    db.session.flush()
    db.session.expire(run, ["differences"])


# -- comparing ----------------------------------------------------------------------------------


def compare(bill_date: date, trade: TradeBill | None, now: datetime) -> Found:
    """Every bill row against us, then every payment and refund of ours that day against the bill."""
    found = Found()
    rows = trade.rows if trade else []
    for row in rows:
        if row.is_refund:
            _compare_refund(row, now, found)
        else:
            _compare_payment(row, now, found)
    _ours_not_billed(bill_date, rows, found)
    return found


def _compare_payment(row: TradeRow, now: datetime, found: Found) -> None:
    reference = f"trade:{row.out_trade_no}"
    ids = {"out_trade_no": row.out_trade_no[:32], "transaction_id": row.transaction_id[:64]}
    payment = db.session.scalar(select(Payment).where(Payment.transaction_id == row.transaction_id))
    if row.trade_state != "SUCCESS":
        if payment is not None:
            found.add(DifferenceKind.STATE_DIFFERS, Resolution.FLAGGED, reference=reference, order_id=payment.order_id,
                      ours_fen=payment.amount, note=f"WeChat Pay says {row.trade_state}; we hold it paid", **ids)
        return
    if payment is not None:
        if payment.amount != row.order_fen:
            found.add(DifferenceKind.AMOUNT_DIFFERS, Resolution.FLAGGED, reference=reference,
                      order_id=payment.order_id, ours_fen=payment.amount, wechat_fen=row.order_fen,
                      note="the bill's order amount differs from the payment we recorded", **ids)
        return
    order = db.session.scalar(select(Order).where(Order.number == row.out_trade_no))
    if order is None:
        found.add(DifferenceKind.MISSING_HERE, Resolution.FLAGGED, reference=reference, wechat_fen=row.order_fen,
                  note="WeChat Pay took a payment for an out_trade_no we never issued", **ids)
        return
    if row.order_fen != order.amount_payable:
        found.add(DifferenceKind.AMOUNT_DIFFERS, Resolution.FLAGGED, reference=reference, order_id=order.id,
                  ours_fen=order.amount_payable, wechat_fen=row.order_fen,
                  note="WeChat Pay took a payment we do not know, for another amount than the order's", **ids)
        return
    _apply_lost_payment(row, order, now, found, reference, ids)


def _apply_lost_payment(row: TradeRow, order: Order, now: datetime, found: Found, reference: str,
                        ids: dict[str, str]) -> None:
    """A paid transaction whose notify we never had: applied as the notify would have, once."""
    try:
        with db.session.begin_nested():
            transaction = paid_transaction(order.number)
            outcome = apply_wechat_payment(transaction, source=SOURCE, at=now) if transaction else None
    except WeChatPayAPIError:
        raise  # WeChat Pay cannot be asked now: the whole day is tried again
    except AppError as error:
        outcome, note = None, f"not applied: {error.message}"
    else:
        note = "a payment whose notify was lost, applied" if outcome else \
            "the bill shows it paid, but WeChat Pay's query says it is not"
    found.add(DifferenceKind.MISSING_HERE, Resolution.RESOLVED if outcome else Resolution.FLAGGED,
              reference=reference, order_id=order.id, wechat_fen=row.order_fen, note=note,
              details={"outcome": outcome}, **ids)


def _compare_refund(row: TradeRow, now: datetime, found: Found) -> None:
    reference = f"refund:{row.out_refund_no}"
    ids = {"out_trade_no": row.out_trade_no[:32], "out_refund_no": row.out_refund_no[:64],
           "transaction_id": row.transaction_id[:64]}
    refund = db.session.scalar(select(Refund).where(Refund.number == row.out_refund_no))
    if refund is None:
        found.add(DifferenceKind.MISSING_HERE, Resolution.FLAGGED, reference=reference, wechat_fen=row.refund_fen,
                  note="WeChat Pay made a refund we never asked for", **ids)
        return
    values = {"reference": reference, "order_id": refund.order_id, "ours_fen": refund.amount, **ids}
    if refund.amount != row.refund_fen:
        found.add(DifferenceKind.AMOUNT_DIFFERS, Resolution.FLAGGED, wechat_fen=row.refund_fen,
                  note="the bill's refund amount differs from ours", **values)
        return
    states = {"ours": refund.status, "wechat": row.refund_status}
    if row.refund_status == "SUCCESS" and refund.status == RefundStatus.PROCESSING:
        with db.session.begin_nested():
            outcome = check_refund(refund.id, now)
        settled = outcome == "succeeded"
        found.add(DifferenceKind.STATE_DIFFERS, Resolution.RESOLVED if settled else Resolution.FLAGGED,
                  note="a refund WeChat Pay made whose notify was lost, settled" if settled else
                  f"WeChat Pay's bill says SUCCESS; asked again, it answers {outcome}",
                  details={**states, "outcome": outcome}, **values)
    elif (row.refund_status == "SUCCESS" and refund.status == RefundStatus.FAILED) or (
            row.refund_status in ("ABNORMAL", "CLOSED") and refund.status == RefundStatus.SUCCEEDED):
        found.add(DifferenceKind.STATE_DIFFERS, Resolution.FLAGGED, details=states,
                  note=f"the bill says {row.refund_status}, we hold the refund {refund.status}", **values)


def _ours_not_billed(bill_date: date, rows: list[TradeRow], found: Found) -> None:
    """Our payments and refunds of the day that the bill lacks (unless WeChat Pay put them in another day's)."""
    start, end = day_bounds(bill_date)
    billed_payments = {row.transaction_id for row in rows if not row.is_refund}
    billed_refunds = {row.out_refund_no for row in rows if row.is_refund}
    payments = db.session.execute(
        select(Payment, Order.number).join(Order, Order.id == Payment.order_id)
        .where(Payment.paid_at >= start, Payment.paid_at < end, Payment.source != SOURCE)
        .order_by(Payment.id)).all()
    for payment, number in payments:
        if payment.transaction_id in billed_payments:
            continue
        transaction = wechat_pay().query_by_out_trade_no(number)
        if transaction and _billed_on(transaction.get("success_time")) not in (None, bill_date):
            continue  # paid just across midnight: in the neighbouring day's bill
        found.add(DifferenceKind.MISSING_AT_WECHAT, Resolution.FLAGGED, reference=f"trade:{number}",
                  out_trade_no=number, transaction_id=payment.transaction_id, order_id=payment.order_id,
                  ours_fen=payment.amount, note="we recorded this payment; the bill of its day lacks it",
                  details={"wechat": (transaction or {}).get("trade_state")})
    refunds = db.session.scalars(
        select(Refund).where(Refund.created_at >= start, Refund.created_at < end,
                             Refund.status != RefundStatus.FAILED).order_by(Refund.id)).all()
    for refund in refunds:
        if refund.number in billed_refunds:
            continue
        answer = wechat_pay().query_refund(refund.number)
        if answer and _billed_on(answer.get("create_time")) not in (None, bill_date):
            continue  # WeChat Pay accepted it the next day (the outbox sent it late)
        found.add(DifferenceKind.MISSING_AT_WECHAT, Resolution.FLAGGED, reference=f"refund:{refund.number}",
                  out_refund_no=refund.number, order_id=refund.order_id, ours_fen=refund.amount,
                  note="we hold this refund; the bill of its day lacks it",
                  details={"ours": refund.status, "wechat": (answer or {}).get("status")})


def _billed_on(moment: object) -> date | None:
    """The Beijing-time day of one of WeChat Pay's RFC 3339 times."""
    try:
        return datetime.fromisoformat(str(moment)).astimezone(WECHAT_PAY_ZONE).date() if moment else None
    except ValueError:
        return None
