"""Coupon batches (what marketing issues) and coupons (what a member holds).

- ``coupon_batches``: the offer (kind and amounts in fen), its validity (a fixed window or N days
  from claiming), the total, the per-member limit, the channel and the status.
- ``coupons``: one row per coupon held, unique on (batch_id, member_id, sequence): ``sequence`` is
  the member's n-th coupon of the batch, handed out by the Redis claim gate (coupons/gate.py), so
  the per-member limit also holds in the database. A claim's ``Idempotency-Key`` is unique per
  member. How many a batch has issued is counted from these rows (never a counter on the batch row,
  which would be one hot row under a flash claim).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class BatchKind(StrEnum):
    AMOUNT_OFF = "amount_off"  # amount_off fen off (from min_spend)
    PERCENT_OFF = "percent_off"  # percent off, at most max_off fen (from min_spend)
    THRESHOLD = "threshold"  # spend min_spend, save amount_off


class BatchStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class BatchChannel(StrEnum):
    PUBLIC = "public"  # the claim center


class CouponStatus(StrEnum):
    """Stored states; ``expired`` is also shown for an available coupon past its ``expires_at``."""

    AVAILABLE = "available"
    USED = "used"
    EXPIRED = "expired"


class CouponBatch(db.Model):
    __tablename__ = "coupon_batches"
    __table_args__ = (
        CheckConstraint("total > 0", name="total_positive"),
        CheckConstraint("per_member_limit > 0", name="per_member_limit_positive"),
        CheckConstraint("min_spend >= 0", name="min_spend_not_negative"),
        Index("ix_coupon_batches_status_channel", "status", "channel"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    amount_off: Mapped[int | None] = mapped_column(Integer)
    percent: Mapped[int | None] = mapped_column(Integer)
    max_off: Mapped[int | None] = mapped_column(Integer)
    min_spend: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    per_member_limit: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(16), default=BatchChannel.PUBLIC.value)
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.DRAFT.value)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Coupon(db.Model):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("batch_id", "member_id", "sequence"),
        UniqueConstraint("member_id", "claim_key"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        Index("ix_coupons_member_id_status_expires_at", "member_id", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("coupon_batches.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    claim_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=CouponStatus.AVAILABLE.value)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
