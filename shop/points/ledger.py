"""The ledger engine: serialise a member's changes, credit lots, debit them oldest-expiring first.

Every change to a member's points starts with ``lock_account``: an UPSERT of the member's row in
``points_accounts``. On PostgreSQL that row lock makes every other change to the same member wait
until this transaction ends (and their statements then see what it committed); on SQLite the first
write takes the database's write lock. So the reads that follow (lots, earlier entries) are never
stale, and two spends of the same points cannot both succeed. The balance itself only moves by a
conditional UPDATE (``... WHERE balance + delta >= 0``) and a CHECK constraint is the last guard.

Nothing here commits; the caller's transaction does.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, insert, select, text, update

from shop.database import UTCDateTime, as_loaded, storable_id, utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.members.errors import MemberError
from shop.points.models import (
    PointsAccount,
    PointsEntry,
    PointsLot,
    PointsLotUse,
    PointsReason,
    PointsSource,
)

_accounts = PointsAccount.__table__


class LedgerInconsistent(RuntimeError):
    """The lots do not cover the balance: a bug, never a shopper's mistake (`flask points verify`)."""


# Statements of every order's payment, built once (building one costs about as much CPU as running it).
# The upsert is text: SQLAlchemy cannot cache an INSERT ... SELECT ... ON CONFLICT construct, so it
# would compile it on every call (300 us). PostgreSQL and SQLite spell it alike (SQLite needs the WHERE).
_LOCK = text(
    "INSERT INTO points_accounts (member_id, balance, owed, earned, updated_at) "
    "SELECT id, 0, 0, 0, :now FROM members WHERE id = :member "
    "ON CONFLICT (member_id) DO UPDATE SET updated_at = excluded.updated_at "
    "RETURNING balance, owed, earned").bindparams(bindparam("now", type_=UTCDateTime()), bindparam("member"))
_CHANGE = (update(_accounts).where(_accounts.c.member_id == bindparam("member"),
                                   _accounts.c.balance + bindparam("by") >= 0,
                                   _accounts.c.owed + bindparam("owed_by") >= 0)
           .values(balance=_accounts.c.balance + bindparam("by"), owed=_accounts.c.owed + bindparam("owed_by"),
                   earned=_accounts.c.earned + bindparam("earned_by"))
           .returning(_accounts.c.balance, _accounts.c.owed))
_entries = PointsEntry.__table__
_ENTRY_KEY = (_entries.c.source == bindparam("source"), _entries.c.source_id == bindparam("source_id"),
              _entries.c.reason == bindparam("reason"))  # an entry's identity (unique in the ledger)
_ENTRY = select(PointsEntry).where(*_ENTRY_KEY)
_ENTRY_ID = select(_entries.c.id).where(*_ENTRY_KEY)
_lots = PointsLot.__table__
_INSERT_ENTRY = insert(_entries).returning(_entries.c.id)
_AVAILABLE = select(func.coalesce(func.sum(_lots.c.remaining), 0)).where(
    _lots.c.member_id == bindparam("member"), _lots.c.remaining > 0, _lots.c.expires_at > bindparam("now"))


class Account(NamedTuple):
    """A member's points row as locked."""

    balance: int
    owed: int
    earned: int  # points ever earned from orders, net of refunds: at least the trailing 12 months'


def lock_account(member_id: int) -> Account:
    """Lock the member's points until the transaction ends (creating their row the first time); 404 for no member.

    One statement either way: INSERT the row from the member's, or on conflict UPDATE it (which
    locks it as a plain UPDATE does). No member, nothing to insert from: no row comes back.
    """
    if isinstance(member_id, bool) or not isinstance(member_id, int) or not storable_id(member_id):
        raise AppError(MemberError.MEMBER_NOT_FOUND, f"No member with id {member_id!r}.")
    row = db.session.execute(_LOCK, {"member": member_id, "now": utcnow()}).first()
    if row is None:
        raise AppError(MemberError.MEMBER_NOT_FOUND, f"No member with id {member_id}.")
    return Account(*row)


def change_balance(member_id: int, delta: int, owed_delta: int = 0, earned_delta: int = 0) -> tuple[int, int] | None:
    """Add to the balance and the debt if neither goes below zero: the new (balance, owed), or None.

    ``earned_delta`` keeps the account's ``earned`` (what earning added, less what refunds took back).
    """
    row = db.session.execute(_CHANGE, {"member": member_id, "by": delta, "owed_by": owed_delta,
                                       "earned_by": earned_delta}).first()
    loaded = db.session.identity_map.get(db.session.identity_key(PointsAccount, member_id))
    if loaded is not None:  # loaded objects must not show the figures from before the UPDATE
        db.session.expire(loaded)
    return None if row is None else (row.balance, row.owed)


def find_entry(source: PointsSource, source_id: object, reason: PointsReason) -> PointsEntry | None:
    return db.session.scalar(_ENTRY, _entry_key(source, source_id, reason))


def entry_exists(source: PointsSource, source_id: object, reason: PointsReason) -> bool:
    """Whether the ledger has this entry (a column query: cheaper than ``find_entry`` when it is absent)."""
    return db.session.scalar(_ENTRY_ID, _entry_key(source, source_id, reason)) is not None


def _entry_key(source: PointsSource, source_id: object, reason: PointsReason) -> dict[str, str]:
    return {"source": source.value, "source_id": str(source_id), "reason": reason.value}


def _add_entry(member_id: int, reason: PointsReason, source: PointsSource, source_id: object, *,
               points: int, delta: int, balance_after: int, owed_delta: int = 0, order_id: int | None = None,
               note: str | None = None, actor_staff_id: int | None = None,
               created_at: datetime | None = None) -> PointsEntry:
    row = {"member_id": member_id, "reason": reason.value, "source": source.value, "source_id": str(source_id),
           "order_id": order_id, "points": points, "delta": delta, "owed_delta": owed_delta,
           "balance_after": balance_after, "note": note, "actor_staff_id": actor_staff_id,
           "created_at": created_at or utcnow()}
    # A Core INSERT, and the ORM gets the row as if loaded: the unit of work would cost several times more.
    entry = as_loaded(PointsEntry(id=db.session.execute(_INSERT_ENTRY, row).scalar_one(), **row))
    db.session.add(entry)
    return entry


def credit(member_id: int, reason: PointsReason, source: PointsSource, source_id: object, *,
           lots: list[tuple[int, datetime]], order_id: int | None = None, note: str | None = None,
           actor_staff_id: int | None = None, created_at: datetime | None = None) -> PointsEntry:
    """Credit lots of (points, expires_at) as one entry; what the member owes is paid from them first."""
    by_expiry: dict[datetime, int] = defaultdict(int)
    for amount, expires_at in lots:
        by_expiry[expires_at] += amount
    points = sum(by_expiry.values())
    balance, owed = change_balance(member_id, points, earned_delta=points if reason is PointsReason.EARN else 0)
    entry = _add_entry(member_id, reason, source, source_id, points=points, delta=points, balance_after=balance,
                       order_id=order_id, note=note, actor_staff_id=actor_staff_id, created_at=created_at)
    db.session.execute(insert(_lots), [
        {"member_id": member_id, "entry_id": entry.id, "amount": amount, "remaining": amount, "expires_at": expires_at,
         "created_at": entry.created_at} for expires_at, amount in sorted(by_expiry.items())])
    if owed:
        _settle_debt(member_id, entry, min(owed, points))
    return entry


def _settle_debt(member_id: int, credit_entry: PointsEntry, points: int) -> None:
    """Pay what a refund left owing from a credit (while anything is owed, the balance was 0)."""
    changed = change_balance(member_id, -points, -points)
    if changed is None:
        raise LedgerInconsistent(f"member {member_id}: cannot settle {points} owed points")
    entry = _add_entry(member_id, PointsReason.DEBT_SETTLED, PointsSource.ENTRY, credit_entry.id, points=points,
                       delta=-points, owed_delta=-points, balance_after=changed[0],
                       order_id=credit_entry.order_id, created_at=credit_entry.created_at)
    _consume(member_id, entry.id, points, now=None)


def debit(member_id: int, reason: PointsReason, source: PointsSource, source_id: object, *, take: int,
          now: datetime, points: int | None = None, owed_delta: int = 0, order_id: int | None = None,
          note: str | None = None, actor_staff_id: int | None = None,
          first_lot_id: int | None = None) -> PointsEntry | None:
    """Take ``take`` points from the lots that expire first (``first_lot_id`` before them); None when
    the balance cannot cover it (nothing changes then). Call ``expire_member_due`` first.

    ``points`` is what the entry is about when it differs from what is taken (a refund's take-back
    that is partly owed or waived); ``owed_delta`` adds to what the member owes.
    """
    about = take if points is None else points
    changed = change_balance(member_id, -take, owed_delta,
                             earned_delta=-about if reason is PointsReason.REFUND_REVERSE else 0)
    if changed is None:
        return None
    entry = _add_entry(member_id, reason, source, source_id, points=about,
                       delta=-take, owed_delta=owed_delta, balance_after=changed[0], order_id=order_id,
                       note=note, actor_staff_id=actor_staff_id, created_at=now)
    _consume(member_id, entry.id, take, now=now, first_lot_id=first_lot_id)
    return entry


def _consume(member_id: int, entry_id: int, points: int, *, now: datetime | None,
             first_lot_id: int | None = None) -> None:
    """Take ``points`` from the lots that expire first, recording each lot used.

    ``now`` None takes lots whatever their date (settling a debt from a credit just made).
    """
    if points <= 0:
        return
    statement = select(PointsLot).where(PointsLot.member_id == member_id, PointsLot.remaining > 0)
    if now is not None:
        statement = statement.where(PointsLot.expires_at > now)
    statement = statement.order_by(PointsLot.expires_at, PointsLot.id).execution_options(populate_existing=True)
    lots = sorted(db.session.scalars(statement), key=lambda lot: lot.id != first_lot_id)  # stable
    left = points
    for lot in lots:
        used = min(lot.remaining, left)
        lot.remaining -= used
        db.session.add(PointsLotUse(entry_id=entry_id, lot_id=lot.id, points=used, returned=0))
        left -= used
        if not left:
            break
    if left:
        raise LedgerInconsistent(f"member {member_id}: the lots lack {left} of the balance")
    db.session.flush()


def expire_member_due(member_id: int, now: datetime) -> int:
    """Expire the member's lots whose date has come, oldest first; how many (the account is locked)."""
    due = db.session.scalars(
        select(PointsLot).where(PointsLot.member_id == member_id, PointsLot.remaining > 0,
                                PointsLot.expires_at <= now)
        .order_by(PointsLot.expires_at, PointsLot.id).execution_options(populate_existing=True)).all()
    for lot in due:
        if find_entry(PointsSource.LOT, lot.id, PointsReason.EXPIRE) is not None:
            raise LedgerInconsistent(f"lot {lot.id} expired before but has points left")
        changed = change_balance(member_id, -lot.remaining)
        if changed is None:
            raise LedgerInconsistent(f"member {member_id}: lot {lot.id} is more than the balance")
        entry = _add_entry(member_id, PointsReason.EXPIRE, PointsSource.LOT, lot.id, points=lot.remaining,
                           delta=-lot.remaining, balance_after=changed[0], created_at=now)
        db.session.add(PointsLotUse(entry_id=entry.id, lot_id=lot.id, points=lot.remaining, returned=0))
        lot.remaining = 0
    db.session.flush()
    return len(due)


def available(member_id: int, now: datetime) -> int:
    """Points the member can use now: what remains in lots not yet expired (read only)."""
    return db.session.scalar(_AVAILABLE, {"member": member_id, "now": now})


def owed(member_id: int) -> int:
    return db.session.scalar(select(_accounts.c.owed).where(_accounts.c.member_id == member_id)) or 0
