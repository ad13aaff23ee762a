"""WeChat Pay's daily bills, made from what the stub saw: the day's payments and refunds in its state.

Protocol (as WeChat Pay, API v3; requests are signed and checked like every /v3/ call):

- ``GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL&tar_type=GZIP`` and
  ``GET /v3/bill/fundflowbill?bill_date=...&account_type=BASIC&tar_type=GZIP`` answer
  ``{hash_type: SHA1, hash_value, download_url}``: the SHA1 of the uncompressed file. Before the bill
  is made they answer 400 ``NO_STATEMENT_EXIST`` (要下载的账单不存在), as WeChat Pay does before
  09:00 the next day and for a day without trades.
- ``GET /v3/billdownload/file?token=...`` answers the GZIP file (unsigned, as WeChat Pay's).

The trade bill (ALL) lists, in WeChat's layout, every transaction paid that Beijing-time day
(交易状态 SUCCESS) and every refund accepted that day (交易状态 REFUND); the fund-flow bill the
income of each payment and the expense of each refund.

Control:

- ``POST /stub/pay/bills/<date>``: ``{"ready": true|false}`` makes the day's bills (by default
  a day's bills are made once the day is over in Beijing time); ``"drop": [out_trade_no, ...]`` leaves
  transactions out; ``"extra": [{"out_trade_no", "total", "transaction_id"?}]`` adds paid transactions
  the merchant never made; ``"amounts": {out_trade_no: fen}`` bills another amount;
  ``"refund_status": {out_refund_no: "SUCCESS"}`` bills another refund status; ``"corrupt_hash": true``
  answers a hash_value that is not the file's; ``"delay_seconds": n`` (at most 10) makes the trade bill's
  answer wait. Each call adds to what was asked before for that day.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, request

from . import pay as pay_stub
from .pay import PayError, PayState, Refund, Transaction

bp = Blueprint("wechat_stub_bills", __name__)
bp.before_request(pay_stub._authenticate)  # noqa: SLF001 - the same signature check as every /v3/ call
bp.after_request(pay_stub._sign)  # noqa: SLF001
bp.register_error_handler(PayError, pay_stub._pay_error)  # noqa: SLF001

TRADE_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
                "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
                "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")
TRADE_SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
FUND_HEADER = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号"
FUND_SUMMARY = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"
FEE_RATE = 60  # 0.60 %, in hundredths of a percent: WeChat Pay's usual rate for mini-programs


@dataclass
class DayControls:
    ready: bool | None = None  # None: made once the day is over
    drop: set[str] = field(default_factory=set)
    extra: list[dict[str, Any]] = field(default_factory=list)
    amounts: dict[str, int] = field(default_factory=dict)
    refund_status: dict[str, str] = field(default_factory=dict)
    corrupt_hash: bool = False
    delay_seconds: float = 0  # the trade bill's answer waits this long (a slow WeChat Pay)


@dataclass
class BillBook:
    """The stub's bill controls and the files it handed out, forgotten when the stub's WeChat Pay is reset."""

    generation: int
    days: dict[date, DayControls] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # download token -> GZIP file


def _book(pay: PayState) -> BillBook:
    book = pay.__dict__.get("_bill_book")
    if book is None or book.generation != pay._generation:  # noqa: SLF001 - reset() bumps it
        book = pay.__dict__["_bill_book"] = BillBook(pay._generation)  # noqa: SLF001
    return book


def _yuan(fen: int, places: int = 2) -> str:
    return f"{fen / 100:.{places}f}" if places == 2 else f"{fen / 100:.5f}"


def _fee(fen: int) -> int:
    return (fen * FEE_RATE + 5000) // 10000


def _line(*fields: object) -> str:
    return ",".join(f"`{value}" for value in fields)


def _local(rfc3339: str | None) -> datetime | None:
    return datetime.fromisoformat(rfc3339).astimezone(pay_stub.WECHAT_PAY_ZONE) if rfc3339 else None


def _day_of(pay: PayState, bill_date: date) -> tuple[list[Transaction], list[Refund]]:
    """Copies of the transactions paid and the refunds accepted that Beijing-time day."""
    with pay._lock:  # noqa: SLF001
        paid = [Transaction(**vars(t)) for t in pay._transactions.values()  # noqa: SLF001
                if t.success_time and _local(t.success_time).date() == bill_date]
        refunds = [Refund(**vars(r)) for r in pay._refunds.values()  # noqa: SLF001
                   if _local(r.create_time).date() == bill_date]
    return paid, refunds


def trade_bill_text(pay: PayState, bill_date: date, controls: DayControls) -> str:
    """The day's trade bill (ALL) in WeChat Pay's layout."""
    config = pay.config
    paid, refunds = _day_of(pay, bill_date)
    rows, settled, refunded, fees = [], 0, 0, 0
    for t in sorted(paid, key=lambda t: t.success_time or ""):
        if t.out_trade_no in controls.drop:
            continue
        total = controls.amounts.get(t.out_trade_no, t.total)
        rows.append(_line(_local(t.success_time).strftime("%Y-%m-%d %H:%M:%S"), config.appid, config.mchid, "0", "",
                          t.transaction_id, t.out_trade_no, t.openid, "JSAPI", "SUCCESS", "OTHERS", "CNY",
                          _yuan(total), "0.00", "0", "0", "0.00", "0.00", "", "", t.description, t.attach or "",
                          _yuan(_fee(total), 5), "0.60%", _yuan(total), "0.00", ""))
        settled, fees = settled + total, fees + _fee(total)
    for extra in controls.extra:
        total = int(extra["total"])
        rows.append(_line(f"{bill_date} 12:00:00", config.appid, config.mchid, "0", "",
                          extra.get("transaction_id") or "42000" + pay_stub._digits(23),  # noqa: SLF001
                          extra["out_trade_no"], "o-unknown-payer", "JSAPI", "SUCCESS", "OTHERS", "CNY", _yuan(total),
                          "0.00", "0", "0", "0.00", "0.00", "", "", "unknown", "", _yuan(_fee(total), 5), "0.60%",
                          _yuan(total), "0.00", ""))
        settled, fees = settled + total, fees + _fee(total)
    for r in sorted(refunds, key=lambda r: r.create_time):
        if r.out_trade_no in controls.drop or r.out_refund_no in controls.drop:
            continue
        status = controls.refund_status.get(r.out_refund_no, r.status)
        rows.append(_line(_local(r.create_time).strftime("%Y-%m-%d %H:%M:%S"), config.appid, config.mchid, "0", "",
                          r.transaction_id, r.out_trade_no, "", "JSAPI", "REFUND", "OTHERS", "CNY", "0.00", "0.00",
                          r.refund_id, r.out_refund_no, _yuan(r.refund), "0.00", "ORIGINAL", status, "", "",
                          _yuan(-_fee(r.refund), 5), "0.60%", "0.00", _yuan(r.refund), ""))
        refunded, fees = refunded + r.refund, fees - _fee(r.refund)
    summary = _line(len(rows), _yuan(settled), _yuan(refunded), "0.00", _yuan(fees, 5), _yuan(settled), _yuan(refunded))
    return "\r\n".join([TRADE_HEADER, *rows, TRADE_SUMMARY, summary]) + "\r\n"


def fund_bill_text(pay: PayState, bill_date: date) -> str:
    """The day's fund-flow bill of the basic account: each payment's income, each refund's expense."""
    paid, refunds = _day_of(pay, bill_date)
    moves = [(t.success_time or "", t.transaction_id or "", "交易", "交易", "收入", t.total, t.out_trade_no)
             for t in paid]
    moves += [(r.create_time, r.refund_id, "退款", "退款", "支出", r.refund, f"REF{r.transaction_id}") for r in refunds]
    rows, balance, income, expense = [], 0, 0, 0
    for when, number, name, kind, direction, fen, voucher in sorted(moves):
        balance += fen if direction == "收入" else -fen
        income, expense = (income + fen, expense) if direction == "收入" else (income, expense + fen)
        rows.append(_line(_local(when).strftime("%Y-%m-%d %H:%M:%S"), number, pay_stub._digits(28),  # noqa: SLF001
                          name, kind, direction, _yuan(fen), _yuan(balance), "system", "", voucher))
    incomes = sum(1 for move in moves if move[4] == "收入")
    summary = _line(f"{len(rows)}.0", f"{incomes}.0", _yuan(income), f"{len(rows) - incomes}.0", _yuan(expense))
    return "\r\n".join([FUND_HEADER, *rows, FUND_SUMMARY, summary]) + "\r\n"


def _made(controls: DayControls, bill_date: date) -> bool:
    if controls.ready is not None:
        return controls.ready
    return bill_date < datetime.now(pay_stub.WECHAT_PAY_ZONE).date()


def _bill_date() -> date:
    try:
        return date.fromisoformat(request.args.get("bill_date", ""))
    except ValueError:
        raise PayError(400, "PARAM_ERROR", "bill_date 格式错误，应为 yyyy-MM-dd") from None


def _hand_out(text: str, controls: DayControls) -> Response:
    """Keep the GZIP file under a new token; answer where to download it and its hash."""
    pay = pay_stub._pay()  # noqa: SLF001
    raw = text.encode()
    token = secrets.token_urlsafe(24)
    _book(pay).files[token] = gzip.compress(raw)
    digest = hashlib.sha1(raw).hexdigest()  # noqa: S324 - WeChat Pay's hash
    if controls.corrupt_hash:
        digest = hashlib.sha1(raw + b"tampered").hexdigest()  # noqa: S324
    return pay_stub._answer({"hash_type": "SHA1", "hash_value": digest,  # noqa: SLF001
                             "download_url": f"{request.host_url}v3/billdownload/file?token={token}"})


def _controls_for(bill_date: date) -> DayControls:
    pay = pay_stub._pay()  # noqa: SLF001
    controls = _book(pay).days.setdefault(bill_date, DayControls())
    if not _made(controls, bill_date):
        raise PayError(400, "NO_STATEMENT_EXIST", "要下载的账单不存在")
    return controls


@bp.get("/v3/bill/tradebill")
def tradebill() -> Response:
    bill_date = _bill_date()
    if request.args.get("bill_type", "ALL") != "ALL":
        raise PayError(400, "PARAM_ERROR", "the stub makes bill_type ALL only")
    controls = _controls_for(bill_date)
    time.sleep(controls.delay_seconds)
    return _hand_out(trade_bill_text(pay_stub._pay(), bill_date, controls), controls)  # noqa: SLF001


@bp.get("/v3/bill/fundflowbill")
def fundflowbill() -> Response:
    bill_date = _bill_date()
    _controls_for(bill_date)
    return _hand_out(fund_bill_text(pay_stub._pay(), bill_date), DayControls())  # noqa: SLF001


@bp.get("/v3/billdownload/file")
def download() -> Response:
    body = _book(pay_stub._pay()).files.get(request.args.get("token", ""))  # noqa: SLF001
    if body is None:
        raise PayError(400, "INVALID_REQUEST", "下载地址已过期")
    return Response(body, status=200, content_type="application/octet-stream")


@bp.post("/stub/pay/bills/<bill_date>")
def control(bill_date: str) -> Response:
    try:
        day = date.fromisoformat(bill_date)
    except ValueError:
        raise PayError(400, "PARAM_ERROR", "the date must be YYYY-MM-DD") from None
    options = pay_stub._options()  # noqa: SLF001
    controls = _book(pay_stub._pay()).days.setdefault(day, DayControls())  # noqa: SLF001
    if "ready" in options:
        controls.ready = pay_stub._flag(options["ready"])  # noqa: SLF001
    try:
        extra = [{"out_trade_no": str(e["out_trade_no"]), "total": int(e["total"]),
                  "transaction_id": e.get("transaction_id")} for e in options.get("extra") or ()]
        amounts = {str(k): int(v) for k, v in (options.get("amounts") or {}).items()}
        refund_status = {str(k): str(v) for k, v in (options.get("refund_status") or {}).items()}
        drop = {str(number) for number in options.get("drop") or ()}
        delay = min(max(float(options.get("delay_seconds", controls.delay_seconds)), 0.0), 10.0)
    except (AttributeError, KeyError, TypeError, ValueError):
        raise PayError(400, "PARAM_ERROR", "drop is a list, extra a list of {out_trade_no, total}, amounts and "
                       "refund_status objects") from None
    controls.drop.update(drop)
    controls.extra.extend(extra)
    controls.amounts.update(amounts)
    controls.refund_status.update(refund_status)
    controls.delay_seconds = delay
    controls.corrupt_hash = controls.corrupt_hash or pay_stub._flag(options.get("corrupt_hash"))  # noqa: SLF001
    return pay_stub._answer({"ready": _made(controls, day), "drop": sorted(controls.drop),  # noqa: SLF001
                             "extra": controls.extra, "amounts": controls.amounts,
                             "refund_status": controls.refund_status, "corrupt_hash": controls.corrupt_hash})
