"""Request and response shapes of tags."""

import marshmallow as ma
from marshmallow import validate

from crm.tags.service import MAX_JOB_MEMBERS
from shop.fields import BoundedList, id_field, text
from shop.pagination import PageArgs

ACTIONS = ("add", "remove")


class TagArgs(ma.Schema):
    name = text(64, required=True, validate=validate.Regexp(r"^[^:]+$", error="A tag name has no ':'."),
                metadata={"description": "Unique; `:` is kept for computed families (`tier:gold`)."})


class TagListArgs(PageArgs):
    kind = ma.fields.String(load_default=None, validate=validate.OneOf(["manual", "computed"]))


class TagSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": ["manual", "computed"]})
    created_at = ma.fields.AwareDateTime()
    refreshed_at = ma.fields.AwareDateTime(allow_none=True, metadata={"description": "Computed tags: last refresh."})
    members = ma.fields.Integer(metadata={"description": "Members carrying it."})


class TagPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TagSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    page_size = ma.fields.Integer()


class ChangedSchema(ma.Schema):
    changed = ma.fields.Boolean(metadata={"description": "False when the member already was as asked."})


class TagJobArgs(ma.Schema):
    action = ma.fields.String(required=True, validate=validate.OneOf(ACTIONS))
    member_ids = BoundedList(id_field(strict=True), required=True,
                             validate=validate.Length(min=1, max=MAX_JOB_MEMBERS),
                             metadata={"description": f"1-{MAX_JOB_MEMBERS:,} member ids."})


class TagCsvArgs(ma.Schema):
    action = ma.fields.String(required=True, validate=validate.OneOf(ACTIONS))


class TagJobSchema(ma.Schema):
    id = ma.fields.String()
    tag_id = ma.fields.Integer()
    action = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["queued", "running", "finished", "failed"]})
    requested = ma.fields.Integer(metadata={"description": "Distinct member ids given."})
    processed = ma.fields.Integer(metadata={"description": "Handled so far."})
    changed = ma.fields.Integer(metadata={"description": "Members tagged (add) or untagged (remove)."})
    unknown = ma.fields.Integer(metadata={"description": "Ids of no member."})
    error = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    finished_at = ma.fields.AwareDateTime(allow_none=True)
