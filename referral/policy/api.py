"""Referral policy endpoints: the rules admins set, and approving sharers who earn."""

from flask_smorest import Blueprint

from referral.errors import ReferralError
from referral.policy import service as policy
from referral.policy.schemas import ApprovalArgs, ApprovalSchema, SettingsArgs, SettingsSchema
from shop.auth import Role, current_principal, roles_required
from shop.database import utcnow
from shop.errors import raises
from shop.extensions import db

blp = Blueprint("referral_policy", __name__, url_prefix="/api/v1", description=(
    "The referral policy: who earns (everyone, approved sharers, or members who paid an order), how "
    "friends bind (first touch, protected for a number of days, or new members only), how many levels "
    "are paid (1 or 2, never more), the reward kind and rates, the refund window and the smallest "
    "withdrawal; and approving members as sharers who earn."))
ADMIN_READERS = (Role.MARKETING, Role.ADMIN)


@blp.route("/admin/referral/settings", methods=["GET"])
@roles_required(*ADMIN_READERS)
@blp.response(200, SettingsSchema)
def get_settings():
    """The referral policy. Role: marketing, admin."""
    settings = policy.load_settings()
    db.session.commit()  # the defaults' row, on first use
    return settings


@blp.route("/admin/referral/settings", methods=["PUT"])
@roles_required(Role.ADMIN)
@blp.arguments(SettingsArgs)
@blp.response(200, SettingsSchema)
@raises(ReferralError.REFERRAL_SETTINGS_INVALID)
def put_settings(args):
    """Change the referral policy

    Send the fields that change; the whole result is checked and 422 `referral_settings_invalid`
    names each wrong field (more than 2 `reward_levels` is always refused). Who changed it is kept
    (`updated_by_staff_id`). Role: admin.
    """
    settings = policy.update_settings(args, staff_id=current_principal().staff_id, now=utcnow())
    db.session.commit()
    return settings


def _approval(member_id: int, *, approved: bool, reason: str | None) -> dict:
    approved_at = policy.set_approval(member_id, approved=approved, reason=reason,
                                      staff_id=current_principal().staff_id, now=utcnow())
    db.session.commit()
    return {"member_id": member_id, "approved_at": approved_at}


@blp.route("/admin/referral/members/<id:member_id>/approve", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.arguments(ApprovalArgs)
@blp.response(200, ApprovalSchema)
@raises(ReferralError.REFERRAL_MEMBER_NOT_FOUND)
def approve_sharer(args, member_id):
    """Approve a member as a sharer who earns

    Matters under the sharer policy `approved`; kept in the member's history; approving again
    changes nothing. 404 `referral_member_not_found`. Role: admin.
    """
    return _approval(member_id, approved=True, reason=args["reason"])


@blp.route("/admin/referral/members/<id:member_id>/approve", methods=["DELETE"])
@roles_required(Role.ADMIN)
@blp.response(200, ApprovalSchema)
@raises(ReferralError.REFERRAL_MEMBER_NOT_FOUND)
def withdraw_approval(member_id):
    """Withdraw a member's approval as a sharer who earns (kept in the history). Role: admin."""
    return _approval(member_id, approved=False, reason=None)
