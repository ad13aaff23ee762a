"""The clerk's store today (/console/store/...): the pickup queue, redemptions and hand-overs, till sales, hours.

Every page is about one of the clerk's stores (``?store_id=``, else their first); another store is 403.
The pages call the services of ``shop`` and ``coupons`` and hold no rule of their own: which orders wait,
who may move them, and how long a redemption or a sale can be taken back are the services' answers.
"""

from __future__ import annotations

import hashlib

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from console.display import from_today, start_of_local_day
from console.refusals import console_blueprint, refusal_page
from console.session import page_for
from console.store.refusals import clerk_words
from coupons.redemption import service as redemption
from shop.auth import Role, current_principal
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.orders import pickup
from shop.orders.making import service as making
from shop.pagination import MAX_PAGE_SIZE
from shop.stores import service as stores
from shop.stores.models import Store
from shop.till import service as till

bp = console_blueprint("console_store", __name__)
POLL_SECONDS = 5  # how often the queue asks for new orders: a paid order shows within seconds


def _stores() -> list[Store]:
    ids = current_principal().store_ids
    return list(db.session.scalars(db.select(Store).where(Store.id.in_(ids)).order_by(Store.id))) if ids else []


def _store() -> Store:
    """The clerk's store the page is about: ``store_id`` if it is theirs (else 403), else their first."""
    ids = current_principal().store_ids
    asked = request.values.get("store_id", type=int)
    if not ids or (asked is not None and asked not in ids):
        abort(403)
    return db.session.get(Store, asked or ids[0])


def _page(template: str, store: Store, **context):
    return render_template(template, store=store, stores=_stores(), **context)


@bp.route("/store/pickups", methods=["GET"])
@page_for(Role.STAFF)
def pickups():
    store = _store()
    orders = _queue(store)
    return _page("store/pickups.html", store, orders=orders, version=queue_version(orders), poll_seconds=POLL_SECONDS)


@bp.route("/store/pickups/queue", methods=["GET"])
@page_for(Role.STAFF)
def pickup_queue():
    """The queue alone: what the page polls for; 204 (nothing to swap) when it is as the page last saw it,
    so a clerk's focus on a button is not lost to a redraw every few seconds."""
    store = _store()
    orders = _queue(store)
    if request.args.get("seen") == queue_version(orders):
        return "", 204
    return render_template("store/_queue.html", store=store, orders=orders, version=queue_version(orders))


@bp.route("/store/pickups/<id:order_id>/prepare", methods=["POST"])
@page_for(Role.STAFF)
def prepare(order_id: int):
    return _move(making.start_preparing, order_id)


@bp.route("/store/pickups/<id:order_id>/ready", methods=["POST"])
@page_for(Role.STAFF)
def ready(order_id: int):
    return _move(making.mark_ready, order_id)


def _move(step, order_id: int):
    """Move an order (the service checks the store and the state), then show the queue as it now stands."""
    store = _store()
    try:
        step(current_principal(), order_id, utcnow())
    except AppError as refusal:
        db.session.rollback()
        return refusal_page(clerk_words(refusal), refusal.status)
    db.session.commit()
    if request.headers.get("HX-Request"):
        orders = _queue(store)
        return render_template("store/_queue.html", store=store, orders=orders, version=queue_version(orders))
    return redirect(url_for("console_store.pickups", store_id=store.id))


def _queue(store: Store) -> list:
    return list(db.session.scalars(making.queue([store.id])))


def queue_version(orders: list) -> str:
    """What the queue shows, in a few characters: its orders and their states."""
    shown = ",".join(f"{order.id}:{order.status}" for order in orders)
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


@bp.route("/store/today", methods=["GET"])
@page_for(Role.STAFF)
def today():
    """Today's redemptions (each revertible within the service's window) and pickups handed over."""
    return _today(_store())


@bp.route("/store/redemptions/<id:redemption_id>/revert", methods=["POST"])
@page_for(Role.STAFF)
def revert(redemption_id: int):
    return _take_back(redemption.revert, redemption_id, _today,
                      _("Redemption reverted: the coupon can be used again."))


def _take_back(service_call, item_id: int, page, done: str):
    """Revert a redemption or void a sale (the service checks the store and its window), then show the page."""
    store = _store()
    try:
        service_call(current_principal(), item_id, now=utcnow())
    except AppError as refusal:
        db.session.rollback()
        return page(store, refusal=clerk_words(refusal), status=refusal.status)
    db.session.commit()
    return page(store, message=done)


def _today(store: Store, *, status: int = 200, **said):
    now = utcnow()
    since = start_of_local_day(now, store.timezone)
    # A store's redemptions of one day fit a page; past it the list says how many more there are.
    listed = redemption.list_redemptions(current_principal(), store_id=store.id, page=1, page_size=MAX_PAGE_SIZE,
                                         since=since)
    return _page("store/today.html", store, now=now, redemptions=listed["items"], redemptions_total=listed["total"],
                 handed_over=pickup.handed_over_since(store.id, since), **said), status


@bp.route("/store/sales", methods=["GET"])
@page_for(Role.STAFF)
def sales():
    """Today's till sales, each voidable within the service's window."""
    return _sales(_store())


@bp.route("/store/sales/<id:sale_id>/void", methods=["POST"])
@page_for(Role.STAFF)
def void(sale_id: int):
    return _take_back(till.void_sale, sale_id, _sales,
                      _("Sale voided: the whole amount is refunded and its points and coupon return."))


def _sales(store: Store, *, status: int = 200, **said):
    now = utcnow()
    return _page("store/sales.html", store, now=now,
                 sales=till.sales_since(store.id, start_of_local_day(now, store.timezone)), **said), status


@bp.route("/store/hours", methods=["GET"])
@page_for(Role.STAFF)
def hours():
    """The store's weekly hours, whether it is open now, and its dated exceptions from today on (read only)."""
    store, now = _store(), utcnow()
    detail = stores.store_detail(store, now)
    return _page("store/hours.html", store, detail=detail, upcoming=from_today(detail["exceptions"], now, store.timezone))
