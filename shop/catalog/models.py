"""Categories (two levels), products, their SKUs, per-store availability and the stock ledger.

Money is integer fen. Stock never goes below zero: the services change it with conditional
UPDATEs, and CHECK constraints are the last guard.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import BigIntegerPK, UTCDateTime, utcnow
from shop.extensions import db


class ProductStatus(StrEnum):
    ON_SALE = "on_sale"
    OFF_SALE = "off_sale"


class StockReason(StrEnum):
    """Why stock moved: the first group is what admins choose, the second what the system writes."""

    RECEIVED = "received"  # goods arrived
    CORRECTION = "correction"  # a count found a difference
    DAMAGED = "damaged"
    LOST = "lost"
    OTHER = "other"
    INITIAL = "initial"  # stock given when the SKU was created
    STOCKTAKE = "stocktake"  # a store's stock set to a counted figure
    RESERVED = "reserved"  # an order took it
    RETURNED = "returned"  # an order gave it back (cancelled, refunded)


ADJUSTMENT_REASONS = (StockReason.RECEIVED, StockReason.CORRECTION, StockReason.DAMAGED,
                      StockReason.LOST, StockReason.OTHER)


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    # Two levels only: a parent has no parent (the service refuses a third level).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)  # ascending
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    children: Mapped[list[Category]] = relationship(
        order_by=lambda: (Category.sort_order, Category.id))


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (Index("ix_products_status_sort", "status", "sort_order"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(128))
    subtitle: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    image_urls: Mapped[list[str]] = mapped_column(JSON, default=list)  # the first is the cover
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.OFF_SALE.value)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)  # ascending
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    skus: Mapped[list[Sku]] = relationship(back_populates="product", order_by="Sku.id")

    @property
    def cover_image(self) -> str | None:
        return self.image_urls[0] if self.image_urls else None


class Sku(db.Model):
    __tablename__ = "skus"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("original_price IS NULL OR original_price >= price", name="original_price_not_below_price"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    spec: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # {"size": "L", "temperature": "iced"}
    price: Mapped[int] = mapped_column(Integer)  # fen
    original_price: Mapped[int | None] = mapped_column(Integer)  # fen, shown struck through
    stock: Mapped[int] = mapped_column(Integer, default=0)  # central stock
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(back_populates="skus")


class StoreSku(db.Model):
    """A SKU at a store: whether the store sells it for pickup, and its own stock if it counts one."""

    __tablename__ = "store_skus"
    __table_args__ = (CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),)

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"), primary_key=True, index=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    # None: the store does not count this SKU; its orders draw on the central stock.
    stock: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StockMovement(db.Model):
    """One row of the append-only stock ledger: a change to a SKU's central or store stock."""

    __tablename__ = "stock_ledger"
    __table_args__ = (
        Index("ix_stock_ledger_sku_id_id", "sku_id", "id"),
        # An order's reservation or return of a SKU is written once (NULL references never clash).
        UniqueConstraint("sku_id", "reason", "reference"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))  # None: central stock
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(255))
    reference: Mapped[str | None] = mapped_column(String(64))  # e.g. "order:123", from the caller
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    balance_after: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
