"""Shoppers find the nearest open stores; the answer equals an exact computation over the same stores."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest

from shop.extensions import db, redis_client
from shop.stores.coordinates import haversine_m, wgs84_to_gcj02
from shop.stores.geo import GEO_KEY
from shop.stores.hours import OpeningHours
from shop.stores.nearby import search_nearby
from shop.stores.service import upsert_stores
from tests.factories import EVERY_DAY_9_TO_21, make_store

pytestmark = pytest.mark.redis_cluster  # also run on a Redis Cluster (.ci/run)

PEOPLES_SQUARE = (31.2304, 121.4737)
NIGHT_OWL = {day: [["18:00", "02:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def offset(point: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    lat, lng = point
    return lat + north_m / 111_320, lng + east_m / (111_320 * math.cos(math.radians(lat)))


def add_stores(app, rows: list[dict]) -> None:
    with app.app_context():
        upsert_stores(rows)
        db.session.commit()


def random_stores(rng: random.Random, n: int) -> list[dict]:
    """Most stores in clusters around a few centres, the rest spread out, with varied hours and services."""
    centres = [PEOPLES_SQUARE, (31.2200, 121.5440), (31.1900, 121.4300)]
    rows = []
    for i in range(n):
        if i % 5:
            lat, lng = rng.choice(centres)
            lat, lng = lat + rng.gauss(0, 0.01), lng + rng.gauss(0, 0.01)
        else:
            lat, lng = 31.2 + rng.uniform(-0.3, 0.3), 121.45 + rng.uniform(-0.3, 0.3)
        rows.append({"code": f"R{i:05d}", "name": f"Store {i}", "address": "x", "city": "Shanghai",
                     "lat": lat, "lng": lng, "timezone": "Asia/Shanghai",
                     "services": rng.choice([["pickup"], ["dine_in"], ["dine_in", "pickup"]]),
                     "weekly_hours": rng.choice([EVERY_DAY_9_TO_21, NIGHT_OWL]), "status": "open"})
    return rows


def brute_force(app, rows_by_id, lat, lng, radius_m, limit, at, open_now=False, service=None):
    """Haversine over every store at the position Redis stores (geohash-quantised), nearest first."""
    client = redis_client()
    ids = list(rows_by_id)
    positions = dict(zip(ids, client.geopos(GEO_KEY, *ids), strict=True))
    found = []
    for store_id, (s_lng, s_lat) in positions.items():
        row = rows_by_id[store_id]
        distance = haversine_m(lat, lng, s_lat, s_lng)
        if distance > radius_m or (service and service not in row["services"]):
            continue
        if open_now and not OpeningHours.from_json(row["weekly_hours"], {}, row["timezone"]).status(at).open_now:
            continue
        found.append((distance, store_id))
    return [store_id for _, store_id in sorted(found)[:limit]]


@pytest.fixture
def many_stores(app):
    rng = random.Random(7)
    rows = random_stores(rng, 400)
    add_stores(app, rows)
    with app.app_context():
        from shop.stores.models import Store  # noqa: PLC0415

        codes = {s.code: s.id for s in db.session.query(Store)}
    return {codes[row["code"]]: row for row in rows}


def test_nearby_equals_brute_force_for_many_points_radii_and_filters(app, many_stores):
    rng = random.Random(11)
    at = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai: day stores closed, night owls open
    with app.app_context():
        client = redis_client()
        for case in range(300):
            lat, lng = 31.2 + rng.uniform(-0.25, 0.25), 121.45 + rng.uniform(-0.25, 0.25)
            radius = rng.choice([0, 50, 300, 1000, 2500, 5000, 12000, 50000])
            limit = rng.choice([1, 5, 20, 50])
            open_now = case % 3 == 0
            service = rng.choice([None, None, "pickup", "dine_in"])
            answer = search_nearby(client, lat=lat, lng=lng, radius_m=radius, limit=limit, at=at,
                                   open_now=open_now, service=service)
            expected = brute_force(app, many_stores, lat, lng, radius, limit, at, open_now, service)
            assert [s["id"] for s in answer] == expected, (lat, lng, radius, limit, open_now, service)


def test_a_point_exactly_on_a_store_finds_it_even_at_radius_zero(app, many_stores):
    with app.app_context():
        store_id = next(iter(many_stores))
        [(s_lng, s_lat)] = redis_client().geopos(GEO_KEY, store_id)
        answer = search_nearby(redis_client(), lat=s_lat, lng=s_lng, radius_m=0, limit=5, at=datetime.now(UTC))
    assert [s["id"] for s in answer] == [store_id]
    assert answer[0]["distance_m"] == 0


def test_no_store_in_range_is_an_empty_list(client, many_stores):
    response = client.get("/api/v1/stores/nearby?lat=39.9&lng=116.4")
    assert response.status_code == 200
    assert response.get_json() == {"items": []}


def test_the_search_widens_past_its_first_radius_to_fill_the_limit(app, client):
    rows = [{"code": f"W{i}", "name": f"W{i}", "address": "x", "city": "Shanghai",
             "lat": lat, "lng": lng, "weekly_hours": EVERY_DAY_9_TO_21}
            for i, (lat, lng) in enumerate([offset(PEOPLES_SQUARE, 500, 0), offset(PEOPLES_SQUARE, 0, 3000),
                                            offset(PEOPLES_SQUARE, -4500, 0), offset(PEOPLES_SQUARE, 0, -7000)])]
    add_stores(app, rows)
    items = client.get("/api/v1/stores/nearby?lat=31.2304&lng=121.4737&limit=3").get_json()["items"]
    assert [s["name"] for s in items] == ["W0", "W1", "W2"]
    assert [round(s["distance_m"], -2) for s in items] == [500, 3000, 4500]
    wide = client.get("/api/v1/stores/nearby?lat=31.2304&lng=121.4737&radius_m=10000").get_json()["items"]
    assert [s["name"] for s in wide] == ["W0", "W1", "W2", "W3"]


def test_each_store_says_whether_it_is_open_and_when_it_next_opens(app, client):
    with app.app_context():
        make_store(name="Day", weekly_hours=EVERY_DAY_9_TO_21)
        db.session.commit()
    [store] = client.get("/api/v1/stores/nearby?lat=31.2304&lng=121.4737").get_json()["items"]
    assert set(store) >= {"id", "name", "address", "lat", "lng", "services", "distance_m", "open_now",
                          "closes_at", "next_opens_at"}
    assert (store["closes_at"] is None) != (store["next_opens_at"] is None)
    assert store["open_now"] == (store["closes_at"] is not None)


def test_wgs84_coordinates_are_converted_to_gcj02(app, client):
    wgs = (31.2304, 121.4737)
    gcj = wgs84_to_gcj02(*wgs)
    with app.app_context():
        make_store(name="Exactly here", lat=gcj[0], lng=gcj[1])
        db.session.commit()
    as_wgs = client.get(f"/api/v1/stores/nearby?lat={wgs[0]}&lng={wgs[1]}&coord=wgs84&radius_m=5").get_json()
    as_gcj_of_wgs = client.get(f"/api/v1/stores/nearby?lat={wgs[0]}&lng={wgs[1]}&radius_m=5").get_json()
    assert [s["name"] for s in as_wgs["items"]] == ["Exactly here"]
    assert as_gcj_of_wgs["items"] == []  # the raw WGS-84 point is ~500 m off in GCJ-02


def test_the_service_filter_and_open_now_filter_apply(app, client):
    with app.app_context():
        make_store(name="Pickup", services=["pickup"])
        make_store(name="Dine in", services=["dine_in"])
        make_store(name="Never open", weekly_hours={}, services=["dine_in"])
        db.session.commit()
    names = lambda q: [s["name"] for s in client.get(f"/api/v1/stores/nearby?lat=31.2304&lng=121.4737{q}").get_json()["items"]]  # noqa: E731
    assert names("&service=pickup") == ["Pickup"]
    assert "Never open" in names("") and "Never open" not in names("&open_now=true")


@pytest.mark.parametrize("query, field", [
    ("lat=91&lng=121", "lat"), ("lat=-90.5&lng=121", "lat"), ("lat=31&lng=181", "lng"),
    ("lat=31&lng=-180.01", "lng"), ("lat=abc&lng=121", "lat"), ("lat=NaN&lng=121", "lat"),
    ("lat=1e400&lng=121", "lat"), ("lat=31.2%20OR%201=1&lng=121", "lat"), ("lng=121", "lat"),
    ("lat=31&lng=121&radius_m=50001", "radius_m"), ("lat=31&lng=121&radius_m=-1", "radius_m"),
    ("lat=31&lng=121&radius_m=1.5", "radius_m"), ("lat=31&lng=121&limit=0", "limit"),
    ("lat=31&lng=121&limit=51", "limit"), ("lat=31&lng=121&coord=bd09", "coord"),
    ("lat=31&lng=121&service=spa", "service"), ("lat=31&lng=121&product_id=x", "product_id"),
    ("lat=31&lng=121&open_now=maybe", "open_now"),
])
def test_bad_nearby_input_is_422_naming_the_field(client, query, field):
    response = client.get(f"/api/v1/stores/nearby?{query}")
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
    assert field in response.get_json()["errors"]


def test_the_product_filter_lists_only_stores_that_sell_it(app, client):
    from shop.catalog.service import set_store_availability  # noqa: PLC0415
    from tests.factories import make_category, make_product  # noqa: PLC0415

    with app.app_context():
        selling, not_selling = make_store(name="Sells latte"), make_store(name="No latte")
        product = make_product(make_category().id, title="Latte")
        set_store_availability(product.skus[0].id, stores=[{"store_id": selling.id, "available": True},
                                                           {"store_id": not_selling.id, "available": False}],
                               actor_staff_id=None)
        db.session.commit()
        product_id = product.id
    url = "/api/v1/stores/nearby?lat=31.2304&lng=121.4737"
    assert {s["name"] for s in client.get(url).get_json()["items"]} == {"Sells latte", "No latte"}
    assert [s["name"] for s in client.get(f"{url}&product_id={product_id}").get_json()["items"]] == ["Sells latte"]
    assert client.get(f"{url}&product_id=999999").get_json()["items"] == []
