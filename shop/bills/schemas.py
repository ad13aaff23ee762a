"""The shape of a day's reconciliation report."""

import marshmallow as ma

from shop.bills.models import DifferenceKind, Resolution, RunStatus


class DifferenceSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": [k.value for k in DifferenceKind],
                                      "description": "missing_here: in the bill, not (as such) ours; "
                                      "missing_at_wechat: ours that day, not in the bill; amount_differs; state_differs."})
    resolution = ma.fields.String(metadata={"enum": [r.value for r in Resolution],
                                            "description": "resolved: the rule was clear and was applied; "
                                            "flagged: for a person to look at."})
    out_trade_no = ma.fields.String(allow_none=True)
    out_refund_no = ma.fields.String(allow_none=True)
    transaction_id = ma.fields.String(allow_none=True)
    order_id = ma.fields.Integer(allow_none=True)
    ours_fen = ma.fields.Integer(allow_none=True)
    wechat_fen = ma.fields.Integer(allow_none=True)
    details = ma.fields.Dict(metadata={"description": "`note` says what was seen and done; `ours`, `wechat`, "
                                                      "`outcome` where they apply."})
    created_at = ma.fields.AwareDateTime()


class ReportSchema(ma.Schema):
    bill_date = ma.fields.Date()
    status = ma.fields.String(metadata={"enum": [s.value for s in RunStatus],
                                        "description": "waiting: WeChat Pay has not made the bill yet; failed: "
                                        "the last try failed (last_error), tried again at next_attempt_at; done."})
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.AwareDateTime(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    bill_found = ma.fields.Boolean(metadata={"description": "False: WeChat Pay made no bill (no trade that day)."})
    trade_rows = ma.fields.Integer()
    paid_fen = ma.fields.Integer(metadata={"description": "The trade bill's settled total (应结订单总金额)."})
    refunded_fen = ma.fields.Integer(metadata={"description": "The trade bill's refund total (退款总金额)."})
    fund_rows = ma.fields.Integer()
    fund_income_fen = ma.fields.Integer()
    fund_expense_fen = ma.fields.Integer()
    finished_at = ma.fields.AwareDateTime(allow_none=True)
    flagged = ma.fields.Integer(metadata={"description": "How many differences wait for a person."})
    differences = ma.fields.List(ma.fields.Nested(DifferenceSchema))
