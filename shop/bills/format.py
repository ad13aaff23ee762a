"""WeChat Pay's bill files, read by their header names.

A bill is: a header line (Chinese names, comma-separated), the detail rows (each field prefixed with a
backquote so that spreadsheets keep long numbers), a summary header, and one summary row. Amounts are
yuan with two decimals (fees five); we hold fen. Fields are split on ",`" (every field starts with a
backquote), so a comma inside a product name does not shift the columns. The summary is checked
against the rows: a bill whose count or totals do not add up is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from shop.config import WECHAT_PAY_ZONE

# Trade bill (ALL): the detail columns we read, and the summary.
TRADE_TIME, APPID, MCHID = "交易时间", "公众账号ID", "商户号"
TRANSACTION_ID, OUT_TRADE_NO, OPENID = "微信订单号", "商户订单号", "用户标识"
TRADE_TYPE, TRADE_STATE = "交易类型", "交易状态"
SETTLEMENT_AMOUNT, COUPON_AMOUNT = "应结订单金额", "代金券金额"
REFUND_ID, OUT_REFUND_NO, REFUND_AMOUNT, REFUND_STATUS = "微信退款单号", "商户退款单号", "退款金额", "退款状态"
PRODUCT, FEE, ORDER_AMOUNT = "商品名称", "手续费", "订单金额"
TRADE_COLUMNS = (TRADE_TIME, APPID, MCHID, TRANSACTION_ID, OUT_TRADE_NO, TRADE_STATE, SETTLEMENT_AMOUNT,
                 OUT_REFUND_NO, REFUND_AMOUNT, REFUND_STATUS)
TRADE_COUNT, SETTLEMENT_TOTAL, REFUND_TOTAL = "总交易单数", "应结订单总金额", "退款总金额"

# Fund-flow bill (BASIC account).
BOOKED_AT, BUSINESS_NO, FLOW_NO = "记账时间", "微信支付业务单号", "资金流水单号"
BUSINESS_NAME, BUSINESS_TYPE, DIRECTION = "业务名称", "业务类型", "收支类型"
FLOW_AMOUNT, BALANCE, VOUCHER_NO = "收支金额(元)", "账户结余(元)", "业务凭证号"
FUND_COLUMNS = (BOOKED_AT, BUSINESS_NO, BUSINESS_NAME, BUSINESS_TYPE, DIRECTION, FLOW_AMOUNT)
FLOW_COUNT, INCOME_COUNT, INCOME_TOTAL, EXPENSE_COUNT, EXPENSE_TOTAL = (
    "资金流水总笔数", "收入笔数", "收入金额", "支出笔数", "支出金额")
INCOME, EXPENSE = "收入", "支出"
REFUND_STATE = "REFUND"  # the 交易状态 of a refund row; a payment row says SUCCESS (or REVOKED)


class BillFormatError(ValueError):
    """The text is not a WeChat Pay bill we can read."""


@dataclass(frozen=True)
class TradeRow:
    """One detail row of the trade bill: a payment (state SUCCESS/REVOKED) or a refund (state REFUND)."""

    at: datetime
    appid: str
    mchid: str
    transaction_id: str
    out_trade_no: str
    trade_state: str
    settlement_fen: int  # 应结订单金额: what the payer paid (0 on a refund row)
    order_fen: int  # 订单金额 (应结订单金额 + 代金券金额 in bills of the old format)
    out_refund_no: str
    refund_fen: int
    refund_status: str
    fee_fen: int

    @property
    def is_refund(self) -> bool:
        return self.trade_state == REFUND_STATE


@dataclass(frozen=True)
class TradeBill:
    rows: list[TradeRow]
    settlement_fen: int
    refund_fen: int


@dataclass(frozen=True)
class FundRow:
    at: datetime
    business_no: str
    business_name: str
    business_type: str
    income: bool
    amount_fen: int


@dataclass(frozen=True)
class FundBill:
    rows: list[FundRow]
    income_fen: int
    expense_fen: int


def parse_trade_bill(text: str) -> TradeBill:
    """A trade bill (type ALL) as rows; refused unless its summary matches them."""
    _, details, summary = _sections(text, TRADE_COLUMNS)
    rows = [_trade_row(record) for record in details]
    settlement, refunds = sum(r.settlement_fen for r in rows), sum(r.refund_fen for r in rows)
    _check_summary(summary, {TRADE_COUNT: len(rows)}, {SETTLEMENT_TOTAL: settlement, REFUND_TOTAL: refunds})
    return TradeBill(rows, settlement, refunds)


def parse_fund_bill(text: str) -> FundBill:
    """A fund-flow bill as rows; refused unless its summary matches them."""
    _, details, summary = _sections(text, FUND_COLUMNS)
    rows = [FundRow(at=_time(r[BOOKED_AT]), business_no=r[BUSINESS_NO], business_name=r[BUSINESS_NAME],
                    business_type=r[BUSINESS_TYPE], income=_direction(r[DIRECTION]), amount_fen=_fen(r[FLOW_AMOUNT]))
            for r in details]
    income = sum(r.amount_fen for r in rows if r.income)
    expense = sum(r.amount_fen for r in rows if not r.income)
    incomes = sum(1 for r in rows if r.income)
    _check_summary(summary, {FLOW_COUNT: len(rows), INCOME_COUNT: incomes, EXPENSE_COUNT: len(rows) - incomes},
                   {INCOME_TOTAL: income, EXPENSE_TOTAL: expense})
    return FundBill(rows, income, expense)


def _sections(text: str, required: Sequence[str]) -> tuple[list[str], list[dict[str, str]], dict[str, str]]:
    """Header names, detail records by name, and the summary by name."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if len(lines) < 3:
        raise BillFormatError("a bill has a header, a summary header and a summary row at least")
    header = [name.strip() for name in lines[0].split(",")]
    missing = [name for name in required if name not in header]
    if missing:
        raise BillFormatError(f"the header lacks {', '.join(missing)}")
    summary_at = next((i for i in range(1, len(lines)) if not lines[i].startswith("`")), None)
    if summary_at is None or summary_at != len(lines) - 2:
        raise BillFormatError("the bill does not end with a summary header and one summary row")
    details = [dict(zip(header, _fields(line, len(header), i), strict=True))
               for i, line in enumerate(lines[1:summary_at], start=2)]
    summary_header = [name.strip() for name in lines[summary_at].split(",")]
    summary = dict(zip(summary_header, _fields(lines[-1], len(summary_header), len(lines)), strict=True))
    return header, details, summary


def _fields(line: str, count: int, number: int) -> list[str]:
    if not line.startswith("`"):
        raise BillFormatError(f"line {number}: fields start with a backquote")
    fields = line[1:].split(",`")
    if len(fields) != count:
        raise BillFormatError(f"line {number}: {len(fields)} fields where the header names {count}")
    return [field.strip() for field in fields]


def _trade_row(record: dict[str, str]) -> TradeRow:
    settlement = _fen(record[SETTLEMENT_AMOUNT])
    if ORDER_AMOUNT in record:
        order = _fen(record[ORDER_AMOUNT])
    else:
        order = settlement + _fen(record.get(COUPON_AMOUNT) or "0")
    return TradeRow(at=_time(record[TRADE_TIME]), appid=record[APPID], mchid=record[MCHID],
                    transaction_id=record[TRANSACTION_ID], out_trade_no=record[OUT_TRADE_NO],
                    trade_state=record[TRADE_STATE], settlement_fen=settlement, order_fen=order,
                    out_refund_no=_blank_zero(record[OUT_REFUND_NO]), refund_fen=_fen(record[REFUND_AMOUNT]),
                    refund_status=record[REFUND_STATUS], fee_fen=_fen(record.get(FEE) or "0"))


def _check_summary(summary: dict[str, str], counts: dict[str, int], totals: dict[str, int]) -> None:
    for name, expected in counts.items():
        if name in summary and _count(summary[name]) != expected:
            raise BillFormatError(f"the summary's {name} is {summary[name]}, the rows count {expected}")
    for name, expected in totals.items():
        if name in summary and _fen(summary[name]) != expected:
            raise BillFormatError(f"the summary's {name} is {summary[name]}, the rows add up to {expected} fen")


def _fen(yuan: str) -> int:
    """Yuan as WeChat Pay writes them ('28.00', fees '0.17000') in fen (half up, as WeChat rounds fees)."""
    try:
        return int((Decimal(yuan or "0") * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        raise BillFormatError(f"{yuan!r} is not an amount") from None


def _count(value: str) -> int:
    try:
        number = Decimal(value)  # the fund-flow summary writes counts as '20.0'
    except InvalidOperation:
        raise BillFormatError(f"{value!r} is not a count") from None
    if number != number.to_integral_value():
        raise BillFormatError(f"{value!r} is not a count")
    return int(number)


def _time(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=WECHAT_PAY_ZONE)
    except ValueError:
        raise BillFormatError(f"{value!r} is not a time as yyyy-MM-dd HH:mm:ss") from None


def _direction(value: str) -> bool:
    if value not in (INCOME, EXPENSE):
        raise BillFormatError(f"{value!r} is neither {INCOME} nor {EXPENSE}")
    return value == INCOME


def _blank_zero(value: str) -> str:
    """A payment row writes '0' where a refund row has its refund numbers."""
    return "" if value == "0" else value
