"""Background jobs: enqueued after the transaction commits, run by RQ workers or in-process.

With ``JOBS_ASYNC`` off (the embedded default and the tests) a job runs right after the commit, in
its own app context and session; in production it goes to an RQ queue on Redis and
``flask jobs worker`` runs it. A job is a plain function taking plain arguments; it commits its own
work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from rq import Queue

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
