"""Request and response shapes of the admin's member list and member view."""

import marshmallow as ma

from shop.fields import id_field, text
from shop.members.schemas import MemberListArgs, MemberSchema
from shop.pagination import PageArgs


class CrmMemberListArgs(MemberListArgs, PageArgs):
    segment_id = id_field(load_default=None, metadata={"description": "Members of this saved segment."})
    tag = text(64, load_default=None, metadata={"description": "Members carrying this tag (by name)."})


class CrmMemberSchema(MemberSchema):
    phone = ma.fields.String(allow_none=True, metadata={"description": "Masked (`138****5678`) except for admins."})
    last_login_at = ma.fields.AwareDateTime(allow_none=True)


class CrmMemberPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CrmMemberSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()


class CrmJourneyEventSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    occurred_at = ma.fields.AwareDateTime()
    store_id = ma.fields.Integer(allow_none=True)
    share_id = ma.fields.Integer(allow_none=True)
    campaign = ma.fields.String(allow_none=True)
    attributes = ma.fields.Dict()


class CrmJourneyPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CrmJourneyEventSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()


class CrmMemberViewSchema(CrmMemberSchema):
    follow = ma.fields.Dict(metadata={"description": "following, subscribed_at, unsubscribed_at."})
    points = ma.fields.Dict(metadata={"description": "balance, tier, earned_12m."})
    orders = ma.fields.Dict(metadata={"description": "paid_count, spend_fen (net of refunds), the 10 latest."})
    coupons = ma.fields.Dict(metadata={"description": "Counts by status and the 10 latest."})
    referral = ma.fields.Dict(metadata={"description": "referrer, depth, direct friends, descendants, subtree_gmv."})
    tags = ma.fields.List(ma.fields.String())
    journey = ma.fields.Nested(CrmJourneyPageSchema, metadata={"description": "The first page; more at `.../journey`."})


class CrmJourneyArgs(PageArgs):
    pass


