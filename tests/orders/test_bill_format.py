"""WeChat Pay's bill files are read by their header names, in WeChat's own layout (backquoted fields,
a summary header and row at the end, yuan), and refused when they do not add up."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from shop.bills.format import BillFormatError, parse_fund_bill, parse_trade_bill
from shop.config import WECHAT_PAY_ZONE

DATA = Path(__file__).parent / "data"


def trade_fixture() -> str:
    return (DATA / "wechatpay-tradebill-ALL.csv").read_bytes().decode()  # its CRLF kept, as WeChat sends it


def test_a_trade_bill_in_wechats_layout_reads_as_payments_and_refunds_in_fen():
    bill = parse_trade_bill(trade_fixture())
    first, second, refund = bill.rows
    assert (first.out_trade_no, first.transaction_id, first.trade_state) == (
        "R20261206A1B2C3", "4200002738202612061234567890", "SUCCESS")
    assert first.at == datetime(2026, 12, 6, 9, 15, 2, tzinfo=WECHAT_PAY_ZONE)
    assert (first.settlement_fen, first.order_fen, first.fee_fen, first.out_refund_no) == (7200, 7200, 43, "")
    # A voucher paid 2 yuan of the 28: the order amount is what the order cost, the settlement what the payer paid.
    assert (second.settlement_fen, second.order_fen) == (2600, 2800)
    assert refund.is_refund and not first.is_refund
    assert (refund.out_refund_no, refund.refund_fen, refund.refund_status) == ("R20261206A1B2C3-1", 2800, "SUCCESS")
    assert (bill.settlement_fen, bill.refund_fen) == (9800, 2800)


def test_a_comma_inside_a_product_name_does_not_shift_the_columns():
    second = parse_trade_bill(trade_fixture()).rows[1]  # 商品名称 "Latte, oat milk"
    assert (second.fee_fen, second.order_fen) == (16, 2800)


def test_columns_are_found_by_their_names_not_their_places():
    lines = trade_fixture().split("\r\n")
    header, rows = lines[0].split(","), [line[1:].split(",`") for line in lines[1:4]]
    order = list(reversed(range(len(header))))
    moved = [",".join(header[i] for i in order)] + ["`" + ",`".join(row[i] for i in order) for row in rows]
    bill = parse_trade_bill("\n".join([*moved, *lines[4:]]))
    assert [r.out_trade_no for r in bill.rows] == ["R20261206A1B2C3", "R20261206D4E5F6", "R20261206A1B2C3"]
    assert bill.rows[1].order_fen == 2800


def test_a_fund_flow_bill_reads_income_and_expense():
    bill = parse_fund_bill((DATA / "wechatpay-fundflowbill-BASIC.csv").read_bytes().decode())
    assert [(r.business_type, r.income, r.amount_fen) for r in bill.rows] == [
        ("交易", True, 7200), ("交易", True, 2600), ("退款", False, 2800)]
    assert (bill.income_fen, bill.expense_fen) == (9800, 2800)


@pytest.mark.parametrize(("change", "reason"), [
    (lambda text: text.replace("`3,`98.00", "`4,`98.00"), "总交易单数"),
    (lambda text: text.replace("`3,`98.00", "`3,`99.00"), "应结订单总金额"),
    (lambda text: text.replace("`72.00,`0.00,`0,`0", "`72.0x,`0.00,`0,`0"), "not an amount"),
    (lambda text: text.replace("商户订单号", "订单号"), "lacks 商户订单号"),
    (lambda text: "\r\n".join(text.split("\r\n")[:-3]), "summary"),
    (lambda text: text.replace(",`Ripple Latte and 1 more,`,", ",Ripple Latte and 1 more,`,", 1), "fields"),
])
def test_a_bill_that_does_not_add_up_or_is_not_in_wechats_layout_is_refused(change, reason):
    with pytest.raises(BillFormatError, match=reason):
        parse_trade_bill(change(trade_fixture()))
