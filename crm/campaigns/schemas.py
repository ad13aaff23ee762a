"""Request and response shapes of the campaign report; money in fen, days are Asia/Shanghai business days."""

import marshmallow as ma

from crm.campaigns.queries import FIGURES

_FIGURE_HELP = {
    "shares": "Shares created with the campaign.",
    "opens": "Opens of its shares and store shares (a member's first open of a share).",
    "new_members": "Members new by an open of its shares.",
    "bound_friends": "Friends bound under a sharer by its shares (rebinds included).",
    "orders": "Orders placed attributed to it (journey attribution: last touch within the window).",
    "paid_orders": "Of those, the paid ones.",
    "gmv": "Fen paid for them, net of what was refunded by the time the day was built.",
    "coupons_used": "Coupons of batches with the campaign used that day (online or in store).",
    "coupon_cost": "Their discount, fen.",
    "reward_cost": "Referral commission of the attributed orders, fen, net of reversals.",
    "reward_points": "Referral points rewards of the attributed orders (points, not in `cost`).",
}


class CampaignReportArgs(ma.Schema):
    from_ = ma.fields.Date(data_key="from", load_default=None,
                           metadata={"description": "First business day (default: 29 days before `to`)."})
    to = ma.fields.Date(load_default=None, metadata={"description": "Last business day (default: today)."})


FiguresSchema = ma.Schema.from_dict(
    {name: ma.fields.Integer(metadata={"description": _FIGURE_HELP[name]}) for name in FIGURES},
    name="CampaignFiguresSchema")


class CampaignDaySchema(FiguresSchema):
    day = ma.fields.Date()


class CampaignTotalsSchema(FiguresSchema):
    cost = ma.fields.Integer(metadata={"description": "coupon_cost + reward_cost, fen."})
    return_on_cost = ma.fields.Float(allow_none=True, metadata={"description": "gmv / cost (null without cost)."})


class HoldoutGroupSchema(ma.Schema):
    members = ma.fields.Integer()
    buyers = ma.fields.Integer(metadata={"description": "Members with a paid order placed in the window."})
    gmv = ma.fields.Integer(metadata={"description": "Fen, net of refunds."})
    visits = ma.fields.Integer(metadata={"description": "Pickups, till sales and in-store redemptions."})
    paid_order_rate = ma.fields.Float(allow_none=True)
    gmv_per_member = ma.fields.Float(allow_none=True, metadata={"description": "Fen."})
    visits_per_member = ma.fields.Float(allow_none=True)


class HoldoutUpliftSchema(ma.Schema):
    difference = ma.fields.Float(metadata={"description": "Treated minus control."})
    standard_error = ma.fields.Float(metadata={"description": "Unpooled."})
    ci_low = ma.fields.Float(metadata={"description": "95% interval, normal approximation."})
    ci_high = ma.fields.Float()


class HoldoutIncrementalGmvSchema(ma.Schema):
    estimate = ma.fields.Integer(metadata={"description": "GMV uplift per member x treated members, fen."})
    ci_low = ma.fields.Integer()
    ci_high = ma.fields.Integer()


class HoldoutResultSchema(ma.Schema):
    job_id = ma.fields.String()
    batch_id = ma.fields.Integer()
    holdout_percent = ma.fields.Integer()
    window_from = ma.fields.AwareDateTime()
    window_to = ma.fields.AwareDateTime()
    groups = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(HoldoutGroupSchema),
                            metadata={"description": "`treated` and `control`."})
    uplift = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(HoldoutUpliftSchema, allow_none=True),
                            metadata={"description": "Per metric (`paid_order_rate`, `gmv_per_member`, "
                                                     "`visits_per_member`); null while a group has < 2 members."})
    incremental_gmv = ma.fields.Nested(HoldoutIncrementalGmvSchema, allow_none=True)
    coupon_cost = ma.fields.Integer(metadata={"description": "Discount of the job's coupons that were used, fen."})
    incremental_return = ma.fields.Float(allow_none=True, metadata={"description": "incremental GMV / coupon cost."})


class CampaignReportSchema(ma.Schema):
    campaign = ma.fields.String()
    from_ = ma.fields.Date(data_key="from", attribute="from")
    to = ma.fields.Date()
    as_of = ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "When the oldest day of the range was built; null when a day is not built yet (its "
                       "figures count as zero until the refresh or `flask crm rebuild-rollups` builds it)."})
    totals = ma.fields.Nested(CampaignTotalsSchema)
    series = ma.fields.List(ma.fields.Nested(CampaignDaySchema), metadata={"description": "Every day of the range."})
    incrementality = ma.fields.List(ma.fields.Nested(HoldoutResultSchema), metadata={
        "description": "Each targeted issuance of the campaign's batches that held out a control group."})
