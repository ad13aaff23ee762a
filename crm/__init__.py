"""CRM: members as relationships (tags, segments, consent and personal data, funnel and campaign reports).

It stands on ``shop``, ``coupons`` and ``referral`` and reads them; nothing imports it but app.py (the
import contracts keep it so). ``init_app`` registers its blueprints, receivers, periodic jobs and CLI,
and reaches coupons' targeted issuance through the issuing job's source registry.
"""

from __future__ import annotations

from flask import Flask

from coupons.claiming.targeted import SOURCES
from crm.members.api import blp as members_blp
from crm.segments.api import blp as segments_blp
from crm.segments.service import target_member_ids
from crm.tags.api import blp as tags_blp
from crm.tags.computed import refresh_when_due
from shop.jobs import PERIODIC
from shop.wiring import api_of

__all__ = ["BLUEPRINTS", "init_app"]

BLUEPRINTS: tuple = (tags_blp, segments_blp, members_blp)


def init_app(app: Flask) -> None:
    """Wire the CRM into the app: its blueprints, the computed tags' refresh (a periodic job) and the
    segment source of coupons' targeted issuance (``{"segment_id": N}``: consenting members only)."""
    api = api_of(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    PERIODIC["crm computed tags refreshed"] = refresh_when_due
    SOURCES["segment_id"] = target_member_ids
