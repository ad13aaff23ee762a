"""Marketing's reports: the member funnel (/console/funnel), a campaign's results (/console/campaigns) and the
stores' O2O results (/console/o2o, one store at /console/o2o/stores/<id>), each over a range of business days
chosen on the page, with the time its figures were built (``as_of``) and its charts.

Every figure and refusal is the CRM's report services' (``crm().funnel``, ``.campaigns``, ``.o2o``) read through
the API's own argument schemas, so a range or filter they refuse is shown beside its input.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from console.crm_services import crm, crm_page
from console.refusals import console_blueprint
from console.reports.period import days_asked, field_errors, referral_period
from referral.analytics import service as referral
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.fields import campaign as campaign_field
from shop.pagination import MAX_PAGE_SIZE

bp = console_blueprint("console_reports", __name__)
STEP_LABELS = {"joined": _l("Joined"), "paid": _l("First paid order"), "shared": _l("Shared"),
               "friend_bound": _l("A friend bound"), "friend_paid": _l("A friend paid")}
O2O_LABELS = {"coupons_claimed": _l("Coupons claimed"), "coupons_redeemed": _l("Coupons redeemed"),
              "pickup_placed": _l("Pickup orders paid"), "pickup_picked_up": _l("Picked up"),
              "till_sales": _l("Till sales"), "till_sales_fen": _l("Till sales amount"),
              "new_members": _l("Members won"), "new_members_via_share": _l("Won by a store share"),
              "regulars": _l("Regulars")}
CAMPAIGN_LABELS = {"shares": _l("Shares"), "opens": _l("Opens"), "new_members": _l("New members"),
                   "bound_friends": _l("Friends bound"), "orders": _l("Orders"), "paid_orders": _l("Paid orders"),
                   "gmv": _l("GMV"), "coupons_used": _l("Coupons used"), "coupon_cost": _l("Coupon cost"),
                   "reward_cost": _l("Commission"), "reward_points": _l("Points rewarded"),
                   "cost": _l("Cost"), "return_on_cost": _l("GMV per yuan of cost")}
MONEY = frozenset({"gmv", "coupon_cost", "reward_cost", "cost", "till_sales_fen"})
CampaignLabel = ma.Schema.from_dict({"campaign": campaign_field()}, name="CampaignLabel")
O2O_PAGE_SIZE = 20


@bp.route("/funnel")
@crm_page("REPORT_ROLES")
def funnel():
    days, errors = days_asked(request.args)
    filters = {name: request.args[name].strip() for name in ("store_id", "campaign", "share_id")
               if (request.args.get(name) or "").strip()}
    report = None
    if not errors:
        try:
            asked = crm().FunnelArgs().load({"from": days["from"].isoformat(), "to": days["to"].isoformat(), **filters})
            report = crm().funnel.funnel(asked.pop("from_"), asked.pop("to"), now=utcnow(), **asked)
        except (ValidationError, AppError) as wrong:
            db.session.rollback()
            errors = field_errors(wrong)
    chart = _funnel_chart(report) if report else None
    return render_template("reports/funnel.html", days=days, errors=errors, filters=filters, report=report,
                           chart=chart, labels=STEP_LABELS), 422 if errors else 200


@bp.route("/campaigns")
@crm_page("REPORT_ROLES")
def campaign():
    days, errors = days_asked(request.args)
    label = (request.args.get("campaign") or "").strip()
    report, known = None, []
    if not errors:
        try:
            known = referral.campaign_figures(referral_period(days), page=1, page_size=MAX_PAGE_SIZE)["items"]
            if label:
                CampaignLabel().load({"campaign": label})
                report = crm().campaigns.campaign_report(label, days["from"], days["to"], now=utcnow())
        except (ValidationError, AppError) as wrong:
            db.session.rollback()
            errors = field_errors(wrong)
    return render_template("reports/campaign.html", days=days, errors=errors, label=label, report=report,
                           known=[row.campaign for row in known if row.campaign], labels=CAMPAIGN_LABELS,
                           money=MONEY, chart=_campaign_chart(report) if report else None), 422 if errors else 200


@bp.route("/o2o")
@crm_page("REPORT_ROLES")
def stores():
    days, errors = days_asked(request.args)
    rank_by = request.args.get("rank_by") or "till_sales_fen"
    report = None
    if not errors:
        try:
            asked = crm().StoresO2OArgs().load({"from": days["from"].isoformat(), "to": days["to"].isoformat(),
                                          "rank_by": rank_by, "page": request.args.get("page", "1"),
                                          "page_size": str(O2O_PAGE_SIZE)})
            report = crm().o2o.ranked_stores(asked["first"], asked["last"], rank_by=asked["rank_by"], page=asked["page"],
                                       page_size=asked["page_size"])
        except (ValidationError, AppError) as wrong:
            db.session.rollback()
            errors = field_errors(wrong)
    chart = None
    if report and report["items"]:
        chart = {"kind": "hbar", "categories": [row["store"]["name"] for row in report["items"]],
                 "money": rank_by in MONEY,
                 "series": [{"name": str(O2O_LABELS[rank_by]), "data": [row[rank_by] for row in report["items"]]}]}
    return render_template("reports/stores.html", days=days, errors=errors, report=report, rank_by=rank_by,
                           labels=O2O_LABELS, money=MONEY, chart=chart), 422 if errors else 200


@bp.route("/o2o/stores/<id:store_id>")
@crm_page("REPORT_ROLES")
def store(store_id: int):
    days, errors = days_asked(request.args)
    report = None
    if not errors:
        try:
            report = crm().o2o.store_report(store_id, days["from"], days["to"])
        except AppError as wrong:
            db.session.rollback()
            if not wrong.errors:
                abort(404)
            errors = field_errors(wrong)
    return render_template("reports/store.html", store_id=store_id, days=days, errors=errors, report=report,
                           labels=O2O_LABELS, money=MONEY), 422 if errors else 200


def _funnel_chart(report: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "hbar", "categories": [str(STEP_LABELS.get(step["step"], step["step"])) for step in report["steps"]],
            "series": [{"name": _("Members"), "data": [step["members"] for step in report["steps"]]}]}


def _campaign_chart(report: dict[str, Any]) -> dict[str, Any]:
    shown = ("opens", "new_members", "paid_orders", "coupons_used")
    return {"kind": "line", "categories": [day["day"].isoformat()[5:] for day in report["series"]],
            "series": [{"name": str(CAMPAIGN_LABELS[name]), "data": [day[name] for day in report["series"]]}
                       for name in shown if name in crm().CAMPAIGN_FIGURES]}
