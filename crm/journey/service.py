"""Client journey events: checked as a whole batch, deduplicated per member, stored as journey events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from crm.journey.errors import JourneyError
from crm.journey.models import ClientEventReceipt
from shop.database import dialect_insert
from shop.errors import AppError
from shop.extensions import db
from shop.members.journey import CLIENT_KINDS, record_event
from shop.members.models import JourneyEvent

FUTURE_SLACK = timedelta(minutes=5)  # a phone's clock a little ahead of ours
_RECEIPTS = ClientEventReceipt.__table__


def check_window(events: list[dict[str, Any]], *, now: datetime, window: timedelta) -> None:
    """422 ``events_out_of_window`` naming (by index) each event whose occurred_at is too old or ahead of now."""
    errors = {index: {"occurred_at": [f"Must lie between {window} before now and {FUTURE_SLACK} after it."]}
              for index, event in enumerate(events)
              if not now - window <= event["occurred_at"] <= now + FUTURE_SLACK}
    if errors:
        raise AppError(JourneyError.EVENTS_OUT_OF_WINDOW, "Some events happened outside the accepted window; "
                       "none of the batch was stored.", errors={"events": errors})


def record_client_events(member_id: int, events: list[dict[str, Any]], *, now: datetime,
                         window: timedelta) -> dict[str, int]:
    """Store the batch's events whose client_event_id this member has not sent before; counts. Nothing commits."""
    check_window(events, now=now, window=window)
    first_of_id = {event["client_event_id"]: event for event in reversed(events)}  # the first of a repeated id
    fresh = _claim_ids(member_id, list(first_of_id), now)
    for event in events:
        if first_of_id.get(event["client_event_id"]) is event and event["client_event_id"] in fresh:
            record_event(member_id, event["kind"], occurred_at=event["occurred_at"],
                         client_event_id=event["client_event_id"], **event["attributes"])
    return {"recorded": len(fresh), "duplicates": len(events) - len(fresh)}


def _claim_ids(member_id: int, ids: list[str], now: datetime) -> set[str]:
    """Insert receipts for ``ids``; those that were new (a concurrent batch with the same id gets none)."""
    statement = (dialect_insert(db.session)(_RECEIPTS)
                 .values([{"member_id": member_id, "client_event_id": id_, "received_at": now} for id_ in ids])
                 .on_conflict_do_nothing(index_elements=[_RECEIPTS.c.member_id, _RECEIPTS.c.client_event_id])
                 .returning(_RECEIPTS.c.client_event_id))
    return set(db.session.scalars(statement))


def delete_old_client_events(now: datetime, *, retention_days: int, receipt_window: timedelta) -> dict[str, int]:
    """Delete raw client events older than ``retention_days`` (0: keep) and receipts past ``receipt_window``.

    A receipt older than the window of accepted occurred_at guards nothing: an event that old is refused.
    """
    deleted = 0
    if retention_days > 0:
        deleted = db.session.execute(delete(JourneyEvent).where(
            JourneyEvent.kind.in_(sorted(CLIENT_KINDS)),
            JourneyEvent.occurred_at < now - timedelta(days=retention_days))
            .execution_options(synchronize_session=False)).rowcount
    receipts = db.session.execute(delete(ClientEventReceipt).where(
        ClientEventReceipt.received_at < now - receipt_window - FUTURE_SLACK)
        .execution_options(synchronize_session=False)).rowcount
    return {"client_events_deleted": deleted, "receipts_deleted": receipts}


def seen_ids(member_id: int) -> list[str]:
    """The client event ids this member sent that are still remembered (for tests and support)."""
    return list(db.session.scalars(select(ClientEventReceipt.client_event_id)
                                   .where(ClientEventReceipt.member_id == member_id)))
