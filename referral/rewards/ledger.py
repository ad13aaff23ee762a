"""The commission ledger: a member's fen, moved only by keyed, append-only entries.

Every change first locks the member's account row (an UPDATE), so a member's changes are serialised
and the balance an entry records is the one it made. The balance may go negative: a refund that
claws back more than the member has left is a debt, and every later credit pays it first simply by
adding to it (it is never capped, never forgiven silently). ``frozen`` tracks fen in frozen rewards
(shown to the member, not spendable); ``withdrawn`` what transfers paid out.

Entry keys make every posting idempotent: ``reward:<id>`` (a reward made available),
``reversal:<reward>:<refund>`` (a refund's clawback), ``withdrawal:<id>`` (the amount held by a
withdrawal request), ``withdrawal_return:<id>`` (given back when rejected or the transfer failed).
Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from referral.rewards.models import CommissionAccount, CommissionEntry
from shop.database import dialect_insert
from shop.extensions import db

accounts = CommissionAccount.__table__
entries = CommissionEntry.__table__


@dataclass(frozen=True)
class Balance:
    balance: int  # fen; negative is a debt
    frozen: int
    withdrawn: int

    @property
    def available(self) -> int:
        return max(self.balance, 0)

    @property
    def debt(self) -> int:
        return max(-self.balance, 0)


def add_frozen(amounts: dict[int, int], now: datetime) -> None:
    """Add fen of new frozen rewards to each member's account (created on first use): one upsert each."""
    insert = dialect_insert(db.session)
    for member_id, amount in amounts.items():
        statement = insert(accounts).values(member_id=member_id, balance=0, frozen=amount, withdrawn=0,
                                            updated_at=now)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=[accounts.c.member_id],
            set_={"frozen": accounts.c.frozen + statement.excluded.frozen, "updated_at": now}))


def lock(member_id: int, now: datetime) -> Balance:
    """Lock the member's account until the transaction ends (created if missing); its figures."""
    insert = dialect_insert(db.session)
    db.session.execute(insert(accounts).values(member_id=member_id, balance=0, frozen=0, withdrawn=0,
                                               updated_at=now).on_conflict_do_nothing())
    row = db.session.execute(update(accounts).where(accounts.c.member_id == member_id).values(updated_at=now)
                             .returning(accounts.c.balance, accounts.c.frozen, accounts.c.withdrawn)).one()
    return Balance(row.balance, row.frozen, row.withdrawn)


def balance_of(member_id: int) -> Balance:
    """The member's figures, read only (zeros for a member with no account)."""
    row = db.session.execute(select(accounts.c.balance, accounts.c.frozen, accounts.c.withdrawn)
                             .where(accounts.c.member_id == member_id)).first()
    return Balance(0, 0, 0) if row is None else Balance(row.balance, row.frozen, row.withdrawn)


def find_entry(key: str):
    return db.session.execute(select(entries).where(entries.c.key == key)).first()


def post(member_id: int, amount: int, reason: str, key: str, *, now: datetime, reward_id: int | None = None,
         withdrawal_id: int | None = None, frozen_delta: int = 0) -> int | None:
    """Add signed ``amount`` fen to the balance under ``key``: the balance after, or None if the key
    was already posted (nothing changes then). Lock the account first (``lock``)."""
    if find_entry(key) is not None:
        return None
    balance = db.session.execute(
        update(accounts).where(accounts.c.member_id == member_id)
        .values(balance=accounts.c.balance + amount, frozen=accounts.c.frozen + frozen_delta,
                updated_at=now)
        .returning(accounts.c.balance)).scalar_one()
    db.session.execute(entries.insert().values(member_id=member_id, amount=amount, reason=reason, key=key,
                                               reward_id=reward_id, withdrawal_id=withdrawal_id,
                                               balance_after=balance, created_at=now))
    _expire_loaded(member_id)
    return balance


def move_figures(member_id: int, *, now: datetime, frozen: int = 0, withdrawn: int = 0) -> None:
    """Move the frozen or withdrawn figure alone (a frozen reward shrank, a transfer was paid): no
    entry, the balance is untouched."""
    db.session.execute(update(accounts).where(accounts.c.member_id == member_id)
                       .values(frozen=accounts.c.frozen + frozen, withdrawn=accounts.c.withdrawn + withdrawn,
                               updated_at=now))
    _expire_loaded(member_id)


def _expire_loaded(member_id: int) -> None:
    loaded = db.session.identity_map.get(db.session.identity_key(CommissionAccount, member_id))
    if loaded is not None:  # a loaded object must not show the figures from before the UPDATE
        db.session.expire(loaded)
