"""Saved segments: a name and a rule (see crm/segments/rules.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class Segment(db.Model):
    __tablename__ = "crm_segments"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
