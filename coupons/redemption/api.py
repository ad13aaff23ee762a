"""In-store redemption endpoints: the shopper's rotating code, and staff redeeming, reverting, listing."""

from flask import Response, request
from flask_smorest import Blueprint

from coupons.errors import CouponError
from coupons.redemption import code
from coupons.redemption import service as redemption
from coupons.redemption.schemas import (
    CouponCodeSchema,
    RedeemArgs,
    RedemptionListArgs,
    RedemptionSchema,
)
from shop import rate_limits
from shop.auth import Role, current_member_id, current_principal, roles_required
from shop.database import utcnow
from shop.errors import CommonError, raises
from shop.extensions import db, limiter
from shop.pagination import page_of

blp = Blueprint("coupon_redemption", __name__, url_prefix="/api/v1", description=(
    "Coupons redeemed at a store's counter. The shopper opens a coupon and shows its code (a QR and a number "
    "that change every 60 seconds, derived with HMAC-SHA256 from the coupon's own secret); a clerk of a store "
    "in the coupon's scope scans or types it and the coupon is used, once. A clerk of the same store can revert "
    "a redemption within 10 minutes. Wrong codes are rate limited per clerk and per store."))

# Wrong codes a clerk, and a store's clerks together, may send in a window before every redemption
# there is refused (429) until the window ends: guessing 8 digits takes tens of millions of tries.
WRONG_CODES_PER_CLERK = rate_limits.setting("RATE_LIMIT_WRONG_COUPON_CODES_PER_CLERK")
WRONG_CODES_PER_STORE = rate_limits.setting("RATE_LIMIT_WRONG_COUPON_CODES_PER_STORE")
NOT_STORED = {"Cache-Control": "no-store"}  # a code is good for a minute: no cache may keep it


def _per_store() -> str:
    """The store the clerk redeems for (as the service will pick it)."""
    body = request.get_json(silent=True)
    return rate_limits.per_clerk_store(body.get("store_id") if isinstance(body, dict) else None)


def _wrong_code(response) -> bool:
    """Only codes that match no coupon count against the limits (not used or expired coupons)."""
    body = response.get_json(silent=True) if response.is_json else None
    return isinstance(body, dict) and body.get("code") == CouponError.COUPON_CODE_INVALID.value


@blp.route("/me/coupons/<id:coupon_id>/code", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.response(200, CouponCodeSchema)
@raises(CouponError.COUPON_NOT_FOUND, CouponError.COUPON_ONLINE_ONLY, CouponError.COUPON_USED,
        CouponError.COUPON_LOCKED, CouponError.COUPON_EXPIRED, CouponError.COUPON_NOT_YET_VALID)
def coupon_code(coupon_id):
    """The code to show at a store's counter

    A QR payload and the same code as digits to type. It changes every 60 seconds (fetch again after
    `seconds_left`); a clerk accepts the current code and the one before it, so a screenshot sent to
    someone else stops working within two minutes. Only for an available coupon usable in stores:
    404 `coupon_not_found` (not yours), 409 `coupon_online_only`, `coupon_used`, `coupon_locked`,
    `coupon_expired`, `coupon_not_yet_valid`. Role: shopper.
    """
    return redemption.shopper_code(current_member_id(), coupon_id, now=utcnow()), 200, NOT_STORED


@blp.route("/me/coupons/<id:coupon_id>/code/qr.png", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.doc(responses={200: {"description": "The current code's QR payload as a PNG; headers say the code and until "
                                         "when it holds.",
                          "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}})
@raises(CouponError.COUPON_NOT_FOUND, CouponError.COUPON_ONLINE_ONLY, CouponError.COUPON_USED,
        CouponError.COUPON_LOCKED, CouponError.COUPON_EXPIRED, CouponError.COUPON_NOT_YET_VALID)
def coupon_code_qr(coupon_id):
    """The code to show, as a QR image

    The same code as `GET /me/coupons/{id}/code` (`X-Coupon-Code`, `X-Code-Valid-Until`), drawn as a PNG for
    clients that do not render QR codes themselves. Same errors. Role: shopper.
    """
    shown = redemption.shopper_code(current_member_id(), coupon_id, now=utcnow())
    return Response(code.qr_png(shown["qr_payload"]), mimetype="image/png", headers={
        **NOT_STORED, "X-Coupon-Code": shown["code"], "X-Code-Valid-Until": shown["valid_until"].isoformat()})


@blp.route("/staff/redemptions", methods=["POST"])
@roles_required(Role.STAFF)
@limiter.limit(WRONG_CODES_PER_CLERK, key_func=rate_limits.per_staff, deduct_when=_wrong_code)
@limiter.limit(WRONG_CODES_PER_STORE, key_func=_per_store, deduct_when=_wrong_code)
@blp.arguments(RedeemArgs)
@blp.response(201, RedemptionSchema)
@blp.alt_response(200, schema=RedemptionSchema, description=(
    "The same request retried: you redeemed this coupon at this store within the last COUNTER_RETRY_SECONDS "
    "(10 s): the same redemption. Do not give the discount again."))
@raises(CouponError.COUPON_CODE_INVALID, CouponError.COUPON_CODE_STALE, CouponError.COUPON_USED,
        CouponError.COUPON_LOCKED, CouponError.COUPON_EXPIRED, CouponError.COUPON_NOT_YET_VALID,
        CouponError.COUPON_ONLINE_ONLY, CouponError.COUPON_STORE_NOT_IN_SCOPE,
        CouponError.REDEMPTION_STORE_NOT_YOURS, CouponError.REDEMPTION_STORE_REQUIRED, CommonError.RATE_LIMITED,
        notes={CouponError.COUPON_USED: "already used, by anyone; `details` say `used_at`, `store_id`, "
                                        "`store_name`, `used_in`, `redemption_id`"})
def redeem(body):
    """Redeem a shopper's coupon code at your store

    **201**: redeemed now; give the discount. **200**: the same request retried (a lost answer, a
    double tap): the same clerk at the same store within `COUNTER_RETRY_SECONDS` (default 10 s) of
    the redemption gets it again, and the discount was already given. **409 `coupon_used`**: already
    used, by anyone (you too, later than that window), with `details` saying when and where:
    `used_at`, `store_id`, `store_name`, `used_in` (`in_store` or `online`), `redemption_id` (in a
    store; a clerk of that store may revert it within 10 minutes). Two clerks at once: one gets 201,
    the other 409. Other errors: 404 `coupon_code_invalid` (no coupon shows this code: counted, and
    after 10 such codes from a clerk in 10 minutes, or 30 at a store (`RATE_LIMIT_WRONG_COUPON_CODES_*`),
    429 `rate_limited` until the window ends), 409 `coupon_code_stale` (an older code: ask for the
    current one), `coupon_expired`,
    `coupon_not_yet_valid`, `coupon_used`, `coupon_locked` (held by an unpaid online order),
    `coupon_online_only`; 422 `coupon_needs_items` (a kind priced on the items, such as second item half
    price: record it with the sale's items, `POST /staff/sales`); 403 `redemption_store_not_yours`; 422 `coupon_store_not_in_scope` (not
    valid at this store), `redemption_store_required` (a clerk of several stores names `store_id`).
    Role: staff.
    """
    done, created = redemption.redeem(current_principal(), body["code"], store_id=body["store_id"], now=utcnow())
    view = redemption.redemption_view(done)
    db.session.commit()
    return view, 201 if created else 200


@blp.route("/staff/redemptions/<id:redemption_id>/revert", methods=["POST"])
@roles_required(Role.STAFF)
@blp.response(200, RedemptionSchema)
@raises(CouponError.REDEMPTION_NOT_FOUND, CouponError.REDEMPTION_REVERT_WINDOW_CLOSED)
def revert(redemption_id):
    """Revert a redemption of your store (the wrong coupon was scanned)

    Within 10 minutes of the redemption, by any clerk of its store: the coupon is available again
    (or expired, if its validity ended meanwhile) and the redemption keeps `reverted_at` and
    `reverted_by_staff_id`. Reverting again returns the same. 409 `redemption_revert_window_closed`
    after 10 minutes; 404 `redemption_not_found` (none at your stores). Role: staff.
    """
    reverted, _ = redemption.revert(current_principal(), redemption_id, now=utcnow())
    view = redemption.redemption_view(reverted)
    db.session.commit()
    return view


@blp.route("/staff/redemptions", methods=["GET"])
@roles_required(Role.STAFF, Role.ADMIN)
@blp.arguments(RedemptionListArgs, location="query")
@blp.response(200, page_of(RedemptionSchema))
@raises(CouponError.REDEMPTION_STORE_NOT_YOURS)
def list_redemptions(args):
    """Redemptions at your stores, newest first, reverted ones included

    `store_id` narrows to one of your stores (403 `redemption_store_not_yours` for another); an
    admin sees any store, or all. Role: staff, admin.
    """
    return redemption.list_redemptions(current_principal(), **args)
