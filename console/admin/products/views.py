"""Products and their stock per store (/console/products): the list, a product's SKUs with the stores that sell
each and their own stock, on and off sale; a product (its description, images and category) and its SKUs created
and edited, stock adjusted, and a SKU's whole stock ledger page by page. The rules are the catalog's
(``create_product``, ``update_product``, ``set_store_availability``, ``set_on_sale``, ``stock.adjust_stock``,
``stock.ledger``; the API's ``ProductCreateArgs``, ``ProductPatchArgs``, ``StoreAvailabilityArgs``,
``StockAdjustmentArgs``, ``StoreArgs``, ``PageArgs``); roles as the admin catalog API: marketing and admin.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from console.admin.products import forms
from console.batches.forms import yuan_input
from console.refusals import console_blueprint, refusal_page
from console.session import page_for
from shop.auth import Role, current_principal
from shop.catalog import service, stock
from shop.catalog.errors import CatalogError
from shop.catalog.models import ADJUSTMENT_REASONS, Product, ProductStatus, StockMovement
from shop.catalog.schemas import (
    AdminProductListArgs,
    ProductCreateArgs,
    ProductPatchArgs,
    StockAdjustmentArgs,
    StoreArgs,
    StoreAvailabilityArgs,
)
from shop.errors import AppError
from shop.extensions import db
from shop.pagination import PageArgs, paginate
from shop.staff.models import StaffAccount
from shop.stores.models import Store

bp = console_blueprint("console_products", __name__)
CATALOGUERS = (Role.MARKETING, Role.ADMIN)  # as the admin catalog API (shop.catalog.api.MARKETING)
PAGE_SIZE = 20
LEDGER_ROWS = 10  # the latest movements a SKU's card shows; its ledger page has them all
LEDGER_PAGE_SIZE = 50
STATUSES = [status.value for status in ProductStatus]


@bp.route("/products")
@page_for(*CATALOGUERS)
def products():
    """Every product, on sale or not; by state, part of the title or category (the admin API's filters)."""
    try:
        filters = AdminProductListArgs().load(_asked("status", "q", "category_id"))
        page = PageArgs().load({**_asked("page"), "page_size": PAGE_SIZE})
        listed = service.admin_product_list(**filters)
    except ValidationError as invalid:
        return refusal_page(" ".join(_flat(invalid.normalized_messages())), 422)
    except AppError as refusal:  # the list's only refusal: category_not_found
        return refusal_page(_("No such category."), refusal.status)
    found = paginate(listed, **page)
    return render_template("admin/products/list.html", rows=service.admin_summaries(found["items"]), found=found,
                           status=filters["status"], statuses=STATUSES, q=filters["q"] or "",
                           category_id=filters["category_id"], categories=service.admin_category_tree(),
                           words=_words())


@bp.route("/products/new", methods=["GET", "POST"])
@page_for(*CATALOGUERS)
def new_product():
    if request.method == "GET":
        return _form_page(None)
    if forms.image_action(request.form) is not None:
        return _arranged_form(None)
    rows = forms.new_rows(request.form, 0, forms.NEW_ROWS_WHEN_CREATING)
    body = {**forms.product_fields(request.form), "skus": [values for _row, values in rows],
            "status": ProductStatus.ON_SALE.value if request.form.get("on_sale") == "on" else ProductStatus.OFF_SALE.value}
    try:
        made = service.create_product(**ProductCreateArgs().load(body), actor_staff_id=current_principal().staff_id)
    except ValidationError as invalid:
        db.session.rollback()
        return _form_page(None, messages=invalid.normalized_messages(), rows=[row for row, _values in rows])
    except AppError as refusal:
        db.session.rollback()
        return _form_page(None, messages=refusal.errors or {"skus": [refusal.message]}, status=refusal.status)
    db.session.commit()
    flash(_("Product created."))
    return redirect(url_for(".product", product_id=made.id))


@bp.route("/products/<id:product_id>/edit", methods=["GET", "POST"])
@page_for(*CATALOGUERS)
def edit_product(product_id: int):
    found = _product(product_id)
    if found is None:
        return refusal_page(_("No such product."), 404)
    if request.method == "GET":
        return _form_page(found)
    if forms.image_action(request.form) is not None:
        return _arranged_form(found)
    sku_ids = [sku.id for sku in found.skus]
    rows = forms.existing_rows(request.form, sku_ids) + forms.new_rows(request.form, len(sku_ids),
                                                                        forms.NEW_ROWS_WHEN_EDITING)
    body = {**forms.product_fields(request.form), "skus": [values for _row, values in rows]}
    try:
        service.update_product(product_id, **ProductPatchArgs().load(body),
                               actor_staff_id=current_principal().staff_id)
    except ValidationError as invalid:
        db.session.rollback()
        return _form_page(_product(product_id), messages=invalid.normalized_messages(),
                          rows=[row for row, _values in rows])
    except AppError as refusal:
        db.session.rollback()
        return _form_page(_product(product_id), messages=refusal.errors or {"skus": [refusal.message]},
                          status=refusal.status)
    db.session.commit()
    flash(_("Product saved."))
    return redirect(url_for(".product", product_id=product_id))


@bp.route("/products/<id:product_id>/skus/<id:sku_id>/stock", methods=["POST"])
@page_for(*CATALOGUERS)
def adjust_stock(product_id: int, sku_id: int):
    found = _product(product_id)
    if found is None or sku_id not in {sku.id for sku in found.skus}:
        return refusal_page(_("No such product."), 404)
    try:
        args = StockAdjustmentArgs().load(forms.adjustment(request.form))
        stock.adjust_stock(sku_id, **args, actor_staff_id=current_principal().staff_id)
    except ValidationError as invalid:
        db.session.rollback()
        return _product_page(_product(product_id), adjust_errors={sku_id: invalid.normalized_messages()}, status=422)
    except AppError as refusal:
        db.session.rollback()
        return _product_page(_product(product_id), adjust_errors={sku_id: {"_schema": [refusal.message]}},
                             status=refusal.status)
    db.session.commit()
    flash(_("Stock adjusted."))
    return redirect(url_for(".product", product_id=product_id, _anchor=f"sku-{sku_id}"))


@bp.route("/products/<id:product_id>/skus/<id:sku_id>/ledger")
@page_for(*CATALOGUERS)
def sku_ledger(product_id: int, sku_id: int):
    """A SKU's whole stock ledger, newest first, a page at a time (one store's rows with ``store_id``)."""
    found = _product(product_id)
    sku = next((sku for sku in found.skus if sku.id == sku_id), None) if found is not None else None
    if sku is None:
        return refusal_page(_("No such product."), 404)
    try:
        filters = StoreArgs().load(_asked("store_id"))
        page = PageArgs().load({**_asked("page"), "page_size": LEDGER_PAGE_SIZE})
    except ValidationError as invalid:
        return refusal_page(" ".join(_flat(invalid.normalized_messages())), 422)
    shown = paginate(stock.ledger(sku_id, **filters), **page)
    availability = service.store_availability(sku_id)
    stores = _store_names({row.store_id for row in availability} | _ledger_stores(shown["items"]) |
                          ({filters["store_id"]} if filters["store_id"] else set()))
    return render_template("admin/products/ledger.html", product=found, sku=sku, found=shown, stores=stores,
                           availability=availability, store_id=filters["store_id"], words=_words(),
                           actors=_actor_names(shown["items"]))


@bp.route("/products/<id:product_id>")
@page_for(*CATALOGUERS)
def product(product_id: int):
    found = _product(product_id)
    return _product_page(found) if found is not None else refusal_page(_("No such product."), 404)


@bp.route("/products/<id:product_id>/<any(on_sale, off_sale):state>", methods=["POST"])
@page_for(*CATALOGUERS)
def change_sale(product_id: int, state: str):
    if _product(product_id) is None:
        return refusal_page(_("No such product."), 404)
    try:
        service.set_on_sale(product_id, on_sale=state == "on_sale")
    except AppError as refusal:
        db.session.rollback()
        words = (_("A product needs an active SKU to go on sale.") if refusal.code is CatalogError.NO_ACTIVE_SKU
                 else refusal.message)
        return _product_page(_product(product_id), refusal=words, status=refusal.status)
    db.session.commit()
    flash(_("On sale: shoppers see it now.") if state == "on_sale" else _("Off sale: shoppers no longer see it."))
    return redirect(url_for(".product", product_id=product_id))


@bp.route("/products/<id:product_id>/skus/<id:sku_id>/stores", methods=["POST"])
@page_for(*CATALOGUERS)
def sku_stores(product_id: int, sku_id: int):
    found = _product(product_id)
    if found is None or sku_id not in {sku.id for sku in found.skus}:
        return refusal_page(_("No such product."), 404)
    try:
        args = StoreAvailabilityArgs().load({"stores": _stores_sent(sku_id)})
        service.set_store_availability(sku_id, **args, actor_staff_id=current_principal().staff_id)
    except ValidationError as invalid:
        db.session.rollback()
        return _product_page(_product(product_id), errors={sku_id: _flat(invalid.normalized_messages())}, status=422)
    except AppError as refusal:
        db.session.rollback()
        return _product_page(_product(product_id), errors={sku_id: [refusal.message]}, status=refusal.status)
    db.session.commit()
    flash(_("Stores and stock saved."))
    return redirect(url_for(".product", product_id=product_id, _anchor=f"sku-{sku_id}"))


def _asked(*names: str) -> dict[str, str]:
    """The query's parameters of these names that are not blank, for the API's schema to read."""
    return {name: request.args[name] for name in names if (request.args.get(name) or "").strip()}


def _stores_sent(sku_id: int) -> list[dict[str, Any]]:
    """The stores of the form as the API's ``stores``: each listed row, and the one added by its code.

    An empty stock means not counted there (null): the store's orders draw on the central stock.
    """
    form = request.form
    listed = [int(raw) for raw in form.getlist("store") if raw.isascii() and raw.isdigit()]
    sent = {store_id: {"store_id": store_id, "available": form.get(f"sells-{store_id}") == "on",
                       "stock": _number(form.get(f"stock-{store_id}"))} for store_id in listed}
    added = (form.get("add_code") or "").strip()
    if added:
        store_id = db.session.scalar(select(Store.id).where(Store.code == added))
        if store_id is None:
            raise ValidationError({"add_code": [_("No store has the code %(code)s.", code=added)]})
        sent.setdefault(store_id, {"store_id": store_id, "available": True, "stock": None})
    return list(sent.values())


def _number(raw: str | None) -> int | str | None:
    """Digits as the number the API's strict field takes; empty as null; anything else on to its error."""
    raw = (raw or "").strip()
    return None if not raw else int(raw) if raw.isascii() and raw.isdigit() else raw


def _flat(messages: Any) -> list[str]:
    """The schema's nested messages as lines an admin reads."""
    if isinstance(messages, dict):
        return [line for value in messages.values() for line in _flat(value)]
    if isinstance(messages, list):
        return [line for value in messages for line in _flat(value)]
    return [str(messages)]


def _arranged_form(product: Product | None):
    """The form again, as typed, with its images moved, removed or added by the button pressed (nothing saved).

    The images are checked by the API's schema at once, so a wrong URL shows its message before the save.
    """
    images = forms.arranged(forms.typed_images(request.form), forms.image_action(request.form))
    try:
        ProductPatchArgs(only=("image_urls",)).load({"image_urls": images})
    except ValidationError as invalid:
        return _form_page(product, messages=invalid.normalized_messages(), images=images, arranging=True, status=200)
    return _form_page(product, images=images, arranging=True)


def _form_page(product: Product | None, *, messages: dict | None = None, rows: list[int] | None = None,
               status: int | None = None, images: list[str] | None = None, arranging: bool = False):
    """The product's form: as saved (or empty) on a GET, as typed with the API's messages in place after a refusal."""
    messages = messages or {}
    typed = request.form if request.method == "POST" else None
    if images is None:
        images = forms.typed_images(request.form) if typed is not None else list(product.image_urls or []
                                                                                 ) if product else []
    first_new = len(product.skus) if product is not None else 0
    count = forms.NEW_ROWS_WHEN_EDITING if product is not None else forms.NEW_ROWS_WHEN_CREATING
    return render_template("admin/products/form.html", product=product, typed=typed,
                           categories=service.admin_category_tree(), spec_text=forms.spec_text,
                           new_rows=range(first_new, first_new + count), general=forms.general_errors(messages),
                           row_errors=forms.row_errors(messages, rows or []), yuan_input=yuan_input,
                           images=images, image_errors=forms.image_errors(messages), image_rules=forms.image_rules(),
                           arranging=arranging), status or (422 if messages else 200)


def _product_page(product: Product, *, refusal: str | None = None, errors: dict | None = None, status: int = 200,
                  adjust_errors: dict | None = None):
    availability = {sku.id: service.store_availability(sku.id) for sku in product.skus}
    ledgers = {sku.id: db.session.scalars(stock.ledger(sku.id).limit(LEDGER_ROWS)).all() for sku in product.skus}
    stores = _store_names({row.store_id for rows in availability.values() for row in rows} | {
        store_id for movements in ledgers.values() for store_id in _ledger_stores(movements)})
    return render_template("admin/products/product.html", product=product, availability=availability,
                           stores=stores, refusal=refusal, errors=errors or {}, words=_words(), ledgers=ledgers,
                           adjust_errors=adjust_errors or {}, reasons=[reason.value for reason in ADJUSTMENT_REASONS],
                           category=service.get_category(product.category_id),
                           actors=_actor_names([movement for movements in ledgers.values() for movement in movements])
                           ), status


def _ledger_stores(movements: list[StockMovement]) -> set[int]:
    return {movement.store_id for movement in movements if movement.store_id}


def _store_names(store_ids: set[int]) -> dict[int, str]:
    if not store_ids:
        return {}
    return dict(db.session.execute(select(Store.id, Store.name).where(Store.id.in_(store_ids))).tuples().all())


def _actor_names(movements: list[StockMovement]) -> dict[int, str]:
    """Who moved the stock by hand, by account id (orders' movements have none)."""
    ids = {movement.actor_staff_id for movement in movements if movement.actor_staff_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(StaffAccount.id, StaffAccount.username)
                                   .where(StaffAccount.id.in_(ids))).tuples().all())


def _product(product_id: int) -> Product | None:
    try:
        return service.get_product(product_id)
    except AppError:
        return None


def _words() -> dict[str, str]:
    """Sale states and stock reasons in an admin's words."""
    return {"on_sale": _("on sale"), "off_sale": _("off sale"),
            "received": _("goods received"), "correction": _("count correction"), "damaged": _("damaged"),
            "lost": _("lost"), "other": _("other"), "initial": _("initial stock"), "stocktake": _("stocktake"),
            "reserved": _("taken by an order"), "returned": _("given back by an order")}
