"""Claiming: the claim center's list, the claim itself, the wallet and rebuilding the gates.

A claim passes the Redis gate (coupons/gate.py) first, which hands out the member's sequence
number, then writes the coupon row in its own transaction; if that write fails the gate is given
back. The gate is never more generous than the rows: the total and the per-member limit hold
under any concurrency, across app instances sharing Redis and the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from coupons import gate
from coupons.errors import CouponError
from coupons.models import BatchChannel, BatchStatus, Coupon, CouponBatch, CouponStatus
from coupons.service import get_batch, issued_counts
from shop.errors import AppError
from shop.extensions import db, redis_client
from shop.idempotency import IdempotencyError
from shop.pagination import paginate


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
    result["items"] = [{"batch": batch, "claimed": own[batch.id],
                        "may_claim": min(batch.per_member_limit - own[batch.id], batch.total - totals[batch.id])}
                       for batch in result["items"]]
    return result


def claim(*, batch_id: int, member_id: int, key: str, now: datetime) -> tuple[Coupon, bool]:
    """(coupon, created): a new coupon, or the one this ``key`` claimed before. Commits."""
    existing = _by_key(member_id, key, batch_id)
    if existing is not None:
        return existing, False
    batch = get_batch(batch_id)
    _check_open(batch, now)
    valid_from, expires_at = _validity(batch, now)
    limit = batch.per_member_limit
    db.session.rollback()  # no transaction held while waiting on Redis
    client = redis_client()
    sequence = gate.take(client, batch_id, member_id, limit)
    if sequence == gate.MISSING:
        build_gate(batch_id, only_if_absent=True)
        sequence = gate.take(client, batch_id, member_id, limit)
    if sequence < 0:
        existing = _by_key(member_id, key, batch_id)  # the same key's first call won meanwhile
        if existing is not None:
            return existing, False
        if sequence == gate.LIMIT_REACHED:
            raise AppError(CouponError.COUPON_LIMIT_REACHED,
                           f"You already hold the most coupons of this batch ({limit}).")
        raise AppError(CouponError.COUPON_OUT_OF_STOCK, "All coupons of this batch have been claimed.")
    coupon = Coupon(batch_id=batch_id, member_id=member_id, sequence=sequence, claim_key=key,
                    status=CouponStatus.AVAILABLE.value, valid_from=valid_from, expires_at=expires_at,
                    claimed_at=now)
    try:
        db.session.add(coupon)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        gate.give_back(client, batch_id, member_id)
        existing = _by_key(member_id, key, batch_id)  # a simultaneous retry with this key wrote it
        if existing is not None:
            return existing, False
        raise AppError(CouponError.COUPON_CLAIM_CONFLICT,
                       "Another claim of yours on this batch happened at the same moment; try again.") from None
    except BaseException:
        db.session.rollback()
        gate.give_back(client, batch_id, member_id)
        raise
    return coupon, True


def _by_key(member_id: int, key: str, batch_id: int) -> Coupon | None:
    coupon = db.session.scalar(select(Coupon).where(Coupon.member_id == member_id, Coupon.claim_key == key))
    if coupon is not None and coupon.batch_id != batch_id:
        raise AppError(IdempotencyError.KEY_REUSED,
                       "This Idempotency-Key claimed another batch; use a new key for a new claim.")
    return coupon


def _check_open(batch: CouponBatch, now: datetime) -> None:
    if batch.channel != BatchChannel.PUBLIC:
        raise AppError(CouponError.COUPON_BATCH_NOT_FOUND, "No such coupon batch.")
    if batch.status != BatchStatus.ACTIVE:
        raise AppError(CouponError.COUPON_BATCH_NOT_ACTIVE, f"This batch is {batch.status}, not claimable.")
    if batch.valid_days is None and not (batch.starts_at <= now < batch.ends_at):
        when = "has not started" if now < batch.starts_at else "has ended"
        raise AppError(CouponError.COUPON_BATCH_NOT_ACTIVE, f"This batch {when}.")


def _validity(batch: CouponBatch, now: datetime) -> tuple[datetime, datetime]:
    if batch.valid_days is not None:
        return now, now + timedelta(days=batch.valid_days)
    return batch.starts_at, batch.ends_at


def build_gate(batch_id: int, *, only_if_absent: bool) -> bool:
    """Set a batch's gate from its coupon rows (remaining = total - issued; each member's count)."""
    batch = get_batch(batch_id)
    held = dict(db.session.execute(select(Coupon.member_id, func.max(Coupon.sequence))
                                   .where(Coupon.batch_id == batch_id).group_by(Coupon.member_id)).tuples().all())
    issued = db.session.scalar(select(func.count()).where(Coupon.batch_id == batch_id))
    total = batch.total
    db.session.rollback()
    return gate.build(redis_client(), batch_id, remaining=total - issued, held=held, only_if_absent=only_if_absent)


def rebuild_gates() -> list[int]:
    """Rebuild the gates of every active or paused batch from the database; their ids.

    Run it after Redis lost its data, while no claims are in flight (pause the batches or stop
    traffic): a claim that passed the old gate but has not committed yet would not be counted.
    """
    ids = list(db.session.scalars(select(CouponBatch.id).where(
        CouponBatch.status.in_([BatchStatus.ACTIVE.value, BatchStatus.PAUSED.value]))))
    for batch_id in ids:
        build_gate(batch_id, only_if_absent=False)
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
    found = db.session.execute(select(Coupon, CouponBatch).join(CouponBatch, CouponBatch.id == Coupon.batch_id)
                               .where(Coupon.id == coupon_id, Coupon.member_id == member_id)).first()
    if found is None:
        raise AppError(CouponError.COUPON_NOT_FOUND, "You hold no such coupon.")
    coupon, batch = found
    return {"coupon": coupon, "batch": batch, "status": shown_status(coupon, now)}
