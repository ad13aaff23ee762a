"""The catalog's rules for marketing's writes: categories, products and SKUs, store availability.

Categories have two levels. A product belongs to one category and has SKUs; SKUs are never
deleted (orders and the ledger point at them), only deactivated. Stock changes only through
``shop.catalog.stock`` so that the ledger sees every change. Every write turns the Redis caches
over once it commits (``cache.catalog_changed``). Other capabilities use ``store_ids_selling``
(here), ``shop.catalog.checkout`` and ``shop.catalog.stock``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from shop.catalog import cache, stock
from shop.catalog.errors import CatalogError
from shop.catalog.models import Category, Product, ProductStatus, Sku, StoreSku
from shop.catalog.stock import get_sku
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.stores.models import Store

# --- categories -------------------------------------------------------------------------------


def get_category(category_id: int) -> Category:
    """A category, active or not; 404 ``category_not_found``."""
    category = db.session.get(Category, category_id)
    if category is None:
        raise AppError(CatalogError.CATEGORY_NOT_FOUND, f"No category with id {category_id}.")
    return category


def create_category(*, name: str, parent_id: int | None = None, sort_order: int = 0,
                    active: bool = True) -> Category:
    """A top-level category, or a subcategory of the top-level ``parent_id``."""
    category = Category(name=name, sort_order=sort_order, active=active)
    if parent_id is not None:
        category.parent_id = _parent_for(category, parent_id)
    db.session.add(category)
    db.session.flush()
    cache.catalog_changed()
    return category


def update_category(category_id: int, **changes: Any) -> Category:
    """Change the given fields (name, parent_id, sort_order, active); parent_id None: top level."""
    category = get_category(category_id)
    if "parent_id" in changes:
        parent_id = changes.pop("parent_id")
        category.parent_id = None if parent_id is None else _parent_for(category, parent_id)
    for field in ("name", "sort_order", "active"):
        if field in changes:
            setattr(category, field, changes[field])
    db.session.flush()
    cache.catalog_changed()
    return category


def _parent_for(category: Category, parent_id: int) -> int:
    """Check that ``parent_id`` can be the parent: it exists and the tree stays two levels deep."""
    parent = db.session.get(Category, parent_id)
    if parent is None:
        raise _bad_reference("parent_id", f"No category with id {parent_id}.")
    if parent.parent_id is not None or (category.id is not None and parent.id == category.id):
        raise AppError(CatalogError.CATEGORY_TOO_DEEP, "Categories have two levels: the parent must be top-level.",
                       errors={"parent_id": ["Not a top-level category."]})
    if category.id is not None and db.session.scalar(
            select(Category.id).where(Category.parent_id == category.id).limit(1)) is not None:
        raise AppError(CatalogError.CATEGORY_TOO_DEEP, "This category has subcategories, so it stays top-level.",
                       errors={"parent_id": ["This category has subcategories."]})
    return parent.id


def admin_category_tree() -> list[Category]:
    """Every top-level category with its subcategories, active or not."""
    return list(db.session.scalars(select(Category).where(Category.parent_id.is_(None))
                                   .options(selectinload(Category.children))
                                   .order_by(Category.sort_order, Category.id)))


# --- products and SKUs ------------------------------------------------------------------------

def get_product(product_id: int) -> Product:
    """Any product, on sale or not (for marketing)."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise AppError(CatalogError.PRODUCT_NOT_FOUND, f"No product with id {product_id}.")
    return product


def create_product(*, title: str, category_id: int, skus: list[dict[str, Any]], actor_staff_id: int | None,
                   subtitle: str | None = None, description: str | None = None,
                   image_urls: list[str] | None = None, status: str = ProductStatus.OFF_SALE.value,
                   sort_order: int = 0) -> Product:
    """A product with its SKUs; initial stock goes into the ledger."""
    _require_category(category_id)
    product = Product(title=title, subtitle=subtitle, description=description, image_urls=image_urls or [],
                      category_id=category_id, status=ProductStatus(status).value, sort_order=sort_order)
    db.session.add(product)
    for values in skus:
        _add_sku(product, values, actor_staff_id=actor_staff_id)
    _check_specs_unique(product)
    if product.status == ProductStatus.ON_SALE:
        _require_active_sku(product)
    db.session.flush()
    cache.catalog_changed(product_ids=[product.id])
    return product


def update_product(product_id: int, *, actor_staff_id: int | None, **changes: Any) -> Product:
    """Change the given fields; ``skus`` items with an id change that SKU, others are added."""
    product = get_product(product_id)
    if "category_id" in changes:
        _require_category(changes["category_id"])
    for field in ("title", "subtitle", "description", "image_urls", "category_id", "sort_order"):
        if field in changes:
            setattr(product, field, changes[field])
    for values in changes.get("skus", []):
        if "id" in values:
            _change_sku(product, values)
        else:
            _add_sku(product, values, actor_staff_id=actor_staff_id)
    _check_specs_unique(product)
    product.updated_at = utcnow()  # also when only its SKUs changed
    db.session.flush()
    cache.catalog_changed(product_ids=[product.id])
    return product


def set_on_sale(product_id: int, *, on_sale: bool) -> Product:
    """Put a product on sale (it needs an active SKU) or take it off sale."""
    product = get_product(product_id)
    if on_sale:
        _require_active_sku(product)
    product.status = (ProductStatus.ON_SALE if on_sale else ProductStatus.OFF_SALE).value
    db.session.flush()
    cache.catalog_changed(product_ids=[product.id])
    return product


def admin_product_list(*, status: str | None = None, category_id: int | None = None, q: str | None = None,
                       store_id: int | None = None) -> Select:
    """Products on sale or not, in shop order (a statement, for paginate); ``store_id``: sold there."""
    statement = select(Product).order_by(Product.sort_order, Product.id.desc())
    if status is not None:
        statement = statement.where(Product.status == status)
    if category_id is not None:
        statement = statement.where(Product.category_id.in_(_with_children(get_category(category_id))))
    if q:
        statement = statement.where(Product.title.icontains(q, autoescape=True))
    if store_id is not None:
        at_store = select(Sku.id).join(StoreSku, StoreSku.sku_id == Sku.id).where(
            Sku.product_id == Product.id, StoreSku.store_id == store_id, StoreSku.available.is_(True))
        statement = statement.where(at_store.exists())
    return statement


def admin_summaries(products: list[Product]) -> list[dict[str, Any]]:
    """List rows for marketing: SKU counts, lowest active price and total central stock."""
    ids = [product.id for product in products]
    figures = {row.product_id: row for row in db.session.execute(
        select(Sku.product_id, func.count().label("sku_count"),
               func.count().filter(Sku.active.is_(True)).label("active_sku_count"),
               func.min(Sku.price).filter(Sku.active.is_(True)).label("min_price"),
               func.sum(Sku.stock).label("stock"))
        .where(Sku.product_id.in_(ids)).group_by(Sku.product_id))} if ids else {}
    return [{"id": p.id, "title": p.title, "cover_image": p.cover_image, "category_id": p.category_id,
             "status": p.status, "sort_order": p.sort_order, "updated_at": p.updated_at,
             "sku_count": _figure(figures, p.id, "sku_count", 0),
             "active_sku_count": _figure(figures, p.id, "active_sku_count", 0),
             "min_price": _figure(figures, p.id, "min_price", None),
             "stock": _figure(figures, p.id, "stock", 0)} for p in products]


def _figure(figures: dict, product_id: int, name: str, default: Any) -> Any:
    row = figures.get(product_id)
    return default if row is None or getattr(row, name) is None else getattr(row, name)


def _with_children(category: Category) -> list[int]:
    return [category.id] + [child.id for child in category.children]


def _require_category(category_id: int) -> None:
    if db.session.get(Category, category_id) is None:
        raise _bad_reference("category_id", f"No category with id {category_id}.")


def _add_sku(product: Product, values: dict[str, Any], *, actor_staff_id: int | None) -> Sku:
    sku = Sku(spec=values.get("spec", {}), price=values["price"], original_price=values.get("original_price"),
              stock=values.get("stock", 0), active=values.get("active", True))
    product.skus.append(sku)
    if sku.stock:
        db.session.flush()  # the ledger row needs the SKU's id
        stock.record_initial(sku, actor_staff_id=actor_staff_id)
    return sku


def _change_sku(product: Product, values: dict[str, Any]) -> None:
    sku = next((s for s in product.skus if s.id == values["id"]), None)
    if sku is None:
        raise _bad_reference("skus", f"SKU {values['id']} is not a SKU of this product.")
    for field in ("spec", "price", "original_price", "active"):
        if field in values:
            setattr(sku, field, values[field])
    if sku.original_price is not None and sku.original_price < sku.price:
        raise AppError(CatalogError.PRICE_ABOVE_ORIGINAL,
                       f"SKU {sku.id}: the price cannot be above the original price.",
                       errors={"skus": [f"SKU {sku.id}: the price is above the original price."]})


def _check_specs_unique(product: Product) -> None:
    seen: set[tuple] = set()
    for sku in product.skus:
        key = tuple(sorted(sku.spec.items()))
        if key in seen:
            raise AppError(CatalogError.DUPLICATE_SKU_SPEC, f"Two SKUs have the same spec {sku.spec}.",
                           errors={"skus": [f"The spec {sku.spec} appears twice."]})
        seen.add(key)


def _require_active_sku(product: Product) -> None:
    if not any(sku.active for sku in product.skus):
        raise AppError(CatalogError.NO_ACTIVE_SKU, "A product goes on sale with at least one active SKU.")


def _bad_reference(field: str, message: str) -> AppError:
    return AppError(CatalogError.INVALID_REFERENCE, message, errors={field: [message]})


# --- availability at stores -------------------------------------------------------------------

def store_availability(sku_id: int) -> list[StoreSku]:
    """The stores that have a say about this SKU: whether they sell it, and their stock if counted."""
    get_sku(sku_id)
    return list(db.session.scalars(select(StoreSku).where(StoreSku.sku_id == sku_id).order_by(StoreSku.store_id)))


def set_store_availability(sku_id: int, *, stores: list[dict[str, Any]],
                           actor_staff_id: int | None) -> list[StoreSku]:
    """Whether each listed store sells the SKU, and its own stock (null: not counted; absent: kept)."""
    sku = get_sku(sku_id)
    store_ids = [item["store_id"] for item in stores]
    _require_stores(store_ids)
    rows = {row.store_id: row for row in db.session.scalars(
        select(StoreSku).where(StoreSku.sku_id == sku_id, StoreSku.store_id.in_(store_ids)).with_for_update())}
    for item in stores:
        row = rows.get(item["store_id"])
        if row is None:
            row = StoreSku(store_id=item["store_id"], sku_id=sku_id, stock=None)
            db.session.add(row)
        row.available = item["available"]
        if "stock" in item:
            _set_store_stock(row, item["stock"], actor_staff_id=actor_staff_id)
    db.session.flush()
    cache.catalog_changed(product_ids=[sku.product_id])
    return store_availability(sku_id)


def _set_store_stock(row: StoreSku, counted: int | None, *, actor_staff_id: int | None) -> None:
    if counted is None:
        row.stock = None  # no longer counted there: its orders draw on the central stock
    else:
        stock.stocktake(row, counted, actor_staff_id=actor_staff_id)


def _require_stores(store_ids: list[int]) -> None:
    found = set(db.session.scalars(select(Store.id).where(Store.id.in_(store_ids))))
    missing = sorted(set(store_ids) - found)
    if missing:
        raise _bad_reference("stores", f"No store with id {', '.join(map(str, missing))}.")


def store_ids_selling(product_id: int) -> set[int]:
    """Ids of the stores selling the product for pickup (from Redis, rebuilt from the database if missing).

    A product is sold at a store when it is on sale and one of its active SKUs is available there.
    """
    return cache.store_ids_selling(product_id)
