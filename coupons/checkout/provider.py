"""The coupon at checkout: a ``shop.pricing.DiscountProvider`` that runs before points.

The shopper's choice is ``{"coupons": {"coupon_id": N}}`` (the order body's ``coupon_id``). Preview
and create quote it: a coupon that cannot be used on this order is refused with its own error code
(``coupon_not_found`` for an unknown or another member's coupon, ``coupon_locked``,
``coupon_used``, ``coupon_expired``, ``coupon_not_usable_online``, ``coupon_store_not_in_scope``,
``coupon_not_applicable``, ``coupon_min_spend_not_met``). Without a choice nothing is taken off,
and the suggestion names the best usable coupon (the largest discount; on a tie the soonest to
expire) for the shopper to pick.

Create locks the coupon inside the order's transaction with one conditional UPDATE (available,
unexpired, held by no order -> locked by this one), so two orders can never hold one coupon: the
loser's whole create rolls back (its stock too) with 409 ``coupon_locked``. What happens next is in
coupons/checkout/lifecycle.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from coupons import kinds
from coupons.checkout import scope
from coupons.checkout.lifecycle import unusable_because
from coupons.errors import CouponError
from coupons.kinds.lines import covered_total
from coupons.models import Coupon, CouponBatch, CouponStatus
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.orders.models import Fulfilment
from shop.pricing import Discount, PricingRequest

# What checkout reads of a coupon and its batch (every kind's terms): one row, through Core (no ORM objects).
_COLUMNS = (Coupon.id, Coupon.member_id, Coupon.status, Coupon.order_id, Coupon.valid_from, Coupon.expires_at,
            Coupon.batch_id, CouponBatch.name, CouponBatch.kind, *(CouponBatch.__table__.c[name]
                                                                   for name in kinds.term_names()),
            CouponBatch.min_spend, CouponBatch.usage, CouponBatch.scope_product_ids,
            CouponBatch.scope_category_ids, CouponBatch.scope_store_ids)


@dataclass(frozen=True)
class Assessment:
    """A coupon against an order: the fen it takes off (and off which of the order's lines), or why it
    cannot be used."""

    amount: int
    problem: tuple[CouponError, str] | None = None
    allocation: tuple[int, ...] | None = None  # fen off each of the order's lines (sums to amount)


class CouponDiscountProvider:
    name = "coupons"
    priority = 50  # before points (100): points take off what the coupon leaves

    def quote(self, request: PricingRequest, remaining: int) -> tuple[Discount | None, dict[str, Any]]:
        if request.fulfilment == Fulfilment.IN_STORE:
            return None, {}  # a till sale's coupon is shown by its code: coupons.redemption.till
        coupon_id = chosen_coupon_id(request)
        now = utcnow()
        if coupon_id is None:
            return None, best_coupon(request, now)
        row = coupon_row(coupon_id)
        if row is None or row.member_id != request.member_id:
            raise AppError(CouponError.COUPON_NOT_FOUND, "You hold no such coupon.",
                           errors={"coupon_id": ["Not one of your coupons."]})
        verdict = assess(row, request, now)
        if verdict.problem is not None:
            code, message = verdict.problem
            raise AppError(code, message, errors={"coupon_id": [message]})
        taken_from = tuple(i for i, share in enumerate(verdict.allocation) if share > 0)
        # pricing.quote holds it to what remains (and then spreads it over the lines itself)
        return Discount(source=self.name, amount=verdict.amount, label=row.name,
                        details={"coupon_id": row.id, "batch_id": row.batch_id,
                                 "description": kinds.describe(row)},
                        lines=taken_from, allocation=verdict.allocation), {}

    def commit(self, request: PricingRequest, discount: Discount, *, order_id: int) -> None:
        lock(discount.details["coupon_id"], member_id=request.member_id, order_id=order_id,
             amount=discount.amount, now=utcnow())


def chosen_coupon_id(request: PricingRequest) -> int | None:
    """The coupon the shopper chose, if any (the order schema already checked it is a positive id)."""
    choice = (request.choices or {}).get("coupons") or {}
    coupon_id = choice.get("coupon_id") if isinstance(choice, dict) else None
    if coupon_id is None:
        return None
    if isinstance(coupon_id, bool) or not isinstance(coupon_id, int) or coupon_id <= 0:
        raise AppError(CouponError.COUPON_NOT_FOUND, "You hold no such coupon.",
                       errors={"coupon_id": ["Not one of your coupons."]})
    return coupon_id


def assess(row: Row, request: PricingRequest, now: datetime) -> Assessment:
    """What the coupon (a row of ``_COLUMNS``) takes off this order, or why it cannot be used."""
    state = _state_problem(row, now)
    if state is not None:
        return Assessment(0, state)
    if not scope.usable_online(row.usage):
        return Assessment(0, (CouponError.COUPON_NOT_USABLE_ONLINE,
                              "This coupon is for use in a store: show its code at the counter."))
    if not scope.store_allows(row.scope_store_ids, request.fulfilment, request.store_id):
        return Assessment(0, (CouponError.COUPON_STORE_NOT_IN_SCOPE,
                              "This coupon cannot be used for pickup at this store."))
    return priced_on_lines(row, request)


def priced_on_lines(row: Row, request: PricingRequest) -> Assessment:
    """What the coupon's kind takes off the request's lines it covers (its usage and state already checked)."""
    lines = scope.covered_lines(request.lines, row.scope_product_ids, row.scope_category_ids)
    covered = covered_total(lines)
    if covered == 0:
        return Assessment(0, (CouponError.COUPON_NOT_APPLICABLE, "Nothing in this order is covered by this coupon."))
    offer = kinds.offer_of(row)
    if not kinds.reaches_min_spend(offer, covered):
        return Assessment(0, (CouponError.COUPON_MIN_SPEND_NOT_MET,
                              f"Spend {_yuan(offer.min_spend)} on the items this coupon covers to use it "
                              f"({_yuan(covered)} so far)."))
    shares = kinds.discount(offer, lines)
    if sum(shares) == 0:  # two units short of "buy 2 get 1", every covered item already at its unit price, ...
        return Assessment(0, (CouponError.COUPON_NOT_APPLICABLE,
                              f"This coupon takes nothing off this order ({kinds.describe(row)})."))
    allocation = [0] * len(request.lines)
    for line, share in zip(lines, shares, strict=True):
        allocation[line.position] = share
    return Assessment(sum(shares), allocation=tuple(allocation))


def best_coupon(request: PricingRequest, now: datetime) -> dict[str, Any]:
    """The suggestion: the usable coupon taking off the most (tie: soonest to expire), and how many are usable."""
    rows = db.session.execute(
        select(*_COLUMNS).join(CouponBatch, CouponBatch.id == Coupon.batch_id)
        .where(Coupon.member_id == request.member_id, Coupon.status == CouponStatus.AVAILABLE.value,
               Coupon.expires_at > now)).all()
    usable = [(verdict.amount, row) for row in rows if (verdict := assess(row, request, now)).problem is None
              and verdict.amount > 0]
    if not usable:
        return {"best": None, "usable_count": 0}
    amount, row = min(usable, key=lambda pair: (-pair[0], pair[1].expires_at, pair[1].id))
    return {"best": {"coupon_id": row.id, "amount": amount, "label": row.name,
                     "expires_at": row.expires_at.isoformat()},
            "usable_count": len(usable)}


def lock(coupon_id: int, *, member_id: int, order_id: int, amount: int, now: datetime) -> None:
    """Hold the coupon for the order (same transaction); idempotent for the same order, 409 otherwise."""
    changed = db.session.execute(
        update(Coupon).where(Coupon.id == coupon_id, Coupon.member_id == member_id,
                             Coupon.status == CouponStatus.AVAILABLE.value, Coupon.order_id.is_(None),
                             Coupon.expires_at > now, Coupon.valid_from <= now)
        .values(status=CouponStatus.LOCKED.value, order_id=order_id, locked_at=now, discount_amount=amount)
        .execution_options(synchronize_session=False)).rowcount
    if changed:
        return
    row = coupon_row(coupon_id)
    if row is not None and row.order_id == order_id:
        return  # this order holds it already
    code, message = (_state_problem(row, now) if row is not None else None) or (
        CouponError.COUPON_LOCKED, "Another order took this coupon at the same moment.")
    raise AppError(code, message, errors={"coupon_id": [message]})


# What checkout answers for each reason a held coupon cannot be used (coupons.checkout.lifecycle.unusable_because).
_STATE_MESSAGES = {
    CouponError.COUPON_USED: "This coupon has been used.",
    CouponError.COUPON_LOCKED: "An unpaid order holds this coupon: pay or cancel that order first.",
    CouponError.COUPON_EXPIRED: "This coupon has expired.",
}


def _state_problem(row: Row, now: datetime) -> tuple[CouponError, str] | None:
    error = unusable_because(row.status, row.expires_at, row.valid_from, now)
    if error is CouponError.COUPON_NOT_YET_VALID:
        return error, f"This coupon can be used from {row.valid_from.isoformat()}."
    return (error, _STATE_MESSAGES[error]) if error is not None else None


def coupon_row(coupon_id: int) -> Row | None:
    return db.session.execute(select(*_COLUMNS).join(CouponBatch, CouponBatch.id == Coupon.batch_id)
                              .where(Coupon.id == coupon_id)).first()


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"
