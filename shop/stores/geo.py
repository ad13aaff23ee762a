"""The nearby-store index in Redis: GEO positions of open stores, a compact card per store
(``shop.stores.cards``), and a marker holding the store-set version the index reflects
(``shop.stores.versions``).

The database is the record. The index follows every committed change (``index_after_commit``),
and is rebuilt whole, one rebuild at a time under a Redis lock, by ``flask stores reindex`` or
when a search finds it missing or older than the database (``shop.stores.index_keeper``).

The marker is only ever as new as the index: a change's write moves it forward only from the
version just before (an earlier write lost with Redis, or still on its way, leaves it behind,
and the index is rebuilt), and a rebuild sets it to the version it read before reading any store.
All keys share one hash tag, so the scripts that use them together also run on a Redis Cluster.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import redis
from redis.lock import Lock
from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.orm import selectinload

from shop.dependencies import redis_down
from shop.extensions import db, redis_client
from shop.fields import MAX_LATITUDE
from shop.redis_connections import REDIS_ERRORS
from shop.stores.cards import CARD_COLUMNS, card_exceptions, encode_card, row_card
from shop.stores.models import Store, StoreHoursException
from shop.stores.versions import bump_version, database_version, seen_version
from shop.transactions import after_commit

log = logging.getLogger(__name__)

GEO_KEY = "{stores}:geo"
CARD_KEY = "{stores}:card"
VERSION_KEY = "{stores}:version"  # the marker: the store-set version the index reflects
LOCK_KEY = "{stores}:rebuild-lock"
INDEXED_STATUS = "open"
BATCH = 5000
# Stores per GEOADD / HSET: a command runs whole while other clients wait (500 take about 2 ms);
# a pipeline of short commands lets them in between.
COMMAND_BATCH = 500
# A rebuild holds the lock this long past its last batch: a process that died mid-rebuild delays
# the next one by at most this much. Its half-built keys live a little longer, then expire.
LOCK_SECONDS = 10
STAGING_TTL_MS = 3 * LOCK_SECONDS * 1000
REBUILD_WAIT_SECONDS = 120  # how long `flask stores reindex` waits for a rebuild already running

# KEYS[1]: the marker. ARGV[1]: the version whose change was just written. Runs in the same
# MULTI as the write. An absent marker counts as 0: only a database that never had a store is
# at 0 (the migration starts a database that has stores at 1).
_ADVANCE_LUA = """
local marker = tonumber(redis.call('GET', KEYS[1]) or '0')
if marker == tonumber(ARGV[1]) - 1 then
    redis.call('SET', KEYS[1], ARGV[1])
    return 1
end
return 0
"""

# KEYS: lock, geo, card, marker, staging geo, staging card. ARGV: lock token, version, stores.
# Swaps the rebuilt index in, in one step, only while the rebuild still holds the lock. UNLINK
# frees the old index in Redis's background thread: RENAME over it would free a million entries
# inline, stalling every Redis user for over half a second. RENAME keeps the staging TTL: PERSIST.
_SWAP_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local stores = tonumber(ARGV[3])
if stores > 0 and redis.call('EXISTS', KEYS[5], KEYS[6]) < 2 then return 0 end
redis.call('UNLINK', KEYS[2], KEYS[3])
if stores > 0 then
    redis.call('RENAME', KEYS[5], KEYS[2])
    redis.call('PERSIST', KEYS[2])
    redis.call('RENAME', KEYS[6], KEYS[3])
    redis.call('PERSIST', KEYS[3])
end
redis.call('SET', KEYS[4], ARGV[2])
return 1
"""


class RebuildBusy(RuntimeError):
    """Another rebuild held the lock for longer than we would wait."""


class RebuildLost(RuntimeError):
    """The rebuild lost its lock (it ran past it) and another may have started: it swapped nothing."""


# --- following each committed change -------------------------------------------------------------

def index_after_commit(*store_ids: int) -> None:
    """Bring these stores' index entries in step with the database once the change commits.

    The store-set version goes up in the same transaction, just before its commit.
    """
    ids = tuple(sorted(set(store_ids)))
    after_commit(_write_committed, key=("store-index", ids),
                 prepare=lambda: (bump_version(), index_entries(ids)))


Entry = tuple[float, float, bytes]  # lng, lat, card (plain data: it is written after the commit)


def index_entries(store_ids: Iterable[int]) -> dict[int, Entry | None]:
    """What the index should hold for these stores: an entry if indexed, None to remove it."""
    ids = list(store_ids)
    stores = {}
    for start in range(0, len(ids), BATCH):
        stores.update((s.id, s) for s in _load(ids[start:start + BATCH]))
    return {i: _entry(stores[i]) if i in stores and _indexed(stores[i]) else None for i in ids}


def indexed_stores() -> ColumnElement[bool]:
    """The stores the index holds (and the nearby search lists), as a condition.

    A store beyond MAX_LATITUDE (a typo at the pole) cannot be indexed; it must not fail every rebuild.
    """
    return (Store.status == INDEXED_STATUS) & Store.lat.between(-MAX_LATITUDE, MAX_LATITUDE)


def _indexed(store: Store) -> bool:
    return store.status == INDEXED_STATUS and -MAX_LATITUDE <= store.lat <= MAX_LATITUDE


def _entry(store: Store) -> Entry:
    return store.lng, store.lat, encode_card(store)


def _write_committed(prepared: tuple[int, dict[int, Entry | None]]) -> None:
    version, entries = prepared
    seen_version().saw(version)
    write_entries(redis_client(), version, entries)


def write_entries(client: redis.Redis, version: int, entries: Mapping[int, Entry | None]) -> bool:
    """Write the entries of the change that made ``version``; whether the marker moved to it.

    One MULTI: a rebuild swapping its index in lands before or after the whole write, never inside.
    """
    added = [(store_id, entry) for store_id, entry in entries.items() if entry is not None]
    removed = [store_id for store_id, entry in entries.items() if entry is None]
    pipe = client.pipeline(transaction=True)
    for start in range(0, len(added), COMMAND_BATCH):
        chunk = added[start:start + COMMAND_BATCH]
        pipe.geoadd(GEO_KEY, [value for store_id, (lng, lat, _) in chunk for value in (lng, lat, store_id)])
        pipe.hset(CARD_KEY, mapping={store_id: card for store_id, (_, _, card) in chunk})
    for start in range(0, len(removed), COMMAND_BATCH):
        chunk = removed[start:start + COMMAND_BATCH]
        pipe.zrem(GEO_KEY, *chunk)
        pipe.hdel(CARD_KEY, *chunk)
    # EVAL as a plain command: a Cluster's pipeline has no eval(), but routes this one by its key.
    pipe.execute_command("EVAL", _ADVANCE_LUA, 1, VERSION_KEY, version)
    return bool(pipe.execute()[-1])


def index_marker(client: redis.Redis) -> int | None:
    """The store-set version the index reflects; None when it has no marker (lost, or never built)."""
    marker = client.get(VERSION_KEY)
    return None if marker is None else int(marker)


# --- rebuilding it whole --------------------------------------------------------------------------

def reindex_all(client: redis.Redis | None = None) -> int:
    """Rebuild the index from the database (``flask stores reindex``); the number of stores indexed.

    Waits for a rebuild already running, then rebuilds anyway: the caller asked for one.
    """
    client = client or redis_client()
    lock = _lock(client)
    if not lock.acquire(blocking=True, blocking_timeout=REBUILD_WAIT_SECONDS):
        raise RebuildBusy(f"another rebuild held the lock for over {REBUILD_WAIT_SECONDS} s")
    try:
        version = database_version()
        return _rebuild(client, lock, version)
    finally:
        _release(lock)


def rebuild_if_stale(client: redis.Redis) -> int | None:
    """Rebuild the index unless it reflects the database's version already, or another rebuild runs.

    The database's version (the index now reflects it), or None when the lock was taken.
    """
    lock = _lock(client)
    if not lock.acquire(blocking=False):
        return None
    try:
        version = database_version()
        marker = index_marker(client)
        if marker is not None and marker >= version:  # another process rebuilt it meanwhile
            return version
        _rebuild(client, lock, version)
        return version
    finally:
        _release(lock)


def _lock(client: redis.Redis) -> Lock:
    # Not thread-local: the token is read to check, when swapping, that the lock is still ours.
    return client.lock(LOCK_KEY, timeout=LOCK_SECONDS, sleep=0.1, thread_local=False)


def _release(lock: Lock) -> None:
    """Release the lock if it is still ours (it may have expired, or Redis gone away)."""
    try:
        lock.release()
    except redis.exceptions.LockError:
        pass  # expired, and perhaps taken by another rebuild
    except REDIS_ERRORS as error:
        if not redis_down(error):
            raise


def _rebuild(client: redis.Redis, lock: Lock, version: int) -> int:
    """Build the index of ``version`` into staging keys and swap it in; the number of stores indexed.

    ``version`` is read before any store, so every change it counts is in what follows; a later
    change either is in too or leaves the marker behind it (its own write lands in the old index
    or before the swap), and the index is rebuilt again.
    """
    started = time.perf_counter()
    token = lock.local.token
    staging_geo, staging_card = f"{GEO_KEY}:rebuild:{token.decode()}", f"{CARD_KEY}:rebuild:{token.decode()}"
    swapped = False
    try:
        count, last_id = 0, 0
        while True:
            # Core rows, JSON as text for orjson, multi-member GEOADD and HSET: at 1M stores this is
            # about 6x faster than ORM objects with selectinload and two commands per store.
            rows = db.session.execute(
                select(*CARD_COLUMNS).where(indexed_stores(), Store.id > last_id)
                .order_by(Store.id).limit(BATCH)).all()
            if not rows:
                break
            exceptions = card_exceptions(StoreHoursException.store_id.between(rows[0].id, rows[-1].id))
            _add_batch(client, staging_geo, staging_card, rows, exceptions)
            count, last_id = count + len(rows), rows[-1].id
            lock.reacquire()  # still running: hold the lock another LOCK_SECONDS (raises if it was lost)
        swapped = bool(client.eval(_SWAP_LUA, 6, lock.name, GEO_KEY, CARD_KEY, VERSION_KEY, staging_geo,
                                   staging_card, token, version, count))
        if not swapped:
            raise RebuildLost("the rebuild lost its lock before swapping its index in")
    finally:
        if not swapped:
            with contextlib.suppress(*REDIS_ERRORS):
                client.unlink(staging_geo, staging_card)
    log.info("nearby index rebuilt: %d open stores at store-set version %d in %.2f s",
             count, version, time.perf_counter() - started)
    return count


def _add_batch(client: redis.Redis, geo_key: str, card_key: str, rows: list[Row],
               exceptions: dict[int, dict[str, Any]]) -> None:
    """Write a batch of stores into the staging keys, in one round trip of several short commands."""
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(rows), COMMAND_BATCH):
        chunk = rows[start:start + COMMAND_BATCH]
        pipe.geoadd(geo_key, [value for row in chunk for value in (row.lng, row.lat, row.id)])
        pipe.hset(card_key, mapping={row.id: row_card(row, exceptions.get(row.id, {})) for row in chunk})
    pipe.pexpire(geo_key, STAGING_TTL_MS).pexpire(card_key, STAGING_TTL_MS)
    pipe.execute()


def _load(ids: list[int]) -> list[Store]:
    if not ids:
        return []
    return list(db.session.scalars(
        select(Store).where(Store.id.in_(ids)).options(selectinload(Store.exceptions))).all())
