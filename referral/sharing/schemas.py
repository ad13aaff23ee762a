"""Request and response shapes of shares, opens, re-binds, flags and the bind history."""

import marshmallow as ma
from marshmallow import validate

from referral.sharing.binding import Outcome
from referral.sharing.models import TITLE_MAX
from shop.fields import LABEL, id_field, text


class ShareArgs(ma.Schema):
    product_id = id_field(strict=True, load_default=None, allow_none=True,
                          metadata={"description": "Share this product's page (it must be on sale)."})
    campaign = ma.fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=64), LABEL],
                                metadata={"description": "A campaign label, for per-campaign figures."})
    channel = ma.fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=32), LABEL],
                               metadata={"description": "Where it is shared: chat, moments, poster..."})
    title = text(TITLE_MAX, load_default=None, allow_none=True, metadata={
        "description": "Your words on the share card (onShareAppMessage's title), checked with WeChat's content "
                       "security before they are kept."})

    @ma.pre_load
    def strip_title(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("title"), str):
            data = {**data, "title": data["title"].strip() or None}
        return data


class ShareSchema(ma.Schema):
    share_id = ma.fields.Integer(attribute="id")
    scene = ma.fields.String(metadata={"description": "At most 32 characters: what the mini-program code carries."})
    path = ma.fields.String(metadata={"description": "The page with the scene, for onShareAppMessage."})
    product_id = ma.fields.Integer(allow_none=True)
    campaign = ma.fields.String(allow_none=True)
    channel = ma.fields.String(allow_none=True)
    title = ma.fields.String(allow_none=True)
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
        "new members bind; self: your own share; cycle: the sharer is in your own downline; returning: "
        "this WeChat account deleted a member account lately, so it binds under no one (docs/privacy.md); store: a store's "
        "share, which binds you under no one (`store_id` says which store; it became your home store "
        "unless you had one).")})
    store_id = ma.fields.Integer(metadata={"description": "Only for a store's share (outcome `store`): its store."})
    bound = ma.fields.Boolean(metadata={"description": "Whether this open bound you under the sharer."})
    repeat = ma.fields.Boolean(metadata={"description": "You had opened this share before: the first answer."})
    opened_at = ma.fields.AwareDateTime()


class ReasonArgs(ma.Schema):
    reason = text(500, required=True,
                  metadata={"description": "Why: kept in the member's history."})


class RebindArgs(ReasonArgs):
    parent_id = id_field(strict=True, required=True, allow_none=True,
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


class StoreShareArgs(ma.Schema):
    product_id = id_field(strict=True, load_default=None, allow_none=True,
                          metadata={"description": "Share this product's page (it must be on sale)."})
    campaign = ma.fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=64), LABEL],
                                metadata={"description": "A campaign label."})
    store_id = id_field(strict=True, load_default=None, allow_none=True, metadata={
        "description": "The store to share for: one of yours, required when you work at several."})


class StoreShareSchema(ma.Schema):
    share_id = ma.fields.Integer(attribute="id")
    scene = ma.fields.String(metadata={"description": "At most 32 characters (starts `s.`): what the code carries."})
    path = ma.fields.String(metadata={"description": "The page with the scene, for onShareAppMessage."})
    store_id = ma.fields.Integer()
    staff_id = ma.fields.Integer()
    product_id = ma.fields.Integer(allow_none=True)
    campaign = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
