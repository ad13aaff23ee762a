"""Nearest stores: a Redis GEOSEARCH that starts small and widens, then filters on cached cards.

GEOSEARCH costs work in proportion to the stores inside the searched box, and every other Redis
user waits behind it, so the search starts at ``FIRST_RADIUS_M`` and widens fourfold only while it
has found fewer than ``limit`` matching stores. Stores found at a smaller radius are exactly the
nearest ones, so the answer equals one full-radius search. No database query runs on this path.

The widening runs inside Redis (a short Lua script over the GEO key alone), so a search that has to
widen where stores are sparse costs one round trip instead of one per radius; the script skips a
radius only when it found fewer than ``limit`` stores there, where no filter could have found
``limit`` matches, so the answer is the one the loop in Python would give.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import orjson
import redis

from shop.stores.geo import CARD_KEY, GEO_KEY
from shop.stores.hours import OpeningHours, OpeningStatus

FIRST_RADIUS_M = 1000
WIDEN_FACTOR = 4

# KEYS: the GEO key, the card hash. ARGV: lng, lat, first radius, last radius (m), widen factor,
# hits needed to stop, COUNT (0: all). Returns {radius searched last, GEOSEARCH ... WITHDIST reply,
# the hits' cards (only with a COUNT: unfiltered, at most MAX_LIMIT of them; else empty)}.
_WIDEN_LUA = """
local lng, lat = ARGV[1], ARGV[2]
local radius, last = tonumber(ARGV[3]), tonumber(ARGV[4])
local factor, need, count = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
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
    radius = math.min(last, radius * factor)
end
"""
_WIDEN_SHA = hashlib.sha1(_WIDEN_LUA.encode()).hexdigest()


@dataclass(frozen=True)
class StoreCard:
    data: dict[str, Any]
    services: frozenset[str]
    hours: OpeningHours


@lru_cache(maxsize=65536)
def _card(raw: bytes) -> StoreCard:
    """Parse a cached card once per process (keyed by its bytes, so a changed store parses anew)."""
    data = orjson.loads(raw)
    hours = _hours(orjson.dumps((data["timezone"], data.pop("hours"), data.pop("exceptions"))))
    return StoreCard(data=data, services=frozenset(data["services"]), hours=hours)


@lru_cache(maxsize=4096)
def _hours(key: bytes) -> OpeningHours:
    """One parsed ``OpeningHours`` per distinct (zone, weekly hours, exceptions).

    A chain has a handful of schedules over thousands of stores: sharing them skips the parse on a
    card-cache miss, keeps their UTC instants already converted, and lets a search compute the
    status of each schedule once (``_matching``).
    """
    timezone, weekly, exceptions = orjson.loads(key)
    return OpeningHours.from_json(weekly, {date.fromisoformat(day): ranges for day, ranges in exceptions.items()},
                                  timezone)


def search_nearby(client: redis.Redis, *, lat: float, lng: float, radius_m: int, limit: int, at: datetime,
                  open_now: bool = False, service: str | None = None,
                  store_ids: Collection[int] | None = None) -> list[dict[str, Any]]:
    """Open stores within ``radius_m`` of a GCJ-02 point, nearest first, with distance and hours.

    ``store_ids`` restricts the answer to those stores (e.g. the ones selling a product).
    """
    filtered = open_now or service is not None or store_ids is not None
    radius = min(radius_m, FIRST_RADIUS_M)
    while True:
        radius, hits, raws = _geosearch(client, lat, lng, radius, radius_m, limit, None if filtered else limit)
        found = _matching(client, hits, raws, limit=limit, at=at, open_now=open_now, service=service,
                          store_ids=store_ids)
        if len(found) >= limit or radius >= radius_m:
            return found
        radius = min(radius_m, radius * WIDEN_FACTOR)


def _geosearch(client: redis.Redis, lat: float, lng: float, radius: int, last: int, need: int,
               count: int | None) -> tuple[int, list, list]:
    """Search from ``radius``, widening up to ``last`` until ``need`` hits.

    (radius searched last, hits, their cards when ``count`` is given, else an empty list).
    """
    # Raw GEOSEARCH in the script: redis-py's geosearch() drops BYRADIUS when the radius is 0.
    keys_and_args = (GEO_KEY, CARD_KEY, lng, lat, radius, last, WIDEN_FACTOR, need, count or 0)
    try:
        searched, hits, raws = client.evalsha(_WIDEN_SHA, 2, *keys_and_args)
    except redis.exceptions.NoScriptError:  # a restarted or new server: load it once
        client.script_load(_WIDEN_LUA)
        searched, hits, raws = client.evalsha(_WIDEN_SHA, 2, *keys_and_args)
    return int(searched), hits, raws


def _matching(client: redis.Redis, hits: list, raws: list, *, limit: int, at: datetime, open_now: bool,
              service: str | None, store_ids: Collection[int] | None) -> list[dict[str, Any]]:
    """The stores among ``hits`` that pass the filters, as answer items; ``raws``: their cards if fetched."""
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
        card = _card(raw)
        if service is not None and service not in card.services:
            continue
        status = statuses.get(card.hours)
        if status is None:
            status = statuses[card.hours] = card.hours.status(at)
        if open_now and not status.open_now:
            continue
        found.append({**card.data, "distance_m": round(distance), "open_now": status.open_now,
                      "closes_at": status.closes_at, "next_opens_at": status.next_opens_at})
        if len(found) == limit:
            break
    return found
