"""Members (shoppers), their official-account follow, and the journey events every domain records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class MarketingConsent(StrEnum):
    """Whether the member agreed to personalised marketing (segments used for targeting)."""

    UNKNOWN = "unknown"  # never asked (members from before consent was asked): the mini-program asks
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class Member(db.Model):
    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("marketing_consent IN ('unknown', 'granted', 'withdrawn')", name="marketing_consent_known"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Kept to decrypt data the mini-program sends us later; never shown in the API.
    session_key: Mapped[str | None] = mapped_column(String(64))
    nickname: Mapped[str | None] = mapped_column(String(64))
    avatar_url: Mapped[str | None] = mapped_column(String(512))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    phone_country_code: Mapped[str | None] = mapped_column(String(8))
    # The scene the member first arrived with (a share, a QR code): the referral issue binds on it.
    arrival_scene: Mapped[str | None] = mapped_column(String(128))
    # The member's home store: the first store share they arrived through, else their first store purchase.
    # Set once (shop.members.home_store), never moved.
    home_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    home_store_source: Mapped[str | None] = mapped_column(String(16))  # store_share, purchase
    home_store_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Consent to personalised marketing, with when and which version of the consent text (history:
    # member_consent_history).
    marketing_consent: Mapped[str] = mapped_column(String(16), default=MarketingConsent.UNKNOWN.value,
                                                   server_default=text("'unknown'"))
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marketing_consent_version: Mapped[str | None] = mapped_column(String(32))
    # Raised to end every token of the member at once (the account was deleted).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Set when the member deleted their account: the row stays, anonymised, for orders and ledgers.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    follower: Mapped[OfficialAccountFollower | None] = relationship(back_populates="member", uselist=False)

    @property
    def is_following(self) -> bool:
        return bool(self.follower and self.follower.subscribed)


class OfficialAccountFollower(db.Model):
    """A follower of the official account, known by its openid there; linked to a member by unionid."""

    __tablename__ = "oa_followers"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    oa_openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The scene of the parametric QR code of the latest follow (qrscene_ prefix removed).
    source_scene: Mapped[str | None] = mapped_column(String(64))
    first_subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member | None] = relationship(back_populates="follower")


class JourneyEvent(db.Model):
    """One step of a member's journey (login, follow, view, share, redeem...), for funnels.

    On PostgreSQL the table is partitioned by month of ``occurred_at`` and its primary key is
    (id, occurred_at), as a partitioned table's keys must hold the partition key; ``id`` alone stays
    unique through its sequence (the migration and crm/journey/partitions.py).
    """

    __tablename__ = "journey_events"
    __table_args__ = (
        Index("ix_journey_events_member_occurred", "member_id", "occurred_at"),
        Index("ix_journey_events_kind_occurred", "kind", "occurred_at"),
        Index("ix_journey_events_campaign_occurred", "campaign", "occurred_at"),
        Index("ix_journey_events_store_occurred", "store_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Attribution: where the step happened and what brought the member there.
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    share_id: Mapped[int | None] = mapped_column(BigInteger)
    campaign: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ConsentRecord(db.Model):
    """Every grant and withdrawal of a consent, with the version of the text the member saw."""

    __tablename__ = "member_consent_history"
    __table_args__ = (Index("ix_member_consent_history_member_id_recorded_at", "member_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    purpose: Mapped[str] = mapped_column(String(32))  # marketing
    granted: Mapped[bool] = mapped_column(Boolean)
    text_version: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeletedIdentity(db.Model):
    """A salted hash of a deleted member's openid, kept for a stated period and used only to keep a
    returning identity from a second welcome coupon or a new bind under a sharer (docs/privacy.md)."""

    __tablename__ = "member_deleted_identities"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    openid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
