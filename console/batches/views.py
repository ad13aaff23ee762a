"""Marketing's coupon batches (/console/batches): the list, a batch's figures and charts, its state
changes, and drafts created and edited with the API's own rules and a preview of the coupon.

Every rule is the batch service's or the API schema's (``BatchArgs``): a refusal or a field error
shown here is theirs, in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from console.batches.forms import TERM_LABELS, BatchForm
from console.batches.panels import issuing_context
from console.refusals import console_blueprint, refusal_page
from console.session import page_for
from coupons import kinds
from coupons.batches import service, stats
from coupons.batches.schemas import BatchArgs
from coupons.errors import CouponError
from coupons.models import BatchStatus, CouponStatus
from shop.auth import Role, current_principal
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.stores.models import Store

bp = console_blueprint("console_batches", __name__)
MARKETERS = (Role.MARKETING, Role.ADMIN)  # as the admin batch API (coupons.batches.api.ADMIN_ROLES)
PAGE_SIZE = 20
STATUSES = tuple(status.value for status in BatchStatus)


@bp.route("/batches")
@page_for(*MARKETERS)
def batches():
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    page = max(request.args.get("page", 1, type=int), 1)
    listing = service.list_batches(status=status, page=page, page_size=PAGE_SIZE)
    ids = [batch["id"] for batch in listing["items"]]
    used = service.issued_counts(ids, status=CouponStatus.USED)
    rows = [{**batch, "used": used[batch["id"]], "description": _described(batch)} for batch in listing["items"]]
    return render_template("batches/list.html", rows=rows, status=status, statuses=STATUSES, listing=listing,
                           pages=max((listing["total"] + PAGE_SIZE - 1) // PAGE_SIZE, 1))


@bp.route("/batches/<id:batch_id>")
@page_for(*MARKETERS)
def batch(batch_id: int):
    return detail_page(batch_id)


def detail_page(batch_id: int, *, status: int = 200, **extra):
    """A batch's page: figures, charts, state changes, and its channel's own work (issuance, codes) with ``extra``."""
    detail, figures = _found(lambda: (service.batch_detail(batch_id), stats.batch_stats(batch_id, now=utcnow())))
    days = stats.batch_days(batch_id, now=utcnow())
    names = _store_names(store["store_id"] for store in figures["redeemed_in_store_by_store"])
    charts = {"days": [day["day"].isoformat() for day in days],
              "claimed": [day["claimed"] for day in days],
              "used_online": [day["used_online"] for day in days],
              "used_in_store": [day["used_in_store"] for day in days],
              "stores": [names.get(store["store_id"], f"#{store['store_id']}")
                         for store in figures["redeemed_in_store_by_store"]],
              "by_store": [store["redeemed"] for store in figures["redeemed_in_store_by_store"]]}
    return render_template("batches/detail.html", batch=detail, figures=figures, charts=charts, now=utcnow(),
                           actions=_actions_from(detail["status"]), description=_described(detail),
                           **issuing_context(detail, extra)), status


@bp.route("/batches/<id:batch_id>/<any(activate, pause, end):action>", methods=["POST"])
@page_for(*MARKETERS)
def change(batch_id: int, action: str):
    try:
        service.change_status(batch_id, action, now=utcnow())
    except AppError as refusal:
        db.session.rollback()
        if refusal.code is CouponError.COUPON_BATCH_NOT_FOUND:
            return refusal_page(_("No such coupon batch."), 404)
        return refusal_page(_state_refusal(batch_id, action), refusal.status)
    db.session.commit()
    flash(_activated(service.batch_detail(batch_id)["channel"]) if action == "activate" else _DONE[action]())
    return redirect(url_for(".batch", batch_id=batch_id))


@bp.route("/batches/new", methods=["GET", "POST"])
@page_for(*MARKETERS)
def new():
    form = BatchForm()
    form.read_terms(request.form)
    if request.method == "GET":
        return _form_page(form, batch=None)
    try:
        created = service.create_batch(BatchArgs().load(form.api_body()), staff_id=current_principal().staff_id,
                                       now=utcnow())
    except (ValidationError, AppError) as wrong:
        return _refused_form(form, wrong, batch=None)
    db.session.commit()
    flash(_("Draft saved."))
    return redirect(url_for(".batch", batch_id=created.id))


@bp.route("/batches/<id:batch_id>/edit", methods=["GET", "POST"])
@page_for(*MARKETERS)
def edit(batch_id: int):
    detail = _found(lambda: service.batch_detail(batch_id))
    if detail["status"] != BatchStatus.DRAFT.value:
        return refusal_page(_("Only a draft can be edited; this batch is %(state)s.", state=_state(detail["status"])),
                            409)
    if request.method == "GET":
        return _form_page(BatchForm.of_batch(detail), batch=detail)
    form = BatchForm()
    form.read_terms(request.form)
    try:
        sent = BatchArgs().load(form.api_body())
        # The whole batch is sent: what the form left empty goes back to the API's default (or null).
        service.update_batch(batch_id, sent, now=utcnow())
    except (ValidationError, AppError) as wrong:
        return _refused_form(form, wrong, batch=detail)
    db.session.commit()
    flash(_("Draft saved."))
    return redirect(url_for(".batch", batch_id=batch_id))


@bp.route("/batches/preview")
@page_for(*MARKETERS)
def preview():
    """The coupon as the shopper will see it, from the form as it stands (htmx, on every change)."""
    form = BatchForm(formdata=request.args, meta={"csrf": False})
    form.read_terms(request.args)
    return render_template("batches/_preview.html", coupon=_coupon_shown(form.api_body()))


def _form_page(form: BatchForm, *, batch: dict | None, errors: dict | None = None, status: int = 200):
    return render_template("batches/form.html", form=form, batch=batch, errors=errors or {},
                           kinds=kinds.KINDS, term_labels=TERM_LABELS, fen_terms=kinds.fen_terms(),
                           term_kinds={name: [kind.name for kind in kinds.KINDS.values() if name in kind.fields]
                                       for name in kinds.term_names()},
                           coupon=_coupon_shown(form.api_body())), status


def _refused_form(form: BatchForm, wrong: ValidationError | AppError, *, batch: dict | None):
    """The API's field errors, each beside its field (a state refusal of an edit is a page of its own)."""
    db.session.rollback()
    if isinstance(wrong, AppError) and not wrong.errors and batch is not None:
        return refusal_page(_("Only a draft can be edited; this batch is %(state)s.",
                              state=_state(service.batch_detail(batch["id"])["status"])), wrong.status)
    messages = wrong.normalized_messages() if isinstance(wrong, ValidationError) else wrong.errors
    errors = {field: problems if isinstance(problems, list) else [str(problems)] for field, problems in messages.items()}
    return _form_page(form, batch=batch, errors=errors, status=422)


def _coupon_shown(body: dict[str, Any]) -> dict[str, Any] | None:
    """What the shopper's coupon says (the kind's own description), once the kind's terms are right."""
    if body.get("kind") not in kinds.KINDS or kinds.term_errors(body):
        return None
    kind = kinds.kind_of(body["kind"])
    return {"description": kinds.describe(body), "name": body.get("name"), "min_spend": body.get("min_spend") or 0,
            "valid_days": body.get("valid_days"), "ends_at": _moment(body.get("ends_at")),
            "usage": body.get("usage") or kinds.default_usage(kind.name)}


def _moment(sent: Any) -> datetime | None:
    """A time as the form sent it to the schema (ISO 8601 with its zone), or as the batch holds it."""
    return datetime.fromisoformat(sent) if isinstance(sent, str) else sent


def _described(batch: dict[str, Any]) -> str:
    return kinds.describe(batch) if not kinds.term_errors(batch) else ""


def _found(read):
    try:
        return read()
    except AppError as missing:
        if missing.code is CouponError.COUPON_BATCH_NOT_FOUND:
            abort(404)
        raise


def _actions_from(status: str) -> list[str]:
    """The state changes the service allows from this state (its TRANSITIONS), in their order."""
    return [action for action, (sources, _target) in service.TRANSITIONS.items()
            if status in {source.value for source in sources}]


def _state(status: str) -> str:
    return {"draft": _("a draft"), "active": _("active"), "paused": _("paused"), "ended": _("ended")}.get(status, status)


def _state_refusal(batch_id: int, action: str) -> str:
    now = _state(service.batch_detail(batch_id)["status"])
    return {"activate": _("Only a draft or a paused batch can be activated; this one is %(state)s.", state=now),
            "pause": _("Only an active batch can be paused; this one is %(state)s.", state=now),
            "end": _("Only an active or a paused batch can be ended; this one is %(state)s.", state=now)}[action]


def _activated(channel: str) -> str:
    """What activation means for the batch's channel: only a public batch is claimed by shoppers themselves."""
    return {
        "public": _("Activated: shoppers can claim it now."),
        "targeted": _("Activated: it can now be issued to a list of members or a segment."),
        "new_member": _("Activated: members who register from now on receive it."),
        "follower": _("Activated: members who follow the official account from now on receive it."),
        "friend_purchase": _("Activated: sharers receive it when a friend they brought pays a first order."),
        "exchange_code": _("Activated: its exchange codes can now be exchanged into shoppers' wallets."),
    }.get(channel, _("Activated."))


_DONE = {"pause": lambda: _("Paused: no new claims until it is activated again."),
         "end": lambda: _("Ended for good: coupons already claimed stay valid.")}


def _store_names(ids) -> dict[int, str]:
    wanted = list(ids)
    if not wanted:
        return {}
    return dict(db.session.execute(db.select(Store.id, Store.name).where(Store.id.in_(wanted))).tuples().all())
