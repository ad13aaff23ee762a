"""Claiming: the claim center's list, the claim itself, the wallet and rebuilding the gates.

A claim goes through the one rule of issuing (coupons/claiming/taking.py ``take_and_write``): the Redis gate
(coupons/claiming/gate.py) hands out the coupon's numbers, then the row is written in its own transaction,
which the database refuses if a number is held already or beyond its bound (the gate is then rebuilt
from the rows and the claim takes again). The total, the per-member limit and the daily limit hold
under any concurrency, across app instances sharing Redis and the database, whatever Redis says.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, func, or_, select

from coupons.batches.service import issued_counts
from coupons.claiming import batch_cache, gate, queries
from coupons.claiming.taking import ALREADY_ISSUED, Written, rebuild_gate, take_and_write
from coupons.errors import CouponError
from coupons.models import BatchChannel, BatchStatus, Coupon, CouponBatch, CouponStatus
from shop.database import storable_id, utcnow
from shop.errors import AppError
from shop.extensions import db, redis_client
from shop.idempotency import IdempotencyError
from shop.members.journey import JourneyKind, record_event_on
from shop.metrics import COUPONS_CLAIMED
from shop.pagination import paginate

_PUBLIC_CLAIMS = COUPONS_CLAIMED.labels(channel=BatchChannel.PUBLIC.value)  # bound once: the flash claim's path


def _open_now(now: datetime):
    return or_(CouponBatch.valid_days.is_not(None),
               (CouponBatch.starts_at <= now) & (CouponBatch.ends_at > now))


def claimable_batches(member_id: int, *, now: datetime, page: int, page_size: int) -> dict[str, Any]:
    """Active public batches open now, not all claimed, where this member is under the limit."""
    issued = select(func.count()).where(Coupon.batch_id == CouponBatch.id).correlate(CouponBatch)
    mine = issued.where(Coupon.member_id == member_id)
    statement = (select(CouponBatch)
                 .where(CouponBatch.status == BatchStatus.ACTIVE.value,
                        CouponBatch.channel == BatchChannel.PUBLIC.value, _open_now(now),
                        issued.scalar_subquery() < CouponBatch.total,
                        mine.scalar_subquery() < CouponBatch.per_member_limit)
                 .order_by(CouponBatch.id.desc()))
    result = paginate(statement, page=page, page_size=page_size)
    ids = [batch.id for batch in result["items"]]
    totals, own = issued_counts(ids), issued_counts(ids, member_id=member_id)
    today = _left_today(result["items"], now)
    result["items"] = [{"batch": batch, "claimed": own[batch.id],
                        "may_claim": min(batch.per_member_limit - own[batch.id], batch.total - totals[batch.id],
                                         today.get(batch.id, batch.total))}
                       for batch in result["items"]]
    return result


def _left_today(batches: list[CouponBatch], now: datetime) -> dict[int, int]:
    """Coupons still to be had today of the batches with a daily limit, as their gates count them."""
    limited = [batch for batch in batches if batch.daily_limit is not None]
    if not limited:
        return {}
    taken = gate.taken_on(redis_client(), [batch.id for batch in limited], gate.business_day(now))
    return {batch.id: max(batch.daily_limit - count, 0) for batch, count in zip(limited, taken, strict=True)}


class Claimed(NamedTuple):
    coupon: Coupon
    batch: Any  # the batch's columns (coupons/claiming/batch_cache.py)
    created: bool  # False: the coupon this Idempotency-Key claimed before


_STALE_TRIES = 3  # a batch changing under the claim again and again: give up with a conflict


def claim(*, batch_id: int, member_id: int, key: str, now: datetime,
          before_write: Callable[[Connection], None] | None = None) -> Claimed:
    """A new coupon, or the one this ``key`` claimed before. Commits.

    ``before_write(connection)`` runs first in the coupon's write transaction (the caller's account
    check: what it raises writes nothing and gives the gate's numbers back).

    The hot path of a flash claim: the batch from the process's copy (coupons/claiming/batch_cache.py), the
    gate (one script that also checks the copy is current and what the member holds), and one INSERT
    (its own transaction, autocommit) over SQLAlchemy Core. A retry is recognised when the gate or
    the coupon's unique key refuses it, so a first claim pays no lookup by key.
    """
    token, batch = batch_cache.batch_copy(batch_id)
    if _closed_because(batch, now) is not None:  # the copy may predate a reopening: ask for the current one
        token, batch = batch_cache.current_batch(batch_id)
    for _ in range(_STALE_TRIES):
        claimed = _claim_from(batch, token, member_id=member_id, key=key, now=now, before_write=before_write)
        if claimed is not None:
            return claimed
        token, batch = batch_cache.current_batch(batch_id)  # the batch changed since the copy was taken
    raise AppError(CouponError.COUPON_CLAIM_CONFLICT, "The batch changed while you claimed; try again.")


def _claim_from(batch: Any, token: bytes, *, member_id: int, key: str, now: datetime,
                before_write: Callable[[Connection], None] | None) -> Claimed | None:
    """The claim against this copy of the batch; None if the gate found the copy stale (nothing taken)."""
    closed = _closed_because(batch, now)
    if closed is not None:
        existing = _by_key(member_id, key, batch.id)  # a retry after the batch closed still gets its coupon
        if existing is None:
            raise closed
        return Claimed(existing, batch, False)
    if db.session.registry.has():  # a claim itself needs no session: it only ends one opened before it
        db.session.rollback()  # no transaction held while waiting on Redis
    written, _ = take_and_write(batch, member_id, key=key, source=BatchChannel.PUBLIC.value, now=now,
                                write=lambda values: _insert_alone(values, batch, before_write), retried=lambda: _by_key(member_id, key, batch.id) is not None,
                                version=token)
    if isinstance(written, Written):
        _PUBLIC_CLAIMS.inc()  # committed already: the INSERT was its own transaction
        return Claimed(Coupon(id=written.coupon_id, **written.values), batch, True)  # committed as it is
    if written == gate.STALE_COPY:
        return None
    if written == gate.OUT_OF_STOCK:
        # Most answers of a flash claim: a member holding none of the batch cannot be retrying a
        # claim that got one, so the lookup by key is left out.
        raise AppError(CouponError.COUPON_OUT_OF_STOCK, "All coupons of this batch have been claimed.")
    existing = _by_key(member_id, key, batch.id)  # a retry of a claim that got its coupon
    if existing is not None:
        return Claimed(existing, batch, False)
    if written == gate.LIMIT_REACHED:
        raise AppError(CouponError.COUPON_LIMIT_REACHED,
                       f"You already hold the most coupons of this batch ({batch.per_member_limit}).")
    if written == gate.DAILY_LIMIT_REACHED:
        raise AppError(CouponError.COUPON_DAILY_LIMIT_REACHED,
                       f"Today's {batch.daily_limit} coupons of this batch have been claimed; come back tomorrow.")
    if written == ALREADY_ISSUED:  # the row of this key vanished between the refusal and the lookup
        raise AppError(CouponError.COUPON_CLAIM_CONFLICT, "Your claim met another of yours; try again.")
    raise AppError(CouponError.COUPON_OUT_OF_STOCK, "All coupons of this batch have been claimed.")


def _insert_alone(values: dict[str, Any], batch: Any, before_write: Callable[[Connection], None] | None) -> int | None:
    """The coupon's INSERT and its ``coupon_claimed`` journey event, as their own transaction."""
    with db.engine.begin() as connection:
        if before_write is not None:
            before_write(connection)
        coupon_id = queries.insert_coupon(connection, values)
        if coupon_id is not None:
            record_event_on(connection, values["member_id"], JourneyKind.COUPON_CLAIMED,
                            occurred_at=values["claimed_at"], campaign=batch.campaign, coupon_id=coupon_id,
                            batch_id=batch.id, channel=values["source"])
        return coupon_id


def _by_key(member_id: int, key: str, batch_id: int) -> Coupon | None:
    """The coupon this member's ``key`` claimed (a copy, not in the session); 422 if of another batch."""
    table = Coupon.__table__
    with db.engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.member_id == member_id, table.c.claim_key == key)
                                 ).mappings().first()
    if row is not None and row["batch_id"] != batch_id:
        raise AppError(IdempotencyError.KEY_REUSED,
                       "This Idempotency-Key claimed another batch; use a new key for a new claim.")
    return Coupon(**row) if row is not None else None


def _closed_because(batch: Any, now: datetime) -> AppError | None:
    """Why this batch cannot be claimed now (the error to answer), or None."""
    if batch.channel != BatchChannel.PUBLIC:
        return AppError(CouponError.COUPON_BATCH_NOT_FOUND, "No such coupon batch.")
    if batch.status != BatchStatus.ACTIVE:
        return AppError(CouponError.COUPON_BATCH_NOT_ACTIVE, f"This batch is {batch.status}, not claimable.")
    if batch.valid_days is None and not (batch.starts_at <= now < batch.ends_at):
        when = "has not started" if now < batch.starts_at else "has ended"
        return AppError(CouponError.COUPON_BATCH_NOT_ACTIVE, f"This batch {when}.")
    return None


def rebuild_gates() -> list[int]:
    """Rebuild the gates of every active or paused batch from the database, at new generations; their ids.

    Safe while claims go on: a claim that took from the old gate and commits later holds a number
    the rebuilt gate keeps back (coupons/claiming/taking.py), and the database refuses it if given twice.
    """
    ids = list(db.session.scalars(select(CouponBatch.id).where(
        CouponBatch.status.in_([BatchStatus.ACTIVE.value, BatchStatus.PAUSED.value]))))
    db.session.rollback()
    now = utcnow()
    for batch_id in ids:
        rebuild_gate(batch_id, now=now)
    return ids


def shown_status(coupon: Coupon, now: datetime) -> str:
    """An available coupon past its expiry shows as expired."""
    if coupon.status == CouponStatus.AVAILABLE and coupon.expires_at <= now:
        return CouponStatus.EXPIRED.value
    return coupon.status


def wallet(member_id: int, *, status: str | None, now: datetime, page: int, page_size: int) -> dict[str, Any]:
    """The member's coupons with their batch, by shown status (all if None; locked: held by an unpaid order)."""
    statement = select(Coupon, CouponBatch).join(CouponBatch, CouponBatch.id == Coupon.batch_id).where(
        Coupon.member_id == member_id)
    available = (Coupon.status == CouponStatus.AVAILABLE.value) & (Coupon.expires_at > now)
    if status == CouponStatus.AVAILABLE:
        statement = statement.where(available).order_by(Coupon.expires_at, Coupon.id)
    elif status == CouponStatus.EXPIRED:
        statement = statement.where(or_(Coupon.status == CouponStatus.EXPIRED.value,
                                        (Coupon.status == CouponStatus.AVAILABLE.value) & (Coupon.expires_at <= now)))
    elif status in (CouponStatus.USED, CouponStatus.LOCKED):
        statement = statement.where(Coupon.status == status)
    if status != CouponStatus.AVAILABLE:
        statement = statement.order_by(Coupon.id.desc())
    result = paginate(statement, page=page, page_size=page_size, rows=True)
    return {**result, "items": [{"coupon": coupon, "batch": batch, "status": shown_status(coupon, now)}
                                for coupon, batch in result["items"]]}


def own_coupon(member_id: int, coupon_id: int, *, now: datetime) -> dict[str, Any]:
    """One of the member's coupons with its batch; another member's (or an unknown one) is a 404."""
    if not storable_id(coupon_id):
        raise AppError(CouponError.COUPON_NOT_FOUND, "You hold no such coupon.")
    found = db.session.execute(select(Coupon, CouponBatch).join(CouponBatch, CouponBatch.id == Coupon.batch_id)
                               .where(Coupon.id == coupon_id, Coupon.member_id == member_id)).first()
    if found is None:
        raise AppError(CouponError.COUPON_NOT_FOUND, "You hold no such coupon.")
    coupon, batch = found
    return {"coupon": coupon, "batch": batch, "status": shown_status(coupon, now)}
