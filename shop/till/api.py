"""The counter inside the loop: the shopper's member code, and clerks recording and voiding till sales."""

from flask import Response, request
from flask_smorest import Blueprint

from shop import rate_limits, rotating_codes
from shop.auth import Role, current_member_id, current_principal, roles_required
from shop.catalog.errors import CatalogError
from shop.database import keeping_loaded, utcnow
from shop.errors import raises
from shop.extensions import db, limiter
from shop.orders.errors import OrderError
from shop.till import member_code
from shop.till import service as till
from shop.till.errors import TillError
from shop.till.schemas import MemberCodeSchema, SaleArgs, SaleSchema

blp = Blueprint("till", __name__, url_prefix="/api/v1", description=(
    "Purchases at a store's till, tied to the shopper. The shopper shows a member code (a QR and a number that "
    "change every 60 seconds); the clerk records the sale with it and the till's receipt number, optionally "
    "with the receipt's items and a coupon's code. The sale is an order (fulfilment `in_store`) paid at the till: "
    "points, tiers, referral (if its policy says so) and the store's figures follow it. A clerk voids a sale "
    "within TILL_VOID_WINDOW_SECONDS; later an admin refunds it with `POST /admin/orders/{id}/refund` "
    "(a till refund: the till hands the money back, nothing goes through WeChat Pay)."))

# Wrong codes a clerk, and a store's clerks together, may send before every sale there is refused (429)
# until the window ends: member codes by their own limits, coupon codes by the coupon redemption's ones.
WRONG_MEMBER_CODES_PER_CLERK = rate_limits.setting("RATE_LIMIT_WRONG_MEMBER_CODES_PER_CLERK")
WRONG_MEMBER_CODES_PER_STORE = rate_limits.setting("RATE_LIMIT_WRONG_MEMBER_CODES_PER_STORE")
WRONG_COUPON_CODES_PER_CLERK = rate_limits.setting("RATE_LIMIT_WRONG_COUPON_CODES_PER_CLERK")
WRONG_COUPON_CODES_PER_STORE = rate_limits.setting("RATE_LIMIT_WRONG_COUPON_CODES_PER_STORE")
COUPON_CODE_INVALID = "coupon_code_invalid"  # coupons' code (shop names it, never imports it)
NOT_STORED = {"Cache-Control": "no-store"}  # a code is good for a minute: no cache may keep it


def _per_store() -> str:
    """The store the clerk sells for (as the service will pick it)."""
    body = request.get_json(silent=True)
    return rate_limits.per_clerk_store(body.get("store_id") if isinstance(body, dict) else None)


def _answered(code: str):
    def counts(response) -> bool:
        body = response.get_json(silent=True) if response.is_json else None
        return isinstance(body, dict) and body.get("code") == code

    return counts


def _limited(setting, key_func, code: str):
    return limiter.limit(setting, key_func=key_func, deduct_when=_answered(code))


@blp.route("/me/member-code", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.response(200, MemberCodeSchema)
def my_member_code():
    """The member code to show at a store's till

    A QR payload and the same code as digits to type. It changes every 60 seconds (fetch again after
    `seconds_left`); a clerk accepts the current code and the one before it, so a screenshot sent to
    someone else stops working within two minutes. Role: shopper.
    """
    return member_code.code_view(current_member_id(), now=utcnow()), 200, NOT_STORED


@blp.route("/me/member-code/qr.png", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.doc(responses={200: {"description": "The current member code's QR payload as a PNG; headers say the code and "
                                         "until when it holds.",
                          "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}})
def my_member_code_qr():
    """The member code, as a QR image

    The same code as `GET /me/member-code` (`X-Member-Code`, `X-Code-Valid-Until`), drawn as a PNG for
    clients that do not render QR codes themselves. Role: shopper.
    """
    shown = member_code.shown_code(current_member_id(), utcnow())
    return Response(rotating_codes.qr_png(shown.qr_payload), mimetype="image/png", headers={
        **NOT_STORED, "X-Member-Code": shown.code, "X-Code-Valid-Until": shown.valid_until.isoformat()})


@blp.route("/staff/sales", methods=["POST"])
@roles_required(Role.STAFF)
@_limited(WRONG_MEMBER_CODES_PER_CLERK, rate_limits.per_staff, TillError.MEMBER_CODE_INVALID.value)
@_limited(WRONG_MEMBER_CODES_PER_STORE, _per_store, TillError.MEMBER_CODE_INVALID.value)
@_limited(WRONG_COUPON_CODES_PER_CLERK, rate_limits.per_staff, COUPON_CODE_INVALID)
@_limited(WRONG_COUPON_CODES_PER_STORE, _per_store, COUPON_CODE_INVALID)
@raises(TillError.MEMBER_CODE_INVALID, TillError.MEMBER_CODE_STALE, TillError.SALE_STORE_REQUIRED,
        TillError.SALE_STORE_NOT_YOURS, TillError.SALE_RECEIPT_REUSED, TillError.SALE_ITEMS_MISMATCH,
        CatalogError.SKU_NOT_FOUND, CatalogError.PRODUCT_NOT_ON_SALE, CatalogError.SKU_NOT_SOLD_AT_STORE)
@blp.arguments(SaleArgs)
@blp.response(201, SaleSchema)
@blp.alt_response(200, schema=SaleSchema, description=(
    "The same sale sent again (same store and receipt number, same member, amount, items and coupon): the first "
    "sale, recorded once."))
def record_sale(body):
    """Record a till sale for the shopper showing a member code

    **201**: recorded: the sale is an order (fulfilment `in_store`) created, paid at the till and completed;
    the shopper earns points, and a referred friend's sale rewards the sharer if the referral policy's
    `reward_till_sales` says so. **200**: the same receipt sent again: the first sale. A coupon's code
    (`coupon_code`) takes its discount off and is used by the sale: charge `order.amount_paid`. Coupons
    whose discount depends on the items (second item half price, buy N get M, a free item, a unit price)
    need `items` (422 `coupon_needs_items` otherwise); the items must add up to `amount`.

    Errors: 404 `member_code_invalid` (no member shows this code: counted, and after 10 such codes from a
    clerk in 10 minutes, or 30 at a store (`RATE_LIMIT_WRONG_MEMBER_CODES_*`), 429 `rate_limited` until
    the window ends; a wrong `coupon_code` counts against `RATE_LIMIT_WRONG_COUPON_CODES_*`), 409
    `member_code_stale` (an older code: ask for the current one), 409 `sale_receipt_reused` (this store's
    receipt number names another sale), 422 `sale_items_mismatch`, coupon errors as at redemption
    (`coupon_code_invalid`, `coupon_code_stale`, `coupon_used`, `coupon_expired`, `coupon_online_only`,
    `coupon_store_not_in_scope`, `coupon_min_spend_not_met`, `coupon_not_applicable`, `coupon_needs_items`,
    `coupon_not_found` for another member's coupon); 403 `sale_store_not_yours`; 422
    `sale_store_required` (a clerk of several stores names `store_id`). Role: staff.
    """
    done, created = till.record_sale(current_principal(), till.Sale.from_body(body), now=utcnow())
    view = till.sale_view(done)
    with keeping_loaded(db.session(), keep=created):  # a new sale is answered as written, not read back
        db.session.commit()
    return view, 201 if created else 200


@blp.route("/staff/sales/<id:sale_id>/void", methods=["POST"])
@roles_required(Role.STAFF)
@raises(TillError.SALE_NOT_FOUND, TillError.SALE_VOID_WINDOW_CLOSED, TillError.SALE_NOT_VOIDABLE,
        OrderError.REFUND_IN_PROGRESS)
@blp.response(200, SaleSchema)
def void_sale(sale_id):
    """Void a sale of your store (the till cancelled it)

    Within TILL_VOID_WINDOW_SECONDS (default 15 minutes) of the sale, by any clerk of its store: the
    order is refunded in full at the till (nothing through WeChat Pay), the points it earned are taken
    back and its coupon is available again. Voiding again returns the same. 409
    `sale_void_window_closed` later (an admin refunds it: `POST /admin/orders/{id}/refund`), 409
    `sale_not_voidable` once it was refunded; 404 `sale_not_found` (none at your stores). Role: staff.
    """
    voided, _ = till.void_sale(current_principal(), sale_id, now=utcnow())
    view = till.sale_view(voided)
    db.session.commit()
    return view
