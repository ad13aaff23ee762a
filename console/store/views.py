"""The clerk's store today (/console/store/...): the pickup queue, redemptions and hand-overs, till sales, hours.

Every page is about one of the clerk's stores (``?store_id=``, else their first); another store is 403.
The pages call the services of ``shop`` and ``coupons`` and hold no rule of their own: which orders wait,
who may move them, and how long a redemption or a sale can be taken back are the services' answers.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for

from console.refusals import console_blueprint, refusal_page
from console.session import page_for
from console.store.refusals import clerk_words
from shop.auth import Role, current_principal
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.orders.making import service as making
from shop.stores.models import Store

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
    return _page("store/pickups.html", store, orders=_queue(store), poll_seconds=POLL_SECONDS)


@bp.route("/store/pickups/queue", methods=["GET"])
@page_for(Role.STAFF)
def pickup_queue():
    """The queue alone: what the page polls for."""
    store = _store()
    return render_template("store/_queue.html", store=store, orders=_queue(store))


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
        return render_template("store/_queue.html", store=store, orders=_queue(store))
    return redirect(url_for("console_store.pickups", store_id=store.id))


def _queue(store: Store) -> list:
    return list(db.session.scalars(making.queue([store.id])))
