"""The daily WeChat Pay reconciliation for admins (/console/reconciliation): a day's run and its differences.

Reads ``shop.bills.service.report`` (the API's ``/api/v1/admin/reconciliation/<date>``); the day is WeChat Pay's
(Beijing time), the latest by default (``due_bill_date``). Running a day again stays with the job and the CLI.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import render_template, request
from flask_babel import gettext as _

from console.refusals import console_blueprint
from console.session import page_for
from shop.auth import Role
from shop.bills import service as bills
from shop.bills.models import Resolution
from shop.config import WECHAT_PAY_ZONE
from shop.database import utcnow

bp = console_blueprint("console_reconciliation", __name__)


@bp.route("/reconciliation", methods=["GET"])
@page_for(Role.ADMIN)
def report():
    asked = request.args.get("date", "")
    try:
        day = date.fromisoformat(asked) if asked else bills.due_bill_date(utcnow())
    except ValueError:
        return _page(bills.due_bill_date(utcnow()), refusal=_("Choose a day (YYYY-MM-DD)."), status=400)
    return _page(day)


def _page(day: date, *, refusal: str | None = None, status: int = 200):
    run = None if refusal else bills.report(day)
    flagged = [d for d in run.differences if d.resolution == Resolution.FLAGGED] if run else []
    resolved = [d for d in run.differences if d.resolution == Resolution.RESOLVED] if run else []
    return render_template("admin/reconciliation/report.html", day=day, run=run, flagged=flagged, resolved=resolved,
                           refusal=refusal, zone=str(WECHAT_PAY_ZONE), earlier=day - timedelta(days=1),
                           later=day + timedelta(days=1), kind_word=_kind_word), status


def _kind_word(kind: str) -> str:
    return {"missing_here": _("In WeChat Pay's bill, not here"),
            "missing_at_wechat": _("Here, not in WeChat Pay's bill"),
            "amount_differs": _("The amounts differ"),
            "state_differs": _("The states differ")}.get(kind, kind)
