"""CRM: members as relationships (tags, segments, consent and personal data, funnel and campaign reports).

It stands on ``shop``, ``coupons`` and ``referral`` and reads them; nothing imports it but app.py (the
import contracts keep it so). ``init_app`` registers its blueprints, receivers, periodic jobs and CLI,
and reaches coupons' targeted issuance through the issuing job's source registry.
"""

from __future__ import annotations

from flask import Flask

from crm.privacy import api as privacy_api
from shop.jobs import PERIODIC
from shop.members.privacy import purge_deleted_identities
from shop.wiring import api_of

__all__ = ["BLUEPRINTS", "init_app"]

BLUEPRINTS: tuple = (privacy_api.blp,)


def init_app(app: Flask) -> None:
    """Wire the CRM into the app: its blueprints (more as its capabilities land)."""
    api = api_of(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    PERIODIC["deleted members' kept identity hashes past their period"] = purge_deleted_identities
