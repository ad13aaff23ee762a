"""Coupon endpoints: batches for marketing, the claim center and the wallet for shoppers."""

from flask import request
from flask_smorest import Blueprint

from coupons import claim as claiming
from coupons import service, stats
from coupons.schemas import (
    AdminBatchDetailSchema,
    AdminBatchSchema,
    BatchArgs,
    BatchChangesArgs,
    BatchListArgs,
    BatchStatsSchema,
    ClaimableBatchSchema,
    CouponSchema,
    WalletArgs,
)
from shop.auth import Role, current_member_id, current_principal, roles_required
from shop.database import utcnow
from shop.extensions import db
from shop.idempotency import key_doc, required_key
from shop.pagination import PageArgs, page_of

blp = Blueprint("coupons", __name__, url_prefix="/api/v1", description=(
    "Coupon batches and claiming. Amounts are integer fen. A batch is `draft` (editable), then `active` "
    "(claimable), `paused` (not claimable; activate again) or `ended` (for good). Claims never exceed the "
    "batch's `total` nor its `per_member_limit`, however many arrive at once: an atomic Redis gate hands "
    "out each claim, and the coupon rows (unique per batch, member and sequence) are the record; "
    "`flask coupons rebuild-gates` rebuilds the gates from them."))
ADMIN_ROLES = (Role.MARKETING, Role.ADMIN)
_KEY_DOC = key_doc("New per claim; a retry with the same key returns the first coupon.")


@blp.route("/admin/coupon-batches", methods=["POST"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(BatchArgs)
@blp.response(201, AdminBatchSchema)
def create_batch(args):
    """Create a batch (as a draft)

    Give `amount_off` (amount_off, threshold) or `percent` and `max_off` (percent_off), and either a fixed
    window (`starts_at`, `ends_at`) or `valid_days`. 422 names each wrong field. Role: marketing, admin.
    """
    batch = service.create_batch(args, staff_id=current_principal().staff_id, now=utcnow())
    db.session.commit()
    return service.batch_detail(batch.id)


@blp.route("/admin/coupon-batches", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(BatchListArgs, location="query")
@blp.response(200, page_of(AdminBatchSchema))
def list_batches(args):
    """Batches, newest first, optionally by `status`, with issued counts. Role: marketing, admin."""
    return service.list_batches(**args)


@blp.route("/admin/coupon-batches/<int:batch_id>", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, AdminBatchDetailSchema)
def batch_detail(batch_id):
    """A batch with its counts and `stats` (as `GET .../stats`). 404 `coupon_batch_not_found`. Role: marketing, admin."""
    return {**service.batch_detail(batch_id), "stats": stats.batch_stats(batch_id, now=utcnow())}


@blp.route("/admin/coupon-batches/<int:batch_id>/stats", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, BatchStatsSchema)
def batch_stats(batch_id):
    """A batch's results

    Issued (`claimed` in the claim center, the rest by channel), available, locked, used (online, and
    redeemed in store per store), expired, reverted redemptions, the GMV of the orders that used its coupons
    online and the discount its used coupons gave (fen). Figures are live, counted from the coupons,
    orders and redemptions. 404 `coupon_batch_not_found`. Role: marketing, admin.
    """
    return stats.batch_stats(batch_id, now=utcnow())


@blp.route("/admin/coupon-batches/<int:batch_id>", methods=["PATCH"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(BatchChangesArgs(partial=True))
@blp.response(200, AdminBatchSchema)
def update_batch(args, batch_id):
    """Change a draft batch

    Send only what changes (null clears an optional field); the result is checked as a whole (422).
    A batch that is not a draft: 409 `coupon_batch_state_conflict`. Role: marketing, admin.
    """
    changes = {field: args[field] for field in args if field in request.get_json(silent=True) or {}}
    service.update_batch(batch_id, changes, now=utcnow())
    db.session.commit()
    return service.batch_detail(batch_id)


def _transition(batch_id: int, action: str):
    service.change_status(batch_id, action, now=utcnow())
    db.session.commit()
    return service.batch_detail(batch_id)


@blp.route("/admin/coupon-batches/<int:batch_id>/activate", methods=["POST"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, AdminBatchSchema)
def activate_batch(batch_id):
    """Open a draft or paused batch for claiming; 409 `coupon_batch_state_conflict` otherwise. Role: marketing, admin."""
    return _transition(batch_id, "activate")


@blp.route("/admin/coupon-batches/<int:batch_id>/pause", methods=["POST"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, AdminBatchSchema)
def pause_batch(batch_id):
    """Stop claims of an active batch for now; 409 `coupon_batch_state_conflict` otherwise. Role: marketing, admin."""
    return _transition(batch_id, "pause")


@blp.route("/admin/coupon-batches/<int:batch_id>/end", methods=["POST"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, AdminBatchSchema)
def end_batch(batch_id):
    """End an active or paused batch for good (claimed coupons stay valid); 409 otherwise. Role: marketing, admin."""
    return _transition(batch_id, "end")


@blp.route("/coupon-batches", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ClaimableBatchSchema))
def claimable(page):
    """Batches you can claim now, with how many more you may claim. Role: shopper."""
    return claiming.claimable_batches(current_member_id(), now=utcnow(), **page)


@blp.route("/coupon-batches/<int:batch_id>/claim", methods=["POST"])
@roles_required(Role.SHOPPER)
@blp.response(201, CouponSchema)
@blp.doc(parameters=_KEY_DOC)
def claim_coupon(batch_id):
    """Claim a coupon of a batch

    201 with the new coupon; a retry with the same `Idempotency-Key` answers 200 with the first one
    (the key used on another batch: 422 `idempotency_key_reused`). 409 `coupon_out_of_stock`,
    `coupon_limit_reached`, `coupon_batch_not_active`; 404 `coupon_batch_not_found`. Role: shopper.
    """
    key = required_key()
    now = utcnow()
    claimed = claiming.claim(batch_id=batch_id, member_id=current_member_id(), key=key, now=now)
    body = {"coupon": claimed.coupon, "batch": claimed.batch, "status": claiming.shown_status(claimed.coupon, now)}
    return body, 201 if claimed.created else 200


@blp.route("/me/coupons", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(WalletArgs, location="query")
@blp.response(200, page_of(CouponSchema))
def my_coupons(args):
    """Your coupons: `available` soonest to expire first, others newest first

    A coupon past its `expires_at` shows as `expired`. Role: shopper.
    """
    return claiming.wallet(current_member_id(), now=utcnow(), **args)
