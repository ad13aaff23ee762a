"""Request and response shapes of rewards and the commission account. Money is integer fen; times UTC ISO 8601."""

import marshmallow as ma
from marshmallow import validate

from referral.rewards.models import RewardStatus
from shop.pagination import PageArgs, page_of


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
