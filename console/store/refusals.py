"""The store pages' refusals in a clerk's words (the counter's words where they are the same)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from console.counter import refusals as counter
from coupons.errors import CouponError
from shop.errors import AppError
from shop.orders.errors import OrderError
from shop.till.errors import TillError

_WORDS = {
    OrderError.ORDER_NOT_FOUND: _l("No such order."),
    OrderError.NOT_AT_YOUR_STORE: _l("This order is for another store."),
    OrderError.NOT_SHIPPABLE: _l("This order can no longer be made: it was refunded or cancelled."),
    CouponError.REDEMPTION_NOT_FOUND: _l("No such redemption at your store."),
    CouponError.REDEMPTION_REVERT_WINDOW_CLOSED: _l("Too late to revert this redemption here: ask an admin."),
    TillError.SALE_NOT_FOUND: _l("No such sale at your store."),
    TillError.SALE_VOID_WINDOW_CLOSED: _l("Too late to void this sale here: ask an admin to refund it."),
    TillError.SALE_NOT_VOIDABLE: _l("This sale was refunded already: ask an admin to refund what is left."),
}


def clerk_words(refusal: AppError) -> str:
    words = _WORDS.get(refusal.code)
    return str(words) if words is not None else counter.clerk_words(refusal)
