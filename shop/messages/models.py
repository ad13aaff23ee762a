"""What members accepted, and the messages Ripple queued and sent.

- ``message_subscriptions``: sends left per member and template. Each acceptance adds one (up to a
  cap); each queued message takes one with a conditional UPDATE, and a CHECK keeps the count from
  ever going below zero, whatever runs at once.
- ``message_acceptances``: each POST of what the shopper accepted, with its Idempotency-Key when
  given (a retry with the same key adds nothing again).
- ``message_sends``: one row per message Ripple meant to send, unique per purpose, member and subject
  (the order, refund, coupon, ... it is about), so a signal fired twice queues once; its status and
  WeChat's answer.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db

MAX_TEMPLATE_ID = 128
MAX_SENDS_LEFT = 50  # acceptances beyond this add nothing: WeChat's own count is what matters


class SendStatus(StrEnum):
    QUEUED = "queued"  # a send taken, waiting for the outbox
    SENT = "sent"
    REFUSED = "refused"  # 43101: the shopper has no subscription at WeChat (turned it off)
    FAILED = "failed"  # a final error (our bug: 47003 data, 41030 page, ...); logged as an error
    NO_SUBSCRIPTION = "no_subscription"  # nothing left to send with: nothing sent


class MessageSubscription(db.Model):
    __tablename__ = "message_subscriptions"
    __table_args__ = (CheckConstraint(f"sends_left BETWEEN 0 AND {MAX_SENDS_LEFT}", name="sends_left_in_range"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True, autoincrement=False)
    template_id: Mapped[str] = mapped_column(String(MAX_TEMPLATE_ID), primary_key=True)
    sends_left: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageAcceptance(db.Model):
    __tablename__ = "message_acceptances"
    __table_args__ = (UniqueConstraint("member_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    asked: Mapped[list[str]] = mapped_column(JSON, default=list)
    accepted: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageSend(db.Model):
    __tablename__ = "message_sends"
    __table_args__ = (
        UniqueConstraint("purpose", "member_id", "subject_id"),
        CheckConstraint("status IN ('queued', 'sent', 'refused', 'failed', 'no_subscription')", name="status_known"),
        Index("ix_message_sends_member_id_created_at", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    subject_id: Mapped[int] = mapped_column(BigInteger)  # the order, refund, coupon, withdrawal it is about
    template_id: Mapped[str] = mapped_column(String(MAX_TEMPLATE_ID))
    page: Mapped[str | None] = mapped_column(String(256))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    errcode: Mapped[int | None] = mapped_column(Integer)
    errmsg: Mapped[str | None] = mapped_column(String(256))
    msgid: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
