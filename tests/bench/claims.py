"""Flash-claim benchmark (issue 5): one JSON line per figure on stdout, progress on stderr.

Run it with ``bash tests/bench/claims_run`` or ``bash tests/bench/run claims`` (its own throwaway,
durable PostgreSQL and a Redis server), or with every bench through ``bash tests/bench/run``.
``CLAIMS_BENCH_TOTAL`` (10000), ``CLAIMS_BENCH_ATTEMPTS`` (50000) and ``CLAIMS_BENCH_MEMBERS``
(25000) set the size.

A batch of TOTAL coupons, per-member limit 1, is claimed by ATTEMPTS claims of MEMBERS members (each
member twice, in a seeded random order, so some members come back while coupons are left and get
``coupon_limit_reached``, and the latecomers get ``coupon_out_of_stock``). The claims go through
gunicorn as deployed (``deploy/gunicorn.conf.py``) over 127.0.0.1 from concurrent clients
(processes x threads, one keep-alive connection each, ``checkout_load.run_phase``), every one with
its own ``Idempotency-Key``.

Beside it, in the same run (before and after the app, to show drift), the reference: the bare work
a claim cannot avoid, issued directly from as many client threads: the same Lua gate
(``coupons.claiming.gate.take``, redis-py) and, when it grants, the one INSERT of the coupon row as its own
transaction (``coupons.claiming.queries.insert_coupon``, autocommit: the form the app uses), for a batch of its own with the
same total and the same attempts. Figures: successful claims per second until the batch sold out
(the targets), attempts per second over the whole phase, p50/p99 of every attempt and of the
successful ones, the outcomes, CPU per attempt by process, and the checks made in the database:
exactly TOTAL coupons, no member over the limit, the gate at zero.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from flask import Flask
from sqlalchemy import Engine, create_engine, func, insert, select

from app import create_app
from coupons.batches.service import change_status, create_batch
from coupons.claiming import gate
from coupons.claiming.queries import insert_coupon
from coupons.claiming.taking import rebuild_gate
from coupons.models import Coupon, CouponStatus
from shop.auth import issue_shopper_token
from shop.extensions import db, redis_client
from shop.members.models import Member
from tests.bench import checkout_setup as setup
from tests.bench import load
from tests.bench.checkout import Counters, postgres_server, require_complete, services
from tests.bench.checkout_load import Call, HttpShopper, Phase, run_phase
from tests.bench.loading import prepare_database
from tests.bench.timing import percentile

TOTAL = int(os.environ.get("CLAIMS_BENCH_TOTAL", "10000"))
ATTEMPTS = int(os.environ.get("CLAIMS_BENCH_ATTEMPTS", "50000"))
MEMBERS = int(os.environ.get("CLAIMS_BENCH_MEMBERS", "25000"))
WARMUP = 2000  # claims of a warm-up batch first: every gunicorn thread opens its connections
PER_MEMBER_LIMIT = 1
PROCESSES, THREADS = 2, 8  # 16 concurrent clients: twice gunicorn's 2 x 4 threads, as the other benches
PHASE_LIMIT_S = 300
TARGET_RATIO, TARGET_RATE = 0.40, 800.0
SEED = 20261123
OUTCOMES = ("claimed", "coupon_out_of_stock", "coupon_limit_reached")


def emit(figure: str, value: Any, **fields: Any) -> None:
    """One figure, one JSON line on stdout."""
    print(json.dumps({"bench": "claims", **fields, "figure": figure, "value": value}), flush=True)


def progress(message: str) -> None:
    print(f"[bench] {datetime.now(UTC):%H:%M:%S} {message}", file=sys.stderr, flush=True)


def us(samples_ns: Sequence[int], q: float) -> float:
    return round(percentile(samples_ns, q), 1) if samples_ns else 0.0


# --- the clients ---------------------------------------------------------------------------------

class ClaimShopper(HttpShopper):
    """One keep-alive connection; ``handle(call)`` claims and answers (outcome, monotonic end in ns).

    Only 201 and the two 409s of a flash claim count as answers; anything else fails the item. A resend
    on a connection the server closed is safe: the claim's Idempotency-Key makes it the same claim.
    """

    def __init__(self, setup: dict[str, Any]) -> None:
        super().__init__({"port": setup["port"], "expect": 201})

    def __call__(self, call: Call) -> tuple[str, int]:
        response, body = self.send(call)
        ended = time.monotonic_ns()
        if response.status == 201:
            return "claimed", ended
        code = json.loads(body).get("code") if response.status == 409 else None
        if code not in OUTCOMES:
            raise RuntimeError(f"claim answered {response.status}: {body[:300]!r}")
        return code, ended


_engines: dict[str, Engine] = {}


class ReferenceClaim:
    """Item: {batch_id, member_id, key}: the gate, then the coupon's INSERT as its own transaction."""

    def __init__(self, setup: dict[str, Any]) -> None:
        url = setup["database_url"]
        if url not in _engines:
            _engines[url] = create_engine(url, pool_size=setup["threads"], max_overflow=0,
                                          isolation_level="AUTOCOMMIT")
        self.engine = _engines[url]
        self.redis = redis.Redis.from_url(setup["redis_url"])
        self.valid_days, self.total, self.generation = setup["valid_days"], setup["total"], setup["generation"]

    def __call__(self, item: dict[str, Any]) -> tuple[str, int]:
        grant = gate.take(self.redis, item["batch_id"], item["member_id"], limit=PER_MEMBER_LIMIT, total=self.total,
                          generation=self.generation)
        if grant in (gate.OUT_OF_STOCK, gate.OUT_OF_STOCK_HELD):
            return "coupon_out_of_stock", time.monotonic_ns()
        if grant == gate.LIMIT_REACHED:
            return "coupon_limit_reached", time.monotonic_ns()
        if not isinstance(grant, gate.Grant):
            raise RuntimeError(f"the reference gate answered {grant}")
        now = datetime.now(UTC)
        with self.engine.connect() as connection:
            insert_coupon(connection, {
                "batch_id": item["batch_id"], "member_id": item["member_id"], "sequence": grant.sequence,
                "issue_number": grant.number, "claim_day": gate.business_day(now), "claim_key": item["key"],
                "status": CouponStatus.AVAILABLE.value, "source": "public", "valid_from": now,
                "expires_at": now + timedelta(days=self.valid_days), "claimed_at": now})
        return "claimed", time.monotonic_ns()

    def close(self) -> None:
        self.redis.close()


# --- the set-up ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Crowd:
    member_ids: list[int]
    tokens: dict[int, str]


def build_crowd(app: Flask, count: int) -> Crowd:
    """``count`` members (one multi-row INSERT) and a token for each."""
    with app.app_context():
        now = datetime.now(UTC)
        member_ids = list(db.session.scalars(insert(Member).returning(Member.id), [
            {"openid": f"bench-claimer-{i}", "nickname": f"Claimer {i}", "created_at": now, "last_login_at": now}
            for i in range(count)]))
        db.session.commit()
        tokens = {member_id: issue_shopper_token(member_id) for member_id in member_ids}
        db.session.remove()
    return Crowd(member_ids, tokens)


def new_batch(app: Flask, name: str, total: int) -> int:
    """An active public batch (10 yuan off, 7 days) made by the app's own service; its id."""
    with app.app_context():
        batch = create_batch({"name": name, "kind": "amount_off", "amount_off": 1000, "min_spend": 0, "valid_days": 7,
                              "total": total, "per_member_limit": PER_MEMBER_LIMIT, "channel": "public"},
                             staff_id=None, now=datetime.now(UTC))
        change_status(batch.id, "activate", now=datetime.now(UTC))
        db.session.commit()
        batch_id = batch.id
        db.session.remove()
    return batch_id


def attempt_order(crowd: Crowd, attempts: int, seed: int) -> list[int]:
    """The member of each attempt: every member in turn until ``attempts``, then shuffled."""
    members = [crowd.member_ids[n % len(crowd.member_ids)] for n in range(attempts)]
    random.Random(seed).shuffle(members)
    return members


def claim_calls(crowd: Crowd, batch_id: int, members: Sequence[int]) -> list[Call]:
    path = f"/api/v1/coupon-batches/{batch_id}/claim"
    return [Call("POST", path, {"Authorization": f"Bearer {crowd.tokens[member_id]}",
                                "Idempotency-Key": uuid.uuid4().hex}) for member_id in members]


# --- the phases ----------------------------------------------------------------------------------

@dataclass
class Run:
    label: str
    phase: Phase
    cpu: dict[str, float]

    def outcomes(self) -> Counter:
        return Counter(kept[0] for kept in self.phase.kept if kept is not None)

    def sold_out_s(self) -> float:
        """Seconds from the start line to the last successful claim's answer."""
        ends = [kept[1] for kept in self.phase.kept if kept is not None and kept[0] == "claimed"]
        return (max(ends) - self.phase.started_ns) / 1e9 if ends else self.phase.wall_s

    @property
    def claims_per_s(self) -> float:
        return self.outcomes()["claimed"] / self.sold_out_s()

    def successful_latencies(self) -> list[int]:
        return [latency for latency, kept in zip(self.phase.latencies_ns, self.phase.kept, strict=True)
                if latency is not None and kept[0] == "claimed"]


def http_run(label: str, port: int, calls: Sequence[Call], counters: Counters | None) -> Run:
    progress(f"{label}: {len(calls)} claims through gunicorn")
    phase = run_phase(label, "tests.bench.claims:ClaimShopper", {"port": port}, calls, processes=PROCESSES,
                      threads=THREADS, time_limit_s=PHASE_LIMIT_S, on_start=counters.start if counters else None)
    require_complete(phase)
    return Run(label, phase, counters.per_order_ms(phase) if counters else {})


def reference_run(label: str, database_url: str, redis_url: str, batch_id: int, generation: int,
                  members: Sequence[int], counters: Counters) -> Run:
    progress(f"{label}: {len(members)} claims, gate + INSERT from {PROCESSES * THREADS} threads")
    items = [{"batch_id": batch_id, "member_id": member_id, "key": uuid.uuid4().hex} for member_id in members]
    worker_setup = {"database_url": database_url, "redis_url": redis_url, "threads": THREADS, "valid_days": 7,
                    "total": TOTAL, "generation": generation}
    phase = run_phase(label, "tests.bench.claims:ReferenceClaim", worker_setup, items, processes=PROCESSES,
                      threads=THREADS, time_limit_s=PHASE_LIMIT_S, on_start=counters.start)
    require_complete(phase)
    return Run(label, phase, counters.per_order_ms(phase))


def prime_gate(app: Flask, batch_id: int) -> int:
    """The reference's gate, built as the app's first claim builds it (full stock, nobody holding any); its generation."""
    with app.app_context():
        return rebuild_gate(batch_id, now=datetime.now(UTC))


# --- checks --------------------------------------------------------------------------------------

def check_batch(app: Flask, batch_id: int, run: Run) -> dict[str, Any]:
    """What must hold: exactly TOTAL coupons, each member at most the limit, answers matching rows, gate at 0."""
    with app.app_context():
        issued = db.session.scalar(select(func.count()).select_from(Coupon).where(Coupon.batch_id == batch_id))
        held = (select(func.count().label("held")).where(Coupon.batch_id == batch_id)
                .group_by(Coupon.member_id).subquery())
        most = db.session.scalar(select(func.max(held.c.held)))
        remaining = gate.left(redis_client(), batch_id, TOTAL)
        db.session.remove()
    outcomes = run.outcomes()
    checks = {"issued": issued, "most_held_by_one_member": most, "answers_claimed": outcomes["claimed"],
              "out_of_stock": outcomes["coupon_out_of_stock"], "limit_reached": outcomes["coupon_limit_reached"],
              "gate_remaining": remaining}
    checks["ok"] = (issued == TOTAL == outcomes["claimed"] and most == PER_MEMBER_LIMIT and remaining == 0
                    and outcomes["coupon_out_of_stock"] > 0 and outcomes["coupon_limit_reached"] > 0)
    return checks


# --- figures -------------------------------------------------------------------------------------

def report(measured: Run, prefix: str, **fields: Any) -> None:
    phase, outcomes = measured.phase, measured.outcomes()
    emit(f"{prefix}claims_per_s", round(measured.claims_per_s, 1), claims=outcomes["claimed"],
         seconds=round(measured.sold_out_s(), 2), clients=PROCESSES * THREADS,
         note="successful claims / seconds until the last successful claim answered", **fields)
    emit(f"{prefix}attempts_per_s", round(phase.rate, 1), attempts=phase.done, seconds=round(phase.wall_s, 2), **fields)
    samples, won = phase.samples(), measured.successful_latencies()
    emit(f"{prefix}p50_us", us(samples, 0.5), of="every attempt", **fields)
    emit(f"{prefix}p99_us", us(samples, 0.99), of="every attempt", **fields)
    emit(f"{prefix}claimed_p99_us", us(won, 0.99), of="successful claims", **fields)
    emit(f"{prefix}outcomes", dict(outcomes), **fields)
    for process, value in measured.cpu.items():
        if process == "box_busy_share":
            emit(f"{prefix}box_busy_share", round(value, 3), **fields)
        else:
            emit(f"{prefix}cpu_ms_per_attempt", round(value, 3), process=process, **fields)


def targets(*specs: tuple[str, float, float, str]) -> int:
    """Each (figure, value, bound, note) as a line with its target and whether it is met; how many are."""
    met = 0
    for name, value, bound, note in specs:
        met += value >= bound
        emit(name, round(value, 3), target=f">={bound:g}", met=value >= bound, note=note)
    emit("targets_met", met, of=len(specs))
    return met


# --- the run -------------------------------------------------------------------------------------

def redis_pid(redis_url: str) -> int | None:
    try:
        return int(redis.Redis.from_url(redis_url).info("server")["process_id"])
    except (redis.RedisError, KeyError, ValueError):
        return None


def main() -> None:
    database_url, redis_url = services("tests/bench/claims_run")
    if not database_url.startswith("postgresql"):
        raise SystemExit("the claims bench runs on PostgreSQL")
    with tempfile.TemporaryDirectory(prefix="ripple-claims-bench-") as tmp:
        workdir = Path(tmp)
        config = {"RIPPLE_ENV": "development", "RIPPLE_INSTANCE_PATH": str(workdir / "app"),
                  "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": secrets.token_hex(32)}
        app = create_app(config)
        prepare_database(app)
        progress(f"{MEMBERS} members and their tokens")
        crowd = build_crowd(app, MEMBERS)
        machine_facts(app)
        port = load.free_port()
        server_env = {**config, "RIPPLE_INSTANCE_PATH": str(workdir / "gunicorn")}
        with setup.gunicorn(server_env, workdir / "gunicorn.log", port) as master_pid:
            emit("gunicorn_workers", len(setup.gunicorn_workers(master_pid)),
                 threads_each=int(os.environ.get("GUNICORN_THREADS", "4")), note="deploy/gunicorn.conf.py, gthread")
            trees = {"gunicorn": master_pid, "postgres": setup.postmaster_pid(app), "redis": redis_pid(redis_url)}
            counters = Counters({name: pid for name, pid in trees.items() if pid})
            run_all(app, database_url, redis_url, port, crowd, counters)
    emit("machine_loadavg_1m_at_end", round(os.getloadavg()[0], 2))


def run_all(app: Flask, database_url: str, redis_url: str, port: int, crowd: Crowd, counters: Counters) -> None:
    warm_members = crowd.member_ids[:WARMUP]
    warm_batch = new_batch(app, "warm-up", len(warm_members))
    http_run("warm-up", port, claim_calls(crowd, warm_batch, warm_members), None)
    members = attempt_order(crowd, ATTEMPTS, SEED)
    references: dict[str, tuple[int, Run]] = {}
    batch_id = new_batch(app, "reference before", TOTAL)
    references["before"] = (batch_id, reference_run("reference before", database_url, redis_url, batch_id,
                                                    prime_gate(app, batch_id), members, counters))
    flash = new_batch(app, "flash", TOTAL)
    run = http_run("flash claim", port, claim_calls(crowd, flash, members), counters)
    batch_id = new_batch(app, "reference after", TOTAL)
    references["after"] = (batch_id, reference_run("reference after", database_url, redis_url, batch_id,
                                                   prime_gate(app, batch_id), members, counters))

    checks = {"app": check_batch(app, flash, run)}
    report(run, "")
    for label, (ref_batch, ref_run) in references.items():
        checks[f"reference_{label}"] = check_batch(app, ref_batch, ref_run)
        report(ref_run, "reference_", run=label)
    reference_rate = sum(ref.claims_per_s for _, ref in references.values()) / len(references)
    emit("reference_claims_per_s", round(reference_rate, 1), run="mean", note="the ratio's denominator")
    for name, values in checks.items():
        emit("checks", values["ok"], of=name, **{k: v for k, v in values.items() if k != "ok"})
    targets(("ratio_claims_vs_reference", run.claims_per_s / reference_rate, TARGET_RATIO,
             "successful claims/s through gunicorn over the bare gate+INSERT's (mean of before and after)"),
            ("claims_per_s_gunicorn_postgres", run.claims_per_s, TARGET_RATE,
             "absolute, as the issue states it for the 2-core machine"))
    if not all(values["ok"] for values in checks.values()):
        raise SystemExit(f"a batch is not as the run should have left it: {checks}")


def machine_facts(app: Flask) -> None:
    version, durability = postgres_server(app)
    emit("machine_nproc", os.cpu_count())
    emit("machine_loadavg_1m_at_start", round(os.getloadavg()[0], 2))
    emit("machine_postgres_server", version, **durability)
    emit("settings", {"total": TOTAL, "attempts": ATTEMPTS, "members": MEMBERS, "per_member_limit": PER_MEMBER_LIMIT,
                      "warmup_claims": WARMUP, "clients": f"{PROCESSES} processes x {THREADS} threads"})


if __name__ == "__main__":
    main()
