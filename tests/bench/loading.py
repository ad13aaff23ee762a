"""Fill the app's database with a store network and build the Redis index the way production does.

Stores go in with PostgreSQL COPY (a million ORM inserts would take longer than the whole bench);
the index is then built by ``shop.stores.geo.reindex_all``, the code behind ``flask stores reindex``,
so the bench measures the production rebuild too.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import redis
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from shop.extensions import db, redis_client
from shop.stores.geo import reindex_all
from shop.stores.models import Store

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
STORE_COLUMNS = ("id", "code", "name", "address", "city", "district", "lat", "lng", "phone", "timezone",
                 "services", "status", "weekly_hours", "created_at", "updated_at")


def libpq_url(sqlalchemy_url: str) -> str:
    """The SQLAlchemy URL as psycopg wants it (no ``+psycopg`` driver suffix)."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def prepare_database(app: Flask) -> None:
    """Run the app's migrations; refuse a database or Redis that already holds data."""
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        stores = db.session.scalar(select(func.count()).select_from(Store))
        keys = redis_client().dbsize()
        db.session.remove()
    if stores or keys:
        raise SystemExit(f"refusing to run on data: {stores} stores, {keys} Redis keys "
                         "(tests/bench/run starts a throwaway PostgreSQL and Redis)")


def copy_stores(database_url: str, stream: Iterator[dict[str, Any]], count: int) -> int:
    """COPY the next ``count`` stores of ``stream`` (and their exceptions); the highest id written."""
    now = datetime.now(UTC)
    exceptions: list[tuple[int, Any, str, str]] = []
    last_id = 0
    with psycopg.connect(libpq_url(database_url)) as connection:
        with connection.cursor() as cursor, cursor.copy(f"COPY stores ({', '.join(STORE_COLUMNS)}) FROM STDIN") as copy:
            for row in itertools.islice(stream, count):
                copy.write_row(_store_values(row, now))
                exceptions += [(row["id"], day, orjson.dumps(hours).decode(), note)
                               for day, hours, note in row["exceptions"]]
                last_id = row["id"]
        with connection.cursor() as cursor, cursor.copy(
                "COPY store_hours_exceptions (store_id, day, hours, note) FROM STDIN") as copy:
            for values in exceptions:
                copy.write_row(values)
        # Ids were given explicitly: move the sequence past them, as the app would have.
        connection.execute("SELECT setval(pg_get_serial_sequence('stores', 'id'), %s)", (last_id,))
        connection.execute("ANALYZE stores")
    return last_id


def _store_values(row: dict[str, Any], now: datetime) -> tuple:
    values = {**row, "services": orjson.dumps(row["services"]).decode(),
              "weekly_hours": orjson.dumps(row["weekly_hours"]).decode(), "created_at": now, "updated_at": now}
    return tuple(values[column] for column in STORE_COLUMNS)


@dataclass(frozen=True)
class IndexBuild:
    stores: int
    seconds: float
    longest_command_ms: float  # the longest any other Redis user waited behind the rebuild


def build_index(app: Flask) -> IndexBuild:
    """Rebuild the Redis index from the database as production does, watching Redis's slow log."""
    client = redis_client_of(app)
    # A throwaway server: the bench may set its slow log to catch every command over 1 ms.
    client.config_set("slowlog-log-slower-than", 1000)
    client.config_set("slowlog-max-len", 100_000)
    client.slowlog_reset()
    with app.app_context():
        started = time.perf_counter()
        indexed = reindex_all()
        elapsed = time.perf_counter() - started
        db.session.remove()
    longest = max((entry["duration"] for entry in client.slowlog_get(100_000)), default=0)
    return IndexBuild(indexed, elapsed, longest / 1000)


def redis_client_of(app: Flask) -> redis.Redis:
    """The app's own Redis client (the one its requests use)."""
    return app.extensions["redis"].client
