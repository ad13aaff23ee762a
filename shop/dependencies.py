"""The parts Ripple depends on (the database, the reports' replica, Redis): which errors say one is down,
how to probe it, and one log line when an outage starts and one when it ends.

A dependency that is unreachable, times out or refuses writes (Redis out of memory or a read-only
replica; PostgreSQL shutting down, out of connections or disk) is not a bug in a request: it answers
503 with Retry-After (shop/errors.py), and the log says so once per outage rather than with a
traceback per request. While an outage is open, a watcher thread probes the dependency every second
and logs its return, so requests pay nothing for noticing it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from flask import Flask, current_app
from sqlalchemy import exc, text

from shop.config import REPLICA_BIND
from shop.extensions import db, redis_client
from shop.redis_connections import keys_on_every_master

log = logging.getLogger(__name__)

DATABASE = "database"
REDIS = "redis"
REPLICA = "database replica"  # DATABASE_REPLICA_URL, which serves the reports (shop/replica.py)
RECHECK_SECONDS = 1.0
PROBE_KEY = "ripple:probe"  # written (and expiring at once) to see that Redis accepts writes

# What says Redis (a server, a Sentinel master, a Cluster's node or slot) cannot serve now. A Cluster client
# raises them after its own retries and a fresh look at which node serves which slot.
_REDIS_DOWN = (redis.exceptions.ConnectionError,  # refused, reset, or no connection left (MaxConnectionsError)
               redis.exceptions.TimeoutError, redis.exceptions.ReadOnlyError, redis.exceptions.OutOfMemoryError,
               # CLUSTERDOWN (a slot's master lost), MASTERDOWN, and slots moving faster than the client
               # could follow their redirections ("TTL exhausted")
               redis.exceptions.ClusterError,
               redis.exceptions.TryAgainError,  # a slot half migrated
               redis.exceptions.SlotNotCoveredError)  # no master known for a slot
# A Cluster client's plain RedisClusterException is down when its fresh look at the slots finds no node
# answering, a slot no master serves, or nodes that disagree (slots moving); its other plain ones (keys
# of several slots in one call, a command it cannot route) are bugs.
_CLUSTER_UNSERVED = ("Redis Cluster cannot be connected", "All slots are not covered",
                     "startup_nodes could not agree")
# Redis's refusals as they reach us inside a script's error ("... -OOM command not allowed ...").
_REDIS_REFUSALS = {"OOM": "out_of_memory", "READONLY": "read_only", "MASTERDOWN": "unavailable",
                   "LOADING": "unavailable", "CLUSTERDOWN": "unavailable", "TRYAGAIN": "unavailable"}
_DATABASE_DOWN = (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError)
# SQLSTATE classes of a PostgreSQL that cannot serve now: connection exception, insufficient resources
# (disk, memory, connections), operator intervention (shutdown, statement timeout), system error.
_POSTGRES_DOWN = {"08", "53", "57", "58"}
# SQLite's primary result codes of the same kind: busy, locked, no memory, read-only, I/O error, full,
# cannot open. SQLITE_ERROR (a syntax error, a missing table) is a bug.
_SQLITE_DOWN = {5, 6, 7, 8, 10, 13, 14}


class ReplicaUnavailable(exc.SQLAlchemyError):
    """The reports' replica is down: raised from the driver's error by shop.replica.reading_replica, so that the
    outage is the replica's, not the primary's."""


def down_dependency(error: BaseException) -> str | None:
    """The dependency ``error`` says is down (DATABASE, REPLICA or REDIS), or None: any other error is a bug."""
    if isinstance(error, ReplicaUnavailable):
        return REPLICA
    for cause in (error, error.__cause__):
        if redis_down(cause):
            return REDIS
        if isinstance(cause, exc.SQLAlchemyError) and _database_down(cause):
            return DATABASE
    return None


def redis_down(error: BaseException | None) -> bool:
    """Whether ``error`` says Redis cannot serve now (any other Redis error is a bug)."""
    if isinstance(error, _REDIS_DOWN):
        return True
    if isinstance(error, redis.exceptions.ResponseError):
        return _redis_refusal(error) is not None
    return type(error) is redis.exceptions.RedisClusterException and str(error).startswith(_CLUSTER_UNSERVED)


def _redis_refusal(error: redis.exceptions.ResponseError) -> str | None:
    message = str(error)
    return next((reason for prefix, reason in _REDIS_REFUSALS.items()
                 if message.startswith(prefix + " ") or f"-{prefix} " in message), None)


def _database_down(error: exc.SQLAlchemyError) -> bool:
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, _DATABASE_DOWN):
        return False
    original = getattr(error, "orig", None)
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF in _SQLITE_DOWN
    sqlstate = getattr(original, "sqlstate", None)
    return sqlstate is None or sqlstate[:2] in _POSTGRES_DOWN  # None: no answer from the server at all


def down_reason(error: BaseException) -> str:
    """How a dependency is down, in a word a probe can show: out_of_memory, read_only or unavailable."""
    if isinstance(error, redis.exceptions.OutOfMemoryError):
        return "out_of_memory"
    if isinstance(error, redis.exceptions.ReadOnlyError):
        return "read_only"
    if isinstance(error, redis.exceptions.ResponseError):
        return _redis_refusal(error) or "unavailable"
    return "unavailable"


def probe_database() -> None:
    """Raise unless the database answers a query."""
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def probe_replica() -> None:
    """Raise unless the reports' replica answers a query."""
    with db.engines[REPLICA_BIND].connect() as connection:
        connection.execute(text("SELECT 1"))


def probe_redis() -> None:
    """Raise unless Redis accepts a write (PING still answers when it is out of memory or read-only); on a
    Cluster, unless every master does: one lost leaves its slots unserved, and soon the whole Cluster down."""
    client = redis_client()
    for key in keys_on_every_master(client, PROBE_KEY):
        client.set(key, b"1", px=1000)


PROBES: dict[str, Callable[[], None]] = {DATABASE: probe_database, REPLICA: probe_replica, REDIS: probe_redis}


@dataclass
class _Outage:
    since: float
    failures: int = 1


class Outages:
    """The open outages of one app in this process: each logged when it opens and when it closes."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._open: dict[str, _Outage] = {}
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def begin(self, dependency: str, error: BaseException) -> None:
        """``dependency`` failed: log it if it is the first failure of an outage, and watch for its return."""
        with self._lock:
            outage = self._open.get(dependency)
            if outage is not None:
                outage.failures += 1
                return
            self._open[dependency] = _Outage(since=time.monotonic())
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="ripple-outage-watcher",
                                                 daemon=True)
                self._watcher.start()
        log.error("%s unavailable (%s: %s); answering 503 until it is back", dependency, type(error).__name__,
                  _first_line(error))

    def end(self, dependency: str) -> None:
        """``dependency`` works again: log the end of its outage, if one was open."""
        with self._lock:
            outage = self._open.pop(dependency, None)
        if outage is not None:
            log.warning("%s is back after %.1f s (%d failed calls meanwhile)", dependency,
                        time.monotonic() - outage.since, outage.failures)

    def _watch(self) -> None:
        """Probe each open outage's dependency every RECHECK_SECONDS until none is left."""
        while True:
            time.sleep(RECHECK_SECONDS)
            with self._lock:
                watched = list(self._open)
                if not watched:
                    self._watcher = None
                    return
            with self._app.app_context():
                for dependency in watched:
                    try:
                        PROBES[dependency]()
                    except Exception:  # noqa: BLE001 - still down: keep watching
                        log.debug("%s still unavailable", dependency, exc_info=True)
                    else:
                        self.end(dependency)


def _first_line(error: BaseException) -> str:
    """The gist of an error (SQLAlchemy's messages go on with the statement and a link)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""


def init_outages(app: Flask) -> Outages:
    outages = Outages(app)
    app.extensions["outages"] = outages
    return outages


def outages() -> Outages:
    """The outages of the current app."""
    return current_app.extensions["outages"]
