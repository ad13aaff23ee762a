"""Background jobs: work handed on after a commit, through the outbox; and the periodic sweeps.

``enqueue(job, *args, key=...)`` writes the work to the outbox (shop/outbox) in the caller's
transaction, so it exists exactly when the change that needs it does, and hands it to a runner
once the transaction commits: an RQ worker (``flask jobs worker``) with ``JOBS_ASYNC`` on, this
process otherwise (the embedded profile and the tests). A runner claims the entry in the database,
runs the job in its own app context and transaction, and marks it done; a failure is retried with
a capped exponential backoff (RQ's scheduler brings it back when due), and after
``OUTBOX_MAX_ATTEMPTS`` runs, or at once for a ``PermanentJobError`` or a 4xx ``AppError`` (a final
answer), the entry is ``failed`` for an admin to see and retry. The sweep (a periodic job) hands
on whatever is due and was never handed on, whose queued job vanished (a Redis restart) or whose
runner died: Redis is never the only copy of the work.

A job is a plain function taking JSON arguments that may run more than once (a retry after a
failure that came after its effect, a runner whose lease ran out): it must be idempotent.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus

from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db, rq_redis_client
from shop.metrics import OUTBOX_RUNS, PERIODIC_RUNS
from shop.outbox import leases
from shop.outbox import service as outbox
from shop.outbox.models import OutboxStatus
from shop.transactions import after_commit

log = logging.getLogger(__name__)
QUEUE = "ripple"
SWEEP_BATCH = 200  # entries one sweep runs (in-process) or hands to RQ
RESULT_TTL = 60  # seconds RQ keeps a finished job: the outbox entry is the record
FAILURE_TTL = 24 * 3600
LIVE_RQ_STATES = (JobStatus.QUEUED, JobStatus.STARTED)


class PermanentJobError(Exception):
    """A job's work cannot succeed by trying again (refused for good, or already final elsewhere):
    its entry ends ``failed`` at once, with this message, for an admin to see."""


def job_kind(job: Callable[..., Any]) -> str:
    """The name an outbox entry stores for a job: ``module:qualname``."""
    return f"{job.__module__}:{job.__qualname__}"


def enqueue(job: Callable[..., Any], *args: Any, key: Any = None) -> None:
    """Run ``job(*args)`` once the current transaction commits, and until it succeeds.

    Written to the outbox in this transaction; the same ``job`` and ``key`` again is the same work
    and is written once. ``args`` must be JSON values.
    """
    entry_id = outbox.write(job_kind(job), list(args), key=None if key is None else str(key), now=utcnow())
    if entry_id is not None:
        dispatch_after_commit(entry_id, attempts=0)


def enqueue_again(job: Callable[..., Any], *args: Any, key: Any) -> None:
    """Run work once more now (a refund WeChat Pay says it never received): its entry pending and due
    now, or written if there is none; work a runner is running is left to finish."""
    entry_id = outbox.rearm(job_kind(job), str(key), now=utcnow())
    if entry_id is None:
        entry_id = outbox.write(job_kind(job), list(args), key=str(key), now=utcnow())
    if entry_id is not None:
        dispatch_after_commit(entry_id, attempts=0)


def dispatch_after_commit(entry_id: int, *, attempts: int) -> None:
    """Hand an entry to a runner once the current transaction commits (``attempts``: its runs so far)."""
    app = current_app._get_current_object()
    after_commit(lambda: dispatch(app, entry_id, attempts=attempts))


def dispatch(app: Flask, entry_id: int, *, attempts: int) -> None:
    """Hand an entry to a runner now: RQ with ``JOBS_ASYNC``, else run it in this process.

    RQ refusing it (Redis down or out of memory) leaves it pending: the sweep hands it on later.
    """
    if not app.config["JOBS_ASYNC"]:
        run_entry(app, entry_id)
        return
    with app.app_context():
        _to_queue(entry_id, attempts)


def run_entry(app: Flask, entry_id: int, now: datetime | None = None) -> str | None:
    """Claim an entry and run its job in a fresh app context (its own session and transaction).

    What became of it (``done``, ``pending`` for a retry, ``failed``), or None when it was not due
    or another runner has it.
    """
    with app.app_context():
        now = now or utcnow()
        taken = outbox.claim(entry_id, now=now, lease=_lease(app))
        db.session.commit()
        return None if taken is None else _run(app, taken, now)


def run_outbox_entry(entry_id: int) -> str | None:
    """What an RQ worker runs (in the app of `flask jobs worker`)."""
    return run_entry(current_app._get_current_object(), entry_id)


def run_job(dotted: str, args: tuple) -> None:
    """What RQ jobs queued by a release before the outbox call: the work moves into the outbox and
    runs from there, so a failure is retried like any other."""
    app = current_app._get_current_object()
    with app.app_context():
        entry_id = outbox.write(dotted, list(args), key=None, now=utcnow())
        db.session.commit()
    run_entry(app, entry_id)


def sweep_outbox(now: datetime) -> dict[str, int]:
    """The periodic job: every entry due now (never handed on, retry time come, its queued job lost,
    its runner's lease run out) is handed to RQ with ``JOBS_ASYNC``, else run here."""
    app = current_app._get_current_object()
    if app.config["JOBS_ASYNC"]:
        return {"dispatched": _dispatch_due(now)}
    counts = {"done": 0, "retrying": 0, "failed": 0}
    for _ in range(SWEEP_BATCH):
        with app.app_context():
            taken = outbox.claim_next(now=now, lease=_lease(app))
            db.session.commit()
            if taken is None:
                break
            status = _run(app, taken, now)
        key = {OutboxStatus.DONE: "done", OutboxStatus.PENDING: "retrying", OutboxStatus.FAILED: "failed"}.get(status)
        if key:
            counts[key] += 1
    return counts


# --- running an entry ---------------------------------------------------------------------------

def _run(app: Flask, taken: outbox.Claim, now: datetime) -> OutboxStatus | None:
    """Run a claimed entry in the current app context and record how it ended."""
    try:
        _resolve(taken.kind)(*taken.args)
        if not outbox.finish(taken, now=max(now, utcnow())):
            log.warning("outbox entry %s ran, but its lease had run out and another runner took it", taken.id)
        db.session.commit()
        OUTBOX_RUNS.labels(kind=taken.kind, outcome=OutboxStatus.DONE.value).inc()
        return OutboxStatus.DONE
    except Exception as error:  # noqa: BLE001 - any failure is recorded on the entry, and retried or shown
        db.session.rollback()
        return _record_failure(app, taken, error, now)


def _record_failure(app: Flask, taken: outbox.Claim, error: Exception, now: datetime) -> OutboxStatus | None:
    later = max(now, utcnow())
    permanent = isinstance(error, PermanentJobError) or (isinstance(error, AppError) and error.status < 500)
    outcome = outbox.record_failure(taken, _describe(error), permanent=permanent, now=later,
                                    max_attempts=app.config["OUTBOX_MAX_ATTEMPTS"],
                                    backoff_cap=app.config["OUTBOX_BACKOFF_CAP_SECONDS"])
    db.session.commit()
    OUTBOX_RUNS.labels(kind=taken.kind, outcome="lost_lease" if outcome is None else
                       "retrying" if outcome.status == OutboxStatus.PENDING else outcome.status.value).inc()
    expected = isinstance(error, AppError | PermanentJobError)
    if outcome is None:
        log.warning("outbox entry %s failed after its lease had run out (%s)", taken.id, _describe(error))
        return None
    if outcome.status == OutboxStatus.FAILED:
        log.error("outbox entry %s (%s) failed for good after %s attempt(s): %s; an admin can send it again "
                  "(GET /api/v1/admin/outbox?status=failed)", taken.id, taken.kind, taken.attempts,
                  _describe(error), exc_info=not expected)
        return outcome.status
    log.warning("outbox entry %s (%s) failed (attempt %s), next attempt at %s: %s", taken.id, taken.kind,
                taken.attempts, outcome.next_attempt_at.isoformat(), _describe(error), exc_info=not expected)
    if app.config["JOBS_ASYNC"]:
        _to_queue(taken.id, taken.attempts, delay=outcome.next_attempt_at - later)
    return outcome.status


def _describe(error: Exception) -> str:
    if isinstance(error, AppError):
        return f"{error.code}: {error.message}"
    if isinstance(error, PermanentJobError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _resolve(kind: str) -> Callable[..., Any]:
    module, _, name = kind.partition(":")
    job: Any = importlib.import_module(module)
    for part in name.split("."):
        job = getattr(job, part)
    return job


def _lease(app: Flask) -> timedelta:
    return timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])


# --- RQ -------------------------------------------------------------------------------------------

def rq_job_id(entry_id: int, attempts: int) -> str:
    """The RQ job of an entry's next run: one id per attempt, so the sweep can tell whether it is queued."""
    return f"outbox-{entry_id}-{attempts}"


_queue_refusing = threading.Event()  # set while RQ refuses work: one log line per outage


def _to_queue(entry_id: int, attempts: int, delay: timedelta | None = None) -> bool:
    """Put an entry's next run on the RQ queue (after ``delay``: RQ's scheduler enqueues it then)."""
    queue = Queue(QUEUE, connection=rq_redis_client())
    options = {"job_id": rq_job_id(entry_id, attempts), "job_timeout": current_app.config["OUTBOX_LEASE_SECONDS"],
               "result_ttl": RESULT_TTL, "failure_ttl": FAILURE_TTL}
    try:
        if delay is not None and delay > timedelta(0):
            queue.enqueue_in(delay, run_outbox_entry, entry_id, **options)
        else:
            queue.enqueue(run_outbox_entry, entry_id, **options)
    except RedisError as error:
        if not _queue_refusing.is_set():
            _queue_refusing.set()
            log.warning("RQ refuses work (%s): outbox entries stay pending and the sweep hands them on", error)
        return False
    if _queue_refusing.is_set():
        _queue_refusing.clear()
        log.info("RQ accepts work again")
    return True


def _dispatch_due(now: datetime) -> int:
    """Queue every due entry that has no live RQ job (never queued, lost with Redis, scheduler absent)."""
    entries = outbox.due(now, limit=SWEEP_BATCH)
    if not entries:
        return 0
    try:
        jobs = Job.fetch_many([rq_job_id(e.id, e.attempts) for e in entries], connection=rq_redis_client())
    except RedisError as error:
        log.warning("the outbox sweep cannot read RQ (%s); it tries again next time", error)
        return 0
    dispatched = 0
    for entry, job in zip(entries, jobs, strict=True):
        if job is not None and job.get_status(refresh=False) in LIVE_RQ_STATES:
            continue
        if not _to_queue(entry.id, entry.attempts):
            break
        dispatched += 1
    return dispatched


# --- periodic work ------------------------------------------------------------------------------

# Periodic work (payment timeouts, reconciliation, points expiry, the outbox): name -> function(now) -> summary.
# Registered in app.py; run by `flask jobs sweep --every 60` in production, by a thread in `python app.py`.
PERIODIC: dict[str, Callable[[datetime], Any]] = {}
SKIPPED = "skipped: another scheduler is running it"


def run_periodic(now: datetime) -> dict[str, Any]:
    """Run every periodic job once, each committed on its own and under its lease; their summaries."""
    summaries = {}
    for name, job in PERIODIC.items():
        try:
            summaries[name] = run_exclusive(name, job, now)
        except Exception:  # noqa: BLE001 - one failing sweep must not stop the others
            db.session.rollback()
            log.exception("periodic job %s failed", name)
            summaries[name] = "failed"
        PERIODIC_RUNS.labels(job=name, outcome=summaries[name] if summaries[name] == "failed" else
                             "skipped" if summaries[name] == SKIPPED else "ok").inc()
    return summaries


def run_exclusive(name: str, job: Callable[[datetime], Any], now: datetime) -> Any:
    """Run periodic job ``name`` unless another scheduler is running it (then ``SKIPPED``)."""
    holder = leases.acquire(name)
    if holder is None:
        return SKIPPED
    try:
        summary = job(now)
        db.session.commit()
        return summary
    finally:
        db.session.rollback()  # what a failing job left uncommitted, before the lease is given back
        leases.release(name, holder)


def start_periodic_thread(app: Flask, every_seconds: int) -> threading.Thread:
    """Run the periodic jobs in a daemon thread (the embedded profile has no separate scheduler)."""

    def loop() -> None:
        while True:
            time.sleep(every_seconds)
            with app.app_context():
                run_periodic(utcnow())

    thread = threading.Thread(target=loop, name="ripple-periodic", daemon=True)
    thread.start()
    return thread
