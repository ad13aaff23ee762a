"""What a scanned or typed code is, and the services that look it up and act on it.

A QR payload names its kind by its prefix (``ripple:pickup:``, ``ripple:coupon:``, ``ripple:member:``).
Typed, 8 digits are a pickup code (``shop.orders.pickup.CODE``); a longer code is an id and 8 rotating
digits, a coupon's or a member's: the coupon redemption's look-up is asked first and, when no coupon
shows it, the member code's (the digits of one cannot match the other's key). Every rule stays in
the services; this module only routes the text to them and hands their answers (or refusals) on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from coupons.errors import CouponError
from coupons.redemption import code as coupon_code
from coupons.redemption import service as redemption
from shop.auth import Principal
from shop.errors import AppError
from shop.extensions import db
from shop.members.models import Member
from shop.orders import pickup
from shop.orders.errors import OrderError
from shop.till import member_code
from shop.till import service as till
from shop.till.errors import TillError

PICKUP, COUPON, MEMBER = "pickup", "coupon", "member"
_PREFIXES = {pickup.QR_PREFIX: PICKUP, coupon_code.QR_PREFIX: COUPON, member_code.QR_PREFIX: MEMBER}
# Refusals that mean "no such code", and whose wrong-code limits each counts against (a typed rotating
# code that is neither a coupon's nor a member's counts against both).
WRONG_CODE_LIMITS = {OrderError.PICKUP_CODE_INVALID: {PICKUP}, CouponError.COUPON_CODE_INVALID: {COUPON, MEMBER},
                     TillError.MEMBER_CODE_INVALID: {MEMBER}}


@dataclass
class Found:
    """What a code names, ready to be confirmed: its kind, the code as scanned, what to show."""

    kind: str
    code: str
    store_id: int | None
    shown: dict[str, Any] = field(default_factory=dict)


def kind_of(raw: str) -> tuple[str | None, str]:
    """(kind, code): the kind a QR prefix names, ``pickup`` for 8 digits, else None (a rotating code)."""
    text = raw.strip()
    for prefix, kind in _PREFIXES.items():
        if text.startswith(prefix):
            return kind, text if kind != PICKUP else text.removeprefix(prefix)
    digits = "".join(text.split())
    if pickup.CODE.match(digits):
        return PICKUP, digits
    return None, text


def look_up(staff: Principal, raw: str, *, store_id: int | None, now: datetime) -> Found:
    """What the code names at the clerk's store, or the service's refusal (AppError); nothing is used up."""
    kind, text = kind_of(raw)
    if kind == PICKUP:
        order = pickup.look_up(staff, text, now)
        return Found(PICKUP, text, order.store_id, {"order": order, "lines": list(order.lines)})
    if kind == COUPON:
        return _coupon(staff, text, store_id, now)
    if kind == MEMBER:
        return _member(text, store_id, now)
    try:
        return _coupon(staff, text, store_id, now)
    except AppError as refusal:
        if refusal.code is not CouponError.COUPON_CODE_INVALID:
            raise
    try:
        return _member(text, store_id, now)
    except AppError as refusal:
        if refusal.code is TillError.MEMBER_CODE_INVALID:
            raise AppError(CouponError.COUPON_CODE_INVALID, "No coupon or member shows this code.") from None
        raise


def confirm(staff: Principal, kind: str, text: str, *, store_id: int | None, now: datetime,
            sale: dict[str, Any] | None = None) -> dict[str, Any]:
    """Act on a found code: hand the order over, redeem the coupon, or record the member's till sale.

    ``{"kind", "done"}`` plus what was made; ``done`` is False for the same confirmation sent again.
    """
    if kind == PICKUP:
        order, done = pickup.confirm(staff, text, now)
        return {"kind": kind, "done": done, "order": order}
    if kind == COUPON:
        redeemed, done = redemption.redeem(staff, text, store_id=store_id, now=now)
        return {"kind": kind, "done": done, **redemption.redemption_view(redeemed)}
    if kind == MEMBER and sale is not None:
        recorded, done = till.record_sale(staff, till.Sale(member_code=text, store_id=store_id, **sale), now=now)
        return {"kind": kind, "done": done, **till.sale_view(recorded)}
    raise ValueError(f"nothing to confirm for {kind!r}")


def _coupon(staff: Principal, text: str, store_id: int | None, now: datetime) -> Found:
    found = redemption.look_up(staff, text, store_id=store_id, now=now)
    return Found(COUPON, text, found["store_id"], found)


def _member(text: str, store_id: int | None, now: datetime) -> Found:
    member_id = member_code.member_showing(text, now=now)
    return Found(MEMBER, text, store_id, {"member": db.session.get(Member, member_id)})
