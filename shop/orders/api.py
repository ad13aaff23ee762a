"""Order endpoints: checkout and payment for shoppers, pickup for store staff, WeChat Pay's notify."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import request
from flask_smorest import Blueprint

from shop import rate_limits
from shop.auth import Role, current_member_id, current_principal, roles_required
from shop.catalog.errors import CatalogError
from shop.database import keeping_loaded, utcnow
from shop.errors import AppError, error_body, raises
from shop.extensions import db, limiter
from shop.idempotency import IdempotencyError, key_doc, required_key
from shop.orders import checkout, lifecycle, pickup, service
from shop.orders.errors import OrderError
from shop.orders.models import OrderStatus
from shop.orders.payment import handle_pay_notify, payment_params
from shop.orders.refunds import SHOPPER_REFUNDABLE, STAFF_REFUNDABLE, request_refund
from shop.orders.schemas import (
    AdminOrderSchema,
    BreakdownSchema,
    CheckoutArgs,
    OrderDetailSchema,
    OrderListArgs,
    OrderSchema,
    PickupArgs,
    PickupSchema,
    PlacedOrderSchema,
    RefundArgs,
)
from shop.pagination import PageArgs, page_of, paginate
from shop.points.errors import PointsError
from shop.shipping.errors import ShippingError
from shop.shipping.schemas import ShipArgs
from shop.stores.errors import StoreError
from shop.wechat.errors import WeChatError, WeChatPayError

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description=(
    "Checkout, WeChat Pay, cancel and refund for shoppers; pickup for store staff. Money is in fen. "
    "An unpaid order is cancelled when its payment window passes (ORDER_PAYMENT_TIMEOUT_SECONDS), "
    "returning its stock, coupon and points. A paid pickup order gets an 8-digit pickup code and is "
    "ready_for_pickup at once, or, at a store that prepares orders, when its clerks mark it ready "
    "(paid -> preparing -> ready_for_pickup; see the order_making endpoints)."))
notify_blp = FlaskBlueprint("wechat_pay_notify", __name__, url_prefix="/wechat/pay")


@blp.route("/orders/preview", methods=["POST"])
@roles_required(Role.SHOPPER)
@raises(CatalogError.SKU_NOT_FOUND, CatalogError.PRODUCT_NOT_ON_SALE, CatalogError.SKU_NOT_SOLD_AT_STORE,
        OrderError.QUANTITY_LIMIT, OrderError.STORE_REQUIRED, OrderError.ADDRESS_REQUIRED, OrderError.STORE_UNAVAILABLE,
        PointsError.POINTS_INSUFFICIENT, StoreError.STORE_NOT_FOUND)
@blp.arguments(CheckoutArgs)
@blp.response(200, BreakdownSchema)
def preview(body):
    """The price of a basket, with each discount by source; changes nothing. Role: shopper."""
    return checkout.breakdown(checkout.price_basket(checkout.Basket.from_body(current_member_id(), body)))


@blp.route("/orders", methods=["POST"])
@roles_required(Role.SHOPPER)
@raises(CatalogError.SKU_NOT_FOUND, CatalogError.PRODUCT_NOT_ON_SALE, CatalogError.SKU_NOT_SOLD_AT_STORE,
        OrderError.QUANTITY_LIMIT, OrderError.STORE_REQUIRED, OrderError.ADDRESS_REQUIRED, OrderError.STORE_UNAVAILABLE,
        PointsError.POINTS_INSUFFICIENT, StoreError.STORE_NOT_FOUND,
        OrderError.OUT_OF_STOCK, OrderError.TOO_MANY_UNPAID, PointsError.POINTS_ALREADY_SPENT, IdempotencyError.KEY_REQUIRED,
        IdempotencyError.KEY_REUSED, WeChatPayError.UNAVAILABLE, WeChatPayError.FAILED)
@blp.arguments(CheckoutArgs)
@blp.response(201, PlacedOrderSchema)
@blp.doc(parameters=key_doc("A new random key per order; a retry with the same key returns the first order."))
def place_order(body):
    """Place an order and get the wx.requestPayment parameters

    Stock is reserved and discounts are taken at once; a retry with the same `Idempotency-Key`
    returns the first order (a different body with the same key is a 422). Role: shopper.
    """
    key = required_key()
    basket = checkout.Basket.from_body(current_member_id(), body)
    order, created = checkout.create_order(basket, idempotency_key=key, now=utcnow())
    # A new order is known to no one else until we answer: the database holds just what this session
    # wrote, so it stays loaded across the two commits rather than being read back after each (five
    # queries fewer: order and lines twice, refunds; measured by tests/bench/checkout.py).
    with keeping_loaded(db.session(), keep=created):
        db.session.commit()
        return _with_payment(order)


@blp.route("/orders", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(OrderListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(OrderSchema))
def list_orders(filters, page):
    """Your orders, newest first. Role: shopper."""
    return paginate(service.own_orders(current_member_id(), status=filters["status"]), **page)


@blp.route("/orders/<id:order_id>", methods=["GET"])
@roles_required(Role.SHOPPER)
@raises(OrderError.ORDER_NOT_FOUND)
@blp.response(200, OrderDetailSchema)
def get_order(order_id):
    """One of your orders (another member's is a 404)

    At a store that prepares orders, a paid pickup order shows `preparing` while it is made and
    `orders_ahead`: the store's orders paid before it that are still being made.

    Read right after `wx.requestPayment` succeeded, a pending order shows paid at once: WeChat Pay
    is asked then (at most every few seconds), even if its notify is late. Role: shopper.
    """
    order = service.own_order(current_member_id(), order_id, utcnow())
    db.session.commit()  # it may have just been paid or expired
    return service.order_snapshot(order.id)


@blp.route("/orders/<id:order_id>/payment", methods=["POST"])
@roles_required(Role.SHOPPER)
@raises(OrderError.ORDER_NOT_FOUND, OrderError.NOT_PAYABLE, WeChatPayError.ORDER_PAID, WeChatPayError.ORDER_CLOSED,
        WeChatPayError.UNAVAILABLE, WeChatPayError.FAILED)
@blp.response(200, PlacedOrderSchema)
def pay_order(order_id):
    """The wx.requestPayment parameters of an unpaid order (again). Role: shopper."""
    order = service.own_order(current_member_id(), order_id, utcnow())
    db.session.commit()
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise AppError(OrderError.NOT_PAYABLE, f"A {order.status} order cannot be paid.")
    return _with_payment(order)


@blp.route("/orders/<id:order_id>/cancel", methods=["POST"])
@roles_required(Role.SHOPPER)
@raises(OrderError.ORDER_NOT_FOUND, OrderError.NOT_CANCELLABLE, OrderError.PAYMENT_UNSETTLED, WeChatPayError.UNAVAILABLE,
        WeChatPayError.FAILED)
@blp.response(200, OrderSchema)
def cancel(order_id):
    """Cancel an unpaid order; its stock, coupon and points return

    WeChat Pay is asked first: an order it says was paid is not cancelled (409
    `order_not_cancellable`; the order reads paid); while it cannot answer, 503
    `wechatpay_unavailable` with `Retry-After`. Role: shopper.
    """
    now = utcnow()
    order = lifecycle.cancel_by_shopper(service.own_order(current_member_id(), order_id, now), at=now)
    db.session.commit()
    return order


@blp.route("/orders/<id:order_id>/refund", methods=["POST"])
@roles_required(Role.SHOPPER)
@raises(OrderError.ORDER_NOT_FOUND, OrderError.NOT_REFUNDABLE, OrderError.REFUND_IN_PROGRESS, OrderError.REFUND_TOO_LARGE,
        OrderError.REFUND_LINE_REPEATED)
@blp.arguments(RefundArgs)
@blp.response(202, OrderSchema)
def refund(body, order_id):
    """Ask for a refund, whole or by lines, before the order is picked up or shipped

    The money returns through WeChat Pay; the refund is `processing` until WeChat Pay confirms it,
    and another refund of the order meanwhile is 409 `refund_in_progress`. After pickup, refunds go
    through the store (admin API). Role: shopper.
    """
    now = utcnow()
    order = service.own_order(current_member_id(), order_id, now)
    request_refund(order, reason=body["reason"], lines=body["lines"], requested_by=f"member:{order.member_id}",
                   allowed=SHOPPER_REFUNDABLE, at=now)
    db.session.commit()
    return order


@blp.route("/admin/orders/<id:order_id>/refund", methods=["POST"])
@roles_required(Role.ADMIN)
@raises(OrderError.ORDER_NOT_FOUND, OrderError.NOT_REFUNDABLE, OrderError.REFUND_IN_PROGRESS, OrderError.REFUND_TOO_LARGE,
        OrderError.REFUND_LINE_REPEATED)
@blp.arguments(RefundArgs)
@blp.response(202, AdminOrderSchema)
def admin_refund(body, order_id):
    """Refund any paid order, also after pickup or shipping (after-sales). Role: admin."""
    order = service.any_order(order_id)
    request_refund(order, reason=body["reason"], lines=body["lines"],
                   requested_by=f"staff:{current_principal().staff_id}", allowed=STAFF_REFUNDABLE, at=utcnow())
    db.session.commit()
    return order


@blp.route("/admin/orders", methods=["GET"])
@roles_required(Role.ADMIN, Role.MARKETING)
@blp.arguments(OrderListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(AdminOrderSchema))
def admin_list_orders(filters, page):
    """All orders, newest first. Role: admin, marketing."""
    return paginate(service.all_orders(status=filters["status"]), **page)


@blp.route("/admin/orders/<id:order_id>/ship", methods=["POST"])
@roles_required(Role.ADMIN)
@raises(OrderError.ORDER_NOT_FOUND, OrderError.NOT_SHIPPABLE, OrderError.REFUND_IN_PROGRESS,
        ShippingError.DETAILS_REQUIRED, ShippingError.CARRIER_UNKNOWN, WeChatError.UNAVAILABLE, WeChatError.FAILED,
        WeChatError.RATE_LIMITED, notes={WeChatError.UNAVAILABLE: "WeChat's carrier list is needed and cannot "
                                                                   "be fetched (with `Retry-After`)"})
@blp.arguments(ShipArgs)
@blp.response(200, AdminOrderSchema)
def admin_ship(body, order_id):
    """A paid delivery order was shipped, and WeChat is told (发货信息管理)

    `logistics_type` 1 (express, the default) needs `carrier`, a code of WeChat's list (GET
    /admin/shipping/carriers; 422 `shipping_carrier_unknown` otherwise), and `tracking_no` (422
    `shipping_details_required` without them); 2 (same-city delivery) needs neither. The upload to
    WeChat follows through the outbox: `shipping_upload` shows its state (pending, uploaded, failed
    with WeChat's code and message). An order paid nothing through WeChat Pay uploads nothing. Role: admin.
    """
    order = lifecycle.ship(service.any_order(order_id), at=utcnow(), logistics_type=body["logistics_type"],
                           carrier=body["carrier"], tracking_no=body["tracking_no"])
    db.session.commit()
    return order


@blp.route("/admin/orders/<id:order_id>/complete", methods=["POST"])
@roles_required(Role.ADMIN)
@raises(OrderError.ORDER_NOT_FOUND, OrderError.NOT_SHIPPABLE)
@blp.response(200, AdminOrderSchema)
def admin_complete(order_id):
    """A shipped order was delivered. Role: admin."""
    order = lifecycle.complete_delivery(service.any_order(order_id), at=utcnow())
    db.session.commit()
    return order


def _wrong_pickup_code(response) -> bool:
    """Only codes that match no order count against the limits (not handed-over or other stores' orders)."""
    body = response.get_json(silent=True) if response.is_json else None
    return isinstance(body, dict) and body.get("code") == OrderError.PICKUP_CODE_INVALID.value


_GUESSING = rate_limits.refusing_with(OrderError.PICKUP_GUESSING, "Too many wrong pickup codes; wait a few minutes.")


@blp.route("/staff/pickups", methods=["POST"])
@roles_required(Role.STAFF)
@limiter.limit(rate_limits.setting("RATE_LIMIT_WRONG_PICKUP_CODES_PER_CLERK"), key_func=rate_limits.per_staff,
               deduct_when=_wrong_pickup_code, on_breach=_GUESSING)
@limiter.limit(rate_limits.setting("RATE_LIMIT_WRONG_PICKUP_CODES_PER_STORE"), key_func=rate_limits.per_clerk_store,
               deduct_when=_wrong_pickup_code, on_breach=_GUESSING)
@blp.arguments(PickupArgs)
@blp.response(200, PickupSchema)
@blp.alt_response(201, schema=PickupSchema, description="`confirm: true`: handed over now; give the order.")
@raises(OrderError.PICKUP_ALREADY_DONE, OrderError.PICKUP_BLOCKED_BY_REFUND, OrderError.PICKUP_WRONG_STORE,
        OrderError.PICKUP_CODE_INVALID, OrderError.PICKUP_GUESSING, OrderError.PICKUP_NOT_READY, notes={
            OrderError.PICKUP_ALREADY_DONE: "handed over before, with `details` (`used_at`, `store_id`, "
                                            "`store_name`, `order_id`)"})
def staff_pickup(body):
    """Verify a pickup code: look it up (`confirm: false`), then hand over (`confirm: true`)

    A look-up answers **200** with the order to hand over and changes nothing. A confirmation answers
    **201** when it hands the order over now, and **200** when it is the same request retried (a lost
    answer, a double tap): the same clerk within `COUNTER_RETRY_SECONDS` (default 10 s) of their
    hand-over gets the same order, which was already given. **409 `pickup_already_completed`**: the
    order was already handed over (by another clerk, or by you longer ago than that window; a
    look-up of its code too), with `details` saying when and where: `used_at`, `store_id`,
    `store_name`, `order_id`. Only staff of the order's store (403 `pickup_wrong_store`); 409
    `pickup_blocked_by_refund`; 409 `pickup_not_ready` while its store is still making it; 404 `pickup_code_invalid`: wrong codes are limited per clerk and per
    store (`RATE_LIMIT_WRONG_PICKUP_CODES_PER_CLERK`, `..._PER_STORE`: 429 `pickup_too_many_wrong_codes`
    with `Retry-After`; like every rate limit they count in memory while Redis is away). Role: staff.
    """
    staff, now, code = current_principal(), utcnow(), body["pickup_code"].strip()
    status = 200
    if body["confirm"]:
        order, handed_over = pickup.confirm(staff, code, now)
        status = 201 if handed_over else 200
    else:
        order = pickup.look_up(staff, code, now)
    db.session.commit()
    return {"order": order, "confirmed": body["confirm"]}, status


@notify_blp.post("/notify")
def pay_notify():
    """WeChat Pay's notify: 204 once applied (or already applied); 4xx/5xx JSON makes WeChat retry."""
    outcome = handle_pay_notify(dict(request.headers), request.get_data(), utcnow())
    db.session.commit()
    return "", 204, {"X-Ripple-Outcome": outcome}


def _with_payment(order):
    try:
        payment = payment_params(order)
        db.session.commit()
    except AppError as exc:  # the order stands; the shopper can retry the payment
        return {"order": order, "payment": None, "payment_error": error_body(exc.code, exc.message)}
    return {"order": order, "payment": payment, "payment_error": None}
