"""Liveness and readiness probes."""

from flask import Blueprint, current_app
from sqlalchemy import text

from shop.extensions import db, redis_client

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz():
    """The database and Redis answer; 503 names what does not."""
    checks = {"database": _check(lambda: db.session.execute(text("SELECT 1"))),
              "redis": _check(lambda: redis_client().ping())}
    ready = all(state == "ok" for state in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def _check(probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is logged
        current_app.logger.warning("readiness check failed: %s", exc)
        db.session.rollback()
        return "unavailable"
