"""The nearby index heals itself: lost or stale, it is rebuilt without a command, one rebuild at a time,
and meanwhile the search answers from the database, never with an empty list where stores are."""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import UTC, datetime

import pytest

from shop.extensions import db, redis_client
from shop.stores import nearby
from shop.stores.geo import CARD_KEY, GEO_KEY, LOCK_KEY, VERSION_KEY, index_marker
from shop.stores.index_keeper import index_keeper
from shop.stores.nearby import search_nearby, search_nearby_in_database
from shop.stores.service import upsert_stores
from shop.stores.versions import database_version
from tests.factories import EVERY_DAY_9_TO_21
from tests.stores.test_nearby import PEOPLES_SQUARE, add_stores, offset, random_stores

pytestmark = pytest.mark.redis_cluster  # also run on a Redis Cluster (.ci/run)

NEAR_PEOPLES_SQUARE = "/api/v1/stores/nearby?lat=31.2304&lng=121.4737&radius_m=5000&limit=50"
REBUILT = "nearby index rebuilt"


def stores_around(prefix: str, count: int, spread_m: float = 2000) -> list[dict]:
    rng = random.Random(prefix)
    return [{"code": f"{prefix}{i:04d}", "name": f"{prefix} {i}", "address": "x", "city": "Shanghai",
             "lat": lat, "lng": lng, "weekly_hours": EVERY_DAY_9_TO_21}
            for i, (lat, lng) in enumerate(offset(PEOPLES_SQUARE, rng.uniform(-spread_m, spread_m),
                                                  rng.uniform(-spread_m, spread_m)) for _ in range(count))]


def names(client, url: str = NEAR_PEOPLES_SQUARE) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, response.get_json()
    return sorted(item["name"] for item in response.get_json()["items"])


def index_is_current(app, stores: int) -> bool:
    """The index holds ``stores`` stores and says it reflects the database's version."""
    with app.app_context():
        client = redis_client()
        current = index_marker(client) == database_version() and client.zcard(GEO_KEY) == stores
        db.session.remove()
        return current


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.02)


def settled(*apps) -> None:
    """No rebuild thread still running in these apps (so none outlives the test)."""
    for app in apps:
        with app.app_context():
            wait_until(lambda: not index_keeper().rebuilding)


def test_a_search_after_the_index_was_lost_still_finds_the_stores_and_the_index_comes_back(app, client):
    add_stores(app, stores_around("L", 12))
    every_store = names(client)
    assert len(every_store) == 12
    with app.app_context():
        redis_client().flushdb()  # Redis restarted without its data
    assert names(client) == every_store  # from the database, at once
    wait_until(lambda: index_is_current(app, 12))
    settled(app)
    assert names(client) == every_store


def test_an_index_restored_from_before_a_store_was_added_is_rebuilt(app, client):
    add_stores(app, stores_around("S", 5))
    with app.app_context():
        snapshot = {key: redis_client().dump(key) for key in (GEO_KEY, CARD_KEY, VERSION_KEY)}
    add_stores(app, [{**stores_around("S", 6)[5], "name": "Added after the snapshot"}])
    with app.app_context():
        for key, value in snapshot.items():  # Redis came back from its older snapshot
            redis_client().restore(key, 0, value, replace=True)
    assert "Added after the snapshot" in names(client)
    wait_until(lambda: index_is_current(app, 6))
    settled(app)
    assert "Added after the snapshot" in names(client)


def test_a_store_written_into_a_lost_index_does_not_make_the_index_look_whole(app, client):
    add_stores(app, stores_around("W", 8))
    with app.app_context():
        redis_client().flushdb()
    add_stores(app, [{**stores_around("W", 9)[8], "name": "Written after the loss"}])  # its entry, not the rest
    with app.app_context():
        assert index_marker(redis_client()) is None
    found = names(client)
    assert len(found) == 9 and "Written after the loss" in found
    wait_until(lambda: index_is_current(app, 9))
    settled(app)


def test_a_store_beyond_the_latitudes_redis_can_index_does_not_stop_the_index_healing(app, client):
    add_stores(app, [*stores_around("N", 4), {**stores_around("N", 5)[4], "lat": 89.5, "name": "Near the pole"}])
    with app.app_context():
        assert index_marker(redis_client()) == database_version()  # its own write did not fail
        redis_client().flushdb()
    assert len(names(client)) == 4
    wait_until(lambda: index_is_current(app, 4))
    settled(app)


def test_while_another_process_holds_the_rebuild_lock_nobody_else_rebuilds(app, client):
    add_stores(app, stores_around("K", 6))
    with app.app_context():
        redis_client().flushdb()
        redis_client().set(LOCK_KEY, "another-process", px=60_000)
    for _ in range(3):
        assert len(names(client)) == 6
        time.sleep(0.6)  # past the keeper's pause between attempts
    with app.app_context():
        assert redis_client().exists(GEO_KEY, VERSION_KEY) == 0  # not rebuilt behind the lock holder's back
        redis_client().delete(LOCK_KEY)  # that process died; its lock expired
    wait_until(lambda: index_is_current(app, 6))  # the waiting process takes over, no search needed
    settled(app)
    assert len(names(client)) == 6


def test_two_processes_noticing_a_lost_index_at_once_rebuild_it_once(app, make_app, caplog):
    add_stores(app, stores_around("P", 1500, spread_m=20_000))
    with app.app_context():
        redis_client().flushdb()
    processes = [app, make_app(), make_app()]  # each with its own keeper, as separate processes have
    start = threading.Barrier(6)
    answers = []

    def search(process) -> None:
        with process.test_client() as client:
            start.wait()
            answers.append(len(client.get(NEAR_PEOPLES_SQUARE).get_json()["items"]))

    caplog.set_level(logging.INFO, logger="shop.stores.geo")
    threads = [threading.Thread(target=search, args=(process,)) for process in processes * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [50] * 6
    wait_until(lambda: index_is_current(app, 1500), timeout=30)
    settled(*processes)
    assert sum(REBUILT in record.getMessage() for record in caplog.records) == 1


def test_a_search_too_wide_to_answer_from_the_database_is_503_with_retry_after(app, client, monkeypatch):
    add_stores(app, stores_around("T", 5, spread_m=300))
    monkeypatch.setattr(nearby, "DATABASE_MAX_STORES", 3)
    with app.app_context():
        redis_client().set(LOCK_KEY, "another-process", px=60_000)  # a rebuild elsewhere, slow
        redis_client().delete(VERSION_KEY, GEO_KEY, CARD_KEY)
    response = client.get(NEAR_PEOPLES_SQUARE)
    assert response.status_code == 503
    assert response.get_json()["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    with app.app_context():
        redis_client().delete(LOCK_KEY)
    wait_until(lambda: index_is_current(app, 5))
    settled(app)
    assert len(names(client)) == 5


@pytest.fixture
def many_stores(app):
    rows = random_stores(random.Random(7), 400)
    add_stores(app, rows)


def test_the_database_answers_as_the_index_does_for_many_points_radii_and_filters(app, many_stores):
    rng = random.Random(13)
    at = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai: day stores closed, night owls open
    with app.app_context():
        client = redis_client()
        for case in range(200):
            lat, lng = 31.2 + rng.uniform(-0.25, 0.25), 121.45 + rng.uniform(-0.25, 0.25)
            query = {"lat": lat, "lng": lng, "radius_m": rng.choice([0, 50, 300, 1000, 2500, 5000, 12000, 50000]),
                     "limit": rng.choice([1, 5, 20, 50]), "at": at, "open_now": case % 3 == 0,
                     "service": rng.choice([None, None, "pickup", "dine_in"]),
                     "store_ids": rng.choice([None, None, set(rng.sample(range(1, 401), 150))])}
            from_index, from_database = search_nearby(client, **query), search_nearby_in_database(**query)
            assert len(from_database) == len(from_index), query
            for mine, theirs in zip(from_database, from_index, strict=True):
                # Redis keeps positions to about half a metre: stores a metre apart in distance may swap.
                assert abs(mine.pop("distance_m") - theirs.pop("distance_m")) <= 1, query
                assert mine == theirs or mine["id"] != theirs["id"], query
            assert sum(m["id"] != t["id"] for m, t in zip(from_database, from_index, strict=True)) <= 2, query


def test_an_import_bumps_the_version_once_per_commit_and_the_index_follows(app, client):
    add_stores(app, stores_around("I", 3))
    with app.app_context():
        before = database_version()
        upsert_stores(stores_around("I", 7))  # 3 updated, 4 created, one commit
        db.session.commit()
        assert database_version() == before + 1
        assert index_marker(redis_client()) == before + 1
    assert len(names(client)) == 7
