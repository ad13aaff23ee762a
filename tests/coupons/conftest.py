"""Coupon test helpers: a batch made and activated through the admin API."""

import uuid

import pytest

from shop.auth import Role


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
