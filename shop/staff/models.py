"""Staff, marketing and admin accounts, the stores a clerk works at, and the audit of what was done to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db
from shop.stores.models import (
    Store,  # at run time: whatever configures the mappers first must find Store
)

STAFF_ROLES = ("staff", "marketing", "admin")

staff_stores = Table(
    "staff_stores",
    db.metadata,
    Column("staff_id", ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class StaffAccount(db.Model):
    """A staff, marketing or admin account; its tokens open nothing once ``token_version`` moves on."""

    __tablename__ = "staff_accounts"
    __table_args__ = (
        CheckConstraint(f"role IN {STAFF_ROLES!r}", name="role_known"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Carried in every token as `tv`; raised by a disable, a role change and a new password, which
    # ends every token issued before at once (shop.auth reads it on each staff-side request).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A password an admin chose or generated: the account opens only the password change until then.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The lockout lives here, not in Redis, so a Redis flush lifts nothing: wrong passwords since
    # failed_since (the window's start), and the lock they led to.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    stores: Mapped[list[Store]] = relationship(secondary=staff_stores, order_by="Store.id")

    @property
    def store_ids(self) -> list[int]:
        """Stores a clerk works at."""
        return [store.id for store in self.stores]


class StaffAudit(db.Model):
    """What was done to (or by) a staff account: who, to whom, what, when, from where. Append-only."""

    __tablename__ = "staff_audit"
    __table_args__ = (Index("ix_staff_audit_staff_id_id", "staff_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    # Whom: null for a failed login with a username that does not exist (details name it).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    # Who: the admin, the account itself, or null (a login attempt, or the CLI: details name the OS user).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    via: Mapped[str] = mapped_column(String(8))  # api, cli
    address: Mapped[str | None] = mapped_column(String(64))  # the client address rate limits count by
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
