"""`python app.py` stopped by SIGTERM (kill, a process manager, a container runtime) leaves nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from app import ROOT
from shop.extensions import RedisHandle
from tests.faults.servers import free_port


def _serve(instance: Path) -> subprocess.Popen:
    env = {**os.environ, "RIPPLE_INSTANCE_PATH": str(instance), "PORT": str(free_port()),
           "WECHAT_STUB_PORT": str(free_port()), "RIPPLE_ENV": "development"}
    for name in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "TEST_REDIS_URL"):
        env.pop(name, None)
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    for line in process.stdout:
        if "Ripple API:" in line or time.monotonic() > deadline:
            break
    return process


def _redis_answers(instance: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(instance / "redis.sock"), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def test_sigterm_stops_the_app_and_its_embedded_redis(tmp_path):
    instance = tmp_path / "instance"
    process = _serve(instance)
    try:
        assert _redis_answers(instance)
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
    deadline = time.monotonic() + 10
    while _redis_answers(instance) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _redis_answers(instance)


def test_the_embedded_redis_stops_at_once_instead_of_retrying_the_dropped_shutdown(tmp_path):
    handle = RedisHandle(None, tmp_path / "instance", database=f"sqlite:///{tmp_path}/ripple.db", connect_timeout=1,
                         timeout=1)
    handle.client.set("walked", "1")
    started = time.monotonic()
    handle._stop_embedded()  # what python app.py's exit runs
    assert time.monotonic() - started < 3  # it took 7 s or more while redis-py retried SHUTDOWN with backoff
    assert not _redis_answers(tmp_path / "instance")
