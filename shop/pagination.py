"""Paginated lists: ``page`` and ``page_size`` in, ``{items, total, page, page_size}`` out."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from sqlalchemy import Select, func, select

from shop.extensions import db

MAX_PAGE_SIZE = 100


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    page_size = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=MAX_PAGE_SIZE),
                                  metadata={"description": f"At most {MAX_PAGE_SIZE}."})


_page_schemas: dict[type, type[ma.Schema]] = {}


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The response schema of a page of ``item_schema``."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = type(name, (ma.Schema,), {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "total": ma.fields.Integer(required=True),
            "page": ma.fields.Integer(required=True),
            "page_size": ma.fields.Integer(required=True),
        })
    return _page_schemas[item_schema]


def paginate(statement: Select, *, page: int, page_size: int, rows: bool = False) -> dict[str, Any]:
    """Run a select for one page, with the total count of the whole list.

    Items are the first selected entity, or whole rows (tuples) with ``rows=True``.
    """
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    window = statement.limit(page_size).offset((page - 1) * page_size)
    items = db.session.execute(window).all() if rows else db.session.scalars(window).all()
    return {"items": items, "total": total, "page": page, "page_size": page_size}
