"""The day's reconciliation report for admins."""

from __future__ import annotations

from datetime import date

from flask_smorest import Blueprint

from shop.auth import Role, roles_required
from shop.bills import service
from shop.bills.errors import BillError
from shop.bills.models import Resolution
from shop.bills.schemas import ReportSchema
from shop.errors import AppError, CommonError, raises

blp = Blueprint("reconciliation", __name__, url_prefix="/api/v1", description=(
    "WeChat Pay's daily bills compared with our payments and refunds. Each day after "
    "WECHATPAY_BILL_HOUR (Beijing time) the previous day's trade and fund-flow bills are downloaded and "
    "every row is matched; differences are resolved where the rule is clear (a lost payment notify is "
    "applied, an unconfirmed refund settled) and flagged otherwise."))


@blp.route("/admin/reconciliation/<string:bill_date>", methods=["GET"])
@roles_required(Role.ADMIN)
@raises(CommonError.VALIDATION_ERROR, BillError.REPORT_NOT_FOUND)
@blp.response(200, ReportSchema)
def reconciliation(bill_date: str):
    """The reconciliation report of a day (YYYY-MM-DD, Beijing time), with each difference. Role: admin."""
    try:
        day = date.fromisoformat(bill_date) if len(bill_date) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise AppError(CommonError.VALIDATION_ERROR, "The date must be YYYY-MM-DD.",
                       errors={"bill_date": ["Not a YYYY-MM-DD date."]})
    run = service.report(day)
    if run is None:
        raise AppError(BillError.REPORT_NOT_FOUND, f"The bill of {day} has not been reconciled yet.")
    flagged = sum(1 for d in run.differences if d.resolution == Resolution.FLAGGED)
    return {**{column: getattr(run, column) for column in ReportSchema().fields if hasattr(run, column)},
            "flagged": flagged}
