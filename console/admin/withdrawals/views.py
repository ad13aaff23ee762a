"""Withdrawals for admins to approve or reject (/console/withdrawals): referral.withdrawals' services, as the API.

Approving writes the transfer to the outbox with the approval; it is sent once that commits, so the page shows
where it stands then (``paying``, ``paid``, ``failed`` with WeChat's reason, or ``approved`` while it waits).
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError

from console.admin.withdrawals.forms import ReviewForm
from console.refusals import console_blueprint
from console.session import page_for
from referral.errors import ReferralError
from referral.withdrawals import service as withdrawals
from referral.withdrawals.models import WithdrawalStatus
from referral.withdrawals.schemas import ApproveArgs, RejectArgs
from shop.auth import Role, current_principal
from shop.errors import AppError
from shop.extensions import db

bp = console_blueprint("console_withdrawals", __name__)
PAGE_SIZE = 20
STATUSES = [status.value for status in WithdrawalStatus]


@bp.route("/withdrawals", methods=["GET"])
@page_for(Role.ADMIN)
def listing():
    return _page()


@bp.route("/withdrawals/<id:withdrawal_id>/approve", methods=["POST"])
@page_for(Role.ADMIN)
def approve(withdrawal_id: int):
    def approved(note: str | None):
        args = ApproveArgs().load({"note": note})
        return withdrawals.approve(withdrawal_id, staff_id=current_principal().staff_id, note=args["note"])

    return _review(approved, lambda done: _("Withdrawal %(id)s approved: now %(status)s.", id=done.id,
                                            status=_status_word(done.status)))


@bp.route("/withdrawals/<id:withdrawal_id>/reject", methods=["POST"])
@page_for(Role.ADMIN)
def reject(withdrawal_id: int):
    def rejected(note: str | None):
        args = RejectArgs().load({"note": note or ""})
        return withdrawals.reject(withdrawal_id, staff_id=current_principal().staff_id, note=args["note"])

    return _review(rejected, lambda done: _("Withdrawal %(id)s rejected: the amount is back on the member's "
                                            "balance.", id=done.id))


def _review(action, words):
    """Run the review with the form's note, commit it, and say where the withdrawal stands after the commit
    (an approval's transfer is handed on then)."""
    form = ReviewForm()
    note = (form.note.data or "").strip() or None
    try:
        if not form.validate():
            raise ValidationError({"note": form.note.errors})
        reviewed = action(note)
    except ValidationError:
        db.session.rollback()
        return _page(refusal=_("Write a note (at most 500 characters): the member sees why."), status=422)
    except AppError as refusal:
        db.session.rollback()
        said = (_("No such withdrawal.") if refusal.code is ReferralError.WITHDRAWAL_NOT_FOUND
                else _("This withdrawal was already decided."))
        return _page(refusal=said, status=refusal.status)
    db.session.commit()
    db.session.refresh(reviewed)
    return _page(done=words(reviewed))


def _page(*, done: str | None = None, refusal: str | None = None, status: int = 200):
    shown = request.args.get("status", WithdrawalStatus.REQUESTED.value)
    shown = shown if shown in STATUSES else WithdrawalStatus.REQUESTED.value
    page = max(1, request.args.get("page", 1, type=int) or 1)
    found = withdrawals.all_withdrawals(status=shown, member_id=None, page=page, page_size=PAGE_SIZE)
    return render_template("admin/withdrawals/list.html", found=found, shown=shown, statuses=STATUSES,
                           status_word=_status_word, form=ReviewForm(formdata=None), done=done, refusal=refusal), status


def _status_word(status: str) -> str:
    return {"requested": _("requested"), "approved": _("approved"), "rejected": _("rejected"),
            "paying": _("paying"), "paid": _("paid"), "failed": _("failed")}.get(status, status)
