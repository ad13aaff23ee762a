"""CPU of a staff-side request's token check, in-process: what every staff, marketing and admin call pays.

    python -m tests.bench.staff_auth                        # SQLite, embedded Redis
    TEST_DATABASE_URL=postgresql+psycopg://... python -m tests.bench.staff_auth

Figures (one JSON line each, ``time.process_time`` of this process, best of several rounds):

- ``principal_staff_cpu_us``: ``shop.auth``'s token check of a clerk's token (decode, the account's
  state read from the database), then the session removed as a request's teardown does;
- ``principal_shopper_cpu_us``: the same for a shopper's token (decode only): the reference;
- ``request_staff_cpu_us``: a whole ``GET /api/v1/staff/redemptions`` (an empty store) through
  ``app.wsgi_app``, as gunicorn calls it;
- ``account_read_core_cpu_us``: the account check's read alone (``shop.staff.queries``: one Core
  statement by primary key, the account's state and stores);
- ``account_read_orm_cpu_us``: the read it replaced (``Session.get`` of the account, then its stores
  loaded through the relationship), as a reference in the same run.

The figures are measured round by round in turn, so a busy machine slows them all alike.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from flask import Flask
from flask_migrate import upgrade
from werkzeug.test import EnvironBuilder

from app import ROOT, create_app
from shop.auth import Role, _principal_from_token, issue_shopper_token, issue_staff_token
from shop.extensions import db
from shop.staff.models import StaffAccount
from shop.staff.queries import staff_token_state
from shop.staff.service import create_staff
from tests.conftest import _drop_everything
from tests.factories import make_store


def cpu_per_call_us(works: dict[str, Callable[[], object]], calls: int, rounds: int) -> dict[str, float]:
    """CPU µs per call of each work: the best of ``rounds`` rounds (the least disturbed), taken in turn."""
    for work in works.values():
        for _ in range(min(calls, 300)):
            work()
    best = dict.fromkeys(works, float("inf"))
    for _ in range(rounds):
        for name, work in works.items():
            gc.collect()
            started = time.process_time()
            for _ in range(calls):
                work()
            best[name] = min(best[name], (time.process_time() - started) / calls * 1e6)
    return best


def tokens(app: Flask) -> tuple[str, str, int]:
    """A clerk of two stores and a shopper: their tokens, and the clerk's id."""
    with app.app_context():
        _drop_everything()  # a throwaway database: the bench may run on one again
        upgrade(directory=str(ROOT / "migrations"))
        stores = [make_store().id, make_store().id]
        clerk = create_staff(username="bench-clerk", password="bench-password-1", role=Role.STAFF, store_ids=stores)
        db.session.commit()
        return issue_staff_token(clerk), issue_shopper_token(1), clerk.id


def account_read(app: Flask, staff_id: int, orm: bool) -> Callable[[], object]:
    def read() -> object:
        with app.app_context():
            if orm:
                account = db.session.get(StaffAccount, staff_id)
                state = (account.active, account.role, tuple(account.store_ids))
            else:
                state = staff_token_state(staff_id)
            db.session.remove()
            return state

    return read


def principal_check(app: Flask, token: str) -> Callable[[], object]:
    def check() -> object:
        with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
            principal = _principal_from_token()
            db.session.remove()
            return principal

    return check


def whole_request(app: Flask, token: str) -> Callable[[], object]:
    environ = EnvironBuilder(path="/api/v1/staff/redemptions",
                             headers={"Authorization": f"Bearer {token}"}).get_environ()
    statuses: list[str] = []

    def start_response(status: str, headers: list, exc_info=None) -> None:
        statuses.append(status)

    def call() -> object:
        response = app.wsgi_app(dict(environ), start_response)
        body = b"".join(response)
        response.close()
        if not statuses.pop().startswith("200"):
            raise RuntimeError(f"answered {body[:300]!r}")
        return body

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ripple-staff-auth-") as tmp:
        config = {"RIPPLE_INSTANCE_PATH": str(Path(tmp) / "app"), "RIPPLE_ENV": "development"}
        if os.environ.get("TEST_DATABASE_URL"):
            config["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
        if os.environ.get("TEST_REDIS_URL"):
            config["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
        app = create_app(config)
        staff, shopper, staff_id = tokens(app)
        database = app.config["DATABASE_URL"].split(":", 1)[0]
        figures = {"principal_staff_cpu_us": principal_check(app, staff),
                   "principal_shopper_cpu_us": principal_check(app, shopper),
                   "request_staff_cpu_us": whole_request(app, staff),
                   "account_read_core_cpu_us": account_read(app, staff_id, orm=False),
                   "account_read_orm_cpu_us": account_read(app, staff_id, orm=True)}
        for name, value in cpu_per_call_us(figures, options.calls, options.rounds).items():
            print(orjson.dumps({"figure": name, "value": round(value, 1), "database": database,
                                "calls": options.calls, "rounds": options.rounds}).decode(), flush=True)
        if "REDIS_URL" not in config:
            app.extensions["redis"]._stop_embedded()


if __name__ == "__main__":
    main()
