"""The outbox's rules: write work in the caller's transaction, claim it, and record how it ended.

Claims happen in the database, so any number of runners (RQ workers, sweeps, the in-process
dispatch) can race for the same entry and one wins: a conditional UPDATE moves a due entry to
``running`` with a lease, and only the runner whose claim it is may mark it done or failed (the
claim's attempt number is its fencing token). The sweep's pick of the next due entry also uses
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two sweeps take different entries instead of queueing
on the same one. A runner that dies leaves its lease to run out; the entry is then due again.

Time is passed in (``now``), never read here, so a sweep run "later" sees what is due then.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, func, or_, select, update

from shop.database import dialect_insert, utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.metrics import OUTBOX_FAILED, OUTBOX_OVERDUE
from shop.outbox.errors import OutboxError
from shop.outbox.models import MAX_DEDUPE_KEY, MAX_KIND, OutboxEntry, OutboxStatus
from shop.pagination import paginate

outbox = OutboxEntry.__table__
FIRST_RETRY_SECONDS = 5  # then 10, 20, 40, ... up to the cap
MAX_ERROR = 2000
CLAIM_TRIES = 10  # SQLite has no SKIP LOCKED: a sweep that loses a race picks again
OVERDUE_AFTER = timedelta(minutes=2)  # due this long and not run: something is not running the outbox


@dataclass(frozen=True)
class Claim:
    """An entry a runner holds: what to run, and the attempt this is (1 for the first run)."""

    id: int
    kind: str
    args: list[Any]
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """How a failed attempt was recorded: ``pending`` again at ``next_attempt_at``, or ``failed``."""

    status: OutboxStatus
    next_attempt_at: datetime | None


def write(kind: str, args: list[Any], *, key: str | None, now: datetime) -> int | None:
    """Write work to run after the current transaction commits; its id, or None when an entry of
    the same kind and key already exists (the same work, written once)."""
    if len(kind) > MAX_KIND:
        raise ValueError(f"a job's name is at most {MAX_KIND} characters: {kind!r}")
    if key is not None and len(key) > MAX_DEDUPE_KEY:
        raise ValueError(f"a dedupe key is at most {MAX_DEDUPE_KEY} characters")
    insert = dialect_insert(db.session)
    statement = insert(outbox).values(kind=kind, args=args, dedupe_key=key, status=OutboxStatus.PENDING.value,
                                      attempts=0, next_attempt_at=now, created_at=now, updated_at=now)
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[outbox.c.kind, outbox.c.dedupe_key])
    return db.session.scalar(statement.returning(outbox.c.id))


def rearm(kind: str, key: str, *, now: datetime) -> int | None:
    """The entry of this kind and key pending again and due now, with a fresh count of attempts; its id,
    or None when there is none or it is running (its runner is sending it)."""
    return db.session.scalar(
        update(outbox).where(outbox.c.kind == kind, outbox.c.dedupe_key == key,
                             outbox.c.status != OutboxStatus.RUNNING.value)
        .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now, lease_until=None,
                updated_at=now).returning(outbox.c.id))


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending and due, or running under a lease that ran out (its runner died or hung)."""
    return or_(and_(outbox.c.status == OutboxStatus.PENDING.value, outbox.c.next_attempt_at <= now),
               and_(outbox.c.status == OutboxStatus.RUNNING.value, outbox.c.lease_until < now))


def claim(entry_id: int, *, now: datetime, lease: timedelta) -> Claim | None:
    """Take a due entry for one run (until ``now + lease``); None if it is not due or someone has it."""
    row = db.session.execute(
        update(outbox).where(outbox.c.id == entry_id, _due(now))
        .values(status=OutboxStatus.RUNNING.value, attempts=outbox.c.attempts + 1, lease_until=now + lease,
                claimed_at=now, updated_at=now)
        .returning(outbox.c.id, outbox.c.kind, outbox.c.args, outbox.c.attempts)).first()
    return None if row is None else Claim(row.id, row.kind, list(row.args or []), row.attempts)


def claim_next(*, now: datetime, lease: timedelta) -> Claim | None:
    """Take the entry that has been due longest; None when nothing is due."""
    for _ in range(CLAIM_TRIES):
        entry_id = db.session.scalar(
            select(outbox.c.id).where(_due(now)).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(1)
            .with_for_update(skip_locked=True))
        if entry_id is None:
            return None
        taken = claim(entry_id, now=now, lease=lease)
        if taken is not None:
            return taken
    return None


def finish(taken: Claim, *, now: datetime) -> bool:
    """The run succeeded; False if the claim was lost meanwhile (its lease ran out and another took it)."""
    return bool(db.session.execute(
        update(outbox).where(outbox.c.id == taken.id, outbox.c.status == OutboxStatus.RUNNING.value,
                             outbox.c.attempts == taken.attempts)
        .values(status=OutboxStatus.DONE.value, done_at=now, lease_until=None, updated_at=now)).rowcount)


def record_failure(taken: Claim, error: str, *, permanent: bool, now: datetime, max_attempts: int,
                   backoff_cap: float) -> Outcome | None:
    """The run failed: due again after a backoff, or ``failed`` for a final answer or after
    ``max_attempts``; None if the claim was lost meanwhile."""
    if permanent or taken.attempts >= max_attempts:
        outcome = Outcome(OutboxStatus.FAILED, None)
    else:
        outcome = Outcome(OutboxStatus.PENDING, now + timedelta(seconds=backoff_seconds(taken.attempts, backoff_cap)))
    values: dict[str, Any] = {"status": outcome.status.value, "last_error": error[:MAX_ERROR], "lease_until": None,
                              "updated_at": now}
    if outcome.next_attempt_at is not None:
        values["next_attempt_at"] = outcome.next_attempt_at
    changed = db.session.execute(
        update(outbox).where(outbox.c.id == taken.id, outbox.c.status == OutboxStatus.RUNNING.value,
                             outbox.c.attempts == taken.attempts).values(**values)).rowcount
    return outcome if changed else None


def backoff_seconds(attempts: int, cap: float) -> float:
    """The wait after the ``attempts``-th failed run: doubling from 5 s, at most ``cap``, with some
    jitter so that work which failed together (WeChat Pay down) does not come back all at once."""
    delay = min(cap, FIRST_RETRY_SECONDS * 2 ** min(max(attempts - 1, 0), 20))
    return delay * random.uniform(0.8, 1.0)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True)
class Due:
    id: int
    attempts: int


def due(now: datetime, *, limit: int) -> list[Due]:
    """Entries to hand to a runner now, longest due first."""
    rows = db.session.execute(select(outbox.c.id, outbox.c.attempts).where(_due(now))
                              .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit))
    return [Due(row.id, row.attempts) for row in rows]


def backlog(now: datetime, *, overdue_after: timedelta = OVERDUE_AFTER) -> dict[str, Any]:
    """For the readiness probe: entries due for longer than ``overdue_after`` (or running under a
    lease that ran out), the oldest one's due time, and entries that gave up (``failed``)."""
    before = now - overdue_after
    overdue = or_(and_(outbox.c.status == OutboxStatus.PENDING.value, outbox.c.next_attempt_at < before),
                  and_(outbox.c.status == OutboxStatus.RUNNING.value, outbox.c.lease_until < now))
    row = db.session.execute(select(func.count(), func.min(outbox.c.next_attempt_at)).where(overdue)).one()
    failed = db.session.scalar(select(func.count()).where(outbox.c.status == OutboxStatus.FAILED.value))
    return {"overdue": row[0], "oldest_overdue_at": row[1], "failed": failed}


# --- admin ------------------------------------------------------------------------------------

def readiness() -> str | None:
    """For /readyz: ``backing_up`` when more work is overdue than ``OUTBOX_READY_MAX_OVERDUE`` allows
    (nothing hands it on: runners gone, the queue lost and no sweep running)."""
    counts = backlog(utcnow())
    overdue = counts["overdue"]
    OUTBOX_OVERDUE.set(overdue)  # the probe's query is the metric's: a scrape asks the database nothing
    OUTBOX_FAILED.set(counts["failed"])
    return "backing_up" if overdue > current_app.config["OUTBOX_READY_MAX_OVERDUE"] else None


def list_entries(*, status: str | None, kind: str | None, page: int, page_size: int) -> dict[str, Any]:
    """Entries, newest first, by status and kind."""
    statement = select(OutboxEntry).order_by(OutboxEntry.id.desc())
    if status:
        statement = statement.where(OutboxEntry.status == status)
    if kind:
        statement = statement.where(OutboxEntry.kind == kind)
    return paginate(statement, page=page, page_size=page_size)


def get_entry(entry_id: int) -> OutboxEntry:
    entry = db.session.get(OutboxEntry, entry_id)
    if entry is None:
        raise AppError(OutboxError.ENTRY_NOT_FOUND, f"No outbox entry {entry_id}.")
    return entry


def retry(entry_id: int, *, now: datetime) -> OutboxEntry:
    """A failed entry back to pending, due now, with a fresh count of attempts (its last error kept
    until it runs again); 409 unless it is failed."""
    entry = get_entry(entry_id)
    changed = db.session.execute(
        update(outbox).where(outbox.c.id == entry_id, outbox.c.status == OutboxStatus.FAILED.value)
        .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now, lease_until=None,
                updated_at=now)).rowcount
    db.session.refresh(entry)
    if not changed:
        raise AppError(OutboxError.ENTRY_NOT_FAILED, f"Outbox entry {entry_id} is {entry.status}; only failed "
                                                     "work is sent again.")
    return entry
