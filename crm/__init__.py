"""CRM: members as relationships (tags, segments, consent and personal data, funnel and campaign reports).

It stands on ``shop``, ``coupons`` and ``referral`` and reads them; nothing imports it but app.py (the
import contracts keep it so). ``init_app`` registers its blueprints, receivers, periodic jobs and CLI,
and reaches coupons' targeted issuance through the issuing job's source registry.
"""

from __future__ import annotations

from flask import Flask

from crm.journey import api as journey_api
from crm.journey import models as journey_models  # noqa: F401 - its table belongs to the metadata
from crm.journey.jobs import expire_client_events, make_partitions_ahead
from crm.privacy import api as privacy_api
from shop.jobs import PERIODIC
from shop.members.privacy import purge_deleted_identities
from shop.wiring import api_of

__all__ = ["BLUEPRINTS", "init_app"]

BLUEPRINTS: tuple = (journey_api.blp, privacy_api.blp)


def init_app(app: Flask) -> None:
    """Wire the CRM into the app: its blueprints and periodic jobs (more as its capabilities land)."""
    api = api_of(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    PERIODIC["journey_events partitions made ahead"] = make_partitions_ahead
    PERIODIC["raw client journey events expired"] = expire_client_events
    PERIODIC["deleted members' kept identity hashes past their period"] = purge_deleted_identities
