"""Coupon batches (what marketing issues) and coupons (what a member holds).

- ``coupon_batches``: the offer (its kind, coupons/kinds/, and that kind's terms: amounts in fen, counts), its validity (a fixed window or N days
  from claiming), the total, the per-member limit, the channel and the status.
- ``coupons``: one row per coupon held. The Redis claim gate (coupons/claiming/gate.py) hands out three numbers
  per coupon and the database refuses any of them given twice, so no state of Redis can break a
  total or a limit: ``issue_number`` (1..total, unique per batch), ``sequence`` (the member's n-th
  coupon of the batch, 1..per_member_limit, unique per batch and member) and, for a batch with a
  daily limit, ``day_number`` (1..daily_limit, unique per batch and ``claim_day``, the business day in
  Asia/Shanghai). The upper bounds live on the batch row, so the one INSERT every issuing path uses
  checks them (coupons/claiming/queries.py); a CHECK sees one row only. A claim's ``Idempotency-Key`` is unique
  per member. How many a batch has issued is counted from these rows (never a counter on the batch
  row, which would be one hot row under a flash claim).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
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


class BatchStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class BatchChannel(StrEnum):
    PUBLIC = "public"  # the claim center
    NEW_MEMBER = "new_member"  # issued on registration (member_registered)
    FOLLOWER = "follower"  # issued on following the official account (member_followed)
    TARGETED = "targeted"  # issued by marketing to chosen members (a background job)
    FRIEND_PURCHASE = "friend_purchase"  # to a sharer when a referred friend's first order is paid
    EXCHANGE_CODE = "exchange_code"  # printed codes a shopper exchanges into the wallet


class BatchUsage(StrEnum):
    """Where a batch's coupons can be spent."""

    ONLINE = "online"  # at checkout in the mini-program
    IN_STORE = "in_store"  # shown at the counter and redeemed by staff
    BOTH = "both"


class CouponStatus(StrEnum):
    """Stored states; ``expired`` is also shown for an available coupon past its ``expires_at``."""

    AVAILABLE = "available"
    LOCKED = "locked"  # held by an unpaid order (order_id)
    USED = "used"
    EXPIRED = "expired"


class CouponBatch(db.Model):
    __tablename__ = "coupon_batches"
    __table_args__ = (
        CheckConstraint("total > 0", name="total_positive"),
        CheckConstraint("per_member_limit > 0", name="per_member_limit_positive"),
        CheckConstraint("min_spend >= 0", name="min_spend_not_negative"),
        CheckConstraint("nth IS NULL OR nth >= 2", name="nth_at_least_two"),
        CheckConstraint("buy IS NULL OR buy > 0", name="buy_positive"),
        CheckConstraint('"get" IS NULL OR "get" > 0', name="get_positive"),
        CheckConstraint("unit_price IS NULL OR unit_price > 0", name="unit_price_positive"),
        Index("ix_coupon_batches_status_channel", "status", "channel"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # a name in coupons.kinds.KINDS
    # The kinds' terms (coupons/kinds/): each kind reads its own, the others are null.
    amount_off: Mapped[int | None] = mapped_column(Integer)
    percent: Mapped[int | None] = mapped_column(Integer)
    max_off: Mapped[int | None] = mapped_column(Integer)
    nth: Mapped[int | None] = mapped_column(Integer)
    buy: Mapped[int | None] = mapped_column(Integer)
    get: Mapped[int | None] = mapped_column(Integer)
    unit_price: Mapped[int | None] = mapped_column(Integer)
    min_spend: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    per_member_limit: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(16), default=BatchChannel.PUBLIC.value)
    # A campaign label: orders placed soon after a claim are attributed to it (shop.members.journey).
    campaign: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.DRAFT.value)
    usage: Mapped[str] = mapped_column(String(16), default=BatchUsage.BOTH.value)
    # Scope: None means all; a list of ids limits the batch to those products / categories (for
    # the goods) and to those stores (for in-store redemption and pickup orders).
    scope_product_ids: Mapped[list[int] | None] = mapped_column(JSON)
    scope_category_ids: Mapped[list[int] | None] = mapped_column(JSON)
    scope_store_ids: Mapped[list[int] | None] = mapped_column(JSON)
    daily_limit: Mapped[int | None] = mapped_column(Integer)  # claims per day (Asia/Shanghai), whole batch
    # Bumped at every rebuild of the claim gate, which carries it: a gate from an older Redis state is told apart.
    gate_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    budget_note: Mapped[str | None] = mapped_column(Text)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Coupon(db.Model):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("batch_id", "member_id", "sequence"),
        UniqueConstraint("batch_id", "issue_number"),
        UniqueConstraint("batch_id", "claim_day", "day_number"),
        UniqueConstraint("member_id", "claim_key"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        CheckConstraint("issue_number > 0", name="issue_number_positive"),
        CheckConstraint("day_number > 0", name="day_number_positive"),
        Index("ix_coupons_member_id_status_expires_at", "member_id", "status", "expires_at"),
        Index("ix_coupons_status_expires_at", "status", "expires_at"),  # coupons about to expire, to remind
        Index("ix_coupons_batch_id_used_at", "batch_id", "used_at"),  # a campaign's coupon cost by day (crm)
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("coupon_batches.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    issue_number: Mapped[int] = mapped_column(Integer)
    claim_day: Mapped[date] = mapped_column(Date)  # the business day (Asia/Shanghai) of claimed_at
    day_number: Mapped[int | None] = mapped_column(Integer)  # only for a batch with a daily limit
    claim_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=CouponStatus.AVAILABLE.value)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16), default=BatchChannel.PUBLIC.value)  # how it was issued
    # The order that locked (then used) it; one order per coupon.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_in: Mapped[str | None] = mapped_column(String(16))  # online | in_store
    discount_amount: Mapped[int | None] = mapped_column(Integer)  # fen it took off when used
    # Per-coupon secret of the rotating in-store code (HMAC); never shown.
    secret: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32))


class CouponRedemption(db.Model):
    """A coupon redeemed at a store's counter by a clerk; reverted within minutes if scanned by mistake."""

    __tablename__ = "coupon_redemptions"
    __table_args__ = (Index("ix_coupon_redemptions_store_id_redeemed_at", "store_id", "redeemed_at"),
                      # Redeemed once: at most one standing (not reverted) redemption per coupon.
                      Index("uq_coupon_redemptions_coupon_id_standing", "coupon_id", unique=True,
                            postgresql_where=text("reverted_at IS NULL"), sqlite_where=text("reverted_at IS NULL")))

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reverted_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))


class CouponExchangeCode(db.Model):
    """A printed code a shopper exchanges for one coupon of its batch, once."""

    __tablename__ = "coupon_exchange_codes"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("coupon_batches.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CouponIssueJob(db.Model):
    """Targeted issuance to a list or a segment of members, run as a background job."""

    __tablename__ = "coupon_issue_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("coupon_batches.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | finished | failed
    source: Mapped[dict] = mapped_column(JSON)  # where the member ids come from: {"member_ids": [...]}
    requested: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    skip_reasons: Mapped[dict] = mapped_column(JSON, default=dict)  # reason -> count
    skipped_members: Mapped[list] = mapped_column(JSON, default=list)  # first few: {member_id, reason}
    error: Mapped[str | None] = mapped_column(Text)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A holdout: this share of the known members is a control group that gets no coupon (coupons/claiming/holdout.py).
    holdout_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    holdout_seed: Mapped[str | None] = mapped_column(String(64))
    treated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    control: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class HoldoutGroup(StrEnum):
    TREATED = "treated"
    CONTROL = "control"


class CouponIssueAssignment(db.Model):
    """A member of a job with a holdout, assigned to the treated or the control group before any coupon is sent."""

    __tablename__ = "coupon_issue_assignments"
    __table_args__ = (
        CheckConstraint("\"group\" IN ('treated', 'control')", name="group_known"),
    )

    job_id: Mapped[str] = mapped_column(ForeignKey("coupon_issue_jobs.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True, autoincrement=False)
    group: Mapped[str] = mapped_column(String(8))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
