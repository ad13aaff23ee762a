"""Request and response shapes of shipping: the admin ship action's body, an order's upload state."""

import marshmallow as ma
from marshmallow import validate

from shop.fields import text
from shop.shipping.models import LogisticsType, UploadStatus


class ShipArgs(ma.Schema):
    logistics_type = ma.fields.Integer(strict=True, load_default=int(LogisticsType.EXPRESS), validate=validate.OneOf(
        [int(LogisticsType.EXPRESS), int(LogisticsType.SAME_CITY)]), metadata={
        "description": "1 express (default: `carrier` and `tracking_no` required), 2 same-city delivery."})
    carrier = text(32, load_default=None, metadata={
        "description": "WeChat's carrier code (`delivery_id`, e.g. `SF`), from GET /admin/shipping/carriers."})
    tracking_no = text(128, load_default=None, metadata={"description": "The carrier's tracking number."})


class ShippingUploadSchema(ma.Schema):
    logistics_type = ma.fields.Integer(metadata={"description": "1 express, 2 same-city, 4 self-pickup."})
    carrier = ma.fields.String(allow_none=True)
    tracking_no = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": [s.value for s in UploadStatus], "description": (
        "pending: not yet accepted by WeChat (retried; `error_*` is its last refusal), uploaded, failed: "
        "refused for good (`flask orders upload-shipping --order N` sends it again).")})
    attempts = ma.fields.Integer()
    error_code = ma.fields.Integer(allow_none=True, metadata={"description": "WeChat's errcode (0: no answer)."})
    error_message = ma.fields.String(allow_none=True)
    uploaded_at = ma.fields.AwareDateTime(allow_none=True)
    updated_at = ma.fields.AwareDateTime()


class CarrierSchema(ma.Schema):
    delivery_id = ma.fields.String()
    delivery_name = ma.fields.String()
