"""A reconciliation run per bill day, and the differences it found between WeChat Pay's bill and us."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class RunStatus(StrEnum):
    WAITING = "waiting"  # WeChat Pay has not made the bill yet: asked again later
    FAILED = "failed"  # the last try failed (WeChat Pay unreachable, a corrupt file): tried again later
    DONE = "done"


class DifferenceKind(StrEnum):
    MISSING_HERE = "missing_here"  # in WeChat Pay's bill, not (as such) in Ripple
    MISSING_AT_WECHAT = "missing_at_wechat"  # paid or refunded in Ripple that day, not in the bill
    AMOUNT_DIFFERS = "amount_differs"
    STATE_DIFFERS = "state_differs"


class Resolution(StrEnum):
    RESOLVED = "resolved"  # the rule was clear and was applied (a lost notify, an unconfirmed refund)
    FLAGGED = "flagged"  # for a person to look at


class BillRun(db.Model):
    __tablename__ = "bill_runs"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    bill_date: Mapped[date] = mapped_column(Date, unique=True)  # the Beijing-time day the bill covers
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.WAITING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    bill_found: Mapped[bool] = mapped_column(default=False)  # False: WeChat Pay made none (no trade that day)
    trade_rows: Mapped[int] = mapped_column(Integer, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # the bill's 应结订单总金额
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # the bill's 退款总金额
    fund_rows: Mapped[int] = mapped_column(Integer, default=0)
    fund_income_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    fund_expense_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    differences: Mapped[list[BillDifference]] = relationship(back_populates="run", order_by="BillDifference.id",
                                                             cascade="all, delete-orphan")


class BillDifference(db.Model):
    __tablename__ = "bill_differences"
    __table_args__ = (
        # One per subject and kind in a day's report, however often the day is reconciled again.
        UniqueConstraint("run_id", "kind", "reference"),
        CheckConstraint("resolution IN ('resolved', 'flagged')", name="resolution_known"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("bill_runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    resolution: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(72))  # trade:<out_trade_no> or refund:<out_refund_no>
    out_trade_no: Mapped[str | None] = mapped_column(String(32))
    out_refund_no: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    ours_fen: Mapped[int | None] = mapped_column(BigInteger)
    wechat_fen: Mapped[int | None] = mapped_column(BigInteger)
    # What was seen and done: {"note": "...", "ours": "paid", "wechat": "SUCCESS", "outcome": "applied"}
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    run: Mapped[BillRun] = relationship(back_populates="differences")
