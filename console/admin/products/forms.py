"""A product's form as the admin API's bodies: ``ProductCreateArgs`` and ``ProductPatchArgs`` (prices typed in yuan,
sent as fen; image URLs as a list the admin arranges), and a stock adjustment as ``StockAdjustmentArgs``. The schemas
and the catalog service judge them."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import validate
from werkzeug.datastructures import MultiDict

from console.batches.forms import typed_fen, typed_whole
from shop.catalog.schemas import ProductPatchArgs

NEW_ROWS_WHEN_CREATING = 3
NEW_ROWS_WHEN_EDITING = 1
SKU_FIELDS = ("spec", "price", "original_price", "stock")


def typed_spec(raw: str | None) -> dict[str, str] | str:
    """``size: L; temperature: hot`` (either width of colon and semicolon) as the spec mapping.

    A part without a colon stays as typed, so the schema names the field ('Not a valid mapping type.').
    """
    parts = [part.strip() for part in re.split(r"[;；\n]", (raw or "").replace("：", ":")) if part.strip()]
    spec: dict[str, str] = {}
    for part in parts:
        name, colon, value = part.partition(":")
        if not colon:
            return raw or ""
        spec[name.strip()] = value.strip()
    return spec


def spec_text(spec: dict[str, str] | None) -> str:
    """The spec as the form shows it (``size: L; temperature: hot``)."""
    return "; ".join(f"{name}: {value}" for name, value in (spec or {}).items())


def product_fields(form: MultiDict) -> dict[str, Any]:
    """Title, subtitle, description, images and category as the API reads them (an empty text is none)."""
    return {"title": form.get("title", ""), "subtitle": (form.get("subtitle") or "").strip() or None,
            "description": (form.get("description") or "").strip() or None, "image_urls": typed_images(form),
            "category_id": typed_whole(form.get("category_id")) or form.get("category_id", "")}


def typed_images(form: MultiDict) -> list[str]:
    """The image URLs in the order of the form's rows; a blank row adds none."""
    return [url.strip() for url in form.getlist("image") if url.strip()]


def image_action(form: MultiDict) -> tuple[str, int] | None:
    """The image button pressed (``up-2``, ``down-0``, ``remove-1``, ``add``) as (what, row); none: saving."""
    what, _dash, row = (form.get("image_action") or "").partition("-")
    if what == "add":
        return ("add", 0)
    return (what, int(row)) if what in ("up", "down", "remove") and row.isascii() and row.isdigit() else None


def arranged(urls: list[str], action: tuple[str, int]) -> list[str]:
    """The image list after a button: a row moved up or down, or removed (``add`` keeps what was typed)."""
    what, row = action
    urls = list(urls)
    if not 0 <= row < len(urls):
        return urls
    if what == "remove":
        del urls[row]
    elif what == "up" and row > 0:
        urls[row - 1], urls[row] = urls[row], urls[row - 1]
    elif what == "down" and row < len(urls) - 1:
        urls[row], urls[row + 1] = urls[row + 1], urls[row]
    return urls


def image_rules() -> dict[str, Any]:
    """How many images the API takes and the URL schemes it accepts, read from its schema to say them in the form."""
    field = ProductPatchArgs().fields["image_urls"]
    schemes = next(rule.schemes for rule in field.inner.validators if isinstance(rule, validate.URL))
    return {"count": field.max_length, "schemes": ", ".join(f"{scheme}://" for scheme in sorted(schemes))}


def image_errors(messages: dict) -> dict[int, list[str]]:
    """The schema's messages about single image URLs, by their row."""
    nested = messages.get("image_urls")
    if not isinstance(nested, dict):
        return {}
    return {index: [str(line) for line in lines] if isinstance(lines, list) else [str(lines)]
            for index, lines in nested.items() if isinstance(index, int)}


def typed_row(form: MultiDict, row: int) -> dict[str, Any]:
    """A SKU row of the form; empty fields are left out (the schema's defaults apply)."""
    typed = {"spec": typed_spec(form.get(f"sku-{row}-spec")), "price": typed_fen(form.get(f"sku-{row}-price")),
             "original_price": typed_fen(form.get(f"sku-{row}-original_price")),
             "stock": typed_whole(form.get(f"sku-{row}-stock"))}
    return {name: value for name, value in typed.items() if value not in (None, "", {})}


def new_rows(form: MultiDict, first: int, count: int) -> list[tuple[int, dict[str, Any]]]:
    """The new SKU rows something was typed in, with their row numbers (a blank row adds nothing)."""
    rows = [(row, typed_row(form, row)) for row in range(first, first + count)]
    return [(row, {**values, "active": form.get(f"sku-{row}-active") == "on"}) for row, values in rows if values]


def existing_rows(form: MultiDict, sku_ids: list[int]) -> list[tuple[int, dict[str, Any]]]:
    """The product's SKUs as the form shows them, each with its id (stock changes by adjustment, not here)."""
    rows = []
    for row, sku_id in enumerate(sku_ids):
        values = typed_row(form, row)
        values.pop("stock", None)
        values.setdefault("spec", {})
        values.setdefault("original_price", None)
        rows.append((row, {"id": sku_id, **values, "active": form.get(f"sku-{row}-active") == "on"}))
    return rows


def row_errors(messages: dict, rows: list[int]) -> dict[int, dict[str, list[str]]]:
    """The schema's ``skus`` messages by the form's row numbers (the sent list skips blank rows)."""
    nested = messages.get("skus")
    if not isinstance(nested, dict):
        return {}
    return {rows[index]: {field: list(lines) if isinstance(lines, list) else [str(lines)]
                          for field, lines in problems.items()}
            for index, problems in nested.items() if isinstance(index, int) and index < len(rows)
            and isinstance(problems, dict)}


def general_errors(messages: dict) -> dict[str, list[str]]:
    """Messages of the product's own fields, and those about the SKUs as a whole."""
    general = {field: lines for field, lines in messages.items() if field != "skus" and isinstance(lines, list)}
    if isinstance(messages.get("skus"), list):
        general["skus"] = [str(line) for line in messages["skus"]]
    return general


def adjustment(form: MultiDict) -> dict[str, Any]:
    """A stock adjustment as ``StockAdjustmentArgs`` reads it (no store: the central stock)."""
    body = {"reason": form.get("reason", ""), "note": (form.get("note") or "").strip() or None}
    delta = typed_whole(form.get("delta"))
    if delta is not None:
        body["delta"] = delta
    store = typed_whole(form.get("store_id"))
    if store is not None:
        body["store_id"] = store
    return body
