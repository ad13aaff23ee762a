"""Request and response shapes of coupons. Money is integer fen; times are aware UTC ISO 8601."""

import marshmallow as ma
from marshmallow import validate

from coupons import kinds
from coupons.batches.service import (
    MAX_PER_MEMBER,
    MAX_SCOPE_IDS,
    MAX_TOTAL,
    MAX_VALID_DAYS,
    batch_errors,
)
from coupons.claiming.exchange import MAX_CODES_PER_REQUEST
from coupons.claiming.issuing import Skip
from coupons.claiming.targeted import MAX_MEMBER_IDS, SHOWN_SKIPS, JobStatus
from coupons.models import BatchChannel, BatchStatus, BatchUsage, CouponStatus
from shop.config import MAX_DISCOUNT_FEN
from shop.fields import BoundedList, id_field, text
from shop.pagination import PageArgs

CHANNELS = ("public: the claim center (`GET /coupon-batches`; the only channel shoppers claim from). "
            "new_member: one coupon to each member on registration. follower: one to each member who follows "
            "the official account (once per batch, also after an unfollow and a new follow). targeted: "
            "marketing issues to chosen members (`POST .../issue`). friend_purchase: one to a sharer each time "
            "a friend they referred pays a first order (up to the per-member limit). exchange_code: printed "
            "codes (`POST .../exchange-codes`) a shopper exchanges into the wallet.")


def _scope_ids(what: str) -> ma.fields.List:
    return BoundedList(id_field(strict=True), allow_none=True,
                          load_default=None, validate=validate.Length(min=1, max=MAX_SCOPE_IDS), metadata={
                              "description": f"Only these {what} (each must exist; at most {MAX_SCOPE_IDS}); "
                                             "null or left out: all."})


class BatchArgs(ma.Schema.from_dict(kinds.term_fields(for_input=True), name="BatchTerms")):
    """A new batch (all of it) or, partially, a draft's changes; the kind's terms come from coupons.kinds."""

    name = text(100, required=True)
    kind = ma.fields.String(required=True, validate=kinds.known_kind,
                            metadata={"enum": list(kinds.KINDS), "description": kinds.kinds_description()})
    min_spend = ma.fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=MAX_DISCOUNT_FEN),
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
                               metadata={"description": CHANNELS})
    usage = ma.fields.String(load_default=None, validate=validate.OneOf([usage.value for usage in BatchUsage]),
                             metadata={"description": "Where coupons are spent: online (checkout), in_store "
                                                      "(redeemed by staff), both. Left out or null: both, or "
                                                      "online for a kind whose discount depends on the items "
                                                      "(marked online only in `kind`)."})
    scope_product_ids = _scope_ids("products")
    scope_category_ids = _scope_ids("categories")
    scope_store_ids = _scope_ids("stores (in-store redemption and pickup orders)")
    daily_limit = ma.fields.Integer(strict=True, allow_none=True, load_default=None,
                                    validate=validate.Range(min=1, max=MAX_TOTAL), metadata={
                                        "description": "At most this many coupons of the batch issued per business "
                                                       "day (00:00-24:00 Asia/Shanghai), by every channel; null: "
                                                       "no daily limit."})
    budget_note = text(2000, min_length=0, multiline=True, allow_none=True, load_default=None,
                       metadata={"description": "Marketing's note on the budget (free text)."})

    @ma.validates_schema
    def whole(self, data, partial=None, **kwargs):
        if not partial:
            errors = batch_errors(data)
            if errors:
                raise ma.ValidationError(errors)


class BatchChangesArgs(BatchArgs):
    """A draft's changes: any of the fields of a batch (loaded partially)."""


class BatchSchema(ma.Schema.from_dict(kinds.term_fields(for_input=False), name="BatchTermsOut")):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(kinds.KINDS)})
    description = ma.fields.Function(kinds.describe, metadata={
        "description": "What a coupon of the batch gives, for the shopper (\"Buy 2 get 1 free\")."})
    min_spend = ma.fields.Integer()
    starts_at = ma.fields.AwareDateTime(allow_none=True)
    ends_at = ma.fields.AwareDateTime(allow_none=True)
    valid_days = ma.fields.Integer(allow_none=True)
    total = ma.fields.Integer()
    per_member_limit = ma.fields.Integer()
    channel = ma.fields.String()
    usage = ma.fields.String(metadata={"enum": [usage.value for usage in BatchUsage]})
    scope_product_ids = ma.fields.List(ma.fields.Integer(), allow_none=True, metadata={"description": "null: all."})
    scope_category_ids = ma.fields.List(ma.fields.Integer(), allow_none=True, metadata={"description": "null: all."})
    scope_store_ids = ma.fields.List(ma.fields.Integer(), allow_none=True, metadata={"description": "null: all."})
    daily_limit = ma.fields.Integer(allow_none=True)


class AdminBatchSchema(BatchSchema):
    budget_note = ma.fields.String(allow_none=True)
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


class CouponCodeSchema(ma.Schema):
    coupon_id = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "Digits the clerk types: the coupon id, then 8 digits that "
                                                     "change every `step_seconds`."})
    display = ma.fields.String(metadata={"description": "The same code in groups of four, for reading it out."})
    qr_payload = ma.fields.String(metadata={"description": "Text to render as a QR code for the clerk to scan."})
    valid_until = ma.fields.AwareDateTime(metadata={"description": "When this code is replaced by the next one "
                                                                  "(clerks accept it one step longer)."})
    seconds_left = ma.fields.Integer(metadata={"description": "Seconds until valid_until: fetch again then."})
    step_seconds = ma.fields.Integer()
    store_ids = ma.fields.List(ma.fields.Integer(), allow_none=True,
                               metadata={"description": "Stores where it can be redeemed; null: all stores."})


class RedeemArgs(ma.Schema):
    code = text(64, required=True, metadata={
        "description": "The typed code (spaces and dashes ignored) or the scanned QR payload."})
    store_id = id_field(strict=True, allow_none=True, load_default=None, metadata={
                                     "description": "The store redeeming; required only for a clerk of several."})


class RedemptionSchema(ma.Schema):
    id = ma.fields.Integer(attribute="redemption.id")
    coupon_id = ma.fields.Integer(attribute="redemption.coupon_id")
    store_id = ma.fields.Integer(attribute="redemption.store_id")
    staff_id = ma.fields.Integer(attribute="redemption.staff_id")
    redeemed_at = ma.fields.AwareDateTime(attribute="redemption.redeemed_at")
    reverted_at = ma.fields.AwareDateTime(attribute="redemption.reverted_at", allow_none=True)
    reverted_by_staff_id = ma.fields.Integer(attribute="redemption.reverted_by_staff_id", allow_none=True)
    revertible_until = ma.fields.AwareDateTime(metadata={
        "description": "Until when a clerk of the store may revert it (10 minutes after redeemed_at)."})
    batch = ma.fields.Nested(BatchSchema, metadata={"description": "What the coupon gives: apply it at the till."})


class RedemptionListArgs(PageArgs):
    store_id = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**53), metadata={
        "description": "One of your stores (admin: any); all of your stores when left out."})


class IssueArgs(ma.Schema):
    member_ids = BoundedList(
        ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1)), required=True,
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
    discount_cost = ma.fields.Integer(metadata={"description": "Fen the used coupons took off: what the batch "
                                                               "cost. Online, what each order took; in store, "
                                                               "the face value of the kinds that know it without "
                                                               "the items (amount_off, threshold); the till "
                                                               "alone knows what percent_off and free_item took."})


class AdminBatchDetailSchema(AdminBatchSchema):
    stats = ma.fields.Nested(BatchStatsSchema)
