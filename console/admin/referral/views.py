"""Referral settings (/console/referral/settings): the policy as the admin API reads and changes it
(``referral.policy.service``); marketing reads it, an admin changes it. Every rule (at most 2 levels, rates within
100 %, protection days with protected binding, SKUs that exist) is the service's, its errors shown in place.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from console.admin.referral.forms import SettingsForm
from console.refusals import console_blueprint
from console.session import page_for
from referral.policy import service as policy
from referral.policy.schemas import SettingsArgs
from shop.auth import Role, current_principal
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db

bp = console_blueprint("console_referral_settings", __name__)
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
