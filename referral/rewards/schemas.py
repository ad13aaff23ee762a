"""Request and response shapes of rewards and withdrawals. Money is integer fen; times UTC ISO 8601."""

import marshmallow as ma
from flask import current_app
from marshmallow import validate

from referral.models import RewardStatus, WithdrawalStatus
from shop.database import MAX_ID
from shop.pagination import PageArgs, page_of

NO_CONTROL_CHARS = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Control characters are not allowed.")
MAX_FEN = 10**12


class RewardArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf([s.value for s in RewardStatus]),
                              metadata={"description": "Only rewards in this state."})


class RewardOrderSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    paid_at = ma.fields.AwareDateTime(allow_none=True)


class RewardLineSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    quantity = ma.fields.Integer()


class FriendSchema(ma.Schema):
    nickname = ma.fields.String(allow_none=True, metadata={
        "description": "The friend who bought (level 1 only; a friend's friend stays anonymous)."})


class RewardSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": ["points", "commission"]})
    level = ma.fields.Integer(metadata={"description": "1: your friend bought; 2: a friend of your friend."})
    amount = ma.fields.Integer(metadata={"description": "Points, or fen of commission, as first rewarded."})
    reversed_amount = ma.fields.Integer(metadata={"description": "Taken back by refunds so far."})
    net = ma.fields.Integer(metadata={"description": "amount - reversed_amount."})
    status = ma.fields.String(metadata={
        "enum": [RewardStatus.FROZEN.value, RewardStatus.AVAILABLE.value, RewardStatus.REVERSED.value],
        "description": "frozen (inside the refund window, or the friend's binding is under review), available "
                       "(credited), reversed (refunded in full)."})
    flagged = ma.fields.Boolean(metadata={"description": "Held frozen for review of how the friend was bound."})
    available_at = ma.fields.AwareDateTime(metadata={"description": "When the refund window ends."})
    settled_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    order = ma.fields.Nested(RewardOrderSchema)
    line = ma.fields.Nested(RewardLineSchema)
    friend = ma.fields.Nested(FriendSchema)


class KindTotalsSchema(ma.Schema):
    frozen = ma.fields.Integer(metadata={"description": "Net of frozen rewards: not spendable yet."})
    available = ma.fields.Integer(metadata={"description": "Net of rewards credited so far (lifetime)."})
    reversed = ma.fields.Integer(metadata={"description": "Taken back by refunds (lifetime)."})
    rewards = ma.fields.Integer(metadata={"description": "How many rewards."})


class TotalsSchema(ma.Schema):
    points = ma.fields.Nested(KindTotalsSchema)
    commission = ma.fields.Nested(KindTotalsSchema)


class CommissionSchema(ma.Schema):
    balance = ma.fields.Integer(metadata={"description": "Fen; negative when refunds clawed back more than was left."})
    available = ma.fields.Integer(metadata={"description": "Fen you can withdraw (the balance, or 0)."})
    debt = ma.fields.Integer(metadata={"description": "Fen owed; paid from your next rewards first."})
    frozen = ma.fields.Integer(metadata={"description": "Fen in frozen rewards."})
    withdrawn = ma.fields.Integer(metadata={"description": "Fen paid out to your WeChat change."})


class RewardsOverviewSchema(ma.Schema):
    totals = ma.fields.Nested(TotalsSchema)
    commission = ma.fields.Nested(CommissionSchema)
    rewards = ma.fields.Nested(page_of(RewardSchema), metadata={"description": "Newest first."})


class WithdrawalArgs(ma.Schema):
    amount = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_FEN),
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
    member_id = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))


class ApproveArgs(ma.Schema):
    note = ma.fields.String(load_default=None, validate=[validate.Length(max=500), NO_CONTROL_CHARS])


class RejectArgs(ma.Schema):
    note = ma.fields.String(required=True, validate=[validate.Length(min=1, max=500), NO_CONTROL_CHARS],
                            metadata={"description": "Why; the member sees it."})
