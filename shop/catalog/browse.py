"""What shoppers browse: the category tree, product lists and product pages.

A shopper sees a product when it is on sale and has an active SKU; anything else is 404
``product_not_found``. Category ``active`` governs navigation: the tree shows active categories
(a subcategory only under an active parent) and only those can filter a list; it does not hide
products, which marketing takes off sale for that. These functions return plain data in the
response shape, so the API can cache it as JSON.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from shop.catalog.errors import CatalogError
from shop.catalog.models import Category, Product, ProductStatus, Sku, StoreSku
from shop.errors import AppError
from shop.extensions import db
from shop.pagination import paginate
from shop.stores.errors import StoreError
from shop.stores.models import Store


def category_tree() -> list[dict[str, Any]]:
    """Active top-level categories with their active subcategories, in sort order."""
    categories = db.session.scalars(select(Category).where(Category.active.is_(True))
                                    .order_by(Category.sort_order, Category.id)).all()
    children: dict[int, list[dict[str, Any]]] = {}
    for category in categories:
        if category.parent_id is not None:
            children.setdefault(category.parent_id, []).append(_category(category))
    return [{**_category(c), "children": children.get(c.id, [])} for c in categories if c.parent_id is None]


def _category(category: Category) -> dict[str, Any]:
    return {"id": category.id, "name": category.name, "sort_order": category.sort_order}


def product_page(*, page: int, page_size: int, category_id: int | None = None, q: str | None = None,
                 store_id: int | None = None) -> dict[str, Any]:
    """A page of the products a shopper sees, in shop order, each with its lowest price."""
    statement = _visible_products(store_id).order_by(Product.sort_order, Product.id.desc())
    if category_id is not None:
        statement = statement.where(Product.category_id.in_(_browsable_category_ids(category_id)))
    if q:
        statement = statement.where(Product.title.icontains(q, autoescape=True))
    result = paginate(statement, page=page, page_size=page_size)
    prices = _min_prices([product.id for product in result["items"]], store_id)
    result["items"] = [{"id": p.id, "title": p.title, "subtitle": p.subtitle, "cover_image": p.cover_image,
                        "category_id": p.category_id, "min_price": prices[p.id]} for p in result["items"]]
    return result


def product_detail(product_id: int, *, store_id: int | None = None) -> dict[str, Any]:
    """A product page with its active SKUs; with ``store_id``, what that store sells and has in stock."""
    product = db.session.scalar(_visible_products(None).where(Product.id == product_id))
    if product is None:
        raise AppError(CatalogError.PRODUCT_NOT_FOUND, "This product is not on sale.")
    skus = [sku for sku in product.skus if sku.active]
    at_store = _store_rows(store_id, [sku.id for sku in skus]) if store_id is not None else {}
    detail = {"id": product.id, "title": product.title, "subtitle": product.subtitle,
              "description": product.description, "image_urls": product.image_urls,
              "cover_image": product.cover_image, "category_id": product.category_id,
              "min_price": min(sku.price for sku in skus), "spec_options": _spec_options(skus),
              "skus": [_sku(sku, at_store, store_id) for sku in skus]}
    if store_id is not None:
        detail["store_id"] = store_id
        detail["sold_at_store"] = any(sku["available_at_store"] for sku in detail["skus"])
    return detail


def _visible_products(store_id: int | None) -> Select:
    """On-sale products with an active SKU (available at the store, when one is given)."""
    sellable = select(Sku.id).where(Sku.product_id == Product.id, Sku.active.is_(True))
    if store_id is not None:
        _require_store(store_id)
        sellable = sellable.join(StoreSku, StoreSku.sku_id == Sku.id).where(
            StoreSku.store_id == store_id, StoreSku.available.is_(True))
    return select(Product).where(Product.status == ProductStatus.ON_SALE.value, sellable.exists())


def _browsable_category_ids(category_id: int) -> list[int]:
    """The category and its active subcategories; 404 unless shoppers can navigate to it."""
    category = db.session.get(Category, category_id)
    parent = db.session.get(Category, category.parent_id) if category and category.parent_id else None
    if category is None or not category.active or (parent is not None and not parent.active):
        raise AppError(CatalogError.CATEGORY_NOT_FOUND, f"No category with id {category_id}.")
    return [category.id] + [child.id for child in category.children if child.active]


def _require_store(store_id: int) -> None:
    if db.session.get(Store, store_id) is None:
        raise AppError(StoreError.STORE_NOT_FOUND, f"No store with id {store_id}.")


def _min_prices(product_ids: list[int], store_id: int | None) -> dict[int, int]:
    statement = select(Sku.product_id, func.min(Sku.price)).where(
        Sku.product_id.in_(product_ids), Sku.active.is_(True)).group_by(Sku.product_id)
    if store_id is not None:
        statement = statement.join(StoreSku, StoreSku.sku_id == Sku.id).where(
            StoreSku.store_id == store_id, StoreSku.available.is_(True))
    return {product_id: price for product_id, price in db.session.execute(statement)} if product_ids else {}


def _store_rows(store_id: int, sku_ids: list[int]) -> dict[int, StoreSku]:
    _require_store(store_id)
    return {row.sku_id: row for row in db.session.scalars(
        select(StoreSku).where(StoreSku.store_id == store_id, StoreSku.sku_id.in_(sku_ids)))}


def _sku(sku: Sku, at_store: dict[int, StoreSku], store_id: int | None) -> dict[str, Any]:
    shown = {"id": sku.id, "spec": sku.spec, "price": sku.price, "original_price": sku.original_price,
             "in_stock": sku.stock > 0}
    if store_id is not None:
        row = at_store.get(sku.id)
        shown["available_at_store"] = bool(row and row.available)
        if row is not None and row.stock is not None:  # the store counts its own stock
            shown["in_stock"] = row.stock > 0
    return shown


def _spec_options(skus: list[Sku]) -> list[dict[str, Any]]:
    """Each spec name with its values, in the order the SKUs first use them."""
    options: dict[str, list[str]] = {}
    for sku in skus:
        for name, value in sku.spec.items():
            values = options.setdefault(name, [])
            if value not in values:
                values.append(value)
    return [{"name": name, "values": values} for name, values in options.items()]


def skus_at_store(store_id: int, *, limit: int = 500) -> list[dict[str, Any]]:
    """The active SKUs of on-sale products a store sells, by product title: what its till sales may list."""
    rows = db.session.execute(
        select(Sku.id, Sku.spec, Sku.price, Product.title).join(Product, Product.id == Sku.product_id)
        .join(StoreSku, StoreSku.sku_id == Sku.id)
        .where(StoreSku.store_id == store_id, StoreSku.available.is_(True), Sku.active.is_(True),
               Product.status == ProductStatus.ON_SALE.value)
        .order_by(Product.title, Sku.id).limit(limit))
    return [{"id": sku_id, "spec": spec, "price": price, "title": title} for sku_id, spec, price, title in rows]
