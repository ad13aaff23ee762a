"""Redemption shapes: the shopper's code and the clerk's redemptions. Times are aware UTC ISO 8601."""

import marshmallow as ma
from marshmallow import validate

from coupons.batches.schemas import BatchSchema
from shop.fields import id_field, text
from shop.pagination import PageArgs


class CouponCodeSchema(ma.Schema):
    coupon_id = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "Digits the clerk types: the coupon id, then 8 digits that "
                                                     "change every `step_seconds`."})
    display = ma.fields.String(metadata={"description": "The same code in groups of four, for reading it out."})
    qr_payload = ma.fields.String(metadata={"description": "Text to render as a QR code for the clerk to scan."})
    valid_until = ma.fields.AwareDateTime(metadata={"description": "When this code is replaced by the next one "
                                                                  "(clerks accept it one step longer)."})
    seconds_left = ma.fields.Integer(metadata={"description": "Seconds until valid_until: fetch again then."})
    step_seconds = ma.fields.Integer()
    store_ids = ma.fields.List(ma.fields.Integer(), allow_none=True,
                               metadata={"description": "Stores where it can be redeemed; null: all stores."})


class RedeemArgs(ma.Schema):
    code = text(64, required=True, metadata={
        "description": "The typed code (spaces and dashes ignored) or the scanned QR payload."})
    store_id = id_field(strict=True, allow_none=True, load_default=None, metadata={
                                     "description": "The store redeeming; required only for a clerk of several."})


class RedemptionSchema(ma.Schema):
    id = ma.fields.Integer(attribute="redemption.id")
    coupon_id = ma.fields.Integer(attribute="redemption.coupon_id")
    store_id = ma.fields.Integer(attribute="redemption.store_id")
    staff_id = ma.fields.Integer(attribute="redemption.staff_id")
    redeemed_at = ma.fields.AwareDateTime(attribute="redemption.redeemed_at")
    reverted_at = ma.fields.AwareDateTime(attribute="redemption.reverted_at", allow_none=True)
    reverted_by_staff_id = ma.fields.Integer(attribute="redemption.reverted_by_staff_id", allow_none=True)
    revertible_until = ma.fields.AwareDateTime(metadata={
        "description": "Until when a clerk of the store may revert it (10 minutes after redeemed_at)."})
    batch = ma.fields.Nested(BatchSchema, metadata={"description": "What the coupon gives: apply it at the till."})


class RedemptionListArgs(PageArgs):
    store_id = ma.fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**53), metadata={
        "description": "One of your stores (admin: any); all of your stores when left out."})
