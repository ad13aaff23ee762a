"""Claims from two app server processes on one database and one Redis: the total and the limit hold.

Each process is a separate ``create_app`` with its own connection pools and Redis client, as two
gunicorn hosts would be; the second Redis client reaches the same server (with the embedded
default, the first app's unix socket), so both pass through one gate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from app import ROOT
from coupons.models import Coupon
from shop.extensions import db
from tests.conftest import bearer
from tests.coupons.conftest import new_key

STARTUP_TIMEOUT_S = 30


def _serve(config: dict) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.coupons.app_process"], cwd=ROOT,
                               env={**os.environ, "RIPPLE_TEST_APP_CONFIG": json.dumps(config)},
                               stdout=subprocess.PIPE, text=True)
    port = process.stdout.readline().strip()
    if not port.isdigit():
        process.kill()
        raise RuntimeError(f"the app process did not start (exit code {process.wait()})")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while requests.get(f"{url}/healthz", timeout=5).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer /healthz")
        time.sleep(0.1)
    return process, url


@pytest.fixture(scope="module")
def two_servers(app, base_config, tmp_path_factory) -> Iterator[list[str]]:
    """Two app processes sharing the session's database and Redis server; their base URLs."""
    processes = []
    try:
        for n in (1, 2):
            config = {**base_config, "RIPPLE_INSTANCE_PATH": str(tmp_path_factory.mktemp(f"process{n}")),
                      "REDIS_URL": app.extensions["redis"].url}
            processes.append(_serve(config))
        yield [url for _, url in processes]
    finally:
        for process, _ in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _claim_all(batch_id: int, attempts: list[tuple[str, str]]) -> list[tuple[str, int, str | None]]:
    """Send every (token, server) claim at once from 16 threads; (server, status, code) of each."""

    def attempt(job: tuple[str, str]) -> tuple[str, int, str | None]:
        token, server = job
        response = requests.post(f"{server}/api/v1/coupon-batches/{batch_id}/claim", timeout=30,
                                 headers={**bearer(token), "Idempotency-Key": new_key()})
        return server, response.status_code, response.json().get("code")

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(attempt, attempts))


def _issued(app, batch_id: int) -> dict[int, list[int]]:
    """member id -> the sequences of their coupons of the batch, from the database."""
    with app.app_context():
        rows = db.session.execute(select(Coupon.member_id, Coupon.sequence).where(Coupon.batch_id == batch_id)
                                  .order_by(Coupon.member_id, Coupon.sequence)).tuples().all()
        db.session.remove()
    issued: dict[int, list[int]] = {}
    for member_id, sequence in rows:
        issued.setdefault(member_id, []).append(sequence)
    return issued


def test_a_crowd_claiming_through_two_app_processes_gets_exactly_the_total(app, login, active_batch, two_servers):
    total, limit = 15, 2
    batch_id = active_batch(total=total, per_member_limit=limit)
    members = [login(f"crowd{n}:1")["token"] for n in range(12)]
    # 36 claims for 15 coupons, each member's three together, alternating between the two processes.
    results = _claim_all(batch_id, [(members[n // 3], two_servers[n % 2]) for n in range(36)])

    assert sum(status == 201 for _, status, _ in results) == total
    assert {code for _, status, code in results if status != 201} <= {"coupon_out_of_stock", "coupon_limit_reached"}
    assert all(status in (201, 409) for _, status, _ in results)
    assert {server for server, _, _ in results} == set(two_servers)
    issued = _issued(app, batch_id)
    assert sum(len(sequences) for sequences in issued.values()) == total
    assert all(sequences == list(range(1, len(sequences) + 1)) and len(sequences) <= limit
               for sequences in issued.values())


def test_one_member_claiming_through_both_processes_at_once_gets_the_limit(app, login, active_batch, two_servers):
    batch_id = active_batch(total=100, per_member_limit=3)
    alice = login("alice:1")
    results = _claim_all(batch_id, [(alice["token"], two_servers[n % 2]) for n in range(10)])

    assert Counter(code or status for _, status, code in results) == {201: 3, "coupon_limit_reached": 7}
    assert _issued(app, batch_id) == {alice["member"]["id"]: [1, 2, 3]}


def test_pausing_a_batch_stops_claims_in_every_process(app, client, login, marketing, active_batch, two_servers):
    """Each process keeps its own copy of the batch; a pause made elsewhere reaches all of them."""
    batch_id = active_batch(total=100, per_member_limit=10)
    token = login("alice:1")["token"]
    claimed = _claim_all(batch_id, [(token, server) for server in two_servers])  # both copy the batch
    assert [status for _, status, _ in claimed] == [201, 201]
    assert client.post(f"/api/v1/admin/coupon-batches/{batch_id}/pause", headers=marketing).status_code == 200
    refused = _claim_all(batch_id, [(token, server) for server in two_servers])
    assert [code for _, _, code in refused] == ["coupon_batch_not_active"] * 2
