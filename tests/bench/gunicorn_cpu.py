"""CPU per request of gunicorn's workers (and of Redis) on the nearby search, for a few worker settings.

    python -m tests.bench.gunicorn_cpu --stores 50000 --settings 2x4 2x1 3x1

Loads generated stores into a throwaway SQLite + embedded Redis, then for each WORKERSxTHREADS
starts gunicorn with deploy/gunicorn.conf.py (gthread), loads it with wrk for a few seconds
(tests/bench/nearby.lua, city-centre points) and divides the CPU its processes (master and
workers, from /proc) and the Redis server used by the requests served. CPU per request, unlike
requests per second, changes little when other processes share the machine; the requests per
second it prints are only to show the load ran. One JSON line per setting.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from app import create_app
from tests.bench import load as bench_load
from tests.bench.population import query_points
from tests.bench.request_cpu import load
from tests.bench.timing import NEARBY_PATH, nearby_query

ROOT = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes, in seconds."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / TICKS


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def measure(env: dict[str, str], workers: int, threads: int, paths_file: Path, seconds: int,
            redis_pid: int) -> dict:
    port = bench_load.free_port()
    log = paths_file.with_name(f"gunicorn-{workers}x{threads}.log")
    with open(log, "ab") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "app:create_app()"], cwd=ROOT,
            env={**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
                 "GUNICORN_THREADS": str(threads)}, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while not bench_load._answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {log}")
            time.sleep(0.2)
        bench_load.run_load(port, paths_file, 2)  # warm every worker
        pids = [server.pid, *children(server.pid)]
        before, redis_before = cpu_seconds(pids), cpu_seconds([redis_pid])
        outcome = bench_load.run_load(port, paths_file, seconds)
        used, redis_used = cpu_seconds(pids) - before, cpu_seconds([redis_pid]) - redis_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    requests = outcome["requests"]
    return {"figure": "gunicorn_cpu_us_per_request", "workers": workers, "threads": threads,
            "value": round(used / requests * 1e6, 1), "redis_cpu_us_per_request": round(redis_used / requests * 1e6, 1),
            "requests": requests, "errors": outcome["errors"], "requests_per_s_shared_box": round(
                outcome["requests_per_s"]), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, default=50000)
    parser.add_argument("--settings", nargs="+", default=["2x4", "2x1"], help="WORKERSxTHREADS")
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--where", default="city_centre", choices=("city_centre", "elsewhere"))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ripple-gcpu-") as tmp:
        instance = Path(tmp) / "app"
        app = create_app({"RIPPLE_INSTANCE_PATH": str(instance)})
        load(app, options.stores)
        redis_pid = app.extensions["redis"]._embedded.pid
        paths = [f"{NEARBY_PATH}?{nearby_query(lat, lng)}" for lat, lng in query_points(options.where, 2000, seed=11)]
        paths_file = bench_load.write_paths(Path(tmp) / "load.paths", paths)
        env = {"RIPPLE_INSTANCE_PATH": str(instance)}
        for setting in options.settings:
            workers, threads = (int(part) for part in setting.split("x"))
            result = measure(env, workers, threads, paths_file, options.seconds, redis_pid)
            print(orjson.dumps({**result, "stores": options.stores, "where": options.where}).decode(), flush=True)
        app.extensions["redis"]._stop_embedded()


if __name__ == "__main__":
    main()
