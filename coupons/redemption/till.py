"""A coupon shown at a store's till with a sale: a ``shop.pricing.DiscountProvider`` for till sales.

The clerk records the sale (``shop.till``) with the coupon's rotating code. The coupon must be the
member's, current (a code of this step or the last), usable in stores (usage ``in_store`` or
``both``), valid at the sale's store, and within its state (not used, locked, expired). A kind whose
discount depends on the items (second item half price, buy N get M, a free item, a unit price) needs
the sale's items: without them 422 ``coupon_needs_items``; an amount off (or percent, threshold)
coupon works on the sale's amount. The sale uses the coupon in its own transaction (available ->
used in store, held by the sale's order), so a refund of the sale in full before the goods are kept
(a void) returns it like any order's (coupons.checkout.lifecycle).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from coupons import kinds
from coupons.checkout.lifecycle import unusable_because
from coupons.checkout.provider import coupon_row as checkout_row
from coupons.checkout.provider import priced_on_lines
from coupons.errors import CouponError
from coupons.models import BatchUsage, Coupon, CouponStatus
from coupons.redemption import code
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.members.journey import JourneyKind, record_event
from shop.metrics import COUPONS_REDEEMED, count_after_commit
from shop.orders.models import Fulfilment
from shop.pricing import Discount, PricingRequest

log = logging.getLogger(__name__)
IN_STORE_USAGES = (BatchUsage.IN_STORE, BatchUsage.BOTH)
CHOICE = "till_coupon"  # shop.till.service.TILL_COUPON: the sale's {"code", "itemised"}


class TillCouponDiscountProvider:
    name = CHOICE
    priority = 50  # with the checkout coupon (which takes nothing off a till sale), before points

    def quote(self, request: PricingRequest, remaining: int) -> tuple[Discount | None, dict[str, Any]]:
        choice = (request.choices or {}).get(CHOICE) or {}
        if request.fulfilment != Fulfilment.IN_STORE or not choice.get("code"):
            return None, {}
        now = utcnow()
        row = _coupon_shown(choice["code"], request, now)
        _refuse_unusable(row, request, itemised=bool(choice.get("itemised")), now=now)
        verdict = priced_on_lines(row, request)
        if verdict.problem is not None:
            error, message = verdict.problem
            raise AppError(error, message, errors={"coupon_code": [message]})
        return Discount(source=self.name, amount=verdict.amount, label=row.name,
                        details={"coupon_id": row.id, "batch_id": row.batch_id, "description": kinds.describe(row)},
                        lines=tuple(i for i, share in enumerate(verdict.allocation) if share > 0),
                        allocation=verdict.allocation), {}

    def commit(self, request: PricingRequest, discount: Discount, *, order_id: int) -> None:
        now = utcnow()
        coupon_id = discount.details["coupon_id"]
        used = db.session.execute(
            update(Coupon).where(Coupon.id == coupon_id, Coupon.member_id == request.member_id,
                                 Coupon.status == CouponStatus.AVAILABLE.value, Coupon.order_id.is_(None))
            .values(status=CouponStatus.USED.value, used_in=BatchUsage.IN_STORE.value, used_at=now,
                    order_id=order_id, discount_amount=discount.amount)
            .execution_options(synchronize_session=False)).rowcount
        if not used:  # another sale or order took it since the quote
            raise AppError(CouponError.COUPON_USED, "This coupon has just been used.",
                           errors={"coupon_code": ["Used."]})
        record_event(request.member_id, JourneyKind.COUPON_REDEEMED, store_id=request.store_id, occurred_at=now,
                     coupon_id=coupon_id, batch_id=discount.details["batch_id"], order_id=order_id)
        count_after_commit(COUPONS_REDEEMED.labels(channel="till"))


def _coupon_shown(raw: str, request: PricingRequest, now: datetime):
    """The member's coupon showing this code now; a wrong code is 404 ``coupon_code_invalid`` (counted)."""
    parsed = code.parse(raw)
    secret = None if parsed is None else db.session.scalar(select(Coupon.secret).where(Coupon.id == parsed[0]))
    verdict = code.check(secret, parsed[1], now) if secret else code.Verdict.INVALID
    if verdict is code.Verdict.INVALID:
        log.warning("wrong coupon code with a till sale at store %s", request.store_id)
        raise AppError(CouponError.COUPON_CODE_INVALID, "No coupon shows this code; check it and scan it again.",
                       errors={"coupon_code": ["Matches no coupon."]})
    row = checkout_row(parsed[0])
    if row.member_id != request.member_id:
        raise AppError(CouponError.COUPON_NOT_FOUND, "This coupon is not the member's whose code was scanned.",
                       errors={"coupon_code": ["Another member's coupon."]})
    if verdict is code.Verdict.STALE:
        raise AppError(CouponError.COUPON_CODE_STALE,
                       "This coupon code is out of date: ask the shopper to open the coupon and show the current code.",
                       errors={"coupon_code": ["Out of date."]})
    return row


def _refuse_unusable(row, request: PricingRequest, *, itemised: bool, now: datetime) -> None:
    """The first reason the coupon cannot be used on this till sale, as its error."""
    if row.usage not in IN_STORE_USAGES:
        raise AppError(CouponError.COUPON_ONLINE_ONLY, "This coupon is for online orders only.",
                       errors={"coupon_code": ["Online only."]})
    error = unusable_because(row.status, row.expires_at, row.valid_from, now)
    if error is not None:
        raise AppError(error, f"This coupon cannot be used now ({error.value}).", errors={"coupon_code": [error.value]})
    if row.scope_store_ids and request.store_id not in row.scope_store_ids:
        raise AppError(CouponError.COUPON_STORE_NOT_IN_SCOPE, "This coupon is not valid at this store.",
                       errors={"coupon_code": ["Not valid at this store."]})
    if not itemised and kinds.kind_of(row.kind).discount_on_total is None:  # priced unit by unit
        raise AppError(CouponError.COUPON_NEEDS_ITEMS, f"This coupon ({kinds.describe(row)}) depends on the items "
                       "bought: send the sale's items with it.", errors={"items": ["Required with this coupon."]})
