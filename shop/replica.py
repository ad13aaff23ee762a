"""The reports' database: DATABASE_REPLICA_URL, a read-only replica of DATABASE_URL (docs/database.md).

A report's service runs under ``reading_replica()`` (a context manager, or a decorator:
``@reading_replica()``). Inside it ``db.session`` is a session of its own on the replica's engine, so the
report's ORM and Core queries are the ones it runs on the primary. That session sees committed rows only,
never the request's unfinished writes, and writes nothing: a replica refuses writes, and on PostgreSQL
its transactions are READ ONLY as well (shop/config.py's ``_replica_engine``). Without
DATABASE_REPLICA_URL the block changes nothing: the request's own session reads the primary.

While the replica is down, a report answers 503 with Retry-After, and the outage is the replica's:
logged once and probed until it ends (shop/dependencies.py), like the primary's. The primary is not
asked instead: the replica is there to keep heavy reports off the database that takes the orders, and
moving every report onto it when the replica fails would load it at the worst moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shop.config import REPLICA_BIND
from shop.database import ping_connections_idle_for
from shop.dependencies import DATABASE, ReplicaUnavailable, down_dependency
from shop.errors import CommonError, raises
from shop.extensions import db

_READING = "ripple_reading_replica"  # marks the replica's session in its info
REPLICA_NOTE = ("the reports' database replica (DATABASE_REPLICA_URL) is unavailable. With a replica, the figures "
                "are read from it and lag the primary by its replication delay")


def replica_engine() -> Engine | None:
    """The current app's replica engine, or None without DATABASE_REPLICA_URL."""
    return db.engines.get(REPLICA_BIND)


@contextmanager
def reading_replica() -> Iterator[None]:
    """Within: ``db.session`` reads the replica, in a session and transaction of its own, closed at the end."""
    engine = replica_engine()
    registry = db.session.registry
    if engine is None or (registry.has() and registry().info.get(_READING)):  # no replica, or reading it already
        yield
        return
    primary = registry() if registry.has() else None
    session = Session(bind=engine, info={_READING: True})
    registry.set(session)
    try:
        yield
    except SQLAlchemyError as error:
        if not _cancelled_for_recovery(error) and down_dependency(error) != DATABASE:
            raise
        # The app's handler answers 503 with Retry-After (shop/errors.py) for the replica's outage, not the
        # primary's; and no view's `except AppError` mistakes it for a refusal of what was asked. A report
        # the standby cancelled is a moment's outage: logged, and over at the first probe.
        raise ReplicaUnavailable(next(iter(str(error).strip().splitlines()), "")) from error
    finally:
        if primary is None:
            registry.clear()
        else:
            registry.set(primary)
        _close(session)


def _cancelled_for_recovery(error: SQLAlchemyError) -> bool:
    """A hot standby cancelled the query: replaying the primary's changes needed rows it was reading.

    PostgreSQL says so with SQLSTATE 40001 (a READ ONLY report meets no other serialization failure). The
    next try usually passes: 503 with Retry-After, not a 500.
    """
    return getattr(getattr(error, "orig", None), "sqlstate", None) == "40001"


def _close(session: Session) -> None:
    """End the replica's transaction (a rollback: it wrote nothing), also when the replica went away under it."""
    try:
        session.close()
    except SQLAlchemyError as error:
        if down_dependency(error) is None:
            raise


def init_replica(app: Flask, *, ping_after_idle_s: float) -> None:
    """Check the replica's pooled connections as the primary's: before use, once idle for ``ping_after_idle_s``."""
    with app.app_context():
        engine = replica_engine()
    if engine is not None:
        ping_connections_idle_for(engine, ping_after_idle_s)


def documented_replica_report() -> Callable:
    """The OpenAPI of an endpoint whose figures come from the replica: 503 while it is down, and the lag."""
    return raises(CommonError.SERVICE_UNAVAILABLE, notes={CommonError.SERVICE_UNAVAILABLE: REPLICA_NOTE})
