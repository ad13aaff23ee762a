"""Issuing a coupon inside someone else's transaction: automatic channels, targeted jobs, exchange codes.

Each goes through ``take_and_write`` (coupons/claiming/taking.py).

``issue`` runs inside someone else's transaction (a registration, a follow, a payment, a job's
chunk, an exchange): it writes in a savepoint and, if the surrounding transaction later rolls back
(or ends without committing), gives the numbers back (shop.transactions.on_rollback). A process
killed between the gate and the commit leaves its numbers unused until the next rebuild, which
makes holes of every number no row holds.

Each issue has a key, unique per member (``Coupon.claim_key``): a signal delivered twice, a job
run again, a code exchanged twice write one coupon.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from coupons.claiming import gate, queries
from coupons.claiming.taking import ALREADY_ISSUED, Written, gate_day, take_and_write
from coupons.models import BatchChannel, BatchStatus, Coupon, CouponBatch
from shop.database import as_loaded
from shop.extensions import db, redis_client
from shop.members.journey import JourneyKind, record_event
from shop.metrics import COUPONS_CLAIMED, count_after_commit
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


_GATE_SKIPS = {gate.OUT_OF_STOCK: Skip.OUT_OF_STOCK, gate.OUT_OF_STOCK_HELD: Skip.OUT_OF_STOCK,
               gate.LIMIT_REACHED: Skip.LIMIT_REACHED, gate.DAILY_LIMIT_REACHED: Skip.DAILY_LIMIT_REACHED,
               ALREADY_ISSUED: Skip.ALREADY_ISSUED}


@dataclass(frozen=True)
class Outcome:
    coupon: Coupon | None
    skipped: Skip | None = None


def is_open(batch: CouponBatch, now: datetime) -> bool:
    """Active and (for a fixed window) inside it."""
    if batch.status != BatchStatus.ACTIVE:
        return False
    return batch.valid_days is not None or batch.starts_at <= now < batch.ends_at


def issue(batch: CouponBatch, member_id: int, *, key: str, now: datetime) -> Outcome:
    """Issue one coupon of ``batch`` to ``member_id`` in the current transaction, once per ``key``.

    The caller checks the member exists and the batch is open (``is_open``). Nothing commits here.
    """
    if _issued_with(member_id, key):
        return Outcome(None, Skip.ALREADY_ISSUED)
    written, generation = take_and_write(batch, member_id, key=key, source=batch.channel, now=now,
                                         write=_insert_in_session, retried=lambda: _issued_with(member_id, key),
                                         in_session=True)
    if generation != batch.gate_generation:  # rebuilt in this transaction: the next issue takes with it
        set_committed_value(batch, "gate_generation", generation)
    if not isinstance(written, Written):
        return Outcome(None, _GATE_SKIPS[written])
    client, batch_id, day = redis_client(), batch.id, gate_day(batch, now)  # plain values: rows expire on rollback
    on_rollback(lambda: gate.give_back(client, batch_id, member_id, written.grant, day=day))
    coupon = as_loaded(Coupon(id=written.coupon_id, **written.values))
    db.session.add(coupon)
    record_event(member_id, JourneyKind.COUPON_CLAIMED, campaign=batch.campaign, occurred_at=now,
                 coupon_id=coupon.id, batch_id=batch.id, channel=batch.channel)
    count_after_commit(COUPONS_CLAIMED.labels(channel=str(batch.channel)))
    return Outcome(coupon)


def _insert_in_session(values: dict[str, Any]) -> int | None:
    with db.session.begin_nested():
        return queries.insert_coupon(db.session.connection(), values)


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
