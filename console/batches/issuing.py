"""A batch's own work from its page: targeted issuance to listed members or a segment, followed on a progress bar
that htmx polls while the job runs; exchange codes generated and downloaded as CSV.

The rules are the services' and the API schemas': ``IssueArgs``, ``SegmentIssueArgs`` and ``ExchangeCodesArgs``
read what the forms send; ``coupons.claiming.targeted`` and the CRM's ``segments.issue_batch`` start the job
(handed to a runner after the commit, as the API's); ``coupons.claiming.exchange`` makes and exports the codes.
"""

from __future__ import annotations

from itertools import chain, islice
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from console.batches.forms import ExchangeCodesForm, IssueToMembersForm, IssueToSegmentForm
from console.batches.views import MARKETERS, detail_page
from console.crm_services import crm
from console.refusals import console_blueprint
from console.session import page_for
from coupons.batches import service
from coupons.claiming import exchange, targeted
from coupons.claiming.schemas import ExchangeCodesArgs, IssueArgs
from coupons.errors import CouponError
from shop.auth import current_principal
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db

bp = console_blueprint("console_issuing", __name__)
POLL_SECONDS = 1  # how often a running job's bar asks for its progress
SHOWN_PROBLEMS = 10  # a pasted list's wrong ids named one by one; the rest counted
RUNNING = (targeted.JobStatus.QUEUED.value, targeted.JobStatus.RUNNING.value)
_WORDS = {
    CouponError.COUPON_BATCH_NOT_ACTIVE: _l("This batch is not active (or outside its dates): activate it first."),
    CouponError.COUPON_BATCH_WRONG_CHANNEL: _l("This batch's channel does not allow this."),
    CouponError.COUPON_BATCH_STATE_CONFLICT: _l("This batch has ended: it gets no more codes."),
    "segment_not_found": _l("No such segment: choose another."),  # the CRM's code, stable as its API's
}
SKIP_WORDS = {"unknown_member": _l("no such member"), "already_issued": _l("listed twice"),
              "limit_reached": _l("holds the most per member"), "out_of_stock": _l("all coupons issued"),
              "daily_limit_reached": _l("today's coupons all issued"), "batch_not_active": _l("batch paused or ended")}


@bp.route("/batches/<id:batch_id>/issue/members", methods=["POST"])
@page_for(*MARKETERS)
def issue_to_members(batch_id: int):
    form = IssueToMembersForm()
    try:
        sent = IssueArgs().load(form.api_body())
        job = targeted.start_job(batch_id, {"member_ids": sent["member_ids"]}, requested=len(sent["member_ids"]),
                                 key=None, staff_id=current_principal().staff_id, now=utcnow(),
                                 holdout_percent=sent["holdout_percent"])[0]
    except (ValidationError, AppError) as wrong:
        return _refused(batch_id, wrong, to_members=form)
    return _started(batch_id, job.id)


@bp.route("/batches/<id:batch_id>/issue/segment", methods=["POST"])
@page_for(*MARKETERS)
def issue_to_segment(batch_id: int):
    form = IssueToSegmentForm()
    try:
        sent = crm().SegmentIssueArgs().load(form.api_body(batch_id))
        if form.segment_id.data is None:
            raise AppError(crm().CrmError.SEGMENT_NOT_FOUND, "Choose a segment.")
        job = crm().segments.issue_batch(form.segment_id.data, batch_id, staff_id=current_principal().staff_id,
                                   now=utcnow(), holdout_percent=sent["holdout_percent"])
    except (ValidationError, AppError) as wrong:
        return _refused(batch_id, wrong, to_segment=form)
    return _started(batch_id, job.id)


@bp.route("/batches/<id:batch_id>/issue-jobs/<job_id>")
@page_for(*MARKETERS)
def job(batch_id: int, job_id: str):
    batch = _batch(batch_id)
    return render_template("batches/job.html", batch=batch, **_progress(batch_id, job_id))


@bp.route("/batches/<id:batch_id>/issue-jobs/<job_id>/progress")
@page_for(*MARKETERS)
def progress(batch_id: int, job_id: str):
    """The bar alone (htmx): it asks again every POLL_SECONDS until the job has finished or failed."""
    return render_template("batches/_progress.html", batch_id=batch_id, **_progress(batch_id, job_id))


@bp.route("/batches/<id:batch_id>/codes", methods=["POST"])
@page_for(*MARKETERS)
def generate_codes(batch_id: int):
    form = ExchangeCodesForm()
    try:
        made = exchange.generate_codes(batch_id, ExchangeCodesArgs().load(form.api_body())["count"], now=utcnow())
    except (ValidationError, AppError) as wrong:
        return _refused(batch_id, wrong, codes_form=form)
    db.session.commit()
    flash(_("%(generated)s codes generated; the batch has %(codes)s. Download them as CSV.", **made))
    return redirect(url_for("console_batches.batch", batch_id=batch_id) + "#codes")


@bp.route("/batches/<id:batch_id>/codes.csv")
@page_for(*MARKETERS)
def codes_csv(batch_id: int):
    """The batch's codes as the API's CSV (code, created_at, redeemed_at), streamed a page of rows at a time."""
    rows = exchange.export_rows(batch_id)
    try:
        first = next(rows)
    except AppError:
        abort(404)
    return Response(stream_with_context(chain([first], rows)), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="coupon-batch-{batch_id}-codes.csv"'})


def _started(batch_id: int, job_id: str):
    db.session.commit()  # the job runs after this (in-process) or is queued for a worker (RQ)
    return redirect(url_for(".job", batch_id=batch_id, job_id=job_id))


def _refused(batch_id: int, wrong: ValidationError | AppError, **forms):
    """The schema's field errors beside their fields, a service's refusal in words, on the batch's page."""
    db.session.rollback()
    if isinstance(wrong, AppError) and wrong.code is CouponError.COUPON_BATCH_NOT_FOUND:
        abort(404)
    if isinstance(wrong, ValidationError) or wrong.errors:
        messages = wrong.normalized_messages() if isinstance(wrong, ValidationError) else wrong.errors
        return detail_page(batch_id, status=422, errors={name: _flat(problems) for name, problems in messages.items()},
                           **forms)
    words = _WORDS.get(wrong.code)
    return detail_page(batch_id, status=wrong.status, refusal=str(words) if words else wrong.message, **forms)


def _flat(problems: Any) -> list[str]:
    """A field's messages; a list's are named by position (``member_ids``: 'item 3: Not a valid integer.')."""
    if isinstance(problems, dict):
        shown = [_("item %(n)s: %(problem)s", n=int(index) + 1, problem=" ".join(_flat(inner)))
                 for index, inner in islice(problems.items(), SHOWN_PROBLEMS)]
        more = len(problems) - len(shown)
        return shown + ([_("and %(n)s more items like these.", n=more)] if more else [])
    return [str(problem) for problem in problems] if isinstance(problems, list) else [str(problems)]


def _progress(batch_id: int, job_id: str) -> dict[str, Any]:
    try:
        job = targeted.get_job(batch_id, job_id)
    except AppError:
        abort(404)
    return {"job": job, "running": job.status in RUNNING, "poll_seconds": POLL_SECONDS, "skip_words": SKIP_WORDS}


def _batch(batch_id: int) -> dict[str, Any]:
    try:
        return service.batch_detail(batch_id)
    except AppError:
        abort(404)
