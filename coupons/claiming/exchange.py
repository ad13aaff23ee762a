"""Exchange codes: printed codes of an `exchange_code` batch that a shopper exchanges for a coupon, once.

A code is 12 characters from 31 that cannot be mistaken for one another (no 0/O, 1/I/L), drawn
with ``secrets``: about 59 bits, so guessing one among even millions of printed codes takes far
more tries than the per-member rate limit allows. A typed code is normalised (case, spaces and
dashes do not matter). Exchanging marks the code with a conditional UPDATE in the same
transaction that issues the coupon through the gate: two shoppers typing the same code at once
get one coupon and one 409, and a code whose coupon cannot be issued (limit, stock) stays unused.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from coupons.batches.service import get_batch
from coupons.claiming.issuing import Skip, is_open, issue
from coupons.errors import CouponError
from coupons.models import BatchChannel, BatchStatus, Coupon, CouponBatch, CouponExchangeCode
from shop.errors import AppError, CommonError
from shop.extensions import db

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_IN_CODES = frozenset(ALPHABET)
CODE_LENGTH = 12
MAX_CODES_PER_REQUEST = 10_000
_EXPORT_PAGE = 2000
# What a refused exchange answers, by why the coupon was not issued.
_REFUSALS = {
    Skip.LIMIT_REACHED: (CouponError.COUPON_LIMIT_REACHED, "You already hold the most coupons of this batch."),
    Skip.OUT_OF_STOCK: (CouponError.COUPON_OUT_OF_STOCK, "All coupons of this batch have been issued."),
    Skip.DAILY_LIMIT_REACHED: (CouponError.COUPON_DAILY_LIMIT_REACHED,
                               "Today's coupons of this batch are all issued; try again tomorrow."),
}


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(typed: str) -> str:
    """What a shopper typed, as stored: upper case, without spaces or dashes."""
    return "".join(typed.split()).replace("-", "").upper()


def generate_codes(batch_id: int, count: int, *, now: datetime) -> dict[str, int]:
    """Add ``count`` new codes to an exchange-code batch (never more codes than its total)."""
    batch = get_batch(batch_id)
    if batch.channel != BatchChannel.EXCHANGE_CODE:
        raise AppError(CouponError.COUPON_BATCH_WRONG_CHANNEL,
                       f"This batch's channel is {batch.channel}; only exchange_code batches have codes.")
    if batch.status == BatchStatus.ENDED:
        raise AppError(CouponError.COUPON_BATCH_STATE_CONFLICT, "This batch has ended; it gets no more codes.")
    # Write the batch row first: two generations for one batch then count one after the other.
    db.session.execute(update(CouponBatch).where(CouponBatch.id == batch_id).values(updated_at=now))
    existing = db.session.scalar(select(func.count()).where(CouponExchangeCode.batch_id == batch_id))
    room = batch.total - existing
    if count > room:
        raise AppError(CommonError.VALIDATION_ERROR, "Too many codes for this batch; see errors.", errors={
            "count": [f"At most {room} more: the batch's total is {batch.total} and it has {existing} codes."]})
    _insert_codes(batch_id, count, now)
    return {"generated": count, "codes": existing + count}


def _insert_codes(batch_id: int, count: int, now: datetime) -> None:
    """Insert fresh codes; a collision with an existing code (about never) draws them again."""
    for _ in range(3):
        codes: set[str] = set()
        while len(codes) < count:
            codes.add(new_code())
        try:
            with db.session.begin_nested():
                db.session.execute(insert(CouponExchangeCode), [
                    {"batch_id": batch_id, "code": code, "created_at": now} for code in codes])
            return
        except IntegrityError:
            continue
    raise AppError(CommonError.CONFLICT, "Could not draw unique codes; try again.")


def export_rows(batch_id: int) -> Iterator[str]:
    """The batch's codes as CSV text (code, created_at, redeemed_at), a page of rows at a time."""
    get_batch(batch_id)
    yield _csv_line(("code", "created_at", "redeemed_at"))
    last_id = 0
    while True:
        rows = db.session.execute(
            select(CouponExchangeCode.id, CouponExchangeCode.code, CouponExchangeCode.created_at,
                   CouponExchangeCode.redeemed_at)
            .where(CouponExchangeCode.batch_id == batch_id, CouponExchangeCode.id > last_id)
            .order_by(CouponExchangeCode.id).limit(_EXPORT_PAGE)).all()
        if not rows:
            return
        yield "".join(_csv_line((code, created.isoformat(), redeemed.isoformat() if redeemed else ""))
                      for _, code, created, redeemed in rows)
        last_id = rows[-1][0]


def _csv_line(values: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


def exchange(member_id: int, typed: str, *, now: datetime) -> Coupon:
    """The coupon a code gives this member; 404 unknown code, 409 used (by anyone) or not issuable."""
    normalised = normalise(typed)
    # A character outside the alphabet (a NUL, say, which PostgreSQL refuses to compare) is in no code.
    code = (db.session.scalar(select(CouponExchangeCode).where(CouponExchangeCode.code == normalised))
            if set(normalised) <= _IN_CODES else None)
    if code is None:
        raise AppError(CouponError.EXCHANGE_CODE_NOT_FOUND, "No such exchange code; check what you typed.")
    if code.redeemed_at is not None:
        raise AppError(CouponError.EXCHANGE_CODE_USED, "This code has already been exchanged.")
    batch = get_batch(code.batch_id)
    if not is_open(batch, now):
        raise AppError(CouponError.COUPON_BATCH_NOT_ACTIVE, "This code's coupons cannot be had now.")
    taken = db.session.execute(update(CouponExchangeCode).where(
        CouponExchangeCode.id == code.id, CouponExchangeCode.redeemed_at.is_(None))
        .values(redeemed_at=now, member_id=member_id)).rowcount
    if not taken:  # someone exchanged it a moment ago
        raise AppError(CouponError.EXCHANGE_CODE_USED, "This code has already been exchanged.")
    outcome = issue(batch, member_id, key=f"code:{code.id}", now=now)
    if outcome.coupon is None:
        error, message = _REFUSALS.get(outcome.skipped, (CouponError.COUPON_CLAIM_CONFLICT,
                                                         "The coupon could not be issued; try again."))
        raise AppError(error, message)  # the error handler rolls back: the code stays unused
    db.session.execute(update(CouponExchangeCode).where(CouponExchangeCode.id == code.id)
                       .values(coupon_id=outcome.coupon.id))
    return outcome.coupon
