"""Prometheus metrics: every one Ripple exports is declared here, and counted where its event happens.

Exposition is on a port of its own (METRICS_HOST:METRICS_PORT, loopback by default), never on the app's:
under gunicorn its master serves what every worker wrote to PROMETHEUS_MULTIPROC_DIR
(deploy/gunicorn.conf.py); the RQ worker and the scheduler serve their own (``flask jobs ...``);
``python app.py`` serves its one process from a thread. docs/metrics.md says what to watch.

Counting costs an increment of a memory-mapped value, never a query: the gauges of the outbox are set
by the query /readyz already makes. Labels take values from closed sets (url rules, enums, the job
registry), so the number of series stays bounded whatever clients send.
"""

from __future__ import annotations

import glob
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from shop import events
from shop.transactions import after_commit

log = logging.getLogger(__name__)
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"  # a path no route serves (its raw text would make a series per path)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: a nearby search is a few ms, a checkout tens, WeChat's calls up to its timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("ripple_http_requests", "Requests answered, by url rule, method and status.",
                   ["endpoint", "method", "status"])
REQUEST_SECONDS = Histogram("ripple_http_request_duration_seconds", "Time to answer a request, by url rule "
                            "and method.", ["endpoint", "method"], buckets=LATENCY_BUCKETS)
ORDERS = Counter("ripple_orders", "Orders that entered a state (`created`: placed, pending payment or paid at "
                 "once at a till).", ["state"])
PAYMENTS_APPLIED = Counter("ripple_payments_applied", "WeChat Pay payments applied to an order, by how they "
                           "arrived (notify; query or close: asked by the reconcile job or a cancel; bill).", ["source"])
NOTIFIES_REJECTED = Counter("ripple_pay_notifies_rejected", "WeChat Pay notifies refused, by error code "
                            "(a forged or garbled signature, a transaction that is not ours).", ["reason"])
COUPONS_CLAIMED = Counter("ripple_coupons_claimed", "Coupons that went into a wallet, by channel.", ["channel"])
COUPONS_REDEEMED = Counter("ripple_coupons_redeemed", "Coupons redeemed in a store, at the counter or with a "
                           "till sale.", ["channel"])
GATE_REBUILDS = Counter("ripple_coupon_gate_rebuilds", "Claim gates rebuilt from the coupon rows because they "
                        "were missing, stale or wrong (a batch's first gate is not counted).", ["reason"])
OUTBOX_RUNS = Counter("ripple_outbox_runs", "Runs of background work, by job and how the run ended (done, "
                      "retrying: failed and due again, failed: given up for an admin).", ["kind", "outcome"])
OUTBOX_OVERDUE = Gauge("ripple_outbox_overdue", "Background work overdue by over 2 minutes (nothing hands it "
                       "on), as of the last /readyz.", multiprocess_mode="mostrecent")
OUTBOX_FAILED = Gauge("ripple_outbox_failed", "Background work that gave up and waits for an admin, as of the "
                      "last /readyz.", multiprocess_mode="mostrecent")
PERIODIC_RUNS = Counter("ripple_periodic_job_runs", "Runs of the periodic jobs, by job and outcome (ok, "
                        "failed, skipped: another scheduler held it).", ["job", "outcome"])
WECHAT_ERRORS = Counter("ripple_wechat_api_errors", "Errors of WeChat's API (not WeChat Pay's), by errcode "
                        "(known codes; `other`, `http` for a failing status, `unreachable`).", ["code"])
SHIPPING_UPLOADS_FAILED = Counter("ripple_shipping_uploads_failed", "Shipping information WeChat refused, by "
                                  "whether it is tried again (retrying) or left for an admin (failed).",
                                  ["outcome"])
BILL_RECONCILIATIONS = Counter("ripple_bill_reconciliations", "Tries to reconcile a day's WeChat Pay bill, by "
                               "outcome (done, waiting: bill not made yet, failed).", ["outcome"])
BILL_DIFFERENCES = Counter("ripple_bill_differences", "Differences a bill reconciliation found, by resolution "
                           "(resolved by rule, flagged for a person).", ["resolution"])

# WeChat errcodes worth a series of their own; any other is `other` (the log line names it).
KNOWN_WECHAT_CODES = frozenset({-1, 40001, 40013, 40014, 40029, 40125, 40163, 40226, 41001, 42001, 43101,
                                45009, 45011, 47001, 48001, 61451, 87014, 10060001, 10060023})


def count_after_commit(counter: Any) -> None:
    """Increment a metric (a labelled child) when the current transaction commits; never if it rolls back."""
    after_commit(counter.inc)


def wechat_error(code: int | None) -> None:
    """Count an error of WeChat's API: its errcode, ``None`` for an HTTP failure."""
    label = "http" if code is None else str(code) if code in KNOWN_WECHAT_CODES else "other"
    WECHAT_ERRORS.labels(code=label).inc()


def wechat_unreachable() -> None:
    WECHAT_ERRORS.labels(code="unreachable").inc()


# --- requests ------------------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Count and time every request of ``app`` by its url rule (the first hook, so the time is whole)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_count_request)
    events.order_created.connect(_order_created, weak=False)


def _order_created(sender: Any, **_: Any) -> None:
    count_after_commit(ORDERS.labels(state="created"))


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


# (url rule, method, status) -> its counter and histogram: ``labels()`` checks its arguments and takes a
# lock on every call, several times a dict lookup; the keys are as bounded as the labels.
_REQUEST_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _count_request(response: Any) -> Any:
    rule, method = request.url_rule, request.method
    key = (rule.rule if rule is not None else UNMATCHED, method if method in METHODS else "other",
           response.status_code)
    series = _REQUEST_SERIES.get(key)
    if series is None:
        series = _REQUEST_SERIES.setdefault(key, _request_series(*key))
    series[0].inc()
    started = g.get("metrics_started")
    if started is not None:
        series[1].observe(time.perf_counter() - started)
    return response


def _request_series(endpoint: str, method: str, status: int) -> tuple[Any, Any]:
    return (REQUESTS.labels(endpoint=endpoint, method=method, status=str(status)),
            REQUEST_SECONDS.labels(endpoint=endpoint, method=method))


# --- exposition ----------------------------------------------------------------------------------

def multiprocess() -> bool:
    """Whether this process writes its metrics to PROMETHEUS_MULTIPROC_DIR (read when prometheus_client loaded)."""
    return bool(os.environ.get(MULTIPROC_DIR))


def clear_multiprocess_dir() -> None:
    """Remove what processes that no longer run left in PROMETHEUS_MULTIPROC_DIR (an earlier start's).

    Files of running processes stay: several gunicorn instances on one machine may share the folder
    and one port (`make run-prod-local`), each emptying it as it starts.
    """
    for path in glob.glob(os.path.join(os.environ[MULTIPROC_DIR], "*.db")):
        if not _running(_writer_pid(path)):
            os.remove(path)


def _writer_pid(path: str) -> int | None:
    """The pid in a multiprocess file's name (``counter_1234.db``, ``gauge_livesum_1234.db``)."""
    tail = os.path.basename(path).removesuffix(".db").rpartition("_")[2]
    return int(tail) if tail.isdigit() else None


def _running(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def serve(config: Mapping[str, Any], *, who: str) -> bool:
    """Serve the metrics on METRICS_HOST:METRICS_PORT from a thread (METRICS_PORT 0: not at all).

    With PROMETHEUS_MULTIPROC_DIR, what every process of that folder wrote; else this process's own.
    A port already taken is logged, not fatal: the app serves without its metrics. Whether it serves.
    """
    host, port = config["METRICS_HOST"], config["METRICS_PORT"]
    if not port:
        return False
    registry = REGISTRY
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        log.warning("%s serves no metrics: %s:%s cannot be bound (%s); set METRICS_PORT", who, host, port, error)
        return False
    log.info("%s serves its metrics on http://%s:%s/metrics", who, host, port)
    return True
