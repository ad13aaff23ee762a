"""Coupons: batches, claiming, the wallet, checkout discounts, in-store redemption.

Capabilities, lowest first (a sub-package imports only those below it; the import contracts keep it so):
``kinds``, ``checkout``, ``batches``, ``claiming``, ``redemption``; the rows all of them share are in
``coupons/models.py``. ``init_app`` wires them into the app that app.py builds; importing this package
imports every model of coupons, so the app's metadata (and the migrations compared with it) holds all
of coupons' tables.
"""

from __future__ import annotations

from flask import Flask

from coupons.batches.api import blp as batches_blp
from coupons.checkout.lifecycle import wire_checkout_coupons
from coupons.checkout.provider import CouponDiscountProvider
from coupons.claiming.api import blp as claiming_blp
from coupons.claiming.handlers import wire_coupons
from coupons.claiming.reminders import remind_expiring
from coupons.cli import coupons_cli
from coupons.demo import seed_coupon_demo
from coupons.redemption.api import blp as redemption_blp
from coupons.redemption.till import TillCouponDiscountProvider
from shop.jobs import PERIODIC
from shop.pricing import register_discount_provider
from shop.wiring import api_of

__all__ = ["BLUEPRINTS", "init_app", "seed_coupon_demo"]

BLUEPRINTS = (batches_blp, claiming_blp, redemption_blp)


def init_app(app: Flask) -> None:
    """Register coupons' API blueprints (in the app's flask-smorest Api, which app.py made first), its
    signal receivers (new members, followers and friends' first purchases get their batches; an order's
    coupon is used when it is paid, released when it is cancelled, returned by a refund), its discount
    provider at checkout (after the points' one, which app.py registers first), the reminder of coupons
    about to expire (a periodic job) and `flask coupons`."""
    api = api_of(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    wire_coupons()  # new_member, follower and friend_purchase batches
    wire_checkout_coupons()
    register_discount_provider(CouponDiscountProvider())
    PERIODIC["coupons about to expire announced"] = remind_expiring
    register_discount_provider(TillCouponDiscountProvider())  # a coupon shown with a till sale
    app.cli.add_command(coupons_cli)
