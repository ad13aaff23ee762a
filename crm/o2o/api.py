"""A store's o2o results and the stores ranked (marketing and admins).

Staff are refused (403): these figures are marketing's, across the brand's members (members won, regulars,
claims by home store), and shop.auth binds staff only to their counter's work (`/api/v1/staff/...`)."""

from flask_smorest import Blueprint

from crm.errors import CrmError
from crm.o2o import service
from crm.o2o.schemas import PeriodDaysArgs, StoreO2OSchema, StoresO2OArgs, StoresO2OPageSchema
from shop.auth import Role, roles_required
from shop.errors import raises
from shop.replica import documented_replica_report
from shop.stores.errors import StoreError

blp = Blueprint("crm_o2o", __name__, url_prefix="/api/v1/admin", description=(
    "What the stores got from the mini-program, per business day range (Asia/Shanghai, `from` and `to` included, "
    "at most 366 days), read from a daily rollup: every answer says its `as_of`."))
ROLES = (Role.MARKETING, Role.ADMIN)


@blp.route("/stores/o2o", methods=["GET"])
@roles_required(*ROLES)
@blp.arguments(StoresO2OArgs, location="query")
@blp.response(200, StoresO2OPageSchema)
@raises(CrmError.REPORT_PERIOD_INVALID)
@documented_replica_report()
def ranked_stores(args):
    """Every store with its o2o figures, ranked by `rank_by` (default `till_sales_fen`). Role: marketing, admin."""
    return service.ranked_stores(args["first"], args["last"], rank_by=args["rank_by"], page=args["page"],
                                 page_size=args["page_size"])


@blp.route("/stores/<id:store_id>/o2o", methods=["GET"])
@roles_required(*ROLES)
@blp.arguments(PeriodDaysArgs, location="query")
@blp.response(200, StoreO2OSchema)
@raises(CrmError.REPORT_PERIOD_INVALID, StoreError.STORE_NOT_FOUND)
@documented_replica_report()
def store_o2o(args, store_id):
    """One store's o2o figures over the business days `from` to `to`. Role: marketing, admin."""
    return service.store_report(store_id, args["first"], args["last"])
