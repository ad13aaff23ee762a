"""When each rollup last built each business day: the ``as_of`` of the reports that read it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import UTCDateTime
from shop.extensions import db


class RollupDay(db.Model):
    __tablename__ = "crm_rollup_days"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # a business day (Asia/Shanghai)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the raw rows up to this time are in it
