"""``crm_member_deletions``: what a deletion did and when, without personal data (the member's row is
anonymised; its id is what orders and ledgers already point at)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class MemberDeletion(db.Model):
    __tablename__ = "crm_member_deletions"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    # Rows changed by kind ({"journey_events": 12, "share_opens": 1, ...}): counts only.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    identity_kept_until: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
