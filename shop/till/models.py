"""A till sale: the order a clerk recorded at a store's till, keyed by the store's receipt number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class TillSale(db.Model):
    __tablename__ = "till_sales"
    __table_args__ = (
        # A till's retry, or two clerks sending one receipt, records one sale: the database refuses a second.
        UniqueConstraint("store_id", "receipt_no", name="uq_till_sales_store_receipt"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    receipt_no: Mapped[str] = mapped_column(String(40))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    member_id: Mapped[int] = mapped_column(BigInteger, index=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))  # what makes a retry the same sale
    coupon_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
