"""Staff accounts (store clerks, marketing, admins). Stores themselves arrive with the catalog issue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class StaffAccount(db.Model):
    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(64))
    # Store ids this account works at (staff role); a join table replaces this with the stores issue.
    store_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
