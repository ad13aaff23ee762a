"""The nearby search keeps its own Redis connection per thread and survives losing it or its script."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from shop.extensions import redis_client
from shop.redis_scripts import own_connection
from shop.stores.nearby import search_nearby
from tests.factories import EVERY_DAY_9_TO_21
from tests.stores.test_nearby import PEOPLES_SQUARE, add_stores, offset


def three_stores(app) -> None:
    add_stores(app, [{"code": f"C{i}", "name": f"C{i}", "address": "x", "city": "Shanghai",
                      "lat": lat, "lng": lng, "weekly_hours": EVERY_DAY_9_TO_21}
                     for i, (lat, lng) in enumerate(offset(PEOPLES_SQUARE, 300 * (i + 1), 0) for i in range(3))])


def names(limit: int = 3) -> list[str]:
    lat, lng = PEOPLES_SQUARE
    return [s["name"] for s in search_nearby(redis_client(), lat=lat, lng=lng, radius_m=5000, limit=limit,
                                             at=datetime.now(UTC))]


def test_a_search_after_redis_dropped_its_connection_still_answers(app):
    three_stores(app)
    with app.app_context():
        assert names() == ["C0", "C1", "C2"]
        killed = redis_client().client_kill_filter(_type="normal", skipme=True)  # ours among them
        assert killed >= 1
        assert names() == ["C0", "C1", "C2"]  # through the client, which reconnects
        assert names(limit=2) == ["C0", "C1"]  # and the own connection reopens


def test_a_search_after_redis_forgot_its_script_loads_it_again(app):
    three_stores(app)
    with app.app_context():
        assert names() == ["C0", "C1", "C2"]
        redis_client().script_flush()
        assert names() == ["C0", "C1", "C2"]


def test_each_thread_searches_on_its_own_connection(app):
    three_stores(app)
    pool = app.extensions["redis"].client.connection_pool
    seen, answers = [], []

    def search() -> None:
        with app.app_context():
            answers.append(names())
            seen.append(own_connection(pool))  # the one this thread's search used: it is connected

    threads = [threading.Thread(target=search) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [["C0", "C1", "C2"]] * 4
    assert len({id(connection) for connection in seen}) == 4
    assert all(connection._sock is not None for connection in seen)  # the searches went over them
    with app.app_context():
        names()
        assert own_connection(pool) is own_connection(pool)
