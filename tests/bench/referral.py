"""Referral benchmark (issue 6): one JSON line per figure on stdout, progress on stderr.

Run it with ``bash tests/bench/run referral`` (its own throwaway PostgreSQL and Redis, see
``tests/bench/referral_run``), or with the other benchmarks through ``bash tests/bench/run``.
``REFERRAL_BENCH_SIZES`` (``10000,100000,1000000``), ``REFERRAL_BENCH_SAMPLES`` (300) and
``REFERRAL_BENCH_WARMUP`` (30) set the size; small sizes (``2000,5000,20000``) check it works.

Each tree size gets a database of its own in the one PostgreSQL cluster (its own tables and
indexes of that size, one buffer cache), with the app's migrations, the policy set to pay 2 levels,
and the tree (``tests/bench/referral_load.py``: most members invite no one, a few invite hundreds,
a hub with about 10% of all members below it, a chain to depth 40) loaded by COPY. Then:

1. Reward creation on a paid order, for buyers at depth 1, 10 and 30: what the ``order_paid`` handler
   does for one order (snapshot of the chain, one reward per line and paying level, the order counted
   up the tree), called in-process inside a transaction, commit excluded; each sample a new order of
   two lines. Rounds go through every size and depth in turn, so the ratio between sizes does not
   depend on when each was measured. Reward levels are set to 2 (5% and 1%), the most the policy allows. The handler is
   ``referral.rewards.service.reward_order`` when it is there; until then a stand-in that does the same work
   (``tree.ancestors(limit=2)``, the snapshot and reward inserts through Core, ``tree.count_paid_order``);
   every figure names the one that ran (``handler``). Target: p50 at the largest tree within 1.5x of
   p50 at the smallest, per depth.
2. The subtree summary (``tree.subtree_summary``: the node's counters and the closure's max distance)
   of the big root and of the hub, against the reference a recursive CTE over parent links computing
   the same size, reach, orders and GMV; both answers are checked equal. Targets: the hub's summary
   under 10 ms and at least 10x faster than the CTE.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy import insert, make_url, select, text

from app import create_app
from referral.policy.service import load_settings
from referral.rewards.models import OrderSnapshot, Reward, RewardStatus
from referral.tree import service as tree
from referral.tree.models import ReferralNode
from shop.extensions import db
from shop.orders.models import Order, OrderLine
from tests.bench import loading
from tests.bench import referral_load as shapes
from tests.bench.timing import percentile

SIZES = [int(n) for n in os.environ.get("REFERRAL_BENCH_SIZES", "10000,100000,1000000").split(",")]
SAMPLES = int(os.environ.get("REFERRAL_BENCH_SAMPLES", "300"))
WARMUP = int(os.environ.get("REFERRAL_BENCH_WARMUP", "30"))
DEPTHS = (1, 10, 30)
CTE_SAMPLES, CTE_BUDGET_S = 15, 20.0
FLAT_RATIO, SUMMARY_MS, SPEEDUP = 1.5, 10.0, 10.0
LINE_AMOUNTS = (2_800, 1_600)  # each order: two lines
BASIS_POINTS = 10_000

snapshots, rewards, nodes = OrderSnapshot.__table__, Reward.__table__, ReferralNode.__table__
orders_table, lines_table = Order.__table__, OrderLine.__table__

# The subtree of :member by parent links: what the node's counters and the closure answer.
SUBTREE_CTE = text("""
WITH RECURSIVE below AS (
    SELECT member_id, own_orders, own_gmv, 1 AS level FROM referral_nodes WHERE parent_id = :member
    UNION ALL
    SELECT n.member_id, n.own_orders, n.own_gmv, below.level + 1
    FROM referral_nodes n JOIN below ON n.parent_id = below.member_id
)
SELECT count(*) AS size, coalesce(max(level), 0) AS levels, coalesce(sum(own_orders), 0)::bigint AS orders,
       coalesce(sum(own_gmv), 0)::bigint AS gmv
FROM below
""")


def stand_in_reward_order(*, order_id: int, member_id: int, amount_paid: int, first_paid_order: bool,
                          paid_at: datetime) -> list[int]:
    """The rewards handler's work for one order, until referral.rewards is merged (see the docstring)."""
    settings = load_settings()
    node = db.session.execute(select(nodes.c.parent_id, nodes.c.share_id).where(nodes.c.member_id == member_id)).one()
    chain = tree.ancestors(member_id, limit=settings.reward_levels) if node.parent_id is not None else []
    db.session.execute(insert(snapshots).values(
        order_id=order_id, member_id=member_id, parent_id=node.parent_id, share_id=node.share_id, chain=chain,
        amount_paid=amount_paid, refunded=0, first_order=first_paid_order, paid_at=paid_at))
    lines = db.session.execute(select(lines_table.c.id, lines_table.c.amount_payable)
                               .where(lines_table.c.order_id == order_id)).all()
    rows = [{"order_id": order_id, "order_line_id": line.id, "beneficiary_id": beneficiary, "buyer_id": member_id,
             "level": level, "kind": settings.reward_kind,
             "amount": line.amount_payable * settings.percent_bp[level - 1] // BASIS_POINTS, "reversed_amount": 0,
             "status": RewardStatus.FROZEN.value, "flagged": False, "available_at": paid_at, "created_at": paid_at}
            for level, beneficiary in enumerate(chain, start=1) for line in lines
            if line.amount_payable * settings.percent_bp[level - 1] // BASIS_POINTS > 0]
    ids = list(db.session.execute(insert(rewards).returning(rewards.c.id), rows).scalars()) if rows else []
    tree.count_paid_order(member_id, orders=1, gmv=amount_paid)
    return ids


try:  # the real handler, once r-rewards is merged; the figures say which one ran
    from referral.rewards.service import reward_order as REWARD_ORDER
    HANDLER = "referral.rewards.service.reward_order"
except ImportError:
    REWARD_ORDER: Callable[..., list[int]] = stand_in_reward_order
    HANDLER = "stand-in: tree.ancestors(limit=2) + snapshot and reward inserts (Core) + tree.count_paid_order"


def emit(figure: str, value: Any, **fields: Any) -> None:
    """One figure, one JSON line on stdout."""
    print(json.dumps({"bench": "referral", **fields, "figure": figure, "value": value}), flush=True)


def progress(message: str) -> None:
    print(f"[bench] {datetime.now(UTC):%H:%M:%S} {message}", file=sys.stderr, flush=True)


def target(figure: str, value: float, operator: str, bound: float, **fields: Any) -> bool:
    met = value <= bound if operator == "<=" else value < bound if operator == "<" else value >= bound
    emit(figure, round(value, 3), target=f"{operator}{bound:g}", met=met, **fields)
    return met


# --- the tree -------------------------------------------------------------------------------------

def load_tree(database_url: str, size: int) -> shapes.Tree:
    started = time.perf_counter()
    shaped = shapes.shape(size)
    shaped_s = time.perf_counter() - started
    shapes.load(database_url, shaped)
    loaded_s = time.perf_counter() - started
    children = [0] * (size + 1)
    for member in range(1, size + 1):
        children[shaped.parent[member]] += 1
    inviters = sum(1 for member in range(1, size + 1) if children[member])
    emit("tree_load_s", round(loaded_s, 1), members=size, shape_s=round(shaped_s, 1),
         note="shape, closure and counters in Python; members, nodes and closure rows by COPY; VACUUM ANALYZE")
    emit("tree_facts", {"closure_rows": shaped.closure_rows, "max_depth": max(shaped.depth),
                        "roots": children[0], "share_inviting_no_one": round(1 - inviters / size, 3),
                        "inviting_100_or_more": sum(1 for count in children[1:] if count >= 100),
                        "most_children": max(children[1:]), "hub_descendants": shaped.descendants[shapes.HUB],
                        "root_descendants": shaped.descendants[shapes.ROOT]}, members=size)
    return shaped


# --- 1. reward creation ---------------------------------------------------------------------------

def prepare_orders(buyers: dict[int, int], count: int, now: datetime) -> dict[int, list[tuple[int, int]]]:
    """``count`` pending-looking orders of two lines for each buyer (by depth): [(order id, amount paid)]."""
    made: dict[int, list[tuple[int, int]]] = {}
    for depth, buyer in buyers.items():
        order_rows = [{"number": f"B{depth:02d}{n:08d}{buyer % 10**8:08d}", "member_id": buyer,
                       "idempotency_key": f"bench-{depth}-{n}", "request_fingerprint": "-", "status": "paid",
                       "fulfilment": "delivery", "items_total": sum(LINE_AMOUNTS), "discount_total": 0,
                       "shipping_fee": 0, "amount_payable": sum(LINE_AMOUNTS), "amount_paid": sum(LINE_AMOUNTS),
                       "refunded_total": 0, "discounts": [], "created_at": now, "expires_at": now, "paid_at": now}
                      for n in range(count)]
        ids = list(db.session.execute(insert(orders_table).returning(orders_table.c.id), order_rows).scalars())
        db.session.execute(insert(lines_table), [
            {"order_id": order_id, "sku_id": 1, "product_id": 1, "title": "Latte", "spec": {}, "unit_price": amount,
             "quantity": 1, "subtotal": amount, "discount": 0, "amount_payable": amount, "refunded_quantity": 0,
             "refunded_amount": 0} for order_id in ids for amount in LINE_AMOUNTS])
        made[depth] = [(order_id, sum(LINE_AMOUNTS)) for order_id in ids]
    db.session.commit()
    return made


@dataclass
class Sized:
    """One tree size: its own database (and app), the buyers measured and their prepared orders."""

    size: int
    app: Flask
    buyers: dict[int, int]  # depth -> member
    orders: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    samples: dict[int, list[int]] = field(default_factory=lambda: {depth: [] for depth in DEPTHS})
    made: int = 0


def measure_rewards(trees: list[Sized]) -> dict[int, dict[int, float]]:
    """p50 microseconds of reward creation per size and buyer depth; emits p50/p99, checks the rewards made.

    Rounds go through every size and depth in turn, so drift on a shared machine hits them alike.
    """
    now = datetime.now(UTC)
    for sized in trees:
        with sized.app.app_context():
            sized.orders = prepare_orders(sized.buyers, WARMUP + SAMPLES, now)
    for n in range(WARMUP + SAMPLES):
        for sized in trees:
            with sized.app.app_context():
                for depth in DEPTHS:
                    order_id, amount = sized.orders[depth][n]
                    started = time.perf_counter_ns()
                    created = REWARD_ORDER(order_id=order_id, member_id=sized.buyers[depth], amount_paid=amount,
                                           first_paid_order=False, paid_at=now)
                    elapsed = time.perf_counter_ns() - started
                    db.session.commit()
                    sized.made += len(created)
                    if n >= WARMUP:
                        sized.samples[depth].append(elapsed)
    # Two lines, two levels paid (one for the buyer at depth 1, whose only ancestor is a root).
    expected = (WARMUP + SAMPLES) * sum(min(depth, 2) for depth in DEPTHS) * len(LINE_AMOUNTS)
    p50s: dict[int, dict[int, float]] = {}
    for sized in trees:
        if sized.made != expected:
            raise SystemExit(f"reward creation made {sized.made} rewards in the {sized.size} tree, expected {expected}")
        p50s[sized.size] = {}
        for depth in DEPTHS:
            p50s[sized.size][depth] = round(percentile(sized.samples[depth], 0.50), 1)
            fields = {"members": sized.size, "depth": depth, "handler": HANDLER}
            emit("reward_creation_p50_us", p50s[sized.size][depth], **fields)
            emit("reward_creation_p99_us", round(percentile(sized.samples[depth], 0.99), 1), **fields)
    return p50s


# --- 2. subtree summary against a recursive CTE ---------------------------------------------------

def _timed(call: Callable[[], Any], samples: int, budget_s: float) -> tuple[list[int], Any]:
    timings, answer, deadline = [], None, time.perf_counter() + budget_s
    for n in range(samples):
        started = time.perf_counter_ns()
        answer = call()
        timings.append(time.perf_counter_ns() - started)
        if n >= 2 and time.perf_counter() > deadline:
            break
    return timings, answer


def measure_subtree(size: int) -> dict[str, tuple[float, float]]:
    """(summary p50 us, CTE p50 us) for the big root and the hub; the answers must agree."""
    results = {}
    for name, member in (("root", shapes.ROOT), ("hub", shapes.HUB)):
        _timed(lambda m=member: tree.subtree_summary(m), WARMUP, 5.0)
        summary_ns, summary = _timed(lambda m=member: tree.subtree_summary(m), SAMPLES, 30.0)
        cte_ns, reference = _timed(lambda m=member: db.session.execute(SUBTREE_CTE, {"member": m}).one(),
                                   CTE_SAMPLES, CTE_BUDGET_S)
        db.session.rollback()
        ours = (summary.size, summary.levels, summary.orders, summary.gmv)
        theirs = (reference.size, reference.levels, reference.orders, reference.gmv)
        emit("subtree_answers_equal", ours == theirs, members=size, node=name, descendants=summary.size,
             summary=list(ours), cte=list(theirs))
        if ours != theirs:
            raise SystemExit(f"subtree of the {name}: counters say {ours}, the parent links {theirs}")
        fields = {"members": size, "node": name, "descendants": summary.size}
        summary_p50, cte_p50 = percentile(summary_ns, 0.5), percentile(cte_ns, 0.5)
        emit("subtree_summary_p50_us", round(summary_p50, 1), **fields)
        emit("subtree_summary_p99_us", round(percentile(summary_ns, 0.99), 1), **fields)
        emit("recursive_cte_p50_us", round(cte_p50, 1), samples=len(cte_ns), **fields)
        results[name] = (summary_p50, cte_p50)
    return results


# --- the run --------------------------------------------------------------------------------------

def services() -> tuple[str, str]:
    try:
        database_url, redis_url = os.environ["TEST_DATABASE_URL"], os.environ["TEST_REDIS_URL"]
    except KeyError as missing:
        raise SystemExit(f"{missing.args[0]} is not set: run tests/bench/run referral, which starts the services") from None
    if not database_url.startswith("postgresql"):
        raise SystemExit("the referral bench runs on PostgreSQL")
    return database_url, redis_url


def create_database(database_url: str, size: int) -> str:
    """A database of its own for the tree of ``size`` members, in the same cluster; its URL."""
    name = f"ripple_bench_referral_{size}"
    with psycopg.connect(loading.libpq_url(database_url), autocommit=True) as connection:
        try:
            connection.execute(f"CREATE DATABASE {name}")
        except psycopg.errors.DuplicateDatabase:
            raise SystemExit(f"database {name} exists: run on a throwaway cluster (tests/bench/run referral)") from None
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


def prepare(database_url: str, redis_url: str, size: int, instance: Path) -> Sized:
    """The size's database migrated, the policy set to pay 2 levels, the tree loaded."""
    url = create_database(database_url, size)
    app = create_app({"DATABASE_URL": url, "REDIS_URL": redis_url, "RIPPLE_INSTANCE_PATH": str(instance)})
    loading.prepare_database(app)
    with app.app_context():
        settings = load_settings()
        settings.reward_levels, settings.percent_bp = 2, [500, 100]
        db.session.commit()
    shaped = load_tree(url, size)
    return Sized(size=size, app=app, buyers={depth: shaped.chain_member_at(depth) for depth in DEPTHS})


def main() -> None:
    database_url, redis_url = services()
    emit("machine_nproc", os.cpu_count())
    emit("machine_loadavg_1m_at_start", round(os.getloadavg()[0], 2))
    emit("machine_python", platform.python_version())
    emit("reward_handler", HANDLER)
    with tempfile.TemporaryDirectory(prefix="ripple-bench-referral-") as tmp:
        trees = []
        for size in SIZES:
            progress(f"tree of {size} members: shaping and loading into a database of its own")
            trees.append(prepare(database_url, redis_url, size, Path(tmp) / str(size)))
        progress(f"reward creation, {WARMUP} + {SAMPLES} rounds over every size and depth")
        rewards_by_size = measure_rewards(trees)
        subtree_by_size = {}
        for sized in trees:
            progress(f"tree of {sized.size} members: subtree summaries and the recursive CTE")
            with sized.app.app_context():
                subtree_by_size[sized.size] = measure_subtree(sized.size)
                db.engine.dispose()
        report_targets(rewards_by_size, subtree_by_size)
    emit("machine_loadavg_1m_at_end", round(os.getloadavg()[0], 2))


def report_targets(rewards_by_size: dict[int, dict[int, float]],
                   subtree_by_size: dict[int, dict[str, tuple[float, float]]]) -> None:
    smallest, largest = min(rewards_by_size), max(rewards_by_size)
    met = []
    for depth in DEPTHS if largest > smallest else ():  # one size has nothing to compare with
        ratio = rewards_by_size[largest][depth] / rewards_by_size[smallest][depth]
        met.append(target("reward_creation_ratio_largest_to_smallest", ratio, "<=", FLAT_RATIO, depth=depth,
                          sizes=[smallest, largest], handler=HANDLER))
    summary_us, cte_us = subtree_by_size[largest]["hub"]
    met.append(target("subtree_summary_hub_p50_ms", summary_us / 1000, "<", SUMMARY_MS, members=largest))
    met.append(target("subtree_speedup_hub_cte_over_summary", cte_us / summary_us, ">=", SPEEDUP, members=largest))
    root_summary, root_cte = subtree_by_size[largest]["root"]
    emit("subtree_speedup_root_cte_over_summary", round(root_cte / root_summary, 1), members=largest)
    emit("targets_met", all(met), sizes=sorted(rewards_by_size),
         note="targets hold at full size (10k to 1M members) only; smaller runs check that the bench works")


if __name__ == "__main__":
    main()
