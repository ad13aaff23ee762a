"""Referral: shares and opens, the tree of who brought whom, its history, rewards and commission.

- ``referral_settings``: one row (id 1) of policy that admins change: who earns, how binding works,
  how many levels are paid (1 or 2, never more), reward kind, rates and the refund window.
- ``referral_shares`` / ``referral_share_opens``: what a sharer shared (its scene is a random,
  compact id, never data) and who opened it (one row per member per share).
- ``referral_nodes``: one row per member in the tree, with the parent, the depth and counters kept
  for the member's subtree (descendants, their paid orders and GMV), so analytics of any subtree
  are one row read however large it is.
- ``referral_closure``: every (ancestor, descendant) pair with their distance (no self rows), so a
  member's ancestors are an index range of O(depth) rows and a subtree is an index range too.
- ``referral_bind_history``: every bind, re-bind and admin change, because customers dispute who
  referred them.
- ``referral_order_snapshots`` / ``referral_rewards``: the ancestor chain as it was when an order was
  paid, and the rewards per order line and level.
- ``referral_commission_accounts`` / ``referral_commission_entries``: commission in fen, an
  append-only ledger; a negative balance is a debt netted against future rewards.
- ``referral_withdrawals``: commission paid out to WeChat change through a merchant transfer.
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
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db

MAX_REWARD_LEVELS = 2  # WeChat forbids multi-level distribution; three levels is pyramid selling in law


class SharerPolicy(StrEnum):
    """Who earns rewards for the friends they bring."""

    EVERYONE = "everyone"
    APPROVED = "approved"  # members an admin approved as sharers
    FIRST_PAID_ORDER = "first_paid_order"  # members who have paid an order themselves


class BindMode(StrEnum):
    FIRST_TOUCH = "first_touch"  # the first sharer keeps the member forever (default)
    PROTECTED = "protected"  # first touch, but a newer share may re-bind after protection_days
    REGISTRATION_ONLY = "registration_only"  # only a share that brings a new member binds


class RewardKind(StrEnum):
    POINTS = "points"
    COMMISSION = "commission"  # fen


class RewardBasis(StrEnum):
    PERCENT = "percent"  # basis points of what the line cost the friend
    FIXED_PER_SKU = "fixed_per_sku"  # a fixed amount per unit of listed SKUs


class RewardStatus(StrEnum):
    FROZEN = "frozen"  # inside the refund window, or flagged for review
    AVAILABLE = "available"
    REVERSED = "reversed"  # wholly reversed by refunds
    WITHDRAWN = "withdrawn"  # commission paid out


class WithdrawalStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAYING = "paying"  # the merchant transfer was sent
    PAID = "paid"
    FAILED = "failed"  # the transfer failed; the amount is back on the balance


OPEN_WITHDRAWAL_STATES = (WithdrawalStatus.REQUESTED.value, WithdrawalStatus.APPROVED.value,
                          WithdrawalStatus.PAYING.value)


class ReferralSettings(db.Model):
    __tablename__ = "referral_settings"
    __table_args__ = (
        CheckConstraint("reward_levels BETWEEN 1 AND 2", name="reward_levels_at_most_two"),
        CheckConstraint("refund_window_days >= 0", name="refund_window_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    sharer_policy: Mapped[str] = mapped_column(String(24), default=SharerPolicy.EVERYONE.value)
    bind_mode: Mapped[str] = mapped_column(String(24), default=BindMode.FIRST_TOUCH.value)
    protection_days: Mapped[int | None] = mapped_column(Integer)
    reward_levels: Mapped[int] = mapped_column(Integer, default=1)
    reward_kind: Mapped[str] = mapped_column(String(16), default=RewardKind.POINTS.value)
    reward_basis: Mapped[str] = mapped_column(String(16), default=RewardBasis.PERCENT.value)
    # Basis points of the amount paid, per level: [level 1, level 2].
    percent_bp: Mapped[list[int]] = mapped_column(JSON, default=lambda: [500, 0])
    # Per SKU id (as a string key): [level 1, level 2] amounts per unit.
    fixed_per_sku: Mapped[dict[str, list[int]]] = mapped_column(JSON, default=dict)
    refund_window_days: Mapped[int] = mapped_column(Integer, default=7)
    min_withdrawal: Mapped[int] = mapped_column(Integer, default=100)  # fen
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))


class Share(db.Model):
    __tablename__ = "referral_shares"
    __table_args__ = (Index("ix_referral_shares_sharer_id_created_at", "sharer_id", "created_at"),
                      Index("ix_referral_shares_created_at", "created_at"))  # analytics by period

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    scene: Mapped[str] = mapped_column(String(32), unique=True)
    sharer_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    campaign: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(45))
    device_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShareOpen(db.Model):
    """A member opening a share, once per member and share, with what came of it."""

    __tablename__ = "referral_share_opens"
    __table_args__ = (UniqueConstraint("share_id", "member_id"),
                      Index("ix_referral_share_opens_opened_at", "opened_at"))

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("referral_shares.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    new_member: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(24))  # bound, rebound, already_bound, self, cycle, ...
    ip: Mapped[str | None] = mapped_column(String(45))
    device_id: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralNode(db.Model):
    """A member's place in the tree; the subtree counters cover descendants, not the member."""

    __tablename__ = "referral_nodes"
    __table_args__ = (Index("ix_referral_nodes_bound_at", "bound_at"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True, autoincrement=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)  # 0: a root
    share_id: Mapped[int | None] = mapped_column(ForeignKey("referral_shares.id"), index=True)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    descendants: Mapped[int] = mapped_column(BigInteger, default=0)
    subtree_orders: Mapped[int] = mapped_column(BigInteger, default=0)
    subtree_gmv: Mapped[int] = mapped_column(BigInteger, default=0)  # fen paid by descendants
    own_orders: Mapped[int] = mapped_column(Integer, default=0)
    own_gmv: Mapped[int] = mapped_column(BigInteger, default=0)
    first_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # approved as a sharer who earns
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # bind under review: rewards stay frozen
    flag_reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralClosure(db.Model):
    __tablename__ = "referral_closure"
    __table_args__ = (Index("ix_referral_closure_descendant_id_distance", "descendant_id", "distance"),
                      Index("ix_referral_closure_ancestor_id_distance", "ancestor_id", "distance"),
                      CheckConstraint("distance > 0", name="distance_positive"))

    ancestor_id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=False)
    descendant_id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=False)
    distance: Mapped[int] = mapped_column(Integer)


class BindHistory(db.Model):
    __tablename__ = "referral_bind_history"
    __table_args__ = (Index("ix_referral_bind_history_member_id_created_at", "member_id", "created_at"),
                      Index("ix_referral_bind_history_created_at", "created_at"),
                      Index("ix_referral_bind_history_share_id", "share_id"))  # binds per share

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    old_parent_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    new_parent_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    share_id: Mapped[int | None] = mapped_column(ForeignKey("referral_shares.id"))
    kind: Mapped[str] = mapped_column(String(16))  # bind, rebind, admin_rebind
    reason: Mapped[str | None] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class Withdrawal(db.Model):
    __tablename__ = "referral_withdrawals"
    __table_args__ = (
        # One open request per member at a time.
        Index("uq_referral_withdrawals_open_member_id", "member_id", unique=True,
              sqlite_where=text("status IN ('requested', 'approved', 'paying')"),
              postgresql_where=text("status IN ('requested', 'approved', 'paying')")),
        Index("ix_referral_withdrawals_status_created_at", "status", "created_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=WithdrawalStatus.REQUESTED.value)
    out_bill_no: Mapped[str] = mapped_column(String(32), unique=True)  # our id at WeChat Pay
    transfer_bill_no: Mapped[str | None] = mapped_column(String(64))  # WeChat Pay's id
    # What the mini-program passes to wx.requestMerchantTransfer for the member to confirm receipt.
    package_info: Mapped[str | None] = mapped_column(Text)
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    review_note: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
