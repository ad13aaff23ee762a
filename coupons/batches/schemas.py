"""Batch shapes: what marketing sends and reads. Money is integer fen; times are aware UTC ISO 8601."""

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
from coupons.models import BatchChannel, BatchStatus, BatchUsage
from shop.config import MAX_DISCOUNT_FEN
from shop.fields import BoundedList, id_field, text
from shop.fields import campaign as campaign_label
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
    campaign = campaign_label(metadata={"description": "A campaign label: an order placed soon after a coupon of the "
                                                 "batch is claimed is attributed to it (docs/crm.md)."})

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
    campaign = ma.fields.String(allow_none=True)
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
