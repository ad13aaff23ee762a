"""Outbox entries (work handed on after a commit) and the leases that keep a periodic job to one
scheduler at a time.

- ``outbox``: one row per piece of work: the job's dotted name (``kind``), its JSON arguments and,
  when given, a dedupe key unique per kind, so the same work is written once however often it is
  asked for. ``pending`` rows are run when ``next_attempt_at`` comes; a runner claims one by moving
  it to ``running`` with a lease (``lease_until``); it ends ``done``, back to ``pending`` with a
  later ``next_attempt_at`` after a failure, or ``failed`` (an admin sees it and may retry it).
- ``periodic_leases``: one row per periodic job; a scheduler runs the job only while it holds the
  lease, so two schedulers never run the same job at once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db

MAX_KIND = 200
MAX_DEDUPE_KEY = 200


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at (a new entry: due at once)
    RUNNING = "running"  # claimed by a runner until lease_until
    DONE = "done"
    FAILED = "failed"  # gave up: a final answer, or too many attempts; an admin may retry it


class OutboxEntry(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("kind", "dedupe_key"),
        CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # What the sweep and the claim look for: due pending rows, running rows whose lease ran out.
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(MAX_KIND))  # the job: "shop.orders.refunds:send_refund"
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    dedupe_key: Mapped[str | None] = mapped_column(String(MAX_DEDUPE_KEY))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # runs started (a claim counts one)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PeriodicLease(db.Model):
    __tablename__ = "periodic_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(100))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
