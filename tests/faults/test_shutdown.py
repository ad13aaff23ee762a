"""Graceful shutdown under gunicorn with the real config (deploy/gunicorn.conf.py): on SIGTERM readiness
fails first, new connections are refused at once (not left hanging, then reset), and the requests in
flight finish."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.faults.servers import free_port, quit_gunicorn
from tests.faults.slow_app import STARTED_KEY

ROOT = Path(__file__).resolve().parents[2]


class Gunicorn:
    """gunicorn serving tests/faults/slow_app.py on a free loopback port, with the deploy config."""

    def __init__(self, folder: Path, redis_url: str, database_url: str, drain_seconds: float,
                 load_seconds: float = 0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "gunicorn.log"
        self._env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_WORKERS": "2",
                     "GUNICORN_THREADS": "4", "GUNICORN_GRACEFUL_TIMEOUT": "20",
                     "SHUTDOWN_DRAIN_SECONDS": str(drain_seconds), "RIPPLE_ENV": "development",
                     "RIPPLE_INSTANCE_PATH": str(folder / "instance"), "REDIS_URL": redis_url,
                     "DATABASE_URL": database_url,
                     "SLOW_APP_LOAD_SECONDS": str(load_seconds)}
        self.process: subprocess.Popen | None = None

    def launch(self) -> Gunicorn:
        """Start gunicorn without waiting for it."""
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                 "--no-control-socket",  # not the user's ~/.gunicorn/gunicorn.ctl
                 "tests.faults.slow_app:create()"], cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def start(self) -> Gunicorn:
        self.launch()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:  # the first answer waits for a worker to load the app
                if requests.get(f"{self.url}/readyz", timeout=60).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not get ready:\n{self.log.read_text()}")

    def terminate(self) -> float:
        """SIGTERM to the arbiter, as an orchestrator stops it; when it was sent."""
        self.process.send_signal(signal.SIGTERM)
        return time.monotonic()

    def wait(self) -> int:
        return self.process.wait(30)

    def kill(self) -> None:
        quit_gunicorn(self.process)


@pytest.fixture
def gunicorn(tmp_path, own_redis, app):
    """Start gunicorn on the suite's database (``app`` migrated it), with this test's own Redis."""
    started: list[Gunicorn] = []

    def start(drain_seconds: float = 0) -> Gunicorn:
        started.append(Gunicorn(tmp_path, own_redis.url, app.config["DATABASE_URL"], drain_seconds))  # stopped below even if it never got ready
        return started[-1].start()

    yield start
    for server in started:
        server.kill()


def _new_connection(port: int) -> str:
    """What a new connection meets: served, refused, hung (accepted, then no answer) or reset."""
    try:
        connection = socket.create_connection(("127.0.0.1", port), timeout=2)
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "hung"
    with connection:
        try:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: ripple\r\nConnection: close\r\n\r\n")
            answer = connection.recv(64)
        except TimeoutError:
            return "hung"
        except ConnectionResetError:
            return "reset"
    return "served" if answer.startswith(b"HTTP/1.1 200") else f"answered {answer[:30]!r}"


def _wait_until_in_flight(own_redis, count: int = 1) -> None:
    deadline = time.monotonic() + 10
    while int(own_redis.client().get(STARTED_KEY) or 0) < count:
        assert time.monotonic() < deadline, "the slow request never started"
        time.sleep(0.02)


def _connections_until(done, port: int, signalled: float) -> list[tuple[float, str]]:
    """New connections tried every 50 ms until ``done()``: (seconds after the SIGTERM, what each met)."""
    outcomes = []
    while not done():
        outcomes.append((time.monotonic() - signalled, _new_connection(port)))
        time.sleep(0.05)
    return outcomes


def test_on_sigterm_new_connections_are_refused_at_once_and_the_request_in_flight_finishes(gunicorn, own_redis):
    server = gunicorn()
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(requests.get, f"{server.url}/test/slow?seconds=4", timeout=30)
        _wait_until_in_flight(own_redis)
        signalled = server.terminate()
        outcomes = _connections_until(in_flight.done, server.port, signalled)
        assert in_flight.result().status_code == 200
        assert in_flight.result().json() == {"slept": 4.0}
    met = [outcome for _, outcome in outcomes]
    assert set(met) <= {"served", "refused"}, outcomes  # never left hanging, never reset
    first_refused = met.index("refused")
    assert outcomes[first_refused][0] < 2.0, outcomes  # the request in flight takes 4 s
    assert set(met[first_refused:]) == {"refused"}, outcomes
    assert server.wait() == 0


def test_with_a_drain_readiness_fails_first_while_requests_are_still_served(gunicorn, own_redis):
    drain = 1.5
    server = gunicorn(drain_seconds=drain)
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(requests.get, f"{server.url}/test/slow?seconds=5", timeout=30)
        _wait_until_in_flight(own_redis)
        signalled = server.terminate()
        ready = requests.get(f"{server.url}/readyz", timeout=5)
        while ready.status_code == 200 and time.monotonic() - signalled < 1:  # the signal on its way to workers
            ready = requests.get(f"{server.url}/readyz", timeout=5)
        assert ready.status_code == 503 and int(ready.headers["Retry-After"]) > 0
        assert ready.json()["checks"]["serving"] == "draining"
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200  # still serving meanwhile
        outcomes = _connections_until(in_flight.done, server.port, signalled)
        assert in_flight.result().status_code == 200
    met = [outcome for _, outcome in outcomes]
    assert set(met) <= {"served", "refused"}, outcomes
    first_refused = met.index("refused")
    assert drain <= outcomes[first_refused][0] < drain + 2.0, outcomes
    assert set(met[first_refused:]) == {"refused"}, outcomes
    assert server.wait() == 0


def test_a_starting_instance_refuses_connections_until_its_app_can_answer(tmp_path, own_redis, app):
    """The app is loaded before gunicorn listens: nginx meets a refusal and asks the other instance at once,
    instead of a connection waiting in the backlog while the workers import the app (504s under load)."""
    server = Gunicorn(tmp_path, own_redis.url, app.config["DATABASE_URL"], drain_seconds=0,
                      load_seconds=3).launch()
    launched, outcomes = time.monotonic(), []
    try:
        while not outcomes or outcomes[-1][1] != "served":
            assert time.monotonic() - launched < 60 and server.process.poll() is None, (outcomes, server.log.read_text())
            outcomes.append((time.monotonic() - launched, _new_connection(server.port)))
            time.sleep(0.05)
    finally:
        server.kill()

    assert {outcome for _, outcome in outcomes} == {"refused", "served"}, outcomes
    assert outcomes[-1][0] >= 3  # served only once the app had loaded
