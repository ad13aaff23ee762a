"""Request and response shapes of the export and the deletion."""

import marshmallow as ma

from shop.pagination import MAX_PAGE_SIZE


class ExportPartArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    page_size = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=MAX_PAGE_SIZE),
                                  metadata={"description": f"At most {MAX_PAGE_SIZE}; PRIVACY_EXPORT_PAGE_SIZE "
                                                           "when absent."})


class DeletionSchema(ma.Schema):
    deleted_at = ma.fields.AwareDateTime()
    identity_kept_until = ma.fields.AwareDateTime(metadata={
        "description": "Until then a salted hash of your WeChat openid is kept, only to refuse a second welcome "
                       "coupon or a new bind under a sharer if the same WeChat account comes back."})
