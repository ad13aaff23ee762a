"""Marketing's tags (/console/tags): every tag with how many members carry it, a new manual tag, and a manual
tag added to or removed from many members at once (ids typed or a CSV of ids) as a job whose progress the page
follows (htmx) until it ends. One member's tags are changed on the member's page (console/members).

The names, the CSV's reading and every refusal are the CRM's tag service's (``crm().tags``) and the API's schemas.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from console.batches.forms import typed_ids
from console.crm_services import crm, crm_page
from console.refusals import console_blueprint, refusal_page
from console.reports.period import field_errors
from shop.auth import current_principal
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db

bp = console_blueprint("console_tags", __name__)
PAGE_SIZE = 50
MAX_PAGES = 100_000  # as shop.pagination.PageArgs


@bp.route("/tags", methods=["GET", "POST"])
@crm_page("TAG_ROLES")
def tags():
    """The tags; a POST creates a manual tag (its name's errors shown beside the input)."""
    errors: dict = {}
    if request.method == "POST":
        try:
            crm().tags.create_tag(crm().TagArgs().load({"name": request.form.get("name", "")})["name"], now=utcnow())
        except (ValidationError, AppError) as wrong:
            db.session.rollback()
            errors = field_errors(wrong)
            errors = {"name": errors.get("name", []) + errors.get("_schema", [])}
        else:
            db.session.commit()
            flash(_("Tag created."))
            return redirect(url_for(".tags"))
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGES)
    listing = crm().tags.list_tags(kind=None, page=page, page_size=PAGE_SIZE)
    return render_template("tags/list.html", listing=listing, errors=errors,
                           typed=request.form.get("name", "")), 422 if errors else 200


@bp.route("/tags/<id:tag_id>", methods=["GET", "POST"])
@crm_page("TAG_ROLES")
def tag(tag_id: int):
    """A manual tag's page: add or remove it for a list of member ids or a CSV of them (a job)."""
    found = _tag(tag_id)
    if request.method == "GET":
        return _tag_page(found)
    action = request.form.get("action", "")
    try:
        ids = _ids_sent()
        sent = crm().TagJobArgs().load({"action": action, "member_ids": ids})
        job = crm().tags.start_job(tag_id, sent["action"], sent["member_ids"], staff_id=current_principal().staff_id,
                                now=utcnow())
    except (ValidationError, AppError) as wrong:
        db.session.rollback()
        if isinstance(wrong, AppError) and wrong.code is crm().CrmError.TAG_COMPUTED:
            return refusal_page(_("A computed tag is kept by its rule; it cannot be set by hand."), 409)
        return _tag_page(found, errors=_job_errors(wrong), status=422)
    job_id = job.id
    db.session.commit()
    return redirect(url_for(".job", tag_id=tag_id, job_id=job_id))


@bp.route("/tags/<id:tag_id>/jobs/<job_id>")
@crm_page("TAG_ROLES")
def job(tag_id: int, job_id: str):
    return render_template("tags/job.html", tag=_tag(tag_id), job=_job(tag_id, job_id))


@bp.route("/tags/<id:tag_id>/jobs/<job_id>/progress")
@crm_page("TAG_ROLES")
def progress(tag_id: int, job_id: str):
    """The job's progress bar (htmx polls it while the job runs)."""
    return render_template("tags/_progress.html", tag=_tag(tag_id), job=_job(tag_id, job_id))


def _tag_page(found, *, errors: dict | None = None, status: int = 200):
    return render_template("tags/tag.html", tag=found, actions=crm().TAG_ACTIONS, errors=errors or {},
                           typed=request.form.get("member_ids", ""), action=request.form.get("action", "add")), status


def _ids_sent() -> list[int | str]:
    """The ids typed (spaces, commas or lines between them) or, when a file is sent, those of its CSV."""
    upload = request.files.get("file")
    if upload and upload.filename:
        most = crm().TAG_CSV_MAX_BYTES
        raw = upload.read(most + 1)
        if len(raw) > most:
            too_large = _("The CSV is larger than %(mb)s MB.", mb=most // 2**20)
            raise AppError(crm().CrmError.TAG_CSV_INVALID, too_large, errors={"file": [too_large]})
        return crm().tags.parse_csv_ids(raw)
    return typed_ids(request.form.get("member_ids", "").replace("\n", ",").replace("\r", "")) or []


def _job_errors(wrong: ValidationError | AppError) -> dict[str, list[str]]:
    errors = field_errors(wrong)
    if isinstance(wrong, AppError) and wrong.code is crm().CrmError.TAG_CSV_INVALID:
        rows = (wrong.details or {}).get("rows")
        message = _("Rows %(rows)s of the CSV hold no member id.", rows=", ".join(map(str, rows))) if rows else wrong.message
        return {"file": [message]}
    if "member_ids" in errors or isinstance((wrong.normalized_messages() if isinstance(wrong, ValidationError)
                                             else {}).get("member_ids"), dict):
        errors["member_ids"] = [_("Member ids are whole numbers, 1 to 100,000 of them.")]
    return errors


def _tag(tag_id: int):
    try:
        return crm().tags.get_tag(tag_id)
    except AppError:
        abort(404)


def _job(tag_id: int, job_id: str):
    try:
        return crm().tags.get_job(tag_id, job_id)
    except AppError:
        abort(404)
