"""What checkout asks of the catalog: the SKUs an order may contain, priced and scoped.

Stock is not checked here: ``shop.catalog.stock.reserve_stock`` takes it atomically when the
order is created.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from shop.catalog.errors import CatalogError
from shop.catalog.models import Category, Product, ProductStatus, Sku, StoreSku
from shop.catalog.schemas import MAX_ID
from shop.errors import AppError
from shop.extensions import db


@dataclass(frozen=True)
class CheckoutSku:
    """A SKU as checkout prices it: on sale now, and sold at the store when one was given."""

    sku_id: int
    product_id: int
    title: str
    spec: dict[str, str]
    price: int  # fen
    original_price: int | None
    cover_image: str | None
    category_id: int
    category_ids: tuple[int, ...]  # its category and that category's parent (coupon scopes)


def skus_for_checkout(sku_ids: Iterable[int], *, store_id: int | None = None) -> dict[int, CheckoutSku]:
    """The SKUs an order may contain, by id; 404 ``sku_not_found`` / 409 when one cannot be sold."""
    sku_ids = list(sku_ids)
    wanted = sorted({sku_id for sku_id in sku_ids if 0 < sku_id <= MAX_ID})
    rows = db.session.execute(
        select(Sku, Product, Category.parent_id).join(Product, Product.id == Sku.product_id)
        .join(Category, Category.id == Product.category_id).where(Sku.id.in_(wanted))).all()
    missing = sorted(set(sku_ids) - {sku.id for sku, _, _ in rows})
    if missing:
        raise AppError(CatalogError.SKU_NOT_FOUND, "Some items do not exist.",
                       errors={"sku_ids": [f"No SKU with id {sku_id}." for sku_id in missing]})
    unsellable = sorted(sku.id for sku, product, _ in rows if not sku.active or product.status != ProductStatus.ON_SALE)
    if unsellable:
        raise AppError(CatalogError.PRODUCT_NOT_ON_SALE, "Some items are no longer on sale.",
                       errors={"sku_ids": [f"SKU {sku_id} is no longer on sale." for sku_id in unsellable]})
    if store_id is not None:
        _require_sold_at(store_id, wanted)
    return {sku.id: CheckoutSku(
        sku_id=sku.id, product_id=product.id, title=product.title, spec=dict(sku.spec), price=sku.price,
        original_price=sku.original_price, cover_image=product.cover_image, category_id=product.category_id,
        category_ids=(product.category_id,) + ((parent_id,) if parent_id is not None else ()),
    ) for sku, product, parent_id in rows}


def _require_sold_at(store_id: int, sku_ids: list[int]) -> None:
    available = set(db.session.scalars(select(StoreSku.sku_id).where(
        StoreSku.store_id == store_id, StoreSku.sku_id.in_(sku_ids), StoreSku.available.is_(True))))
    not_here = sorted(set(sku_ids) - available)
    if not_here:
        raise AppError(CatalogError.SKU_NOT_SOLD_AT_STORE, f"Some items are not sold at store {store_id}.",
                       errors={"sku_ids": [f"SKU {sku_id} is not sold at store {store_id}." for sku_id in not_here]})

