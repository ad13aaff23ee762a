"""Timed calls from this process: the endpoint through the WSGI app, a bare GEOSEARCH, PostgreSQL.

The endpoint is called as gunicorn calls it, ``app.wsgi_app(environ, start_response)``, with an
environ prepared (by werkzeug's EnvironBuilder) before the clock starts and the body consumed
inside it; no test client, so the figure is the app's own cost plus its Redis round trips.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import psycopg
import redis
from flask import Flask
from werkzeug.test import EnvironBuilder

from shop.stores.geo import GEO_KEY
from tests.bench.loading import libpq_url

NEARBY_PATH = "/api/v1/stores/nearby"
DEFAULT_RADIUS_M = 5000
DEFAULT_LIMIT = 20
EARTH_RADIUS_M = 6_371_008.8  # the mean radius; Redis uses 6372797.56, a 0.03% difference
# What a PostgreSQL user writes: a bounding box the btree on (lat, lng) can serve, then the
# exact haversine distance, nearest first. It returns what a store card needs.
BBOX_SQL = """
SELECT id, name, address, city, district, lat, lng, phone, services, timezone, weekly_hours, distance_m
FROM (
    SELECT *, 2 * %(earth)s * asin(sqrt(
        power(sin(radians(lat - %(lat)s) / 2), 2)
        + cos(radians(%(lat)s)) * cos(radians(lat)) * power(sin(radians(lng - %(lng)s) / 2), 2))) AS distance_m
    FROM stores
    WHERE lat BETWEEN %(lat_min)s AND %(lat_max)s AND lng BETWEEN %(lng_min)s AND %(lng_max)s
      AND status = 'open'
) AS near
WHERE distance_m <= %(radius)s
ORDER BY distance_m
LIMIT %(limit)s
"""


def percentile(samples_ns: Sequence[int], q: float) -> float:
    """The ``q`` quantile (0..1) of nanosecond samples, in microseconds (nearest rank)."""
    ordered = sorted(samples_ns)
    rank = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[rank] / 1000


def summary_us(samples_ns: Sequence[int]) -> dict[str, float]:
    return {"p50_us": round(percentile(samples_ns, 0.50), 1), "p99_us": round(percentile(samples_ns, 0.99), 1),
            "mean_us": round(statistics.fmean(samples_ns) / 1000, 1)}


def nearby_query(lat: float, lng: float) -> str:
    """The query string a mini-program sends for a position (defaults: 5 km, 20 stores)."""
    return f"lat={lat:.6f}&lng={lng:.6f}"


class EndpointCaller:
    """Calls ``GET path`` (the nearby endpoint) through ``app.wsgi_app`` with prepared environs.

    Without points it calls the bare path (``/healthz``, the floor).
    """

    def __init__(self, app: Flask, points: Sequence[tuple[float, float]], path: str = NEARBY_PATH) -> None:
        self.app = app
        self.environs = [EnvironBuilder(path=path, query_string=nearby_query(lat, lng)).get_environ()
                         for lat, lng in points] or [EnvironBuilder(path=path).get_environ()]
        self._status = ""

    def _start_response(self, status: str, headers: list, exc_info: Any = None) -> None:
        self._status = status

    def call(self, index: int) -> tuple[int, bytes]:
        """(nanoseconds, body) of one request; the environ is copied before the clock starts."""
        environ = dict(self.environs[index])
        started = time.perf_counter_ns()
        response = self.app.wsgi_app(environ, self._start_response)
        try:
            body = b"".join(response)
        finally:
            if hasattr(response, "close"):
                response.close()
        elapsed = time.perf_counter_ns() - started
        if not self._status.startswith("200"):
            raise RuntimeError(f"nearby answered {self._status}: {body[:300]!r}")
        return elapsed, body


def geosearch(client: redis.Redis, lat: float, lng: float, radius_m: int = DEFAULT_RADIUS_M,
              limit: int = DEFAULT_LIMIT) -> tuple[int, list]:
    """(nanoseconds, hits) of the reference: one full-radius GEOSEARCH, as the endpoint's defaults ask."""
    started = time.perf_counter_ns()
    hits = client.execute_command("GEOSEARCH", GEO_KEY, "FROMLONLAT", lng, lat, "BYRADIUS", radius_m, "m",
                                  "ASC", "COUNT", limit, "WITHDIST")
    return time.perf_counter_ns() - started, hits


def interleaved(caller: EndpointCaller, client: redis.Redis, points: Sequence[tuple[float, float]],
                check: Callable[[bytes, list], None] | None = None) -> tuple[list[int], list[int]]:
    """Endpoint and GEOSEARCH at the same points, alternating which goes first (drift hits both)."""
    endpoint_ns, geo_ns = [], []
    for index, (lat, lng) in enumerate(points):
        if index % 2:
            geo_elapsed, hits = geosearch(client, lat, lng)
            elapsed, body = caller.call(index)
        else:
            elapsed, body = caller.call(index)
            geo_elapsed, hits = geosearch(client, lat, lng)
        endpoint_ns.append(elapsed)
        geo_ns.append(geo_elapsed)
        if check is not None:
            check(body, hits)
    return endpoint_ns, geo_ns


def same_stores(body: bytes, hits: list) -> bool:
    """Whether the endpoint listed the stores the full-radius GEOSEARCH found (as sets: ties may swap)."""
    return {item["id"] for item in orjson.loads(body)["items"]} == {int(member) for member, _ in hits}


class BoundingBoxQuery:
    """The PostgreSQL alternative, over psycopg (the fastest Python client) with a prepared statement."""

    def __init__(self, database_url: str) -> None:
        self.connection = psycopg.connect(libpq_url(database_url), autocommit=True)

    def close(self) -> None:
        self.connection.close()

    def call(self, lat: float, lng: float, radius_m: int = DEFAULT_RADIUS_M,
             limit: int = DEFAULT_LIMIT) -> tuple[int, list]:
        """(nanoseconds, rows) of one search; the box is computed inside the clock, as a caller would."""
        started = time.perf_counter_ns()
        dlat = math.degrees(radius_m / EARTH_RADIUS_M)
        dlng = dlat / max(math.cos(math.radians(lat)), 1e-6)
        rows = self.connection.execute(BBOX_SQL, {
            "earth": EARTH_RADIUS_M, "lat": lat, "lng": lng, "lat_min": lat - dlat, "lat_max": lat + dlat,
            "lng_min": lng - dlng, "lng_max": lng + dlng, "radius": radius_m, "limit": limit,
        }, prepare=True).fetchall()
        return time.perf_counter_ns() - started, rows

    def explain(self, lat: float, lng: float) -> str:
        """The plan PostgreSQL picks (to show the btree is used)."""
        dlat = math.degrees(DEFAULT_RADIUS_M / EARTH_RADIUS_M)
        dlng = dlat / math.cos(math.radians(lat))
        plan = self.connection.execute("EXPLAIN " + BBOX_SQL, {
            "earth": EARTH_RADIUS_M, "lat": lat, "lng": lng, "lat_min": lat - dlat, "lat_max": lat + dlat,
            "lng_min": lng - dlng, "lng_max": lng + dlng, "radius": DEFAULT_RADIUS_M, "limit": DEFAULT_LIMIT,
        }).fetchall()
        return "\n".join(line for (line,) in plan)
