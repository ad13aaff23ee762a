"""Request and response shapes of points. Points are integers; times are UTC ISO 8601."""

import marshmallow as ma
from marshmallow import validate

from shop.fields import text
from shop.pagination import page_of
from shop.points.models import PointsReason
from shop.points.service import MAX_ADJUSTMENT


class LedgerEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    reason = ma.fields.String(metadata={
        "description": "earn (an order was paid), spend (points off an order), cancel_return (a cancelled order "
                       "gave its points back), refund_return (a refund gave spent points back), refund_reverse "
                       "(a refund took earned points back), expire (a lot reached its date), adjust (by the "
                       "brand, see note), debt_settled (new points paid what a refund left owing), referral_reward "
                       "(a friend's purchase rewarded you, once its refund window passed), referral_reverse (a "
                       "refund of that purchase took the reward back).",
        "enum": [reason.value for reason in PointsReason]})
    delta = ma.fields.Integer(metadata={"description": "Change to the balance (negative: points out)."})
    owed_delta = ma.fields.Integer(metadata={"description": "Change to the points owed (see `owed`)."})
    balance_after = ma.fields.Integer()
    order_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String(allow_none=True, metadata={"description": "An adjustment's reason."})
    created_at = ma.fields.AwareDateTime()


class TierSchema(ma.Schema):
    name = ma.fields.String()
    # apispec calls every Decimal a number; this one is sent as a string, and the spec must say so.
    multiplier = ma.fields.Decimal(as_string=True, metadata={
        "type": "string", "pattern": r"^\d+(\.\d+)?$",
        "description": "Earning multiplier of the tier, as a decimal string (\"1.2\")."})
    earned_12m = ma.fields.Integer(metadata={
        "description": "Points earned from orders in the trailing 12 months, less what refunds took back; "
                       "this sets the tier (adjustments do not count)."})
    next_tier = ma.fields.String(allow_none=True, metadata={"description": "null at the top tier."})
    points_to_next = ma.fields.Integer(allow_none=True, metadata={
        "description": "Points still to earn within 12 months to reach the next tier; null at the top."})


class ExpiringSchema(ma.Schema):
    points = ma.fields.Integer()
    at = ma.fields.AwareDateTime()


class PointsSchema(ma.Schema):
    balance = ma.fields.Integer(metadata={"description": "Points usable now (expired lots excluded)."})
    owed = ma.fields.Integer(metadata={
        "description": "Points owed because a refund took back earned points that were already spent; "
                       "new points pay it first. The balance is never negative."})
    tier = ma.fields.Nested(TierSchema)
    expiring = ma.fields.Nested(ExpiringSchema, allow_none=True, metadata={
        "description": "The next lot to expire and when; null when nothing will."})
    ledger = ma.fields.Nested(page_of(LedgerEntrySchema), metadata={"description": "Newest first."})


class AdminPointsSchema(PointsSchema):
    member_id = ma.fields.Integer()


class AdjustmentArgs(ma.Schema):
    delta = ma.fields.Integer(strict=True, required=True, validate=[
        validate.Range(min=-MAX_ADJUSTMENT, max=MAX_ADJUSTMENT),
        validate.NoneOf([0], error="An adjustment changes the balance.")],
        metadata={"description": f"Points to add (positive) or remove (negative), at most {MAX_ADJUSTMENT:,}."})
    reason = text(255, required=True, metadata={"description": "Why; the member sees it in their ledger."})

    @ma.pre_load
    def strip_reason(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("reason"), str):
            data = {**data, "reason": data["reason"].strip()}
        return data


class IdempotencyHeader(ma.Schema):
    idempotency_key = text(64, data_key="Idempotency-Key", load_default=None,
                           metadata={"description": "A retry with the same key answers the first adjustment."})

    class Meta:
        unknown = ma.EXCLUDE
