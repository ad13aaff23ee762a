"""Withdrawals: commission withdrawn to WeChat change, and the admin's review of withdrawals."""

from flask_smorest import Blueprint

from referral.errors import ReferralError
from referral.withdrawals import service as withdrawals
from referral.withdrawals.schemas import (
    ApproveArgs,
    MyWithdrawalSchema,
    RejectArgs,
    WithdrawalArgs,
    WithdrawalFilterArgs,
    WithdrawalSchema,
)
from shop import rate_limits
from shop.auth import Role, current_member_id, current_principal, roles_required
from shop.errors import CommonError, raises
from shop.extensions import db
from shop.idempotency import IdempotencyError, key_doc, required_key
from shop.pagination import PageArgs, page_of

blp = Blueprint("referral_withdrawals", __name__, url_prefix="/api/v1", description=(
    "Commission is withdrawn to WeChat change through WeChat Pay's merchant transfer after an admin approves; "
    "the amount is held from the request on and comes back if the request is rejected or the transfer fails."))


@blp.route("/me/withdrawals", methods=["POST"])
@roles_required(Role.SHOPPER)
@rate_limits.per_member_under_ceiling("RATE_LIMIT_WITHDRAWALS_PER_MEMBER")
@blp.arguments(WithdrawalArgs)
@blp.response(201, MyWithdrawalSchema)
@blp.doc(parameters=key_doc("A new random key per request; a retry with the same key answers the first."))
@raises(ReferralError.WITHDRAWAL_BELOW_MINIMUM, ReferralError.WITHDRAWAL_ABOVE_MAXIMUM,
        ReferralError.WITHDRAWAL_ALREADY_OPEN, ReferralError.COMMISSION_INSUFFICIENT, IdempotencyError.KEY_REQUIRED,
        IdempotencyError.KEY_REUSED, CommonError.RATE_LIMITED)
def request_withdrawal(args):
    """Withdraw commission to your WeChat change

    At least the brand's minimum (422 `withdrawal_below_minimum`), below 2,000 yuan (422
    `withdrawal_above_maximum`), at most your balance (409 `commission_insufficient`), one open
    request at a time (409 `withdrawal_already_open`). The amount is held at once. A retry with the
    same `Idempotency-Key` answers the first request (400 `idempotency_key_required` without one).
    Rate limited per member (`RATE_LIMIT_WITHDRAWALS_PER_MEMBER`, 10 a minute). Role: shopper.
    """
    withdrawal = withdrawals.request_withdrawal(member_id=current_member_id(), amount=args["amount"],
                                                key=required_key())
    db.session.commit()
    return withdrawal


@blp.route("/me/withdrawals", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(MyWithdrawalSchema))
def my_withdrawals(page):
    """Your withdrawals, newest first; a paying one carries what `wx.requestMerchantTransfer` needs. Role: shopper."""
    return withdrawals.my_withdrawals(current_member_id(), **page)


@blp.route("/admin/referral/withdrawals", methods=["GET"])
@roles_required(Role.ADMIN, Role.MARKETING)
@blp.arguments(WithdrawalFilterArgs, location="query")
@blp.response(200, page_of(WithdrawalSchema))
def list_withdrawals(args):
    """Withdrawals, newest first, by `status` and `member_id`. Role: admin, marketing."""
    return withdrawals.all_withdrawals(status=args.pop("status"), member_id=args.pop("member_id"), **args)


@blp.route("/admin/referral/withdrawals/<id:withdrawal_id>/approve", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.arguments(ApproveArgs)
@blp.response(200, WithdrawalSchema)
@raises(ReferralError.WITHDRAWAL_NOT_FOUND, ReferralError.WITHDRAWAL_NOT_REVIEWABLE)
def approve_withdrawal(args, withdrawal_id):
    """Approve a withdrawal and pay it through WeChat Pay's merchant transfer

    The transfer is written to the outbox with the approval and sent once it commits: the answer
    shows where it stands then, `paying` (the member confirms receipt in WeChat), `paid`, `failed`
    (with WeChat's reason; the amount is back on the member's balance), or `approved` while it waits
    (in production an RQ worker sends it moments later; WeChat Pay busy or unreachable: it is sent
    again with backoff, always under the same bill number, so it is never paid twice; failing for
    too long, it shows in `GET /api/v1/admin/outbox?status=failed` to be sent again). Approving an
    approved withdrawal answers it unchanged. 409 `withdrawal_not_reviewable` for one already
    decided; 404 `withdrawal_not_found`. Role: admin.
    """
    withdrawal = withdrawals.approve(withdrawal_id, staff_id=current_principal().staff_id, note=args["note"])
    db.session.commit()
    return withdrawal


@blp.route("/admin/referral/withdrawals/<id:withdrawal_id>/reject", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.arguments(RejectArgs)
@blp.response(200, WithdrawalSchema)
@raises(ReferralError.WITHDRAWAL_NOT_FOUND, ReferralError.WITHDRAWAL_NOT_REVIEWABLE)
def reject_withdrawal(args, withdrawal_id):
    """Reject a requested withdrawal, with a note; the amount goes back on the member's balance

    409 `withdrawal_not_reviewable` unless it is requested; 404 `withdrawal_not_found`. Role: admin.
    """
    withdrawal = withdrawals.reject(withdrawal_id, staff_id=current_principal().staff_id, note=args["note"])
    db.session.commit()
    return withdrawal
