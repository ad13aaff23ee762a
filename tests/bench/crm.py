"""CRM benchmark (issue 16): one JSON line per figure on stdout, progress on stderr.

Run it with ``bash tests/bench/run crm`` (``make bench BENCH=crm``): its own throwaway PostgreSQL and
Redis server (``tests/bench/crm_run``). ``CRM_BENCH_EVENTS`` (1,000,000; the recorded figure is at
10,000,000), ``CRM_BENCH_MEMBERS`` (events / 10), ``CRM_BENCH_DAY_EVENTS`` (events on the measured day:
300,000, or 30% of the events when fewer), ``CRM_BENCH_RUNS`` (20 timed runs of each report) and
``CRM_BENCH_EVENT_BATCHES`` (3,000 batches of 10 client events) set the size.

1. A year of traffic (``tests/bench/crm_load.py``) generated in PostgreSQL, ending now; its measured
   day is yesterday (a campaign day carrying ``CRM_BENCH_DAY_EVENTS`` events).
2. A day's refresh: the computed tags (``crm.tags.computed.refresh_computed_tags``) and every registered
   rollup for the measured day (``crm.rollups.service.rebuild(day, day, now)``), each timed with its
   commit; target: both together under 30 s.
3. Reports, each called ``CRM_BENCH_RUNS`` times in-process (p50, p99): a three-condition segment
   preview (``crm.segments.service.preview``, what ``POST /api/v1/admin/segments/preview`` answers),
   target under 500 ms; and each entry of ``REPORTS``, from the rollups and from the raw rows, answers
   checked equal, targets under 100 ms p50 and at least 50x faster than raw.
4. ``POST /api/v1/events`` under gunicorn as deployed (batches of 10 client events from many shoppers'
   tokens, 2 processes x 8 threads of keep-alive clients), events/s next to ``GET /healthz`` req/s
   from the same clients before and after it.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, text

from app import create_app
from crm.campaigns.service import campaign_report, campaign_report_raw
from crm.funnel.service import funnel, funnel_raw
from crm.rollups import service as rollups
from crm.segments import service as segments
from crm.tags.computed import refresh_computed_tags
from shop.auth import issue_shopper_token
from shop.extensions import db
from tests.bench import checkout_setup as setup
from tests.bench import crm_load, load
from tests.bench.checkout import Counters, postgres_server, require_complete, services
from tests.bench.checkout_load import Call, Phase, run_phase
from tests.bench.claims import redis_pid
from tests.bench.loading import prepare_database
from tests.bench.timing import percentile

EVENTS = int(os.environ.get("CRM_BENCH_EVENTS", "1000000"))
MEMBERS = int(os.environ["CRM_BENCH_MEMBERS"]) if os.environ.get("CRM_BENCH_MEMBERS") else None
DAY_EVENTS = int(os.environ["CRM_BENCH_DAY_EVENTS"]) if os.environ.get("CRM_BENCH_DAY_EVENTS") else None
RUNS = int(os.environ.get("CRM_BENCH_RUNS", "20"))
EVENT_BATCHES = int(os.environ.get("CRM_BENCH_EVENT_BATCHES", "3000"))
HEALTHZ_CALLS = int(os.environ.get("CRM_BENCH_HEALTHZ_CALLS", "20000"))
EVENTS_PER_BATCH = 10
LEAF_RUNS = 5
SHOPPERS = 200  # tokens the batches go round
PROCESSES, THREADS = 2, 8
PHASE_LIMIT_S = 300
REFRESH_S, PREVIEW_MS, REPORT_MS, REPORT_SPEEDUP = 30.0, 500.0, 100.0, 50.0
# A marketing question of three conditions: spent 200 yuan or more in 90 days, home store in Shanghai,
# consented to marketing.
SEGMENT_RULE = {"all": [{"field": "spend_fen", "op": ">=", "value": 20_000, "period_days": 90},
                        {"field": "city", "op": "=", "value": "上海"},
                        {"field": "marketing_consent", "op": "=", "value": "granted"}]}
# The load's own limits: every request comes from 127.0.0.1 and a few hundred members, so the
# per-member limit and the per-address ceiling are raised (still checked on every request, as deployed).
LOAD_LIMITS = {"RATE_LIMIT_CLIENT_EVENTS_PER_MEMBER": "1000000 per minute",
               "RATE_LIMIT_SHOPPER_PER_ADDRESS": "1000000 per minute"}


def emit(figure: str, value: Any, **fields: Any) -> None:
    """One figure, one JSON line on stdout."""
    print(json.dumps({"bench": "crm", **fields, "figure": figure, "value": value}, default=str), flush=True)


def progress(message: str) -> None:
    print(f"[bench] {datetime.now(UTC):%H:%M:%S} {message}", file=sys.stderr, flush=True)


def target(figure: str, value: float, operator: str, bound: float, **fields: Any) -> bool:
    met = value < bound if operator == "<" else value >= bound
    emit(figure, round(value, 3), target=f"{operator}{bound:g}", met=met, **fields)
    return met


# --- the reports: a table of named timed calls ----------------------------------------------------

@dataclass(frozen=True)
class Context:
    """What a report call is asked about: the run's now and the measured day (its month for monthly reports)."""

    now: datetime
    day: date

    @property
    def month(self) -> tuple[date, date]:
        return self.day.replace(day=1), self.day


@dataclass(frozen=True)
class Report:
    """A report answered from the rollups and, as the reference, from the raw rows (answers compared
    without ``as_of``)."""

    name: str
    from_rollups: Callable[[Context], dict[str, Any]]
    from_raw: Callable[[Context], dict[str, Any]]


# The reports of issue 16: the month's funnel (joined in the month up to the measured day) and the
# campaign report of the measured day's campaign over the same days.
REPORTS: list[Report] = [
    Report("funnel_month", lambda c: funnel(c.month[0], c.month[1], now=c.now),
           lambda c: funnel_raw(c.month[0], c.month[1], now=c.now)),
    Report("campaign_month", lambda c: campaign_report(crm_load.HOT_CAMPAIGN, *c.month, c.now),
           lambda c: campaign_report_raw(crm_load.HOT_CAMPAIGN, *c.month, c.now)),
]


def timed(call: Callable[[], Any], runs: int) -> tuple[list[int], Any]:
    """Nanoseconds of ``runs`` calls (after one untimed warm-up call, whose answer is returned)."""
    answer = call()
    db.session.rollback()
    samples = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - started)
        db.session.rollback()
    return samples, answer


def without_jit(call: Callable[[], Any]) -> Any:
    db.session.execute(text("SET LOCAL jit = off"))
    return call()


def ms(samples_ns: Sequence[int], q: float) -> float:
    return round(percentile(samples_ns, q) / 1000, 2)


def without_as_of(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "as_of"}


def measure_reports(app: Flask, context: Context) -> list[bool]:
    met = []
    with app.app_context():
        samples, answer = timed(lambda: segments.preview(SEGMENT_RULE, now=context.now), RUNS)
        brute = db.session.scalar(text(BRUTE_FORCE_SEGMENT), {"since": context.now - timedelta(days=90)})
        emit("segment_preview_p99_ms", ms(samples, 0.99), rule=SEGMENT_RULE, runs=RUNS)
        emit("segment_preview_count", answer["count"], brute_force_count=brute, equal=answer["count"] == brute)
        met.append(target("segment_preview_p50_ms", ms(samples, 0.5), "<", PREVIEW_MS, runs=RUNS))
        jit_off_ns, _ = timed(lambda: without_jit(lambda: segments.preview(SEGMENT_RULE, now=context.now)), RUNS)
        emit("segment_preview_jit_off_p50_ms", ms(jit_off_ns, 0.5), runs=RUNS,
             note="the same with SET LOCAL jit = off: the app's connections already run without JIT (shop/config.py), "
                  "so equal within noise")
        for leaf in SEGMENT_RULE["all"]:  # where the preview's time goes: each condition's count alone
            leaf_ns, held = timed(lambda rule=leaf: segments.count(rule, context.now), LEAF_RUNS)
            emit("segment_condition_count_p50_ms", ms(leaf_ns, 0.5), condition=leaf, members=held, runs=LEAF_RUNS)
        build_report_days(context)
        for report in REPORTS:
            progress(f"report {report.name}: from the rollups and from the raw rows, {RUNS} runs each")
            ours_ns, ours = timed(lambda r=report: r.from_rollups(context), RUNS)
            raw_ns, raw = timed(lambda r=report: r.from_raw(context), RUNS)
            equal = without_as_of(ours) == without_as_of(raw)
            emit(f"{report.name}_answers_equal", equal, as_of=ours.get("as_of"))
            emit(f"{report.name}_rollups_p99_ms", ms(ours_ns, 0.99), runs=RUNS)
            emit(f"{report.name}_raw_p50_ms", ms(raw_ns, 0.5), runs=RUNS)
            met.append(target(f"{report.name}_rollups_p50_ms", ms(ours_ns, 0.5), "<", REPORT_MS, runs=RUNS))
            met.append(target(f"{report.name}_speedup_raw_over_rollups", percentile(raw_ns, 0.5)
                              / percentile(ours_ns, 0.5), ">=", REPORT_SPEEDUP))
            met.append(equal)
        db.session.remove()
    emit("reports_measured", ["segment_preview", *(report.name for report in REPORTS)])
    return met


def build_report_days(context: Context) -> None:
    """Every rollup of the month up to today, so the reports read built days and carry ``as_of`` (the
    funnel's ``as_of`` is that of its step days up to today)."""
    first, today = context.month[0], rollups.business_day(context.now)
    progress(f"rollups of {first} to {today} for the reports")
    started = time.perf_counter()
    built = rollups.rebuild(first, today, context.now)
    emit("rollups_rebuild_month_s", round(time.perf_counter() - started, 2), first=first, last=today,
         days_built=built, rollups=sorted(rollups.ROLLUPS))


# The same three conditions written by hand over the raw tables: what the preview's count must equal.
BRUTE_FORCE_SEGMENT = """
SELECT count(*) FROM members m JOIN stores s ON s.id = m.home_store_id
WHERE s.city = '上海' AND m.marketing_consent = 'granted'
  AND (SELECT coalesce(sum(o.amount_paid - o.refunded_total), 0) FROM orders o
       WHERE o.member_id = m.id AND o.paid_at IS NOT NULL AND o.status <> 'refunded' AND o.paid_at >= :since) >= 20000
"""


# --- a day's refresh -------------------------------------------------------------------------------

def measure_refresh(app: Flask, context: Context) -> bool:
    """The computed tags (first from empty, then again as the periodic job finds them) and every registered
    rollup of the measured day, each with its commit; the slowest statements of the second refresh."""
    with app.app_context():
        first_s, _ = refresh_tags(context.now)
        emit("computed_tags_first_refresh_s", round(first_s, 2), note="from empty tag tables: every row inserted")
        with statement_times() as statements:
            tags_s, changed = refresh_tags(context.now)
        emit("computed_tags_refresh_s", round(tags_s, 2), rows=changed,
             note="the periodic refresh: every family recomputed over all members, what changed written")
        for seconds, statement in sorted(statements, reverse=True)[:5]:
            emit("computed_tags_refresh_statement_s", round(seconds, 2), statement=statement)
        started = time.perf_counter()
        built = rollups.rebuild(context.day, context.day, context.now)
        rollups_s = time.perf_counter() - started
        emit("rollups_rebuild_day_s", round(rollups_s, 2), day=context.day, rollups=sorted(rollups.ROLLUPS),
             days_built=built, note="every builder registered by crm.init_app")
        db.session.remove()
    return target("day_refresh_s", tags_s + rollups_s, "<", REFRESH_S,
                  note="computed tags (the periodic refresh) + rollups of one day")


def refresh_tags(now: datetime) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    changed = refresh_computed_tags(now)
    db.session.commit()
    return time.perf_counter() - started, changed


@contextmanager
def statement_times() -> Iterator[list[tuple[float, str]]]:
    """(seconds, "[tag family] the statement's first words") of every statement the app's engine runs in the block."""
    times: list[tuple[float, str]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        family = parameters.get("family_1") if isinstance(parameters, dict) else None  # which tag family
        times.append((time.perf_counter() - conn.info.pop("bench_started"),
                      f"[{family or '-'}] " + " ".join(statement.split())[:160]))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        yield times
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)


# --- POST /api/v1/events under gunicorn -------------------------------------------------------------

def event_calls(tokens: Sequence[str], batches: int) -> list[Call]:
    """``batches`` POSTs of 10 fresh client events each, going round the shoppers' tokens."""
    now = datetime.now(UTC).isoformat()
    kinds = ("view_product", "view_store", "add_to_cart", "search", "open_poster")
    calls = []
    for n in range(batches):
        events = [{"client_event_id": uuid.uuid4().hex, "kind": kinds[(n + i) % len(kinds)], "occurred_at": now,
                   "attributes": {"product_id": n % 500}} for i in range(EVENTS_PER_BATCH)]
        calls.append(Call("POST", "/api/v1/events", {"Authorization": f"Bearer {tokens[n % len(tokens)]}",
                                                     "Content-Type": "application/json"},
                          json.dumps({"events": events}).encode()))
    return calls


def http_phase(label: str, port: int, calls: Sequence[Call], counters: Counters) -> tuple[Phase, dict[str, float]]:
    progress(f"{label}: {len(calls)} requests through gunicorn")
    phase = run_phase(label, "tests.bench.checkout_load:HttpShopper", {"port": port, "expect": 200}, calls, processes=PROCESSES, threads=THREADS,
                      time_limit_s=PHASE_LIMIT_S, on_start=counters.start)
    require_complete(phase)
    return phase, counters.per_order_ms(phase)


def measure_events_endpoint(app: Flask, config: dict[str, str], workdir: Path, redis_url: str) -> None:
    with app.app_context():
        tokens = [issue_shopper_token(member_id) for member_id in range(1, SHOPPERS + 1)]
        stored_before = db.session.scalar(text("SELECT count(*) FROM journey_events"))
        db.session.remove()
    port = load.free_port()
    server_env = {**config, **LOAD_LIMITS, "RIPPLE_INSTANCE_PATH": str(workdir / "gunicorn")}
    with setup.gunicorn(server_env, workdir / "gunicorn.log", port) as master_pid:
        emit("gunicorn_workers", len(setup.gunicorn_workers(master_pid)),
             threads_each=int(os.environ.get("GUNICORN_THREADS", "4")), note="deploy/gunicorn.conf.py, gthread")
        trees = {"gunicorn": master_pid, "postgres": setup.postmaster_pid(app), "redis": redis_pid(redis_url)}
        counters = Counters({name: pid for name, pid in trees.items() if pid})
        http_phase("warm-up", port, event_calls(tokens, 200), counters)
        healthz = [Call("GET", "/healthz", {})] * HEALTHZ_CALLS
        before, _ = http_phase("healthz before", port, healthz, counters)
        events, cpu = http_phase("events", port, event_calls(tokens, EVENT_BATCHES), counters)
        after, _ = http_phase("healthz after", port, healthz, counters)
    with app.app_context():
        stored = db.session.scalar(text("SELECT count(*) FROM journey_events")) - stored_before
        db.session.remove()
    expected = (EVENT_BATCHES + 200) * EVENTS_PER_BATCH
    emit("events_per_s", round(events.rate * EVENTS_PER_BATCH, 1), batches_per_s=round(events.rate, 1),
         events_per_batch=EVENTS_PER_BATCH, clients=PROCESSES * THREADS, shoppers=SHOPPERS)
    emit("events_batch_p50_us", round(percentile(events.samples(), 0.5), 1))
    emit("events_batch_p99_us", round(percentile(events.samples(), 0.99), 1))
    for process, value in cpu.items():
        if process == "box_busy_share":
            emit("events_box_busy_share", round(value, 3), note="the whole machine's CPU busy during the phase")
        else:
            emit("events_cpu_ms_per_batch", round(value, 3), process=process)
    healthz_rate = (before.rate + after.rate) / 2
    emit("gunicorn_healthz_requests_per_s", round(healthz_rate, 1), before=round(before.rate, 1),
         after=round(after.rate, 1))
    emit("ratio_event_batches_vs_healthz", round(events.rate / healthz_rate, 3),
         note="batches of 10 events per second over /healthz requests per second, same clients and gunicorn")
    emit("events_stored", stored, expected=expected, equal=stored == expected)


# --- the run -----------------------------------------------------------------------------------------

def main() -> None:
    database_url, redis_url = services("tests/bench/crm_run")
    if not database_url.startswith("postgresql"):
        raise SystemExit("the crm bench runs on PostgreSQL")
    size = crm_load.Size.of(EVENTS, MEMBERS, DAY_EVENTS)
    with tempfile.TemporaryDirectory(prefix="ripple-crm-bench-") as tmp:
        workdir = Path(tmp)
        config = {"RIPPLE_ENV": "development", "RIPPLE_INSTANCE_PATH": str(workdir / "app"),
                  "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": secrets.token_hex(32)}
        app = create_app(config)
        prepare_database(app)
        machine_facts(app, size)
        now = datetime.now(UTC)
        progress(f"generating {size.events} events over a year for {size.members} members")
        started = time.perf_counter()
        made = crm_load.generate(database_url, size, now, progress=progress)
        emit("generate_s", round(time.perf_counter() - started, 1), steps=made.seconds)
        emit("generated", made.counts, hot_day=made.hot_day)
        context = Context(now, made.hot_day)
        met = [measure_refresh(app, context), *measure_reports(app, context)]
        measure_events_endpoint(app, config, workdir, redis_url)
        emit("targets_met", sum(met), of=len(met))
    emit("machine_loadavg_1m_at_end", round(os.getloadavg()[0], 2))


def machine_facts(app: Flask, size: crm_load.Size) -> None:
    version, durability = postgres_server(app)
    emit("machine_nproc", os.cpu_count())
    emit("machine_loadavg_1m_at_start", round(os.getloadavg()[0], 2))
    emit("machine_python", platform.python_version())
    emit("machine_postgres_server", version, **durability)
    emit("settings", {"events": size.events, "members": size.members, "day_events": size.day_events,
                      "stores": size.stores, "runs": RUNS, "event_batches": EVENT_BATCHES,
                      "events_per_batch": EVENTS_PER_BATCH, "shoppers": SHOPPERS, "healthz_calls": HEALTHZ_CALLS,
                      "clients": f"{PROCESSES} processes x {THREADS} threads", "load_limits": LOAD_LIMITS})


if __name__ == "__main__":
    main()
