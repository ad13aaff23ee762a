"""Request and response shapes of referral analytics. Money is integer fen; times are aware UTC ISO 8601."""

from datetime import UTC, timedelta

import marshmallow as ma
from marshmallow import validate

from referral.analytics.service import SHARE_SORTS, SHARER_SORTS, Period
from shop.fields import id_field, text
from shop.pagination import PageArgs, page_of

MAX_PERIOD_DAYS = 366
GMV_DOC = "Fen paid less fen refunded."


class PeriodArgs(ma.Schema):
    """A period ``[from, to)``: both with a zone, ``to`` after ``from``, at most 366 days apart."""

    start = ma.fields.AwareDateTime(required=True, data_key="from", metadata={
        "description": "Start of the period, included (ISO 8601 with a zone, e.g. 2026-11-01T00:00:00Z)."})
    end = ma.fields.AwareDateTime(required=True, data_key="to", metadata={
        "description": f"End of the period, excluded; after `from`, at most {MAX_PERIOD_DAYS} days later."})

    @ma.validates_schema
    def _span(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return
        if end <= start:
            raise ma.ValidationError("Must be after 'from'.", field_name="to")
        if end - start > timedelta(days=MAX_PERIOD_DAYS):
            raise ma.ValidationError(f"At most {MAX_PERIOD_DAYS} days after 'from'.", field_name="to")

    @ma.post_load
    def _period(self, data, **kwargs):
        data["period"] = Period(start=data.pop("start").astimezone(UTC), end=data.pop("end").astimezone(UTC))
        return data


class DownlineArgs(PageArgs):
    level = ma.fields.Integer(load_default=1, validate=validate.OneOf([1, 2]), metadata={
        "description": "Which level to list: 1 (friends you brought) or 2 (friends they brought)."})


class SubtreeArgs(PageArgs):
    max_level = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=10_000), metadata={
        "description": "List only nodes at most this many levels below the member."})


class ShareFigureArgs(PeriodArgs, PageArgs):
    campaign = text(64, load_default=None)
    sharer_id = id_field(load_default=None)
    sort = ma.fields.String(load_default="gmv", validate=validate.OneOf(SHARE_SORTS),
                            metadata={"description": "Largest first; ties newest share first."})


class CampaignFigureArgs(PeriodArgs, PageArgs):
    pass


class TopSharerArgs(PeriodArgs, PageArgs):
    sort = ma.fields.String(load_default="gmv", validate=validate.OneOf(SHARER_SORTS),
                            metadata={"description": "Largest first; ties by member id."})


class LevelSchema(ma.Schema):
    level = ma.fields.Integer()
    members = ma.fields.Integer(metadata={"description": "Members at this level below you."})
    orders = ma.fields.Integer(metadata={"description": "Their paid orders."})
    gmv = ma.fields.Integer(metadata={"description": f"Their GMV. {GMV_DOC}"})


class SubtreeTotalsSchema(ma.Schema):
    members = ma.fields.Integer(metadata={"description": "Everyone below you, at any level."})
    orders = ma.fields.Integer()
    gmv = ma.fields.Integer(metadata={"description": GMV_DOC})


class DownlineNodeSchema(ma.Schema):
    member_id = ma.fields.Integer()
    nickname = ma.fields.String(allow_none=True)
    avatar_url = ma.fields.String(allow_none=True)
    parent_id = ma.fields.Integer(allow_none=True, metadata={"description": "Who brought them."})
    depth = ma.fields.Integer(metadata={"description": "Depth in the whole tree (0: a root)."})
    level = ma.fields.Integer(metadata={"description": "Levels below the member asked about (1: brought by them)."})
    bound_at = ma.fields.AwareDateTime(allow_none=True)
    share_id = ma.fields.Integer(allow_none=True, metadata={"description": "The share they were bound through."})
    orders = ma.fields.Integer(attribute="own_orders", metadata={"description": "Their own paid orders."})
    gmv = ma.fields.Integer(attribute="own_gmv", metadata={"description": f"Their own GMV. {GMV_DOC}"})
    descendants = ma.fields.Integer(metadata={"description": "Members below them."})


class DownlineSchema(ma.Schema):
    member_id = ma.fields.Integer()
    parent_id = ma.fields.Integer(allow_none=True, metadata={"description": "Who brought you (null: nobody)."})
    bound_at = ma.fields.AwareDateTime(allow_none=True)
    levels = ma.fields.List(ma.fields.Nested(LevelSchema), metadata={"description": "Levels 1 and 2."})
    subtree = ma.fields.Nested(SubtreeTotalsSchema)
    level = ma.fields.Integer(metadata={"description": "The level `members` lists."})
    members = ma.fields.Nested(page_of(DownlineNodeSchema), metadata={
        "description": "A page of the members at `level`, most recently bound first."})


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


class ShareFiguresSchema(ma.Schema):
    share_id = ma.fields.Integer()
    scene = ma.fields.String()
    sharer_id = ma.fields.Integer()
    product_id = ma.fields.Integer(allow_none=True)
    campaign = ma.fields.String(allow_none=True)
    channel = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    opens = ma.fields.Integer(metadata={"description": "Opens (one per member and share)."})
    unique_openers = ma.fields.Integer(metadata={"description": "Distinct members who opened."})
    binds = ma.fields.Integer(metadata={"description": "Distinct members bound (or re-bound) through it."})
    orders = ma.fields.Integer(metadata={"description": "Paid orders of members bound through it."})
    gmv = ma.fields.Integer(metadata={"description": GMV_DOC})
    bind_rate = ma.fields.Method("_bind_rate", metadata={
        "type": "number", "nullable": True, "description": "binds / unique_openers (null without openers)."})
    order_rate = ma.fields.Method("_order_rate", metadata={
        "type": "number", "nullable": True, "description": "orders / binds (null without binds)."})

    def _bind_rate(self, row) -> float | None:
        return _ratio(row.binds, row.unique_openers)

    def _order_rate(self, row) -> float | None:
        return _ratio(row.orders, row.binds)


class CampaignFiguresSchema(ShareFiguresSchema):
    class Meta:
        exclude = ("share_id", "scene", "sharer_id", "product_id", "channel", "created_at")

    shares = ma.fields.Integer(metadata={"description": "Shares created in the period."})
    sharers = ma.fields.Integer(metadata={"description": "Distinct members who created them."})
    unique_openers = ma.fields.Integer(metadata={
        "description": "Distinct members who opened any share of the campaign (fewer than opens when a "
                       "member opened several)."})


class SharerSchema(ma.Schema):
    member_id = ma.fields.Integer()
    nickname = ma.fields.String(allow_none=True)
    avatar_url = ma.fields.String(allow_none=True)
    shares = ma.fields.Integer(metadata={"description": "Shares created in the period."})
    binds = ma.fields.Integer(metadata={"description": "Members bound (or re-bound) under them in the period."})
    orders = ma.fields.Integer(metadata={"description": "Orders their level-1 friends paid in the period."})
    gmv = ma.fields.Integer(metadata={"description": f"Of those orders. {GMV_DOC}"})
    reward_points = ma.fields.Integer(metadata={"description": "Points rewards created in the period, net of "
                                                               "reversals."})
    reward_commission = ma.fields.Integer(metadata={"description": "Commission rewards (fen) created in the "
                                                                   "period, net of reversals."})


class ViralCoefficientSchema(ma.Schema):
    start = ma.fields.AwareDateTime(data_key="from")
    end = ma.fields.AwareDateTime(data_key="to")
    new_members = ma.fields.Integer(metadata={"description": "N: see the operation."})
    sharers = ma.fields.Integer(metadata={"description": "S: see the operation."})
    members = ma.fields.Integer(metadata={"description": "M: see the operation."})
    new_members_per_sharer = ma.fields.Float(allow_none=True, metadata={"description": "N / S (null if S = 0)."})
    sharer_rate = ma.fields.Float(allow_none=True, metadata={"description": "S / M (null if M = 0)."})
    k = ma.fields.Float(allow_none=True, metadata={
        "description": "new_members_per_sharer x sharer_rate (= N / M; null if either is null)."})


class DepthSchema(ma.Schema):
    depth = ma.fields.Integer()
    members = ma.fields.Integer()


class RippleSchema(ma.Schema):
    start = ma.fields.AwareDateTime(data_key="from")
    end = ma.fields.AwareDateTime(data_key="to")
    members = ma.fields.Integer(metadata={"description": "Members bound in the period (still bound)."})
    max_depth = ma.fields.Integer(allow_none=True)
    mean_depth = ma.fields.Float(allow_none=True)
    depths = ma.fields.List(ma.fields.Nested(DepthSchema), metadata={"description": "Shallowest first; depths "
                                                                                    "with no one are left out."})


class SubtreeSchema(ma.Schema):
    member_id = ma.fields.Integer()
    parent_id = ma.fields.Integer(allow_none=True)
    depth = ma.fields.Integer(metadata={"description": "The member's depth in the whole tree (0: a root)."})
    size = ma.fields.Integer(metadata={"description": "Members below the member, at any level."})
    levels = ma.fields.Integer(metadata={"description": "How many levels below the member the subtree reaches."})
    orders = ma.fields.Integer(metadata={"description": "Paid orders of the members below."})
    gmv = ma.fields.Integer(metadata={"description": f"Of the members below. {GMV_DOC}"})
    own_orders = ma.fields.Integer()
    own_gmv = ma.fields.Integer()
    nodes = ma.fields.Nested(page_of(DownlineNodeSchema), metadata={
        "description": "A page of the members below, by level then member id: enough to draw the tree "
                       "(each names its parent)."})
