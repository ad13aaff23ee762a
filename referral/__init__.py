"""Referral: shares and the friends they bind, the tree of who brought whom, rewards, withdrawals and analytics.

Capabilities, lowest first (a sub-package imports only those below it; the import contracts keep it so):
``tree``, ``policy``, ``rewards``, ``sharing`` and ``withdrawals``, ``analytics``. ``init_app`` wires
them into the app that app.py builds; importing this package imports every model of referral, so
the app's metadata (and the migrations compared with it) holds all of referral's tables.
"""

from __future__ import annotations

from flask import Flask

from referral.analytics.api import blp as analytics_blp
from referral.cli import referral_cli
from referral.demo import seed_referral_demo
from referral.policy.api import blp as policy_blp
from referral.rewards.api import blp as rewards_blp
from referral.rewards.handlers import wire_rewards
from referral.rewards.service import release_sweep
from referral.sharing.api import blp as sharing_blp
from referral.sharing.handlers import wire_sharing
from referral.withdrawals.api import blp as withdrawals_blp
from referral.withdrawals.service import sync_withdrawals
from shop.jobs import PERIODIC
from shop.wiring import api_of

__all__ = ["BLUEPRINTS", "init_app", "seed_referral_demo"]

BLUEPRINTS = (sharing_blp, policy_blp, rewards_blp, withdrawals_blp, analytics_blp)


def init_app(app: Flask) -> None:
    """Register referral's API blueprints (in the app's flask-smorest Api, which app.py made first), its
    signal receivers (a new member's scene binds them; paid and refunded orders reward and reverse), its
    periodic jobs (releasing rewards, settling withdrawals with WeChat Pay) and `flask referral`."""
    api = api_of(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    wire_sharing()
    wire_rewards()
    PERIODIC["referral rewards released"] = release_sweep
    PERIODIC["referral withdrawals settled with WeChat Pay"] = sync_withdrawals
    app.cli.add_command(referral_cli)
