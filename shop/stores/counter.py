"""What the counter's scans share: when a repeated scan is a retry, and how a used code says when and where.

A clerk's scan of a code a shopper shows (a coupon to redeem, an order to hand over) may reach us twice:
a lost answer, a double tap, a scanner that repeats itself. Within ``COUNTER_RETRY_SECONDS`` the same
clerk's same scan answers the first result (200). Any later scan of a used code is refused (409) with
when and where it was used, so a till that takes any 2xx as "give it" never gives it twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from shop.auth import Principal
from shop.errors import AppError, ErrorCode
from shop.extensions import db
from shop.stores.models import Store


def retry_window() -> timedelta:
    """How soon after the first a scan sent again counts as the same request (``COUNTER_RETRY_SECONDS``)."""
    return timedelta(seconds=current_app.config["COUNTER_RETRY_SECONDS"])


def is_retry(first_at: datetime, now: datetime) -> bool:
    """Whether a scan at ``now`` can be the first one (at ``first_at``) sent again.

    A twin that started before the first one wrote its time (``now`` earlier) is one too.
    """
    return now - first_at <= retry_window()


def when_and_where(at: datetime | None, store_id: int | None) -> tuple[str, dict[str, Any]]:
    """A used code's refusal: a phrase for the message (in the store's local time), and the facts for ``details``.

    ``details`` holds ``used_at`` (ISO 8601, UTC), ``store_id`` and ``store_name`` (null when it was not
    used at a store, e.g. a coupon spent online).
    """
    store = db.session.get(Store, store_id) if store_id is not None else None
    details = {"used_at": at.isoformat() if at else None, "store_id": store_id,
               "store_name": store.name if store else None}
    if at is None:
        return (f"at {store.name}" if store else "before"), details
    if store is None:
        return f"on {at:%Y-%m-%d %H:%M} UTC", details
    local = at.astimezone(ZoneInfo(store.timezone))
    return f"on {local:%Y-%m-%d %H:%M} at {store.name}", details


def acting_store(staff: Principal, store_id: int | None, *, not_yours: ErrorCode, required: ErrorCode) -> int:
    """The store a clerk works for in this request: the one named (theirs), or their only store.

    Each caller names its own codes: 403 ``not_yours`` (another store, or none bound), 422 ``required``
    (a clerk of several stores who names none).
    """
    if store_id is None:
        if len(staff.store_ids) == 1:
            return staff.store_ids[0]
        if not staff.store_ids:
            raise AppError(not_yours, "Your account is not bound to any store.")
        raise AppError(required, "You work at several stores: say which one in store_id.",
                       errors={"store_id": ["Required for a clerk of several stores."]})
    if store_id not in staff.store_ids:
        raise AppError(not_yours, "You are not a clerk of this store.")
    return store_id
