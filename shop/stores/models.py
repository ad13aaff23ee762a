"""Stores, with opening hours and dated exceptions (the accounts of staff who work at them: shop.staff)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db
from shop.stores.hours import DEFAULT_TIMEZONE


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
    # False: a pickup order is ready when paid. True: paid -> preparing -> ready_for_pickup, by its clerks.
    prepares_orders: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    exceptions: Mapped[list[StoreHoursException]] = relationship(
        back_populates="store", cascade="all, delete-orphan", order_by="StoreHoursException.day")


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


class StoreImport(db.Model):
    """A stores CSV imported in the background: its lines checked with the progress kept, then all rows or none.

    ``status``: queued, checking, writing, then imported (the counts) or refused (the errors, nothing written).
    """

    __tablename__ = "store_imports"
    __table_args__ = (CheckConstraint("checked_lines <= total_lines", name="checked_within_total"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    text: Mapped[str] = mapped_column(Text, default="")  # the file until it is read; emptied after
    file_name: Mapped[str | None] = mapped_column(String(255))
    total_lines: Mapped[int] = mapped_column(Integer)
    checked_lines: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)  # [line, column or null, message], the first few
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
