"""Concurrent shoppers for the checkout bench: processes of threads, bounded in count and time.

``run_phase`` hands a list of prepared items (HTTP calls, or reference orders) to ``processes`` x
``threads`` workers; each item is done once, by one thread, and timed alone. The children are
spawned (not forked from the bench, which holds database connections), wait at a start line so the
phase's clock starts when every one of them is ready, and report per-item latencies, their own
CPU time, and what the caller asked to keep from each answer. A phase stops at its time limit; items
not done by then are counted as missing, never silently dropped.

The HTTP shopper speaks HTTP/1.1 with keep-alive to 127.0.0.1 only, one connection per thread.
"""

from __future__ import annotations

import http.client
import importlib
import json
import multiprocessing
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Call:
    """One HTTP request, prepared before the clock starts (body already encoded)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Phase:
    """What a phase measured: per-item latencies (ns, None when not done), wall time, CPU, kept answers."""

    name: str
    items: int
    latencies_ns: list[int | None]
    kept: list[Any]
    failures: list[str]
    wall_s: float
    client_cpu_s: float
    started_ns: int = 0
    ended_ns: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return sum(1 for latency in self.latencies_ns if latency is not None)

    @property
    def rate(self) -> float:
        return self.done / self.wall_s if self.wall_s else 0.0

    def samples(self) -> list[int]:
        return [latency for latency in self.latencies_ns if latency is not None]


# --- the harness ---------------------------------------------------------------------------------

def run_phase(name: str, worker: str, setup: dict[str, Any], items: Sequence[Any], *, processes: int,
              threads: int, time_limit_s: float, on_start: Any = None) -> Phase:
    """Do every item once with ``processes`` x ``threads`` workers of kind ``worker`` ("module:Class").

    ``on_start()`` runs in the parent just before the start line is released, and its result is kept in
    ``Phase.extra["on_start"]`` (the bench samples server CPU there).
    """
    context = multiprocessing.get_context("spawn")
    results, ready = context.Queue(), context.Queue()
    go = context.Event()
    shares = [list(range(p, len(items), processes)) for p in range(processes)]
    children = [context.Process(target=_child, daemon=True, args=(
        worker, setup, [(index, items[index]) for index in share], threads, time_limit_s, go, ready, results))
        for share in shares]
    for child in children:
        child.start()
    try:
        for _ in children:
            ready.get(timeout=START_TIMEOUT_S)
        extra = {"on_start": on_start() if on_start else None}
        go.set()
        reports = [results.get(timeout=time_limit_s + START_TIMEOUT_S) for _ in children]
    finally:
        for child in children:
            child.join(timeout=10)
            if child.is_alive():
                child.terminate()
    latencies: list[int | None] = [None] * len(items)
    kept: list[Any] = [None] * len(items)
    failures: list[str] = []
    for report in reports:
        if report.get("crash"):
            raise RuntimeError(f"a {name} worker process failed:\n{report['crash']}")
        for index, latency, answer in report["done"]:
            latencies[index], kept[index] = latency, answer
        failures += report["failures"]
    started = min(report["started_ns"] for report in reports)
    ended = max(report["ended_ns"] for report in reports)
    return Phase(name=name, items=len(items), latencies_ns=latencies, kept=kept, failures=failures,
                 wall_s=(ended - started) / 1e9, client_cpu_s=sum(report["cpu_s"] for report in reports),
                 started_ns=started, ended_ns=ended, extra=extra)


def _child(worker: str, setup: dict[str, Any], items: list[tuple[int, Any]], threads: int, time_limit_s: float,
           go: Any, ready: Any, results: Any) -> None:
    try:
        module, _, attribute = worker.partition(":")
        kind = getattr(importlib.import_module(module), attribute)
        handles = [kind(setup) for _ in range(threads)]  # one per thread: connections are opened here
        lock, position = threading.Lock(), [0]
        done: list[tuple[int, int, Any]] = []
        failures: list[str] = []
        ended = [0]

        def loop(handle: Any) -> None:
            mine, bad = [], []
            while time.monotonic() < deadline:
                with lock:
                    if position[0] >= len(items):
                        break
                    index, item = items[position[0]]
                    position[0] += 1
                started = time.perf_counter_ns()
                try:
                    answer = handle(item)
                except Exception as exc:  # noqa: BLE001 - reported with the item, the phase goes on
                    bad.append(f"item {index}: {type(exc).__name__}: {exc}"[:500])
                    continue
                mine.append((index, time.perf_counter_ns() - started, answer))
            finished = time.monotonic_ns()
            with lock:
                done.extend(mine)
                failures.extend(bad)
                ended[0] = max(ended[0], finished)

        ready.put(True)
        go.wait(START_TIMEOUT_S)
        cpu_before = time.process_time()
        started_ns = time.monotonic_ns()
        deadline = time.monotonic() + time_limit_s
        workers = [threading.Thread(target=loop, args=(handle,)) for handle in handles]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        cpu = time.process_time() - cpu_before
        for handle in handles:
            getattr(handle, "close", lambda: None)()
        results.put({"done": done, "failures": failures, "started_ns": started_ns,
                     "ended_ns": ended[0] or time.monotonic_ns(), "cpu_s": cpu})
    except BaseException:  # noqa: BLE001 - the parent must hear about it rather than wait
        import traceback  # noqa: PLC0415

        ready.put(False)
        results.put({"crash": traceback.format_exc()})


# --- the HTTP shopper ----------------------------------------------------------------------------

class HttpShopper:
    """One keep-alive connection; ``handle(call)`` sends it and checks the answer.

    setup: ``port``; ``expect`` (the status that counts as success); ``keep``: ``"order"`` keeps the
    placed order's id, number, amount and prepay id (create), ``"outcome"`` the X-Ripple-Outcome
    header (notify), anything else nothing. A connection the server closed between requests (keep-alive
    timeout) is reopened and the request sent again: every step measured is safe to repeat (preview
    changes nothing, create has its Idempotency-Key, a notify is applied once).
    """

    def __init__(self, setup: dict[str, Any]) -> None:
        self.port, self.expect, self.keep = setup["port"], setup["expect"], setup.get("keep")
        self.connection = http.client.HTTPConnection(HOST, self.port, timeout=30)

    def send(self, call: Call) -> tuple[http.client.HTTPResponse, bytes]:
        """The answer and its body; once more on a fresh connection if the server closed this one."""
        for attempt in (1, 2):
            try:
                self.connection.request(call.method, call.path, body=call.body or None, headers=call.headers)
                response = self.connection.getresponse()
                return response, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def __call__(self, call: Call) -> Any:
        response, body = self.send(call)
        if response.status != self.expect:
            raise RuntimeError(f"{call.method} {call.path} answered {response.status}: {body[:300]!r}")
        if self.keep == "order":
            placed = json.loads(body)
            order, payment = placed["order"], placed["payment"]
            if payment is None:
                raise RuntimeError(f"order placed without payment parameters: {placed.get('payment_error')}")
            return {"id": order["id"], "number": order["number"], "amount": order["amount_payable"],
                    "prepay_id": payment["package"].removeprefix("prepay_id=")}
        if self.keep == "outcome":
            return response.getheader("X-Ripple-Outcome")
        return None

    def close(self) -> None:
        self.connection.close()
