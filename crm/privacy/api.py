"""A shopper's personal data: export it, delete the account."""

from flask import current_app
from flask_smorest import Blueprint

from crm.privacy import export, service
from crm.privacy.errors import PrivacyError
from crm.privacy.schemas import DeletionSchema, ExportPartArgs
from shop import rate_limits
from shop.auth import Role, current_member_id, roles_required
from shop.database import utcnow
from shop.errors import CommonError, raises
from shop.extensions import db
from shop.members.errors import MemberError

blp = Blueprint("privacy", __name__, url_prefix="/api/v1", description="Your personal data: export, deletion.")


@blp.route("/me/export", methods=["GET"])
@roles_required(Role.SHOPPER)
@rate_limits.per_member_under_ceiling("RATE_LIMIT_PRIVACY_EXPORT_PER_MEMBER")
@blp.response(200)
@raises(MemberError.MEMBER_NOT_FOUND, CommonError.RATE_LIMITED)
def export_all():
    """Your data, as JSON

    Your profile, your place in the referral tree (the sharer above you only as a masked nickname) and
    each list (consent history, orders with lines, coupons, points ledger, shares, share opens,
    downline as masked nicknames, journey events, subscriptions, messages, till sales, content reviews)
    as its first page of `PRIVACY_EXPORT_PAGE_SIZE` items with its `total` and `next`, the path of its
    next page (null at the end). Rate limited per member
    (`RATE_LIMIT_PRIVACY_EXPORT_PER_MEMBER`, 30 an hour; the pages count on their own): 429 `rate_limited`. Role: shopper.
    """
    return export.export(current_member_id(), page_size=current_app.config["PRIVACY_EXPORT_PAGE_SIZE"])


@blp.route("/me/export/<string:part>", methods=["GET"])
@roles_required(Role.SHOPPER)
@rate_limits.per_member_under_ceiling("RATE_LIMIT_PRIVACY_EXPORT_PER_MEMBER")
@blp.arguments(ExportPartArgs, location="query")
@blp.response(200)
@raises(PrivacyError.EXPORT_PART_NOT_FOUND, CommonError.RATE_LIMITED)
def export_part(args, part):
    """One page of one part of your data (404 `export_part_not_found` for an unknown part). Role: shopper."""
    page_size = args["page_size"] or current_app.config["PRIVACY_EXPORT_PAGE_SIZE"]
    return export.export_part(current_member_id(), part, page=args["page"], page_size=page_size)


@blp.route("/me", methods=["DELETE"])
@roles_required(Role.SHOPPER)
@blp.response(200, DeletionSchema)
@raises(MemberError.MEMBER_NOT_FOUND, PrivacyError.DELETION_WITHDRAWAL_OPEN, PrivacyError.DELETION_UNPAID_ORDER,
        PrivacyError.DELETION_REFUND_OPEN)
def delete_me():
    """Delete your account

    Refused (409) while a withdrawal of your commission (`deletion_withdrawal_open`), an unpaid order
    (`deletion_unpaid_order`) or a refund (`deletion_refund_open`) is open. Otherwise who you are is
    erased (WeChat ids, phone, nickname, avatar, addresses and devices in your events and share opens)
    while your orders, payments, points and place in the tree keep their meaning for the accounts; your
    tokens stop at once, and the same WeChat account logs in later as a new member. Role: shopper.
    """
    deletion = service.delete_account(current_member_id(), now=utcnow())
    db.session.commit()
    return deletion
