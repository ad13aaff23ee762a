"""Taking a coupon: the gate's numbers and the row, the one rule every issue follows, and rebuilding the gate.

Every coupon (the claim center, the automatic channels, targeted jobs, exchange codes) is issued by
``take_and_write``: the Redis gate (coupons/claiming/gate.py) hands out its numbers in one round trip (the
batch-wide issue number, the member's sequence, the day's number), then the one INSERT
(coupons/claiming/queries.py) writes the row, which the database refuses if a number is already held or is
beyond the batch's bounds. A refusal means the gate is behind the rows: it is rebuilt from the rows at
once (``rebuild_gate``, at a new generation) and the take is tried again; a gate that is missing or
of another generation than the batch row says is rebuilt before it serves. So the total, the
per-member limit and the daily limit hold whatever Redis says.

The claim centre (coupons/claiming/service.py) and issuing inside another transaction
(coupons/claiming/issuing.py) both take through here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from coupons.claiming import gate, queries
from coupons.errors import CouponError
from coupons.models import Coupon, CouponStatus
from shop.errors import AppError
from shop.extensions import db, redis_client
from shop.metrics import GATE_REBUILDS

log = logging.getLogger(__name__)

ALREADY_ISSUED = -10  # the row was refused because this key wrote a coupon before
TRIES = 5  # takes of one issue: a stale gate costs one, a rebuild by another process one, a hole in flight one
REBUILD_WAIT_S = 3.0  # how long an issue waits for another process's rebuild before a retryable 503
# Numbers a rebuild holds back: handed out by the old gate to issues that have not committed yet, they
# become holes, which come last (after the counter passes the total), so the rebuilt gate does not hand
# them out again at once. A hole that turns out held by a row is dropped, without another rebuild.
IN_FLIGHT_ROOM = 1000


class Written(NamedTuple):
    """A coupon row written: its id, its column values and the gate's grant."""

    coupon_id: int
    values: dict[str, Any]
    grant: gate.Grant


def validity(batch: Any, now: datetime) -> tuple[datetime, datetime]:
    """(valid_from, expires_at) of a coupon issued now."""
    if batch.valid_days is not None:
        return now, now + timedelta(days=batch.valid_days)
    return batch.starts_at, batch.ends_at


def gate_day(batch: Any, now: datetime) -> date | None:
    """The business day a take counts on, for a batch with a daily limit (None: not counted)."""
    return gate.business_day(now) if batch.daily_limit is not None else None


def coupon_values(batch: Any, grant: gate.Grant, member_id: int, *, key: str, source: str,
                  now: datetime) -> dict[str, Any]:
    """The columns of the coupon the gate granted."""
    valid_from, expires_at = validity(batch, now)
    values = {"batch_id": batch.id, "member_id": member_id, "sequence": grant.sequence,
              "issue_number": grant.number, "claim_day": gate.business_day(now), "claim_key": key,
              "status": CouponStatus.AVAILABLE.value, "source": source, "valid_from": valid_from,
              "expires_at": expires_at, "claimed_at": now}
    if grant.day_number is not None:
        values["day_number"] = grant.day_number
    return values


def take_and_write(batch: Any, member_id: int, *, key: str, source: str, now: datetime,
                   write: Callable[[dict[str, Any]], int | None], retried: Callable[[], bool],
                   version: bytes | None = None, in_session: bool = False) -> tuple[Written | int, int]:
    """Issue one coupon of ``batch``: (the row written, or why not, a gate code or ALREADY_ISSUED; the
    gate generation it ended at).

    ``write(values)`` inserts the row through ``queries.insert_coupon`` (its id; None if a number is
    beyond its bound) and ``retried()`` says whether ``key`` wrote a coupon before. ``version``: the
    token of the caller's copy of the batch (STALE_COPY if it is not current). ``in_session``: inside the
    caller's transaction (see ``rebuild_gate``). 503 ``coupon_gate_rebuilding`` if the gate could not be
    made to agree with the rows in a few tries.
    """
    client, day = redis_client(), gate_day(batch, now)
    generation = batch.gate_generation
    for _ in range(TRIES):
        grant = gate.take(client, batch.id, member_id, limit=batch.per_member_limit, total=batch.total,
                          generation=generation, daily_limit=batch.daily_limit, day=day, version=version)
        if grant == gate.REBUILD:
            generation = rebuild_gate(batch.id, now=now, seen=generation, in_session=in_session)
            continue
        if not isinstance(grant, gate.Grant):
            return grant, generation
        values = coupon_values(batch, grant, member_id, key=key, source=source, now=now)
        try:
            coupon_id = write(values)
        except IntegrityError:
            if _given_back_if(retried, client, batch.id, member_id, grant, day):
                return ALREADY_ISSUED, generation
            with _connection(in_session) as connection:
                held = queries.numbers_held(connection, values)
                sequence = queries.member_sequence(connection, batch.id, member_id) if "sequence" in held else 0
            if not held:  # not a number taken twice (a member deleted meanwhile, say): not the gate's doing
                gate.give_back(client, batch.id, member_id, grant, day=day)
                raise
            if held <= _in_flight_at_rebuild(grant):
                gate.give_back(client, batch.id, member_id, grant, day=day, in_use=held, held=sequence)
                continue
        except BaseException:
            gate.give_back(client, batch.id, member_id, grant, day=day)
            raise
        else:
            if coupon_id is not None:
                return Written(coupon_id, values, grant), generation
            # else a number beyond its bound: the gate is wrong, whatever its generation
        generation = rebuild_gate(batch.id, now=now, seen=grant.generation, collided=True, in_session=in_session)
    raise _rebuilding()


def _in_flight_at_rebuild(grant: gate.Grant) -> frozenset[str]:
    """The numbers of ``grant`` that may clash with an issue in flight when the gate was last rebuilt: the
    holes (see ``_counter``) and the member's sequence (the rows did not have that issue's yet). A clash on
    them is repaired where it happened (the hole dropped, the member's count raised to the rows'); a clash
    on a number from a counter means the gate is behind the rows, and it is rebuilt."""
    came = (("issue_number", grant.from_holes), ("day_number", grant.day_from_holes), ("sequence", True))
    return frozenset(name for name, may_clash in came if may_clash)


def _given_back_if(retried: Callable[[], bool], client: Any, batch_id: int, member_id: int, grant: gate.Grant,
                   day: date | None) -> bool:
    """Whether the row was refused for its key (the grant is then given back: its numbers are free)."""
    try:
        again = retried()
    except BaseException:
        gate.give_back(client, batch_id, member_id, grant, day=day)
        raise
    if again:
        gate.give_back(client, batch_id, member_id, grant, day=day)
    return again


def _rebuilding() -> AppError:
    return AppError(CouponError.COUPON_GATE_REBUILDING,
                    "Coupons of this batch are being recounted; try again in a moment.", headers={"Retry-After": "1"})


def rebuild_gate(batch_id: int, *, now: datetime, seen: int | None = None, collided: bool = False,
                 in_session: bool = False) -> int:
    """Rebuild the batch's gate from its coupon rows at a new generation; the generation to take with.

    ``seen``: the generation under which the gate was found wrong (None: rebuild it whatever it is). A
    rebuild another process made meanwhile is not repeated: after a collision (``collided``: the gate
    handed out a number the rows hold) if the gate is no longer of ``seen``; after a REBUILD answer if
    the gate now agrees with the batch row. ``in_session``: inside the caller's transaction (an
    ``issue``: its own uncommitted coupons count as in use, and SQLite has one writer); else in a
    transaction of its own, committed before the gate is written. Waits for another process's rebuild
    (then 503 ``coupon_gate_rebuilding`` if it takes too long).
    """
    client = redis_client()
    token = gate.lock(client, batch_id)
    if token is None:
        if not gate.wait_unlocked(client, batch_id, REBUILD_WAIT_S):
            raise _rebuilding()
        return gate.generation(client, batch_id) or 0
    try:
        current = gate.generation(client, batch_id)
        if seen is not None and collided and current is not None and current != seen:
            return current
        agrees = current if seen is not None and not collided else None  # no rebuild if the batch row says this one
        with _transaction(in_session) as connection:
            batch = queries.next_generation(connection, batch_id, above=current or 0, unless=agrees)
            if batch is None:
                return current
            state = _state(connection, batch_id, batch, now)
        if gate.build(client, batch_id, state, lock_token=token):
            first = current is None and batch.gate_generation == 1  # a new batch's first issue: nothing went wrong
            log.log(logging.INFO if first else logging.WARNING, "coupon gate of batch %s rebuilt from the coupon rows "
                    "at generation %s (%s)", batch_id, batch.gate_generation, _why(seen, collided, current, first))
            if not first:
                GATE_REBUILDS.labels(reason=_reason(seen, collided, current)).inc()
        return batch.gate_generation
    finally:
        gate.unlock(client, batch_id, token)


def _reason(seen: int | None, collided: bool, current: int | None) -> str:
    """The metric's label: asked (a command), collided, missing, or stale (another generation)."""
    if seen is None:
        return "asked"
    return "collided" if collided else "missing" if current is None else "stale"


def _why(seen: int | None, collided: bool, current: int | None, first: bool) -> str:
    if seen is None:
        return "asked"
    if collided:
        return f"it handed out numbers the coupon rows hold, at generation {seen}"
    if current is None:
        return "first use" if first else "it was missing"
    return f"it was of generation {current}, not the batch's"


@contextmanager
def _transaction(in_session: bool) -> Iterator[Connection]:
    if in_session:
        with db.session.begin_nested():
            yield db.session.connection()
    else:
        with db.engine.begin() as connection:
            yield connection


@contextmanager
def _connection(in_session: bool) -> Iterator[Connection]:
    if in_session:
        yield db.session.connection()
    else:
        with db.engine.connect() as connection:
            yield connection


def _state(connection: Connection, batch_id: int, batch: Any, now: datetime) -> gate.State:
    """The gate as the coupon rows say it should be, at the batch's ``gate_generation``."""
    highest, free = queries.numbers_in_use(connection, Coupon.issue_number, Coupon.batch_id == batch_id,
                                           upto=batch.total)
    next_number, holes = _counter(highest, free, batch.total)
    state = gate.State(generation=batch.gate_generation, next_number=next_number, holes=holes,
                       held=queries.holders(connection, batch_id))
    if batch.daily_limit is None:
        return state
    day = gate.business_day(now)
    highest, free = queries.numbers_in_use(connection, Coupon.day_number, Coupon.batch_id == batch_id,
                                           Coupon.claim_day == day, upto=batch.daily_limit)
    day_next, day_holes = _counter(highest, free, batch.daily_limit)
    return replace(state, day=day, day_next=day_next, day_holes=day_holes)


def _counter(highest: int, free: list[int], bound: int) -> tuple[int, list[int]]:
    """(next, holes) of numbers 1..bound after a rebuild: the numbers just above the highest in use may
    be in flight, so the counter starts past them and they join the holes, which come last."""
    if highest == 0:
        return 1, []
    next_number = min(highest + 1 + IN_FLIGHT_ROOM, bound + 1)
    return next_number, free + list(range(highest + 1, next_number))
