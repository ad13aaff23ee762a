"""Claiming shapes: the claim centre, the wallet, targeted issuance and exchange codes. Money is integer fen; times are aware UTC ISO 8601."""

import marshmallow as ma
from marshmallow import validate

from coupons.batches.schemas import BatchSchema
from coupons.claiming.exchange import MAX_CODES_PER_REQUEST
from coupons.claiming.holdout import MAX_HOLDOUT_PERCENT
from coupons.claiming.issuing import Skip
from coupons.claiming.targeted import MAX_MEMBER_IDS, SHOWN_SKIPS, JobStatus
from coupons.models import CouponStatus
from shop.fields import BoundedList, id_field, strict_int, text
from shop.pagination import PageArgs


class ClaimableBatchSchema(ma.Schema):
    batch = ma.fields.Nested(BatchSchema)
    claimed = ma.fields.Integer(metadata={"description": "Coupons of this batch you hold."})
    may_claim = ma.fields.Integer(metadata={"description": "How many more you may claim now (0 when the "
                                                           "batch's daily limit is used up today: come back "
                                                           "after midnight, Asia/Shanghai)."})


class CouponSchema(ma.Schema):
    """A coupon in the wallet.

    Online, a coupon is `locked` by the order it is chosen for when the order is placed, `used` when
    that order is paid (a coupon that expired while its order awaited payment is still used: it was
    valid when the order was placed), and `available` again when the unpaid order is cancelled or
    times out (`expired` if past its expiry by then). A full refund before the goods are handed over
    (neither shipped nor picked up) returns the coupon if it is still valid (`expired` otherwise); a
    partial refund, or a refund after shipping or pickup, does not.
    """

    id = ma.fields.Integer(attribute="coupon.id")
    status = ma.fields.String(metadata={
        "enum": [status.value for status in CouponStatus],
        "description": "available (usable until expires_at), locked (held by an unpaid order), used, "
                       "expired (past expires_at unused)."})
    order_id = ma.fields.Integer(attribute="coupon.order_id", allow_none=True,
                                 metadata={"description": "The order that holds (locked) or used it online."})
    used_in = ma.fields.String(attribute="coupon.used_in", allow_none=True,
                               metadata={"enum": ["online", "in_store"]})
    discount_amount = ma.fields.Integer(attribute="coupon.discount_amount", allow_none=True,
                                        metadata={"description": "Fen it takes (locked) or took (used) off."})
    sequence = ma.fields.Integer(attribute="coupon.sequence",
                                 metadata={"description": "Your n-th coupon of this batch."})
    valid_from = ma.fields.AwareDateTime(attribute="coupon.valid_from")
    expires_at = ma.fields.AwareDateTime(attribute="coupon.expires_at")
    claimed_at = ma.fields.AwareDateTime(attribute="coupon.claimed_at")
    used_at = ma.fields.AwareDateTime(attribute="coupon.used_at", allow_none=True)
    batch = ma.fields.Nested(BatchSchema)


class WalletArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=validate.OneOf([status.value for status in CouponStatus]),
        metadata={"description": "Only these; all when left out."})


# In-store redemption (coupons/redemption/service.py, coupons/redemption/api.py).


class HoldoutArgs(ma.Schema):
    """A control group held out of a targeted issuance (also taken by the CRM's issue to a segment)."""

    holdout_percent = strict_int(
        0, MAX_HOLDOUT_PERCENT, load_default=0,
        metadata={"description": f"0-{MAX_HOLDOUT_PERCENT}: this share of the members, drawn at random, is a "
                                 "control group that gets no coupon, to measure what the coupon caused."})
    holdout_seed = text(64, load_default=None, metadata={
        "description": "The draw's seed (the same seed puts the same members in the same groups); a random "
                       "one is drawn and recorded on the job when left out."})


class IssueArgs(HoldoutArgs):
    member_ids = BoundedList(
        id_field(strict=True), required=True,
        validate=validate.Length(min=1, max=MAX_MEMBER_IDS),
        metadata={"description": f"Members to issue to (1-{MAX_MEMBER_IDS:,} ids; a body is at most 1 MiB)."})


class IssueJobSchema(ma.Schema):
    id = ma.fields.String()
    batch_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": [status.value for status in JobStatus]})
    requested = ma.fields.Integer(metadata={"description": "Member ids given."})
    processed = ma.fields.Integer(metadata={"description": "Member ids handled so far."})
    issued = ma.fields.Integer()
    skipped = ma.fields.Integer()
    skip_reasons = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), metadata={
        "description": "Skipped members by reason: " + ", ".join(skip.value for skip in Skip) + "."})
    skipped_members = ma.fields.List(ma.fields.Dict(), metadata={
        "description": f"The first {SHOWN_SKIPS} skipped: {{member_id, reason}}."})
    error = ma.fields.String(allow_none=True, metadata={"description": "Why a failed job failed."})
    holdout_percent = ma.fields.Integer(metadata={"description": "The share held out as a control group (0: none)."})
    holdout_seed = ma.fields.String(allow_none=True, metadata={"description": "The seed of the groups' draw."})
    treated = ma.fields.Integer(metadata={"description": "Members assigned to the treated group so far "
                                                         "(with a holdout; their coupons count in issued/skipped)."})
    control = ma.fields.Integer(metadata={"description": "Members held out so far: never issued a coupon, "
                                                         "counted neither as issued nor as skipped."})
    created_at = ma.fields.AwareDateTime()
    started_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)


class ExchangeCodesArgs(ma.Schema):
    count = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_CODES_PER_REQUEST),
                              metadata={"description": f"How many new codes (1-{MAX_CODES_PER_REQUEST:,}; never "
                                                       "more than the batch's total minus codes it has)."})


class ExchangeCodesSchema(ma.Schema):
    generated = ma.fields.Integer(metadata={"description": "Codes made now."})
    codes = ma.fields.Integer(metadata={"description": "Codes the batch has in all."})


class ExchangeArgs(ma.Schema):
    code = text(64, required=True,
                metadata={"description": "The printed code; case, spaces and dashes do not matter."})


