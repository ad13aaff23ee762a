"""The referral policy: one row (``referral_settings``, id 1) that admins change: who earns, how
binding works, how many levels are paid (1 or 2, never more), the reward kind, rates and the refund window.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import UTCDateTime, utcnow
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
    # Whether a referred friend's purchase at a store's till (shop.till) rewards the sharer as an online
    # order does. Off by default: a clerk, not the share, made that sale.
    reward_till_sales: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
