"""Tags on members: ``crm_tags`` names them (manual, or computed by a rule family), ``crm_member_tags``
holds who carries which (one row per member and tag), ``crm_tag_jobs`` the bulk changes run as jobs,
and ``crm_member_profiles`` the per-member figures the refresh computes (tier, regular store) that
segments read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class Tag(db.Model):
    __tablename__ = "crm_tags"
    __table_args__ = (CheckConstraint("kind IN ('manual', 'computed')", name="kind_known"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # manual | computed
    family: Mapped[str | None] = mapped_column(String(32), index=True)  # a computed tag's rule
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MemberTag(db.Model):
    __tablename__ = "crm_member_tags"
    __table_args__ = (Index("ix_crm_member_tags_tag_id_member_id", "tag_id", "member_id"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True, autoincrement=False)
    tag_id: Mapped[int] = mapped_column(ForeignKey("crm_tags.id", ondelete="CASCADE"), primary_key=True,
                                        autoincrement=False)
    source: Mapped[str] = mapped_column(String(16))  # manual | job | computed
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TagJob(db.Model):
    """Adding or removing a tag for a list of members (a request's list or a CSV), a chunk a transaction."""

    __tablename__ = "crm_tag_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("crm_tags.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(8))  # add | remove
    status: Mapped[str] = mapped_column(String(16))  # queued | running | finished | failed
    member_ids: Mapped[list] = mapped_column(JSON)
    requested: Mapped[int] = mapped_column(Integer)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[int] = mapped_column(Integer, default=0)  # ids of no member
    error: Mapped[str | None] = mapped_column(String(1000))
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MemberProfile(db.Model):
    """Figures of a member the tag refresh computes set-based, for segments and the member view."""

    __tablename__ = "crm_member_profiles"
    __table_args__ = (Index("ix_crm_member_profiles_tier", "tier"),
                      Index("ix_crm_member_profiles_regular_store_id", "regular_store_id"))

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True, autoincrement=False)
    tier: Mapped[str | None] = mapped_column(String(32))
    regular_store_id: Mapped[int | None] = mapped_column(BigInteger)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
