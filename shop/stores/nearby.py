"""Nearest stores: a Redis GEOSEARCH that starts small and widens, then filters on cached cards.

GEOSEARCH costs work in proportion to the stores inside the searched box, and every other Redis
user waits behind it, so the search starts at ``FIRST_RADIUS_M`` and widens only while it has
found fewer than ``limit`` matching stores. Stores found at a smaller radius are exactly the
nearest ones, so the answer equals one full-radius search. No database query runs on this path
(while the index is current, below).

The widening runs inside Redis, in a short Lua script, so a search that has to widen costs one
round trip instead of one per radius, and an unfiltered search gets its stores' cards in that same
round trip. Where it found some stores but too few, the script widens to the radius that the
density it saw says should hold ``limit`` stores (areas grow with the square of the radius),
rather than fourfold: searching 1.4 km instead of 4 km in a city centre is a tenth of the work.
It skips a radius only when it found fewer than ``limit`` stores there, where no filter could
have found ``limit`` matches, so the answer is the one a search at every radius would give.

The script first reads the index's marker (the store-set version it reflects, ``geo``): when it
is missing or older than the version this process knows the database has, the index would answer
wrongly (an empty list reads as "no stores here"), so the search answers from the database
instead, with the same widening, filters and answer shape, while the index is rebuilt in the
background (``index_keeper``); likewise while Redis cannot be reached. A search too wide to answer
from the database that way is a 503 with ``Retry-After``.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import select

from shop.dependencies import redis_down
from shop.errors import AppError, CommonError
from shop.extensions import db, redis_client
from shop.redis_connections import REDIS_ERRORS
from shop.redis_scripts import RedisScript
from shop.stores.cards import CARD_COLUMNS, card_exceptions, read_card, row_card
from shop.stores.coordinates import EARTH_RADIUS_M, haversine_m
from shop.stores.geo import CARD_KEY, GEO_KEY, VERSION_KEY, indexed_stores
from shop.stores.hours import OpeningHours, OpeningStatus
from shop.stores.index_keeper import index_keeper
from shop.stores.models import Store, StoreHoursException

FIRST_RADIUS_M = 1000
WIDEN_FACTOR = 4  # the most a search widens in one step (and the step when it found nothing)
MIN_WIDEN_FACTOR = 1.25  # the least, so a search always ends
DENSITY_MARGIN = 1.15  # the radius estimated from density, a little wider so one step usually does
# A search from the database reads every open store in its box: past this many it answers 503
# rather than keep a request (and the database) busy. A 5 km box in a city centre of a
# million-store network holds about 1,000; the search starts at 1 km and widens only as needed.
DATABASE_MAX_STORES = 2000
RETRY_AFTER_SECONDS = 5
# A product sold at this many stores or fewer is filtered in the database's query, not after it.
DATABASE_MAX_ID_FILTER = 1000

# KEYS: the GEO key, the card hash, the index's marker (all under one hash tag). ARGV: lng, lat,
# first radius, last radius (m), hits needed to stop, COUNT (0: all), widen factors (max, min),
# density margin, the store-set version the database is known to have. Returns {-1} when the
# marker is missing or older than that version; else {radius searched last, GEOSEARCH ... WITHDIST
# reply, the hits' cards (only with a COUNT, i.e. at most MAX_LIMIT of them; else empty: a
# filtered search fetches the cards of the candidates it keeps)}.
_WIDEN_LUA = """
local marker = redis.call('GET', KEYS[3])
if not marker or tonumber(marker) < tonumber(ARGV[10]) then
    return {-1}
end
local lng, lat = ARGV[1], ARGV[2]
local radius, last = tonumber(ARGV[3]), tonumber(ARGV[4])
local need, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local max_factor, min_factor, margin = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
while true do
    local hits
    if count > 0 then
        hits = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', lng, lat, 'BYRADIUS', radius, 'm', 'ASC',
                          'WITHDIST', 'COUNT', count)
    else
        hits = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', lng, lat, 'BYRADIUS', radius, 'm', 'ASC',
                          'WITHDIST')
    end
    if #hits >= need or radius >= last then
        local cards = {}
        if count > 0 and #hits > 0 then
            local ids = {}
            for i, hit in ipairs(hits) do ids[i] = hit[1] end
            cards = redis.call('HMGET', KEYS[2], unpack(ids))
        end
        return {radius, hits, cards}
    end
    local factor = max_factor
    if #hits > 0 then
        factor = math.max(min_factor, math.min(max_factor, math.sqrt(need / #hits) * margin))
    end
    radius = math.min(last, math.ceil(radius * factor))
end
"""
_WIDEN = RedisScript(_WIDEN_LUA)


class IndexNotReady(Exception):
    """The index is missing or older than the database: it cannot answer."""


def nearby_stores(*, lat: float, lng: float, radius_m: int, limit: int, at: datetime, open_now: bool = False,
                  service: str | None = None, store_ids: Collection[int] | None = None) -> list[dict[str, Any]]:
    """Open stores near a GCJ-02 point, nearest first: from the index, else from the database.

    The database answers while the index is missing or stale (and is being rebuilt) or Redis is
    down (shop/dependencies.py says which errors mean that, a Cluster's too); never an empty list
    from an index that lost its stores.
    """
    keeper = index_keeper()
    try:
        found = search_nearby(redis_client(), lat=lat, lng=lng, radius_m=radius_m, limit=limit, at=at,
                              open_now=open_now, service=service, store_ids=store_ids,
                              known_version=keeper.seen.get())
    except IndexNotReady:
        keeper.index_not_ready()
    except REDIS_ERRORS as exc:
        if not redis_down(exc):
            raise
        keeper.redis_unreachable(exc)
    else:
        keeper.index_ready()
        return found
    return search_nearby_in_database(lat=lat, lng=lng, radius_m=radius_m, limit=limit, at=at, open_now=open_now,
                                     service=service, store_ids=store_ids)


def search_nearby(client: redis.Redis, *, lat: float, lng: float, radius_m: int, limit: int, at: datetime,
                  open_now: bool = False, service: str | None = None,
                  store_ids: Collection[int] | None = None, known_version: int = 0) -> list[dict[str, Any]]:
    """Open stores within ``radius_m`` of a GCJ-02 point, nearest first, with distance and hours.

    ``store_ids`` restricts the answer to those stores (e.g. the ones selling a product).
    Raises ``IndexNotReady`` when the index has no marker or one older than ``known_version``.
    """
    filtered = open_now or service is not None or store_ids is not None
    radius = min(radius_m, FIRST_RADIUS_M)
    while True:
        radius, hits, raws = _geosearch(client, lat, lng, radius, radius_m, limit, None if filtered else limit,
                                        known_version)
        found = _matching(client, hits, raws, limit=limit, at=at, open_now=open_now, service=service,
                          store_ids=store_ids)
        if len(found) >= limit or radius >= radius_m:
            return found
        # Enough stores, too few matches: the filters' pass rate is unknown, so widen fully.
        radius = min(radius_m, radius * WIDEN_FACTOR)


def _geosearch(client: redis.Redis, lat: float, lng: float, radius: int, last: int, need: int,
               count: int | None, known_version: int) -> tuple[int, list, list]:
    """Search from ``radius``, widening up to ``last`` until ``need`` hits.

    (radius searched last, hits, their cards when ``count`` is given, else an empty list).
    """
    # Raw GEOSEARCH in the script: redis-py's geosearch() drops BYRADIUS when the radius is 0.
    reply = _WIDEN(client, (GEO_KEY, CARD_KEY, VERSION_KEY), (lng, lat, radius, last, need, count or 0, WIDEN_FACTOR,
                                                             MIN_WIDEN_FACTOR, DENSITY_MARGIN, known_version))
    if reply[0] == -1:
        raise IndexNotReady
    searched, hits, raws = reply
    return int(searched), hits, raws


def search_nearby_in_database(*, lat: float, lng: float, radius_m: int, limit: int, at: datetime,
                              open_now: bool = False, service: str | None = None,
                              store_ids: Collection[int] | None = None) -> list[dict[str, Any]]:
    """``search_nearby``'s answer, from the database: stores in a bounding box, haversine, same cards and filters.

    It widens as the index search does, from 1 km fourfold. A box holding more than
    ``DATABASE_MAX_STORES`` open stores is refused: 503 service_unavailable with Retry-After.
    """
    if store_ids is not None and not store_ids:
        return []
    radius = min(radius_m, FIRST_RADIUS_M)
    while True:
        near = _stores_within(lat, lng, radius, store_ids)
        exceptions = card_exceptions(StoreHoursException.store_id.in_([row.id for _, row in near])) if near else {}
        raws = (row_card(row, exceptions.get(row.id, {})) for _, row in near)  # built only as far as needed
        found = _matching(None, [(row.id, distance) for distance, row in near], raws, limit=limit, at=at,
                          open_now=open_now, service=service, store_ids=None)
        if len(found) >= limit or radius >= radius_m:
            return found
        radius = min(radius_m, radius * WIDEN_FACTOR)


def _stores_within(lat: float, lng: float, radius_m: int, store_ids: Collection[int] | None) -> list[tuple]:
    """(distance, row of ``CARD_COLUMNS``) of the open stores within ``radius_m``, nearest first."""
    (lat_min, lat_max), (lng_min, lng_max) = _bounding_box(lat, lng, radius_m)
    statement = (select(*CARD_COLUMNS)
                 .where(indexed_stores(), Store.lat.between(lat_min, lat_max),
                        Store.lng.between(lng_min, lng_max))
                 .limit(DATABASE_MAX_STORES + 1))
    if store_ids is not None and len(store_ids) <= DATABASE_MAX_ID_FILTER:
        statement = statement.where(Store.id.in_(list(store_ids)))
    rows = db.session.execute(statement).all()
    if len(rows) > DATABASE_MAX_STORES:
        raise AppError(CommonError.SERVICE_UNAVAILABLE,
                       "The store search is being rebuilt and this search is too wide to answer meanwhile; "
                       "try again shortly or search a smaller radius.",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    near = []
    for row in rows:
        if store_ids is not None and row.id not in store_ids:
            continue
        distance = haversine_m(lat, lng, row.lat, row.lng)
        if distance <= radius_m:
            near.append((distance, row))
    near.sort(key=lambda pair: (pair[0], pair[1].id))
    return near


def _bounding_box(lat: float, lng: float, radius_m: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """((lat min, max), (lng min, max)) holding every point within ``radius_m`` of a point on Redis's sphere."""
    angle = radius_m / EARTH_RADIUS_M
    lat_min, lat_max = lat - math.degrees(angle), lat + math.degrees(angle)
    if lat_min <= -90 or lat_max >= 90 or angle >= math.pi / 2:  # a pole is inside: every longitude
        return (max(lat_min, -90.0), min(lat_max, 90.0)), (-180.0, 180.0)
    # The widest longitude a circle reaches is asin(sin(angle) / cos(lat)), not angle / cos(lat).
    spread = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(lat)))))
    if lng - spread < -180 or lng + spread > 180:  # across the antimeridian: every longitude
        return (lat_min, lat_max), (-180.0, 180.0)
    return (lat_min, lat_max), (lng - spread, lng + spread)


def _matching(client: redis.Redis | None, hits: list, raws: Iterable[bytes | None], *, limit: int, at: datetime,
              open_now: bool, service: str | None, store_ids: Collection[int] | None) -> list[dict[str, Any]]:
    """The stores among ``hits`` that pass the filters, as answer items; ``raws``: their cards if fetched.

    ``raws`` may be an iterator (the database search builds cards as they are used): it then holds
    the cards of every hit, and ``store_ids`` must be None.
    """
    candidates = [(int(member), float(distance)) for member, distance in hits]
    if store_ids is not None:
        candidates = [(i, d) for i, d in candidates if i in store_ids]
    if not candidates:
        return []
    if not raws:  # filtered: only the candidates' cards, after the store_ids cut
        raws = client.hmget(CARD_KEY, [i for i, _ in candidates])
    statuses: dict[OpeningHours, OpeningStatus] = {}  # stores sharing a schedule share its status
    found = []
    for (_, distance), raw in zip(candidates, raws, strict=True):
        if raw is None:  # removed between the two reads
            continue
        store, hours = read_card(raw)
        if service is not None and service not in store["services"]:
            continue
        status = statuses.get(hours)
        if status is None:
            status = statuses[hours] = hours.status(at)
        if open_now and not status.open_now:
            continue
        store["distance_m"] = round(distance)
        store["open_now"], store["closes_at"], store["next_opens_at"] = (
            status.open_now, status.closes_at, status.next_opens_at)
        found.append(store)
        if len(found) == limit:
            break
    return found
