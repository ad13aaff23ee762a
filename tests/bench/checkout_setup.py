"""What the checkout bench stands on: a shop (stores, catalog, members), baskets, gunicorn, CPU counters.

- Stores and the catalog go in through the app's own services (``create_store``, ``create_product``,
  ``set_store_availability``), as an admin would make them; members are inserted directly (one
  multi-row INSERT), with the openids the WeChat stub hands out, so its WeChat Pay accepts them as payers.
- Baskets are drawn from a seeded generator: a member, a pickup store, 1-3 SKUs of 1-2 units.
- gunicorn runs exactly as deployed (``deploy/gunicorn.conf.py``), on a free loopback port; unlike
  ``load.gunicorn`` this yields the master's pid too, for the CPU counters.
- CPU counters read ``/proc``: a process tree's user+system time, including children it reaped (a
  PostgreSQL backend that closed still counts in the postmaster's).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from flask import Flask
from sqlalchemy import insert, text

from shop.auth import issue_shopper_token
from shop.catalog.service import create_category, create_product, set_store_availability
from shop.extensions import db
from shop.members.models import Member
from shop.stores.service import create_store
from tests.bench import load

STORES = 4
PRODUCTS = 100
SIZES = ("S", "M", "L")  # 3 SKUs a product: 300 SKUs
STOCK = 1_000_000  # ample: no order of the bench runs out
EVERY_DAY_7_TO_23 = {day: [["07:00", "23:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class SkuRow:
    sku_id: int
    product_id: int
    title: str
    price: int


@dataclass(frozen=True)
class Shop:
    store_ids: list[int]
    skus: list[SkuRow]
    member_ids: list[int]
    tokens: dict[int, str]


@dataclass(frozen=True)
class Basket:
    member_id: int
    store_id: int
    lines: tuple[tuple[SkuRow, int], ...]  # (SKU, quantity)

    def body(self) -> dict[str, Any]:
        """The JSON body of preview and create, as the mini-program sends it."""
        return {"items": [{"sku_id": sku.sku_id, "quantity": quantity} for sku, quantity in self.lines],
                "fulfilment": "pickup", "store_id": self.store_id, "points": 0}

    @property
    def amount(self) -> int:
        return sum(sku.price * quantity for sku, quantity in self.lines)


def shopper_name(index: int) -> str:
    """The stub's person behind member ``index`` (the stub derives the openid from it)."""
    return f"bench-shopper-{index}"


def build_shop(app: Flask, openids: list[str]) -> Shop:
    """Stores, a catalog sold at every store, and one member per openid, each with a token."""
    rng = random.Random(20240501)
    with app.app_context():
        stores = [create_store({
            "code": f"BENCH{n:02d}", "name": f"Ripple Bench Store {n}", "address": f"{n} Nanjing Road",
            "city": "Shanghai", "district": "Huangpu", "lat": 31.23 + n / 1000, "lng": 121.47 + n / 1000,
            "services": ["pickup", "dine_in"], "status": "open", "weekly_hours": EVERY_DAY_7_TO_23})
            for n in range(1, STORES + 1)]
        parents = [create_category(name=name) for name in ("Coffee", "Bakery")]
        categories = [create_category(name=f"{parent.name} {n}", parent_id=parent.id)
                      for parent in parents for n in range(1, 5)]
        skus: list[SkuRow] = []
        for n in range(PRODUCTS):
            base = rng.randrange(1200, 4800, 100)
            product = create_product(
                title=f"Bench product {n}", category_id=categories[n % len(categories)].id, actor_staff_id=None,
                status="on_sale", image_urls=["https://img.example.cn/p.png"],
                skus=[{"spec": {"size": size}, "price": base + 300 * i, "stock": STOCK} for i, size in enumerate(SIZES)])
            for sku in product.skus:
                set_store_availability(sku.id, actor_staff_id=None,
                                       stores=[{"store_id": store.id, "available": True} for store in stores])
                skus.append(SkuRow(sku.id, product.id, product.title, sku.price))
        db.session.commit()
        now = datetime.now(UTC)
        member_ids = list(db.session.scalars(insert(Member).returning(Member.id), [
            {"openid": openid, "nickname": f"Shopper {i}", "created_at": now, "last_login_at": now}
            for i, openid in enumerate(openids)]))
        db.session.commit()
        tokens = {member_id: issue_shopper_token(member_id) for member_id in member_ids}
        store_ids = [store.id for store in stores]
        db.session.remove()
    return Shop(store_ids=store_ids, skus=skus, member_ids=member_ids, tokens=tokens)


def baskets(shop: Shop, count: int, seed: int) -> list[Basket]:
    rng = random.Random(seed)
    return [Basket(member_id=rng.choice(shop.member_ids), store_id=rng.choice(shop.store_ids),
                   lines=tuple((sku, rng.randint(1, 2)) for sku in rng.sample(shop.skus, rng.randint(1, 3))))
            for _ in range(count)]


def fingerprint(basket: Basket) -> str:
    return hashlib.sha256(orjson.dumps(basket.body(), option=orjson.OPT_SORT_KEYS)).hexdigest()


def stock_taken(app: Flask) -> tuple[int, int]:
    """(units taken from the SKUs' stock, units the ledger says orders reserved): equal when consistent."""
    with app.app_context():
        taken = db.session.scalar(text("SELECT coalesce(sum(:stock - stock), 0) FROM skus"), {"stock": STOCK})
        reserved = db.session.scalar(text("SELECT coalesce(-sum(delta), 0) FROM stock_ledger WHERE reason = 'reserved'"))
        db.session.remove()
    return int(taken), int(reserved)


# --- gunicorn ------------------------------------------------------------------------------------

@contextmanager
def gunicorn(env: Mapping[str, str], log_path: Path, port: int) -> Iterator[int]:
    """``app:create_app()`` under the deploy config on a loopback port; yields the master's pid."""
    with open(log_path, "ab") as log:
        server = subprocess.Popen(
            [str(load.GUNICORN), "-c", "deploy/gunicorn.conf.py", "app:create_app()"], cwd=load.ROOT,
            env={**os.environ, **env, "GUNICORN_BIND": f"{load.HOST}:{port}"}, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + load.STARTUP_TIMEOUT_S
        while not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {log_path}")
            time.sleep(0.2)
        yield server.pid
    finally:
        server.send_signal(signal.SIGTERM)  # the master we started; it stops its own workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _answers(port: int) -> bool:
    import http.client  # noqa: PLC0415

    try:
        connection = http.client.HTTPConnection(load.HOST, port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def gunicorn_workers(master_pid: int) -> list[int]:
    return [pid for pid, parent in _parents().items() if parent == master_pid]


# --- CPU counters --------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields from the 3rd (state) on


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            parents[int(entry)] = int(fields[1])
    return parents


def tree_cpu_s(root_pid: int) -> float:
    """User+system CPU seconds of a process, its live children, and the children it has reaped."""
    fields = _stat(root_pid)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of /proc/pid/stat (11-14 counting from the state).
    ticks = sum(int(value) for value in fields[11:15])
    for pid, parent in _parents().items():
        if parent == root_pid and (child := _stat(pid)) is not None:
            ticks += int(child[11]) + int(child[12])
    return ticks / CLOCK_TICKS


def postmaster_pid(app: Flask) -> int | None:
    """The PostgreSQL server's pid (from postmaster.pid in its data directory), if this machine can read it."""
    try:
        with app.app_context():
            directory = db.session.scalar(text("SHOW data_directory"))
            db.session.remove()
        return int(Path(directory, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
