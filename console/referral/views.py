"""Marketing's referral figures (/console/referral): top sharers, campaigns, the K factor and how deep the members
bound in a range sit (the ripple by depth), over business days chosen on the page; any member's subtree
(/console/referral/members/<id>). The figures are referral analytics' own (``referral.analytics.service``),
computed live: the page says so with the time it read them.
"""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError

from console.refusals import console_blueprint
from console.reports.period import days_asked, field_errors, referral_period
from console.session import page_for
from referral.analytics import service as analytics
from referral.analytics.api import ADMIN_ROLES
from referral.analytics.schemas import SubtreeArgs, TopSharerArgs
from referral.analytics.service import SHARER_SORTS
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db

bp = console_blueprint("console_referral", __name__)
PAGE_SIZE = 20


@bp.route("/referral")
@page_for(*ADMIN_ROLES)
def stats():
    days, errors = days_asked(request.args)
    sort = request.args.get("sort") or "gmv"
    found = {}
    if not errors:
        try:
            period = referral_period(days)
            asked = TopSharerArgs().load({"from": period.start.isoformat(), "to": period.end.isoformat(), "sort": sort,
                                          "page": request.args.get("page", "1"), "page_size": str(PAGE_SIZE)})
            found = {"sharers": analytics.top_sharers(asked.pop("period"), **asked),
                     "campaigns": analytics.campaign_figures(period, page=1, page_size=PAGE_SIZE),
                     "k": analytics.viral_coefficient(period), "ripple": analytics.ripple(period)}
        except (ValidationError, AppError) as wrong:
            db.session.rollback()
            errors = field_errors(wrong)
    chart = None
    if found and found["ripple"]["depths"]:
        chart = {"kind": "bar", "categories": [str(row["depth"]) for row in found["ripple"]["depths"]],
                 "series": [{"name": _("Members bound"), "data": [row["members"] for row in found["ripple"]["depths"]]}]}
    return render_template("referral/stats.html", days=days, errors=errors, found=found, sort=sort, sorts=SHARER_SORTS,
                           chart=chart, now=utcnow()), 422 if errors else 200


@bp.route("/referral/members/<id:member_id>")
@page_for(*ADMIN_ROLES)
def subtree(member_id: int):
    try:
        asked = SubtreeArgs().load({name: request.args[name] for name in ("page", "max_level")
                                    if request.args.get(name)} | {"page_size": str(PAGE_SIZE)})
        found = analytics.subtree(member_id, **asked)
    except ValidationError as wrong:
        return render_template("referral/subtree.html", member_id=member_id, found=None, errors=field_errors(wrong),
                               now=utcnow()), 422
    except AppError:
        abort(404)
    return render_template("referral/subtree.html", member_id=member_id, found=found, errors={}, now=utcnow(),
                           max_level=request.args.get("max_level", ""))
