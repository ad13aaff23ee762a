"""The campaign report for marketing and admins."""

from flask_smorest import Blueprint

from crm.campaigns import service
from crm.campaigns.schemas import CampaignReportArgs, CampaignReportSchema
from crm.errors import CrmError
from crm.rollups.service import business_day
from shop.auth import Role, roles_required
from shop.database import utcnow
from shop.errors import AppError, CommonError, raises
from shop.fields import LABEL
from shop.replica import documented_replica_report

blp = Blueprint("crm_campaigns", __name__, url_prefix="/api/v1/admin", description=(
    "Campaign reports: what a campaign's shares and coupons brought (attribution, from daily rollups with "
    "`as_of`) and what its targeted issuances with a holdout caused (incrementality). See docs/crm.md."))


@blp.route("/campaigns/<campaign>", methods=["GET"])
@roles_required(Role.MARKETING, Role.ADMIN)
@blp.arguments(CampaignReportArgs, location="query")
@blp.response(200, CampaignReportSchema)
@raises(CrmError.REPORT_PERIOD_INVALID, CommonError.NOT_FOUND)
@documented_replica_report()
def campaign_report(args, campaign):
    """A campaign's figures over business days `from`..`to` (at most 366)

    Totals, a daily series for a chart, and per targeted issuance with a holdout the treated and control
    groups with the uplift and its 95% interval. A label no campaign can carry is 404 `not_found`; 422
    `report_period_invalid` when `to` is before `from` or the range is too long. Role: marketing, admin.
    """
    if len(campaign) > 64 or not LABEL.regex.match(campaign):
        raise AppError(CommonError.NOT_FOUND, "No campaign carries this label.")
    now = utcnow()
    first, last = service.default_range(business_day(now))
    last = args["to"] or last
    first = args["from_"] or service.default_range(last)[0]
    return service.campaign_report(campaign, first, last, now=now)
