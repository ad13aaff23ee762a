"""Request and response shapes of the funnel."""

import marshmallow as ma

from shop.fields import campaign, id_field


class FunnelArgs(ma.Schema):
    from_ = ma.fields.Date(required=True, data_key="from", metadata={
        "description": "First join day (business day, Asia/Shanghai), inclusive."})
    to = ma.fields.Date(required=True, metadata={"description": "Last join day, inclusive; at most 366 days in all."})
    store_id = id_field(load_default=None, metadata={
        "description": "Members who joined through a share of this store (its counter QR code)."})
    campaign = campaign(metadata={"description": "Members who joined through a share or store share of this campaign."})
    share_id = id_field(load_default=None, metadata={"description": "Members who joined through this member's share."})


class FunnelStepSchema(ma.Schema):
    step = ma.fields.String(metadata={"enum": ["joined", "paid", "shared", "friend_bound", "friend_paid"]})
    members = ma.fields.Integer()
    rate_from_previous = ma.fields.Float(allow_none=True, metadata={
        "description": "Members over the previous step's (null for the first step or when it is 0)."})
    rate_from_joined = ma.fields.Float(allow_none=True)


class FunnelFollowSchema(ma.Schema):
    members = ma.fields.Integer(metadata={"description": "Joined members who have followed the official account."})
    rate_from_joined = ma.fields.Float(allow_none=True)


class FunnelCohortSchema(ma.Schema):
    week = ma.fields.String(metadata={"description": "ISO week of the join days, e.g. `2026-W49`."})
    week_start = ma.fields.Date(metadata={"description": "The Monday of the week."})
    first_day = ma.fields.Date(metadata={"description": "The first join day of the range in this week."})
    last_day = ma.fields.Date()
    steps = ma.fields.List(ma.fields.Nested(FunnelStepSchema))
    followed = ma.fields.Nested(FunnelFollowSchema)


class FunnelSchema(ma.Schema):
    from_ = ma.fields.Date(data_key="from", attribute="from")
    to = ma.fields.Date()
    as_of = ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "When the oldest rollup day read was built; null when a day is not built yet."})
    store_id = ma.fields.Integer(allow_none=True)
    campaign = ma.fields.String(allow_none=True)
    share_id = ma.fields.Integer(allow_none=True)
    steps = ma.fields.List(ma.fields.Nested(FunnelStepSchema))
    followed = ma.fields.Nested(FunnelFollowSchema)
    cohorts = ma.fields.List(ma.fields.Nested(FunnelCohortSchema))
