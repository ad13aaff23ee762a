"""The reports' replica (DATABASE_REPLICA_URL) out of reach: the reports answer 503 with Retry-After and one log
line that names the replica, not the database; writes, the other reads and readiness go on; the outage ends,
and the reports answer again, once the replica does (it is probed every second, as the primary is)."""

from __future__ import annotations

import contextlib
import functools
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import make_url

from shop.auth import Role
from shop.config import REPLICA_BIND
from shop.dependencies import REPLICA, outages
from shop.extensions import db
from tests.coupons.conftest import batch_body
from tests.faults.servers import free_port

OUTAGE_LOGGER = "shop.dependencies"
DAYS = "from=2026-12-01&to=2026-12-07"
PERIOD = "from=2026-12-01T00:00:00%2B08:00&to=2026-12-08T00:00:00%2B08:00"


class TcpForwarder:
    """A loopback port that refuses connections until ``open()``, then hands each one to ``target`` byte for
    byte: a PostgreSQL replica that is down, then back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listening: socket.socket | None = None

    def open(self) -> None:
        self._listening = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listening,), daemon=True).start()

    def close(self) -> None:
        if self._listening is not None:
            self._listening.close()

    def _accept(self, listening: socket.socket) -> None:
        while True:
            try:
                client, _ = listening.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):  # either side closed
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def replica_outage(app, make_app, tmp_path):
    """An app whose replica is out of reach, and how to bring it back: PostgreSQL behind a port that opens
    later; SQLite in a folder that does not exist yet (then a copy of the suite's file)."""
    primary = make_url(app.config["DATABASE_URL"])
    if primary.get_backend_name() == "postgresql":
        if not primary.host:
            pytest.skip("the replica's way back is a TCP port forwarded to the suite's PostgreSQL")
        forwarder = TcpForwarder((primary.host, primary.port or 5432))
        url = primary.set(host="127.0.0.1", port=forwarder.port)
        bring_back: Callable[[], None] = forwarder.open
    else:
        forwarder, folder = None, tmp_path / "replica"
        url = primary.set(database=str(folder / "ripple.db"))
        bring_back = functools.partial(_copy_sqlite, Path(primary.database), folder)
    replica_app = make_app(DATABASE_REPLICA_URL=url.render_as_string(hide_password=False))
    yield replica_app, bring_back
    with replica_app.app_context():
        outages().end(REPLICA)  # stops its watcher probing
        db.engines[REPLICA_BIND].dispose()
    if forwarder is not None:
        forwarder.close()


def _copy_sqlite(source: Path, folder: Path) -> None:
    folder.mkdir()
    with sqlite3.connect(source) as original, sqlite3.connect(folder / "ripple.db") as copy:
        original.backup(copy)


def _outage_lines(caplog, start: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == OUTAGE_LOGGER and r.getMessage().startswith(start)]


def _reports(client, headers: dict, batch_id: int) -> list:
    return [client.get(f"/api/v1/admin/coupon-batches/{batch_id}/stats", headers=headers),
            client.get(f"/api/v1/admin/funnel?{DAYS}", headers=headers),
            client.get(f"/api/v1/admin/referral/stats/ripple?{PERIOD}", headers=headers),
            client.post("/api/v1/admin/segments/preview", headers=headers,
                        json={"rule": {"field": "order_count", "op": "=", "value": 0}})]


def test_with_the_replica_down_reports_are_503_the_rest_goes_on_and_they_answer_once_it_is_back(
        replica_outage, staff_token, caplog):
    replica_app, bring_back = replica_outage
    client, marketing = replica_app.test_client(), staff_token(Role.MARKETING)
    with caplog.at_level(logging.INFO):
        created = client.post("/api/v1/admin/coupon-batches", json=batch_body(), headers=marketing)
        assert created.status_code == 201, created.get_json()  # writes: the primary's
        batch_id = created.get_json()["id"]
        down = _reports(client, marketing, batch_id)
        listed = client.get("/api/v1/admin/coupon-batches", headers=marketing)  # not a report: the primary's
        ready = client.get("/readyz")
        time.sleep(2.5)  # the watcher probes the replica, not the primary, each second: it stays down
        still_down = _outage_lines(caplog, "database replica is back")
        bring_back()
        deadline = time.monotonic() + 10
        while not _outage_lines(caplog, "database replica is back") and time.monotonic() < deadline:
            time.sleep(0.2)
        back = _reports(client, marketing, batch_id)
    for answer in down:
        assert answer.status_code == 503, answer.get_json()
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.get_json()["code"] == "service_unavailable"
    assert listed.status_code == 200 and listed.get_json()["total"] >= 1
    assert ready.status_code == 200, ready.get_json()  # the instance still serves everything but the reports
    assert len(_outage_lines(caplog, "database replica unavailable")) == 1
    assert _outage_lines(caplog, "database unavailable") == []  # the primary was never down
    assert still_down == []
    assert len(_outage_lines(caplog, "database replica is back")) == 1
    assert [answer.status_code for answer in back] == [200] * len(back)
    assert [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR] == []
