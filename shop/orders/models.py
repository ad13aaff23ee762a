"""Orders, their lines, payments, refunds and pickup verifications."""

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PREPARING = "preparing"  # a store that prepares orders is making it (shop.orders.making)
    READY_FOR_PICKUP = "ready_for_pickup"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Fulfilment(StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"
    IN_STORE = "in_store"  # a till sale: bought and paid at a store's till, recorded by a clerk (shop.till)


ONLINE_FULFILMENTS = (Fulfilment.PICKUP, Fulfilment.DELIVERY)  # what a shopper's checkout may ask for


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("member_id", "idempotency_key"),
        Index("ix_orders_member_created", "member_id", "created_at"),
        Index("ix_orders_status_expires", "status", "expires_at"),
        Index("ix_orders_store_status_paid", "store_id", "status", "paid_at"),  # a store's making queue
        # Spend and orders over a period, by member: covering what a segment reads, so only the index is read.
        Index("ix_orders_paid_at_member_id", "paid_at", "member_id",
              postgresql_include=["status", "amount_paid", "refunded_total"]),
        # A pickup code is unique among the store's open orders; it is cleared when the order closes.
        Index("uq_orders_store_pickup_code", "store_id", "pickup_code", unique=True,
              postgresql_where=text("pickup_code IS NOT NULL"), sqlite_where=text("pickup_code IS NOT NULL")),
        # Refunds never return more than was paid, whatever a request or a race did.
        CheckConstraint("refunded_total >= 0 AND refunded_total <= amount_paid", name="refunded_total_within_paid"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # WeChat Pay's out_trade_no
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), default=OrderStatus.PENDING_PAYMENT.value)
    fulfilment: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    items_total: Mapped[int] = mapped_column(BigInteger)
    discount_total: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_payable: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_total: Mapped[int] = mapped_column(BigInteger, default=0)
    # [{"source": "coupons", "amount": 500, "label": "...", "details": {...}}, ...]
    discounts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    pickup_code: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200))
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # unpaid past this: cancelled
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    preparing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id",
                                                  cascade="all, delete-orphan")
    refunds: Mapped[list[Refund]] = relationship(back_populates="order", order_by="Refund.id")

    @property
    def refund_in_progress(self) -> bool:
        """A refund WeChat Pay has not confirmed yet: no other refund, no hand-over, no shipping."""
        return any(refund.status == RefundStatus.PROCESSING for refund in self.refunds)


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity",
                        name="refunded_quantity_within_quantity"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount_payable",
                        name="refunded_amount_within_payable"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(128))
    spec: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    # The share of the order's discounts this line bears, and so what it costs the shopper.
    discount: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_payable: Mapped[int] = mapped_column(BigInteger)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")


class Payment(db.Model):
    """A payment WeChat Pay reported (notify or query), kept once per transaction."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    # applied: paid the order; refunded_late: arrived after the order was cancelled, refunded at once.
    outcome: Mapped[str] = mapped_column(String(24))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(16))  # notify, query (reconcile)


class RefundStatus(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# A refund of the order's own money still waiting for WeChat Pay. The automatic return of a payment
# that came after a cancel (requested_by 'system') touches none of the order's lines or totals and
# must never be refused, so it is not one of them.
_PROCESSING_ORDER_REFUND = "status = 'processing' AND requested_by <> 'system'"


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (
        # One at a time per order: a second would be priced from what the first has not yet taken off.
        Index("uq_refunds_order_id_processing", "order_id", unique=True,
              postgresql_where=text(_PROCESSING_ORDER_REFUND), sqlite_where=text(_PROCESSING_ORDER_REFUND)),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)  # out_refund_no
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(80))
    # [{"line_id": 1, "quantity": 1, "amount": 1200}]; empty for what is left of the whole order.
    lines: Mapped[list[dict[str, int]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=RefundStatus.PROCESSING.value)
    requested_by: Mapped[str] = mapped_column(String(32))  # member:<id>, staff:<id>, system
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(back_populates="refunds")


class PaymentCheck(db.Model):
    """A question to WeChat Pay about an order or a refund that failed (a sweep's): asked again after
    ``retry_after``, later each time it fails, so that one cannot hold up the others."""

    __tablename__ = "payment_checks"
    __table_args__ = (UniqueConstraint("subject", "subject_id"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    subject: Mapped[str] = mapped_column(String(8))  # order, refund
    subject_id: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)  # failures in a row
    retry_after: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PickupVerification(db.Model):
    """Every pickup lookup, confirmation and wrong code, with who and when."""

    __tablename__ = "pickup_verifications"
    __table_args__ = (Index("ix_pickup_verifications_store_id_code", "store_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    action: Mapped[str] = mapped_column(String(16))  # looked_up, confirmed, wrong_code, refused, not_ready
    code: Mapped[str | None] = mapped_column(String(8))  # the code a confirmation handed over (for retries)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
