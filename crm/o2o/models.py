"""The o2o rollup: one row per business day and store with that day's counts (docs/crm.md, "Stores: o2o")."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import db
from shop.members.models import Member
from shop.orders.models import Order
from shop.till.models import TillSale


class StoreO2ODay(db.Model):
    """A store's figures of one business day (Asia/Shanghai); a day and store with nothing has no row."""

    __tablename__ = "crm_o2o_store_days"
    __table_args__ = (Index("ix_crm_o2o_store_days_store_id_day", "store_id", "day"),)  # one store's period

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    coupons_claimed: Mapped[int] = mapped_column(Integer, default=0)
    coupons_redeemed: Mapped[int] = mapped_column(Integer, default=0)
    pickup_placed: Mapped[int] = mapped_column(Integer, default=0)
    pickup_picked_up: Mapped[int] = mapped_column(Integer, default=0)
    till_sales: Mapped[int] = mapped_column(Integer, default=0)
    till_sales_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    new_members: Mapped[int] = mapped_column(Integer, default=0)
    new_members_via_share: Mapped[int] = mapped_column(Integer, default=0)


# The builder reads one business day of raw rows by these times; without them each day's rebuild would scan
# whole tables. Declared here, with the report that needs them, so that shop's models stay shop's. Orders by
# paid time are read through shop's ix_orders_paid_at_member_id (its first column).
RAW_DAY_INDEXES = (
    Index("ix_orders_completed_at", Order.__table__.c.completed_at),
    Index("ix_till_sales_created_at", TillSale.__table__.c.created_at),
    Index("ix_members_home_store_set_at", Member.__table__.c.home_store_set_at),
)
