"""What checkout asks of the catalog: the SKUs an order may contain, priced and scoped.

Stock is not checked here: ``shop.catalog.stock.reserve_lines`` takes it atomically when the
order is created (``CheckoutSku.store_stock`` tells it whose stock each SKU is).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from shop.catalog.errors import CatalogError
from shop.catalog.models import Category, Product, ProductStatus, Sku, StoreSku
from shop.database import storable_id
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
    store_stock: bool = False  # the store asked about counts its own stock of it (orders there take from it)


_skus, _products, _categories, _store_skus = (Sku.__table__, Product.__table__, Category.__table__,
                                              StoreSku.__table__)
# Built once, as they run for every preview and order (building one costs about as much CPU as running it).
_SKUS = (select(_skus.c.id, _skus.c.product_id, _skus.c.spec, _skus.c.price, _skus.c.original_price, _skus.c.active,
                _products.c.title, _products.c.status, _products.c.image_urls, _products.c.category_id,
                _categories.c.parent_id)
         .join(_products, _products.c.id == _skus.c.product_id)
         .join(_categories, _categories.c.id == _products.c.category_id)
         .where(_skus.c.id.in_(bindparam("skus", expanding=True))))
_SKUS_AT_STORE = (_SKUS.add_columns(_store_skus.c.available, _store_skus.c.stock.is_not(None).label("store_stock"))
                  .outerjoin(_store_skus, (_store_skus.c.sku_id == _skus.c.id)
                             & (_store_skus.c.store_id == bindparam("store"))))


def skus_for_checkout(sku_ids: Iterable[int], *, store_id: int | None = None) -> dict[int, CheckoutSku]:
    """The SKUs an order may contain, by id; 404 ``sku_not_found`` / 409 when one cannot be sold.

    One query, columns only (no ORM objects): it runs for every preview and order.
    """
    sku_ids = list(sku_ids)
    wanted = sorted({sku_id for sku_id in sku_ids if storable_id(sku_id)})
    statement = _SKUS if store_id is None else _SKUS_AT_STORE
    rows = db.session.execute(statement, {"skus": wanted, "store": store_id}).all()
    missing = sorted(set(sku_ids) - {row.id for row in rows})
    if missing:
        raise AppError(CatalogError.SKU_NOT_FOUND, "Some items do not exist.",
                       errors={"sku_ids": [f"No SKU with id {sku_id}." for sku_id in missing]})
    unsellable = sorted(row.id for row in rows if not row.active or row.status != ProductStatus.ON_SALE)
    if unsellable:
        raise AppError(CatalogError.PRODUCT_NOT_ON_SALE, "Some items are no longer on sale.",
                       errors={"sku_ids": [f"SKU {sku_id} is no longer on sale." for sku_id in unsellable]})
    not_here = sorted(row.id for row in rows if store_id is not None and not row.available)
    if not_here:
        raise AppError(CatalogError.SKU_NOT_SOLD_AT_STORE, f"Some items are not sold at store {store_id}.",
                       errors={"sku_ids": [f"SKU {sku_id} is not sold at store {store_id}." for sku_id in not_here]})
    return {row.id: CheckoutSku(
        sku_id=row.id, product_id=row.product_id, title=row.title, spec=dict(row.spec), price=row.price,
        original_price=row.original_price, cover_image=row.image_urls[0] if row.image_urls else None, category_id=row.category_id,
        category_ids=(row.category_id,) + ((row.parent_id,) if row.parent_id is not None else ()),
        store_stock=store_id is not None and bool(row.store_stock),
    ) for row in rows}
