"""The services' refusals at the counter, in words a clerk understands (and in the console's language)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from console.display import local_time
from coupons.errors import CouponError
from shop.errors import AppError
from shop.extensions import db
from shop.orders.errors import OrderError
from shop.stores.models import Store
from shop.till.errors import TillError

_WORDS = {
    OrderError.PICKUP_CODE_INVALID: _l("Wrong code: no order waits for pickup with this code here."),
    OrderError.PICKUP_WRONG_STORE: _l("This order is for another store: do not hand it over."),
    OrderError.PICKUP_NOT_READY: _l("This order is still being made: mark it ready first."),
    OrderError.PICKUP_BLOCKED_BY_REFUND: _l("A refund of this order is in progress: do not hand it over."),
    OrderError.PICKUP_GUESSING: _l("Too many wrong codes: wait a few minutes, then try again."),
    CouponError.COUPON_CODE_INVALID: _l("Wrong code: no coupon or member shows it. Scan it again."),
    CouponError.COUPON_CODE_STALE: _l("This code is out of date: ask the shopper to open the coupon again."),
    CouponError.COUPON_EXPIRED: _l("This coupon has expired."),
    CouponError.COUPON_NOT_YET_VALID: _l("This coupon cannot be used yet."),
    CouponError.COUPON_LOCKED: _l("This coupon is held by an unpaid online order."),
    CouponError.COUPON_ONLINE_ONLY: _l("This coupon is for online orders only."),
    CouponError.COUPON_STORE_NOT_IN_SCOPE: _l("This coupon is not valid at this store."),
    CouponError.COUPON_NEEDS_ITEMS: _l("This coupon depends on the items bought: record it with the till sale."),
    CouponError.REDEMPTION_STORE_NOT_YOURS: _l("You are not a clerk of this store."),
    CouponError.REDEMPTION_STORE_REQUIRED: _l("Choose your store first."),
    TillError.MEMBER_CODE_INVALID: _l("Wrong code: no member shows it. Scan it again."),
    TillError.MEMBER_CODE_STALE: _l("This member code is out of date: ask the shopper to open it again."),
    TillError.SALE_STORE_NOT_YOURS: _l("You are not a clerk of this store."),
    TillError.SALE_STORE_REQUIRED: _l("Choose your store first."),
    TillError.SALE_RECEIPT_REUSED: _l("This receipt number was already used for another sale."),
    TillError.SALE_ITEMS_MISMATCH: _l("The items do not add up to the amount: check the receipt's lines and total."),
}
_ALREADY_USED = {CouponError.COUPON_USED, OrderError.PICKUP_ALREADY_DONE}


def clerk_words(refusal: AppError) -> str:
    """What the clerk reads: our words for the refusal, with when (in that store's zone) and where for a code
    already used."""
    if refusal.code in _ALREADY_USED:
        return _already_used(refusal.details or {})
    words = _WORDS.get(refusal.code)
    return str(words) if words is not None else refusal.message


def _already_used(details: dict) -> str:
    at, store_id = details.get("used_at"), details.get("store_id")
    store = db.session.get(Store, store_id) if store_id is not None else None
    when = local_time(datetime.fromisoformat(at), store.timezone if store else None) if at else None
    store = details.get("store_name")
    if when and store:
        return _("Already used on %(when)s at %(store)s: do not give it again.", when=when, store=store)
    if when:
        return _("Already used on %(when)s: do not give it again.", when=when)
    return _("Already used: do not give it again.")
