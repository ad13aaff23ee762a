"""Issuing a coupon inside someone else's transaction: automatic channels, targeted jobs, exchange codes.

The claim center (coupons/claim.py) commits each claim on its own. Everything else issues inside a
larger transaction: a registration, a follow, a payment, a job's chunk, an exchange. ``issue``
passes the same Redis gate (total, per-member limit, daily limit), writes the coupon row in a
savepoint and, if the surrounding transaction later rolls back (or ends without committing),
gives the gate back (shop.transactions.on_rollback). What is left uncovered errs on the safe
side: a process killed between the gate and the commit leaves the gate one coupon short (fewer
coupons, never more) until `flask coupons rebuild-gates`.

Each issue has a key, unique per member (``Coupon.claim_key``): a signal delivered twice, a job
run again, a code exchanged twice write one coupon.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from coupons import gate
from coupons.models import BatchChannel, BatchStatus, Coupon, CouponBatch, CouponStatus
from shop.extensions import db, redis_client
from shop.transactions import on_rollback

log = logging.getLogger(__name__)


class Skip(StrEnum):
    """Why a coupon was not issued (targeted jobs count these)."""

    UNKNOWN_MEMBER = "unknown_member"
    ALREADY_ISSUED = "already_issued"  # this key issued before (a repeated signal, a duplicate id)
    LIMIT_REACHED = "limit_reached"  # the member holds the per-member limit
    OUT_OF_STOCK = "out_of_stock"
    DAILY_LIMIT_REACHED = "daily_limit_reached"
    BATCH_NOT_ACTIVE = "batch_not_active"  # paused, ended or outside its window
    CONFLICT = "conflict"  # the coupon row could not be written (the gate was behind the rows)


_GATE_SKIPS = {gate.OUT_OF_STOCK: Skip.OUT_OF_STOCK, gate.OUT_OF_STOCK_HELD: Skip.OUT_OF_STOCK,
               gate.LIMIT_REACHED: Skip.LIMIT_REACHED, gate.DAILY_LIMIT_REACHED: Skip.DAILY_LIMIT_REACHED}


@dataclass(frozen=True)
class Outcome:
    coupon: Coupon | None
    skipped: Skip | None = None


def is_open(batch: CouponBatch, now: datetime) -> bool:
    """Active and (for a fixed window) inside it."""
    if batch.status != BatchStatus.ACTIVE:
        return False
    return batch.valid_days is not None or batch.starts_at <= now < batch.ends_at


def validity(batch: CouponBatch, now: datetime) -> tuple[datetime, datetime]:
    """(valid_from, expires_at) of a coupon issued now."""
    if batch.valid_days is not None:
        return now, now + timedelta(days=batch.valid_days)
    return batch.starts_at, batch.ends_at


def gate_day(batch: CouponBatch, now: datetime) -> date | None:
    """The business day a take counts on, for a batch with a daily limit (None: not counted)."""
    return gate.business_day(now) if batch.daily_limit is not None else None


def gate_counts(batch: Any, now: datetime) -> dict[str, Any]:
    """The gate as the coupon rows say it should be: remaining, each member's count, today's count."""
    held = dict(db.session.execute(select(Coupon.member_id, func.max(Coupon.sequence))
                                   .where(Coupon.batch_id == batch.id).group_by(Coupon.member_id)).tuples().all())
    issued = db.session.scalar(select(func.count()).where(Coupon.batch_id == batch.id))
    counts: dict[str, Any] = {"remaining": batch.total - issued, "held": held, "day": gate_day(batch, now)}
    if counts["day"] is not None:
        start, end = gate.day_bounds(counts["day"])
        counts["today"] = db.session.scalar(select(func.count()).where(
            Coupon.batch_id == batch.id, Coupon.claimed_at >= start, Coupon.claimed_at < end))
    return counts


def pass_gate(client: Redis, batch: Any, member_id: int, day: date | None, now: datetime, *,
              version: bytes | None = None) -> int:
    """Pass the gate (built from the rows first if missing): the coupon's sequence, or a gate code
    (``version``: the token of the caller's copy of the batch, see ``gate.take``)."""
    def take() -> int:
        return gate.take(client, batch.id, member_id, batch.per_member_limit, daily_limit=batch.daily_limit,
                         day=day, version=version)

    sequence = take()
    if sequence == gate.MISSING:
        gate.build(client, batch.id, only_if_absent=True, **gate_counts(batch, now))
        sequence = take()
    return sequence


def issue(batch: CouponBatch, member_id: int, *, key: str, now: datetime) -> Outcome:
    """Issue one coupon of ``batch`` to ``member_id`` in the current transaction, once per ``key``.

    The caller checks the member exists and the batch is open (``is_open``). Nothing commits here.
    """
    if _issued_with(member_id, key):
        return Outcome(None, Skip.ALREADY_ISSUED)
    client, day = redis_client(), gate_day(batch, now)
    sequence = pass_gate(client, batch, member_id, day, now)
    if sequence < 0:
        return Outcome(None, _GATE_SKIPS[sequence])
    valid_from, expires_at = validity(batch, now)
    coupon = Coupon(batch_id=batch.id, member_id=member_id, sequence=sequence, claim_key=key,
                    status=CouponStatus.AVAILABLE.value, valid_from=valid_from, expires_at=expires_at,
                    claimed_at=now, source=batch.channel)
    try:
        with db.session.begin_nested():
            db.session.add(coupon)
    except IntegrityError:
        gate.give_back(client, batch.id, member_id, day=day)
        return Outcome(None, Skip.ALREADY_ISSUED if _issued_with(member_id, key) else Skip.CONFLICT)
    except BaseException:
        gate.give_back(client, batch.id, member_id, day=day)
        raise
    batch_id = batch.id  # plain values: after a rollback the row objects are expired
    on_rollback(lambda: gate.give_back(client, batch_id, member_id, day=day))
    return Outcome(coupon)


def _issued_with(member_id: int, key: str) -> bool:
    return db.session.scalar(select(Coupon.id).where(Coupon.member_id == member_id, Coupon.claim_key == key)) \
        is not None


def open_batches(channel: BatchChannel, now: datetime) -> list[CouponBatch]:
    """The active batches of a channel that are open now, oldest first."""
    batches = db.session.scalars(select(CouponBatch).where(
        CouponBatch.status == BatchStatus.ACTIVE.value, CouponBatch.channel == channel.value)
        .order_by(CouponBatch.id))
    return [batch for batch in batches if is_open(batch, now)]


def issue_for_channel(channel: BatchChannel, member_id: int, *, key: str, now: datetime) -> list[Coupon]:
    """One coupon of every open batch of ``channel`` (key ``<key>:<batch id>``); skips are logged."""
    issued = []
    for batch in open_batches(channel, now):
        outcome = issue(batch, member_id, key=f"{key}:{batch.id}", now=now)
        if outcome.coupon is not None:
            issued.append(outcome.coupon)
        elif outcome.skipped is not Skip.ALREADY_ISSUED:
            log.info("%s coupon of batch %s not issued to member %s: %s", channel, batch.id, member_id,
                     outcome.skipped)
    return issued
