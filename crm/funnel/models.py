"""The funnel's rollup tables: who joined on a business day with what attribution, and per business day the
members who reached each step for the first time, counted by their join day and attribution."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime
from shop.extensions import db


class FunnelJoin(db.Model):
    """A member's join (their ``registered`` event) and what brought them: the share or store share opened
    at registration. Rebuilt with its join day; the steps of later days read their join day here."""

    __tablename__ = "crm_funnel_joins"
    __table_args__ = (Index("ix_crm_funnel_joins_join_day", "join_day"),)

    member_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    join_day: Mapped[date] = mapped_column(Date)  # business day (Asia/Shanghai)
    store_id: Mapped[int | None] = mapped_column(BigInteger)  # the store share's store, if one brought them
    campaign: Mapped[str | None] = mapped_column(String(64))
    share_id: Mapped[int | None] = mapped_column(BigInteger)  # the member's share that brought them


class FunnelDay(db.Model):
    """How many members of one join day and attribution reached ``step`` for the first time on ``step_day``.

    A step is dated at the later of its first occurrence and the join, so ``step_day >= join_day`` and a
    refresh of the recent days keeps every older join day right."""

    __tablename__ = "crm_funnel_days"
    __table_args__ = (Index("ix_crm_funnel_days_step_day", "step_day"),
                      Index("ix_crm_funnel_days_join_day_step", "join_day", "step"),
                      Index("ix_crm_funnel_days_campaign_join_day", "campaign", "join_day"),
                      Index("ix_crm_funnel_days_store_id_join_day", "store_id", "join_day"),
                      Index("ix_crm_funnel_days_share_id_join_day", "share_id", "join_day"))

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    step_day: Mapped[date] = mapped_column(Date)
    join_day: Mapped[date] = mapped_column(Date)
    step: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    campaign: Mapped[str | None] = mapped_column(String(64))
    share_id: Mapped[int | None] = mapped_column(BigInteger)
    members: Mapped[int] = mapped_column(Integer)
