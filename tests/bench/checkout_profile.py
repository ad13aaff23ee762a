"""Where a checkout's CPU goes, in one process: CPU and SQL statements per order, and a profile.

``python -m tests.bench.checkout_profile [--orders N] [--rounds R] [--profile create|notify] [--top 40]``,
with ``TEST_DATABASE_URL`` and ``TEST_REDIS_URL`` naming a throwaway PostgreSQL and Redis (it WIPES
both first; start them with ``.ci/services.sh``). The WeChat stub runs in a child process, as in
``tests.bench.checkout``, so its CPU is not counted.

The app is called through Flask's test client (no gunicorn, no network between shopper and app),
so what is measured is the app's own work per order: ``process_time`` around N creates and around N
paid notifies, the statements each sends to the database, and those SQLAlchemy had to compile for
the call (a statement it cannot cache). One JSON line per step; the figure is the least CPU of R
rounds, as other work on a shared machine only ever adds to it, so it is the one to compare before
and after a change. ``--profile`` prints a cProfile on the CPU clock and the share of CPU by package.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, text

from app import create_app
from shop.extensions import db, redis_client
from shop.wechat.pay import generate_keys
from shop.wechat.stub.state import StubState
from tests.bench import checkout as bench
from tests.bench import checkout_setup as setup
from tests.bench import loading
from tests.bench.checkout_stub import stub_process

MEMBERS = 300


class Statements:
    """Counts what reaches the database cursor, by the statement's first words."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.uncached: Counter[str] = Counter()
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        name = " ".join(statement.split()[:3])[:60]
        self.counts[name] += 1
        hit = getattr(context, "cache_hit", None)
        if hit is not None and hit.name in ("NO_CACHE_KEY", "CACHE_MISS"):  # compiled for this call
            self.uncached[name] += 1

    def take(self) -> tuple[Counter[str], Counter[str]]:
        counts, uncached, self.counts, self.uncached = self.counts, self.uncached, Counter(), Counter()
        return counts, uncached


def wipe(database_url: str, app: Flask) -> None:
    with app.app_context():
        db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.session.commit()
        redis_client().flushdb()
        db.session.remove()
        db.engine.dispose()


def timed(label: str, calls: Sequence[Callable[[], Any]], statements: Statements, profile: bool,
          top: int) -> dict[str, Any]:
    statements.take()
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    for call in calls:
        call()
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    counts, uncached = statements.take()
    n = len(calls)
    figures = {"step": label, "orders": n, "cpu_ms_per_order": round(cpu * 1000 / n, 3),
               "wall_ms_per_order": round(wall * 1000 / n, 3),
               "statements_per_order": round(sum(counts.values()) / n, 2),
               "by_statement": {k: round(v / n, 2) for k, v in counts.most_common()},
               "compiled_per_call": {k: round(v / n, 2) for k, v in uncached.most_common()}}
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        print(out.getvalue(), file=sys.stderr)
        print(json.dumps({"step": label, "own_cpu_share_by_package": by_package(stats)}), file=sys.stderr)
    return figures


def by_package(stats: pstats.Stats) -> dict[str, float]:
    """Share of the profiled CPU spent in each package's own code (tottime), largest first."""
    totals: Counter[str] = Counter()
    for (path, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/" in path:
            package = path.split("site-packages/")[1].split("/")[0]
        elif "/shop/" in path or "/coupons/" in path or "/referral/" in path:
            package = "ripple:" + path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1]
        else:
            package = "python" if path.startswith("<") or "/lib/python" in path else path
        totals[package] += own
    whole = sum(totals.values()) or 1
    return {package: round(own / whole, 3) for package, own in totals.most_common(25)}


def create_call(client: FlaskClient, shop: setup.Shop, basket: setup.Basket, placed: list[dict[str, Any]]) -> Callable:
    def call() -> None:
        answer = client.post("/api/v1/orders", json=basket.body(), headers={
            "Authorization": f"Bearer {shop.tokens[basket.member_id]}", "Idempotency-Key": uuid.uuid4().hex})
        if answer.status_code != 201:
            raise SystemExit(f"create answered {answer.status_code}: {answer.get_data(as_text=True)}")
        body = answer.get_json()
        placed.append({"prepay_id": body["payment"]["package"].removeprefix("prepay_id=")})
    return call


def notify_call(client: FlaskClient, notify: dict[str, Any]) -> Callable:
    def call() -> None:
        answer = client.post("/wechat/pay/notify", data=notify["body"].encode(),
                             headers={**notify["headers"], "Content-Type": "application/json"})
        if answer.status_code != 204 or answer.headers.get("X-Ripple-Outcome") != "applied":
            raise SystemExit(f"notify answered {answer.status_code}: {answer.get_data(as_text=True)}")
    return call


def build_notifies(stub_url: str, placed: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    session = requests.Session()
    notifies = []
    for order in placed:
        answer = session.post(f"{stub_url}stub/pay/{order['prepay_id']}/confirm", json={"deliver": "never"}, timeout=30)
        answer.raise_for_status()
        notifies.append(answer.json()["notify"])
    return notifies


def run(app: Flask, stub_url: str, shop: setup.Shop, baskets: Sequence[setup.Basket], statements: Statements,
        profile: str | None, top: int) -> list[dict[str, Any]]:
    client = app.test_client()
    placed: list[dict[str, Any]] = []
    create = timed("create", [create_call(client, shop, b, placed) for b in baskets], statements,
                   profile == "create", top)
    notifies = build_notifies(stub_url, placed)
    notify = timed("notify", [notify_call(client, n) for n in notifies], statements, profile == "notify", top)
    return [create, notify]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", choices=["create", "notify"])
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; the least CPU is the figure "
                        "(other work on a shared machine only ever adds)")
    args = parser.parse_args()
    database_url, redis_url = bench.services()
    keys = generate_keys()
    names = [setup.shopper_name(i) for i in range(MEMBERS)]
    openids = [StubState({bench.APPID: bench.APP_SECRET}).openid_for(name, bench.APPID) for name in names]
    stub_setup = {"apps": {bench.APPID: bench.APP_SECRET}, "shoppers": names, "pay": {
        "mchid": bench.MCHID, "appid": bench.APPID, "merchant_public_key": keys.merchant_public_key,
        "platform_private_key": keys.platform_private_key, "public_key_id": bench.PUBLIC_KEY_ID,
        "apiv3_key": bench.APIV3_KEY, "merchant_serial": bench.CERT_SERIAL}}
    with tempfile.TemporaryDirectory(prefix="ripple-checkout-profile-") as tmp:
        workdir = Path(tmp)
        with stub_process(stub_setup, workdir) as (stub_url, _):
            config = {
                "RIPPLE_ENV": "development", "RIPPLE_INSTANCE_PATH": str(workdir / "app"),
                "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": secrets.token_hex(32),
                "WECHAT_API_BASE": stub_url, "WECHAT_APPID": bench.APPID, "WECHAT_SECRET": bench.APP_SECRET,
                "WECHATPAY_API_BASE": stub_url, "WECHATPAY_MCHID": bench.MCHID,
                "WECHATPAY_CERT_SERIAL": bench.CERT_SERIAL, "WECHATPAY_PRIVATE_KEY": keys.merchant_private_key,
                "WECHATPAY_APIV3_KEY": bench.APIV3_KEY, "WECHATPAY_PUBLIC_KEY": keys.platform_public_key,
                "WECHATPAY_PUBLIC_KEY_ID": bench.PUBLIC_KEY_ID,
                "WECHATPAY_NOTIFY_URL": "http://127.0.0.1:9/wechat/pay/notify", "RATELIMIT_ENABLED": True,
            }
            app = create_app(config)
            wipe(database_url, app)
            loading.prepare_database(app)
            shop = setup.build_shop(app, openids)
            statements = Statements()
            run(app, stub_url, shop, setup.baskets(shop, args.warmup, seed=1), statements, None, args.top)
            rounds = [run(app, stub_url, shop, setup.baskets(shop, args.orders, seed=2 + n), statements,
                          args.profile, args.top) for n in range(args.rounds)]
            for step in zip(*rounds, strict=True):
                cpu = sorted(figures["cpu_ms_per_order"] for figures in step)
                print(json.dumps({**min(step, key=lambda figures: figures["cpu_ms_per_order"]),
                                  "cpu_ms_per_order_rounds": cpu}))


if __name__ == "__main__":
    main()
