"""Fault scenarios: Redis restarted empty or from an older snapshot, out of memory, the job queue lost,
WeChat Pay failing for a while, a worker killed; then the invariants, read from the database.

Every test here is marked ``faults`` (``make faults`` runs them; CI runs them on PostgreSQL and a
Redis server). A scenario is written against a :class:`Target`: the app's base URL and the hooks
that break its parts, so the production shape (gunicorn, nginx, several instances) can be given to
the same scenarios as another target.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from rq import Queue, SimpleWorker
from werkzeug.serving import make_server

from shop.extensions import redis_client
from shop.jobs import QUEUE
from tests.faults.servers import RedisClusterServers, RedisServer, free_port

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.faults)


@dataclass
class Target:
    """What a scenario runs against: where the app answers, and the parts a fault may break.

    ``app`` is an app object on the same database and Redis, for reading invariants and running
    sweeps as a scheduler would; ``restart_app`` stops every app server of the target and starts
    them again (a worker killed, a deploy).
    """

    base_url: str
    redis: RedisServer
    app: Flask
    restart_app: Callable[[], None]
    extra: dict = field(default_factory=dict)


@pytest.fixture
def own_redis(tmp_path) -> RedisServer:
    """A redis-server of this test's own, killed when it ends."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.close()


@pytest.fixture
def fault_app(make_app, own_redis) -> Flask:
    """An app on the suite's database and this test's own Redis."""
    return make_app(REDIS_URL=own_redis.url)


class _LiveServer:
    """``app`` served threaded on a fixed loopback port; stop/start keep the port."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread = None

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def target(fault_app, own_redis) -> Target:
    """The embedded target: ``fault_app`` over real HTTP on loopback, with its own Redis."""
    server = _LiveServer(fault_app)
    server.start()
    yield Target(base_url=server.url, redis=own_redis, app=fault_app, restart_app=server.restart)
    server.stop()


@pytest.fixture
def queued_app(make_app, own_redis) -> Flask:
    """An app on the suite's database and this test's own Redis that hands background work to RQ
    (``JOBS_ASYNC`` on, as in production); no worker runs until the test runs one."""
    return make_app(REDIS_URL=own_redis.url, JOBS_ASYNC=True)


@pytest.fixture
def queued_target(queued_app, own_redis) -> Target:
    """``target`` with background work on RQ: ``extra["run_worker"]()`` works the queue until it is
    empty, as a worker (`flask jobs worker`) would, without RQ's scheduler."""
    server = _LiveServer(queued_app)
    server.start()

    def run_worker() -> None:
        with queued_app.app_context():
            connection = redis_client()
            SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection).work(burst=True)

    yield Target(base_url=server.url, redis=own_redis, app=queued_app, restart_app=server.restart,
                 extra={"run_worker": run_worker})
    server.stop()


@pytest.fixture
def own_redis_cluster(request, tmp_path) -> RedisClusterServers:
    """A Redis Cluster of this test's own (three masters on loopback), stopped when it ends; parametrize it
    indirectly with RedisClusterServers' options (``{"node_timeout_ms": 60_000}``) to change them."""
    cluster = RedisClusterServers(tmp_path / "cluster", **getattr(request, "param", {}))
    try:
        yield cluster.start()
    finally:
        cluster.close()


@pytest.fixture
def cluster_target(make_app, own_redis, own_redis_cluster) -> Target:
    """``target`` with REDIS_URL naming ``own_redis_cluster`` (``extra["cluster"]``); RQ's queues, which
    cannot run on a Cluster, on ``own_redis`` (``redis``)."""
    app = make_app(REDIS_URL=own_redis_cluster.url, RQ_REDIS_URL=own_redis.url)
    server = _LiveServer(app)
    server.start()
    yield Target(base_url=server.url, redis=own_redis, app=app, restart_app=server.restart,
                 extra={"cluster": own_redis_cluster})
    server.stop()
