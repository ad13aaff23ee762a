"""The nearby-store index in Redis: GEO positions of open stores and a compact card per store.

The database is the record; this index follows every committed change (``index_after_commit``)
and ``flask stores reindex`` rebuilds it whole. The nearby search reads only Redis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import orjson
import redis
from sqlalchemy import Row, Text, cast, select
from sqlalchemy.orm import selectinload

from shop.database import utcnow
from shop.extensions import db, redis_client
from shop.stores.models import Store, StoreHoursException
from shop.transactions import after_commit

GEO_KEY = "stores:geo"
CARD_KEY = "stores:card"
INDEXED_STATUS = "open"
# Exceptions older than this are of no use to "open now" or "next opening".
EXCEPTION_LOOKBEHIND = timedelta(days=2)
BATCH = 5000
# Stores per GEOADD / HSET in a rebuild: a command runs whole while other clients wait (500 take
# about 2 ms); a pipeline of short commands lets them in between.
COMMAND_BATCH = 500


def store_card(store: Store, today: date | None = None) -> dict:
    """What a nearby answer shows of a store, without touching the database again."""
    since = _exceptions_since(today)
    return _card(store, store.services, store.weekly_hours,
                 {e.day.isoformat(): e.hours for e in store.exceptions if e.day >= since})


def _exceptions_since(today: date | None = None) -> date:
    return (today or utcnow().date()) - EXCEPTION_LOOKBEHIND


def _card(store: Store | Row, services: list[str], hours: Mapping[str, Any], exceptions: dict[str, Any]) -> dict:
    """The card of a store (an ORM object or a row of ``_CARD_COLUMNS``): one shape for both paths.

    Timezone, hours and exceptions come last, in this order: the nearby search parses that tail
    once per distinct schedule rather than once per store (it falls back to a whole parse if not).
    """
    return {
        "id": store.id, "name": store.name, "address": store.address, "city": store.city,
        "district": store.district, "lat": store.lat, "lng": store.lng, "phone": store.phone,
        "services": services, "timezone": store.timezone, "hours": hours, "exceptions": exceptions,
    }


def index_after_commit(*store_ids: int) -> None:
    """Bring these stores' index entries in step with the database once the change commits."""
    ids = tuple(sorted(set(store_ids)))
    after_commit(_write_entries, key=("store-index", ids), prepare=lambda: index_entries(ids))


Entry = tuple[float, float, bytes]  # lng, lat, card (plain data: it is written after the commit)


def index_entries(store_ids: Iterable[int]) -> dict[int, Entry | None]:
    """What the index should hold for these stores: an entry if indexed, None to remove it."""
    ids = list(store_ids)
    stores = {}
    for start in range(0, len(ids), BATCH):
        stores.update((s.id, s) for s in _load(ids[start:start + BATCH]))
    return {i: _entry(stores[i]) if i in stores and stores[i].status == INDEXED_STATUS else None for i in ids}


def _entry(store: Store) -> Entry:
    return store.lng, store.lat, orjson.dumps(store_card(store))


def _write_entries(entries: dict[int, Entry | None]) -> None:
    pipe = redis_client().pipeline(transaction=False)
    for store_id, entry in entries.items():
        if entry is not None:
            _add(pipe, store_id, entry)
        else:
            pipe.zrem(GEO_KEY, store_id)
            pipe.hdel(CARD_KEY, store_id)
    pipe.execute()


def reindex_all(client: redis.Redis | None = None) -> int:
    """Rebuild the index from the database; the number of stores indexed."""
    client = client or redis_client()
    staging_geo, staging_card = GEO_KEY + ":rebuild", CARD_KEY + ":rebuild"
    client.unlink(staging_geo, staging_card)  # left over by an interrupted rebuild, maybe large
    since = _exceptions_since()
    count, last_id = 0, 0
    while True:
        # Core rows, JSON as text for orjson, multi-member GEOADD and HSET: at 1M stores this is
        # about 6x faster than ORM objects with selectinload and two commands per store.
        rows = db.session.execute(
            select(*_CARD_COLUMNS).where(Store.status == INDEXED_STATUS, Store.id > last_id)
            .order_by(Store.id).limit(BATCH)).all()
        if not rows:
            break
        exceptions = _exceptions_by_store(rows[0].id, rows[-1].id, since)
        _add_batch(client, staging_geo, staging_card, rows, exceptions)
        count, last_id = count + len(rows), rows[-1].id
    # Swap in one step, so searches never see a half-built index. UNLINK frees the old index in
    # Redis's background thread: RENAME over it would free a million entries inline, stalling
    # every Redis user for over half a second.
    pipe = client.pipeline(transaction=True)
    pipe.unlink(GEO_KEY, CARD_KEY)
    if count:
        pipe.rename(staging_geo, GEO_KEY).rename(staging_card, CARD_KEY)
    pipe.execute()
    return count


def _add_batch(client: redis.Redis, geo_key: str, card_key: str, rows: list[Row],
               exceptions: dict[int, dict[str, Any]]) -> None:
    """Write a batch of stores into the staging keys, in one round trip of several short commands."""
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(rows), COMMAND_BATCH):
        chunk = rows[start:start + COMMAND_BATCH]
        pipe.geoadd(geo_key, [value for row in chunk for value in (row.lng, row.lat, row.id)])
        pipe.hset(card_key, mapping={
            row.id: orjson.dumps(_card(row, orjson.loads(row.services_json), orjson.loads(row.hours_json),
                                       exceptions.get(row.id, {})))
            for row in chunk})
    pipe.execute()


# What a card needs, JSON columns as text: orjson parses them far faster than the driver's json.
_CARD_COLUMNS = (Store.id, Store.name, Store.address, Store.city, Store.district, Store.lat, Store.lng,
                 Store.phone, cast(Store.services, Text).label("services_json"), Store.timezone,
                 cast(Store.weekly_hours, Text).label("hours_json"))


def _exceptions_by_store(first_id: int, last_id: int, since: date) -> dict[int, dict[str, Any]]:
    """The card exceptions of stores ``first_id``..``last_id``, by day as the ORM relationship orders them."""
    rows = db.session.execute(
        select(StoreHoursException.store_id, StoreHoursException.day, cast(StoreHoursException.hours, Text))
        .where(StoreHoursException.store_id.between(first_id, last_id), StoreHoursException.day >= since)
        .order_by(StoreHoursException.store_id, StoreHoursException.day))
    found: dict[int, dict[str, Any]] = {}
    for store_id, day, hours in rows:
        found.setdefault(store_id, {})[day.isoformat()] = orjson.loads(hours)
    return found


def _add(pipe, store_id: int, entry: Entry) -> None:
    lng, lat, card = entry
    pipe.geoadd(GEO_KEY, (lng, lat, store_id))
    pipe.hset(CARD_KEY, store_id, card)


def _load(ids: list[int]) -> list[Store]:
    if not ids:
        return []
    return list(db.session.scalars(
        select(Store).where(Store.id.in_(ids)).options(selectinload(Store.exceptions))).all())
