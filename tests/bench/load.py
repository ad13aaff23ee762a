"""The endpoint under gunicorn, loaded from the same box over loopback: requests per second and p99.

gunicorn runs exactly as deployed (``deploy/gunicorn.conf.py``: gthread, workers = cores, 4 threads,
access log on, worker recycling after ``max_requests``); only the bind address is set, to a free
port on 127.0.0.1. The load generator is wrk with ``nearby.lua`` (a different shopper position each
request); if wrk is missing, a Python generator (processes of keep-alive threads) stands in, and
the figures say which one ran. Every run is bounded in time and sends only to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.bench.timing import percentile

ROOT = Path(__file__).resolve().parents[2]
LUA_SCRIPT = Path(__file__).with_name("nearby.lua")
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
HOST = "127.0.0.1"
CONNECTIONS = 16  # twice the 2 x 4 worker threads, so a thread never waits on the generator
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


@contextmanager
def gunicorn(env: Mapping[str, str], log_path: Path) -> Iterator[int]:
    """Serve ``app:create_app()`` with the deploy config on a free loopback port; yields the port."""
    port = free_port()
    with open(log_path, "ab") as log:
        server = subprocess.Popen(
            [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "app:create_app()"], cwd=ROOT,
            env={**os.environ, **env, "GUNICORN_BIND": f"{HOST}:{port}"}, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {log_path}")
            time.sleep(0.2)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)  # the master we started; it stops its own workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def write_paths(path: Path, paths: Sequence[str]) -> Path:
    path.write_text("\n".join(paths) + "\n")
    return path


def load_generator() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def run_load(port: int, paths_file: Path, seconds: int) -> dict[str, float]:
    """Load ``GET paths`` for ``seconds``: requests_per_s, p50_us, p99_us, errors, generator."""
    if load_generator() == "wrk":
        return _run_wrk(port, paths_file, seconds)
    return _run_python(port, paths_file.read_text().split(), seconds)


def _run_wrk(port: int, paths_file: Path, seconds: int) -> dict[str, float]:
    command = ["wrk", "-t", "1", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "5s",
               "-s", str(LUA_SCRIPT), f"http://{HOST}:{port}", "--", str(paths_file)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    result = json.loads(next(line for line in output.splitlines() if line.startswith('{"requests"')))
    errors = sum(result[key] for key in ("status_errors", "connect_errors", "read_errors", "write_errors",
                                         "timeouts"))
    return {"requests_per_s": result["requests"] / (result["duration_us"] / 1e6), "p50_us": result["p50_us"],
            "p99_us": result["p99_us"], "requests": result["requests"], "errors": errors,
            "status_errors": result["status_errors"], "generator": "wrk"}


# --- the fallback: Python processes, each with keep-alive threads -------------------------------

def _python_worker(port: int, paths: Sequence[str], seconds: float, threads: int, offset: int,
                   queue: multiprocessing.Queue) -> None:
    """One generator process: ``threads`` keep-alive connections, latencies back through ``queue``."""
    deadline = time.monotonic() + seconds
    latencies: list[int] = []
    errors = [0]
    lock = threading.Lock()

    def loop(start: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        mine, failed, index = [], 0, start
        while time.monotonic() < deadline:
            index = (index + 1) % len(paths)
            started = time.perf_counter_ns()
            try:
                connection.request("GET", paths[index])
                response = connection.getresponse()
                response.read()
                failed += response.status != 200
            except OSError:
                failed += 1
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=5)
                continue
            mine.append(time.perf_counter_ns() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    workers = [threading.Thread(target=loop, args=(offset + i * 997,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((latencies, errors[0]))


def _run_python(port: int, paths: Sequence[str], seconds: int) -> dict[str, float]:
    processes, threads = 2, CONNECTIONS // 2
    queue: multiprocessing.Queue = multiprocessing.Queue()
    started = time.monotonic()
    children = [multiprocessing.Process(target=_python_worker, args=(port, paths, seconds, threads, p * 7919, queue))
                for p in range(processes)]
    for child in children:
        child.start()
    results = [queue.get(timeout=seconds + 60) for _ in children]
    for child in children:
        child.join()
    elapsed = time.monotonic() - started
    latencies = [ns for samples, _ in results for ns in samples]
    errors = sum(failed for _, failed in results)
    return {"requests_per_s": len(latencies) / elapsed, "p50_us": percentile(latencies, 0.5),
            "p99_us": percentile(latencies, 0.99), "requests": len(latencies), "errors": errors,
            "status_errors": errors, "generator": "python"}
