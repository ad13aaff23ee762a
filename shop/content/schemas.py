"""Request and response shapes of the admin's content reviews."""

import marshmallow as ma
from marshmallow import validate

from shop.content.models import ContentSubject, ReviewStatus


class ReviewListArgs(ma.Schema):
    status = ma.fields.String(load_default=None, validate=validate.OneOf([s.value for s in ReviewStatus]), metadata={
        "description": "Only this status; unset: those waiting for a decision (unchecked, review)."})


class ContentReviewSchema(ma.Schema):
    id = ma.fields.Integer()
    member_id = ma.fields.Integer()
    subject = ma.fields.String(metadata={"enum": [s.value for s in ContentSubject],
                                         "description": "Where the text is shown; target_id names the row."})
    target_id = ma.fields.Integer(metadata={"description": "The member (nickname) or the share (share_title)."})
    text = ma.fields.String()
    previous_text = ma.fields.String(allow_none=True)
    scene = ma.fields.Integer(metadata={"description": "WeChat's check scene: 1 profile, 2 comment/share text."})
    status = ma.fields.String(metadata={"enum": [s.value for s in ReviewStatus], "description": (
        "unchecked: kept while WeChat was down, a recheck follows; review: WeChat asks a person to look; "
        "passed / removed: the recheck's verdict (removed: risky, taken back); cleared / rejected: an admin's.")})
    label = ma.fields.Integer(allow_none=True, metadata={"description": "WeChat's label (100 normal, 2xxxx a kind of risk)."})
    trace_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    checked_at = ma.fields.AwareDateTime(allow_none=True)
    decided_at = ma.fields.AwareDateTime(allow_none=True)
    decided_by = ma.fields.Integer(allow_none=True, metadata={"description": "The admin's staff id."})
