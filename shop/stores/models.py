"""Stores (with opening hours and dated exceptions) and the staff accounts that work at them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db
from shop.stores.hours import DEFAULT_TIMEZONE

staff_stores = Table(
    "staff_stores",
    db.metadata,
    Column("staff_id", ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Store(db.Model):
    __tablename__ = "stores"
    # The nearby search answers from the database by bounding box while the Redis index is rebuilt.
    __table_args__ = (Index("ix_stores_lat_lng", "lat", "lng"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # the brand's own store code
    name: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(255))
    city: Mapped[str] = mapped_column(String(64), index=True)
    district: Mapped[str | None] = mapped_column(String(64))
    lat: Mapped[float] = mapped_column(Float)  # GCJ-02
    lng: Mapped[float] = mapped_column(Float)  # GCJ-02
    phone: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)  # pickup, dine_in, delivery
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open, closed, suspended
    # {"mon": [["09:00", "22:00"]], ..., "sun": [["10:00", "02:00"]]}: local times; a range may cross midnight.
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    exceptions: Mapped[list[StoreHoursException]] = relationship(
        back_populates="store", cascade="all, delete-orphan", order_by="StoreHoursException.day")
    staff: Mapped[list[StaffAccount]] = relationship(
        secondary=staff_stores, back_populates="stores", order_by="StaffAccount.id")


class StoreHoursException(db.Model):
    """A dated change to a store's hours: a holiday, a temporary closing, a late night."""

    __tablename__ = "store_hours_exceptions"
    __table_args__ = (UniqueConstraint("store_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)  # in the store's timezone
    # [["10:00", "16:00"]]; empty: closed all day.
    hours: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(String(128))

    store: Mapped[Store] = relationship(back_populates="exceptions")


class StoreSetVersion(db.Model):
    """One row: a counter bumped in the same transaction as every change to what the nearby index holds.

    The index in Redis carries the version it reflects (a marker key), so an index lost or restored
    from an older snapshot is recognised by comparing the two. No row yet reads as version 0.
    """

    __tablename__ = "store_set_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


STAFF_ROLES = ("staff", "marketing", "admin")


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

    stores: Mapped[list[Store]] = relationship(secondary=staff_stores, back_populates="staff", order_by="Store.id")

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
