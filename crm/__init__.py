"""CRM: members as relationships (tags, segments, consent and personal data, funnel and campaign reports).

It stands on ``shop``, ``coupons`` and ``referral`` and reads them; nothing imports it but app.py (the
import contracts keep it so). ``init_app`` registers its blueprints, receivers, periodic jobs and CLI,
and reaches coupons' targeted issuance through the issuing job's source registry.
"""

from __future__ import annotations

from flask import Flask

from coupons.claiming.targeted import SOURCES
from crm import facade
from crm.campaigns import service as campaigns
from crm.campaigns.api import blp as campaigns_blp
from crm.funnel import service as funnel
from crm.funnel.api import blp as funnel_blp
from crm.journey import api as journey_api
from crm.journey import models as journey_models  # noqa: F401 - its table belongs to the metadata
from crm.journey.jobs import expire_client_events, make_partitions_ahead
from crm.members.api import blp as members_blp
from crm.o2o import service as o2o_service
from crm.o2o.api import blp as o2o_blp
from crm.privacy import api as privacy_api
from crm.rollups import models as rollup_models  # noqa: F401 - its table belongs to the metadata
from crm.rollups.cli import crm_cli
from crm.rollups.service import refresh_when_due as refresh_rollups_when_due
from crm.rollups.service import register as register_rollup
from crm.segments.api import blp as segments_blp
from crm.segments.service import target_member_ids
from crm.tags.api import blp as tags_blp
from crm.tags.computed import refresh_when_due as refresh_tags_when_due
from shop.jobs import PERIODIC
from shop.members.privacy import purge_deleted_identities
from shop.wiring import api_of

__all__ = ["BLUEPRINTS", "facade", "init_app"]

BLUEPRINTS: tuple = (journey_api.blp, privacy_api.blp, tags_blp, segments_blp, members_blp, funnel_blp,
                      campaigns_blp, o2o_blp)


def init_app(app: Flask) -> None:
    """Wire the CRM into the app: its blueprints, periodic jobs (partitions, retention, kept hashes, the
    computed tags' and the rollups' refresh), its CLI, and the segment source of coupons' targeted
    issuance (``{"segment_id": N}``: consenting members only)."""
    api = api_of(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    PERIODIC["journey_events partitions made ahead"] = make_partitions_ahead
    PERIODIC["raw client journey events expired"] = expire_client_events
    PERIODIC["deleted members' kept identity hashes past their period"] = purge_deleted_identities
    PERIODIC["crm computed tags refreshed"] = refresh_tags_when_due
    PERIODIC["crm rollups refreshed"] = refresh_rollups_when_due
    SOURCES["segment_id"] = target_member_ids
    register_rollup(funnel.NAME, funnel.build)
    register_rollup(campaigns.ROLLUP, campaigns.build_day)
    app.cli.add_command(crm_cli)
    register_rollup(o2o_service.ROLLUP, o2o_service.build_day)
