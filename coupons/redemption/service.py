"""In-store redemption: the code a shopper shows, a clerk redeeming it once, reverting a mistake.

A clerk redeems a coupon at one of the stores they are bound to. The coupon row moves from
``available`` to ``used`` by a conditional UPDATE, so of two clerks scanning the same code at
once exactly one succeeds. The same clerk's scan sent again within the counter's retry window
(``shop.stores.counter``) returns that redemption again (200); any later scan is 409 ``coupon_used``
with when and where it was used.
Within ``REVERT_WINDOW`` a clerk of the same store can take it back (the clerk scanned the wrong
coupon): the coupon is available again and the redemption keeps who reverted it and when.

Plain functions over explicit arguments and an explicit ``now``; nothing here commits (the API does).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from coupons import kinds
from coupons.checkout.lifecycle import unusable_because
from coupons.claiming.service import own_coupon
from coupons.errors import CouponError
from coupons.models import (
    BatchUsage,
    Coupon,
    CouponBatch,
    CouponRedemption,
    CouponStatus,
)
from coupons.redemption import code
from shop.auth import Principal, Role
from shop.database import storable_id
from shop.errors import AppError
from shop.extensions import db
from shop.members.journey import JourneyKind, record_event
from shop.metrics import COUPONS_REDEEMED, count_after_commit
from shop.pagination import paginate
from shop.stores import counter
from shop.stores.counter import is_retry, when_and_where

log = logging.getLogger(__name__)

REVERT_WINDOW = timedelta(minutes=10)
IN_STORE = BatchUsage.IN_STORE.value  # what Coupon.used_in says of a coupon redeemed at a counter


def shopper_code(member_id: int, coupon_id: int, *, now: datetime) -> dict[str, Any]:
    """The rotating code of one of the member's coupons, if it can be redeemed in a store now."""
    held = own_coupon(member_id, coupon_id, now=now)  # 404 coupon_not_found if not theirs
    coupon, batch = held["coupon"], held["batch"]
    _refuse_unusable(coupon, batch, now)
    shown = code.shown_code(coupon.id, coupon.secret, now)
    return {"coupon_id": coupon.id, "code": shown.code, "display": shown.display, "qr_payload": shown.qr_payload,
            "valid_until": shown.valid_until, "seconds_left": code.seconds_left(shown, now),
            "step_seconds": code.STEP_SECONDS, "store_ids": batch.scope_store_ids}


def acting_store(staff: Principal, store_id: int | None) -> int:
    """The store a clerk redeems for: the one named (theirs), or their only store."""
    return counter.acting_store(staff, store_id, not_yours=CouponError.REDEMPTION_STORE_NOT_YOURS,
                                required=CouponError.REDEMPTION_STORE_REQUIRED)


def redeem(staff: Principal, raw_code: str, *, store_id: int | None, now: datetime) -> tuple[CouponRedemption, bool]:
    """(redemption, created): redeem the coupon showing ``raw_code`` at the clerk's store, once."""
    store = acting_store(staff, store_id)
    coupon, batch, verdict = _by_code(raw_code, staff, store, now)
    retried = _retried(coupon.id, staff, store, now)
    if retried is not None:  # the same scan sent again at once (a lost answer, a double tap)
        return retried, False
    _refuse_unless_redeemable(coupon, batch, verdict, store, now)
    if not _mark_used(coupon.id, now, discount_amount=_counter_discount(batch)):
        retried = _retried(coupon.id, staff, store, now)  # the same clerk's twin request won
        if retried is not None:
            return retried, False
        db.session.refresh(coupon)
        _refuse_unusable(coupon, batch, now)
        raise AppError(CouponError.COUPON_USED, "This coupon has just been used.")
    redemption = CouponRedemption(coupon_id=coupon.id, store_id=store, staff_id=staff.staff_id, redeemed_at=now)
    db.session.add(redemption)
    db.session.flush()
    record_event(coupon.member_id, JourneyKind.COUPON_REDEEMED, store_id=store, occurred_at=now,
                 coupon_id=coupon.id, batch_id=batch.id, redemption_id=redemption.id, staff_id=staff.staff_id)
    count_after_commit(COUPONS_REDEEMED.labels(channel="counter"))
    return redemption, True


def look_up(staff: Principal, raw_code: str, *, store_id: int | None, now: datetime) -> dict[str, Any]:
    """The coupon showing ``raw_code`` as a redemption at the clerk's store now would take it, or the
    refusal that redemption would give; nothing changes (the counter shows it before the clerk confirms).

    ``{"coupon", "batch", "store_id", "description", "counter_discount"}``: what it gives, in words and,
    when its kind knows without the items, in fen.
    """
    store = acting_store(staff, store_id)
    coupon, batch, verdict = _by_code(raw_code, staff, store, now)
    _refuse_unless_redeemable(coupon, batch, verdict, store, now)  # a look-up is never a retry: used is used
    return {"coupon": coupon, "batch": batch, "store_id": store, "description": kinds.describe(batch),
            "counter_discount": _counter_discount(batch)}


def revert(staff: Principal, redemption_id: int, *, now: datetime) -> tuple[CouponRedemption, bool]:
    """(redemption, changed): take a redemption of the clerk's store back within ``REVERT_WINDOW``.

    Reverting twice returns the reverted redemption. The coupon becomes available again (expired,
    if its validity ended meanwhile).
    """
    redemption = db.session.get(CouponRedemption, redemption_id) if storable_id(redemption_id) else None
    if redemption is None or redemption.store_id not in staff.store_ids:
        raise AppError(CouponError.REDEMPTION_NOT_FOUND, "No redemption with this id at your stores.")
    if redemption.reverted_at is not None:
        return redemption, False
    if now - redemption.redeemed_at > REVERT_WINDOW:
        minutes = int(REVERT_WINDOW.total_seconds() // 60)
        raise AppError(CouponError.REDEMPTION_REVERT_WINDOW_CLOSED,
                       f"A redemption can be reverted only within {minutes} minutes.")
    changed = db.session.execute(
        update(CouponRedemption).where(CouponRedemption.id == redemption.id, CouponRedemption.reverted_at.is_(None))
        .values(reverted_at=now, reverted_by_staff_id=staff.staff_id)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(redemption)
    if not changed:  # another clerk of the store reverted it at the same moment
        return redemption, False
    coupon = db.session.get(Coupon, redemption.coupon_id)
    back = CouponStatus.EXPIRED if coupon.expires_at <= now else CouponStatus.AVAILABLE
    db.session.execute(
        update(Coupon).where(Coupon.id == coupon.id, Coupon.status == CouponStatus.USED.value,
                             Coupon.used_in == IN_STORE)
        .values(status=back.value, used_at=None, used_in=None, discount_amount=None)
        .execution_options(synchronize_session=False))
    record_event(coupon.member_id, JourneyKind.COUPON_REDEMPTION_REVERTED, store_id=redemption.store_id,
                 occurred_at=now, coupon_id=coupon.id, batch_id=coupon.batch_id, redemption_id=redemption.id,
                 staff_id=staff.staff_id)
    return redemption, True


def list_redemptions(staff: Principal, *, store_id: int | None, page: int, page_size: int,
                     since: datetime | None = None) -> dict[str, Any]:
    """Redemptions at the clerk's stores (``store_id``: one of them), newest first; an admin sees any store.

    ``since``: only those redeemed at or after it (the console's "today").
    """
    statement = (select(CouponRedemption, CouponBatch)
                 .join(Coupon, Coupon.id == CouponRedemption.coupon_id)
                 .join(CouponBatch, CouponBatch.id == Coupon.batch_id)
                 .order_by(CouponRedemption.redeemed_at.desc(), CouponRedemption.id.desc()))
    if staff.role is not Role.ADMIN:
        if store_id is not None and store_id not in staff.store_ids:
            raise AppError(CouponError.REDEMPTION_STORE_NOT_YOURS, "You are not a clerk of this store.")
        statement = statement.where(CouponRedemption.store_id.in_([store_id] if store_id else staff.store_ids))
    elif store_id is not None:
        statement = statement.where(CouponRedemption.store_id == store_id)
    if since is not None:
        statement = statement.where(CouponRedemption.redeemed_at >= since)
    result = paginate(statement, page=page, page_size=page_size, rows=True)
    return {**result, "items": [redemption_view(redemption, batch) for redemption, batch in result["items"]]}


def redemption_view(redemption: CouponRedemption, batch: CouponBatch | None = None) -> dict[str, Any]:
    """A redemption with what the coupon gives and until when it can be reverted."""
    if batch is None:
        batch = db.session.scalar(select(CouponBatch).join(Coupon, Coupon.batch_id == CouponBatch.id)
                                  .where(Coupon.id == redemption.coupon_id))
    return {"redemption": redemption, "batch": batch,
            "revertible_until": redemption.redeemed_at + REVERT_WINDOW}


def _by_code(raw_code: str, staff: Principal, store: int, now: datetime) -> tuple[Coupon, CouponBatch, code.Verdict]:
    """The coupon this code shows, now or minutes ago (the verdict says which); a wrong code tells nothing."""
    parsed = code.parse(raw_code)
    row = None if parsed is None else db.session.execute(
        select(Coupon, CouponBatch).join(CouponBatch, CouponBatch.id == Coupon.batch_id)
        .where(Coupon.id == parsed[0])).first()
    verdict = code.check(row[0].secret, parsed[1], now) if row is not None else code.Verdict.INVALID
    if verdict is code.Verdict.INVALID:
        log.warning("wrong coupon code by staff %s at store %s", staff.staff_id, store)
        raise AppError(CouponError.COUPON_CODE_INVALID, "No coupon shows this code; check it and type it again.")
    return row[0], row[1], verdict


# What a store answers for each reason a held coupon cannot be used (coupons.checkout.lifecycle.unusable_because).
_STATE_MESSAGES = {
    CouponError.COUPON_LOCKED: "This coupon is held by an unpaid online order; cancel that order to use it here.",
    CouponError.COUPON_EXPIRED: "This coupon has expired.",
    CouponError.COUPON_NOT_YET_VALID: "This coupon cannot be used yet.",
}


def _refuse_unless_redeemable(coupon: Coupon, batch: CouponBatch, verdict: code.Verdict, store_id: int,
                              now: datetime) -> None:
    """Every refusal of redeeming this coupon here now, in the order a clerk should hear them."""
    _refuse_unusable(coupon, batch, now)  # a used coupon says so (when, where), whatever code showed it
    _refuse_needing_items(batch)
    if verdict is code.Verdict.STALE:
        raise AppError(CouponError.COUPON_CODE_STALE,
                       "This code is out of date: ask the shopper to open the coupon and show the current code.")
    _refuse_other_store(batch, store_id)


def _refuse_unusable(coupon: Coupon, batch: CouponBatch, now: datetime) -> None:
    """Raise the error of the first reason the coupon cannot be used in a store now."""
    if batch.usage == BatchUsage.ONLINE:
        raise AppError(CouponError.COUPON_ONLINE_ONLY, "This coupon is for online orders only.")
    error = unusable_because(coupon.status, coupon.expires_at, coupon.valid_from, now)
    if error is CouponError.COUPON_USED:
        raise _used(coupon)
    if error is not None:
        raise AppError(error, _STATE_MESSAGES[error])


def _refuse_needing_items(batch: CouponBatch) -> None:
    """A kind priced on the items bought is used with a till sale that names them, not redeemed by its code alone."""
    if not kinds.kind_of(batch.kind).redeemable_without_items:
        raise AppError(CouponError.COUPON_NEEDS_ITEMS, f"This coupon ({kinds.describe(batch)}) depends on the items "
                       "bought: record the sale with its items and this code (POST /staff/sales).")


def _used(coupon: Coupon) -> AppError:
    """409 ``coupon_used`` saying when and where: its redemption at a store, or its use online.

    ``details``: ``used_at``, ``store_id``, ``store_name`` (``shop.stores.counter.when_and_where``),
    ``used_in`` (``in_store`` or ``online``) and, for a store, ``redemption_id``.
    """
    redemption = _open_redemption(coupon.id) if coupon.used_in == IN_STORE else None
    if redemption is None:
        phrase, details = when_and_where(coupon.used_at, None)
        where = "in a store" if coupon.used_in == IN_STORE else "online"
        return AppError(CouponError.COUPON_USED, f"This coupon was already used {where} {phrase}.",
                        details={**details, "used_in": coupon.used_in})
    phrase, details = when_and_where(redemption.redeemed_at, redemption.store_id)
    return AppError(CouponError.COUPON_USED, f"This coupon was already redeemed {phrase}.",
                    details={**details, "used_in": IN_STORE, "redemption_id": redemption.id})


def _refuse_other_store(batch: CouponBatch, store_id: int) -> None:
    if batch.scope_store_ids is not None and store_id not in batch.scope_store_ids:
        raise AppError(CouponError.COUPON_STORE_NOT_IN_SCOPE, "This coupon is not valid at this store.")


def _retried(coupon_id: int, staff: Principal, store_id: int, now: datetime) -> CouponRedemption | None:
    """This clerk's redemption of the coupon at this store moments ago, which a scan now repeats; else None."""
    redemption = _open_redemption(coupon_id)
    if (redemption is not None and redemption.staff_id == staff.staff_id and redemption.store_id == store_id
            and is_retry(redemption.redeemed_at, now)):
        return redemption
    return None


def _open_redemption(coupon_id: int) -> CouponRedemption | None:
    """The coupon's redemption that stands (not reverted); at most one, as the coupon is used once."""
    return db.session.scalar(select(CouponRedemption).where(
        CouponRedemption.coupon_id == coupon_id, CouponRedemption.reverted_at.is_(None))
        .order_by(CouponRedemption.id.desc()).limit(1))


def _counter_discount(batch: CouponBatch) -> int | None:
    """What the coupon takes off at the counter when its kind knows without the items (a fixed amount)."""
    offer = kinds.offer_of(batch)
    return kinds.kind_of(offer.kind).counter_discount(offer)


def _mark_used(coupon_id: int, now: datetime, *, discount_amount: int | None) -> bool:
    """Available -> used (in store), only if still available and valid now: whether it moved."""
    return bool(db.session.execute(
        update(Coupon).where(Coupon.id == coupon_id, Coupon.status == CouponStatus.AVAILABLE.value,
                             Coupon.valid_from <= now, Coupon.expires_at > now)
        .values(status=CouponStatus.USED.value, used_in=IN_STORE, used_at=now, discount_amount=discount_amount)
        .execution_options(synchronize_session=False)).rowcount)
