"""The metrics are served on their own port, never the app's: under gunicorn (deploy/gunicorn.conf.py) its
master serves what both workers counted, a dead worker's counts included; one process serves its own."""

from __future__ import annotations

import logging
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
from prometheus_client.parser import text_string_to_metric_families

from app import ROOT
from shop.metrics import clear_multiprocess_dir, serve
from tests.faults.servers import free_port, quit_gunicorn

HEALTHZ = {"endpoint": "/healthz", "method": "GET", "status": "200"}


def scraped(url: str, name: str, **labels: str) -> float:
    """One series of a scrape, summed over what the label filter leaves (0 if absent)."""
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    return sum(sample.value for family in text_string_to_metric_families(answer.text) for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())


class Gunicorn:
    """The API under gunicorn with the deploy config, two workers, app and metrics on loopback ports."""

    def __init__(self, folder: Path, config: dict, redis_url: str) -> None:
        self.port, self.metrics_port = free_port(), free_port()
        self.folder = folder / "metrics"
        self.folder.mkdir()
        self.log = folder / "gunicorn.log"
        settings = {key: str(value) for key, value in config.items() if value is not None and key.isupper()}
        self.env = {**os.environ, **settings, "REDIS_URL": redis_url, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                    "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "2", "METRICS_HOST": "127.0.0.1",
                    "METRICS_PORT": str(self.metrics_port), "PROMETHEUS_MULTIPROC_DIR": str(self.folder)}
        self.process: subprocess.Popen | None = None
        self.late_probes = 0  # probes given up on: a worker may still answer (and count) them later

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> Gunicorn:
        gone = subprocess.Popen([sys.executable, "-c", "pass"])  # a worker of an earlier start, since exited
        gone.wait()
        self.left_behind = self.folder / f"counter_{gone.pid}.db"
        self.left_behind.write_bytes(b"left by an earlier start")  # gunicorn removes it
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                 "--no-control-socket", "app:create_app()"], cwd=ROOT, env=self.env, stdout=log,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180  # two workers loading the app on a loaded machine
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if requests.get(f"{self.url}/healthz", timeout=30).status_code == 200:
                    return self
            except requests.Timeout:
                self.late_probes += 1
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not start:\n{self.log.read_text()}")

    def worker_pids(self) -> set[int]:
        """The workers that have counted something (each writes files named by its pid); not the master, whose
        files are there since it loaded the app (preload_app) but count nothing."""
        return {int(path.stem.rsplit("_", 1)[1]) for path in self.folder.glob("counter_*.db")} - {self.process.pid}

    def stop(self) -> None:
        quit_gunicorn(self.process)


@pytest.fixture
def gunicorn(tmp_path, app, base_config):
    server = Gunicorn(tmp_path, base_config, app.extensions["redis"].url)
    try:
        yield server.start()
    finally:
        server.stop()


def healthz_from_many_connections(url: str, count: int) -> None:
    def one(_: int) -> int:
        with requests.Session() as session:  # a connection of its own: either worker may take it
            return session.get(f"{url}/healthz", timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(count))) == {200}


def test_gunicorns_master_serves_both_workers_metrics_on_their_own_port_and_keeps_a_dead_workers(gunicorn):
    before = scraped(gunicorn.metrics_url, "ripple_http_requests_total", **HEALTHZ)
    assert before >= 1  # the start's own probes
    assert not gunicorn.left_behind.exists()
    sent = 0
    while len(gunicorn.worker_pids()) < 2 and sent < 400:  # until both workers have answered some
        healthz_from_many_connections(gunicorn.url, 40)
        sent += 40
    assert len(gunicorn.worker_pids()) == 2
    counted = scraped(gunicorn.metrics_url, "ripple_http_requests_total", **HEALTHZ) - before
    assert sent <= counted <= sent + gunicorn.late_probes
    timed = scraped(gunicorn.metrics_url, "ripple_http_request_duration_seconds_count", endpoint="/healthz") - before
    assert counted <= timed <= sent + gunicorn.late_probes

    # A worker killed (the OOM killer, a crash): what it counted stays, its replacement counts on.
    victim = min(gunicorn.worker_pids())
    os.kill(victim, signal.SIGKILL)
    deadline, more = time.monotonic() + 180, 0
    while len(gunicorn.worker_pids()) < 3 and time.monotonic() < deadline:  # until the replacement counted
        healthz_from_many_connections(gunicorn.url, 4)
        more += 4
    assert len(gunicorn.worker_pids()) == 3
    assert scraped(gunicorn.metrics_url, "ripple_http_requests_total", **HEALTHZ) - before >= counted + more


def test_the_public_port_never_serves_the_metrics(gunicorn):
    answer = requests.get(f"{gunicorn.url}/metrics", timeout=10)
    assert answer.status_code == 404 and "ripple_http_requests_total" not in answer.text


def test_one_process_serves_its_own_metrics_and_a_taken_port_is_logged_not_fatal(app, caplog):
    port = free_port()
    assert serve({"METRICS_HOST": "127.0.0.1", "METRICS_PORT": port}, who="python app.py")
    app.test_client().get("/healthz")
    assert scraped(f"http://127.0.0.1:{port}/metrics", "ripple_http_requests_total", **HEALTHZ) >= 1
    with socket.socket() as holder, caplog.at_level(logging.WARNING, logger="shop.metrics"):
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        assert not serve({"METRICS_HOST": "127.0.0.1", "METRICS_PORT": taken}, who="python app.py")
    assert f"127.0.0.1:{taken} cannot be bound" in caplog.text
    assert not serve({"METRICS_HOST": "127.0.0.1", "METRICS_PORT": 0}, who="python app.py")  # 0: none


def test_a_start_forgets_the_files_of_processes_gone_and_keeps_those_of_running_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    running = os.getpid()  # another gunicorn instance's worker, say, sharing the folder
    for name in (f"counter_{gone.pid}.db", f"gauge_livesum_{gone.pid}.db", f"counter_{running}.db",
                 f"gauge_livesum_{running}.db"):
        (tmp_path / name).write_bytes(b"")

    clear_multiprocess_dir()

    assert sorted(path.name for path in tmp_path.iterdir()) == [f"counter_{running}.db", f"gauge_livesum_{running}.db"]
