"""Request and response shapes of shares, binding and the referral policy. Money is integer fen."""

import marshmallow as ma
from marshmallow import validate

from referral.binding import Outcome
from referral.models import BindMode, RewardBasis, RewardKind, SharerPolicy
from shop.database import MAX_ID
from shop.fields import BoundedList

NO_CONTROL_CHARS = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Control characters are not allowed.")
LABEL = validate.Regexp(r"^[0-9A-Za-z._~-]+$", error="Letters, digits and . _ ~ - only.")
MAX_AMOUNT = 1_000_000  # points or fen per unit and level


def _one_of(enum) -> validate.OneOf:
    return validate.OneOf([item.value for item in enum])


class ShareArgs(ma.Schema):
    product_id = ma.fields.Integer(strict=True, load_default=None, allow_none=True,
                                   validate=validate.Range(min=1, max=MAX_ID),
                                   metadata={"description": "Share this product's page (it must be on sale)."})
    campaign = ma.fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=64), LABEL],
                                metadata={"description": "A campaign label, for per-campaign figures."})
    channel = ma.fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=32), LABEL],
                               metadata={"description": "Where it is shared: chat, moments, poster..."})


class ShareSchema(ma.Schema):
    share_id = ma.fields.Integer(attribute="id")
    scene = ma.fields.String(metadata={"description": "At most 32 characters: what the mini-program code carries."})
    path = ma.fields.String(metadata={"description": "The page with the scene, for onShareAppMessage."})
    product_id = ma.fields.Integer(allow_none=True)
    campaign = ma.fields.String(allow_none=True)
    channel = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    earns_rewards = ma.fields.Boolean(metadata={
        "description": "Whether the policy lets you earn from friends' purchases now (friends bind either way)."})


class OpenArgs(ma.Schema):
    # Checked by the service, so a malformed scene answers 422 scene_invalid.
    scene = ma.fields.String(required=True, metadata={"description": "The scene the mini-program was opened with."})


class OpenSchema(ma.Schema):
    share_id = ma.fields.Integer()
    product_id = ma.fields.Integer(allow_none=True, metadata={"description": "The page to show, if a product's."})
    campaign = ma.fields.String(allow_none=True)
    outcome = ma.fields.String(metadata={"enum": [o.value for o in Outcome], "description": (
        "bound | rebound: you are now the sharer's friend; already_bound: you were someone's already "
        "(or theirs); protected: another sharer's protection period still runs; registration_only: only "
        "new members bind; self: your own share; cycle: the sharer is in your own downline.")})
    bound = ma.fields.Boolean(metadata={"description": "Whether this open bound you under the sharer."})
    repeat = ma.fields.Boolean(metadata={"description": "You had opened this share before: the first answer."})
    opened_at = ma.fields.AwareDateTime()


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


class SettingsSchema(SettingsArgs):
    updated_at = ma.fields.AwareDateTime()
    updated_by_staff_id = ma.fields.Integer(allow_none=True)


class ApprovalArgs(ma.Schema):
    reason = ma.fields.String(load_default=None, allow_none=True,
                              validate=[validate.Length(min=1, max=500), NO_CONTROL_CHARS])


class ApprovalSchema(ma.Schema):
    member_id = ma.fields.Integer()
    approved_at = ma.fields.AwareDateTime(allow_none=True)


class ReasonArgs(ma.Schema):
    reason = ma.fields.String(required=True, validate=[validate.Length(min=1, max=500), NO_CONTROL_CHARS],
                              metadata={"description": "Why: kept in the member's history."})


class RebindArgs(ReasonArgs):
    parent_id = ma.fields.Integer(strict=True, required=True, allow_none=True,
                                  validate=validate.Range(min=1, max=MAX_ID),
                                  metadata={"description": "The new parent; null makes the member a root."})


class TreeNodeSchema(ma.Schema):
    member_id = ma.fields.Integer()
    parent_id = ma.fields.Integer(allow_none=True)
    depth = ma.fields.Integer()
    share_id = ma.fields.Integer(allow_none=True)
    bound_at = ma.fields.AwareDateTime(allow_none=True)
    descendants = ma.fields.Integer()
    approved_at = ma.fields.AwareDateTime(allow_none=True)
    flagged_at = ma.fields.AwareDateTime(allow_none=True)
    flag_reason = ma.fields.String(allow_none=True, metadata={"description": "same_device or same_ip"})


class RebindSchema(ma.Schema):
    changed = ma.fields.Boolean(metadata={"description": "False: the member was there already (nothing recorded)."})
    node = ma.fields.Nested(TreeNodeSchema)


class HistorySchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "bind, rebind, admin_rebind, flag_cleared, flag_confirmed, "
                                                     "approved, approval_revoked"})
    old_parent_id = ma.fields.Integer(allow_none=True)
    new_parent_id = ma.fields.Integer(allow_none=True)
    share_id = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    staff_id = ma.fields.Integer(allow_none=True)
    flagged = ma.fields.Boolean()
    created_at = ma.fields.AwareDateTime()
