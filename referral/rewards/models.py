"""Rewards and commission.

- ``referral_order_snapshots`` / ``referral_rewards``: the ancestor chain as it was when an order was
  paid, and the rewards per order line and level.
- ``referral_commission_accounts`` / ``referral_commission_entries``: commission in fen, an
  append-only ledger; a negative balance is a debt netted against future rewards.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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


class RewardStatus(StrEnum):
    FROZEN = "frozen"  # inside the refund window, or flagged for review
    AVAILABLE = "available"
    REVERSED = "reversed"  # wholly reversed by refunds
    WITHDRAWN = "withdrawn"  # commission paid out


class OrderSnapshot(db.Model):
    """A paid order as referral saw it: the chain above the buyer then (empty for an unbound buyer), the
    amount, and how much of it refunds have returned. One per paid order (its key makes the reward
    handler idempotent)."""

    __tablename__ = "referral_order_snapshots"
    __table_args__ = (Index("ix_referral_order_snapshots_parent_id_paid_at", "parent_id", "paid_at"),
                      Index("ix_referral_order_snapshots_share_id", "share_id"),
                      Index("ix_referral_order_snapshots_paid_at", "paid_at"))  # analytics by period

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    share_id: Mapped[int | None] = mapped_column(ForeignKey("referral_shares.id"))
    chain: Mapped[list[int]] = mapped_column(JSON)  # ancestor ids, nearest first, as far as rewards go
    amount_paid: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    first_order: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Reward(db.Model):
    __tablename__ = "referral_rewards"
    __table_args__ = (UniqueConstraint("order_line_id", "level"),
                      Index("ix_referral_rewards_beneficiary_id_status", "beneficiary_id", "status"),
                      Index("ix_referral_rewards_status_available_at", "status", "available_at"),
                      Index("ix_referral_rewards_created_at", "created_at"),  # analytics by period
                      CheckConstraint("level BETWEEN 1 AND 2", name="level_at_most_two"),
                      CheckConstraint("reversed_amount <= amount", name="reversed_within_amount"))

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    level: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # points | commission
    amount: Mapped[int] = mapped_column(BigInteger)  # points, or fen
    reversed_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default=RewardStatus.FROZEN.value)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the refund window has passed
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # made available
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommissionAccount(db.Model):
    __tablename__ = "referral_commission_accounts"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True, autoincrement=False)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)  # fen available; negative is a debt
    frozen: Mapped[int] = mapped_column(BigInteger, default=0)  # fen in frozen rewards
    withdrawn: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommissionEntry(db.Model):
    """Append-only: every change of a member's commission balance, with its idempotency key."""

    __tablename__ = "referral_commission_entries"
    __table_args__ = (Index("ix_referral_commission_entries_member_id_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # signed fen
    reason: Mapped[str] = mapped_column(String(24))  # reward, reversal, withdrawal, withdrawal_failed
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("referral_rewards.id"))
    withdrawal_id: Mapped[int | None] = mapped_column(ForeignKey("referral_withdrawals.id"))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
