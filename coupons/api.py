"""Coupon endpoints: batches for marketing, the claim center and the wallet for shoppers."""

from flask import request
from flask_smorest import Blueprint

from coupons import claim as claiming
from coupons import service
from coupons.schemas import (
    AdminBatchSchema,
    BatchArgs,
    BatchChangesArgs,
    BatchListArgs,
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
    "`flask coupons rebuild-gates` rebuilds the gates from them. At checkout (`coupon_id` of "
    "`orders/preview` and `orders`) a coupon is locked by the order, used when it is paid, released when "
    "it is cancelled, and returned by a full refund before shipping or pickup while still valid "
    "(see the Coupon schema). A coupon that cannot be used answers preview and create with its own code: "
    "404 `coupon_not_found` (unknown or another member's); 409 `coupon_locked`, `coupon_used`, "
    "`coupon_expired`, `coupon_not_yet_valid`; 422 `coupon_not_usable_online` (in-store only), "
    "`coupon_store_not_in_scope` (pickup at a store it does not cover; delivery is bound to no store), "
    "`coupon_not_applicable` (nothing in the basket is covered), `coupon_min_spend_not_met` (measured on "
    "the covered items). Without `coupon_id`, preview's `suggestions.coupons.best` names the usable coupon "
    "taking off the most (tie: the soonest to expire); it is not applied until chosen. Percent discounts "
    "round up to the fen (in the shopper's favour) and no discount exceeds what the covered items cost."))
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
@blp.response(200, AdminBatchSchema)
def batch_detail(batch_id):
    """A batch with its counts. 404 `coupon_batch_not_found`. Role: marketing, admin."""
    return service.batch_detail(batch_id)


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
    coupon, created = claiming.claim(batch_id=batch_id, member_id=current_member_id(), key=key, now=now)
    body = {"coupon": coupon, "batch": service.get_batch(coupon.batch_id),
            "status": claiming.shown_status(coupon, now)}
    return body, 201 if created else 200


@blp.route("/me/coupons", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(WalletArgs, location="query")
@blp.response(200, page_of(CouponSchema))
def my_coupons(args):
    """Your coupons: `available` soonest to expire first, others newest first

    A coupon past its `expires_at` shows as `expired`; `locked` ones are held by an unpaid order.
    Role: shopper.
    """
    return claiming.wallet(current_member_id(), now=utcnow(), **args)


@blp.route("/me/coupons/<int:coupon_id>", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.response(200, CouponSchema)
def my_coupon(coupon_id):
    """One of your coupons, with its batch; another member's is 404 `coupon_not_found`. Role: shopper."""
    return claiming.own_coupon(current_member_id(), coupon_id, now=utcnow())
