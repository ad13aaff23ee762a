"""Reading journey events in tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from shop.extensions import db
from shop.members.models import JourneyEvent


def steps(app, member_id: int, *kinds: str) -> list[dict[str, Any]]:
    """The member's events (of ``kinds``, if given), in the order recorded, as plain dicts."""
    with app.app_context():
        query = select(JourneyEvent).where(JourneyEvent.member_id == member_id)
        if kinds:
            query = query.where(JourneyEvent.kind.in_(kinds))
        return [{"kind": e.kind, "store_id": e.store_id, "share_id": e.share_id, "campaign": e.campaign,
                 "occurred_at": e.occurred_at, **e.attributes}
                for e in db.session.scalars(query.order_by(JourneyEvent.id))]


def event_count() -> int:
    """Journey events in the database (inside an app context)."""
    return db.session.scalar(select(func.count()).select_from(JourneyEvent))
