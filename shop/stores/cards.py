"""The card of a store in the nearby index: what a nearby answer shows of it, written and read here only.

A card is the JSON of ``_card``: the store's fields, then its time zone, weekly hours and dated
exceptions (from ``EXCEPTION_LOOKBEHIND`` ago), in that order. It is built from an ORM object
(``encode_card``) or from a Core row of ``CARD_COLUMNS`` (``row_card``: the
rebuild and the database search), and read back by ``read_card``, which parses the tail once per
distinct schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Row, Text, cast, select

from shop.database import utcnow
from shop.extensions import db
from shop.stores.hours import OpeningHours
from shop.stores.models import Store, StoreHoursException

# Exceptions older than this are of no use to "open now" or "next opening".
EXCEPTION_LOOKBEHIND = timedelta(days=2)


def encode_card(store: Store, today: date | None = None) -> bytes:
    """The card of a store (an ORM object, its exceptions loaded) as the index holds it."""
    since = _exceptions_since(today)
    return orjson.dumps(_card(store, store.services, store.weekly_hours,
                              {e.day.isoformat(): e.hours for e in store.exceptions if e.day >= since}))


def _exceptions_since(today: date | None = None) -> date:
    return (today or utcnow().date()) - EXCEPTION_LOOKBEHIND


def _card(store: Store | Row, services: list[str], hours: Mapping[str, Any], exceptions: dict[str, Any]) -> dict:
    """The card of a store (an ORM object or a row of ``CARD_COLUMNS``): one shape for both paths.

    Timezone, hours and exceptions come last, in this order: the nearby search parses that tail
    once per distinct schedule rather than once per store (it falls back to a whole parse if not).
    """
    return {
        "id": store.id, "name": store.name, "address": store.address, "city": store.city,
        "district": store.district, "lat": store.lat, "lng": store.lng, "phone": store.phone,
        "services": services, "timezone": store.timezone, "hours": hours, "exceptions": exceptions,
    }


# What a card needs, JSON columns as text: orjson parses them far faster than the driver's json.
CARD_COLUMNS = (Store.id, Store.name, Store.address, Store.city, Store.district, Store.lat, Store.lng,
                Store.phone, cast(Store.services, Text).label("services_json"), Store.timezone,
                cast(Store.weekly_hours, Text).label("hours_json"))


def row_card(row: Row, exceptions: dict[str, Any]) -> bytes:
    """The card of a row of ``CARD_COLUMNS`` with its exceptions (``card_exceptions``), as the index holds it."""
    return orjson.dumps(_card(row, orjson.loads(row.services_json), orjson.loads(row.hours_json), exceptions))


def card_exceptions(which: ColumnElement[bool], today: date | None = None) -> dict[int, dict[str, Any]]:
    """The card exceptions of the stores ``which`` selects (a condition on ``StoreHoursException.store_id``)."""
    rows = db.session.execute(
        select(StoreHoursException.store_id, StoreHoursException.day, cast(StoreHoursException.hours, Text))
        .where(which, StoreHoursException.day >= _exceptions_since(today))
        .order_by(StoreHoursException.store_id, StoreHoursException.day))  # by day, as the ORM relationship
    found: dict[int, dict[str, Any]] = {}
    for store_id, day, hours in rows:
        found.setdefault(store_id, {})[day.isoformat()] = orjson.loads(hours)
    return found


# --- reading a card back ------------------------------------------------------------------------

# Every card ends with these three keys, in this order (``_card``).
_TAIL = b',"timezone":'


def read_card(raw: bytes) -> tuple[dict[str, Any], OpeningHours]:
    """A card as the index holds it: what the answer shows of the store, and its parsed hours.

    Parsed on every use: at a million stores a per-process cache of parsed cards hits a few
    percent of the time, and its hundreds of thousands of objects make each full garbage
    collection pause for a third of a second. Only the part before the tail (zone, hours,
    exceptions) is parsed each time; tails repeat across stores and are parsed once.
    """
    cut = raw.rfind(_TAIL)
    tail = _tail(raw[cut + 1:]) if cut > 0 else None
    if tail is None:  # not the layout _card writes: parse it whole
        data = orjson.loads(raw)
        return data, _hours(orjson.dumps((data["timezone"], data.pop("hours"), data.pop("exceptions"))))
    timezone, hours = tail
    data = orjson.loads(raw[:cut] + b"}")
    data["timezone"] = timezone
    return data, hours


@lru_cache(maxsize=4096)
def _tail(tail: bytes) -> tuple[str, OpeningHours] | None:
    """(zone, hours) of a card's tail ``"timezone":...,"hours":...,"exceptions":...}``; None if it is not one."""
    try:
        parsed = orjson.loads(b"{" + tail)
    except orjson.JSONDecodeError:  # the match was not the card's own top-level key
        return None
    if list(parsed) != ["timezone", "hours", "exceptions"]:
        return None
    return parsed["timezone"], _hours(orjson.dumps((parsed["timezone"], parsed["hours"], parsed["exceptions"])))


@lru_cache(maxsize=4096)
def _hours(key: bytes) -> OpeningHours:
    """One parsed ``OpeningHours`` per distinct (zone, weekly hours, exceptions).

    A chain has a handful of schedules over thousands of stores: sharing them skips the parse,
    keeps their UTC instants already converted, and lets a search compute the status of each
    schedule once (``shop.stores.nearby._matching``).
    """
    timezone, weekly, exceptions = orjson.loads(key)
    return OpeningHours.from_json(weekly, {date.fromisoformat(day): ranges for day, ranges in exceptions.items()},
                                  timezone)
