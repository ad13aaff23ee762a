"""The shipping information of an order as WeChat must be told it (发货信息管理), and how far that got.

One row per order that went through WeChat Pay and left (shipped, or handed over at the counter):
``pending`` until WeChat accepts it (with WeChat's last refusal while it is retried), ``uploaded``,
or ``failed`` with WeChat's code and message when trying again cannot help.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db
from shop.orders.models import Order


class LogisticsType(IntEnum):
    """WeChat's logistics_type (3, virtual goods, is not something Ripple sells)."""

    EXPRESS = 1
    SAME_CITY = 2
    SELF_PICKUP = 4


class UploadStatus(StrEnum):
    PENDING = "pending"
    UPLOADED = "uploaded"
    FAILED = "failed"


class ShippingUpload(db.Model):
    __tablename__ = "shipping_uploads"
    __table_args__ = (
        CheckConstraint("logistics_type IN (1, 2, 4)", name="logistics_type_known"),
        CheckConstraint("status IN ('pending', 'uploaded', 'failed')", name="status_known"),
        # WeChat takes no express shipment without its carrier and tracking number.
        CheckConstraint("logistics_type <> 1 OR (carrier IS NOT NULL AND tracking_no IS NOT NULL)",
                        name="express_has_carrier_and_tracking_no"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    logistics_type: Mapped[int] = mapped_column(Integer)
    carrier: Mapped[str | None] = mapped_column(String(32))  # WeChat's delivery_id
    tracking_no: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=UploadStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # sends to WeChat so far
    error_code: Mapped[int | None] = mapped_column(Integer)  # WeChat's errcode of the last refusal (0: no answer)
    error_message: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(backref=backref("shipping_upload", uselist=False))
