"""Coupon test helpers: a batch made and activated through the admin API."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import func, select, update

from coupons.models import Coupon, CouponBatch
from shop.auth import Role
from shop.extensions import db
from tests.conftest import bearer
from tests.factories import make_store


def batch_body(**overrides) -> dict:
    body = {"name": "10 yuan off", "kind": "amount_off", "amount_off": 1000, "min_spend": 0,
            "valid_days": 7, "total": 10, "per_member_limit": 1}
    return {**body, **overrides}


def new_key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def marketing(staff_token):
    return staff_token(Role.MARKETING)


@pytest.fixture
def active_batch(client, marketing):
    """Create and activate a batch; returns its id."""

    def make(**overrides) -> int:
        created = client.post("/api/v1/admin/coupon-batches", json=batch_body(**overrides), headers=marketing)
        assert created.status_code == 201, created.get_json()
        batch_id = created.get_json()["id"]
        activated = client.post(f"/api/v1/admin/coupon-batches/{batch_id}/activate", headers=marketing)
        assert activated.status_code == 200, activated.get_json()
        return batch_id

    return make


# In-store redemption (test_rotating_code.py, test_redemption*.py): stores, and coupons usable there.


@dataclass
class HeldCoupon:
    id: int
    batch_id: int
    shopper: dict  # the holder's bearer headers


@pytest.fixture
def stores(app) -> tuple[int, int]:
    """Two stores: (a, b)."""
    with app.app_context():
        first, second = make_store(), make_store()
        db.session.commit()
        return first.id, second.id


@pytest.fixture
def in_store_coupon(app, client, login, active_batch):
    """A coupon claimed by a shopper from a new batch usable in stores (``usage``, ``scope_store_ids``)."""
    tokens: dict[str, dict] = {}  # a WeChat code logs in once: each shopper logs in once per test

    def make(shopper: str = "alice:1", usage: str = "in_store", scope_store_ids: list[int] | None = None,
             **batch) -> HeldCoupon:
        batch_id = active_batch(**batch)
        with app.app_context():
            db.session.execute(update(CouponBatch).where(CouponBatch.id == batch_id)
                               .values(usage=usage, scope_store_ids=scope_store_ids))
            db.session.commit()
        headers = tokens.get(shopper) or tokens.setdefault(shopper, bearer(login(shopper)["token"]))
        claimed = client.post(f"/api/v1/coupon-batches/{batch_id}/claim",
                              headers={**headers, "Idempotency-Key": new_key()})
        assert claimed.status_code == 201, claimed.get_json()
        return HeldCoupon(claimed.get_json()["id"], batch_id, headers)

    return make


def issued_per_member(app, batch_id: int) -> dict[int, int]:
    """Coupons of a batch in the database, by member."""
    with app.app_context():
        counts = db.session.execute(select(Coupon.member_id, func.count()).where(Coupon.batch_id == batch_id)
                                    .group_by(Coupon.member_id)).all()
        db.session.remove()
        return dict(counts)


def flash_claim(live_server: str, batch_id: int, tokens: list[str], *, workers: int) -> list[tuple[int, str | None]]:
    """Every token claims once, all at the same time over real HTTP; (status, error code) of each."""

    def attempt(token: str) -> tuple[int, str | None]:
        response = requests.post(f"{live_server}/api/v1/coupon-batches/{batch_id}/claim", timeout=30,
                                 headers={**bearer(token), "Idempotency-Key": new_key()})
        return response.status_code, response.json().get("code")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(attempt, tokens))


# A gate's keys as Redis held them at some moment, put back later: what a restored snapshot or a
# replica promoted while lagging does to the gate (coupons/claiming/gate.py).

def copy_gate(redis, batch_id: int) -> dict[bytes, tuple[bytes, int]]:
    """Every key of the batch's gate (the version token too): its DUMP and time to live."""
    found = redis.scan_iter(match=f"coupons:{{b{batch_id}}}:*")  # KEYS asks one node of a Cluster
    return {key: (redis.dump(key), max(redis.pttl(key), 0)) for key in found}


def restore_gate(redis, batch_id: int, copy: dict[bytes, tuple[bytes, int]]) -> None:
    """Put the batch's gate back as copied: keys written since are gone, the others RESTOREd (REPLACE)."""
    pipe = redis.pipeline(transaction=True)
    for key in redis.scan_iter(match=f"coupons:{{b{batch_id}}}:*"):
        if key not in copy:
            pipe.delete(key)
    for key, (dumped, ttl) in copy.items():
        pipe.restore(key, ttl, dumped, replace=True)
    pipe.execute()
