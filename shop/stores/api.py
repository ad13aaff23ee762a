"""Staff endpoints: password login for clerks, marketing and admins."""

from flask_smorest import Blueprint

from shop.auth import issue_staff_token
from shop.extensions import db, limiter
from shop.stores import service
from shop.stores.schemas import StaffLoginArgs, StaffLoginSchema

blp = Blueprint("staff", __name__, url_prefix="/api/v1", description="Staff, marketing and admin accounts.")


@blp.route("/auth/staff-login", methods=["POST"])
@limiter.limit("10 per minute")
@blp.arguments(StaffLoginArgs)
@blp.response(200, StaffLoginSchema)
def staff_login(args):
    """Log in with a staff username and password

    Rate limited per client address (10 a minute). Role: anyone.
    """
    account = service.authenticate(args["username"], args["password"])
    db.session.commit()
    return {"token": issue_staff_token(account), "role": account.role, "store_ids": account.store_ids}
