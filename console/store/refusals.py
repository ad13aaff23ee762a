"""The store pages' refusals in a clerk's words (the counter's words where they are the same)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from console.counter import refusals as counter
from shop.errors import AppError
from shop.orders.errors import OrderError

_WORDS = {
    OrderError.ORDER_NOT_FOUND: _l("No such order."),
    OrderError.NOT_AT_YOUR_STORE: _l("This order is for another store."),
    OrderError.NOT_SHIPPABLE: _l("This order can no longer be made: it was refunded or cancelled."),
}


def clerk_words(refusal: AppError) -> str:
    words = _WORDS.get(refusal.code)
    return str(words) if words is not None else counter.clerk_words(refusal)
