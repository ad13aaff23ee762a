"""Shares and opens: ``referral_shares`` is what a sharer shared (its scene is a random, compact id,
never data), ``referral_share_opens`` who opened it (one row per member per share).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db

TITLE_MAX = 40  # the card shows about two lines of it


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
    # The sharer's words on the card (onShareAppMessage's title), checked with WeChat before kept.
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX))
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


class StoreShare(db.Model):
    """A share a clerk makes for their store (a poster at the counter): it binds no one under anyone,
    and a member who arrives through it gets the store as home store. Its scene starts ``s.``."""

    __tablename__ = "referral_store_shares"
    __table_args__ = (Index("ix_referral_store_shares_store_id_created_at", "store_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    scene: Mapped[str] = mapped_column(String(32), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    campaign: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoreShareOpen(db.Model):
    """A member opening a store share, once per member and share."""

    __tablename__ = "referral_store_share_opens"
    __table_args__ = (UniqueConstraint("share_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("referral_store_shares.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    new_member: Mapped[bool] = mapped_column(Boolean, default=False)
    home_store_set: Mapped[bool] = mapped_column(Boolean, default=False)  # this open made the store home
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
