"""CPU per request of this process, in-process through ``app.wsgi_app``: the nearby search and /healthz.

    python -m tests.bench.request_cpu                  # the demo stores (SQLite, embedded Redis)
    python -m tests.bench.request_cpu --stores 5000    # generated stores as the nearby bench draws them

Counts ``time.process_time`` (this process only: Redis's own work is another process's) over many
calls with environs prepared beforehand, as gunicorn's worker would call the app. It is the cost a
gunicorn worker pays per request, so it bounds requests per second per core; it needs no quiet
machine the way wall-clock figures do (other processes' load changes it little). One JSON line per
figure. Runs on a throwaway instance folder.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import insert

from app import ROOT, create_app
from shop.demo import seed_demo
from shop.extensions import db
from shop.stores.geo import reindex_all
from shop.stores.models import Store
from tests.bench.population import query_points, store_stream
from tests.bench.timing import NEARBY_PATH, EndpointCaller

SHANGHAI = (31.2304, 121.4737)


def load(app: Flask, stores: int) -> None:
    """The demo brand, or ``stores`` generated stores; then the index, rebuilt as production does."""
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if stores:
            now = datetime.now(UTC)
            rows = [{key: value for key, value in row.items() if key != "exceptions"} | {
                "created_at": now, "updated_at": now} for row in itertools.islice(store_stream(now.date()), stores)]
            db.session.execute(insert(Store), rows)
        else:
            seed_demo("demo-password-1")
        db.session.commit()
        reindex_all()
        db.session.remove()


def cpu_per_call_us(caller: EndpointCaller, calls: int, rounds: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per call: the best of ``rounds`` rounds of ``calls`` calls (the least disturbed)."""
    count = len(caller.environs)
    for index in range(min(calls, 500)):  # warm: caches, connections, the Lua script
        caller.call(index % count)
    best_cpu = best_wall = float("inf")
    for _ in range(rounds):
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        for index in range(calls):
            caller.call(index % count)
        best_cpu = min(best_cpu, (time.process_time() - cpu) / calls * 1e6)
        best_wall = min(best_wall, (time.perf_counter() - wall) / calls * 1e6)
    return best_cpu, best_wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, default=0, help="generated stores (0: the demo brand)")
    parser.add_argument("--calls", type=int, default=2000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ripple-cpu-") as tmp:
        app = create_app({"RIPPLE_INSTANCE_PATH": str(Path(tmp) / "app"), "RIPPLE_ENV": "development"})
        load(app, options.stores)
        if options.stores:
            kinds = {where: query_points(where, 200, seed=7) for where in ("city_centre", "elsewhere")}
        else:
            rng_points = query_points("city_centre", 200, seed=7)  # only for the offsets' spread
            kinds = {"shanghai": [(SHANGHAI[0] + (lat % 0.05) - 0.025, SHANGHAI[1] + (lng % 0.05) - 0.025)
                                  for lat, lng in rng_points]}
        callers = {f"nearby_{where}": EndpointCaller(app, points) for where, points in kinds.items()}
        callers["healthz"] = EndpointCaller(app, [], path="/healthz")
        for name, caller in callers.items():
            cpu, wall = cpu_per_call_us(caller, options.calls, options.rounds)
            items = len(orjson.loads(caller.call(0)[1]).get("items", [])) if name != "healthz" else None
            print(orjson.dumps({"figure": f"{name}_cpu_us", "value": round(cpu, 1), "wall_us": round(wall, 1),
                                "stores": options.stores or "demo", "calls": options.calls, "rounds": options.rounds,
                                "items_first_call": items, "path": NEARBY_PATH if items is not None else "/healthz"}
                               ).decode(), flush=True)
        app.extensions["redis"]._stop_embedded()


if __name__ == "__main__":
    main()
