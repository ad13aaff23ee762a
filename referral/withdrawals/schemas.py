"""Request and response shapes of withdrawals. Money is integer fen; times UTC ISO 8601."""

import marshmallow as ma
from flask import current_app
from marshmallow import validate

from referral.withdrawals.models import WithdrawalStatus
from shop.config import MAX_AMOUNT_FEN
from shop.fields import id_field, text
from shop.pagination import PageArgs


class WithdrawalArgs(ma.Schema):
    amount = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_AMOUNT_FEN),
                               metadata={"description": "Fen to withdraw to your WeChat change."})


class TransferSchema(ma.Schema):
    mch_id = ma.fields.String()
    app_id = ma.fields.String()
    package = ma.fields.String()


class WithdrawalSchema(ma.Schema):
    id = ma.fields.Integer()
    member_id = ma.fields.Integer()
    amount = ma.fields.Integer()
    status = ma.fields.String(metadata={
        "enum": [s.value for s in WithdrawalStatus],
        "description": "requested -> approved -> paying (waiting for you to confirm receipt in WeChat) -> paid; "
                       "or rejected; or failed (the amount is back on your balance)."})
    out_bill_no = ma.fields.String()
    transfer_bill_no = ma.fields.String(allow_none=True)
    review_note = ma.fields.String(allow_none=True)
    failure_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    reviewed_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)


class MyWithdrawalSchema(WithdrawalSchema):
    transfer = ma.fields.Method("_transfer", allow_none=True, metadata={
        "description": "While paying: pass mchId, appId and package to wx.requestMerchantTransfer to receive "
                       "the money."})

    def _transfer(self, withdrawal):
        if withdrawal.status != WithdrawalStatus.PAYING or not withdrawal.package_info:
            return None
        config = current_app.config
        return TransferSchema().dump({"mch_id": config["WECHATPAY_MCHID"], "app_id": config["WECHAT_APPID"],
                                      "package": withdrawal.package_info})


class WithdrawalFilterArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf([s.value for s in WithdrawalStatus]))
    member_id = id_field(load_default=None)


class ApproveArgs(ma.Schema):
    note = text(500, min_length=0, load_default=None)


class RejectArgs(ma.Schema):
    note = text(500, required=True,
                            metadata={"description": "Why; the member sees it."})
