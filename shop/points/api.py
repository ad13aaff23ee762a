"""Points endpoints: the shopper's balance, tier and ledger; the admin's view and adjustments."""

from flask_smorest import Blueprint

from shop.auth import Role, current_member_id, current_principal, roles_required
from shop.errors import raises
from shop.extensions import db
from shop.idempotency import IdempotencyError
from shop.members.errors import MemberError
from shop.pagination import PageArgs
from shop.points import service
from shop.points.errors import PointsError
from shop.points.rules import load_rules
from shop.points.schemas import (
    AdjustmentArgs,
    AdminPointsSchema,
    IdempotencyHeader,
    LedgerEntrySchema,
    PointsSchema,
)

blp = Blueprint("points", __name__, url_prefix="/api/v1", description=(
    "Loyalty points. Paid orders earn `floor(fen paid / 100 x POINTS_PER_YUAN_EARNED x tier multiplier)` points "
    "(fractions of a point are dropped); at checkout P points take `floor(P x 100 / POINTS_PER_YUAN_DEDUCTED)` "
    "fen off, at most `POINTS_MAX_DEDUCTION_PERCENT` of what is left to pay (rounded down to the fen), "
    "and only the fewest points that buy that discount are spent. Each credit is a lot that expires "
    "`POINTS_EXPIRE_MONTHS` calendar months later; spending takes the lots that expire first. A cancelled "
    "order gives back all it spent; a refund gives back `ceil(spent x refunded / paid)` and takes back "
    "`floor(earned x refunded / paid)` in total (in the shopper's favour; a full refund reverses exactly "
    "all). Returned points keep their expiry date, but at least 30 days. Points taken back that were "
    "already spent are owed (`owed`) and paid from the next points; the balance is never negative. "
    "Tiers follow the points earned in the trailing 12 months (`POINTS_TIERS`)."))


@blp.record_once
def _check_settings(state) -> None:
    """Refuse to start on points settings that make no sense (names the variable)."""
    load_rules(state.app.config)


@blp.route("/me/points", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(PageArgs, location="query")
@blp.response(200, PointsSchema)
def my_points(page):
    """Your points: balance, tier, what expires next, and your ledger

    The ledger is paginated (`page`, `page_size`), newest first. Role: shopper.
    """
    return service.points_overview(current_member_id(), **page)


@blp.route("/admin/members/<id:member_id>/points", methods=["GET"])
@roles_required(Role.ADMIN)
@blp.arguments(PageArgs, location="query")
@blp.response(200, AdminPointsSchema)
@raises(MemberError.MEMBER_NOT_FOUND)
def member_points(page, member_id):
    """A member's points, as the member sees them. 404 `member_not_found`. Role: admin."""
    return service.member_overview(member_id, **page)


@blp.route("/admin/members/<id:member_id>/points", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.arguments(IdempotencyHeader, location="headers")
@blp.arguments(AdjustmentArgs)
@blp.response(201, LedgerEntrySchema)
@raises(MemberError.MEMBER_NOT_FOUND, PointsError.POINTS_INSUFFICIENT, IdempotencyError.KEY_REUSED)
def adjust_points(headers, args, member_id):
    """Add or remove a member's points, with a reason

    Added points expire like earned ones. Removing more than the balance is 409
    `points_insufficient` and changes nothing. An `Idempotency-Key` header makes a retry answer the
    first adjustment (the same key with a different body is 422 `idempotency_key_reused`).
    404 `member_not_found`. Role: admin.
    """
    entry = service.adjust_points(member_id=member_id, delta=args["delta"], reason=args["reason"],
                                  actor_staff_id=current_principal().staff_id, key=headers["idempotency_key"])
    db.session.commit()
    return entry

