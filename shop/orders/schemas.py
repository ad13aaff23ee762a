"""Request and response shapes of orders, checkout, refunds and pickup."""


import marshmallow as ma
from marshmallow import validate

from shop.fields import BoundedList, id_field, mobile_phone, text
from shop.orders import pickup
from shop.orders.making.service import orders_ahead
from shop.orders.models import ONLINE_FULFILMENTS, OrderStatus
from shop.shipping.schemas import ShippingUploadSchema

MAX_QUANTITY = 99
MAX_LINES = 50


class AddressSchema(ma.Schema):
    # Control characters: a NUL is refused by PostgreSQL (a 500), the rest are never part of an address.
    name = text(32, required=True)
    phone = mobile_phone(required=True)
    region = text(64, min_length=2, required=True, metadata={"description": "Province, city and district."})
    detail = text(200, min_length=2, required=True)


class ItemArgs(ma.Schema):
    # strict: a non-strict Integer truncates 1.5 to 1 and reads "12", buying what was not asked for.
    sku_id = id_field(strict=True, required=True)
    quantity = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_QUANTITY))


class CheckoutArgs(ma.Schema):
    items = BoundedList(ma.fields.Nested(ItemArgs), required=True,
                           validate=validate.Length(min=1, max=MAX_LINES))
    fulfilment = ma.fields.String(required=True, validate=validate.OneOf([f.value for f in ONLINE_FULFILMENTS]))
    store_id = id_field(strict=True, load_default=None, metadata={"description": "Required for pickup."})
    address = ma.fields.Nested(AddressSchema, load_default=None, metadata={"description": "Required for delivery."})
    coupon_id = id_field(strict=True, load_default=None)
    points = ma.fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=10**8),
                               metadata={"description": "Points to deduct (what the balance and rules allow is used)."})
    note = text(200, min_length=0, multiline=True, load_default=None)


class BreakdownSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Dict())
    items_total = ma.fields.Integer(metadata={"description": "fen"})
    discounts = ma.fields.List(ma.fields.Dict(), metadata={"description": "Each discount by source, in fen."})
    discount_total = ma.fields.Integer()
    shipping_fee = ma.fields.Integer()
    amount_payable = ma.fields.Integer(metadata={"description": "What the shopper pays, in fen."})
    suggestions = ma.fields.Dict(metadata={"description": "Per provider: e.g. the best coupon, usable points."})


class LineSchema(ma.Schema):
    id = ma.fields.Integer()
    sku_id = ma.fields.Integer()
    product_id = ma.fields.Integer()
    title = ma.fields.String()
    spec = ma.fields.Dict()
    unit_price = ma.fields.Integer()
    quantity = ma.fields.Integer()
    subtotal = ma.fields.Integer()
    discount = ma.fields.Integer()
    amount_payable = ma.fields.Integer()
    refunded_quantity = ma.fields.Integer()


class RefundSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    amount = ma.fields.Integer()
    reason = ma.fields.String()
    status = ma.fields.String()
    lines = ma.fields.List(ma.fields.Dict())
    created_at = ma.fields.AwareDateTime()
    succeeded_at = ma.fields.AwareDateTime(allow_none=True)


class OrderSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String(metadata={"description": "The order number (WeChat Pay's out_trade_no)."})
    status = ma.fields.String(metadata={"enum": [s.value for s in OrderStatus]})
    fulfilment = ma.fields.String()
    store_id = ma.fields.Integer(allow_none=True)
    address = ma.fields.Dict(allow_none=True)
    items_total = ma.fields.Integer()
    discount_total = ma.fields.Integer()
    shipping_fee = ma.fields.Integer()
    amount_payable = ma.fields.Integer()
    amount_paid = ma.fields.Integer()
    refunded_total = ma.fields.Integer()
    discounts = ma.fields.List(ma.fields.Dict())
    lines = ma.fields.List(ma.fields.Nested(LineSchema))
    refunds = ma.fields.List(ma.fields.Nested(RefundSchema))
    pickup_code = ma.fields.String(allow_none=True, metadata={
        "description": "Shown while the order waits for pickup; the QR payload is `pickup_qr`."})
    pickup_qr = ma.fields.Method("qr_payload", allow_none=True)
    note = ma.fields.String(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    expires_at = ma.fields.AwareDateTime(metadata={"description": "Unpaid past this, the order is cancelled."})
    paid_at = ma.fields.AwareDateTime(allow_none=True)
    completed_at = ma.fields.AwareDateTime(allow_none=True)
    cancelled_at = ma.fields.AwareDateTime(allow_none=True)

    def qr_payload(self, order):
        return f"{pickup.QR_PREFIX}{order.pickup_code}" if order.pickup_code else None


class AdminOrderSchema(OrderSchema):
    shipping_upload = ma.fields.Nested(ShippingUploadSchema, allow_none=True, metadata={
        "description": "What WeChat was told of the goods leaving (shipped or handed over) and how far that got; "
                       "null before, and for orders that paid nothing through WeChat Pay."})


class OrderDetailSchema(OrderSchema):
    orders_ahead = ma.fields.Function(orders_ahead, allow_none=True, metadata={
        "description": "A pickup order its store is still making (paid, preparing): how many of the store's orders "
                       "paid before it are still being made. Null otherwise."})


class PaymentParamsSchema(ma.Schema):
    appId = ma.fields.String()  # noqa: N815 - wx.requestPayment's own names
    timeStamp = ma.fields.String()  # noqa: N815
    nonceStr = ma.fields.String()  # noqa: N815
    package = ma.fields.String()
    signType = ma.fields.String()  # noqa: N815
    paySign = ma.fields.String()  # noqa: N815


class PlacedOrderSchema(ma.Schema):
    order = ma.fields.Nested(OrderSchema)
    payment = ma.fields.Nested(PaymentParamsSchema, allow_none=True, metadata={
        "description": "Pass to wx.requestPayment; null when nothing is to pay or WeChat Pay could not be reached "
                       "(then `payment_error` says why: retry with POST /orders/{id}/payment)."})
    payment_error = ma.fields.Dict(allow_none=True)


class OrderListArgs(ma.Schema):
    status = ma.fields.String(load_default=None, validate=validate.OneOf([s.value for s in OrderStatus]))


class RefundLineArgs(ma.Schema):
    line_id = id_field(strict=True, required=True)
    quantity = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_QUANTITY))


class RefundArgs(ma.Schema):
    reason = text(80, required=True)
    lines = BoundedList(ma.fields.Nested(RefundLineArgs), load_default=None,
                           validate=validate.Length(min=1, max=MAX_LINES),
                           metadata={"description": "Refund these lines only, each named once (a line named twice is 422 "
                                                  "`refund_line_repeated`); omitted: all that is left."})


class PickupArgs(ma.Schema):
    pickup_code = text(32, required=True)
    confirm = ma.fields.Boolean(load_default=False, metadata={
        "description": "false: look the order up to check what to hand over; true: hand it over."})


class PickupSchema(ma.Schema):
    order = ma.fields.Nested(OrderSchema)
    confirmed = ma.fields.Boolean()
