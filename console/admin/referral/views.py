"""Referral settings (/console/referral/settings): the policy as the admin API reads and changes it
(``referral.policy.service``); marketing reads it, an admin changes it. Every rule (at most 2 levels, rates within
100 %, protection days with protected binding, SKUs that exist) is the service's, its errors shown in place.

Sharers (/console/referral/sharers): who is approved as a sharer who earns (it matters under the policy
``approved``), who brought members without an approval, a member looked up by number with their history; an admin
approves or withdraws, as ``POST/DELETE /api/v1/admin/referral/members/{id}/approve`` do (``policy.set_approval``).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from console.admin.referral.forms import ApprovalForm, SettingsForm, sharer_policy_words
from console.refusals import console_blueprint, refusal_page
from console.session import page_for
from referral.errors import ReferralError
from referral.policy import service as policy
from referral.policy.models import SharerPolicy
from referral.policy.schemas import ApprovalArgs, SettingsArgs
from referral.sharing import binding
from shop.auth import Role, current_principal
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.pagination import PageArgs, paginate
from shop.staff.models import StaffAccount

bp = console_blueprint("console_referral_settings", __name__)
READERS = (Role.MARKETING, Role.ADMIN)  # as the admin API's referral reads
PAGE_SIZE = 20
PAGES = ("waiting_page", "approved_page", "history_page")
# A form's fields carry the API's names, but two are typed differently: their errors show beside the inputs.
SHOWN_AT = {"percent_bp": "percent_1"}


@bp.route("/referral/settings", methods=["GET"])
@page_for(Role.MARKETING, Role.ADMIN)  # as GET /api/v1/admin/referral/settings
def settings():
    current = policy.load_settings()
    db.session.commit()  # the defaults' row, on first use
    return _page(SettingsForm.of_settings(current), current)


@bp.route("/referral/settings", methods=["POST"])
@page_for(Role.ADMIN)  # as PUT /api/v1/admin/referral/settings
def change():
    form = SettingsForm()
    try:
        changes = SettingsArgs().load(form.api_body())
        policy.update_settings(changes, staff_id=current_principal().staff_id, now=utcnow())
    except (ValidationError, AppError) as wrong:
        db.session.rollback()
        messages = wrong.normalized_messages() if isinstance(wrong, ValidationError) else (wrong.errors or {})
        errors = {SHOWN_AT.get(field, field): _lines(problems) for field, problems in messages.items()}
        return _page(form, policy.load_settings(), errors=errors, status=422)
    db.session.commit()
    flash(_("Referral settings saved: they apply to orders paid from now on."))
    return redirect(url_for(".settings"))


def _page(form: SettingsForm, current, *, errors: dict | None = None, status: int = 200):
    return render_template("admin/referral/settings.html", form=form, current=current, errors=errors or {},
                           editable=current_principal().role is Role.ADMIN, posted=request.method == "POST"), status


def _lines(problems) -> list[str]:
    if isinstance(problems, dict):
        return [f"{key}: {line}" for key, value in problems.items() for line in _lines(value)]
    return [str(problem) for problem in problems] if isinstance(problems, list) else [str(problems)]


@bp.route("/referral/sharers", methods=["GET"])
@page_for(*READERS)
def sharers():
    raw = (request.args.get("member_id") or "").strip()
    if not raw:
        return _sharers_page()
    if not (raw.isascii() and raw.isdigit()):
        return _sharers_page(lookup_error=_("Type the member's number (digits only)."), typed=raw, status=422)
    return _sharers_page(member_id=int(raw) if len(raw) <= 19 else 0, typed=raw)  # 0: beyond any id, not found


@bp.route("/referral/sharers/<id:member_id>/approve", methods=["POST"])
@page_for(Role.ADMIN)  # as POST /api/v1/admin/referral/members/{id}/approve
def approve(member_id: int):
    form = ApprovalForm()
    try:
        reason = ApprovalArgs().load({"reason": (form.reason.data or "").strip() or None})["reason"]
    except ValidationError as invalid:
        return _sharers_page(member_id=member_id, typed=str(member_id), form=form, status=422,
                             reason_errors=_lines(invalid.normalized_messages().get("reason", [])))
    return _set_approval(member_id, approved=True, reason=reason)


@bp.route("/referral/sharers/<id:member_id>/withdraw", methods=["POST"])
@page_for(Role.ADMIN)  # as DELETE /api/v1/admin/referral/members/{id}/approve (it takes no reason)
def withdraw(member_id: int):
    return _set_approval(member_id, approved=False, reason=None)


def _set_approval(member_id: int, *, approved: bool, reason: str | None):
    try:
        before = policy.sharer_standing(member_id)["approved_at"]
        after = policy.set_approval(member_id, approved=approved, reason=reason,
                                    staff_id=current_principal().staff_id, now=utcnow())
    except AppError as refusal:
        db.session.rollback()
        return refusal_page(_approval_refusal(refusal), refusal.status)
    db.session.commit()
    changed = (before is None) != (after is None)  # approving twice changes nothing (the service's retry rule)
    flash({(True, True): _("Approved: this member earns for the friends they bring while the policy asks for "
                           "approval."),
           (True, False): _("This member was approved already: nothing changed."),
           (False, True): _("Approval withdrawn: this member no longer earns under the policy of approved sharers."),
           (False, False): _("This member was not approved: nothing changed.")}[(approved, changed)])
    return redirect(url_for(".sharers", member_id=member_id))


def _sharers_page(*, member_id: int | None = None, typed: str = "", lookup_error: str | None = None,
                  form: ApprovalForm | None = None, reason_errors: list[str] | None = None, status: int = 200):
    pages = {name: _page_number(name) for name in PAGES}
    standing, history = None, None
    if member_id is not None:
        try:
            standing = policy.sharer_standing(member_id)
            history = paginate(binding.history(member_id), page=pages["history_page"], page_size=PAGE_SIZE)
        except AppError as refusal:
            db.session.rollback()
            lookup_error, status = _approval_refusal(refusal), refusal.status
    settings = policy.load_settings()
    db.session.commit()  # the defaults' row, on first use
    return render_template(
        "admin/referral/sharers.html", settings=settings, asks_approval=settings.sharer_policy == SharerPolicy.APPROVED,
        policy_words=sharer_policy_words(), typed=typed, lookup_error=lookup_error,
        standing=standing, history=history, staff=_usernames(history), kinds=_history_words(),
        waiting=paginate(policy.sharers_to_approve(), page=pages["waiting_page"], page_size=PAGE_SIZE, rows=True),
        approved=paginate(policy.approved_sharers(), page=pages["approved_page"], page_size=PAGE_SIZE, rows=True),
        form=form or ApprovalForm(formdata=None), reason_errors=reason_errors or [],
        editable=current_principal().role is Role.ADMIN, page_at=pages), status


def _page_number(name: str) -> int:
    """A list's page from the query (the API's bounds; anything else: the first page)."""
    try:
        return PageArgs().load({"page": request.args.get(name, "1")})["page"]
    except ValidationError:
        return 1


def _usernames(history: dict | None) -> dict[int, str]:
    ids = {entry.staff_id for entry in (history or {}).get("items", []) if entry.staff_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(StaffAccount.id, StaffAccount.username)
                                   .where(StaffAccount.id.in_(ids))).tuples().all())


def _approval_refusal(refusal: AppError) -> str:
    """The approval service's refusal in an admin's words."""
    return {ReferralError.REFERRAL_MEMBER_NOT_FOUND: _("No member has this number.")}.get(refusal.code, refusal.message)


def _history_words() -> dict[str, str]:
    """The kinds of a member's referral history in words."""
    return {"bind": _("bound under a sharer"), "rebind": _("re-bound under a newer sharer"),
            "admin_rebind": _("moved by an admin"), "flag_cleared": _("review: the bind stands"),
            "flag_confirmed": _("review: abuse, detached"), "approved": _("approved as a sharer who earns"),
            "approval_revoked": _("approval withdrawn")}
