"""Till shapes: the member code, a till sale and its items. Money in fen, times aware UTC ISO 8601."""

import marshmallow as ma
from marshmallow import validate

from shop.config import MAX_AMOUNT_FEN, MAX_PRICE_FEN
from shop.fields import BoundedList, fen, id_field, strict_int, text
from shop.orders.schemas import OrderSchema

MAX_SALE_ITEMS = 50  # lines of one receipt
MAX_ITEM_QUANTITY = 999


class MemberCodeSchema(ma.Schema):
    member_id = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "Digits the clerk types or scans: the member id, then 8 digits "
                                                     "that change every `step_seconds`."})
    display = ma.fields.String(metadata={"description": "The same code in groups of four, for reading it out."})
    qr_payload = ma.fields.String(metadata={"description": "Text to render as a QR code (`ripple:member:...`)."})
    valid_until = ma.fields.AwareDateTime(metadata={"description": "When this code is replaced by the next one "
                                                                  "(clerks accept it one step longer)."})
    seconds_left = ma.fields.Integer(metadata={"description": "Seconds until valid_until: fetch again then."})
    step_seconds = ma.fields.Integer()


class SaleItemArgs(ma.Schema):
    sku_id = id_field(strict=True, required=True)
    quantity = strict_int(1, MAX_ITEM_QUANTITY, required=True)
    unit_price = fen(MAX_PRICE_FEN, low=0, required=True, metadata={
        "description": "What the till charged for one unit, in fen (the store's own price may differ from ours)."})


class SaleArgs(ma.Schema):
    member_code = text(64, required=True, metadata={
        "description": "The shopper's member code, typed (spaces and dashes ignored) or the scanned QR payload."})
    receipt_no = text(40, required=True, validate=validate.Regexp(r"^[0-9A-Za-z_\-./]+$", error=(
        "Letters, digits and _-./ only.")), metadata={
        "description": "The till's receipt number: one sale per store and receipt (a retry returns the first)."})
    amount = fen(MAX_AMOUNT_FEN, required=True, metadata={
        "description": "The receipt's total before the coupon, in fen; the items (if given) must add up to it."})
    items = BoundedList(ma.fields.Nested(SaleItemArgs), load_default=None,
                        validate=validate.Length(min=1, max=MAX_SALE_ITEMS), metadata={
                            "description": "The receipt's lines; needed by coupons priced on the items."})
    coupon_code = text(64, load_default=None, metadata={
        "description": "A coupon's code the shopper shows with the sale; it is used by the sale."})
    store_id = id_field(strict=True, allow_none=True, load_default=None, metadata={
        "description": "The store selling; required only for a clerk of several."})


class SaleSchema(ma.Schema):
    id = ma.fields.Integer(attribute="sale.id")
    store_id = ma.fields.Integer(attribute="sale.store_id")
    receipt_no = ma.fields.String(attribute="sale.receipt_no")
    staff_id = ma.fields.Integer(attribute="sale.staff_id")
    member_id = ma.fields.Integer(attribute="sale.member_id")
    coupon_id = ma.fields.Integer(attribute="sale.coupon_id", allow_none=True)
    created_at = ma.fields.AwareDateTime(attribute="sale.created_at")
    voided_at = ma.fields.AwareDateTime(attribute="sale.voided_at", allow_none=True)
    voided_by_staff_id = ma.fields.Integer(attribute="sale.voided_by_staff_id", allow_none=True)
    voidable_until = ma.fields.AwareDateTime(metadata={
        "description": "Until when a clerk of the store may void it (TILL_VOID_WINDOW_SECONDS after created_at)."})
    order = ma.fields.Nested(OrderSchema, metadata={
        "description": "The sale as an order (fulfilment `in_store`): what was charged (`amount_paid`), the coupon."})
