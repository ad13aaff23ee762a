"""Orders for admins (/console/orders): the list with filters (its store found by code or name, never a list of every
store: see ``store_filter``), an order's page with its WeChat Pay state (payments,
refunds, checks that failed) and its shipping upload, and a refund, whole or by lines, as the admin API allows
(``shop.orders.refunds.request_refund`` with ``STAFF_REFUNDABLE``); a paid delivery order shipped and a shipped one
completed (``shop.orders.lifecycle``, the API's ``ShipArgs``). Marketing reads the list and the orders, as
``GET /api/v1/admin/orders`` allows; only an admin refunds, ships and completes.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import or_, select

from console.admin.orders.forms import RefundForm, ShipForm
from console.admin.orders.store_filter import matching_stores, store_filter, store_names
from console.display import state_words, yuan
from console.refusals import console_blueprint, refusal_page
from console.session import page_for
from shop.auth import Role, current_principal
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.orders import lifecycle, service
from shop.orders.errors import OrderError
from shop.orders.models import Fulfilment, Order, OrderStatus, Payment, PaymentCheck
from shop.orders.refunds import STAFF_REFUNDABLE, request_refund
from shop.orders.schemas import RefundArgs
from shop.pagination import paginate
from shop.shipping.carriers import delivery_list
from shop.shipping.errors import ShippingError
from shop.shipping.schemas import ShipArgs
from shop.wechat.errors import WeChatError

bp = console_blueprint("console_orders", __name__)
READERS = (Role.ADMIN, Role.MARKETING)  # as GET /api/v1/admin/orders
PAGE_SIZE = 20
STATUSES = [status.value for status in OrderStatus]
FULFILMENTS = [fulfilment.value for fulfilment in Fulfilment]


@bp.route("/orders")
@page_for(*READERS)
def orders():
    # The store: typed in the filter's text input (a code or a name), or chosen from its suggestions (an id).
    chosen = store_filter(request.args.get("store"), request.args.get("store_id", type=int))
    filters = {**_other_filters(), "store_id": chosen.store_id}
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    # A store asked for but not found (or not yet chosen among several) lists no order rather than every store's.
    found = paginate(service.all_orders(**filters), page=page, page_size=PAGE_SIZE) if chosen.problem is None \
        else {"items": [], "total": 0, "page": 1, "page_size": PAGE_SIZE}
    return render_template("admin/orders/list.html", found=found, filters=filters, statuses=STATUSES,
                           fulfilments=FULFILMENTS, chosen=chosen, words=_words(),
                           stores=store_names({order.store_id for order in found["items"]}),
                           pages=max(-(-found["total"] // PAGE_SIZE), 1))


@bp.route("/orders/stores")
@page_for(*READERS)
def store_suggestions():
    """The stores matching what is typed in the list's store filter (htmx, while the admin types)."""
    return render_template("admin/orders/_store_suggestions.html", chosen=matching_stores(request.args.get("store")),
                           filters=_other_filters())


def _other_filters() -> dict[str, str | None]:
    """The list's filters but the store: kept by the store suggestions' links."""
    return {"status": _one_of(request.args.get("status"), STATUSES),
            "fulfilment": _one_of(request.args.get("fulfilment"), FULFILMENTS),
            "number": (request.args.get("number") or "").strip()[:32] or None}


@bp.route("/orders/<id:order_id>")
@page_for(*READERS)
def order(order_id: int):
    found = _order(order_id)
    return _order_page(found) if found is not None else refusal_page(_("No such order."), 404)


@bp.route("/orders/<id:order_id>/refund", methods=["POST"])
@page_for(Role.ADMIN)
def refund(order_id: int):
    found = _order(order_id)
    if found is None:
        return refusal_page(_("No such order."), 404)
    form = RefundForm()
    try:
        args = RefundArgs().load({"reason": (form.reason.data or "").strip(),
                                  "lines": RefundForm.lines_of(request.form, [line.id for line in found.lines])})
        made = request_refund(found, reason=args["reason"], lines=args["lines"],
                              requested_by=f"staff:{current_principal().staff_id}", allowed=STAFF_REFUNDABLE,
                              at=utcnow())
    except ValidationError as invalid:
        db.session.rollback()
        return _order_page(_order(order_id), errors=invalid.normalized_messages(), status=422, form=form)
    except AppError as refusal:
        db.session.rollback()
        return _order_page(_order(order_id), refusal=_refusal_words(refusal), status=refusal.status, form=form)
    db.session.commit()  # the refund goes to WeChat Pay from here, through the outbox
    db.session.refresh(made)
    return _order_page(_order(order_id), done=_("Refund %(number)s of %(amount)s asked: now %(status)s.",
                                                number=made.number, amount=yuan(made.amount),
                                                status=_words()[made.status]))


@bp.route("/orders/<id:order_id>/ship", methods=["POST"])
@page_for(Role.ADMIN)
def ship(order_id: int):
    found = _order(order_id)
    if found is None:
        return refusal_page(_("No such order."), 404)
    form = ShipForm()
    try:
        args = ShipArgs().load(form.as_api())
        lifecycle.ship(found, at=utcnow(), **args)
    except ValidationError as invalid:
        db.session.rollback()
        return _order_page(_order(order_id), ship_errors=invalid.normalized_messages(), status=422, ship_form=form)
    except AppError as refusal:
        db.session.rollback()
        return _order_page(_order(order_id), refusal=_refusal_words(refusal), ship_errors=refusal.errors or {},
                           status=refusal.status, ship_form=form)
    db.session.commit()  # WeChat is told from here, through the outbox
    shipped = _order(order_id)
    upload = getattr(shipped, "shipping_upload", None)
    return _order_page(shipped, done=_("Shipped. Upload to WeChat: %(state)s.", state=_words()[upload.status])
                       if upload is not None else _("Shipped. Nothing to upload: WeChat Pay took no money for it."))


@bp.route("/orders/<id:order_id>/complete", methods=["POST"])
@page_for(Role.ADMIN)
def complete(order_id: int):
    found = _order(order_id)
    if found is None:
        return refusal_page(_("No such order."), 404)
    try:
        lifecycle.complete_delivery(found, at=utcnow())
    except AppError as refusal:
        db.session.rollback()
        return _order_page(_order(order_id), refusal=_refusal_words(refusal), status=refusal.status)
    db.session.commit()
    return _order_page(_order(order_id), done=_("Delivered: the order is completed."))


def _order_page(order: Order, *, done: str | None = None, refusal: str | None = None, errors: dict | None = None,
                status: int = 200, form: RefundForm | None = None, ship_errors: dict | None = None,
                ship_form: ShipForm | None = None):
    payments = db.session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)).all()
    refund_ids = [made.id for made in order.refunds]
    checks = db.session.scalars(select(PaymentCheck).where(or_(
        (PaymentCheck.subject == "order") & (PaymentCheck.subject_id == order.id),
        (PaymentCheck.subject == "refund") & PaymentCheck.subject_id.in_(refund_ids or [0])))).all()
    return render_template("admin/orders/order.html", order=order, payments=payments, checks=checks,
                           upload=getattr(order, "shipping_upload", None), stores=store_names({order.store_id}),
                           words=_words(),
                           refundable=order.status in {status.value for status in STAFF_REFUNDABLE},
                           form=form or RefundForm(formdata=None), done=done, refusal=refusal,
                           errors=errors or {}, ship_form=ship_form or ShipForm(formdata=None),
                           ship_errors=ship_errors or {}, **_shipping_choices(order)), status


def _shipping_choices(order: Order) -> dict:
    """Whether the ship form is offered (a paid delivery order) and WeChat's carriers for it.

    The carriers come from WeChat (cached); when it cannot say, the admin types the code and the ship
    action asks again.
    """
    shippable = order.fulfilment == Fulfilment.DELIVERY.value and order.status == OrderStatus.PAID.value
    carriers: list[dict[str, str]] = []
    if shippable:
        try:
            carriers = delivery_list()
        except AppError:
            carriers = []
    return {"shippable": shippable, "carriers": carriers,
            "completable": order.fulfilment == Fulfilment.DELIVERY.value and order.status == OrderStatus.SHIPPED.value}


def _refusal_words(refusal: AppError) -> str:
    """The refund service's refusal in an admin's words."""
    return {
        OrderError.NOT_REFUNDABLE: _("This order cannot be refunded in its state."),
        OrderError.REFUND_IN_PROGRESS: _("A refund of this order is still with WeChat Pay: wait for its answer."),
        OrderError.REFUND_TOO_LARGE: _("That is more than is left to refund on this order."),
        OrderError.REFUND_LINE_REPEATED: _("Name each line once."),
        OrderError.NOT_SHIPPABLE: _("This order cannot take that step in its state (someone may have just done it)."),
        ShippingError.DETAILS_REQUIRED: _("An express shipment needs its carrier and tracking number."),
        ShippingError.CARRIER_UNKNOWN: _("WeChat does not know that carrier code."),
        WeChatError.UNAVAILABLE: _("WeChat cannot be reached to check the carrier: try again in a minute."),
    }.get(refusal.code, refusal.message)


def _order(order_id: int) -> Order | None:
    try:
        return service.any_order(order_id)
    except AppError:
        return None


def _one_of(value: str | None, allowed: list[str]) -> str | None:
    return value if value in allowed else None


def _words() -> dict[str, str]:
    """Order, refund, payment and upload states, and fulfilments, in an admin's words."""
    return state_words()
