"""Stores (/console/stores): the list, a store's form (positions as numbers, their coordinate system stated), its
dated exceptions (a holiday, a day closed or with other hours), closing it for good and deleting it (each asked
first), and the CSV import (/console/stores/import) followed on a page whose progress bar moves while the job runs,
its errors in a table by line. The rules are the store API's (``StoreInputSchema``, ``HoursExceptionArgs``,
``shop.stores.service``) and the import's (``shop.stores.import_jobs``); roles as the API: marketing and admin,
deleting admin only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from console.admin.stores.forms import (
    ExceptionForm,
    ImportForm,
    StoreForm,
    service_words,
    status_words,
)
from console.display import day_words, from_today
from console.refusals import console_blueprint, refusal_page
from console.session import page_for
from shop.auth import Role, current_principal
from shop.database import utcnow
from shop.errors import AppError, CommonError
from shop.extensions import db
from shop.pagination import paginate
from shop.stores import import_jobs, service
from shop.stores.errors import StoreError
from shop.stores.hours import HoursError
from shop.stores.importing import FORMAT_HELP, MAX_FILE_BYTES, parse_hours_spec
from shop.stores.schemas import STATUSES, HoursExceptionArgs, StoreInputSchema

bp = console_blueprint("console_stores", __name__)
STORE_KEEPERS = (Role.MARKETING, Role.ADMIN)  # as the admin store API (shop.stores.api.MARKETING)
STORE_DELETERS = (Role.ADMIN,)  # as the API's DELETE /admin/stores/<id>
DAY = ma.fields.Date()  # a day as the exception API's path reads it: 2026-10-01
PAGE_SIZE = 20


def _room_for_the_file() -> None:
    """The import's upload may be as large as the API's (the app's body limit is smaller); set before the CSRF
    check reads the form."""
    if request.endpoint == "console_stores.start_import":
        request.max_content_length = MAX_FILE_BYTES + 64 * 1024  # the file and the form around it


bp.before_request_funcs.setdefault(None, []).insert(0, _room_for_the_file)


@bp.route("/stores")
@page_for(*STORE_KEEPERS)
def stores():
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    q = (request.args.get("q") or "").strip()[:64] or None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    found = paginate(service.store_list(status=status, q=q), page=page, page_size=PAGE_SIZE)
    now = utcnow()
    rows = [service.store_detail(store, now) for store in found["items"]]
    return render_template("admin/stores/list.html", rows=rows, found=found, status=status, statuses=STATUSES,
                           q=q or "", status_words=status_words())


@bp.route("/stores/new", methods=["GET", "POST"])
@page_for(*STORE_KEEPERS)
def new():
    form = StoreForm()
    if request.method == "GET":
        return _form_page(StoreForm(formdata=None), store=None)
    try:
        created = service.create_store(_checked(form))
    except (ValidationError, AppError) as wrong:
        return _refused_form(form, wrong, store=None)
    db.session.commit()
    flash(_("Store %(code)s created.", code=created.code))
    return redirect(url_for(".store", store_id=created.id))


@bp.route("/stores/<id:store_id>", methods=["GET", "POST"])
@page_for(*STORE_KEEPERS)
def store(store_id: int):
    detail = _detail(store_id)
    if detail is None:
        return refusal_page(_("No such store."), 404)
    if request.method == "GET":
        return _form_page(StoreForm.of_store(detail), store=detail, day_form=_day_to_change(detail))
    form = StoreForm()
    try:
        service.update_store(store_id, _checked(form))
    except (ValidationError, AppError) as wrong:
        return _refused_form(form, wrong, store=detail)
    db.session.commit()
    flash(_("Store saved."))
    return redirect(url_for(".store", store_id=store_id))


@bp.route("/stores/<id:store_id>/exceptions", methods=["POST"])
@page_for(*STORE_KEEPERS)
def set_day(store_id: int):
    """Set one dated day's hours (closed all day, or other hours), as the exception API's PUT."""
    detail = _detail(store_id)
    if detail is None:
        return refusal_page(_("No such store."), 404)
    day_form = ExceptionForm()
    try:
        day, args = _checked_day(day_form)
        service.set_exception(store_id, day, args["hours"], args["note"])
    except ValidationError as wrong:
        db.session.rollback()
        return _form_page(StoreForm.of_store(detail), store=detail, day_form=day_form, status=422,
                          day_errors={field: _lines(problems) for field, problems in wrong.normalized_messages().items()})
    except AppError as refusal:
        db.session.rollback()
        return refusal_page(_store_refusal(refusal), refusal.status)
    db.session.commit()
    flash(_("Exception for %(day)s saved.", day=day_words(day)), "exceptions")
    return redirect(url_for(".store", store_id=store_id, _anchor="exceptions"))


@bp.route("/stores/<id:store_id>/exceptions/<string:day>/remove", methods=["POST"])
@page_for(*STORE_KEEPERS)
def remove_day(store_id: int, day: str):
    """Back to the weekly hours that day, as the exception API's DELETE."""
    try:
        the_day = DAY.deserialize(day)
        service.remove_exception(store_id, the_day)
    except ValidationError:
        return refusal_page(_("No such day."), 404)
    except AppError as refusal:
        db.session.rollback()
        return refusal_page(_store_refusal(refusal), refusal.status)
    db.session.commit()
    flash(_("Exception for %(day)s removed: the weekly hours apply that day.", day=day_words(the_day)), "exceptions")
    return redirect(url_for(".store", store_id=store_id, _anchor="exceptions"))


@bp.route("/stores/<id:store_id>/close", methods=["GET", "POST"])
@page_for(*STORE_KEEPERS)
def close(store_id: int):
    """Close a store for good, asked first (GET); the store leaves the nearby search, its history is kept."""
    detail = _detail(store_id)
    if detail is None:
        return refusal_page(_("No such store."), 404)
    if request.method == "GET":
        return _confirm_page("close", detail)
    try:
        service.close_store(store_id)
    except AppError as refusal:
        db.session.rollback()
        return _confirm_page("close", detail, refusal=_store_refusal(refusal), status=refusal.status)
    db.session.commit()
    flash(_("Store %(code)s closed for good: shoppers no longer find it; its orders and history are kept.",
            code=detail["code"]))
    return redirect(url_for(".store", store_id=store_id))


@bp.route("/stores/<id:store_id>/delete", methods=["GET", "POST"])
@page_for(*STORE_DELETERS)
def delete(store_id: int):
    """Delete a store entered by mistake, asked first with its code typed; the service refuses one with history."""
    detail = _detail(store_id)
    if detail is None:
        return refusal_page(_("No such store."), 404)
    if request.method == "GET":
        return _confirm_page("delete", detail)
    if (request.form.get("code") or "").strip() != detail["code"]:
        return _confirm_page("delete", detail, status=422,
                             refusal=_("Type the store's code, %(code)s, to delete it.", code=detail["code"]))
    try:
        service.delete_store(store_id)
    except AppError as refusal:
        db.session.rollback()
        return _confirm_page("delete", detail, refusal=_store_refusal(refusal), status=refusal.status)
    db.session.commit()
    flash(_("Store %(code)s deleted.", code=detail["code"]))
    return redirect(url_for(".stores"))


@bp.route("/stores/import", methods=["GET", "POST"])
@page_for(*STORE_KEEPERS)
def start_import():
    form = ImportForm()
    if request.method == "GET":
        return _import_page(form)
    upload = request.files.get("file")
    raw = upload.read(MAX_FILE_BYTES + 1) if upload else b""
    if not raw:
        return _import_page(form, refusal=_("Choose a CSV file to import."), status=422)
    try:
        job = import_jobs.start_import(raw, file_name=upload.filename, staff_id=current_principal().staff_id,
                                       now=utcnow())
    except AppError as refusal:
        db.session.rollback()
        return _import_page(form, refusal=_import_refusal(refusal), status=refusal.status)
    db.session.commit()  # the job runs from here: a worker's, or this process's on the embedded default
    return redirect(url_for(".import_job", import_id=job.id))


@bp.route("/stores/import/<string:import_id>")
@page_for(*STORE_KEEPERS)
def import_job(import_id: str):
    """The import's page; htmx asks for its progress part again while the job runs."""
    try:
        job = import_jobs.get_import(import_id)
    except AppError:
        return refusal_page(_("No such store import."), 404)
    template = "admin/stores/_progress.html" if request.headers.get("HX-Request") else "admin/stores/import_job.html"
    return render_template(template, job=job, final=job.status in import_jobs.FINAL)


def _checked(form: StoreForm) -> dict[str, Any]:
    """The form checked by the API's own schema; the hours by the import's grammar (one home each)."""
    body, hours_errors = form.api_body(), {}
    try:
        body["weekly_hours"] = parse_hours_spec(form.hours.data or "") if (form.hours.data or "").strip() else {}
    except HoursError as wrong:
        body["weekly_hours"], hours_errors = {}, {"hours": [str(wrong)]}
    try:
        checked = StoreInputSchema().load(body)
    except ValidationError as invalid:  # every field's errors at once, the hours' with them
        raise ValidationError({**invalid.normalized_messages(), **hours_errors}) from None
    if hours_errors:
        raise ValidationError(hours_errors)
    return checked


def _refused_form(form: StoreForm, wrong: ValidationError | AppError, *, store: dict | None):
    """The API's field errors, each beside its field."""
    db.session.rollback()
    if isinstance(wrong, AppError) and wrong.code is StoreError.STORE_NOT_FOUND:
        return refusal_page(_("No such store."), 404)
    if isinstance(wrong, AppError):
        words = (_("Another store has this code.") if wrong.code is StoreError.STORE_CODE_TAKEN else wrong.message)
        errors = {"code": [words]}
    else:
        errors = {("hours" if field == "weekly_hours" else field): problems if isinstance(problems, list)
                  else [str(problems)] for field, problems in wrong.normalized_messages().items()}
    return _form_page(form, store=store, errors=errors, status=409 if isinstance(wrong, AppError) else 422)


def _form_page(form: StoreForm, *, store: dict | None, errors: dict | None = None, status: int = 200,
               day_form: ExceptionForm | None = None, day_errors: dict | None = None):
    """The store's form; a saved store's page adds its upcoming exceptions and the ways to close or delete it."""
    upcoming = from_today(store["exceptions"], utcnow(), store["timezone"]) if store is not None else []
    return render_template("admin/stores/form.html", form=form, store=store, errors=errors or {},
                           service_words=service_words(), upcoming=upcoming,
                           day_form=day_form or ExceptionForm(formdata=None), day_errors=day_errors or {},
                           may_delete=current_principal().role in STORE_DELETERS), status


def _day_to_change(store: dict) -> ExceptionForm | None:
    """The form filled with the day asked for by its Change link (``?day=``), if the store has it."""
    asked = request.args.get("day")
    found = next((e for e in store["exceptions"] if e.day.isoformat() == asked), None) if asked else None
    return ExceptionForm.of_exception(found) if found is not None else None


def _checked_day(form: ExceptionForm) -> tuple[date, dict[str, Any]]:
    """The day and its hours, checked as the exception API checks them (its path's date, ``HoursExceptionArgs``)."""
    errors: dict[str, list[str]] = {}
    day = None
    try:
        day = DAY.deserialize((form.day.data or "").strip())
    except ValidationError as wrong:
        errors["day"] = _lines(wrong.messages)
    hours: list[list[str]] = []
    if form.closed.data == "open" and not (form.hours.data or "").strip():
        errors["hours"] = [_("Write the hours that day, e.g. 10:00-16:00, or choose closed all day.")]
    else:
        try:
            hours = form.ranges()
        except HoursError as wrong:
            errors["hours"] = [str(wrong)]
    try:
        args = HoursExceptionArgs().load({"hours": hours, "note": form.note_text()})
    except ValidationError as invalid:
        errors = {**invalid.normalized_messages(), **errors}
    if errors:
        raise ValidationError(errors)
    return day, args


def _lines(problems: Any) -> list[str]:
    return [str(line) for line in problems] if isinstance(problems, list) else [str(problems)]


def _confirm_page(action: str, store: dict, *, refusal: str | None = None, status: int = 200):
    """The page that asks before closing a store for good or deleting it."""
    title = (_("Close %(name)s for good?", name=store["name"]) if action == "close"
             else _("Delete %(name)s?", name=store["name"]))
    return render_template("admin/stores/confirm.html", action=action, title=title, store=store, refusal=refusal,
                           status_words=status_words()), status


def _store_refusal(refusal: AppError) -> str:
    """What the store service refused, in an admin's words."""
    if refusal.code is StoreError.STORE_HAS_HISTORY:
        return _("This store cannot be deleted: orders, till sales, redemptions, stock movements or members refer "
                 "to it, and they are kept. Close it for good instead: shoppers no longer find it.")
    if refusal.code is StoreError.STORE_NOT_FOUND:
        return _("No such store.")
    return refusal.message


def _import_page(form: ImportForm, *, refusal: str | None = None, status: int = 200):
    return render_template("admin/stores/import.html", form=form, refusal=refusal, format_help=FORMAT_HELP,
                           limit_mb=MAX_FILE_BYTES // (1024 * 1024)), status


def _import_refusal(refusal: AppError) -> str:
    """A file refused before its lines are read, in an admin's words."""
    if refusal.code is StoreError.IMPORT_NOT_UTF8:
        looks_like = (refusal.details or {}).get("looks_like")
        return (_('The file is not UTF-8 (it looks like %(encoding)s): save it as "CSV UTF-8" and import it again.',
                  encoding=looks_like) if looks_like
                else _('The file is not UTF-8: save it as "CSV UTF-8" and import it again.'))
    if refusal.code is CommonError.PAYLOAD_TOO_LARGE:
        return _("The file is too large: at most %(mb)s MB. Split it.", mb=MAX_FILE_BYTES // (1024 * 1024))
    return refusal.message


def _detail(store_id: int) -> dict | None:
    try:
        return service.store_detail(service.get_store(store_id), utcnow())
    except AppError:
        return None
