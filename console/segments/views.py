"""Marketing's segments (/console/segments): the saved ones with how many members each holds, a builder whose
count and sample follow the rule as it changes (htmx), saving it by name, deleting one.

The count, the sample and every refusal are the CRM's segment service's (``crm().segments``) and its rule
checker's; the page only places the errors beside the rows they name.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from console.crm_services import crm, crm_page
from console.refusals import console_blueprint, refusal_page
from console.reports.period import field_errors
from console.segments.forms import (
    MATCHES,
    OP_LABELS,
    ROWS,
    errors_by_row,
    field_choices,
    filled_rows,
    rows_from,
    rows_of,
    rule_in_words,
    rule_of,
)
from shop.auth import current_principal
from shop.database import storable_id, utcnow
from shop.errors import AppError
from shop.extensions import db

bp = console_blueprint("console_segments", __name__)
PAGE_SIZE = 20
MAX_PAGES = 100_000  # as shop.pagination.PageArgs


@bp.route("/segments")
@crm_page("SEGMENT_ROLES")
def segments():
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGES)
    listing = crm().segments.list_segments(page=page, page_size=PAGE_SIZE)
    # No count per row: each is a pass over the members; the members page filtered by the segment says it.
    rows = [{**segment, "words": rule_in_words(segment["rule"])} for segment in listing["items"]]
    return render_template("segments/list.html", rows=rows, listing=listing,
                           pages=max((listing["total"] + PAGE_SIZE - 1) // PAGE_SIZE, 1))


@bp.route("/segments/new", methods=["GET", "POST"])
@crm_page("SEGMENT_ROLES")
def new():
    if request.method == "GET":
        match, rows = rows_of(_copied_rule())
        return _builder(name="", match=match, rows=rows)
    rows, match, name = rows_from(request.form), request.form.get("match", "all"), request.form.get("name", "")
    try:
        sent = crm().SegmentArgs().load({"name": name, "rule": rule_of(match, rows)})
        crm().segments.create_segment(sent["name"], sent["rule"], staff_id=current_principal().staff_id,
                               now=utcnow())
    except (ValidationError, AppError) as wrong:
        db.session.rollback()
        errors = field_errors(wrong)
        if isinstance(wrong, AppError) and wrong.code is crm().CrmError.SEGMENT_NAME_TAKEN:
            errors = {"name": [_("A segment with this name exists: pick another name.")]}
        return _builder(name=name, match=match, rows=rows, errors=errors, status=422)
    db.session.commit()
    flash(_("Segment saved."))
    return redirect(url_for(".segments"))


@bp.route("/segments/preview")
@crm_page("SEGMENT_ROLES")
def preview():
    """How many members the rule holds now and the newest of them, or where the rule is wrong (htmx)."""
    rows = rows_from(request.args)
    if not filled_rows(rows):
        return render_template("segments/_preview.html", found=None, by_row={}, whole=[], now=utcnow())
    try:
        found = crm().segments.preview(rule_of(request.args.get("match", "all"), rows), now=utcnow())
    except AppError as wrong:
        db.session.rollback()
        by_row, whole = errors_by_row(field_errors(wrong), rows)
        return render_template("segments/_preview.html", found=None, by_row=by_row, whole=whole, now=utcnow())
    return render_template("segments/_preview.html", found=found, by_row={}, whole=[], now=utcnow())


@bp.route("/segments/<id:segment_id>/delete", methods=["POST"])
@crm_page("SEGMENT_ROLES")
def delete(segment_id: int):
    try:
        crm().segments.delete_segment(segment_id)
    except AppError:
        db.session.rollback()
        return refusal_page(_("No such segment."), 404)
    db.session.commit()
    flash(_("Segment deleted."))
    return redirect(url_for(".segments"))


def _copied_rule() -> dict:
    """A saved segment's rule to start from (``?from_segment=N``), or an empty builder."""
    copied = request.args.get("from_segment", type=int)
    if copied and storable_id(copied):
        try:
            return crm().segments.get_segment(copied).rule
        except AppError:
            return {}
    return {}


def _builder(*, name: str, match: str, rows: list[dict], errors: dict | None = None, status: int = 200):
    errors = errors or {}
    by_row, whole = errors_by_row({key: value for key, value in errors.items() if key.startswith("$")}, rows)
    return render_template("segments/form.html", name=name, match=match, rows=rows, matches=MATCHES,
                           fields=field_choices(), op_labels=OP_LABELS, row_count=ROWS, by_row=by_row,
                           whole=whole + errors.get("_schema", []) + errors.get("rule", []),
                           name_errors=errors.get("name", []), now=utcnow()), status
