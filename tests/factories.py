"""Rows for tests, with plausible defaults; each call makes a new one."""

from __future__ import annotations

import itertools

from shop.stores.models import Store
from shop.stores.service import create_store

_numbers = itertools.count(1)
EVERY_DAY_9_TO_21 = {day: [["09:00", "21:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def make_store(**fields) -> Store:
    """A store near People's Square, Shanghai, open 09:00-21:00 every day (call inside an app context)."""
    n = next(_numbers)
    values = {"code": f"SH{n:04d}", "name": f"Ripple Store {n}", "address": f"{n} Nanjing Road",
              "city": "Shanghai", "district": "Huangpu", "lat": 31.2304, "lng": 121.4737,
              "services": ["pickup", "dine_in"], "status": "open", "weekly_hours": EVERY_DAY_9_TO_21,
              **fields}
    return create_store(values)


def make_category(name: str | None = None, **fields):
    """A category (top-level unless ``parent_id``), through the catalog service (inside an app context)."""
    from shop.catalog.service import create_category  # here: most tests need no catalog

    return create_category(name=name or f"Category {next(_numbers)}", **fields)


def make_product(category_id: int, skus: list[dict] | None = None, **fields):
    """An on-sale product with one 12-yuan SKU (10 in stock) unless told otherwise (inside an app context)."""
    from shop.catalog.service import create_product

    values = {"title": f"Product {next(_numbers)}", "status": "on_sale",
              "image_urls": ["https://img.example.cn/p.png"], **fields}
    return create_product(category_id=category_id, skus=skus or [{"spec": {}, "price": 1200, "stock": 10}],
                          actor_staff_id=None, **values)
