"""Coupon test helpers: a batch made and activated through the admin API."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from coupons.models import Coupon
from shop.auth import Role
from shop.extensions import db
from tests.conftest import bearer


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
