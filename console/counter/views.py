"""The clerk's counter (/console/counter): scan or type a code, see what it is, confirm once.

Served as plain form posts that htmx turns into partial updates (``HX-Request``: only the result is
rendered). Wrong codes count against the API's wrong-code limits of their kind (the same
``RATE_LIMIT_WRONG_*`` settings, per clerk and per store).
"""

from __future__ import annotations

from flask import g, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError
from wtforms.fields.choices import SelectChoice

from console.counter import reading
from console.counter.forms import ConfirmForm, SaleForm, ScanForm
from console.counter.refusals import clerk_words
from console.refusals import console_blueprint, too_many_attempts
from console.session import page_for
from shop import rate_limits
from shop.auth import Role, current_principal
from shop.catalog import browse
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db, limiter
from shop.stores.models import Store
from shop.till.schemas import SaleArgs

bp = console_blueprint("console_counter", __name__)


def _per_store() -> str:
    """The store the clerk works for in this request (as the services will pick it)."""
    named = request.form.get("store_id", type=int)
    return rate_limits.per_clerk_store(named)


def _wrong(kind: str):
    def counts(response) -> bool:
        return kind in g.get("counter_wrong_code", ())

    return counts


def _limited(view):
    """The API's wrong-code limits of each kind, per clerk and per store, counting only codes matching nothing."""
    for kind, prefix in ((reading.PICKUP, "PICKUP"), (reading.COUPON, "COUPON"), (reading.MEMBER, "MEMBER")):
        for key_func, suffix in ((rate_limits.per_staff, "CLERK"), (_per_store, "STORE")):
            view = limiter.limit(rate_limits.setting(f"RATE_LIMIT_WRONG_{prefix}_CODES_PER_{suffix}"),
                                 key_func=key_func, deduct_when=_wrong(kind), on_breach=too_many_attempts)(view)
    return view


@bp.route("/counter", methods=["GET"])
@page_for(Role.STAFF)
def counter():
    return render_template("counter.html", form=_scan_form(), stores=_stores())


@bp.route("/counter/scan", methods=["POST"])
@page_for(Role.STAFF)
@_limited
def scan():
    form = _scan_form()
    if not form.validate_on_submit():
        return _answer(refusal=_("Scan a code or type it, then press Enter."), status=400, form=form)
    try:
        found = reading.look_up(current_principal(), form.code.data, store_id=form.store_id.data or None,
                                now=utcnow())
    except AppError as refusal:
        return _refused(refusal, form)
    db.session.commit()  # the look-up's own log (a pickup's "looked_up")
    confirm = (SaleForm if found.kind == reading.MEMBER else ConfirmForm)(
        formdata=None, kind=found.kind, code=found.code, store_id=form.store_id.data or found.store_id)
    _offer_items(confirm)
    return _answer(found=found, confirm=confirm, form=_scan_form(blank=True))


@bp.route("/counter/confirm", methods=["POST"])
@page_for(Role.STAFF)
@_limited
def confirm():
    form = SaleForm() if request.form.get("kind") == reading.MEMBER else ConfirmForm()
    _offer_items(form)
    if not form.validate_on_submit() or form.kind.data not in (reading.PICKUP, reading.COUPON, reading.MEMBER):
        return _answer(refusal=_("Check the amount and the receipt number."), status=400, form=_scan_form(blank=True),
                       confirm=form, found=reading.Found(form.kind.data, form.code.data, form.store_id.data))
    try:
        done = reading.confirm(current_principal(), form.kind.data, form.code.data, store_id=form.store_id.data,
                               now=utcnow(), sale=_sale_of(form) if isinstance(form, SaleForm) else None)
    except AppError as refusal:
        return _refused(refusal, _scan_form(blank=True))
    except ValidationError as invalid:  # the API's own checks of a till sale (receipt number, amount bounds)
        return _answer(refusal=_("Check the amount and the receipt number.") + f" ({_first(invalid)})", status=422,
                       form=_scan_form(blank=True))
    db.session.commit()
    return _answer(done=done, form=_scan_form(blank=True), status=201 if done["done"] else 200)


def _sale_of(form: SaleForm) -> dict:
    """The sale's fields, checked by the API's own schema (one home for their rules): the amount, the items
    chosen (the catalog's price where the clerk typed none), a coupon's code."""
    prices = {sku["id"]: sku["price"] for sku in _store_skus(form)}
    items = [line for line in (entry.form.api_line(prices) for entry in form.lines) if line is not None]
    coupon = (form.coupon_code.data or "").strip()
    body = SaleArgs().load({"member_code": form.code.data, "receipt_no": form.receipt_no.data.strip(),
                            "amount": form.amount_fen(), **({"items": items} if items else {}),
                            **({"coupon_code": coupon} if coupon else {})})
    return {"receipt_no": body["receipt_no"], "amount": body["amount"], "coupon_code": body["coupon_code"],
            "items": None if body["items"] is None else tuple(
                (item["sku_id"], item["quantity"], item["unit_price"]) for item in body["items"])}


def _offer_items(form: ConfirmForm) -> None:
    if isinstance(form, SaleForm):
        form.offer(_store_skus(form))


def _store_skus(form: ConfirmForm) -> list[dict]:
    """The items the sale's store sells (the clerk's first store when none is named)."""
    ids = current_principal().store_ids
    store_id = form.store_id.data if form.store_id.data in ids else (ids[0] if ids else None)
    return browse.skus_at_store(store_id) if store_id is not None else []


def _first(invalid: ValidationError) -> str:
    messages = invalid.normalized_messages()
    field, problems = next(iter(messages.items()))
    return f"{field}: {problems[0] if isinstance(problems, list) else problems}"


def _refused(refusal: AppError, form: ScanForm):
    db.session.rollback()
    g.counter_wrong_code = reading.WRONG_CODE_LIMITS.get(refusal.code, ())
    return _answer(refusal=clerk_words(refusal), status=refusal.status, form=form)


def _answer(*, status: int = 200, form: ScanForm, **result):
    """The result alone for htmx, else the whole counter page with the result in it."""
    if request.headers.get("HX-Request"):
        return render_template("counter/_result.html", **result), status
    return render_template("counter.html", form=form, stores=_stores(), **result), status


def _scan_form(*, blank: bool = False) -> ScanForm:
    form = ScanForm(formdata=None) if blank else ScanForm()
    store_ids = current_principal().store_ids
    form.store_id.choices = [SelectChoice(store.id, store.name) for store in _stores()]
    if form.store_id.data is None and store_ids:
        form.store_id.data = request.form.get("store_id", type=int) or store_ids[0]
    return form


def _stores() -> list[Store]:
    """The clerk's stores, for the store switch of a clerk of several."""
    ids = current_principal().store_ids
    return list(db.session.scalars(db.select(Store).where(Store.id.in_(ids)).order_by(Store.id))) if ids else []
