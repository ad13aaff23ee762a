"""A campaign's figures per business day: the rollup the campaign report reads (crm/campaigns/rollup.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import db


class CampaignDay(db.Model):
    """One campaign's attributed figures of one business day (Asia/Shanghai); money in fen."""

    __tablename__ = "crm_campaign_days"
    __table_args__ = (Index("ix_crm_campaign_days_day", "day"),)  # a day's rows are replaced together

    campaign: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shares: Mapped[int] = mapped_column(Integer, default=0)
    opens: Mapped[int] = mapped_column(Integer, default=0)
    new_members: Mapped[int] = mapped_column(Integer, default=0)
    bound_friends: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    paid_orders: Mapped[int] = mapped_column(Integer, default=0)
    gmv: Mapped[int] = mapped_column(BigInteger, default=0)
    coupons_used: Mapped[int] = mapped_column(Integer, default=0)
    coupon_cost: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_cost: Mapped[int] = mapped_column(BigInteger, default=0)
    reward_points: Mapped[int] = mapped_column(BigInteger, default=0)
