"""Texts held for a person to look at: WeChat's ``review`` verdicts, and texts kept unchecked while WeChat was down."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db

MAX_TEXT = 500


class ReviewStatus(StrEnum):
    UNCHECKED = "unchecked"  # kept while WeChat was down; the recheck decides it
    REVIEW = "review"  # WeChat suggests a person looks at it: an admin clears or rejects it
    PASSED = "passed"  # the recheck found nothing
    REMOVED = "removed"  # the recheck found it risky: taken back automatically
    CLEARED = "cleared"  # an admin let it stand
    REJECTED = "rejected"  # an admin took it back


OPEN_STATUSES = (ReviewStatus.UNCHECKED, ReviewStatus.REVIEW)


class ContentSubject(StrEnum):
    """Where a text is shown; ``target_id`` names the row (the member, the share)."""

    NICKNAME = "nickname"
    SHARE_TITLE = "share_title"


class ContentReview(db.Model):
    __tablename__ = "content_reviews"
    __table_args__ = (
        Index("ix_content_reviews_status_id", "status", "id"),
        CheckConstraint("status IN ('unchecked', 'review', 'passed', 'removed', 'cleared', 'rejected')",
                        name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    subject: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(String(MAX_TEXT))
    # What the field held before: a rejected nickname goes back to it (a share title is blanked).
    previous_text: Mapped[str | None] = mapped_column(String(MAX_TEXT))
    scene: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    label: Mapped[int | None] = mapped_column(Integer)
    trace_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)  # the admin's staff id
