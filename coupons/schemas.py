"""Request and response shapes of coupons. Money is integer fen; times are aware UTC ISO 8601."""

import marshmallow as ma
from marshmallow import validate

from coupons.models import BatchChannel, BatchKind, BatchStatus, CouponStatus
from coupons.service import MAX_FEN, MAX_PER_MEMBER, MAX_TOTAL, MAX_VALID_DAYS, batch_errors
from shop.pagination import PageArgs

NO_CONTROL_CHARS = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Control characters are not allowed.")
FEN = validate.Range(min=1, max=MAX_FEN)


class BatchArgs(ma.Schema):
    """A new batch (all of it) or, partially, a draft's changes."""

    name = ma.fields.String(required=True, validate=[validate.Length(min=1, max=100), NO_CONTROL_CHARS])
    kind = ma.fields.String(required=True, validate=validate.OneOf([kind.value for kind in BatchKind]),
                            metadata={"description": "amount_off: `amount_off` fen off; percent_off: `percent`% "
                                                     "off, at most `max_off` fen; threshold: spend `min_spend`, "
                                                     "save `amount_off`."})
    amount_off = ma.fields.Integer(strict=True, allow_none=True, load_default=None, validate=FEN,
                                   metadata={"description": "Fen off (amount_off, threshold)."})
    percent = ma.fields.Integer(strict=True, allow_none=True, load_default=None,
                                validate=validate.Range(min=1, max=99),
                                metadata={"description": "Percent off, 1-99 (percent_off)."})
    max_off = ma.fields.Integer(strict=True, allow_none=True, load_default=None, validate=FEN,
                                metadata={"description": "The most fen a percent_off coupon takes off."})
    min_spend = ma.fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=MAX_FEN),
                                  metadata={"description": "Fen the order must reach (required above 0 for "
                                                           "threshold)."})
    starts_at = ma.fields.AwareDateTime(allow_none=True, load_default=None, metadata={
        "description": "Fixed window: claimable and usable from here (with a zone)."})
    ends_at = ma.fields.AwareDateTime(allow_none=True, load_default=None, metadata={
        "description": "Fixed window: claimable and usable until here; coupons expire then."})
    valid_days = ma.fields.Integer(strict=True, allow_none=True, load_default=None,
                                   validate=validate.Range(min=1, max=MAX_VALID_DAYS),
                                   metadata={"description": "Instead of a window: coupons expire this many "
                                                            "days after they are claimed."})
    total = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_TOTAL))
    per_member_limit = ma.fields.Integer(strict=True, load_default=1,
                                         validate=validate.Range(min=1, max=MAX_PER_MEMBER))
    channel = ma.fields.String(load_default=BatchChannel.PUBLIC.value,
                               validate=validate.OneOf([channel.value for channel in BatchChannel]),
                               metadata={"description": "public: the claim center (the only channel so far)."})

    @ma.validates_schema
    def whole(self, data, partial=None, **kwargs):
        if not partial:
            errors = batch_errors(data)
            if errors:
                raise ma.ValidationError(errors)


class BatchChangesArgs(BatchArgs):
    """A draft's changes: any of the fields of a batch (loaded partially)."""


class BatchSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    amount_off = ma.fields.Integer(allow_none=True)
    percent = ma.fields.Integer(allow_none=True)
    max_off = ma.fields.Integer(allow_none=True)
    min_spend = ma.fields.Integer()
    starts_at = ma.fields.AwareDateTime(allow_none=True)
    ends_at = ma.fields.AwareDateTime(allow_none=True)
    valid_days = ma.fields.Integer(allow_none=True)
    total = ma.fields.Integer()
    per_member_limit = ma.fields.Integer()
    channel = ma.fields.String()


class AdminBatchSchema(BatchSchema):
    status = ma.fields.String(metadata={"enum": [status.value for status in BatchStatus]})
    issued = ma.fields.Integer(metadata={"description": "Coupons claimed so far."})
    remaining = ma.fields.Integer(metadata={"description": "total - issued."})
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class BatchListArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf([status.value for status in BatchStatus]))


class ClaimableBatchSchema(ma.Schema):
    batch = ma.fields.Nested(BatchSchema)
    claimed = ma.fields.Integer(metadata={"description": "Coupons of this batch you hold."})
    may_claim = ma.fields.Integer(metadata={"description": "How many more you may claim now."})


class CouponSchema(ma.Schema):
    id = ma.fields.Integer(attribute="coupon.id")
    status = ma.fields.String(metadata={
        "enum": [status.value for status in CouponStatus],
        "description": "available (usable until expires_at), used, expired (past expires_at unused)."})
    sequence = ma.fields.Integer(attribute="coupon.sequence",
                                 metadata={"description": "Your n-th coupon of this batch."})
    valid_from = ma.fields.AwareDateTime(attribute="coupon.valid_from")
    expires_at = ma.fields.AwareDateTime(attribute="coupon.expires_at")
    claimed_at = ma.fields.AwareDateTime(attribute="coupon.claimed_at")
    used_at = ma.fields.AwareDateTime(attribute="coupon.used_at", allow_none=True)
    batch = ma.fields.Nested(BatchSchema)


class WalletArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf(
        [CouponStatus.AVAILABLE.value, CouponStatus.USED.value, CouponStatus.EXPIRED.value]),
        metadata={"description": "Only these; all when left out."})


class StoreRedemptionsSchema(ma.Schema):
    store_id = ma.fields.Integer()
    redeemed = ma.fields.Integer(metadata={"description": "Redemptions at this store that were not reverted."})


class BatchStatsSchema(ma.Schema):
    """A batch's results; counts are coupons unless said otherwise, money is fen."""

    issued = ma.fields.Integer(metadata={"description": "Coupons issued, by every channel."})
    claimed = ma.fields.Integer(metadata={"description": "Of those, claimed in the claim center (source public)."})
    issued_by_other_channels = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Integer(),
        metadata={"description": "The rest by how they were issued (new_member, follower, targeted, "
                                 "friend_purchase, exchange_code); channels with none are left out."})
    available = ma.fields.Integer(metadata={"description": "Held, unused and not expired."})
    locked = ma.fields.Integer(metadata={"description": "Held by an unpaid order."})
    used = ma.fields.Integer(metadata={"description": "Used, online or in store."})
    used_online = ma.fields.Integer(metadata={"description": "Used at checkout by a paid order."})
    redeemed_in_store = ma.fields.Integer(metadata={"description": "Redeemed at a counter and not reverted."})
    redeemed_in_store_by_store = ma.fields.List(ma.fields.Nested(StoreRedemptionsSchema),
                                                metadata={"description": "The same, per store (by store id)."})
    expired = ma.fields.Integer(metadata={"description": "Expired unused (past expires_at, or released by an "
                                                         "order after it)."})
    reverted = ma.fields.Integer(metadata={"description": "In-store redemptions reverted by the store (the "
                                                          "wrong coupon scanned)."})
    gmv = ma.fields.Integer(metadata={"description": "Fen paid for the orders that used a coupon of this batch "
                                                     "online (orders.amount_paid)."})
    discount_cost = ma.fields.Integer(metadata={"description": "Fen the used coupons took off (online and in "
                                                               "store): what the batch cost."})


class AdminBatchDetailSchema(AdminBatchSchema):
    stats = ma.fields.Nested(BatchStatsSchema)
