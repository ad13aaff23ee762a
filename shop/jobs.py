"""Background jobs: enqueued after the transaction commits, run by RQ workers or in-process.

With ``JOBS_ASYNC`` off (the embedded default and the tests) a job runs right after the commit, in
its own app context and session; in production it goes to an RQ queue on Redis and
``flask jobs worker`` runs it. A job is a plain function taking plain arguments; it commits its own
work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from rq import Queue

from shop.database import utcnow
from shop.extensions import db, redis_client
from shop.transactions import after_commit

log = logging.getLogger(__name__)
QUEUE = "ripple"


def enqueue(job: Callable[..., Any], *args: Any, key: Any = None) -> None:
    """Run ``job(*args)`` once the current transaction commits."""
    app = current_app._get_current_object()
    after_commit(lambda: _dispatch(app, job, args), key=("job", job.__module__, job.__qualname__, key)
                 if key is not None else None)


def _dispatch(app: Flask, job: Callable[..., Any], args: tuple) -> None:
    if app.config["JOBS_ASYNC"]:
        with app.app_context():
            Queue(QUEUE, connection=redis_client()).enqueue(run_job, f"{job.__module__}:{job.__qualname__}", args)
        return
    run_in_app(app, job, args)


def run_in_app(app: Flask, job: Callable[..., Any], args: tuple) -> None:
    """Run a job in a fresh app context (its own session), committing what it did."""
    with app.app_context():
        try:
            job(*args)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", job.__qualname__)
            raise


def run_job(dotted: str, args: tuple) -> None:
    """What the RQ worker runs: import the job function and run it in the worker's app."""
    import importlib  # noqa: PLC0415

    module, _, name = dotted.partition(":")
    job = importlib.import_module(module)
    for part in name.split("."):
        job = getattr(job, part)
    run_in_app(current_app._get_current_object(), job, args)


# Periodic work (payment timeouts, reconciliation, points expiry): name -> function(now) -> summary.
# Registered in app.py; run by `flask jobs sweep --every 60` in production, by a thread in `python app.py`.
PERIODIC: dict[str, Callable[[datetime], Any]] = {}


def run_periodic(now: datetime) -> dict[str, Any]:
    """Run every periodic job once, each committed on its own; their summaries."""
    summaries = {}
    for name, job in PERIODIC.items():
        try:
            summaries[name] = job(now)
            db.session.commit()
        except Exception:  # noqa: BLE001 - one failing sweep must not stop the others
            db.session.rollback()
            log.exception("periodic job %s failed", name)
            summaries[name] = "failed"
    return summaries


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
