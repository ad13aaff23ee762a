"""The outbox's work for admins (/console/outbox): failed entries with their last error, and sending one again.

The same service as ``/api/v1/admin/outbox`` and ``flask outbox``: ``retry`` puts the entry back to pending and
it is handed to a runner after the commit (at once on the embedded default, an RQ worker in production).
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from console.refusals import console_blueprint
from console.session import page_for
from shop.auth import Role
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.jobs import dispatch_after_commit
from shop.outbox import service as outbox
from shop.outbox.errors import OutboxError
from shop.outbox.models import OutboxStatus

bp = console_blueprint("console_outbox", __name__)
PAGE_SIZE = 20
STATUSES = [status.value for status in OutboxStatus]


@bp.route("/outbox", methods=["GET"])
@page_for(Role.ADMIN)
def entries():
    return _page()


@bp.route("/outbox/<id:entry_id>/retry", methods=["POST"])
@page_for(Role.ADMIN)
def retry(entry_id: int):
    try:
        entry = outbox.retry(entry_id, now=utcnow())
    except AppError as refusal:
        db.session.rollback()
        status = refusal.status
        words = (_("No such outbox entry.") if refusal.code is OutboxError.ENTRY_NOT_FOUND
                 else _("This work is not failed any more: nothing to send again."))
        return _page(refusal=words, status=status)
    dispatch_after_commit(entry.id, attempts=entry.attempts)
    db.session.commit()
    db.session.refresh(entry)  # as it stands after the hand-over (on the embedded default it has run)
    return _page(done=_("Entry %(id)s sent again: now %(status)s.", id=entry.id, status=_status_word(entry.status)))


def _page(*, done: str | None = None, refusal: str | None = None, status: int = 200):
    shown = request.args.get("status", OutboxStatus.FAILED.value)
    shown = shown if shown in STATUSES else OutboxStatus.FAILED.value
    page = max(1, request.args.get("page", 1, type=int) or 1)
    found = outbox.list_entries(status=shown, kind=None, page=page, page_size=PAGE_SIZE)
    return render_template("admin/outbox/entries.html", found=found, shown=shown, statuses=STATUSES,
                           status_word=_status_word, done=done, refusal=refusal), status


def _status_word(status: str) -> str:
    return {"pending": _("pending"), "running": _("running"), "done": _("done"), "failed": _("failed")}[status]
