"""The points ledger (append-only), the lots it credits, which lots each debit used, and balances.

- ``points_ledger``: one row per movement, unique on (source, source_id, reason), so a handler or
  job that runs twice writes once. ``delta`` is the change to the balance, ``owed_delta`` the change
  to what the member owes (a refund that takes back points already spent), ``points`` what the row
  is about (for a refund's take-back: the points reversed, whether taken, waived or owed).
- ``points_lots``: each credit (earn, return, positive adjustment) is a lot with what remains of it
  and when it expires. Debits take the lots that expire first.
- ``points_lot_uses``: which lots each debit took and how much, and how much of that came back
  (a cancelled or refunded order returns exactly what it spent, with those lots' expiry dates).
- ``points_accounts``: one row per member, the balance and the debt. Every change to a member's
  points first updates this row, so they are serialised per member; the balance moves only by a
  conditional UPDATE and a CHECK keeps it at zero or above.

Invariants: balance = sum(ledger.delta) = sum(lots.remaining); owed = sum(ledger.owed_delta);
owed > 0 only while the balance is 0 (every credit pays the debt first).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class PointsReason(StrEnum):
    EARN = "earn"  # an order was paid (source: order)
    SPEND = "spend"  # an order took points off its price (source: order)
    CANCEL_RETURN = "cancel_return"  # a cancelled order gave back what it spent (source: order)
    REFUND_RETURN = "refund_return"  # a refund gave back (part of) what the order spent (source: refund)
    REFUND_REVERSE = "refund_reverse"  # a refund took back (part of) what the order earned (source: refund)
    EXPIRE = "expire"  # a lot reached its expiry date (source: lot)
    ADJUST = "adjust"  # an admin's correction, with a reason (source: admin)
    DEBT_SETTLED = "debt_settled"  # a credit paid what a refund left owing (source: entry, the credit)
    REFERRAL_REWARD = "referral_reward"  # a friend's purchase rewarded the member (source: referral, the reward)
    REFERRAL_REVERSE = "referral_reverse"  # a refund of that purchase took it back (source: referral, reward:refund)


class PointsSource(StrEnum):
    ORDER = "order"
    REFUND = "refund"
    LOT = "lot"
    ADMIN = "admin"
    ENTRY = "entry"
    REFERRAL = "referral"


class PointsEntry(db.Model):
    __tablename__ = "points_ledger"
    __table_args__ = (
        UniqueConstraint("source", "source_id", "reason"),
        Index("ix_points_ledger_member_id_id", "member_id", "id"),
        CheckConstraint("points >= 0", name="points_not_negative"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reason: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # no FK: orders may live elsewhere
    points: Mapped[int] = mapped_column(Integer)
    delta: Mapped[int] = mapped_column(Integer)
    owed_delta: Mapped[int] = mapped_column(Integer, default=0)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(255))  # an adjustment's reason, shown to the member
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointsLot(db.Model):
    __tablename__ = "points_lots"
    __table_args__ = (
        Index("ix_points_lots_member_id_expires_at", "member_id", "expires_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("points_ledger.id"), index=True)  # the credit
    amount: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointsLotUse(db.Model):
    __tablename__ = "points_lot_uses"
    __table_args__ = (
        UniqueConstraint("entry_id", "lot_id"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("returned >= 0 AND returned <= points", name="returned_within_points"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("points_ledger.id"))  # the debit
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_lots.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer, default=0)  # given back since (cancel, refund)


class PointsAccount(db.Model):
    __tablename__ = "points_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("owed >= 0", name="owed_not_negative"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    owed: Mapped[int] = mapped_column(BigInteger, default=0)
    # Points ever earned from orders, less what refunds took back: never below the trailing 12 months'
    # figure tiers count, so a member whose whole history reaches no tier above the first needs no sum.
    earned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
