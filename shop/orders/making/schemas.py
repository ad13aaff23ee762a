"""Shapes of order making: the queue's filter and the order as the counter sees it."""

import marshmallow as ma
from marshmallow import validate

from shop.fields import id_field
from shop.orders.making.service import QUEUE_STATUSES
from shop.orders.schemas import OrderSchema


class QueueArgs(ma.Schema):
    status = ma.fields.String(load_default=None, validate=validate.OneOf([s.value for s in QUEUE_STATUSES]),
                              metadata={"description": "One of paid, preparing, ready_for_pickup; omitted: all three."})
    store_id = id_field(load_default=None, metadata={
        "description": "One of your stores (another is 403 `order_not_at_your_store`); omitted: all of yours."})


class CounterOrderSchema(OrderSchema):
    """An order as its store's clerks see it: without the pickup code, which only the shopper shows."""

    class Meta:
        exclude = ("pickup_code", "pickup_qr", "address")
