"""Liveness and readiness probes.

``/readyz`` runs every check in ``READINESS_CHECKS`` (name -> function returning None when ready, or a
word saying why not) and answers 200, or 503 with Retry-After naming what is not ready. Adding a check
is one line: ``READINESS_CHECKS["outbox"] = outbox_ready``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Blueprint

from shop.dependencies import DATABASE, PROBES, REDIS, down_dependency, down_reason, outages
from shop.errors import RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)
_draining = threading.Event()


def dependency_ready(dependency: str) -> Callable[[], str | None]:
    """A check that probes ``dependency`` (Redis: a write) and opens or closes its outage accordingly."""
    def check() -> str | None:
        try:
            PROBES[dependency]()
        except Exception as error:
            if down_dependency(error) is None:
                raise
            outages().begin(dependency, error)
            return down_reason(error)
        outages().end(dependency)
        return None

    return check


def start_draining() -> None:
    """This process is shutting down: readiness fails from now on (called on SIGTERM, deploy/gunicorn.conf.py)."""
    _draining.set()


def serving() -> str | None:
    return "draining" if _draining.is_set() else None


READINESS_CHECKS: dict[str, Callable[[], str | None]] = {
    DATABASE: dependency_ready(DATABASE),
    REDIS: dependency_ready(REDIS),
    "serving": serving,
}


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz():
    """Every readiness check passes; 503 names those that do not."""
    checks = {name: _run(name, check) for name, check in READINESS_CHECKS.items()}
    if all(state == "ok" for state in checks.values()):
        return {"status": "ok", "checks": checks}
    return {"status": "unavailable", "checks": checks}, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _run(name: str, check: Callable[[], str | None]) -> str:
    try:
        return check() or "ok"
    except Exception as error:  # noqa: BLE001 - a check that fails means not ready
        if down_dependency(error) is not None:  # an outage the database/redis checks already report once
            return down_reason(error)
        log.exception("readiness check %s failed", name)  # a bug: its traceback is wanted
        return "error"
