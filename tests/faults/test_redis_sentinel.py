"""REDIS_URL naming a Sentinel set: the app finds the master through the sentinel, and after a failover
its writes (the nearby index following a new store) land on the promoted replica, without a restart.

One master, one replica, one sentinel (quorum 1), each a redis-server of the test's own on loopback.
"""

from __future__ import annotations

import contextlib
import subprocess
import time

import pytest
import redis
from redis.sentinel import SentinelConnectionPool

from shop.extensions import db, redis_client
from shop.stores.geo import GEO_KEY
from tests.factories import make_store
from tests.faults.servers import RedisServer, free_port, redis_server_binary

SERVICE = "ripple"
NEARBY = "/api/v1/stores/nearby?lat=31.2304&lng=121.4737&radius_m=5000&limit=50"
FAILOVER_WITHIN_S = 30


class Sentinel:
    """A redis-server in sentinel mode watching ``master`` as SERVICE."""

    def __init__(self, directory, master: RedisServer) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = directory / "sentinel.conf"  # a sentinel rewrites its config file: it must be its own
        config.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {directory}\n"
                          f"sentinel monitor {SERVICE} 127.0.0.1 {master.port} 1\n"
                          f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                          f"sentinel failover-timeout {SERVICE} 5000\n")
        self._process = subprocess.Popen([redis_server_binary(), str(config), "--sentinel"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def master_port(self) -> int | None:
        with contextlib.suppress(redis.RedisError):
            return int(self.client.execute_command("SENTINEL", "get-master-addr-by-name", SERVICE)[1])
        return None

    def knows_replica(self) -> bool:
        with contextlib.suppress(redis.RedisError):
            return bool(self.client.execute_command("SENTINEL", "replicas", SERVICE))
        return False

    def close(self) -> None:
        self._process.kill()
        self._process.wait(10)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds} s")
        time.sleep(0.1)


@pytest.fixture
def sentinel_set(tmp_path):
    """(master, replica, sentinel), the replica in sync and known to the sentinel."""
    master = RedisServer(tmp_path / "master").start()
    replica = RedisServer(tmp_path / "replica").start("--replicaof", "127.0.0.1", str(master.port))
    sentinel = Sentinel(tmp_path / "sentinel", master)
    try:
        wait_for(lambda: replica.client().info("replication").get("master_link_status") == "up", 10,
                 "the replica did not sync")
        wait_for(sentinel.knows_replica, 20, "the sentinel did not find the replica")
        yield master, replica, sentinel
    finally:
        sentinel.close()
        replica.close()
        master.close()


def test_the_app_follows_a_sentinel_failover_to_the_promoted_replica(make_app, sentinel_set):
    master, replica, sentinel = sentinel_set
    app = make_app(REDIS_URL=f"redis+sentinel://127.0.0.1:{sentinel.port}/{SERVICE}")
    client = app.test_client()
    with app.app_context():
        assert isinstance(redis_client().connection_pool, SentinelConnectionPool)
        make_store(name="Before the failover")
        db.session.commit()
    assert [s["name"] for s in client.get(NEARBY).get_json()["items"]] == ["Before the failover"]
    assert master.client().zcard(GEO_KEY) == 1  # the index is on the master the sentinel named

    sentinel.client.execute_command("SENTINEL", "failover", SERVICE)
    wait_for(lambda: sentinel.master_port() == replica.port, FAILOVER_WITHIN_S, "the sentinel did not fail over")
    wait_for(lambda: replica.client().info("replication")["role"] == "master", FAILOVER_WITHIN_S,
             "the replica was not promoted")
    # Until the old master is turned into a replica it still takes writes, which its resync then drops
    # (as any write Redis's asynchronous replication had not yet copied): the markers heal that case.
    wait_for(lambda: master.client().info("replication").get("master_link_status") == "up", FAILOVER_WITHIN_S,
             "the old master did not follow the new one")

    with app.app_context():
        make_store(name="After the failover", lat=31.2310)
        db.session.commit()
    names = [s["name"] for s in client.get(NEARBY).get_json()["items"]]
    assert names == ["Before the failover", "After the failover"]
    assert replica.client().zcard(GEO_KEY) == 2  # written to the promoted replica, the new master
