"""Coupon batch endpoints for marketing: create, edit, activate, pause and end batches; their figures."""

from flask import request
from flask_smorest import Blueprint

from coupons.batches import service, stats
from coupons.batches.schemas import (
    AdminBatchDetailSchema,
    AdminBatchSchema,
    BatchArgs,
    BatchChangesArgs,
    BatchListArgs,
    BatchStatsSchema,
)
from coupons.errors import CouponError
from shop.auth import Role, current_principal, roles_required
from shop.database import utcnow
from shop.errors import raises
from shop.extensions import db
from shop.pagination import page_of
from shop.replica import documented_replica_report

blp = Blueprint("coupon_batches", __name__, url_prefix="/api/v1", description=(
    "Coupon batches for marketing. Amounts are integer fen. A batch is `draft` (editable), then `active` "
    "(claimable), `paused` (not claimable; activate again) or `ended` (for good); claiming, checkout and "
    "redemption are described under `coupons` and `coupon_redemption`."))
ADMIN_ROLES = (Role.MARKETING, Role.ADMIN)


@blp.route("/admin/coupon-batches", methods=["POST"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(BatchArgs)
@blp.response(201, AdminBatchSchema)
def create_batch(args):
    """Create a batch (as a draft)

    Give the `kind` and its own fields (amount_off, threshold: `amount_off`; percent_off: `percent`,
    `max_off`; nth_item_percent: `nth`, `percent`; buy_n_get_m: `buy`, `get`; free_item: `max_off`;
    unit_price: `unit_price`), and either a fixed window (`starts_at`, `ends_at`) or `valid_days`.
    Kinds whose discount depends on the items bought are online only. 422 names each wrong field.
    Role: marketing, admin.
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


@blp.route("/admin/coupon-batches/<id:batch_id>", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, AdminBatchDetailSchema)
@raises(CouponError.COUPON_BATCH_NOT_FOUND)
@documented_replica_report()
def batch_detail(batch_id):
    """A batch with its counts and `stats` (as `GET .../stats`). 404 `coupon_batch_not_found`. Role: marketing, admin."""
    return {**service.batch_detail(batch_id), "stats": stats.batch_stats(batch_id, now=utcnow())}


@blp.route("/admin/coupon-batches/<id:batch_id>/stats", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, BatchStatsSchema)
@raises(CouponError.COUPON_BATCH_NOT_FOUND)
@documented_replica_report()
def batch_stats(batch_id):
    """A batch's results

    Issued (`claimed` in the claim center, the rest by channel), available, locked, used (online, and
    redeemed in store per store), expired, reverted redemptions, the GMV of the orders that used its coupons
    online and the discount its used coupons gave (fen). Figures are live, counted from the coupons,
    orders and redemptions (of the reports' replica when there is one). 404 `coupon_batch_not_found`.
    Role: marketing, admin.
    """
    return stats.batch_stats(batch_id, now=utcnow())


@blp.route("/admin/coupon-batches/<id:batch_id>", methods=["PATCH"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(BatchChangesArgs(partial=True))
@blp.response(200, AdminBatchSchema)
@raises(CouponError.COUPON_BATCH_NOT_FOUND, CouponError.COUPON_BATCH_STATE_CONFLICT)
def update_batch(args, batch_id):
    """Change a draft batch

    Send only what changes (null clears an optional field); the result is checked as a whole (422).
    A batch that is not a draft: 409 `coupon_batch_state_conflict`. Role: marketing, admin.
    """
    sent = request.get_json(silent=True) or {}
    changes = {field: args[field] for field in args if field in sent}
    service.update_batch(batch_id, changes, now=utcnow())
    db.session.commit()
    return service.batch_detail(batch_id)


def _transition(batch_id: int, action: str):
    service.change_status(batch_id, action, now=utcnow())
    db.session.commit()
    return service.batch_detail(batch_id)


@blp.route("/admin/coupon-batches/<id:batch_id>/activate", methods=["POST"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, AdminBatchSchema)
@raises(CouponError.COUPON_BATCH_NOT_FOUND, CouponError.COUPON_BATCH_STATE_CONFLICT)
def activate_batch(batch_id):
    """Open a draft or paused batch for claiming; 409 `coupon_batch_state_conflict` otherwise. Role: marketing, admin."""
    return _transition(batch_id, "activate")


@blp.route("/admin/coupon-batches/<id:batch_id>/pause", methods=["POST"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, AdminBatchSchema)
@raises(CouponError.COUPON_BATCH_NOT_FOUND, CouponError.COUPON_BATCH_STATE_CONFLICT)
def pause_batch(batch_id):
    """Stop claims of an active batch for now; 409 `coupon_batch_state_conflict` otherwise. Role: marketing, admin."""
    return _transition(batch_id, "pause")


@blp.route("/admin/coupon-batches/<id:batch_id>/end", methods=["POST"])
@roles_required(*ADMIN_ROLES)
@blp.response(200, AdminBatchSchema)
@raises(CouponError.COUPON_BATCH_NOT_FOUND, CouponError.COUPON_BATCH_STATE_CONFLICT)
def end_batch(batch_id):
    """End an active or paused batch for good (claimed coupons stay valid); 409 otherwise. Role: marketing, admin."""
    return _transition(batch_id, "end")
