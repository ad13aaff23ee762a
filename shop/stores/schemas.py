"""Request and response shapes of staff accounts."""

import marshmallow as ma
from marshmallow import validate


class StaffLoginArgs(ma.Schema):
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class StaffLoginSchema(ma.Schema):
    token = ma.fields.String()
    role = ma.fields.String(metadata={"description": "staff, marketing or admin"})
    store_ids = ma.fields.List(ma.fields.Integer(), metadata={"description": "Stores a clerk works at."})
