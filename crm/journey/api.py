"""``POST /api/v1/events``: journey steps the mini-program reports itself."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_smorest import Blueprint

from crm.journey import service
from crm.journey.errors import JourneyError
from crm.journey.schemas import ClientEventsArgs, ClientEventsResultSchema
from shop import rate_limits
from shop.auth import Role, current_member_id, roles_required
from shop.database import utcnow
from shop.errors import CommonError, raises
from shop.extensions import db

blp = Blueprint("journey", __name__, url_prefix="/api/v1", description="Journey events the mini-program reports.")


@blp.route("/events", methods=["POST"])
@roles_required(Role.SHOPPER)
@rate_limits.per_member_under_ceiling("RATE_LIMIT_CLIENT_EVENTS_PER_MEMBER")
@blp.arguments(ClientEventsArgs)
@blp.response(200, ClientEventsResultSchema)
@raises(CommonError.VALIDATION_ERROR, JourneyError.EVENTS_OUT_OF_WINDOW, CommonError.RATE_LIMITED)
def record_events(body):
    """Report what the shopper did in the mini-program

    Up to 50 events a batch, of kinds `view_store`, `view_product`, `add_to_cart`, `open_poster`,
    `search`. An event whose `client_event_id` this shopper sent before (in this batch or an earlier one)
    is ignored and counted in `duplicates`, so a batch may be sent again after a lost answer. A bad batch
    changes nothing: 422 `validation_error` (shapes) or `events_out_of_window` (`occurred_at` more than
    `CLIENT_EVENT_WINDOW_HOURS` old or ahead of now), with `errors.events` naming each bad event by its
    index. Rate limited per member (`RATE_LIMIT_CLIENT_EVENTS_PER_MEMBER`). Role: shopper.
    """
    window = timedelta(hours=current_app.config["CLIENT_EVENT_WINDOW_HOURS"])
    counts = service.record_client_events(current_member_id(), body["events"], now=utcnow(), window=window)
    db.session.commit()
    return counts
