"""REDIS_URL naming a Redis Cluster that loses a master, or a slot: the shopper gets what a single Redis
down gives (claims 503 with Retry-After and nothing issued, the nearby search from the database, logins
counted in memory), `/readyz` says not ready, and all comes back when the Cluster does, without a restart.

A Cluster client raises its own errors (CLUSTERDOWN, a slot no master serves, no node answering) after
its retries; shop/dependencies.py counts each as Redis down. The Cluster is three masters of the test's
own (``own_redis_cluster``); a master is counted lost by the others after 1 s of silence.
"""

from __future__ import annotations

import logging
import uuid

import pytest
import requests
from redis.crc import key_slot
from sqlalchemy import func, select

from coupons.claiming import gate
from coupons.models import Coupon
from shop.dependencies import PROBE_KEY
from shop.extensions import db, redis_client
from shop.redis_connections import keys_on_every_master
from tests.factories import make_store
from tests.faults.test_dependency_outages import (
    _active_batch,
    _assert_unavailable,
    _coupons,
    _shopper,
    _wait_for,
)

NEARBY = "/api/v1/stores/nearby?lat=31.2304&lng=121.4737&radius_m=5000&limit=50"


class Answers:
    """The target's answers in a scenario, to check that none was a 500."""

    def __init__(self, target) -> None:
        self.target = target
        self.statuses: list[tuple[str, int]] = []

    def call(self, method: str, path: str, **options) -> requests.Response:
        response = requests.request(method, f"{self.target.base_url}{path}", timeout=30, **options)
        self.statuses.append((path, response.status_code))
        return response

    def claim(self, batch_id: int, shopper: dict, key: str) -> requests.Response:
        return self.call("POST", f"/api/v1/coupon-batches/{batch_id}/claim", headers={**shopper, "Idempotency-Key": key})

    def nearby_names(self) -> list[str]:
        response = self.call("GET", NEARBY)
        assert response.status_code == 200, response.text
        return [store["name"] for store in response.json()["items"]]

    def readiness(self) -> requests.Response:
        return self.call("GET", "/readyz")

    def errors(self) -> list[tuple[str, int]]:
        return [(path, status) for path, status in self.statuses if status >= 500 and status != 503]


def _gate_key(batch_id: int) -> str:
    return gate.keys(batch_id)[0]  # every key of the batch's gate shares its slot


def _coupons_of(target, batch_id: int, shopper_token: dict) -> int:
    """Coupons of the batch held by the shopper whose bearer header is ``shopper_token``."""
    member = requests.get(f"{target.base_url}/api/v1/me", headers=shopper_token, timeout=10).json()["id"]
    with target.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Coupon)
                                  .where(Coupon.batch_id == batch_id, Coupon.member_id == member))
        db.session.rollback()
        return count


def _assert_not_ready(response: requests.Response) -> None:
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert response.json()["checks"]["redis"] == "unavailable"


def _unhandled(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "unhandled error"]


def test_with_a_cluster_master_lost_claims_wait_nothing_is_issued_twice_and_all_returns_without_a_restart(
        cluster_target, caplog):
    target, cluster = cluster_target, cluster_target.extra["cluster"]
    answers = Answers(target)
    with target.app.app_context():
        make_store(name="People's Square")
        db.session.commit()
        # Readiness writes to every master, not only to the one a single probe key lands on.
        assert {cluster.owner(key) for key in keys_on_every_master(redis_client(), PROBE_KEY)} == set(cluster.nodes)
    batch_id = _active_batch(target, total=5, per_member_limit=1)
    alice, bob = _shopper(target, "alice:1"), _shopper(target, "bob:1")
    assert answers.claim(batch_id, alice, uuid.uuid4().hex).status_code == 201
    assert answers.nearby_names() == ["People's Square"]
    lost = cluster.owner(_gate_key(batch_id))  # the master holding the batch's gate

    bobs_key = uuid.uuid4().hex
    with caplog.at_level(logging.INFO):
        lost.kill()
        _assert_unavailable(answers.claim(batch_id, bob, bobs_key))  # the gate's master is gone: fails closed
        _assert_not_ready(answers.readiness())
        cluster.wait_until("fail")  # the others count it lost: every slot now answers CLUSTERDOWN
        _assert_unavailable(answers.claim(batch_id, bob, bobs_key))
        assert answers.nearby_names() == ["People's Square"]  # from the database
        assert answers.call("POST", "/api/v1/auth/wechat-login", json={"code": "carol:1"}).status_code == 200
        assert _coupons(target, batch_id) == 1

        lost.start()  # the same master, back empty (no persistence)
        cluster.wait_until("ok")
        assert _wait_for(lambda: answers.readiness().status_code == 200)
        # Bob's retry gets the coupon, from a gate rebuilt from the coupon rows; another claim is refused.
        assert answers.claim(batch_id, bob, bobs_key).status_code == 201
        assert answers.claim(batch_id, bob, uuid.uuid4().hex).json()["code"] == "coupon_limit_reached"
        assert answers.claim(batch_id, alice, uuid.uuid4().hex).json()["code"] == "coupon_limit_reached"
        assert answers.nearby_names() == ["People's Square"]
    assert _coupons(target, batch_id) == 2
    assert _coupons_of(target, batch_id, alice) == 1 and _coupons_of(target, batch_id, bob) == 1
    assert answers.errors() == [] and _unhandled(caplog) == []


def test_with_a_slot_no_master_serves_claims_wait_and_go_on_once_it_is_served_again(cluster_target, caplog):
    target, cluster = cluster_target, cluster_target.extra["cluster"]
    answers = Answers(target)
    with target.app.app_context():
        make_store(name="People's Square")
        db.session.commit()
    batch_id = _active_batch(target, total=5, per_member_limit=2)
    alice = _shopper(target, "alice:1")
    assert answers.claim(batch_id, alice, uuid.uuid4().hex).status_code == 201
    slot, owner = key_slot(_gate_key(batch_id).encode()), cluster.owner(_gate_key(batch_id))

    retried = uuid.uuid4().hex
    with caplog.at_level(logging.INFO):
        cluster.uncover(slot)  # an operator's slip while moving slots: the client finds the slot unserved
        _assert_unavailable(answers.claim(batch_id, alice, retried))
        _assert_not_ready(answers.readiness())
        assert answers.nearby_names() == ["People's Square"]  # from the database
        assert _coupons(target, batch_id) == 1

        cluster.cover(slot, owner)
        assert _wait_for(lambda: answers.readiness().status_code == 200)
        assert answers.claim(batch_id, alice, retried).status_code == 201
        assert answers.claim(batch_id, alice, retried).status_code == 200  # the same coupon, not another
    assert _coupons(target, batch_id) == 2
    assert answers.errors() == [] and _unhandled(caplog) == []


@pytest.mark.parametrize("own_redis_cluster", [{"node_timeout_ms": 60_000}], indirect=True)
def test_until_the_others_count_a_master_lost_only_its_batches_wait_and_readiness_already_says_so(cluster_target):
    target, cluster = cluster_target, cluster_target.extra["cluster"]
    answers = Answers(target)
    # A master that the readiness probe's first key does not land on, one batch on it and one elsewhere.
    lost = next(node for node in cluster.nodes if node is not cluster.owner(PROBE_KEY))
    batches: dict[bool, int] = {}
    while len(batches) < 2:
        batch_id = _active_batch(target, total=5, per_member_limit=1)
        batches.setdefault(cluster.owner(_gate_key(batch_id)) is lost, batch_id)
    alice = _shopper(target, "alice:1")

    lost.kill()  # the others serve their slots for a minute before they count it lost
    _assert_not_ready(answers.readiness())
    assert answers.claim(batches[False], alice, uuid.uuid4().hex).status_code == 201
    waiting = uuid.uuid4().hex
    _assert_unavailable(answers.claim(batches[True], alice, waiting))

    lost.start()
    cluster.wait_until("ok")
    assert _wait_for(lambda: answers.readiness().status_code == 200)
    assert answers.claim(batches[True], alice, waiting).status_code == 201
    assert _coupons(target, batches[True]) == 1 and _coupons(target, batches[False]) == 1
    assert answers.errors() == []
