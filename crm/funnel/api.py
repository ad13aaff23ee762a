"""GET /api/v1/admin/funnel: join -> first paid order -> shared -> a friend bound -> a friend paid."""

from flask_smorest import Blueprint

from crm.errors import CrmError
from crm.funnel import service
from crm.funnel.schemas import FunnelArgs, FunnelSchema
from shop.auth import Role, roles_required
from shop.database import utcnow
from shop.errors import raises
from shop.replica import documented_replica_report
from shop.stores.errors import StoreError

blp = Blueprint("crm_funnel", __name__, url_prefix="/api/v1/admin", description=(
    "The member funnel from the daily rollups (docs/crm.md, Funnel). Every answer carries `as_of`."))


@blp.route("/funnel", methods=["GET"])
@roles_required(Role.MARKETING, Role.ADMIN)
@blp.arguments(FunnelArgs, location="query")
@blp.response(200, FunnelSchema)
@raises(CrmError.REPORT_PERIOD_INVALID, StoreError.STORE_NOT_FOUND)
@documented_replica_report()
def get_funnel(args):
    """Members who joined (first login) in the business days `from`..`to`, then made a first paid order
    (online or at a till), shared, had a friend bound under them and had a friend pay: counts, conversion
    over the previous step and over the joined, the official-account follow beside the first step, and the
    same per ISO join week. Filters: `store_id`, `campaign`, `share_id` (what brought the member at
    registration). Role: marketing, admin."""
    return service.funnel(args.pop("from_"), args.pop("to"), now=utcnow(), **args)
