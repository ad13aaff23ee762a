"""Request and response shapes of the referral policy and sharer approvals. Money is integer fen."""

import marshmallow as ma
from marshmallow import validate

from referral.policy.models import BindMode, RewardBasis, RewardKind, SharerPolicy
from shop.fields import BoundedList, strict_bool, text

MAX_AMOUNT = 1_000_000  # points or fen per unit and level


def _one_of(enum) -> validate.OneOf:
    return validate.OneOf([item.value for item in enum])


class SettingsArgs(ma.Schema):
    """The policy: send the fields that change; the result is checked as a whole."""

    sharer_policy = ma.fields.String(validate=_one_of(SharerPolicy), metadata={
        "description": "Who earns: everyone, approved (members an admin approved), first_paid_order "
                       "(members who have paid an order). Friends bind under any sharer either way."})
    bind_mode = ma.fields.String(validate=_one_of(BindMode), metadata={
        "description": "first_touch (the first sharer keeps a friend forever), protected (a newer share may "
                       "re-bind after protection_days), registration_only (only a share that brings a new "
                       "member binds)."})
    protection_days = ma.fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=3650),
                                        metadata={"description": "Required with bind_mode protected."})
    reward_levels = ma.fields.Integer(strict=True, metadata={"description": "1 or 2; 3 or more is refused."})
    reward_kind = ma.fields.String(validate=_one_of(RewardKind), metadata={
        "description": "points (the loyalty ledger) or commission (fen, withdrawable)."})
    reward_basis = ma.fields.String(validate=_one_of(RewardBasis), metadata={
        "description": "percent (percent_bp of what the line cost) or fixed_per_sku (fixed_per_sku per unit)."})
    percent_bp = BoundedList(ma.fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000)),
                             validate=validate.Length(max=16),  # the levels rule words what is allowed
                                metadata={"description": "Basis points per level: [level 1, level 2]."})
    fixed_per_sku = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Regexp(r"^[1-9][0-9]{0,17}$", error="A SKU id.")),
        values=BoundedList(ma.fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_AMOUNT)),
                           validate=validate.Length(max=16)),
        metadata={"description": "Per SKU id: [level 1, level 2] points or fen per unit."})
    refund_window_days = ma.fields.Integer(strict=True, validate=validate.Range(min=0, max=365), metadata={
        "description": "Days a reward stays frozen after payment (refunds reverse it meanwhile)."})
    min_withdrawal = ma.fields.Integer(strict=True, validate=validate.Range(min=10, max=200_000), metadata={
        "description": "Smallest commission withdrawal, fen."})
    reward_till_sales = strict_bool(metadata={
        "description": "Whether a referred friend's till sale (recorded by a clerk with the member code) rewards "
                       "the sharer like an online order; default false. The friend's GMV counts either way."})


class SettingsSchema(SettingsArgs):
    updated_at = ma.fields.AwareDateTime()
    updated_by_staff_id = ma.fields.Integer(allow_none=True)


class ApprovalArgs(ma.Schema):
    reason = text(500, load_default=None, allow_none=True)


class ApprovalSchema(ma.Schema):
    member_id = ma.fields.Integer()
    approved_at = ma.fields.AwareDateTime(allow_none=True)
