"""The client event ids already received, per member: duplicates are ignored across batches.

A table of its own because ``journey_events`` is partitioned on PostgreSQL, and a partitioned
table's unique index must contain the partition key (``occurred_at``), which a retried event may
send differently.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import UTCDateTime, utcnow
from shop.extensions import db


class ClientEventReceipt(db.Model):
    __tablename__ = "client_event_receipts"
    __table_args__ = (Index("ix_client_event_receipts_received_at", "received_at"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    client_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
