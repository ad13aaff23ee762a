"""The nearby index healing itself, at 100k stores (``--stores``) on PostgreSQL and a Redis server.

``bash tests/bench/run heal`` (or, with TEST_DATABASE_URL and TEST_REDIS_URL set by .ci/services.sh,
``python -m tests.bench.nearby_heal --stores 100000``). One JSON line per figure:

- ``index_rebuild_s``: ``reindex_all`` (what ``flask stores reindex`` runs) over every store;
- per scenario, ``lost`` (the index keys gone, as after a Redis restart without persistence) and
  ``stale`` (the marker one version behind the database, as after a restored snapshot):
  ``heal_s`` from breaking the index until its marker equals the database's version, while
  city-centre searches run all along through ``app.wsgi_app``; the p50/p99 of those searches
  while the database answered them; how many answered 503; and how many of the database's
  answers differ from the healed index's at the same point.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from flask import Flask
from werkzeug.test import EnvironBuilder

from app import create_app
from shop.extensions import db
from shop.stores.geo import CARD_KEY, GEO_KEY, VERSION_KEY, index_marker, reindex_all
from shop.stores.versions import bump_version, database_version
from tests.bench import loading
from tests.bench.nearby import services
from tests.bench.population import query_points, store_stream
from tests.bench.timing import NEARBY_PATH, nearby_query, summary_us

HEAL_TIMEOUT_S = 300


def emit(figure: str, value: Any, **fields: Any) -> None:
    print(json.dumps({"bench": "nearby_heal", **fields, "figure": figure, "value": value}), flush=True)


def call(app: Flask, lat: float, lng: float) -> tuple[int, int, list[int]]:
    """(nanoseconds, status, ids of the stores listed) of one nearby search through the WSGI app."""
    environ = EnvironBuilder(path=NEARBY_PATH, query_string=nearby_query(lat, lng)).get_environ()
    status = []
    started = time.perf_counter_ns()
    body = b"".join(app.wsgi_app(environ, lambda s, h, e=None: status.append(int(s.split()[0]))))
    elapsed = time.perf_counter_ns() - started
    return elapsed, status[0], [item["id"] for item in orjson.loads(body).get("items", [])]


def heal(app: Flask, scenario: str, stores: int) -> None:
    """Break the index as ``scenario`` says, search until it is whole again, report."""
    client = loading.redis_client_of(app)
    with app.app_context():
        if scenario == "lost":
            client.unlink(GEO_KEY, CARD_KEY, VERSION_KEY)
        else:  # a change the restored index never saw
            bump_version()
            db.session.commit()
        version = database_version()
        db.session.remove()
    points = query_points("city_centre", 2000, seed=len(scenario))
    started = time.perf_counter()
    from_database: list[tuple[int, tuple[float, float], list[int]]] = []
    unavailable = searches = 0
    with app.app_context():
        while index_marker(client) != version:
            if time.perf_counter() - started > HEAL_TIMEOUT_S:
                raise SystemExit(f"{scenario}: not healed within {HEAL_TIMEOUT_S} s")
            point = points[searches % len(points)]
            elapsed, status, ids = call(app, *point)
            searches += 1
            unavailable += status == 503
            if status == 200 and index_marker(client) != version:
                from_database.append((elapsed, point, ids))
    healed = time.perf_counter() - started
    # The same searches, now from the healed index: the database must have answered the same stores.
    differ = sum(set(call(app, *point)[2]) != set(ids) for _, point, ids in from_database)
    fields = {"stores": stores, "scenario": scenario}
    emit("heal_s", round(healed, 2), **fields, note="from breaking the index until its marker equals the database's")
    emit("searches_while_healing", searches, **fields)
    if from_database:
        figures = summary_us([elapsed for elapsed, _, _ in from_database])
        emit("database_answer_p50_us", figures["p50_us"], **fields)
        emit("database_answer_p99_us", figures["p99_us"], **fields)
    emit("answers_503", unavailable, **fields)
    emit("answers_from_database_unlike_the_index", differ, of=len(from_database), **fields,
         note="stores listed differently from the healed index at the same point (a tie at the limit may swap)")


def bare_rebuild(app: Flask, database_url: str) -> tuple[float, float]:
    """(seconds, seconds) of the work a rebuild cannot avoid: reading the open stores' card columns
    with psycopg, and writing as many entries of a typical card's size to Redis, 500 per command."""
    started = time.perf_counter()
    with psycopg.connect(loading.libpq_url(database_url)) as connection:
        rows = connection.execute(
            "SELECT id, name, address, city, district, lat, lng, phone, services::text, timezone, "
            "weekly_hours::text FROM stores WHERE status = 'open' ORDER BY id").fetchall()
    read = time.perf_counter() - started
    client, card = loading.redis_client_of(app), b"x" * 420
    started = time.perf_counter()
    for start in range(0, len(rows), 5000):
        pipe = client.pipeline(transaction=False)
        for chunk in range(start, min(start + 5000, len(rows)), 500):
            batch = rows[chunk:chunk + 500]
            pipe.geoadd("bench:geo", [value for row in batch for value in (row[6], row[5], row[0])])
            pipe.hset("bench:card", mapping={row[0]: card for row in batch})
        pipe.execute()
    write = time.perf_counter() - started
    client.unlink("bench:geo", "bench:card")
    return read, write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=100_000)
    stores = parser.parse_args().stores
    database_url, redis_url = services()
    with tempfile.TemporaryDirectory(prefix="ripple-heal-") as tmp:
        app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                          "RIPPLE_INSTANCE_PATH": str(Path(tmp) / "app")})
        loading.prepare_database(app)
        loading.copy_stores(database_url, store_stream(datetime.now(UTC).date()), stores)
        for run in (1, 2):
            with app.app_context():
                started = time.perf_counter()
                indexed = reindex_all()
                emit("index_rebuild_s", round(time.perf_counter() - started, 2), stores=stores, indexed=indexed,
                     run=run, note="reindex_all, as flask stores reindex")
                db.session.remove()
        read, write = bare_rebuild(app, database_url)
        emit("bare_read_s", round(read, 2), stores=stores, note="psycopg: the open stores' card columns")
        emit("bare_write_s", round(write, 2), stores=stores, note="redis-py: GEOADD + HSET of as many 420-byte cards")
        emit("machine_loadavg_1m", round(os.getloadavg()[0], 2), nproc=os.cpu_count())
        for scenario in ("lost", "stale"):
            heal(app, scenario, stores)


if __name__ == "__main__":
    main()
