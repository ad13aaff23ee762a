"""Request and response shapes of segments."""

import marshmallow as ma

from coupons.claiming.schemas import HoldoutArgs
from shop.fields import id_field, text
from shop.pagination import PageArgs

RULE_HELP = ('A rule: `{"all": [...]}`, `{"any": [...]}`, `{"not": rule}` or `{"field", "op", "value"}` '
             "(see the segments section of the API description).")


class RuleArgs(ma.Schema):
    rule = ma.fields.Raw(required=True, metadata={"description": RULE_HELP})


class SegmentArgs(RuleArgs):
    name = text(64, required=True)


class MemberSampleSchema(ma.Schema):
    id = ma.fields.Integer()
    nickname = ma.fields.String(allow_none=True)
    registered_at = ma.fields.AwareDateTime()


class PreviewSchema(ma.Schema):
    count = ma.fields.Integer(metadata={"description": "Members the rule holds now."})
    sample = ma.fields.List(ma.fields.Nested(MemberSampleSchema), metadata={"description": "The newest 20."})


class SegmentSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    rule = ma.fields.Raw()
    created_at = ma.fields.AwareDateTime()
    members = ma.fields.Integer(metadata={"description": "Members the rule holds now (single segment only)."})


class SegmentPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SegmentSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()


class SegmentListArgs(PageArgs):
    pass


class SegmentIssueArgs(HoldoutArgs):
    batch_id = id_field(strict=True, required=True, metadata={"description": "A targeted, active batch."})
