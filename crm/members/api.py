"""The admin's member list and member view (marketing and admins; phone numbers masked for marketing)."""

from flask_smorest import Blueprint

from crm.errors import CrmError
from crm.members import service
from crm.members.schemas import (
    CrmJourneyArgs,
    CrmJourneyPageSchema,
    CrmMemberListArgs,
    CrmMemberPageSchema,
    CrmMemberViewSchema,
)
from shop.auth import Role, current_principal, roles_required
from shop.database import utcnow
from shop.errors import raises

blp = Blueprint("crm_members", __name__, url_prefix="/api/v1/admin", description=(
    "Members as marketing sees them. Phone numbers are masked (`138****5678`) except for admins."))
ROLES = (Role.MARKETING, Role.ADMIN)


def _admin() -> bool:
    return current_principal().role == Role.ADMIN


@blp.route("/members", methods=["GET"])
@roles_required(*ROLES)
@blp.arguments(CrmMemberListArgs, location="query")
@blp.response(200, CrmMemberPageSchema)
@raises(CrmError.SEGMENT_NOT_FOUND)
def list_members(args):
    """Members, newest first, filtered by `segment_id`, `tag` and `q`. Role: marketing, admin."""
    return service.list_members(**args, full_phone=_admin(), now=utcnow())


@blp.route("/members/<id:member_id>", methods=["GET"])
@roles_required(*ROLES)
@blp.response(200, CrmMemberViewSchema)
@raises(CrmError.MEMBER_NOT_FOUND)
def member_view(member_id):
    """A member: profile, follow, tier and points, orders, coupons, referrer and downline, tags and the first
    page of the journey. Role: marketing, admin."""
    return service.member_view(member_id, full_phone=_admin(), now=utcnow())


@blp.route("/members/<id:member_id>/journey", methods=["GET"])
@roles_required(*ROLES)
@blp.arguments(CrmJourneyArgs, location="query")
@blp.response(200, CrmJourneyPageSchema)
@raises(CrmError.MEMBER_NOT_FOUND)
def member_journey(args, member_id):
    """A member's journey events, newest first. Role: marketing, admin."""
    service.require_member(member_id)
    return service.journey(member_id, **args)
