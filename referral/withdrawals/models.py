"""``referral_withdrawals``: commission paid out to WeChat change through a merchant transfer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class WithdrawalStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAYING = "paying"  # the merchant transfer was sent
    PAID = "paid"
    FAILED = "failed"  # the transfer failed; the amount is back on the balance


OPEN_WITHDRAWAL_STATES = (WithdrawalStatus.REQUESTED.value, WithdrawalStatus.APPROVED.value,
                          WithdrawalStatus.PAYING.value)


class Withdrawal(db.Model):
    __tablename__ = "referral_withdrawals"
    __table_args__ = (
        # One open request per member at a time.
        Index("uq_referral_withdrawals_open_member_id", "member_id", unique=True,
              sqlite_where=text("status IN ('requested', 'approved', 'paying')"),
              postgresql_where=text("status IN ('requested', 'approved', 'paying')")),
        Index("ix_referral_withdrawals_status_created_at", "status", "created_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=WithdrawalStatus.REQUESTED.value)
    out_bill_no: Mapped[str] = mapped_column(String(32), unique=True)  # our id at WeChat Pay
    transfer_bill_no: Mapped[str | None] = mapped_column(String(64))  # WeChat Pay's id
    # What the mini-program passes to wx.requestMerchantTransfer for the member to confirm receipt.
    package_info: Mapped[str | None] = mapped_column(Text)
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    review_note: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
